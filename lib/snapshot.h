/*
 * snapshot - the relay snapshot files: one writer, one reader, by name
 *
 * mta-glue writes, per generation, the files the relay's daemons read
 * instead of the database: "policy" (mxfeed-policyd), "queue" (mta-glue
 * queue-expire) and "rspamd/mxfeed-domains" (rspamd.local.lua).  Their
 * format is one record a line, fields separated by tabs, printable
 * UTF-8 only (no tab, CR, LF or NUL in a value).  A header row starts
 * with '#' and names the columns:
 *   plain file (queue, mxfeed-domains): one header, "#name\tmode\t...",
 *     naming every column of every row after it;
 *   keyed file (policy): a header per kind of row, "#domain\tname\t...":
 *     its first name is the kind, and a row whose first field is that
 *     kind ("domain\texample.com\t...") is named by that header.
 * Readers look columns up by name, so a writer may add columns; a
 * column a reader needs and the file lacks is an error.  A file with
 * no header row at all (written before headers existed) is read with
 * the reader's legacy column list.
 *
 * snap_header() and snap_row() append to a strbuf; snap_row() refuses
 * a value holding a byte the format could misread (ERR_INTERNAL: a
 * validator let it through).  snap_open() .. snap_close() read a file;
 * errors carry "PATH:LINE: reason".
 */
#ifndef MXFEED_SNAPSHOT_H
#define MXFEED_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/error.h"
#include "util/strbuf.h"

#define SNAP_COLS_MAX  32
#define SNAP_KINDS_MAX 8
#define SNAP_LINE_MAX  (64 * 1024)

/* The columns of one kind of row (kind NULL in a plain file). */
struct snap_schema {
	const char *kind;
	const char *const *names;
	size_t n;
};

void snap_header(struct strbuf *out, const struct snap_schema *s);
int snap_row(struct strbuf *out, const struct snap_schema *s,
	     const char *const *values, struct error *err)
	__attribute__((warn_unused_result));

struct snap_header_row {
	char *buf; /* owns the names */
	char *names[SNAP_COLS_MAX + 1];
	int n; /* names[0] is the kind in a keyed file */
};

struct snap_reader {
	FILE *fp;
	char *path;
	long lineno;
	bool keyed;
	const struct snap_schema *legacy; /* array, ends with names NULL */
	struct snap_header_row hdr[SNAP_KINDS_MAX];
	int nhdr;
	bool seen_header, seen_row;
	char *line;
	size_t cap;
	char *f[SNAP_COLS_MAX + 1];
	int nf;
	/* the current row's names: a header's, or a legacy schema's */
	const char *const *names;
	int nnames;
	const char *kind;
};

/* legacy: the layouts of headerless files, an array ended by an entry
 * whose names is NULL (kind NULL for a plain file's). */
int snap_open(struct snap_reader *r, const char *path, bool keyed,
	      const struct snap_schema *legacy, struct error *err)
	__attribute__((warn_unused_result));
/* 1: a row is current; 0: end of file; -1: error (err set). */
int snap_next(struct snap_reader *r, struct error *err)
	__attribute__((warn_unused_result));
/* The current row's kind (keyed files), or NULL. */
const char *snap_kind(const struct snap_reader *r);
/* The current row's value of column name; NULL (err set) without it. */
const char *snap_get(const struct snap_reader *r, const char *name,
		     struct error *err);
/* Set err to "PATH:LINE: " + message; returns -1. */
int snap_fail(const struct snap_reader *r, struct error *err, const char *fmt,
	      ...) __attribute__((format(printf, 3, 4)));
/* Prefix err's message with "PATH:LINE: " unless it has it; code kept. */
void snap_where(const struct snap_reader *r, struct error *err);
/*
 * A reader of lines the caller finds itself (a mapped file searched in
 * place, policy.c): snap_open_lines() opens none; snap_line() takes one
 * line (no '\n') and gives 0 for a header row (kept, as snap_next()
 * does), 1 for a row that is now current, -1 on error ("PATH:LINENO:").
 * snap_column() is the field index (0 = the kind in a keyed file) of
 * column name in rows of kind, from the header rows seen or the legacy
 * layout, -1 without it; snap_header_kind() the kind of the i-th header
 * row seen, NULL past the last.
 */
int snap_open_lines(struct snap_reader *r, const char *path, bool keyed,
		    const struct snap_schema *legacy);
int snap_line(struct snap_reader *r, const char *text, size_t len, long lineno,
	      struct error *err) __attribute__((warn_unused_result));
int snap_column(const struct snap_reader *r, const char *kind,
		const char *name);
const char *snap_header_kind(const struct snap_reader *r, int i);
void snap_close(struct snap_reader *r);

#endif
