#!/bin/bash
# test_build.sh - the build itself: "make" with no target builds every
# program (README: "make  build everything into build/").
#
# Dry runs (make -n) into a scratch build directory: nothing is built.
set -u
. "$(dirname "$0")/../lib.sh"
T=$(mktemp -d /tmp/mxfeed-build.XXXXXX)
trap 'rm -rf "$T"' EXIT

make -n -C "$TOP" --no-print-directory B="$T/b" > "$T/out" 2> "$T/err"
for p in feedctl mxfeed-fcgi mta-glue mxfeed-policyd; do
	check "make with no target builds $p" grep -q -- "-o $T/b/rel/bin/$p " "$T/out"
done
check "make with no target is make all" \
	bash -c "make -n -C '$TOP' --no-print-directory B='$T/b' all | cmp -s - '$T/out'"
tap_done
