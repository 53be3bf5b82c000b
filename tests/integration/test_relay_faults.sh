#!/bin/bash
# test_relay_faults.sh - generations under faults: mta-glue killed with
# -9 at random moments of an apply, and the disk full (a small tmpfs
# under the generations).  In every case a complete generation stays in
# force, the relay keeps delivering, and the next apply succeeds.
set -u
MXFEED_NS_MOUNT=1
export MXFEED_NS_MOUNT
. "$(dirname "$0")/../lib.sh"
in_netns "$0" "$@"
pg_setup
relay_setup
F=$FEEDCTL
M=$MTA_GLUE

$F add example.com --mode feed --force --dest 127.0.0.1:2526 greylisting=off > /dev/null
# enough domains that an apply takes a while to kill in the middle of
sql "INSERT INTO domains (name, unicode_name, mode, dest_host, dest_port, queue_days,
                          max_message_mb, version, created_by, updated_by)
     SELECT 'd' || i || '.example', 'd' || i || '.example', 'feed', '127.0.0.1', 2526, 2,
            50, 1, 'test', 'test'
     FROM generate_series(1, 20000) i" > /dev/null
sink_start 2526
expect_exit 0 "first apply" $M apply
clamd_start
rspamd_start
expect_exit 0 "start" $M start

complete() { # the generation in force is whole
	local c="$T/state/current"
	[ -s "$c/SEQ" ] && [ -s "$c/transport.lmdb" ] && [ -s "$c/relay_domains.lmdb" ] &&
		[ -s "$c/main.cf" ] && [ -s "$c/policy" ] && [ -s "$c/rspamd/mxfeed-domains" ]
}

# --- kill -9 at several moments of an apply -----------------------------------
# every round a new value below the ones set further down: a random one
# could repeat, or be 33, making a later "set" a no-op with no change to
# stay behind on
mb=10
for delay in 0.02 0.05 0.1 0.2 0.4; do
	mb=$((mb + 1))
	$F set example.com "max_message_mb=$mb" > /dev/null
	"$M" apply > /dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2> /dev/null
	wait "$pid" 2> /dev/null
	check "killed after ${delay}s: a complete generation is in force" complete
	send a@sender.test user@example.com "M-kill-$delay"
	check "killed after ${delay}s: the relay still delivers" sink_has 2526 "M-kill-$delay"
done
expect_exit 0 "the next apply succeeds" $M apply
check "no half-written generation is left behind" bash -c "! ls '$T/state/generations' | grep -q '\.new'"
check "the relay reports the newest change applied" relay_caught_up

# --- a reload that fails ------------------------------------------------------
# a postfix that refuses "reload" (and passes every other verb on): the
# new generation must not stay in force with a Postfix that never took it
mkdir -p "$T/fakebin"
{
	echo '#!/bin/sh'
	echo 'for a; do [ "$a" = reload ] && { echo "postfix: fatal: reload refused (injected)" >&2; exit 1; }; done'
	echo "exec $T/real-postfix \"\$@\""
} > "$T/fakebin/postfix"
chmod 755 "$T/fakebin/postfix"
# the real one stays reachable while the fake covers /usr/sbin/postfix
touch "$T/real-postfix"
mount --bind "$(PATH=/usr/sbin:/usr/bin command -v postfix)" "$T/real-postfix"
cur=$(readlink "$T/state/current")
applied=$(sql "SELECT applied_seq FROM relays WHERE name='test-relay'")
$F set example.com max_message_mb=33 > /dev/null
expect_exit 1 "an apply whose postfix reload fails fails" with_fake postfix "$T/fakebin/postfix" "$M" apply
umount "$T/real-postfix"
check "... saying so" err_has "postfix reload failed"
check "... the previous generation is current again" test "$(readlink "$T/state/current")" = "$cur"
check "... and whole" complete
check "... the relay reports the error and stays behind" \
	test "$(sql "SELECT last_error LIKE '%reload%' AND applied_seq = $applied FROM relays WHERE name='test-relay'")" = t
run $F show example.com --json
check "... so show says not every relay applied it" \
	jq -e '.propagation.relays_applied < .propagation.relays_total' "$T/out"
send a@sender.test user@example.com M-reload-failed
check "... and mail flows under the previous generation" sink_has 2526 M-reload-failed
expect_exit 0 "the next apply with a working postfix succeeds" "$M" apply
check "... and reports the change applied" relay_caught_up

# --- rspamd that does not take the generation -----------------------------------
# this test's rspamd stopped (SIGSTOP, its processes only): it cannot
# judge by the new generation, so the relay must not report it applied
# and keeps the previous one in force
rspamd_signal() {
	pkill "-$1" -P "$RSPAMD_PID"
	kill "-$1" "$RSPAMD_PID"
}
cur=$(readlink "$T/state/current")
$F set example.com max_message_mb=34 > /dev/null
rspamd_signal STOP
expect_exit 1 "an apply that rspamd does not take fails" "$M" apply
rspamd_signal CONT
check "... saying so" err_has "rspamd did not take generation"
check "... the previous generation is current again" test "$(readlink "$T/state/current")" = "$cur"
check "... the relay reports it" \
	test "$(sql "SELECT last_error LIKE '%rspamd did not take%' FROM relays WHERE name='test-relay'")" = t
expect_exit 0 "rspamd running again: the apply succeeds" "$M" apply
check "... and is reported" relay_caught_up
judged_by() {
	local g
	g="gen=$(readlink "$T/state/current" | sed 's|.*/||')"
	printf 'Subject: x\r\n\r\nx\r\n' |
		curl -s -m 10 --data-binary @- http://127.0.0.1:11333/checkv2 |
		jq -e --arg g "$g" '.symbols.MXFEED_POLICY.options | index($g) != null' > /dev/null
}
check "... rspamd judges by the generation now current" judged_by

# ==== postgrey that does not take the generation ===============================
# greylist.delay changes, so the new generation's postgrey.args differ
# and mta-glue must restart postgrey (greylist.restart) before it may
# report the generation.  A restart command that fails, and one that
# "succeeds" without restarting anything, both keep the previous
# generation in force and report the error.
postgrey_start
PG_PID=$(cat "$T/postgrey.pid")
cp "$T/mxfeed.conf" "$T/mxfeed.conf.good"
cur=$(readlink "$T/state/current")
applied=$(sql "SELECT applied_seq FROM relays WHERE name='test-relay'")
$F set example.com max_message_mb=35 > /dev/null
sed -i -e 's/greylist = { delay = 3;/greylist = { delay = 20;/' \
	-e 's|restart = \[ "/bin/sh", |restart = [ "/bin/sh", "-c", "echo postgrey restart refused, injected >\&2; exit 3", |' \
	"$T/mxfeed.conf"
expect_exit 1 "an apply whose greylist.restart fails fails" "$M" apply
check "... saying so, with the command's message" \
	bash -c "grep -q 'greylist.restart (/bin/sh) failed (exit 3): postgrey restart refused, injected' '$T/err'"
check "... the previous generation is current again" test "$(readlink "$T/state/current")" = "$cur"
check "... with the old postgrey options" grep -q -- '--delay=3 ' "$T/state/current/postgrey.args"
check "... the relay reports it and stays behind" \
	test "$(sql "SELECT last_error LIKE '%greylist.restart%' AND applied_seq = $applied FROM relays WHERE name='test-relay'")" = t
run $F show example.com --json
check "... so show says not every relay applied it" \
	jq -e '.propagation.relays_applied < .propagation.relays_total' "$T/out"
check "... and the postgrey that ran keeps running" kill -0 "$PG_PID"
# a restart command that does nothing: postgrey still greylists by 3 s
cp "$T/mxfeed.conf.good" "$T/mxfeed.conf"
sed -i -e 's/greylist = { delay = 3;/greylist = { delay = 20;/' \
	-e 's|restart = \[ "/bin/sh", |restart = [ "/bin/sh", "-c", "exit 0", |' "$T/mxfeed.conf"
expect_exit 1 "an apply whose greylist.restart restarts nothing fails" "$M" apply
check "... because postgrey does not greylist by the new delay" \
	err_has "did not take --delay=20 within 15 s after greylist.restart"
check "... the previous generation is current again" test "$(readlink "$T/state/current")" = "$cur"
check "... the relay reports it" \
	test "$(sql "SELECT last_error LIKE '%did not take --delay=20%' FROM relays WHERE name='test-relay'")" = t
# no greylist.restart at all: refused, not silently left on the old options
sed -i -e '/restart = \[/,/\]; };/d' -e 's/greylist = { delay = 20;/greylist = { delay = 20; };/' "$T/mxfeed.conf"
expect_exit 1 "options changed with no greylist.restart set: the apply fails" "$M" apply
check "... saying greylist.restart is not set" err_has "greylist.restart is not set"
# the working command: postgrey restarted with the new delay
cp "$T/mxfeed.conf.good" "$T/mxfeed.conf"
sed -i 's/greylist = { delay = 3;/greylist = { delay = 20;/' "$T/mxfeed.conf"
expect_exit 0 "with the working greylist.restart the apply succeeds" "$M" apply
check "... postgrey was restarted" test "$(cat "$T/postgrey.pid")" != "$PG_PID"
check "... and is reported" relay_caught_up
check "... with no error" test "$(sql "SELECT last_error IS NULL FROM relays WHERE name='test-relay'")" = t
# ==== end of the postgrey block ================================================

# --- disk full -----------------------------------------------------------------
cur=$(readlink "$T/state/current")
mkdir -p "$T/small"
mount -t tmpfs -o size=64m tmpfs "$T/small"
cp -a "$T/state/generations/." "$T/small/"
mount --bind "$T/small" "$T/state/generations"
dd if=/dev/zero of="$T/state/generations/filler" bs=1M count=100 > /dev/null 2>&1
$F set example.com max_message_mb=77 > /dev/null
expect_exit 1 "apply with the disk full fails" $M apply
check "... saying so" bash -c "grep -qiE 'space|write|postmap' '$T/err'"
check "... the generation in force is untouched" test "$(readlink "$T/state/current")" = "$cur"
check "... and whole" complete
check "... the error is in the relays table" \
	test "$(sql "SELECT last_error IS NOT NULL FROM relays WHERE name='test-relay'")" = t
send a@sender.test user@example.com M-full
check "with the disk full the relay still delivers" sink_has 2526 M-full
rm -f "$T/state/generations/filler"
expect_exit 0 "space again: apply succeeds" $M apply
check "... and the change is in force" grep -q $'^domain\texample.com\tfeed\t80740352\t' "$T/state/current/policy"
"$M" stop > /dev/null 2>&1
umount "$T/state/generations" 2> /dev/null
umount "$T/small" 2> /dev/null

tap_done
