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
CONF
	export MXFEED_CONF="$T/mxfeed.conf"
	"$FEEDCTL" db migrate > "$T/migrate.log" 2>&1 ||
		{ echo "Bail out! migrations failed"; cat "$T/migrate.log"; exit 1; }
}

pg_teardown() {
	bash "$TOP/contrib/pgcluster.sh" "$T/pg" stop > /dev/null 2>&1
	rm -rf "$T"
}
