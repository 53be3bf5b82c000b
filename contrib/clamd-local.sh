#!/bin/sh
# clamd-local.sh DIR [FILE...] - a private clamd for the demo and tests.
#
# Writes DIR/eicar.com (the standard 68-byte EICAR test file), a
# signature database DIR/clamav/db/mxfeed-local.ndb built with sigtool
# (nothing is downloaded) and DIR/clamav/clamd.conf listening on
# 127.0.0.1:3310 in the foreground.  The signatures are body (.ndb)
# signatures, as real ClamAV ones are: EICAR, and the bytes of every
# FILE given, are found anywhere - inside a MIME part, an archive
# member or a longer file - not only as a whole file.
# Start it with: clamd -c DIR/clamav/clamd.conf
set -eu
[ $# -ge 1 ] || { echo "usage: clamd-local.sh DIR [FILE...]" >&2; exit 2; }
dir=$1
shift
mkdir -p "$dir/clamav/db"
# single quotes: the two '$' are part of the file
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' \
	> "$dir/eicar.com"
if [ "$(wc -c < "$dir/eicar.com")" -ne 68 ]; then
	echo "clamd-local.sh: eicar.com is not the 68-byte standard file" >&2
	exit 1
fi
rm -f "$dir/clamav/db/mxfeed-local.hdb" # older demos' whole-file hashes
{
	printf 'Mxfeed.Test.EICAR:0:*:%s\n' "$(sigtool --hex-dump < "$dir/eicar.com")"
	n=0
	for f in "$@"; do
		n=$((n + 1))
		printf 'Mxfeed.Test.File%d:0:*:%s\n' "$n" "$(sigtool --hex-dump < "$f")"
	done
} > "$dir/clamav/db/mxfeed-local.ndb"
cat > "$dir/clamav/clamd.conf" <<CONF
TCPSocket 3310
TCPAddr 127.0.0.1
DatabaseDirectory $dir/clamav/db
LogFile $dir/clamav/clamd.log
PidFile $dir/clamav/clamd.pid
Foreground yes
User root
CONF
