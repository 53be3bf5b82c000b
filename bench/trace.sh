#!/bin/bash
# trace.sh BUILDDIR - "where did my mail go" at scale (issue 17)
#
# A private PostgreSQL holds BENCH_TRACE_EVENTS tracking rows (default
# 10 million) spread over 30 days in the day partitions sql/008 makes,
# as relays write them: per message an "accepted" row (no recipient)
# and a "delivered" row, every 50th refused instead, over 10,000
# domains of 100 addresses each.  Timed: BENCH_TRACE_N runs of
# "feedctl trace ADDRESS --json" for random addresses (a process, a
# connection, the search, the message lines in C), against the same
# number of psql processes running the bare indexed lookup of that
# address's rows - same run, same database.  Printed: p50 and p99 of
# each and the ratio of the p50s.  Target (issue 17): p99 <= 100 ms.
# Nothing is asserted.
set -euo pipefail

b=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
feedctl=$top/$b/rel/bin/feedctl
events=${BENCH_TRACE_EVENTS:-10000000}
n=${BENCH_TRACE_N:-200}
T=$(mktemp -d /tmp/mxfeed-bench-trace.XXXXXX)
chmod 755 "$T"
cleanup() {
	bash "$top/contrib/pgcluster.sh" "$T/pg" stop > /dev/null 2>&1 || true
	rm -rf "$T"
}
trap cleanup EXIT

PGCLUSTER_FAST=1 bash "$top/contrib/pgcluster.sh" "$T/pg" init > "$T/init.log"
cat > "$T/mxfeed.conf" <<CONF
database = {
  conninfo = "host=$T/pg/sock dbname=mxfeed user=mxfeed_app";
  owner_conninfo = "host=$T/pg/sock dbname=mxfeed user=mxfeed_owner";
};
destinations = { allow = [ "127.0.0.0/8" ]; };
CONF
export MXFEED_CONF=$T/mxfeed.conf
"$feedctl" db migrate > /dev/null
OWNER=(psql -X -q -h "$T/pg/sock" -U mxfeed_owner -d mxfeed -v ON_ERROR_STOP=1)
APP=(psql -X -q -At -h "$T/pg/sock" -U mxfeed_app -d mxfeed -v ON_ERROR_STOP=1)

# the last 30 days' partitions, as 30 days of mx_events_prepare() made them
"${OWNER[@]}" <<'SQL'
DO $$
DECLARE d date;
BEGIN
	FOR i IN 0..30 LOOP
		d := (now() AT TIME ZONE 'UTC')::date - i;
		IF to_regclass('message_events_' || to_char(d, 'YYYYMMDD')) IS NULL THEN
			EXECUTE format('CREATE TABLE %I PARTITION OF message_events FOR VALUES FROM (%L) TO (%L)',
				'message_events_' || to_char(d, 'YYYYMMDD'),
				d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
		END IF;
	END LOOP;
END $$;
SQL
msgs=$((events / 2))
t0=$(date +%s.%N)
"${OWNER[@]}" <<SQL
INSERT INTO message_events (at, relay, queue_id, message_id, sender, recipient, domain, client, verdict, code, reply, destination)
SELECT now() - (g % 2592000) * interval '1 second' + k * interval '1 second',
       'relay' || (g % 3), CASE WHEN g % 50 = 0 THEN NULL ELSE 'Q' || lpad(to_hex(g), 10, '0') END,
       g || '@sender.test', 's' || (g % 5000) || '@sender.test',
       CASE WHEN k = 0 AND g % 50 <> 0 THEN NULL ELSE 'u' || (g % 100) || '@d' || ((g / 100) % 10000) || '.example' END,
       CASE WHEN k = 0 AND g % 50 <> 0 THEN NULL ELSE 'd' || ((g / 100) % 10000) || '.example' END,
       '192.0.2.' || (g % 250),
       CASE WHEN g % 50 = 0 THEN 'refused' WHEN k = 0 THEN 'accepted' ELSE 'delivered' END,
       CASE WHEN g % 50 = 0 THEN '554' WHEN k = 1 THEN '250' END,
       CASE WHEN g % 50 = 0 THEN '5.7.1 blocked' WHEN k = 1 THEN '2.0.0 Ok' END,
       CASE WHEN k = 1 AND g % 50 <> 0 THEN '127.0.0.1[127.0.0.1]:25' END
FROM generate_series(1, $msgs) g, generate_series(0, 1) k;
ANALYZE message_events;
SQL
load=$(echo "$(date +%s.%N) - $t0" | bc -l)
rows=$("${APP[@]}" -c "SELECT count(*) FROM message_events")

# the same random addresses for both
for i in $(seq 1 "$n"); do
	echo "u$((RANDOM % 100))@d$(( (RANDOM * 32768 + RANDOM) % 10000 )).example"
done > "$T/addrs"
ms() { # ms CMD...: wall time of one run in ms
	local s e
	s=$(date +%s%N)
	"$@" > /dev/null
	e=$(date +%s%N)
	echo $(( (e - s) / 1000000 ))
}
while read -r a; do
	ms "$feedctl" trace "$a" --since 30d --json >> "$T/trace.ms"
	ms "${APP[@]}" -c "SELECT count(*) FROM message_events WHERE lower(recipient) = '$a' AND at >= now() - interval '30 days'" >> "$T/base.ms"
done < "$T/addrs"
pct() { # pct FILE P
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int((NR - 1) * p / 100) + 1; print v[i] }'
}
tp50=$(pct "$T/trace.ms" 50)
tp99=$(pct "$T/trace.ms" 99)
bp50=$(pct "$T/base.ms" 50)
bp99=$(pct "$T/base.ms" 99)
printf 'trace of one address over %s events: p50 %s ms, p99 %s ms; bare lookup p50 %s ms, p99 %s ms; ratio %.2f\n' \
	"$rows" "$tp50" "$tp99" "$bp50" "$bp99" "$(echo "$tp50 / ($bp50 + 0.0001)" | bc -l)"
printf '#   %s runs each; %s rows loaded in %.1f s\n' "$n" "$rows" "$load"
