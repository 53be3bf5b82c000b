#!/bin/bash
# run.sh BUILDDIR - mxfeed benchmarks, each printed as a ratio against a
# baseline measured in the same run on the same private PostgreSQL.
#
#   add:   N x "feedctl add" (one process, one connection, one
#          transaction each)  vs  N x psql running the same SQL
#          transaction (INSERT domains + INSERT audit) in its own process.
#   apply: "feedctl apply" of an N-domain document  vs  one psql
#          transaction inserting the same N domains and N audit rows.
#   list:  "feedctl list --json" of N domains  vs  psql selecting them.
# Targets (SPEC section 9): feedctl add <= 5 ms per domain, 1000-domain
# apply <= 1 s.  Counts are bounded; nothing here is asserted by tests.
set -euo pipefail

b=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
feedctl=$top/$b/rel/bin/feedctl
n=${BENCH_N:-1000}
T=$(mktemp -d /tmp/mxfeed-bench.XXXXXX)
chmod 755 "$T"
cleanup() {
	bash "$top/contrib/pgcluster.sh" "$T/pg" stop > /dev/null 2>&1 || true
	rm -rf "$T"
}
trap cleanup EXIT

bash "$top/contrib/pgcluster.sh" "$T/pg" init > "$T/init.log"
cat > "$T/mxfeed.conf" <<CONF
database = {
  conninfo = "host=$T/pg/sock dbname=mxfeed user=mxfeed_app";
  owner_conninfo = "host=$T/pg/sock dbname=mxfeed user=mxfeed_owner";
};
destinations = { allow = [ "127.0.0.0/8" ]; };
CONF
export MXFEED_CONF=$T/mxfeed.conf
"$feedctl" db migrate > /dev/null
PSQL=(psql -X -q -h "$T/pg/sock" -U mxfeed_app -d mxfeed -v ON_ERROR_STOP=1)

now() { date +%s.%N; }
# elapsed START: seconds since START
elapsed() { echo "$(now) - $1" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }

# The SQL a "feedctl add" runs, as plain SQL for the baseline.
base_sql() {
	cat <<SQL
BEGIN;
INSERT INTO domains (name, unicode_name, mode, dest_host, dest_port,
  greylisting, spam_enabled, queue_days, recipients, max_message_mb,
  version, created_by, updated_by, ticket)
VALUES ('$1', '$1', 'feed', '127.0.0.1', 25, true, false, 2, 'verify', 50,
  1, 'bench', 'bench', '');
INSERT INTO audit (actor, ticket, action, domain, old, new)
VALUES ('bench', '', 'create', '$1', NULL,
  '{"name":"$1","mode":"feed","destination":{"host":"127.0.0.1","port":25}}');
COMMIT;
SQL
}

echo "# mxfeed bench: N=$n, PostgreSQL in $T (same cluster for both sides)"

t0=$(now)
for i in $(seq 1 "$n"); do
	base_sql "base$i.example" | "${PSQL[@]}"
done
base_add=$(elapsed "$t0")
t0=$(now)
for i in $(seq 1 "$n"); do
	"$feedctl" add "add$i.example" --mode feed --force --dest 127.0.0.1 > /dev/null
done
add=$(elapsed "$t0")
printf 'add     feedctl %.2f ms/domain   psql baseline %.2f ms/domain   ratio %s (target <= 5 ms/domain)\n' \
	"$(echo "$add * 1000 / $n" | bc -l)" "$(echo "$base_add * 1000 / $n" | bc -l)" \
	"$(ratio "$add" "$base_add")"

{
	echo "BEGIN;"
	for i in $(seq 1 "$n"); do
		base_sql "bulk$i.example" | grep -v -e '^BEGIN;' -e '^COMMIT;'
	done
	echo "COMMIT;"
} > "$T/base.sql"
{
	echo '['
	for i in $(seq 1 "$n"); do
		[ "$i" -gt 1 ] && echo ','
		printf '{"name":"apply%d.example","mode":"feed","destination":{"host":"127.0.0.1","port":25},"queue":{"days":3}}' "$i"
	done
	echo ']'
} > "$T/apply.json"
t0=$(now)
"${PSQL[@]}" -f "$T/base.sql"
base_apply=$(elapsed "$t0")
t0=$(now)
"$feedctl" apply -f "$T/apply.json" --force > /dev/null
apply=$(elapsed "$t0")
t0=$(now)
"$feedctl" apply -f "$T/apply.json" --force > /dev/null
reapply=$(elapsed "$t0")
printf 'apply   feedctl %.3f s   psql baseline %.3f s   ratio %s (target <= 1 s for 1000)\n' \
	"$apply" "$base_apply" "$(ratio "$apply" "$base_apply")"
printf 'reapply feedctl %.3f s (no changes)   ratio to baseline %s\n' \
	"$reapply" "$(ratio "$reapply" "$base_apply")"

t0=$(now)
"${PSQL[@]}" -A -t -c "SELECT * FROM domains WHERE name LIKE 'add%' ORDER BY name LIMIT 1000" > /dev/null
base_list=$(elapsed "$t0")
t0=$(now)
"$feedctl" list --match add --json > /dev/null
list=$(elapsed "$t0")
printf 'list    feedctl %.3f s   psql baseline %.3f s   ratio %s\n' \
	"$list" "$base_list" "$(ratio "$list" "$base_list")"
rss=$( { /usr/bin/time -f '%M' "$feedctl" list --json > /dev/null; } 2>&1 | tail -n 1)
echo "memory  feedctl list of 1000 domains: max RSS ${rss} KiB"
