#!/bin/bash
# test_api.sh - the JSON API through a real nginx and mxfeed-fcgi, over
# a private PostgreSQL (SPEC section 7, issue "mxfeed-fcgi")
#
# Every route's success and failure statuses, strict input, the
# validator tables (422 with the field named and nothing stored), auth
# and roles, scoped-token isolation, idempotent replay, concurrency
# (20 creates -> 1 x 201 + 19 x 409; 20 PATCHes with one If-Match ->
# 1 x 200), and the database stopped mid-test -> 503, then recovery.
set -u
. "$(dirname "$0")/../lib.sh"
pg_setup
web_setup

count() { sql "SELECT count(*) FROM $1"; }
token() { "$FEEDCTL" token create "$@" --json | jq -r .token; }

ADMIN=$(token t-admin --role admin)
OPER=$(token t-oper --role operator)
READ=$(token t-read --role read)
A=(-H "Authorization: Bearer $ADMIN")
O=(-H "Authorization: Bearer $OPER")
R=(-H "Authorization: Bearer $READ")
J=(-H "Content-Type: application/json")
MP=(-H "Content-Type: application/merge-patch+json")

is_problem() {
	[ "$(hdr Content-Type)" = "application/problem+json" ] &&
		jq -e --argjson s "$status" '.type and .title and .status == $s and .detail' "$T/out" > /dev/null
}
jqe() { jq -e "$@" "$T/out" > /dev/null; }
field_is() { jq -e --arg f "$1" '.errors | any(.field == $f)' "$T/out" > /dev/null; }

# --- health, headers ----------------------------------------------------
expect_status 200 "healthz answers when the database is up" GET /healthz
check "every response says Cache-Control: no-store" test "$(hdr Cache-Control)" = no-store
check "every response carries a request id" test -n "$(hdr X-Request-Id)"
expect_status 404 "unknown path is 404" GET /api/v1/nothing "${A[@]}"
check "404 is problem+json" is_problem

# --- authentication -----------------------------------------------------
expect_status 401 "no token: 401" GET /api/v1/domains
check "401 is problem+json with WWW-Authenticate" bash -c "$(declare -f hdr is_problem); T=$T status=401; is_problem && [ -n \"\$(hdr WWW-Authenticate)\" ]"
expect_status 401 "unknown token: 401" GET /api/v1/domains -H "Authorization: Bearer mxf_not-a-real-token"
expect_status 401 "Basic credentials are not a token: 401" GET /api/v1/domains -u staff:$STAFF_PW
EXP=$(token t-exp --role admin)
sql "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE name = 't-exp'" > /dev/null
expect_status 401 "expired token: 401" GET /api/v1/domains -H "Authorization: Bearer $EXP"
check "the expiry is named" jqe '.detail | test("expired")' "$T/out"
expect_status 200 "read token may list" GET /api/v1/domains "${R[@]}"
check "a used token records last-used" test "$(sql "SELECT last_used_at IS NOT NULL FROM api_tokens WHERE name='t-read'")" = t
check "the staff header cannot be forged through the API" \
	test "$(curl -s -o /dev/null -w '%{http_code}' -H 'Mxfeed-Staff-User: root' "$BASE/api/v1/domains")" = 401

# --- create -------------------------------------------------------------
BODY='{"name":"example.com","mode":"feed","destination":{"host":"127.0.0.1","port":2526},"force":true}'
expect_status 403 "read token may not create" POST /api/v1/domains "${R[@]}" "${J[@]}" -d "$BODY"
check "nothing stored after 403" test "$(count domains)" = 0
expect_status 201 "operator creates a domain" POST /api/v1/domains "${O[@]}" "${J[@]}" -H "X-Ticket: T-100" -d "$BODY"
check "201 has Location" test "$(hdr Location)" = /api/v1/domains/example.com
check "201 has ETag \"1\"" test "$(hdr ETag)" = '"1"'
check "the body is the domain JSON with defaults" \
	test "$(jq -c '[.name,.mode,.destination.port,.greylisting,.spam.enabled,.queue.days,.version,.updated_by,.ticket]' "$T/out")" \
	= '["example.com","feed",2526,true,false,2,1,"t-oper","T-100"]'
check "the audit names the token and the ticket" \
	test "$(sql "SELECT actor||' '||ticket FROM audit WHERE domain='example.com'")" = "t-oper T-100"
expect_status 409 "creating it again: 409" POST /api/v1/domains "${O[@]}" "${J[@]}" -d "$BODY"
check "409 names the field" field_is name

# a destination nobody answers at (nothing listens on 127.0.0.1:2599)
n0=$(count domains)
DEAD='{"name":"dead.example","mode":"feed","destination":{"host":"127.0.0.1","port":2599}}'
expect_status 409 "create with a dead destination: 409 (the probe failed)" POST /api/v1/domains "${O[@]}" "${J[@]}" -d "$DEAD"
check "... naming the field and the probe" bash -c "jq -e '.errors[0].field == \"destination.host\" and (.detail | test(\"did not pass the probe\"))' '$T/out' > /dev/null"
check "... nothing stored" test "$(count domains)" = "$n0"
expect_status 422 "\"force\" must be a boolean: 422" POST /api/v1/domains "${O[@]}" "${J[@]}" -d '{"name":"dead.example","mode":"feed","destination":{"host":"127.0.0.1","port":2599},"force":"yes"}'
check "... naming the field" field_is force
"$FEEDCTL" add probe.example --mode feed --dest 127.0.0.1:2526 --force > /dev/null
expect_status 409 "PATCH to a dead destination: 409" PATCH /api/v1/domains/probe.example "${O[@]}" "${MP[@]}" -H 'If-Match: "1"' -d '{"destination":{"port":2599}}'
check "... nothing changed" test "$(sql "SELECT version || ':' || dest_port FROM domains WHERE name='probe.example'")" = "1:2526"
expect_status 200 "PATCH to it with \"force\": true" PATCH /api/v1/domains/probe.example "${O[@]}" "${MP[@]}" -H 'If-Match: "1"' -d '{"destination":{"port":2599},"force":true}'
check "... stored" test "$(sql "SELECT version || ':' || dest_port FROM domains WHERE name='probe.example'")" = "2:2599"
# tls (SPEC section 12): a stricter policy is probed like a new destination
expect_status 422 "PATCH tls.policy verify without a fingerprint: 422" PATCH /api/v1/domains/probe.example "${O[@]}" "${MP[@]}" -H 'If-Match: "2"' -d '{"tls":{"policy":"verify"}}'
check "... naming tls.fingerprint" field_is tls.fingerprint
expect_status 409 "PATCH tls.policy encrypt toward a server its probe cannot reach: 409" PATCH /api/v1/domains/probe.example "${O[@]}" "${MP[@]}" -H 'If-Match: "2"' -d '{"tls":{"policy":"encrypt"}}'
check "... naming tls.policy" field_is tls.policy
check "... nothing changed" test "$(sql "SELECT version || ':' || tls_policy FROM domains WHERE name='probe.example'")" = "2:may"
expect_status 200 "with \"force\": true and a pasted fingerprint" PATCH /api/v1/domains/probe.example "${O[@]}" "${MP[@]}" -H 'If-Match: "2"' \
	-d "{\"tls\":{\"policy\":\"verify\",\"fingerprint\":\"$(printf 'AB:%.0s' $(seq 31))AB\"},\"force\":true}"
check "... the answer holds the tls object, canonical" \
	bash -c "jq -e '.tls == {\"policy\":\"verify\",\"fingerprint\":\"$(printf 'ab%.0s' $(seq 32))\"}' '$T/out' > /dev/null"
cp "$T/out" "$T/probe.json"
expect_status 200 "the GET document PATCHed back unchanged: 200" PATCH /api/v1/domains/probe.example "${O[@]}" "${MP[@]}" -H 'If-Match: "3"' -d @"$T/probe.json"
check "... and no new version" test "$(sql "SELECT version FROM domains WHERE name='probe.example'")" = 3
"$FEEDCTL" remove probe.example --confirm=probe.example > /dev/null

# strict input: each refused, each leaves nothing behind
n0=$(count domains)
a0=$(count audit)
expect_status 415 "wrong content type: 415" POST /api/v1/domains "${O[@]}" -H "Content-Type: text/plain" -d '{"name":"a.example","mode":"pop3"}'
check "415 is problem+json" is_problem
expect_status 415 "form encoding: 415" POST /api/v1/domains "${O[@]}" -d 'name=a.example&mode=pop3'
expect_status 400 "invalid JSON: 400" POST /api/v1/domains "${O[@]}" "${J[@]}" -d '{"name":'
expect_status 400 "duplicate keys: 400" POST /api/v1/domains "${O[@]}" "${J[@]}" -d '{"name":"a.example","name":"b.example","mode":"pop3"}'
deep='{"name":"a.example","mode":"pop3","spam":{"low":{"x":{"y":{"z":{"a":{"b":{"c":{"d":1}}}}}}}}}'
expect_status 400 "nesting deeper than 8: 400" POST /api/v1/domains "${O[@]}" "${J[@]}" -d "$deep"
printf '{"name":"a.example","mode":"pop3","spam":{"low":{"text":"\xff"}}}' > "$T/bad-utf8.json"
expect_status 400 "invalid UTF-8: 400" POST /api/v1/domains "${O[@]}" "${J[@]}" --data-binary @"$T/bad-utf8.json"
expect_status 422 "unknown field: 422" POST /api/v1/domains "${O[@]}" "${J[@]}" -d '{"name":"a.example","mode":"pop3","colour":"red"}'
check "the unknown field is named" jqe '.detail | test("colour")' "$T/out"
expect_status 422 "version is never taken from input" POST /api/v1/domains "${O[@]}" "${J[@]}" -d '{"name":"a.example","mode":"pop3","version":7}'
check "version is named" field_is version
expect_status 422 "updated_by is never taken from input" POST /api/v1/domains "${O[@]}" "${J[@]}" -d '{"name":"a.example","mode":"pop3","updated_by":"mallory"}'
expect_status 422 "missing mode: 422" POST /api/v1/domains "${O[@]}" "${J[@]}" -d '{"name":"a.example"}'
check "mode is named" field_is mode
expect_status 422 "a string where a boolean belongs: 422" POST /api/v1/domains "${O[@]}" "${J[@]}" -d '{"name":"a.example","mode":"pop3","greylisting":"off"}'
check "greylisting is named" field_is greylisting
head -c 70000 /dev/zero | tr '\0' ' ' > "$T/big.json"
expect_status 413 "a body over 64 KiB: 413" POST /api/v1/domains "${O[@]}" "${J[@]}" --data-binary @"$T/big.json"
check "413 is problem+json" is_problem
expect_status 400 "an unusable X-Ticket: 400" POST /api/v1/domains "${O[@]}" "${J[@]}" -H $'X-Ticket: \x01bad' -d '{"name":"a.example","mode":"pop3"}'

# the validator tables: names, destinations, numbers
while IFS= read -r name; do
	doc=$(jq -cn --arg n "$name" '{name:$n, mode:"pop3"}')
	expect_status 422 "bad name $(printf %q "$name"): 422" POST /api/v1/domains "${O[@]}" "${J[@]}" -d "$doc"
	field_is name || tap_fail "bad name $(printf %q "$name"): field name not named"
done <<'NAMES'
localhost
com
-a.example
a..example
a.example..
*.example
a b.example
a;rm -rf.example
../etc/passwd
1.2.3.4
xn--zz.example
' OR 1=1 --.example
aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example
a_b.example
a"b.example
a\b.example
a#b.example
NAMES
while IFS= read -r host; do
	doc=$(jq -cn --arg h "$host" '{name:"d.example", mode:"feed", destination:{host:$h}}')
	expect_status 422 "bad destination $host: 422" POST /api/v1/domains "${O[@]}" "${J[@]}" -d "$doc"
	field_is destination.host || tap_fail "bad destination $host: field not named"
done <<'HOSTS'
10.0.0.1
192.168.1.1
172.16.0.1
100.64.0.1
169.254.1.1
224.0.0.1
0.0.0.0
192.0.2.10
127.1
0x7f.0.0.1
127.000.000.001
::ffff:127.0.0.1
fe80::1
2001:db8::1
example.com
HOSTS
for kv in 'queue:{"days":0}' 'queue:{"days":32}' 'max_message_mb:0' 'max_message_mb:1025' 'max_message_mb:1.5' 'queue:{"days":"5"}'; do
	k=${kv%%:*} v=${kv#*:}
	doc="{\"name\":\"d.example\",\"mode\":\"feed\",\"destination\":{\"host\":\"127.0.0.1\"},\"$k\":$v}"
	expect_status 422 "bad number $k=$v: 422" POST /api/v1/domains "${O[@]}" "${J[@]}" -d "$doc"
done
check "no refused create stored a domain" test "$(count domains)" = "$n0"
check "no refused create wrote an audit row" test "$(count audit)" = "$a0"

# --- read ---------------------------------------------------------------
expect_status 200 "read a domain" GET /api/v1/domains/example.com "${R[@]}"
check "GET has ETag" test "$(hdr ETag)" = '"1"'
check "GET shows propagation" jqe '.propagation.relays_total == 0 and .propagation.sequence > 0' "$T/out"
expect_status 200 "HEAD works like GET" HEAD /api/v1/domains/example.com "${R[@]}"
expect_status 200 "read by a mixed-case name" GET /api/v1/domains/Example.COM "${R[@]}"
expect_status 404 "unknown domain: 404" GET /api/v1/domains/nosuch.example "${R[@]}"
check "404 is problem+json" is_problem
# a path segment that is not a domain name names no domain: 404, on
# every method (422 is for a bad value in a body)
expect_status 404 "invalid name in the path: 404" GET /api/v1/domains/a..b "${R[@]}"
for mp in "GET /api/v1/domains/%0a" "PATCH /api/v1/domains/%0a" "DELETE /api/v1/domains/%0a" \
	"GET /api/v1/domains/%0a/history" "POST /api/v1/domains/%0a/flush" "GET /api/v1/domains/a%20b.example"; do
	# shellcheck disable=SC2086
	expect_status 404 "not a domain name in the path: $mp is 404" $mp "${A[@]}" "${MP[@]}" -H 'If-Match: "1"' -d '{}'
	check "... problem+json saying no such domain" jqe '.status == 404 and .detail == "no such domain"' "$T/out"
done
expect_status 405 "PUT is not a method here: 405" PUT /api/v1/domains/example.com "${A[@]}"

# --- change -------------------------------------------------------------
expect_status 428 "PATCH without If-Match: 428" PATCH /api/v1/domains/example.com "${O[@]}" "${MP[@]}" -d '{"greylisting":false}'
expect_status 400 "PATCH with a malformed If-Match: 400" PATCH /api/v1/domains/example.com "${O[@]}" "${MP[@]}" -H 'If-Match: 1' -d '{"greylisting":false}'
expect_status 403 "read token may not PATCH" PATCH /api/v1/domains/example.com "${R[@]}" "${MP[@]}" -H 'If-Match: "1"' -d '{"greylisting":false}'
expect_status 200 "PATCH with the current ETag" PATCH /api/v1/domains/example.com "${O[@]}" "${MP[@]}" -H 'If-Match: "1"' -d '{"greylisting":false,"spam":{"enabled":true,"med":{"action":"header"}}}'
check "the change is applied, version 2" \
	test "$(jq -c '[.greylisting,.spam.enabled,.spam.med.action,.version]' "$T/out")" = '[false,true,"header",2]'
check "new ETag" test "$(hdr ETag)" = '"2"'
expect_status 412 "PATCH with a weak ETag: 412 (strong comparison never matches it)" PATCH /api/v1/domains/example.com "${O[@]}" "${MP[@]}" -H 'If-Match: W/"2"' -d '{"greylisting":true}'
check "... is problem+json naming If-Match" bash -c "$(declare -f hdr is_problem); T=$T status=412; is_problem && jq -e '.detail | test(\"weak\")' $T/out > /dev/null"
check "... and changed nothing" test "$(sql "SELECT version||' '||greylisting FROM domains WHERE name='example.com'")" = "2 false"
expect_status 412 "PATCH with a stale ETag: 412" PATCH /api/v1/domains/example.com "${O[@]}" "${MP[@]}" -H 'If-Match: "1"' -d '{"greylisting":true}'
check "412 says who changed it" jqe '.detail | test("t-oper")' "$T/out"
expect_status 200 "PATCH as application/json works too" PATCH /api/v1/domains/example.com "${O[@]}" "${J[@]}" -H 'If-Match: "2"' -d '{"queue":{"days":5}}'
expect_status 422 "PATCH a bad value: 422" PATCH /api/v1/domains/example.com "${O[@]}" "${MP[@]}" -H 'If-Match: "3"' -d '{"queue":{"days":99}}'
check "queue.days is named" field_is queue.days
expect_status 422 "PATCH a read-only field: 422" PATCH /api/v1/domains/example.com "${O[@]}" "${MP[@]}" -H 'If-Match: "3"' -d '{"version":9}'
expect_status 422 "PATCH the mode: 422 (mode changes by switch)" PATCH /api/v1/domains/example.com "${O[@]}" "${MP[@]}" -H 'If-Match: "3"' -d '{"mode":"pop3"}'
expect_status 400 "PATCH with duplicate keys: 400" PATCH /api/v1/domains/example.com "${O[@]}" "${MP[@]}" -H 'If-Match: "3"' -d '{"greylisting":true,"greylisting":false}'
expect_status 415 "PATCH as text/plain: 415" PATCH /api/v1/domains/example.com "${O[@]}" -H 'Content-Type: text/plain' -H 'If-Match: "3"' -d '{}'
check "refused PATCHes left version 3" test "$(sql "SELECT version FROM domains WHERE name='example.com'")" = 3

# --- listing and keyset pagination -------------------------------------
for d in b c d e; do
	"$FEEDCTL" add "$d.example" --mode pop3 > /dev/null
done
expect_status 200 "list with limit 2" GET '/api/v1/domains?limit=2' "${R[@]}"
check "first page: b, c and a next key" test "$(jq -c '[.domains[].name, .next]' "$T/out")" = '["b.example","c.example","c.example"]'
check "a Link to the next page" bash -c "grep -qi '^Link: </api/v1/domains?limit=2&after=c.example>; rel=\"next\"' '$T/hdr'"
expect_status 200 "second page" GET '/api/v1/domains?limit=2&after=c.example' "${R[@]}"
check "second page: d, e" test "$(jq -c '[.domains[].name]' "$T/out")" = '["d.example","e.example"]'
expect_status 200 "last page" GET '/api/v1/domains?limit=2&after=e.example' "${R[@]}"
check "last page: example.com and no next" test "$(jq -c '[.domains[].name, .next]' "$T/out")" = '["example.com",null]'
expect_status 200 "filter by mode" GET '/api/v1/domains?mode=feed' "${R[@]}"
check "only the feed domain" test "$(jq -c '[.domains[].name]' "$T/out")" = '["example.com"]'
expect_status 200 "filter by match" GET '/api/v1/domains?match=xampl' "${R[@]}"
check "... every name with the text" test "$(jq -c '[.domains[].name]' "$T/out")" = '["b.example","c.example","d.example","e.example","example.com"]'
expect_status 200 "filter by a match only one name has" GET '/api/v1/domains?match=d.ex' "${R[@]}"
check "... only that one" test "$(jq -c '[.domains[].name]' "$T/out")" = '["d.example"]'
expect_status 200 "mode and match together" GET '/api/v1/domains?mode=pop3&match=example.com' "${R[@]}"
check "... match nothing here" test "$(jq -c '.domains' "$T/out")" = '[]'
expect_status 400 "limit 0: 400" GET '/api/v1/domains?limit=0' "${R[@]}"
expect_status 400 "limit 1001: 400" GET '/api/v1/domains?limit=1001' "${R[@]}"
expect_status 400 "an unknown query parameter: 400" GET '/api/v1/domains?order=name' "${R[@]}"
expect_status 400 "mode=bogus: 400" GET '/api/v1/domains?mode=bogus' "${R[@]}"
expect_status 400 "a bad %-escape: 400" GET '/api/v1/domains?match=%zz' "${R[@]}"

# --- sub-resources ------------------------------------------------------
expect_status 200 "history" GET /api/v1/domains/example.com/history "${R[@]}"
check "history has create and set, newest first, with actor and ticket" \
	test "$(jq -c '[.history[] | [.action, .actor]]' "$T/out")" = '[["set","t-oper"],["set","t-oper"],["create","t-oper"]]'
expect_status 200 "jobs" GET /api/v1/domains/example.com/jobs "${R[@]}"
check "jobs is a list" jqe '.jobs | type == "array"' "$T/out"
"$FEEDCTL" mailbox add b.example info > /dev/null
"$FEEDCTL" rule add example.com block sender-regex '^spam@' > /dev/null
expect_status 200 "mailboxes" GET /api/v1/domains/b.example/mailboxes "${R[@]}"
check "mailboxes lists the address, never a password" \
	test "$(jq -c '[.mailboxes[] | .address, has("password")]' "$T/out")" = '["info@b.example",false]'
expect_status 200 "rules" GET /api/v1/domains/example.com/rules "${R[@]}"
check "rules lists the block rule" test "$(jq -c '.rules' "$T/out")" = '[{"action":"block","kind":"address-regex","value":"^spam@"}]'
expect_status 200 "relays" GET /api/v1/relays "${R[@]}"
expect_status 401 "relays without a token: 401" GET /api/v1/relays
sql "INSERT INTO relays (name, addresses) VALUES
	('r1', '{198.51.100.25,2001:db8::25}'), ('r2', '{198.51.100.26,198.51.100.25}'),
	('mbox', '{192.0.2.99}')" > /dev/null
sql "UPDATE relays SET role = 'mailbox' WHERE name = 'mbox'" > /dev/null
expect_status 200 "the relays' outbound addresses need no token (customers' firewalls)" GET /api/v1/relays/addresses
check "... every relay's, once each, IPv4 first; not the mailbox host's" \
	test "$(jq -c . "$T/out")" = '{"addresses":["198.51.100.25","198.51.100.26","2001:db8::25"]}'
check "... with Cache-Control: no-store like every answer" test "$(hdr Cache-Control)" = no-store
expect_status 405 "POST to the addresses: 405" POST /api/v1/relays/addresses "${J[@]}" -d '{}'
expect_status 200 "GET /api/v1/relays shows each relay's addresses" GET /api/v1/relays "${R[@]}"
check "... r1's" jqe '[.relays[] | select(.name == "r1") | .addresses] == [["198.51.100.25", "2001:db8::25"]]'
sql "DELETE FROM relays WHERE name IN ('r1', 'r2', 'mbox')" > /dev/null
expect_status 200 "POST probe answers with a report" POST /api/v1/domains/example.com/probe "${O[@]}" "${J[@]}" -d '{}'
check "... naming the destination and whether it worked" jqe '.host == "127.0.0.1" and .port == 2526 and (.ok | type == "boolean")'
expect_status 403 "read token may not probe" POST /api/v1/domains/example.com/probe "${R[@]}" "${J[@]}" -d '{}'
expect_status 409 "temp-pop3 on a pop3 domain: 409" POST /api/v1/domains/b.example/temp-pop3 "${O[@]}" "${J[@]}" -d '{"mailboxes":["x"]}'
expect_status 422 "temp-pop3 without mailboxes: 422" POST /api/v1/domains/example.com/temp-pop3 "${O[@]}" "${J[@]}" -d '{}'
expect_status 422 "temp-pop3 with a bad local part: 422" POST /api/v1/domains/example.com/temp-pop3 "${O[@]}" "${J[@]}" -d '{"mailboxes":["a b"]}'
expect_status 422 "temp-pop3 with an unknown field: 422" POST /api/v1/domains/example.com/temp-pop3 "${O[@]}" "${J[@]}" -d '{"mailboxes":["x"],"everyone":true}'
check "refused temp-pop3s changed nothing" test "$(sql "SELECT count(*) FROM mailboxes m JOIN domains d ON d.id = m.domain_id WHERE d.name='example.com'")|$(sql "SELECT temp_pop3_since IS NULL FROM domains WHERE name='example.com'")" = "0|t"
expect_status 200 "temp-pop3 with a mailbox and a catch-all" POST /api/v1/domains/example.com/temp-pop3 "${O[@]}" "${J[@]}" -d '{"mailboxes":["info"],"catch_all":true}'
check "... the passwords, shown once" jqe '[.mailboxes[] | .address, (.password | length > 8)] == ["info@example.com", true, "catch-all@example.com", true]'
check "... the domain is in temporary POP3, actor recorded" test "$(sql "SELECT temp_pop3_by FROM domains WHERE name='example.com'")" = t-oper
expect_status 409 "temp-pop3 twice: 409" POST /api/v1/domains/example.com/temp-pop3 "${O[@]}" "${J[@]}" -d '{"mailboxes":["x"]}'
expect_status 422 "switch without \"to\": 422" POST /api/v1/domains/example.com/switch "${O[@]}" "${J[@]}" -d '{}'
check "... naming the field" jqe '.errors[0].field == "to"'
expect_status 422 "switch with mailbox not a list: 422" POST /api/v1/domains/example.com/switch "${O[@]}" "${J[@]}" -d '{"to":"pop3","mailbox":"info"}'
check "... naming the field" jqe '.errors[0].field == "mailbox"'
expect_status 422 "temp-pop3 with a number for a local part: 422" POST /api/v1/domains/example.com/temp-pop3 "${O[@]}" "${J[@]}" -d '{"mailboxes":[7]}'
check "... naming the field" jqe '.errors[0].field == "mailboxes"'
expect_status 422 "switch with an unknown field: 422" POST /api/v1/domains/example.com/switch "${O[@]}" "${J[@]}" -d '{"to":"pop3","everyone":true}'
expect_status 422 "revert with keep_days 0: 422" POST /api/v1/domains/example.com/revert "${O[@]}" "${J[@]}" -d '{"keep_days":0}'
v=$(sql "SELECT version FROM domains WHERE name='example.com'")
expect_status 200 "revert: back to the feed" POST /api/v1/domains/example.com/revert "${O[@]}" "${J[@]}" -d '{}'
check "... a forward job per temporary mailbox" jqe '.revert.mailboxes == "forward" and .revert.jobs == 2'
check "... one new version, temp_pop3 cleared" test "$(sql "SELECT version - $v, temp_pop3_since IS NULL FROM domains WHERE name='example.com'")" = "1|t"
expect_status 200 "the domain's jobs after the revert" GET /api/v1/domains/example.com/jobs "${R[@]}"
check "... list the revert's jobs, pending, by the operator" \
	jqe '[.jobs[] | select(.domain == "example.com" and .state == "pending" and .created_by == "t-oper")] | length == 2'
check "... and only this domain's" jqe '.jobs | all(.domain == "example.com")'
expect_status 409 "revert twice: 409" POST /api/v1/domains/example.com/revert "${O[@]}" "${J[@]}" -d '{}'
expect_status 409 "switch while the revert's mailbox jobs wait: 409" POST /api/v1/domains/example.com/switch "${O[@]}" "${J[@]}" -d '{"to":"pop3","catch_all":true}'
check "... naming the jobs" jqe '.detail | test("mailbox jobs? to run")'
check "refused switches changed nothing" test "$(sql "SELECT version - $v, mode FROM domains WHERE name='example.com'")" = "1|feed"
expect_status 201 "create a feed domain to turn into a backup MX" POST /api/v1/domains "${O[@]}" "${J[@]}" \
	-d '{"name":"bk-api.example","mode":"feed","destination":{"host":"127.0.0.1","port":2599},"force":true}'
bk0=$(sql "SELECT version || ' ' || mode || ' ' || (SELECT count(*) FROM audit WHERE domain='bk-api.example') FROM domains WHERE name='bk-api.example'")
expect_status 200 "switch with \"dry_run\": the plan" POST /api/v1/domains/bk-api.example/switch "${O[@]}" "${J[@]}" -d '{"to":"backup","dry_run":true}'
check "... what would happen: feed to backup, no probe, queue.days 2 -> 8" \
	jq_out '.domain == "bk-api.example" and .plan.verb == "switch-backup" and .plan.from == "feed" and .plan.to == "backup" and .plan.probe == "none" and .plan.queue_days == {"old": 2, "new": 8} and (has("switch") | not)'
check "... and nothing changed (version, mode, audit)" \
	test "$(sql "SELECT version || ' ' || mode || ' ' || (SELECT count(*) FROM audit WHERE domain='bk-api.example') FROM domains WHERE name='bk-api.example'")" = "$bk0"
expect_status 409 "a dry run is refused as the switch would be" POST /api/v1/domains/bk-api.example/switch "${O[@]}" "${J[@]}" -d '{"to":"feed","dry_run":true}'
check "... with the switch's message" jq_out '.detail | test("is a feed domain already")'
expect_status 200 "switch to backup, keeping the destination (no probe)" POST /api/v1/domains/bk-api.example/switch "${O[@]}" "${J[@]}" -d '{"to":"backup"}'
check "... no probe ran, no mailbox job" jqe '.switch.probe == null and .switch.jobs == 0'
check "... now backup, queue.days the backup default" test "$(sql "SELECT mode || ' ' || queue_days FROM domains WHERE name='bk-api.example'")" = "backup 8"
expect_status 409 "switch to backup twice: 409" POST /api/v1/domains/bk-api.example/switch "${O[@]}" "${J[@]}" -d '{"to":"backup"}'
expect_status 422 "switch to an unknown mode: 422" POST /api/v1/domains/bk-api.example/switch "${O[@]}" "${J[@]}" -d '{"to":"relay"}'
check "... naming the field" jqe '.errors[0].field == "to"'
expect_status 501 "GET queue with no relay registered: 501" GET /api/v1/domains/example.com/queue "${R[@]}"
check "... saying so" jqe '.detail | test("no relay has registered")'
expect_status 501 "POST flush with no relay registered: 501" POST /api/v1/domains/example.com/flush "${O[@]}" "${J[@]}" -d '{}'
v=$(sql "SELECT version FROM domains WHERE name='example.com'")
for bad in '{"days":0}' '{"days":32}' '{"days":"3"}' '{"colour":1}' '{"until":"2001-01-01"}' '{"days":3,"until":"2031-01-01"}' '{"until":"soon"}'; do
	expect_status 422 "extend $bad: 422" POST /api/v1/domains/example.com/extend "${O[@]}" "${J[@]}" -d "$bad"
done
check "refused extends changed nothing" test "$(sql "SELECT version||' '||(queue_extended_until IS NULL) FROM domains WHERE name='example.com'")" = "$v true"
expect_status 403 "read token may not extend" POST /api/v1/domains/example.com/extend "${R[@]}" "${J[@]}" -d '{"days":3}'
expect_status 200 "extend by 3 days" POST /api/v1/domains/example.com/extend "${O[@]}" "${J[@]}" -H "X-Ticket: T-ext" -d '{"days":3}'
check "queue.extended_until is 3 days ahead" test "$(sql "SELECT round(extract(epoch FROM queue_extended_until - now()) / 86400) FROM domains WHERE name='example.com'")" = 3
check "... recorded as an extend with the ticket" test "$(sql "SELECT action||' '||ticket FROM audit WHERE domain='example.com' ORDER BY id DESC LIMIT 1")" = "extend T-ext"
expect_status 403 "read token may not switch" POST /api/v1/domains/example.com/switch "${R[@]}" "${J[@]}" -d '{}'

# --- If-Match on the switching verbs (optional; strong comparison) ------
expect_status 201 "create a feed domain for If-Match on the verbs" POST /api/v1/domains "${O[@]}" "${J[@]}" \
	-d '{"name":"im.example","mode":"feed","destination":{"host":"127.0.0.1","port":2599},"force":true}'
imstate() { sql "SELECT version || ' ' || mode || ' ' || (temp_pop3_since IS NULL) || ' ' || (queue_extended_until IS NULL) || ' ' || (SELECT count(*) FROM audit WHERE domain='im.example') || ' ' || (SELECT count(*) FROM mailboxes m WHERE m.domain_id = d.id) FROM domains d WHERE name='im.example'"; }
# route body: each verb refuses a stale, a weak and a malformed tag and
# writes nothing, then takes the current one
im_verb() {
	local route=$1 body=$2 v s0
	v=$(sql "SELECT version FROM domains WHERE name='im.example'")
	s0=$(imstate)
	expect_status 412 "$route with a stale If-Match: 412" POST "/api/v1/domains/im.example/$route" "${O[@]}" "${J[@]}" -H "If-Match: \"$((v + 5))\"" -d "$body"
	check "... problem+json saying who changed it" bash -c "$(declare -f hdr is_problem); T=$T status=412; is_problem && jq -e '.detail | test(\"t-oper\")' $T/out > /dev/null"
	expect_status 412 "$route with a weak If-Match: 412" POST "/api/v1/domains/im.example/$route" "${O[@]}" "${J[@]}" -H "If-Match: W/\"$v\"" -d "$body"
	check "... naming the weak tag" jqe '.detail | test("weak")'
	expect_status 400 "$route with a malformed If-Match: 400" POST "/api/v1/domains/im.example/$route" "${O[@]}" "${J[@]}" -H "If-Match: $v" -d "$body"
	check "$route: refusals stored nothing (version, mode, audit, mailboxes)" test "$(imstate)" = "$s0"
	expect_status 200 "$route with the current If-Match: 200" POST "/api/v1/domains/im.example/$route" "${O[@]}" "${J[@]}" -H "If-Match: \"$v\"" -d "$body"
	check "... one new version" test "$(sql "SELECT version - $v FROM domains WHERE name='im.example'")" = 1
}
im_verb extend '{"days":2}'
im_verb switch '{"to":"backup"}'
im_verb temp-pop3 '{"mailboxes":["info"]}'
im_verb revert '{"keep_days":3}'
v=$(sql "SELECT version FROM domains WHERE name='im.example'")
expect_status 200 "extend with If-Match: * takes any version" POST /api/v1/domains/im.example/extend "${O[@]}" "${J[@]}" -H 'If-Match: *' -d '{"days":4}'
expect_status 200 "extend without If-Match: as before, no version check" POST /api/v1/domains/im.example/extend "${O[@]}" "${J[@]}" -d '{"days":5}'
check "... both stored" test "$(sql "SELECT version - $v FROM domains WHERE name='im.example'")" = 2

# --- scoped tokens ------------------------------------------------------
SC=(-H "Authorization: Bearer $(token t-cust --role operator --domain b.example)")
vex=$(sql "SELECT version FROM domains WHERE name='example.com'")
expect_status 200 "scoped token reads its domain" GET /api/v1/domains/b.example "${SC[@]}"
expect_status 404 "scoped token: another domain is 404" GET /api/v1/domains/example.com "${SC[@]}"
check "same answer as a missing domain" jqe '.detail == "no such domain"' "$T/out"
expect_status 200 "scoped token lists" GET /api/v1/domains "${SC[@]}"
check "the list holds only its domain" test "$(jq -c '[.domains[].name]' "$T/out")" = '["b.example"]'
expect_status 404 "scoped token cannot PATCH another domain" PATCH /api/v1/domains/example.com "${SC[@]}" "${MP[@]}" -H 'If-Match: "3"' -d '{"greylisting":true}'
expect_status 404 "scoped token cannot read another domain's history" GET /api/v1/domains/example.com/history "${SC[@]}"
expect_status 404 "scoped token cannot read another domain's rules" GET /api/v1/domains/example.com/rules "${SC[@]}"
expect_status 403 "scoped token cannot create outside its scope" POST /api/v1/domains "${SC[@]}" "${J[@]}" -d '{"name":"new.example","mode":"pop3"}'
check "example.com untouched by the scoped token" test "$(sql "SELECT version FROM domains WHERE name='example.com'")" = "$vex"

# --- idempotency --------------------------------------------------------
IK=(-H "Idempotency-Key: ticket-4711")
expect_status 201 "create with an Idempotency-Key" POST /api/v1/domains "${O[@]}" "${J[@]}" "${IK[@]}" -d '{"name":"idem.example","mode":"pop3"}'
first=$(cat "$T/out")
expect_status 201 "the retry replays 201" POST /api/v1/domains "${O[@]}" "${J[@]}" "${IK[@]}" -d '{"name":"idem.example","mode":"pop3"}'
check "the replay is marked" test "$(hdr Idempotent-Replayed)" = true
check "the replay has the same body" test "$(cat "$T/out")" = "$first"
check "the replay has the first answer's Location" test "$(hdr Location)" = /api/v1/domains/idem.example
check "the replay has the first answer's ETag" test "$(hdr ETag)" = '"1"'
check "one domain, one audit row" test "$(sql "SELECT count(*) FROM audit WHERE domain='idem.example'")" = 1
expect_status 422 "the key with a different body: 422" POST /api/v1/domains "${O[@]}" "${J[@]}" "${IK[@]}" -d '{"name":"idem2.example","mode":"pop3"}'
check "idem2 was not created" test "$(sql "SELECT count(*) FROM domains WHERE name='idem2.example'")" = 0
expect_status 409 "another token's same key is its own: 409 for the existing domain" POST /api/v1/domains "${A[@]}" "${J[@]}" "${IK[@]}" -d '{"name":"idem.example","mode":"pop3"}'
"$FEEDCTL" add idem3.example --mode feed --force --dest 127.0.0.1:2526 > /dev/null
IK3=(-H "Idempotency-Key: ticket-4712")
expect_status 200 "temp-pop3 with an Idempotency-Key" POST /api/v1/domains/idem3.example/temp-pop3 "${O[@]}" "${J[@]}" "${IK3[@]}" -d '{"mailboxes":["info"]}'
check "... shows the password" jqe '.mailboxes[0].password | length > 8'
expect_status 409 "its retry says it was done, without the password" POST /api/v1/domains/idem3.example/temp-pop3 "${O[@]}" "${J[@]}" "${IK3[@]}" -d '{"mailboxes":["info"]}'
check "... marked as a replay" test "$(hdr Idempotent-Replayed)" = true
check "... saying the passwords are shown once" jqe '.detail | test("shown once")'
check "no password is kept with the idempotency key" \
	test "$(sql "SELECT count(*) FROM idempotency_keys WHERE response LIKE '%' || chr(34) || 'password' || chr(34) || '%'")" = 0

# two requests with one new key at once run once: the key is reserved
# before the request runs; the others replay it or hear "in progress"
pids=()
for i in $(seq 8); do
	curl -s -o "$T/ik.$i" -D "$T/ikh.$i" -w '%{http_code}\n' "${O[@]}" "${J[@]}" -H "Idempotency-Key: race-4713" \
		-d '{"name":"idemrace.example","mode":"pop3"}' "$BASE/api/v1/domains" > "$T/iks.$i" &
	pids+=($!)
done
wait "${pids[@]}"
ikok=yes
for i in $(seq 8); do
	case $(cat "$T/iks.$i") in
	201) ;;
	409) jq -e '.detail | test("in progress")' "$T/ik.$i" > /dev/null || { ikok=no; cat "$T/ik.$i"; } ;;
	*) ikok=no; cat "$T/iks.$i" ;;
	esac
done
check "8 parallel POSTs with one new key: each 201 or 409 in progress" test $ikok = yes
check "... exactly one ran (one audit row)" test "$(sql "SELECT count(*) FROM audit WHERE domain='idemrace.example'")" = 1
fresh=0
for i in $(seq 8); do
	[ "$(cat "$T/iks.$i")" = 201 ] && ! grep -qi '^Idempotent-Replayed: true' "$T/ikh.$i" && fresh=$((fresh + 1))
done
check "... exactly one 201 is not a replay ($fresh)" test "$fresh" = 1
expect_status 201 "after the race the key replays 201" POST /api/v1/domains "${O[@]}" "${J[@]}" -H "Idempotency-Key: race-4713" -d '{"name":"idemrace.example","mode":"pop3"}'
check "... with its Location" test "$(hdr Location)" = /api/v1/domains/idemrace.example
rm -f "$T"/ik.* "$T"/ikh.* "$T"/iks.*

# --- a token scoped to another domain: 404 on every route, before roles --
# The domain routes are read from the route table itself, so that a new
# route is covered too.  A read-only token would get 403 on the changing
# ones if the role were checked first; it must not even learn that the
# domain exists.
RS=(-H "Authorization: Bearer $(token t-rscope --role read --domain b.example)")
routes=$(sed -n 's/^\t{ "\([A-Z]*\)", API_DOMAIN, NULL,.*/\1 -/p; s/^\t{ "\([A-Z]*\)", API_DOMAIN_SUB, "\([a-z0-9-]*\)",.*/\1 \2/p' "$TOP/fcgi/api.c")
check "the route table has at least 14 domain routes" test "$(echo "$routes" | wc -l)" -ge 14
vex=$(sql "SELECT version FROM domains WHERE name='example.com'")
a0=$(count audit)
while read -r m sub; do
	p=/api/v1/domains/example.com
	[ "$sub" = - ] || p=$p/$sub
	expect_status 404 "read token scoped to b.example: $m $p is 404" "$m" "$p" "${RS[@]}" "${J[@]}" -H 'If-Match: "1"' -d '{}'
	jqe '.detail == "no such domain"' "$T/out" || tap_fail "$m $p: not the missing-domain answer"
done <<< "$routes"
check "... nothing changed by them" test "$(sql "SELECT version FROM domains WHERE name='example.com'")/$(count audit)" = "$vex/$a0"

# --- remove -------------------------------------------------------------
expect_status 403 "operator may not remove" DELETE /api/v1/domains/e.example "${O[@]}"
expect_status 412 "remove with a stale If-Match: 412" DELETE /api/v1/domains/e.example "${A[@]}" -H 'If-Match: "7"'
expect_status 400 "remove with an unknown query parameter: 400" DELETE '/api/v1/domains/e.example?colour=1' "${A[@]}"
expect_status 400 "remove with bounce_queue=maybe: 400" DELETE '/api/v1/domains/e.example?bounce_queue=maybe' "${A[@]}"
expect_status 501 "remove with bounce_queue=true with no relay registered: 501" DELETE '/api/v1/domains/e.example?bounce_queue=true' "${A[@]}"
check "... and e.example is still there" test "$(sql "SELECT count(*) FROM domains WHERE name='e.example'")" = 1
expect_status 204 "admin removes" DELETE /api/v1/domains/e.example "${A[@]}" -H 'If-Match: "1"'
expect_status 404 "gone" GET /api/v1/domains/e.example "${A[@]}"
expect_status 409 "a domain with mailboxes cannot be removed: 409" DELETE /api/v1/domains/b.example "${A[@]}"
check "b.example still there" test "$(sql "SELECT count(*) FROM domains WHERE name='b.example'")" = 1
# the audit outlives the domain, through the API as in feedctl history
expect_status 200 "history of a removed domain" GET /api/v1/domains/e.example/history "${R[@]}"
check "... has its remove and create rows" test "$(jq -c '[.history[] | .action]' "$T/out")" = '["remove","create"]'
check "... with the remover" test "$(jq -r '.history[0].actor' "$T/out")" = t-admin
expect_status 404 "a scoped token still gets 404 for a removed domain's history" GET /api/v1/domains/e.example/history "${SC[@]}"
expect_status 404 "a name that never existed has no history: 404" GET /api/v1/domains/never.example/history "${R[@]}"
expect_status 404 "other reads of a removed domain stay 404" GET /api/v1/domains/e.example/jobs "${R[@]}"

# --- concurrency --------------------------------------------------------
pids=()
for i in $(seq 20); do
	curl -s -o /dev/null -w '%{http_code}\n' "${O[@]}" "${J[@]}" \
		-d '{"name":"race.example","mode":"pop3"}' "$BASE/api/v1/domains" > "$T/race.$i" &
	pids+=($!)
done
wait "${pids[@]}"  # not a bare wait: mxfeed-fcgi is our child too
check "20 parallel creates: exactly one 201" test "$(cat "$T"/race.* | grep -c '^201$')" = 1
check "... and 19 x 409" test "$(cat "$T"/race.* | grep -c '^409$')" = 19
rm -f "$T"/race.*
pids=()
for i in $(seq 20); do
	curl -s -o /dev/null -w '%{http_code}\n' -X PATCH "${O[@]}" "${MP[@]}" -H 'If-Match: "1"' \
		-d "{\"max_message_mb\":$((i + 10))}" "$BASE/api/v1/domains/race.example" > "$T/race.$i" &
	pids+=($!)
done
wait "${pids[@]}"
check "20 parallel PATCHes with one If-Match: exactly one 200" test "$(cat "$T"/race.* | grep -c '^200$')" = 1
check "... and 19 x 412" test "$(cat "$T"/race.* | grep -c '^412$')" = 19
check "version 2 after the race" test "$(sql "SELECT version FROM domains WHERE name='race.example'")" = 2

# --- the database goes away and comes back ------------------------------
bash "$TOP/contrib/pgcluster.sh" "$T/pg" stop > /dev/null 2>&1
expect_status 503 "database down: GET is 503" GET /api/v1/domains/example.com "${R[@]}"
check "503 has Retry-After" test -n "$(hdr Retry-After)"
check "503 is problem+json" is_problem
expect_status 503 "database down: PATCH is 503" PATCH /api/v1/domains/example.com "${O[@]}" "${MP[@]}" -H 'If-Match: "3"' -d '{"greylisting":true}'
expect_status 503 "database down: healthz is 503" GET /healthz
check "mxfeed-fcgi is still running" kill -0 "$FCGI_PID"
bash "$TOP/contrib/pgcluster.sh" "$T/pg" start > /dev/null 2>&1
ok=no
for _ in $(seq 20); do
	http GET /api/v1/domains/example.com "${R[@]}"
	[ "$status" = 200 ] && ok=yes && break
	sleep 0.5
done
check "database back: served again without a restart" test $ok = yes
expect_status 200 "every worker recovered: 8 reads in a row" GET /healthz
for _ in $(seq 8); do
	http GET /api/v1/domains/example.com "${R[@]}"
	[ "$status" = 200 ] || tap_fail "a worker still fails after recovery ($status)"
done
check "the access log escapes what clients send" \
	bash -c "curl -s -o /dev/null '$BASE/api/v1/%0aFAKE' && ! grep -q '^FAKE' '$T/fcgi.log'"

tap_done
