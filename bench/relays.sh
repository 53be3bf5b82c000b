#!/bin/bash
# relays.sh BUILDDIR - benchmark of a fleet of three relays (issue 15):
# three Postfix instances on 127.0.0.1-3:2525, each with its own
# configuration, queue and "mta-glue sync", on one PostgreSQL, in a
# network namespace with loopback only.  Run from the top directory, as
# root:  bash bench/relays.sh build
#
#   set->live: "feedctl set" of one domain, from an admin host's
#             configuration (no relay there), until the relays table
#             shows the change applied on all three relays; polled
#             every 20 ms; p50 and p90 over $NCHANGE changes after
#             one warm-up change (fewer,
#             but at least 3, when they outlast $BUDGET s), at each
#             domain count of BENCH_RELAYS_DOMAINS (default 100000 and
#             1000000, one run).  The baseline is the smallest count:
#             the ratio largest/smallest says how flat it is.
#   queue:    $NQ messages queued for one domain whose destination is
#             down (127.0.0.9:25, nothing listens), spread over the
#             three relays, listed from the admin host by "feedctl
#             queue DOMAIN --json" and by GET /api/v1/domains/DOMAIN/queue
#             (nginx + mxfeed-fcgi).  Both ask every relay to publish
#             its queue now and wait for the three answers, so the
#             baseline is the work no fresh listing can skip: "postqueue
#             -j" on the three relays at once.  The read of what the
#             relays published (psql on relay_queue) is printed beside
#             it.  Best of $RUNS each.
#   policyd:  at each domain count, bench/policy_client starts
#             mxfeed-policyd on relay-1's generated snapshot over pipes
#             (as spawn(8) does) and sends $NPOL requests for domains
#             spread over all of them; the baseline is bench/
#             trivial_policy (reads the same protocol, always DUNNO)
#             run the same way: start-up (fork to the first answer),
#             decisions/s, and after the requests its anonymous
#             memory (what each further smtpd's policyd costs: the
#             snapshot is a shared read-only mapping) beside its
#             resident and private pages (which count the snapshot's
#             page cache while only one policyd maps it).  Both pinned to one CPU; best of $RUNS.
# Targets (SPEC section 9): set->live p50 <= 1 s at 1,000,000 domains
# and <= 1.2x the 100k figure; policyd start-up <= 5 ms, decisions/s
# >= 0.6x the trivial responder, anonymous memory the same at every
# domain count.  The queue listing has no target.  Every loop is
# bounded in count and time; nothing is asserted.
set -uo pipefail

b=${1:-build}
export MXFEED_BUILD
MXFEED_BUILD=$(cd "$(dirname "$0")/.." && pwd)/$b
read -r -a SIZES <<< "${BENCH_RELAYS_DOMAINS:-100000 1000000}"
NCHANGE=${BENCH_CHANGES:-10}
NPOL=${BENCH_POLICY_N:-100000}
POLICYD=$MXFEED_BUILD/rel/bin/mxfeed-policyd
NQ=${BENCH_QUEUE_N:-10000}
RUNS=${BENCH_RUNS:-3}
BUDGET=${BENCH_BUDGET:-300} # seconds of changes per domain count
LIVE_MAX=${BENCH_LIVE_MAX:-300} # seconds one change may take to be live
INJECT_MAX=${BENCH_INJECT_MAX:-1800} # seconds to queue the messages (on a busy box, 4 a second a relay)
NRELAY=3
WEB_PORT=${WEB_PORT:-18094}
QDOM=down.example

# shellcheck source=../tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
in_netns "$0" "$@"

die() {
	echo "relays.sh: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (network namespace, Postfix)"
for p in psql postqueue sendmail postfix bc jq curl nginx unshare; do
	command -v "$p" > /dev/null || die "$p is missing"
done
[ -x "$FEEDCTL" ] && [ -x "$MTA_GLUE" ] && [ -x "$FCGI" ] ||
	die "build first: make all"
[ "$NCHANGE" -ge 1 ] && [ "$NQ" -ge "$NRELAY" ] && [ "${#SIZES[@]}" -ge 1 ] ||
	die "BENCH_CHANGES >= 1, BENCH_QUEUE_N >= $NRELAY and a domain count, please"
prev=0
for n in "${SIZES[@]}"; do
	[ "$n" -gt "$prev" ] || die "BENCH_RELAYS_DOMAINS must grow: ${SIZES[*]}"
	prev=$n
done

pg_setup
relay_setup # the base configuration; trap relay_teardown EXIT
trap relays_teardown EXIT
PSQL=(psql -X -A -t -q -h "$T/pg/sock" -U mxfeed_app -d mxfeed -v ON_ERROR_STOP=1)

# The admin host: the database, no relay (paths.state holds no
# generation, so feedctl asks the relays rather than reading a queue).
mkdir -p "$T/admin"
cat > "$T/admin/mxfeed.conf" << CONF
database = {
  conninfo = "host=$T/pg/sock dbname=mxfeed user=mxfeed_app";
};
paths = { state = "$T/admin"; };
destinations = { allow = [ "127.0.0.0/8" ]; };
log = { target = "stderr"; };
CONF
ADMIN=$T/admin/mxfeed.conf

since() { echo "$EPOCHREALTIME - $1" | bc -l; }
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
min() { echo "if ($1 < $2) $1 else $2" | bc -l; }
label() { # 100000 -> 100k, 1000000 -> 1M
	if [ $(($1 % 1000000)) = 0 ]; then
		echo "$(($1 / 1000000))M"
	elif [ $(($1 % 1000)) = 0 ]; then
		echo "$(($1 / 1000))k"
	else
		echo "$1"
	fi
}
dom() { printf 'd%07d.example' "$1"; }

for h in policy_client trivial_policy; do
	cc -O2 -Wall -Wextra -o "$T/$h" "$TOP/bench/$h.c" ||
		die "$h does not compile"
done
cpu=$(taskset -pc $$ | sed 's/.*: *//; s/[-,].*//')
val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
# policyd_at N: policyd on relay-1's snapshot vs the trivial responder
declare -A PSTART PPRIV
policyd_at() {
	local n=$1 size snap r bt bp f
	size=$(label "$n")
	snap=$T/r1/state/current/policy
	[ -s "$snap" ] || die "no policy snapshot at $snap"
	for r in $(seq 1 "$RUNS"); do
		taskset -c "$cpu" "$T/policy_client" -w 7 "$NPOL" "$n" "$T/trivial_policy" \
			> "$T/pt-$n-$r.txt" 2> "$T/pc.err" ||
			die "policy_client vs trivial_policy failed: $(cat "$T/pc.err")"
		taskset -c "$cpu" "$T/policy_client" -w 7 "$NPOL" "$n" "$POLICYD" -s "$snap" \
			> "$T/pp-$n-$r.txt" 2> "$T/pc.err" ||
			die "policy_client vs mxfeed-policyd failed: $(cat "$T/pc.err")"
	done
	# best: the smallest start-up, the smallest elapsed, each on its own
	bt=$(for f in "$T"/pt-"$n"-*.txt; do echo "$(val elapsed "$f") $f"; done | sort -g | head -n 1 | cut -d' ' -f2)
	bp=$(for f in "$T"/pp-"$n"-*.txt; do echo "$(val elapsed "$f") $f"; done | sort -g | head -n 1 | cut -d' ' -f2)
	st=$(cat "$T"/pt-"$n"-*.txt | awk '$1 == "startup" { print $2 * 1000 }' | sort -g | head -n 1)
	sp=$(cat "$T"/pp-"$n"-*.txt | awk '$1 == "startup" { print $2 * 1000 }' | sort -g | head -n 1)
	PSTART[$n]=$sp
	PPRIV[$n]=$(val anon_kb "$bp")
	grep -q "^answer [0-9]* 550 5.1.2" "$bp" &&
		echo "# WARNING: policyd answered 550 5.1.2 (domain not found) at $size: $(grep '^answer' "$bp" | tr '\n' ';')"
	printf 'relays policyd at %s: start-up %.2f ms (baseline trivial responder %.2f ms) ratio %s [target <= 5 ms]\n' \
		"$size" "$sp" "$st" "$(ratio "$sp" "$st")"
	printf 'relays policyd at %s: decisions/s %.0f (baseline trivial responder %.0f) ratio %s [target >= 0.6]\n' \
		"$size" "$(echo "$NPOL / $(val elapsed "$bp")" | bc -l)" \
		"$(echo "$NPOL / $(val elapsed "$bt")" | bc -l)" \
		"$(ratio "$(val elapsed "$bt")" "$(val elapsed "$bp")")"
	printf 'relays policyd at %s: anonymous memory %d kB (baseline trivial responder %d kB) ratio %s; resident %d kB, private %d kB\n' \
		"$size" "${PPRIV[$n]}" "$(val anon_kb "$bt")" \
		"$(ratio "${PPRIV[$n]}" "$(val anon_kb "$bt")")" \
		"$(val rss_kb "$bp")" "$(val private_kb "$bp")"
}

echo "# mxfeed relays bench: $NRELAY relays, domains ${SIZES[*]}, $NCHANGE changes each, $NQ queued messages, PostgreSQL in $T"

# domains FROM TO: d0000FROM..d0000TO.example, straight SQL (as relay.sh:
# one in ten pop3, one in ten backup, the rest feed to 127.0.0.1:2526)
domains() {
	sql "INSERT INTO domains (name, unicode_name, mode, dest_host, dest_port,
	       greylisting, queue_days, max_message_mb, version, created_by,
	       updated_by, ticket)
	     SELECT n, n, m,
	       CASE WHEN m = 'pop3' THEN NULL ELSE '127.0.0.1'::inet END,
	       CASE WHEN m = 'pop3' THEN NULL ELSE 2526 END,
	       g, 5, 50, 1, 'bench', 'bench', ''
	     FROM (SELECT 'd' || lpad(i::text, 7, '0') || '.example' AS n,
	             CASE WHEN i % 10 = 0 THEN 'pop3'
	                  WHEN i % 10 = 5 THEN 'backup' ELSE 'feed' END AS m,
	             i % 4 <> 3 AS g
	           FROM generate_series($1, $2) i) s" >> "$T/load.log" 2>&1 &&
		sql "VACUUM ANALYZE domains, changes" >> "$T/load.log" 2>&1
}

# live_now: LIVE, how many relays applied the newest change, asked on
# one psql session held open (a new psql per poll costs 20-80 ms here,
# more than the resolution wanted)
coproc POLL { "${PSQL[@]}" 2>&1; }
live_now() {
	LIVE=
	printf '%s\n' "SELECT count(*) FROM relays WHERE name ~ '^relay-[0-9]+\$'
	  AND applied_seq >= (SELECT max(seq) FROM changes);" >&"${POLL[1]}"
	read -r -t 10 LIVE <&"${POLL[0]}"
}

# ---- 1. one change to live on every relay, at each domain count --------
declare -A P50 P90
have=0
for n in "${SIZES[@]}"; do
	size=$(label "$n")
	t0=$EPOCHREALTIME
	domains $((have + 1)) "$n" || die "loading domains failed: $(tail -n 5 "$T/load.log")"
	have=$n
	[ "$(sql "SELECT count(*) FROM domains")" = "$n" ] || die "expected $n domains"
	printf '#   %s: %s domains loaded in %.1f s\n' "$size" "$n" "$(since "$t0")"
	t0=$EPOCHREALTIME
	if [ "${RELAYS_N:-0}" = 0 ]; then
		relays_start "$NRELAY"
		printf '#   %s: first apply per relay:' "$size"
		printf ' %.1f s' "${RELAYS_APPLY_S[@]}"
		echo
	fi
	relays_caught_up 900 ||
		die "the relays do not catch up at $size: $(tail -n 3 "$T"/r*/sync.log)"
	printf '#   %s: all %d relays live %.1f s after the load\n' "$size" "$NRELAY" "$(since "$t0")"

	t0=$EPOCHREALTIME
	for _ in 1 2 3 4 5; do live_now; done
	poll_ms=$(echo "$(since "$t0") * 1000 / 5" | bc -l)
	lat=()
	budget=$((SECONDS + BUDGET))
	# change 0 is a warm-up, not counted: the first changes after the
	# relays start (or after a bulk load) pay for what the next ones reuse
	for k in $(seq 0 "$NCHANGE"); do
		# the budget: at least 3 changes, then none started after it
		[ "$k" -gt 3 ] && [ "$SECONDS" -gt "$budget" ] && break
		d=$(dom $(((k * 99991) % n + 1)))
		t0=$EPOCHREALTIME
		MXFEED_CONF=$ADMIN "$FEEDCTL" set "$d" "max_message_mb=$((60 + k))" > "$T/set.log" 2>&1 ||
			die "feedctl set $d failed: $(head -n 5 "$T/set.log")"
		ok=0
		end=$((SECONDS + LIVE_MAX))
		for _ in $(seq $((LIVE_MAX * 50))); do # and at most LIVE_MAX s
			live_now
			if [ "$LIVE" = "$NRELAY" ]; then
				ok=1
				break
			fi
			[ "$SECONDS" -le "$end" ] || break
			sleep 0.02
		done
		[ "$ok" = 1 ] || die "change $k ($d) not live on all relays within $LIVE_MAX s at $size"
		[ "$k" = 0 ] || lat+=("$(echo "$(since "$t0") * 1000" | bc -l)")
		sleep 0.3 # let the reloads settle before the next change
	done
	mapfile -t sorted < <(printf '%s\n' "${lat[@]}" | sort -g)
	nl=${#lat[@]}
	P50[$n]=${sorted[$(((nl + 1) / 2 - 1))]} # nearest rank
	P90[$n]=${sorted[$(((nl * 9 + 9) / 10 - 1))]}
	policyd_at "$n"
	printf 'relays set->live on %d relays at %s: p50 %.0f ms, p90 %.0f ms over %d changes [target p50 <= 1000 ms]\n' \
		"$NRELAY" "$size" "${P50[$n]}" "${P90[$n]}" "$nl"
	printf '#   %s: one poll of the relays table costs %.0f ms; apply inside sync (ms), per relay:\n' \
		"$size" "$poll_ms"
	for r in $(seq 1 "$NRELAY"); do
		grep -o 'applied sequence [0-9]* in [0-9]* ms' "$T/r$r/sync.log" | tail -n "$nl" |
			awk -v r="$r" '{ s = s " " $5 } END { print "#     relay-" r ":" s }'
	done
done
lo=${SIZES[0]} hi=${SIZES[${#SIZES[@]} - 1]}
if [ "$hi" != "$lo" ]; then
	printf 'relays set->live %s vs %s: p50 %.0f ms (baseline %.0f ms) ratio %s, p90 ratio %s [target <= 1.2, flat]\n' \
		"$(label "$hi")" "$(label "$lo")" "${P50[$hi]}" "${P50[$lo]}" \
		"$(ratio "${P50[$hi]}" "${P50[$lo]}")" "$(ratio "${P90[$hi]}" "${P90[$lo]}")"
	printf 'relays policyd %s vs %s: start-up %.2f ms (baseline %.2f ms) ratio %s, anonymous memory %d kB (baseline %d kB) ratio %s [target flat: 1.00]\n' \
		"$(label "$hi")" "$(label "$lo")" "${PSTART[$hi]}" "${PSTART[$lo]}" \
		"$(ratio "${PSTART[$hi]}" "${PSTART[$lo]}")" "${PPRIV[$hi]}" "${PPRIV[$lo]}" \
		"$(ratio "${PPRIV[$hi]}" "${PPRIV[$lo]}")"
fi

# ---- 2. the queue of one domain, from the admin host -------------------
MXFEED_CONF=$ADMIN "$FEEDCTL" add "$QDOM" --mode feed --force --dest 127.0.0.9:25 \
	greylisting=off recipients=any > "$T/qadd.log" 2>&1 ||
	die "feedctl add $QDOM failed: $(head -n 5 "$T/qadd.log")"
relays_caught_up 120 || die "the relays do not take $QDOM"
# Local submission (sendmail -> postdrop -> pickup): no smtpd, so no
# milter and no policy service in the way; one injector per relay.
declare -a inj
t0=$EPOCHREALTIME
for r in $(seq 1 "$NRELAY"); do
	(
		share=$(((NQ - r) / NRELAY + 1)) end=$((SECONDS + INJECT_MAX))
		for i in $(seq 1 "$share"); do
			[ "$SECONDS" -le "$end" ] || exit 1
			printf 'From: <s@sender.test>\nTo: <u%d@%s>\nSubject: queued %d on relay %d\n\nqueued\n' \
				"$i" "$QDOM" "$i" "$r" |
				sendmail -C "$T/r$r/state/current" -f s@sender.test "u$i@$QDOM" || exit 1
		done
	) > "$T/r$r/inject.log" 2>&1 &
	inj[r]=$!
done
for r in $(seq 1 "$NRELAY"); do
	wait "${inj[r]}" || die "queueing on relay $r failed: $(tail -n 3 "$T/r$r/inject.log")"
done
inject_s=$(since "$t0")
# queued(R): messages in relay R's deferred queue
deferred() { postqueue -c "$T/r$1/state/current" -j | grep -c '"queue_name": *"deferred"'; }
end=$((SECONDS + INJECT_MAX))
while :; do
	q=0
	for r in $(seq 1 "$NRELAY"); do q=$((q + $(deferred "$r"))); done
	[ "$q" -ge "$NQ" ] && break
	[ "$SECONDS" -le "$end" ] || die "only $q of $NQ messages deferred after $INJECT_MAX s"
	sleep 1
done
printf '#   queue: %d messages queued in %.1f s, all deferred %.1f s after the start\n' \
	"$NQ" "$inject_s" "$(since "$t0")"

export MXFEED_CONF=$ADMIN # mxfeed-fcgi runs on the admin host too
FCGI_WORKERS=2 web_setup
trap 'web_stop; relays_teardown' EXIT
TOKEN=$("$FEEDCTL" token create bench --role admin --json | jq -r .token)
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || die "no token"

base_best='' cache_best='' cli_best='' api_best=''
for k in $(seq 1 "$RUNS"); do
	t0=$EPOCHREALTIME
	pq=()
	for r in $(seq 1 "$NRELAY"); do
		postqueue -c "$T/r$r/state/current" -j > "$T/pq-$r.json" &
		pq+=($!)
	done
	wait "${pq[@]}" # not a bare wait: the syncs and mxfeed-fcgi are children too
	s=$(since "$t0")
	base_best=$(min "${base_best:-$s}" "$s")
	t0=$EPOCHREALTIME
	"${PSQL[@]}" -c "SELECT relay, count, oldest, messages FROM relay_queue WHERE domain = '$QDOM'" > "$T/cached.txt"
	s=$(since "$t0")
	cache_best=$(min "${cache_best:-$s}" "$s")
	t0=$EPOCHREALTIME
	"$FEEDCTL" queue "$QDOM" --json > "$T/queue.json" 2> "$T/queue.err" ||
		die "feedctl queue failed: $(head -n 3 "$T/queue.err")"
	s=$(since "$t0")
	cli_best=$(min "${cli_best:-$s}" "$s")
	s=$(curl -s -m 60 -o "$T/api-queue.json" -w '%{http_code} %{time_total}' \
		-H "Authorization: Bearer $TOKEN" "$BASE/api/v1/domains/$QDOM/queue")
	[ "${s%% *}" = 200 ] || die "GET .../queue answered ${s%% *}: $(head -c 300 "$T/api-queue.json")"
	api_best=$(min "${api_best:-${s#* }}" "${s#* }")
done
total=$(cat "$T"/pq-*.json | grep -c "@$QDOM")
for f in queue.json api-queue.json; do
	c=$(jq -r '.count' "$T/$f")
	fresh=$(jq -r '[.relays[] | select(.state == "fresh")] | length' "$T/$f")
	[ "$c" = "$NQ" ] || echo "# WARNING: $f counts $c messages, $NQ were queued"
	[ "$fresh" = "$NRELAY" ] || echo "# WARNING: $f has $fresh fresh relays of $NRELAY"
done
[ "$total" = "$NQ" ] || echo "# WARNING: postqueue -j lists $total messages, $NQ were queued"
printf 'relays queue listing of %d messages on %d relays: feedctl queue %.3f s, API GET %.3f s (baseline postqueue -j on the %d relays at once %.3f s) ratio %s, %s [no target]\n' \
	"$NQ" "$NRELAY" "$cli_best" "$api_best" "$NRELAY" "$base_best" \
	"$(ratio "$cli_best" "$base_best")" "$(ratio "$api_best" "$base_best")"
printf '#   queue: the read of what the relays published (psql on relay_queue) %.3f s; feedctl queue ratio to it %s\n' \
	"$cache_best" "$(ratio "$cli_best" "$cache_best")"
