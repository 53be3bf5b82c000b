#!/bin/bash
# test_spawn.sh - programs mxfeed runs (issue 13, finding 11): by
# absolute path (a postqueue earlier in PATH is never run), with a clean
# environment, and with a timeout: a postqueue that hangs must not hang
# the FastCGI worker; the API answers 504 naming the program, and the
# hung program (and its children) are killed.
#
# Runs in its own network and mount namespace: /usr/sbin/postqueue is a
# bind-mounted fake there only.
set -u
. "$(dirname "$0")/../lib.sh"
MXFEED_NS_MOUNT=1 in_netns "$0" "$@"
pg_setup
mkdir -p "$T/state/current" "$T/evil"
# a relay host (a generation in force): the queue is read here
echo 1 > "$T/state/current/SEQ"
# the fake: records its environment, then prints an empty queue or hangs
cat > "$T/fake-postqueue" <<FAKE
#!/bin/bash
env > "$T/pq-env"
echo run >> "$T/pq-runs"
echo \$\$ > "$T/pq-pid"
[ -f "$T/pq-hang" ] && { sleep 600 & echo \$! > "$T/pq-child"; wait; }
exit 0
FAKE
chmod 0755 "$T/fake-postqueue"
mount --bind "$T/fake-postqueue" /usr/sbin/postqueue
printf '#!/bin/sh\ntouch %s/hijacked\n' "$T" > "$T/evil/postqueue"
chmod 0755 "$T/evil/postqueue"
PATH="$T/evil:$PATH" MXFEED_LEAK_CHECK=secret-value web_setup

"$FEEDCTL" add example.com --mode feed --force --dest 127.0.0.1:2526 > /dev/null
TOK=$("$FEEDCTL" token create t --role operator --json | jq -r .token)
A=(-H "Authorization: Bearer $TOK")

expect_status 200 "the queue of a domain (the fake postqueue: empty)" GET /api/v1/domains/example.com/queue "${A[@]}"
check "... lists no messages" jq_out '.messages == []'
check "postqueue ran by its absolute path, not the one first in PATH" test ! -e "$T/hijacked"
check "... and it did run" test -s "$T/pq-env"
check "its environment is clean: no variable of the service leaks" bash -c "! grep -q MXFEED_LEAK_CHECK '$T/pq-env'"
check "... and PATH is the fixed system one" grep -qx 'PATH=/usr/sbin:/usr/bin:/sbin:/bin' "$T/pq-env"

# listings at once share one postqueue run (each would read the whole
# queue): 8 parallel GETs on 4 workers run it fewer than 8 times
expect_status 202 "a flush (which drops any cached listing)" POST /api/v1/domains/example.com/flush "${A[@]}"
: > "$T/pq-runs"
pids=()
for i in $(seq 8); do
	curl -s -o /dev/null -w '%{http_code}\n' "${A[@]}" "$BASE/api/v1/domains/example.com/queue" > "$T/ql.$i" &
	pids+=($!)
done
wait "${pids[@]}"
check "8 parallel queue listings: all 200" test "$(cat "$T"/ql.* | grep -c '^200$')" = 8
runs=$(wc -l < "$T/pq-runs")
check "... from at least one but fewer than 8 postqueue runs ($runs)" test "$runs" -ge 1 -a "$runs" -lt 8

# a postqueue that never answers (the flush first: a change never uses
# the cached listing, and drops it)
touch "$T/pq-hang"
rm -f "$T/pq-pid" "$T/pq-child"
http POST /api/v1/domains/example.com/flush "${A[@]}"
check "a flush whose postqueue hangs: 504" test "$status" = 504
rm -f "$T/pq-pid" "$T/pq-child"
http GET /api/v1/domains/example.com/queue "${A[@]}"
check "a hung postqueue: the API answers 504 itself" test "$status" = 504
check "... as problem+json naming the program" jq_out '.status == 504 and (.detail | test("postqueue"))'
check "... saying it did not finish" jq_out '.detail | test("did not finish")'
pq=$(cat "$T/pq-pid" 2> /dev/null) child=$(cat "$T/pq-child" 2> /dev/null)
# gone PID: not running (no process, or a zombie its new parent has not
# reaped yet)
gone() { [ -n "$1" ] && { ! kill -0 "$1" 2> /dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2> /dev/null)" = Z ]; }; }
check "the hung postqueue was killed" gone "$pq"
check "... and its child too" gone "$child"
rm -f "$T/pq-hang"
expect_status 200 "the workers are all still serving" GET /healthz
expect_status 200 "... and the queue answers again" GET /api/v1/domains/example.com/queue "${A[@]}"
[ -n "${child:-}" ] && kill "$child" 2> /dev/null
tap_done
