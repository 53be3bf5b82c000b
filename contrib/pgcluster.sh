#!/bin/bash
# pgcluster.sh DIR init|start|stop|status|env|psql [ARGS] - a private
# PostgreSQL 15 cluster for the tests and the demo.
# pgcluster.sh DIR standby PRIMARY_DIR - a streaming standby of the
# cluster in PRIMARY_DIR (pg_basebackup over its socket), on DIR/sock.
#
# The cluster lives in DIR (data in DIR/data, socket in DIR/sock, log in
# DIR/log), listens on its unix socket only (listen_addresses = ''), and
# trusts local connections: it is reachable only by whoever can enter
# DIR/sock.  "init" creates it (if absent), starts it, and creates the
# roles mxfeed_owner (owns the schema, runs migrations) and mxfeed_app
# (what the programs use) and the database mxfeed.  Every verb is
# idempotent.  Nothing here touches a system-wide cluster.
#
# PGCLUSTER_FAST=1 trades durability for speed (fsync off): tests only.
set -euo pipefail

usage() {
	echo "usage: pgcluster.sh DIR init|start|stop|status|env|psql [ARGS]" >&2
	echo "       pgcluster.sh DIR standby PRIMARY_DIR" >&2
	exit 2
}

[ $# -ge 2 ] || usage
dir=$1
verb=$2
shift 2

pgbin=
for v in 15 16 17; do
	if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then
		pgbin=/usr/lib/postgresql/$v/bin
		break
	fi
done
[ -n "$pgbin" ] || { echo "pgcluster: PostgreSQL server binaries not found (apt-get install postgresql-15)" >&2; exit 1; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data=$dir/data
sock=$dir/sock
owner=postgres
[ "$(id -u)" -eq 0 ] || owner=$(id -un)

as_owner() {
	if [ "$(id -un)" = "$owner" ]; then
		"$@"
	else
		runuser -u "$owner" -- "$@"
	fi
}

running() {
	[ -f "$data/postmaster.pid" ] && as_owner "$pgbin/pg_ctl" -D "$data" status > /dev/null 2>&1
}

psql_super() {
	as_owner "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -d postgres "$@"
}

do_init() {
	if [ ! -f "$data/PG_VERSION" ]; then
		# the directory must be enterable by the cluster owner
		chmod 755 "$dir"
		mkdir -p "$sock"
		chown "$owner" "$sock"
		chmod 755 "$sock"
		install -d -o "$owner" -m 700 "$data"
		as_owner "$pgbin/initdb" -D "$data" -A trust -U postgres \
			-E UTF8 --locale=C.UTF-8 --nosync > "$dir/initdb.log"
		{
			echo "listen_addresses = ''"
			echo "unix_socket_directories = '$sock'"
			echo "unix_socket_permissions = 0777"
			echo "max_connections = 200"
			echo "shared_buffers = 64MB"
			if [ "${PGCLUSTER_FAST:-0}" = 1 ]; then
				echo "fsync = off"
				echo "synchronous_commit = off"
				echo "full_page_writes = off"
			fi
		} >> "$data/postgresql.conf"
	fi
	do_start
	psql_super <<'SQL'
SELECT 'CREATE ROLE mxfeed_owner LOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mxfeed_owner')\gexec
SELECT 'CREATE ROLE mxfeed_app LOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mxfeed_app')\gexec
SELECT 'CREATE DATABASE mxfeed OWNER mxfeed_owner'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'mxfeed')\gexec
SQL
	psql_super -d mxfeed -c "REVOKE CREATE ON SCHEMA public FROM PUBLIC; ALTER SCHEMA public OWNER TO mxfeed_owner;"
}

do_standby() {
	[ $# -eq 1 ] || usage
	if [ ! -f "$data/PG_VERSION" ]; then
		chmod 755 "$dir"
		mkdir -p "$sock"
		chown "$owner" "$sock"
		chmod 755 "$sock"
		install -d -o "$owner" -m 700 "$data"
		# -R: standby.signal and primary_conninfo; the copied
		# configuration's socket line is overridden by the last one
		as_owner "$pgbin/pg_basebackup" -h "$1/sock" -U postgres \
			-D "$data" -R -X stream --checkpoint=fast --no-sync > "$dir/basebackup.log" 2>&1
		echo "unix_socket_directories = '$sock'" >> "$data/postgresql.conf"
	fi
	do_start
}

do_start() {
	[ -f "$data/PG_VERSION" ] || { echo "pgcluster: no cluster in $dir (run init)" >&2; exit 1; }
	running && return 0
	touch "$dir/log"
	chown "$owner" "$dir/log"
	as_owner "$pgbin/pg_ctl" -D "$data" -l "$dir/log" -w -t 60 start > /dev/null
}

do_stop() {
	running || return 0
	as_owner "$pgbin/pg_ctl" -D "$data" -m fast -w -t 60 stop > /dev/null
}

case $verb in
init) do_init ;;
standby) do_standby "$@" ;;
start) do_start ;;
stop) do_stop ;;
status)
	if running; then
		echo "running: socket $sock"
	else
		echo "stopped: $dir"
		exit 3
	fi
	;;
env) echo "PGHOST=$sock PGDATABASE=mxfeed" ;;
psql) as_owner "$pgbin/psql" -X -h "$sock" -d mxfeed "$@" ;;
*) usage ;;
esac
