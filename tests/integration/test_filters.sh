#!/bin/bash
# test_filters.sh - the seeds' remaining filters end to end (seeds 000,
# 003): DNS blocklists, the relay's caching resolver, sender checks,
# header syntax errors and the backup spam threshold, with a real
# Postfix, mxfeed-policyd, rspamd, ClamAV and postgrey.
#
# In a network and mount namespace of its own: rbldnsd serves two DNS
# blocklists (bl.test enforced, warn.test logged only) on
# 127.0.0.53:5300, unbound (contrib/unbound-local.sh) caches on
# 127.0.0.1:53 with TTLs capped at 5 minutes and forwards the
# blocklists to rbldnsd, and a private /etc/resolv.conf points the
# relay's Postfix at it.  Clients are loopback addresses (lo holds
# 127.0.0.0/8): 127.0.0.5 is listed in bl.test, 127.0.0.7 in warn.test,
# 127.0.0.9 in bl.test with a reply (127.0.0.12) outside the filter.
# Feed domains refuse, backup domains defer (SPEC section 4).
set -u
. "$(dirname "$0")/../lib.sh"
MXFEED_NS_MOUNT=1 in_netns "$0" "$@"
pg_setup
relay_setup
F=$FEEDCTL
M=$MTA_GLUE
RBL_PID=
SND_PIDS=
filters_teardown() {
	[ -n "$RBL_PID" ] && kill "$RBL_PID" 2> /dev/null && wait "$RBL_PID" 2> /dev/null
	for p in $SND_PIDS; do kill "$p" 2> /dev/null && wait "$p" 2> /dev/null; done
	sh "$TOP/contrib/unbound-local.sh" "$T" stop
	relay_teardown
}
trap filters_teardown EXIT

# --- DNS: the blocklists, the resolver, resolv.conf ---------------------------
mkdir -p "$T/rbl"
printf '$TTL 86400\n:127.0.0.2:Listed in the mxfeed test list\n127.0.0.5\n127.0.0.9 :127.0.0.12:Listed for another reason\n' \
	> "$T/rbl/bl.zone"
printf '$TTL 86400\n:127.0.0.2:Listed in the trial list\n127.0.0.7\n' > "$T/rbl/warn.zone"
chmod 755 "$T/rbl"
rbldnsd -n -u rbldns -b 127.0.0.53/5300 -w "$T/rbl" \
	bl.test:ip4set:bl.zone warn.test:ip4set:warn.zone > "$T/rbl/rbldnsd.log" 2>&1 &
RBL_PID=$!
for _ in $(seq 50); do
	dig +short +time=1 +tries=1 -p 5300 @127.0.0.53 5.0.0.127.bl.test A 2> /dev/null | grep -q . && break
	sleep 0.1
done
# the sender domains: ok-sender.test and bad-sender.test have a server,
# nx-sender.test does not exist (unbound's built-in "test." zone)
mkdir -p "$T/unbound"
cat > "$T/unbound/local.conf" << 'CONF'
	local-data: "ok-sender.test. A 127.0.0.20"
	local-data: "bad-sender.test. A 127.0.0.21"
CONF
expect_exit 0 "the relay's resolver (unbound) starts" \
	sh "$TOP/contrib/unbound-local.sh" "$T" start 127.0.0.1 53 \
	bl.test=127.0.0.53@5300 warn.test=127.0.0.53@5300
echo "nameserver 127.0.0.1" > "$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
check "Postfix's resolv.conf (private to this namespace) names the resolver" \
	grep -qx 'nameserver 127.0.0.1' /etc/resolv.conf

run dig +noall +answer -p 5300 @127.0.0.53 5.0.0.127.bl.test A
check "rbldnsd lists 127.0.0.5 in bl.test with a TTL of a day" \
	bash -c "awk '\$5 == \"127.0.0.2\" && \$2 == 86400' '$T/out' | grep -q ."
run dig +noall +answer @127.0.0.1 5.0.0.127.bl.test A
check "through unbound the same record lives at most 5 minutes" \
	bash -c "awk '\$5 == \"127.0.0.2\" && \$2 > 0 && \$2 <= 300' '$T/out' | grep -q ."
run dig +noall +answer @127.0.0.1 5.0.0.127.bl.test A
check "... also when served from the cache" \
	bash -c "awk '\$5 == \"127.0.0.2\" && \$2 > 0 && \$2 <= 300' '$T/out' | grep -q ."
run dig @127.0.0.1 1.0.0.127.bl.test A
check "an unlisted address is not in the list (NXDOMAIN)" out_has "status: NXDOMAIN"

# the sender domains' servers: one takes every address, one refuses all
smtp-sink -u postfix 127.0.0.20:25 20 > "$T/sink-ok-sender.log" 2>&1 &
SND_PIDS="$SND_PIDS $!"
smtp-sink -u postfix -f RCPT 127.0.0.21:25 20 > "$T/sink-bad-sender.log" 2>&1 &
SND_PIDS="$SND_PIDS $!"

# --- the site's checks -----------------------------------------------------------
cat >> "$T/mxfeed.conf" << 'CONF'
dnsbl = { reject = [ "bl.test=127.0.0.[2..11]" ]; warn = [ "warn.test" ]; };
senders = { verify_backup = 1; check_domain = 1; };
CONF
$F add feed.example --mode feed --force --dest 127.0.0.1:2526 greylisting=off recipients=any > /dev/null
$F add grey.example --mode feed --force --dest 127.0.0.1:2526 recipients=any > /dev/null
$F add pop.example --mode pop3 greylisting=off > /dev/null
$F add backup.example --mode backup --force --dest 127.0.0.1:2526 greylisting=off recipients=any > /dev/null
$F add bspam.example --mode backup --force --dest 127.0.0.1:2526 greylisting=off recipients=any \
	spam.enabled=on spam.low.action=header spam.med.action=header spam.high.action=header > /dev/null
$F add bham.example --mode backup --force --dest 127.0.0.1:2526 greylisting=off recipients=any > /dev/null
$F add fspam.example --mode feed --force --dest 127.0.0.1:2526 greylisting=off recipients=any \
	spam.enabled=on spam.low.action=header spam.med.action=header spam.high.action=header > /dev/null
sink_start 2526

expect_exit 0 "mta-glue apply with the site's blocklists and sender checks" $M apply
check "Postfix's services run outside a chroot (they read /etc/resolv.conf)" \
	bash -c "! awk '/^[a-z]/ && \$5 != \"n\" && \$5 != \"-\"' '$T/state/current/master.cf' | grep -q ."
check "the feed class refuses on bl.test, logs warn.test" \
	bash -c "postconf -c '$T/state/current' -h mxfeed_feed | grep -q 'warn_if_reject reject_rbl_client warn.test, reject_rbl_client bl.test=127.0.0.\[2..11\]'"
clamd_start
rspamd_start
postgrey_start
expect_exit 0 "mta-glue start" $M start
for _ in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/2525) 2> /dev/null && break; sleep 0.1; done

# sendc CLIENT FROM TO MARKER [swaks args]: send from a loopback address
sendc() {
	local client=$1
	shift
	send "$@" --local-interface "$client"
}
nothing_stored() {
	! grep -rqF -- "$1" "$T/sink-2526" 2> /dev/null &&
		! postqueue -c "$T/state/current" -j | grep -qF "$1" &&
		! grep -rqF -- "$1" "$T/mail" 2> /dev/null
}

# --- DNS blocklists -----------------------------------------------------------
sendc 127.0.0.5 a@ok-sender.test u@feed.example M-listed-feed
check "listed client, feed domain: refused (554 5.7.1)" replied "554 5.7.1"
check "... naming the blocklist" out_has "blocked using bl.test"
check "... nothing stored" nothing_stored M-listed-feed
sendc 127.0.0.5 a@ok-sender.test info@pop.example M-listed-pop
check "listed client, pop3 domain: refused (554 5.7.1)" replied "554 5.7.1"
sendc 127.0.0.5 a@ok-sender.test u@grey.example M-listed-grey
check "listed client, greylisting domain: refused before greylisting (554, not 450 4.2.0)" replied "554 5.7.1"
sendc 127.0.0.5 a@ok-sender.test u@backup.example M-listed-backup
check "listed client, backup domain: deferred (450 4.7.1)" replied "450 4.7.1"
check "... pointing the sender at the primary MX" out_has "deliver to the primary MX"
check "... not refused" bash -c "! grep -qE '^<[-~*]* +5' '$T/out'"
check "... nothing stored" nothing_stored M-listed-backup
check "the log names the zone that listed the backup's client" \
	log_has "$T/state/postfix.log" 'reject_warning: RCPT from .*127.0.0.5.*blocked using bl.test'
sendc 127.0.0.1 a@ok-sender.test u@feed.example M-clean-feed
check "unlisted client, feed domain: accepted" replied "250 2.0.0"
check "... delivered" sink_has 2526 M-clean-feed
sendc 127.0.0.1 a@ok-sender.test u@backup.example M-clean-backup
check "unlisted client, backup domain: accepted" replied "250 2.0.0"
check "... delivered" sink_has 2526 M-clean-backup
sendc 127.0.0.9 a@ok-sender.test u@feed.example M-filtered
check "a listing outside the zone's reply filter (127.0.0.12) passes" replied "250 2.0.0"
check "... delivered" sink_has 2526 M-filtered
sendc 127.0.0.7 a@ok-sender.test u@feed.example M-trial
check "a client in the warn-only zone passes" replied "250 2.0.0"
check "... delivered" sink_has 2526 M-trial
check "... and the listing is logged" \
	log_has "$T/state/postfix.log" 'reject_warning: RCPT from .*127.0.0.7.*blocked using warn.test'

# --- senders -------------------------------------------------------------------------
sendc 127.0.0.1 a@nx-sender.test u@feed.example M-nxdom-feed
check "sender domain that does not exist, feed domain: refused (550)" replied "550 5.1.8"
check "... nothing stored" nothing_stored M-nxdom-feed
sendc 127.0.0.1 a@nx-sender.test u@backup.example M-nxdom-backup
check "... backup domain: deferred (450 4.7.1)" replied "450 4.7.1"
check "... nothing stored" nothing_stored M-nxdom-backup
sendc 127.0.0.1 a@bad-sender.test u@backup.example M-unverified
for _ in $(seq 10); do
	grep -qE '^<[-~*]* +450 4\.1\.7.*(undeliverable|rejected)' "$T/out" && break
	sleep 1 # the first callout may still be under way: try again
	sendc 127.0.0.1 a@bad-sender.test u@backup.example M-unverified
done
check "a backup domain's sender that its server refuses: deferred (450 4.1.7)" replied "450 4.1.7"
check "... never refused" bash -c "! grep -qE '^<[-~*]* +5' '$T/out'"
check "... nothing stored" nothing_stored M-unverified
check "... after asking the sender's server, which refused it" out_has "bad-sender.test[127.0.0.21] said: 500"
sendc 127.0.0.1 a@bad-sender.test u@feed.example M-unverified-feed
check "the same sender to a feed domain: no sender verification, accepted" replied "250 2.0.0"
check "... delivered" sink_has 2526 M-unverified-feed
sendc 127.0.0.1 b@ok-sender.test u@backup.example M-verified
for _ in $(seq 10); do
	grep -qE '^<[-~*]* +250 2\.0\.0' "$T/out" && break
	sleep 1
	sendc 127.0.0.1 b@ok-sender.test u@backup.example M-verified
done
check "a backup domain's sender that verifies: accepted" replied "250 2.0.0"
check "... delivered" sink_has 2526 M-verified

# --- content: header syntax errors, the backup spam threshold ------------------------
sendc 127.0.0.1 a@ok-sender.test u@backup.example M-hdr-backup --add-header "Subject: a second subject"
check "backup domain, a repeated Subject header: deferred (451 4.7.1)" replied "451 4.7.1"
check "... for its headers" out_has "header syntax errors"
check "... nothing stored" nothing_stored M-hdr-backup
sendc 127.0.0.1 a@ok-sender.test u@feed.example M-hdr-feed --add-header "Subject: a second subject"
check "feed domain, the same message: delivered (headers.feed_refuse off)" sink_has 2526 M-hdr-feed

sendc 127.0.0.1 a@ok-sender.test u@bspam.example M-bspam-high --add-header "X-Test-Score: 16"
check "backup domain with spam checking, score 16 > 6: deferred (451 4.7.1)" replied "451 4.7.1"
check "... saying why" out_has "spam score too high"
check "... nothing stored" nothing_stored M-bspam-high
sendc 127.0.0.1 a@ok-sender.test u@bspam.example M-bspam-low --add-header "X-Test-Score: 7"
check "... score 7 (level low, action header): deferred too" replied "451 4.7.1"
check "... nothing stored" nothing_stored M-bspam-low
sendc 127.0.0.1 a@ok-sender.test u@bspam.example M-bspam-ham --add-header "X-Test-Score: 1"
check "... score 1: delivered" sink_has 2526 M-bspam-ham
sendc 127.0.0.1 a@ok-sender.test u@bham.example M-bham --add-header "X-Test-Score: 16"
check "backup domain with spam checking off, score 16: delivered untouched" sink_has 2526 M-bham
check "... no X-Spam headers" bash -c "! grep -rl M-bham '$T/sink-2526' | xargs grep -qi '^X-Spam'"
sendc 127.0.0.1 a@ok-sender.test u@fspam.example M-fspam --add-header "X-Test-Score: 16"
check "feed domain, score 16, action header: delivered and marked, not deferred" \
	bash -c "$(declare -f sink_has); T=$T; sink_has 2526 M-fspam && grep -rlF M-fspam '$T/sink-2526' | xargs grep -q '^X-Spam-Level: high'"

# --- the site switches feed refusals on: the same message is refused -----------------
sed -i 's|^senders = |headers = { feed_refuse = 1; };\nsenders = |' "$T/mxfeed.conf"
expect_exit 0 "mta-glue apply with headers.feed_refuse = 1" $M apply
check "... rspamd's filters now refuse for feed domains" \
	grep -q '^local headers_feed = true' "$T/state/current/rspamd/mxfeed-filters.lua"
for i in $(seq 20); do
	sendc 127.0.0.1 a@ok-sender.test u@feed.example "M-hdr-refuse-$i" --add-header "Subject: a second subject"
	replied "554 5.7.1" && break
	sleep 1 # rspamd re-reads its configuration after the SIGHUP
done
check "feed domain, a repeated Subject header: refused (554 5.7.1)" replied "554 5.7.1"
check "... for its headers" out_has "header syntax errors"
check "... nothing stored" nothing_stored "M-hdr-refuse-$i"

check "no listed, unverified, broken or deferred message was delivered" \
	bash -c "! grep -rqE 'M-listed|M-nxdom|M-hdr-backup|M-bspam-(high|low)' '$T/sink-2526'"

tap_done
