/*
 * help - feedctl's help, the settings list and --doc-dump
 *
 * All three read the grammar (grammar.c) and lib/fields.def, so the
 * help, the man pages and the bash completion say what the parser
 * takes.  --doc-dump refuses (exit 1) a grammar whose usage lines and
 * options disagree, which fails the build.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "domain_json.h"
#include "feedctl.h"
#include "model.h"
#include "util/strbuf.h"

/* A verb's usage lines, each indented by two: a verb with two forms
 * has two lines that start with its name, a long form continues on an
 * indented line. */
static void usage_lines(FILE *fp, const char *usage)
{
	const char *p = usage;
	size_t n;

	while (*p) {
		n = strcspn(p, "\n");
		fprintf(fp, "  %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

void print_help(FILE *fp)
{
	const struct verb *c;

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
	for (c = verbs; c->name; c++)
		usage_lines(fp, c->usage);
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

void print_cmd_help(const struct verb *c)
{
	printf("usage: feedctl %s\n\n%s\n", c->usage, c->help);
	if (c->flags & V_SETTINGS)
		print_settings_help();
}

int cmd_help(struct cli *cli, const struct args *a)
{
	const struct verb *c;

	if (a->npos == 0) {
		print_help(stdout);
		return 0;
	}
	if ((c = find_verb(a->pos[0])) == NULL)
		return usage_error(cli, NULL, "unknown command '%s'",
				   a->pos[0]);
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
int doc_dump(void)
{
	const struct verb *c;
	size_t i;

	if (grammar_check() != 0)
		return 1;
	for (c = verbs; c->name; c++) {
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
