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

tap_done
