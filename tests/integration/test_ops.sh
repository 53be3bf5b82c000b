#!/bin/bash
# test_ops.sh - what an operator installs besides the programs: the man
# pages, the bash completion, the systemd units and drop-ins, logrotate,
# and the Debian packaging's inputs.
#
# The man pages and the completion are generated at build time from the
# programs' own tables (man/gen.sh reading "feedctl --doc-dump"); this
# checks that they render without a warning, that every verb, domain
# setting and mxfeed.conf setting is in them, that a table row without
# text fails the generator, and that the completion completes.  The
# units are checked with systemd-analyze verify (no running systemd
# needed), ExecStart pointed at this build.  "make deb" builds the
# packages from a copy of the tree: lintian, the file list, the packaged
# units and pages are checked (about a minute: only the programs are
# built).  No database, no daemon.
set -u
. "$(dirname "$0")/../lib.sh"
T=$(mktemp -d /tmp/mxfeed-ops.XXXXXX)
trap 'rm -rf "$T"' EXIT
DOC=$BUILD/doc
export LC_ALL=C.UTF-8

"$FEEDCTL" --doc-dump > "$T/dump"
check "feedctl --doc-dump lists verbs, domain settings and conf settings" \
	bash -c "grep -q '^verb	set	' '$T/dump' && grep -q '^field	queue.days	' '$T/dump' &&
		 grep -q '^conf	database.conninfo	' '$T/dump'"
check "conf types: HOST:PORT, level, zone list each named as such" \
	bash -c "grep -q '^conf	greylist.postgrey	HOST:PORT	' '$T/dump' &&
		 grep -q '^conf	log.level	level	' '$T/dump' &&
		 grep -q '^conf	dnsbl.reject	zone list	' '$T/dump' &&
		 grep -q '^conf	relay.outbound	address list	' '$T/dump'"
check "the build's pages come from this feedctl's tables" \
	cmp -s "$T/dump" "$DOC/dump.txt"

# ---- man pages
for p in feedctl.8 mta-glue.8 mxfeed-fcgi.8 mxfeed-policyd.8 mxfeed.conf.5; do
	f=$DOC/man/$p
	run groff -man -ww -z "$f"
	check "$p: groff -man -ww finds nothing to warn about" \
		test "$rc" = 0 -a ! -s "$T/err" -a -s "$f"
	MANWIDTH=80 man --warnings -l "$f" > "$T/$p.txt" 2> "$T/err"
	rc=$?
	check "$p: man -l renders it with no warning" \
		test "$rc" = 0 -a ! -s "$T/err" -a -s "$T/$p.txt"
done

# every verb (its usage as feedctl help prints it), every domain
# setting and every mxfeed.conf setting has an entry
missing=""
while IFS=$'\t' read -r kind name rest; do
	case $kind in
	verb)
		grep -qE "^ {7}$name( |$)" "$T/feedctl.8.txt" || missing="$missing $name"
		;;
	field)
		grep -qE "^ {7}$name=" "$T/feedctl.8.txt" || missing="$missing $name"
		;;
	conf)
		grep -qE "^ {7}$name\$" "$T/mxfeed.conf.5.txt" || missing="$missing $name"
		;;
	esac
done < "$T/dump"
echo "$missing" > "$T/out"
check "every verb, domain setting and conf setting has its entry" test -z "$missing"
"$FEEDCTL" help > "$T/help"
n_help=$(grep -o '^  [a-z][a-z0-9-]*' "$T/help" | sort -u | grep -c .)
n_dump=$(grep -c '^verb' "$T/dump")
check "feedctl help and the page list the same verbs ($n_dump)" test "$n_help" = "$n_dump"

# the hand-written pages: every command and option of --help is there
missing=""
for w in $("$BUILD/rel/bin/mta-glue" --help | sed -n 's/^  \([a-z][a-z| -]*[a-z]\)  .*/\1/p' |
	tr '|' ' ' | awk '{ print $1; if ($2 != "") print $2 }'); do
	grep -qE "^ {7}([a-z-]+ \| )*$w( |$)" "$T/mta-glue.8.txt" || missing="$missing $w"
done
for w in $("$BUILD/rel/bin/mxfeed-fcgi" --help | grep -o -- '^  -[-a-z]*'); do
	grep -qE -- "^ {7}$w( |,|$)" "$T/mxfeed-fcgi.8.txt" || missing="$missing $w"
done
echo "$missing" > "$T/out"
check "mta-glue(8) and mxfeed-fcgi(8) have every command and option of --help" \
	test -z "$missing"

# a row without text fails the generator, naming it
for kind in verb field conf conf-type; do
	case $kind in
	verb) sed 's/^\(verb	flush	[^	]*	\).*/\1/' "$T/dump" > "$T/bad" ;;
	field) sed 's/^\(field	greylisting	[^	]*	\)[^	]*/\1/' "$T/dump" > "$T/bad" ;;
	conf) sed 's/^\(conf	log.level	.*	\)[^	]*$/\1/' "$T/dump" > "$T/bad" ;;
	conf-type) sed 's/^\(conf	log.level	\)[^	]*/\1/' "$T/dump" > "$T/bad" ;;
	esac
	page=$TOP/man/feedctl.8.in
	[ "${kind%-type}" = conf ] && page=$TOP/man/mxfeed.conf.5.in
	expect_exit 1 "gen.sh refuses a $kind without text" sh "$TOP/man/gen.sh" man "$T/bad" "$page"
	check "... and names it" grep -qE 'flush|greylisting|log.level' "$T/err"
done

# ---- bash completion
C=$DOC/feedctl.bash
check "the completion script parses (bash -n)" bash -n "$C"
mkdir -p "$T/bin"
cat > "$T/bin/feedctl" << 'EOF'
#!/bin/sh
# a feedctl whose "list" knows two domains (the completion asks it)
[ "$1" = -c ] && { echo "$2" > "${0%/*}/conf-seen"; shift 2; }
[ "$1" = list ] && printf 'DOMAIN MODE\nexample.test feed\nexample.org pop3\n'
exit 0
EOF
chmod +x "$T/bin/feedctl"
# complete LINE: what bash offers at the end of LINE
complete_line() {
	PATH="$T/bin:$PATH" bash -c '
		. "$1"
		COMP_LINE=$2 COMP_POINT=${#2}
		COMP_WORDS=($2) COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		[[ $2 == *" " ]] && COMP_CWORD=${#COMP_WORDS[@]}
		_feedctl
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$C" "$1"
}
want() {
	local got
	got=$(complete_line "$1")
	echo "got: $got" > "$T/out"
	check "completion of '$1' is '$2'" test "$got" = "$2"
}
want "feedctl se" "set "
want "feedctl --json sh" "show "
want "feedctl set example.test spam." \
	"spam.enabled= spam.high.action= spam.high.text= spam.low.action= spam.low.text= spam.med.action= spam.med.text= "
want "feedctl set example.test greylisting=o" "off on "
want "feedctl set example.test spam.high.action=" "delete header none quarantine subject "
want "feedctl set ex" "example.org example.test "
want "feedctl -c /etc/x.conf show example.o" "example.org "
check "... asking feedctl list with the line's -c" grep -qx /etc/x.conf "$T/bin/conf-seen"
want "feedctl rule " "add list remove "
want "feedctl rule add example.t" "example.test "
want "feedctl extend example.test --d" "--days "
want "feedctl token " "create list revoke "
want "feedctl add shop.example --mode f" "feed "
want "feedctl help rev" "revert "
# a verb added to the table is completed without an edit here: one
# taking (DOMAIN|ADDRESS), whose alternatives are no sub-commands
printf 'verb\tseek\tseek (DOMAIN|ADDRESS) [--since T] [--message-id ID]\tFind messages.\n' |
	cat - "$T/dump" > "$T/dump2"
sh "$TOP/man/gen.sh" completion "$T/dump2" "$TOP/man/feedctl.bash.in" > "$T/c2.bash"
C=$T/c2.bash
want "feedctl se" "seek set "
want "feedctl seek ex" "example.org example.test "
want "feedctl seek example.test --m" "--message-id "
C=$DOC/feedctl.bash
want "feedctl tr" "trace "
want "feedctl trace example.test --m" "--message-id "

# ---- systemd units and drop-ins, logrotate
U=$T/units
cp -r "$TOP/contrib/systemd" "$U"
for u in "$U"/*.service; do
	sed -i "s,/usr/local/bin/,$BUILD/rel/bin/," "$u"
done
# the Debian units the drop-ins extend (when installed here)
for d in rspamd.service postgrey.service clamav-daemon.service clamav-daemon.socket; do
	[ -e "/lib/systemd/system/$d" ] && cp "/lib/systemd/system/$d" "$U/"
done
if command -v systemd-analyze > /dev/null; then
	(cd "$U" && systemd-analyze verify --man=no ./*.service) > "$T/out" 2> "$T/err"
	rc=$?
	check "systemd-analyze verify: every unit and drop-in, no warning" \
		test "$rc" = 0 -a ! -s "$T/err" -a ! -s "$T/out"
	echo 'Bogus=1' >> "$U/rspamd.service.d/mxfeed.conf"
	(cd "$U" && systemd-analyze verify --man=no rspamd.service) > "$T/out" 2> "$T/err"
	check "... which reads the drop-ins (a bad key in one is reported)" grep -q Bogus "$T/err"
else
	tap_ok "systemd-analyze verify # SKIP systemd-analyze not installed"
fi
missing=""
for u in "$TOP"/contrib/systemd/*.service "$TOP"/contrib/systemd/*.d/*.conf; do
	for k in ProtectSystem=strict ProtectHome=yes NoNewPrivileges=yes PrivateTmp=yes \
		CapabilityBoundingSet=; do
		grep -q "^$k" "$u" || missing="$missing ${u#"$TOP"/}:$k"
	done
done
echo "$missing" > "$T/out"
check "every unit and drop-in is hardened" test -z "$missing"
for d in sync postfix fcgi worker; do
	check "a unit for mxfeed-$d" test -e "$TOP/contrib/systemd/mxfeed-$d.service"
done
run logrotate -d "$TOP/contrib/logrotate/mxfeed"
check "logrotate -d takes contrib/logrotate/mxfeed" test "$rc" = 0
check "... which rotates every log the product writes under paths.state" \
	bash -c "grep -q postfix.log '$TOP/contrib/logrotate/mxfeed' &&
		 grep -q dovecot.log '$TOP/contrib/logrotate/mxfeed' &&
		 grep -q 'postfix.log' '$TOP/templates/postfix/main.cf.in'"

# ---- Debian packages: built from a copy of the tree (dpkg-buildpackage
# cleans it first), lintian, unpacked into a scratch root
if command -v dh_listpackages > /dev/null && command -v lintian > /dev/null; then
	(cd "$TOP" && dh_listpackages) > "$T/out" 2> "$T/err"
	check "dh_listpackages: the four packages" \
		test "$(sort "$T/out" | tr '\n' ' ')" = "mxfeed-common mxfeed-mailhost mxfeed-relay mxfeed-web "
	mkdir -p "$T/src"
	tar -C "$TOP" --exclude=./build --exclude=./.git --exclude=./debian/build \
		--exclude=./tests/browser/node_modules -c . | tar -C "$T/src" -x
	make -C "$T/src" --no-print-directory deb B="$T/pkg" > "$T/out" 2> "$T/err"
	rc=$?
	check "make deb builds the packages (dpkg-buildpackage -b, lintian without error)" \
		test "$rc" = 0
	grep -E '^(E|W): ' "$T/out" | sed 's/^/# lintian: /'
	check "... into build/deb/, leaving the tree and its parent clean" \
		bash -c "! ls '$T'/*.deb '$T'/*.changes 2> /dev/null &&
			 test ! -e '$T/src/debian/build' -a ! -e '$T/src/debian/tmp' &&
			 test ! -e '$T/src/debian/mxfeed-common'"
	R=$T/root
	for p in common web relay mailhost; do
		f=$(ls "$T/pkg/deb/mxfeed-${p}_"*.deb 2> /dev/null | head -1)
		check "mxfeed-$p: built" test -n "$f"
		[ -n "$f" ] && dpkg -x "$f" "$R"
	done
	missing=""
	for f in usr/bin/feedctl usr/sbin/mta-glue usr/sbin/mxfeed-fcgi usr/sbin/mxfeed-policyd \
		etc/mxfeed/mxfeed.conf etc/mxfeed/nginx-fastcgi.conf etc/logrotate.d/mxfeed \
		usr/share/man/man8/feedctl.8.gz usr/share/man/man8/mta-glue.8.gz \
		usr/share/man/man8/mxfeed-fcgi.8.gz usr/share/man/man8/mxfeed-policyd.8.gz \
		usr/share/man/man5/mxfeed.conf.5.gz usr/share/bash-completion/completions/feedctl \
		usr/share/mxfeed/sql/001_init.sql var/lib/mxfeed \
		lib/systemd/system/mxfeed-fcgi.service lib/systemd/system/mxfeed-sync.service \
		lib/systemd/system/mxfeed-postfix.service lib/systemd/system/mxfeed-worker.service \
		lib/systemd/system/rspamd.service.d/mxfeed.conf \
		lib/systemd/system/postgrey.service.d/mxfeed.conf \
		lib/systemd/system/clamav-daemon.service.d/mxfeed.conf \
		lib/systemd/system/dovecot.service.d/mxfeed.conf; do
		[ -e "$R/$f" ] || missing="$missing $f"
	done
	echo "$missing" > "$T/out"
	check "the packages hold the programs, pages, units, config and state dir" test -z "$missing"
	check "conffiles: /etc/mxfeed/mxfeed.conf (mxfeed-common)" \
		bash -c "dpkg-deb -e '$(ls "$T/pkg/deb/mxfeed-common_"*.deb)' '$T/ctl' &&
			 grep -qx /etc/mxfeed/mxfeed.conf '$T/ctl/conffiles'"
	# every user and group the packaged units run as is made by a
	# maintainer script of the packages (the hardened layout of INSTALL
	# section 8: mxfeed, and mxfeed-web for the socket)
	for p in common web relay mailhost; do
		dpkg-deb -e "$(ls "$T/pkg/deb/mxfeed-${p}_"*.deb)" "$T/ctl-$p"
	done
	cat "$T"/ctl-*/postinst > "$T/postinsts" 2> /dev/null
	missing=""
	for g in $(sed -n 's/^\(User\|Group\|SupplementaryGroups\)=//p' "$R"/lib/systemd/system/*.service | tr ' ' '\n' | sort -u); do
		grep -qE "^[[:space:]]*(addgroup|adduser) .*[[:space:]]$g\$" "$T/postinsts" || missing="$missing $g"
	done
	echo "$missing" > "$T/out"
	check "every User=/Group= of the packaged units is made by a postinst (got: $(sed -n 's/^\(User\|Group\|SupplementaryGroups\)=//p' "$R"/lib/systemd/system/*.service | sort -u | tr '\n' ' '))" \
		test -z "$missing"
	# mxfeed-web's postinst, run against stand-ins of getent, id,
	# addgroup, adduser and deb-systemd-helper that log what they are
	# asked (this host's users and units are left alone)
	mkdir -p "$T/fake"
	cat > "$T/fake/getent" << 'EOF2'
#!/bin/sh
case "$1 $2" in
"group mxfeed-web") [ -n "$FAKE_GROUP" ] && echo "$FAKE_GROUP" ;;
"passwd www-data") echo "www-data:x:33:33::/var/www:/usr/sbin/nologin" ;;
*) exit 2 ;;
esac
EOF2
	cat > "$T/fake/id" << 'EOF2'
#!/bin/sh
echo "www-data $FAKE_WWW_GROUPS"
EOF2
	for c in addgroup adduser deb-systemd-helper; do
		# dh_installsystemd's part asks deb-systemd-helper: the
		# unit is not "debian-installed" here
		cat > "$T/fake/$c" << EOF2
#!/bin/sh
echo "$c \$*" >> "\$FAKE_LOG"
[ $c != deb-systemd-helper ]
EOF2
	done
	chmod +x "$T"/fake/*
	postinst_web() { # GROUP-LINE WWW-DATA'S-GROUPS
		: > "$T/fake.log"
		env PATH="$T/fake:$PATH" FAKE_LOG="$T/fake.log" FAKE_GROUP="$1" \
			FAKE_WWW_GROUPS="$2" DPKG_MAINTSCRIPT_NAME=postinst \
			DPKG_MAINTSCRIPT_PACKAGE=mxfeed-web \
			sh "$T/ctl-web/postinst" configure > "$T/out" 2> "$T/err"
	}
	postinst_web "" ""
	check "mxfeed-web postinst on a fresh host: makes the group mxfeed-web, adds www-data" \
		test "$(grep -E '^(addgroup|adduser)' "$T/fake.log" | tr '\n' ';')" = \
		"addgroup --system --quiet mxfeed-web;adduser --quiet www-data mxfeed-web;"
	postinst_web "mxfeed-web:x:120:www-data" "mxfeed-web"
	check "... run again (upgrade): changes nothing, says nothing" \
		bash -c "! grep -qE '^(addgroup|adduser)' '$T/fake.log' && test ! -s '$T/err'"
	postinst_web "mxfeed-web:x:120:www-data,php" "mxfeed-web"
	check "... warns when another user is in the socket's group" \
		grep -q "group mxfeed-web has members besides www-data: php" "$T/err"
	check "mxfeed-web depends on adduser" \
		bash -c "dpkg-deb -f '$(ls "$T/pkg/deb/mxfeed-web_"*.deb)' Depends | grep -qw adduser"
	check "mxfeed-relay depends on the relay's daemons" \
		bash -c "dpkg-deb -f '$(ls "$T/pkg/deb/mxfeed-relay_"*.deb)' Depends |
			 grep -q 'postfix-lmdb.*rspamd.*clamav-daemon.*postgrey.*unbound'"
	# the packaged units name the packaged programs; verify them there
	mkdir -p "$T/punits"
	for u in "$R"/lib/systemd/system/*.service; do
		sed -e "s,/usr/sbin/\\(mta-glue\\|mxfeed-fcgi\\),$R/usr/sbin/\\1,g" \
			-e "s,/usr/bin/feedctl,$R/usr/bin/feedctl,g" "$u" > "$T/punits/${u##*/}"
	done
	(cd "$T/punits" && systemd-analyze verify --man=no ./*.service) > "$T/out" 2> "$T/err"
	rc=$?
	check "systemd-analyze verify: the packaged units" test "$rc" = 0 -a ! -s "$T/err"
	n=$(grep -c '/usr/sbin/' "$R"/lib/systemd/system/mxfeed-*.service | awk -F: '{ s += $2 } END { print s }')
	check "the packaged units run /usr/sbin's programs" \
		bash -c "test $n -gt 0 && ! grep -q /usr/local '$R'/lib/systemd/system/mxfeed-*.service"
	zcat "$R/usr/share/man/man8/feedctl.8.gz" > "$T/feedctl.8"
	check "the packaged feedctl(8) is the built one" cmp -s "$T/feedctl.8" "$DOC/man/feedctl.8"
else
	tap_ok "Debian packages # SKIP debhelper or lintian not installed"
fi
tap_done
