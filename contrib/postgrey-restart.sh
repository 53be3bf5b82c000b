#!/bin/sh
# postgrey-restart.sh - greylist.restart for a postgrey run by pid file
# (the demo, the tests, or a host without systemd):
#
#   postgrey-restart.sh PIDFILE ARGSFILE LOGFILE [POSTGREY OPTION...]
#
# stops the postgrey whose pid PIDFILE holds (only if that process is a
# postgrey: pids are reused), then starts postgrey daemonized with the
# options in ARGSFILE (a generation's postgrey.args, e.g.
# paths.state/current/postgrey.args) and the further options given
# here (--dbdir=..., --whitelist-clients=...), its output in LOGFILE.
# mta-glue runs it as
#   greylist = { restart = [ "/bin/sh", "/usr/share/mxfeed/postgrey-restart.sh",
#                            "/run/postgrey.pid",
#                            "/var/lib/mxfeed/current/postgrey.args",
#                            "/var/log/postgrey.log" ]; };
# and checks afterwards that postgrey greylists by the new delay.
set -eu
[ $# -ge 3 ] || { echo "usage: postgrey-restart.sh PIDFILE ARGSFILE LOGFILE [OPTION...]" >&2; exit 2; }
pidfile=$1 args=$2 log=$3
shift 3
[ -s "$args" ] || { echo "postgrey-restart: $args is missing or empty" >&2; exit 1; }
if [ -s "$pidfile" ]; then
	pid=$(cat "$pidfile")
	case $pid in *[!0-9]* | '') pid= ;; esac
	if [ -n "$pid" ] && tr '\0' ' ' 2> /dev/null < "/proc/$pid/cmdline" | grep -q postgrey; then
		kill "$pid"
		i=0
		while kill -0 "$pid" 2> /dev/null; do
			i=$((i + 1))
			[ $i -le 100 ] || { echo "postgrey-restart: postgrey $pid does not stop" >&2; exit 1; }
			sleep 0.1
		done
	fi
	rm -f "$pidfile"
fi
# postgrey.args is one line of options without spaces inside them
# shellcheck disable=SC2046
postgrey $(cat "$args") --pidfile="$pidfile" --daemonize "$@" >> "$log" 2>&1 < /dev/null ||
	{ echo "postgrey-restart: postgrey did not start; see $log" >&2; exit 1; }
