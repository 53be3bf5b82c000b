#!/bin/sh
# deps-npm.sh - install the npm packages of the browser tests
# (playwright-core, pinned in tests/browser/package-lock.json) unless
# present.  No browser is downloaded: the tests drive Debian's chromium.
set -eu
dir=$(cd "$(dirname "$0")/../tests/browser" && pwd)
if [ -f "$dir/node_modules/playwright-core/package.json" ]; then
	echo "deps: npm packages present"
	exit 0
fi
echo "deps: installing npm packages for the browser tests"
cd "$dir"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
