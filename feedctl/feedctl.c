/*
 * feedctl - the support-staff command line of mxfeed
 *
 * A thin skin over lib/ops: parse argv with the command table below,
 * call one ops_ or store_ function, print a table (or the API's JSON
 * with --json).  Errors go to stderr as "feedctl: SUBJECT: what is
 * wrong" and map to the exit statuses of SPEC section 7 through
 * error_exit_status(): 0 ok, 1 internal, 2 usage or invalid value,
 * 3 not found, 4 conflict, 5 temporarily unavailable.
 *
 * Global options (-c FILE, --json, --ticket ID) are accepted before and
 * after the verb; "--" ends option processing.
 */
#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "conf.h"
#include "domain_json.h"
#include "migrate.h"
#include "model.h"
#include "ops.h"
#include "store.h"
#include "util/error.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/strbuf.h"

#define ARGS_MAX 256

struct cli {
	const char *conf_path;
	bool json;
	const char *ticket;
	char actor[ACTOR_MAX + 1];
	const char *subject; /* what an error message is about */
	struct conf conf;
	struct store *store;
	struct ops_ctx ox;
	struct error err;
};

struct cmd {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	bool needs_db;
	const char *usage;
	const char *help;
};

static const struct cmd *find_cmd(const char *name);

/* Print err about the current subject; return the exit status. */
static int fail(struct cli *cli)
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

static int usage_error(struct cli *cli, const char *verb, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int usage_error(struct cli *cli, const char *verb, const char *fmt, ...)
{
	const struct cmd *c = verb ? find_cmd(verb) : NULL;
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

/*
 * Option helper: when argv[*i] is "--name VALUE" or "--name=VALUE",
 * store VALUE, advance *i past it and return 1; 0 if it is another
 * word; -1 when the value is missing.
 */
static int opt_value(int argc, char **argv, int *i, const char *name,
		     const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

/* --if-version N at argv[*i]: 0 not it, 1 taken, -1 bad (*rc: exit) */
static int opt_if_version(struct cli *cli, int argc, char **argv, int *i,
			  const char *verb, int64_t *out, int *rc)
{
	const char *v;
	long n;
	int r = opt_value(argc, argv, i, "--if-version", &v);

	if (r == 0)
		return 0;
	if (r < 0) {
		*rc = usage_error(cli, verb, "--if-version needs N");
		return -1;
	}
	if (parse_long(v, 1, 1000000000L, &n, "--if-version", &cli->err) < 0) {
		*rc = fail(cli);
		return -1;
	}
	*out = n;
	return 1;
}

/* ---- output ---------------------------------------------------------- */

static void print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s != NULL) {
		puts(s);
		free(s);
	}
}

/*
 * The text of one JSON value for a table cell: the value itself, not
 * its JSON spelling (a regex "^a\.b$" shows as typed, a list of
 * addresses as "a@x,b@x").  Only text that is not printable UTF-8 is
 * escaped, so a control byte from the database cannot reach the
 * terminal.
 */
static void cell_text(const json_t *v, struct strbuf *out)
{
	const char *key, *s;
	const json_t *e;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		if (strlen(s) == json_string_length(v) &&
		    utf8_printable(s, strlen(s)))
			sbuf_addstr(out, s);
		else
			sbuf_addesc(out, s, 200);
		break;
	case JSON_INTEGER:
		sbuf_addf(out, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		sbuf_addf(out, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		sbuf_addstr(out, "on");
		break;
	case JSON_FALSE:
		sbuf_addstr(out, "off");
		break;
	case JSON_NULL:
		sbuf_addstr(out, "-");
		break;
	case JSON_ARRAY:
		if (json_array_size(v) == 0)
			sbuf_addstr(out, "-");
		json_array_foreach(v, i, e)
		{
			if (i > 0)
				sbuf_addch(out, ',');
			cell_text(e, out);
		}
		break;
	case JSON_OBJECT:
		i = 0;
		json_object_foreach((json_t *)v, key, e)
		{
			if (i++ > 0)
				sbuf_addch(out, ' ');
			if (utf8_printable(key, strlen(key)))
				sbuf_addstr(out, key);
			else
				sbuf_addesc(out, key, 64);
			sbuf_addch(out, '=');
			cell_text(e, out);
		}
		break;
	}
}

struct column {
	const char *key;
	const char *title;
};

/* Rows of objects as an aligned table; "none" when there are none. */
static void print_table(const json_t *rows, const struct column *cols)
{
	size_t ncol, i, r, nrow = json_array_size(rows);
	size_t width[16] = { 0 };
	struct strbuf *cells;

	for (ncol = 0; cols[ncol].key && ncol < 16; ncol++)
		width[ncol] = strlen(cols[ncol].title);
	if (nrow == 0) {
		puts("(none)");
		return;
	}
	cells = xcalloc(nrow * ncol, sizeof(*cells));
	for (r = 0; r < nrow; r++)
		for (i = 0; i < ncol; i++) {
			struct strbuf *c = &cells[r * ncol + i];
			const json_t *v = json_object_get(
				json_array_get(rows, r), cols[i].key);

			sbuf_init(c, 0);
			cell_text(v ? v : json_null(), c);
			if (c->len > width[i])
				width[i] = c->len;
		}
	for (i = 0; i < ncol; i++)
		printf("%-*s%s", (int)width[i], cols[i].title,
		       i + 1 < ncol ? "  " : "\n");
	for (r = 0; r < nrow; r++)
		for (i = 0; i < ncol; i++) {
			printf("%-*s%s", (int)width[i], cells[r * ncol + i].buf,
			       i + 1 < ncol ? "  " : "\n");
			sbuf_release(&cells[r * ncol + i]);
		}
	free(cells);
}

#define SHOW_W 20 /* the longest setting path: queue.extended_until */

/* The record as "PATH VALUE" lines: the rows of fields.def by their
 * setting names, then the bookkeeping. */
static void print_domain(const struct domain *d, const struct propagation *p)
{
	char when[32], dest[DEST_TEXT_MAX];
	size_t i, f;

	printf("%-*s %s\n", SHOW_W, "name", d->name.alabel);
	if (strcmp(d->name.alabel, d->name.ulabel) != 0)
		printf("%-*s %s\n", SHOW_W, "unicode_name", d->name.ulabel);
	printf("%-*s %s\n", SHOW_W, "mode", domain_mode_names[d->mode]);
	if (d->temp_pop3) {
		time_format_utc(d->temp_pop3_since, when, sizeof(when));
		printf("%-*s since %s by %s\n", SHOW_W, "temp_pop3", when,
		       d->temp_pop3_by);
	}
	for (i = 0; i < FLD_COUNT; i++) {
		const struct field *fd = &domain_fields[i];
		struct strbuf v = STRBUF_INIT;

		if (fd->id == FLD_DEST_HOST && d->has_dest) {
			dest_format(&d->dest, dest, sizeof(dest));
			printf("%-*s %s\n", SHOW_W, "destination", dest);
		} else if (fd->id == FLD_FALLBACKS) {
			for (f = 0; f < d->nfallbacks; f++) {
				dest_format(&d->fallbacks[f], dest,
					    sizeof(dest));
				printf("%-*s %s\n", SHOW_W,
				       f ? "" : "fallbacks", dest);
			}
		} else if (fd->type != FT_CUSTOM) {
			domain_field_text(d, fd, FIELD_TEXT_INPUT, &v);
			/* quoted: a subject text may end in a space */
			printf(fd->type == FT_TEXT ? "%-*s \"%s\"\n"
						   : "%-*s %s\n",
			       SHOW_W, fd->path, v.buf);
		}
		sbuf_release(&v);
	}
	time_format_utc(d->updated_at, when, sizeof(when));
	printf("%-*s %lld (%s by %s%s%s)\n", SHOW_W, "version",
	       (long long)d->version, when, d->updated_by,
	       d->ticket[0] ? ", ticket " : "", d->ticket);
	if (p == NULL || p->relays_total == 0)
		printf("%-*s no relays registered\n", SHOW_W, "propagation");
	else
		printf("%-*s %ld of %ld relays applied change %lld%s\n", SHOW_W,
		       "propagation", p->relays_applied, p->relays_total,
		       (long long)p->sequence,
		       p->relays_applied == p->relays_total ? ""
							    : " (pending)");
}

static void print_domain_json(const struct domain *d,
			      const struct propagation *p)
{
	json_t *j = domain_to_json(d, p);

	print_json(j);
	json_decref(j);
}

/* ---- verbs ----------------------------------------------------------- */

static int cmd_list(struct cli *cli, int argc, char **argv)
{
	struct domain_filter f = { -1, NULL, NULL, 1000 };
	const char *mode = NULL;
	json_t *rows = json_array();
	char after[DOMAIN_NAME_MAX + 1] = "";
	int i, r, rc = 0;

	for (i = 1; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--mode", &mode)) != 0 ||
		    (r = opt_value(argc, argv, &i, "--match", &f.match)) != 0) {
			if (r < 0)
				return usage_error(cli, "list",
						   "%s needs a value", argv[i]);
			continue;
		}
		return usage_error(cli, "list", "unexpected argument '%s'",
				   argv[i]);
	}
	if (mode != NULL &&
	    (f.mode = parse_enum(mode, domain_mode_names)) < 0) {
		error_set(&cli->err, ERR_INVALID, "mode",
			  "mode must be pop3, feed or backup");
		return fail(cli);
	}
	if (f.match != NULL && !utf8_printable(f.match, strlen(f.match))) {
		error_set(&cli->err, ERR_INVALID, "match",
			  "--match must be printable UTF-8");
		return fail(cli);
	}
	for (;;) {
		struct domain_list l = { 0 };
		size_t k;

		f.after = after[0] ? after : NULL;
		if (store_domain_list(cli->store, &f, &l, &cli->err) < 0) {
			rc = fail(cli);
			break;
		}
		for (k = 0; k < l.n; k++)
			json_array_append_new(
				rows, domain_to_json(&l.v[k], &l.prop[k]));
		if (l.n > 0 && strlcpy_checked(after, l.v[l.n - 1].name.alabel,
					       sizeof(after)) < 0)
			l.n = 0;
		k = l.n;
		domain_list_release(&l);
		if (k < (size_t)f.limit)
			break;
	}
	if (rc == 0 && cli->json) {
		print_json(rows);
	} else if (rc == 0) {
		static const struct column cols[] = {
			{ "name", "DOMAIN" },	   { "mode", "MODE" },
			{ "dest", "DESTINATION" }, { "greylisting", "GREY" },
			{ "spam", "SPAM" },	   { "queue", "QUEUE" },
			{ "version", "VERSION" },  { NULL, NULL },
		};
		json_t *view = json_array(), *row;
		size_t k;

		json_array_foreach(rows, k, row)
		{
			json_t *d = json_object_get(row, "destination");
			json_t *q = json_object_get(row, "queue");
			json_t *v = json_object();
			struct strbuf s = STRBUF_INIT;

			json_object_set(v, "name",
					json_object_get(row, "name"));
			if (json_is_object(json_object_get(row, "temp_pop3")))
				sbuf_addf(&s, "%s+temp-pop3",
					  json_string_value(json_object_get(
						  row, "mode")));
			else
				sbuf_addstr(&s,
					    json_string_value(json_object_get(
						    row, "mode")));
			json_object_set_new(v, "mode", json_string(s.buf));
			sbuf_reset(&s);
			if (json_is_object(d))
				sbuf_addf(&s, "%s:%lld",
					  json_string_value(
						  json_object_get(d, "host")),
					  (long long)json_integer_value(
						  json_object_get(d, "port")));
			else
				sbuf_addstr(&s, "-");
			json_object_set_new(v, "dest", json_string(s.buf));
			json_object_set(v, "greylisting",
					json_object_get(row, "greylisting"));
			json_object_set(
				v, "spam",
				json_object_get(json_object_get(row, "spam"),
						"enabled"));
			sbuf_reset(&s);
			sbuf_addf(&s, "%lldd%s",
				  (long long)json_integer_value(
					  json_object_get(q, "days")),
				  json_is_string(
					  json_object_get(q, "extended_until"))
					  ? "+ext"
					  : "");
			json_object_set_new(v, "queue", json_string(s.buf));
			json_object_set(v, "version",
					json_object_get(row, "version"));
			json_array_append_new(view, v);
			sbuf_release(&s);
		}
		print_table(view, cols);
		json_decref(view);
	}
	json_decref(rows);
	return rc;
}

/* The domain's jobs still to run, each with its last error: what a
 * switch is waiting for, and why. */
static void print_open_jobs(struct cli *cli, const struct domain_name *dn)
{
	json_t *jobs = store_job_list(cli->ox.store, dn, &cli->err), *j;
	size_t i;
	bool first = true;

	if (jobs == NULL) {
		fprintf(stderr, "feedctl: %s: jobs: %s\n", dn->alabel,
			error_msg(&cli->err));
		error_clear(&cli->err);
		return;
	}
	json_array_foreach(jobs, i, j)
	{
		const char *st = json_string_value(json_object_get(j, "state"));
		const char *e =
			json_string_value(json_object_get(j, "last_error"));
		const char *who = json_string_value(json_object_get(
			json_object_get(j, "payload"), "address"));

		if (st == NULL || strcmp(st, "done") == 0)
			continue;
		printf("%-14s #%lld %s%s%s, %s after %s%s%s\n",
		       first ? "jobs" : "",
		       (long long)json_integer_value(json_object_get(j, "id")),
		       json_string_value(json_object_get(j, "kind")),
		       who ? " of " : "", who ? who : "", st,
		       json_string_value(json_object_get(j, "run_after")),
		       e ? ": " : "", e ? e : "");
		first = false;
	}
	json_decref(jobs);
}

static int cmd_show(struct cli *cli, int argc, char **argv)
{
	struct propagation p;
	struct domain d;

	if (argc != 2)
		return usage_error(cli, "show", "show takes one DOMAIN");
	cli->subject = argv[1];
	if (ops_domain_get(&cli->ox, argv[1], &d, &p, &cli->err) < 0)
		return fail(cli);
	if (cli->json) {
		print_domain_json(&d, &p);
		return 0;
	}
	print_domain(&d, &p);
	print_open_jobs(cli, &d.name);
	return 0;
}

static int cmd_add(struct cli *cli, int argc, char **argv)
{
	const char *mode = NULL, *dest = NULL;
	char *settings[ARGS_MAX];
	size_t nset = 0;
	struct domain d;
	int i, r;

	if (argc < 2 || argv[1][0] == '-')
		return usage_error(cli, "add", "add needs a DOMAIN");
	cli->subject = argv[1];
	for (i = 2; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--mode", &mode)) != 0 ||
		    (r = opt_value(argc, argv, &i, "--dest", &dest)) != 0) {
			if (r < 0)
				return usage_error(cli, "add",
						   "%s needs a value", argv[i]);
			continue;
		}
		if (strcmp(argv[i], "--force") == 0) {
			cli->ox.force = true;
			continue;
		}
		if (argv[i][0] == '-')
			return usage_error(cli, "add", "unknown option '%s'",
					   argv[i]);
		if (nset >= ARGS_MAX)
			return usage_error(cli, "add", "too many settings");
		settings[nset++] = argv[i];
	}
	if (ops_domain_add(&cli->ox, argv[1], mode, dest, settings, nset, &d,
			   &cli->err) < 0)
		return fail(cli);
	if (cli->json)
		print_domain_json(&d, NULL);
	else
		printf("%s: added (%s, version %lld)\n", d.name.alabel,
		       domain_mode_names[d.mode], (long long)d.version);
	return 0;
}

static int cmd_set(struct cli *cli, int argc, char **argv)
{
	int64_t if_version = OPS_NO_VERSION;
	char *settings[ARGS_MAX];
	size_t nset = 0;
	bool changed = false;
	struct domain d;
	int i, r, rc = 0;

	if (argc < 2 || argv[1][0] == '-')
		return usage_error(cli, "set", "set needs a DOMAIN");
	cli->subject = argv[1];
	for (i = 2; i < argc; i++) {
		if ((r = opt_if_version(cli, argc, argv, &i, "set", &if_version,
					&rc)) != 0) {
			if (r < 0)
				return rc;
			continue;
		}
		if (strcmp(argv[i], "--force") == 0) {
			cli->ox.force = true;
			continue;
		}
		if (argv[i][0] == '-')
			return usage_error(cli, "set", "unknown option '%s'",
					   argv[i]);
		if (nset >= ARGS_MAX)
			return usage_error(cli, "set", "too many settings");
		settings[nset++] = argv[i];
	}
	if (ops_domain_set(&cli->ox, argv[1], settings, nset, if_version, &d,
			   &changed, &cli->err) < 0)
		return fail(cli);
	if (cli->json)
		print_domain_json(&d, NULL);
	else if (changed)
		printf("%s: updated (version %lld)\n", d.name.alabel,
		       (long long)d.version);
	else
		printf("%s: unchanged (version %lld)\n", d.name.alabel,
		       (long long)d.version);
	return 0;
}

/* A switching verb's --dry-run: what ops would do (ops_switch_plan). */
static int dry_run(struct cli *cli, const char *name, const struct sp_req *req)
{
	json_t *p = ops_switch_plan(&cli->ox, name, req, &cli->err), *v;
	const json_t *mb;
	size_t i;

	if (p == NULL)
		return fail(cli);
	if (cli->json) {
		print_json(p);
		json_decref(p);
		return 0;
	}
	mb = json_object_get(p, "mailboxes");
	printf("%s: %s (version %lld): %s -> %s%s\n", name,
	       json_string_value(json_object_get(p, "verb")),
	       (long long)json_integer_value(json_object_get(p, "version")),
	       json_string_value(json_object_get(p, "from")),
	       json_string_value(json_object_get(p, "to")),
	       json_is_true(json_object_get(p, "temp_pop3"))
		       ? " (temporary POP3)"
		       : "");
	printf("  probe: %s\n", json_string_value(json_object_get(p, "probe")));
	printf("  mailboxes: %s",
	       json_string_value(json_object_get(mb, "fate")));
	json_array_foreach(json_object_get(mb, "affected"), i, v)
		printf("%s%s", i == 0 ? ": " : ", ", json_string_value(v));
	printf("\n  queue: %s\n",
	       json_string_value(json_object_get(p, "queue")));
	json_array_foreach(json_object_get(p, "effects"), i, v)
		printf("  - %s\n", json_string_value(v));
	puts("dry run: nothing was changed");
	json_decref(p);
	return 0;
}

static int cmd_remove(struct cli *cli, int argc, char **argv)
{
	const char *confirm = NULL;
	bool bounce = false, dry = false;
	int64_t if_version = OPS_NO_VERSION;
	int i, r, rc = 0;

	if (argc < 2 || argv[1][0] == '-')
		return usage_error(cli, "remove", "remove needs a DOMAIN");
	cli->subject = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--bounce-queue") == 0) {
			bounce = true;
			continue;
		}
		if (strcmp(argv[i], "--dry-run") == 0) {
			dry = true;
			continue;
		}
		if ((r = opt_if_version(cli, argc, argv, &i, "remove",
					&if_version, &rc)) != 0) {
			if (r < 0)
				return rc;
			continue;
		}
		if ((r = opt_value(argc, argv, &i, "--confirm", &confirm)) !=
		    0) {
			if (r < 0)
				return usage_error(cli, "remove",
						   "--confirm needs DOMAIN");
			continue;
		}
		return usage_error(cli, "remove", "unexpected argument '%s'",
				   argv[i]);
	}
	if (dry)
		return dry_run(cli, argv[1],
			       &(struct sp_req){ .verb = SP_REMOVE,
						 .confirm = confirm,
						 .bounce_queue = bounce });
	if (ops_domain_remove(&cli->ox, argv[1], if_version, confirm, bounce,
			      &cli->err) < 0)
		return fail(cli);
	if (cli->json) {
		json_t *o =
			json_pack("{s:s, s:b}", "name", argv[1], "removed", 1);

		print_json(o);
		json_decref(o);
	} else
		printf("%s: removed (history kept)\n", argv[1]);
	return 0;
}

static int cmd_history(struct cli *cli, int argc, char **argv)
{
	static const struct column cols[] = {
		{ "at", "TIME" },	  { "action", "ACTION" },
		{ "actor", "ACTOR" },	  { "ticket", "TICKET" },
		{ "changes", "CHANGES" }, { NULL, NULL },
	};
	json_t *rows, *row;
	size_t k;

	if (argc != 2)
		return usage_error(cli, "history", "history takes one DOMAIN");
	cli->subject = argv[1];
	rows = ops_history(&cli->ox, argv[1], 1000, &cli->err);
	if (rows == NULL)
		return fail(cli);
	if (cli->json) {
		print_json(rows);
		json_decref(rows);
		return 0;
	}
	/* summarise each entry as the fields it changed */
	json_array_foreach(rows, k, row)
	{
		const json_t *o = json_object_get(row, "old");
		const json_t *n = json_object_get(row, "new");
		struct strbuf s = STRBUF_INIT;

		if (json_is_object(o) && json_is_object(n)) {
			const char *key;
			json_t *v;

			json_object_foreach((json_t *)n, key, v)
			{
				if (strcmp(key, "version") == 0 ||
				    strncmp(key, "updated_", 8) == 0 ||
				    strcmp(key, "ticket") == 0)
					continue;
				if (!json_equal(v, json_object_get(o, key)))
					sbuf_addf(&s, "%s%s", s.len ? "," : "",
						  key);
			}
		}
		json_object_set_new(row, "changes",
				    s.len ? json_string(s.buf) : json_null());
		sbuf_release(&s);
	}
	print_table(rows, cols);
	json_decref(rows);
	return 0;
}

static int read_all(FILE *fp, struct strbuf *sb)
{
	char buf[65536];
	size_t n;

	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
		sbuf_add(sb, buf, n);
		if (sbuf_overflowed(sb))
			return -1;
	}
	return ferror(fp) ? -1 : 0;
}

static int cmd_apply(struct cli *cli, int argc, char **argv)
{
	const char *file = NULL;
	bool dry_run = false;
	struct strbuf body;
	json_t *doc, *report = NULL, *res, *r;
	FILE *fp;
	size_t k;
	int i, rv, rc = 0;

	for (i = 1; i < argc; i++) {
		if ((rv = opt_value(argc, argv, &i, "-f", &file)) != 0 ||
		    (rv = opt_value(argc, argv, &i, "--file", &file)) != 0) {
			if (rv < 0)
				return usage_error(cli, "apply",
						   "-f needs FILE or -");
			continue;
		}
		if (strcmp(argv[i], "--dry-run") == 0) {
			dry_run = true;
			continue;
		}
		if (strcmp(argv[i], "--force") == 0) {
			cli->ox.force = true;
			continue;
		}
		return usage_error(cli, "apply", "unexpected argument '%s'",
				   argv[i]);
	}
	if (file == NULL)
		return usage_error(cli, "apply", "apply needs -f FILE or -f -");
	cli->subject = file;
	fp = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	if (fp == NULL) {
		error_set(&cli->err, ERR_INVALID, NULL, "cannot open: %s",
			  strerror(errno));
		return fail(cli);
	}
	sbuf_init(&body, APPLY_DOC_MAX);
	rv = read_all(fp, &body);
	if (fp != stdin)
		fclose(fp);
	if (rv < 0) {
		sbuf_release(&body);
		error_set(&cli->err, ERR_INVALID, NULL,
			  "cannot read the document, or it is larger than "
			  "%d bytes",
			  APPLY_DOC_MAX);
		return fail(cli);
	}
	doc = json_load_strict(body.buf, body.len, APPLY_DOC_MAX, &cli->err);
	sbuf_release(&body);
	if (doc == NULL)
		return fail(cli);
	if (ops_apply(&cli->ox, doc, dry_run, &report, &cli->err) < 0) {
		json_decref(doc);
		return fail(cli);
	}
	json_decref(doc);
	if (cli->json) {
		print_json(report);
		json_decref(report);
		return 0;
	}
	res = json_object_get(report, "results");
	json_array_foreach(res, k, r)
	{
		const char *name =
			json_string_value(json_object_get(r, "name"));
		const char *act =
			json_string_value(json_object_get(r, "action"));
		long long ver =
			json_integer_value(json_object_get(r, "version"));
		json_t *c, *ch = json_object_get(r, "changes");
		size_t m;

		if (strcmp(act, "none") == 0)
			printf("%s: unchanged (version %lld)\n", name, ver);
		else if (strcmp(act, "create") == 0)
			printf("%s: %s\n", name,
			       dry_run ? "would be created" : "created");
		else
			printf("%s: %s (version %lld)\n", name,
			       dry_run ? "would be updated" : "updated", ver);
		json_array_foreach(ch, m, c)
		{
			struct strbuf o = STRBUF_INIT, n = STRBUF_INIT;

			cell_text(json_object_get(c, "old"), &o);
			cell_text(json_object_get(c, "new"), &n);
			printf("  %s: %s -> %s\n",
			       json_string_value(json_object_get(c, "field")),
			       o.buf, n.buf);
			sbuf_release(&o);
			sbuf_release(&n);
		}
	}
	if (dry_run)
		puts("dry run: nothing was changed");
	json_decref(report);
	return rc;
}

static int print_passwords(struct cli *cli, json_t *list)
{
	static const struct column cols[] = {
		{ "address", "ADDRESS" },
		{ "password", "PASSWORD (shown only now)" },
		{ NULL, NULL },
	};
	json_t *out;

	if (list == NULL)
		return 0;
	if (cli->json) {
		out = json_pack("{s:O}", "mailboxes", list);
		print_json(out);
		json_decref(out);
	} else {
		print_table(list, cols);
	}
	return 0;
}

static int cmd_mailbox(struct cli *cli, int argc, char **argv)
{
	static const struct column cols[] = {
		{ "address", "ADDRESS" },
		{ "temporary", "TEMPORARY" },
		{ "catch_all", "CATCH-ALL" },
		{ "created_at", "CREATED" },
		{ NULL, NULL },
	};
	json_t *list = NULL;
	int rc;

	if (argc < 3)
		return usage_error(cli, "mailbox",
				   "mailbox needs a sub-command "
				   "and a DOMAIN");
	cli->subject = argv[2];
	if (strcmp(argv[1], "list") == 0) {
		struct domain d;

		if (argc != 3)
			return usage_error(cli, "mailbox",
					   "mailbox list takes one DOMAIN");
		if (ops_domain_get(&cli->ox, argv[2], &d, NULL, &cli->err) <
			    0 ||
		    (list = ops_mailboxes_json(&cli->ox, &d, &cli->err)) ==
			    NULL)
			return fail(cli);
		if (cli->json) {
			json_t *o = json_pack("{s:O}", "mailboxes", list);

			print_json(o);
			json_decref(o);
		} else {
			print_table(list, cols);
		}
		json_decref(list);
		return 0;
	}
	if (strcmp(argv[1], "add") == 0) {
		char *locals[ARGS_MAX];
		size_t n = 0;
		bool catch_all = false;
		int i;

		for (i = 3; i < argc; i++) {
			if (strcmp(argv[i], "--catch-all") == 0) {
				catch_all = true;
				continue;
			}
			if (argv[i][0] == '-')
				return usage_error(cli, "mailbox",
						   "unknown option '%s'",
						   argv[i]);
			if (n >= ARGS_MAX)
				return usage_error(cli, "mailbox",
						   "too many mailboxes");
			locals[n++] = argv[i];
		}
		rc = ops_mailbox_add(&cli->ox, argv[2], locals, n, catch_all,
				     &list, &cli->err);
		print_passwords(cli, list);
		json_decref(list);
		return rc < 0 ? fail(cli) : 0;
	}
	if (argc != 4)
		return usage_error(cli, "mailbox",
				   "mailbox %s takes DOMAIN LOCAL", argv[1]);
	if (strcmp(argv[1], "passwd") == 0) {
		if (ops_mailbox_passwd(&cli->ox, argv[2], argv[3], &list,
				       &cli->err) < 0)
			return fail(cli);
		print_passwords(cli, list);
		json_decref(list);
		return 0;
	}
	if (strcmp(argv[1], "remove") == 0) {
		if (ops_mailbox_remove(&cli->ox, argv[2], argv[3], &cli->err) <
		    0)
			return fail(cli);
		printf("%s@%s: removed; its maildir is archived by the "
		       "mailbox host's worker\n",
		       argv[3], argv[2]);
		return 0;
	}
	return usage_error(cli, "mailbox", "unknown sub-command '%s'", argv[1]);
}

static int cmd_rule(struct cli *cli, int argc, char **argv)
{
	static const struct column cols[] = {
		{ "action", "ACTION" },
		{ "kind", "KIND" },
		{ "value", "VALUE" },
		{ "refused", "REFUSED (relays skip it)" },
		{ NULL, NULL },
	};
	bool add;

	if (argc < 3)
		return usage_error(cli, "rule",
				   "rule needs a sub-command and a DOMAIN");
	cli->subject = argv[2];
	if (strcmp(argv[1], "list") == 0) {
		struct domain d;
		json_t *list;

		if (argc != 3)
			return usage_error(cli, "rule",
					   "rule list takes one DOMAIN");
		if (ops_domain_get(&cli->ox, argv[2], &d, NULL, &cli->err) <
			    0 ||
		    (list = ops_rules_json(&cli->ox, &d, &cli->err)) == NULL)
			return fail(cli);
		if (cli->json)
			print_json(list);
		else
			print_table(list, cols);
		json_decref(list);
		return 0;
	}
	if (strcmp(argv[1], "add") == 0)
		add = true;
	else if (strcmp(argv[1], "remove") == 0)
		add = false;
	else
		return usage_error(cli, "rule", "unknown sub-command '%s'",
				   argv[1]);
	if (argc != 6)
		return usage_error(cli, "rule",
				   "rule %s takes DOMAIN allow|block "
				   "sender-regex RE|client CIDR",
				   argv[1]);
	if (ops_rule(&cli->ox, argv[2], add, argv[3], argv[4], argv[5],
		     &cli->err) < 0)
		return fail(cli);
	printf("%s: rule %s\n", argv[2], add ? "added" : "removed");
	return 0;
}

static int cmd_token(struct cli *cli, int argc, char **argv)
{
	static const struct column cols[] = {
		{ "name", "NAME" },
		{ "role", "ROLE" },
		{ "domains", "DOMAINS" },
		{ "expires_at", "EXPIRES" },
		{ "last_used_at", "LAST USED" },
		{ "created_by", "BY" },
		{ NULL, NULL },
	};
	char *domains[ARGS_MAX];
	const char *role = NULL, *dom = NULL, *exp = NULL;
	char text[TOKEN_TEXT_MAX + 1];
	size_t nd = 0;
	long days = 0;
	json_t *list;
	int i, r;

	if (argc < 2)
		return usage_error(cli, "token", "token needs a sub-command");
	if (strcmp(argv[1], "list") == 0) {
		if (argc != 2)
			return usage_error(cli, "token",
					   "token list takes no arguments");
		if ((list = store_token_list(cli->store, &cli->err)) == NULL)
			return fail(cli);
		if (cli->json)
			print_json(list);
		else
			print_table(list, cols);
		json_decref(list);
		return 0;
	}
	if (argc < 3)
		return usage_error(cli, "token", "token %s needs a NAME",
				   argv[1]);
	cli->subject = argv[2];
	if (strcmp(argv[1], "revoke") == 0) {
		if (argc != 3)
			return usage_error(cli, "token",
					   "token revoke takes one NAME");
		if (store_token_revoke(cli->store, argv[2], &cli->ox.change,
				       &cli->err) < 0)
			return fail(cli);
		printf("%s: revoked\n", argv[2]);
		return 0;
	}
	if (strcmp(argv[1], "create") != 0)
		return usage_error(cli, "token", "unknown sub-command '%s'",
				   argv[1]);
	for (i = 3; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--role", &role)) != 0 ||
		    (r = opt_value(argc, argv, &i, "--expires-days", &exp)) !=
			    0) {
			if (r < 0)
				return usage_error(cli, "token",
						   "%s needs a value", argv[i]);
			continue;
		}
		if ((r = opt_value(argc, argv, &i, "--domain", &dom)) != 0) {
			if (r < 0 || nd >= ARGS_MAX)
				return usage_error(cli, "token",
						   "--domain needs DOMAIN");
			domains[nd++] = (char *)dom;
			continue;
		}
		return usage_error(cli, "token", "unexpected argument '%s'",
				   argv[i]);
	}
	if (role == NULL)
		return usage_error(cli, "token",
				   "--role read|operator|admin is required");
	if (exp != NULL &&
	    parse_long(exp, 1, 3650, &days, "--expires-days", &cli->err) < 0)
		return fail(cli);
	if (ops_token_create(&cli->ox, argv[2], role, domains, nd, days, text,
			     &cli->err) < 0)
		return fail(cli);
	if (cli->json) {
		json_t *o =
			json_pack("{s:s, s:s}", "name", argv[2], "token", text);

		print_json(o);
		json_decref(o);
	} else {
		printf("token for %s (shown only now, store it safely):\n%s\n",
		       argv[2], text);
	}
	OPENSSL_cleanse(text, sizeof(text));
	return 0;
}

static int cmd_staff(struct cli *cli, int argc, char **argv)
{
	static const struct column cols[] = {
		{ "login", "LOGIN" },	  { "role", "ROLE" },
		{ "domains", "DOMAINS" }, { "updated_at", "CHANGED" },
		{ "created_by", "BY" },	  { NULL, NULL },
	};
	char *domains[ARGS_MAX];
	const char *role = NULL, *dom = NULL, *verb;
	bool all = false, add, set;
	size_t nd = 0;
	json_t *list;
	int i, r;

	if (argc < 2)
		return usage_error(cli, "staff", "staff needs a sub-command");
	verb = argv[1];
	if (strcmp(verb, "list") == 0) {
		if (argc != 2)
			return usage_error(cli, "staff",
					   "staff list takes no arguments");
		if ((list = store_staff_list(cli->store, &cli->err)) == NULL)
			return fail(cli);
		if (cli->json)
			print_json(list);
		else
			print_table(list, cols);
		json_decref(list);
		return 0;
	}
	add = strcmp(verb, "add") == 0;
	set = strcmp(verb, "set") == 0;
	if (!add && !set && strcmp(verb, "remove") != 0)
		return usage_error(cli, "staff", "unknown sub-command '%s'",
				   verb);
	if (argc < 3)
		return usage_error(cli, "staff", "staff %s needs a LOGIN",
				   verb);
	cli->subject = argv[2];
	if (!add && !set) {
		if (argc != 3)
			return usage_error(cli, "staff",
					   "staff remove takes one LOGIN");
		if (ops_staff_remove(&cli->ox, argv[2], &cli->err) < 0)
			return fail(cli);
		printf("%s: removed\n", argv[2]);
		return 0;
	}
	for (i = 3; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--role", &role)) != 0) {
			if (r < 0)
				return usage_error(cli, "staff",
						   "--role needs a value");
			continue;
		}
		if ((r = opt_value(argc, argv, &i, "--domain", &dom)) != 0) {
			if (r < 0 || nd >= ARGS_MAX)
				return usage_error(cli, "staff",
						   "--domain needs DOMAIN");
			domains[nd++] = (char *)dom;
			continue;
		}
		if (set && strcmp(argv[i], "--all-domains") == 0) {
			all = true;
			continue;
		}
		return usage_error(cli, "staff", "unexpected argument '%s'",
				   argv[i]);
	}
	if (all && nd > 0)
		return usage_error(cli, "staff",
				   "--all-domains and --domain exclude each "
				   "other");
	if (add) {
		if (role == NULL)
			return usage_error(cli, "staff",
					   "--role read|operator|admin is "
					   "required");
		if (ops_staff_add(&cli->ox, argv[2], role, domains, nd,
				  &cli->err) < 0)
			return fail(cli);
		printf("%s: added\n", argv[2]);
		return 0;
	}
	if (role == NULL && nd == 0 && !all)
		return usage_error(cli, "staff",
				   "staff set needs --role, --domain or "
				   "--all-domains");
	if (ops_staff_set(&cli->ox, argv[2], role, domains, nd, all || nd > 0,
			  &cli->err) < 0)
		return fail(cli);
	printf("%s: changed\n", argv[2]);
	return 0;
}

static int cmd_relays(struct cli *cli, int argc, char **argv)
{
	static const struct column cols[] = {
		{ "name", "RELAY" },
		{ "role", "ROLE" },
		{ "state", "STATE" },
		{ "addresses", "SENDS FROM" },
		{ "applied_seq", "APPLIED" },
		{ "lag", "BEHIND" },
		{ "heartbeat", "HEARTBEAT" },
		{ "queue_total", "QUEUED" },
		{ "last_error", "LAST ERROR" },
		{ NULL, NULL },
	};
	json_t *list;

	(void)argv;
	if (argc != 1)
		return usage_error(cli, "relays", "relays takes no arguments");
	if ((list = store_relay_list(cli->store, &cli->err)) == NULL)
		return fail(cli);
	if (cli->json)
		print_json(list);
	else if (json_array_size(list) == 0)
		puts("no relays registered (mta-glue sync registers them)");
	else
		print_table(list, cols);
	json_decref(list);
	return 0;
}

static int cmd_relay(struct cli *cli, int argc, char **argv)
{
	bool force = false, retire;
	int i;

	if (argc < 3 || (strcmp(argv[1], "retire") != 0 &&
			 strcmp(argv[1], "activate") != 0))
		return usage_error(cli, "relay",
				   "relay takes retire NAME or activate NAME");
	retire = strcmp(argv[1], "retire") == 0;
	for (i = 3; i < argc; i++) {
		if (retire && strcmp(argv[i], "--force") == 0) {
			force = true;
			continue;
		}
		return usage_error(cli, "relay", "unexpected argument '%s'",
				   argv[i]);
	}
	if (ops_relay_retire(&cli->ox, argv[2], retire, force, &cli->err) < 0)
		return fail(cli);
	if (cli->json) {
		json_t *o = json_pack("{s:s, s:s}", "name", argv[2], "role",
				      retire ? "retired" : "relay");

		print_json(o);
		json_decref(o);
	} else if (retire) {
		printf("%s: retired: no change, queue view, command or job "
		       "waits for it any more\n",
		       argv[2]);
	} else {
		printf("%s: active again\n", argv[2]);
	}
	return 0;
}

static int cmd_quarantine(struct cli *cli, int argc, char **argv)
{
	static const struct column cols[] = {
		{ "relay", "RELAY" },
		{ "queue_id", "ID" },
		{ "arrival", "ARRIVED" },
		{ "sender", "SENDER" },
		{ "recipients", "RECIPIENTS" },
		{ "expires", "DELETED AFTER" },
		{ NULL, NULL },
	};
	struct domain_name dn;
	bool list, release;
	json_t *o;

	if (argc < 3)
		return usage_error(cli, "quarantine",
				   "quarantine takes list DOMAIN, release "
				   "DOMAIN ID or delete DOMAIN ID");
	list = strcmp(argv[1], "list") == 0;
	release = strcmp(argv[1], "release") == 0;
	if (!list && !release && strcmp(argv[1], "delete") != 0)
		return usage_error(cli, "quarantine",
				   "unknown sub-command '%s'", argv[1]);
	if (argc != (list ? 3 : 4))
		return usage_error(cli, "quarantine",
				   list ? "quarantine list takes one DOMAIN"
					: "quarantine %s takes DOMAIN ID",
				   argv[1]);
	cli->subject = argv[2];
	if (ops_name(&cli->conf, argv[2], &dn, &cli->err) < 0)
		return fail(cli);
	o = list ? ops_quarantine_list(&cli->ox, &dn, &cli->err)
		 : ops_quarantine(&cli->ox, &dn, argv[3], release, &cli->err);
	if (o == NULL)
		return fail(cli);
	if (cli->json)
		print_json(o);
	else if (!list)
		printf("%s: %s %s on relay %s\n", dn.alabel, argv[3],
		       json_string_value(json_object_get(o, "done")),
		       json_string_value(json_object_get(o, "relay")));
	else if (json_array_size(json_object_get(o, "messages")) == 0)
		printf("%s: nothing in quarantine\n", dn.alabel);
	else
		print_table(json_object_get(o, "messages"), cols);
	json_decref(o);
	return 0;
}

static int cmd_trace(struct cli *cli, int argc, char **argv)
{
	static const struct column cols[] = {
		{ "time", "TIME" },
		{ "sender", "SENDER" },
		{ "recipient", "RECIPIENT" },
		{ "verdict", "VERDICT" },
		{ "summary", "WHAT HAPPENED" },
		{ NULL, NULL },
	};
	struct ops_trace_in in = { 0 };
	json_t *o;
	int i, r;

	if (argc < 2 || argv[1][0] == '-')
		return usage_error(cli, "trace",
				   "trace needs a DOMAIN or an "
				   "ADDRESS");
	cli->subject = argv[1];
	if (strchr(argv[1], '@') != NULL)
		in.address = argv[1];
	else
		in.domain = argv[1];
	for (i = 2; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--since", &in.since)) !=
			    0 ||
		    (r = opt_value(argc, argv, &i, "--message-id",
				   &in.message_id)) != 0) {
			if (r < 0)
				return usage_error(cli, "trace",
						   "%s needs a value", argv[i]);
			continue;
		}
		return usage_error(cli, "trace", "unexpected argument '%s'",
				   argv[i]);
	}
	in.limit = 500;
	if ((o = ops_trace(&cli->ox, &in, &cli->err)) == NULL)
		return fail(cli);
	if (cli->json)
		print_json(o);
	else if (json_array_size(json_object_get(o, "messages")) == 0)
		printf("%s: no message found\n", argv[1]);
	else
		print_table(json_object_get(o, "messages"), cols);
	json_decref(o);
	return 0;
}

static int cmd_jobs(struct cli *cli, int argc, char **argv)
{
	static const struct column cols[] = {
		{ "id", "ID" },
		{ "kind", "KIND" },
		{ "domain", "DOMAIN" },
		{ "state", "STATE" },
		{ "attempts", "TRIES" },
		{ "run_after", "RUN AFTER" },
		{ "last_error", "LAST ERROR" },
		{ NULL, NULL },
	};
	struct domain_name dn;
	json_t *list;

	if (argc > 2)
		return usage_error(cli, "jobs", "jobs takes at most a DOMAIN");
	if (argc == 2) {
		cli->subject = argv[1];
		if (ops_name(&cli->conf, argv[1], &dn, &cli->err) < 0)
			return fail(cli);
	}
	list = store_job_list(cli->store, argc == 2 ? &dn : NULL, &cli->err);
	if (list == NULL)
		return fail(cli);
	if (cli->json)
		print_json(list);
	else
		print_table(list, cols);
	json_decref(list);
	return 0;
}

static int cmd_db(struct cli *cli, int argc, char **argv)
{
	int n = 0;

	if (argc != 2)
		return usage_error(cli, "db", "db takes migrate or status");
	if (strcmp(argv[1], "migrate") == 0) {
		if (migrate_run(cli->conf.db_owner_conninfo, stdout, &n,
				&cli->err) < 0)
			return fail(cli);
		printf("%d migration%s applied\n", n, n == 1 ? "" : "s");
		return 0;
	}
	if (strcmp(argv[1], "status") == 0) {
		if (migrate_status(cli->conf.db_owner_conninfo, stdout, &n,
				   &cli->err) < 0)
			return fail(cli);
		return 0;
	}
	return usage_error(cli, "db", "unknown sub-command '%s'", argv[1]);
}

/* Verbs whose work needs the mail stack: refused plainly until built. */
static int cmd_extend(struct cli *cli, int argc, char **argv)
{
	const char *days = NULL, *until = NULL;
	int64_t if_version = OPS_NO_VERSION;
	struct domain d;
	long n = 0;
	int i, r, rc = 0;
	char when[32];

	if (argc < 2 || argv[1][0] == '-')
		return usage_error(cli, "extend", "extend needs a DOMAIN");
	cli->subject = argv[1];
	for (i = 2; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--days", &days)) != 0 ||
		    (r = opt_value(argc, argv, &i, "--until", &until)) != 0) {
			if (r < 0)
				return usage_error(cli, "extend",
						   "%s needs a value", argv[i]);
			continue;
		}
		if ((r = opt_if_version(cli, argc, argv, &i, "extend",
					&if_version, &rc)) != 0) {
			if (r < 0)
				return rc;
			continue;
		}
		return usage_error(cli, "extend", "unexpected argument '%s'",
				   argv[i]);
	}
	if (days != NULL &&
	    parse_long(days, 1, QUEUE_DAYS_MAX, &n, "days", &cli->err) < 0)
		return fail(cli);
	if (ops_extend(&cli->ox, argv[1], if_version, n, until,
		       (int64_t)time(NULL), &d, &cli->err) < 0)
		return fail(cli);
	if (cli->json) {
		print_domain_json(&d, NULL);
	} else {
		time_format_utc(d.queue_extended_until, when, sizeof(when));
		printf("%s: queue extended until %s (version %lld); no message "
		       "of it expires before then\n",
		       d.name.alabel, when, (long long)d.version);
	}
	return 0;
}

/* The relays of a fleet answer that are not in state ok, one a line. */
static void print_relay_states(const json_t *relays, const char *ok)
{
	const json_t *r;
	size_t i;

	json_array_foreach(relays, i, r)
	{
		const char *state =
			json_string_value(json_object_get(r, "state"));
		const json_t *e = json_object_get(r, "error");
		const json_t *t = json_object_get(r, "as_of");

		if (strcmp(state, ok) == 0)
			continue;
		printf("  relay %s: %s%s%s%s%s\n",
		       json_string_value(json_object_get(r, "name")), state,
		       json_is_string(t) ? ", as of " : "",
		       json_is_string(t) ? json_string_value(t) : "",
		       json_is_string(e) ? ": " : "",
		       json_is_string(e) ? json_string_value(e) : "");
	}
}

static int cmd_queue(struct cli *cli, int argc, char **argv)
{
	static const struct column cols[] = {
		{ "relay", "RELAY" },
		{ "queue_id", "QUEUE ID" },
		{ "arrival", "ARRIVED" },
		{ "sender", "SENDER" },
		{ "recipients", "RECIPIENTS" },
		{ "reason", "LAST DELAY REASON" },
		{ NULL, NULL },
	};
	struct domain_name dn;
	json_t *q;

	if (argc != 2)
		return usage_error(cli, "queue", "queue takes one DOMAIN");
	cli->subject = argv[1];
	if (ops_name(&cli->conf, argv[1], &dn, &cli->err) < 0 ||
	    (q = ops_queue(&cli->ox, &dn, &cli->err)) == NULL)
		return fail(cli);
	if (cli->json) {
		print_json(q);
	} else {
		const json_t *o = json_object_get(q, "oldest");

		printf("%s: %lld message(s) queued on %zu relay(s)%s%s\n",
		       dn.alabel,
		       (long long)json_integer_value(
			       json_object_get(q, "count")),
		       json_array_size(json_object_get(q, "relays")),
		       json_is_string(o) ? ", oldest from " : "",
		       json_is_string(o) ? json_string_value(o) : "");
		print_relay_states(json_object_get(q, "relays"), "fresh");
		if (json_array_size(json_object_get(q, "messages")) > 0)
			print_table(json_object_get(q, "messages"), cols);
	}
	json_decref(q);
	return 0;
}

static int cmd_flush(struct cli *cli, int argc, char **argv)
{
	struct domain_name dn;
	json_t *o;

	if (argc != 2)
		return usage_error(cli, "flush", "flush takes one DOMAIN");
	cli->subject = argv[1];
	if (ops_name(&cli->conf, argv[1], &dn, &cli->err) < 0 ||
	    (o = ops_flush(&cli->ox, &dn, &cli->err)) == NULL)
		return fail(cli);
	if (cli->json) {
		print_json(o);
	} else {
		printf("%s: delivery of its queued mail started on %zu "
		       "relay(s)%s\n",
		       dn.alabel, json_array_size(json_object_get(o, "relays")),
		       json_is_true(json_object_get(o, "done"))
			       ? ""
			       : "; not every relay has confirmed yet:");
		print_relay_states(json_object_get(o, "relays"), "done");
	}
	json_decref(o);
	return 0;
}

static int cmd_probe(struct cli *cli, int argc, char **argv)
{
	json_t *r;
	bool ok;

	if (argc != 2)
		return usage_error(cli, "probe",
				   "probe takes DOMAIN or IP[:PORT]");
	cli->subject = argv[1];
	if (ops_probe(&cli->ox, argv[1], &r, &cli->err) < 0)
		return fail(cli);
	ok = json_is_true(json_object_get(r, "ok"));
	if (cli->json) {
		print_json(r);
	} else {
		const char *e = json_string_value(json_object_get(r, "error"));

		printf("%s:%lld %s in %lld ms\n",
		       json_string_value(json_object_get(r, "host")),
		       (long long)json_integer_value(
			       json_object_get(r, "port")),
		       ok ? "ok" : "FAILED",
		       (long long)json_integer_value(json_object_get(r, "ms")));
		printf("  banner:   %s\n  STARTTLS: %s\n",
		       json_string_value(json_object_get(r, "banner")),
		       json_is_true(json_object_get(r, "starttls"))
			       ? "offered"
			       : "not offered");
		if (json_is_object(json_object_get(r, "tls"))) {
			const json_t *t = json_object_get(r, "tls");

			printf("  TLS:      %s %s\n  SHA-256:  %s\n",
			       json_string_value(
				       json_object_get(t, "protocol")),
			       json_string_value(json_object_get(t, "cipher")),
			       json_string_value(
				       json_object_get(t, "fingerprint")));
		} else if (json_is_string(json_object_get(r, "tls_error"))) {
			printf("  TLS:      %s (went on in clear)\n",
			       json_string_value(
				       json_object_get(r, "tls_error")));
		}
		if (json_string_length(json_object_get(r, "rcpt_reply")) > 0)
			printf("  RCPT:     %s\n",
			       json_string_value(
				       json_object_get(r, "rcpt_reply")));
		if (e != NULL)
			printf("  error:    %s\n", e);
	}
	json_decref(r);
	return ok ? 0 : 5;
}

static int cmd_temp_pop3(struct cli *cli, int argc, char **argv)
{
	char *locals[ARGS_MAX];
	size_t n = 0;
	bool from_queue = false, catch_all = false, dry = false;
	int64_t if_version = OPS_NO_VERSION;
	const char *v;
	json_t *created = NULL;
	int i, r, rc = 0;

	if (argc < 2 || argv[1][0] == '-')
		return usage_error(cli, "temp-pop3",
				   "temp-pop3 needs a DOMAIN");
	cli->subject = argv[1];
	for (i = 2; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--mailbox", &v)) != 0) {
			if (r < 0)
				return usage_error(cli, "temp-pop3",
						   "--mailbox needs LOCAL");
			if (n >= ARGS_MAX)
				return usage_error(cli, "temp-pop3",
						   "too many mailboxes");
			locals[n++] = (char *)v;
		} else if ((r = opt_if_version(cli, argc, argv, &i, "temp-pop3",
					       &if_version, &rc)) != 0) {
			if (r < 0)
				return rc;
		} else if (strcmp(argv[i], "--from-queue") == 0) {
			from_queue = true;
		} else if (strcmp(argv[i], "--catch-all") == 0) {
			catch_all = true;
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			dry = true;
		} else {
			return usage_error(cli, "temp-pop3",
					   "unexpected argument '%s'", argv[i]);
		}
	}
	if (dry)
		return dry_run(cli, argv[1],
			       &(struct sp_req){ .verb = SP_TEMP_POP3,
						 .nlocals = n,
						 .from_queue = from_queue,
						 .catch_all = catch_all,
						 .now = (int64_t)time(NULL) });
	if (ops_temp_pop3(&cli->ox, argv[1], if_version, locals, n, from_queue,
			  catch_all, (int64_t)time(NULL), &created,
			  &cli->err) < 0)
		return fail(cli);
	if (!cli->json)
		printf("%s: temporary POP3 is on; the relays deliver its mail "
		       "(queued mail too) into these mailboxes:\n",
		       argv[1]);
	print_passwords(cli, created);
	json_decref(created);
	return 0;
}

static int cmd_switch(struct cli *cli, int argc, char **argv)
{
	char *locals[ARGS_MAX];
	const char *to = NULL, *dest = NULL, *fate = NULL, *confirm = NULL, *v;
	bool force = false, catch_all = false, dry = false;
	int64_t if_version = OPS_NO_VERSION;
	json_t *out = NULL;
	size_t n = 0;
	int i, r, rc = 0;

	if (argc < 2 || argv[1][0] == '-')
		return usage_error(cli, "switch", "switch needs a DOMAIN");
	cli->subject = argv[1];
	for (i = 2; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--to", &v)) != 0) {
			if (r < 0)
				return usage_error(cli, "switch",
						   "--to needs feed, backup or "
						   "pop3");
			to = v;
		} else if ((r = opt_value(argc, argv, &i, "--dest", &v)) != 0) {
			if (r < 0)
				return usage_error(cli, "switch",
						   "--dest needs IP[:PORT]");
			dest = v;
		} else if ((r = opt_value(argc, argv, &i, "--mailboxes", &v)) !=
			   0) {
			if (r < 0)
				return usage_error(cli, "switch",
						   "--mailboxes needs forward, "
						   "archive or purge");
			fate = v;
		} else if ((r = opt_value(argc, argv, &i, "--confirm", &v)) !=
			   0) {
			if (r < 0)
				return usage_error(
					cli, "switch",
					"--confirm needs the DOMAIN");
			confirm = v;
		} else if ((r = opt_value(argc, argv, &i, "--mailbox", &v)) !=
			   0) {
			if (r < 0 || n >= ARGS_MAX)
				return usage_error(cli, "switch",
						   "--mailbox needs LOCAL");
			locals[n++] = (char *)v;
		} else if ((r = opt_if_version(cli, argc, argv, &i, "switch",
					       &if_version, &rc)) != 0) {
			if (r < 0)
				return rc;
		} else if (strcmp(argv[i], "--force") == 0) {
			force = true;
		} else if (strcmp(argv[i], "--catch-all") == 0) {
			catch_all = true;
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			dry = true;
		} else {
			return usage_error(cli, "switch",
					   "unexpected argument '%s'", argv[i]);
		}
	}
	if (to != NULL &&
	    (strcmp(to, "feed") == 0 || strcmp(to, "backup") == 0)) {
		if (n > 0 || catch_all)
			return usage_error(cli, "switch",
					   "--mailbox and --catch-all are for "
					   "--to pop3");
		if (dry)
			return dry_run(cli, argv[1],
				       &(struct sp_req){
					       .verb = to[0] == 'f'
							       ? SP_TO_FEED
							       : SP_TO_BACKUP,
					       .dest = dest,
					       .fate = fate,
					       .force = force,
					       .confirm = confirm });
		if (ops_switch_relay(&cli->ox, argv[1], if_version,
				     to[0] == 'f' ? MODE_FEED : MODE_BACKUP,
				     dest, fate, force, confirm, &out,
				     &cli->err) < 0)
			return fail(cli);
		if (cli->json) {
			print_json(out);
		} else {
			long long jobs = (long long)json_integer_value(
				json_object_get(out, "jobs"));

			printf("%s: now a %s domain%s%s; %lld mailbox%s to "
			       "%s once every relay routes the new way "
			       "('feedctl jobs %s')\n",
			       argv[1], to, dest ? " to " : "",
			       dest ? dest : "", jobs, jobs == 1 ? "" : "es",
			       json_string_value(
				       json_object_get(out, "mailboxes")),
			       argv[1]);
		}
	} else if (to != NULL && strcmp(to, "pop3") == 0) {
		if (dest != NULL || fate != NULL || force)
			return usage_error(cli, "switch",
					   "--dest, --mailboxes and --force "
					   "are for --to feed");
		if (dry)
			return dry_run(
				cli, argv[1],
				&(struct sp_req){ .verb = SP_TO_POP3,
						  .nlocals = n,
						  .catch_all = catch_all });
		if (ops_switch_pop3(&cli->ox, argv[1], if_version, locals, n,
				    catch_all, &out, &cli->err) < 0)
			return fail(cli);
		if (!cli->json)
			printf("%s: now a pop3 domain; the relays deliver its "
			       "mail (queued mail too) into these "
			       "mailboxes:\n",
			       argv[1]);
		print_passwords(cli, out);
	} else {
		return usage_error(cli, "switch",
				   "--to is feed, backup or pop3");
	}
	json_decref(out);
	return 0;
}

static int cmd_revert(struct cli *cli, int argc, char **argv)
{
	long keep = -1;
	int64_t if_version = OPS_NO_VERSION;
	json_t *out = NULL;
	const char *v;
	bool dry = false;
	int i, r, rc = 0;

	if (argc < 2 || argv[1][0] == '-')
		return usage_error(cli, "revert", "revert needs a DOMAIN");
	cli->subject = argv[1];
	for (i = 2; i < argc; i++) {
		if ((r = opt_value(argc, argv, &i, "--keep-days", &v)) != 0) {
			if (r < 0)
				return usage_error(cli, "revert",
						   "--keep-days needs N");
			if (parse_long(v, 1, KEEP_DAYS_MAX, &keep, "keep_days",
				       &cli->err) < 0)
				return fail(cli);
		} else if ((r = opt_if_version(cli, argc, argv, &i, "revert",
					       &if_version, &rc)) != 0) {
			if (r < 0)
				return rc;
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			dry = true;
		} else {
			return usage_error(cli, "revert",
					   "unexpected argument '%s'", argv[i]);
		}
	}
	if (dry)
		return dry_run(cli, argv[1],
			       &(struct sp_req){ .verb = SP_REVERT,
						 .keep_days = keep,
						 .now = (int64_t)time(NULL) });
	if (ops_revert(&cli->ox, argv[1], if_version, keep, (int64_t)time(NULL),
		       &out, &cli->err) < 0)
		return fail(cli);
	if (cli->json) {
		print_json(out);
	} else if (keep > 0) {
		printf("%s: back to its feed; the temporary mailboxes stay "
		       "readable for %ld day%s, then are archived and "
		       "removed\n",
		       argv[1], keep, keep == 1 ? "" : "s");
	} else {
		printf("%s: back to its feed; the mail in its temporary "
		       "mailboxes goes to the destination once every relay "
		       "routes the new way, then they are archived and "
		       "removed ('feedctl jobs %s')\n",
		       argv[1], argv[1]);
	}
	json_decref(out);
	return 0;
}

static int cmd_help(struct cli *cli, int argc, char **argv);

/* clang-format off */
static const struct cmd cmds[] = {
	{ "list", cmd_list, true,
	  "list [--mode pop3|feed|backup] [--match TEXT]",
	  "List domains, optionally by mode or by a text in the name." },
	{ "show", cmd_show, true, "show DOMAIN",
	  "Show a domain's record and whether every relay applied it." },
	{ "add", cmd_add, true,
	  "add DOMAIN --mode MODE [--dest IP[:PORT]] [SETTING=VALUE ...] "
	  "[--force]",
	  "Add a domain.  feed and backup need --dest.  Settings as for set.\n"
	  "The destination (and every fallback) is probed first, as by\n"
	  "'feedctl probe'; one that fails (or, under tls.policy encrypt or\n"
	  "verify, takes no TLS or shows another certificate) is refused\n"
	  "unless --force." },
	{ "set", cmd_set, true,
	  "set DOMAIN SETTING=VALUE ... [--if-version N] [--force]",
	  "Change settings in one step.  A new destination or fallback is\n"
	  "probed first and refused when it fails, unless --force; so is\n"
	  "every one when tls.policy asks for more (encrypt: STARTTLS must\n"
	  "work; verify: the certificate must have tls.fingerprint).\n"
	  "--if-version N refuses (exit 4) if someone changed it since N.\n"
	  "SETTING is a JSON field path:" },
	{ "remove", cmd_remove, true,
	  "remove DOMAIN [--confirm=DOMAIN] [--bounce-queue] [--if-version N]\n"
	  "       [--dry-run]",
	  "Remove a domain that has no mailboxes left and no mail queued on\n"
	  "this relay; its history stays.  --bounce-queue bounces the\n"
	  "queued mail to its senders first.  --if-version N: only if the\n"
	  "domain is still at version N (else exit 4).  --dry-run (here and with\n"
	  "switch, temp-pop3, revert) prints what would happen and changes\n"
	  "nothing; the relays' queues are not asked." },
	{ "history", cmd_history, true, "history DOMAIN",
	  "Every change to a domain: when, who, ticket, what changed." },
	{ "apply", cmd_apply, true, "apply -f FILE|- [--dry-run] [--force]",
	  "Converge domains to a JSON document (one object or an array).\n"
	  "Each item has \"name\" (and \"mode\" when new) plus settings as\n"
	  "in the API.  All or nothing; --dry-run prints the diff only.\n"
	  "New destinations are probed first (not with --dry-run); one\n"
	  "that fails refuses the whole document unless --force." },
	{ "mailbox", cmd_mailbox, true,
	  "mailbox (list|add|remove|passwd) DOMAIN [LOCAL ...] [--catch-all]",
	  "POP3 mailboxes of a pop3 domain.  add and passwd print the new\n"
	  "password once." },
	{ "rule", cmd_rule, true,
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
	  "rule the checks now refuse; relays skip it until it is removed." },
	{ "token", cmd_token, true,
	  "token (create NAME --role read|operator|admin [--domain D ...]\n"
	  "       [--expires-days N] | list | revoke NAME)",
	  "API tokens.  create prints the token once; only its hash is kept." },
	{ "staff", cmd_staff, true,
	  "staff (add LOGIN --role read|operator|admin [--domain D ...]\n"
	  "       | set LOGIN [--role R] [--domain D ... | --all-domains]\n"
	  "       | remove LOGIN | list)",
	  "Portal logins (as nginx authenticates them) and what each may\n"
	  "do: read sees, operator changes settings, switches, extends and\n"
	  "flushes, admin also removes domains.  --domain (repeatable)\n"
	  "limits the login to those exact domains, its domain group;\n"
	  "others are \"not found\" to it.  A login without a row is\n"
	  "refused by the portal: add the first admin here.  Each change\n"
	  "is in the audit log (staff-add, staff-set, staff-remove)." },
	{ "relays", cmd_relays, true, "relays",
	  "Relays and the change each one has applied." },
	{ "relay", cmd_relay, true,
	  "relay retire NAME [--force]\n"
	  "relay activate NAME",
	  "Take a relay out of service for good (retire) or back: a\n"
	  "retired relay is no longer counted in propagation, asked for\n"
	  "its queue, sent commands or waited for by jobs.  Refused while\n"
	  "its last published queue held mail, unless --force." },
	{ "jobs", cmd_jobs, true, "jobs [DOMAIN]",
	  "Queued and finished mailbox and queue jobs, with their errors." },
	{ "db", cmd_db, false, "db (migrate | status)",
	  "Apply the schema migrations (as the owner role) or list them." },
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
	  "changes." },
	{ "temp-pop3", cmd_temp_pop3, true,
	  "temp-pop3 DOMAIN [--mailbox LOCAL ...] [--from-queue] [--catch-all]\n"
	  "       [--if-version N] [--dry-run]",
	  "While a feed or backup domain's server is out: temporary POP3\n"
	  "mailboxes (listed, the recipients in the relays' queues, and/or\n"
	  "a catch-all) whose passwords are shown once; the relays deliver\n"
	  "the domain's mail, queued mail too, into them." },
	{ "revert", cmd_revert, true, "revert DOMAIN [--keep-days N] [--if-version N] [--dry-run]",
	  "End temporary POP3: the domain's mail goes to its feed again.\n"
	  "The mail left in the temporary mailboxes is re-injected to the\n"
	  "destination, then they are archived and removed; with\n"
	  "--keep-days N (1-365) they stay readable N days instead." },
	{ "extend", cmd_extend, true,
	  "extend DOMAIN (--days N | --until YYYY-MM-DD) [--if-version N]",
	  "Lengthen the domain's queue: N days from now (1-31), or to the\n"
	  "end of that day (UTC, within 31 days).  No message of the\n"
	  "domain expires before then; afterwards queue.days applies." },
	{ "queue", cmd_queue, true, "queue DOMAIN",
	  "The domain's messages in the queue of every relay: relay, id,\n"
	  "arrival, sender, recipients, last delay reason.  Works from any\n"
	  "host: each relay publishes its queue through the database and\n"
	  "is asked to do so now; one that does not answer within 5 s is\n"
	  "shown as of its last publication (stale, or down)." },
	{ "flush", cmd_flush, true, "flush DOMAIN",
	  "Try to deliver the domain's queued mail now, on every relay.\n"
	  "A relay that is down runs the flush when it is back (within an\n"
	  "hour); the answer says which relays confirmed." },
	{ "quarantine", cmd_quarantine, true,
	  "quarantine list DOMAIN\n"
	  "quarantine (release | delete) DOMAIN ID",
	  "Messages held by a spam level whose action is quarantine, on\n"
	  "every relay: ID (the queue id), arrival, sender, recipients and\n"
	  "when it is deleted (quarantine.days after arrival).  release\n"
	  "sends one on to the customer now, without a second spam check;\n"
	  "delete removes it for good." },
	{ "trace", cmd_trace, true,
	  "trace DOMAIN|ADDRESS [--since T] [--message-id ID]",
	  "Where did the mail go: every message of the domain (or from or\n"
	  "to the address) since T (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, Nh\n"
	  "or Nd ago; default tracking.days), newest first, with what\n"
	  "happened on which relay: refused (with the reply), greylisted,\n"
	  "accepted, virus, deleted, quarantined or tagged as spam (with\n"
	  "the level, score and action), delivered, deferred, bounced,\n"
	  "expired.  --message-id takes the id without <>." },
	{ "probe", cmd_probe, true, "probe DOMAIN|IP[:PORT]",
	  "Ask a destination over SMTP: banner, EHLO (STARTTLS offered?)\n"
	  "and, for a domain, RCPT TO:<postmaster@DOMAIN>; no mail is sent.\n"
	  "Exit 0 when it answered and accepted, 5 otherwise." },
	{ "help", cmd_help, false, "help [COMMAND]",
	  "Show the commands, or one command's help." },
	{ NULL, NULL, false, NULL, NULL },
};
/* clang-format on */

static const struct cmd *find_cmd(const char *name)
{
	const struct cmd *c;

	for (c = cmds; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static void print_help(FILE *fp)
{
	const struct cmd *c;

	fputs("usage: feedctl [-c CONF] [--json] [--ticket ID] COMMAND ...\n"
	      "\n"
	      "Manage mxfeed's customer domains: POP3 mailboxes or an SMTP\n"
	      "feed to the customer's own server.  Options:\n"
	      "  -c CONF      configuration file (default $MXFEED_CONF, else\n"
	      "               " CONF_DEFAULT_PATH ")\n"
	      "  --json       print the API's JSON instead of tables\n"
	      "  --ticket ID  record the ticket with every change\n"
	      "\ncommands:\n",
	      fp);
	for (c = cmds; c->name; c++)
		fprintf(fp, "  %s\n", c->usage);
	fputs("\nexit status: 0 ok, 1 internal error, 2 usage or invalid "
	      "value,\n3 not found, 4 conflict, 5 temporarily unavailable.\n"
	      "'feedctl help COMMAND' or 'feedctl COMMAND --help' for more.\n",
	      fp);
}

/* a and b differ in exactly dot-separated segment *seg, same count */
static bool one_segment_apart(const char *a, const char *b, int *seg)
{
	int k = 0, diff = -1;

	for (;;) {
		size_t na = strcspn(a, "."), nb = strcspn(b, ".");

		if (na != nb || strncmp(a, b, na) != 0) {
			if (diff >= 0)
				return false;
			diff = k;
		}
		if ((a[na] == '\0') != (b[nb] == '\0'))
			return false;
		if (a[na] == '\0')
			break;
		a += na + 1;
		b += nb + 1;
		k++;
	}
	*seg = diff;
	return diff >= 0;
}

/* Segment k of path. */
static void add_segment(struct strbuf *out, const char *path, int k)
{
	for (; k > 0; k--)
		path = strchr(path, '.') + 1;
	sbuf_add(out, path, strcspn(path, "."));
}

/*
 * "help set": the settings, from fields.def.  Rows that differ in one
 * path segment and take the same values print as one line, as in
 * "spam.low|med|high.action=none|header|subject|delete".
 */
static void print_settings_help(void)
{
	bool done[FLD_COUNT] = { false };
	size_t i, j;

	for (i = 0; i < FLD_COUNT; i++) {
		const struct field *f = &domain_fields[i];
		struct strbuf syn = STRBUF_INIT, alt = STRBUF_INIT,
			      path = STRBUF_INIT;
		int seg = -1, k;
		size_t nsame = 0;

		if (done[i])
			continue;
		domain_field_syntax(f, &syn);
		for (j = i + 1; j < FLD_COUNT; j++) {
			struct strbuf s2 = STRBUF_INIT;
			int sj;

			domain_field_syntax(&domain_fields[j], &s2);
			if (!done[j] && strcmp(s2.buf, syn.buf) == 0 &&
			    one_segment_apart(f->path, domain_fields[j].path,
					      &sj) &&
			    (seg < 0 || sj == seg)) {
				seg = sj;
				done[j] = true;
				sbuf_addch(&alt, '|');
				add_segment(&alt, domain_fields[j].path, seg);
				nsame++;
			}
			sbuf_release(&s2);
		}
		if (nsame == 0) {
			sbuf_addstr(&path, f->path);
		} else {
			/* the path with segment seg replaced by the choices */
			const char *p = f->path;

			for (k = 0;; k++) {
				size_t n = strcspn(p, ".");

				if (k > 0)
					sbuf_addch(&path, '.');
				sbuf_add(&path, p, n);
				if (k == seg)
					sbuf_add(&path, alt.buf, alt.len);
				if (p[n] == '\0')
					break;
				p += n + 1;
			}
		}
		printf("  %s=%s\n", path.buf, syn.buf);
		if (nsame == 0)
			printf("      %s%s%s%s\n", f->label,
			       f->help ? ": " : "", f->help ? f->help : "",
			       (f->flags & FF_DEST_ONLY)
				       ? " (feed and backup only)"
				       : "");
		sbuf_release(&syn);
		sbuf_release(&alt);
		sbuf_release(&path);
	}
}

static void print_cmd_help(const struct cmd *c)
{
	printf("usage: feedctl %s\n\n%s\n", c->usage, c->help);
	if (c->fn == cmd_set)
		print_settings_help();
}

static int cmd_help(struct cli *cli, int argc, char **argv)
{
	const struct cmd *c;

	(void)cli;
	if (argc < 2) {
		print_help(stdout);
		return 0;
	}
	if ((c = find_cmd(argv[1])) == NULL)
		return usage_error(cli, NULL, "unknown command '%s'", argv[1]);
	print_cmd_help(c);
	return 0;
}

/* fputs s with "\" and newlines written as "\\" and "\n" */
static void dump_escaped(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\\')
			fputs("\\\\", stdout);
		else
			putchar(*s);
	}
}

/*
 * "feedctl --doc-dump" (not in --help): the tables the man pages and
 * the bash completion are generated from (man/gen.sh), one record a
 * line, tab-separated: "verb NAME USAGE HELP", "field PATH SYNTAX
 * LABEL HELP DEST_ONLY", "conf NAME TYPE DEFAULT MIN MAX DOC".
 */
static int doc_dump(void)
{
	const struct cmd *c;
	size_t i;

	for (c = cmds; c->name; c++) {
		printf("verb\t%s\t", c->name);
		dump_escaped(c->usage);
		putchar('\t');
		dump_escaped(c->help ? c->help : "");
		putchar('\n');
	}
	for (i = 0; i < FLD_COUNT; i++) {
		const struct field *f = &domain_fields[i];
		struct strbuf syn = STRBUF_INIT;

		domain_field_syntax(f, &syn);
		printf("field\t%s\t%s\t%s\t", f->path, syn.buf,
		       f->label ? f->label : "");
		dump_escaped(f->help ? f->help : "");
		printf("\t%d\n", (f->flags & FF_DEST_ONLY) ? 1 : 0);
		sbuf_release(&syn);
	}
	conf_print_table(stdout, "conf\t");
	return fflush(stdout) == 0 ? 0 : 1;
}

/*
 * The actor recorded for changes: the real user's login, or under sudo
 * (real uid 0, SUDO_USER a user whose uid is SUDO_UID) "NAME via sudo
 * (uid 0)".  Anyone else's SUDO_USER is ignored: it is only an
 * environment variable.
 */
static void set_actor(struct cli *cli)
{
	const char *su = getenv("SUDO_USER"), *suid = getenv("SUDO_UID");
	uid_t ruid = getuid();
	struct passwd *pw;
	char buf[ACTOR_MAX + 32];
	long id = -1;
	struct error e = ERROR_INIT;

	buf[0] = '\0';
	if (ruid == 0 && su != NULL && su[0] != '\0' && suid != NULL &&
	    parse_long(suid, 0, 0x7ffffffeL, &id, "SUDO_UID", &e) == 0 &&
	    (pw = getpwnam(su)) != NULL && (long)pw->pw_uid == id)
		(void)snprintf(buf, sizeof(buf), "%s via sudo (uid 0)", su);
	error_release(&e);
	if (buf[0] == '\0') {
		pw = getpwuid(ruid);
		if (pw != NULL)
			(void)snprintf(buf, sizeof(buf), "%s", pw->pw_name);
		else
			(void)snprintf(buf, sizeof(buf), "uid %u",
				       (unsigned)ruid);
	}
	if (strlcpy_checked(cli->actor, buf, sizeof(cli->actor)) < 0 ||
	    actor_check(cli->actor, "actor", &cli->err) < 0) {
		error_clear(&cli->err);
		(void)snprintf(cli->actor, sizeof(cli->actor), "uid %u",
			       (unsigned)ruid);
	}
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	char *args[ARGS_MAX];
	const struct cmd *c;
	int i, n = 0, r, rc, help = 0;
	bool opts_done = false;

	cli.err = (struct error)ERROR_INIT;
	log_init("feedctl", LOG_LEVEL_WARN);
	if (argc == 2 && strcmp(argv[1], "--doc-dump") == 0)
		return doc_dump();
	/* pull the global options out, wherever they stand */
	for (i = 1; i < argc; i++) {
		if (!opts_done) {
			if (strcmp(argv[i], "--") == 0) {
				opts_done = true;
				continue;
			}
			if ((r = opt_value(argc, argv, &i, "-c",
					   &cli.conf_path)) != 0 ||
			    (r = opt_value(argc, argv, &i, "--config",
					   &cli.conf_path)) != 0 ||
			    (r = opt_value(argc, argv, &i, "--ticket",
					   &cli.ticket)) != 0) {
				if (r < 0)
					return usage_error(&cli, NULL,
							   "%s needs a value",
							   argv[i]);
				continue;
			}
			if (strcmp(argv[i], "--json") == 0) {
				cli.json = true;
				continue;
			}
			if (strcmp(argv[i], "--help") == 0 ||
			    strcmp(argv[i], "-h") == 0) {
				help = 1;
				continue;
			}
		}
		if (n >= ARGS_MAX)
			return usage_error(&cli, NULL, "too many arguments");
		args[n++] = argv[i];
	}
	if (n == 0) {
		if (help) {
			print_help(stdout);
			return 0;
		}
		print_help(stderr);
		return 2;
	}
	if ((c = find_cmd(args[0])) == NULL)
		return usage_error(&cli, NULL, "unknown command '%s'", args[0]);
	if (help) {
		print_cmd_help(c);
		return 0;
	}
	if (c->fn == cmd_help)
		return c->fn(&cli, n, args);
	if (cli.ticket != NULL &&
	    actor_check(cli.ticket, "ticket", &cli.err) < 0)
		return fail(&cli);
	if (conf_load(&cli.conf, cli.conf_path, &cli.err) < 0)
		return fail(&cli);
	/* the journal takes log.level (the audit lines are info); the
	 * terminal still sees warnings and errors only */
	log_set_target(cli.conf.log_target, cli.conf.log_level > LOG_LEVEL_WARN
						    ? cli.conf.log_level
						    : LOG_LEVEL_WARN);
	log_init("feedctl", log_to_journal() ? cli.conf.log_level
			    : cli.conf.log_level > LOG_LEVEL_WARN
				    ? cli.conf.log_level
				    : LOG_LEVEL_WARN);
	set_actor(&cli);
	if (c->needs_db && store_open(&cli.store, cli.conf.db_conninfo,
				      &cli.conf, &cli.err) < 0) {
		rc = fail(&cli);
		conf_release(&cli.conf);
		return rc;
	}
	cli.ox.store = cli.store;
	cli.ox.conf = &cli.conf;
	cli.ox.change.actor = cli.actor;
	cli.ox.change.ticket = cli.ticket ? cli.ticket : "";
	rc = c->fn(&cli, n, args);
	if (cli.store != NULL)
		store_close(cli.store);
	conf_release(&cli.conf);
	error_release(&cli.err);
	return rc;
}
