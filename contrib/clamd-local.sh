#!/bin/sh
# clamd-local.sh DIR [FILE...] - a private clamd for the demo and tests.
#
# Writes DIR/eicar.com (the standard EICAR test file), a signature
# database DIR/clamav/db/mxfeed-local.hdb built with sigtool from the
# MD5 of EICAR and of every FILE given (nothing is downloaded), and
# DIR/clamav/clamd.conf listening on 127.0.0.1:3310 in the foreground.
# Start it with: clamd -c DIR/clamav/clamd.conf
set -eu
[ $# -ge 1 ] || { echo "usage: clamd-local.sh DIR [FILE...]" >&2; exit 2; }
dir=$1
shift
mkdir -p "$dir/clamav/db"
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!H+H*' \
	> "$dir/eicar.com"
{
	(cd "$dir" && sigtool --md5 eicar.com)
	for f in "$@"; do
		(cd "$(dirname "$f")" && sigtool --md5 "$(basename "$f")")
	done
} > "$dir/clamav/db/mxfeed-local.hdb"
cat > "$dir/clamav/clamd.conf" <<CONF
TCPSocket 3310
TCPAddr 127.0.0.1
DatabaseDirectory $dir/clamav/db
LogFile $dir/clamav/clamd.log
PidFile $dir/clamav/clamd.pid
Foreground yes
User root
CONF
