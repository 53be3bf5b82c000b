#!/bin/bash
# test_probe_limit.sh - probes cannot take the service down (issue 13,
# finding 6): at most half the workers probe at once, one probe per
# token, sixty per token in a burst then one a second; past that
# 429 with Retry-After, and nothing else waits: healthz
# answers while probes hang in a tarpit (a server that accepts and never
# speaks).  The portal's probing forms (a destination, fallbacks or mode
# saved, an add with a destination, a switch to feed or backup) are
# bounded the same way per staff login: a 429 page saying why.  In a network namespace of its own (loopback only).
set -u
. "$(dirname "$0")/../lib.sh"
in_netns "$0" "$@"
pg_setup
FCGI_WORKERS=4 web_setup

F=$FEEDCTL
TARPIT=2599
/usr/bin/python3 "$TOP/tests/integration/tarpit.py" $TARPIT "$T/tarpit.log" &
TARPIT_PID=$!
for _ in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/$TARPIT) 2> /dev/null && break; sleep 0.1; done
for d in d1 d2 d3 d4; do
	$F add $d.example --mode feed --force --dest 127.0.0.1:$TARPIT > /dev/null
done
tok() { "$F" token create "$1" --role operator --json | jq -r .token; }
TA=$(tok ta) TB=$(tok tb) TC=$(tok tc)
accepted() { grep -c accepted "$T/tarpit.log"; }
wait_accepted() { # wait_accepted N: until the tarpit holds N probes
	for _ in $(seq 100); do [ "$(accepted)" -ge "$1" ] && return 0; sleep 0.1; done
	return 1
}
base=$(accepted)
probe_bg() { # probe_bg TOKEN DOMAIN OUT: a probe in the background
	curl -s -m 60 -o "$3" -w '%{http_code}' -X POST -H "Authorization: Bearer $1" \
		"$BASE/api/v1/domains/$2/probe" > "$3.status" &
}
probe_bg "$TA" d1.example "$T/p1"
P1=$!
check "token A's probe is in the tarpit" wait_accepted $((base + 1))
probe_bg "$TB" d2.example "$T/p2"
P2=$!
check "token B's probe is in the tarpit too" wait_accepted $((base + 2))

expect_status 429 "a second probe of token A at once: 429" POST /api/v1/domains/d3.example/probe -H "Authorization: Bearer $TA"
check "... with Retry-After" test -n "$(hdr Retry-After)"
check "... as problem+json saying why" jq_out '.status == 429 and (.detail | test("probe"))'
expect_status 429 "token C's probe past the global limit: 429" POST /api/v1/domains/d4.example/probe -H "Authorization: Bearer $TC"
check "... with Retry-After" test -n "$(hdr Retry-After)"
expect_status 429 "a create that would probe counts too: 429" POST /api/v1/domains -H "Authorization: Bearer $TC" \
	-H "Content-Type: application/json" -d '{"name":"d5.example","mode":"feed","destination":{"host":"127.0.0.1","port":2599}}'
check "... and stored nothing" test "$(sql "SELECT count(*) FROM domains WHERE name='d5.example'")" = 0
expect_status 200 "healthz answers while the probes hang" GET /healthz
expect_status 200 "... and so does a read of another token" GET /api/v1/domains/d4.example -H "Authorization: Bearer $TC"
expect_status 200 "... and a change that does not probe" PATCH /api/v1/domains/d4.example -H "Authorization: Bearer $TC" \
	-H "Content-Type: application/merge-patch+json" -H 'If-Match: "1"' -d '{"greylisting":false}'
check "the two probes were still hanging meanwhile" bash -c "kill -0 $P1 && kill -0 $P2"
check "no probe beyond the two reached the tarpit" test "$(accepted)" = $((base + 2))
wait $P1 $P2
check "the hung probes end with their report (ok false)" bash -c "jq -e '.ok == false' '$T/p1' > /dev/null && jq -e '.ok == false' '$T/p2' > /dev/null"
expect_status 200 "after them token A may probe again" POST /api/v1/domains/d3.example/probe -H "Authorization: Bearer $TA" -m 60

# the rate per token: 60 probes at once, then one a second.  Nothing
# listens on 2598: each probe ends at once (refused).
$F add closed.example --mode feed --force --dest 127.0.0.1:2598 > /dev/null
TD=$(tok td) TE=$(tok te)
codes=
for i in $(seq 120); do
	http POST /api/v1/domains/closed.example/probe -H "Authorization: Bearer $TD"
	codes="$codes $status"
	[ "$status" = 429 ] && break
done
check "a token's first 60 probes in a row are answered" test "$(echo $codes | cut -d' ' -f1-60)" = "$(printf '200 %.0s' $(seq 60) | sed 's/ $//')"
check "... and one of the next 60 (in under a minute) is 429 ($(echo $codes | wc -w) sent)" test "$status" = 429
check "... with Retry-After" test "$(hdr Retry-After)" -ge 1
check "... saying the token used its probes" jq_out '.detail | test("used its 60 probes")'
expect_status 200 "another token may still probe" POST /api/v1/domains/closed.example/probe -H "Authorization: Bearer $TE"

# --- the portal: the same bounds per staff login (lib/probelimit) ----------
U=(-u "staff:$STAFF_PW")
OR=(-H "Origin: $BASE")
http GET /portal/d/closed.example "${U[@]}"
CSRF=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/out" | head -n 1)
v1=$(sql "SELECT version FROM domains WHERE name='closed.example'")
base=$(accepted)
curl -s -m 60 -o "$T/pp1" -w '%{http_code}' -X POST "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode "version=$v1" \
	--data-urlencode destination.host=127.0.0.1 --data-urlencode "destination.port=$TARPIT" \
	"$BASE/portal/d/closed.example" > "$T/pp1.status" &
PP1=$!
check "a portal save of a new destination probes it (into the tarpit)" wait_accepted $((base + 1))
expect_status 429 "a second probing form of the same staff login at once: 429" POST /portal/new "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode name=d6.example --data-urlencode mode=feed \
	--data-urlencode "dest=127.0.0.1:$TARPIT"
check "... an HTML page saying why and when to try again" \
	bash -c "grep -qF 'this login has a probe in progress; one at a time; nothing was done' '$T/out' && grep -qF 'Try again in 10 seconds' '$T/out'"
check "... with Retry-After" test "$(hdr Retry-After)" = 10
check "... and stored nothing" test "$(sql "SELECT count(*) FROM domains WHERE name='d6.example'")" = 0
check "... nor probed" test "$(accepted)" = $((base + 1))
expect_status 200 "healthz answers while the portal's probe hangs" GET /healthz
v4=$(sql "SELECT version FROM domains WHERE name='d4.example'")
expect_status 303 "... and the same login's save that does not probe goes through" POST /portal/d/d4.example "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode "version=$v4" --data-urlencode greylisting=on
wait $PP1
check "the hung portal probe ends: 422, the destination not saved" \
	bash -c "[ \"\$(cat '$T/pp1.status')\" = 422 ] && grep -qF 'did not pass the probe' '$T/pp1'"
expect_status 303 "after it the login may save a (forced) destination again" POST /portal/d/closed.example "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode "version=$v1" \
	--data-urlencode destination.host=127.0.0.1 --data-urlencode destination.port=2597 \
	--data-urlencode force=on
# (nothing listens on 2597 either)
# the rate per staff login: the burst, then 429 naming it
codes=
for i in $(seq 120); do
	http POST /portal/new "${U[@]}" "${OR[@]}" --data-urlencode "csrf=$CSRF" \
		--data-urlencode "name=r$i.example" --data-urlencode mode=feed --data-urlencode dest=127.0.0.1:2598
	codes="$codes $status"
	[ "$status" = 429 ] && break
done
check "a staff login's probing forms are refused past the burst ($(echo $codes | wc -w) sent)" test "$status" = 429
check "... saying the login used its probes, with Retry-After" \
	bash -c "grep -qF 'this login used its 60 probes' '$T/out' && [ \"\$(grep -i '^Retry-After:' '$T/hdr' | tr -dc 0-9)\" -ge 1 ]"
check "... and the refused one stored nothing" test "$(sql "SELECT count(*) FROM domains WHERE name='r$i.example'")" = 0
expect_status 200 "an API token may still probe" POST /api/v1/domains/closed.example/probe -H "Authorization: Bearer $TE" -m 60
kill "$TARPIT_PID" 2> /dev/null
tap_done
