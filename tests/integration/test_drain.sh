#!/bin/bash
# test_drain.sh - draining a relay (issue 15 item 2) with two real
# Postfix relays in one network namespace (loopback only): relay-21 on
# 127.0.0.21:2525 and relay-22 on 127.0.0.22:2525, each its own
# configuration, queue and "mta-glue sync" on the one database (as
# bench/relays.sh), one rspamd and clamd behind both, feedctl from an
# admin host with no relay.  relay-21 holds mail for a destination that
# is down; drained with --hand-over relay-22 --max-age 1h it answers new
# sessions 421, keeps its queue until the age has passed (made to pass
# here by moving the drain's start back), then hands the mail to
# relay-22, which delivers it once to the customer's server when that
# is back; nothing bounces, and relay-21 can be retired.
set -u
. "$(dirname "$0")/../lib.sh"
in_netns "$0" "$@"
pg_setup
relay_setup # the base configuration; trap relay_teardown EXIT

DOWN_PORT=2527 # the customer's server, down until the end
mkdir -p "$T/admin"
sed -e "s|state = \"$T/state\"|state = \"$T/admin\"|" \
	-e 's|name = "test-relay";|name = "admin-host";|' "$T/mxfeed.conf" > "$T/admin/mxfeed.conf"
A="$FEEDCTL -c $T/admin/mxfeed.conf --ticket T-DRAIN"

$A add down.example --mode feed --force --dest "127.0.0.1:$DOWN_PORT" \
	greylisting=off recipients=any > /dev/null

# relay N of 21, 22: relays_conf with its own outbound address; rspamd
# is checked by relay-22 alone (one rspamd, reading relay-22's generation)
RELAYS_N=0
RELAYS_SYNC=()
drain_teardown() {
	local p n
	for p in "${RELAYS_SYNC[@]}"; do kill "$p" 2> /dev/null && wait "$p" 2> /dev/null; done
	for n in 21 22; do "$MTA_GLUE" -c "$T/r$n/mxfeed.conf" stop > /dev/null 2>&1; done
	relay_teardown
}
trap drain_teardown EXIT
for n in 21 22; do
	relays_conf "$n"
	sed -i "s|dns = 0; };|dns = 0; outbound = [ \"127.0.0.$n\" ]; };|" "$T/r$n/mxfeed.conf"
	[ "$n" = 22 ] || sed -i "s|rspamd_pid = \"$T/rspamd.pid\"|rspamd_pid = \"$T/r$n/no-rspamd.pid\"|" "$T/r$n/mxfeed.conf"
	"$MTA_GLUE" -c "$T/r$n/mxfeed.conf" apply > "$T/r$n/apply.log" 2>&1 ||
		{ echo "Bail out! relay-$n: mta-glue apply failed"; tail -n 5 "$T/r$n/apply.log"; exit 1; }
done
clamd_start
rspamd_start "$T/r22/state"
for n in 21 22; do
	"$MTA_GLUE" -c "$T/r$n/mxfeed.conf" start > "$T/r$n/start.log" 2>&1 ||
		{ echo "Bail out! relay-$n: mta-glue start failed"; tail -n 5 "$T/r$n/start.log"; exit 1; }
	for _ in $(seq 50); do
		(exec 3<> "/dev/tcp/127.0.0.$n/2525") 2> /dev/null && break
		sleep 0.1
	done
	"$MTA_GLUE" -c "$T/r$n/mxfeed.conf" sync > "$T/r$n/sync.log" 2>&1 &
	RELAYS_SYNC+=($!)
done

# wait_for SECONDS CMD...: CMD succeeds within SECONDS (a bound, not a
# timing check); CMD runs again each time, so a query belongs in a
# function (q_is), never in a "$(...)" argument, which is read once
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while [ "$SECONDS" -le "$end" ]; do
		"$@" && return 0
		sleep 0.5
	done
	return 1
}
psql_app() {
	psql -X -A -t -q -h "$T/pg/sock" -U mxfeed_app -d mxfeed -c "$1" 2> /dev/null
}
# q_is SQL WANT: the query (as mxfeed_app) answers WANT; the answer is
# kept in $T/err for a failing check
q_is() {
	psql_app "$1" > "$T/err"
	test "$(cat "$T/err")" = "$2"
}
# the queue of relay N as postqueue -j lines
queue_of() { postqueue -c "$T/r$1/state/current" -j 2> /dev/null; }
holds() { queue_of "$1" | jq -e -n --arg a "$2" 'any(inputs; any(.recipients[]; .address == $a))' > /dev/null; }
empty() { [ -z "$(queue_of "$1")" ]; }
# one SMTP greeting from 127.0.0.N:2525: its first reply line
greeting() {
	local line
	exec 3<> "/dev/tcp/127.0.0.$1/2525" || return 1
	IFS= read -r -t 10 line <&3
	exec 3>&-
	echo "${line%$'\r'}"
}

check "both relays report their address to hand mail over to" \
	wait_for 60 q_is "SELECT string_agg(smtp_address, ' ' ORDER BY name) FROM relays WHERE name IN ('relay-21', 'relay-22')" "[127.0.0.21]:2525 [127.0.0.22]:2525"
check "relay-21 greets normally before the drain" bash -c "[[ \"\$($(declare -f greeting); greeting 21)\" == 220* ]]"

swaks --server 127.0.0.21:2525 --helo client.test --from s@sender.test --to u@down.example \
	--header "Subject: M-drain-1" --body "body of M-drain-1" > "$T/out" 2>&1
check "relay-21 takes a message for a domain whose server is down" replied 250
check "... and holds it in its queue" wait_for 30 holds 21 u@down.example

# --- the drain: refuse new sessions, keep the queue until max-age ------------
expect_exit 0 "drain relay-21, handing over to relay-22 after 1 h" \
	$A relay drain relay-21 --hand-over relay-22 --max-age 1h
check "... it no longer counts as an active relay (jobs, propagation)" \
	test "$(psql_app "SELECT count(*) FROM relays WHERE role = 'relay'")" = 1
check "relay-21's generation refuses new sessions" \
	wait_for 60 grep -qx refuse "$T/r21/state/current/DRAIN"
check "... a new SMTP session to relay-21 gets 421 4.3.2" \
	wait_for 30 bash -c "[[ \"\$($(declare -f greeting); greeting 21)\" == '421 4.3.2 '* ]]"
swaks --server 127.0.0.21:2525 --helo client.test --from s@sender.test --to u@down.example \
	--header "Subject: M-drain-late" --body "late" > "$T/out" 2>&1
check "... a sender is told to go elsewhere (421), nothing taken" replied 421
swaks --socket "$T/r21/state/spool/private/mxfeed-reinject" --helo relay.test --from s@sender.test \
	--to r@down.example --header "Subject: M-reinject" --body "body of M-reinject" > "$T/out" 2>&1
check "relay-21's re-injection listener still takes mail while it drains" replied 250
check "relay-22 still greets normally" bash -c "[[ \"\$($(declare -f greeting); greeting 22)\" == 220* ]]"
check "relay-22 trusts relay-21 (sending from 127.0.0.21) for its domains" \
	wait_for 60 grep -q "peers 127.0.0.21" "$T/r22/state/current/DRAIN"
check "before max-age relay-21 keeps its transport map (no hand-over yet)" \
	grep -q "^transport_maps = lmdb:" "$T/r21/state/current/main.cf"
check "... and still holds the message" holds 21 u@down.example
run $A relays --json
check "feedctl relays shows relay-21 draining, handing over to relay-22" \
	jq_out '.[] | select(.name == "relay-21") | .role == "draining" and .state == "draining" and .drain_hand_over == "relay-22" and .drain_max_age == 3600'

# --- a change still reaches the draining relay --------------------------------
expect_exit 0 "a change while relay-21 drains" $A set down.example recipients=verify
check "... is applied by relay-21 too" \
	wait_for 60 q_is "SELECT applied_seq >= (SELECT max(seq) FROM changes) FROM relays WHERE name = 'relay-21'" t
check "... its policy snapshot has it" grep -q "^domain	down.example	.*verify" "$T/r21/state/current/policy"

# --- max-age passes: the queue goes to relay-22 --------------------------------
sql "UPDATE relays SET drain_started_at = now() - interval '2 hours' WHERE name = 'relay-21'" > /dev/null
check "after max-age relay-21's generation hands over to relay-22" \
	wait_for 60 grep -qx "hand-over \[127.0.0.22\]:2525" "$T/r21/state/current/DRAIN"
check "... routing its domains to relay-22 (relay_transport)" \
	grep -qx "relay_transport = relay:\[127.0.0.22\]:2525" "$T/r21/state/current/main.cf"
check "... the message leaves relay-21" wait_for 180 empty 21
check "... and waits on relay-22 (its destination is still down)" wait_for 30 holds 22 u@down.example
check "relay-22 took it from relay-21 over SMTP" \
	log_has "$T/r21/state/postfix.log" "relay=127.0.0.22\\[127.0.0.22\\]:2525.*status=sent"
check "feedctl relays shows relay-21 drained" \
	wait_for 60 q_is "SELECT count(*) FROM relays WHERE name = 'relay-21' AND queue_total = 0 AND queue_as_of > drain_started_at" 1
run $A relays --json
check "... state drained, nothing left" \
	jq_out '.[] | select(.name == "relay-21") | .state == "drained" and .queue_total == 0'
run $A relays
check "... and the table says so" out_has "drained"

# --- the customer's server is back: delivered once, nothing bounced -----------
sink_start "$DOWN_PORT"
expect_exit 0 "flush down.example from the admin host" $A flush down.example
check "the message arrives at the customer's server" sink_has "$DOWN_PORT" M-drain-1
check "... and leaves relay-22's queue" wait_for 30 empty 22
check "... exactly once: one copy in the sink" test "$(grep -rlF M-drain-1 "$T/sink-$DOWN_PORT" | wc -l)" = 1
check "the re-injected message arrives too, once" \
	bash -c "$(declare -f sink_has); T='$T'; sink_has $DOWN_PORT M-reinject && test \$(grep -rlF M-reinject '$T/sink-$DOWN_PORT' | wc -l) = 1"
check "the late message was never taken" sink_lacks "$DOWN_PORT" M-drain-late
check "nothing bounced on either relay" \
	bash -c "! grep -h 'status=bounced' '$T/r21/state/postfix.log' '$T/r22/state/postfix.log' | grep -q ."
check "... and no bounce waits in a queue" \
	bash -c "! postqueue -c '$T/r21/state/current' -j | grep -q MAILER-DAEMON && ! postqueue -c '$T/r22/state/current' -j | grep -q MAILER-DAEMON"

# --- jobs wait only for active relays --------------------------------------------
# relay-21's sync stops, so it stays behind the next change; a job that
# waits for that change is claimed all the same (an unknown kind: the
# worker's claim is what counts, the run itself fails)
kill "${RELAYS_SYNC[0]}" 2> /dev/null && wait "${RELAYS_SYNC[0]}" 2> /dev/null
RELAYS_SYNC=("${RELAYS_SYNC[1]}")
expect_exit 0 "a change while relay-21's sync is stopped" $A set down.example max_message_mb=20
check "... relay-22 applies it" \
	wait_for 60 q_is "SELECT applied_seq >= (SELECT max(seq) FROM changes) FROM relays WHERE name = 'relay-22'" t
check "... relay-21 (draining) stays behind" \
	test "$(psql_app "SELECT applied_seq < (SELECT max(seq) FROM changes) FROM relays WHERE name = 'relay-21'")" = t
sql "INSERT INTO jobs (kind, domain, after_seq, created_by) VALUES ('drain-probe', 'down.example', (SELECT max(seq) FROM changes), 'test')" > /dev/null
run "$MTA_GLUE" -c "$T/admin/mxfeed.conf" worker --once
check "a job waiting for that change runs: the draining relay does not hold it up" \
	test "$(psql_app "SELECT attempts FROM jobs WHERE kind = 'drain-probe'")" = 1

# --- retire the drained relay ---------------------------------------------------
expect_exit 0 "retire the drained relay-21" $A relay retire relay-21
check "... retired, its drain on record" \
	test "$(psql_app "SELECT role || ' ' || drain_by FROM relays WHERE name = 'relay-21'")" = "retired $(id -un)"

tap_done
