#!/bin/bash
# test_demo.sh - "make demo | tee demo.log" returns when the demo is up
#
# contrib/demo/demo.sh start runs with its stdout and stderr on a pipe,
# as under "make demo | tee", in a network namespace of its own (the
# demo's fixed ports are private there, so this never touches a demo
# someone runs on the host) with its data in a temporary directory.
# Once demo.sh has exited, the reader of the pipe must see end-of-file:
# a daemon that kept the caller's stdout or stderr would hold it open
# for as long as it runs.  Then the relay's resolver: the demo's unbound
# answers, caps TTLs, reaches nothing outside (SERVFAIL at once), the
# demo's Postfix and rspamd resolve through it, and mail to the seeded
# example.com still reaches the customer server.  Needs root (namespace, Postfix, Dovecot).
set -u
. "$(dirname "$0")/../lib.sh"
if [ "$(id -u)" -ne 0 ]; then
	echo "ok 1 # SKIP the demo needs root"
	echo "1..1"
	exit 0
fi
in_netns "$0" "$@"
T=$(mktemp -d /tmp/mxfeed-demo.XXXXXX)
chmod 755 "$T"
export MXFEED_DEMO_DIR=$T/demo
DEMO="$TOP/contrib/demo/demo.sh"
cleanup() {
	bash "$DEMO" stop > "$T/stop.log" 2>&1 < /dev/null
	# nothing of the demo may outlive it (pid files, or any process
	# still holding the pipe)
	rm -rf "$T"
}
trap cleanup EXIT

# the pipe's reader: "closed" appears when every writer has let go
( bash "$DEMO" start < /dev/null 2>&1; echo "demo.sh exit $?" ) |
	{ cat > "$T/out"; touch "$T/closed"; } &
READER=$!
for _ in $(seq 3000); do # demo.sh itself: at most 300 s
	grep -q '^demo.sh exit ' "$T/out" 2> /dev/null && break
	sleep 0.1
done
check "demo.sh start finished" grep -q '^demo.sh exit 0$' "$T/out"
check "... with the demo running" grep -q 'mxfeed demo is running' "$T/out"
for _ in $(seq 100); do # then the pipe closes at once; allow 10 s
	[ -e "$T/closed" ] && break
	sleep 0.1
done
if [ -e "$T/closed" ]; then
	tap_ok "no daemon keeps the caller's stdout or stderr: the pipe closes"
else
	tap_fail "no daemon keeps the caller's stdout or stderr: the pipe closes"
	# name the processes whose stdout or stderr is still this pipe
	pipe=$(readlink "/proc/$(pgrep -P "$READER" cat | head -n 1)/fd/0" 2> /dev/null)
	for p in /proc/[0-9]*; do
		for fd in 1 2; do
			[ "$(readlink "$p/fd/$fd" 2> /dev/null)" = "$pipe" ] &&
				echo "#   still open: pid ${p#/proc/} fd $fd $(tr '\0' ' ' < "$p/cmdline" | head -c 120)"
		done
	done | sort -u
fi
check "the portal answers inside the namespace" curl -sf -o /dev/null http://127.0.0.1:8080/healthz

# --- the relay's caching resolver (issue 12, seed 000) -------------------------
D=$MXFEED_DEMO_DIR
run dig +noall +answer +time=2 +tries=1 @127.0.0.1 localhost. A
check "the demo's resolver answers on 127.0.0.1:53" \
	bash -c "awk '\$1 == \"localhost.\" && \$5 == \"127.0.0.1\"' '$T/out' | grep -q ."
UB_PID=$(cat "$D/unbound/unbound.pid" 2> /dev/null)
check "... it is unbound, run with the demo's configuration" \
	bash -c "tr '\\0' ' ' < /proc/$UB_PID/cmdline | grep -qF 'unbound -c $D/unbound/unbound.conf'"
run unbound-checkconf -o cache-max-ttl "$D/unbound/unbound.conf"
check "... caching every answer for at most 5 minutes" test "$(cat "$T/out")" = 300
run unbound-checkconf -o cache-max-negative-ttl "$D/unbound/unbound.conf"
check "... negative answers too" test "$(cat "$T/out")" = 300
run dig +time=3 +tries=1 @127.0.0.1 www.example.org. A
check "a name it cannot reach is SERVFAIL at once (no timeout)" out_has "status: SERVFAIL"
MASTER=$(head -n 1 "$D/state/spool/pid/master.pid" 2> /dev/null | tr -d ' ')
check "the relay's Postfix runs with a resolv.conf naming the resolver" \
	grep -qx 'nameserver 127.0.0.1' "/proc/$MASTER/root/etc/resolv.conf"
RS_PID=$(cat "$D/rspamd.pid" 2> /dev/null)
check "... rspamd too" grep -qx 'nameserver 127.0.0.1' "/proc/$RS_PID/root/etc/resolv.conf"
run postconf -c "$D/state/current" -h smtp_dns_support_level smtpd_peername_lookup
check "the demo relay uses DNS (smtp_dns_support_level, client names)" \
	test "$(tr '\n' ' ' < "$T/out")" = "enabled yes "
# mail to the seeded domain still flows through a resolver that
# reaches nothing (greylisting off so that one try is enough)
export MXFEED_CONF=$D/mxfeed.conf
F=$TOP/build/rel/bin/feedctl
$F set example.com greylisting=off --ticket T-DEMO > /dev/null
caught_up=
for _ in $(seq 100); do
	[ "$(bash "$TOP/contrib/pgcluster.sh" "$D/pg" psql -d mxfeed -XAtq -c "SELECT bool_and(applied_seq >= (SELECT max(seq) FROM changes)) FROM relays" 2> /dev/null)" = t ] && caught_up=1 && break
	sleep 0.2
done
check "the demo relay applied the change" test -n "$caught_up"
swaks --server 127.0.0.1:2525 --helo client.example --from you@sender.example \
	--to info@example.com --header "Subject: demo-dns-flow" > "$T/swaks" 2>&1
check "a message to info@example.com is accepted" grep -qE '^<- +250 .*queued as' "$T/swaks"
for _ in $(seq 150); do
	grep -rqF demo-dns-flow "$D/sink" 2> /dev/null && break
	sleep 0.2
done
check "... and reaches the demo customer server" grep -rqF "Subject: demo-dns-flow" "$D/sink"
bash "$DEMO" stop > "$T/stop.log" 2>&1 < /dev/null
check "demo.sh stop ends it" test "$(grep -c 'mxfeed demo stopped' "$T/stop.log")" = 1
check "... and its resolver" bash -c "! kill -0 '$UB_PID' 2> /dev/null && ! test -e '$D/unbound/unbound.pid'"
for _ in $(seq 100); do
	[ -e "$T/closed" ] && break
	sleep 0.1
done
wait "$READER" 2> /dev/null
tap_done
