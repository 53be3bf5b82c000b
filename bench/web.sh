#!/bin/bash
# web.sh BUILDDIR - benchmark of the HTTP API (nginx + mxfeed-fcgi),
# each figure printed as a ratio against a baseline measured in the same
# run on the same private PostgreSQL.  Run from the top directory:
#   bash bench/web.sh build
#
#   GET:   wrk on GET /api/v1/domains/NAME  vs  bench/bare_fcgi (libfcgi +
#          libpq, the same primary-key SELECT, no auth, no JSON library)
#          behind a second nginx with the same configuration; the two
#          take turns BENCH_GET_ROUNDS times (3), the median round counts;
#          also each responder's CPU time per request (/proc/PID/stat).
#   PATCH: wrk sending merge patches that change max_message_mb  vs
#          pgbench running the SQL transaction a change runs (SELECT of
#          the row, UPDATE ... version + 1, INSERT INTO audit; the
#          triggers add the changes row and the NOTIFY).
#   list:  wrk on GET /api/v1/domains?limit=200 (no baseline).
#   memory: VmRSS of mxfeed-fcgi after the runs, per worker.
# Targets (SPEC): GET >= 0.9 of the baseline (second round; 0.8
# before), PATCH >= 0.8, GET p99 <= 2x, <= 10 MB per worker.  Everything on 127.0.0.1; nothing is asserted.
set -uo pipefail

b=${1:-build}
export MXFEED_BUILD
MXFEED_BUILD=$(cd "$(dirname "$0")/.." && pwd)/$b
WEB_PORT=${WEB_PORT:-18090} # nginx in front of mxfeed-fcgi
BARE_PORT=${BENCH_BARE_PORT:-$((WEB_PORT + 1))} # nginx in front of bare_fcgi
NDOM=200
WRK_T=2
WRK_C=8
DUR=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_GET_ROUNDS:-3} # GET: api and bare take turns this often
NW=${FCGI_WORKERS:-4}
PGBENCH=/usr/lib/postgresql/15/bin/pgbench

# shellcheck source=../tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"

die() {
	echo "web.sh: $*" >&2
	exit 1
}

for p in wrk jq curl bc cc; do
	command -v "$p" > /dev/null || die "$p is missing"
done
[ -x "$PGBENCH" ] || die "$PGBENCH is missing (postgresql-15)"
[ -x "$FEEDCTL" ] && [ -x "$FCGI" ] || die "build first: make all"

pg_setup
web_setup
BARE_PID=
cleanup() {
	bash "$TOP/contrib/nginx/run.sh" "$T/bare" "$BARE_PORT" "$T/bare.sock" \
		stop > /dev/null 2>&1
	if [ -n "$BARE_PID" ]; then
		kill "$BARE_PID" 2> /dev/null
		for _ in $(seq 50); do
			kill -0 "$BARE_PID" 2> /dev/null || break
			sleep 0.1
		done
		kill -9 "$BARE_PID" 2> /dev/null
		wait "$BARE_PID" 2> /dev/null
	fi
	web_teardown
}
trap cleanup EXIT
echo "# mxfeed web bench: wrk -t$WRK_T -c$WRK_C -d$DUR, $NW workers," \
	"$NDOM domains, PostgreSQL in $T"

# ---- the baseline responder, behind its own nginx ----------------------
cc -O2 -Wall -Wextra -o "$T/bare_fcgi" "$TOP/bench/bare_fcgi.c" \
	-I/usr/include/postgresql -lpq -lfcgi -lpthread ||
	die "bare_fcgi does not compile"
"$T/bare_fcgi" "host=$T/pg/sock dbname=mxfeed user=mxfeed_app" \
	"unix:$T/bare.sock" "$NW" >> "$T/bare.log" 2>&1 &
BARE_PID=$!
for _ in $(seq 50); do
	[ -S "$T/bare.sock" ] && break
	sleep 0.1
done
[ -S "$T/bare.sock" ] || die "bare_fcgi did not start: $(cat "$T/bare.log")"
mkdir -p "$T/bare"
cp "$T/htpasswd" "$T/bare/htpasswd"
bash "$TOP/contrib/nginx/run.sh" "$T/bare" "$BARE_PORT" "$T/bare.sock" start \
	> "$T/bare/nginx-start.log" 2>&1 ||
	die "second nginx did not start: $(cat "$T/bare/nginx-start.log")"
BARE=http://127.0.0.1:$BARE_PORT

# ---- data: NDOM domains and an admin token, through feedctl ------------
dom() { printf 'd%04d.example' "$1"; }
{
	echo '['
	for i in $(seq 1 "$NDOM"); do
		[ "$i" -gt 1 ] && echo ','
		printf '{"name":"%s","mode":"feed","destination":{"host":"127.0.0.1","port":2526}}' \
			"$(dom "$i")"
	done
	echo ']'
} > "$T/apply.json"
"$FEEDCTL" apply -f "$T/apply.json" --force > "$T/apply.log" 2>&1 ||
	die "feedctl apply failed: $(head -n 5 "$T/apply.log")"
TOKEN=$("$FEEDCTL" token create bench --role admin --json | jq -r .token)
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || die "no token"
AUTH="Authorization: Bearer $TOKEN"
D1=$(dom 1)

# both responders answer 200 for the domain before anything is measured
st=$(curl -s -o "$T/get.json" -w '%{http_code}' -H "$AUTH" "$BASE/api/v1/domains/$D1")
[ "$st" = 200 ] || die "API GET answered $st: $(head -c 300 "$T/get.json")"
st=$(curl -s -o "$T/bare.json" -w '%{http_code}' "$BARE/api/v1/domains/$D1")
[ "$st" = 200 ] || die "bare GET answered $st: $(head -c 300 "$T/bare.json")"
[ "$(jq -r .name "$T/bare.json")" = "$D1" ] || die "bare GET: $(cat "$T/bare.json")"

# ---- wrk output parsing ------------------------------------------------
rps() { awk '$1 == "Requests/sec:" { print $2 }' "$1"; }
# the 99% line of --latency, in ms
p99() {
	awk '$1 == "99%" {
		v = $2
		if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); v = v + 0 }
		else if (v ~ /m$/) { sub(/m$/, "", v); v = v * 60000 }
		else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }
		printf "%.2f\n", v
	}' "$1"
}
# non-2xx/3xx and socket errors wrk counted
wrk_errors() {
	awk '/Non-2xx or 3xx responses:/ { n += $NF }
	     /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
	     END { print n + 0 }' "$1"
}
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
# CPU time (user + system, clock ticks) of process $1 and its threads
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
# the responder's CPU per request of the last run NAME, in microseconds:
# less at the mercy of other work on the box than req/s
cpu_us() { awk -v t="$(cat "$T/cpu-$1")" -v hz="$HZ" '/requests in/ {
	printf "%.1f\n", t * 1e6 / hz / $1 }' "$T/wrk-$1.txt"; }
# bench NAME URL [wrk args...]: a short warm-up, then the measured run
bench() {
	local name=$1 url=$2 pid=$FCGI_PID t0
	shift 2
	[ "$name" = bare ] && pid=$BARE_PID
	wrk -t"$WRK_T" -c"$WRK_C" -d1s "$@" "$url" > /dev/null 2>&1
	t0=$(ticks "$pid")
	wrk -t"$WRK_T" -c"$WRK_C" -d"$DUR" --latency "$@" "$url" > "$T/wrk-$name.txt" 2>&1 ||
		die "wrk failed: $(cat "$T/wrk-$name.txt")"
	echo $(($(ticks "$pid") - t0)) > "$T/cpu-$name"
	[ -n "$(rps "$T/wrk-$name.txt")" ] || die "no figures from wrk: $(cat "$T/wrk-$name.txt")"
	local e
	e=$(wrk_errors "$T/wrk-$name.txt")
	[ "$e" -eq 0 ] || echo "# WARNING: $name: $e errors or non-2xx answers"
}

# ---- GET ---------------------------------------------------------------
# The two responders take turns, ROUNDS times, in the order api, bare,
# bare, api, ... so that a change in the machine's load (other work on
# a shared box) falls on both alike; the figures are those of the
# median round by ratio, each round's printed as a comment.
: > "$T/get-rounds.txt"
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then
		bench get "$BASE/api/v1/domains/$D1" -H "$AUTH"
		bench bare "$BARE/api/v1/domains/$D1"
	else
		bench bare "$BARE/api/v1/domains/$D1"
		bench get "$BASE/api/v1/domains/$D1" -H "$AUTH"
	fi
	a=$(rps "$T/wrk-get.txt") b0=$(rps "$T/wrk-bare.txt")
	ca=$(cpu_us get) cb=$(cpu_us bare)
	echo "$(ratio "$a" "$b0") $a $b0 $(p99 "$T/wrk-get.txt") $(p99 "$T/wrk-bare.txt") $ca $cb" \
		>> "$T/get-rounds.txt"
	echo "# GET round $r: api $a req/s, bare responder $b0 req/s, ratio $(ratio "$a" "$b0");" \
		"CPU per request $ca us, bare $cb us"
done
read -r rr a b0 pa pb ca cb < <(sort -n "$T/get-rounds.txt" | sed -n "$(((ROUNDS + 1) / 2))p")
echo "api GET req/s: $a (bare responder $b0) ratio $rr  [target >= 0.9; median of $ROUNDS rounds]"
echo "api GET p99 ms: $pa (bare responder $pb) ratio $(ratio "$pa" "$pb") [target <= 2.0]"
echo "api GET CPU us/request: $ca (bare responder $cb) ratio $(ratio "$ca" "$cb") [responder process only; same round]"

# ---- list --------------------------------------------------------------
st=$(curl -s -o "$T/list.json" -w '%{http_code}' -H "$AUTH" "$BASE/api/v1/domains?limit=$NDOM")
[ "$st" = 200 ] && [ "$(jq '.domains | length' "$T/list.json")" = "$NDOM" ] ||
	die "list answered $st: $(head -c 300 "$T/list.json")"
bench list "$BASE/api/v1/domains?limit=$NDOM" -H "$AUTH"
echo "api list $NDOM req/s: $(rps "$T/wrk-list.txt")"

# ---- PATCH -------------------------------------------------------------
# One PATCH by hand first: it must be a 200 with the new value.
st=$(curl -s -o "$T/patch.json" -w '%{http_code}' -X PATCH -H "$AUTH" \
	-H 'If-Match: *' -H 'Content-Type: application/merge-patch+json' \
	--data '{"max_message_mb": 1}' "$BASE/api/v1/domains/$D1")
[ "$st" = 200 ] && [ "$(jq .max_message_mb "$T/patch.json")" = 1 ] ||
	die "API PATCH answered $st: $(head -c 300 "$T/patch.json")"

# Thread t of wrk takes the domains k*T+t (k = its request counter), so
# threads never share a domain and a thread's connections in flight hold
# consecutive, distinct ones.  Every visit of a domain sets another
# max_message_mb (51..950, never the previous value nor the default 50),
# so every request is a real change.  If-Match "*": any version.
cat > "$T/patch.lua" <<LUA
local nthreads, ndom = $WRK_T, $NDOM
local threads, next_id = {}, 0
function setup(thread)
	thread:set("tid", next_id)
	next_id = next_id + 1
	table.insert(threads, thread)
end
function init(args)
	n, bad, last_bad = 0, 0, 0
end
function request()
	local k = n * nthreads + tid
	n = n + 1
	local name = string.format("d%04d.example", k % ndom + 1)
	local mb = 51 + (math.floor(k / ndom) % 900)
	return wrk.format("PATCH", "/api/v1/domains/" .. name, {
		["Authorization"] = "Bearer $TOKEN",
		["If-Match"] = "*",
		["Content-Type"] = "application/merge-patch+json",
	}, string.format('{"max_message_mb": %d}', mb))
end
function response(status, headers, body)
	if status ~= 200 then
		bad = bad + 1
		last_bad = status
	end
end
function done(summary, latency, requests)
	local total, st = 0, 0
	for _, t in ipairs(threads) do
		total = total + t:get("bad")
		if t:get("last_bad") ~= 0 then st = t:get("last_bad") end
	end
	io.write(string.format("patch-non-200: %d (last status %d)\n", total, st))
end
LUA
bench patch "$BASE/api/v1/domains/$D1" -s "$T/patch.lua"
bad=$(awk '$1 == "patch-non-200:" { print $2 }' "$T/wrk-patch.txt")
[ "${bad:-x}" = 0 ] || die "PATCH run: ${bad:-?} answers were not 200: $(grep patch-non-200 "$T/wrk-patch.txt")"
npatch=$(sql "SELECT count(*) FROM audit WHERE action = 'set'")

# The baseline: the transaction of store_domain_update() (lib/store_domain.c
# do_update + audit) after the read of the row, as pgbench runs it.  The
# audit row carries the domain's JSON as old and new, as the API's does.
dj=$(jq -c 'del(.propagation)' "$T/get.json" | sed "s/'/''/g")
name="'d' || lpad(:i::text, 4, '0') || '.example'"
epoch() { echo "coalesce(floor(extract(epoch FROM $1))::bigint, 0)"; }
cat > "$T/patch.sql" <<SQL
\set i random(1, $NDOM)
BEGIN;
SELECT d.name, d.unicode_name, d.mode, $(epoch d.temp_pop3_since),
 coalesce(d.temp_pop3_by, ''), coalesce(host(d.dest_host), ''),
 coalesce(d.dest_port, 0),
 array_to_string(array(SELECT host(h) FROM unnest(d.fallback_hosts)
   WITH ORDINALITY u(h, i) ORDER BY i), ','),
 array_to_string(d.fallback_ports, ','),
 d.greylisting, d.spam_enabled,
 d.spam_low_action, d.spam_med_action, d.spam_high_action,
 d.spam_low_text, d.spam_med_text, d.spam_high_text,
 d.queue_days, $(epoch d.queue_extended_until), d.recipients,
 d.max_message_mb, d.version, $(epoch d.created_at),
 d.created_by, $(epoch d.updated_at), d.updated_by, d.ticket,
 coalesce(p.seq, 0),
 (SELECT count(*) FROM relays r WHERE r.role = 'relay'
   AND r.applied_seq >= coalesce(p.seq, 0)),
 (SELECT count(*) FROM relays r WHERE r.role = 'relay')
 FROM domains d LEFT JOIN LATERAL
 (SELECT max(c.seq) AS seq FROM changes c WHERE c.domain = d.name) p
 ON true WHERE d.name = $name \gset
\set mb 1 + :version % 1000
UPDATE domains SET (name, unicode_name, mode, temp_pop3_since, temp_pop3_by,
 dest_host, dest_port, fallback_hosts, fallback_ports,
 greylisting, spam_enabled, spam_low_action, spam_med_action,
 spam_high_action, spam_low_text, spam_med_text, spam_high_text,
 queue_days, queue_extended_until, recipients, max_message_mb,
 version, updated_at, updated_by, ticket) =
 ($name, $name, 'feed', to_timestamp(NULL::bigint), NULL,
 '127.0.0.1'::inet, 2526::integer, string_to_array('', ',')::inet[],
 string_to_array('', ',')::integer[], true::boolean, false::boolean,
 'subject', 'subject', 'delete', '[SPAM: low] ', '[SPAM: med] ',
 '[SPAM: high] ', :queue_days::integer, to_timestamp(NULL::bigint), 'verify',
 :mb::integer, version + 1, now(), 'bench', '')
 WHERE name = $name AND version = :version
 RETURNING version, $(epoch updated_at);
INSERT INTO audit (actor, ticket, action, domain, old, new)
 VALUES ('bench', '', 'set', $name, '$dj'::jsonb, '$dj'::jsonb);
COMMIT;
SQL
runuser -u postgres -- "$PGBENCH" -n -c"$WRK_C" -j"$WRK_T" -T"${DUR%s}" \
	-f "$T/patch.sql" -h "$T/pg/sock" mxfeed > "$T/pgbench.txt" 2>&1 ||
	die "pgbench failed: $(tail -n 20 "$T/pgbench.txt")"
tps=$(awk '$1 == "tps" { printf "%.2f\n", $3; exit }' "$T/pgbench.txt")
[ -n "$tps" ] || die "no tps from pgbench: $(cat "$T/pgbench.txt")"
grep -q 'number of failed transactions: [1-9]' "$T/pgbench.txt" &&
	echo "# WARNING: pgbench: $(grep 'failed transactions' "$T/pgbench.txt")"
a=$(rps "$T/wrk-patch.txt")
echo "api PATCH req/s: $a (pgbench same transaction $tps tps) ratio $(ratio "$a" "$tps") [target >= 0.8]"
echo "# PATCH: $npatch audited changes by the API (warm-up included)"

# ---- memory ------------------------------------------------------------
kb=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$FCGI_PID/status")
[ -n "$kb" ] || die "mxfeed-fcgi (pid $FCGI_PID) is gone"
printf 'mxfeed-fcgi RSS: %.1f MB total, %.1f MB per worker [target <= 10]\n' \
	"$(echo "$kb / 1024" | bc -l)" "$(echo "$kb / 1024 / $NW" | bc -l)"
