#!/bin/bash
# test_record.sh - the domain record's corrections of issue 14, through
# feedctl and the API (nginx + mxfeed-fcgi) over a private PostgreSQL
#
# A name with one trailing dot is the same domain; a JSON string with
# \u0000 is a field-level 422; feedctl's tables print values, not JSON;
# a domain's own GET document goes back unchanged through PATCH and
# apply (pop3 too); pop3 -> feed moves a default queue lifetime to the
# feed default and keeps one that was set.  Every refusal stores nothing.
set -u
. "$(dirname "$0")/../lib.sh"
pg_setup
web_setup
F=$FEEDCTL

token() { "$FEEDCTL" token create "$@" --json | jq -r .token; }
ADMIN=$(token t-admin --role admin)
A=(-H "Authorization: Bearer $ADMIN")
J=(-H "Content-Type: application/json")
MP=(-H "Content-Type: application/merge-patch+json")
jqe() { jq -e "$@" "$T/out" > /dev/null; }
count() { sql "SELECT count(*) FROM domains"; }

# --- (a) one trailing dot: the same domain ------------------------------
expect_exit 0 "add with one trailing dot (as pasted from a zone file)" \
	$F add dot.example. --mode pop3
check "... stored without the dot" test "$(sql "SELECT name FROM domains WHERE name LIKE 'dot.%'")" = dot.example
expect_exit 0 "show finds it by the name without the dot" $F show dot.example --json
check "... named without the dot" jqe '.name == "dot.example"' "$T/out"
expect_exit 0 "show finds it by the name with the dot" $F show dot.example. --json
expect_exit 4 "a second add with the dot conflicts" $F add dot.example. --mode pop3
check "... says it exists" err_has "already exists"
expect_exit 4 "a second add without the dot conflicts" $F add dot.example --mode pop3
expect_exit 2 "two trailing dots are refused" $F add dots.example.. --mode pop3
check "... saying why" err_has "trailing dot"
check "nothing else was stored" test "$(count)" = 1
expect_status 201 "API: create with one trailing dot" POST /api/v1/domains "${A[@]}" "${J[@]}" \
	-d '{"name":"apidot.example.","mode":"pop3"}'
check "... Location without the dot" test "$(hdr Location)" = /api/v1/domains/apidot.example
expect_status 409 "API: a second create without the dot conflicts" POST /api/v1/domains "${A[@]}" "${J[@]}" \
	-d '{"name":"apidot.example","mode":"pop3"}'
expect_status 200 "API: GET by the name with the dot" GET /api/v1/domains/apidot.example. "${A[@]}"
check "... is the same record" jqe '.name == "apidot.example"' "$T/out"

# --- (b) \u0000 in a JSON string: 422 naming the field -------------------
expect_status 422 "API: NUL in a spam text is a field-level 422" PATCH /api/v1/domains/dot.example \
	"${A[@]}" "${MP[@]}" -H 'If-Match: "1"' -d '{"spam":{"low":{"text":"a\u0000b"}}}'
check "... naming spam.low.text" jqe '.errors | any(.field == "spam.low.text")' "$T/out"
check "... stored nothing" test "$(sql "SELECT version||spam_low_text FROM domains WHERE name='dot.example'")" = "1[SPAM: low] "
expect_status 422 "API: NUL in a name is a field-level 422" POST /api/v1/domains "${A[@]}" "${J[@]}" \
	-d '{"name":"nul\u0000.example","mode":"pop3"}'
check "... naming name" jqe '.errors | any(.field == "name")' "$T/out"
expect_status 422 "API: NUL in a fallback host names fallbacks" POST /api/v1/domains "${A[@]}" "${J[@]}" \
	-d '{"name":"fb.example","mode":"feed","destination":{"host":"127.0.0.1"},"fallbacks":[{"host":"127.0.0.2\u0000"}]}'
check "... naming the field" jqe '.errors | any(.field | startswith("fallbacks"))' "$T/out"
check "nothing was stored" test "$(count)" = 2
printf '{"name":"dot.example","greylisting":false,"spam":{"high":{"text":"x\\u0000"}}}' > "$T/nul.json"
expect_exit 2 "apply: NUL in a text is an invalid value (exit 2)" $F apply -f "$T/nul.json"
check "... naming the field" err_has "spam.high.text"
check "... and changed nothing" test "$(sql "SELECT greylisting FROM domains WHERE name='dot.example'")" = t

# --- (c) tables print values, not JSON ---------------------------------
expect_exit 0 "add a feed domain (nothing listens: --force)" $F add tab.example --mode feed --dest 127.0.0.1:2526 --force
expect_exit 0 "rule add with a backslash" $F rule add tab.example block sender-regex '^spam@.*\.test$'
expect_exit 0 "rule list" $F rule list tab.example
check "the regex is printed as typed" out_has '^spam@.*\.test$'
check "... not JSON-escaped" bash -c "! grep -qF '\\\\' '$T/out'"
expect_exit 0 "a scoped token" $F token create t-scoped --role operator --domain tab.example --domain dot.example
expect_exit 0 "token list" $F token list
check "its domains are a list of names" grep -qE 't-scoped .*(dot\.example,tab\.example|tab\.example,dot\.example)' "$T/out"
check "... not a JSON array" bash -c "! grep -qF '[\"' '$T/out'"
expect_exit 0 "show prints the subject text as a value" $F set tab.example 'spam.low.text=[a\b] '
run $F show tab.example
check "... unescaped, quoted" out_has '"[a\b] "'

# --- (d) a domain's own JSON goes back unchanged ------------------------
for d in dot.example tab.example; do
	expect_status 200 "GET $d" GET /api/v1/domains/$d "${A[@]}"
	cp "$T/out" "$T/$d.json"
	v=$(jq -r .version "$T/$d.json")
	expect_status 200 "PATCH $d with its own GET document" PATCH /api/v1/domains/$d \
		"${A[@]}" "${MP[@]}" -H "If-Match: \"$v\"" --data-binary @"$T/$d.json"
	check "... changes nothing (same version)" jqe --argjson v "$v" '.version == $v' "$T/out"
	expect_exit 0 "feedctl apply of $d's GET document" $F apply -f "$T/$d.json"
	check "... is a no-op" test "$(sql "SELECT version FROM domains WHERE name='$d'")" = "$v"
done
jq '.version = 99' "$T/dot.example.json" > "$T/changed.json"
expect_status 422 "a changed read-only member is still refused" PATCH /api/v1/domains/dot.example \
	"${A[@]}" "${MP[@]}" -H 'If-Match: "1"' --data-binary @"$T/changed.json"
check "... naming version" jqe '.errors | any(.field == "version")' "$T/out"
expect_status 422 "fallbacks on a pop3 domain are still refused" PATCH /api/v1/domains/dot.example \
	"${A[@]}" "${MP[@]}" -H 'If-Match: "1"' -d '{"fallbacks":["127.0.0.2"]}'

# --- (e) pop3 -> feed: the queue lifetime follows the mode --------------
expect_exit 0 "a pop3 domain (5-day queue by default)" $F add sw1.example --mode pop3
expect_exit 0 "a pop3 domain with queue.days set" $F add sw2.example --mode pop3 queue.days=7
for d in sw1.example sw2.example; do
	expect_exit 0 "switch $d to feed" $F switch $d --to feed --dest 127.0.0.1:2599 --force --mailboxes forward
done
check "the default lifetime became the feed default (2 days)" \
	test "$(sql "SELECT queue_days FROM domains WHERE name='sw1.example'")" = 2
check "a lifetime set explicitly stays" \
	test "$(sql "SELECT queue_days FROM domains WHERE name='sw2.example'")" = 7

tap_done
