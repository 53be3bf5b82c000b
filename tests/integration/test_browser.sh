#!/bin/bash
# test_browser.sh - the portal in a real browser: Debian's chromium
# driven by playwright-core (tests/browser/portal.mjs), through nginx
# and mxfeed-fcgi over a private PostgreSQL.  Screenshots of every step
# are kept in build/test-output/browser/ to be looked at.
set -u
. "$(dirname "$0")/../lib.sh"
if [ ! -x /usr/bin/chromium ] || [ ! -d "$TOP/tests/browser/node_modules/playwright-core" ]; then
	echo "Bail out! chromium or playwright-core missing (make deps installs them)"
	exit 1
fi
pg_setup
web_setup
"$FEEDCTL" add example.com --mode feed --force --dest 127.0.0.1:2526 > /dev/null
"$FEEDCTL" add bücher.example --mode pop3 > /dev/null
SHOTS="$BUILD/test-output/browser"
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
BASE=$BASE STAFF_PW=$STAFF_PW FEEDCTL=$FEEDCTL SHOTS=$SHOTS \
	node "$TOP/tests/browser/portal.mjs"
