#!/bin/bash
# switch.sh BUILDDIR - benchmark of the teardown-forward that follows
# "feedctl switch DOMAIN --to feed" (SPEC section 5), printed against a
# baseline measured in the same run.  Run from the top directory, as
# root (network namespace, Postfix, Dovecot):
#   bash bench/switch.sh build
#
#   forward: one mailbox (info@pop.example) holding $BENCH_N messages,
#            filled by LMTP straight into Dovecot (so each message has
#            the Return-Path and Received "for <...>" the worker reads).
#            Timed from "feedctl switch pop.example --to feed" until
#            the mailbox-forward job is done (the worker run as
#            "mta-glue worker --once" in a loop) and all N messages are
#            in the destination's smtp-sink.  mailbox.settle is 2 s
#            here and is not subtracted.  Baseline: a second mailbox
#            (info@pop2.example, switched to the same feed first, its
#            job left pending) refilled with N messages and copied by
#            hand: doveadm search, then per uid doveadm fetch text |
#            Postfix's sendmail (the relay's own config directory), then
#            doveadm expunge; timed until all N are in the sink.
#   first_routed: from "feedctl switch" of pop.example until a new
#            message to info@pop.example (swaks, sent as soon as the
#            relay reports the change applied) is in the sink.  No
#            baseline.
# Target: forward <= 1.2x the by-hand copy.  Runs in a network namespace
# with loopback only; everything on 127.0.0.1; every loop is bounded;
# nothing is asserted.
set -uo pipefail

b=${1:-build}
export MXFEED_BUILD
MXFEED_BUILD=$(cd "$(dirname "$0")/.." && pwd)/$b
N=${BENCH_N:-10000}
LIMIT=${BENCH_LIMIT:-1800} # seconds, for one side

# shellcheck source=../tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
in_netns "$0" "$@"

die() {
	echo "switch.sh: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root (network namespace, Postfix, Dovecot)"
for p in postfix sendmail smtp-sink swaks clamd rspamd dovecot doveadm \
	python3 bc unshare; do
	command -v "$p" > /dev/null || die "$p is missing"
done
[ -x "$FEEDCTL" ] && [ -x "$MTA_GLUE" ] || die "build first: make all"

pg_setup
relay_setup # listen 127.0.0.1:2525, settle = 2; trap relay_teardown EXIT
F=$FEEDCTL
M=$MTA_GLUE
SYNC_PID=
PROBE_PID=
cleanup() {
	[ -n "$PROBE_PID" ] && kill "$PROBE_PID" 2> /dev/null && wait "$PROBE_PID" 2> /dev/null
	relay_teardown
}
trap cleanup EXIT

since() { echo "$EPOCHREALTIME - $1" | bc -l; }
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
over() { [ "$(echo "$(since "$1") > $2" | bc)" = 1 ]; }
sink_count() { find "$T/sink-2526" -type f 2> /dev/null | wc -l; }
label() { # 10000 -> 10k
	if [ $(($1 % 1000)) = 0 ]; then echo "$(($1 / 1000))k"; else echo "$1"; fi
}

echo "# mxfeed switch bench: one mailbox of N=$N messages, in $T"

# ---- the relay and the mailbox host as test_switch.sh sets them up -----
{
	$F add pop.example --mode pop3 greylisting=off &&
		$F add pop2.example --mode pop3 greylisting=off &&
		$F mailbox add pop.example info &&
		$F mailbox add pop2.example info
} > "$T/add.log" 2>&1 || die "feedctl add failed: $(cat "$T/add.log")"
$M apply > "$T/apply.log" 2>&1 || die "mta-glue apply failed: $(cat "$T/apply.log")"
clamd_start
rspamd_start
$M start > "$T/start.log" 2>&1 || die "mta-glue start failed: $(cat "$T/start.log")"
for _ in $(seq 50); do (exec 3<> /dev/tcp/127.0.0.1/2525) 2> /dev/null && break; sleep 0.1; done
(exec 3<> /dev/tcp/127.0.0.1/2525) 2> /dev/null || die "Postfix does not answer on 2525"
dovecot_start
"$M" sync >> "$T/sync.log" 2>&1 &
SYNC_PID=$!
relay_caught_up || die "mta-glue sync does not report the relay caught up"
sink_start 2526
DCONF=$T/state/current/dovecot/dovecot.conf
PCONF=$(readlink -f "$T/state/current") # the generation the relay runs

# fill ADDRESS TAG: N messages into ADDRESS's INBOX over Dovecot's LMTP
# (lmtp_fill in tests/lib.sh), Subject "TAG-00000"...
fill() {
	lmtp_fill "$1" "$N" "$2" > "$T/fill.log" 2>&1
}
# in_mailbox ADDRESS: how many messages ADDRESS's INBOX holds
in_mailbox() {
	doveadm -c "$DCONF" search -u "$1" mailbox INBOX all 2> /dev/null | wc -l
}

t0=$EPOCHREALTIME
fill info@pop.example A || die "LMTP fill failed: $(tail -n 5 "$T/fill.log")"
have=$(in_mailbox info@pop.example)
[ "$have" = "$N" ] || die "info@pop.example holds $have messages, expected $N"
printf '#   filled info@pop.example with %d messages by LMTP in %.1f s\n' "$N" "$(since "$t0")"

# ---- A. mxfeed: switch, then the jobs worker ---------------------------
t0=$EPOCHREALTIME
$F --json switch pop.example --to feed --dest 127.0.0.1:2526 > "$T/switch.json" 2> "$T/switch.err" ||
	die "feedctl switch pop.example failed: $(cat "$T/switch.err")"
# first_routed, in the background: as soon as the relay applied the
# switch, one new message; the time until it is in the sink
(
	for _ in $(seq 1500); do # 30 s
		[ "$(sql "SELECT applied_seq >= (SELECT max(seq) FROM changes) FROM relays WHERE name='test-relay'" 2> /dev/null)" = t ] && break
		sleep 0.02
	done
	ta=$(since "$t0")
	swaks --server 127.0.0.1:2525 --helo client.test --from s@sender.test \
		--to info@pop.example --header "Subject: FIRST-ROUTED-$$" \
		--body "first routed" > "$T/probe.out" 2>&1
	for _ in $(seq 6000); do # 60 s
		if grep -rqF -- "FIRST-ROUTED-$$" "$T/sink-2526" 2> /dev/null; then
			echo "$(since "$t0") $ta" > "$T/first_routed"
			exit 0
		fi
		sleep 0.01
	done
) &
PROBE_PID=$!
done_a=0
while ! over "$t0" "$LIMIT"; do
	$M worker --once --lease 60 --retry 1 >> "$T/worker.log" 2>&1
	if [ "$(sql "SELECT count(*) FROM jobs WHERE kind='mailbox-forward' AND domain='pop.example' AND state<>'done'")" = 0 ]; then
		done_a=1
		break
	fi
	sleep 0.1
done
jobs_a=$(since "$t0")
[ "$done_a" = 1 ] || die "the forward job is not done after $LIMIT s: $(tail -n 5 "$T/worker.log")"
# all N in the sink: the probe's message, once it arrived, is not one
# of them (the probe notes its arrival within about 10 ms)
probe_in() { [ -s "$T/first_routed" ] && echo 1 || echo 0; }
while [ $(($(sink_count) - $(probe_in))) -lt "$N" ] && ! over "$t0" "$LIMIT"; do sleep 0.05; done
time_a=$(since "$t0")
wait "$PROBE_PID"
PROBE_PID=
probe=$(probe_in)
got_a=$(($(sink_count) - probe))
[ "$got_a" -ge "$N" ] || die "only $got_a of $N forwarded messages in the sink after $LIMIT s"
printf '#   A: job done after %.1f s, all %d in the sink after %.1f s\n' "$jobs_a" "$N" "$time_a"

# ---- B. by hand: doveadm fetch | sendmail, then doveadm expunge --------
# pop2.example becomes a feed to the same sink first (its forward job is
# left pending: no worker runs, so the mailbox stays).
$F switch pop2.example --to feed --dest 127.0.0.1:2526 > "$T/switch2.log" 2>&1 ||
	die "feedctl switch pop2.example failed: $(cat "$T/switch2.log")"
relay_caught_up || die "the relay did not apply the switch of pop2.example"
t1=$EPOCHREALTIME
fill info@pop2.example B || die "LMTP fill of pop2 failed: $(tail -n 5 "$T/fill.log")"
have=$(in_mailbox info@pop2.example)
[ "$have" = "$N" ] || die "info@pop2.example holds $have messages, expected $N"
printf '#   filled info@pop2.example with %d messages by LMTP in %.1f s\n' "$N" "$(since "$t1")"
base=$(sink_count)

t0=$EPOCHREALTIME
doveadm -c "$DCONF" search -u info@pop2.example mailbox INBOX all > "$T/uids" 2> "$T/byhand.err" ||
	die "doveadm search failed: $(cat "$T/byhand.err")"
nfail=0
while read -r _ uid; do
	# doveadm prints "text:" before the message; the rest is the message
	doveadm -c "$DCONF" fetch -u info@pop2.example text mailbox INBOX uid "$uid" 2>> "$T/byhand.err" |
		sed '1{/^text:$/d}' |
		sendmail -C "$PCONF" -G -i -f s@sender.test info@pop2.example 2>> "$T/byhand.err" ||
		nfail=$((nfail + 1))
	over "$t0" "$LIMIT" && die "the by-hand copy ran past $LIMIT s"
done < "$T/uids"
doveadm -c "$DCONF" expunge -u info@pop2.example mailbox INBOX all 2>> "$T/byhand.err" ||
	die "doveadm expunge failed: $(tail -n 5 "$T/byhand.err")"
copy_b=$(since "$t0")
while [ $(($(sink_count) - base)) -lt "$N" ] && ! over "$t0" "$LIMIT"; do sleep 0.05; done
time_b=$(since "$t0")
got_b=$(($(sink_count) - base))
[ "$got_b" -ge "$N" ] || die "only $got_b of $N by-hand messages in the sink after $LIMIT s ($nfail failed)"
printf '#   B: copy loop done after %.1f s (%d failed), all %d in the sink after %.1f s\n' \
	"$copy_b" "$nfail" "$N" "$time_b"

printf 'switch.forward_%s: mxfeed %.1f s, doveadm+sendmail %.1f s, ratio %s (target <= 1.2)\n' \
	"$(label "$N")" "$time_a" "$time_b" "$(ratio "$time_a" "$time_b")"
if [ "$probe" = 1 ]; then
	read -r fr ap < "$T/first_routed"
	printf 'switch.first_routed: %.0f ms (relay applied after %.0f ms)\n' \
		"$(echo "$fr * 1000" | bc -l)" "$(echo "$ap * 1000" | bc -l)"
else
	echo "switch.first_routed: not measured (no probe message in the sink within 60 s)"
fi
# a sanity look at what the sink got: the worker's copies carry their
# original envelope recipient
n_rcpt=$(grep -rlF -- 'Subject: A-00000' "$T/sink-2526" 2> /dev/null | head -n 1 | xargs -r grep -c '^X-Rcpt-Args: <info@pop.example>')
echo "#   A-00000 in the sink with X-Rcpt-Args <info@pop.example>: ${n_rcpt:-0}"
