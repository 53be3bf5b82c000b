#!/bin/bash
# test_journal.sh - structured journal entries (issue 16 item 6)
#
# journald need not run here: the script re-runs itself in a private
# mount namespace, puts a tmpfs over /run/systemd and binds
# journal_sink.py at /run/systemd/journal/socket, which decodes the
# native protocol into one JSON object per entry.  With log.target
# "auto" every program then finds the socket and sends its events
# there: feedctl's audit lines (a change with --ticket) and
# mxfeed-fcgi's (a PATCH with X-Ticket) carry DOMAIN=, TICKET=, ACTOR=
# and, from the API, REQUEST_ID= (the X-Request-Id answered); the
# access line carries the request's fields and the next request none of
# them, the portal's its staff user and domain; MESSAGE is the text
# the plain line had.  log.target = "stderr"
# sends nothing; "journal" with no socket falls back to the plain line.
set -u
if [ -z "${MXFEED_IN_MOUNTNS:-}" ]; then
	exec env MXFEED_IN_MOUNTNS=1 unshare --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/../lib.sh"
if ! ldd "$FEEDCTL" | grep -q libsystemd; then
	echo "1..0 # SKIP feedctl built without libsystemd (plain lines only)"
	exit 0
fi
unset JOURNAL_STREAM
if [ -d /run/systemd ]; then
	mount -t tmpfs tmpfs /run/systemd
else
	mount -t tmpfs tmpfs /run
fi
mkdir -p /run/systemd/journal
SOCK=/run/systemd/journal/socket

pg_setup
# log.target "auto", as an installation has it (lib.sh says stderr)
sed -i '/^log = /d' "$MXFEED_CONF"
J="$T/journal.jsonl"
touch "$J"
python3 "$TOP/tests/integration/journal_sink.py" "$SOCK" "$J" 2> "$T/sink.err" &
SINK_PID=$!
for _ in $(seq 50); do [ -e "$J.ready" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { echo "Bail out! journal_sink.py did not bind $SOCK"; cat "$T/sink.err"; exit 1; }
FCGI_WORKERS=1 web_setup
trap 'kill $SINK_PID 2> /dev/null; web_teardown' EXIT

# entry FILTER: wait (at most 10 s: the sink writes after the sender has
# gone on) for an entry matching the jq FILTER; the last match is in
# $T/out.  Returns 1 when none came.
entry() {
	local i
	for i in $(seq 100); do
		jq -c "select($1)" "$J" 2> /dev/null | tail -n 1 > "$T/out"
		[ -s "$T/out" ] && return 0
		sleep 0.1
	done
	return 1
}
count() { jq -c "select($1)" "$J" | wc -l; }
actor_is() { jq -e --arg a "$ACTOR" '.ACTOR == $a' "$T/out" > /dev/null; }

# --- mxfeed-fcgi's start line ----------------------------------------------
check "mxfeed-fcgi's start line is an entry: the message as the plain line had it" \
	entry '.SYSLOG_IDENTIFIER == "mxfeed-fcgi" and (.MESSAGE | startswith("listening on unix:"))'
check "... with PRIORITY 6 (info) and the message alone" \
	jq_out '.PRIORITY == "6" and (.MESSAGE | test("^listening on unix:.* with 1 workers$"))'
check "... and nothing on mxfeed-fcgi's stderr" bash -c "! grep -q 'listening on' '$T/fcgi.log'"

# --- feedctl: a change with a ticket -----------------------------------------
"$FEEDCTL" --ticket INC-1 add j1.example --mode feed --dest 127.0.0.1:2525 --force > "$T/add.out" 2> "$T/add.err"
ACTOR=$(sql "SELECT actor FROM audit WHERE action = 'create' AND domain = 'j1.example'")
check "feedctl add: an audit entry with DOMAIN, TICKET, ACTOR" \
	entry '.SYSLOG_IDENTIFIER == "feedctl" and .DOMAIN == "j1.example" and .TICKET == "INC-1"'
check "... ACTOR is the audit row's actor ($ACTOR)" actor_is
check "... its message names the change" \
	jq_out '.MESSAGE | test("^audit: create j1\\.example by .* \\(ticket INC-1\\)$")'
"$FEEDCTL" --ticket INC-2 set j1.example greylisting=off > "$T/set.out" 2> "$T/set.err"
check "feedctl set: an entry with TICKET=INC-2, DOMAIN=j1.example" \
	entry '.SYSLOG_IDENTIFIER == "feedctl" and .TICKET == "INC-2" and .DOMAIN == "j1.example" and .PRIORITY == "6"'
check "... ACTOR as in the audit table" actor_is
check "... and feedctl's terminal saw none of it (stderr empty)" test ! -s "$T/set.err"

# --- the API: a PATCH with a ticket ------------------------------------------
OP=$("$FEEDCTL" token create t-op --role operator --json | jq -r .token)
O=(-H "Authorization: Bearer $OP")
expect_status 200 "PATCH with X-Ticket: INC-3" PATCH /api/v1/domains/j1.example "${O[@]}" \
	-H 'Content-Type: application/merge-patch+json' -H 'If-Match: "2"' -H 'X-Ticket: INC-3' \
	-d '{"greylisting": true}'
RID=$(hdr X-Request-Id)
check "the API's audit entry: DOMAIN, TICKET, ACTOR=t-op, REQUEST_ID=$RID" \
	entry ".SYSLOG_IDENTIFIER == \"mxfeed-fcgi\" and (.MESSAGE | startswith(\"audit:\")) and .REQUEST_ID == \"$RID\""
check "... its fields" \
	jq_out '.DOMAIN == "j1.example" and .TICKET == "INC-3" and .ACTOR == "t-op"'
check "... its message" jq_out '.MESSAGE == "audit: set j1.example by t-op (ticket INC-3)"'
check "... and no other field (no CODE_FILE pointing into the log module)" \
	jq_out 'keys == ["ACTOR", "DOMAIN", "MESSAGE", "PRIORITY", "REQUEST_ID", "SYSLOG_IDENTIFIER", "TICKET"]'
check "the access line of that request: the plain line's text" \
	entry ".REQUEST_ID == \"$RID\" and (.MESSAGE | startswith(\"access id=$RID method=PATCH path=\\\"/api/v1/domains/j1.example\\\" status=200 \"))"
check "... with DOMAIN, TICKET and ACTOR" \
	jq_out '.DOMAIN == "j1.example" and .TICKET == "INC-3" and .ACTOR == "t-op"'
http GET /api/v1/relays "${O[@]}"
RID2=$(hdr X-Request-Id)
check "the next request (same worker): its own REQUEST_ID, no ticket or domain left over" \
	entry ".REQUEST_ID == \"$RID2\" and (.MESSAGE | startswith(\"access \"))"
check "... (fields: ACTOR only)" jq_out '.ACTOR == "t-op" and has("TICKET") == false and has("DOMAIN") == false'
http POST /api/v1/domains/j1.example/quarantine/4XyZ1mQ7bCd/release "${O[@]}"
RID3=$(hdr X-Request-Id)
check "a quarantine route's access entry has QUEUE_ID (got $status)" \
	entry ".REQUEST_ID == \"$RID3\" and .QUEUE_ID == \"4XyZ1mQ7bCd\" and .DOMAIN == \"j1.example\""
http GET /api/v1/domains
RID4=$(hdr X-Request-Id)
check "a request without a token: REQUEST_ID, no ACTOR ($status)" \
	entry ".REQUEST_ID == \"$RID4\" and has(\"ACTOR\") == false"
http GET /portal/d/j1.example -u "staff:$STAFF_PW"
RID5=$(hdr X-Request-Id)
check "the portal's page of a domain: ACTOR=staff, DOMAIN=j1.example ($status)" \
	entry ".REQUEST_ID == \"$RID5\" and .ACTOR == \"staff\" and .DOMAIN == \"j1.example\""
check "no access line went to mxfeed-fcgi's stderr" bash -c "! grep -q 'access id=' '$T/fcgi.log'"

# --- mta-glue and mxfeed-policyd -----------------------------------------------
"$MTA_GLUE" worker --once > "$T/w.out" 2> "$T/w.err"
check "mta-glue worker: its start line is an entry" \
	entry '.SYSLOG_IDENTIFIER == "mta-glue" and (.MESSAGE | test("^worker test-relay:[0-9]+ starts$"))'
check "... and not on its stderr (a daemon: no echo)" bash -c "! grep -q 'starts' '$T/w.err'"
# a header row policy_map() refuses (rows are only read at lookup)
printf '#domain\tname\tname\n' > "$T/bad.snapshot"
"$BUILD/rel/bin/mxfeed-policyd" -s "$T/bad.snapshot" < /dev/null > "$T/p.out" 2> "$T/p.err"
check "mxfeed-policyd: an unreadable snapshot is a warning entry (PRIORITY 4)" \
	entry '.SYSLOG_IDENTIFIER == "mxfeed-policyd" and .PRIORITY == "4" and (.MESSAGE | endswith("(keeping the previous snapshot)"))'
check "... and not on its stderr (Postfix's spawn)" test ! -s "$T/p.err"

# --- log.target ----------------------------------------------------------------
sed 's/^relay = /log = { target = "stderr"; };\nrelay = /' "$MXFEED_CONF" > "$T/stderr.conf"
before=$(count '.SYSLOG_IDENTIFIER == "feedctl"')
run "$FEEDCTL" -c "$T/stderr.conf" --ticket INC-4 set j1.example greylisting=off
check "log.target = stderr: feedctl set works" test "$rc" = 0
"$FEEDCTL" --ticket INC-5 set j1.example greylisting=on > /dev/null 2>&1
entry '.TICKET == "INC-5"' > /dev/null
check "... and sent no entry (only the next, auto, change did)" \
	test "$(count '.SYSLOG_IDENTIFIER == "feedctl"')" = $((before + 1))
check "... INC-4 is nowhere in the journal" test "$(count '.TICKET == "INC-4"')" = 0
sed 's/^relay = /log = { target = "nowhere"; };\nrelay = /' "$MXFEED_CONF" > "$T/bad.conf"
expect_exit 2 "log.target = nowhere is refused" "$FEEDCTL" -c "$T/bad.conf" list
check "... naming the setting and the choices" err_has "log.target: must be auto, journal or stderr"
check "no entry was malformed" test "$(count 'has("_BAD")')" = 0

# the journal gone: log.target = journal falls back to the plain line
sed 's/^relay = /log = { target = "journal"; };\nrelay = /' "$MXFEED_CONF" > "$T/journal.conf"
kill "$SINK_PID" 2> /dev/null
wait "$SINK_PID" 2> /dev/null
rm -f "$SOCK"
run "$FEEDCTL" -c "$T/journal.conf" --ticket INC-6 set j1.example greylisting=off
check "log.target = journal with no journal: the change is made" test "$rc" = 0
check "... and its audit line is printed on stderr instead" \
	err_has "feedctl: info: audit: set j1.example by $ACTOR (ticket INC-6)"

tap_done
