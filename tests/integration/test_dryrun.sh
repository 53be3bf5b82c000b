#!/bin/bash
# test_dryrun.sh - --dry-run of the switching verbs (switch, temp-pop3,
# revert, remove): it prints lib's plan (the one the verb executes:
# lib/switchplan.c) and changes nothing - no row, version, mailbox,
# job or audit row - and a refused plan is refused as the verb would
# be, with the verb's message and exit status.  Database only.
set -u
. "$(dirname "$0")/../lib.sh"
pg_setup
F=$FEEDCTL
# everything a switch could touch, in one line
state() {
	sql "SELECT string_agg(d.name||' '||d.version||' '||d.mode||' '||(d.temp_pop3_since IS NOT NULL)||' '||d.queue_days||' '||coalesce(host(d.dest_host),'-'), ', ' ORDER BY d.name) FROM domains d"
	sql "SELECT count(*) FROM mailboxes"
	sql "SELECT count(*) FROM jobs"
	sql "SELECT count(*) FROM audit"
}

$F add pop.example --mode pop3 > /dev/null
$F mailbox add pop.example info sales > /dev/null
$F add feed.example --mode feed --force --dest 127.0.0.1:2526 > /dev/null
S0=$(state)

expect_exit 0 "switch --to feed --dry-run" $F switch pop.example --to feed --dest 127.0.0.1:2599 --dry-run
check "... names the verb, the version and the modes" out_has "pop.example: switch-feed (version 1): pop3 -> feed"
check "... the probe it would need" out_has "probe: required"
check "... the mailboxes and their fate" out_has "mailboxes: forward: info@pop.example, sales@pop.example"
check "... queue.days taking the feed default" out_has "queue.days 5 -> 2 (the feed default)"
check "... and says nothing was changed" out_has "dry run: nothing was changed"
expect_exit 0 "--json: the plan as JSON" $F --json switch pop.example --to feed --dest 127.0.0.1:2599 --mailboxes archive --force --dry-run
check "... every part of it" jq_out '.verb == "switch-feed" and .from == "pop3" and .to == "feed" and .probe == "advisory" and .destination == "127.0.0.1:2599" and .mailboxes.fate == "archive" and .mailboxes.job == "mailbox-archive" and (.mailboxes.affected | length) == 2'
expect_exit 2 "a dry run of a purge without --confirm is refused as the switch is" \
	$F switch pop.example --to feed --dest 127.0.0.1:2599 --mailboxes purge --dry-run
check "... with its message" err_has "--confirm=pop.example"
expect_exit 0 "switch --to backup --dry-run of a feed domain: no probe" $F --json switch feed.example --to backup --dry-run
check "... the destination stays, queue.days 2 -> 8" jq_out '.probe == "none" and .destination == "127.0.0.1:2526" and .queue_days == {"old": 2, "new": 8} and .mailboxes.affected == []'
expect_exit 4 "switch --to feed --dry-run of a feed domain is refused" $F switch feed.example --to feed --dry-run
check "... as the switch is" err_has "is a feed domain already"
expect_exit 0 "switch --to pop3 --dry-run" $F --json switch feed.example --to pop3 --mailbox a --dry-run
check "... pop3, no destination, no probe" jq_out '.to == "pop3" and .destination == null and .probe == "none" and .mailboxes.fate == "new"'
expect_exit 0 "temp-pop3 --dry-run" $F --json temp-pop3 feed.example --catch-all --dry-run
check "... temporary POP3 on, mode kept" jq_out '.verb == "temp-pop3" and .to == "feed" and .temp_pop3 == true'
expect_exit 4 "revert --dry-run of a domain not in temporary POP3 is refused" $F revert feed.example --dry-run
check "... as revert is" err_has "not in temporary POP3"
expect_exit 0 "remove --dry-run" $F --json remove feed.example --dry-run
check "... says the relays' queue decides" jq_out '.verb == "remove" and .to == "removed" and (.queue | test("refused while mail is queued"))'
expect_exit 2 "remove --dry-run --confirm of another name is refused" $F remove feed.example --confirm=x.example --dry-run
check "none of the dry runs changed a domain, mailbox, job or audit row" test "$(state)" = "$S0"

# the real verbs follow the same plan
$F temp-pop3 feed.example --catch-all > /dev/null
expect_exit 0 "revert --keep-days 3 --dry-run once in temporary POP3" $F --json revert feed.example --keep-days 3 --dry-run
check "... keeps the temporary mailbox, its archive job later" jq_out '.verb == "revert" and .mailboxes.fate == "keep" and .mailboxes.job == "mailbox-archive" and .mailboxes.affected == ["catch-all@feed.example"] and (.keep_until | type) == "number"'
expect_exit 0 "revert --keep-days 3" $F --json revert feed.example --keep-days 3
check "... does what the plan said" jq_out '.mailboxes == "keep" and .jobs == 1'
check "... one mailbox-archive job" test "$(sql "SELECT kind FROM jobs WHERE domain='feed.example'")" = mailbox-archive

# remove takes an expected version like every changing verb
$F add rm.example --mode feed --force --dest 127.0.0.1:2526 > /dev/null
$F set rm.example greylisting=off > /dev/null
expect_exit 4 "remove --if-version of a stale version is refused" $F remove rm.example --if-version 1
check "... saying the version moved" err_has "version is 2, not 1"
check "... and removes nothing" test "$(sql "SELECT count(*) FROM domains WHERE name='rm.example'")" = 1
expect_exit 0 "remove --if-version of the current version" $F remove rm.example --if-version 2
check "... removes it" test "$(sql "SELECT count(*) FROM domains WHERE name='rm.example'")" = 0
# every switching verb and extend takes --if-version like set and
# remove: a stale one is refused (exit 4, naming both versions) and
# stores nothing - no version, audit row or job - a current one runs
ver() { sql "SELECT version FROM domains WHERE name='$1'"; }
trail() { sql "SELECT (SELECT count(*) FROM audit WHERE domain='$1')||'/'||(SELECT count(*) FROM jobs WHERE domain='$1')"; }
stale_then_current() { # DESC DOMAIN VERB ARGS...
	local desc=$1 dom=$2 v t0
	shift 2
	v=$(ver "$dom")
	t0=$(trail "$dom")
	expect_exit 4 "$desc --if-version of a stale version is refused" $F "$@" --if-version $((v - 1))
	check "... saying the version moved" err_has "feedctl: $dom: version is $v, not $((v - 1))"
	check "... and stores nothing (version, audit row, job)" test "$(ver "$dom")/$(trail "$dom")" = "$v/$t0"
	expect_exit 0 "$desc --if-version of the current version" $F "$@" --if-version "$v"
	check "... is applied" test "$(ver "$dom")" -gt "$v"
}
$F add iv.example --mode feed --force --dest 127.0.0.1:2526 > /dev/null
$F add iv2.example --mode feed --force --dest 127.0.0.1:2526 > /dev/null
$F set iv.example greylisting=off > /dev/null
$F set iv2.example greylisting=off > /dev/null
stale_then_current "extend" iv.example extend iv.example --days 3
stale_then_current "switch --to backup" iv.example switch iv.example --to backup
stale_then_current "temp-pop3" iv.example temp-pop3 iv.example --catch-all
stale_then_current "revert" iv.example revert iv.example --keep-days 2
stale_then_current "switch --to pop3" iv2.example switch iv2.example --to pop3 --catch-all
expect_exit 2 "switch --if-version must be a number" $F switch iv.example --to feed --dest 127.0.0.1:2599 --if-version x
expect_exit 2 "extend --if-version needs N" $F extend iv.example --days 3 --if-version
tap_done
