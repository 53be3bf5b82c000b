#!/bin/sh
# run.sh BUILDDIR SECONDS NAME... - run each libFuzzer target, print TAP
#
# Each target runs for SECONDS over its committed seed corpus
# (tests/fuzz/corpus/NAME, read only: new inputs go to a scratch
# directory) and prints "ok N - fuzz NAME: execs, coverage" or
# "not ok N - fuzz NAME" with the reproducer's path and the report's
# first lines.  Exit status non-zero if any target crashed, leaked,
# timed out (10 s for one input) or went over 2 GB.
set -u
b=$1
secs=$2
shift 2
top=$(pwd)
scratch=$(mktemp -d /tmp/mxfeed-fuzz.XXXXXX)
n=0
failed=0
export LSAN_OPTIONS="suppressions=$top/tests/fuzz/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS=print_stacktrace=1
for name in "$@"; do
	n=$((n + 1))
	bin="$top/$b/fuzz/bin/fuzz_$name"
	seeds="$top/tests/fuzz/corpus/$name"
	mkdir -p "$scratch/$name"
	if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
		echo "not ok $n - fuzz $name: no binary or no corpus/$name"
		failed=1
		continue
	fi
	log="$scratch/$name.log"
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$scratch/$name-" \
		"$scratch/$name" "$seeds" > "$log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
		echo "ok $n - fuzz $name: ${execs:-?} execs in ${secs}s, ${cov:-cov: ?}"
	else
		echo "not ok $n - fuzz $name"
		grep -E 'ERROR|invariant|SUMMARY|Test unit written' "$log" |
			head -5 | sed 's/^/#   /'
		failed=1
	fi
done
[ "$failed" -eq 0 ] && rm -rf "$scratch"
exit "$failed"
