#!/bin/sh
# gen.sh - the man pages and the bash completion, from the programs' tables
#
#   sh man/gen.sh man DUMP TEMPLATE > PAGE
#   sh man/gen.sh completion DUMP TEMPLATE > SCRIPT
#
# DUMP is the output of "feedctl --doc-dump": feedctl's command table,
# lib/fields.def's settings and lib/conf.c's settings, one record a line
# (see feedctl/help.c, doc_dump()).  In a man page template a line @VERBS@,
# @DOMAIN_SETTINGS@ or @CONF_SETTINGS@ becomes that table in roff; in
# the completion template @TABLES@ becomes shell variables.  Everything
# else is copied as it is.  A verb, setting or configuration key without
# text is an error (exit 1, naming it): the pages cannot go without it.
set -eu

mode=$1
dump=$2
tmpl=$3

[ -s "$dump" ] || { echo "gen.sh: $dump: empty" >&2; exit 1; }

awk -F '\t' -v mode="$mode" -v dump="$dump" '
function unesc(s,  out, i, c) {
	out = ""
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "\\" && i < length(s)) {
			i++
			c = substr(s, i, 1)
			out = out (c == "n" ? "\n" : c)
		} else
			out = out c
	}
	return out
}
# one line of text for roff: backslashes and minus signs escaped, a
# leading control character defused
function roffline(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	if (s ~ /^[.\047]/)
		s = "\\&" s
	return s
}
function roff(s,  n, a, i, out) {
	n = split(s, a, "\n")
	out = ""
	for (i = 1; i <= n; i++) {
		sub(/^ +/, "", a[i])
		if (a[i] != "")
			out = out roffline(a[i]) "\n"
	}
	return out
}
function missing(what) {
	printf "gen.sh: %s has no text\n", what > "/dev/stderr"
	bad = 1
}
function verbs(  i, n, u, k, line, syn, lines) {
	for (i = 1; i <= nverb; i++) {
		# usage lines: one starting with a space continues the one before
		n = split(vusage[i], u, "\n")
		k = 0
		for (line = 1; line <= n; line++) {
			if (u[line] ~ /^ / && k > 0) {
				sub(/^ +/, " ", u[line])
				syn[k] = syn[k] u[line]
			} else
				syn[++k] = u[line]
		}
		for (line = 1; line <= k; line++)
			printf "%s\n\\fB%s\\fR\n", line == 1 ? ".TP" : ".TQ",
			       roffline(syn[line])
		printf "%s", roff(vhelp[i])
		if (vname[i] == "set" || vname[i] == "add")
			print "(See\n.B SETTINGS\nbelow.)"
	}
}
function fields(  i, t) {
	for (i = 1; i <= nfield; i++) {
		printf ".TP\n\\fB%s\\fR=\\fI%s\\fR\n", roffline(fpath[i]),
		       roffline(fsyn[i])
		t = flabel[i]
		if (fhelp[i] != "")
			t = t ": " fhelp[i]
		if (fdest[i] == "1")
			t = t " (feed and backup domains only)"
		printf "%s", roff(t ".")
	}
}
function confs(  i, g, last, t) {
	last = ""
	for (i = 1; i <= nconf; i++) {
		g = cname[i]
		sub(/\..*/, "", g)
		if (g != last)
			printf ".SS %s\n", g
		last = g
		printf ".TP\n.B %s\n", roffline(cname[i])
		t = ctype[i]
		if (cmin[i] != "")
			t = t ", " cmin[i] " to " cmax[i]
		if (cdef[i] != "")
			t = t ", default \"" cdef[i] "\""
		printf "%s", roff("(" t ")\n" cdoc[i] ".")
	}
}
# "(a|b|c)" or "(a X | b | c Y)": the first word of each alternative
# of the group s begins (just after its parenthesis)
function alternatives(s,  i, c, depth, g, n, alt, k, out) {
	depth = 0
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "(" || c == "[")
			depth++
		else if ((c == ")" || c == "]") && depth > 0)
			depth--
		else if (c == ")")
			break
	}
	g = substr(s, 1, i - 1)
	gsub(/\n/, " ", g)
	n = split(g, alt, index(g, " | ") ? " [|] " : "[|]")
	out = ""
	for (k = 1; k <= n; k++) {
		# "(DOMAIN|ADDRESS)": arguments, not sub-commands
		if (firstword(alt[k]) !~ /^[a-z][a-z0-9-]*$/)
			return ""
		out = out " " firstword(alt[k])
	}
	return substr(out, 2)
}
function firstword(s) {
	gsub(/\n/, " ", s)
	sub(/^ +/, "", s)
	sub(/ .*/, "", s)
	return s
}
# the completion tables: shell words, single-quoted (none holds a quote)
function tables(  i, opts, w, n, a, k, sub1, vals, s) {
	s = ""
	for (i = 1; i <= nverb; i++)
		s = s " " vname[i]
	printf "_feedctl_verbs=\047%s\047\n", substr(s, 2)
	s = ""
	for (i = 1; i <= nfield; i++)
		s = s " " fpath[i] "="
	printf "_feedctl_settings=\047%s\047\n", substr(s, 2)
	print "_feedctl_verb_opts() {\n\tcase $1 in"
	for (i = 1; i <= nverb; i++) {
		opts = ""
		w = vusage[i]
		gsub(/[][()|\n]/, " ", w)
		n = split(w, a, " ")
		for (k = 1; k <= n; k++) {
			if (a[k] !~ /^--?[a-z]/)
				continue
			sub(/=.*/, "=", a[k])
			if (index(" " opts " ", " " a[k] " ") == 0)
				opts = opts " " a[k]
		}
		printf "\t%s) echo \047%s\047 ;;\n", vname[i], substr(opts, 2)
	}
	print "\tesac\n}"
	# sub-commands: the first (a|b|c) right after the verb
	print "_feedctl_subcmds() {\n\tcase $1 in"
	for (i = 1; i <= nverb; i++) {
		w = vusage[i]
		if (match(w, /^[a-z0-9-]+ \(/) == 0)
			continue
		w = alternatives(substr(w, RLENGTH + 1))
		if (w != "")
			printf "\t%s) echo \047%s\047 ;;\n", vname[i], w
	}
	print "\tesac\n}"
	print "_feedctl_values() {\n\tcase $1 in"
	for (i = 1; i <= nfield; i++)
		if (fsyn[i] ~ /^[a-z0-9]+(\|[a-z0-9]+)+$/) {
			vals = fsyn[i]
			gsub(/\|/, " ", vals)
			printf "\t%s) echo \047%s\047 ;;\n", fpath[i], vals
		}
	print "\tesac\n}"
	s = ""
	for (i = 1; i <= nverb; i++)
		if (vusage[i] ~ /^[a-z0-9-]+ (\([a-z|]+\) |\(|\[)?DOMAIN/)
			s = s " " vname[i]
	printf "_feedctl_domain_verbs=\047%s\047\n", substr(s, 2)
}
FILENAME == dump && $1 == "verb" {
	nverb++
	vname[nverb] = $2
	vusage[nverb] = unesc($3)
	vhelp[nverb] = unesc($4)
	if (vhelp[nverb] == "")
		missing("feedctl verb " $2)
	next
}
FILENAME == dump && $1 == "field" {
	nfield++
	fpath[nfield] = $2
	fsyn[nfield] = $3
	flabel[nfield] = $4
	fhelp[nfield] = unesc($5)
	fdest[nfield] = $6
	if ($4 == "")
		missing("domain setting " $2)
	next
}
FILENAME == dump && $1 == "conf" {
	nconf++
	cname[nconf] = $2
	ctype[nconf] = $3
	cdef[nconf] = $4
	cmin[nconf] = $5
	cmax[nconf] = $6
	cdoc[nconf] = $7
	if ($7 == "" || $3 == "")
		missing("mxfeed.conf setting " $2)
	next
}
FILENAME == dump {
	printf "gen.sh: %s: unknown record %s\n", dump, $1 > "/dev/stderr"
	bad = 1
	next
}
FNR == 1 && (nverb == 0 || nfield == 0 || nconf == 0) {
	print "gen.sh: the dump lacks a table" > "/dev/stderr"
	bad = 1
}
bad { exit 1 }
$0 == "@VERBS@" && mode == "man" { verbs(); next }
$0 == "@DOMAIN_SETTINGS@" && mode == "man" { fields(); next }
$0 == "@CONF_SETTINGS@" && mode == "man" { confs(); next }
$0 == "@TABLES@" && mode == "completion" { tables(); next }
{ print }
END { exit bad }
' "$dump" "$tmpl"
