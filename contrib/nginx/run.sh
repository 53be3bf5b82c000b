#!/bin/bash
# run.sh DIR PORT FCGI_SOCKET start|stop [WEBMAIL_DIR] - nginx on
# 127.0.0.1:PORT in front of mxfeed-fcgi, for the demo and the tests.
#
# Writes DIR/nginx.conf from local.conf.in, checks it with "nginx -t"
# and starts nginx (master + one worker, pid in DIR/nginx.pid).  The
# portal's staff logins are DIR/htpasswd (the caller writes it).  With
# WEBMAIL_DIR, /webmail/ is Roundcube through the php-fpm socket of
# contrib/roundcube/run.sh in that directory (the caller starts it);
# without, nginx has no /webmail/.
set -euo pipefail
[ $# -eq 4 ] || [ $# -eq 5 ] ||
	{ echo "usage: run.sh DIR PORT FCGI_SOCKET start|stop [WEBMAIL_DIR]" >&2; exit 2; }
dir=$1 port=$2 fcgi=$3 verb=$4 webmail=${5:-}
contrib=$(cd "$(dirname "$0")" && pwd)
nginx=/usr/sbin/nginx

case $verb in
start)
	mkdir -p "$dir/tmp"
	user=
	# as root the workers must still reach the fcgi socket (mode 0660)
	[ "$(id -u)" -eq 0 ] && user="user root;"
	if [ -n "$webmail" ]; then
		drop="/^[[:space:]]*# webmail-\(begin\|end\)\$/d"
	else
		drop="/# webmail-begin\$/,/# webmail-end\$/d"
	fi
	sed -e "$drop" -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@FCGI@|$fcgi|g" \
		-e "s|@CONTRIB@|$contrib|g" -e "s|@USER@|$user|g" \
		-e "s|@WEBMAIL@|$webmail|g" \
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
