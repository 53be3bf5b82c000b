#!/bin/bash
# test_actor.sh - who feedctl records as the actor (issue 13, finding 9):
# SUDO_USER only when feedctl really runs under sudo (real uid 0 and
# SUDO_UID naming that user), then with the real uid beside it; anyone
# else is recorded under their own login whatever the environment says.
set -u
. "$(dirname "$0")/../lib.sh"
pg_setup

F=$FEEDCTL
"$F" add example.com --mode feed --force --dest 127.0.0.1:2526 > /dev/null
actor_of() { # actor_of CMD...: run a change, print the actor recorded
	local n
	n=$(sql "SELECT count(*) FROM audit")
	"$@" "$F" set example.com queue.days=$((n % 25 + 3)) > "$T/out" 2> "$T/err" || { cat "$T/err"; return; }
	sql "SELECT actor FROM audit ORDER BY id DESC LIMIT 1"
}
ME=$(id -un)
check "no SUDO_USER: the real user" test "$(actor_of env -u SUDO_USER -u SUDO_UID)" = "$ME"
check "SUDO_USER of a user that does not exist: the real user" \
	test "$(actor_of env SUDO_USER=mallory SUDO_UID=4242)" = "$ME"
check "SUDO_USER without SUDO_UID: the real user" \
	test "$(actor_of env -u SUDO_UID SUDO_USER=nobody)" = "$ME"
check "SUDO_USER whose uid is not SUDO_UID: the real user" \
	test "$(actor_of env SUDO_USER=nobody SUDO_UID=0)" = "$ME"
check "real sudo (root, SUDO_USER and SUDO_UID agree): that user and the real uid" \
	test "$(actor_of env SUDO_USER=nobody SUDO_UID=65534)" = "nobody via sudo (uid 0)"

# a user other than root claiming to be root through SUDO_USER
chmod 0644 "$MXFEED_CONF"
got=$(actor_of setpriv --reuid=nobody --regid=nogroup --clear-groups env SUDO_USER=root SUDO_UID=0)
check "nobody with SUDO_USER=root is recorded as nobody" test "$got" = nobody
check "... and the history says so" bash -c "'$F' history example.com --json | jq -e '.[0].actor == \"nobody\"' > /dev/null"
tap_done
