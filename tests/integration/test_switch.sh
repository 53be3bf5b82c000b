#!/bin/bash
# test_switch.sh - switching domains with real daemons (SPEC section 5):
# temporary POP3 and revert, pop3 -> feed with each mailbox fate,
# feed -> pop3, and the jobs worker's faults (doveadm away, the worker
# killed half way, the destination down during a revert).  Postfix,
# rspamd, clamd and Dovecot run in a network namespace of this test's
# own (loopback only); smtp-sink plays the customer's server and keeps
# every message it takes, so the test can count each one.
set -u
. "$(dirname "$0")/../lib.sh"
in_netns "$0" "$@"
pg_setup
relay_setup
F=$FEEDCTL
M=$MTA_GLUE
jqe() { jq -e "$@" "$T/out" > /dev/null; }
WORKER_PID=
worker_start() {
	"$M" worker --lease 3 --retry 1 >> "$T/worker.log" 2>&1 &
	WORKER_PID=$!
}
worker_stop() {
	[ -n "$WORKER_PID" ] && kill "$WORKER_PID" 2> /dev/null && wait "$WORKER_PID" 2> /dev/null
	WORKER_PID=
}
trap 'worker_stop; relay_teardown' EXIT
# jobs_done DOMAIN: every mailbox job of DOMAIN finished (waits up to 60 s)
jobs_done() {
	for _ in $(seq 300); do
		[ "$(sql "SELECT count(*) FROM jobs WHERE domain='$1' AND kind LIKE 'mailbox-%' AND state <> 'done'")" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}
# queued DOMAIN N: the relay's queue holds N messages of DOMAIN (waits)
queued() {
	for _ in $(seq 100); do
		[ "$($F --json queue "$1" 2> /dev/null | jq .count)" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
# in_sink PORT MARKER: how many messages carrying MARKER the sink took
in_sink() { grep -rlF -- "$2" "$T/sink-$1" 2> /dev/null | wc -l; }
# in_maildir MARKER: wait until a maildir holds MARKER
in_maildir() {
	for _ in $(seq 100); do grep -rqF -- "$1" "$T/mail" 2> /dev/null && return 0; sleep 0.2; done
	return 1
}

$F add out.example --mode feed --force --dest 127.0.0.1:2526 greylisting=off recipients=any > /dev/null
$F add pop.example --mode pop3 greylisting=off > /dev/null
$F add pop2.example --mode pop3 greylisting=off > /dev/null
$F add feed2.example --mode feed --force --dest 127.0.0.1:2526 greylisting=off > /dev/null
$F mailbox add pop.example info > /dev/null
$F mailbox add pop2.example info > /dev/null
expect_exit 0 "mta-glue apply" $M apply
check "the generation has a local re-injection socket (private/)" \
	grep -q '^mxfeed-reinject unix - .*smtpd' "$T/state/current/master.cf"
check "Dovecot's doveadm API key is in a file only root and Dovecot read" \
	test "$(stat -c %a "$T/state/current/dovecot/doveadm.conf.ext")" = 640
clamd_start
rspamd_start
$M start > /dev/null
for _ in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/2525) 2> /dev/null && break; sleep 0.1; done
dovecot_start
"$M" sync >> "$T/sync.log" 2>&1 &
SYNC_PID=$!

# --- refusals: nothing changes -------------------------------------------------
V=$(sql "SELECT version FROM domains WHERE name='out.example'")
expect_exit 4 "revert on a domain not in temporary POP3 is refused" $F revert out.example
check "... saying so" grep -q "not in temporary POP3" "$T/err"
expect_exit 2 "switch --to pop3 without mailboxes is refused" $F switch out.example --to pop3
check "... naming what is missing" grep -q -- "--mailbox LOCAL or --catch-all" "$T/err"
expect_exit 2 "switch --to feed --mailboxes purge without --confirm is refused" \
	$F switch pop.example --to feed --dest 127.0.0.1:2526 --mailboxes purge
check "... asking for --confirm=DOMAIN" grep -q -- "--confirm=pop.example" "$T/err"
expect_exit 2 "switch --to feed without --dest is refused" $F switch pop.example --to feed
expect_exit 4 "switch --to feed to a destination that fails the probe is refused" \
	$F switch pop.example --to feed --dest 127.0.0.1:2599
check "... naming the probe" grep -q "did not pass the probe" "$T/err"
expect_exit 4 "switch --to feed of a feed domain is refused" $F switch out.example --to feed --dest 127.0.0.1:2526
check "refusals change no version and queue no job" \
	test "$(sql "SELECT version FROM domains WHERE name='out.example'"):$(sql "SELECT mode FROM domains WHERE name='pop.example'"):$(sql "SELECT count(*) FROM jobs")" = "$V:pop3:0"

# --- temporary POP3 through an outage, then revert ------------------------------
sink_stop 2526
send a@sender.test alice@out.example T-queued-1
send '<>' bob@out.example T-queued-bounce
check "mail for the dead server is accepted" replied 250
check "... and queued" queued out.example 2
expect_exit 0 "temp-pop3 with a mailbox and a catch-all" $F --json temp-pop3 out.example --mailbox alice --catch-all
APW=$(jq -r '.mailboxes[] | select(.address == "alice@out.example") | .password' "$T/out")
relay_caught_up
check "the queued mail lands in the temporary mailboxes" in_maildir T-queued-bounce
send c@sender.test carol@out.example T-during
check "mail during the outage goes to the catch-all" in_maildir T-during
check "alice reads hers over POP3" \
	bash -c "for _ in \$(seq 50); do curl -s -m 5 'pop3://127.0.0.1:1110/1' -u 'alice@out.example:$APW' | grep -q T-queued-1 && exit 0; sleep 0.2; done; exit 1"
sink_start 2526
expect_exit 0 "revert" $F --json revert out.example
check "... queues a forward job per temporary mailbox" jqe '.mailboxes == "forward" and .jobs == 2'
run $F show out.example --json
check "the domain is a feed again, temp_pop3 null" jqe '.mode == "feed" and .temp_pop3 == null'
worker_start
check "the worker finishes the revert's jobs" jobs_done out.example
check "every message reached the customer's server exactly once" \
	test "$(in_sink 2526 T-queued-1):$(in_sink 2526 T-queued-bounce):$(in_sink 2526 T-during)" = 1:1:1
check "... with its original envelope recipient (catch-all mail too)" \
	bash -c "grep -rlF T-during '$T/sink-2526' | xargs grep -q '^X-Rcpt-Args: <carol@out.example>'"
check "... and the null sender kept null" \
	bash -c "grep -rlF T-queued-bounce '$T/sink-2526' | xargs grep -q '^X-Mail-Args: <>'"
check "the temporary mailboxes are gone" test "$(sql "SELECT count(*) FROM mailboxes m JOIN domains d ON d.id = m.domain_id WHERE d.name='out.example'")" = 0
check "... archived under paths.state/archive" bash -c "ls '$T/state/archive/out.example/'*.tar.gz > /dev/null"
check "... their maildirs removed" bash -c "! grep -rqF T-during '$T/mail'"
run $F jobs out.example --json
check "feedctl jobs lists them done" jqe '[.[] | select(.kind == "mailbox-forward")] | length == 2 and all(.state == "done")'

# --- pop3 -> feed: forward (default), archive, purge ----------------------------
send a@sender.test info@pop.example P-forward-1
send a@sender.test info@pop.example P-forward-2
check "a pop3 domain's mail is in its mailbox" in_maildir P-forward-2
send a@sender.test info@pop2.example P-archive-1
check "... and the other's" in_maildir P-archive-1
expect_exit 0 "switch pop.example --to feed (the probe passes)" $F --json switch pop.example --to feed --dest 127.0.0.1:2526
check "... reports the probe and one forward job" jqe '.probe.ok == true and .mailboxes == "forward" and .jobs == 1'
check "the mailbox's mail reaches the new destination once each" \
	bash -c "jobs_ok() { [ \"\$(grep -rlF P-forward-1 '$T/sink-2526' | wc -l):\$(grep -rlF P-forward-2 '$T/sink-2526' | wc -l)\" = 1:1 ]; }; for _ in \$(seq 150); do jobs_ok && exit 0; sleep 0.2; done; exit 1"
check "... and the job ends with the mailbox removed" jobs_done pop.example
check "pop.example has no mailbox left" test "$(sql "SELECT count(*) FROM mailboxes m JOIN domains d ON d.id = m.domain_id WHERE d.name='pop.example'")" = 0
send a@sender.test info@pop.example P-after
check "new mail goes to the feed" sink_has 2526 P-after
expect_exit 0 "pop.example back to pop3 with a mailbox of the same name" $F --json switch pop.example --to pop3 --mailbox info
IPW=$(jq -r '.mailboxes[0].password' "$T/out")
check "the recreated mailbox starts empty: it never sees the old mail" \
	bash -c "out=\$(curl -sf -m 5 'pop3://127.0.0.1:1110/' -u 'info@pop.example:$IPW') && ! printf '%s' \"\$out\" | grep -q '[0-9]'"
expect_exit 0 "switch pop2.example --to feed --mailboxes archive" $F switch pop2.example --to feed --dest 127.0.0.1:2526 --mailboxes archive
check "... archives the mailbox and removes it" jobs_done pop2.example
check "... without sending its mail on" test "$(in_sink 2526 P-archive-1)" = 0
check "... the archive holds it" bash -c "ls '$T/state/archive/pop2.example/'*.tar.gz | head -1 | xargs tar -xzOf | grep -q P-archive-1"
check "an archive-expire job removes the archive after limits.archive_days" \
	test "$(sql "SELECT count(*) FROM jobs WHERE domain='pop2.example' AND kind='archive-expire' AND state='pending' AND run_after > now() + interval '29 days'")" = 1
$F add pop3.example --mode pop3 greylisting=off > /dev/null
$F mailbox add pop3.example info > /dev/null
relay_caught_up
send a@sender.test info@pop3.example P-purge-1
check "a third pop3 domain has mail" in_maildir P-purge-1
expect_exit 0 "switch --mailboxes purge --confirm=DOMAIN" $F switch pop3.example --to feed --dest 127.0.0.1:2526 --mailboxes purge --confirm=pop3.example
check "... the purge job finishes" jobs_done pop3.example
check "... nothing forwarded, no archive, no maildir" \
	bash -c "[ \$(grep -rlF P-purge-1 '$T/sink-2526' | wc -l) = 0 ] && ! ls '$T/state/archive/pop3.example' 2> /dev/null | grep -q . && ! grep -rqF P-purge-1 '$T/mail'"

# --- feed -> pop3: queued mail lands in the new mailboxes -----------------------
sink_stop 2526
$F set feed2.example recipients=any > /dev/null
relay_caught_up
send a@sender.test user@feed2.example Q-queued
check "feed2's mail is queued while its server is down" queued feed2.example 1
expect_exit 0 "switch feed2.example --to pop3 --mailbox user" $F --json switch feed2.example --to pop3 --mailbox user
UPW=$(jq -r '.mailboxes[0].password' "$T/out")
check "... shows the new mailbox's password once" test -n "$UPW"
check "the queued mail is delivered into the new mailbox" \
	bash -c "for _ in \$(seq 100); do curl -s -m 5 'pop3://127.0.0.1:1110/1' -u 'user@feed2.example:$UPW' | grep -q Q-queued && exit 0; sleep 0.2; done; exit 1"
sink_start 2526
worker_stop

# --- faults ---------------------------------------------------------------------
# sink_count PREFIX: "distinct total" messages with PREFIX-NNNNN subjects
sink_count() {
	grep -rhoE "^Subject: $1-[0-9]{5}" "$T/sink-2526" 2> /dev/null | sort | uniq -c |
		awk '{ d++; t += $1 } END { printf "%d %d", d, t }'
}

# doveadm unreachable: the job retries, shows its error, removes nothing
$F add f1.example --mode pop3 greylisting=off > /dev/null
$F mailbox add f1.example info > /dev/null
relay_caught_up
lmtp_fill info@f1.example 5 F1
sed -i 's|settle = 2; };|settle = 2; doveadm = "127.0.0.1:8099"; };|' "$T/mxfeed.conf"
worker_start
expect_exit 0 "switch f1.example --to feed" $F switch f1.example --to feed --dest 127.0.0.1:2526
check "with doveadm unreachable the job shows its error" \
	bash -c "for _ in \$(seq 100); do $(printf %q "$F") --json jobs f1.example | jq -e '.[0].last_error | test(\"doveadm\")' > /dev/null && exit 0; sleep 0.2; done; exit 1"
run $F jobs f1.example
check "feedctl jobs prints it" grep -q "doveadm" "$T/out"
run $F show f1.example
check "feedctl show lists the job still to run, with its error" \
	grep -qE '^jobs +#[0-9]+ mailbox-forward of info@f1.example, (pending|running) after .*: .*doveadm' "$T/out"
check "... and retries (attempts grow)" \
	bash -c "for _ in \$(seq 100); do [ \"\$($(printf %q "$F") --json jobs f1.example | jq '.[0].attempts')\" -ge 2 ] && exit 0; sleep 0.2; done; exit 1"
check "nothing was removed or sent meanwhile" \
	test "$(sql "SELECT count(*) FROM mailboxes m JOIN domains d ON d.id = m.domain_id WHERE d.name='f1.example'"):$(sink_count F1)" = "1:0 0"
worker_stop
sed -i 's| doveadm = "127.0.0.1:8099";||' "$T/mxfeed.conf"
worker_start
check "with doveadm back the job finishes" jobs_done f1.example
check "... every message forwarded once" test "$(sink_count F1)" = "5 5"
worker_stop

# kill -9 of the worker half way through a forward: another one resumes
$F add f2.example --mode pop3 greylisting=off > /dev/null
$F mailbox add f2.example info > /dev/null
relay_caught_up
lmtp_fill info@f2.example 400 F2
expect_exit 0 "switch f2.example --to feed (400 messages to forward)" $F switch f2.example --to feed --dest 127.0.0.1:2526
kills=0
for _ in 1 2 3; do
	worker_start
	for _ in $(seq 200); do
		[ "$(sink_count F2 | cut -d' ' -f2)" -ge $(((kills + 1) * 100)) ] && break
		sleep 0.05
	done
	kill -9 "$WORKER_PID" 2> /dev/null
	wait "$WORKER_PID" 2> /dev/null
	WORKER_PID=
	kills=$((kills + 1))
done
worker_start
check "after $kills kill -9s another worker finishes the job" jobs_done f2.example
read -r distinct total <<< "$(sink_count F2)"
echo "# forward with $kills kill -9s: 400 sent, $distinct distinct arrived, $((total - distinct)) duplicates"
check "no message lost" test "$distinct" = 400
check "at most one duplicate per kill (the message in flight)" test $((total - distinct)) -le "$kills"
check "the job saw more than one attempt" test "$(sql "SELECT attempts > 1 FROM jobs WHERE domain='f2.example' AND kind='mailbox-forward'")" = t
worker_stop

# the destination down during a revert: the mail waits in the relay's queue
expect_exit 0 "temp-pop3 again for out.example" $F --json temp-pop3 out.example --catch-all
relay_caught_up
send d@sender.test dora@out.example R-down-1
check "mail lands in the temporary catch-all" in_maildir R-down-1
sink_stop 2526
expect_exit 0 "revert while the destination is down" $F revert out.example
worker_start
check "the revert's jobs finish (the relay takes the mail)" jobs_done out.example
check "... the message waits in the relay's queue, not lost" queued out.example 1
sink_start 2526
$F flush out.example > /dev/null
check "... and is delivered once the destination is back" sink_has 2526 R-down-1
worker_stop

# --- revert --keep-days, then the next outage: the kept mailbox is used again ---
expect_exit 0 "temp-pop3 out.example --mailbox kim" $F temp-pop3 out.example --mailbox kim
relay_caught_up
send k@sender.test kim@out.example K-first
check "kim's mail lands in the temporary mailbox" in_maildir K-first
expect_exit 0 "revert --keep-days 3" $F --json revert out.example --keep-days 3
check "... the mailbox stays readable 3 days, its archive job waits as long" \
	test "$(sql "SELECT m.expires_at > now() + interval '2 days' AND j.run_after > now() + interval '2 days' FROM mailboxes m JOIN jobs j ON (j.payload->>'mailbox_id')::bigint = m.id AND j.state = 'pending' WHERE m.local = 'kim'")" = t
expect_exit 0 "temp-pop3 again within the keep window" $F --json temp-pop3 out.example --mailbox kim
KPW=$(jq -r '.mailboxes[0].password' "$T/out")
check "... the kept mailbox is in use again: the new password reads the old mail" \
	bash -c "curl -s -m 5 'pop3://127.0.0.1:1110/1' -u 'kim@out.example:$KPW' | grep -q K-first"
check "... one mailbox, no longer expiring, its archive job called off" \
	test "$(sql "SELECT count(*), bool_and(m.expires_at IS NULL), (SELECT state || ':' || (last_error LIKE 'called off%') FROM jobs WHERE (payload->>'mailbox_id')::bigint = min(m.id) AND kind = 'mailbox-archive') FROM mailboxes m WHERE m.local = 'kim'")" = "1|t|done:true"
worker_start
expect_exit 0 "revert, forwarding this time" $F revert out.example
check "... the revert's job finishes" jobs_done out.example
check "... the kept mail reaches the server once" test "$(in_sink 2526 K-first)" = 1
worker_stop

# --- remove: only with an empty queue, or explicitly bounced --------------------
$F add rm.example --mode feed --force --dest 127.0.0.1:2599 greylisting=off recipients=any > /dev/null
relay_caught_up
send a@sender.test x@rm.example RM-queued
check "rm.example's mail is queued (its server never answers)" queued rm.example 1
V=$(sql "SELECT version FROM domains WHERE name='rm.example'")
expect_exit 4 "remove with mail still queued is refused" $F remove rm.example
check "... saying how many and what to do" err_has "1 message queued on the relays"
check "... and the domain is still there, unchanged" test "$(sql "SELECT version FROM domains WHERE name='rm.example'")" = "$V"
expect_exit 0 "remove --bounce-queue bounces the queued mail, then removes" $F remove rm.example --bounce-queue
check "... the message was returned to its sender" \
	bash -c "for _ in \$(seq 100); do grep -q 'status=force-expired, returned to sender' '$T/state/postfix.log' && exit 0; sleep 0.2; done; exit 1"
check "... the domain is gone, its history kept" \
	test "$(sql "SELECT count(*) FROM domains WHERE name='rm.example'"):$(sql "SELECT count(*) > 0 FROM audit WHERE domain='rm.example' AND action='remove'")" = "0:t"

tap_done
