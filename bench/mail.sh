#!/bin/bash
# mail.sh BUILDDIR - benchmark of mail through the relay: Postfix with
# rspamd (milter) and ClamAV, as mxfeed configures them, each figure
# printed against a baseline measured in the same run.  Run from the top
# directory, as root (network namespace, Postfix):
#   bash bench/mail.sh build
#
#   msgs/s:  smtp-source sends $BENCH_MAIL_N messages ($SESS sessions in
#            parallel, one message per session, $MSG_LEN bytes of body)
#            to a feed domain with greylisting off and recipients=any;
#            the time runs from the start until smtp-source is done and
#            the queue is empty (every message delivered to a smtp-sink
#            that keeps nothing).  Baseline: the same daemons (the same
#            rspamd, so ClamAV scans too, the same smtp-sink) behind a
#            second Postfix instance on 127.0.0.1:2527 with a stock
#            configuration: relay_domains + transport_maps, the milter,
#            reject_unauth_destination, no policy service, no
#            greylisting.  The two alternate; best of $BENCH_RUNS each.
#   accept-to-delivered: $NLAT single messages (swaks, one at a time) to
#            a domain with greylisting on (and recipient verification,
#            the default) after its triplet passed postgrey; from the
#            250 after DATA (as swaks prints it) to the message's file
#            at the destination's smtp-sink, both stamped with
#            $EPOCHREALTIME (to about a millisecond).  No baseline: the
#            target is absolute.
#   tracking: msgs/s of the same bursts through mxfeed's Postfix with
#            "mta-glue sync" running and following the Postfix log into
#            message_events (tracking.enabled = 1)  vs  the same sync with
#            tracking.enabled = 0, alternating, best of $BENCH_RUNS each
#            ($BENCH_TRACK_N messages a burst, default $BENCH_MAIL_N).
# Targets (SPEC): msgs/s >= 0.9x the stock configuration; accept to
# delivered well under 20 s; tracking on >= 0.95x tracking off.  Runs in a network namespace with loopback
# only; everything on 127.0.0.1; every loop is bounded; nothing is
# asserted.
set -uo pipefail

b=${1:-build}
export MXFEED_BUILD
MXFEED_BUILD=$(cd "$(dirname "$0")/.." && pwd)/$b
N=${BENCH_MAIL_N:-1500}
RUNS=${BENCH_RUNS:-3}
SESS=10
MSG_LEN=2000
NLAT=20
LIMIT=120 # seconds, for one burst

# shellcheck source=../tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
in_netns "$0" "$@"

die() {
	echo "mail.sh: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (network namespace, Postfix)"
for p in postfix postconf postmap smtp-source smtp-sink swaks clamd sigtool \
	rspamd postgrey bc unshare timeout; do
	command -v "$p" > /dev/null || die "$p is missing"
done
[ -x "$FEEDCTL" ] && [ -x "$MTA_GLUE" ] || die "build first: make all"

pg_setup
relay_setup # listen 127.0.0.1:2525, dns = 0; trap relay_teardown EXIT
STOCK=$T/stock
cleanup() {
	if [ -f "$STOCK/etc/main.cf" ]; then
		postfix -c "$STOCK/etc" stop > /dev/null 2>&1
		for _ in $(seq 50); do # the master gone before $T is removed
			postfix -c "$STOCK/etc" status > /dev/null 2>&1 || break
			sleep 0.1
		done
	fi
	relay_teardown # rspamd, clamd, postgrey, mxfeed's Postfix, the sinks
}
trap cleanup EXIT

# seconds since START (an $EPOCHREALTIME value)
since() { echo "$EPOCHREALTIME - $1" | bc -l; }
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
wait_port() {
	for _ in $(seq 100); do
		(exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null && return 0
		sleep 0.1
	done
	return 1
}

echo "# mxfeed mail bench: N=$N, $SESS sessions, ${MSG_LEN}-byte bodies, best of $RUNS, in $T"

# ---- domains, destinations, the relay as test_relay.sh sets it up -------
"$FEEDCTL" add bench.example --mode feed --force --dest 127.0.0.1:2526 \
	greylisting=off recipients=any > "$T/add.log" 2>&1 &&
	"$FEEDCTL" add grey.example --mode feed --force --dest 127.0.0.1:2528 \
		>> "$T/add.log" 2>&1 ||
	die "feedctl add failed: $(cat "$T/add.log")"

# the throughput destination keeps nothing (no disk in the figure)
smtp-sink -u postfix 127.0.0.1:2526 100 > "$T/sink-2526.log" 2>&1 &
# shellcheck disable=SC2034 # relay_teardown stops it
SINK_PID_2526=$!
wait_port 2526 || die "smtp-sink on 2526 does not answer"
sink_start 2528 # the latency destination keeps every message

"$MTA_GLUE" apply > "$T/apply.log" 2>&1 || die "mta-glue apply failed: $(cat "$T/apply.log")"
clamd_start
rspamd_start
"$MTA_GLUE" start > "$T/start.log" 2>&1 || die "mta-glue start failed: $(cat "$T/start.log")"
wait_port 2525 || die "mxfeed's Postfix does not answer on 2525"
MX_CONF=$T/state/current
MX_SPOOL=$(postconf -c "$MX_CONF" -h queue_directory)
MX_LOG=$(postconf -c "$MX_CONF" -h maillog_file)

# ---- the stock instance: same daemons, stock configuration -------------
mkdir -p "$STOCK/etc" "$STOCK/spool" "$STOCK/data"
chown postfix:postfix "$STOCK/data"
chmod 700 "$STOCK/data"
cat > "$STOCK/etc/main.cf" <<CONF
# a stock relay for bench.example: no policy service, no greylisting
compatibility_level = 3.6
myhostname = stock.test
mydestination =
mynetworks =
queue_directory = $STOCK/spool
data_directory = $STOCK/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $STOCK/postfix.log
maillog_file_prefixes = $T
relay_domains = bench.example
transport_maps = lmdb:$STOCK/etc/transport
smtpd_relay_restrictions = reject_unauth_destination
smtpd_milters = inet:127.0.0.1:11332
milter_default_action = tempfail
CONF
cat > "$STOCK/etc/master.cf" <<'CONF'
127.0.0.1:2527  inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
CONF
echo 'bench.example smtp:[127.0.0.1]:2526' > "$STOCK/etc/transport"
postmap -c "$STOCK/etc" "lmdb:$STOCK/etc/transport" > "$STOCK/setup.log" 2>&1 &&
	postfix -c "$STOCK/etc" check >> "$STOCK/setup.log" 2>&1 &&
	postfix -c "$STOCK/etc" start >> "$STOCK/setup.log" 2>&1 ||
	die "the stock Postfix does not start: $(cat "$STOCK/setup.log")"
wait_port 2527 || die "the stock Postfix does not answer on 2527: $(tail -n 5 "$STOCK/postfix.log")"

# ---- 1. messages per second ----------------------------------------------
queue_files() { # SPOOL: the first file in its queues, if any
	find "$1/maildrop" "$1/incoming" "$1/active" "$1/deferred" "$1/hold" \
		-type f -print -quit 2> /dev/null
}
n_sent() { grep -c ' status=sent ' "$1" 2> /dev/null; }
# CPU used so far (clock ticks) by PID and its children, live or reaped
ticks() {
	local p n=0 f
	for p in "$1" $(pgrep -P "$1"); do
		read -ra f < "/proc/$p/stat" 2> /dev/null || continue
		# fields 14-17 (utime stime cutime cstime), after "pid (comm)"
		n=$((n + f[13] + f[14] + f[15] + f[16]))
	done
	echo "$n"
}
# the box: "busy total" ticks from /proc/stat
box() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat; }
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)

# burst NAME PORT SPOOL LOG COUNT: COUNT messages through the Postfix on
# PORT; sets ELAPSED (seconds, start to empty queue).  Every message must
# be accepted (smtp-source aborts on anything but 2xx) and delivered.
burst() {
	local name=$1 port=$2 spool=$3 log=$4 count=$5 sent0 t0 f k r0 c0 bx0 bx1
	sent0=$(n_sent "$log")
	r0=$(ticks "$RSPAMD_PID") c0=$(ticks "$CLAMD_PID")
	read -ra bx0 < <(box)
	t0=$EPOCHREALTIME
	timeout "$LIMIT" smtp-source -4 -c -M client.test -l "$MSG_LEN" \
		-m "$count" -s "$SESS" -f a@sender.test -t u@bench.example \
		"127.0.0.1:$port" > "$T/source-$name.out" 2>&1 ||
		die "$name: smtp-source failed: $(tr '\r' '\n' < "$T/source-$name.out" | tail -n 5)"
	for _ in $(seq $((LIMIT * 20))); do
		f=$(queue_files "$spool")
		[ -z "$f" ] && break
		case $f in */deferred/* | */hold/*)
			die "$name: a message was deferred or held: $(grep -E 'status=deferred|hold' "$log" | tail -n 3)" ;;
		esac
		[ "$(echo "$(since "$t0") > $LIMIT" | bc)" = 1 ] && break
		sleep 0.05
	done
	ELAPSED=$(since "$t0")
	read -ra bx1 < <(box)
	# CPU per message (ms) of rspamd and clamd, and how busy the box was
	CPU_NOTE=$(echo "$(ticks "$RSPAMD_PID") $r0 $(ticks "$CLAMD_PID") $c0 ${bx1[*]} ${bx0[*]}" |
		awk -v hz="$HZ" -v n="$count" -v ncpu="$NCPU" '{
			printf "rspamd %.1f ms CPU/msg, clamd %.1f ms CPU/msg, the %d CPUs %.0f%% busy",
				($1 - $2) * 1000 / hz / n, ($3 - $4) * 1000 / hz / n, ncpu,
				($7 - $5 - $8 + $6 == 0) ? 0 : 100 * ($5 - $7) / ($6 - $8) }')
	[ -z "$(queue_files "$spool")" ] ||
		die "$name: the queue did not empty within $LIMIT s: $(tail -n 3 "$log")"
	for _ in $(seq 50); do # postlogd may lag a little behind
		k=$(($(n_sent "$log") - sent0))
		[ "$k" -ge "$count" ] && break
		sleep 0.1
	done
	[ "$k" = "$count" ] || die "$name: $k of $count messages delivered"
}

# a warm-up for each side: processes forked, rspamd and clamd warm
burst warm-mxfeed 2525 "$MX_SPOOL" "$MX_LOG" 100
burst warm-stock 2527 "$STOCK/spool" "$STOCK/postfix.log" 100

mx_all='' st_all='' mx_best='' st_best=''
for r in $(seq 1 "$RUNS"); do
	burst "mxfeed-$r" 2525 "$MX_SPOOL" "$MX_LOG" "$N"
	mx_all+=" $(printf '%.2f' "$ELAPSED")"
	[ -z "$mx_best" ] || [ "$(echo "$ELAPSED < $mx_best" | bc)" = 1 ] &&
		mx_best=$ELAPSED mx_note=$CPU_NOTE
	burst "stock-$r" 2527 "$STOCK/spool" "$STOCK/postfix.log" "$N"
	st_all+=" $(printf '%.2f' "$ELAPSED")"
	[ -z "$st_best" ] || [ "$(echo "$ELAPSED < $st_best" | bc)" = 1 ] &&
		st_best=$ELAPSED st_note=$CPU_NOTE
done
a=$(printf '%.0f' "$(echo "$N / $mx_best" | bc -l)")
b0=$(printf '%.0f' "$(echo "$N / $st_best" | bc -l)")
echo "mail msgs/s: $a (same daemons, stock config $b0) ratio $(ratio "$a" "$b0") [target >= 0.9]"
echo "#   seconds for $N messages: mxfeed$mx_all; stock$st_all"
echo "#   best runs: mxfeed: $mx_note; stock: $st_note"
echo "#   at the end: mxfeed smtpd $(pgrep -c -f '^smtpd -n 127.0.0.1:2525') and mxfeed-policyd $(pgrep -c -f "^$BUILD/rel/bin/mxfeed-policyd "); stock smtpd $(pgrep -c -f '^smtpd -n 127.0.0.1:2527')"

# ---- 2. accept to delivered, greylisting passed --------------------------
postgrey_start
ok=0
for i in 1 2 3 4 5; do # a first attempt is greylisted; the retry passes
	send a@sender.test u@grey.example "M-grey-pass-$$-$i"
	if grep -q '^<-  250 .*queued as' "$T/out"; then
		ok=1
		break
	fi
	replied 4 || die "greylisting pass: not a 4xx: $(grep '^ *<' "$T/out" | tail -n 3)"
	sleep 4
done
[ "$ok" = 1 ] || die "the triplet never passed greylisting: $(grep '^ *<' "$T/out" | tail -n 3)"
[ "$i" -gt 1 ] || echo "# WARNING: the first attempt was not greylisted"
sink_has 2528 "M-grey-pass-$$-$i" || die "the message that passed greylisting did not arrive"

# Both ends are stamped with $EPOCHREALTIME (microseconds, no fork):
# the 250 after DATA as swaks prints it, read by stamp() in the
# pipeline, and the moment the dump file of the message is found with
# its content, by a loop polling the sink's directory every millisecond
# while swaks runs (smtp-sink creates the file at RCPT and writes the
# message in one write at the final dot, just before its 250).  A file
# mtime would not do: the kernel stamps new files with its coarse clock,
# up to a tick (4 ms) behind.
mkfifo "$T/tick"
exec {tickfd}<> "$T/tick" # never written: read -t on it is a sleep
# stamp FILE: pass swaks' transcript through; write to FILE the time
# the 250 after DATA ("queued as") was read
stamp() {
	local line t done=0
	while IFS= read -r line; do
		if [ "$done" = 0 ] && [[ $line == *'<-  250 '*'queued as'* ]]; then
			t=${EPOCHREALTIME/[.,]/}
			echo "$t" > "$1"
			done=1
		fi
		printf '%s\n' "$line"
	done
}
shopt -s nullglob
declare -A seen
lat=()
for i in $(seq 1 "$NLAT"); do
	mark="M-lat-$$-$i-"
	for f in "$T/sink-2528"/*; do seen[$f]=1; done
	rm -f "$T/accept"
	swaks --server 127.0.0.1:2525 --helo client.test --from a@sender.test \
		--to u@grey.example --header "Subject: $mark" --body "body of $mark" \
		2>&1 | stamp "$T/accept" > "$T/out" &
	spid=$!
	t_start=${EPOCHREALTIME/[.,]/}
	t_del='' got=''
	while [ -z "$t_del" ]; do # at most 20 s
		for f in "$T/sink-2528"/*; do
			if [ -z "${seen[$f]:-}" ] && [ -s "$f" ]; then
				t_del=${EPOCHREALTIME/[.,]/}
				got=$f
				break
			fi
		done
		[ $((${EPOCHREALTIME/[.,]/} - t_start)) -gt 20000000 ] && break
		read -r -t 0.001 -u "$tickfd"
	done
	wait "$spid"
	[ -s "$T/accept" ] || die "message $i not accepted: $(grep '^ *<' "$T/out" | tail -n 3)"
	[ -n "$t_del" ] || die "message $i did not arrive within 20 s: $(tail -n 3 "$MX_LOG")"
	grep -qF -- "$mark" "$got" || die "message $i: another message arrived first ($got)"
	t_acc=$(cat "$T/accept")
	lat+=("$(echo "($t_del - $t_acc) / 1000" | bc -l)")
done
exec {tickfd}>&-
mapfile -t sorted < <(printf '%s\n' "${lat[@]}" | sort -g)
p50=${sorted[$(((NLAT + 1) / 2 - 1))]} # nearest rank
max=${sorted[$((NLAT - 1))]}
printf 'mail accept-to-delivered: p50 %.0f ms, max %.0f ms (greylisting passed) [target well under 20 s]\n' \
	"$p50" "$max"
printf '#   all (ms):'
printf ' %.1f' "${sorted[@]}"
echo
echo "#   Postfix's delays= of the last one (before queue / queue / connect / transmission, s): $(grep -F 'to=<u@grey.example>' "$MX_LOG" | grep ' status=sent ' | tail -n 1 | grep -o 'delays=[^,]*' | cut -d= -f2)"

# ---- 3. tracking on vs off ------------------------------------------------
NT=${BENCH_TRACK_N:-$N}
grep -q '^tracking' "$MXFEED_CONF" && die "the test configuration sets tracking already"
cp "$MXFEED_CONF" "$T/notrack.conf"
echo 'tracking = { enabled = 0; };' >> "$T/notrack.conf"
# sync_run CONF: (re)start "mta-glue sync" with CONF, caught up
sync_run() {
	if [ -n "${SYNC_PID:-}" ]; then
		kill "$SYNC_PID" 2> /dev/null
		wait "$SYNC_PID" 2> /dev/null
	fi
	MXFEED_CONF=$1 "$MTA_GLUE" sync >> "$T/sync.log" 2>&1 &
	SYNC_PID=$!
	relay_caught_up || die "sync did not catch up: $(tail -n 3 "$T/sync.log")"
}
events() { sql "SELECT count(*) FROM message_events WHERE domain = 'bench.example'"; }
on_all='' off_all='' on_best='' off_best=''
for r in $(seq 1 "$RUNS"); do
	sync_run "$MXFEED_CONF"
	e0=$(events)
	burst "track-on-$r" 2525 "$MX_SPOOL" "$MX_LOG" "$NT"
	on_all+=" $(printf '%.2f' "$ELAPSED")"
	[ -z "$on_best" ] || [ "$(echo "$ELAPSED < $on_best" | bc)" = 1 ] && on_best=$ELAPSED
	for _ in $(seq 100); do # the follower writes in batches
		[ $(($(events) - e0)) -ge "$NT" ] && break
		sleep 0.2
	done
	tracked=$(($(events) - e0))
	sync_run "$T/notrack.conf"
	e0=$(events)
	burst "track-off-$r" 2525 "$MX_SPOOL" "$MX_LOG" "$NT"
	off_all+=" $(printf '%.2f' "$ELAPSED")"
	[ -z "$off_best" ] || [ "$(echo "$ELAPSED < $off_best" | bc)" = 1 ] && off_best=$ELAPSED
	[ "$(events)" = "$e0" ] || echo "# WARNING: events were recorded with tracking off"
done
a=$(printf '%.0f' "$(echo "$NT / $on_best" | bc -l)")
b0=$(printf '%.0f' "$(echo "$NT / $off_best" | bc -l)")
echo "mail tracking on/off msgs/s: $a (tracking off $b0) ratio $(ratio "$a" "$b0") [target >= 0.95]"
echo "#   seconds for $NT messages: tracking on$on_all; off$off_all; events of the last run on: $tracked"
