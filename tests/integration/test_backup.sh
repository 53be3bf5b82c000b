#!/bin/bash
# test_backup.sh - backup MX mode end to end (seeds 000 and 003), with a
# real Postfix, mxfeed-policyd, rspamd, ClamAV and postgrey in a network
# namespace of its own; smtp-sink plays the customers' primary servers.
#
# A backup MX must never refuse what the primary might take: unknown
# recipients are deferred (4xx) while the primary cannot be asked (the
# learning period) and when it refuses them, spam the domain would have
# deleted is deferred, and so is a virus, so that the sender keeps the
# message and tries the primary.  Feed domains keep their 5xx and
# discards; each backup check has its feed counterpart here.
set -u
. "$(dirname "$0")/../lib.sh"
in_netns "$0" "$@"
pg_setup
relay_setup
# the backup spam threshold (spam.backup_defer, test_filters.sh) off:
# here the domains' own spam actions are under test
sed -i 's|^spam = { network_checks = 0; test_header = 1; };|spam = { network_checks = 0; test_header = 1; backup_defer = 0; };|' \
	"$T/mxfeed.conf"
F=$FEEDCTL
M=$MTA_GLUE
REFUSER=
backup_teardown() {
	sink_stop 2540
	[ -n "$REFUSER" ] && kill "$REFUSER" 2> /dev/null && wait "$REFUSER" 2> /dev/null
	relay_teardown
}
trap backup_teardown EXIT

# primary of b.example: 127.0.0.1:2540, down until started below
$F add b.example --mode backup --force --dest 127.0.0.1:2540 greylisting=off > /dev/null
# a primary that refuses every RCPT with 550, for a backup and a feed
$F add b-refuse.example --mode backup --force --dest 127.0.0.1:2541 greylisting=off > /dev/null
$F add f-refuse.example --mode feed --force --dest 127.0.0.1:2541 greylisting=off > /dev/null
$F add b-list.example --mode backup --force --dest 127.0.0.1:2526 greylisting=off recipients=list > /dev/null
sql "INSERT INTO recipients (domain_id, local) SELECT id, 'info' FROM domains WHERE name = 'b-list.example'" > /dev/null
for m in backup feed; do
	$F add "spam-$m.example" --mode $m --force --dest 127.0.0.1:2526 greylisting=off recipients=any \
		spam.enabled=on spam.low.action=delete spam.med.action=delete spam.high.action=delete > /dev/null
done
$F add mark.example --mode backup --force --dest 127.0.0.1:2526 greylisting=off recipients=any \
	spam.enabled=on spam.high.action=header > /dev/null
# greylisting on (the default) and recipients=verify (the default)
$F add b-grey.example --mode backup --force --dest 127.0.0.1:2526 > /dev/null
smtp-sink -u postfix -f RCPT 127.0.0.1:2541 20 > "$T/sink-2541.log" 2>&1 &
REFUSER=$!
sink_start 2526

expect_exit 0 "mta-glue apply" $M apply
clamd_start
rspamd_start
postgrey_start
expect_exit 0 "mta-glue start" $M start
for _ in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/2525) 2> /dev/null && break; sleep 0.1; done
queued() { postqueue -c "$T/state/current" -j | grep -q "$1"; }

# --- the record: 8 days of queue by default (seed 000) -----------------------
run $F show b.example --json
check "a backup domain queues 8 days by default, checks recipients by callout" \
	test "$(jq -c '[.mode, .queue.days, .recipients]' "$T/out")" = '["backup",8,"verify"]'
run $F show f-refuse.example --json
check "... a feed domain 2 days" test "$(jq -c '.queue.days' "$T/out")" = 2

# --- recipient verification: the learning period ------------------------------
send a@sender.test new@b.example M-learn
check "primary down, recipient never verified: deferred (450 4.1.1)" replied "450 4.1.1"
check "... not refused" bash -c "! grep -qE '^<[-~*]* +5' '$T/out'"
check "... and nothing was queued for it" bash -c "! postqueue -c '$T/state/current' -j | grep -q b.example"
sink_start 2540
send a@sender.test known@b.example M-known
check "primary up: the callout verifies the recipient, mail accepted (250)" replied "250 2.0.0"
check "... and delivered to the primary" sink_has 2540 M-known
# The deferred probe of new@ is cached for address_verify_negative_
# refresh_time (10m); the next retry after that probes again.  Drop the
# entry to stand in for the wait.
postmap -c "$T/state/current" -d new@b.example \
	"lmdb:$(postconf -c "$T/state/current" -h data_directory)/verify_cache" > /dev/null 2>&1
send a@sender.test new@b.example M-learned
check "the deferred recipient, asked again with the primary up: accepted (250)" replied "250 2.0.0"
check "... and delivered" sink_has 2540 M-learned

# --- an outage of the primary: what we learned is accepted and queued ------
sink_stop 2540
send a@sender.test known@b.example M-outage
check "primary down: a verified recipient is accepted (250)" replied "250 2.0.0"
sleep 1
check "... and queued for the primary" queued known@b.example
send a@sender.test stranger@b.example M-stranger
check "... an address never verified is deferred (450 4.1.1), not bounced" replied "450 4.1.1"
expect_exit 0 "queue-expire as of 7 days later" $M queue-expire --as-of $(($(date +%s) + 7 * 86400))
check "... keeps the message (8-day lifetime)" out_has "expired 0 message(s)"
sink_start 2540
postqueue -c "$T/state/current" -f
check "the primary back, a flush delivers what was queued" sink_has 2540 M-outage
sink_stop 2540
send a@sender.test known@b.example M-old
sleep 1
check "primary down again: queued" queued known@b.example
expect_exit 0 "queue-expire as of 9 days later" $M queue-expire --as-of $(($(date +%s) + 9 * 86400))
check "... expires it (after 8 days, not 2 or 31)" out_has "expired 1 message(s)"

# --- recipients the primary refuses -------------------------------------------
send a@sender.test nobody@b-refuse.example M-brefuse
check "backup: a recipient the primary refuses with 550 is deferred (450 4.7.1)" replied "450 4.7.1"
check "... saying the primary did not confirm it" out_has "not confirmed by the primary MX"
check "... not refused" bash -c "! grep -qE '^<[-~*]* +5' '$T/out'"
send a@sender.test nobody@b-refuse.example M-brefuse2
check "... again from the cached result: still 450 4.7.1" replied "450 4.7.1"
send a@sender.test nobody@f-refuse.example M-frefuse
check "feed: the same refusal is passed on (550 5.1.1)" replied "550 5.1.1"
send a@sender.test other@b-list.example M-unlisted
check "backup, recipients=list: an unlisted address is deferred (450 4.1.1)" replied "450 4.1.1"
send a@sender.test info@b-list.example M-listed
check "... a listed one is delivered" sink_has 2526 M-listed
check "nothing refused was delivered or queued" \
	bash -c "! grep -rqE 'M-brefuse|M-frefuse|M-unlisted' '$T/sink-2526' && ! postqueue -c '$T/state/current' -j | grep -qE 'refuse.example|b-list'"

# --- content: spam the domain deletes, viruses ---------------------------------
for lv in low:6 high:16; do
	level=${lv%%:*} score=${lv#*:}
	send a@sender.test "u@spam-backup.example" "M-bspam-$level" --add-header "X-Test-Score: $score"
	check "backup, spam $level with action delete: deferred at end of data (451 4.7.1)" replied "451 4.7.1"
	check "... neither accepted nor refused" bash -c "! grep -qE '^<[-~*]* +(250 2\.0\.0|5)' '$T/out'"
done
send a@sender.test "u@spam-feed.example" M-fspam --add-header "X-Test-Score: 16"
check "feed, spam high with action delete: accepted (250) and discarded" replied "250 2.0.0"
send a@sender.test u@spam-feed.example M-fence-spam
sink_has 2526 M-fence-spam
check "no deleted or deferred spam was delivered" bash -c "! grep -rqE 'M-bspam|M-fspam' '$T/sink-2526'"
send a@sender.test u@mark.example M-mark --add-header "X-Test-Score: 16"
check "backup, spam with action header: delivered, marked" \
	bash -c "$(declare -f sink_has); T=$T; sink_has 2526 M-mark && grep -rlF M-mark '$T/sink-2526' | xargs grep -q '^X-Spam-Level: high'"
send a@sender.test u@spam-backup.example M-bham --add-header "X-Test-Score: 1"
check "backup, below the low threshold: delivered" sink_has 2526 M-bham
send a@sender.test u@spam-backup.example M-beicar --attach @"$T/eicar.com"
check "backup: a virus (EICAR) is deferred (451 4.7.1)" replied "451 4.7.1"
send a@sender.test u@spam-feed.example M-feicar --attach @"$T/eicar.com"
check "feed: a virus is refused (554 5.7.1)" replied "554 5.7.1"
check "no virus was delivered" bash -c "! grep -rqE 'M-beicar|M-feicar' '$T/sink-2526'"

# --- greylisting and verification together ------------------------------------
send a@sender.test u@b-grey.example M-bgrey
check "backup with greylisting: the verified recipient is greylisted (450 4.2.0)" replied "450 4.2.0"
sleep 4
send a@sender.test u@b-grey.example M-bgrey
check "... the retry after the delay is accepted" replied "250 2.0.0"
check "... and delivered" sink_has 2526 M-bgrey

tap_done
