#!/bin/bash
# test_demo.sh - "make demo | tee demo.log" returns when the demo is up
#
# contrib/demo/demo.sh start runs with its stdout and stderr on a pipe,
# as under "make demo | tee", in a network namespace of its own (the
# demo's fixed ports are private there, so this never touches a demo
# someone runs on the host) with its data in a temporary directory.
# Once demo.sh has exited, the reader of the pipe must see end-of-file:
# a daemon that kept the caller's stdout or stderr would hold it open
# for as long as it runs.  Needs root (namespace, Postfix, Dovecot).
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
bash "$DEMO" stop > "$T/stop.log" 2>&1 < /dev/null
check "demo.sh stop ends it" test "$(grep -c 'mxfeed demo stopped' "$T/stop.log")" = 1
for _ in $(seq 100); do
	[ -e "$T/closed" ] && break
	sleep 0.1
done
wait "$READER" 2> /dev/null
tap_done
