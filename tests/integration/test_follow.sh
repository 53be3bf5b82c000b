#!/bin/bash
# test_follow.sh - the follow test: ONE running relay (Postfix, rspamd,
# ClamAV, postgrey, Dovecot and mta-glue sync, started once and never
# restarted by the test; postgrey is restarted by mta-glue when its
# options change), a domain added after it started, and every per-domain
# setting changed in turn.  After each change, once "feedctl show" says
# every relay applied it, the next message must follow the new record.
#
# Tests that start their daemons fresh prove the first load only; this
# one proves the reloads (rspamd once read its per-domain map a single
# time per process and ignored every later change).
#
# Changes are applied incrementally (lib/relay_incr): a rule or a spam
# setting must be live with no Postfix reload at all (the postfix log
# shows none), a route change still reloads and works; after the whole
# series of changes the generation in force is, file for file and map
# for map, what a full generation makes; more than 2000 domains
# changed at once are generated in full.
set -u
. "$(dirname "$0")/../lib.sh"
in_netns "$0" "$@"
pg_setup
relay_setup
F=$FEEDCTL
M=$MTA_GLUE
D=follow.example

# applied: the latest change is live on every relay (show --json), as
# a support engineer would wait for it; then the next message is sent
applied() {
	local s
	for _ in $(seq 150); do
		s=$($F show "$D" --json 2> /dev/null |
			jq -r '.propagation | "\(.relays_applied) \(.relays_total) \(.sequence)"')
		set -- $s
		if [ "${1:-x}" = "${2:-y}" ] && [ "${2:-0}" -ge 1 ] &&
			[ "${3:-0}" -ge "$(sql "SELECT max(seq) FROM changes")" ]; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

# applied_all: the relay applied the newest change of any domain
applied_all() {
	for _ in $(seq 300); do
		[ "$(sql "SELECT applied_seq >= (SELECT max(seq) FROM changes)
			FROM relays WHERE name = 'test-relay'")" = t ] && return 0
		sleep 0.2
	done
	return 1
}

# change DESC SETTING=VALUE...: set, then wait until it is applied
change() {
	local desc=$1
	shift
	run $F set "$D" "$@"
	if [ "$rc" != 0 ]; then
		tap_fail "set $* (exit $rc)"
		return
	fi
	check "$desc: applied on every relay" applied
}

msg_file() { grep -rlF -- "$2" "$T/sink-$1" 2> /dev/null | head -n 1; }

# Postfix reloads so far (its master logs each one)
reloads() { grep -c 'reload -- version' "$T/state/postfix.log" 2> /dev/null; }

# same_as_full: the generation in force holds what a full generation of
# the same sequence holds: every data file, and every map's entries
same_as_full() {
	local f
	rm -rf "$T/full"
	"$M" generate "$T/full" > "$T/full.log" 2>&1 || return 1
	for f in relay_domains transport tls_domains tls_policy policy \
		policy.idx queue rspamd/mxfeed-domains rspamd/mxfeed-modes; do
		cmp -s "$T/full/$f" "$T/state/current/$f" ||
			{ echo "# $f differs from a full generation"; return 1; }
	done
	for f in relay_domains transport tls_policy; do
		cmp -s <(postmap -c "$T/full" -s "lmdb:$T/full/$f" | LC_ALL=C sort) \
			<(postmap -c "$T/full" -s "lmdb:$T/state/current/$f" | LC_ALL=C sort) ||
			{ echo "# $f.lmdb differs from a full generation"; return 1; }
	done
}

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
	postqueue -c "$T/state/current" -j > "$T/out" 2>&1 # for the report
	return 1
}

# arrived PORT MARKER PATTERN: MARKER arrived and its file matches the
# extended regex PATTERN (a header line, say)
arrived() {
	sink_has "$1" "$2" && grep -qE -- "$3" "$(msg_file "$1" "$2")"
}

# arrived_plain PORT MARKER: arrived with no X-Spam header and the
# subject as sent
arrived_plain() {
	sink_has "$1" "$2" && ! grep -qi '^X-Spam' "$(msg_file "$1" "$2")" &&
		grep -q "^Subject: $2\$" "$(msg_file "$1" "$2")"
}

# gone MARKER: accepted, then a later message overtook it: discarded
gone() {
	local fence="fence-after-step-$TAP_N"
	send a@sender.test "fence@$D" "$fence"
	sink_has 2526 "$fence" && sink_lacks 2526 "$1" && sink_lacks 2527 "$1"
}

# the standard 68-byte EICAR test file, written here, not taken from
# the scripts under test (their copy once lacked a byte)
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > "$T/eicar-std.com"
check "the test's EICAR is the standard file (68 bytes, its well-known MD5)" \
	test "$(md5sum < "$T/eicar-std.com")" = "44d88612fea8a8f36de82e1278abb02f  -"
# the relay sends from 127.0.0.9 (relay.outbound): the firewall list
sed -i 's|dns = 0; };|dns = 0; outbound = [ "127.0.0.9" ]; };|' "$T/mxfeed.conf"
sink_start 2526
sink_start 2527
# a customer server that notes the address of each client that hands
# it a message ($T/peers; a probe, which sends none, is not noted)
python3 - "$T/peers" << 'PY' > "$T/peer-sink.log" 2>&1 &
import socketserver, sys
log = sys.argv[1]
class H(socketserver.StreamRequestHandler):
    def handle(self):
        w = lambda s: self.wfile.write(s.encode() + b"\r\n")
        w("220 peer-sink ESMTP")
        data = False
        for raw in self.rfile:
            line = raw.decode("latin-1").rstrip("\r\n")
            if data:
                if line == ".":
                    data = False
                    with open(log, "a") as f:
                        f.write(self.client_address[0] + "\n")
                    w("250 2.0.0 stored")
                continue
            verb = line[:4].upper()
            if verb == "DATA":
                data = True
                w("354 go ahead")
            elif verb == "QUIT":
                w("221 2.0.0 bye")
                return
            else:
                w("250 ok")
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
S(("127.0.0.1", 2529), H).serve_forever()
PY
PEER_PID=$!
# the relay starts with another domain; ours comes later
$F add bystander.example --mode feed --dest 127.0.0.1:2526 > /dev/null
"$M" apply > "$T/apply.log" 2>&1 ||
	{ echo "Bail out! first apply failed"; cat "$T/apply.log"; exit 1; }
clamd_start
rspamd_start
postgrey_start
dovecot_start
"$M" start > "$T/start.log" 2>&1 || { echo "Bail out! postfix did not start"; cat "$T/start.log"; exit 1; }
for _ in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/2525) 2> /dev/null && break; sleep 0.1; done
"$M" sync > "$T/sync.log" 2>&1 &
SYNC_PID=$!
RSPAMD_FIRST=$RSPAMD_PID

# --- a domain added after every daemon started --------------------------------
run $F add "$D" --mode feed --dest 127.0.0.1:2526 greylisting=off
check "add a feed domain to the running relay" test "$rc" = 0
check "add: applied on every relay" applied
send a@sender.test "u@$D" M-first --add-header "X-Test-Score: 6"
check "the first message arrives, untouched while spam is off" arrived_plain 2526 M-first

# --- spam settings: each a change of the running rspamd's policy -------------
change "spam.enabled=on" spam.enabled=on
send a@sender.test "u@$D" M-low-subj --add-header "X-Test-Score: 6"
check "spam on, low by default subject: the default text" \
	arrived 2526 M-low-subj '^Subject: \[SPAM: low\] M-low-subj$'

R0=$(reloads)
change "spam.low.action=header" spam.low.action=header
send a@sender.test "u@$D" M-low-hdr --add-header "X-Test-Score: 6"
check "low=header: X-Spam-Level: low" arrived 2526 M-low-hdr '^X-Spam-Level: low$'
check "... live with no Postfix reload (an incremental generation)" \
	test "$(reloads)" = "$R0"
check "... its unchanged maps are the previous generation's files (hard links)" \
	test "$(stat -c %h "$T/state/current/transport.lmdb")" -ge 2
check "... with X-Spam-Flag: YES and the subject as sent" \
	bash -c "f=\$(grep -rlF M-low-hdr '$T/sink-2526' | head -n 1); grep -q '^X-Spam-Flag: YES' \"\$f\" && grep -q '^Subject: M-low-hdr\$' \"\$f\""

change "spam.low.action=subject, spam.low.text" spam.low.action=subject 'spam.low.text=[L] '
send a@sender.test "u@$D" M-low-text --add-header "X-Test-Score: 6"
check "low=subject with a new text: the new text" \
	arrived 2526 M-low-text '^Subject: \[L\] M-low-text$'

change "spam.med.action=header" spam.med.action=header
send a@sender.test "u@$D" M-med-hdr --add-header "X-Test-Score: 11"
check "med=header: X-Spam-Level: med" arrived 2526 M-med-hdr '^X-Spam-Level: med$'

change "spam.med.text, spam.med.action=subject" 'spam.med.text=[M] ' spam.med.action=subject
send a@sender.test "u@$D" M-med-text --add-header "X-Test-Score: 11"
check "med=subject with a new text" arrived 2526 M-med-text '^Subject: \[M\] M-med-text$'

change "spam.high.action=subject, spam.high.text" spam.high.action=subject 'spam.high.text=[H] '
send a@sender.test "u@$D" M-high-text --add-header "X-Test-Score: 16"
check "high=subject (was delete): delivered with the new text" \
	arrived 2526 M-high-text '^Subject: \[H\] M-high-text$'

change "spam.high.action=delete" spam.high.action=delete
send a@sender.test "u@$D" M-high-del --add-header "X-Test-Score: 16"
check "high=delete: accepted (250)" replied "250 2.0.0"
check "... and discarded" gone M-high-del

change "spam.low.action=none" spam.low.action=none
send a@sender.test "u@$D" M-low-none --add-header "X-Test-Score: 6"
check "low=none: delivered untouched" arrived_plain 2526 M-low-none

change "spam.enabled=off" spam.enabled=off
send a@sender.test "u@$D" M-off --add-header "X-Test-Score: 11"
check "spam off again: a med-scoring message is untouched" arrived_plain 2526 M-off

# --- viruses follow the mode -------------------------------------------------
send a@sender.test "u@$D" M-virus-feed --attach @"$T/eicar-std.com"
check "feed: the standard EICAR is refused 554 5.7.1" replied "554 5.7.1"
run $F switch "$D" --to backup
check "switch --to backup (no --dest: the destination stays)" test "$rc" = 0
check "switch --to backup: applied on every relay" applied
check "... queue.days took the backup default (8)" \
	test "$($F show "$D" --json | jq -r '.queue.days')" = 8
send a@sender.test "u@$D" M-virus-backup --attach @"$T/eicar-std.com"
check "backup: the standard EICAR is deferred 451 4.7.1" replied "451 4.7.1"
run $F switch "$D" --to feed
check "switch --to feed: applied on every relay" applied
check "... queue.days back to the feed default (2)" \
	test "$($F show "$D" --json | jq -r '.queue.days')" = 2
send a@sender.test "u@$D" M-virus-feed2 --attach @"$T/eicar-std.com"
check "feed again: 554 5.7.1" replied "554 5.7.1"
python3 -c "
import zipfile, sys
with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as z:
    z.write(sys.argv[1], 'docs/readme.com')" "$T/eicar-std.com" "$T/eicar.zip"
send a@sender.test "u@$D" M-virus-zip --attach @"$T/eicar.zip"
check "the standard EICAR inside a zip attachment: 554 5.7.1" replied "554 5.7.1"
check "no virus was delivered" bash -c "! grep -rqF M-virus '$T/sink-2526' '$T/sink-2527'"

# --- greylisting (postgrey delay 3 s here) ------------------------------------
change "greylisting=on" greylisting=on
send a@new-sender.test "u@$D" M-grey
check "greylisting on: a new triplet is deferred 450" replied "450 4.2.0"
change "greylisting=off" greylisting=off
send a@other-sender.test "u@$D" M-nogrey
check "greylisting off: a new triplet is accepted at once" sink_has 2526 M-nogrey

# --- rules ------------------------------------------------------------------
R0=$(reloads)
run $F rule add "$D" block sender-regex '^bad@'
check "rule add block" applied
send bad@sender.test "u@$D" M-block
check "a block rule added to the running relay: 554 5.7.1" replied "554 5.7.1"
check "... live with no Postfix reload" test "$(reloads)" = "$R0"
run $F rule remove "$D" block sender-regex '^bad@'
check "rule remove block" applied
send bad@sender.test "u@$D" M-unblocked
check "the block rule removed: delivered" sink_has 2526 M-unblocked
change "greylisting=on (for the allow rule)" greylisting=on
run $F rule add "$D" allow sender-regex '^vip@'
check "rule add allow" applied
send vip@sender-vip.test "u@$D" M-vip
check "an allow rule skips greylisting" sink_has 2526 M-vip
change "greylisting=off (after the allow rule)" greylisting=off

# --- size limit -------------------------------------------------------------
head -c 1500000 /dev/zero | tr '\0' 'x' | fold -w 76 > "$T/big.txt"
change "max_message_mb=1" max_message_mb=1
send a@sender.test "u@$D" M-big --body @"$T/big.txt"
check "max_message_mb=1: a 1.5 MB message gets 552 5.3.4" replied "552 5.3.4"
change "max_message_mb=50" max_message_mb=50
send a@sender.test "u@$D" M-big-ok --body @"$T/big.txt"
check "max_message_mb=50: the same message arrives" sink_has 2526 M-big-ok

# --- recipients ---------------------------------------------------------------
change "recipients=list (nobody listed)" recipients=list
send a@sender.test "nobody@$D" M-unlisted
check "recipients=list: an unlisted recipient is refused 550 5.1.1" replied "550 5.1.1"
change "recipients=verify" recipients=verify
send a@sender.test "nobody@$D" M-verified
check "recipients=verify: the destination accepts, so do we" sink_has 2526 M-verified

# --- destination ----------------------------------------------------------------
R0=$(reloads)
change "dest=127.0.0.1:2527" dest=127.0.0.1:2527
send a@sender.test "u@$D" M-dest2
check "a new destination: the next message goes there" sink_has 2527 M-dest2
check "... not to the old one" sink_lacks 2526 M-dest2
# trivial-rewrite answers qmgr over connections that outlive a change
# of the transport map: a route change keeps its reload
check "... a route change reloads Postfix" test "$(reloads)" -gt "$R0"
check "... and was generated incrementally" \
	grep -q 'generating incrementally: 1 domain' "$T/sync.log"
check "the generation in force is what a full generation makes" same_as_full
change "dest=127.0.0.1:2529 (the peer-noting server)" dest=127.0.0.1:2529
send a@sender.test "u@$D" M-peer
check "mail to the customer leaves from relay.outbound (127.0.0.9)" \
	bash -c "for _ in \$(seq 100); do grep -qx 127.0.0.9 '$T/peers' 2> /dev/null && exit 0; sleep 0.2; done; exit 1"
check "... and from nowhere else" bash -c "! grep -vx 127.0.0.9 '$T/peers'"
check "the relay records its outbound address (the firewall list)" \
	test "$(sql "SELECT array_to_string(addresses, ',') FROM relays WHERE name='test-relay'")" = 127.0.0.9
change "dest back to 127.0.0.1:2526" dest=127.0.0.1:2526
send a@sender.test "u@$D" M-dest1
check "the destination changed back: the next message goes there" sink_has 2526 M-dest1
expect_exit 4 "a mistyped destination (nothing answers there) is refused" $F set "$D" dest=127.0.0.1:2531
check "... because its probe failed" err_has "did not pass the probe"
send a@sender.test "u@$D" M-dest-kept
check "... and the mail keeps going to the working one" sink_has 2526 M-dest-kept

# --- tls: encrypt toward a server without STARTTLS, then may again ------------
expect_exit 4 "tls.policy=encrypt toward a server without STARTTLS: refused by the probe" \
	$F set "$D" tls.policy=encrypt
check "... naming tls.policy" err_has "tls.policy: 127.0.0.1:2526 fails tls.policy encrypt"
check "... and nothing was stored" test "$($F show "$D" --json | jq -r .tls.policy)" = may
change "tls.policy=encrypt (--force)" tls.policy=encrypt --force
send a@sender.test "u@$D" M-tls-enc
check "encrypt, no STARTTLS at the destination: the relay accepts the message" replied "250 2.0.0"
check "... and keeps it queued, deferred for want of TLS" deferred "$D" 'TLS is required'
check "... never sent in clear" bash -c "sleep 2; ! grep -rqF M-tls-enc '$T/sink-2526'"
change "tls.policy=may" tls.policy=may
run $F flush "$D"
check "may again: after a flush the waiting message is delivered" sink_has 2526 M-tls-enc
send a@sender.test "u@$D" M-tls-may
check "... and so is the next one" sink_has 2526 M-tls-may

# --- temporary POP3 and revert ----------------------------------------------------
run $F --json temp-pop3 "$D" --mailbox u
check "temp-pop3 on the running relay" test "$rc" = 0
check "temp-pop3: applied on every relay" applied
send a@sender.test "u@$D" M-temp
check "temp-pop3: the next message lands in the temporary mailbox" \
	bash -c "for _ in \$(seq 100); do grep -rqF M-temp '$T/mail' 2> /dev/null && exit 0; sleep 0.2; done; exit 1"
check "... not at the customer's server" sink_lacks 2526 M-temp
run $F revert "$D"
check "revert on the running relay" test "$rc" = 0
check "revert: applied on every relay" applied
send a@sender.test "u@$D" M-reverted
check "revert: the next message goes to the customer's server again" sink_has 2526 M-reverted

# ==== postgrey follows the generation (site setting greylist.delay) ==========
# (a block of its own.)  The site raises greylist.delay from 3 s to 30 s
# in mxfeed.conf and tells the running sync (SIGHUP); the generation it
# applies has new postgrey.args, so mta-glue restarts postgrey through
# greylist.restart before it reports the generation.  The test restarts
# nothing: a triplet greylisted, then retried past the old delay (3 s)
# but well before the new one, is still deferred.
change "greylisting=on (for the delay)" greylisting=on
PG_PID_BEFORE=$(cat "$T/postgrey.pid")
n_applied=$(grep -c 'sync: applied sequence' "$T/sync.log")
sed -i 's/greylist = { delay = 3;/greylist = { delay = 30;/' "$T/mxfeed.conf"
kill -HUP "$SYNC_PID"
reapplied() {
	for _ in $(seq 150); do
		[ "$(grep -c 'sync: applied sequence' "$T/sync.log")" -gt "$n_applied" ] && return 0
		sleep 0.2
	done
	return 1
}
check "greylist.delay=30 in mxfeed.conf, sync told (HUP): applied again" reapplied
check "... the generation in force says --delay=30" grep -q -- '--delay=30 ' "$T/state/current/postgrey.args"
check "... postgrey was restarted by mta-glue (greylist.restart), not by the test" \
	test "$(cat "$T/postgrey.pid" 2> /dev/null)" != "$PG_PID_BEFORE"
check "... and runs with --delay=30" \
	bash -c "tr '\\0' ' ' < /proc/\$(cat '$T/postgrey.pid')/cmdline | grep -q -- '--delay=30 '"
send a@delay-follow.test "u@$D" M-delay-1
check "a new triplet is greylisted (450)" replied "450 4.2.0"
sleep 5 # past the old delay of 3 s, far from the new 30 s
send a@delay-follow.test "u@$D" M-delay-2
check "retried after 5 s (old delay 3 s, new 30 s): still greylisted" replied "450 4.2.0"
check "... and not delivered" sink_lacks 2526 M-delay-2
check "the relay reports no error after the restart" \
	test "$(sql "SELECT last_error IS NULL FROM relays WHERE name='test-relay'")" = t
# a broken mxfeed.conf on a HUP: reported, the configuration in force stays
cp "$T/mxfeed.conf" "$T/mxfeed.conf.good"
echo 'greylist_delay = 5;' >> "$T/mxfeed.conf"
kill -HUP "$SYNC_PID"
conf_error() {
	for _ in $(seq 100); do
		[ "$(sql "SELECT last_error LIKE '%greylist_delay: unknown setting%' FROM relays WHERE name='test-relay'")" = t ] && return 0
		sleep 0.2
	done
	return 1
}
check "a broken mxfeed.conf on a HUP: the relay reports the line and setting" conf_error
check "... sync keeps running" kill -0 "$SYNC_PID"
check "... postgrey keeps the delay in force" grep -q -- '--delay=30 ' "$T/state/current/postgrey.args"
cp "$T/mxfeed.conf.good" "$T/mxfeed.conf"
n_applied=$(grep -c 'sync: applied sequence' "$T/sync.log")
kill -HUP "$SYNC_PID"
check "the file mended, a HUP: applied again" reapplied
check "... and the error is gone" \
	test "$(sql "SELECT last_error IS NULL FROM relays WHERE name='test-relay'")" = t
change "greylisting=off (after the delay)" greylisting=off
# ==== end of the postgrey block ===============================================

# --- many changes at once: in full, and correct either way ---------------------
check "after every change: the generation in force is what a full one makes" same_as_full
# copies of bystander.example (every column but id, name and
# greylisting: off, so that the mail below is not greylisted)
cols=$(sql "SELECT string_agg(column_name, ',' ORDER BY ordinal_position)
	FROM information_schema.columns WHERE table_schema = current_schema()
	AND table_name = 'domains' AND is_identity = 'NO'
	AND column_name NOT IN ('id', 'name', 'greylisting')")
n_full=$(grep -c 'generating in full: more than 2000 domains changed' "$T/sync.log")
sql "INSERT INTO domains (name, greylisting, $cols)
	SELECT 'bulk' || g || '.example', false, $cols
	FROM domains, generate_series(1, 2001) g WHERE name = 'bystander.example'" > /dev/null
check "2001 domains added at once: applied on the relay" applied_all
check "... generated in full (more than 2000 changed)" \
	test "$(grep -c 'generating in full: more than 2000 domains changed' "$T/sync.log")" -gt "$n_full"
check "... every one of them routed" grep -q '^bulk2001.example smtp:' "$T/state/current/transport"
change "after the full one, the next change: greylisting=off" greylisting=off spam.enabled=on
check "... is incremental again and matches a full generation" same_as_full
send a@sender.test "u@bulk77.example" M-bulk
check "mail to one of the added domains arrives" sink_has 2526 M-bulk
# rspamd kept its map through the generations that left it as it was
# (MAP.stamp); spam on again changed it, and it reads it again
send a@sender.test "u@$D" M-spam-again --add-header "X-Test-Score: 11"
check "spam on again after many generations: med=subject with its text" \
	arrived 2526 M-spam-again '^Subject: \[M\] M-spam-again$'
sql "DELETE FROM domains WHERE name LIKE 'bulk%'" > /dev/null
check "the 2001 removed at once: applied" applied_all
check "... none of them left in the maps" bash -c "! grep -q '^bulk' '$T/state/current/transport' '$T/state/current/relay_domains'"
send a@sender.test "u@$D" M-after-bulk
check "mail to the domain still arrives" sink_has 2526 M-after-bulk

# --- nothing was restarted by hand; rspamd is the one started first -------------
kill "$PEER_PID" 2> /dev/null
check "rspamd ran through every step (no restart by the test)" kill -0 "$RSPAMD_FIRST"
check "mta-glue sync ran through every step" kill -0 "$SYNC_PID"
check "the relay reports no error" \
	test "$(sql "SELECT last_error IS NULL FROM relays WHERE name='test-relay'")" = t
tap_done
