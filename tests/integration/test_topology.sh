#!/bin/bash
# test_topology.sh - the topology of seed 001 on one box (issue 15 item
# 6, SPEC section 6): one PostgreSQL primary and a streaming standby made
# with pg_basebackup; three relays, each its own Postfix instance
# (configuration, queue, rspamd and "mta-glue sync") on 127.0.0.11, .12
# and .13, relay-3 reading from the standby; an admin host (feedctl,
# mxfeed-fcgi and nginx) with no relay; the mailbox host's Dovecot and
# jobs worker beside relay-1.  One clamd and one postgrey serve all.
# Everything runs in one network namespace, on 127.0.0.0/8.
#
# Checked, from the admin host: a change reaches all three relays (their
# maps, and mail through each); the standby's replay lag shows in the
# propagation; a stopped relay shows behind in feedctl, the API and the
# portal, and catches up by itself when started; mail queued on two
# relays for a down server is listed together and flushed; retiring a
# stopped relay lets a revert's forward job run; a stream of numbered
# messages over the three relays at once, through mode switches, is
# delivered exactly once.  Every wait is bounded; no timing is asserted.
set -u
. "$(dirname "$0")/../lib.sh"
in_netns "$0" "$@"
pg_setup
relay_setup
M=$MTA_GLUE
PG2=$T/pg2
RELAYS_BASE=10
RELAYS_RSPAMD=1
NMAX=${TOPO_NOLOSS_MAX:-240} # the no-loss stream's bound
WORKER_PID=
STREAM_PIDS=()
topo_teardown() {
	local p
	for p in "${STREAM_PIDS[@]}"; do kill "$p" 2> /dev/null; done
	[ -n "$WORKER_PID" ] && kill "$WORKER_PID" 2> /dev/null && wait "$WORKER_PID" 2> /dev/null
	web_stop
	sink_stop 2529 # relay_teardown stops 2526-2528
	bash "$TOP/contrib/pgcluster.sh" "$PG2" stop > /dev/null 2>&1
	relays_teardown
}
trap topo_teardown EXIT

sby() { # SQL on the standby, as the application role
	psql -X -q -At -h "$PG2/sock" -U mxfeed_app -d mxfeed -c "$1"
}
# relay-3 reads the changes and the snapshot from the standby
relays_conf_extra() {
	[ "$1" = 3 ] &&
		sed -i "s|^database = {|database = {\n  read_conninfo = \"host=$PG2/sock dbname=mxfeed user=mxfeed_app\";|" \
			"$T/r$1/mxfeed.conf"
	return 0
}
# the admin host: the database, no relay (nothing under its paths.state)
mkdir -p "$T/admin"
cat > "$T/admin/mxfeed.conf" << CONF
database = {
  conninfo = "host=$T/pg/sock dbname=mxfeed user=mxfeed_app";
};
paths = { state = "$T/admin"; };
destinations = { allow = [ "127.0.0.0/8" ]; };
log = { target = "stderr"; };
CONF
F="$FEEDCTL -c $T/admin/mxfeed.conf"

# via N FROM TO MARKER: one message through relay N
via() {
	local n=$1
	shift
	SMTP_SERVER="$(relays_addr "$n"):2525" send "$@"
}
# accepted: the last send's message was taken (250 after the data)
accepted() {
	grep -qE '^<[-~*]* +250 .*queued as' "$T/out"
}
# transport_of N DOMAIN: relay N's transport map entry for DOMAIN
transport_of() {
	postmap -c "$T/r$1/state/current" -q "$2" "lmdb:$T/r$1/state/current/transport"
}
# wait_for SECONDS CMD...: CMD succeeds within SECONDS (CMD is run
# again each time: a function, not a "$(...)" evaluated once)
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while :; do
		"$@" && return 0
		[ "$SECONDS" -le "$end" ] || return 1
		sleep 0.2
	done
}
# rstate NAME: NAME's state in "feedctl relays --json"
rstate() {
	$F relays --json | jq -r --arg n "$1" '.[] | select(.name == $n) | .state'
}
prop() { # DOMAIN: "applied total" from the admin host's feedctl show
	$F show "$1" --json | jq -r '.propagation | "\(.relays_applied) \(.relays_total)"'
}
jobs_open() { # DOMAIN: how many of its mailbox jobs are not done
	# (not its archive-expire: that one runs in 30 days)
	sql "SELECT count(*) FROM jobs WHERE domain = '$1' AND kind LIKE 'mailbox-%' AND state <> 'done'"
}
no_jobs_open() { [ "$(jobs_open "$1")" = 0 ]; }
jobs_done() { # DOMAIN: its mailbox jobs are all done (waits up to 60 s)
	wait_for 60 no_jobs_open "$1"
}

phase() { echo "# $* (at ${SECONDS} s)"; }

# ---- the database: primary and standby -------------------------------------
phase "the database: primary and standby"
expect_exit 0 "a streaming standby made with pg_basebackup" \
	bash "$TOP/contrib/pgcluster.sh" "$PG2" standby "$T/pg"
check "... is in recovery" test "$(sby "SELECT pg_is_in_recovery()")" = t

# ---- the relays --------------------------------------------------------------
phase "the relays"
$F add t.example --mode feed --force --dest 127.0.0.1:2526 greylisting=off recipients=any > /dev/null
on_standby() { [ "$(sby "SELECT count(*) FROM domains WHERE name = '$1'")" = 1 ]; }
check "the standby replays the first domain" wait_for 20 on_standby t.example
clamd_start
relays_start 3
check "three relays applied the newest change" relays_caught_up 60
check "three Postfix instances, each with its own queue directory" \
	test "$(for n in 1 2 3; do postconf -c "$T/r$n/state/current" -h queue_directory; done | sort -u | wc -l)" = 3
sby_clients() { # the application's sessions on the standby, this one aside
	sby "SELECT count(*) FROM pg_stat_activity WHERE usename = 'mxfeed_app' AND pid <> pg_backend_pid()"
}
check "relay-3's sync reads from the standby ($(sby_clients) session(s) there)" \
	test "$(sby_clients)" -ge 1
dovecot_start "$T/r1/state"
sink_start 2526
sink_start 2527
"$M" -c "$T/r1/mxfeed.conf" worker --lease 5 --retry 1 >> "$T/worker.log" 2>&1 &
WORKER_PID=$!

export MXFEED_CONF=$T/admin/mxfeed.conf # mxfeed-fcgi runs on the admin host
FCGI_WORKERS=2 web_setup
trap topo_teardown EXIT
U=(-u "staff:$STAFF_PW")
TOKEN=$($F token create topo --role admin --json | jq -r .token)
AUTH=(-H "Authorization: Bearer $TOKEN")
check "an API token" test -n "$TOKEN" -a "$TOKEN" != null
check "the admin host holds no relay configuration" test ! -e "$T/admin/current"

for n in 1 2 3; do
	via "$n" a@sender.test user@t.example "TOPO-first-$n"
	check "mail through relay-$n reaches the customer's server" sink_has 2526 "TOPO-first-$n"
done

# ---- a change reaches all three relays ---------------------------------------
phase "a change reaches all three relays"
expect_exit 0 "feedctl set from the admin host" $F set t.example destination.port=2527
check "... applied by all three relays" relays_caught_up 30
for n in 1 2 3; do
	check "relay-$n's transport map sends t.example to port 2527 ($(transport_of "$n" t.example))" \
		bash -c "$(declare -f transport_of); T='$T'; transport_of $n t.example | grep -q ':2527\$'"
done
for n in 1 2 3; do
	via "$n" a@sender.test user@t.example "TOPO-moved-$n"
	check "... mail through relay-$n follows it" sink_has 2527 "TOPO-moved-$n"
done
check "... and none of it went to the old port" sink_lacks 2526 TOPO-moved-
check "feedctl show: applied on 3 of 3" test "$(prop t.example)" = "3 3"
expect_exit 0 "a policy change from the admin host" $F set t.example max_message_mb=1
check "... applied by all three relays" relays_caught_up 30
head -c 1500000 /dev/zero | tr '\0' 'x' | fold -w 70 > "$T/big.txt"
for n in 1 2 3; do
	via "$n" a@sender.test user@t.example "TOPO-big-$n" --body @"$T/big.txt"
	check "... relay-$n refuses a 1.5 MB message for t.example" replied "552 5.3.4"
done
$F set t.example max_message_mb=50 > /dev/null

# ---- the standby's lag in the propagation -----------------------------------
phase "the standby's lag in the propagation"
run $F relays --json
check "feedctl relays: relay-3's replay lag is reported, 0 caught up" \
	test "$(jq -r '.[] | select(.name == "relay-3") | .read_lag_ms' "$T/out")" = 0
check "... relays 1 and 2 read the primary: no replay lag" \
	test "$(jq -c '[.[] | select(.name != "relay-3") | .read_lag_ms]' "$T/out")" = '[null,null]'
psql -X -q -h "$PG2/sock" -U postgres -d mxfeed -c "SELECT pg_wal_replay_pause()" > /dev/null
$F set t.example max_message_mb=40 > /dev/null
two_live() { [ "$(relays_live)" = 2 ]; }
check "with the standby's replay paused, relays 1 and 2 apply a change" wait_for 30 two_live
sleep 3 # relay-3 polls every 2 s: it had its chance to (wrongly) apply it
check "... feedctl show: applied on 2 of 3" test "$(prop t.example)" = "2 3"
check "... relay-3 shows behind" test "$(rstate relay-3)" = behind
lagged() { [ "$(sql "SELECT coalesce(read_lag_ms, 0) > 0 FROM relays WHERE name = 'relay-3'")" = t ]; }
check "... with its replay lag (> 0 ms)" wait_for 20 lagged
expect_status 200 "GET /api/v1/relays from the admin host" GET /api/v1/relays "${AUTH[@]}"
check "... shows relay-3 behind with its replay lag" \
	jq_out '.relays[] | select(.name == "relay-3") | .state == "behind" and .read_lag_ms > 0'
psql -X -q -h "$PG2/sock" -U postgres -d mxfeed -c "SELECT pg_wal_replay_resume()" > /dev/null
check "resumed, relay-3 catches up by itself" relays_caught_up 30
check "... applied on 3 of 3" test "$(prop t.example)" = "3 3"

# ---- the queue of two relays, from the admin host ----------------------------
phase "the queue of two relays, from the admin host"
# 2528: the customer's server is down
$F add q.example --mode feed --force --dest 127.0.0.1:2528 greylisting=off recipients=any > /dev/null
# rv.example: on temporary POP3, mail waits in its mailbox for the revert
$F add rv.example --mode feed --force --dest 127.0.0.1:2526 greylisting=off recipients=any > /dev/null
check "two new domains reach the relays" relays_caught_up 30
expect_exit 0 "rv.example on temporary POP3" $F temp-pop3 rv.example --mailbox user
check "... applied by all three relays" relays_caught_up 30
check "... its jobs done" jobs_done rv.example
via 1 a@sender.test u1@q.example TOPO-q1
check "relay-1 takes mail for the down server" accepted
via 2 a@sender.test u2@q.example TOPO-q2
check "relay-2 takes mail for the down server" accepted
via 1 a@sender.test user@rv.example TOPO-rv
check "relay-1 takes mail for rv.example (into its temporary mailbox)" accepted
in_mailbox() { grep -rqF TOPO-rv "$T/mail" 2> /dev/null; }
check "... which lands in the mailbox" wait_for 30 in_mailbox

expect_exit 0 "feedctl queue from the admin host" $F queue q.example --json
check "... lists the two messages together" test "$(jq .count "$T/out")" = 2
check "... each with its relay" \
	test "$(jq -r '[.messages[] | .relay + " " + .recipients[0]] | sort | join(",")' "$T/out")" = "relay-1 u1@q.example,relay-2 u2@q.example"
check "... and every relay answered just now" \
	test "$(jq -r '[.relays[] | .name + " " + .state] | join(",")' "$T/out")" = "relay-1 fresh,relay-2 fresh,relay-3 fresh"
expect_exit 0 "feedctl queue (table) from the admin host" $F queue q.example
check "... says 2 messages on 2 relays" out_has "q.example: 2 message(s) queued on 2 relay(s)"
expect_status 200 "GET /api/v1/domains/q.example/queue from the admin host" \
	GET /api/v1/domains/q.example/queue "${AUTH[@]}"
check "... lists the same two messages with their relays" \
	test "$(jq -r '[.count, ([.messages[] | .relay] | sort | join(","))] | @tsv' "$T/out")" = "$(printf '2\trelay-1,relay-2')"
sink_start 2528
expect_exit 0 "feedctl flush from the admin host" $F flush q.example --json
check "... all three relays confirm" \
	test "$(jq -c '[.done, ([.relays[] | .state] | unique)]' "$T/out")" = '[true,["done"]]'
check "... relay-1's message is delivered" sink_has 2528 TOPO-q1
check "... relay-2's message is delivered" sink_has 2528 TOPO-q2
qempty() { [ "$($F queue q.example --json | jq .count)" = 0 ]; }
check "... and the queue is empty as the admin host sees it" wait_for 30 qempty
sink_stop 2528

# ---- a relay stopped: behind everywhere, retired, caught up -----------------
phase "a relay stopped: behind everywhere, retired, caught up"
relays_down 2
expect_exit 0 "a change while relay-2 is stopped" $F set t.example max_message_mb=30
check "... relays 1 and 3 apply it" wait_for 30 two_live
check "feedctl show: applied on 2 of 3" test "$(prop t.example)" = "2 3"
check "feedctl relays: relay-2 behind" test "$(rstate relay-2)" = behind
expect_exit 0 "feedctl relays (table)" $F relays
check "... names relay-2 behind" grep -qE '^relay-2 .*behind' "$T/out"
expect_status 200 "GET /api/v1/domains/t.example" GET /api/v1/domains/t.example "${AUTH[@]}"
check "... propagation 2 of 3" \
	test "$(jq -c '[.propagation.relays_applied, .propagation.relays_total]' "$T/out")" = '[2,3]'
expect_status 200 "GET /api/v1/relays" GET /api/v1/relays "${AUTH[@]}"
check "... relay-2 behind, the others ok" \
	test "$(jq -r '[.relays[] | .name + " " + .state] | join(",")' "$T/out")" = "relay-1 ok,relay-2 behind,relay-3 ok"
expect_status 200 "the portal's domain page" GET /portal/d/t.example "${U[@]}"
check "... says 2 of 3 relays applied" grep -qF "2 of 3 relays applied this version" "$T/out"
expect_status 200 "the portal's relays page" GET /portal/relays "${U[@]}"
check "... shows relay-2 behind" grep -qF '<span class="state behind">behind: at' "$T/out"

expect_exit 0 "revert rv.example while relay-2 is stopped" $F revert rv.example
fwd_waiting() { # a forward job, never claimed: the worker was not let
	[ "$(sql "SELECT count(*) FROM jobs WHERE domain = 'rv.example' AND kind = 'mailbox-forward' AND state = 'pending' AND attempts = 0")" = 1 ]
}
sleep 6 # settle is 2 s: a job not held up would have run by now
check "... its forward job waits for relay-2" fwd_waiting
check "... and the mail stays in the mailbox" sink_lacks 2526 TOPO-rv
expect_exit 0 "feedctl relay retire relay-2 (stopped, queue empty)" $F relay retire relay-2
check "... the forward job runs" jobs_done rv.example
check "... and the mailbox's mail reaches the customer's server" sink_has 2526 TOPO-rv
check "propagation counts 2 relays" test "$(prop t.example)" = "2 2"
expect_exit 0 "relay-2 activated again" $F relay activate relay-2
relays_up 2
check "started, relay-2 catches up by itself" relays_caught_up 60
check "feedctl show: applied on 3 of 3" test "$(prop t.example)" = "3 3"
check "feedctl relays: relay-2 ok" test "$(rstate relay-2)" = ok
expect_status 200 "the portal's relays page" GET /portal/relays "${U[@]}"
check "... shows no relay behind" bash -c "! grep -qF 'class=\"state behind\"' '$T/out'"
via 2 a@sender.test user@t.example TOPO-back
check "mail through relay-2 flows again" sink_has 2527 TOPO-back

# ---- no loss: one stream over the three relays, through the switches ---------
phase "no loss: one stream over the three relays, through the switches"
# Three senders (one per relay) of numbered messages NL-00001...; each
# line of $T/stream-N.log "ID CODE", CODE the final reply (250
# accepted; else not counted: a real sender would try again).  They run
# until the last switch is live on every relay (the file stream.stop),
# at most $NMAX messages in all.
$F add nl.example --mode pop3 greylisting=off recipients=any > /dev/null
$F mailbox add nl.example user > /dev/null
check "nl.example reaches the relays" relays_caught_up 30
sink_start 2529
sent() { cat "$T"/stream-*.log 2> /dev/null | grep -c ' 250$'; }
streaming() {
	local p
	for p in "${STREAM_PIDS[@]}"; do kill -0 "$p" 2> /dev/null && return 0; done
	return 1
}
wait_more() { # K: K more messages accepted than now (or the stream ended)
	local want=$(($(sent) + $1))
	for _ in $(seq 600); do
		[ "$(sent)" -ge "$want" ] && return 0
		streaming || return 0
		sleep 0.1
	done
}
AT=() # accepted when each switch was made
for n in 1 2 3; do
	(
		for i in $(seq "$n" 3 "$NMAX"); do
			[ -e "$T/stream.stop" ] && break
			id=NL-$(printf %05d "$i")
			swaks --server "$(relays_addr "$n"):2525" --helo client.test --from s@sender.test \
				--to user@nl.example --header "Subject: $id" --body "noloss $id" \
				--timeout 30 > "$T/swaks-$n.out" 2>&1
			code=$(grep -E '^<[-~*]* +[0-9]{3} ' "$T/swaks-$n.out" | tail -2 | head -1 | sed -E 's/^<[-~*]* +([0-9]{3}).*/\1/')
			echo "$id $code" >> "$T/stream-$n.log"
			sleep 0.2
		done
	) &
	STREAM_PIDS+=($!)
done
wait_more 15
AT+=("$(sent)")
expect_exit 0 "pop3 -> feed while the stream runs" $F switch nl.example --to feed --dest 127.0.0.1:2529
check "... its forward job finishes" jobs_done nl.example
wait_more 15
sink_stop 2529
AT+=("$(sent)")
expect_exit 0 "feed -> temporary POP3 with the server down" $F temp-pop3 nl.example --mailbox user
wait_more 15
sink_start 2529
AT+=("$(sent)")
expect_exit 0 "revert to the feed" $F revert nl.example
check "... its forward job finishes" jobs_done nl.example
wait_more 15
AT+=("$(sent)")
expect_exit 0 "feed -> pop3 while the stream runs" $F switch nl.example --to pop3 --mailbox user
check "the last switch reaches the relays" relays_caught_up 30
wait_more 9
check "the stream was still running after the last switch" streaming
touch "$T/stream.stop"
for p in "${STREAM_PIDS[@]}"; do wait "$p"; done
STREAM_PIDS=()
# and one more through each relay, all three routing to the mailbox
for n in 1 2 3; do
	id=NL-9999$n
	via "$n" s@sender.test user@nl.example "$id" --body "noloss $id"
	accepted && echo "$id 250" >> "$T/stream-$n.log"
	echo "$id" >> "$T/last"
done
check "the last switch's jobs finish" jobs_done nl.example
$F flush nl.example > /dev/null
nlempty() { [ "$($F queue nl.example --json | jq .count)" = 0 ]; }
check "the relays' queues drain" wait_for 60 nlempty
sleep 2

cat "$T"/stream-*.log | grep ' 250$' | cut -d' ' -f1 | sort > "$T/accepted"
grep -rhoE '^Subject: NL-[0-9]{5}' "$T/sink-2529" 2> /dev/null | cut -d' ' -f2 | sort > "$T/at-sink"
grep -rhoE '^Subject: NL-[0-9]{5}' "$T/mail" 2> /dev/null | cut -d' ' -f2 | sort > "$T/in-mailbox"
sort "$T/at-sink" "$T/in-mailbox" > "$T/found"
lost=$(comm -23 "$T/accepted" <(sort -u "$T/found") | wc -l)
dups=$(uniq -d "$T/found" | wc -l)
extra=$(comm -13 "$T/accepted" <(sort -u "$T/found") | wc -l)
bounced=$(cat "$T"/r*/state/postfix.log 2> /dev/null | grep -c 'status=bounced\|status=expired')
per_relay=$(for n in 1 2 3; do grep -c ' 250$' "$T/stream-$n.log"; done | paste -sd/)
echo "# no-loss: $(cat "$T"/stream-*.log | wc -l) sent, $(wc -l < "$T/accepted") accepted ($per_relay on relays 1/2/3);" \
	"$(wc -l < "$T/at-sink") at the server, $(wc -l < "$T/in-mailbox") in the mailbox;" \
	"lost $lost, duplicated $dups, bounced $bounced; switches at ${AT[*]} accepted"
total=$(cat "$T"/stream-*.log | wc -l)
check "most messages were accepted ($(wc -l < "$T/accepted") of $total), on every relay" \
	bash -c "[ $(wc -l < "$T/accepted") -ge $((total * 9 / 10)) ] && ! echo '$per_relay' | grep -qE '(^|/)0(/|\$)'"
check "both ends got some of the stream (the mailbox more than the last 3)" \
	test -s "$T/at-sink" -a "$(wc -l < "$T/in-mailbox")" -gt 3
check "no accepted message lost" test "$lost" = 0
check "no message duplicated" test "$dups" = 0
check "nothing found that was not accepted" test "$extra" = 0
check "none bounced" test "$bounced" = 0
check "mail sent after the last switch is in the mailbox, from every relay" \
	test "$(grep -cxFf "$T/last" "$T/in-mailbox")" = 3
for n in 1 2 3; do
	check "relay-$n's sync kept running" kill -0 "${RELAYS_SYNC[$n]}"
done
phase "done"

tap_done
