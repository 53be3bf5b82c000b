#!/bin/bash
# test_inputs.sh - inputs issue 13 found untested: our own host names
# refused as customer domains (any case), a fallback changed to another
# address of the same count is stored (feedctl and API), a mailbox local
# part with a leading or trailing space refused; refusals store nothing.
set -u
. "$(dirname "$0")/../lib.sh"
pg_setup
echo 'site = { own_names = [ "mx1.isp.example", "isp.example" ]; };' >> "$MXFEED_CONF"
web_setup
F=$FEEDCTL
J=(-H "Content-Type: application/json")
MP=(-H "Content-Type: application/merge-patch+json")
TOK=$("$F" token create t --role operator --json | jq -r .token)
O=(-H "Authorization: Bearer $TOK")
ndom() { sql "SELECT count(*) FROM domains"; }

for n in isp.example mx1.isp.example MX1.ISP.Example; do
	expect_exit 2 "feedctl add $n (our own name): exit 2" $F add "$n" --mode pop3
	check "... saying it is ours" err_has "is one of our own host names"
done
expect_status 422 "API create of our own name: 422" POST /api/v1/domains "${O[@]}" "${J[@]}" -d '{"name":"mx1.isp.example","mode":"pop3"}'
check "... naming the field" jq_out '.errors[0].field == "name"'
check "no domain stored by any of them" test "$(ndom)" = 0

$F add a.example --mode feed --force --dest 127.0.0.1:2526 fallbacks=127.0.0.2:25,127.0.0.3:25 > /dev/null
fb() { "$F" show a.example --json | jq -c '[.fallbacks[] | "\(.host):\(.port)"]'; }
expect_exit 0 "set a fallback to another address, same count" $F set a.example --force fallbacks=127.0.0.4:25,127.0.0.3:25
check "... the new one is stored" test "$(fb)" = '["127.0.0.4:25","127.0.0.3:25"]'
expect_exit 0 "set the same fallbacks in another order" $F set a.example --force fallbacks=127.0.0.3:25,127.0.0.4:25
check "... stored in that order" test "$(fb)" = '["127.0.0.3:25","127.0.0.4:25"]'
expect_exit 0 "set a fallback's port only" $F set a.example --force fallbacks=127.0.0.3:2525,127.0.0.4:25
check "... the new port is stored" test "$(fb)" = '["127.0.0.3:2525","127.0.0.4:25"]'
v=$(sql "SELECT version FROM domains WHERE name='a.example'")
expect_status 200 "API PATCH: one fallback replaced, same count" PATCH /api/v1/domains/a.example "${O[@]}" "${MP[@]}" \
	-H "If-Match: \"$v\"" -d '{"fallbacks":[{"host":"127.0.0.5","port":25},{"host":"127.0.0.4","port":25}],"force":true}'
check "... the answer shows it" jq_out '[.fallbacks[].host] == ["127.0.0.5","127.0.0.4"]'
check "... and it is stored" test "$(fb)" = '["127.0.0.5:25","127.0.0.4:25"]'

$F add p.example --mode pop3 > /dev/null
for l in 'info ' ' info' 'in fo'; do
	expect_exit 2 "mailbox local part '$l': exit 2" $F mailbox add p.example "$l"
done
expect_status 422 "API temp-pop3 with a trailing space in a local part: 422" POST /api/v1/domains/a.example/temp-pop3 "${O[@]}" "${J[@]}" \
	-d '{"mailboxes":["info "]}'
check "no mailbox stored by any of them" test "$(sql "SELECT count(*) FROM mailboxes")" = 0
tap_done
