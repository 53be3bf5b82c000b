/*
 * grammar - feedctl's command line as a table, and its one parser
 *
 * options[] says what each option is: its name (and alias), the kind
 * of value (a flag, a text, a bounded integer, a repeatable text), the
 * placeholder the usage writes and, for an integer, the bounds lib
 * sets.  verbs[] has a row per verb: its synopsis and help (also the
 * man page's and the bash completion's, through --doc-dump), the
 * options it takes, how many arguments, the handler; a verb with
 * sub-commands has a row per sub-command instead of a handler.
 *
 * parse_args() turns argv into a struct args by the row, so every
 * verb refuses a bad command line the same way: exit 2, the message,
 * and the verb's usage.  Integers are checked once all words are read
 * and the required options are there; nothing is checked against the
 * database here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "feedctl.h"
#include "ops_view.h"
#include "switchplan.h"
#include "util/parse.h"

enum opt_type { OT_FLAG, OT_TEXT, OT_INT, OT_LIST };

struct opt_spec {
	const char *name, *alias;
	enum opt_type type;
	const char *placeholder; /* N, DOMAIN, LOCAL, YYYY-MM-DD ... */
	long min, max;		 /* OT_INT */
	const char *field;	 /* OT_INT: named in its range error */
	const char *missing;	 /* usage text for a missing value, or NULL */
};

/* clang-format off */
static const struct opt_spec options[OPT_COUNT] = {
	[OPT_ALL_DOMAINS]  = { "--all-domains", NULL, OT_FLAG, NULL, 0, 0, NULL, NULL },
	[OPT_BOUNCE_QUEUE] = { "--bounce-queue", NULL, OT_FLAG, NULL, 0, 0, NULL, NULL },
	[OPT_CATCH_ALL]    = { "--catch-all", NULL, OT_FLAG, NULL, 0, 0, NULL, NULL },
	[OPT_CONFIRM]      = { "--confirm", NULL, OT_TEXT, "DOMAIN", 0, 0, NULL, NULL },
	[OPT_DAYS]         = { "--days", NULL, OT_INT, "N", 1, QUEUE_DAYS_MAX, "days", NULL },
	[OPT_DEST]         = { "--dest", NULL, OT_TEXT, "IP[:PORT]", 0, 0, NULL, NULL },
	[OPT_DOMAIN]       = { "--domain", NULL, OT_LIST, "DOMAIN", 0, 0, NULL, NULL },
	[OPT_DRY_RUN]      = { "--dry-run", NULL, OT_FLAG, NULL, 0, 0, NULL, NULL },
	[OPT_EXPIRES_DAYS] = { "--expires-days", NULL, OT_INT, "N", 1, OPS_TOKEN_DAYS_MAX, "--expires-days", NULL },
	[OPT_FILE]         = { "-f", "--file", OT_TEXT, "FILE", 0, 0, NULL, NULL },
	[OPT_FORCE]        = { "--force", NULL, OT_FLAG, NULL, 0, 0, NULL, NULL },
	[OPT_FROM_QUEUE]   = { "--from-queue", NULL, OT_FLAG, NULL, 0, 0, NULL, NULL },
	[OPT_HAND_OVER]    = { "--hand-over", NULL, OT_TEXT, "RELAY", 0, 0, NULL, "--hand-over needs RELAY" },
	[OPT_IF_VERSION]   = { "--if-version", NULL, OT_INT, "N", 1, OPS_VERSION_MAX, "--if-version", "--if-version needs N" },
	[OPT_KEEP_DAYS]    = { "--keep-days", NULL, OT_INT, "N", 1, KEEP_DAYS_MAX, "keep_days", "--keep-days needs N" },
	[OPT_MAILBOX]      = { "--mailbox", NULL, OT_LIST, "LOCAL", 0, 0, NULL, "--mailbox needs LOCAL" },
	[OPT_MAILBOXES]    = { "--mailboxes", NULL, OT_TEXT, "FATE", 0, 0, NULL, NULL },
	[OPT_MATCH]        = { "--match", NULL, OT_TEXT, "TEXT", 0, 0, NULL, NULL },
	[OPT_MAX_AGE]      = { "--max-age", NULL, OT_TEXT, "AGE", 0, 0, NULL, "--max-age needs AGE" },
	[OPT_MESSAGE_ID]   = { "--message-id", NULL, OT_TEXT, "ID", 0, 0, NULL, NULL },
	[OPT_MODE]         = { "--mode", NULL, OT_TEXT, "MODE", 0, 0, NULL, NULL },
	[OPT_ROLE]         = { "--role", NULL, OT_TEXT, "ROLE", 0, 0, NULL, NULL },
	[OPT_SINCE]        = { "--since", NULL, OT_TEXT, "T", 0, 0, NULL, NULL },
	[OPT_TO]           = { "--to", NULL, OT_TEXT, "MODE", 0, 0, NULL, NULL },
	[OPT_UNTIL]        = { "--until", NULL, OT_TEXT, "YYYY-MM-DD", 0, 0, NULL, NULL },
};
/* clang-format on */

const struct verb *find_verb(const char *name)
{
	const struct verb *c;

	for (c = verbs; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int usage_error(struct cli *cli, const char *verb, const char *fmt, ...)
{
	const struct verb *c = verb ? find_verb(verb) : NULL;
	va_list ap;

	(void)cli;
	fputs("feedctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c != NULL)
		fprintf(stderr, "usage: feedctl %s\n", c->usage);
	else
		fputs("usage: feedctl [-c CONF] [--json] [--ticket ID] "
		      "COMMAND ...  (feedctl help)\n",
		      stderr);
	return 2;
}

int fail(struct cli *cli)
{
	struct strbuf line = STRBUF_INIT;
	const char *msg = error_msg(&cli->err);

	sbuf_addstr(&line, "feedctl: ");
	if (cli->subject != NULL) {
		sbuf_addesc(&line, cli->subject, 80);
		sbuf_addstr(&line, ": ");
	}
	if (cli->err.field[0] &&
	    strncmp(msg, cli->err.field, strlen(cli->err.field)) != 0 &&
	    strchr(cli->err.field, '[') == NULL &&
	    strcmp(cli->err.field, "name") != 0)
		sbuf_addf(&line, "%s: ", cli->err.field);
	sbuf_addstr(&line, msg);
	fprintf(stderr, "%s\n", line.buf);
	sbuf_release(&line);
	return error_exit_status(cli->err.code);
}

/* A row's usage message, its "%s" (if any) the sub-command. */
static int row_usage(struct cli *cli, const char *verb, const char *msg,
		     const char *sub)
{
	struct strbuf m = STRBUF_INIT;
	const char *p = strstr(msg, "%s");
	int rc;

	if (p != NULL) {
		sbuf_add(&m, msg, (size_t)(p - msg));
		sbuf_addstr(&m, sub ? sub : "");
		sbuf_addstr(&m, p + 2);
	} else {
		sbuf_addstr(&m, msg);
	}
	rc = usage_error(cli, verb, "%s", m.buf);
	sbuf_release(&m);
	return rc;
}

/*
 * Whether word is option o: a flag exactly, a value option as "NAME
 * VALUE" or "NAME=VALUE".  1: *val set (NULL when the value is
 * missing), 0 another word.
 */
static int opt_match(const struct opt_spec *o, char **w, size_t n, size_t *i,
		     const char **val)
{
	const char *names[2] = { o->name, o->alias };
	size_t k, len;

	for (k = 0; k < 2 && names[k] != NULL; k++) {
		len = strlen(names[k]);
		if (o->type == OT_FLAG) {
			if (strcmp(w[*i], names[k]) == 0)
				return 1;
			continue;
		}
		if (strncmp(w[*i], names[k], len) != 0)
			continue;
		if (w[*i][len] == '=') {
			*val = w[*i] + len + 1;
			return 1;
		}
		if (w[*i][len] != '\0')
			continue;
		*val = *i + 1 < n ? w[++*i] : NULL;
		return 1;
	}
	return 0;
}

/* w[*i] against row r's options: 1 taken, 0 not one, 2 refused */
static int take_option(struct cli *cli, const char *verb, const struct verb *r,
		       char **w, size_t n, size_t *i, struct args *a, int *rc)
{
	const struct verb_opt *vo;

	for (vo = r->opts; vo->id != OPT_NONE; vo++) {
		const struct opt_spec *o = &options[vo->id];
		struct optval *v = &a->v[vo->id];
		const char *val = NULL;

		if (!opt_match(o, w, n, i, &val))
			continue;
		if (o->type != OT_FLAG && val == NULL) {
			*rc = vo->missing || o->missing
				      ? row_usage(cli, verb,
						  vo->missing ? vo->missing
							      : o->missing,
						  NULL)
				      : usage_error(cli, verb,
						    "%s needs a value", w[*i]);
			return 2;
		}
		v->set = true;
		v->text = val;
		if (o->type == OT_LIST && v->nlist < ARGS_MAX)
			v->list[v->nlist++] = (char *)val;
		return 1;
	}
	return 0;
}

/* The words after the verb (or sub-command) by row r. */
static int parse_words(struct cli *cli, const char *verb, const struct verb *r,
		       char **w, size_t n, struct args *a)
{
	const char *many = r->many_msg ? r->many_msg : r->few_msg;
	size_t i, min = (size_t)r->min;
	bool more = r->max < 0 || r->max > r->min;
	int rc = 0;

	if (r->opts == NULL) {
		if (n < min)
			return row_usage(cli, verb, r->few_msg, a->sub);
		if (r->max >= 0 && n > (size_t)r->max)
			return row_usage(cli, verb, many, a->sub);
	} else if (n < min ||
		   (min > 0 && (r->flags & V_NO_DASH) && w[0][0] == '-')) {
		return row_usage(cli, verb, r->few_msg, a->sub);
	}
	for (i = 0; i < n; i++) {
		if (r->opts != NULL && i >= min) {
			int t = take_option(cli, verb, r, w, n, &i, a, &rc);

			if (t == 2)
				return rc;
			if (t == 1)
				continue;
			if (w[i][0] == '-' || !more ||
			    (r->max >= 0 && a->npos >= (size_t)r->max))
				return usage_error(cli, verb,
						   w[i][0] == '-' && more
							   ? "unknown option "
							     "'%s'"
							   : "unexpected "
							     "argument '%s'",
						   w[i]);
		}
		a->pos[a->npos++] = w[i];
	}
	return 0;
}

/* The required options are there and the integers in their bounds. */
static int check_values(struct cli *cli, const char *verb, const struct verb *r,
			struct args *a)
{
	const struct verb_opt *vo;

	for (vo = r->opts; vo && vo->id != OPT_NONE; vo++)
		if (vo->required != NULL && !a->v[vo->id].set)
			return row_usage(cli, verb, vo->required, a->sub);
	for (vo = r->opts; vo && vo->id != OPT_NONE; vo++) {
		const struct opt_spec *o = &options[vo->id];
		struct optval *v = &a->v[vo->id];

		if (o->type == OT_INT && v->set &&
		    parse_long(v->text, o->min, o->max, &v->n, o->field,
			       &cli->err) < 0)
			return fail(cli);
	}
	return 0;
}

int parse_args(struct cli *cli, const struct verb *v, int argc, char **argv,
	       struct args *a, const struct verb **row)
{
	const struct verb *r = v;
	char **w = argv + 1;
	size_t n = (size_t)argc - 1;
	int rc;

	a->verb = argv[0];
	if (v->subs != NULL) {
		if (n < (size_t)v->min)
			return row_usage(cli, v->name, v->few_msg, NULL);
		for (r = v->subs; r->name; r++)
			if (strcmp(r->name, w[0]) == 0)
				break;
		if (r->name == NULL)
			return v->badsub_msg
				       ? row_usage(cli, v->name, v->badsub_msg,
						   NULL)
				       : usage_error(cli, v->name,
						     "unknown sub-command '%s'",
						     w[0]);
		a->sub = w[0];
		w++;
		n--;
	}
	*row = r;
	if ((rc = parse_words(cli, v->name, r, w, n, a)) != 0)
		return rc;
	if (r->subject > 0 && a->npos >= (size_t)r->subject)
		cli->subject = a->pos[r->subject - 1];
	return check_values(cli, v->name, r, a);
}

/*
 * Every option a verb (or one of its sub-commands) takes, by its
 * name: the usage must name each, and name no other, so the man page
 * and the completion cannot promise what the parser refuses.
 */
static bool row_takes(const struct verb *r, const char *word, size_t len)
{
	const struct verb_opt *vo;

	for (vo = r->opts; vo && vo->id != OPT_NONE; vo++)
		if (strlen(options[vo->id].name) == len &&
		    strncmp(options[vo->id].name, word, len) == 0)
			return true;
	return false;
}

static bool verb_takes(const struct verb *v, const char *word, size_t len)
{
	const struct verb *s;

	if (row_takes(v, word, len))
		return true;
	for (s = v->subs; s && s->name; s++)
		if (row_takes(s, word, len))
			return true;
	return false;
}

/* Whether usage names option name as a word of its own. */
static bool usage_names(const char *usage, const char *name)
{
	size_t len = strlen(name);
	const char *p;

	for (p = strstr(usage, name); p != NULL; p = strstr(p + 1, name))
		if ((p == usage || strchr(" [(|\n", p[-1]) != NULL) &&
		    strchr(" ]|)=\n", p[len]) != NULL)
			return true;
	return false;
}

static int row_check(const struct verb *v, const struct verb *r)
{
	const struct verb_opt *vo;
	int bad = 0;

	for (vo = r->opts; vo && vo->id != OPT_NONE; vo++)
		if (!usage_names(v->usage, options[vo->id].name)) {
			fprintf(stderr,
				"feedctl: verb %s takes %s; its usage does "
				"not say so\n",
				v->name, options[vo->id].name);
			bad = 1;
		}
	return bad;
}

int grammar_check(void)
{
	const struct verb *v, *s;
	const char *p;
	int bad = 0;

	for (v = verbs; v->name; v++) {
		bad |= row_check(v, v);
		for (s = v->subs; s && s->name; s++)
			bad |= row_check(v, s);
		for (p = v->usage; *p; p++) {
			size_t len;

			if (*p != '-' ||
			    (p > v->usage && strchr(" [(|\n", p[-1]) == NULL))
				continue;
			len = strspn(p,
				     "-abcdefghijklmnopqrstuvwxyz0123456789");
			if (len < 2) /* "FILE|-": standard input */
				continue;
			if (!verb_takes(v, p, len)) {
				fprintf(stderr,
					"feedctl: the usage of %s names "
					"%.*s, which it does not take\n",
					v->name, (int)len, p);
				bad = 1;
			}
			p += len - 1;
		}
	}
	return bad;
}

/*
 * The grammar.  A row: name, handler, needs the database, usage, help,
 * min and max arguments, their usage messages (too few, too many),
 * options (WORDS: none, every word an argument), flags, the argument
 * errors are about, and for a verb with sub-commands their rows and
 * the message for an unknown one.
 */
/* clang-format off */
#define O(id) { OPT_##id, NULL, NULL }
#define OPTS(...) \
	((const struct verb_opt[]){ __VA_ARGS__, { OPT_NONE, NULL, NULL } })
#define NO_OPTS ((const struct verb_opt[]){ { OPT_NONE, NULL, NULL } })
#define WORDS   NULL

static const struct verb s_mailbox[] = {
	{ "list", cmd_mailbox_list, false, NULL, NULL, 1, 1,
	  "mailbox list takes one DOMAIN", NULL, WORDS, 0, 1 },
	{ "add", cmd_mailbox_add, false, NULL, NULL, 1, -1, NULL, NULL,
	  OPTS(O(CATCH_ALL)), 0, 1 },
	{ "remove", cmd_mailbox_remove, false, NULL, NULL, 2, 2,
	  "mailbox %s takes DOMAIN LOCAL", NULL, WORDS, 0, 1 },
	{ "passwd", cmd_mailbox_passwd, false, NULL, NULL, 2, 2,
	  "mailbox %s takes DOMAIN LOCAL", NULL, WORDS, 0, 1 },
	{ NULL },
};
static const struct verb s_rule[] = {
	{ "list", cmd_rule_list, false, NULL, NULL, 1, 1,
	  "rule list takes one DOMAIN", NULL, WORDS, 0, 1 },
	{ "add", cmd_rule_change, false, NULL, NULL, 4, 4,
	  "rule %s takes DOMAIN allow|block sender-regex RE|client CIDR", NULL,
	  WORDS, 0, 1 },
	{ "remove", cmd_rule_change, false, NULL, NULL, 4, 4,
	  "rule %s takes DOMAIN allow|block sender-regex RE|client CIDR", NULL,
	  WORDS, 0, 1 },
	{ NULL },
};
static const struct verb s_token[] = {
	{ "create", cmd_token_create, false, NULL, NULL, 1, 1,
	  "token %s needs a NAME", NULL,
	  OPTS({ OPT_ROLE, NULL, "--role read|operator|admin is required" },
	       O(EXPIRES_DAYS), { OPT_DOMAIN, "--domain needs DOMAIN", NULL }),
	  0, 1 },
	{ "list", cmd_token_list, false, NULL, NULL, 0, 0,
	  "token list takes no arguments", NULL, WORDS, 0, 0 },
	{ "revoke", cmd_token_revoke, false, NULL, NULL, 1, 1,
	  "token %s needs a NAME", "token revoke takes one NAME", WORDS, 0, 1 },
	{ NULL },
};
static const struct verb s_staff[] = {
	{ "add", cmd_staff_change, false, NULL, NULL, 1, 1,
	  "staff %s needs a LOGIN", NULL,
	  OPTS({ OPT_ROLE, NULL, "--role read|operator|admin is required" },
	       { OPT_DOMAIN, "--domain needs DOMAIN", NULL }), 0, 1 },
	{ "set", cmd_staff_change, false, NULL, NULL, 1, 1,
	  "staff %s needs a LOGIN", NULL,
	  OPTS(O(ROLE), { OPT_DOMAIN, "--domain needs DOMAIN", NULL },
	       O(ALL_DOMAINS)), 0, 1 },
	{ "remove", cmd_staff_remove, false, NULL, NULL, 1, 1,
	  "staff %s needs a LOGIN", "staff remove takes one LOGIN", WORDS, 0, 1 },
	{ "list", cmd_staff_list, false, NULL, NULL, 0, 0,
	  "staff list takes no arguments", NULL, WORDS, 0, 0 },
	{ NULL },
};
static const struct verb s_relay[] = {
	{ "retire", cmd_relay, false, NULL, NULL, 1, 1, NULL, NULL,
	  OPTS(O(FORCE)), 0, 0 },
	{ "activate", cmd_relay, false, NULL, NULL, 1, 1, NULL, NULL, NO_OPTS,
	  0, 0 },
	{ "drain", cmd_relay_drain, false, NULL, NULL, 1, 1, NULL, NULL,
	  OPTS(O(HAND_OVER), O(MAX_AGE)), 0, 0 },
	{ NULL },
};
static const struct verb s_db[] = {
	{ "migrate", cmd_db, false, NULL, NULL, 0, 0,
	  "db takes migrate or status", NULL, WORDS, 0, 0 },
	{ "status", cmd_db, false, NULL, NULL, 0, 0,
	  "db takes migrate or status", NULL, WORDS, 0, 0 },
	{ NULL },
};
static const struct verb s_quarantine[] = {
	{ "list", cmd_quarantine, false, NULL, NULL, 1, 1,
	  "quarantine list takes one DOMAIN", NULL, WORDS, 0, 1 },
	{ "release", cmd_quarantine, false, NULL, NULL, 2, 2,
	  "quarantine %s takes DOMAIN ID", NULL, WORDS, 0, 1 },
	{ "delete", cmd_quarantine, false, NULL, NULL, 2, 2,
	  "quarantine %s takes DOMAIN ID", NULL, WORDS, 0, 1 },
	{ NULL },
};

const struct verb verbs[] = {
	{ "list", cmd_list, true,
	  "list [--mode pop3|feed|backup] [--match TEXT]",
	  "List domains, optionally by mode or by a text in the name.",
	  0, 0, NULL, NULL, OPTS(O(MODE), O(MATCH)), 0, 0 },
	{ "show", cmd_show, true,
	  "show DOMAIN",
	  "Show a domain's record and whether every relay applied it.",
	  1, 1, "show takes one DOMAIN", NULL, WORDS, 0, 1 },
	{ "add", cmd_add, true,
	  "add DOMAIN --mode MODE [--dest IP[:PORT]] [SETTING=VALUE ...] "
	  "[--force]",
	  "Add a domain.  feed and backup need --dest.  Settings as for set.\n"
	  "The destination (and every fallback) is probed first, as by\n"
	  "'feedctl probe'; one that fails (or, under tls.policy encrypt or\n"
	  "verify, takes no TLS or shows another certificate) is refused\n"
	  "unless --force.",
	  1, -1, "add needs a DOMAIN", NULL, OPTS(O(MODE), O(DEST), O(FORCE)),
	  V_NO_DASH, 1 },
	{ "set", cmd_set, true,
	  "set DOMAIN SETTING=VALUE ... [--if-version N] [--force]",
	  "Change settings in one step.  A new destination or fallback is\n"
	  "probed first and refused when it fails, unless --force; so is\n"
	  "every one when tls.policy asks for more (encrypt: STARTTLS must\n"
	  "work; verify: the certificate must have tls.fingerprint).\n"
	  "--if-version N refuses (exit 4) if someone changed it since N.\n"
	  "SETTING is a JSON field path:",
	  1, -1, "set needs a DOMAIN", NULL, OPTS(O(IF_VERSION), O(FORCE)),
	  V_NO_DASH | V_SETTINGS, 1 },
	{ "remove", cmd_remove, true,
	  "remove DOMAIN [--confirm=DOMAIN] [--bounce-queue] [--if-version N]\n"
	  "       [--dry-run]",
	  "Remove a domain that has no mailboxes left and no mail queued on\n"
	  "this relay; its history stays.  --bounce-queue bounces the\n"
	  "queued mail to its senders first.  --if-version N: only if the\n"
	  "domain is still at version N (else exit 4).  --dry-run (here and with\n"
	  "switch, temp-pop3, revert) prints what would happen and changes\n"
	  "nothing; the relays' queues are not asked.",
	  1, 1, "remove needs a DOMAIN", NULL,
	  OPTS(O(BOUNCE_QUEUE), O(DRY_RUN), O(IF_VERSION),
	       { OPT_CONFIRM, "--confirm needs DOMAIN", NULL }), V_NO_DASH, 1 },
	{ "history", cmd_history, true,
	  "history DOMAIN",
	  "Every change to a domain: when, who, ticket, what changed.",
	  1, 1, "history takes one DOMAIN", NULL, WORDS, 0, 1 },
	{ "apply", cmd_apply, true,
	  "apply -f FILE|- [--dry-run] [--force]",
	  "Converge domains to a JSON document (one object or an array).\n"
	  "Each item has \"name\" (and \"mode\" when new) plus settings as\n"
	  "in the API.  All or nothing; --dry-run prints the diff only.\n"
	  "New destinations are probed first (not with --dry-run); one\n"
	  "that fails refuses the whole document unless --force.",
	  0, 0, NULL, NULL,
	  OPTS({ OPT_FILE, "-f needs FILE or -", "apply needs -f FILE or -f -" },
	       O(DRY_RUN), O(FORCE)), 0, 0 },
	{ "mailbox", NULL, true,
	  "mailbox (list|add|remove|passwd) DOMAIN [LOCAL ...] [--catch-all]",
	  "POP3 mailboxes of a pop3 domain.  add and passwd print the new\n"
	  "password once.",
	  2, -1, "mailbox needs a sub-command and a DOMAIN", NULL, NULL, 0, 0,
	  s_mailbox, NULL },
	{ "rule", NULL, true,
	  "rule (list|add|remove) DOMAIN [allow|block] "
	  "[sender-regex RE | client CIDR]",
	  "Allow or block senders by envelope-sender regex (POSIX ERE syntax,\n"
	  "ignoring case, anywhere in the sender unless anchored) or client\n"
	  "network.  Refused on save: nested repeats such as '(a+)+' (a\n"
	  "repeated group may hold no repeat, except under '?'), a repeat\n"
	  "right after a repeat ('a+*', 'a*?'), '\\' before a letter or digit\n"
	  "('\\d': write [0-9]), '(?' and '(*', repeat counts over 255,\n"
	  "patterns over 256 characters or compiling to over 8 KB.  Inside\n"
	  "[...] a '\\' is a literal backslash.  \"rule list\" marks a stored\n"
	  "rule the checks now refuse; relays skip it until it is removed.",
	  2, -1, "rule needs a sub-command and a DOMAIN", NULL, NULL, 0, 0,
	  s_rule, NULL },
	{ "token", NULL, true,
	  "token (create NAME --role read|operator|admin [--domain D ...]\n"
	  "       [--expires-days N] | list | revoke NAME)",
	  "API tokens.  create prints the token once; only its hash is kept.",
	  1, -1, "token needs a sub-command", NULL, NULL, 0, 0, s_token, NULL },
	{ "staff", NULL, true,
	  "staff (add LOGIN --role read|operator|admin [--domain D ...]\n"
	  "       | set LOGIN [--role R] [--domain D ... | --all-domains]\n"
	  "       | remove LOGIN | list)",
	  "Portal logins (as nginx authenticates them) and what each may\n"
	  "do: read sees, operator changes settings, switches, extends and\n"
	  "flushes, admin also removes domains.  --domain (repeatable)\n"
	  "limits the login to those exact domains, its domain group;\n"
	  "others are \"not found\" to it.  A login without a row is\n"
	  "refused by the portal: add the first admin here.  Each change\n"
	  "is in the audit log (staff-add, staff-set, staff-remove).",
	  1, -1, "staff needs a sub-command", NULL, NULL, 0, 0, s_staff, NULL },
	{ "relays", cmd_relays, true,
	  "relays",
	  "Relays and the change each one has applied.",
	  0, 0, "relays takes no arguments", NULL, WORDS, 0, 0 },
	{ "relay", NULL, true,
	  "relay drain NAME [--hand-over RELAY [--max-age AGE]]\n"
	  "relay retire NAME [--force]\n"
	  "relay activate NAME",
	  "Take a relay out of service.  drain: it answers new SMTP\n"
	  "sessions 421 4.3.2 (senders try another MX) and delivers what\n"
	  "it holds; with --hand-over it hands its queue to that active\n"
	  "relay over SMTP, at once or once AGE (90m, 2h, 1d: s, m, h or d,\n"
	  "up to 31d) has passed.  A draining relay still applies every\n"
	  "change, but no job or propagation count waits for it;\n"
	  "\"relays\" shows what it has left, and \"drained\" once that\n"
	  "is nothing.  Refused for the last active relay.  retire: for\n"
	  "good: a retired relay is no longer counted in propagation,\n"
	  "asked for its queue, sent commands or waited for by jobs.\n"
	  "Refused while its last published queue held mail, unless\n"
	  "--force.  activate: a retired or draining relay is active again.",
	  2, -1, "relay takes drain, retire or activate NAME", NULL, NULL, 0,
	  0, s_relay, "relay takes drain, retire or activate NAME" },
	{ "jobs", cmd_jobs, true,
	  "jobs [DOMAIN]",
	  "Queued and finished mailbox and queue jobs, with their errors.",
	  0, 1, NULL, "jobs takes at most a DOMAIN", WORDS, 0, 1 },
	{ "db", NULL, false,
	  "db (migrate | status)",
	  "Apply the schema migrations (as the owner role) or list them.",
	  1, -1, "db takes migrate or status", NULL, NULL, 0, 0, s_db, NULL },
	{ "switch", cmd_switch, true,
	  "switch DOMAIN --to feed|backup --dest IP[:PORT] "
	  "[--mailboxes forward|archive|purge]\n"
	  "       [--force] [--confirm=DOMAIN] [--if-version N] [--dry-run]\n"
	  "switch DOMAIN --to pop3 (--mailbox LOCAL ... | --catch-all)\n"
	  "       [--if-version N] [--dry-run]",
	  "To feed (or backup MX): a live probe of the destination must\n"
	  "pass (unless --force).  The mailboxes' mail is forwarded to it\n"
	  "(default), archived, or purged (needs --confirm=DOMAIN), by a\n"
	  "job that runs once every relay routes the new way; then they\n"
	  "are removed.  Between feed and backup no mailbox changes and\n"
	  "--dest is optional (the probe runs for a new one); a queue.days\n"
	  "still at the old mode's default takes the new one's (2 / 8).\n"
	  "To pop3: the new mailboxes' passwords are shown once; queued\n"
	  "mail is delivered into them.  --dry-run prints the plan (probe,\n"
	  "mailboxes and their job, queue) and changes nothing.\n"
	  "--if-version N (here and with temp-pop3, revert, extend): only\n"
	  "if the domain is still at version N, else exit 4 and nothing\n"
	  "changes.",
	  1, 1, "switch needs a DOMAIN", NULL,
	  OPTS({ OPT_TO, "--to needs feed, backup or pop3", NULL },
	       { OPT_DEST, "--dest needs IP[:PORT]", NULL },
	       { OPT_MAILBOXES, "--mailboxes needs forward, archive or purge", NULL },
	       { OPT_CONFIRM, "--confirm needs the DOMAIN", NULL }, O(MAILBOX),
	       O(IF_VERSION), O(FORCE), O(CATCH_ALL), O(DRY_RUN)), V_NO_DASH, 1 },
	{ "temp-pop3", cmd_temp_pop3, true,
	  "temp-pop3 DOMAIN [--mailbox LOCAL ...] [--from-queue] [--catch-all]\n"
	  "       [--if-version N] [--dry-run]",
	  "While a feed or backup domain's server is out: temporary POP3\n"
	  "mailboxes (listed, the recipients in the relays' queues, and/or\n"
	  "a catch-all) whose passwords are shown once; the relays deliver\n"
	  "the domain's mail, queued mail too, into them.",
	  1, 1, "temp-pop3 needs a DOMAIN", NULL,
	  OPTS(O(MAILBOX), O(IF_VERSION), O(FROM_QUEUE), O(CATCH_ALL),
	       O(DRY_RUN)), V_NO_DASH, 1 },
	{ "revert", cmd_revert, true,
	  "revert DOMAIN [--keep-days N] [--if-version N] [--dry-run]",
	  "End temporary POP3: the domain's mail goes to its feed again.\n"
	  "The mail left in the temporary mailboxes is re-injected to the\n"
	  "destination, then they are archived and removed; with\n"
	  "--keep-days N (1-365) they stay readable N days instead.",
	  1, 1, "revert needs a DOMAIN", NULL,
	  OPTS(O(KEEP_DAYS), O(IF_VERSION), O(DRY_RUN)), V_NO_DASH, 1 },
	{ "extend", cmd_extend, true,
	  "extend DOMAIN (--days N | --until YYYY-MM-DD) [--if-version N]",
	  "Lengthen the domain's queue: N days from now (1-31), or to the\n"
	  "end of that day (UTC, within 31 days).  No message of the\n"
	  "domain expires before then; afterwards queue.days applies.",
	  1, 1, "extend needs a DOMAIN", NULL,
	  OPTS(O(DAYS), O(UNTIL), O(IF_VERSION)), V_NO_DASH, 1 },
	{ "queue", cmd_queue, true,
	  "queue DOMAIN",
	  "The domain's messages in the queue of every relay: relay, id,\n"
	  "arrival, sender, recipients, last delay reason.  Works from any\n"
	  "host: each relay publishes its queue through the database and\n"
	  "is asked to do so now; one that does not answer within 5 s is\n"
	  "shown as of its last publication (stale, or down).",
	  1, 1, "queue takes one DOMAIN", NULL, WORDS, 0, 1 },
	{ "flush", cmd_flush, true,
	  "flush DOMAIN",
	  "Try to deliver the domain's queued mail now, on every relay.\n"
	  "A relay that is down runs the flush when it is back (within an\n"
	  "hour); the answer says which relays confirmed.",
	  1, 1, "flush takes one DOMAIN", NULL, WORDS, 0, 1 },
	{ "quarantine", NULL, true,
	  "quarantine list DOMAIN\n"
	  "quarantine (release | delete) DOMAIN ID",
	  "Messages held by a spam level whose action is quarantine, on\n"
	  "every relay: ID (the queue id), arrival, sender, recipients and\n"
	  "when it is deleted (quarantine.days after arrival).  release\n"
	  "sends one on to the customer now, without a second spam check;\n"
	  "delete removes it for good.",
	  2, -1,
	  "quarantine takes list DOMAIN, release DOMAIN ID or delete DOMAIN ID",
	  NULL, NULL, 0, 0, s_quarantine, NULL },
	{ "trace", cmd_trace, true,
	  "trace DOMAIN|ADDRESS [--since T] [--message-id ID]",
	  "Where did the mail go: every message of the domain (or from or\n"
	  "to the address) since T (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, Nh\n"
	  "or Nd ago; default tracking.days), newest first, with what\n"
	  "happened on which relay: refused (with the reply), greylisted,\n"
	  "accepted, virus, deleted, quarantined or tagged as spam (with\n"
	  "the level, score and action), delivered, deferred, bounced,\n"
	  "expired.  --message-id takes the id without <>.",
	  1, 1, "trace needs a DOMAIN or an ADDRESS", NULL,
	  OPTS(O(SINCE), O(MESSAGE_ID)), V_NO_DASH, 1 },
	{ "probe", cmd_probe, true,
	  "probe DOMAIN|IP[:PORT]",
	  "Ask a destination over SMTP: banner, EHLO (STARTTLS offered?)\n"
	  "and, for a domain, RCPT TO:<postmaster@DOMAIN>; no mail is sent.\n"
	  "Exit 0 when it answered and accepted, 5 otherwise.",
	  1, 1, "probe takes DOMAIN or IP[:PORT]", NULL, WORDS, 0, 1 },
	{ "help", cmd_help, false,
	  "help [COMMAND]",
	  "Show the commands, or one command's help.",
	  0, -1, NULL, NULL, WORDS, 0, 0 },
	{ NULL },
};
/* clang-format on */
