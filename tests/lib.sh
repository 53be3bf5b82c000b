# lib.sh - shared helpers for the integration tests (bash, TAP output)
#
# Source it, then call pg_setup to get a private PostgreSQL cluster in a
# temporary directory (removed on exit), migrated, with $MXFEED_CONF
# pointing at a configuration that allows 127.0.0.0/8 destinations.
# feedctl runs as $FEEDCTL.  Assertions print "ok N - what" or
# "not ok N - what" plus the captured output as "# " lines.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${MXFEED_BUILD:-$TOP/build}
FEEDCTL="$BUILD/rel/bin/feedctl"
TAP_N=0
TAP_FAILED=0

tap_ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $*"
}

tap_fail() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
	for f in "$T/out" "$T/err"; do
		[ -s "$f" ] && head -n 20 "$f" | sed 's/^/#   /'
	done
	return 0
}

tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

# jq_out EXPR: the JSON in $T/out satisfies EXPR (quietly: a check's
# own output must reach the TAP stream)
jq_out() {
	jq -e "$1" "$T/out" > /dev/null
}

# check DESC CMD...: CMD must succeed
check() {
	local desc=$1
	shift
	if "$@"; then tap_ok "$desc"; else tap_fail "$desc"; fi
}

# run CMD...: run, keep stdout in $T/out and stderr in $T/err, set $rc
run() {
	"$@" > "$T/out" 2> "$T/err"
	rc=$?
}

# expect_exit STATUS DESC CMD...: CMD exits with STATUS
expect_exit() {
	local want=$1 desc=$2
	shift 2
	run "$@"
	if [ "$rc" = "$want" ]; then
		tap_ok "$desc"
	else
		tap_fail "$desc (exit $rc, expected $want)"
	fi
}

# err_has TEXT: the last run's stderr contains TEXT (fixed string)
err_has() {
	grep -qF -- "$1" "$T/err"
}

out_has() {
	grep -qF -- "$1" "$T/out"
}

# psql as the superuser on the private cluster: sql "SELECT ..."
sql() {
	bash "$TOP/contrib/pgcluster.sh" "$T/pg" psql -d mxfeed -XAtq -c "$1"
}

pg_setup() {
	T=$(mktemp -d /tmp/mxfeed-test.XXXXXX)
	chmod 755 "$T"
	trap pg_teardown EXIT
	PGCLUSTER_FAST=1 bash "$TOP/contrib/pgcluster.sh" "$T/pg" init \
		> "$T/pg-init.log" 2>&1 ||
		{ echo "Bail out! cannot start PostgreSQL"; cat "$T/pg-init.log"; exit 1; }
	cat > "$T/mxfeed.conf" <<CONF
database = {
  conninfo = "host=$T/pg/sock dbname=mxfeed user=mxfeed_app";
  owner_conninfo = "host=$T/pg/sock dbname=mxfeed user=mxfeed_owner";
};
relay = { name = "test-relay"; };
paths = { state = "$T/state"; };
destinations = { allow = [ "127.0.0.0/8" ]; };
# the tests read the programs' lines from their stderr, also on a host
# where journald runs (test_journal.sh takes this line out)
log = { target = "stderr"; };
CONF
	export MXFEED_CONF="$T/mxfeed.conf"
	"$FEEDCTL" db migrate > "$T/migrate.log" 2>&1 ||
		{ echo "Bail out! migrations failed"; cat "$T/migrate.log"; exit 1; }
}

pg_teardown() {
	bash "$TOP/contrib/pgcluster.sh" "$T/pg" stop > /dev/null 2>&1
	rm -rf "$T"
}

FCGI="$BUILD/rel/bin/mxfeed-fcgi"
WEB_PORT=${WEB_PORT:-18080}

# web_setup: mxfeed-fcgi on $T/fcgi.sock and nginx on 127.0.0.1:$WEB_PORT
# in front of it; staff login "staff" / $STAFF_PW for the portal, an
# admin in staff_users (the portal refuses logins without a row).
web_setup() {
	STAFF_PW=staff-test-pw
	printf 'staff:%s\n' "$(openssl passwd -6 "$STAFF_PW")" > "$T/htpasswd"
	"$FEEDCTL" --ticket TEST staff add staff --role admin > "$T/staff-add.log" 2>&1 ||
		{ echo "Bail out! cannot add the staff login"; cat "$T/staff-add.log"; exit 1; }
	fcgi_start
	bash "$TOP/contrib/nginx/run.sh" "$T" "$WEB_PORT" "$T/fcgi.sock" start \
		> "$T/nginx-start.log" 2>&1 ||
		{ echo "Bail out! nginx did not start"; cat "$T/nginx-start.log" "$T/nginx-error.log"; exit 1; }
	# after relay_setup the relay's daemons must go too (before $T does)
	if [ "${RELAY_UP:-0}" = 1 ]; then
		trap 'web_stop; relay_teardown' EXIT
	else
		trap web_teardown EXIT
	fi
	BASE="http://127.0.0.1:$WEB_PORT"
	for _ in $(seq 50); do
		curl -s -o /dev/null "$BASE/healthz" && return 0
		sleep 0.1
	done
	echo "Bail out! nginx/mxfeed-fcgi do not answer"
	exit 1
}

fcgi_start() {
	"$FCGI" --listen "unix:$T/fcgi.sock" --workers "${FCGI_WORKERS:-4}" \
		>> "$T/fcgi.log" 2>&1 &
	FCGI_PID=$!
	for _ in $(seq 50); do
		[ -S "$T/fcgi.sock" ] && return 0
		sleep 0.1
	done
	echo "Bail out! mxfeed-fcgi did not start"
	cat "$T/fcgi.log"
	exit 1
}

fcgi_stop() {
	[ -n "${FCGI_PID:-}" ] && kill "$FCGI_PID" 2> /dev/null && wait "$FCGI_PID" 2> /dev/null
	FCGI_PID=
}

web_stop() {
	bash "$TOP/contrib/nginx/run.sh" "$T" "$WEB_PORT" "$T/fcgi.sock" stop > /dev/null 2>&1
	fcgi_stop
}

web_teardown() {
	web_stop
	pg_teardown
}

# http METHOD PATH [curl args...]: body in $T/out, headers in $T/hdr,
# status in $status
http() {
	local m=$1 p=$2
	shift 2
	local mopt=(-X "$m")
	[ "$m" = HEAD ] && mopt=(--head) # -X HEAD would wait for a body
	status=$(curl -s -m 30 "${mopt[@]}" -o "$T/out" -D "$T/hdr" -w '%{http_code}' "$@" "$BASE$p")
}

# expect_status CODE DESC METHOD PATH [curl args...]
expect_status() {
	local want=$1 desc=$2
	shift 2
	http "$@"
	if [ "$status" = "$want" ]; then
		tap_ok "$desc"
	else
		tap_fail "$desc (HTTP $status, expected $want)"
	fi
}

hdr() {
	grep -i "^$1:" "$T/hdr" | head -n 1 | sed 's/^[^:]*: *//; s/\r$//'
}

# ---- the relay (mail end-to-end tests; run inside a network namespace) --

# with_fake PROG FAKE CMD...: run CMD with the script FAKE in place of
# PROG.  mxfeed runs programs by absolute path with a clean environment
# (never from PATH), so the fake is bind-mounted over the system's PROG
# for the duration of CMD; needs MXFEED_NS_MOUNT=1 (a mount namespace).
with_fake() {
	local prog=$1 fake=$2 real rc
	shift 2
	real=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$prog") || return 127
	mount --bind "$fake" "$real" || return 126
	"$@"
	rc=$?
	umount "$real"
	return $rc
}

MTA_GLUE="$BUILD/rel/bin/mta-glue"

# in_netns "$0" "$@": re-run the calling script in a new network
# namespace with only loopback, so that no test traffic leaves the box.
# (MXFEED_NS_MOUNT=1: a mount namespace as well, for tmpfs mounts)
in_netns() {
	if [ -z "${MXFEED_IN_NETNS:-}" ]; then
		if [ -n "${MXFEED_NS_MOUNT:-}" ]; then
			exec env MXFEED_IN_NETNS=1 unshare --net --mount bash "$@"
		fi
		exec env MXFEED_IN_NETNS=1 unshare --net bash "$@"
	fi
	ip link set lo up
}

# sink_start PORT: a demo customer server (smtp-sink) on 127.0.0.1:PORT
# keeping each message in $T/sink-PORT/.
sink_start() {
	mkdir -p "$T/sink-$1"
	chown postfix "$T/sink-$1"
	smtp-sink -u postfix -d "$T/sink-$1/%H%M%S." "127.0.0.1:$1" 50 \
		> "$T/sink-$1.log" 2>&1 &
	eval "SINK_PID_$1=$!"
	for _ in $(seq 50); do
		(exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null && return 0
		sleep 0.1
	done
	echo "Bail out! smtp-sink on $1 does not answer"
	exit 1
}

sink_stop() {
	local v="SINK_PID_$1"
	[ -n "${!v:-}" ] && kill "${!v}" 2> /dev/null && wait "${!v}" 2> /dev/null
	eval "SINK_PID_$1="
}

# sink_has PORT TEXT: a message holding TEXT arrived (waits up to 20 s)
sink_has() {
	for _ in $(seq 100); do
		grep -rqF -- "$2" "$T/sink-$1" 2> /dev/null && return 0
		sleep 0.2
	done
	return 1
}

# log_has FILE PATTERN: FILE holds a line matching the extended regular
# expression PATTERN (waits up to 20 s: Postfix writes its log through
# postlogd, so a line lands a moment after the action that caused it)
log_has() {
	for _ in $(seq 100); do
		grep -qE -- "$2" "$1" 2> /dev/null && return 0
		sleep 0.2
	done
	return 1
}

sink_lacks() {
	! grep -rqF -- "$2" "$T/sink-$1" 2> /dev/null
}

# tls_pair DIR NAME: a self-signed certificate (DIR/cert.pem, CN NAME)
# and its key (DIR/key.pem, mode 600), as an operator would make one
tls_pair() {
	mkdir -p "$1"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-days 30 -subj "/CN=$2" -addext "subjectAltName=DNS:$2" \
		-keyout "$1/key.pem" -out "$1/cert.pem" > "$1/openssl.log" 2>&1 ||
		{ echo "Bail out! openssl cannot make a key pair"; cat "$1/openssl.log"; exit 1; }
	chmod 600 "$1/key.pem"
}

# the SHA-256 fingerprint of a PEM certificate, as feedctl takes it
tls_fingerprint() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'
}

relay_setup() {
	tls_pair "$T/tls" relay.test
	sed -i 's|^relay = { name = "test-relay"; };|relay = { name = "test-relay"; listen = "127.0.0.1:2525"; hostname = "relay.test"; dns = 0; };|' \
		"$T/mxfeed.conf"
	cat >> "$T/mxfeed.conf" <<CONF
greylist = { delay = 3;
             restart = [ "/bin/sh", "$TOP/contrib/postgrey-restart.sh",
                         "$T/postgrey.pid", "$T/state/current/postgrey.args",
                         "$T/postgrey.log", "--dbdir=$T/postgrey",
                         "--whitelist-clients=/dev/null",
                         "--whitelist-recipients=/dev/null" ]; };
mailbox = { listen = "127.0.0.1"; pop3_port = 1110; imap_port = 1143;
            maildir = "$T/mail"; user = "nobody"; settle = 2; };
spam = { network_checks = 0; test_header = 1; };
scanner = { rspamd_pid = "$T/rspamd.pid"; };
tls = { cert_file = "$T/tls/cert.pem"; key_file = "$T/tls/key.pem"; };
CONF
	RELAY_UP=1
	trap relay_teardown EXIT
}

# postgrey_start: postgrey with the options of the current generation,
# started as mta-glue restarts it when they change (greylist.restart)
postgrey_start() {
	mkdir -p "$T/postgrey"
	chown postgrey "$T/postgrey"
	sh "$TOP/contrib/postgrey-restart.sh" "$T/postgrey.pid" \
		"$T/state/current/postgrey.args" "$T/postgrey.log" \
		--dbdir="$T/postgrey" \
		--whitelist-clients=/dev/null --whitelist-recipients=/dev/null
	for _ in $(seq 50); do
		(exec 3<> /dev/tcp/127.0.0.1/10023) 2> /dev/null && return 0
		sleep 0.1
	done
	echo "Bail out! postgrey does not answer"
	exit 1
}

postgrey_stop() {
	[ -f "$T/postgrey.pid" ] && kill "$(cat "$T/postgrey.pid")" 2> /dev/null
	for _ in $(seq 50); do
		(exec 3<> /dev/tcp/127.0.0.1/10023) 2> /dev/null || break
		sleep 0.1
	done
	rm -f "$T/postgrey.pid"
}

# clamd_start: ClamAV with a signature database built here with sigtool:
# the EICAR test file and $T/virus.bin (no download).
clamd_start() {
	printf 'mxfeed test virus, not a real one %s\n' "$$" > "$T/virus.bin"
	sh "$TOP/contrib/clamd-local.sh" "$T" "$T/virus.bin"
	clamd -c "$T/clamav/clamd.conf" > "$T/clamav/out.log" 2>&1 &
	CLAMD_PID=$!
	for _ in $(seq 300); do
		[ "$( (exec 3<> /dev/tcp/127.0.0.1/3310 && printf 'zPING\0' >&3 && head -c 4 <&3) 2> /dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	echo "Bail out! clamd does not answer"
	cat "$T/clamav/out.log"
	exit 1
}

clamd_stop() {
	[ -n "${CLAMD_PID:-}" ] && kill "$CLAMD_PID" 2> /dev/null && wait "$CLAMD_PID" 2> /dev/null
	CLAMD_PID=
}

# rspamd_spawn [STATE RUNDIR]: rspamd reading the current generation's
# configuration under STATE (default $T/state), its databases, pid file
# and logs in RUNDIR (default $T/rspamd); its pid in RSPAMD_SPAWNED and
# RUNDIR.pid (-f writes none; mta-glue HUPs the one in scanner.rspamd_pid)
rspamd_spawn() {
	local st=${1:-$T/state} rd=${2:-$T/rspamd}
	mkdir -p "$rd"
	chown _rspamd:_rspamd "$rd"
	rspamd -f -u _rspamd -g _rspamd -c /etc/rspamd/rspamd.conf \
		--var=LOCAL_CONFDIR="$st/current/rspamd" --var=DBDIR="$rd" \
		--var=RUNDIR="$rd" --var=LOGDIR="$rd" > "$rd/out.log" 2>&1 &
	RSPAMD_SPAWNED=$!
	echo "$RSPAMD_SPAWNED" > "$rd.pid"
}

# rspamd_wait [RUNDIR [HOST]]: bail out unless the rspamd of RUNDIR
# answers on HOST:11332 (default 127.0.0.1).  It compiles its TLD list
# and maps first: on a loaded 2-core box that took longer than 90 s (a
# bail-out bound, not a timing check)
rspamd_wait() {
	local rd=${1:-$T/rspamd} host=${2:-127.0.0.1}
	for _ in $(seq $((${MXFEED_RSPAMD_WAIT:-300} * 10))); do
		(exec 3<> "/dev/tcp/$host/11332") 2> /dev/null && return 0
		sleep 0.1
	done
	echo "Bail out! rspamd ($rd) does not answer in ${MXFEED_RSPAMD_WAIT:-300} s"
	tail -20 "$rd/out.log" "$rd/rspamd.log" 2> /dev/null
	exit 1
}

# rspamd_start [STATE]: the relay's rspamd (configuration of STATE,
# default $T/state; $T/rspamd; 127.0.0.1)
rspamd_start() {
	rspamd_spawn "${1:-$T/state}"
	RSPAMD_PID=$RSPAMD_SPAWNED
	rspamd_wait
}

rspamd_stop() {
	[ -n "${RSPAMD_PID:-}" ] && kill "$RSPAMD_PID" 2> /dev/null && wait "$RSPAMD_PID" 2> /dev/null
	RSPAMD_PID=
}

# dovecot_start [STATE]: the mailbox host's Dovecot as the current
# generation under STATE (default $T/state) configures it (users from
# the mailboxes table; POP3 1110, IMAP 1143, LMTP 24 on 127.0.0.1;
# maildirs under $T/mail)
dovecot_start() {
	DOVECOT_CONF=${1:-$T/state}/current/dovecot/dovecot.conf
	mkdir -p "$T/mail"
	chown nobody:nogroup "$T/mail"
	dovecot -c "$DOVECOT_CONF" > "$T/dovecot.out" 2>&1 ||
		{ echo "Bail out! dovecot did not start"; cat "$T/dovecot.out"; exit 1; }
	for _ in $(seq 50); do
		(exec 3<> /dev/tcp/127.0.0.1/24) 2> /dev/null && return 0
		sleep 0.1
	done
	echo "Bail out! dovecot LMTP does not answer"
	exit 1
}

dovecot_stop() {
	local c=${DOVECOT_CONF:-$T/state/current/dovecot/dovecot.conf}
	[ -f "$c" ] && dovecot -c "$c" stop > /dev/null 2>&1
}

relay_teardown() {
	dovecot_stop
	rspamd_stop
	clamd_stop
	postgrey_stop
	[ -n "${SYNC_PID:-}" ] && kill "$SYNC_PID" 2> /dev/null && wait "$SYNC_PID" 2> /dev/null
	"$MTA_GLUE" stop > /dev/null 2>&1
	for p in 2526 2527 2528; do sink_stop $p; done
	pg_teardown
}

# relay_caught_up: the relay applied the newest change (waits up to 20 s)
relay_caught_up() {
	for _ in $(seq 100); do
		[ "$(sql "SELECT applied_seq >= (SELECT max(seq) FROM changes) FROM relays WHERE name='test-relay'" 2> /dev/null)" = t ] && return 0
		sleep 0.2
	done
	return 1
}

# smtp COMMAND...: one SMTP session with the relay; every reply line on
# stdout ("NNN text").  Bounded: 10 s per reply.
smtp() {
	local line cmd
	exec 3<> /dev/tcp/127.0.0.1/2525 || return 1
	_reply() {
		while IFS= read -r -t 10 line <&3; do
			line=${line%$'\r'}
			echo "$line"
			[[ $line =~ ^[0-9]{3}\  ]] && break
		done
	}
	_reply
	for cmd in "$@"; do
		printf '%s\r\n' "$cmd" >&3
		_reply
	done
	exec 3>&-
}

# lmtp_fill ADDRESS N PREFIX: N messages straight into Dovecot's LMTP on
# 127.0.0.1:24 in one session, as a relay delivers them (Dovecot adds
# Return-Path and its Received "for"); Subject and Message-ID
# PREFIX-00000 ... PREFIX-(N-1).  Fails on any refusal.
lmtp_fill() {
	python3 - "$1" "$2" "$3" << 'PY'
import smtplib, sys
rcpt, n, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = smtplib.LMTP("127.0.0.1", 24, timeout=30)
s.ehlo_or_helo_if_needed()
body = ("x" * 70 + "\r\n") * 20
for i in range(n):
    msg = ("From: <s@sender.test>\r\nTo: <%s>\r\nSubject: %s-%05d\r\n"
           "Message-ID: <%s-%05d@sender.test>\r\n\r\n%s" % (rcpt, prefix, i, prefix, i, body))
    refused = s.sendmail("s@sender.test", [rcpt], msg)
    if refused:
        sys.exit("refused: %r" % (refused,))
s.quit()
PY
}

# send FROM TO MARKER [swaks args]: one message to the relay on
# $SMTP_SERVER (default 127.0.0.1:2525); swaks' transcript in $T/out
send() {
	local from=$1 to=$2 marker=$3
	shift 3
	swaks --server "${SMTP_SERVER:-127.0.0.1:2525}" --helo client.test --from "$from" --to "$to" \
		--header "Subject: $marker" --body "body of $marker" "$@" > "$T/out" 2>&1
}

# rejected CODE: the last send's transcript shows a reply with CODE
replied() {
	grep -qE -- "^<[-~*]* +$1" "$T/out"
}

# ---- several relays (bench/relays.sh, test_topology.sh) --------------------
# Several relays on one box: relay N is its own Postfix instance
# (configuration, queue and state under $T/rN/state), listening on
# $(relays_addr N):2525 - 127.0.0.(RELAYS_BASE + N), RELAYS_BASE 0 unless
# set - with its own "mta-glue sync", all on the one database.  Call
# relay_setup first: each relay's mxfeed.conf is that configuration with
# its own name (relay-N), listener and state; relay 1 alone restarts the
# one postgrey.  RELAYS_RSPAMD=1: each relay has its own rspamd on its
# address (its generation's rspamd configuration, pid file $T/rN/rspamd.pid,
# databases and logs in $T/rN/rspamd); else they share none (bench:
# mail is queued locally, no smtpd).  A function relays_conf_extra, if
# the caller defines one, is called with N after the file is written.
# Inside in_netns (127.0.0.0/8 is on lo).

relays_addr() {
	echo "127.0.0.$((${RELAYS_BASE:-0} + $1))"
}

# relays_conf N: write $T/rN/mxfeed.conf
relays_conf() {
	local n=$1 d=$T/r$1 a
	a=$(relays_addr "$1")
	mkdir -p "$d"
	sed -e "s|name = \"test-relay\"|name = \"relay-$n\"|" \
		-e "s|listen = \"127.0.0.1:2525\"|listen = \"$a:2525\"|" \
		-e "s|hostname = \"relay.test\"|hostname = \"relay$n.test\"|" \
		-e "s|$T/state|$d/state|g" "$T/mxfeed.conf" > "$d/mxfeed.conf"
	[ "$n" = 1 ] ||
		sed -i '/^greylist = {/,/\]; };$/c greylist = { delay = 3; };' "$d/mxfeed.conf"
	if [ "${RELAYS_RSPAMD:-0}" = 1 ]; then
		sed -i "s|^scanner = { rspamd_pid = \"[^\"]*\"; };|scanner = { rspamd_pid = \"$d/rspamd.pid\"; milter = \"$a:11332\"; normal = \"$a:11333\"; controller = \"$a:11334\"; };|" \
			"$d/mxfeed.conf"
		grep -q "milter = \"$a:11332\"" "$d/mxfeed.conf" ||
			{ echo "Bail out! relay $n: no scanner line to give its own rspamd"; exit 1; }
	fi
	if declare -F relays_conf_extra > /dev/null; then relays_conf_extra "$n"; fi
}

# relays_sync_start N: relay N's "mta-glue sync" (pid in RELAYS_SYNC[N])
relays_sync_start() {
	"$MTA_GLUE" -c "$T/r$1/mxfeed.conf" sync >> "$T/r$1/sync.log" 2>&1 &
	RELAYS_SYNC[$1]=$!
}

# relays_postfix_start N: relay N's Postfix, answering on its address
relays_postfix_start() {
	local a
	a=$(relays_addr "$1")
	"$MTA_GLUE" -c "$T/r$1/mxfeed.conf" start > "$T/r$1/start.log" 2>&1 ||
		{ echo "Bail out! relay $1: mta-glue start failed"; tail -n 5 "$T/r$1/start.log"; exit 1; }
	for _ in $(seq 50); do
		(exec 3<> "/dev/tcp/$a/2525") 2> /dev/null && return 0
		sleep 0.1
	done
	echo "Bail out! relay $1: Postfix does not answer on $a:2525"
	exit 1
}

# relays_down N: relay N's sync and Postfix stopped (its rspamd stays)
relays_down() {
	local p=${RELAYS_SYNC[$1]:-}
	[ -n "$p" ] && kill "$p" 2> /dev/null && wait "$p" 2> /dev/null
	RELAYS_SYNC[$1]=
	"$MTA_GLUE" -c "$T/r$1/mxfeed.conf" stop > /dev/null 2>&1
}

# relays_up N: relay N's Postfix and sync started again
relays_up() {
	relays_postfix_start "$1"
	relays_sync_start "$1"
}

# relays_start COUNT: relays 1..COUNT configured, applied, Postfix up
# and "mta-glue sync" running (pids in RELAYS_SYNC, indexed by relay);
# RELAYS_APPLY_S is what each first "mta-glue apply" took, in seconds.
relays_start() {
	local n t0
	RELAYS_N=$1
	RELAYS_SYNC=()
	RELAYS_APPLY_S=()
	RELAYS_RSPAMD_PID=()
	for n in $(seq 1 "$RELAYS_N"); do
		relays_conf "$n"
		t0=$EPOCHREALTIME
		"$MTA_GLUE" -c "$T/r$n/mxfeed.conf" apply > "$T/r$n/apply.log" 2>&1 ||
			{ echo "Bail out! relay $n: mta-glue apply failed"; tail -n 5 "$T/r$n/apply.log"; exit 1; }
		RELAYS_APPLY_S+=("$(echo "$EPOCHREALTIME - $t0" | bc -l)")
		if [ "${RELAYS_RSPAMD:-0}" = 1 ]; then
			# started together: each one's start-up is the slow part
			rspamd_spawn "$T/r$n/state" "$T/r$n/rspamd"
			RELAYS_RSPAMD_PID[$n]=$RSPAMD_SPAWNED
		fi
	done
	for n in $(seq 1 "$RELAYS_N"); do
		[ "${RELAYS_RSPAMD:-0}" = 1 ] && rspamd_wait "$T/r$n/rspamd" "$(relays_addr "$n")"
		relays_postfix_start "$n"
		relays_sync_start "$n"
	done
}

# relays_live: how many of the relays applied the newest change
relays_live() {
	psql -X -A -t -q -h "$T/pg/sock" -U mxfeed_app -d mxfeed -c \
		"SELECT count(*) FROM relays WHERE name ~ '^relay-[0-9]+\$'
		   AND applied_seq >= (SELECT max(seq) FROM changes)" 2> /dev/null
}

# relays_caught_up [SECONDS]: every relay applied the newest change
# (waits up to SECONDS, default 20)
relays_caught_up() {
	local end=$((SECONDS + ${1:-20}))
	while [ "$SECONDS" -le "$end" ]; do
		[ "$(relays_live)" = "$RELAYS_N" ] && return 0
		sleep 0.2
	done
	return 1
}

relays_stop() {
	local n p
	for n in $(seq 1 "${RELAYS_N:-0}"); do
		relays_down "$n"
	done
	RELAYS_SYNC=()
	for p in "${RELAYS_RSPAMD_PID[@]}"; do
		kill "$p" 2> /dev/null && wait "$p" 2> /dev/null
	done
	RELAYS_RSPAMD_PID=()
}

relays_teardown() {
	relays_stop
	relay_teardown
}
