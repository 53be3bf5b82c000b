#!/bin/bash
# test_replica.sh - a relay that reads from a PostgreSQL streaming standby
# (SPEC section 6: "streaming replicas for reads"; issue 15).
#
# The standby is a real one (pg_basebackup -R from the test's primary).
# The relay's sync reads the change sequence and the snapshot from it
# (database.read_conninfo) and reports to the primary.  Checked: a change
# made on the primary reaches the relay through the standby and the next
# message follows it; with the standby's replay paused the relay stays
# behind in the propagation and its replay lag is reported; resumed, it
# catches up by itself.
set -u
. "$(dirname "$0")/../lib.sh"
in_netns "$0" "$@"
pg_setup
relay_setup
F=$FEEDCTL
M=$MTA_GLUE
PG2=$T/pg2
trap 'bash "$TOP/contrib/pgcluster.sh" "$PG2" stop > /dev/null 2>&1; relay_teardown' EXIT

sby() { # SQL on the standby, as the application role
	psql -X -q -At -h "$PG2/sock" -U mxfeed_app -d mxfeed -c "$1"
}

expect_exit 0 "a streaming standby of the test's cluster" \
	bash "$TOP/contrib/pgcluster.sh" "$PG2" standby "$T/pg"
check "... is in recovery" test "$(sby "SELECT pg_is_in_recovery()")" = t
sed -i "s|^database = {|database = {\n  read_conninfo = \"host=$PG2/sock dbname=mxfeed user=mxfeed_app\";|" "$T/mxfeed.conf"

$F add example.com --mode feed --force --dest 127.0.0.1:2526 greylisting=off recipients=any > /dev/null
for _ in $(seq 100); do
	[ "$(sby "SELECT count(*) FROM domains WHERE name = 'example.com'")" = 1 ] && break
	sleep 0.1
done
sink_start 2526
sink_start 2527
expect_exit 0 "mta-glue apply reading from the standby" $M apply
check "... reports to the primary" \
	test "$(sql "SELECT applied_seq = (SELECT max(seq) FROM changes) FROM relays WHERE name = 'test-relay'")" = t
clamd_start
rspamd_start
expect_exit 0 "mta-glue start" $M start
for _ in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/2525) 2> /dev/null && break; sleep 0.1; done

"$M" sync > "$T/sync.log" 2>&1 &
SYNC_PID=$!
send a@sender.test user@example.com R-first
check "mail flows on the generation read from the standby" sink_has 2526 R-first

$F set example.com --force destination.port=2527 > /dev/null
check "a change on the primary reaches the relay through the standby" relay_caught_up
send a@sender.test user@example.com R-moved
check "... and the next message follows it" sink_has 2527 R-moved
expect_exit 0 "feedctl relays --json" $F relays --json
check "... reports the standby as caught up (replay lag 0)" \
	test "$(jq -r '.[] | select(.name == "test-relay") | .read_lag_ms' "$T/out")" = 0

# replay paused with only writes that are no domain change in flight
# (the relay's heartbeat, this UPDATE): the changes are all on the
# standby, so it is not behind; the age of the last replayed commit
# would say it was
psql -X -q -h "$PG2/sock" -U postgres -d mxfeed -c "SELECT pg_wal_replay_pause()" > /dev/null
sql "UPDATE relays SET read_lag_ms = NULL WHERE name = 'test-relay'" > /dev/null
lag=
for _ in $(seq 150); do
	lag=$(sql "SELECT read_lag_ms FROM relays WHERE name = 'test-relay'")
	[ -n "$lag" ] && break
	sleep 0.2
done
check "paused with no change in flight: replay lag 0 (got '${lag}')" test "$lag" = 0

# replay paused: the primary moves on, the standby (and so the relay) not
$F set example.com --force destination.port=2526 > /dev/null
sleep 4
run $F show example.com --json
check "with replay paused the relay is behind in the propagation" \
	test "$(jq -c '[.propagation.relays_applied, .propagation.relays_total]' "$T/out")" = '[0,1]'
send a@sender.test user@example.com R-paused
check "... and mail still follows what it applied" sink_has 2527 R-paused
lag=0
for _ in $(seq 75); do
	lag=$(sql "SELECT coalesce(read_lag_ms, 0) FROM relays WHERE name = 'test-relay'")
	[ "$lag" -gt 0 ] && break
	sleep 0.2
done
check "... and its replay lag is reported (${lag} ms)" test "$lag" -gt 0
run $F relays --json
check "... feedctl relays shows it behind" \
	test "$(jq -r '.[] | select(.name == "test-relay") | .state' "$T/out")" = behind

psql -X -q -h "$PG2/sock" -U postgres -d mxfeed -c "SELECT pg_wal_replay_resume()" > /dev/null
check "resumed, the relay catches up by itself" relay_caught_up
send a@sender.test user@example.com R-resumed
check "... and the next message follows the latest change" sink_has 2526 R-resumed
check "sync kept running" kill -0 "$SYNC_PID"

tap_done
