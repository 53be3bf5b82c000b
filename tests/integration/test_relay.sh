#!/bin/bash
# test_relay.sh - the relay end to end with a real Postfix, in a network
# namespace of its own (loopback only): mta-glue generates and applies
# the configuration, mxfeed-policyd answers Postfix's policy requests,
# smtp-sink plays the customers' servers.  Checks what arrived at the
# sink and the SMTP reply the sender saw.
set -u
. "$(dirname "$0")/../lib.sh"
MXFEED_NS_MOUNT=1 in_netns "$0" "$@" # a mount namespace for with_fake
pg_setup
relay_setup
F=$FEEDCTL
M=$MTA_GLUE
jqe() { jq -e "$@" "$T/out" > /dev/null; }

# greylisting has its own section below; these domains go without it
$F add example.com --mode feed --force --dest 127.0.0.1:2526 greylisting=off > /dev/null
$F add backup.example --mode backup --force --dest 127.0.0.1:2526 greylisting=off > /dev/null
$F add small.example --mode feed --force --dest 127.0.0.1:2526 max_message_mb=1 greylisting=off > /dev/null
$F add other.example --mode feed --force --dest 127.0.0.1:2526 greylisting=off > /dev/null
$F add grey.example --mode feed --force --dest 127.0.0.1:2526 > /dev/null
$F add pop.example --mode pop3 greylisting=off > /dev/null
for a in none header subject delete; do
	$F add "s-$a.example" --mode feed --force --dest 127.0.0.1:2526 greylisting=off spam.enabled=on \
		"spam.low.action=$a" "spam.med.action=$a" "spam.high.action=$a" \
		'spam.low.text=[low] ' 'spam.med.text=[med] ' 'spam.high.text=[high] ' > /dev/null
done
# three levels, three actions: each level must take its own
$F add s-mixed.example --mode feed --force --dest 127.0.0.1:2526 greylisting=off spam.enabled=on \
	spam.low.action=header spam.med.action=subject spam.high.action=delete \
	'spam.med.text=[med] ' > /dev/null
$F rule add example.com block sender-regex '^spam@' > /dev/null
$F rule add backup.example block sender-regex '^spam@' > /dev/null
$F rule add other.example block client 127.0.0.1/32 > /dev/null
$F rule add other.example allow sender-regex '^friend@' > /dev/null
# a backslash is escaped in COPY's text format: it reaches the maps as is
$F rule add other.example allow sender-regex '^x\.y\\z@' > /dev/null
sink_start 2526

# --- generate, apply, start -----------------------------------------------
# a fresh host: paths.state does not exist before the first generation
check "no paths.state yet" test ! -e "$T/state"
expect_exit 0 "mta-glue generate DIR works before paths.state exists" $M generate "$T/gen-first"
check "... and writes the maps" test -s "$T/gen-first/transport.lmdb" -a -s "$T/gen-first/relay_domains.lmdb"
check "... a regex with backslashes reaches the policy snapshot unchanged" \
	grep -qxF "$(printf 'rule\tother.example\tallow\taddress-regex\t^x\\.y\\\\z@')" "$T/gen-first/policy"
expect_exit 0 "mta-glue apply writes and activates a generation" $M apply
check "the current generation holds the maps and the policy snapshot" \
	test -s "$T/state/current/transport.lmdb" -a -s "$T/state/current/relay_domains.lmdb" -a -s "$T/state/current/policy"
check "the relay reports what it applied" \
	test "$(sql "SELECT applied_seq = (SELECT max(seq) FROM changes) AND last_error IS NULL FROM relays WHERE name='test-relay'")" = t
run $F show example.com --json
check "feedctl show: every relay applied the latest change" \
	test "$(jq -c '[.propagation.relays_applied, .propagation.relays_total]' "$T/out")" = '[1,1]'
clamd_start
rspamd_start
expect_exit 0 "mta-glue start starts Postfix on the current generation" $M start
for _ in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/2525) 2> /dev/null && break; sleep 0.1; done

# --- delivery ---------------------------------------------------------------
send a@sender.test user@example.com M-feed-1
check "a feed domain's message is accepted" replied 250
check "... and arrives at the domain's server" sink_has 2526 M-feed-1
check "the envelope sender is passed on unchanged" \
	bash -c "grep -rl M-feed-1 '$T/sink-2526' | xargs grep -qi 'a@sender.test'"

PW=$($F --json mailbox add pop.example info | jq -r '.mailboxes[0].password')
$F add pop2.example --mode pop3 greylisting=off > /dev/null
$F mailbox add pop2.example --catch-all > /dev/null
"$M" apply > /dev/null
dovecot_start
send a@sender.test info@pop.example M-pop3
check "a pop3 domain's message is accepted" replied "250 2.0.0"
check "... delivered over LMTP into that mailbox's maildir" \
	bash -c "for _ in \$(seq 100); do grep -rqF M-pop3 '$T/mail' 2> /dev/null && exit 0; sleep 0.2; done; exit 1"
check "... not to any customer server" sink_lacks 2526 M-pop3
check "the owner reads it over POP3 with the generated password" \
	bash -c "curl -s -m 10 'pop3://127.0.0.1:1110/1' -u 'info@pop.example:$PW' | grep -q M-pop3"
check "a wrong password is refused" \
	bash -c "! curl -s -m 10 'pop3://127.0.0.1:1110/1' -u 'info@pop.example:wrong'"
send a@sender.test nobody@pop.example M-pop3-unknown
check "an address without a mailbox is refused (verified against Dovecot)" replied "550"
send a@sender.test anything@pop2.example M-catchall
check "a catch-all mailbox takes any address of its domain" \
	bash -c "for _ in \$(seq 100); do grep -rlF M-catchall '$T/mail' 2> /dev/null | grep -q . && exit 0; sleep 0.2; done; exit 1"
check "the generated database login is not world-readable" \
	test "$(stat -c %a "$T/state/current/dovecot/dovecot-sql.conf.ext")" = 640

# --- refusals ----------------------------------------------------------------
send a@sender.test user@nosuch.example M-unknown
check "unknown domain: 550 5.1.2" replied "550 5.1.2"
send a@sender.test user@sub.example.com M-sub
check "a subdomain of a relayed domain: 550 5.1.2" replied "550 5.1.2"
run smtp "EHLO client.test" "MAIL FROM:<a@sender.test>" "RCPT TO:<user@[127.0.0.1]>" QUIT
check "an address literal: 550 5.1.2" out_has "550 5.1.2"
run smtp "MAIL FROM:<a@sender.test>" QUIT
check "no HELO: refused (503)" out_has "503 5.5.1"
run smtp "EHLO bad_helo!" "MAIL FROM:<a@sender.test>" "RCPT TO:<u@example.com>" QUIT
check "an invalid HELO: refused (501)" out_has "501 5.5.2"
run smtp "EHLO client.test" "MAIL FROM:<a@sender.test> SIZE=3000000" "RCPT TO:<u@small.example>" QUIT
check "SIZE over the domain's limit: 552 5.3.4 at RCPT" out_has "552 5.3.4"
# the exact boundary (max_message_mb=1: 1048576 bytes), declared...
run smtp "EHLO client.test" "MAIL FROM:<a@sender.test> SIZE=1048576" "RCPT TO:<u@small.example>" QUIT
check "SIZE exactly the domain's limit: the recipient is accepted" \
	bash -c "grep -q '^250 2.1.5' '$T/out' && ! grep -q '^5' '$T/out'"
run smtp "EHLO client.test" "MAIL FROM:<a@sender.test> SIZE=1048577" "RCPT TO:<u@small.example>" QUIT
check "SIZE one byte over: 552 5.3.4 naming the limit" \
	bash -c "grep -q '^552 5.3.4 .*Message size exceeds the limit of 1 MB for this domain' '$T/out'"
# ... and sent: a message of exactly N bytes of DATA (CRLF lines, as
# Postfix counts the size it hands the policy at end of data)
send_exact() {
	python3 - "$1" "$2" << 'PY'
import smtplib, sys
n, marker = int(sys.argv[1]), sys.argv[2]
head = "From: <a@sender.test>\r\nTo: <u@small.example>\r\nSubject: %s\r\n\r\n" % marker
body = []
left = n - len(head)
while left > 0:
    k = min(78, left - 2)  # a line and its CRLF
    if k < 0:
        sys.exit("size too small")
    body.append("x" * k + "\r\n")
    left -= k + 2
msg = head + "".join(body)
assert len(msg) == n, len(msg)
# no SIZE in MAIL FROM: the size checked is the one counted at the end
s = smtplib.SMTP("127.0.0.1", 2525, "client.test", timeout=60)
s.ehlo()
print(*s.mail("a@sender.test"))
print(*s.rcpt("u@small.example"))
code, text = s.data(msg)
print(code, text.decode())
if code == 250:
    print("accepted")
s.quit()
PY
}
send_exact 1048576 M-size-exact > "$T/out" 2>&1
check "a message of exactly the domain's limit is accepted" out_has accepted
check "... and arrives" sink_has 2526 M-size-exact
send_exact 1048577 M-size-over > "$T/out" 2>&1
check "one byte more: 552 5.3.4 at end of data, naming the limit" \
	bash -c "grep -q '^552 5.3.4 .*Message size exceeds the limit of 1 MB for this domain' '$T/out'"
check "... and nothing arrived" sink_lacks 2526 M-size-over
check "... nor is it queued" bash -c "! postqueue -c '$T/state/current' -j | grep -qF M-size-over"
head -c 1500000 /dev/zero | tr '\0' 'x' | fold -w 76 > "$T/big.txt"
send a@sender.test u@small.example M-big --body @"$T/big.txt"
check "a message over the domain's limit without SIZE: 552 5.3.4 at end of data" replied "552 5.3.4"
check "... and nothing arrived" sink_lacks 2526 M-big
send a@sender.test u@example.com M-big-ok --body @"$T/big.txt"
check "the same message to a domain with the default limit arrives" sink_has 2526 M-big-ok

send spam@sender.test user@example.com M-block
check "block rule by regex on a feed domain: 554 5.7.1" replied "554 5.7.1"
send spam@sender.test user@backup.example M-block-b
check "block rule on a backup domain: 450 4.7.1 (defer)" replied "450 4.7.1"
send a@sender.test user@other.example M-cidr
check "block rule by client CIDR: 554 5.7.1" replied "554 5.7.1"
send friend@sender.test user@other.example M-allow
check "an allow rule wins over a block rule" sink_has 2526 M-allow
check "nothing blocked arrived" bash -c "! grep -rqE 'M-block|M-cidr|M-unknown' '$T/sink-2526'"

send a@sender.test "one@example.com,two@backup.example" M-two
check "a second recipient domain in one transaction: 452 4.5.3" replied "452 4.5.3"
check "... the first domain's recipient is delivered" sink_has 2526 M-two
send a@sender.test two@backup.example M-two-retry
check "... and the second arrives in its own transaction" sink_has 2526 M-two-retry

# --- content: ClamAV for every domain, spam per domain ------------------------
send a@sender.test user@example.com M-eicar --attach @"$T/eicar.com"
check "a virus (EICAR) is refused in-session: 554 5.7.1" replied "554 5.7.1"
send a@sender.test user@example.com M-virus --attach @"$T/virus.bin"
check "a virus from the test signature database: 554 5.7.1" replied "554 5.7.1"
send a@sender.test user@backup.example M-virus-b --attach @"$T/virus.bin"
check "a virus for a backup domain is deferred: 451 4.7.1" replied "451 4.7.1"
check "no virus was delivered" bash -c "! grep -rqE 'M-eicar|M-virus' '$T/sink-2526'"
clamd_stop
send a@sender.test user@example.com M-noscan
check "clamd stopped: 4xx (451), never passed unscanned" replied "451 4.7"
check "... nothing delivered" sink_lacks 2526 M-noscan
clamd_start
send a@sender.test user@example.com M-scanned
check "clamd back: mail flows again" sink_has 2526 M-scanned

msg_of() { grep -rlF -- "$2" "$T/sink-$1" | head -n 1; }
send a@sender.test user@example.com M-spamoff --add-header "X-Test-Score: 20"
check "spam off: a high-scoring message arrives" sink_has 2526 M-spamoff
check "... untouched: no X-Spam headers, subject as sent" \
	bash -c "f=\$(grep -rlF M-spamoff '$T/sink-2526' | head -n 1); ! grep -qi '^X-Spam' \"\$f\" && grep -q '^Subject: M-spamoff' \"\$f\""
for a in none header subject delete; do
	for lv in low:6 med:11 high:16; do
		level=${lv%%:*} score=${lv#*:}
		mark="M-$a-$level"
		send a@sender.test "u@s-$a.example" "$mark" --add-header "X-Test-Score: $score"
		case $a in
		none)
			check "$a at $level: delivered untouched" bash -c "sleep 0.1; $(declare -f sink_has); T=$T; sink_has 2526 $mark && f=\$(grep -rlF $mark '$T/sink-2526' | head -n 1) && ! grep -qi '^X-Spam' \"\$f\" && grep -q '^Subject: $mark' \"\$f\"" ;;
		header)
			check "$a at $level: X-Spam-Flag: YES and X-Spam-Level: $level" bash -c "$(declare -f sink_has); T=$T; sink_has 2526 $mark && f=\$(grep -rlF $mark '$T/sink-2526' | head -n 1) && grep -q '^X-Spam-Flag: YES' \"\$f\" && grep -q '^X-Spam-Level: $level' \"\$f\"" ;;
		subject)
			check "$a at $level: the subject starts with the level's text" bash -c "$(declare -f sink_has); T=$T; sink_has 2526 $mark && f=\$(grep -rlF $mark '$T/sink-2526' | head -n 1) && grep -q '^Subject: \[$level\] $mark' \"\$f\"" ;;
		delete)
			check "$a at $level: accepted (250), never a lasting 4xx" replied "250 2.0.0"
			# a message sent after it arriving means it had its turn
			send a@sender.test user@example.com "fence-$a-$level-"
			sink_has 2526 "fence-$a-$level-"
			check "$a at $level: discarded, not delivered" sink_lacks 2526 "$mark" ;;
		esac
	done
done
# one domain, a different action per level, scores inside each band
# (thresholds 5, 10, 15): the low ones get only the header, the med ones
# the subject text, the high one is discarded
mixed() { f=$(grep -rlF -- "$1" "$T/sink-2526" | head -n 1) && [ -n "$f" ] && cat "$f"; }
for lv in low:5.5 low:9.5 med:10.5 med:14.5 high:15.5; do
	send a@sender.test u@s-mixed.example "M-mixed-${lv%%:*}-${lv#*:}" --add-header "X-Test-Score: ${lv#*:}"
done
send a@sender.test user@example.com fence-mixed-
for m in fence-mixed- M-mixed-low-5.5 M-mixed-low-9.5 M-mixed-med-10.5 M-mixed-med-14.5; do
	sink_has 2526 "$m" # waits for it (the checks below say what is wrong)
done
for s in 5.5 9.5; do
	check "mixed actions, low at $s: X-Spam-Level: low, subject as sent" bash -c "$(declare -f mixed); T=$T; m=\$(mixed M-mixed-low-$s) && grep -q '^X-Spam-Level: low' <<< \"\$m\" && grep -q '^Subject: M-mixed-low-$s' <<< \"\$m\""
done
for s in 10.5 14.5; do
	check "mixed actions, med at $s: the med text in the subject" bash -c "$(declare -f mixed); T=$T; m=\$(mixed M-mixed-med-$s) && grep -q '^Subject: \[med\] M-mixed-med-$s' <<< \"\$m\""
done
check "mixed actions, high at 15.5: discarded" sink_lacks 2526 M-mixed-high-15.5
send a@sender.test u@s-delete.example M-ham --add-header "X-Test-Score: 1"
check "below the low threshold nothing happens, even with delete" sink_has 2526 M-ham

# --- greylisting (postgrey, delay 3 s in this test's configuration) ----------
postgrey_start
send a@sender.test u@grey.example M-grey
check "greylisting on: the first attempt is deferred (450 4.2.0)" replied "450 4.2.0"
check "... and nothing arrived" sink_lacks 2526 M-grey
sleep 4
send a@sender.test u@grey.example M-grey
check "the retry after the delay is accepted" replied "250 2.0.0"
check "... and arrives" sink_has 2526 M-grey
send a@fresh.test u@example.com M-nogrey
check "greylisting off: a new sender is accepted at once" sink_has 2526 M-nogrey
$F rule add grey.example allow sender-regex '^vip@' > /dev/null
"$M" apply > /dev/null
send vip@sender.test u@grey.example M-vip
check "an allow rule skips greylisting" sink_has 2526 M-vip
postgrey_stop
send b@sender.test u@grey.example M-nopostgrey
check "postgrey down: deferred 451 4.3.5, never accepted ungreylisted" replied "451 4.3.5"
postgrey_start

# --- recipient checking: verify (the default) and list ------------------------
smtp-sink -u postfix -f RCPT 127.0.0.1:2530 20 > "$T/sink-2530.log" 2>&1 &
REFUSER=$!
$F add v-refuse.example --mode feed --force --dest 127.0.0.1:2530 greylisting=off > /dev/null
$F add v-down.example --mode feed --force --dest 127.0.0.1:2531 greylisting=off > /dev/null
$F add v-list.example --mode feed --force --dest 127.0.0.1:2526 greylisting=off recipients=list > /dev/null
# (no feedctl verb manages the list yet: straight into the table)
sql "INSERT INTO recipients (domain_id, local) SELECT id, 'info' FROM domains WHERE name = 'v-list.example'" > /dev/null
"$M" apply > /dev/null
send a@sender.test nobody@v-refuse.example M-vrefuse
check "verify: a recipient the destination refuses is refused (550)" replied "550 5.1.1"
send a@sender.test nobody@v-down.example M-vdown
check "verify: destination unreachable, unknown recipient deferred (450), never bounced" replied "450 4.1.1"
check "... and nothing was queued for it" bash -c "! postqueue -c '$T/state/current' -j | grep -q v-down.example"
send a@sender.test info@v-list.example M-listed
check "list: a listed recipient is accepted" sink_has 2526 M-listed
send a@sender.test other@v-list.example M-unlisted
check "list: an unlisted recipient is refused (550 5.1.1)" replied "550 5.1.1"
expect_exit 0 "probe a domain whose destination takes mail" $F probe example.com --json
check "... banner, no STARTTLS from smtp-sink, RCPT accepted" \
	jqe '.ok and (.banner | test("^220 ")) and .starttls == false and (.rcpt_reply | test("^250")) and .error == null'
check "... and no message was sent" sink_lacks 2526 "postmaster@example.com"
expect_exit 5 "probe a destination that refuses RCPT: exit 5" $F probe v-refuse.example --json
check "... ok false with the refusal" jqe '.ok == false and (.rcpt_reply | test("^5"))'
expect_exit 5 "probe a destination that is down: exit 5" $F probe v-down.example --json
check "... saying it could not connect" jqe '.ok == false and .error == "cannot connect"'
expect_exit 0 "probe IP:PORT: greeting and EHLO" $F probe 127.0.0.1:2526
check "... printed readably" out_has "127.0.0.1:2526 ok in"
kill "$REFUSER" 2> /dev/null
wait "$REFUSER" 2> /dev/null

# --- destination down: queued, then delivered on flush -----------------------
sink_stop 2526
send a@sender.test user@example.com M-queued
check "with the destination down the message is accepted" replied 250
sleep 1
check "... and waits in the queue" bash -c "postqueue -c '$T/state/current' -j | grep -q user@example.com"
sink_start 2526
postqueue -c "$T/state/current" -f
check "flush delivers it once the destination is back" sink_has 2526 M-queued
sink_stop 2526
send a@sender.test user@example.com M-etrn
sink_start 2526
run smtp "EHLO client.test" "ETRN #example.com" QUIT
check "ETRN #domain from the domain's destination (127.0.0.1): accepted" out_has "250 Queuing started"
check "... and the queue is delivered" sink_has 2526 M-etrn
$F add etrn.example --mode feed --force --dest 127.0.0.9 greylisting=off > /dev/null
"$M" apply > /dev/null
run smtp "EHLO client.test" "ETRN #etrn.example" QUIT
check "ETRN for a domain whose destination is elsewhere: 554 5.7.1" out_has "554 5.7.1"
run smtp "EHLO client.test" "ETRN #nosuch.example" QUIT
check "ETRN for no domain of ours: refused" out_has "554 5.7.1"

# --- a change reaches Postfix without a restart ------------------------------
sink_start 2527
master_pid=$(head -n 1 "$T/state/spool/pid/master.pid" | tr -d ' ')
expect_exit 0 "feedctl set moves example.com to port 2527" $F set example.com --force destination.port=2527
expect_exit 0 "mta-glue apply" $M apply
send a@sender.test user@example.com M-moved
check "the next message goes to the new destination" sink_has 2527 M-moved
check "... and not to the old one" sink_lacks 2526 M-moved
check "Postfix was reloaded, not restarted" test "$(head -n 1 "$T/state/spool/pid/master.pid" | tr -d ' ')" = "$master_pid"
$F add moved.example --mode feed --force --dest 127.0.0.1:2532 greylisting=off recipients=any > /dev/null
"$M" apply > /dev/null
send a@sender.test u@moved.example M-stuck
sleep 1
check "mail for a destination that is down waits in the queue" bash -c "postqueue -c '$T/state/current' -j | grep -q moved.example"
$F set moved.example --force destination.port=2527 > /dev/null
"$M" apply > /dev/null
check "after the destination changes, the queued mail follows the new route at once" sink_has 2527 M-stuck

# --- temporary POP3 through a customer's outage (seed 002) --------------------
$F add out.example --mode feed --force --dest 127.0.0.1:2533 greylisting=off recipients=any > /dev/null
"$M" apply > /dev/null
send a@sender.test alice@out.example M-out1
send a@sender.test bob@out.example M-out2
sleep 1
expect_exit 4 "temp-pop3 on a pop3 domain is refused" $F temp-pop3 pop.example --mailbox x
expect_exit 2 "temp-pop3 without mailboxes is refused" $F temp-pop3 out.example
check "... and changed nothing" test "$(sql "SELECT temp_pop3_since IS NULL FROM domains WHERE name='out.example'")" = t
expect_exit 0 "temp-pop3 --from-queue makes a mailbox per queued recipient" $F --json temp-pop3 out.example --from-queue
cp "$T/out" "$T/temp.json"
check "... alice and bob, passwords shown once" \
	test "$(jq -r '[.mailboxes[].address] | sort | join(",")' "$T/temp.json")" = "alice@out.example,bob@out.example"
expect_exit 4 "temp-pop3 twice is refused" $F temp-pop3 out.example --catch-all
"$M" apply > /dev/null
APW=$(jq -r '.mailboxes[] | select(.address == "alice@out.example") | .password' "$T/temp.json")
check "the queued mail lands in the temporary mailboxes at once" \
	bash -c "for _ in \$(seq 100); do curl -s -m 5 'pop3://127.0.0.1:1110/1' -u 'alice@out.example:$APW' | grep -q M-out1 && exit 0; sleep 0.2; done; exit 1"
send a@sender.test alice@out.example M-out3
check "new mail goes there too, not to the dead server" \
	bash -c "for _ in \$(seq 100); do curl -s -m 5 'pop3://127.0.0.1:1110/2' -u 'alice@out.example:$APW' | grep -q M-out3 && exit 0; sleep 0.2; done; exit 1"
run $F show out.example --json
check "feedctl show says temporary POP3, mode still feed" jqe '.mode == "feed" and (.temp_pop3 | type == "object")'

# --- faults: the previous generation keeps serving ----------------------------
cur=$(readlink "$T/state/current")
mkdir -p "$T/fakebin"
printf '#!/bin/sh\necho "postmap: fatal: injected failure" >&2\nexit 1\n' > "$T/fakebin/postmap"
chmod 755 "$T/fakebin/postmap"
$F set example.com --force destination.port=2528 > /dev/null
expect_exit 1 "apply with postmap failing fails" with_fake postmap "$T/fakebin/postmap" $M apply
check "... saying why" err_has "postmap relay_domains failed"
check "... the current generation is untouched" test "$(readlink "$T/state/current")" = "$cur"
check "... no half-written generation is left" bash -c "! ls '$T/state/generations' | grep -q '\.new'"
check "... and the error is in the relays table" \
	test "$(sql "SELECT last_error LIKE '%postmap relay_domains failed%' FROM relays WHERE name='test-relay'")" = t
run $F show example.com --json
check "... so propagation shows the relay behind" \
	test "$(jq -c '[.propagation.relays_applied, .propagation.relays_total]' "$T/out")" = '[0,1]'
send a@sender.test user@example.com M-still
check "mail still flows by the last good generation" sink_has 2527 M-still

# rspamd's configuration is checked before it goes live: a configtest
# that refuses stops the apply.  The refusal is injected: every value
# that reaches rspamd's files is validated before (next check).
mkdir -p "$T/fakebin2"
printf '#!/bin/sh\necho "rspamadm: syntax error (injected)" >&2\nexit 1\n' > "$T/fakebin2/rspamadm"
chmod 755 "$T/fakebin2/rspamadm"
cp "$T/mxfeed.conf" "$T/mxfeed.conf.good"
sed -i 's/^spam = { network_checks = 0; test_header = 1; };/spam = { network_checks = 0; test_header = 1; low = 4.5; };/' "$T/mxfeed.conf"
expect_exit 1 "an rspamd configuration rspamadm configtest refuses is not applied" \
	with_fake rspamadm "$T/fakebin2/rspamadm" $M apply
check "... by rspamadm configtest" err_has "rspamadm configtest failed"
check "... and the current generation is untouched" test "$(readlink "$T/state/current")" = "$cur"
# a clamd address with a quote would break rspamd's UCL: it is refused
# when the configuration is read, before anything is generated
grep -v '^scanner' "$T/mxfeed.conf.good" > "$T/mxfeed.conf"
echo "scanner = { rspamd_pid = \"$T/rspamd.pid\"; clamd = \"127.0.0.1:3310\\\" }\"; };" >> "$T/mxfeed.conf"
expect_exit 2 "a clamd address that is not HOST:PORT is refused when read" $M apply
check "... naming the setting" err_has "scanner.clamd: must be HOST:PORT"
check "... the current generation untouched" test "$(readlink "$T/state/current")" = "$cur"
cp "$T/mxfeed.conf.good" "$T/mxfeed.conf"
send a@sender.test user@example.com M-after-bad
check "... mail still flows, still scanned" sink_has 2527 M-after-bad

bash "$TOP/contrib/pgcluster.sh" "$T/pg" stop > /dev/null 2>&1
send a@sender.test user@example.com M-nodb
check "with the database stopped the relay keeps delivering" sink_has 2527 M-nodb
expect_exit 5 "apply without the database: exit 5" $M apply
check "... and the generation in force stays" test "$(readlink "$T/state/current")" = "$cur"
bash "$TOP/contrib/pgcluster.sh" "$T/pg" start > /dev/null 2>&1

$F set example.com --force destination.port=2526 > /dev/null
expect_exit 0 "apply after the fault" $M apply
send a@sender.test user@example.com M-back
check "the change is live again" sink_has 2526 M-back
expect_exit 0 "rollback to the previous generation" $M rollback
check "current points at the earlier generation" test "$(readlink "$T/state/current")" = "$cur"
send a@sender.test user@example.com M-rolled
check "mail follows the rolled-back routing" sink_has 2527 M-rolled
check "generations are pruned to relay.generations" test "$(ls "$T/state/generations" | wc -l)" -le 5

# --- the relay daemon: every change applied as it happens ---------------------
"$M" sync > "$T/sync.log" 2>&1 &
SYNC_PID=$!
check "mta-glue sync catches up at start" relay_caught_up
sink_start 2528
$F set example.com --force destination.port=2528 > /dev/null
check "a feedctl set is applied by sync without any command" relay_caught_up
send a@sender.test user@example.com M-synced
check "... and the next message follows it" sink_has 2528 M-synced
run $F show example.com --json
check "feedctl show reports the change applied on every relay" \
	test "$(jq -c '[.propagation.relays_applied, .propagation.relays_total]' "$T/out")" = '[1,1]'
bash "$TOP/contrib/pgcluster.sh" "$T/pg" stop > /dev/null 2>&1
sleep 3
check "sync survives the database going away" kill -0 "$SYNC_PID"
send a@sender.test user@example.com M-synced-nodb
check "... while the relay keeps delivering" sink_has 2528 M-synced-nodb
bash "$TOP/contrib/pgcluster.sh" "$T/pg" start > /dev/null 2>&1
$F set example.com --force destination.port=2526 > /dev/null
check "sync reconnects by itself and applies the next change" relay_caught_up
send a@sender.test user@example.com M-after-db
check "... which the next message follows" sink_has 2526 M-after-db
check "sync logged the outage" grep -q "database unavailable" "$T/sync.log"

# --- the queue per domain: list, flush, extend, expire ------------------------
# nothing listens on 2529: both domains' mail stays queued
# recipients=any: with verify, a recipient never seen would be deferred
$F add exp.example --mode feed --force --dest 127.0.0.1:2529 greylisting=off queue.days=1 recipients=any > /dev/null
$F add keep.example --mode feed --force --dest 127.0.0.1:2529 greylisting=off queue.days=3 recipients=any > /dev/null
check "sync applies the new domains" relay_caught_up
send a@sender.test u@exp.example M-exp
send a@sender.test u@keep.example M-keep
sleep 1
expect_exit 0 "feedctl queue --json" $F queue exp.example --json
check "it lists the domain's one message with its recipient and delay reason" \
	test "$(jq -r '[.domain, .count, .messages[0].sender, .messages[0].recipients[0], (.messages[0].reason | test("refused"))] | @tsv' "$T/out")" \
	= "$(printf 'exp.example\t1\ta@sender.test\tu@exp.example\ttrue')"
expect_exit 0 "feedctl queue (table)" $F queue keep.example
check "the table says how many, on how many relays, and from when" out_has "keep.example: 1 message(s) queued on 1 relay(s), oldest from"
check "... and on which relay each message waits" out_has "test-relay"
# --- metrics: paths.state/metrics.prom of sync (issue 16 item 5) -------------
# The two messages above wait (nothing listens on 2529); the file is
# rewritten every 5 s and the queue read every 30 s, so wait for a
# version that shows them.
prom() { awk -v s="$1" '$1 == s { print $2 }' "$T/state/metrics.prom" 2> /dev/null; }
queued_in_prom() {
	local a d
	a=$(prom 'mxfeed_relay_queue_messages{queue="active"}')
	d=$(prom 'mxfeed_relay_queue_messages{queue="deferred"}')
	[ -n "$a" ] && [ -n "$d" ] && [ $((a + d)) -ge 2 ]
}
for _ in $(seq 80); do queued_in_prom && break; sleep 0.5; done
check "sync writes metrics.prom" test -s "$T/state/metrics.prom"
check "its applied sequence is the database's ($(prom mxfeed_relay_applied_sequence))" \
	test "$(prom mxfeed_relay_applied_sequence)" = "$(sql "SELECT max(seq) FROM changes")"
check "... so the lag is 0" test "$(prom mxfeed_relay_lag_changes)" = 0
check "the queue gauge shows the two waiting messages" queued_in_prom
check "the queue could be read" test "$(prom mxfeed_relay_queue_up)" = 1
check "rspamd and clamd are seen up" \
	test "$(prom 'mxfeed_relay_scanner_up{scanner="rspamd"}')$(prom 'mxfeed_relay_scanner_up{scanner="clamd"}')" = 11
check "no apply failed since sync started" test "$(prom mxfeed_relay_apply_failures_total)" = 0
check "jobs by state are listed" test -n "$(prom 'mxfeed_jobs{state="failed"}')"
check "the relay is named" grep -qx 'mxfeed_relay_info{relay="test-relay"} 1' "$T/state/metrics.prom"
check "no temporary file is left beside it" \
	bash -c "! ls '$T/state/' | grep -q '^metrics.prom.'"
# --- end of metrics ---------------------------------------------------------
expect_exit 0 "feedctl flush" $F flush exp.example
expect_exit 2 "feedctl extend without --days or --until: exit 2" $F extend exp.example
expect_exit 2 "feedctl extend --days 32: exit 2" $F extend exp.example --days 32
expect_exit 0 "feedctl extend --days 5" $F extend exp.example --days 5
check "... applied by sync" relay_caught_up
later=$(( $(date +%s) + 2 * 86400 ))
expect_exit 0 "queue-expire as of two days later" $M queue-expire --as-of "$later"
check "the extension keeps exp.example's message (1-day lifetime)" out_has "expired 0 message(s)"
$F set exp.example queue.extended_until=none > /dev/null
check "the extension is withdrawn" relay_caught_up
expect_exit 0 "queue-expire as of two days later, again" $M queue-expire --as-of "$later"
check "exactly one message expired" out_has "expired 1 message(s)"
gone=no
for _ in $(seq 50); do
	run $F queue exp.example --json
	[ "$(jq .count "$T/out")" = 0 ] && gone=yes && break
	sleep 0.2
done
check "exp.example's message left the queue (bounced after 1 day)" test $gone = yes
run $F queue keep.example --json
check "keep.example's message (3-day lifetime) stays" test "$(jq .count "$T/out")" = 1
# the exact lifetime (queue.days=2), from the message's own arrival
# time as Postfix records it, one hour either side (nothing listens
# on 2529: the message is deferred)
$F add life.example --mode feed --force --dest 127.0.0.1:2529 greylisting=off queue.days=2 recipients=any > /dev/null
check "sync applies life.example" relay_caught_up
send a@sender.test u@life.example M-life
life_arrival=0
for _ in $(seq 100); do
	life_arrival=$(postqueue -c "$T/state/current" -j |
		jq -s 'map(select(.queue_name == "deferred" and any(.recipients[]; .address == "u@life.example")))[0].arrival_time // 0')
	[ "$life_arrival" -gt 0 ] && break
	sleep 0.2
done
check "life.example's message waits in the deferred queue" test "$life_arrival" -gt 0
expect_exit 0 "queue-expire as of its lifetime less an hour" \
	$M queue-expire --as-of $((life_arrival + 2 * 86400 - 3600))
check "... expires nothing" out_has "expired 0 message(s)"
run $F queue life.example --json
check "... life.example's message stays" test "$(jq .count "$T/out")" = 1
expect_exit 0 "queue-expire as of its lifetime plus an hour" \
	$M queue-expire --as-of $((life_arrival + 2 * 86400 + 3600))
check "... expires exactly that message" out_has "expired 1 message(s)"
gone=no
for _ in $(seq 50); do
	run $F queue life.example --json
	[ "$(jq .count "$T/out")" = 0 ] && gone=yes && break
	sleep 0.2
done
check "... which leaves the queue (bounced)" test $gone = yes
run $F queue keep.example --json
check "... and keep.example's (3-day lifetime) still stays" test "$(jq .count "$T/out")" = 1
# --- the queue from a host without a relay (seed 001: an admin host) ----------
# This host's feedctl sees no generation under its paths.state: the queue
# and the flush go through the database, served by the relay's sync.
sed -e "s|state = \"$T/state\"|state = \"$T/admin-state\"|" \
	-e 's|name = "test-relay";|name = "admin-host";|' "$T/mxfeed.conf" > "$T/admin.conf"
A="$FEEDCTL -c $T/admin.conf"
expect_exit 0 "queue from an admin host" $A queue keep.example --json
check "... lists the message the relay's sync published, with its relay" \
	test "$(jq -r '[.count, .messages[0].recipients[0], .messages[0].relay] | @tsv' "$T/out")" \
	= "$(printf '1\tu@keep.example\ttest-relay')"
check "... and the relay answered just now" \
	test "$(jq -r '[.relays[] | .name + " " + .state] | join(",")' "$T/out")" = "test-relay fresh"
check "the sync took the publish command from the database" \
	test "$(sql "SELECT state FROM relay_commands WHERE verb = 'publish' ORDER BY id DESC LIMIT 1")" = done
send a@sender.test v@keep.example M-keep2
run $A queue keep.example --json
check "a message queued a moment ago is listed from the admin host" \
	test "$(jq .count "$T/out")" = 2
sink_start 2529
expect_exit 0 "flush from the admin host" $A flush keep.example --json
check "... the relay confirms it" \
	test "$(jq -c '[.done, .relays[0].name, .relays[0].state]' "$T/out")" = '[true,"test-relay","done"]'
check "... and the queued mail is delivered" sink_has 2529 M-keep2
sink_stop 2529
gone=no
for _ in $(seq 50); do
	run $A queue keep.example --json
	[ "$(jq .count "$T/out")" = 0 ] && gone=yes && break
	sleep 0.2
done
check "the admin host sees the queue empty after the flush" test $gone = yes
# a relay that is registered but down: shown as such, never waited for
sql "INSERT INTO relays (name, heartbeat) VALUES ('relay-down', now() - interval '10 minutes')" > /dev/null
expect_exit 0 "queue with a relay down" $A queue keep.example --json
check "... the down relay is named as down" \
	test "$(jq -r '[.relays[] | .name + " " + .state] | join(",")' "$T/out")" = "relay-down down,test-relay fresh"
expect_exit 0 "flush with a relay down" $A flush keep.example --json
check "... says which relay has not confirmed and until when it may" \
	test "$(jq -c '[.done, (.relays[] | select(.name == "relay-down") | .state, (.expires_at | type))]' "$T/out")" = '[false,"pending","string"]'
$A add gone.example --mode feed --force --dest 127.0.0.1:2529 > /dev/null
expect_exit 5 "remove while a relay cannot say what it holds: exit 5" $A remove gone.example --confirm=gone.example
check "... naming the relay" err_has "relay-down"
check "... and the domain stays" test "$(sql "SELECT count(*) FROM domains WHERE name = 'gone.example'")" = 1
run $A show keep.example --json
check "propagation counts the down relay" test "$(jq -c '[.propagation.relays_applied, .propagation.relays_total]' "$T/out")" = '[1,2]'
expect_exit 0 "feedctl relays --json" $A relays --json
check "... shows each relay's state, lag and queue" \
	test "$(jq -c '[.[] | [.name, .state, .lag > 0, (.queue_total | type)]]' "$T/out")" = '[["relay-down","down",true,"null"],["test-relay","ok",false,"number"]]'
expect_exit 3 "retire an unknown relay: exit 3" $A relay retire nowhere
expect_exit 2 "retire a bad relay name: exit 2" $A relay retire 'a b'
expect_exit 4 "retire a relay whose queue held mail: exit 4" $A relay retire test-relay
check "... saying how many and what to do" err_has "when it last published its queue"
check "... and it stays active" test "$(sql "SELECT role FROM relays WHERE name = 'test-relay'")" = relay
expect_exit 0 "retire the relay that is down" $A relay retire relay-down
check "... recorded with who and when" test "$(sql "SELECT role || ' ' || (retired_at IS NOT NULL) || ' ' || retired_by FROM relays WHERE name = 'relay-down'")" = "retired true $(id -un)"
check "... its pending flush expired: nobody waits for it" \
	test "$(sql "SELECT count(*) FROM relay_commands WHERE relay = 'relay-down' AND state = 'pending'")" = 0
run $A show keep.example --json
check "propagation no longer counts it" test "$(jq -c '[.propagation.relays_applied, .propagation.relays_total]' "$T/out")" = '[1,1]'
expect_exit 0 "remove once every relay answers" $A remove gone.example --confirm=gone.example
check "... removes it" test "$(sql "SELECT count(*) FROM domains WHERE name = 'gone.example'")" = 0
expect_exit 4 "retire it twice: exit 4" $A relay retire relay-down
expect_exit 0 "activate it again" $A relay activate relay-down
check "... it counts again" test "$(sql "SELECT role || ' ' || (retired_at IS NULL) FROM relays WHERE name = 'relay-down'")" = "relay true"
# --- drain (issue 15 item 2): every refusal stores nothing ------------------
drained_none() {
	test "$(sql "SELECT count(*) FROM relays WHERE role = 'draining' OR drain_started_at IS NOT NULL")" = 0
}
sql "INSERT INTO relays (name, role, heartbeat) VALUES ('relay-gone', 'retired', now())" > /dev/null
expect_exit 3 "drain an unknown relay: exit 3" $A relay drain nowhere
check "... naming it" err_has "no relay is registered as nowhere"
check "... and nothing is stored" drained_none
expect_exit 2 "drain a bad relay name: exit 2" $A relay drain 'a b'
check "... saying what a name is" err_has "a relay name is 1 to 63 letters"
expect_exit 2 "--max-age without --hand-over: exit 2" $A relay drain relay-down --max-age 1h
check "... saying it needs one" err_has "--max-age needs --hand-over"
check "... and nothing is stored" drained_none
for age in 5x 0m 32d h 1.5h -1h 123456789s; do
	expect_exit 2 "drain with --max-age $age: exit 2" $A relay drain relay-down --hand-over test-relay --max-age "$age"
	check "... saying what an AGE is" err_has "--max-age"
done
check "... and nothing is stored" drained_none
expect_exit 2 "hand over to itself: exit 2" $A relay drain relay-down --hand-over relay-down
check "... saying so" err_has "cannot hand its queue over to itself"
expect_exit 3 "hand over to an unknown relay: exit 3" $A relay drain relay-down --hand-over nowhere
check "... naming it" err_has "no relay is registered as nowhere (--hand-over)"
expect_exit 4 "hand over to a retired relay: exit 4" $A relay drain relay-down --hand-over relay-gone
check "... saying it is not active" err_has "relay-gone is not an active relay (role retired)"
expect_exit 4 "hand over to a relay that reported no address: exit 4" $A relay drain test-relay --hand-over relay-down
check "... saying what is missing" err_has "relay-down has not reported the address it takes mail on"
check "... and nothing is stored" drained_none
check "the relay's sync reported its own address" \
	test "$(sql "SELECT smtp_address FROM relays WHERE name = 'test-relay'")" = "[127.0.0.1]:2525"
$A relay retire relay-down > /dev/null
expect_exit 4 "drain the last active relay: exit 4" $A relay drain test-relay
check "... saying mail would have nowhere to go" err_has "test-relay is the last active relay: draining it would leave new mail nowhere to go"
check "... and nothing is stored" drained_none
expect_exit 4 "drain a retired relay: exit 4" $A relay drain relay-down
check "... and nothing is stored" drained_none
$A relay activate relay-down > /dev/null
expect_exit 0 "drain a relay, handing its queue to another after 2 h" \
	$A --ticket T-9 relay drain relay-down --hand-over test-relay --max-age 2h
check "... recorded with who, when, to whom and how long" \
	test "$(sql "SELECT role || ' ' || (drain_started_at IS NOT NULL) || ' ' || drain_by || ' ' || drain_hand_over || ' ' || extract(epoch FROM drain_max_age)::int FROM relays WHERE name = 'relay-down'")" = "draining true $(id -un) test-relay 7200"
run $A relays --json
check "feedctl relays shows it draining, with its hand-over relay" \
	test "$(jq -c '.[] | select(.name == "relay-down") | [.role, .drain_hand_over, .drain_max_age]' "$T/out")" = '["draining","test-relay",7200]'
run $A show keep.example --json
check "propagation does not count a draining relay" test "$(jq -c '[.propagation.relays_applied, .propagation.relays_total]' "$T/out")" = '[1,1]'
expect_exit 4 "drain it twice: exit 4" $A relay drain relay-down
check "... saying since when and how to end it" err_has '"relay activate relay-down" ends the drain'
expect_exit 4 "drain the relay that takes a draining relay's queue: exit 4" $A relay drain test-relay
check "... naming the draining one" err_has "test-relay takes the queue of draining relay-down"
expect_exit 4 "retire the relay that takes a draining relay's queue: exit 4" $A relay retire test-relay --force
check "... naming the draining one" err_has "test-relay takes the queue of draining relay-down"
check "... and it stays active" test "$(sql "SELECT role FROM relays WHERE name = 'test-relay'")" = relay
expect_exit 0 "activate ends a drain" $A relay activate relay-down
check "... the relay is active and the drain forgotten" \
	test "$(sql "SELECT role || ' ' || (drain_started_at IS NULL AND drain_hand_over IS NULL AND drain_max_age IS NULL) FROM relays WHERE name = 'relay-down'")" = "relay true"
expect_exit 0 "drain it again, delivering its queue itself" $A relay drain relay-down
expect_exit 4 "retire the last active relay while another drains: exit 4" $A relay retire test-relay --force
check "... saying mail would have nowhere to go" err_has "test-relay is the last active relay and 1 relay drains"
check "... and it stays active" test "$(sql "SELECT role FROM relays WHERE name = 'test-relay'")" = relay
expect_exit 0 "retire a draining relay whose queue is empty" $A relay retire relay-down
check "... retired, its drain kept on record" \
	test "$(sql "SELECT role || ' ' || (drain_started_at IS NOT NULL) FROM relays WHERE name = 'relay-down'")" = "retired true"
$A relay activate relay-down > /dev/null
$A relay retire relay-down > /dev/null
sleep 1
# postqueue -j: one object per message; "any(inputs; ...)", not the
# status of the last object
bounced() {
	postqueue -c "$T/state/current" -j > "$T/out" &&
		jq -n -e 'any(inputs; .sender == "MAILER-DAEMON" and any(.recipients[]; .address == "a@sender.test"))' \
			"$T/out" > /dev/null
}
check "the sender gets the bounce" \
	bash -c "$(declare -f bounced); T='$T'; for _ in \$(seq 50); do bounced && exit 0; sleep 0.2; done; exit 1"

tap_done
