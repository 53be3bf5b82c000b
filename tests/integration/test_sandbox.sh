#!/bin/bash
# test_sandbox.sh - the relay's Postfix instance and mxfeed-policyd run
# inside the file system mxfeed-postfix.service gives them.
#
# There is no systemd to run the unit here, so its sandbox is rebuilt
# with a mount namespace: the whole tree read-only (ProtectSystem=strict),
# paths.state the one writable path (ReadWritePaths=), an empty /home
# and /root (ProtectHome=), the unit's CapabilityBoundingSet= and
# NoNewPrivileges= (setpriv).  In it
# "mta-glue start" must start Postfix, which must answer SMTP and ask
# mxfeed-policyd (run by spawn(8), reading the snapshot) for every
# recipient, verify one by a callout (the cache is in paths.state), and
# log into paths.state/postfix.log.  Without the
# writable path the same start must fail: the sandbox is real.  (The
# other units' sandboxes are checked by systemd-analyze only.)
set -u
. "$(dirname "$0")/../lib.sh"
in_netns "$0" "$@"
pg_setup
relay_setup
F=$FEEDCTL
M=$MTA_GLUE

# the unit's ReadWritePaths= must be what the configuration names
unit=$TOP/contrib/systemd/mxfeed-postfix.service
check "mxfeed-postfix.service: ProtectSystem=strict, writes paths.state only" \
	bash -c "grep -qx 'ProtectSystem=strict' '$unit' &&
		 test \"\$(grep '^ReadWritePaths=' '$unit')\" = 'ReadWritePaths=/var/lib/mxfeed' &&
		 grep -qx 'PrivateTmp=yes' '$unit' && grep -qx 'ProtectHome=yes' '$unit'"

$F add example.com --mode feed --force --dest 127.0.0.1:2526 greylisting=off > /dev/null
expect_exit 0 "mta-glue apply: the first generation" "$M" apply

# in_sandbox UNIT ro|rw CMD...: CMD in a mount namespace of its own where
# every mount is read-only (ProtectSystem=strict) but /dev, /proc, /sys
# and, with rw, paths.state (ReadWritePaths=); /home and /root empty
# (ProtectHome=); the unit's capability bounding set and no new
# privileges.  PrivateTmp= is not rebuilt ($T is below /tmp).  What
# CMD leaves running (Postfix's master) stays in that namespace.
in_sandbox() {
	unshare --mount --propagation private bash -c '
		state=$1 mode=$2 bounds=$3
		shift 3
		mount --bind "$state" "$state" || exit 90
		findmnt -rno TARGET | while read -r m; do
			case $m in
			/proc | /proc/* | /sys | /sys/* | /dev | /dev/*) continue ;;
			esac
			[ "$m" = "$state" ] && [ "$mode" = rw ] && continue
			mount -o remount,bind,ro "$m" 2> /dev/null
		done
		for h in /home /root; do
			[ -d "$h" ] && mount -t tmpfs -o ro tmpfs "$h"
		done
		touch / 2> /dev/null && exit 91
		exec setpriv --no-new-privs --bounding-set "$bounds" "$@"' _ "$T/state" "$2" "$(bounds "$1")" "${@:3}"
}
# bounds UNIT: its CapabilityBoundingSet= as setpriv takes it,
# "-all,+net_bind_service,+setuid,..."
bounds() {
	local c b=-all
	for c in $(sed -n 's/^CapabilityBoundingSet=//p' "$TOP/contrib/systemd/$1"); do
		c=${c#CAP_}
		b="$b,+${c,,}"
	done
	echo "$b"
}

# clamd and rspamd (outside the sandbox: their own units'): Postfix
# asks the milter from MAIL FROM on, apply waits for rspamd to judge by
# the new generation
clamd_start
rspamd_start
sink_start 2526 # the customer's server: recipient callouts go there

# without the writable path: refused (the sandbox holds)
run in_sandbox mxfeed-postfix.service ro "$M" start
check "read-only paths.state: mta-glue start fails" test "$rc" != 0 -a "$rc" != 90 -a "$rc" != 91
sed "s/^/# read-only start: /" "$T/err" | head -n 3
"$M" stop > /dev/null 2>&1

expect_exit 0 "in the unit's sandbox: mta-glue start" in_sandbox mxfeed-postfix.service rw "$M" start
run smtp "EHLO client.test" "MAIL FROM:<a@sender.test>" "RCPT TO:<info@example.com>" \
	"RCPT TO:<info@unknown.example>" QUIT
check "Postfix answers SMTP" grep -q '^220 ' "$T/out"
check "... takes a recipient of a known domain (policyd, a callout)" grep -q '^250 2.1.5' "$T/out"
check "... refuses an unknown domain" grep -qE '^5[0-9][0-9] 5\.[0-9.]+ .*unknown\.example' "$T/out"
for _ in $(seq 50); do
	grep -q 'info@unknown.example' "$T/state/postfix.log" 2> /dev/null && break
	sleep 0.2
done
check "... and logs into paths.state/postfix.log" grep -q 'info@unknown.example' "$T/state/postfix.log"
check "the sandbox: paths.state writable, the rest not" \
	in_sandbox mxfeed-postfix.service rw sh -c "! touch '$T/outside' 2> /dev/null && touch '$T/state/inside'"

# mxfeed-sync.service's sandbox: a change applied from there (postmap,
# postfix check, reload of the running instance) is live
sync=$TOP/contrib/systemd/mxfeed-sync.service
check "mxfeed-sync.service: ProtectSystem=strict, writes paths.state only" \
	bash -c "grep -qx 'ProtectSystem=strict' '$sync' &&
		 test \"\$(grep '^ReadWritePaths=' '$sync')\" = 'ReadWritePaths=/var/lib/mxfeed'"
$F add new.example --mode feed --force --dest 127.0.0.1:2526 recipients=any greylisting=off > /dev/null
expect_exit 0 "in mxfeed-sync's sandbox: mta-glue apply" in_sandbox mxfeed-sync.service rw "$M" apply
run smtp "EHLO client.test" "MAIL FROM:<a@sender.test>" "RCPT TO:<info@new.example>" QUIT
check "... the new domain is live in the running Postfix" grep -q '^250 2.1.5' "$T/out"
expect_exit 0 "mta-glue stop in the sandbox" in_sandbox mxfeed-postfix.service rw "$M" stop
tap_done
