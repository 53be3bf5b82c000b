#!/bin/bash
# test_access_log.sh - mxfeed-fcgi's access log on standard error: one
# whole line per request, never lost when the service stops or crashes
# (issue 15: the lines are buffered per worker and written in batches
# while more requests wait; see fcgi/main.c and lib/util/alog.h).
#   - an idle service has the line written before the answer is out;
#   - under load (wrk) every answered request has exactly one line,
#     none torn or interleaved, once the service has stopped (SIGTERM),
#     and once it has crashed (SIGSEGV: the handler writes what is
#     left);
#   - the line still escapes client text.
set -u
. "$(dirname "$0")/../lib.sh"
pg_setup
web_setup

$FEEDCTL add example.com --mode feed --force --dest 127.0.0.1:2526 > /dev/null
TOKEN=$($FEEDCTL token create t-log --role read --json | jq -r .token)
AUTH="Authorization: Bearer $TOKEN"
LOG=$T/fcgi.log
lines() { grep -c "^mxfeed-fcgi: info: access id=" "$LOG"; }
# every access line whole: all its fields, in order, on one line
torn() { grep 'access id=' "$LOG" | grep -cvE '^mxfeed-fcgi: info: access id=[0-9a-f]{32} method=[A-Z]+ path="([^"\\]|\\.)*" status=[0-9]{3} ms=[0-9]+\.[0-9] actor="[^"]*" bytes=[0-9]+$'; }

# ---- idle: the line is there when the answer is -----------------------
for i in 1 2 3; do
	http GET /api/v1/domains/example.com -H "$AUTH"
	rid=$(sed -n 's/^X-Request-Id: \([0-9a-f]*\).*/\1/p' "$T/hdr" | tr -d '\r')
	check "idle, request $i: 200 and its line is in the log as the answer arrives" \
		bash -c "[ '$status' = 200 ] && grep -q 'access id=$rid method=GET path=\"/api/v1/domains/example.com\" status=200 ms=[0-9.]* actor=\"t-log\" bytes=[1-9]' '$LOG'"
done
http GET '/api/v1/domains/a%22b%5Cc' -H "$AUTH"
check "client text is escaped in the line (404 for a bad name)" \
	bash -c "[ '$status' = 404 ] && grep -qF 'path=\"/api/v1/domains/a\\\"b\\\\c\"' '$LOG'"

# ---- load, then SIGTERM: one whole line per request -------------------
# wrk keeps 16 connections busy on 4 workers: a connection is nearly
# always waiting, so the lines are held in the buffers; the SIGTERM
# right after the run must still find every one written.  (Without the
# fatal-signal handler the crash below loses lines: checked by hand.)
command -v wrk > /dev/null || { echo "Bail out! wrk is missing"; exit 1; }
answered() { # wrk output: responses with a 2xx status
	awk '/requests in/ { n = $1 } /Non-2xx or 3xx responses:/ { b = $NF }
	     END { print n - b }' "$1"
}
n0=$(lines)
wrk -t2 -c16 -d2s -H "$AUTH" "$BASE/api/v1/domains/example.com" > "$T/wrk1.txt" 2>&1
kill -TERM "$FCGI_PID"
wait "$FCGI_PID" 2> /dev/null
FCGI_PID=
ok=$(answered "$T/wrk1.txt")
got=$(($(lines) - n0))
check "load: wrk had answers ($ok)" test "$ok" -gt 0
# wrk does not count the answers in flight when it stops: up to one per
# connection more lines than answers
check "after SIGTERM: one access line per answer ($got lines, $ok answers)" \
	test "$got" -ge "$ok" -a "$got" -le $((ok + 16))
check "... every line whole (none torn or interleaved)" test "$(torn)" = 0

# ---- a crash under load: the handler writes the buffered lines --------
# Every request answered 2xx has its line (it is buffered before the
# answer leaves); a few more may have one (an answer the crash cut off
# after its line was made, or one wrk did not count).
fcgi_start
for _ in $(seq 50); do curl -s -o /dev/null "$BASE/healthz" && break; sleep 0.1; done
n0=$(lines)
wrk -t2 -c16 -d3s -H "$AUTH" "$BASE/api/v1/domains/example.com" > "$T/wrk2.txt" 2>&1 &
wp=$!
sleep 1
kill -SEGV "$FCGI_PID"
wait "$FCGI_PID" 2> /dev/null
rc=$?
FCGI_PID=
wait "$wp"
ok=$(answered "$T/wrk2.txt")
got=$(($(lines) - n0))
check "SIGSEGV ended the service by the signal (exit $rc)" test "$rc" -ge 128
check "the crash came under load ($ok answers before it)" test "$ok" -gt 0
check "after SIGSEGV: a line for every answer ($got lines, $ok answers)" \
	test "$got" -ge "$ok" -a "$got" -le $((ok + 16))
check "... every line whole" test "$(torn)" = 0
fcgi_start
tap_done
