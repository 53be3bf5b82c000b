#!/bin/bash
# test_audit.sh - every changing verb leaves its audit row (issue 13,
# "tests that catch what they claim"): exactly the rows named, with the
# domain, the actor and what changed; a refused change leaves none.
set -u
. "$(dirname "$0")/../lib.sh"
pg_setup
F=$FEEDCTL
ME=$(id -un)
last_id() { sql "SELECT coalesce(max(id), 0) FROM audit"; }
# audited DESC "ACTION DOMAIN ..." CMD...: CMD succeeds and adds exactly
# these rows (action and domain, "-" for none, in order), by us
audited() {
	local desc=$1 want=$2 id0 got
	shift 2
	id0=$(last_id)
	run "$@"
	got=$(sql "SELECT string_agg(action||' '||coalesce(domain,'-'), ' ' ORDER BY id) FROM audit WHERE id > $id0")
	if [ "$rc" = 0 ] && [ "$got" = "$want" ] &&
		[ "$(sql "SELECT count(*) FROM audit WHERE id > $id0 AND actor <> '$ME'")" = 0 ]; then
		tap_ok "$desc"
	else
		tap_fail "$desc (exit $rc, rows '$got', expected '$want')"
	fi
}
# refused DESC CMD...: CMD fails and adds no row
refused() {
	local desc=$1 id0
	shift
	id0=$(last_id)
	run "$@"
	if [ "$rc" != 0 ] && [ "$(last_id)" = "$id0" ]; then tap_ok "$desc"; else tap_fail "$desc (exit $rc)"; fi
}
newj() { sql "SELECT new::text FROM audit ORDER BY id DESC LIMIT 1"; }
oldj() { sql "SELECT old::text FROM audit ORDER BY id DESC LIMIT 1"; }

audited "add" "create a.example" $F add a.example --mode feed --force --dest 127.0.0.1:2526
audited "set" "set a.example" $F set a.example greylisting=off
check "... old and new say what changed" bash -c "[[ '$(oldj)' == *'\"greylisting\": true'* && '$(newj)' == *'\"greylisting\": false'* ]]"
refused "a refused set leaves no row" $F set a.example queue.days=40
audited "rule add (sender regex)" "rule-add a.example" $F rule add a.example block sender-regex '^spam@'
check "... naming the rule" bash -c "[[ '$(newj)' == *'^spam@'* ]]"
audited "rule add (client)" "rule-add a.example" $F rule add a.example allow client 192.0.2.0/24
check "... naming the network" bash -c "[[ '$(newj)' == *'192.0.2.0/24'* ]]"
refused "a refused rule leaves no row" $F rule add a.example block sender-regex '(a+)+'
audited "rule remove" "rule-remove a.example" $F rule remove a.example block sender-regex '^spam@'
check "... naming the rule removed" bash -c "[[ '$(oldj)$(newj)' == *'^spam@'* ]]"
refused "removing a rule that is not there leaves no row" $F rule remove a.example block sender-regex '^spam@'
audited "extend" "extend a.example" $F extend a.example --days 3
echo '{"name":"a.example","greylisting":true}' > "$T/ap.json"
audited "apply" "apply a.example" $F apply -f "$T/ap.json"
audited "apply again: nothing to change, no row" "" $F apply -f "$T/ap.json"
audited "add a pop3 domain" "create p.example" $F add p.example --mode pop3
audited "mailbox add" "mailbox-add p.example" $F mailbox add p.example info
audited "mailbox passwd" "mailbox-passwd p.example" $F mailbox passwd p.example info
pw=$(awk '/@p.example/ {print $2}' "$T/out")
check "... printed a password" test "${#pw}" -ge 12
check "... which no audit row holds" bash -c "! grep -qF -- '$pw' <<< '$(sql "SELECT string_agg(coalesce(old::text,'')||coalesce(new::text,''), ' ') FROM audit")'"
audited "mailbox remove" "mailbox-remove p.example" $F mailbox remove p.example info
audited "token create" "token-create -" $F token create tk --role read
audited "token revoke" "token-revoke -" $F token revoke tk
audited "temp-pop3 (its mailbox, then the switch)" "temp-pop3 a.example mailbox-add a.example" $F temp-pop3 a.example --mailbox info
audited "revert" "revert a.example" $F revert a.example
audited "add a domain to switch" "create s.example" $F add s.example --mode pop3
audited "switch pop3 -> feed" "switch s.example" $F switch s.example --to feed --dest 127.0.0.1:2526 --force
audited "add a domain to remove" "create r.example" $F add r.example --mode feed --force --dest 127.0.0.1:2526
refused "removing a domain that does not exist leaves no row" $F remove nx.example
audited "remove" "remove r.example" $F remove r.example --confirm=r.example
tap_done
