#!/bin/bash
# test_noloss.sh - the no-loss test of SPEC section 5: a sender injects a
# steady stream of numbered messages while the domain goes pop3 -> feed
# (mail in its mailbox forwarded), feed -> temporary POP3 -> revert
# (with the customer's server down part of the time), and feed -> pop3.
# At the end every message the relay accepted must be found exactly
# once - at the customer's server (smtp-sink) or in the domain's
# mailbox - none bounced, none lost, none duplicated, none left behind
# in an archive.  Real Postfix, rspamd, clamd and Dovecot, in a network
# namespace of its own; the stream is bounded in count.
set -u
. "$(dirname "$0")/../lib.sh"
in_netns "$0" "$@"
pg_setup
relay_setup
F=$FEEDCTL
M=$MTA_GLUE
N=${NOLOSS_N:-300}
WORKER_PID=
STREAM_PID=
stop_all() {
	[ -n "$STREAM_PID" ] && kill "$STREAM_PID" 2> /dev/null
	[ -n "$WORKER_PID" ] && kill "$WORKER_PID" 2> /dev/null
	relay_teardown
}
trap stop_all EXIT
jobs_done() {
	for _ in $(seq 300); do
		[ "$(sql "SELECT count(*) FROM jobs WHERE domain='nl.example' AND kind LIKE 'mailbox-%' AND state <> 'done'")" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}
sent() { grep -c ' 250$' "$T/stream.log" 2> /dev/null || echo 0; }
# wait_sent K: the stream has had K more messages accepted than now
wait_more() {
	local want=$(($(sent) + $1))
	for _ in $(seq 600); do
		[ "$(sent)" -ge "$want" ] && return 0
		kill -0 "$STREAM_PID" 2> /dev/null || return 0
		sleep 0.1
	done
}

$F add nl.example --mode pop3 greylisting=off recipients=any > /dev/null
$F mailbox add nl.example user > /dev/null
$M apply > /dev/null
clamd_start
rspamd_start
$M start > /dev/null
for _ in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/2525) 2> /dev/null && break; sleep 0.1; done
dovecot_start
sink_start 2526
"$M" sync >> "$T/sync.log" 2>&1 &
SYNC_PID=$!
"$M" worker --lease 5 --retry 1 >> "$T/worker.log" 2>&1 &
WORKER_PID=$!

# The stream: NL-00001 ... one at a time; each line "ID CODE" with the
# code of the final reply (250 accepted; anything else not accepted and
# so not counted - a real sender would try again)
(
	for i in $(seq -f %05g 1 "$N"); do
		swaks --server 127.0.0.1:2525 --helo client.test --from s@sender.test \
			--to user@nl.example --header "Subject: NL-$i" --body "noloss NL-$i" \
			--timeout 30 > "$T/swaks.out" 2>&1
		code=$(grep -E '^<[-~*]* +[0-9]{3} ' "$T/swaks.out" | tail -2 | head -1 | sed -E 's/^<[-~*]* +([0-9]{3}).*/\1/')
		echo "NL-$i $code" >> "$T/stream.log"
		sleep 0.05
	done
) &
STREAM_PID=$!

wait_more 40
expect_exit 0 "pop3 -> feed (forward) while the stream runs" $F switch nl.example --to feed --dest 127.0.0.1:2526
check "... the forward job finishes" jobs_done
wait_more 30
sink_stop 2526
wait_more 20
expect_exit 0 "feed -> temporary POP3 with the server down" $F temp-pop3 nl.example --mailbox user
wait_more 40
sink_start 2526
wait_more 10
expect_exit 0 "revert to the feed" $F revert nl.example
wait_more 20
sink_stop 2526
check "... the revert's job finishes (the server down again: mail waits on the relay)" jobs_done
wait_more 20
sink_start 2526
$F flush nl.example > /dev/null
wait_more 30
expect_exit 0 "feed -> pop3 while the stream runs" $F switch nl.example --to pop3 --mailbox user
wait "$STREAM_PID"
STREAM_PID=
$F flush nl.example > /dev/null
check "the relay's queue drains" \
	bash -c "for _ in \$(seq 300); do [ \"\$($(printf %q "$F") --json queue nl.example | jq .count)\" = 0 ] && exit 0; sleep 0.2; done; exit 1"
sleep 2

# every accepted id: where is it, how often?
grep ' 250$' "$T/stream.log" | cut -d' ' -f1 | sort > "$T/accepted"
grep -rhoE '^Subject: NL-[0-9]{5}' "$T/sink-2526" 2> /dev/null | cut -d' ' -f2 | sort > "$T/at-sink"
grep -rhoE '^Subject: NL-[0-9]{5}' "$T/mail" 2> /dev/null | cut -d' ' -f2 | sort > "$T/in-mailbox"
sort "$T/at-sink" "$T/in-mailbox" > "$T/found"
# messages (maildir files, not Dovecot's index and cache) in archives
archived=$(for a in "$T"/state/archive/nl.example/*.tar.gz; do
	[ -e "$a" ] && tar -tzf "$a" | grep -E '/(cur|new)/[^/]+$'
done 2> /dev/null | wc -l)
lost=$(comm -23 "$T/accepted" <(sort -u "$T/found") | wc -l)
dups=$(uniq -d "$T/found" | wc -l)
extra=$(comm -13 "$T/accepted" <(sort -u "$T/found") | wc -l)
bounced=$(grep -c 'status=bounced\|status=expired' "$T/state/postfix.log" 2> /dev/null)
echo "# no-loss: $(wc -l < "$T/stream.log") sent, $(wc -l < "$T/accepted") accepted;" \
	"$(wc -l < "$T/at-sink") at the server, $(wc -l < "$T/in-mailbox") in the mailbox;" \
	"lost $lost, duplicated $dups, bounced $bounced, left in archives $archived"
check "the stream ran through every switch" test "$(wc -l < "$T/stream.log")" = "$N"
check "most messages were accepted (the test means something)" test "$(wc -l < "$T/accepted")" -ge $((N * 9 / 10))
check "no accepted message lost" test "$lost" = 0
check "no message duplicated" test "$dups" = 0
check "nothing found that was not accepted" test "$extra" = 0
check "none bounced" test "$bounced" = 0
check "none left behind in an archive" test "$archived" = 0
check "mail accepted after the last switch is in the mailbox" \
	grep -qx "$(tail -1 "$T/accepted")" "$T/in-mailbox"

tap_done
