#!/bin/bash
# relay.sh BUILDDIR - benchmark of the relay side (mta-glue and
# mxfeed-policyd) at 100,000 domains (BENCH_RELAY_DOMAINS; make check
# runs it with 1,000), each figure printed against a baseline measured
# in the same run.  Run from the top directory, as
# root (network namespace, Postfix):
#   bash bench/relay.sh build
#
#   generate: "mta-glue generate DIR" (snapshot, relay_domains,
#             transport, policy, main.cf, master.cf, postmap of both
#             maps)  vs  the floor: psql \copy of the same two maps
#             straight out of the domains table plus postmap of both.
#             Best of $BENCH_RUNS runs each.
#   set->applied: "feedctl set" of one domain until the relays table
#             shows the change applied by a running "mta-glue sync"
#             (with Postfix running on the relay), polled every 20 ms;
#             p50 and max over $NCHANGE changes, each a new
#             max_message_mb (main.cf changes: postfix check and a
#             reload), then as many of spam.low.action (only the policy
#             and rspamd files change: no reload).  sync applies them
#             incrementally; the baseline is the same changes each
#             followed by a full "mta-glue apply" (what every change
#             cost before), sync stopped.
#   policyd:  bench/policy_client sends $NREQ policy requests over one
#             pipe connection to mxfeed-policyd on the 100k snapshot  vs
#             bench/trivial_policy (reads the same protocol, always
#             answers DUNNO); both pinned to one CPU, best of $BENCH_RUNS.
# Targets (SPEC): generate <= 1.5x the floor, set->applied p50 <= 1 s,
# policyd >= 0.5x the trivial responder.  Runs in a network namespace
# with loopback only; everything on 127.0.0.1; every loop is bounded;
# nothing is asserted.
set -uo pipefail

b=${1:-build}
export MXFEED_BUILD
MXFEED_BUILD=$(cd "$(dirname "$0")/.." && pwd)/$b
NDOM=${BENCH_RELAY_DOMAINS:-100000}
NRULES=$((NDOM / 100)) # one domain in a hundred has a rule
NCHANGE=${BENCH_CHANGES:-10}
SIZE=$((NDOM / 1000))k # the figures' label: 100k
NREQ=${BENCH_POLICY_N:-200000}
RUNS=${BENCH_RUNS:-3}

# shellcheck source=../tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
in_netns "$0" "$@"

die() {
	echo "relay.sh: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (network namespace, Postfix)"
for p in cc psql postmap postfix bc unshare taskset; do
	command -v "$p" > /dev/null || die "$p is missing"
done
POLICYD=$BUILD/rel/bin/mxfeed-policyd
[ -x "$FEEDCTL" ] && [ -x "$MTA_GLUE" ] && [ -x "$POLICYD" ] ||
	die "build first: make all"

pg_setup
relay_setup # listen 127.0.0.1:2525, dns = 0; trap relay_teardown EXIT
PSQL=(psql -X -q -h "$T/pg/sock" -U mxfeed_app -d mxfeed -v ON_ERROR_STOP=1)

# seconds since START (an $EPOCHREALTIME value)
since() { echo "$EPOCHREALTIME - $1" | bc -l; }
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
min() { echo "if ($1 < $2) $1 else $2" | bc -l; }

echo "# mxfeed relay bench: $NDOM domains, $NRULES rules, PostgreSQL in $T"

# ---- helpers, compiled warning-free into the temp dir ------------------
for h in policy_client trivial_policy; do
	cc -O2 -Wall -Wextra -o "$T/$h" "$TOP/bench/$h.c" ||
		die "$h does not compile"
done

# ---- data: 100,000 domains and 1,000 rules, straight SQL ---------------
# Every tenth domain is pop3 (no destination), every tenth from 5 on is
# backup, the rest feed to 127.0.0.1:2526; one in four has greylisting
# off.  The rules: a sender regex on
# 500 domains (matching nobody the bench sends) and a block of
# 127.0.0.0/8 on 500 others (so 0.5% of the policy requests get a 554 or
# 450; the rest DUNNO or the greylisting class).  The triggers add one changes row per row.
W=${#NDOM} # digits of a domain's number: 6 up to 999,999, 7 for 1M
[ "$W" -ge 6 ] || W=6
dom() { printf "d%0${W}d.example" "$1"; }
sql "INSERT INTO domains (name, unicode_name, mode, dest_host, dest_port,
       greylisting, queue_days, max_message_mb, version, created_by,
       updated_by, ticket)
     SELECT n, n, m,
       CASE WHEN m = 'pop3' THEN NULL ELSE '127.0.0.1'::inet END,
       CASE WHEN m = 'pop3' THEN NULL ELSE 2526 END,
       g, 5, 50, 1, 'bench', 'bench', ''
     FROM (SELECT 'd' || lpad(i::text, $W, '0') || '.example' AS n,
             CASE WHEN i % 10 = 0 THEN 'pop3'
                  WHEN i % 10 = 5 THEN 'backup' ELSE 'feed' END AS m,
             i % 4 <> 3 AS g
           FROM generate_series(1, $NDOM) i) s" > "$T/load.log" 2>&1 ||
	die "loading domains failed: $(head -n 5 "$T/load.log")"
sql "INSERT INTO sender_rules (domain_id, action, kind, value)
     SELECT id, 'block',
       CASE WHEN i % 200 = 1 THEN 'address-regex' ELSE 'client-cidr' END,
       CASE WHEN i % 200 = 1 THEN '^spam[0-9]*@' ELSE '127.0.0.0/8' END
     FROM (SELECT id, substr(name, 2, $W)::int AS i FROM domains) s
     WHERE i % 100 = 1 AND i <= $((NRULES * 100))" >> "$T/load.log" 2>&1 ||
	die "loading rules failed: $(head -n 5 "$T/load.log")"
sql "VACUUM ANALYZE domains, sender_rules, changes" >> "$T/load.log" 2>&1
nd=$(sql "SELECT count(*) FROM domains")
nr=$(sql "SELECT count(*) FROM sender_rules")
[ "$nd" = "$NDOM" ] && [ "$nr" = "$NRULES" ] ||
	die "loaded $nd domains and $nr rules, expected $NDOM and $NRULES"

# ---- 1. full generation vs COPY + postmap ------------------------------
# The floor writes the very maps mxfeed writes (pop3 domains go to the
# mailbox LMTP, conf default mailbox.lmtp), so the files are compared.
tr_sql="CASE WHEN dest_host IS NULL THEN 'lmtp:inet:[127.0.0.1]:24'
  ELSE 'smtp:[' || host(dest_host) || ']:' || dest_port END"
floor() {
	local f=$1
	"${PSQL[@]}" \
		-c "\\copy (SELECT name, 'OK' FROM domains ORDER BY name) TO '$f/relay_domains' WITH (DELIMITER ' ')" \
		-c "\\copy (SELECT name, $tr_sql FROM domains ORDER BY name) TO '$f/transport' WITH (DELIMITER ' ')" &&
		postmap -c "$f" "lmdb:$f/relay_domains" &&
		postmap -c "$f" "lmdb:$f/transport"
}
gen_best='' floor_best=''
for r in $(seq 1 "$RUNS"); do
	rm -rf "$T/gen-bench"
	t0=$EPOCHREALTIME
	"$MTA_GLUE" generate "$T/gen-bench" > "$T/gen.log" 2>&1 ||
		die "mta-glue generate failed: $(head -n 5 "$T/gen.log")"
	gs=$(since "$t0")
	gen_best=$(min "${gen_best:-$gs}" "$gs")

	rm -rf "$T/floor"
	mkdir "$T/floor"
	cp -p "$T/gen-bench/main.cf" "$T/floor/main.cf"
	t0=$EPOCHREALTIME
	floor "$T/floor" > "$T/floor.log" 2>&1 ||
		die "floor COPY+postmap failed: $(head -n 5 "$T/floor.log")"
	fs=$(since "$t0")
	floor_best=$(min "${floor_best:-$fs}" "$fs")
	printf '#   run %d: generate %.3f s, floor %.3f s\n' "$r" "$gs" "$fs"
done
for m in relay_domains transport; do
	cmp -s "$T/gen-bench/$m" "$T/floor/$m" ||
		echo "# WARNING: the floor's $m differs from mxfeed's"
	[ -s "$T/gen-bench/$m.lmdb" ] || die "mta-glue generate wrote no $m.lmdb"
done
printf 'relay generate %s: %.3f s (floor COPY+postmap %.3f s) ratio %s [target <= 1.5]\n' \
	"$SIZE" "$gen_best" "$floor_best" "$(ratio "$gen_best" "$floor_best")"

# ---- 2. one change to applied on the relay ------------------------------
t0=$EPOCHREALTIME
"$MTA_GLUE" apply > "$T/apply.log" 2>&1 ||
	die "mta-glue apply failed: $(head -n 5 "$T/apply.log")"
first_apply=$(since "$t0")
"$MTA_GLUE" start > "$T/start.log" 2>&1 ||
	die "mta-glue start failed: $(head -n 5 "$T/start.log")"
for _ in $(seq 50); do
	(exec 3<> /dev/tcp/127.0.0.1/2525) 2> /dev/null && break
	sleep 0.1
done
(exec 3<> /dev/tcp/127.0.0.1/2525) 2> /dev/null || die "Postfix does not answer on 127.0.0.1:2525"
"$MTA_GLUE" sync > "$T/sync.log" 2>&1 &
SYNC_PID=$!
relay_caught_up || die "mta-glue sync does not report the relay caught up"

# The polls go over one psql session (a coprocess): a psql started for
# each poll cost 60-100 ms of CPU every 20 ms, on the CPUs the apply
# being measured needs (postfix check forks a great deal)
# (copied to fds 7 and 8: a coprocess's own are closed in subshells)
coproc POLL { "${PSQL[@]}" -At 2>&1; }
exec 7>&"${POLL[1]}" 8<&"${POLL[0]}"
applied() {
	local ans
	echo "SELECT applied_seq >= (SELECT max(seq) FROM changes) FROM relays WHERE name='test-relay';" >&7
	read -r -t 10 ans <&8 || return 1
	[ "$ans" = t ]
}
# change K KIND: the K-th change of a kind to one domain
change() {
	local d
	d=$(dom $((($1 * 9973) % NDOM + 1)))
	case $2 in
	size) set -- "max_message_mb=$((60 + $1))" ;;
	spam) set -- spam.low.action=header ;; # each K another domain: a change
	esac
	"$FEEDCTL" set "$d" "$1" > "$T/set.log" 2>&1 ||
		die "feedctl set $d $1 failed: $(head -n 5 "$T/set.log")"
}
# p50 and max of the numbers on stdin (nearest rank)
pct() {
	sort -g | awk '{ v[NR] = $1 } END { printf "%.0f %.0f", v[int((NR + 1) / 2)], v[NR] }'
}
# what one poll costs (the resolution of the figures below)
t0=$EPOCHREALTIME
for _ in 1 2 3 4 5; do applied; done
poll_ms=$(echo "$(since "$t0") * 1000 / 5" | bc -l)

# incr KIND FIRST: NCHANGE changes applied by the running sync, their
# latencies in ms on stdout
incr() {
	local k t0 ok
	for k in $(seq "$2" $(($2 + NCHANGE - 1))); do
		t0=$EPOCHREALTIME
		change "$k" "$1"
		ok=0
		for _ in $(seq 1500); do # at most 30 s
			if applied; then
				ok=1
				break
			fi
			[ "$(echo "$(since "$t0") > 30" | bc)" = 1 ] && break
			sleep 0.02
		done
		[ "$ok" = 1 ] || die "change $k not applied within 30 s: $(tail -n 5 "$T/sync.log")"
		echo "$(since "$t0") * 1000" | bc -l
		sleep 0.3 # let Postfix's reload settle before the next change
	done
}
# full KIND FIRST: the same, each change followed by a full apply
full() {
	local k t0
	for k in $(seq "$2" $(($2 + NCHANGE - 1))); do
		t0=$EPOCHREALTIME
		change "$k" "$1"
		"$MTA_GLUE" apply > "$T/apply.log" 2>&1 ||
			die "mta-glue apply failed: $(head -n 5 "$T/apply.log")"
		# seen as sync's are: one poll of the relays table
		applied || die "change $k not reported applied"
		echo "$(since "$t0") * 1000" | bc -l
		sleep 0.3
	done
}
read -r size_p50 size_max < <(incr size 1 | pct)
read -r spam_p50 spam_max < <(incr spam 1 | pct)
kill "$SYNC_PID" 2> /dev/null && wait "$SYNC_PID" 2> /dev/null
SYNC_PID=
read -r fsize_p50 fsize_max < <(full size $((NCHANGE + 1)) | pct)
read -r fspam_p50 fspam_max < <(full spam $((NCHANGE + 1)) | pct)
"$MTA_GLUE" stop > /dev/null 2>&1

printf 'relay set->applied at %s: p50 %.0f ms, max %.0f ms (full apply %.0f ms) ratio %s [target p50 <= 1000 ms]\n' \
	"$SIZE" "$size_p50" "$size_max" "$fsize_p50" "$(ratio "$size_p50" "$fsize_p50")"
printf 'relay set->applied at %s, no reload (spam.low.action): p50 %.0f ms, max %.0f ms (full apply %.0f ms) ratio %s\n' \
	"$SIZE" "$spam_p50" "$spam_max" "$fspam_p50" "$(ratio "$spam_p50" "$fspam_p50")"
grep -o 'applied sequence [0-9]* in [0-9]* ms' "$T/sync.log" |
	awk '{ v[NR] = $5 } END { if (NR) { printf "#   apply inside sync (relay_apply):"; for (i = 1; i <= NR; i++) printf " %s", v[i]; print " ms" } }'
printf '#   incremental generations: %s, in full: %s; first apply at %s: %.3f s; one poll of the relays table costs %.0f ms\n' \
	"$(grep -c 'generating incrementally' "$T/sync.log")" \
	"$(grep -c 'generating in full' "$T/sync.log")" \
	"$SIZE" "$first_apply" "$poll_ms"

# ---- 3. policyd requests/s vs a trivial responder -----------------------
snap=$T/state/current/policy
[ -s "$snap" ] || die "no policy snapshot at $snap"
# Both sides pinned to one CPU: unpinned, where the scheduler puts the
# two processes (a wakeup across vCPUs) decides the figure, and the same
# run varies by a factor of five.  Best of $RUNS, the two alternating.
cpu=$(taskset -pc $$ | sed 's/.*: *//; s/[-,].*//')
best() { # best FILE... -> the file with the smallest elapsed
	awk '$1 == "elapsed" { print $2, FILENAME }' "$@" | sort -g | head -n 1 | cut -d' ' -f2
}
for r in $(seq 1 "$RUNS"); do
	taskset -c "$cpu" "$T/policy_client" -w "$W" "$NREQ" "$NDOM" "$T/trivial_policy" \
		> "$T/pc-trivial-$r.txt" 2> "$T/pc-trivial.err" ||
		die "policy_client vs trivial_policy failed: $(cat "$T/pc-trivial.err")"
	taskset -c "$cpu" "$T/policy_client" -w "$W" "$NREQ" "$NDOM" "$POLICYD" -s "$snap" \
		> "$T/pc-policyd-$r.txt" 2> "$T/pc-policyd.err" ||
		die "policy_client vs mxfeed-policyd failed: $(cat "$T/pc-policyd.err")"
done
pc_trivial=$(best "$T"/pc-trivial-*.txt)
pc_policyd=$(best "$T"/pc-policyd-*.txt)
val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
rps() { printf '%.0f' "$(echo "$(val requests "$1") / $(val elapsed "$1")" | bc -l)"; }
a=$(rps "$pc_policyd")
b0=$(rps "$pc_trivial")
echo "policyd req/s: $a (trivial responder $b0) ratio $(ratio "$a" "$b0") [target >= 0.5]"
printf '#   policyd: snapshot load (startup) %.3f s; answers:%s\n' \
	"$(val startup "$pc_policyd")" \
	"$(awk '$1 == "answer" { printf " %s %s;", $2, substr($0, index($0, $3)) }' "$pc_policyd")"
