#!/bin/bash
# test_reinject.sh - the way mailbox mail goes back out, tried as an
# attacker on the relay's host would (issue 13, findings 3 and 4): who
# may hand mail to the re-injection listener, whether a virus in a
# mailbox gets out on revert, and what a revert takes from a mailbox.
# Then (finding 5) where Dovecot listens: LMTP only on the address
# facing the relays, site additions that survive every generation.
# Real Postfix, rspamd, clamd, Dovecot and the jobs worker in a network
# namespace of this test's own; smtp-sink plays the customer's server.
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
in_sink() { grep -rlF -- "$2" "$T/sink-$1" 2> /dev/null | wc -l; }
in_maildir() {
	for _ in $(seq 100); do grep -rqF -- "$1" "$T/mail" 2> /dev/null && return 0; sleep 0.2; done
	return 1
}
# job_error DOMAIN REGEX: a mailbox job of DOMAIN shows an error
# matching REGEX (waits up to 30 s)
job_error() {
	for _ in $(seq 150); do
		"$F" --json jobs "$1" 2> /dev/null |
			jq -e --arg re "$2" 'any(.[]; (.last_error // "") | test($re))' > /dev/null && return 0
		sleep 0.2
	done
	return 1
}
# the standard 68-byte EICAR test file
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > "$T/eicar.com"
check "the test's EICAR is the standard file" \
	test "$(md5sum < "$T/eicar.com")" = "44d88612fea8a8f36de82e1278abb02f  -"
SOCK="$T/state/spool/private/mxfeed-reinject"
# a private CA for mailbox hosts elsewhere (the last part): it signs
# their client certificates, and here the relay's own pair as well
# (SAN IP:127.0.0.1: the worker checks the relay's certificate)
leaf() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
		-keyout "$T/ca/$1.key" -out "$T/ca/$1.csr" > /dev/null 2>&1 &&
		printf 'subjectAltName=%s\n' "$2" > "$T/ca/$1.ext" &&
		openssl x509 -req -in "$T/ca/$1.csr" -CA "$T/ca/ca.pem" -CAkey "$T/ca/ca.key" \
			-CAcreateserial -days 30 -extfile "$T/ca/$1.ext" -out "$T/ca/$1.pem" > /dev/null 2>&1 &&
		chmod 600 "$T/ca/$1.key"
}
mkdir -p "$T/ca"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/CN=mxfeed test CA" -keyout "$T/ca/ca.key" -out "$T/ca/ca.pem" > /dev/null 2>&1
check "a CA signs the relay's pair and a mailbox host's client certificate" \
	bash -c "$(declare -f leaf); T='$T'; leaf relay.test DNS:relay.test,IP:127.0.0.1 && leaf mailbox.test DNS:mailbox.test"
cp "$T/ca/relay.test.pem" "$T/tls/cert.pem"
cp "$T/ca/relay.test.key" "$T/tls/key.pem"
tls_pair "$T/rogue" mailbox.test

$F add out.example --mode feed --force --dest 127.0.0.1:2526 greylisting=off recipients=any \
	spam.enabled=on spam.high.action=delete > /dev/null
expect_exit 0 "mta-glue apply" "$M" apply
clamd_start
rspamd_start
"$M" start > /dev/null
for _ in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/2525) 2> /dev/null && break; sleep 0.1; done
dovecot_start
"$M" sync >> "$T/sync.log" 2>&1 &
SYNC_PID=$!
sink_start 2526

# --- finding 3: only the mailbox host's worker may re-inject, and it is scanned --
run runuser -u nobody -- swaks --server 127.0.0.1:10025 --helo evil.test \
	--from ceo@bank.test --to alice@out.example --header "Subject: A-tcp" \
	--attach @"$T/eicar.com" --timeout 10
check "a local process gets no re-injection listener on 127.0.0.1:10025" \
	bash -c "[ $rc != 0 ] && ! grep -qE '^<[-~] +250 .*queued' '$T/out'"
check "the re-injection listener is a socket in Postfix's private directory" \
	bash -c "[ -S '$SOCK' ] && [ \"\$(stat -c '%a %U' '$(dirname "$SOCK")')\" = '700 postfix' ]"
run runuser -u nobody -- swaks --socket "$SOCK" --helo evil.test \
	--from ceo@bank.test --to alice@out.example --header "Subject: A-unix" --timeout 10
check "... which a process of another user cannot reach" \
	bash -c "[ $rc != 0 ] && ! grep -qE '^<[-~] +250 .*queued' '$T/out'"
run swaks --socket "$SOCK" --helo relay.test --from ceo@bank.test --to alice@out.example \
	--header "Subject: A-virus" --attach @"$T/eicar.com" --timeout 20
check "a virus handed to the listener is refused (554 5.7.1)" \
	grep -qE '^<[-~*]* +554 5.7.1' "$T/out"
run swaks --socket "$SOCK" --helo relay.test --from s@sender.test --to alice@out.example \
	--header "Subject: A-clean" --header "X-Test-Score: 16" --timeout 20
check "clean mail is taken, with no spam action (high level: delete)" \
	bash -c "[ $rc = 0 ] && grep -qE '^<[-~] +250 .*queued' '$T/out'"
check "... and delivered" sink_has 2526 A-clean
check "nothing of the refused attempts arrived" \
	test "$(in_sink 2526 A-tcp):$(in_sink 2526 A-unix):$(in_sink 2526 A-virus)" = 0:0:0

# a virus sitting in a temporary mailbox (delivered before its signature
# was known: here straight over LMTP): the revert keeps it and says so
expect_exit 0 "temp-pop3 out.example --mailbox alice" $F --json temp-pop3 out.example --mailbox alice
relay_caught_up
run swaks --protocol LMTP --server 127.0.0.1:24 --helo relay.test --from s@sender.test \
	--to alice@out.example --header "Subject: J-virus" --attach @"$T/eicar.com" --timeout 10
check "a virus lands in the mailbox over LMTP" in_maildir J-virus
run swaks --protocol LMTP --server 127.0.0.1:24 --helo relay.test --from s@sender.test \
	--to alice@out.example --header "Subject: J-clean" --timeout 10
check "... and a clean message" in_maildir J-clean
expect_exit 0 "revert" $F revert out.example
worker_start
check "the clean message reaches the customer's server" sink_has 2526 J-clean
check "the job shows the relay's refusal of the virus" job_error out.example '554 5.7.1'
check "... is not done, the mailbox not removed" \
	test "$(sql "SELECT count(*) FROM jobs WHERE domain='out.example' AND kind='mailbox-forward' AND state <> 'done'"):$(sql "SELECT count(*) FROM mailboxes WHERE local='alice'")" = 1:1
refused_again() {
	for _ in $(seq 150); do
		[ "$(sql "SELECT attempts >= 2 AND last_error LIKE '%554 5.7.1%' FROM jobs WHERE domain='out.example' AND kind='mailbox-forward'")" = t ] && return 0
		sleep 0.2
	done
	return 1
}
check "... offers it again at the next attempt, refused again" refused_again
check "... the virus stays in the mailbox, never sent" \
	bash -c "grep -rqF J-virus '$T/mail' && [ $(in_sink 2526 J-virus) = 0 ]"
check "... the clean message went once" test "$(in_sink 2526 J-clean)" = 1
worker_stop

# --- finding 4: a revert forwards only what Dovecot took over LMTP ---------------
$F add app.example --mode feed --force --dest 127.0.0.1:2526 greylisting=off recipients=any > /dev/null
expect_exit 0 "temp-pop3 app.example --mailbox bob --catch-all" \
	$F --json temp-pop3 app.example --mailbox bob --catch-all
BPW=$(jq -r '.mailboxes[] | select(.address == "bob@app.example") | .password' "$T/out")
relay_caught_up
send real@sender.test bob@app.example L-real
check "mail through the relay lands in bob's mailbox" in_maildir L-real
send other@sender.test carol@app.example L-catch
check "... and in the catch-all" in_maildir L-catch
# what an attacker with bob's password APPENDs: a forged envelope on
# top, a Received "for" naming bob, EICAR attached (L-forged) or not
forged() {
	printf '%s\r\n' "Return-Path: <ceo@bank.test>" \
		"Received: from relay.test by mail.test with LMTP id x for <bob@app.example>; $(date -R)" \
		"From: ceo@bank.test" "To: bob@app.example" "Subject: $1" "MIME-Version: 1.0" \
		'Content-Type: multipart/mixed; boundary="b1"' "" "--b1" "Content-Type: text/plain" "" \
		"pay now ($1)" "--b1"
	if [ "$2" = virus ]; then
		printf '%s\r\n' 'Content-Type: application/octet-stream; name="eicar.com"' \
			"Content-Transfer-Encoding: base64" "" "$(base64 -w0 < "$T/eicar.com")" "--b1--"
	else
		printf '%s\r\n' "Content-Type: text/plain" "" "nothing" "--b1--"
	fi
}
forged L-forged virus > "$T/forged.eml"
forged L-forged2 clean > "$T/forged2.eml"
imap_append() {
	python3 - "$1" "$2" "$3" "$4" << 'PY' > "$T/out" 2>&1
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", 1143)
m.login(sys.argv[1], sys.argv[2])
try:
    typ, data = m.append(sys.argv[3], None, None, open(sys.argv[4], "rb").read())
except imaplib.IMAP4.error as e:
    typ, data = "ERROR", [str(e)]
print(typ, data)
m.logout()
sys.exit(0 if typ == "OK" else 3)
PY
}
expect_exit 3 "IMAP APPEND of a message with a forged envelope and EICAR is refused" \
	imap_append bob@app.example "$BPW" INBOX "$T/forged.eml"
check "... for want of permission (Dovecot's ACL)" out_has "NOPERM"
expect_exit 3 "... and without the virus" imap_append bob@app.example "$BPW" INBOX "$T/forged2.eml"
run python3 - bob@app.example "$BPW" << 'PY'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", 1143)
m.login(sys.argv[1], sys.argv[2])
m.select("INBOX")
typ, data = m.copy("1", "INBOX")
print("copy", typ, data)
m.logout()
sys.exit(0 if typ == "OK" else 3)
PY
check "... nor may a message be copied (a second send of it)" test "$rc" = 3
run python3 - bob@app.example "$BPW" << 'PY'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", 1143)
m.login(sys.argv[1], sys.argv[2])
m.select("INBOX")
typ, data = m.copy("1", "Trash")
print("copy", typ, data)
m.logout()
sys.exit(0 if typ == "OK" else 3)
PY
check "a copy into Trash (webmail's delete) is allowed" test "$rc" = 0
expect_exit 0 "... so is an APPEND there (Trash is never forwarded)" \
	imap_append bob@app.example "$BPW" Trash "$T/forged2.eml"
run curl -s -m 10 "imap://127.0.0.1:1143/INBOX;UID=1" -u "bob@app.example:$BPW"
check "bob still reads his mail over IMAP" out_has L-real
# a message in Trash, and one in the catch-all naming another domain:
# both put there as files (neither can arrive otherwise), both kept
BOB=$(sql "SELECT id FROM mailboxes WHERE local='bob'")
CATCH=$(sql "SELECT m.id FROM mailboxes m JOIN domains d ON d.id = m.domain_id WHERE d.name='app.example' AND m.catch_all")
mkdir -p "$T/mail/$BOB/Maildir/.Trash/cur" "$T/mail/$BOB/Maildir/.Trash/new" "$T/mail/$BOB/Maildir/.Trash/tmp"
touch "$T/mail/$BOB/Maildir/.Trash/maildirfolder"
printf '%s\n' "Return-Path: <real@sender.test>" \
	"Received: from relay.test by mail.test with LMTP id y for <bob@app.example>; $(date -R)" \
	"From: real@sender.test" "Subject: L-trash" "" "deleted by bob" \
	> "$T/mail/$BOB/Maildir/.Trash/new/1700000000.M1P1.mail.test"
printf '%s\n' "Return-Path: <real@sender.test>" \
	"Received: from relay.test by mail.test with LMTP id z for <victim@bank.test>; $(date -R)" \
	"From: real@sender.test" "Subject: L-other" "" "for another domain" \
	> "$T/mail/$CATCH/Maildir/new/1700000001.M1P1.mail.test"
chown -R nobody:nogroup "$T/mail/$BOB" "$T/mail/$CATCH"
expect_exit 0 "revert app.example" $F revert app.example
worker_start
jobs_done_app() {
	for _ in $(seq 300); do
		[ "$(sql "SELECT count(*) FROM jobs WHERE domain='app.example' AND kind LIKE 'mailbox-%' AND state <> 'done'")" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}
check "the revert's jobs finish" jobs_done_app
check "the delivered mail reached the customer's server once each" \
	test "$(in_sink 2526 L-real):$(in_sink 2526 L-catch)" = 1:1
check "... with the envelope Dovecot recorded at delivery" \
	bash -c "grep -rlF L-real '$T/sink-2526' | xargs grep -q '^X-Mail-Args: <real@sender.test>' &&
		grep -rlF L-catch '$T/sink-2526' | xargs grep -q '^X-Rcpt-Args: <carol@app.example>'"
check "nothing appended, in Trash or naming another domain was forwarded" \
	test "$(in_sink 2526 L-forged):$(in_sink 2526 L-forged2):$(in_sink 2526 L-trash):$(in_sink 2526 L-other)" = 0:0:0:0
check "no mail went out with the forged sender" bash -c "! grep -rq '^X-Mail-Args: <ceo@bank.test>' '$T/sink-2526'"
check "the jobs report the four messages they kept (three in Trash)" \
	test "$(sql "SELECT sum((payload->>'kept')::int) FROM jobs WHERE domain='app.example' AND kind='mailbox-forward'")" = 4
check "... and the archives hold them" \
	test "$(for a in "$T/state/archive/app.example/"*.tar.gz; do tar -xzOf "$a"; done | grep -ao '^Subject: L-[a-z0-9]*' | sort -u | tr '\n' ' ')" \
	= "Subject: L-forged2 Subject: L-other Subject: L-real Subject: L-trash "
worker_stop

# --- finding 5: Dovecot listens where it is told, LMTP only towards the relays ---
# POP3 and IMAP on two loopback addresses, LMTP left at its default
# (127.0.0.1, the relay-facing one)
# mta-glue sync reads the configuration when it starts: restarted
# with each change to it, or it would write generations of the old one
sync_restart() {
	kill "$SYNC_PID" 2> /dev/null && wait "$SYNC_PID" 2> /dev/null
	"$M" sync >> "$T/sync.log" 2>&1 &
	SYNC_PID=$!
}
dovecot_restart() {
	dovecot_stop
	for _ in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/24) 2> /dev/null || break; sleep 0.1; done
	dovecot_start
}
# greeting HOST PORT REGEX: the server's first line matches (waits up
# to 10 s for Dovecot's login processes)
greeting() {
	local g
	for _ in $(seq 50); do
		g=$( (exec 3<> "/dev/tcp/$1/$2" && timeout 5 head -1 <&3) 2> /dev/null)
		printf '%s\n' "$g" | grep -q -- "$3" && return 0
		sleep 0.2
	done
	echo "# greeting on $1:$2: $g ($(grep '^listen' "$T/state/current/dovecot/dovecot.conf"))"
	return 1
}
sed -i 's|mailbox = { listen = "127.0.0.1";|mailbox = { listen = "127.0.0.1, 127.0.0.2";|' "$T/mxfeed.conf"
sync_restart
expect_exit 0 "mta-glue apply with mailbox.listen on 127.0.0.1 and 127.0.0.2" "$M" apply
dovecot_restart
check "POP3 answers on 127.0.0.2 (mailbox.listen)" greeting 127.0.0.2 1110 '^+OK'
check "LMTP answers on 127.0.0.1, the relay-facing address" \
	greeting 127.0.0.1 24 '^220 '
check "LMTP is not reachable on 127.0.0.2" bash -c "! (exec 3<> /dev/tcp/127.0.0.2/24) 2> /dev/null"
# the site's own settings, in a file outside the generations
printf '%s\n' 'login_greeting = mxfeed-site-greeting' > "$T/dovecot-local.conf"
sed -i "s|mailbox = { listen = \"127.0.0.1, 127.0.0.2\";|& local_conf = \"$T/dovecot-local.conf\";|" "$T/mxfeed.conf"
sync_restart
expect_exit 0 "mta-glue apply with mailbox.local_conf" "$M" apply
dovecot_restart
check "the site's additions (mailbox.local_conf) are read" \
	greeting 127.0.0.2 1110 mxfeed-site-greeting
G1=$(readlink "$T/state/current")
$F set app.example queue.days=6 > /dev/null
check "a change makes a new generation" \
	bash -c "for _ in \$(seq 100); do [ \"\$(readlink '$T/state/current')\" != '$G1' ] && exit 0; sleep 0.2; done; exit 1"
check "... which still reads the site's file, untouched" \
	bash -c "grep -qxF '!include_try $T/dovecot-local.conf' '$T/state/current/dovecot/dovecot.conf' && grep -qx 'login_greeting = mxfeed-site-greeting' '$T/dovecot-local.conf'"

# --- finding 3, mailbox hosts elsewhere: TCP only with TLS and a client certificate
G1=$(readlink "$T/state/current")
sed -i 's|relay = { name = "test-relay";|& reinject = "127.0.0.1:10026";|' "$T/mxfeed.conf"
expect_exit 2 "a TCP re-injection listener without relay.reinject_ca is refused" "$M" apply
check "... naming what is missing, the current generation kept" \
	bash -c "grep -q relay.reinject_ca '$T/err' && [ \"\$(readlink '$T/state/current')\" = '$G1' ]"
sed -i "s|reinject = \"127.0.0.1:10026\";|& reinject_ca = \"$T/ca/ca.pem\";|" "$T/mxfeed.conf"
sed -i "s|mailbox = { listen = \"127.0.0.1, 127.0.0.2\";|& reinject = \"127.0.0.1:10026\"; reinject_cert = \"$T/ca/mailbox.test.pem\"; reinject_key = \"$T/ca/mailbox.test.key\"; reinject_ca = \"$T/ca/ca.pem\";|" \
	"$T/mxfeed.conf"
sync_restart
expect_exit 0 "mta-glue apply with relay.reinject on 127.0.0.1:10026" "$M" apply
check "the re-injection listener answers on 127.0.0.1:10026" \
	greeting 127.0.0.1 10026 '^220 '
remote() {
	local subj=$1
	shift
	swaks --server 127.0.0.1:10026 --helo mailbox.test --from s@sender.test --to x@app.example \
		--header "Subject: $subj" --timeout 10 "$@" > "$T/out" 2>&1
}
remote R-plain
check "... refuses mail without TLS" bash -c "[ $? != 0 ] && ! grep -qE '^<[-~] +250 .*queued' '$T/out'"
remote R-nocert --tls
check "... and over TLS without a client certificate" bash -c "[ $? != 0 ] && ! grep -qE '^<[-~] +250 .*queued' '$T/out'"
remote R-rogue --tls --tls-cert "$T/rogue/cert.pem" --tls-key "$T/rogue/key.pem"
check "... and with a certificate its CA did not sign" bash -c "[ $? != 0 ] && ! grep -qE '^<[-~] +250 .*queued' '$T/out'"
remote R-signed --tls --tls-cert "$T/ca/mailbox.test.pem" --tls-key "$T/ca/mailbox.test.key"
check "... takes it with the mailbox host's certificate" grep -qE '^<[-~] +250 .*queued' "$T/out"
check "... and delivers it" sink_has 2526 R-signed
check "none of the refused ones arrived" \
	test "$(in_sink 2526 R-plain):$(in_sink 2526 R-nocert):$(in_sink 2526 R-rogue)" = 0:0:0
expect_exit 0 "temp-pop3 app.example --mailbox dan" $F temp-pop3 app.example --mailbox dan
relay_caught_up
run swaks --protocol LMTP --server 127.0.0.1:24 --helo relay.test --from s@sender.test \
	--to dan@app.example --header "Subject: R-job" --timeout 10
check "dan has mail" in_maildir R-job
expect_exit 0 "revert app.example" $F revert app.example
worker_start
check "the worker re-injects over TLS with its certificate: the job finishes" jobs_done_app
check "... and the message arrives once" test "$(in_sink 2526 R-job)" = 1
check "... through the listener, which verified the certificate" \
	log_has "$T/state/postfix.log" 'postfix/reinject/smtpd.*Trusted TLS connection established from [^ ]*\[127.0.0.1\]'
worker_stop

tap_done
