#!/bin/sh
# deps.sh - install the Debian 12 packages mxfeed's build, tests and demo need.
#
# Idempotent: installs only what is missing, runs "apt-get update" first
# only then, never asks questions (Postfix's debconf answers are
# preseeded) and never starts or enables the packages' system-wide
# services: a policy-rc.d refuses service starts during the install and
# postgresql-common is told not to create its "main" cluster.  The tests
# and the demo start their own private instances.
set -eu

PACKAGES="
gcc make pkg-config clang-format
libpq-dev libconfig-dev libjansson-dev libidn2-dev libssl-dev libcrypt-dev
libcmocka-dev libfcgi-dev libcurl4-openssl-dev libpcre2-dev liblmdb-dev clang
libsystemd-dev python3-jsonschema
postgresql-15 postgresql-client-15 postgresql-contrib
nginx-light wrk curl
chromium nodejs fonts-dejavu-core
postfix postfix-lmdb postgrey rspamd clamav clamav-daemon
dovecot-core dovecot-lmtpd dovecot-pop3d dovecot-imapd dovecot-pgsql
php-fpm roundcube-core roundcube-sqlite3
swaks iproute2
rbldnsd unbound bind9-dnsutils
jq util-linux bc time python3-yaml
debhelper dpkg-dev lintian groff-base man-db logrotate systemd
"

# npm: Debian's nodejs package ships without it, NodeSource's nodejs
# includes it and conflicts with Debian's npm; ask for it only if absent.
command -v npm > /dev/null 2>&1 || PACKAGES="$PACKAGES npm"

missing=""
for p in $PACKAGES; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing - run as root (or install them)" >&2
	exit 1
fi
echo "deps: installing:$missing"

# Postfix would ask how to configure itself; the tests bring their own
# configuration, so "No configuration" is the honest answer.
echo "postfix postfix/main_mailer_type select No configuration" |
	debconf-set-selections
# Roundcube would ask for a database to set up through dbconfig-common;
# the tests and the demo give it a private SQLite file of their own
# (contrib/roundcube/run.sh), so no system-wide database is made.
echo "roundcube-core roundcube/dbconfig-install boolean false" |
	debconf-set-selections
mkdir -p /etc/postgresql-common
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
	echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
fi

# Refuse service starts during the install (invoke-rc.d honours this).
prc=/usr/sbin/policy-rc.d
had_prc=no
if [ -e "$prc" ]; then
	had_prc=yes
	cp -p "$prc" "$prc.mxfeed-saved"
fi
printf '#!/bin/sh\nexit 101\n' > "$prc"
chmod 755 "$prc"
restore() {
	if [ "$had_prc" = yes ]; then
		mv -f "$prc.mxfeed-saved" "$prc"
	else
		rm -f "$prc"
	fi
}
trap restore EXIT INT TERM

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	$missing
echo "deps: done"
