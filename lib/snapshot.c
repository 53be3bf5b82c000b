/*
 * snapshot - the relay snapshot files: one writer, one reader, by name
 *
 * See snapshot.h.  The reader keeps the header rows it has seen and
 * points the current row's names at the one of its kind; snap_get() is
 * a linear search over at most SNAP_COLS_MAX names.
 */
#include "snapshot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse.h"

void snap_header(struct strbuf *out, const struct snap_schema *s)
{
	size_t i;

	sbuf_addch(out, '#');
	if (s->kind != NULL)
		sbuf_addf(out, "%s%s", s->kind, s->n ? "\t" : "");
	for (i = 0; i < s->n; i++)
		sbuf_addf(out, "%s%s", s->names[i], i + 1 < s->n ? "\t" : "");
	sbuf_addch(out, '\n');
}

int snap_row(struct strbuf *out, const struct snap_schema *s,
	     const char *const *values, struct error *err)
{
	size_t i;

	/* printable UTF-8 (spam texts may be): no tab, CR, LF or NUL */
	for (i = 0; i < s->n; i++)
		if (!utf8_printable(values[i], strlen(values[i])))
			return error_set(err, ERR_INTERNAL, NULL,
					 "snapshot column %s holds a control "
					 "byte",
					 s->names[i]);
	if (s->kind == NULL && s->n > 0 && values[0][0] == '#')
		return error_set(err, ERR_INTERNAL, NULL,
				 "snapshot row starts with '#'");
	if (s->kind != NULL) {
		sbuf_addstr(out, s->kind);
		if (s->n > 0)
			sbuf_addch(out, '\t');
	}
	for (i = 0; i < s->n; i++) {
		sbuf_addstr(out, values[i]);
		sbuf_addch(out, i + 1 < s->n ? '\t' : '\n');
	}
	if (s->n == 0)
		sbuf_addch(out, '\n');
	return 0;
}

int snap_fail(const struct snap_reader *r, struct error *err, const char *fmt,
	      ...)
{
	struct strbuf m = STRBUF_INIT;
	va_list ap;

	sbuf_addf(&m, "%s:%ld: ", r->path, r->lineno);
	va_start(ap, fmt);
	sbuf_vaddf(&m, fmt, ap);
	va_end(ap);
	error_set(err, ERR_INTERNAL, NULL, "%s", m.buf);
	sbuf_release(&m);
	return -1;
}

void snap_where(const struct snap_reader *r, struct error *err)
{
	struct strbuf m = STRBUF_INIT;

	if (strncmp(error_msg(err), r->path, strlen(r->path)) == 0)
		return;
	sbuf_addf(&m, "%s:%ld: %s", r->path, r->lineno, error_msg(err));
	sbuf_reset(&err->msg);
	sbuf_add(&err->msg, m.buf, m.len);
	sbuf_release(&m);
}

int snap_open(struct snap_reader *r, const char *path, bool keyed,
	      const struct snap_schema *legacy, struct error *err)
{
	memset(r, 0, sizeof(*r));
	r->fp = fopen(path, "re");
	if (r->fp == NULL)
		return error_set(err, ERR_TEMPFAIL, NULL, "cannot open %s: %s",
				 path, strerror(errno));
	r->path = xstrdup(path);
	r->keyed = keyed;
	r->legacy = legacy;
	return 0;
}

void snap_close(struct snap_reader *r)
{
	int i;

	if (r->fp != NULL)
		fclose(r->fp);
	for (i = 0; i < r->nhdr; i++)
		free(r->hdr[i].buf);
	free(r->line);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

/* Split r->line at tabs into r->f; -1 when there are too many. */
static int split(struct snap_reader *r, char *line)
{
	r->nf = 0;
	for (;;) {
		char *tab = strchr(line, '\t');

		if (r->nf == SNAP_COLS_MAX + 1)
			return -1;
		r->f[r->nf++] = line;
		if (tab == NULL)
			return 0;
		*tab = '\0';
		line = tab + 1;
	}
}

static int add_header(struct snap_reader *r, struct error *err)
{
	struct snap_header_row *h;
	int i, j;

	if (r->seen_row && !r->keyed)
		return snap_fail(r, err, "header row after the first row");
	if (r->nhdr == SNAP_KINDS_MAX)
		return snap_fail(r, err, "too many header rows");
	h = &r->hdr[r->nhdr];
	h->buf = xstrdup(r->line + 1);
	if (split(r, h->buf) < 0) {
		free(h->buf);
		return snap_fail(r, err, "header row names too many columns");
	}
	for (i = 0; i < r->nf; i++) {
		if (r->f[i][0] == '\0')
			goto empty;
		for (j = 0; j < i; j++)
			if (strcmp(r->f[i], r->f[j]) == 0)
				goto twice;
		h->names[i] = r->f[i];
	}
	h->n = r->nf;
	for (i = 0; i < r->nhdr; i++)
		if (!r->keyed || strcmp(r->hdr[i].names[0], h->names[0]) == 0)
			goto second;
	r->nhdr++;
	r->seen_header = true;
	return 0;
empty:
	snap_fail(r, err, "header row has an empty name");
	goto bad;
twice:
	snap_fail(r, err, "header row names a column twice");
	goto bad;
second:
	snap_fail(r, err, "second header row for '%s'", h->names[0]);
bad:
	free(h->buf);
	h->buf = NULL;
	return -1;
}

/* Point r->names at the columns of the current row. */
static int name_row(struct snap_reader *r, struct error *err)
{
	const char *kind = r->keyed ? r->f[0] : NULL;
	const struct snap_schema *s;
	int i, skip = r->keyed ? 1 : 0;

	r->kind = kind;
	for (i = 0; i < r->nhdr; i++) {
		const struct snap_header_row *h = &r->hdr[i];

		if (r->keyed && strcmp(h->names[0], kind) != 0)
			continue;
		r->names = (const char *const *)h->names + skip;
		r->nnames = h->n - skip;
		goto count;
	}
	if (r->seen_header || r->legacy == NULL)
		return snap_fail(r, err, "no header row for this row");
	for (s = r->legacy; s->names != NULL; s++)
		if (!r->keyed || strcmp(s->kind, kind) == 0) {
			r->names = s->names;
			r->nnames = (int)s->n;
			goto count;
		}
	return snap_fail(r, err, "unknown kind of row");
count:
	if (r->nf - skip != r->nnames)
		return snap_fail(r, err, "row has %d fields, its header %d",
				 r->nf - skip, r->nnames);
	return 0;
}

/*
 * r->line holds len bytes and a NUL: no other NUL, and no control byte
 * but tab.  Values are printable: a CR (or any control byte) is not
 * part of one, as the writer guarantees (fuzz_snapshot).  Both readers,
 * the file's and the mapped lines', go through here.
 */
static int line_check(const struct snap_reader *r, size_t len,
		      struct error *err)
{
	if (strlen(r->line) != len)
		return snap_fail(r, err, "line holds a NUL byte");
	for (const char *c = r->line; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t')
			return snap_fail(r, err,
					 "line holds a control character");
	return 0;
}

int snap_next(struct snap_reader *r, struct error *err)
{
	ssize_t len;

	for (;;) {
		errno = 0;
		len = getline(&r->line, &r->cap, r->fp);
		if (len < 0) {
			if (ferror(r->fp))
				return error_set(err, ERR_TEMPFAIL, NULL,
						 "cannot read %s", r->path);
			return 0;
		}
		r->lineno++;
		if (len == 0 || r->line[len - 1] != '\n' || len > SNAP_LINE_MAX)
			return snap_fail(r, err, "line too long or cut");
		r->line[len - 1] = '\0';
		if (line_check(r, (size_t)(len - 1), err) < 0)
			return -1;
		if (r->line[0] == '#') {
			if (add_header(r, err) < 0)
				return -1;
			continue;
		}
		r->seen_row = true;
		if (split(r, r->line) < 0)
			return snap_fail(r, err, "row has too many fields");
		if (name_row(r, err) < 0)
			return -1;
		return 1;
	}
}

int snap_open_lines(struct snap_reader *r, const char *path, bool keyed,
		    const struct snap_schema *legacy)
{
	memset(r, 0, sizeof(*r));
	r->path = xstrdup(path);
	r->keyed = keyed;
	r->legacy = legacy;
	return 0;
}

int snap_line(struct snap_reader *r, const char *text, size_t len, long lineno,
	      struct error *err)
{
	r->lineno = lineno;
	if (len + 1 > SNAP_LINE_MAX)
		return snap_fail(r, err, "line too long or cut");
	if (r->cap < len + 1) {
		r->cap = len + 1;
		r->line = xrealloc(r->line, r->cap);
	}
	memcpy(r->line, text, len);
	r->line[len] = '\0';
	if (line_check(r, len, err) < 0)
		return -1;
	if (r->line[0] == '#')
		return add_header(r, err) < 0 ? -1 : 0;
	r->seen_row = true;
	if (split(r, r->line) < 0)
		return snap_fail(r, err, "row has too many fields");
	if (name_row(r, err) < 0)
		return -1;
	return 1;
}

int snap_column(const struct snap_reader *r, const char *kind, const char *name)
{
	const struct snap_schema *s;
	int i, j, skip = r->keyed ? 1 : 0;

	for (i = 0; i < r->nhdr; i++) {
		const struct snap_header_row *h = &r->hdr[i];

		if (r->keyed && strcmp(h->names[0], kind) != 0)
			continue;
		for (j = skip; j < h->n; j++)
			if (strcmp(h->names[j], name) == 0)
				return j;
		return -1;
	}
	if (r->seen_header || r->legacy == NULL)
		return -1;
	for (s = r->legacy; s->names != NULL; s++)
		if (!r->keyed || strcmp(s->kind, kind) == 0) {
			for (j = 0; j < (int)s->n; j++)
				if (strcmp(s->names[j], name) == 0)
					return j + skip;
			return -1;
		}
	return -1;
}

const char *snap_header_kind(const struct snap_reader *r, int i)
{
	return i >= 0 && i < r->nhdr ? r->hdr[i].names[0] : NULL;
}

const char *snap_kind(const struct snap_reader *r)
{
	return r->kind;
}

const char *snap_get(const struct snap_reader *r, const char *name,
		     struct error *err)
{
	int i, skip = r->keyed ? 1 : 0;

	for (i = 0; i < r->nnames; i++)
		if (strcmp(r->names[i], name) == 0)
			return r->f[i + skip];
	snap_fail(r, err, "no column '%s'", name);
	return NULL;
}
