#!/bin/bash
# run.sh DIR start|stop [IMAP] - Roundcube (Debian's roundcube-core) as
# mxfeed's webmail, for the demo and the tests, with a private php-fpm.
#
# Everything the instance writes stays in DIR: config/config.inc.php
# (from config.inc.php.in beside this script), db/ (SQLite, made by
# Roundcube on first use), temp/, logs/, the php-fpm master's pid,
# log and socket (DIR/php-fpm.sock, for contrib/nginx/run.sh).  The
# des_key is made on the first start and kept in DIR/des_key, so that
# a restart keeps the sessions.  IMAP is host:port of the mailbox host's
# Dovecot, 127.0.0.1:1143 unless given (SPEC section 10).  As root the
# pool runs as www-data; DIR's writable parts belong to it.
set -euo pipefail
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: run.sh DIR start|stop [IMAP]" >&2; exit 2; }
dir=$1 verb=$2 imap=${3:-127.0.0.1:1143}
case $dir in
/*) ;;
*) echo "run.sh: DIR must be an absolute path" >&2; exit 2 ;;
esac
contrib=$(cd "$(dirname "$0")" && pwd)
fpm=/usr/sbin/php-fpm8.2
rc=/var/lib/roundcube

fpm_running() {
	[ -f "$dir/php-fpm.pid" ] && kill -0 "$(cat "$dir/php-fpm.pid" 2> /dev/null)" 2> /dev/null
}

case $verb in
start)
	[ -x "$fpm" ] && [ -f "$rc/public_html/index.php" ] ||
		{ echo "run.sh: php-fpm8.2 or roundcube-core missing (make deps)" >&2; exit 1; }
	# both go into PHP strings and sed: allow-list their bytes
	[[ $dir =~ ^[A-Za-z0-9._/-]+$ ]] ||
		{ echo "run.sh: DIR may hold only letters, digits and . _ / -" >&2; exit 2; }
	[[ $imap =~ ^[A-Za-z0-9.-]+:[0-9]{1,5}$ ]] ||
		{ echo "run.sh: IMAP must be host:port, not '$imap'" >&2; exit 2; }
	user='' group=''
	if [ "$(id -u)" -eq 0 ]; then
		user=www-data group=www-data
	fi
	mkdir -p "$dir/config" "$dir/db" "$dir/temp" "$dir/logs"
	if [ -n "$user" ]; then
		chown "$user:$group" "$dir/db" "$dir/temp" "$dir/logs"
		chgrp "$group" "$dir/config"
	fi
	chmod 0750 "$dir/config" "$dir/db" "$dir/temp" "$dir/logs"
	if [ ! -s "$dir/des_key" ]; then
		(umask 077 && openssl rand -base64 18 > "$dir/des_key.tmp")
		mv "$dir/des_key.tmp" "$dir/des_key"
	fi
	# base64: no byte that sed's "|" or PHP's single quotes would misread
	key=$(cat "$dir/des_key")
	[[ $key =~ ^[A-Za-z0-9+/]{24}$ ]] ||
		{ echo "run.sh: $dir/des_key is not 24 base64 characters" >&2; exit 1; }
	(umask 027 &&
		sed -e "s|@DIR@|$dir|g" -e "s|@IMAP@|$imap|g" -e "s|@DESKEY@|$key|g" \
			"$contrib/config.inc.php.in" > "$dir/config/config.inc.php.tmp")
	if [ -n "$group" ]; then
		chgrp "$group" "$dir/config/config.inc.php.tmp"
	fi
	mv "$dir/config/config.inc.php.tmp" "$dir/config/config.inc.php"
	# the settings Roundcube keeps beside its config: Debian's copies
	ln -sfn /etc/roundcube/defaults.inc.php "$dir/config/defaults.inc.php"
	ln -sfn /etc/roundcube/mimetypes.php "$dir/config/mimetypes.php"
	{
		echo "; php-fpm for mxfeed's webmail (written by contrib/roundcube/run.sh)"
		echo "[global]"
		echo "pid = $dir/php-fpm.pid"
		echo "error_log = $dir/php-fpm.log"
		echo "daemonize = yes"
		echo "[webmail]"
		[ -n "$user" ] && printf 'user = %s\ngroup = %s\n' "$user" "$group"
		echo "listen = $dir/php-fpm.sock"
		echo "listen.mode = 0660"
		echo "pm = ondemand"
		echo "pm.max_children = 4"
		echo "pm.process_idle_timeout = 60s"
		echo "catch_workers_output = yes"
		echo "env[ROUNDCUBE_CONFIG_DIR] = $dir/config"
		echo "php_admin_flag[log_errors] = on"
		echo "php_admin_value[error_log] = $dir/logs/php-errors.log"
		echo "php_admin_value[upload_max_filesize] = 10M"
		echo "php_admin_value[post_max_size] = 12M"
	} > "$dir/php-fpm.conf"
	"$fpm" --test --fpm-config "$dir/php-fpm.conf" > "$dir/php-fpm-test.log" 2>&1 ||
		{ cat "$dir/php-fpm-test.log" >&2; exit 1; }
	if fpm_running; then
		kill -USR2 "$(cat "$dir/php-fpm.pid")" # reload: re-reads both files
	else
		rm -f "$dir/php-fpm.sock"
		"$fpm" --fpm-config "$dir/php-fpm.conf"
	fi
	for _ in $(seq 50); do
		[ -S "$dir/php-fpm.sock" ] && exit 0
		sleep 0.1
	done
	echo "run.sh: php-fpm did not start; see $dir/php-fpm.log" >&2
	exit 1
	;;
stop)
	if fpm_running; then
		kill "$(cat "$dir/php-fpm.pid")"
		for _ in $(seq 50); do
			fpm_running || break
			sleep 0.1
		done
	fi
	rm -f "$dir/php-fpm.pid"
	;;
*)
	echo "run.sh: unknown verb $verb" >&2
	exit 2
	;;
esac
