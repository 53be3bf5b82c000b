#!/bin/bash
# demo.sh start|stop|status - the mxfeed demo on this machine
#
# Keeps everything in $MXFEED_DEMO_DIR (default /var/lib/mxfeed-demo):
# a private PostgreSQL cluster (contrib/pgcluster.sh), the demo's
# mxfeed.conf and the seeded data.  "start" is safe to repeat: it reuses
# what is there, migrates, seeds only what is missing and keeps the data.
# It runs mxfeed-fcgi (pid in $demo/web/fcgi.pid) behind nginx on
# 127.0.0.1:8080 with a demo staff login for the portal (basic auth,
# password in $demo/staff-password) and an API token kept in
# $demo/api-token.  The relay: a Postfix instance on 127.0.0.1:2525
# configured by mta-glue (state in $demo/state, daemon "mta-glue sync"
# with its pid in $demo/sync.pid), and the demo "customer server",
# smtp-sink on 127.0.0.1:2526 keeping each message in $demo/sink/.
# Webmail: Roundcube under /webmail/ of the same nginx, with its own
# php-fpm and state in $demo/webmail (contrib/roundcube/run.sh).
# The relay's resolver: a caching unbound on 127.0.0.1:53
# (contrib/unbound-local.sh, TTLs capped at 5 minutes, state in
# $demo/unbound) that never asks a server elsewhere: a name it does not
# hold answers SERVFAIL at once.  Postfix and rspamd run in a mount
# namespace of their own whose /etc/resolv.conf names it.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
demo=${MXFEED_DEMO_DIR:-/var/lib/mxfeed-demo}
feedctl=$top/build/rel/bin/feedctl
fcgi=$top/build/rel/bin/mxfeed-fcgi
mtaglue=$top/build/rel/bin/mta-glue
conf=$demo/mxfeed.conf
web=$demo/web
port=8080
# "${with_resolver[@]}" CMD...: run CMD (in the same process, and what it
# leaves behind) with $demo/resolv.conf as its /etc/resolv.conf
with_resolver=(unshare --mount --propagation private sh -c
	'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$demo/resolv.conf")

fcgi_stop() {
	if [ -f "$web/fcgi.pid" ] && kill -0 "$(cat "$web/fcgi.pid")" 2> /dev/null; then
		kill "$(cat "$web/fcgi.pid")"
		for _ in $(seq 50); do
			kill -0 "$(cat "$web/fcgi.pid")" 2> /dev/null || break
			sleep 0.1
		done
	fi
	rm -f "$web/fcgi.pid"
}

pid_stop() {
	if [ -f "$1" ] && kill -0 "$(cat "$1")" 2> /dev/null; then
		kill "$(cat "$1")"
		for _ in $(seq 50); do
			kill -0 "$(cat "$1")" 2> /dev/null || break
			sleep 0.1
		done
	fi
	rm -f "$1"
}

answers() {
	for _ in $(seq 50); do
		(exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null && return 0
		sleep 0.1
	done
	echo "demo: nothing answers on 127.0.0.1:$1" >&2
	exit 1
}

# daemon_run NAME CMD...: run a command that leaves a daemon behind with
# its stdin, stdout and stderr on $demo/NAME.log, so that the daemon
# does not hold the caller's (a pipe under "make demo | tee") open; on
# failure show the log's end and stop.
daemon_run() {
	local name=$1
	shift
	if ! "$@" > "$demo/$name.log" 2>&1 < /dev/null; then
		echo "demo: $name failed; the end of $demo/$name.log:" >&2
		tail -n 5 "$demo/$name.log" >&2
		exit 1
	fi
}

# The relay's caching resolver, unless it already answers.  The demo
# is offline: unbound asks no server at all (not the root, not the
# host's resolver), so a name outside its own local zones (localhost,
# 127.in-addr.arpa) is SERVFAIL within milliseconds and the mail waits
# in the queue instead of a worker waiting for a timeout.
resolver_start() {
	mkdir -p "$demo/unbound"
	printf '\tdo-not-query-address: 0.0.0.0/0\n\tdo-not-query-address: ::/0\n' \
		> "$demo/unbound/local.conf"
	if ! dig +short +time=1 +tries=1 @127.0.0.1 localhost. A > /dev/null 2>&1; then
		daemon_run unbound-start sh "$top/contrib/unbound-local.sh" "$demo" start 127.0.0.1 53
	fi
	echo "nameserver 127.0.0.1" > "$demo/resolv.conf"
}


# ClamAV with a signature database made here (EICAR, no download) and
# rspamd reading the current generation, unless they already run.
scanner_start() {
	if ! (exec 3<> /dev/tcp/127.0.0.1/3310) 2> /dev/null; then
		sh "$top/contrib/clamd-local.sh" "$demo"
		setsid clamd -c "$demo/clamav/clamd.conf" > /dev/null 2>&1 < /dev/null &
		echo $! > "$demo/clamd.pid"
	fi
	if ! (exec 3<> /dev/tcp/127.0.0.1/11332) 2> /dev/null; then
		mkdir -p "$demo/rspamd"
		chown _rspamd:_rspamd "$demo/rspamd"
		setsid "${with_resolver[@]}" rspamd -f -u _rspamd -g _rspamd -c /etc/rspamd/rspamd.conf \
			--var=LOCAL_CONFDIR="$demo/state/current/rspamd" \
			--var=DBDIR="$demo/rspamd" --var=RUNDIR="$demo/rspamd" \
			--var=LOGDIR="$demo/rspamd" > "$demo/rspamd/out.log" 2>&1 < /dev/null &
		echo $! > "$demo/rspamd.pid" # -f writes none; mta-glue HUPs this
	fi
	# rspamd on a fresh DBDIR compiles its tables first: over 30 s on
	# a busy 2-CPU box
	for _ in $(seq 1200); do
		(exec 3<> /dev/tcp/127.0.0.1/3310) 2> /dev/null &&
			(exec 3<> /dev/tcp/127.0.0.1/11332) 2> /dev/null && return 0
		sleep 0.1
	done
	echo "demo: clamd or rspamd does not answer; see $demo/clamav and $demo/rspamd" >&2
	exit 1
}

# The relay and the customer server; sync restarted like mxfeed-fcgi.
mail_start() {
	mkdir -p "$demo/sink"
	chown postfix "$demo/sink"
	if ! (exec 3<> /dev/tcp/127.0.0.1/2526) 2> /dev/null; then
		setsid smtp-sink -u postfix -d "$demo/sink/%Y%m%d/%H%M%S." \
			127.0.0.1:2526 100 > "$demo/sink.log" 2>&1 < /dev/null &
		echo $! > "$demo/sink.pid"
	fi
	MXFEED_CONF=$conf "$mtaglue" apply > /dev/null
	# postgrey as mta-glue restarts it when its options change
	# (greylist.restart in $conf)
	if ! (exec 3<> /dev/tcp/127.0.0.1/10023) 2> /dev/null; then
		mkdir -p "$demo/postgrey"
		chown postgrey "$demo/postgrey"
		daemon_run postgrey-start sh "$top/contrib/postgrey-restart.sh" \
			"$demo/postgrey.pid" "$demo/state/current/postgrey.args" \
			"$demo/postgrey.log" --dbdir="$demo/postgrey"
	fi
	scanner_start
	if ! MXFEED_CONF=$conf "$mtaglue" status | grep -q 'postfix: running'; then
		daemon_run mta-glue-start "${with_resolver[@]}" env MXFEED_CONF="$conf" "$mtaglue" start
	fi
	pid_stop "$demo/sync.pid"
	MXFEED_CONF=$conf setsid "$mtaglue" sync >> "$demo/sync.log" 2>&1 < /dev/null &
	echo $! > "$demo/sync.pid"
	mkdir -p "$demo/mail"
	chown mail:mail "$demo/mail"
	# Dovecot's master keeps the stderr it was started with: give it a
	# file, or "make demo | tee" never sees the end of its output
	if ! (exec 3<> /dev/tcp/127.0.0.1/24) 2> /dev/null; then
		daemon_run dovecot dovecot -c "$demo/state/current/dovecot/dovecot.conf"
	else
		daemon_run dovecot dovecot -c "$demo/state/current/dovecot/dovecot.conf" reload
	fi
	# the jobs worker: forwards, archives and removes mailboxes after a
	# switch or revert
	pid_stop "$demo/worker.pid"
	MXFEED_CONF=$conf setsid "$mtaglue" worker --retry 5 >> "$demo/worker.log" 2>&1 < /dev/null &
	echo $! > "$demo/worker.pid"
	answers 2525
	answers 2526
	answers 10023
	answers 1110
	answers 1143
	answers 8090
	# the re-injection listener: a socket only root and Postfix reach
	for _ in $(seq 50); do
		[ -S "$demo/state/spool/private/mxfeed-reinject" ] && break
		sleep 0.1
	done
	[ -S "$demo/state/spool/private/mxfeed-reinject" ] ||
		{ echo "demo: no re-injection socket in $demo/state/spool/private" >&2; exit 1; }
}

# (Re)start mxfeed-fcgi, so that a rebuilt binary is the one running.
web_start() {
	mkdir -p "$web"
	if [ ! -s "$demo/staff-password" ]; then
		(umask 077 && openssl rand -hex 8 > "$demo/staff-password")
	fi
	printf 'staff:%s\n' "$(openssl passwd -6 "$(cat "$demo/staff-password")")" \
		> "$web/htpasswd"
	fcgi_stop
	MXFEED_CONF=$conf setsid "$fcgi" --listen "unix:$web/fcgi.sock" --workers 4 \
		>> "$web/fcgi.log" 2>&1 < /dev/null &
	echo $! > "$web/fcgi.pid"
	for _ in $(seq 50); do
		[ -S "$web/fcgi.sock" ] && break
		sleep 0.1
	done
	bash "$top/contrib/nginx/run.sh" "$web" "$port" "$web/fcgi.sock" start "$demo/webmail"
	for _ in $(seq 50); do
		curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
		sleep 0.1
	done
	echo "demo: the portal does not answer; see $web/fcgi.log and $web/nginx-error.log" >&2
	exit 1
}

# Roundcube's php-fpm (restarted config, kept des_key and sessions);
# web_start's nginx serves /webmail/ from it.  IMAP: Dovecot, 1143.
webmail_start() {
	bash "$top/contrib/roundcube/run.sh" "$demo/webmail" start 127.0.0.1:1143
	for _ in $(seq 50); do
		curl -sf -o /dev/null "http://127.0.0.1:$port/webmail/" && return 0
		sleep 0.1
	done
	echo "demo: webmail does not answer; see $demo/webmail/php-fpm.log and $demo/webmail/logs" >&2
	exit 1
}

start() {
	[ -x "$feedctl" ] && [ -x "$fcgi" ] && [ -x "$mtaglue" ] ||
		{ echo "demo: build first (make)" >&2; exit 1; }
	mkdir -p "$demo/state"
	bash "$top/contrib/pgcluster.sh" "$demo/pg" init
	# the relay's STARTTLS certificate (SPEC section 10): self-signed,
	# made once and kept, so that a fingerprint noted stays true
	if [ ! -s "$demo/tls/cert.pem" ] || [ ! -s "$demo/tls/key.pem" ]; then
		mkdir -p "$demo/tls"
		(umask 077 && openssl req -x509 -newkey ec \
			-pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
			-subj "/CN=relay.demo.test" \
			-addext "subjectAltName=DNS:relay.demo.test" \
			-keyout "$demo/tls/key.pem" -out "$demo/tls/cert.pem" \
			> "$demo/tls/openssl.log" 2>&1) ||
			{ echo "demo: openssl cannot make the relay's certificate; see $demo/tls/openssl.log" >&2; exit 1; }
		chmod 644 "$demo/tls/cert.pem"
	fi
	cat > "$conf.tmp" <<CONF
# mxfeed demo configuration (written by contrib/demo/demo.sh)
database = {
  conninfo = "host=$demo/pg/sock dbname=mxfeed user=mxfeed_app";
  owner_conninfo = "host=$demo/pg/sock dbname=mxfeed user=mxfeed_owner";
};
relay = { name = "demo-relay"; listen = "127.0.0.1:2525";
          hostname = "relay.demo.test"; dns = 1; };
paths = { state = "$demo/state"; };
# the demo's customer server listens on loopback: allow it, nothing else
destinations = { allow = [ "127.0.0.0/8" ]; };
# greylisting as in production, with a short delay for trying it out;
# change the delay here, then "kill -HUP \$(cat $demo/sync.pid)": mta-glue
# restarts postgrey with it (greylist.restart)
greylist = { postgrey = "127.0.0.1:10023"; delay = 10;
             restart = [ "/bin/sh", "$top/contrib/postgrey-restart.sh",
                         "$demo/postgrey.pid", "$demo/state/current/postgrey.args",
                         "$demo/postgrey.log", "--dbdir=$demo/postgrey" ]; };
# the resolver (127.0.0.1:53) reaches no server: rspamd's network
# checks off; X-Test-Score lets you try
# each spam level (demo only)
spam = { network_checks = 0; test_header = 1; };
scanner = { rspamd_pid = "$demo/rspamd.pid"; };
# STARTTLS on 127.0.0.1:2525 with the demo's self-signed certificate
tls = { cert_file = "$demo/tls/cert.pem"; key_file = "$demo/tls/key.pem"; };
# the mailbox host: Dovecot on the demo's fixed addresses (SPEC section 10)
mailbox = { listen = "127.0.0.1"; pop3_port = 1110; imap_port = 1143;
            lmtp_port = 24; maildir = "$demo/mail"; user = "mail";
            # the worker waits this long for LMTP deliveries under way
            # after a switch (production: 60)
            settle = 5; };
CONF
	mv "$conf.tmp" "$conf"
	export MXFEED_CONF=$conf
	"$feedctl" db migrate > /dev/null
	if ! "$feedctl" show example.com > /dev/null 2>&1; then
		"$feedctl" --ticket DEMO-1 add example.com --mode feed --force \
			--dest 127.0.0.1:2526 > /dev/null
	fi
	if ! "$feedctl" show example.net > /dev/null 2>&1; then
		"$feedctl" --ticket DEMO-1 add example.net --mode pop3 > /dev/null
		"$feedctl" --json --ticket DEMO-1 mailbox add example.net info \
			> "$demo/mailbox.json"
		chmod 600 "$demo/mailbox.json"
	fi
	# the portal refuses a login without a staff row: the demo's
	# "staff" login is its admin (the documented bootstrap)
	if ! "$feedctl" --json staff list | jq -e '.[] | select(.login == "staff")' > /dev/null; then
		"$feedctl" --ticket DEMO-1 staff add staff --role admin > /dev/null
	fi
	if [ ! -s "$demo/api-token" ]; then
		"$feedctl" token revoke demo > /dev/null 2>&1 || true
		(umask 077 && "$feedctl" --ticket DEMO-1 token create demo --role admin --json |
			jq -r .token > "$demo/api-token")
	fi
	resolver_start
	web_start
	webmail_start
	mail_start
	token=$(cat "$demo/api-token")
	cat <<TEXT

mxfeed demo is running (data in $demo).

Portal:  http://127.0.0.1:$port/portal/
         login: staff   password: $(cat "$demo/staff-password")
API:     http://127.0.0.1:$port/api/v1/   token (role admin): $token
Webmail: http://127.0.0.1:$port/webmail/   for temporary mailboxes: the address
         and the password temp-pop3 printed (see the outage tour below)

  curl -s -H "Authorization: Bearer $token" http://127.0.0.1:$port/api/v1/domains/example.com
  curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \\
       -d '{"name":"example.org","mode":"feed","destination":{"host":"127.0.0.1","port":2526}}' \\
       http://127.0.0.1:$port/api/v1/domains
  curl -s -X PATCH -H "Authorization: Bearer $token" -H 'If-Match: "1"' \\
       -H 'Content-Type: application/merge-patch+json' -d '{"greylisting":false}' \\
       http://127.0.0.1:$port/api/v1/domains/example.org

Mail:    relay 127.0.0.1:2525 -> demo customer server 127.0.0.1:2526
DNS:     the relay resolves through unbound on 127.0.0.1:53 (TTLs capped at
         5 minutes); offline, it asks no server: other names are SERVFAIL
  dig @127.0.0.1 -x 127.0.0.1       # answered locally (localhost.)

  swaks --server 127.0.0.1:2525 --helo client.example --from you@sender.example --to info@example.com
      # example.com greylists (as in production): the first try gets
      # "450 4.2.0 Greylisted"; run the same swaks again after 10 s
  ls -R $demo/sink                  # where it arrives (one file per message)
  swaks ... --to info@example.net   # a pop3 domain: into Dovecot; read it with
  curl pop3://127.0.0.1:1110/1 -u info@example.net:PASSWORD   # from mailbox.json
  swaks ... --attach @$demo/eicar.com   # a virus: refused, 554 5.7.1
  feedctl set example.com spam.enabled=on spam.low.action=header
  swaks ... --add-header 'X-Test-Score: 6'   # arrives with X-Spam-Level: low
  feedctl set example.com greylisting=off --ticket T-2   # relayed within a second:
  tail $demo/sync.log               #   "applied sequence N in ... ms"

  export MXFEED_CONF=$conf
  PATH=$top/build/rel/bin:\$PATH

Try:
  feedctl list
  feedctl show example.com
  feedctl set example.com greylisting=off spam.enabled=on --ticket T-1
  feedctl set example.com queue.days=0          # refused: exit 2, nothing stored
  feedctl history example.com
  feedctl add bücher.example --mode feed --dest 127.0.0.1:2526
  feedctl show example.net --json
  feedctl mailbox list example.net              # password of info@example.net:
                                                #   $demo/mailbox.json
  echo '[{"name":"example.org","mode":"feed","destination":{"host":"127.0.0.1","port":2526}}]' \\
    | feedctl apply -f - --dry-run
  feedctl staff add alice --role read --domain example.com   # a read-only login
  feedctl help

An outage, end to end (example.com's server "is down"):
  feedctl set example.com greylisting=off
  feedctl temp-pop3 example.com --mailbox info   # prints info@example.com's
      # password once; queued mail and new mail now go to that mailbox
  swaks --server 127.0.0.1:2525 --helo client.example --from you@sender.example \\
      --to info@example.com --header 'Subject: during the outage'
  # read it at http://127.0.0.1:$port/webmail/ as info@example.com
  feedctl revert example.com     # back to the feed: the worker hands the
  feedctl jobs example.com       #   mailbox's mail to 127.0.0.1:2526, then
  ls -R $demo/sink               #   archives and removes the mailbox

Switching either way:
  feedctl switch example.net --to feed --dest 127.0.0.1:2526   # probes it, then
      # forwards the mail in info@example.net there (--mailboxes archive|purge)
  feedctl switch example.net --to pop3 --mailbox info   # and back: new password

Seeded: example.com (feed -> demo customer server 127.0.0.1:2526) and
example.net (pop3, mailbox info@example.net).
Stop with: make demo-stop
TEXT
}

case ${1:-start} in
start) start ;;
stop)
	if [ -d "$web" ]; then
		bash "$top/contrib/nginx/run.sh" "$web" "$port" "$web/fcgi.sock" stop
		fcgi_stop
	fi
	if [ -d "$demo/webmail" ]; then
		bash "$top/contrib/roundcube/run.sh" "$demo/webmail" stop
	fi
	pid_stop "$demo/sync.pid"
	pid_stop "$demo/worker.pid"
	if [ -e "$demo/state/current" ]; then
		MXFEED_CONF=$conf "$mtaglue" stop > /dev/null 2>&1 || true
	fi
	pid_stop "$demo/sink.pid"
	if [ -e "$demo/state/current/dovecot/dovecot.conf" ]; then
		dovecot -c "$demo/state/current/dovecot/dovecot.conf" stop > /dev/null 2>&1 || true
	fi
	pid_stop "$demo/postgrey.pid"
	pid_stop "$demo/rspamd.pid"
	pid_stop "$demo/clamd.pid"
	sh "$top/contrib/unbound-local.sh" "$demo" stop
	if [ -d "$demo/pg" ]; then
		bash "$top/contrib/pgcluster.sh" "$demo/pg" stop
	fi
	echo "mxfeed demo stopped (data kept in $demo)"
	;;
status) bash "$top/contrib/pgcluster.sh" "$demo/pg" status ;;
*)
	echo "usage: demo.sh start|stop|status" >&2
	exit 2
	;;
esac
