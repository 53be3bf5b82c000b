/*
 * cmd_domain - the verbs of a domain's record: list, show, add, set,
 * remove, history, apply
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "domain_json.h"
#include "feedctl.h"
#include "ops_view.h"
#include "util/parse.h"
#include "util/strbuf.h"

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

/* A domain's JSON as the columns of "list" */
static json_t *list_row(const json_t *row)
{
	json_t *d = json_object_get(row, "destination");
	json_t *q = json_object_get(row, "queue");
	json_t *v = json_object();
	struct strbuf s = STRBUF_INIT;

	json_object_set(v, "name", json_object_get(row, "name"));
	if (json_is_object(json_object_get(row, "temp_pop3")))
		sbuf_addf(&s, "%s+temp-pop3",
			  json_string_value(json_object_get(row, "mode")));
	else
		sbuf_addstr(&s,
			    json_string_value(json_object_get(row, "mode")));
	json_object_set_new(v, "mode", json_string(s.buf));
	sbuf_reset(&s);
	if (json_is_object(d))
		sbuf_addf(&s, "%s:%lld",
			  json_string_value(json_object_get(d, "host")),
			  (long long)json_integer_value(
				  json_object_get(d, "port")));
	else
		sbuf_addstr(&s, "-");
	json_object_set_new(v, "dest", json_string(s.buf));
	json_object_set(v, "greylisting", json_object_get(row, "greylisting"));
	json_object_set(
		v, "spam",
		json_object_get(json_object_get(row, "spam"), "enabled"));
	sbuf_reset(&s);
	sbuf_addf(&s, "%lldd%s",
		  (long long)json_integer_value(json_object_get(q, "days")),
		  json_is_string(json_object_get(q, "extended_until")) ? "+ext"
								       : "");
	json_object_set_new(v, "queue", json_string(s.buf));
	json_object_set(v, "version", json_object_get(row, "version"));
	sbuf_release(&s);
	return v;
}

/* "list" as a table: one line a domain, the settings that matter most */
static void print_list(const json_t *rows)
{
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
		json_array_append_new(view, list_row(row));
	}
	print_table(view, cols);
	json_decref(view);
}

int cmd_list(struct cli *cli, const struct args *a)
{
	json_t *rows = ops_domain_list(&cli->ox, a->v[OPT_MODE].text,
				       a->v[OPT_MATCH].text, &cli->err);

	if (rows == NULL)
		return fail(cli);
	if (cli->json)
		print_json(rows);
	else
		print_list(rows);
	json_decref(rows);
	return 0;
}

/* The domain's jobs still to run, each with its last error: what a
 * switch is waiting for, and why. */
static void print_open_jobs(struct cli *cli, const struct domain_name *dn)
{
	json_t *jobs = ops_domain_jobs(&cli->ox, dn, &cli->err), *j;
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

int cmd_show(struct cli *cli, const struct args *a)
{
	struct propagation p;
	struct domain d;

	if (ops_domain_get(&cli->ox, a->pos[0], &d, &p, &cli->err) < 0)
		return fail(cli);
	if (cli->json) {
		print_domain_json(&d, &p);
		return 0;
	}
	print_domain(&d, &p);
	print_open_jobs(cli, &d.name);
	return 0;
}

int cmd_add(struct cli *cli, const struct args *a)
{
	struct domain d;

	cli->ox.force = a->v[OPT_FORCE].set;
	if (ops_domain_add(&cli->ox, a->pos[0], a->v[OPT_MODE].text,
			   a->v[OPT_DEST].text, a->pos + 1, a->npos - 1, &d,
			   &cli->err) < 0)
		return fail(cli);
	if (cli->json)
		print_domain_json(&d, NULL);
	else
		printf("%s: added (%s, version %lld)\n", d.name.alabel,
		       domain_mode_names[d.mode], (long long)d.version);
	return 0;
}

int cmd_set(struct cli *cli, const struct args *a)
{
	const struct optval *iv = &a->v[OPT_IF_VERSION];
	bool changed = false;
	struct domain d;

	cli->ox.force = a->v[OPT_FORCE].set;
	if (ops_domain_set(&cli->ox, a->pos[0], a->pos + 1, a->npos - 1,
			   iv->set ? iv->n : OPS_NO_VERSION, &d, &changed,
			   &cli->err) < 0)
		return fail(cli);
	if (cli->json)
		print_domain_json(&d, NULL);
	else
		printf("%s: %s (version %lld)\n", d.name.alabel,
		       changed ? "updated" : "unchanged", (long long)d.version);
	return 0;
}

int cmd_remove(struct cli *cli, const struct args *a)
{
	const struct optval *iv = &a->v[OPT_IF_VERSION];
	const char *name = a->pos[0], *confirm = a->v[OPT_CONFIRM].text;
	bool bounce = a->v[OPT_BOUNCE_QUEUE].set;

	if (a->v[OPT_DRY_RUN].set)
		return dry_run(cli, name,
			       &(struct sp_req){ .verb = SP_REMOVE,
						 .confirm = confirm,
						 .bounce_queue = bounce });
	if (ops_domain_remove(&cli->ox, name, iv->set ? iv->n : OPS_NO_VERSION,
			      confirm, bounce, &cli->err) < 0)
		return fail(cli);
	if (cli->json)
		print_json_new(
			json_pack("{s:s, s:b}", "name", name, "removed", 1));
	else
		printf("%s: removed (history kept)\n", name);
	return 0;
}

int cmd_history(struct cli *cli, const struct args *a)
{
	static const struct column cols[] = {
		{ "at", "TIME" },	  { "action", "ACTION" },
		{ "actor", "ACTOR" },	  { "ticket", "TICKET" },
		{ "changes", "CHANGES" }, { NULL, NULL },
	};
	json_t *rows, *row;
	size_t k;

	rows = ops_history(&cli->ox, a->pos[0], 1000, &cli->err);
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

/* The document of "apply -f FILE" (or "-": standard input), parsed. */
static json_t *load_doc(struct cli *cli, const char *file)
{
	struct strbuf body;
	json_t *doc;
	FILE *fp;
	int rv;

	fp = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	if (fp == NULL) {
		error_set(&cli->err, ERR_INVALID, NULL, "cannot open: %s",
			  strerror(errno));
		return NULL;
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
		return NULL;
	}
	doc = json_load_strict(body.buf, body.len, APPLY_DOC_MAX, &cli->err);
	sbuf_release(&body);
	return doc;
}

/* ops_apply()'s report: a line a domain, a line a changed field */
static void print_apply(const json_t *report, bool dry)
{
	const json_t *r, *c;
	size_t k, m;

	json_array_foreach(json_object_get(report, "results"), k, r)
	{
		const char *name =
			json_string_value(json_object_get(r, "name"));
		const char *act =
			json_string_value(json_object_get(r, "action"));
		long long ver =
			json_integer_value(json_object_get(r, "version"));

		if (strcmp(act, "none") == 0)
			printf("%s: unchanged (version %lld)\n", name, ver);
		else if (strcmp(act, "create") == 0)
			printf("%s: %s\n", name,
			       dry ? "would be created" : "created");
		else
			printf("%s: %s (version %lld)\n", name,
			       dry ? "would be updated" : "updated", ver);
		json_array_foreach(json_object_get(r, "changes"), m, c)
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
	if (dry)
		puts("dry run: nothing was changed");
}

int cmd_apply(struct cli *cli, const struct args *a)
{
	bool dry = a->v[OPT_DRY_RUN].set;
	json_t *doc, *report = NULL;
	int rc;

	cli->ox.force = a->v[OPT_FORCE].set;
	cli->subject = a->v[OPT_FILE].text;
	if ((doc = load_doc(cli, a->v[OPT_FILE].text)) == NULL)
		return fail(cli);
	rc = ops_apply(&cli->ox, doc, dry, &report, &cli->err);
	json_decref(doc);
	if (rc < 0)
		return fail(cli);
	if (cli->json)
		print_json(report);
	else
		print_apply(report, dry);
	json_decref(report);
	return 0;
}
