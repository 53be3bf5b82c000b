#!/bin/sh
# run.sh BUILDDIR UNIT... - run every test of "make check" and count.
#
# Every test prints TAP: "ok N - what", "not ok N - what", and
# "ok N # SKIP why".  Unit tests run twice: the hardened build and the
# ASan+UBSan build.  The fuzz targets (tests/fuzz/) run FUZZ_CHECK_TIME
# seconds each (default 5).  Integration scripts are
# tests/integration/test_*.sh.
# The last line is "N passed, N failed[, N skipped]"; the exit status
# is non-zero when anything failed or a test program crashed.
set -u
b=$1
shift
top=$(pwd)
out=$(mktemp -d /tmp/mxfeed-check.XXXXXX)
log="$out/all.tap"
: > "$log"
crashed=0

run() {
	name=$1
	shift
	echo "# --- $name"
	if ! "$@" > "$out/one.tap" 2>&1; then
		# a failing test exits non-zero too; crashes show as no TAP
		if ! grep -q '^not ok' "$out/one.tap"; then
			echo "not ok - $name exited with status $? and no failing test line" \
				>> "$out/one.tap"
		fi
	fi
	# a plan "1..N" must match the results printed: a check whose
	# line went elsewhere (a redirect) would hide what it proved
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$out/one.tap" | tail -n 1)
	got=$(grep -cE '^(not )?ok( |$)' "$out/one.tap")
	if [ -n "$plan" ] && [ "$plan" != "$got" ] &&
		! grep -q '^not ok - .* exited with status' "$out/one.tap"; then
		echo "not ok - $name planned $plan results and printed $got" \
			>> "$out/one.tap"
	fi
	cat "$out/one.tap"
	cat "$out/one.tap" >> "$log"
}

export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1
for u in "$@"; do
	run "$u (hardened)" "$b/rel/tests/$u"
	run "$u (asan+ubsan)" "$b/san/tests/$u"
done
# libFuzzer targets (make fuzz-bins), a few seconds each over their
# seed corpora: one TAP line per target, a crash or leak fails
fuzz_names=$(for f in "$top"/tests/fuzz/fuzz_*.c; do
	[ -e "$f" ] && basename "$f" .c | sed 's/^fuzz_//'
done)
if [ -n "$fuzz_names" ]; then
	# shellcheck disable=SC2086
	run "fuzz" sh "$top/tests/fuzz/run.sh" "$b" "${FUZZ_CHECK_TIME:-5}" $fuzz_names
fi
for t in "$top"/tests/integration/test_*.sh; do
	[ -e "$t" ] || continue
	run "$(basename "$t")" env MXFEED_BUILD="$top/$b" bash "$t"
done

skipped=$(grep -c -E '^ok .*# *(SKIP|skip)' "$log" || true)
passed=$(grep -E '^ok ' "$log" | grep -c -v -E '# *(SKIP|skip)' || true)
failed=$(grep -c -E '^not ok' "$log" || true)
echo "# details: $log"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$crashed" -eq 0 ]
