#!/bin/bash
# run.sh DIR PORT FCGI_SOCKET start|stop - nginx on 127.0.0.1:PORT in
# front of mxfeed-fcgi, for the demo and the tests.
#
# Writes DIR/nginx.conf from local.conf.in, checks it with "nginx -t"
# and starts nginx (master + one worker, pid in DIR/nginx.pid).  The
# portal's staff logins are DIR/htpasswd (the caller writes it).
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: run.sh DIR PORT FCGI_SOCKET start|stop" >&2; exit 2; }
dir=$1 port=$2 fcgi=$3 verb=$4
contrib=$(cd "$(dirname "$0")" && pwd)
nginx=/usr/sbin/nginx

case $verb in
start)
	mkdir -p "$dir/tmp"
	user=
	# as root the workers must still reach the fcgi socket (mode 0660)
	[ "$(id -u)" -eq 0 ] && user="user root;"
	sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@FCGI@|$fcgi|g" \
		-e "s|@CONTRIB@|$contrib|g" -e "s|@USER@|$user|g" \
		"$contrib/local.conf.in" > "$dir/nginx.conf"
	"$nginx" -t -q -c "$dir/nginx.conf" -p "$dir" -e "$dir/nginx-error.log"
	if [ -f "$dir/nginx.pid" ] && kill -0 "$(cat "$dir/nginx.pid")" 2> /dev/null; then
		"$nginx" -c "$dir/nginx.conf" -p "$dir" -s reload
	else
		"$nginx" -c "$dir/nginx.conf" -p "$dir" -e "$dir/nginx-error.log"
	fi
	;;
stop)
	if [ -f "$dir/nginx.pid" ]; then
		kill "$(cat "$dir/nginx.pid")" 2> /dev/null || true
		for _ in $(seq 50); do
			[ -f "$dir/nginx.pid" ] || break
			sleep 0.1
		done
	fi
	;;
*)
	echo "run.sh: unknown verb $verb" >&2
	exit 2
	;;
esac
