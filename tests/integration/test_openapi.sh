#!/bin/bash
# test_openapi.sh - GET /api/v1/openapi.json through a real nginx and
# mxfeed-fcgi (issue 16 item 7)
#
# The document is valid JSON and OpenAPI 3.1 by openapi_check.py
# (structure, every "$ref" resolving, every schema a valid JSON Schema
# 2020-12: no network, python3-jsonschema's meta-schema); every row of
# fcgi/api.c's routes[] (read from the source) is an operation with its
# method, role, success status and the problem answers it gives; every
# row of lib/fields.def is a member of the Domain, DomainPatch and
# DomainCreate schemas with its type, bounds and enum names.  Real
# answers validate against the schemas the document names for them (a
# GET of a domain, a list, a PATCH's answer, a problem, history, rules,
# mailboxes, jobs, relays), and a body the
# service refuses with 422 is refused by the request schema too.  The
# checker is shown to fail on a document missing a route or a field.
set -u
. "$(dirname "$0")/../lib.sh"
pg_setup
web_setup

OP=$("$FEEDCTL" token create t-op --role operator --json | jq -r .token)
O=(-H "Authorization: Bearer $OP")
CHK="$TOP/tests/integration/openapi_check.py"
D="$T/openapi.json"
jqd() { jq -e "$1" "$D" > /dev/null; }

expect_status 200 "openapi.json answers without a token" GET /api/v1/openapi.json
check "it is JSON" jq_out .
cp "$T/out" "$D"
check "openapi is 3.1.0" jq_out '.openapi == "3.1.0"'

# Every row of routes[] in fcgi/api.c, read from the source: the
# document is built from the same table at run time, so this checks the
# generation, and a route added to the table shows up here on its own.
declare -A base=([API_DOMAINS]=/api/v1/domains [API_DOMAIN]='/api/v1/domains/{name}'
	[API_DOMAIN_SUB]='/api/v1/domains/{name}/' [API_RELAYS]=/api/v1/relays
	[API_RELAY_ADDRS]=/api/v1/relays/addresses
	[API_QUARANTINED]='/api/v1/domains/{name}/quarantine/{id}/')
rows=$(sed -n '/^static const struct route routes\[\] = {/,/^};/p' "$TOP/fcgi/api.c" |
	sed -n 's/^[[:space:]]*{ "\([A-Z]*\)", \(API_[A-Z_]*\), \(NULL\|"[a-z0-9-]*"\), ROLE_\([A-Z]*\),.*/\1 \2 \3 \4/p')
nrows=$(printf '%s\n' "$rows" | grep -c .)
check "the route table was read ($nrows rows)" test "$nrows" -ge 20
: > "$T/routes"
missing=
while read -r m shape sub role; do
	p=${base[$shape]}
	[ "$sub" != NULL ] && p="$p${sub//\"/}"
	echo "$m $p" >> "$T/routes"
	want_role=$(echo "$role" | tr 'A-Z' 'a-z')
	[ "$shape" = API_RELAY_ADDRS ] && want_role=none
	got=$(jq -r --arg p "$p" --arg m "${m,,}" \
		'.paths[$p][$m] | select(.summary != null and .summary != "") | (."x-mxfeed-role" // "none")' "$D")
	[ "$got" = "$want_role" ] || missing="$missing $m:$p($got)"
done <<< "$rows"
echo "GET /api/v1/openapi.json" >> "$T/routes"
check "every route is in the document with its method, summary and role${missing:+ (wrong:$missing)}" \
	test -z "$missing"
check "nothing more: one operation per row, plus the document itself" \
	test "$(jq '[.paths[] | keys[]] | length' "$D")" = $((nrows + 1))

# every row of fields.def but the command line's shorthands
sed -n '/^FIELD/{N;N;p}' "$TOP/lib/fields.def" | tr '\n' ' ' |
	sed 's/FIELD/\nFIELD/g' | grep -v FF_CLI_ONLY |
	sed -n 's/^FIELD\(_AT\)\?([A-Z_]*, "\([a-z_.]*\)".*/\2/p' > "$T/fields"
check "fields.def was read ($(wc -l < "$T/fields") settings)" test "$(wc -l < "$T/fields")" -ge 15

run python3 "$CHK" "$D" --routes "$T/routes" --fields "$T/fields"
check "openapi_check.py: OpenAPI 3.1 structure, schemas, every route and field" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/out" | head -20

# --- the checker can fail --------------------------------------------------
jq 'del(.paths["/api/v1/domains/{name}/probe"])' "$D" > "$T/noroute.json"
run python3 "$CHK" "$T/noroute.json" --routes "$T/routes"
check "a document without the probe route fails" \
	bash -c "[ $rc = 1 ] && grep -qF 'route POST /api/v1/domains/{name}/probe is not in the document' '$T/out'"
jq 'del(.components.schemas.Domain.properties.greylisting)' "$D" > "$T/nofield.json"
run python3 "$CHK" "$T/nofield.json" --fields "$T/fields"
check "a Domain schema without greylisting fails" \
	bash -c "[ $rc = 1 ] && grep -qF 'field greylisting is not in schema Domain' '$T/out'"
jq '.paths["/api/v1/domains"].get.responses["200"].content["application/json"].schema["$ref"] = "#/components/schemas/Nope"' \
	"$D" > "$T/badref.json"
run python3 "$CHK" "$T/badref.json"
check "a \$ref to nowhere fails" bash -c "[ $rc = 1 ] && grep -qF 'does not resolve' '$T/out'"
jq '.paths["/api/v1/domains/{name}"].get.parameters = []' "$D" > "$T/noparam.json"
run python3 "$CHK" "$T/noparam.json"
check "a path template without its parameter fails" bash -c "[ $rc = 1 ] && grep -qF 'path parameters [], template' '$T/out'"

# --- what the document says of the record ------------------------------------
check "Domain: greylisting is a boolean, queue.days an integer with fields.def's bounds" \
	jqd '.components.schemas.Domain.properties as $p
		| $p.greylisting.type == "boolean"
		and $p.queue.properties.days.type == "integer"
		and $p.queue.properties.days.minimum >= 1 and $p.queue.properties.days.maximum <= 31'
check "... tls.policy has the enum names, version is readOnly" \
	jqd '.components.schemas.Domain.properties as $p
		| ($p.tls.properties.policy.enum == ["may", "encrypt", "verify"])
		and $p.version.readOnly == true and $p.name.readOnly == true'
check "GET a domain answers the Domain schema, with its ETag" \
	jqd '.paths["/api/v1/domains/{name}"].get.responses["200"].content["application/json"].schema["$ref"] == "#/components/schemas/Domain"'
check "PATCH takes DomainPatch as merge-patch+json" \
	jqd '.paths["/api/v1/domains/{name}"].patch.requestBody.content["application/merge-patch+json"].schema["$ref"] == "#/components/schemas/DomainPatch"'
check "POST /domains answers 201, DELETE 204 without a body" \
	jqd '(.paths["/api/v1/domains"].post.responses | has("201"))
		and (.paths["/api/v1/domains/{name}"].delete.responses["204"] | has("content") | not)'
check "probe names its 429, a GET no 428, a token route 401 and 403" \
	jqd '(.paths["/api/v1/domains/{name}/probe"].post.responses | has("429"))
		and (.paths["/api/v1/domains"].get.responses | has("428") | not)
		and (.paths["/api/v1/domains"].get.responses | has("401") and has("403"))
		and (.paths["/api/v1/relays/addresses"].get.responses | has("401") | not)'
check "If-Match: a required header on PATCH, an optional one on switch/temp-pop3/revert/extend/DELETE, none on GET" \
	jqd '(.paths["/api/v1/domains/{name}"].patch.parameters | any(.name == "If-Match" and .in == "header" and .required == true))
		and ([.paths["/api/v1/domains/{name}/switch", "/api/v1/domains/{name}/temp-pop3", "/api/v1/domains/{name}/revert", "/api/v1/domains/{name}/extend"].post, .paths["/api/v1/domains/{name}"].delete
			| .parameters | any(.name == "If-Match" and .in == "header" and .required == false)] | all)
		and (.paths["/api/v1/domains/{name}"].get.parameters | any(.name == "If-Match") | not)'
check "each problem answer names its problem type as a const" \
	jqd '.components.responses.P412.content["application/problem+json"].schema.allOf[1].properties.type.const == "urn:mxfeed:problem:stale"'
check "every problem type the service sends is in the Problem schema (429 and 504 too)" \
	jqd '.components.schemas.Problem.properties.type.enum | index("urn:mxfeed:problem:too-many-requests") and index("urn:mxfeed:problem:timeout")'

# --- real answers against the schemas -----------------------------------------
valid() { # SCHEMA FILE
	python3 "$CHK" "$D" --validate "$1" "$2" > "$T/verr" 2>&1
}
expect_status 201 "POST a domain" POST /api/v1/domains "${O[@]}" -H 'Content-Type: application/json' \
	-d '{"name": "o1.example", "mode": "feed", "destination": {"host": "127.0.0.1", "port": 2525}, "force": true}'
echo '{"name": "o1.example", "mode": "feed", "destination": {"host": "127.0.0.1", "port": 2525}, "force": true}' > "$T/create.json"
check "that body is a DomainCreate" valid DomainCreate "$T/create.json"
check "the 201's body is a Domain" valid Domain "$T/out"
http GET /api/v1/domains/o1.example "${O[@]}"
cp "$T/out" "$T/got.json"
check "GET of a real domain validates against the Domain schema" valid Domain "$T/got.json"
[ -s "$T/verr" ] && sed 's/^/#   /' "$T/verr" | head
jq '.greylisting = "yes"' "$T/got.json" > "$T/wrong.json"
check "... and a wrong type in it does not" bash -c "! python3 '$CHK' '$D' --validate Domain '$T/wrong.json' > /dev/null"
jq 'del(.version)' "$T/got.json" > "$T/wrong.json"
check "... nor one without version" bash -c "! python3 '$CHK' '$D' --validate Domain '$T/wrong.json' > /dev/null"
http GET "/api/v1/domains?limit=5" "${O[@]}"
check "a list validates against DomainList" valid DomainList "$T/out"
echo '{"greylisting": false, "queue": {"days": 5}, "tls": {"policy": "encrypt"}, "force": true}' > "$T/patch.json"
check "a merge patch is a DomainPatch" valid DomainPatch "$T/patch.json"
expect_status 200 "... and the service takes it" PATCH /api/v1/domains/o1.example "${O[@]}" \
	-H 'Content-Type: application/merge-patch+json' -H 'If-Match: "1"' -d @"$T/patch.json"
check "its answer is a Domain" valid Domain "$T/out"
echo '{"queue": {"days": 99}}' > "$T/bad.json"
expect_status 422 "queue.days 99: the service refuses it (422)" PATCH /api/v1/domains/o1.example "${O[@]}" \
	-H 'Content-Type: application/merge-patch+json' -H 'If-Match: "2"' -d @"$T/bad.json"
check "... and so does DomainPatch (maximum from fields.def)" \
	bash -c "! python3 '$CHK' '$D' --validate DomainPatch '$T/bad.json' > /dev/null"
check "the 422 is a Problem" valid Problem "$T/out"
http GET /api/v1/domains/o1.example "${O[@]}"
check "... and nothing was stored (version 2, queue.days 5)" jq_out '.version == 2 and .queue.days == 5'
echo '{"recipients": "everyone"}' > "$T/bad.json"
expect_status 422 "recipients \"everyone\": 422" PATCH /api/v1/domains/o1.example "${O[@]}" \
	-H 'Content-Type: application/merge-patch+json' -H 'If-Match: "2"' -d @"$T/bad.json"
check "... and not in DomainPatch's enum" \
	bash -c "! python3 '$CHK' '$D' --validate DomainPatch '$T/bad.json' > /dev/null"
for sub in history:History rules:Rules mailboxes:Mailboxes jobs:Jobs; do
	http GET "/api/v1/domains/o1.example/${sub%%:*}" "${O[@]}"
	check "GET .../${sub%%:*} ($status) validates against ${sub#*:}" valid "${sub#*:}" "$T/out"
done
http GET /api/v1/relays "${O[@]}"
check "GET /relays validates against Relays" valid Relays "$T/out"
http GET /api/v1/relays/addresses
check "the relays' addresses validate against RelayAddresses" valid RelayAddresses "$T/out"
expect_status 405 "POST openapi.json is 405" POST /api/v1/openapi.json

tap_done
