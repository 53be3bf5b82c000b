#!/bin/bash
# test_api_scope.sh - what a token outside its scope, a revoked or a
# re-created token can reach through the API (issue 13): idempotent
# replays keyed on the token (finding 7), relays' last_error for staff
# tokens only (finding 10), a foreign-domain token on every domain route
# and method (404, nothing changed), revocation -> 401.
set -u
. "$(dirname "$0")/../lib.sh"
pg_setup
web_setup

F=$FEEDCTL
token() { "$F" token create "$@" --json | jq -r .token; }
J=(-H "Content-Type: application/json")
jqe() { jq -e "$@" "$T/out" > /dev/null; }

# --- finding 7: a re-created token must not replay another's answer -----
PROV=$(token prov --role operator --domain a.example)
P=(-H "Authorization: Bearer $PROV")
BODY='{"name":"a.example","mode":"feed","destination":{"host":"127.0.0.1","port":2526},"force":true}'
expect_status 201 "token prov (scope a.example) creates a.example" POST /api/v1/domains "${P[@]}" "${J[@]}" \
	-H "Idempotency-Key: K-1" -d "$BODY"
expect_status 201 "... and the same key replays its answer" POST /api/v1/domains "${P[@]}" "${J[@]}" \
	-H "Idempotency-Key: K-1" -d "$BODY"
check "... marked as a replay" test "$(hdr Idempotent-Replayed)" = true
"$F" token revoke prov > /dev/null
PROV2=$(token prov --role operator --domain b.example)
P2=(-H "Authorization: Bearer $PROV2")
http POST /api/v1/domains "${P2[@]}" "${J[@]}" -H "Idempotency-Key: K-1" -d "$BODY"
check "a re-created token of that name (scope b.example) gets no replay" test -z "$(hdr Idempotent-Replayed)"
check "... but its own scope's refusal (403)" test "$status" = 403
check "... and not a.example's record" bash -c "! grep -q '\"destination\"' '$T/out'"
expect_status 403 "... which the key now replays for it" POST /api/v1/domains "${P2[@]}" "${J[@]}" \
	-H "Idempotency-Key: K-1" -d "$BODY"
check "... as a replay of its own answer" test "$(hdr Idempotent-Replayed)" = true
expect_status 201 "the re-created token creates its own domain" POST /api/v1/domains "${P2[@]}" "${J[@]}" \
	-H "Idempotency-Key: K-2" -d "${BODY//a.example/b.example}"
check "... b.example stored, a.example once" test "$(sql "SELECT string_agg(name, ' ' ORDER BY name) FROM domains")" = "a.example b.example"

# --- finding 10: relays' last_error only for staff tokens ----------------
sql "INSERT INTO relays (name, applied_seq, last_error, heartbeat) VALUES ('mx9', 3, 'postmap failed for secret.example', now())"
STAFF=$(token staff-read --role read)
S=(-H "Authorization: Bearer $STAFF")
expect_status 200 "an unscoped token lists the relays" GET /api/v1/relays "${S[@]}"
check "... with last_error" jqe '.relays | any(.name == "mx9" and .last_error == "postmap failed for secret.example")'
SCOPED=$(token cust-read --role read --domain b.example)
C=(-H "Authorization: Bearer $SCOPED")
expect_status 200 "a scoped token lists the relays" GET /api/v1/relays "${C[@]}"
check "... with name and applied sequence" jqe '.relays | any(.name == "mx9" and .applied_seq == 3)'
check "... but no last_error" jqe '.relays | all(has("last_error") | not)'
check "... nor the other domain's name anywhere" bash -c "! grep -q secret.example '$T/out'"

# --- an admin token of another domain, on every domain route -------------
# test_api.sh does this with a read token and empty bodies; here the
# token could do everything and each body would be carried out, so only
# the scope check stands between it and a.example.
ADM_B=$(token adm-b --role admin --domain b.example)
AB=(-H "Authorization: Bearer $ADM_B")
body_for() {
	case "$1 $2" in
	"PATCH -") echo '{"greylisting":false}' ;;
	"POST extend") echo '{"days":3}' ;;
	"POST temp-pop3") echo '{"mailboxes":["info"]}' ;;
	"POST switch") echo '{"to":"backup","force":true}' ;;
	*) echo '{}' ;;
	esac
}
snapshot() {
	sql "SELECT version||' '||mode||' '||greylisting||' '||queue_days||' '||coalesce(queue_extended_until::text,'-') FROM domains WHERE name='a.example'"
	sql "SELECT count(*) FROM audit"
	sql "SELECT count(*) FROM jobs"
	sql "SELECT count(*) FROM mailboxes"
}
routes=$(sed -n 's/^\t{ "\([A-Z]*\)", API_DOMAIN, NULL,.*/\1 -/p; s/^\t{ "\([A-Z]*\)", API_DOMAIN_SUB, "\([a-z0-9-]*\)",.*/\1 \2/p' "$TOP/fcgi/api.c")
for want in "POST switch" "POST temp-pop3" "POST revert" "POST extend" "POST flush" "POST probe" "GET jobs" "GET mailboxes" "GET queue" "DELETE -" "PATCH -"; do
	grep -qx "$want" <<< "$routes" || tap_fail "route $want is not in the route table"
done
before=$(snapshot)
while read -r m sub; do
	p=/api/v1/domains/a.example
	[ "$sub" = - ] || p=$p/$sub
	expect_status 404 "admin token of b.example: $m $p is 404" "$m" "$p" "${AB[@]}" "${J[@]}" \
		-H 'If-Match: "1"' -d "$(body_for "$m" "$sub")"
	jq -e '.detail == "no such domain"' "$T/out" > /dev/null || tap_fail "$m $p: not the missing-domain answer"
	grep -q '"mode"\|"messages"\|"history"' "$T/out" && tap_fail "$m $p: shows a.example's data"
done <<< "$routes"
check "... nothing changed by them (domain, audit, jobs, mailboxes)" test "$(snapshot)" = "$before"
expect_status 200 "the same token on its own domain works" GET /api/v1/domains/b.example "${AB[@]}"

# --- a revoked token: 401, nothing changed --------------------------------
RV=$(token rv --role operator)
RVH=(-H "Authorization: Bearer $RV")
expect_status 200 "a token works before it is revoked" GET /api/v1/domains/a.example "${RVH[@]}"
"$F" token revoke rv > /dev/null
# each worker may remember a token it checked for five seconds
# (AUTH_CACHE_TTL, INSTALL section 7): past that window none accepts it
sleep 6
http GET /api/v1/domains/a.example "${RVH[@]}"
check "after token revoke: 401" test "$status" = 401
check "... saying the token is unknown" jq_out '.detail == "unknown token"'
before=$(snapshot)
for _ in 1 2 3 4 5 6; do # every worker, whatever it remembered
	http PATCH /api/v1/domains/a.example "${RVH[@]}" -H "Content-Type: application/merge-patch+json" \
		-H 'If-Match: "1"' -d '{"greylisting":false}'
	[ "$status" = 401 ] || break
done
check "a change with the revoked token: 401 on every worker" test "$status" = 401
check "... and nothing changed" test "$(snapshot)" = "$before"

tap_done
