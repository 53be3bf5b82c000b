#!/bin/bash
# test_staff.sh - staff roles: "feedctl staff" (add, set, remove, list;
# every refusal names the problem and stores nothing; every change is
# audited) and the portal per role through real nginx: a login without
# a row gets 403, read sees and changes nothing (no change buttons, a
# POST is 403 with nothing stored), operator changes but does not
# remove, admin removes, and a login limited to a domain group finds
# any other domain "not found" on every page and POST.
set -u
. "$(dirname "$0")/../lib.sh"
in_netns "$0" "$@"
pg_setup
web_setup

F=$FEEDCTL
OR=(-H "Origin: $BASE")
body_has() { grep -qF -- "$1" "$T/out"; }
staff_rows() { sql "SELECT count(*) FROM staff_users"; }
audit_rows() { sql "SELECT count(*) FROM audit WHERE action LIKE 'staff-%'"; }
version() { sql "SELECT version FROM domains WHERE name='$1'"; }

# --- feedctl staff ---------------------------------------------------------
expect_exit 0 "staff add reader --role read" $F staff add reader --role read
check "... says so" out_has "reader: added"
check "... stored with the role and every domain" \
	test "$(sql "SELECT role||' '||cardinality(domains)||' '||created_by FROM staff_users WHERE login='reader'")" = "read 0 root"
check "... and audited" \
	test "$(sql "SELECT actor||' '||(new->>'role') FROM audit WHERE action='staff-add' AND new->>'login'='reader'")" = "root read"
expect_exit 0 "staff add with a domain group (Unicode name)" \
	$F staff add grouped --role operator --domain a.example --domain BÜCHER.example
check "... stored as exact A-labels" \
	test "$(sql "SELECT array_to_string(domains, ',') FROM staff_users WHERE login='grouped'")" = "a.example,xn--bcher-kva.example"

n0=$(staff_rows)
a0=$(audit_rows)
# refuse CODE DESC MESSAGE CMD...: exit CODE, stderr has MESSAGE, no row
# and no audit entry added or changed
refuse() {
	local code=$1 desc=$2 msg=$3 before
	shift 3
	before=$(sql "SELECT string_agg(login||role||domains::text, ';' ORDER BY login) FROM staff_users")
	expect_exit "$code" "$desc: exit $code" "$@"
	check "... the message says why" err_has "$msg"
	check "... nothing stored" test "$(staff_rows)|$(audit_rows)|$(sql "SELECT string_agg(login||role||domains::text, ';' ORDER BY login) FROM staff_users")" = "$n0|$a0|$before"
}
refuse 2 "an unknown role" "role must be read, operator or admin" $F staff add bob --role boss
refuse 2 "no role" "--role read|operator|admin is required" $F staff add bob
refuse 2 "a login with a leading space" "login must be 1 to 64 printable ASCII" $F staff add " bob" --role read
refuse 2 "a login with a tab" "login must be 1 to 64 printable ASCII" $F staff add "$(printf 'b\tob')" --role read
refuse 2 "a login of 65 characters" "login must be 1 to 64 printable ASCII" $F staff add "$(printf 'a%.0s' $(seq 65))" --role read
refuse 2 "an invalid domain in the group" "invalid domain name 'bad_name.example': character '_' not allowed" $F staff add bob --role read --domain bad_name.example
refuse 4 "a login that exists" "staff user reader exists" $F staff add reader --role admin
refuse 3 "set of an unknown login" "no staff user nobody" $F staff set nobody --role admin
refuse 2 "set with nothing to change" "staff set needs --role, --domain or --all-domains" $F staff set reader
refuse 2 "set with a bad role" "role must be read, operator or admin" $F staff set reader --role root
refuse 2 "--domain with --all-domains" "exclude each other" $F staff set grouped --domain a.example --all-domains
refuse 2 "--all-domains on add" "unexpected argument '--all-domains'" $F staff add bob --role read --all-domains
refuse 3 "remove of an unknown login" "no staff user nobody" $F staff remove nobody
refuse 2 "an unknown sub-command" "unknown sub-command 'grant'" $F staff grant reader

expect_exit 0 "staff list --json" $F --json staff list
check "... lists the three logins with roles and groups" \
	jq_out '[.[] | .login + ":" + .role + ":" + (.domains | join(","))] == ["grouped:operator:a.example,xn--bcher-kva.example", "reader:read:", "staff:admin:"]'
expect_exit 0 "staff list as a table" $F staff list
check "... with a header" out_has "LOGIN"
expect_exit 0 "staff set changes the role" $F staff set grouped --role admin
check "... audited with old and new" \
	test "$(sql "SELECT (old->>'role')||'>'||(new->>'role') FROM audit WHERE action='staff-set' ORDER BY id DESC LIMIT 1")" = "operator>admin"
check "... the group kept" \
	test "$(sql "SELECT role||' '||array_to_string(domains, ',') FROM staff_users WHERE login='grouped'")" = "admin a.example,xn--bcher-kva.example"
expect_exit 0 "staff set replaces the group and the role" $F staff set grouped --role operator --domain a.example
check "... stored" test "$(sql "SELECT role||' '||array_to_string(domains, ',') FROM staff_users WHERE login='grouped'")" = "operator a.example"
$F staff add temp --role admin > /dev/null
expect_exit 0 "staff set --all-domains ... and remove" $F staff set temp --all-domains
expect_exit 0 "staff remove" $F staff remove temp
check "... gone, audited" test "$(sql "SELECT count(*) FROM staff_users WHERE login='temp'")|$(sql "SELECT old->>'role' FROM audit WHERE action='staff-remove'")" = "0|admin"

# --- the portal, per role ----------------------------------------------------
for u in reader oper grouped ghost; do
	printf '%s:%s\n' "$u" "$(openssl passwd -6 "$STAFF_PW")" >> "$T/htpasswd"
done
$F staff add oper --role operator > /dev/null
$F add a.example --mode feed --force --dest 127.0.0.1:2526 > /dev/null
$F add b.example --mode feed --force --dest 127.0.0.1:2526 > /dev/null
as() { U=(-u "$1:$STAFF_PW"); }
# csrf LOGIN: the login's CSRF token, from a page with a form (the token
# is the login's alone; a read login's pages have no form, so it is read
# while the login is briefly an operator)
csrf() {
	local role
	role=$(sql "SELECT role FROM staff_users WHERE login='$1'")
	[ "$role" = read ] && $F staff set "$1" --role operator > /dev/null
	curl -s -u "$1:$STAFF_PW" "$BASE/portal/d/a.example" |
		sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -n 1
	[ "$role" = read ] && $F staff set "$1" --role read > /dev/null
}

as ghost
expect_status 403 "a login without a staff row: 403" GET /portal/ "${U[@]}"
check "... a page that says what to do" body_has "the login ghost is not a staff user here; an administrator adds it with &#39;feedctl staff add ghost --role read&#39;"
expect_status 403 "... on a domain page too" GET /portal/d/a.example "${U[@]}"
check "... which shows no domain" bash -c "! grep -q 'a.example' '$T/out'"

# read: sees, changes nothing
CR=$(csrf reader)
check "the read login has a CSRF token of its own" test ${#CR} = 64
as reader
expect_status 200 "read: the list" GET /portal/ "${U[@]}"
check "... both domains, no add button" bash -c "grep -q '/portal/d/b.example' '$T/out' && ! grep -q 'href=\"/portal/new\"' '$T/out'"
check "... the role is shown" body_has "Signed in as <strong>reader</strong> (read)"
expect_status 200 "read: the domain page" GET /portal/d/a.example "${U[@]}"
check "... no save, remove or verb buttons, no form posts" \
	bash -c "! grep -qE 'Save changes|Remove…|class=\"verb\"|method=\"post\"' '$T/out'"
check "... the settings shown, read-only" bash -c "grep -q 'fieldset disabled' '$T/out' && grep -q 'changes nothing' '$T/out'"
expect_status 200 "read: the messages page" GET /portal/d/a.example/messages "${U[@]}"
expect_status 200 "read: the relays page" GET /portal/relays "${U[@]}"
v=$(version a.example)
expect_status 403 "read: a settings POST is 403" POST /portal/d/a.example "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CR" --data-urlencode "version=$v" --data-urlencode greylisting=off
check "... saying why" body_has "staff user reader has role read: only operator or above may change settings"
check "... nothing stored" test "$(sql "SELECT version||' '||greylisting FROM domains WHERE name='a.example'")" = "$v true"
for verb in flush extend switch-pop3 temp-pop3; do
	expect_status 403 "read: the $verb form is 403" GET "/portal/d/a.example/$verb" "${U[@]}"
	expect_status 403 "read: a $verb POST is 403" POST "/portal/d/a.example/$verb" "${U[@]}" "${OR[@]}" \
		--data-urlencode "csrf=$CR" --data-urlencode days=3 --data-urlencode mailboxes=info
done
check "... nothing changed: no extension, mailbox, job or command" \
	test "$(sql "SELECT (queue_extended_until IS NULL)::text||mode FROM domains WHERE name='a.example'")|$(sql "SELECT count(*) FROM mailboxes")|$(sql "SELECT count(*) FROM jobs")" = "truefeed|0|0"
expect_status 403 "read: the add form is 403" GET /portal/new "${U[@]}"
expect_status 403 "read: an add POST is 403" POST /portal/new "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CR" --data-urlencode name=c.example --data-urlencode mode=pop3
check "... nothing added" test "$(sql "SELECT count(*) FROM domains")" = 2
expect_status 403 "read: the remove page is 403" GET /portal/d/b.example/remove "${U[@]}"
expect_status 403 "read: a remove POST is 403" POST /portal/d/b.example/remove "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CR" --data-urlencode confirm=b.example
check "... nothing removed" test "$(sql "SELECT count(*) FROM domains")" = 2

# operator: changes, does not remove
CO=$(csrf oper)
as oper
expect_status 200 "operator: the domain page" GET /portal/d/a.example "${U[@]}"
check "... save and verb buttons, no remove button" \
	bash -c "grep -q 'Save changes' '$T/out' && grep -q 'class=\"verb\"' '$T/out' && ! grep -q 'Remove…' '$T/out'"
v=$(version a.example)
expect_status 303 "operator: a settings POST is stored" POST /portal/d/a.example "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CO" --data-urlencode "version=$v" --data-urlencode greylisting=off
check "... with the login" test "$(sql "SELECT greylisting||' '||updated_by FROM domains WHERE name='a.example'")" = "false oper"
expect_status 403 "operator: the remove page is 403" GET /portal/d/b.example/remove "${U[@]}"
expect_status 403 "operator: a remove POST is 403" POST /portal/d/b.example/remove "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CO" --data-urlencode confirm=b.example
check "... saying why, nothing removed" bash -c "grep -qF 'only admin or above may remove domains' '$T/out' && test \"\$(bash '$TOP/contrib/pgcluster.sh' '$T/pg' psql -d mxfeed -XAtq -c 'SELECT count(*) FROM domains')\" = 2"

# admin: removes
as staff
expect_status 200 "admin: the domain page has the remove button" GET /portal/d/b.example "${U[@]}"
check "... Remove…" body_has "Remove…"
expect_status 200 "admin: the remove page" GET /portal/d/b.example/remove "${U[@]}"

# a role change applies at the next request
$F staff set reader --role operator > /dev/null
as reader
expect_status 200 "a role raised by feedctl applies at once" GET /portal/d/a.example "${U[@]}"
check "... the save button is there now" body_has "Save changes"
$F staff remove reader > /dev/null
expect_status 403 "a removed login is refused at once" GET /portal/ "${U[@]}"

# a domain group: everything else is not found
CG=$(csrf grouped)
as grouped
expect_status 200 "group: the list" GET /portal/ "${U[@]}"
check "... shows its domain only" bash -c "grep -q '/portal/d/a.example' '$T/out' && ! grep -q 'b.example' '$T/out'"
expect_status 200 "group: its domain's page" GET /portal/d/a.example "${U[@]}"
expect_status 404 "group: a missing domain is 404" GET /portal/d/zz.example "${U[@]}"
cp "$T/out" "$T/missing.html"
for p in "" /messages /remove /flush /extend /switch-pop3 /temp-pop3 /revert /switch-backup /switch-feed; do
	expect_status 404 "group: GET b.example$p is 404" GET "/portal/d/b.example$p" "${U[@]}"
done
check "... the same page as for a missing domain" bash -c "sed 's/zz.example/b.example/g' '$T/missing.html' | cmp -s - '$T/out'"
sql "UPDATE relays SET last_error = 'apply failed: b.example broke it'" > /dev/null
sql "INSERT INTO relays (name, role, last_error) SELECT 'r1', 'relay', 'apply failed: b.example broke it' WHERE NOT EXISTS (SELECT 1 FROM relays)" > /dev/null
expect_status 200 "group: the relays page" GET /portal/relays "${U[@]}"
check "... hides a relay's last error (it may name any domain)" \
	bash -c "grep -q 'hidden: your login sees only its domain group' '$T/out' && ! grep -q 'b.example' '$T/out'"
as staff
expect_status 200 "admin: the relays page" GET /portal/relays "${U[@]}"
check "... shows it" body_has "apply failed: b.example broke it"
as grouped
v=$(version b.example)
for p in "" /remove /flush /extend /switch-pop3 /temp-pop3; do
	expect_status 404 "group: POST b.example$p is 404" POST "/portal/d/b.example$p" "${U[@]}" "${OR[@]}" \
		--data-urlencode "csrf=$CG" --data-urlencode "version=$v" --data-urlencode greylisting=off \
		--data-urlencode confirm=b.example --data-urlencode days=3 --data-urlencode mailboxes=info
done
check "... nothing changed on b.example" \
	test "$(sql "SELECT version||' '||greylisting||' '||(queue_extended_until IS NULL) FROM domains WHERE name='b.example'")|$(sql "SELECT count(*) FROM mailboxes")" = "$v true true|0"
expect_status 403 "group: adding a domain outside the group is 403" POST /portal/new "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CG" --data-urlencode name=c.example --data-urlencode mode=pop3
check "... nothing added" test "$(sql "SELECT count(*) FROM domains WHERE name='c.example'")" = 0
v=$(version a.example)
expect_status 303 "group: its own domain can be changed" POST /portal/d/a.example "${U[@]}" "${OR[@]}" \
	--data-urlencode "csrf=$CG" --data-urlencode "version=$v" --data-urlencode greylisting=on
check "... stored" test "$(sql "SELECT greylisting FROM domains WHERE name='a.example'")" = t

tap_done
