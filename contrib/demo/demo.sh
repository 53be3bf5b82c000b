#!/bin/bash
# demo.sh start|stop|status - the mxfeed demo on this machine
#
# Keeps everything in $MXFEED_DEMO_DIR (default /var/lib/mxfeed-demo):
# a private PostgreSQL cluster (contrib/pgcluster.sh), the demo's
# mxfeed.conf and the seeded data.  "start" is safe to repeat: it reuses
# what is there, migrates, seeds only what is missing and keeps the data.
# At this stage the demo is the data layer and feedctl; the portal
# (nginx on 127.0.0.1:8080) and the mail stack (relay on 127.0.0.1:2525,
# customer server on 127.0.0.1:2526) join it with their issues.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
demo=${MXFEED_DEMO_DIR:-/var/lib/mxfeed-demo}
feedctl=$top/build/rel/bin/feedctl
conf=$demo/mxfeed.conf

start() {
	[ -x "$feedctl" ] || { echo "demo: build first (make)" >&2; exit 1; }
	mkdir -p "$demo/state"
	bash "$top/contrib/pgcluster.sh" "$demo/pg" init
	cat > "$conf.tmp" <<CONF
# mxfeed demo configuration (written by contrib/demo/demo.sh)
database = {
  conninfo = "host=$demo/pg/sock dbname=mxfeed user=mxfeed_app";
  owner_conninfo = "host=$demo/pg/sock dbname=mxfeed user=mxfeed_owner";
};
relay = { name = "demo-relay"; };
paths = { state = "$demo/state"; };
# the demo's customer server listens on loopback: allow it, nothing else
destinations = { allow = [ "127.0.0.0/8" ]; };
CONF
	mv "$conf.tmp" "$conf"
	export MXFEED_CONF=$conf
	"$feedctl" db migrate > /dev/null
	if ! "$feedctl" show example.com > /dev/null 2>&1; then
		"$feedctl" --ticket DEMO-1 add example.com --mode feed \
			--dest 127.0.0.1:2526 > /dev/null
	fi
	if ! "$feedctl" show example.net > /dev/null 2>&1; then
		"$feedctl" --ticket DEMO-1 add example.net --mode pop3 > /dev/null
		"$feedctl" --json --ticket DEMO-1 mailbox add example.net info \
			> "$demo/mailbox.json"
		chmod 600 "$demo/mailbox.json"
	fi
	cat <<TEXT

mxfeed demo is running (data in $demo).

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
  feedctl help

Seeded: example.com (feed -> demo customer server 127.0.0.1:2526) and
example.net (pop3, mailbox info@example.net).
Not yet part of the demo: the portal and API on http://127.0.0.1:8080/
and the mail stack on 127.0.0.1:2525 (their issues are open).
Stop with: make demo-stop
TEXT
}

case ${1:-start} in
start) start ;;
stop)
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
