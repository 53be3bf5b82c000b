#!/bin/bash
# test_tls.sh - TLS on the relay, both ways, with real daemons in a
# network namespace of its own (loopback only).  The customer's server
# that speaks TLS is a second Postfix instance (127.0.0.1:2601, its own
# self-signed certificate, Received: headers naming the TLS protocol)
# that hands everything to smtp-sink on 2600, where the test reads
# it (a second listener, 127.0.0.1:2606, for the fingerprint steps);
# plain smtp-sink instances (no STARTTLS) play servers without TLS.
# One relay runs throughout: each step changes the record and checks
# the next message.  Outbound, each domain's tls.policy: may delivers
# in clear when it must, encrypt never (the mail waits), verify only to
# the recorded certificate; a change asking for TLS a server lacks is
# refused by its probe unless forced, and nothing is stored then.
set -u
. "$(dirname "$0")/../lib.sh"
in_netns "$0" "$@"
pg_setup
relay_setup
F=$FEEDCTL
M=$MTA_GLUE
jqe() { jq -e "$@" "$T/out" > /dev/null; }

# cust_start: the customer's Postfix with STARTTLS on 127.0.0.1:2601
cust_start() {
	local d=$T/cust
	mkdir -p "$d/etc" "$d/spool" "$d/data"
	chown postfix "$d/data"
	tls_pair "$d/tls" cust.test
	cat > "$d/etc/main.cf" << CONF
compatibility_level = 3.6
myhostname = cust.test
mydestination =
mynetworks = 127.0.0.0/8
local_recipient_maps =
alias_maps =
alias_database =
queue_directory = $d/spool
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $d/postfix.log
maillog_file_prefixes = $d
smtp_dns_support_level = disabled
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:2600
smtpd_tls_security_level = may
smtpd_tls_chain_files = $d/tls/key.pem, $d/tls/cert.pem
smtpd_tls_received_header = yes
smtpd_tls_loglevel = 1
CONF
	cat > "$d/etc/master.cf" << 'CONF'
127.0.0.1:2601 inet n - n - - smtpd
127.0.0.1:2606 inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
postlog   unix-dgram n  -       n       -       1       postlogd
CONF
	postfix -c "$d/etc" start > "$d/start.log" 2>&1 ||
		{ echo "Bail out! the customer's Postfix did not start"; cat "$d/start.log"; exit 1; }
	for _ in $(seq 50); do
		(exec 3<> /dev/tcp/127.0.0.1/2601) 2> /dev/null && return 0
		sleep 0.1
	done
	echo "Bail out! the customer's Postfix does not answer"
	exit 1
}

cust_stop() {
	[ -f "$T/cust/etc/main.cf" ] && postfix -c "$T/cust/etc" stop > /dev/null 2>&1
}

tls_teardown() {
	cust_stop
	for p in 2600 2602 2603; do sink_stop $p; done
	relay_teardown
}
trap tls_teardown EXIT

# the message holding TEXT at the sink on PORT
msg_at() { grep -rlF -- "$2" "$T/sink-$1" | head -n 1; }
# the relay's queue holds a message for DOMAIN
queued() { postqueue -c "$T/state/current" -j | grep -qF -- "@$1\""; }
# deferred DOMAIN PATTERN: a message for DOMAIN waits in the relay's
# queue with a delay reason matching PATTERN (waits up to 60 s)
deferred() {
	for _ in $(seq 300); do
		postqueue -c "$T/state/current" -j 2> /dev/null |
			jq -n -e --arg d "@$1" --arg p "$2" 'any(inputs; any(.recipients[];
				(.address | endswith($d)) and ((.delay_reason // "") | test($p; "i"))))' \
				> /dev/null && return 0
		sleep 0.2
	done
	# for the report: the queue, and what the relay logged about it
	{ date -u +%T; postqueue -c "$T/state/current" -j; grep -F "$1" "$T/state/postfix.log" | tail -n 20; } > "$T/out" 2>&1
	return 1
}
# policy_of NEXTHOP: the relay's tls_policy line for [IP]:PORT
policy_of() { postmap -c "$T/state/current" -q "$1" "lmdb:$T/state/current/tls_policy"; }

sink_start 2600
sink_start 2602
sink_start 2603
cust_start
CUST_FP=$(tls_fingerprint "$T/cust/tls/cert.pem")
RELAY_FP=$(tls_fingerprint "$T/tls/cert.pem")

$F add tls-may.example --mode feed --dest 127.0.0.1:2601 greylisting=off recipients=any > /dev/null
$F add plain-may.example --mode feed --dest 127.0.0.1:2603 greylisting=off recipients=any > /dev/null
expect_exit 0 "mta-glue apply with the site's key pair" $M apply
check "main.cf offers STARTTLS with the pair and names TLS in Received:" \
	bash -c "postconf -c '$T/state/current' -h smtpd_tls_security_level smtpd_tls_received_header | tr '\n' ' ' | grep -qx 'may yes '"
clamd_start
rspamd_start
expect_exit 0 "mta-glue start" $M start
for _ in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/2525) 2> /dev/null && break; sleep 0.1; done

# --- inbound ------------------------------------------------------------------
run smtp "EHLO client.test" QUIT
check "the relay offers STARTTLS" out_has "250-STARTTLS"
send a@sender.test user@plain-may.example M-in-tls -tls
check "a sender using STARTTLS is accepted" replied 250
check "... and Received: shows the TLS protocol" \
	bash -c "$(declare -f sink_has msg_at); T=$T; sink_has 2603 M-in-tls && grep -A2 '^Received: from client.test' \"\$(msg_at 2603 M-in-tls)\" | grep -q 'using TLSv1\.[23] with cipher'"
send a@sender.test user@plain-may.example M-in-clear
check "a sender without STARTTLS is still accepted (opportunistic)" sink_has 2603 M-in-clear
check "... and its Received: names no TLS" \
	bash -c "! grep -A2 '^Received: from client.test' '$(msg_at 2603 M-in-clear)' | grep -q 'using TLS'"
run openssl s_client -connect 127.0.0.1:2525 -starttls smtp -tls1_1 < /dev/null
check "TLS 1.1 is refused" test "$rc" != 0

# --- probe ------------------------------------------------------------------------
expect_exit 0 "probe a destination with STARTTLS" $F --json probe tls-may.example
check "... reports the handshake: protocol, cipher and the certificate's SHA-256" \
	jqe --arg fp "$(echo "$CUST_FP" | tr -d : | tr A-F a-f)" \
	'.ok and .starttls and (.tls.protocol | test("^TLSv1\\.[23]$")) and (.tls.cipher | length > 0) and .tls.fingerprint == $fp and (has("tls_error") | not)'
check "... and the RCPT went over TLS (the destination logged the session)" \
	log_has "$T/cust/postfix.log" 'TLS connection established from'
expect_exit 0 "feedctl probe without --json shows the handshake" $F probe tls-may.example
check "... protocol and fingerprint" \
	bash -c "grep -qE '^  TLS: +TLSv1\.[23] ' '$T/out' && grep -qi '^  SHA-256: *$(echo "$CUST_FP" | tr -d :)' '$T/out'"
expect_exit 0 "probe a destination without STARTTLS" $F --json probe plain-may.example
check "... no tls object, not a failure" jqe '.ok and .starttls == false and (has("tls") | not)'
expect_exit 0 "probe the relay itself by address" $F --json probe 127.0.0.1:2525
check "... its fingerprint is the relay's certificate" \
	jqe --arg fp "$(echo "$RELAY_FP" | tr -d : | tr A-F a-f)" '.tls.fingerprint == $fp'

# --- outbound: opportunistic ------------------------------------------------------
send a@sender.test user@tls-may.example M-may-tls
check "may: delivered to a server with STARTTLS" sink_has 2600 M-may-tls
check "... over TLS (the destination's Received: names the protocol)" \
	bash -c "grep -A2 '^Received: from relay.test' '$(msg_at 2600 M-may-tls)' | grep -q 'using TLSv1\.[23] with cipher'"
send a@sender.test user@plain-may.example M-may-plain
check "may: delivered in clear to a server without STARTTLS" sink_has 2603 M-may-plain

# --- outbound: the domain's tls.policy ---------------------------------------
expect_exit 0 "show lists the tls settings" $F show tls-may.example
check "... tls.policy may, tls.fingerprint none" \
	bash -c "grep -qE '^tls\.policy +may\$' '$T/out' && grep -qE '^tls\.fingerprint +none\$' '$T/out'"
expect_exit 0 "help set describes them" $F help set
check "... with the values each takes" \
	bash -c "grep -qF 'tls.policy=may|encrypt|verify' '$T/out' && grep -qF 'tls.fingerprint=SHA256-HEX|none' '$T/out'"
expect_exit 0 "add an encrypt domain toward a server with STARTTLS (its probe takes TLS)" \
	$F add tls-enc.example --mode feed --dest 127.0.0.1:2601 greylisting=off recipients=any tls.policy=encrypt
"$M" apply > /dev/null
check "encrypt: smtp_tls_policy_maps says encrypt for [127.0.0.1]:2601" \
	test "$(policy_of '[127.0.0.1]:2601')" = encrypt
send a@sender.test user@tls-enc.example M-enc-tls
check "encrypt: delivered to a server with STARTTLS" sink_has 2600 M-enc-tls
check "... over TLS (the destination's Received: names the protocol)" \
	bash -c "grep -A2 '^Received: from relay.test' '$(msg_at 2600 M-enc-tls)' | grep -q 'using TLSv1\.[23] with cipher'"

# encrypt toward a server without STARTTLS: refused unless forced
add_plain_enc() { $F add plain-enc.example --mode feed --dest 127.0.0.1:2602 greylisting=off recipients=any tls.policy=encrypt "$@"; }
expect_exit 4 "encrypt toward a server without STARTTLS: add refused" add_plain_enc
check "... saying why, naming the destination" \
	err_has "feedctl: plain-enc.example: destination.host: 127.0.0.1:2602 fails tls.policy encrypt: no TLS handshake (STARTTLS not offered)"
expect_exit 3 "... and nothing was stored" $F show plain-enc.example
run bash -c "echo '{\"name\":\"plain-enc.example\",\"mode\":\"feed\",\"destination\":{\"host\":\"127.0.0.1\",\"port\":2602},\"tls\":{\"policy\":\"encrypt\"}}' | $F apply -f -"
check "... apply refused too (exit 4)" test "$rc" = 4
check "... naming tls.policy encrypt" err_has "fails tls.policy encrypt"
expect_exit 3 "... and nothing was stored" $F show plain-enc.example
expect_exit 0 "add --force: stored all the same" add_plain_enc --force
"$M" apply > /dev/null
check "... the map says encrypt for [127.0.0.1]:2602" test "$(policy_of '[127.0.0.1]:2602')" = encrypt
send a@sender.test user@plain-enc.example M-enc-plain
check "encrypt, no STARTTLS: the relay accepts the message" replied "250 2.0.0"
check "... and keeps it queued, deferred for want of TLS" deferred plain-enc.example 'TLS is required'
check "... never sent in clear: the destination got nothing" \
	bash -c "sleep 2; ! grep -rqF M-enc-plain '$T/sink-2602'"
check "may toward the same kind of server still delivers in clear (above)" sink_has 2603 M-may-plain

# a change that asks for TLS a server lacks is probed and refused
v=$($F show plain-may.example --json | jq -r .version)
expect_exit 4 "set tls.policy=encrypt toward a server without STARTTLS: refused" \
	$F set plain-may.example tls.policy=encrypt
check "... naming tls.policy" \
	err_has "feedctl: plain-may.example: tls.policy: 127.0.0.1:2603 fails tls.policy encrypt: no TLS handshake (STARTTLS not offered)"
check "... and nothing was stored" \
	test "$($F show plain-may.example --json | jq -r '"\(.version) \(.tls.policy)"')" = "$v may"
expect_exit 4 "switch to a new destination without STARTTLS under encrypt: refused" \
	$F switch tls-enc.example --to backup --dest 127.0.0.1:2603
check "... saying why" err_has "127.0.0.1:2603 fails tls.policy encrypt"
check "... and nothing was stored (still feed to 2601)" \
	test "$($F show tls-enc.example --json | jq -r '"\(.mode) \(.destination.port)"')" = "feed 2601"

# verify: the certificate's SHA-256
WRONG_FP=$(printf '%064d' 0 | sed 's/0/ab/g' | cut -c1-64)
add_fp() { $F add fp.example --mode feed --dest 127.0.0.1:2606 greylisting=off recipients=any tls.policy=verify "$@"; }
expect_exit 2 "verify without a fingerprint: refused" add_fp
check "... naming tls.fingerprint" err_has "tls.fingerprint: tls.policy verify needs tls.fingerprint"
expect_exit 3 "... and nothing was stored" $F show fp.example
expect_exit 2 "a fingerprint that is no SHA-256: refused" add_fp tls.fingerprint=abc
check "... saying what it must be" err_has "tls.fingerprint must be a SHA-256 fingerprint"
expect_exit 4 "verify with a wrong fingerprint: the probe refuses it" add_fp "tls.fingerprint=$WRONG_FP"
check "... naming tls.fingerprint and the server's real one" \
	err_has "tls.fingerprint: 127.0.0.1:2606 fails tls.policy verify: the server's certificate has SHA-256 $(echo "$CUST_FP" | tr -d : | tr A-F a-f), not tls.fingerprint"
expect_exit 3 "... and nothing was stored" $F show fp.example
expect_exit 0 "add it with --force" add_fp "tls.fingerprint=$WRONG_FP" --force
"$M" apply > /dev/null
check "... the map pins the wrong certificate" \
	test "$(policy_of '[127.0.0.1]:2606')" = "fingerprint match=$(echo "$WRONG_FP" | tr a-f A-F | sed 's/../&:/g; s/:$//')"
send a@sender.test user@fp.example M-fp
check "verify, wrong fingerprint: accepted by the relay" replied "250 2.0.0"
check "... and deferred: the server's certificate is not the recorded one" deferred fp.example 'certificate'
check "... the destination got nothing" bash -c "sleep 2; ! grep -rqF M-fp '$T/sink-2600'"
expect_exit 0 "set the right fingerprint, as openssl prints it (colon pairs)" \
	$F set fp.example "tls.fingerprint=$CUST_FP"
check "... stored as 64 lower-case hex digits" \
	test "$($F show fp.example --json | jq -r .tls.fingerprint)" = "$(echo "$CUST_FP" | tr -d : | tr A-F a-f)"
"$M" apply > /dev/null
expect_exit 0 "flush the domain's queue" $F flush fp.example
check "verify, right fingerprint: the waiting message is delivered" sink_has 2600 M-fp
send a@sender.test user@fp.example M-fp-next
check "... and so is the next one" sink_has 2600 M-fp-next
check "... over TLS" \
	bash -c "grep -A2 '^Received: from relay.test' '$(msg_at 2600 M-fp-next)' | grep -q 'using TLSv1\.[23] with cipher'"
run bash -c "$F show fp.example --json | $F apply -f -"
check "the domain's own JSON document applies back unchanged" \
	bash -c "test '$rc' = 0 && test \"\$($F show fp.example --json | jq -r .version)\" = 2"
expect_exit 0 "history shows the tls change" $F history fp.example
check "... as a change of tls" bash -c "grep -E '^[0-9TZ:-]+ +set +' '$T/out' | grep -qw tls"
expect_exit 0 "history --json keeps both records" $F --json history fp.example
check "... tls.fingerprint from the wrong one to the right one" \
	jqe --arg w "$WRONG_FP" --arg r "$(echo "$CUST_FP" | tr -d : | tr A-F a-f)" \
	'.[0].action == "set" and .[0].old.tls == {"policy": "verify", "fingerprint": $w} and .[0].new.tls == {"policy": "verify", "fingerprint": $r}'
expect_exit 2 "a pop3 domain takes no tls.policy" $F add tls-pop.example --mode pop3 tls.policy=encrypt
check "... saying why" err_has "pop3 domains have no destination: tls.policy is for feed and backup domains"
expect_exit 3 "... and nothing was stored" $F show tls-pop.example
# the schema holds the same rules (sql/004_tls.sql), for any writer
$F add tls-pop.example --mode pop3 > /dev/null
for c in "domains_tls_verify:tls_policy = 'verify' WHERE name = 'plain-may.example'" \
	"domains_tls_fingerprint:tls_fingerprint = upper(repeat('ab', 32)) WHERE name = 'plain-may.example'" \
	"domains_tls_policy:tls_policy = 'strict' WHERE name = 'plain-may.example'" \
	"domains_tls_pop3:tls_policy = 'encrypt' WHERE name = 'tls-pop.example'"; do
	run sql "UPDATE domains SET ${c#*:}"
	check "the schema refuses it too: ${c%%:*}" bash -c "test '$rc' != 0 && grep -q '\"${c%%:*}\"' '$T/err'"
done
check "... and nothing changed there" \
	test "$(sql "SELECT string_agg(tls_policy || '/' || coalesce(tls_fingerprint, 'null'), ' ') FROM domains WHERE name IN ('plain-may.example', 'tls-pop.example')")" = "may/null may/null"

# --- recipient verification never shows the destination to senders ---------
smtp-sink -u postfix -f RCPT 127.0.0.1:2604 20 > "$T/sink-2604.log" 2>&1 &
REFUSER=$!
$F add v-refuse.example --mode feed --force --dest 127.0.0.1:2604 greylisting=off > /dev/null
"$M" apply > /dev/null
send a@sender.test nobody@v-refuse.example M-vrefuse
check "a recipient the destination refuses is refused (550 5.1.1)" replied "550 5.1.1"
check "... and the reply does not name the destination's address" \
	bash -c "! grep -E '^<[-~*]* +550' '$T/out' | grep -qE '127\.0\.0\.1|2604|said'"
check "... while the relay's log keeps the destination's own answer" \
	log_has "$T/state/postfix.log" 'v-refuse.example.*status=undeliverable \(host 127\.0\.0\.1\[127\.0\.0\.1\] said'
kill "$REFUSER" 2> /dev/null
$F add v-down.example --mode feed --force --dest 127.0.0.1:2605 greylisting=off > /dev/null
"$M" apply > /dev/null
send a@sender.test nobody@v-down.example M-vdown
check "destination unreachable: the unknown recipient is deferred (450)" replied "450"
check "... and the reply does not name the destination's address" \
	bash -c "! grep -E '^<[-~*]* +450' '$T/out' | grep -qE '127\.0\.0\.1|2605'"

# --- Dovecot beyond loopback: TLS required -----------------------------------
$F add pop.example --mode pop3 greylisting=off > /dev/null
PW=$($F --json mailbox add pop.example info | jq -r '.mailboxes[0].password')
sed -i 's|mailbox = { listen = "127.0.0.1";|mailbox = { listen = "*";|' "$MXFEED_CONF"
expect_exit 0 "mailbox.listen \"*\" with the site's key pair: apply" $M apply
check "... Dovecot gets ssl = required and no plaintext authentication" \
	bash -c "grep -qx 'ssl = required' '$T/state/current/dovecot/tls.conf.ext' && grep -qx 'disable_plaintext_auth = yes' '$T/state/current/dovecot/tls.conf.ext'"
dovecot_start
run curl -s -m 10 --ssl-reqd -k "pop3://127.0.0.1:1110/" -u "info@pop.example:$PW"
check "... and POP3 logins work over STLS with the site's certificate" test "$rc" = 0
run bash -c "openssl s_client -connect 127.0.0.1:1110 -starttls pop3 < /dev/null 2>&1 | openssl x509 -noout -fingerprint -sha256"
check "... which is the certificate Dovecot presents" out_has "$RELAY_FP"
dovecot_stop
before=$(readlink "$T/state/current")
sed -i "s|key_file = \"$T/tls/key.pem\"|key_file = \"$T/cust/tls/key.pem\"|" "$MXFEED_CONF"
expect_exit 1 "a key that is not the certificate's: apply refused" $M apply
check "... saying so" err_has "is not the key of '$T/tls/cert.pem'"
check "... and the previous generation stays" test "$(readlink "$T/state/current")" = "$before"
sed -i '/^tls = /d' "$MXFEED_CONF"
expect_exit 2 "mailbox.listen \"*\" without a key pair: apply refused" $M apply
check "... saying why" err_has 'mailbox.listen "*" reaches beyond loopback but there is no certificate'
check "... and the previous generation stays" test "$(readlink "$T/state/current")" = "$before"

tap_done
