/*
 * print - feedctl's output: the API's JSON with --json, else tables
 *
 * A table cell shows a value as typed (a regex as written, a list as
 * "a,b"), not its JSON spelling; only text that is not printable
 * UTF-8 is escaped, so no control byte from the database reaches the
 * terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "domain_json.h"
#include "feedctl.h"
#include "util/parse.h"
#include "util/strbuf.h"

void print_json(const json_t *j)
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
void cell_text(const json_t *v, struct strbuf *out)
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

/* Rows of objects as an aligned table; "none" when there are none. */
void print_table(const json_t *rows, const struct column *cols)
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

void print_domain_json(const struct domain *d, const struct propagation *p)
{
	json_t *j = domain_to_json(d, p);

	print_json(j);
	json_decref(j);
}

void print_passwords(struct cli *cli, const json_t *list)
{
	static const struct column cols[] = {
		{ "address", "ADDRESS" },
		{ "password", "PASSWORD (shown only now)" },
		{ NULL, NULL },
	};
	json_t *out;

	if (list == NULL)
		return;
	if (cli->json) {
		out = json_pack("{s:O}", "mailboxes", list);
		print_json(out);
		json_decref(out);
	} else {
		print_table(list, cols);
	}
}

/* The relays of a fleet answer that are not in state ok, one a line. */
void print_relay_states(const json_t *relays, const char *ok)
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

void print_json_new(json_t *o)
{
	print_json(o);
	json_decref(o);
}
