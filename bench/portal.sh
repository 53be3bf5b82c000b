#!/bin/bash
# portal.sh BUILDDIR - the support portal at scale (issue 17): the
# domain page and the domain list with BENCH_PORTAL_DOMAINS domains
# (default 1,000,000), each printed against a baseline measured in the
# same run on the same private PostgreSQL:
#
#   page:  wrk on GET /portal/d/NAME for random names (nginx basic auth,
#          the staff lookup, the domain, its history, mailboxes, rules,
#          jobs and queue view, the HTML)  vs  bench/bare_fcgi's
#          primary-key SELECT of the same names behind a second nginx.
#   list:  wrk on GET /portal/?after=NAME (a keyset page of 50 after a
#          random name)  vs  bare_fcgi's bare indexed page of 50 names
#          (/api/v1/list/NAME).
#
# The domains are seeded with COPY (session_replication_role = replica:
# the change triggers are not what is measured), then ANALYZEd.
# Printed: p50/p99 latency and req/s of each side, the ratio of the
# p99s.  Target (issue 17): portal p99 <= 100 ms.  Nothing is asserted.
set -uo pipefail

b=${1:-build}
export MXFEED_BUILD
MXFEED_BUILD=$(cd "$(dirname "$0")/.." && pwd)/$b
WEB_PORT=${WEB_PORT:-18092}
BARE_PORT=${BENCH_BARE_PORT:-$((WEB_PORT + 1))}
N=${BENCH_PORTAL_DOMAINS:-1000000}
WRK_T=2
WRK_C=4
DUR=${BENCH_DURATION:-10s}
NW=${FCGI_WORKERS:-4}

# shellcheck source=../tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"

die() {
	echo "portal.sh: $*" >&2
	exit 1
}

for p in wrk curl bc cc base64; do
	command -v "$p" > /dev/null || die "$p is missing"
done
[ -x "$FEEDCTL" ] && [ -x "$FCGI" ] || die "build first: make all"

pg_setup
web_setup
BARE_PID=
cleanup() {
	bash "$TOP/contrib/nginx/run.sh" "$T/bare" "$BARE_PORT" "$T/bare.sock" \
		stop > /dev/null 2>&1
	if [ -n "$BARE_PID" ]; then
		kill "$BARE_PID" 2> /dev/null
		wait "$BARE_PID" 2> /dev/null
	fi
	web_teardown
}
trap cleanup EXIT

# ---- N domains by COPY -------------------------------------------------
t0=$(date +%s.%N)
seq 1 "$N" | awk '{ printf "d%07d.example\td%07d.example\tfeed\t127.0.0.1\t2526\tt\tf\t2\tverify\t50\t1\tbench\tbench\t\n", $1, $1 }' |
	PGOPTIONS='-c session_replication_role=replica' bash "$TOP/contrib/pgcluster.sh" "$T/pg" psql -d mxfeed -Xq \
		-c "COPY domains (name, unicode_name, mode, dest_host, dest_port, greylisting, spam_enabled, queue_days, recipients, max_message_mb, version, created_by, updated_by, ticket) FROM STDIN" ||
	die "COPY failed"
sql "ANALYZE domains" > /dev/null
seed=$(echo "$(date +%s.%N) - $t0" | bc -l)
rows=$(sql "SELECT count(*) FROM domains")
[ "$rows" = "$N" ] || die "seeded $rows domains, not $N"
echo "# mxfeed portal bench: $rows domains (COPY in $(printf '%.1f' "$seed") s)," \
	"wrk -t$WRK_T -c$WRK_C -d$DUR, $NW workers"

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
AUTH="Basic $(printf 'staff:%s' "$STAFF_PW" | base64 -w0)"

# each side answers 200 before anything is measured
mid=$(printf 'd%07d.example' $(( (N + 1) / 2 )))
st=$(curl -s -o "$T/page.html" -w '%{http_code}' -H "Authorization: $AUTH" "$BASE/portal/d/$mid")
[ "$st" = 200 ] && grep -q "$mid" "$T/page.html" || die "portal page answered $st: $(head -c 300 "$T/page.html")"
st=$(curl -s -o "$T/list.html" -w '%{http_code}' -H "Authorization: $AUTH" "$BASE/portal/?after=$mid")
[ "$st" = 200 ] && grep -q 'Next page' "$T/list.html" || die "portal list answered $st: $(head -c 300 "$T/list.html")"
st=$(curl -s -o "$T/bare.json" -w '%{http_code}' "$BARE/api/v1/domains/$mid")
[ "$st" = 200 ] || die "bare GET answered $st: $(head -c 300 "$T/bare.json")"
st=$(curl -s -o "$T/bare.json" -w '%{http_code}' "$BARE/api/v1/list/$mid")
[ "$st" = 200 ] || die "bare list answered $st: $(head -c 300 "$T/bare.json")"

# random.lua PREFIX: wrk requests PREFIX .. a random domain name
lua() {
	cat > "$T/$1.lua" <<LUA
math.randomseed(os.time() + $RANDOM)
function request()
	return wrk.format("GET", "$2" .. string.format("d%07d.example", math.random($N)),
		{ ["Authorization"] = "$AUTH" })
end
LUA
}
lat() { # lat FILE PCT: the PCT% latency line of --latency, in ms
	awk -v p="$2%" '$1 == p {
		v = $2
		if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); v = v + 0 }
		else if (v ~ /m$/) { sub(/m$/, "", v); v = v * 60000 }
		else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }
		printf "%.2f\n", v
	}' "$1"
}
rps() { awk '$1 == "Requests/sec:" { print $2 }' "$1"; }
errors() {
	awk '/Non-2xx or 3xx responses:/ { n += $NF }
	     /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
	     END { print n + 0 }' "$1"
}
run() { # run NAME BASEURL PREFIX
	lua "$1" "$3"
	wrk -t"$WRK_T" -c"$WRK_C" -d1s -s "$T/$1.lua" "$2" > /dev/null 2>&1
	wrk -t"$WRK_T" -c"$WRK_C" -d"$DUR" --latency -s "$T/$1.lua" "$2" > "$T/wrk-$1.txt" 2>&1 ||
		die "wrk failed: $(cat "$T/wrk-$1.txt")"
	[ -n "$(rps "$T/wrk-$1.txt")" ] || die "no figures from wrk: $(cat "$T/wrk-$1.txt")"
	local e
	e=$(errors "$T/wrk-$1.txt")
	[ "$e" -eq 0 ] || echo "# WARNING: $1: $e errors or non-2xx answers"
}
report() { # report LABEL NAME BARENAME
	printf '%s at %s domains: p50 %s ms, p99 %s ms, %s req/s; bare lookup p50 %s ms, p99 %s ms, %s req/s; p99 ratio %.2f  [target p99 <= 100 ms]\n' \
		"$1" "$rows" "$(lat "$T/wrk-$2.txt" 50)" "$(lat "$T/wrk-$2.txt" 99)" "$(rps "$T/wrk-$2.txt")" \
		"$(lat "$T/wrk-$3.txt" 50)" "$(lat "$T/wrk-$3.txt" 99)" "$(rps "$T/wrk-$3.txt")" \
		"$(echo "$(lat "$T/wrk-$2.txt" 99) / ($(lat "$T/wrk-$3.txt" 99) + 0.0001)" | bc -l)"
}

run page "$BASE" /portal/d/
run bare_page "$BARE" /api/v1/domains/
report "portal domain page" page bare_page
run list "$BASE" "/portal/?after="
run bare_list "$BARE" /api/v1/list/
report "portal domain list" list bare_list
