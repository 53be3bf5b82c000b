#!/bin/bash
# test_webmail.sh - webmail for temporary mailboxes: Roundcube (Debian's
# package, private php-fpm, contrib/roundcube/run.sh) behind nginx on
# the mailbox host's Dovecot as mta-glue generates it, over a private
# PostgreSQL, in a network namespace of its own (Dovecot's ports are
# fixed).  A temp-pop3 mailbox gets one message over LMTP; Debian's
# chromium (tests/browser/webmail.mjs) logs in with the printed password
# and reads it.  Screenshots in build/test-output/webmail/.
set -u
. "$(dirname "$0")/../lib.sh"
if [ ! -x /usr/bin/chromium ] || [ ! -d "$TOP/tests/browser/node_modules/playwright-core" ]; then
	echo "Bail out! chromium or playwright-core missing (make deps installs them)"
	exit 1
fi
if [ ! -f /var/lib/roundcube/public_html/index.php ] || [ ! -x /usr/sbin/php-fpm8.2 ]; then
	echo "Bail out! roundcube-core or php-fpm missing (make deps installs them)"
	exit 1
fi
in_netns "$0" "$@"
pg_setup
relay_setup
WEB_PORT=18081
BASE="http://127.0.0.1:$WEB_PORT"

webmail_teardown() {
	bash "$TOP/contrib/nginx/run.sh" "$T/web" "$WEB_PORT" "$T/web/fcgi.sock" stop \
		> /dev/null 2>&1
	bash "$TOP/contrib/roundcube/run.sh" "$T/webmail" stop > /dev/null 2>&1
	relay_teardown
}
trap webmail_teardown EXIT

"$FEEDCTL" add example.com --mode feed --force --dest 127.0.0.1:2526 > /dev/null
run "$FEEDCTL" --json temp-pop3 example.com --mailbox alice
ADDR=$(jq -r '.mailboxes[0].address' "$T/out")
PW=$(jq -r '.mailboxes[0].password' "$T/out")
check "temp-pop3 prints the mailbox and its password" \
	test "$ADDR" = alice@example.com -a -n "$PW" -a "$PW" != null

expect_exit 0 "mta-glue apply writes the mailbox host's Dovecot configuration" "$MTA_GLUE" apply
dovecot_start

MARK="W-$$-$RANDOM"
printf '%s\r\n' "From: Bob <bob@sender.test>" "To: $ADDR" "Subject: Outage note $MARK" \
	"Date: $(date -R)" "Message-ID: <$MARK@sender.test>" "" \
	"body of $MARK" "second line" > "$T/msg.eml"
run swaks --protocol LMTP --server 127.0.0.1:24 --helo webmail.test \
	--from bob@sender.test --to "$ADDR" --data "$T/msg.eml" --timeout 10
check "Dovecot takes a message for the mailbox over LMTP" \
	bash -c "[ $rc = 0 ] && grep -qE '^<- +250 .*Saved' '$T/out'"
check "... and serves it over IMAP on 127.0.0.1:1143" \
	bash -c "curl -s -m 10 'imap://127.0.0.1:1143/INBOX;UID=1' -u '$ADDR:$PW' | grep -qF 'body of $MARK'"

mkdir -p "$T/web"
run bash "$TOP/contrib/roundcube/run.sh" "$T/webmail" start 127.0.0.1:1143
check "Roundcube's php-fpm starts with state under the test's directory" \
	test "$rc" = 0 -a -S "$T/webmail/php-fpm.sock"
check "... its des_key is made per install" \
	bash -c "grep -qF \"des_key'] = '\$(cat '$T/webmail/des_key')'\" '$T/webmail/config/config.inc.php'"
run bash "$TOP/contrib/nginx/run.sh" "$T/web" "$WEB_PORT" "$T/web/fcgi.sock" start "$T/webmail"
check "nginx starts with the /webmail/ location" test "$rc" = 0
for _ in $(seq 50); do
	curl -s -o /dev/null "$BASE/webmail/" && break
	sleep 0.1
done
expect_status 200 "GET /webmail/ shows the login page" GET /webmail/
check "... named mxfeed webmail" out_has "mxfeed webmail"
expect_status 200 "its static files are served" GET /webmail/skins/elastic/images/logo.svg
expect_status 404 "dot files are not" GET /webmail/.htaccess
expect_status 404 "nor the configuration outside public_html" GET /webmail/config/config.inc.php
# issue 13, finding 8: a plugin's config.inc.php was sent as text
check "a plugin's configuration exists under public_html" test -f /var/lib/roundcube/public_html/plugins/jqueryui/config.inc.php
expect_status 404 "... and is not served" GET /webmail/plugins/jqueryui/config.inc.php
expect_status 404 "... nor its .dist copy" GET /webmail/plugins/jqueryui/config.inc.php.dist
expect_status 404 "... nor any PHP file but index.php" GET /webmail/plugins/jqueryui/jqueryui.php
expect_status 200 "index.php still is" GET /webmail/index.php

SHOTS="$BUILD/test-output/webmail"
rm -rf "$SHOTS"
mkdir -p "$SHOTS"
# the browser's own TAP lines continue this script's numbering
BASE=$BASE ADDR=$ADDR PW=$PW MARK=$MARK SHOTS=$SHOTS TAP_FIRST=$TAP_N \
	node "$TOP/tests/browser/webmail.mjs" > "$T/browser.tap" 2>&1
brc=$?
grep -v '^1\.\.' "$T/browser.tap"
TAP_N=$((TAP_N + $(grep -cE '^(not )?ok ' "$T/browser.tap")))
TAP_FAILED=$((TAP_FAILED + $(grep -c '^not ok ' "$T/browser.tap")))
if [ "$brc" -ne 0 ] && ! grep -q '^not ok ' "$T/browser.tap"; then
	tap_fail "the browser test ran to the end (exit $brc)"
fi
check "no PHP errors were logged" \
	bash -c "! grep -qsi 'php fatal\|php warning' '$T/webmail/logs/'* '$T/webmail/php-fpm.log'"
tap_done
