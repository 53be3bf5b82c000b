#!/bin/bash
# test_portal.sh - the support portal through real nginx (basic auth)
# and mxfeed-fcgi: login, CSRF and Origin checks (403 and nothing
# changed), escaping of stored and reflected markup, validation errors
# beside their field with the input kept, the stale-version message,
# post-redirect-get, add and the remove confirmation.
set -u
. "$(dirname "$0")/../lib.sh"
# its probes must find nobody at 127.0.0.1:2526 whatever runs on the
# host: a network namespace of its own, loopback only
in_netns "$0" "$@"
pg_setup
web_setup

U=(-u "staff:$STAFF_PW")
OR=(-H "Origin: $BASE")
F=$FEEDCTL
version() { sql "SELECT version FROM domains WHERE name='$1'"; }
body_has() { grep -qF -- "$1" "$T/out"; }

$F add example.com --mode feed --force --dest 127.0.0.1:2526 > /dev/null
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
expect_status 409 "add a feed whose destination fails the probe: 409" POST /portal/new "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode name=Neu.Example --data-urlencode mode=feed --data-urlencode dest=127.0.0.9:2600
check "... the probe's message beside the destination, the input kept" \
	bash -c "grep -q 'id=\"e-dest\">127.0.0.9:2600 did not pass the probe' '$T/out' && grep -qF 'value=\"127.0.0.9:2600\"' '$T/out'"
check "... and a box to save it anyway" body_has 'name="force"'
check "no domain was added by the refusals" test "$(sql "SELECT count(*) FROM domains")" = 1
expect_status 303 "add a domain, forced past the probe" POST /portal/new "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CSRF" --data-urlencode name=Neu.Example --data-urlencode mode=feed --data-urlencode dest=127.0.0.9:2600 \
	--data-urlencode force=on
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

# --- the mail-stack verbs ------------------------------------------------
# No mail stack runs here: a probe finds nobody at 127.0.0.1:2526, jobs
# are queued but not run, and this host has no relay queue.
$F add tp.example --mode feed --force --dest 127.0.0.1:2526 > /dev/null
$F add p3.example --mode feed --force --dest 127.0.0.1:2526 > /dev/null
$F add sw.example --mode pop3 > /dev/null
$F mailbox add sw.example info sales > /dev/null
$F mailbox add sw.example --catch-all > /dev/null
C=(--data-urlencode "csrf=$CSRF")
# state SUMMARY of a domain: version, mode, temp-pop3, mailboxes, jobs
state() {
	sql "SELECT d.version||' '||d.mode||' '||(d.temp_pop3_since IS NOT NULL)||' '||(SELECT count(*) FROM mailboxes m WHERE m.domain_id = d.id)||' '||(SELECT count(*) FROM jobs j WHERE j.domain = d.name) FROM domains d WHERE name='$1'"
}
plan() { sed -n 's/.*name="plan" value="\([0-9a-f]*\)".*/\1/p' "$T/out" | head -n 1; }
# err_beside ID TEXT: the error element of field ID holds TEXT
err_beside() { grep -q "id=\"e-$1\">[^<]*$2" "$T/out"; }

expect_status 200 "a feed domain's page" GET /portal/d/tp.example "${U[@]}"
check "... offers switch to POP3, temporary POP3, extend and flush" bash -c "grep -q 'action=\"/portal/d/tp.example/switch-pop3\"' '$T/out' && grep -q 'action=\"/portal/d/tp.example/temp-pop3\"' '$T/out' && grep -q 'action=\"/portal/d/tp.example/extend\"' '$T/out' && grep -q 'action=\"/portal/d/tp.example/flush\"' '$T/out'"
check "... not switch to feed or revert" bash -c "! grep -q 'tp.example/switch-feed\|tp.example/revert' '$T/out'"
expect_status 200 "a pop3 domain's page offers switch to feed only" GET /portal/d/sw.example "${U[@]}"
check "... (no temp-pop3 there)" bash -c "grep -q 'action=\"/portal/d/sw.example/switch-feed\"' '$T/out' && ! grep -q 'sw.example/temp-pop3' '$T/out'"
check "... and extend and flush, as feedctl and the API take them (lib's one rule)" bash -c "grep -q 'action=\"/portal/d/sw.example/extend\"' '$T/out' && grep -q 'action=\"/portal/d/sw.example/flush\"' '$T/out'"
expect_status 200 "a verb's form on its own page" GET /portal/d/tp.example/temp-pop3 "${U[@]}"
check "... says where webmail is" body_has '/webmail/'
expect_status 404 "an unknown verb: 404" GET /portal/d/tp.example/explode "${U[@]}"

# CSRF: 403 and nothing changed, for every verb
s_tp=$(state tp.example) s_sw=$(state sw.example) s_p3=$(state p3.example)
for verb in "sw.example/switch-feed dest=127.0.0.1:2526 force=on confirmed=1" \
	"p3.example/switch-pop3 mailboxes=info confirmed=1" "tp.example/temp-pop3 mailboxes=info" \
	"tp.example/revert confirmed=1" "tp.example/extend days=5" "tp.example/flush ticket="; do
	set -- $verb
	path=$1
	shift
	args=()
	for a in "$@"; do args+=(--data-urlencode "$a"); done
	expect_status 403 "$path without a CSRF token: 403" POST "/portal/d/$path" "${U[@]}" "${OR[@]}" "${args[@]}"
	expect_status 403 "$path from a foreign Origin: 403" POST "/portal/d/$path" "${U[@]}" -H "Origin: http://evil.example" "${C[@]}" "${args[@]}"
done
check "the refused verbs changed nothing" test "$(state tp.example)|$(state sw.example)|$(state p3.example)" = "$s_tp|$s_sw|$s_p3"

# switch to feed: confirmation, probe failure, purge, success
expect_status 200 "switch to feed: the confirmation page" POST /portal/d/sw.example/switch-feed "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode dest=127.0.0.1:2526 --data-urlencode fate=forward --data-urlencode ticket=T-600
check "... names each mailbox and where its mail goes" bash -c "grep -qF 'The mail in info@sw.example, sales@sw.example and catch-all@sw.example (the catch-all) is re-injected to 127.0.0.1:2526' '$T/out' && grep -qF 'then the mailboxes are archived (a copy kept 30 days) and removed' '$T/out'"
check "... says the probe comes first" body_has 'RCPT TO:&lt;postmaster@sw.example&gt;); if it does not pass, nothing is changed'
check "... keeps the ticket" body_has 'value="T-600"'
check "... changed nothing yet" test "$(state sw.example)" = "$s_sw"
P=$(plan)
check "... carries the plan it showed" test ${#P} = 64
cp "$T/out" "$T/confirm.html"
$F --json switch sw.example --to feed --dest 127.0.0.1:2526 --dry-run > "$T/plan.json"
check "... and lists lib's plan, line for line as feedctl switch --dry-run" \
	bash -c "n=0; while IFS= read -r e; do n=\$((n + 1)); e=\$(printf '%s' \"\$e\" | sed 's/&/\\&amp;/g; s/</\\&lt;/g; s/>/\\&gt;/g'); grep -qF \"In short: \$e.\" '$T/confirm.html' || exit 1; done < <(jq -r '.effects[]' '$T/plan.json'); [ \$n -ge 3 ]"
expect_status 409 "confirmed, the probe fails: 409" POST /portal/d/sw.example/switch-feed "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode dest=127.0.0.1:2526 --data-urlencode fate=forward --data-urlencode confirmed=1 --data-urlencode "plan=$P"
check "... the probe's message is beside the destination" err_beside switch-feed-dest '127.0.0.1:2526 did not pass the probe'
check "... the input is kept" bash -c "grep -qF 'name=\"dest\" type=\"text\" value=\"127.0.0.1:2526\"' '$T/out' && grep -qF '<option value=\"forward\" selected>' '$T/out'"
check "... nothing changed" test "$(state sw.example)" = "$s_sw"
expect_status 422 "a bad destination: 422 beside the field" POST /portal/d/sw.example/switch-feed "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode 'dest="><b>x' --data-urlencode fate=archive
check "... marked, escaped, input kept" bash -c "grep -q 'id=\"e-switch-feed-dest\"' '$T/out' && grep -qF 'value=\"&quot;&gt;&lt;b&gt;x\"' '$T/out' && ! grep -qF '<b>x' '$T/out' && grep -qF '<option value=\"archive\" selected>' '$T/out'"
expect_status 200 "purge: the confirmation page" POST /portal/d/sw.example/switch-feed "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode dest=127.0.0.1:2526 --data-urlencode fate=purge --data-urlencode force=on
check "... says the mail is deleted without a copy and asks for the name" bash -c "grep -qF 'The mailboxes info@sw.example, sales@sw.example and catch-all@sw.example (the catch-all) are purged: deleted with all their mail, without a copy' '$T/out' && grep -q 'id=\"f-confirm\"' '$T/out'"
check "... says the probe's outcome is ignored" body_has 'outcome ignored (force)'
P=$(plan)
expect_status 422 "purge without the typed name: 422" POST /portal/d/sw.example/switch-feed "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode dest=127.0.0.1:2526 --data-urlencode fate=purge --data-urlencode force=on --data-urlencode confirmed=1 --data-urlencode "plan=$P"
check "... the message is beside the confirmation field" err_beside confirm "type the domain&#39;s name"
expect_status 422 "purge with another name typed: 422" POST /portal/d/sw.example/switch-feed "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode dest=127.0.0.1:2526 --data-urlencode fate=purge --data-urlencode force=on --data-urlencode confirmed=1 \
	--data-urlencode "plan=$P" --data-urlencode confirm=other.example
check "... lib's message beside it, the typed text kept" bash -c "grep -q 'id=\"e-confirm\">purging the mailboxes of sw.example deletes their mail' '$T/out' && grep -qF 'value=\"other.example\"' '$T/out'"
check "... nothing changed" test "$(state sw.example)" = "$s_sw"
$F mailbox add sw.example late > /dev/null
expect_status 409 "a mailbox added since the page was shown: 409" POST /portal/d/sw.example/switch-feed "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode dest=127.0.0.1:2526 --data-urlencode fate=forward --data-urlencode force=on --data-urlencode confirmed=1 --data-urlencode "plan=$P"
check "... the page comes back naming it" bash -c "grep -q 'changed since this page was shown' '$T/out' && grep -qF 'late@sw.example' '$T/out'"
s_sw=$(state sw.example)
check "... nothing switched" test "$(sql "SELECT mode FROM domains WHERE name='sw.example'")" = pop3
P=$(plan)
expect_status 303 "switch to feed with force, confirmed: 303" POST /portal/d/sw.example/switch-feed "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode dest=127.0.0.1:2526 --data-urlencode fate=forward --data-urlencode force=on --data-urlencode confirmed=1 \
	--data-urlencode "plan=$P" --data-urlencode ticket=T-601
check "... to the domain page" test "$(hdr Location)" = "/portal/d/sw.example?done=switch-feed&fate=forward&jobs=4&probe=failed"
check "... a feed to 127.0.0.1:2526 with a forward job per mailbox, by staff" \
	test "$(sql "SELECT mode||' '||host(dest_host)||':'||dest_port||' '||updated_by||' '||ticket FROM domains WHERE name='sw.example'")|$(sql "SELECT count(*) FROM jobs WHERE domain='sw.example' AND kind='mailbox-forward' AND state='pending'")" = "feed 127.0.0.1:2526 staff T-601|4"
expect_status 200 "the page after the switch" GET "$(hdr Location)" "${U[@]}"
check "... says what was queued and that the probe failed" bash -c "grep -q 'Switched to feed. 4 mailbox job(s) queued (forward)' '$T/out' && grep -q 'did not pass the probe: switched anyway' '$T/out'"
check "... lists the jobs with their state" bash -c "grep -q 'mailbox-forward #' '$T/out' && grep -q 'class=\"state pending\"' '$T/out'"
sql "UPDATE jobs SET last_error = 'doveadm: <connection refused>', attempts = 2 WHERE id = (SELECT min(id) FROM jobs WHERE domain='sw.example')" > /dev/null
expect_status 200 "a job with an error" GET /portal/d/sw.example "${U[@]}"
check "... is flagged at the top and shown, escaped, in its row" bash -c "grep -q '1 job(s) of this domain report an error' '$T/out' && grep -qF '<span class=\"error\">doveadm: &lt;connection refused&gt;</span>' '$T/out' && grep -q '(retrying)' '$T/out'"
sql "UPDATE jobs SET state = 'failed', last_error = 'gave up' WHERE id = (SELECT max(id) FROM jobs WHERE domain='sw.example')" > /dev/null
expect_status 200 "a failed job" GET /portal/d/sw.example "${U[@]}"
check "... is marked failed with its error" bash -c "grep -q '2 job(s) of this domain report an error' '$T/out' && grep -qF '<span class=\"state failed\">failed</span>' '$T/out' && grep -qF '<span class=\"error\">gave up</span>' '$T/out'"

# switch to pop3: refusals, confirmation, passwords once
s_p3=$(state p3.example)
expect_status 422 "switch to pop3 without mailboxes: 422" POST /portal/d/p3.example/switch-pop3 "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode mailboxes=
check "... lib's message beside the mailboxes field" err_beside switch-pop3-mailboxes 'switch --to pop3 needs'
expect_status 422 "a bad mailbox name: 422" POST /portal/d/p3.example/switch-pop3 "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode 'mailboxes=info, sales/team' --data-urlencode catch_all=on
check "... beside the field, input kept" bash -c "grep -q 'id=\"e-switch-pop3-mailboxes\">a mailbox name is' '$T/out' && grep -qF 'value=\"info, sales/team\"' '$T/out' && grep -q 'name=\"catch_all\" type=\"checkbox\" value=\"on\" checked' '$T/out'"
check "... nothing changed" test "$(state p3.example)" = "$s_p3"
expect_status 200 "switch to pop3: the confirmation page" POST /portal/d/p3.example/switch-pop3 "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode 'mailboxes=info, Sales  abuse,' --data-urlencode catch_all=on
check "... names the new mailboxes and the old destination" bash -c "grep -qF 'These mailboxes are created: info@p3.example, sales@p3.example, abuse@p3.example and catch-all@p3.example (the catch-all).' '$T/out' && grep -qF 'no longer relayed to 127.0.0.1:2526' '$T/out'"
check "... changed nothing yet" test "$(state p3.example)" = "$s_p3"
P=$(plan)
expect_status 200 "confirmed: the passwords page (not a redirect)" POST /portal/d/p3.example/switch-pop3 "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode mailboxes=info,sales,abuse --data-urlencode catch_all=on \
	--data-urlencode confirmed=1 --data-urlencode "plan=$P"
check "... is never cached" test "$(hdr Cache-Control)" = no-store
check "... shows each address with a password, once" test "$(grep -c 'class=\"mono password\">[A-Za-z0-9]' "$T/out")" = 4
check "... says it is the only time" body_has 'this page is the only time they are shown'
check "... a pop3 domain with 4 mailboxes" test "$(sql "SELECT mode||' '||(SELECT count(*) FROM mailboxes m WHERE m.domain_id = d.id AND NOT m.temporary) FROM domains d WHERE name='p3.example'")" = "pop3 4"
expect_status 200 "the domain page does not show them again" GET /portal/d/p3.example "${U[@]}"
check "... (no password on it)" bash -c "! grep -q 'password' '$T/out'"

# temp-pop3: refusals, passwords once, webmail
s_pop=$(state pop.example)
expect_status 409 "temp-pop3 on a pop3 domain: 409" POST /portal/d/pop.example/temp-pop3 "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode mailboxes=x
check "... says why" body_has 'pop.example is a pop3 domain: temp-pop3 is for feed and backup domains'
check "... nothing changed" test "$(state pop.example)" = "$s_pop"
s_tp=$(state tp.example)
expect_status 422 "temp-pop3 without mailboxes: 422" POST /portal/d/tp.example/temp-pop3 "${U[@]}" "${OR[@]}" "${C[@]}"
check "... beside the mailboxes field" err_beside temp-pop3-mailboxes 'temp-pop3 needs'
expect_status 501 "temp-pop3 from the queue with no relay registered" POST /portal/d/tp.example/temp-pop3 "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode from_queue=on
check "... says so" body_has 'no relay has registered'
check "... nothing changed" test "$(state tp.example)" = "$s_tp"
expect_status 200 "temp-pop3: the passwords page" POST /portal/d/tp.example/temp-pop3 "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode mailboxes=info --data-urlencode catch_all=on --data-urlencode ticket=T-602
check "... two passwords and the webmail address" bash -c "test \$(grep -c 'class=\"mono password\">[A-Za-z0-9]' '$T/out') = 2 && grep -q 'href=\"/webmail/\"' '$T/out' && grep -qF 'info@tp.example' '$T/out'"
check "... in temporary POP3 with 2 temporary mailboxes" test "$(sql "SELECT mode||' '||temp_pop3_by||' '||ticket||' '||(SELECT count(*) FROM mailboxes m WHERE m.domain_id = d.id AND m.temporary) FROM domains d WHERE name='tp.example'")" = "feed staff T-602 2"
expect_status 200 "its page now offers revert" GET /portal/d/tp.example "${U[@]}"
check "... and no second temp-pop3" bash -c "grep -q 'action=\"/portal/d/tp.example/revert\"' '$T/out' && ! grep -q 'tp.example/temp-pop3' '$T/out'"

# revert: refusal, confirmation (forward and keep), success
s_ex=$(state example.com)
expect_status 409 "revert when not in temporary POP3: 409" POST /portal/d/example.com/revert "${U[@]}" "${OR[@]}" "${C[@]}"
check "... says why" body_has 'example.com is not in temporary POP3: nothing to revert'
check "... nothing changed" test "$(state example.com)" = "$s_ex"
s_tp=$(state tp.example)
expect_status 422 "revert with keep_days 0: 422" POST /portal/d/tp.example/revert "${U[@]}" "${OR[@]}" "${C[@]}" --data-urlencode keep_days=0
check "... beside the field" bash -c "grep -q 'id=\"e-revert-keep_days\"' '$T/out' && grep -qF 'name=\"keep_days\" type=\"number\" value=\"0\"' '$T/out'"
expect_status 200 "revert: the confirmation page" POST /portal/d/tp.example/revert "${U[@]}" "${OR[@]}" "${C[@]}"
check "... names the temporary mailboxes and the destination" body_has 'The mail in the temporary mailboxes info@tp.example and catch-all@tp.example (the catch-all) is re-injected to 127.0.0.1:2526, then the mailboxes are archived'
expect_status 200 "revert keeping 3 days: the confirmation page" POST /portal/d/tp.example/revert "${U[@]}" "${OR[@]}" "${C[@]}" --data-urlencode keep_days=3
check "... says until when they stay readable" bash -c "grep -qF 'The temporary mailboxes info@tp.example and catch-all@tp.example (the catch-all) stay readable (POP3, IMAP, webmail) for 3 more day(s), until $(date -u -d '+3 days' +%Y-%m-%d)' '$T/out' && grep -q 'Their mail is not re-injected' '$T/out'"
check "... changed nothing yet" test "$(state tp.example)" = "$s_tp"
P=$(plan)
expect_status 303 "revert confirmed: 303" POST /portal/d/tp.example/revert "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode keep_days=3 --data-urlencode confirmed=1 --data-urlencode "plan=$P"
check "... to the domain page" test "$(hdr Location)" = "/portal/d/tp.example?done=revert&jobs=2&keep=3"
check "... back on the feed, two archive jobs due in 3 days" \
	test "$(sql "SELECT (temp_pop3_since IS NULL)||' '||(SELECT count(*) FROM jobs j WHERE j.domain = d.name AND j.kind = 'mailbox-archive' AND j.run_after > now() + interval '71 hours') FROM domains d WHERE name='tp.example'")" = "true 2"
expect_status 200 "the page after the revert" GET "$(hdr Location)" "${U[@]}"
check "... says so" body_has 'Reverted to the feed. The temporary mailboxes stay readable 3 more day(s)'

# extend and flush
s_tp=$(state tp.example)
expect_status 422 "extend by 99 days: 422" POST /portal/d/tp.example/extend "${U[@]}" "${OR[@]}" "${C[@]}" --data-urlencode days=99
check "... beside the days field, input kept" bash -c "grep -q 'id=\"e-extend-days\"' '$T/out' && grep -qF 'name=\"days\" type=\"number\" value=\"99\"' '$T/out'"
expect_status 422 "extend with days and a date: 422" POST /portal/d/tp.example/extend "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode days=2 --data-urlencode until=2030-01-01
expect_status 422 "extend a year ahead: 422" POST /portal/d/tp.example/extend "${U[@]}" "${OR[@]}" "${C[@]}" --data-urlencode until=2099-01-01
check "... lib's message beside the date" bash -c "grep -q 'id=\"e-extend-until\"' '$T/out'"
check "... nothing changed" test "$(state tp.example)" = "$s_tp"
expect_status 303 "extend by 5 days: 303" POST /portal/d/tp.example/extend "${U[@]}" "${OR[@]}" "${C[@]}" --data-urlencode days=5
check "... extended_until about 5 days ahead" test "$(sql "SELECT queue_extended_until BETWEEN now() + interval '119 hours' AND now() + interval '121 hours' FROM domains WHERE name='tp.example'")" = t
expect_status 200 "the page after extend" GET "$(hdr Location)" "${U[@]}"
check "... says until when" body_has "Queue extended: no mail expires before $(date -u -d '+5 days' +%Y-%m-%d)"

# the verb forms carry the version the page showed; a stale one changes
# nothing and shows the current record with who changed it (409)
v=$(version tp.example)
expect_status 200 "the domain page's verb forms carry its version" GET /portal/d/tp.example "${U[@]}"
check "... one hidden version per verb form" test "$(grep -c "name=\"version\" value=\"$v\"" "$T/out")" -ge 3
expect_status 200 "a verb's own page carries it too" GET /portal/d/tp.example/extend "${U[@]}"
check "... (hidden version $v)" body_has "name=\"version\" value=\"$v\""
$F set tp.example greylisting=off > /dev/null
s_tp=$(state tp.example)
for verb in "extend days=3" "temp-pop3 mailboxes=info" "switch-pop3 mailboxes=info"; do
	set -- $verb
	path=$1
	shift
	args=()
	for a in "$@"; do args+=(--data-urlencode "$a"); done
	expect_status 409 "$path with the version the page showed, changed since: 409" POST "/portal/d/tp.example/$path" \
		"${U[@]}" "${OR[@]}" "${C[@]}" --data-urlencode "version=$v" "${args[@]}"
	check "... says who changed it and that nothing was done" bash -c "grep -qF 'Nothing was done: this domain was changed by' '$T/out' && grep -qF 'since you opened it' '$T/out' && grep -qF '(now version $((v + 1)))' '$T/out'"
	check "... no confirmation page" bash -c "! grep -q 'name=\"plan\"' '$T/out'"
done
check "... the stale verbs changed nothing" test "$(state tp.example)" = "$s_tp"
expect_status 400 "a malformed version: 400" POST /portal/d/tp.example/extend "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode version=x --data-urlencode days=3
check "... nothing changed" test "$(state tp.example)" = "$s_tp"
# days=6, not the 5 given above: within one second the same days is the
# same date, no change and no new version
expect_status 303 "extend with the current version: 303" POST /portal/d/tp.example/extend "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode "version=$((v + 1))" --data-urlencode days=6
check "... one new version" test "$(version tp.example)" = "$((v + 2))"
expect_status 501 "flush with no relay registered" POST /portal/d/tp.example/flush "${U[@]}" "${OR[@]}" "${C[@]}"
check "... says so" body_has 'no relay has registered'

# ==== switch to backup ==================================================
$F add bk.example --mode feed --force --dest 127.0.0.1:2526 > /dev/null
$F add bp.example --mode pop3 > /dev/null
$F mailbox add bp.example info > /dev/null
expect_status 200 "a feed domain's page offers switch to backup" GET /portal/d/bk.example "${U[@]}"
check "... (the form is there)" body_has 'action="/portal/d/bk.example/switch-backup"'
s_bk=$(state bk.example)
expect_status 403 "switch-backup without a CSRF token: 403" POST /portal/d/bk.example/switch-backup "${U[@]}" "${OR[@]}" \
	--data-urlencode confirmed=1
check "... nothing changed" test "$(state bk.example)" = "$s_bk"
expect_status 200 "switch to backup, no destination given: the confirmation page" POST /portal/d/bk.example/switch-backup \
	"${U[@]}" "${OR[@]}" "${C[@]}" --data-urlencode ticket=T-700
check "... says what a backup MX does and that the destination stays" bash -c "grep -qF 'we are a backup MX for bk.example: new mail is queued for 127.0.0.1:2526' '$T/out' && grep -qF 'The destination stays 127.0.0.1:2526: it is not probed again' '$T/out'"
check "... changed nothing yet" test "$(state bk.example)" = "$s_bk"
P=$(plan)
expect_status 303 "confirmed: 303" POST /portal/d/bk.example/switch-backup "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode confirmed=1 --data-urlencode "plan=$P" --data-urlencode ticket=T-700
check "... to the domain page" test "$(hdr Location)" = "/portal/d/bk.example?done=switch-backup&fate=forward&jobs=0"
run $F show bk.example --json
check "... the record reads mode=backup, the destination kept, by staff" \
	test "$(jq -r '[.mode, .destination.host, .destination.port, .queue.days, .ticket] | @tsv' "$T/out")" = "$(printf 'backup\t127.0.0.1\t2526\t8\tT-700')"
expect_status 200 "the page after the switch" GET "/portal/d/bk.example?done=switch-backup&fate=forward&jobs=0" "${U[@]}"
check "... says so" body_has 'Switched to backup. 0 mailbox job(s) queued (forward)'
check "... and offers no second switch to backup" bash -c "! grep -q 'bk.example/switch-backup' '$T/out'"
# from pop3: a destination is needed, and it is probed
s_bp=$(state bp.example)
expect_status 200 "a pop3 domain to backup without a destination: the confirmation first" POST /portal/d/bp.example/switch-backup \
	"${U[@]}" "${OR[@]}" "${C[@]}"
P=$(plan)
expect_status 422 "... confirmed: 422" POST /portal/d/bp.example/switch-backup "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode confirmed=1 --data-urlencode "plan=$P"
check "... lib's message beside the destination" err_beside switch-backup-dest 'switch --to backup needs --dest'
expect_status 200 "with a destination: the confirmation page says it is probed" POST /portal/d/bp.example/switch-backup \
	"${U[@]}" "${OR[@]}" "${C[@]}" --data-urlencode dest=127.0.0.1:2526
check "... names the mailbox and the probe" bash -c "grep -qF 'The mail in info@bp.example is re-injected to 127.0.0.1:2526' '$T/out' && grep -qF 'RCPT TO:&lt;postmaster@bp.example&gt;); if it does not pass, nothing is changed' '$T/out'"
P=$(plan)
expect_status 409 "confirmed, the probe fails: 409" POST /portal/d/bp.example/switch-backup "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode dest=127.0.0.1:2526 --data-urlencode confirmed=1 --data-urlencode "plan=$P"
check "... the probe's message is beside the destination" err_beside switch-backup-dest '127.0.0.1:2526 did not pass the probe'
check "... nothing changed" test "$(state bp.example)" = "$s_bp"
expect_status 303 "with force: 303, the probe failure said" POST /portal/d/bp.example/switch-backup "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode dest=127.0.0.1:2526 --data-urlencode force=on --data-urlencode confirmed=1 --data-urlencode "plan=$P"
check "... to the domain page" test "$(hdr Location)" = "/portal/d/bp.example?done=switch-backup&fate=forward&jobs=1&probe=failed"
check "... a backup domain now, a forward job for its mailbox" \
	test "$(sql "SELECT mode||' '||host(dest_host)||':'||dest_port FROM domains WHERE name='bp.example'")|$(sql "SELECT count(*) FROM jobs WHERE domain='bp.example' AND kind='mailbox-forward'")" = "backup 127.0.0.1:2526|1"
# ==== end of switch to backup ============================================

# ==== the relays page ====================================================
expect_status 200 "the relays page with none registered" GET /portal/relays "${U[@]}"
check "... says so" body_has 'No relays registered (mta-glue sync registers them)'
check "... and every page links to it" body_has '<a href="/portal/relays">Relays</a>'
latest=$(sql "SELECT max(seq) FROM changes")
sql "INSERT INTO relays (name, role, addresses, applied_seq, applied_at, heartbeat, last_error) VALUES
	('mx1', 'relay', '{198.51.100.25,2001:db8::25}', $latest, now(), now() - interval '5 seconds', NULL),
	('mx2', 'relay', '{198.51.100.26}', $((latest - 1)), now(), now(), 'postfix reload failed: <b>refused</b> & \"more\"'),
	('mx3', 'relay', '{}', $((latest - 2)), now(), now(), NULL),
	('mbox1', 'mailbox', '{}', $latest, now(), now() - interval '3 hours', NULL)" > /dev/null
expect_status 200 "the relays page" GET /portal/relays "${U[@]}"
check "... names the newest change" body_has "The newest change is sequence <strong>$latest</strong>"
check "... an up-to-date relay: its role, addresses, sequence, heartbeat age" \
	bash -c "tr -d '\n' < '$T/out' | grep -qE '<td>mx1</td> *<td>relay</td> *<td class=\"mono\">198.51.100.25, 2001:db8::25</td> *<td class=\"num\">$latest<div class=\"sub\">[0-9-]+ [0-9:]+ UTC</div></td> *<td>[0-9]+ s ago<div class=\"sub\">[0-9-]+ [0-9:]+ UTC</div></td> *<td><span class=\"state ok\">up to date</span></td>'"
check "... a relay whose apply failed: error, its message escaped" \
	bash -c "grep -qF '<span class=\"state error\">error: its last apply failed</span>' '$T/out' && grep -qF '<span class=\"error\">postfix reload failed: &lt;b&gt;refused&lt;/b&gt; &amp; &quot;more&quot;</span>' '$T/out' && ! grep -qF '<b>refused' '$T/out'"
check "... a relay behind the newest change" body_has "<span class=\"state behind\">behind: at $((latest - 2)) of $latest</span>"
check "... a host without addresses says none" bash -c "tr -d '\n' < '$T/out' | grep -qE '<td>mx3</td> *<td>relay</td> *<td class=\"mono\">none</td>'"
check "... a mailbox host silent for 3 hours" \
	bash -c "tr -d '\n' < '$T/out' | grep -qE '<td>mbox1</td> *<td>mailbox</td> *<td class=\"mono\">none</td> *<td class=\"num\">$latest<div class=\"sub\">[^<]*</div></td> *<td>3 h ago<div class=\"sub\">[^<]*</div></td> *<td><span class=\"state silent\">silent: no heartbeat for over a minute</span>'"
sql "INSERT INTO relays (name, role, heartbeat, retired_at, retired_by) VALUES ('mx-old', 'retired', now() - interval '2 days', now(), 'staff')" > /dev/null
expect_status 200 "the relays page with a retired relay" GET /portal/relays "${U[@]}"
check "... says it is retired, not silent" body_has '<span class="state retired">retired: nothing waits for it</span>'
sql "INSERT INTO relays (name, role, heartbeat, drain_started_at, drain_by, queue_total, queue_as_of) VALUES
	('mx-drain', 'draining', now(), now() - interval '1 hour', 'staff', 3, now()),
	('mx-done', 'draining', now(), now() - interval '1 hour', 'staff', 0, now())" > /dev/null
expect_status 200 "the relays page with draining relays" GET /portal/relays "${U[@]}"
check "... a draining relay: its role and the mail it has left" \
	bash -c "tr -d '\n' < '$T/out' | grep -qE '<td>mx-drain</td> *<td>draining</td>.*<span class=\"state draining\">draining: 3 message\(s\) left</span>'"
check "... a drained one: nothing left" body_has '<span class="state drained">drained: 0 message(s) left</span>'
expect_status 405 "POST to the relays page: 405" POST /portal/relays "${U[@]}" "${OR[@]}" "${C[@]}"
sql "DELETE FROM relays" > /dev/null
# ==== end of the relays page =============================================

# ==== the domain page: the work of the day =================================
# a read login and an operator, for what each is offered
for u in reader oper; do
	printf '%s:%s\n' "$u" "$(openssl passwd -6 "$STAFF_PW")" >> "$T/htpasswd"
done
$F staff add reader --role operator > /dev/null
http GET /portal/d/example.com -u "reader:$STAFF_PW"
CR=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/out" | head -n 1)
$F staff set reader --role read > /dev/null
$F staff add oper --role operator > /dev/null
R=(-u "reader:$STAFF_PW")
O=(-u "oper:$STAFF_PW")
check "the read login has a CSRF token" test ${#CR} = 64
# the queue as two relays published it (mta-glue sync writes these rows)
sql "INSERT INTO relays (name, role, heartbeat, queue_as_of) VALUES
	('mx1', 'relay', now() - interval '5 minutes', now() - interval '5 minutes'),
	('mx2', 'relay', now() - interval '5 minutes', now() - interval '5 minutes')" > /dev/null
sql "INSERT INTO relay_queue (relay, domain, count, oldest, messages) VALUES
	('mx1', 'example.com', 3, now() - interval '3 hours', '[
	  {\"queue_id\": \"AAAA1\", \"reason\": \"connect to 127.0.0.1[127.0.0.1]:2526: Connection refused\"},
	  {\"queue_id\": \"AAAA2\", \"reason\": \"connect to 127.0.0.1[127.0.0.1]:2526: Connection refused\"},
	  {\"queue_id\": \"AAAA3\", \"reason\": \"<b>lost</b> & found\"}]'),
	('mx2', 'example.com', 1, now() - interval '10 minutes', '[
	  {\"queue_id\": \"BBBB1\", \"reason\": \"connect to 127.0.0.1[127.0.0.1]:2526: Connection refused\"}]')" > /dev/null
expect_status 200 "the domain page with a queue on two relays" GET /portal/d/example.com "${U[@]}"
check "... the total and the oldest message's age" bash -c "grep -qE '<strong>Queued:</strong> 4 message\(s\), the oldest since [0-9-]+ [0-9:]+ UTC \(3 h ago\)' '$T/out'"
check "... the top reasons across relays, most frequent first" \
	bash -c "tr -d '\n' < '$T/out' | grep -qE '<ul class=\"reasons\"><li><span class=\"num\">3×</span> <span class=\"mono\">connect to 127.0.0.1\[127.0.0.1\]:2526: Connection refused</span></li><li><span class=\"num\">1×</span> <span class=\"mono\">&lt;b&gt;lost&lt;/b&gt; &amp; found</span></li></ul>'"
check "... a published reason is escaped, never raw" bash -c "! grep -qF '<b>lost' '$T/out'"
check "... one row per relay: count, oldest, silent" \
	bash -c "tr -d '\n' < '$T/out' | grep -qE '<td>mx1 <span class=\"state silent\">silent</span></td><td class=\"num\">3</td><td>3 h ago<div class=\"sub\">' && tr -d '\n' < '$T/out' | grep -qE '<td>mx2 <span class=\"state silent\">silent</span></td><td class=\"num\">1</td><td>10 min ago'"
check "... the flush form for an admin" body_has '<form class="inline" method="post" action="/portal/d/example.com/flush">'
expect_status 200 "the read login's domain page" GET /portal/d/example.com "${R[@]}"
check "... shows the queue" body_has '<strong>Queued:</strong> 4 message(s)'
check "... and no form at all" bash -c "! grep -q '<form' '$T/out'"
expect_status 403 "the read login's flush: 403" POST /portal/d/example.com/flush "${R[@]}" "${OR[@]}" --data-urlencode "csrf=$CR"
check "... says why" body_has 'staff user reader has role read: only operator or above may'
check "... nothing queued" test "$(sql "SELECT count(*) FROM relay_commands")" = 0
expect_status 403 "a flush without a CSRF token: 403" POST /portal/d/example.com/flush "${O[@]}" "${OR[@]}" --data-urlencode ticket=
check "... nothing queued" test "$(sql "SELECT count(*) FROM relay_commands")" = 0
expect_status 303 "the operator's flush: 303" POST /portal/d/example.com/flush "${O[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$(curl -s "${O[@]}" "$BASE/portal/d/example.com" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -n 1)"
check "... a flush queued for every relay, as feedctl flush does" \
	test "$(sql "SELECT string_agg(relay||':'||verb||':'||domain, ',' ORDER BY relay) FROM relay_commands")" = "mx1:flush:example.com,mx2:flush:example.com"
expect_status 200 "... back on the domain page" GET "$(hdr Location)" "${O[@]}"
check "... with a flash that says so" body_has 'Flush requested on 2 relay(s)'
sql "DELETE FROM relay_commands; DELETE FROM relay_queue" > /dev/null
expect_status 200 "the domain page with empty published queues" GET /portal/d/example.com "${U[@]}"
check "... no refusals tracked yet" body_has 'Nothing refused, greylisted or bounced lately.'
check "... says 0, no reasons" bash -c "grep -qF '<strong>Queued:</strong> 0 message(s)</p>' '$T/out' && ! grep -q 'class=\"reasons\"' '$T/out'"
# the destination: TLS policy, the queue's extension, probe now
expect_status 200 "the domain page's destination" GET /portal/d/example.com "${U[@]}"
check "... address, TLS policy, queue lifetime, no extension" \
	bash -c "grep -qF '<span class=\"mono\">127.0.0.1:2526</span> · TLS policy <strong>may</strong> · queue lifetime 4 day(s)</p>' '$T/out'"
check "... a probe button" body_has '<form class="inline" method="post" action="/portal/d/example.com/probe">'
expect_status 200 "an extended domain's page" GET /portal/d/tp.example "${U[@]}"
check "... says until when" bash -c "grep -qE 'extended until $(date -u -d '+6 days' +%Y-%m-%d) [0-9:]+ UTC</strong>' '$T/out'"
expect_status 200 "the read login's page has the destination" GET /portal/d/example.com "${R[@]}"
check "... and no probe button" bash -c "grep -qF 'TLS policy <strong>may</strong>' '$T/out' && ! grep -q '/probe\"' '$T/out'"
a0=$(sql "SELECT count(*) FROM audit")
v0=$(version example.com)
expect_status 403 "the read login's probe: 403" POST /portal/d/example.com/probe "${R[@]}" "${OR[@]}" --data-urlencode "csrf=$CR"
check "... says why" body_has 'staff user reader has role read: only operator or above may probe destinations'
expect_status 403 "a probe without a CSRF token: 403" POST /portal/d/example.com/probe "${O[@]}" "${OR[@]}" --data-urlencode x=1
expect_status 405 "a probe by GET: 405" GET /portal/d/example.com/probe "${O[@]}"
CO=$(curl -s "${O[@]}" "$BASE/portal/d/example.com" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -n 1)
expect_status 200 "probe now, nobody listening: the page with the result" POST /portal/d/example.com/probe "${O[@]}" "${OR[@]}" --data-urlencode "csrf=$CO"
check "... says it failed, and why" bash -c "grep -qF 'The destination did not pass the probe' '$T/out' && grep -qE '<strong>Probe of 127.0.0.1:2526:</strong> <span class=\"state error\">failed</span> — <span class=\"error\">[^<]+</span>' '$T/out'"
check "... nothing stored" test "$(sql "SELECT count(*) FROM audit")|$(version example.com)" = "$a0|$v0"
tls_pair "$T/smtp-tls" tls.test
/usr/bin/python3 "$TOP/tests/integration/smtp_tls.py" 2527 "$T/smtp-tls/cert.pem" "$T/smtp-tls/key.pem" &
SMTP_TLS_PID=$!
for _ in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/2527) 2> /dev/null && break; sleep 0.1; done
$F add tls.example --mode feed --force --dest 127.0.0.1:2527 > /dev/null
$F set tls.example tls.policy=verify "tls.fingerprint=$(printf '%064d' 0)" --force > /dev/null
fp=$(tls_fingerprint "$T/smtp-tls/cert.pem" | tr -d : | tr 'A-F' 'a-f')
expect_status 200 "probe now, a server with STARTTLS" POST /portal/d/tls.example/probe "${O[@]}" "${OR[@]}" --data-urlencode "csrf=$CO"
check "... passed" body_has '<span class="state ok">passed</span>'
check "... protocol, cipher and the certificate's fingerprint" \
	bash -c "grep -qE '<p>TLS <strong>TLSv1\.[23]</strong>, cipher <span class=\"mono\">[A-Za-z0-9_-]+</span>, certificate SHA-256 <span class=\"mono\">$fp</span></p>' '$T/out'"
check "... and that it is not the recorded certificate" body_has "Under TLS policy verify this server would not take the mail: the server&#39;s certificate has SHA-256 $fp, not tls.fingerprint"
kill "$SMTP_TLS_PID"
wait "$SMTP_TLS_PID" 2> /dev/null
# rules from the domain page: add, then remove through a confirmation
nrules() { sql "SELECT count(*) FROM sender_rules r JOIN domains d ON d.id = r.domain_id WHERE d.name = 'example.com'"; }
n0=$(nrules)
expect_status 200 "the domain page offers a rule form" GET /portal/d/example.com "${O[@]}"
check "... the form" body_has '<form class="rule" method="post" action="/portal/d/example.com/rule-add">'
expect_status 403 "the read login adds a rule: 403" POST /portal/d/example.com/rule-add "${R[@]}" "${OR[@]}" --data-urlencode "csrf=$CR" \
	--data-urlencode action=block --data-urlencode kind=client --data-urlencode value=192.0.2.0/24
check "... says why" body_has 'staff user reader has role read: only operator or above may change settings'
check "... nothing stored" test "$(nrules)" = "$n0"
expect_status 403 "a rule without a CSRF token: 403" POST /portal/d/example.com/rule-add "${O[@]}" "${OR[@]}" \
	--data-urlencode action=block --data-urlencode kind=client --data-urlencode value=192.0.2.0/24
check "... nothing stored" test "$(nrules)" = "$n0"
run $F rule add example.com block client 300.1.2.3/8
climsg=$(sed -n 's/^feedctl: example.com: //p' "$T/err" | head -n 1)
check "feedctl refuses a bad CIDR" test -n "$climsg"
expect_status 422 "the same bad CIDR from the portal: 422" POST /portal/d/example.com/rule-add "${O[@]}" "${OR[@]}" --data-urlencode "csrf=$CO" \
	--data-urlencode action=block --data-urlencode kind=client --data-urlencode value=300.1.2.3/8
check "... feedctl's message beside the value, input kept" \
	bash -c "grep -qF 'id=\"e-rule-value\">$climsg</small>' '$T/out' && grep -qF 'name=\"value\" value=\"300.1.2.3/8\"' '$T/out' && grep -qF '<option value=\"client\" selected>client</option>' '$T/out'"
check "... nothing stored" test "$(nrules)" = "$n0"
expect_status 422 "an unknown action: 422" POST /portal/d/example.com/rule-add "${O[@]}" "${OR[@]}" --data-urlencode "csrf=$CO" \
	--data-urlencode action=maybe --data-urlencode kind=client --data-urlencode value=192.0.2.0/24
check "... beside the action" body_has 'id="e-rule-action">'
check "... nothing stored" test "$(nrules)" = "$n0"
expect_status 303 "a block rule with markup: 303" POST /portal/d/example.com/rule-add "${O[@]}" "${OR[@]}" --data-urlencode "csrf=$CO" \
	--data-urlencode action=block --data-urlencode kind=sender-regex --data-urlencode 'value=^<b>x@evil\.test$' --data-urlencode ticket=T-88
check "... stored, by the operator with the ticket" \
	test "$(nrules)|$(sql "SELECT actor||' '||ticket FROM audit WHERE domain='example.com' ORDER BY id DESC LIMIT 1")" = "$((n0 + 1))|oper T-88"
expect_status 200 "... back on the page" GET "$(hdr Location)" "${O[@]}"
check "... says so, the value escaped" bash -c "grep -qF 'Rule added.' '$T/out' && grep -qF '<td class=\"mono\">^&lt;b&gt;x@evil\\.test$</td>' '$T/out' && ! grep -qF '^<b>x' '$T/out'"
rm_href=$(sed -n 's/.*href="\(\/portal\/d\/example.com\/rule-remove?[^"]*\)".*/\1/p' "$T/out" | head -n 1 | sed 's/&amp;/\&/g')
check "... and a removal link" test -n "$rm_href"
expect_status 409 "the same rule again: 409" POST /portal/d/example.com/rule-add "${O[@]}" "${OR[@]}" --data-urlencode "csrf=$CO" \
	--data-urlencode action=block --data-urlencode kind=sender-regex --data-urlencode 'value=^<b>x@evil\.test$'
check "... says so beside the value" body_has 'id="e-rule-value">example.com already has this rule</small>'
expect_status 200 "the read login's page lists the rule" GET /portal/d/example.com "${R[@]}"
check "... with no removal link" bash -c "grep -qF 'x@evil' '$T/out' && ! grep -q 'rule-remove' '$T/out'"
expect_status 403 "the read login's removal page: 403" GET "$rm_href" "${R[@]}"
expect_status 200 "the removal link: a confirmation page" GET "$rm_href" "${O[@]}"
check "... names the rule, escaped" body_has 'Removing the rule <strong>block</strong> address-regex <span class="mono">^&lt;b&gt;x@evil\.test$</span>'
check "... nothing removed yet" test "$(nrules)" = "$((n0 + 1))"
expect_status 403 "the read login's removal: 403" POST /portal/d/example.com/rule-remove "${R[@]}" "${OR[@]}" --data-urlencode "csrf=$CR" \
	--data-urlencode action=block --data-urlencode kind=address-regex --data-urlencode 'value=^<b>x@evil\.test$' --data-urlencode confirmed=1
check "... nothing removed" test "$(nrules)" = "$((n0 + 1))"
expect_status 200 "a removal not confirmed: the confirmation page again" POST /portal/d/example.com/rule-remove "${O[@]}" "${OR[@]}" --data-urlencode "csrf=$CO" \
	--data-urlencode action=block --data-urlencode kind=address-regex --data-urlencode 'value=^<b>x@evil\.test$'
check "... nothing removed" test "$(nrules)" = "$((n0 + 1))"
expect_status 404 "removing a rule the domain does not have: 404" POST /portal/d/example.com/rule-remove "${O[@]}" "${OR[@]}" --data-urlencode "csrf=$CO" \
	--data-urlencode action=allow --data-urlencode kind=client --data-urlencode value=192.0.2.0/24 --data-urlencode confirmed=1
check "... says so" body_has 'example.com has no such rule'
expect_status 303 "the removal confirmed: 303" POST /portal/d/example.com/rule-remove "${O[@]}" "${OR[@]}" --data-urlencode "csrf=$CO" \
	--data-urlencode action=block --data-urlencode kind=address-regex --data-urlencode 'value=^<b>x@evil\.test$' --data-urlencode confirmed=1
check "... removed" test "$(nrules)" = "$n0"
expect_status 200 "... back on the page" GET "$(hdr Location)" "${O[@]}"
check "... says so" body_has 'Rule removed.'
sql "DELETE FROM relays" > /dev/null
# ==== end of the work of the day ===========================================

# --- message tracking: the messages page -------------------------------------
# rows as a relay's sync writes them (test_trace.sh makes them from a real
# Postfix log); here the page's search, rendering, escaping and scope
sql "INSERT INTO message_events (at, relay, queue_id, message_id, sender, recipient, domain, client, verdict, code, reply, destination) VALUES
 (now() - interval '10 minutes', 'mx1', NULL, NULL, 'a@sender.test', 'info@example.com', 'example.com', '192.0.2.7', 'greylisted', '450', '4.2.0 Greylisted', NULL),
 (now() - interval '5 minutes', 'mx1', 'ABCDE12345', 'm1@sender.test', 'a@sender.test', NULL, NULL, '192.0.2.7', 'accepted', NULL, NULL, NULL),
 (now() - interval '5 minutes', 'mx1', 'ABCDE12345', 'm1@sender.test', 'a@sender.test', 'info@example.com', 'example.com', '192.0.2.7', 'delivered', '250', '2.0.0 Ok', '127.0.0.1[127.0.0.1]:2526'),
 (now() - interval '2 minutes', 'mx1', NULL, NULL, 'x@evil.test', 'bob@example.com', 'example.com', '198.51.100.9', 'refused', '554', '5.7.1 <script>no</script>', NULL),
 (now() - interval '2 minutes', 'mx1', NULL, NULL, 'x@evil.test', 'u@other.example', 'other.example', '198.51.100.9', 'refused', '554', '5.7.1 other', NULL)" > /dev/null
expect_status 200 "the domain page links its messages" GET /portal/d/example.com "${U[@]}"
check "... the link" body_has 'href="/portal/d/example.com/messages"'
check "... and the queue line" body_has "<strong>Queued:</strong> 0 message(s) (no relay has published its queue)"
check "... the recent refusals, newest first: the refusal, then the greylisting" \
	bash -c "tr -d '\n' < '$T/out' | grep -oE '<span class=\"state [a-z]+\">[a-z]+</span></td><td class=\"mono\">[^<]*</td><td class=\"mono\">[^<]*</td>' | tr '\n' '|' | grep -qxF '<span class=\"state refused\">refused</span></td><td class=\"mono\">x@evil.test</td><td class=\"mono\">bob@example.com</td>|<span class=\"state greylisted\">greylisted</span></td><td class=\"mono\">a@sender.test</td><td class=\"mono\">info@example.com</td>|'"
check "... the reply escaped, never raw" bash -c "grep -qF '<td>554 5.7.1 &lt;script&gt;no&lt;/script&gt;</td>' '$T/out' && ! grep -qF '<script>no' '$T/out'"
check "... each links to the messages page searched by its recipient" body_has 'href="/portal/d/example.com/messages?address=bob%40example.com"'
check "... nothing delivered, nothing of another domain" bash -c "! grep -q 'state delivered' '$T/out' && ! grep -q 'other.example' '$T/out'"
expect_status 200 "the read login sees the refusals too" GET /portal/d/example.com "${R[@]}"
check "... the refusal" body_has '<span class="state refused">refused</span>'
expect_status 200 "the messages page" GET /portal/d/example.com/messages "${U[@]}"
check "... greylisted, accepted and delivered joined in one line, in words" \
	body_has "greylisted at $(date -u +%Y-%m-%d)"
check "... the delivery" bash -c "grep -q 'accepted at [0-9:]*, delivered to 127.0.0.1\[127.0.0.1\]:2526 at [0-9:]* (250 2.0.0 Ok)' '$T/out'"
check "... the refusal, its reply escaped" bash -c "grep -qF '5.7.1 &lt;script&gt;no&lt;/script&gt;' '$T/out' && ! grep -qF '<script>no' '$T/out'"
check "... nothing of another domain" bash -c "! grep -q 'other.example' '$T/out'"
expect_status 200 "search by address" GET '/portal/d/example.com/messages?address=bob@example.com' "${U[@]}"
check "... only that address" bash -c "grep -q 'bob@example.com' '$T/out' && ! grep -q 'info@example.com</td>' '$T/out'"
expect_status 422 "an address of another domain: 422" GET '/portal/d/example.com/messages?address=u@other.example' "${U[@]}"
check "... says why" body_has "the address is not in example.com"
expect_status 422 "since=soon: 422" GET '/portal/d/example.com/messages?since=soon' "${U[@]}"
check "... says what since takes" body_has "since must be"
expect_status 405 "POST to the messages page: 405" POST /portal/d/example.com/messages "${U[@]}" "${OR[@]}" "${C[@]}"
sql "DELETE FROM message_events" > /dev/null

# --- tls settings in the form (fields.def rows) ---------------------------
expect_status 200 "the domain page" GET /portal/d/example.com "${U[@]}"
check "... has tls.policy (may selected) and tls.fingerprint (none)" \
	bash -c "grep -qF '<select id=\"f-tls-policy\" name=\"tls.policy\">' '$T/out' && grep -qF '<option value=\"may\" selected>may</option>' '$T/out' && grep -qF 'name=\"tls.fingerprint\" type=\"text\" value=\"none\"' '$T/out'"
expect_status 200 "a pop3 domain's page" GET /portal/d/pop.example "${U[@]}"
check "... has no tls fields (feed and backup only)" bash -c "! grep -qF 'name=\"tls.' '$T/out'"
vt=$(version example.com)
expect_status 422 "tls.policy verify without a fingerprint: 422" POST /portal/d/example.com "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode "version=$vt" --data-urlencode tls.policy=verify --data-urlencode tls.fingerprint=none
check "... beside tls.fingerprint" body_has 'id="e-tls-fingerprint">tls.policy verify needs tls.fingerprint'
expect_status 422 "a fingerprint that is no SHA-256: 422" POST /portal/d/example.com "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode "version=$vt" --data-urlencode tls.fingerprint=abc
check "... beside the field, input kept" \
	bash -c "grep -q 'id=\"e-tls-fingerprint\">tls.fingerprint must be a SHA-256 fingerprint' '$T/out' && grep -qF 'name=\"tls.fingerprint\" type=\"text\" value=\"abc\"' '$T/out'"
expect_status 422 "tls.policy encrypt toward a server its probe cannot reach: 422" POST /portal/d/example.com "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode "version=$vt" --data-urlencode tls.policy=encrypt
check "... the probe's refusal beside tls.policy" body_has 'id="e-tls-policy">127.0.0.1:2526 did not pass the probe'
check "nothing was saved" \
	test "$(sql "SELECT version||' '||tls_policy||' '||coalesce(tls_fingerprint, 'null') FROM domains WHERE name='example.com'")" = "$vt may null"
expect_status 303 "... saved with the force box" POST /portal/d/example.com "${U[@]}" "${OR[@]}" "${C[@]}" \
	--data-urlencode "version=$vt" --data-urlencode tls.policy=encrypt --data-urlencode force=on
check "... stored" test "$(sql "SELECT tls_policy FROM domains WHERE name='example.com'")" = encrypt

# --- odd requests --------------------------------------------------------
expect_status 404 "an unknown page: 404" GET /portal/nothing "${U[@]}"
expect_status 405 "PUT: 405" PUT /portal/d/example.com "${U[@]}"
expect_status 422 "an invalid name in the path: 422" GET '/portal/d/a..b' "${U[@]}"
expect_status 400 "a bad %-escape in the query: 400" GET '/portal/?q=%zz' "${U[@]}"

tap_done
