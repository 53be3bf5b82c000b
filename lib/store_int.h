/*
 * store_int - private to the store modules (lib/store*.c): the
 * connection, parameter sets, result readers and the core functions
 * every table's module runs its statements through
 *
 * Nothing outside lib/store*.c includes this file; callers use
 * store.h.  The core (store.c) owns the connection: store_q() prepares
 * and runs one statement, store_with_tx() one transaction (retrying
 * serialization failures), store_audit() writes an audit row and logs
 * it once the transaction commits, store_fail() maps every failure.
 * The p_*() helpers fill a struct params (at most PARAMS_MAX values;
 * p_big() ones must be given back with p_release()); the get_*()
 * readers re-check a result's cell and return false when it does not
 * parse.
 */
#ifndef MXFEED_STORE_INT_H
#define MXFEED_STORE_INT_H

#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse.h"

#define PARAMS_MAX 32
#define PARAM_LEN  64

#define STMT_MAX 48

/* A statement prepared on this connection, named "mxN". */
struct stmt {
	char *sql;
	char name[16];
};

/* An audit row of the open transaction: logged once it commits. */
struct audit_note {
	char action[24];
	char domain[256];
	char actor[ACTOR_MAX + 1];
	char ticket[TICKET_MAX + 1];
};

struct store {
	PGconn *db;
	bool listening; /* LISTEN mxfeed_changes issued on this connection */
	const struct conf *conf;
	char sqlstate[6]; /* of the last failure, "" if none */
	bool in_tx;
	size_t nnotes, notes_cap;
	struct audit_note *notes;
	int nstmts;
	struct stmt stmts[STMT_MAX];
};

/* A set of text parameters; NULL entries are SQL NULLs. */
struct params {
	int n;
	const char *v[PARAMS_MAX];
	char buf[PARAMS_MAX][PARAM_LEN];
	struct strbuf big[4]; /* for the long ones (lists, JSON) */
	int nbig;
};

static inline void p_str(struct params *p, const char *s)
{
	p->v[p->n++] = s;
}

static inline void p_int(struct params *p, int64_t v)
{
	(void)snprintf(p->buf[p->n], PARAM_LEN, "%" PRId64, v);
	p->v[p->n] = p->buf[p->n];
	p->n++;
}

/* unix seconds, 0 = NULL */
static inline void p_time(struct params *p, int64_t t)
{
	if (t == 0)
		p_str(p, NULL);
	else
		p_int(p, t);
}

static inline void p_bool(struct params *p, bool b)
{
	p_str(p, b ? "t" : "f");
}

static struct strbuf *p_big(struct params *p)
{
	struct strbuf *sb = &p->big[p->nbig++];

	sbuf_init(sb, 0);
	p->v[p->n++] = NULL; /* set by p_big_done() */
	return sb;
}

static inline void p_big_done(struct params *p)
{
	p->v[p->n - 1] = p->big[p->nbig - 1].buf;
}

static inline void p_json(struct params *p, const json_t *j)
{
	char *s;

	if (j == NULL) {
		p_str(p, NULL);
		return;
	}
	s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	sbuf_addstr(p_big(p), s ? s : "null");
	p_big_done(p);
	free(s);
}

static inline void p_release(struct params *p)
{
	int i;

	for (i = 0; i < p->nbig; i++)
		sbuf_release(&p->big[i]);
	p->nbig = 0;
}

/* timestamps cross the wire as unix seconds: NULL is 0 */
#define EPOCH(x) "coalesce(floor(extract(epoch FROM " x "))::bigint, 0)"

static inline bool str_i64(const char *v, int64_t *out)
{
	return parse_i64(v, out);
}

static inline bool get_i64(const PGresult *res, int row, int col, int64_t *out)
{
	return str_i64(PQgetvalue(res, row, col), out);
}

static inline bool get_int(const PGresult *res, int row, int col, int lo,
			   int hi, int *out)
{
	int64_t v;

	if (!get_i64(res, row, col, &v) || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

static inline bool get_enum(const PGresult *res, int row, int col,
			    const char *const *names, int *out)
{
	*out = parse_enum(PQgetvalue(res, row, col), names);
	return *out >= 0;
}

static inline bool get_text(const PGresult *res, int row, int col, char *buf,
			    size_t size)
{
	return strlcpy_checked(buf, PQgetvalue(res, row, col), size) == 0;
}

static inline bool get_bool(const PGresult *res, int row, int col)
{
	return PQgetvalue(res, row, col)[0] == 't';
}

/* A domain row's cells: a PGresult's row, or a COPY line split into
 * columns (cells[i], "" for NULL). */
struct rowv {
	const PGresult *res;
	int row;
	const char *const *cells;
};

/* ---- the core (store.c) ------------------------------------------ */

typedef int (*tx_fn)(struct store *s, void *arg, struct error *err);
typedef int (*copy_fn)(void *arg, const char *const *cells, int n,
		       struct error *err);

/* Map a failed result (res may be NULL) to err; clears res; -1. */
int store_fail(struct store *s, PGresult *res, const char *what,
	       struct error *err);
/* Run one statement; NULL on failure (err set). */
PGresult *store_q(struct store *s, const char *sql, const struct params *p,
		  const char *what, struct error *err);
/* Run a statement whose result is not needed. */
int store_q0(struct store *s, const char *sql, const struct params *p,
	     const char *what, struct error *err);
/* Make sure the connection is up; one reset attempt if it is not. */
int store_ensure_conn(struct store *s, struct error *err);
/*
 * One statement outside a transaction: the connection made sure of
 * (store_ensure_conn()), then store_q() or store_q0(); p (NULL: no
 * parameters) is given back with p_release() on every path.  Never
 * inside store_with_tx(): a reset there would lose the transaction.
 */
PGresult *store_run(struct store *s, const char *sql, struct params *p,
		    const char *what, struct error *err);
int store_run0(struct store *s, const char *sql, struct params *p,
	       const char *what, struct error *err);
/* Run fn inside one transaction, retrying serialization failures. */
int store_with_tx(struct store *s, tx_fn fn, void *arg, struct error *err);
/* An audit row (old and new JSON) by ctx, logged once it commits. */
int store_audit(struct store *s, const struct change_ctx *ctx,
		const char *action, const char *domain, const json_t *old,
		const json_t *new, struct error *err);
/* A statement answering one JSON array as text: the array. */
json_t *store_json_query(struct store *s, const char *sql,
			 const struct params *p, const char *what,
			 struct error *err);
/* "COPY (select) TO STDOUT": fn() for each row of ncols as it arrives. */
int store_copy_rows(struct store *s, const char *select, int ncols, copy_fn fn,
		    void *arg, const char *what, struct error *err);

/* ---- domain rows (store_domain.c), for switches and the snapshot - */

/* The record nd over old, version-guarded, with its audit row (action). */
int store_do_update(struct store *s, const struct domain *old,
		    struct domain *nd, const struct change_ctx *ctx,
		    const char *action, struct error *err);
/* A domain row (a result's or a COPY line's cells) through the
 * validators; prop may be NULL. */
int store_rowv_to_domain(const struct rowv *r, struct domain *d,
			 struct propagation *prop, struct error *err);
/* "SELECT <every setting> FROM domains d ": the generators' row, with
 * the Unicode name, temp_pop3_by, bookkeeping and propagation constant */
void store_domain_select_lean(struct strbuf *sql);
int store_domain_ncols(void);

#endif
