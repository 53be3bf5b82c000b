#!/bin/bash
# regex.sh BUILDDIR - the cost of sender regexes in mxfeed-policyd
#
# Two snapshots of one feed domain, d000001.example: without rules, and
# with 100 sender-regex block rules that match nobody the bench sends
# (so every request runs all 100 matches).  bench/policy_client sends
# NREQ requests over one connection to each; printed: decisions/s with
# the rules, without, and their ratio (same run, same CPU, best of RUNS,
# alternating), plus the snapshot load time with the rules.  Nothing is
# asserted.
set -euo pipefail

b=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
policyd=$top/$b/rel/bin/mxfeed-policyd
nreq=${BENCH_NREQ:-20000}
runs=${BENCH_RUNS:-3}
T=$(mktemp -d /tmp/mxfeed-bench-regex.XXXXXX)
trap 'rm -rf "$T"' EXIT

cc -O2 -Wall -Wextra -o "$T/policy_client" "$top/bench/policy_client.c"
dom=$(printf 'domain\td000001.example\tfeed\t52428800\t0\tany\t127.0.0.1')
printf '%s\n' "$dom" > "$T/none"
{
	printf '%s\n' "$dom"
	for i in $(seq 1 100); do
		case $((i % 4)) in
		0) re="^bulk$i@.*\\.example\$" ;;
		1) re="@(.+\\.)?spam$i\\.test\$" ;;
		2) re="^[a-z]+[0-9]{2,8}@mailer$i\\." ;;
		3) re="(promo|offer|deal)$i@" ;;
		esac
		printf 'rule\td000001.example\tblock\taddress-regex\t%s\n' "$re"
	done
} > "$T/rules"

cpu=$(taskset -pc $$ | sed 's/.*: *//; s/[-,].*//')
for r in $(seq 1 "$runs"); do
	for s in none rules; do
		taskset -c "$cpu" "$T/policy_client" "$nreq" 1 "$policyd" \
			-s "$T/$s" > "$T/$s-$r.txt"
	done
done
val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
best() { # best NAME -> decisions/s of the fastest run
	for f in "$T/$1"-*.txt; do
		echo "$(val requests "$f") / $(val elapsed "$f")" | bc -l
	done | sort -g | tail -n 1
}
with=$(best rules)
without=$(best none)
printf 'policyd decisions/s with 100 sender regexes: %.0f (no rules %.0f) ratio %.2f\n' \
	"$with" "$without" "$(echo "$with / $without" | bc -l)"
printf '#   snapshot load with 100 regexes %.4f s (without %.4f s); answers: %s\n' \
	"$(val startup "$T/rules-1.txt")" "$(val startup "$T/none-1.txt")" \
	"$(awk '$1 == "answer" { printf "%s %s; ", $2, $3 }' "$T/rules-1.txt")"
