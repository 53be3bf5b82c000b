#!/bin/bash
# test_fcgi_peer.sh - mxfeed-fcgi trusts MXFEED_STAFF_USER only from the
# peers fcgi.peers names (issue 13, finding 1).  A local process of
# another user that reaches the socket (here: a socket left 0666 by a
# wrong setup) and sends MXFEED_STAFF_USER itself must be refused with
# a logged warning and change nothing; nginx (a permitted peer) still
# works.
set -u
. "$(dirname "$0")/../lib.sh"
pg_setup
web_setup

CLIENT=$TOP/tests/integration/fcgi_client.py
F=$FEEDCTL
SOCK=$T/fcgi.sock
U=(-u "staff:$STAFF_PW")
$F add example.com --mode feed --force --dest 127.0.0.1:2526 > /dev/null
v0=$(sql "SELECT version FROM domains WHERE name='example.com'")
state() { sql "SELECT version||' '||greylisting||' '||updated_by FROM domains WHERE name='example.com'; SELECT count(*) FROM audit"; }
before=$(state)

# as "nobody", straight to the socket, claiming to be staff "mallory"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 "$CLIENT" "$@"; }
chmod 0666 "$SOCK"
run as_nobody "$SOCK" GET /portal/d/example.com MXFEED_STAFF_USER=mallory
check "another uid gets no answer (connection closed)" test "$rc" = 3
check "... and no portal page" bash -c "! grep -q 'Signed in as' '$T/out'"
CSRF=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/out" | head -n 1)
run bash -c "printf 'csrf=%s&version=%s&greylisting=off&ticket=T-1' '$CSRF' '$v0' |
	setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 '$CLIENT' '$SOCK' POST /portal/d/example.com \
	MXFEED_STAFF_USER=mallory HTTP_ORIGIN=http://127.0.0.1 CONTENT_TYPE=application/x-www-form-urlencoded"
check "a POST from another uid gets no answer" test "$rc" = 3
check "nothing changed: same version, greylisting, actor, no audit row" \
	test "$(state)" = "$before"
check "... greylisting still on" test "$(sql "SELECT greylisting FROM domains WHERE name='example.com'")" = t
check "the refusal is logged with the peer's uid" grep -q "refused a connection from uid 65534" "$T/fcgi.log"
run bash -c "setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 '$CLIENT' '$SOCK' GET /healthz"
check "even healthz: another uid is refused" test "$rc" = 3

# the permitted peer (nginx, here running as root like the service) works
expect_status 200 "nginx still reaches the portal" GET /portal/d/example.com "${U[@]}"
run /usr/bin/python3 "$CLIENT" "$SOCK" GET /healthz
check "the service's own uid is a permitted peer" test "$rc" = 0

# fcgi.peers names who else may connect: user:NAME, group:NAME or ids
fcgi_stop
cp "$MXFEED_CONF" "$T/conf.orig"
printf 'fcgi = { peers = [ "user:nobody" ]; };\n' >> "$MXFEED_CONF"
rm -f "$SOCK"
fcgi_start
chmod 0666 "$SOCK"
run as_nobody "$SOCK" GET /healthz
check "fcgi.peers = user:nobody lets nobody in" test "$rc" = 0
check "... with the health answer" out_has '"status"'
fcgi_stop
cp "$T/conf.orig" "$MXFEED_CONF"
printf 'fcgi = { peers = [ "group:nogroup" ]; };\n' >> "$MXFEED_CONF"
rm -f "$SOCK"
fcgi_start
chmod 0666 "$SOCK"
run as_nobody "$SOCK" GET /healthz
check "fcgi.peers = group:nogroup lets nogroup's members in" test "$rc" = 0
run setpriv --reuid=nobody --regid=daemon --clear-groups /usr/bin/python3 "$CLIENT" "$SOCK" GET /healthz
check "... but not the same uid in another group" test "$rc" = 3
fcgi_stop
cp "$T/conf.orig" "$MXFEED_CONF"

# bad settings stop the service with the setting named
printf 'fcgi = { peers = [ "user:no-such-user-xyz" ]; };\n' >> "$MXFEED_CONF"
expect_exit 2 "an unknown user in fcgi.peers: exit 2" timeout 10 "$FCGI" --listen "unix:$T/other.sock"
check "... naming the setting and the user" err_has "fcgi.peers: no user 'no-such-user-xyz'"
cp "$T/conf.orig" "$MXFEED_CONF"
printf 'fcgi = { peers = [ "nginx" ]; };\n' >> "$MXFEED_CONF"
expect_exit 2 "an entry without user: or group:: exit 2" timeout 10 "$FCGI" --listen "unix:$T/other.sock"
check "... naming the setting" err_has "fcgi.peers"
cp "$T/conf.orig" "$MXFEED_CONF"
expect_exit 2 "a TCP listener without fcgi.peers = [\"any\"]: exit 2" timeout 10 "$FCGI" --listen "127.0.0.1:$((WEB_PORT + 7))"
check "... saying the peer cannot be checked" err_has "cannot check"
rm -f "$SOCK"
fcgi_start
tap_done
