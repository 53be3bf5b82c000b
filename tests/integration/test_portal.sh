#!/bin/bash
# test_portal.sh - the support portal through real nginx (basic auth)
# and mxfeed-fcgi: login, CSRF and Origin checks (403 and nothing
# changed), escaping of stored and reflected markup, validation errors
# beside their field with the input kept, the stale-version message,
# post-redirect-get, add and the remove confirmation.
set -u
. "$(dirname "$0")/../lib.sh"
pg_setup
web_setup

U=(-u "staff:$STAFF_PW")
OR=(-H "Origin: $BASE")
F=$FEEDCTL
version() { sql "SELECT version FROM domains WHERE name='$1'"; }
body_has() { grep -qF -- "$1" "$T/out"; }

$F add example.com --mode feed --dest 127.0.0.1:2526 > /dev/null
$F set example.com 'spam.low.text=<script>alert(1)</script>' > /dev/null

# --- login --------------------------------------------------------------
expect_status 401 "no login: nginx answers 401" GET /portal/
expect_status 401 "a wrong password: 401" GET /portal/ -u staff:wrong
expect_status 200 "the list with the staff login" GET /portal/ "${U[@]}"
check "the list is HTML" bash -c "grep -qi '^Content-Type: text/html' '$T/hdr'"
check "the list shows the domain" body_has '/portal/d/example.com'
check "the page says who is signed in" body_has 'Signed in as <strong>staff</strong>'
check "pages are not cached" test "$(hdr Cache-Control)" = no-store
check "pages forbid framing and foreign scripts" bash -c "grep -qi '^Content-Security-Policy: default-src .none.' '$T/hdr'"
expect_status 200 "the style sheet" GET /portal/static/portal.css "${U[@]}"

# --- escaping -----------------------------------------------------------
expect_status 200 "the domain page" GET /portal/d/example.com "${U[@]}"
check "a stored value with markup is escaped" body_has 'value="&lt;script&gt;alert(1)&lt;/script&gt;"'
check "... and never written raw" bash -c "! grep -qF '<script>alert(1)' '$T/out'"
expect_status 200 "a search with markup" GET '/portal/?q=%22%3E%3Cimg%20src%3Dx%3E' "${U[@]}"
check "the reflected search is escaped" body_has 'value="&quot;&gt;&lt;img src=x&gt;"'
check "... and never written raw" bash -c "! grep -qF '<img src=x>' '$T/out'"

# the page's CSRF token
http GET /portal/d/example.com "${U[@]}"
CSRF=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/out" | head -n 1)
check "forms carry a CSRF token" test ${#CSRF} = 64
v0=$(version example.com)

# --- CSRF and Origin: 403 and nothing changed ---------------------------
expect_status 403 "POST without a CSRF token: 403" POST /portal/d/example.com "${U[@]}" "${OR[@]}" \
	--data-urlencode "version=$v0" --data-urlencode greylisting=off
expect_status 403 "POST with a wrong CSRF token: 403" POST /portal/d/example.com "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$(printf '%064d' 0)" --data-urlencode "version=$v0" --data-urlencode greylisting=off
expect_status 403 "POST from a foreign Origin: 403" POST /portal/d/example.com "${U[@]}" -H "Origin: http://evil.example" \
	--data-urlencode "csrf=$CSRF" --data-urlencode "version=$v0" --data-urlencode greylisting=off
expect_status 403 "POST without an Origin: 403" POST /portal/d/example.com "${U[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode "version=$v0" --data-urlencode greylisting=off
expect_status 403 "a removal without a CSRF token: 403" POST /portal/d/example.com/remove "${U[@]}" "${OR[@]}" \
	--data-urlencode confirm=example.com
expect_status 403 "an add from a foreign Origin: 403" POST /portal/new "${U[@]}" -H "Origin: http://127.0.0.1:1" \
	--data-urlencode "csrf=$CSRF" --data-urlencode name=new.example --data-urlencode mode=pop3
check "nothing changed: same version, greylisting on, no new domain" \
	test "$(sql "SELECT version||' '||greylisting FROM domains WHERE name='example.com'")|$(sql "SELECT count(*) FROM domains")" = "$v0 true|1"
expect_status 401 "POST without the login: 401 from nginx" POST /portal/d/example.com "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode "version=$v0" --data-urlencode greylisting=off

# --- a good change: post-redirect-get -----------------------------------
expect_status 303 "a good change answers 303" POST /portal/d/example.com "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode "version=$v0" --data-urlencode greylisting=off \
	--data-urlencode queue.days=4 --data-urlencode ticket=T-77
check "... to the domain page" test "$(hdr Location)" = "/portal/d/example.com?saved=1"
check "the change is stored with the staff login and ticket" \
	test "$(sql "SELECT greylisting||' '||queue_days||' '||updated_by||' '||ticket FROM domains WHERE name='example.com'")" = "false 4 staff T-77"
expect_status 200 "the page after the redirect" GET '/portal/d/example.com?saved=1' "${U[@]}"
check "it confirms the save with the version" body_has "Saved: version $((v0 + 1))."

# --- validation errors beside the field, input kept ----------------------
v1=$(version example.com)
expect_status 422 "a bad value: 422" POST /portal/d/example.com "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode "version=$v1" --data-urlencode queue.days=99 \
	--data-urlencode destination.host=10.1.2.3 --data-urlencode max_message_mb=7
check "the queue field is marked and explained" bash -c "grep -A6 'for=\"f-queue-days\"' '$T/out' | grep -q 'class=\"error\" id=\"e-queue-days\">queue.days must be'"
check "the destination field is marked too" bash -c "grep -A6 'for=\"f-destination-host\"' '$T/out' | grep -q 'class=\"error\"'"
check "the input is kept" body_has 'value="99"'
check "the valid input is kept as well" body_has 'name="max_message_mb" type="number" value="7"'
check "nothing was saved" test "$(version example.com)|$(sql "SELECT max_message_mb FROM domains WHERE name='example.com'")" = "$v1|50"

# --- the stale-version message -------------------------------------------
$F --ticket T-88 set example.com greylisting=on > /dev/null
expect_status 409 "a change on an old version: 409" POST /portal/d/example.com "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode "version=$v1" --data-urlencode max_message_mb=9
check "it says who changed it and to review" bash -c "grep -q 'changed by <strong>root</strong>' '$T/out' && grep -q 'review it against the current values and resubmit' '$T/out'"
check "the input is kept" body_has 'name="max_message_mb" type="number" value="9"'
check "the form now carries the current version" body_has "name=\"version\" value=\"$((v1 + 1))\""
check "nothing was saved" test "$(sql "SELECT max_message_mb FROM domains WHERE name='example.com'")" = 50

# --- add ------------------------------------------------------------------
expect_status 200 "the add form" GET /portal/new "${U[@]}"
expect_status 422 "add with a bad name: 422" POST /portal/new "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode 'name=bad name.example' --data-urlencode mode=feed --data-urlencode dest=127.0.0.9
check "the name field is marked, the input kept" bash -c "grep -q 'id=\"e-name\"' '$T/out' && grep -qF 'value=\"bad name.example\"' '$T/out' && grep -qF 'value=\"127.0.0.9\"' '$T/out'"
expect_status 422 "add a feed with a private destination: 422" POST /portal/new "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode name=new.example --data-urlencode mode=feed --data-urlencode dest=192.168.1.1
check "the destination field is marked" bash -c "grep -q 'id=\"e-dest\"' '$T/out'"
expect_status 409 "add an existing domain: 409" POST /portal/new "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode name=example.com --data-urlencode mode=pop3
check "no domain was added by the refusals" test "$(sql "SELECT count(*) FROM domains")" = 1
expect_status 303 "add a domain" POST /portal/new "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode name=Neu.Example --data-urlencode mode=feed --data-urlencode dest=127.0.0.9:2600
check "... redirects to its page" test "$(hdr Location)" = "/portal/d/neu.example?added=1"
check "... stored with the staff login" test "$(sql "SELECT updated_by||' '||host(dest_host)||':'||dest_port FROM domains WHERE name='neu.example'")" = "staff 127.0.0.9:2600"

# --- remove ---------------------------------------------------------------
$F mailbox add neu.example info > /dev/null 2>&1 || true
$F add pop.example --mode pop3 > /dev/null
$F mailbox add pop.example info > /dev/null
expect_status 200 "the removal confirmation page" GET /portal/d/pop.example/remove "${U[@]}"
check "it names what happens and the mailbox in the way" bash -c "grep -q '550 5.1.2' '$T/out' && grep -q 'It still has 1 mailbox' '$T/out'"
expect_status 409 "a domain with mailboxes is not removed: 409" POST /portal/d/pop.example/remove "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode confirm=pop.example
expect_status 422 "a wrong confirmation: 422" POST /portal/d/neu.example/remove "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode confirm=other.example
expect_status 422 "no confirmation: 422" POST /portal/d/neu.example/remove "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF"
check "both still there" test "$(sql "SELECT count(*) FROM domains WHERE name IN ('neu.example','pop.example')")" = 2
expect_status 303 "remove with the name typed" POST /portal/d/neu.example/remove "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode confirm=neu.example --data-urlencode ticket=T-99
check "... redirects to the list" test "$(hdr Location)" = "/portal/?removed=neu.example"
check "gone, with its history kept" test "$(sql "SELECT count(*) FROM domains WHERE name='neu.example'")|$(sql "SELECT actor||' '||ticket FROM audit WHERE domain='neu.example' AND action='remove'")" = "0|staff T-99"
expect_status 404 "its page is 404 now" GET /portal/d/neu.example "${U[@]}"

# --- odd requests --------------------------------------------------------
expect_status 404 "an unknown page: 404" GET /portal/nothing "${U[@]}"
expect_status 405 "PUT: 405" PUT /portal/d/example.com "${U[@]}"
expect_status 422 "an invalid name in the path: 422" GET '/portal/d/a..b' "${U[@]}"
expect_status 400 "a bad %-escape in the query: 400" GET '/portal/?q=%zz' "${U[@]}"

tap_done
