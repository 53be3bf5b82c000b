#!/bin/bash
# test_bench.sh - every bench script runs once, with tiny counts, so
# that none rots between "make bench" runs (issue 14: relay.sh died on
# the doveadm key and nobody noticed).
#
# Figures are not asserted (timing never is): each script must exit 0
# and print its figure lines.  The counts make the runs short; what is
# left is daemon start-up (rspamd compiles its tables on a fresh
# DBDIR), so mail.sh and switch.sh take about a minute each on a busy
# box.  The mail benches need root (network namespace); without it they
# are skipped.
set -u
. "$(dirname "$0")/../lib.sh"
T=$(mktemp -d /tmp/mxfeed-tbench.XXXXXX)
trap 'rm -rf "$T"' EXIT
WEB_PORT=${WEB_PORT:-18080}

# bench SCRIPT ROOT-ONLY FIGURE-REGEX ENV...
bench() {
	local s=$1 root=$2 want=$3
	shift 3
	if [ "$root" = root ] && [ "$(id -u)" -ne 0 ]; then
		TAP_N=$((TAP_N + 1))
		echo "ok $TAP_N # SKIP bench/$s needs root"
		return
	fi
	env "$@" bash "$TOP/bench/$s" "${BUILD#"$TOP"/}" > "$T/out" 2> "$T/err" < /dev/null
	rc=$?
	check "bench/$s runs with tiny counts (exit $rc)" test "$rc" = 0
	check "bench/$s prints its figures" grep -Eq "$want" "$T/out"
}

cd "$TOP" || exit 1
bench run.sh any '^add .*ratio' BENCH_N=20
bench web.sh any '^api GET req/s: .*ratio' BENCH_DURATION=1s \
	WEB_PORT="$WEB_PORT" BENCH_BARE_PORT=$((WEB_PORT + 1))
bench relay.sh root '^policyd req/s: .*ratio' BENCH_RELAY_DOMAINS=1000 \
	BENCH_CHANGES=2 BENCH_POLICY_N=2000 BENCH_RUNS=1
bench relays.sh root '^relays queue listing of [0-9]+ messages on 3 relays: .*ratio' \
	BENCH_RELAYS_DOMAINS="100 200" BENCH_CHANGES=2 BENCH_QUEUE_N=30 BENCH_RUNS=1 BENCH_POLICY_N=2000 \
	WEB_PORT=$((WEB_PORT + 2))
# the tracking line is mail.sh's last: the other figures came first
bench mail.sh root '^mail tracking on/off msgs/s: .*ratio' BENCH_MAIL_N=20 BENCH_RUNS=1
bench switch.sh root '^switch\.forward_20: .*ratio' BENCH_N=20
bench regex.sh any '^policyd decisions/s with 100 sender regexes: .*ratio' \
	BENCH_NREQ=2000 BENCH_RUNS=1
bench trace.sh any '^trace of one address over [0-9]+ events: .*ratio' \
	BENCH_TRACE_EVENTS=2000 BENCH_TRACE_N=3
bench portal.sh any '^portal domain page at [0-9]+ domains: .*ratio' \
	BENCH_PORTAL_DOMAINS=2000 BENCH_DURATION=1s \
	WEB_PORT="$WEB_PORT" BENCH_BARE_PORT=$((WEB_PORT + 1))
tap_done
