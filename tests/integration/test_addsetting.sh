#!/bin/bash
# test_addsetting.sh - a new per-domain setting is one row of
# lib/fields.def and one migration (issue 14's "done when")
#
# A copy of this source tree gets exactly two changes: a row for a new
# text setting "support_note" (in the policy snapshot) and the
# migration adding its column.  That copy is built with warnings as
# errors and upgrades a database the unchanged build made; then the
# setting is in feedctl's "help set", set, show and history, the API's
# GET and PATCH, the portal's settings form, the relay snapshot that
# mxfeed-policyd reads, and the generator's golden files (a diff that
# adds the column and nothing else).  Bad values are refused with a
# message and store nothing.
set -u
. "$(dirname "$0")/../lib.sh"
pg_setup
F=$FEEDCTL

# a domain made by the unchanged build, before the upgrade
expect_exit 0 "the unchanged build adds a domain" \
	"$F" --ticket T-1 add note.example --mode feed --dest 127.0.0.1:2526 --force

# ---- the copy with one row and one migration ----------------------------
S=$T/src
mkdir "$S"
if git -C "$TOP" rev-parse --git-dir > /dev/null 2>&1; then
	(cd "$TOP" && git ls-files -z | xargs -0 tar cf - --no-recursion) |
		tar xf - -C "$S"
else
	tar cf - -C "$TOP" --exclude=./build --exclude=./.git . | tar xf - -C "$S"
fi
last=$(cd "$S/sql" && ls [0-9][0-9][0-9]_*.sql | tail -n 1)
next=$(printf '%03d' $((10#${last%%_*} + 1)))
cat > "$S/sql/${next}_support_note.sql" << 'EOF'
-- a free text for the support desk, shown with the domain
ALTER TABLE domains ADD COLUMN support_note text NOT NULL DEFAULT ''
	CHECK (octet_length(support_note) <= 80);
EOF
# the row goes before the table's closing "clang-format on"
awk '/^\/\* clang-format on \*\// {
	print "FIELD(SUPPORT_NOTE, \"support_note\", support_note, TEXT, char,"
	print "      \"support_note\", \"\", \"\", \"\", 0, 80, NULL, FF_SNAP_POLICY,"
	print "      \"Delivery\", \"Support note\", \"a free text for the support desk\")"
} { print }' "$TOP/lib/fields.def" > "$S/lib/fields.def"
changed=$(diff -rq "$TOP/lib" "$S/lib"; diff -rq "$TOP/sql" "$S/sql")
check "the copy differs in fields.def and one new migration only" \
	test "$(printf '%s\n' "$changed" | grep -c .)" = 2
make -C "$S" -j2 progs build/rel/tests/test_gen > "$T/build.log" 2>&1
rc=$?
check "the copy builds with warnings as errors" test "$rc" = 0
if [ "$rc" != 0 ]; then
	tail -n 30 "$T/build.log" | sed 's/^/#   /'
	tap_done
	exit 1
fi

BUILD=$S/build
F=$BUILD/rel/bin/feedctl
FEEDCTL=$F
FCGI=$BUILD/rel/bin/mxfeed-fcgi
expect_exit 0 "the new build's migrate upgrades the database" "$F" db migrate
check "... adding the column with its default to the existing domain" \
	test "$(sql "SELECT support_note = '' FROM domains WHERE name = 'note.example'")" = t

# ---- feedctl ------------------------------------------------------------
expect_exit 0 "help set" "$F" help set
check "... lists the setting with its label and help" \
	grep -q 'support_note=.*' "$T/out"
check "... and its words" out_has "Support note: a free text for the support desk"
expect_exit 0 "set support_note" "$F" --ticket T-2 set note.example 'support_note=call Ann first'
expect_exit 0 "show --json" "$F" show note.example --json
check "... has it" jq_out '.support_note == "call Ann first"'
expect_exit 0 "show" "$F" show note.example
check "... prints it" out_has "call Ann first"
v=$(sql "SELECT version FROM domains WHERE name = 'note.example'")
expect_exit 2 "a value over 80 bytes is refused" \
	"$F" --ticket T-3 set note.example "support_note=$(printf 'x%.0s' $(seq 81))"
check "... naming the setting" err_has "support_note"
expect_exit 2 "a control byte is refused" \
	"$F" --ticket T-3 set note.example "support_note=$(printf 'a\tb')"
check "... naming the setting" err_has "support_note"
check "... and nothing was stored" \
	test "$(sql "SELECT version || ' ' || support_note FROM domains WHERE name = 'note.example'")" = "$v call Ann first"
expect_exit 0 "history" "$F" history note.example --json
check "... has the change with its ticket" \
	jq_out '[.[] | select(.ticket == "T-2")] | length == 1'
check "... and the new value" out_has "call Ann first"

# ---- the API and the portal ----------------------------------------------
web_setup
TOKEN=$("$F" token create t-note --role admin --json | jq -r .token)
A=(-H "Authorization: Bearer $TOKEN")
expect_status 200 "API GET" GET /api/v1/domains/note.example "${A[@]}"
check "... has it" jq_out '.support_note == "call Ann first"'
expect_status 200 "API PATCH of the setting" PATCH /api/v1/domains/note.example "${A[@]}" \
	-H "Content-Type: application/merge-patch+json" -H "If-Match: $(hdr ETag)" \
	-d '{"support_note":"ask for Bob"}'
check "... answered with it" jq_out '.support_note == "ask for Bob"'
expect_status 422 "API PATCH of a bad value" PATCH /api/v1/domains/note.example "${A[@]}" \
	-H "Content-Type: application/merge-patch+json" -H "If-Match: $(hdr ETag)" -d '{"support_note":"a\u0001b"}'
check "... is a field error naming it" grep -q '"support_note"' "$T/out"
check "... and stored nothing" \
	test "$(sql "SELECT support_note FROM domains WHERE name = 'note.example'")" = "ask for Bob"
curl -s -u "staff:$STAFF_PW" "$BASE/portal/d/note.example" > "$T/page.html"
check "the portal's form has the field with its label and value" \
	grep -q 'name="support_note"[^>]*value="ask for Bob"' "$T/page.html"
check "... and its label" grep -q 'Support note' "$T/page.html"

# ---- the relay snapshot and the golden files -------------------------------
sed -i 's|^relay = { name = "test-relay"; };|relay = { name = "test-relay"; listen = "127.0.0.1:2525"; };|' \
	"$T/mxfeed.conf"
expect_exit 0 "mta-glue generate" "$BUILD/rel/bin/mta-glue" generate "$T/gen"
check "the policy snapshot names the column" \
	grep -q '^#domain	.*	support_note' "$T/gen/policy"
check "... and holds the value" grep -q '^domain	note.example	.*	ask for Bob' "$T/gen/policy"
printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=127.0.0.9\nsender=a@other.test\nrecipient=x@note.example\n\n' |
	"$BUILD/rel/bin/mxfeed-policyd" -s "$T/gen/policy" > "$T/out" 2> "$T/err"
check "mxfeed-policyd reads it and answers" grep -q '^action=' "$T/out"
(cd "$S" && build/rel/tests/test_gen > "$T/gold1.log" 2>&1)
check "the copy's golden test fails on the old files" test $? != 0
(cd "$S" && MXFEED_GOLDEN_UPDATE=1 build/rel/tests/test_gen > "$T/gold2.log" 2>&1 &&
	build/rel/tests/test_gen > "$T/gold3.log" 2>&1)
check "... and passes on the rewritten ones" test $? = 0
diff -r "$TOP/tests/golden/gen" "$S/tests/golden/gen" > "$T/gold.diff"
check "the golden diff only adds the column to the policy snapshot" \
	test -z "$(grep '^[<>]' "$T/gold.diff" | grep -v -e '^[<>] #domain	' -e '^[<>] domain	')"
check "... in every domain row" \
	test "$(grep -c '^> domain	' "$T/gold.diff")" = "$(grep -c '^< domain	' "$T/gold.diff")"

tap_done
