/*
 * store - the PostgreSQL store (libpq): the core every table's module
 * runs on
 *
 * See store.h for the contract and store_int.h for what the modules
 * (store_domain.c, store_mailbox.c, store_job.c, store_rule.c,
 * store_auth.c, store_relay.c, store_event.c, store_snap.c) share.
 * This file owns the connection and the conventions:
 *   - every statement is a static const char[] in a store*.c and runs
 *     through store_q(), which prepares it on the connection at first
 *     use (then runs it by name with text parameters), checks the
 *     result status and maps failures through store_fail();
 *   - a change runs in store_with_tx(): BEGIN, the work, COMMIT; on a
 *     serialization failure or deadlock (40001, 40P01) the whole
 *     transaction is retried a few times, then reported as ERR_TEMPFAIL;
 *     its audit rows (store_audit()) are logged once it committed;
 *   - rows read back are re-checked (ip_parse, enum tables): a row the
 *     validators would refuse is reported as ERR_INTERNAL, never used.
 * Timestamps cross the wire as unix seconds (bigint); JSON listings are
 * built by PostgreSQL (json_agg) with mx_utc() text timestamps and read
 * by store_json_query(); bulk reads stream with store_copy_rows().
 */
#include "store.h"

#include "store_int.h"

#include "metrics.h"
#include "util/log.h"
#include "util/parse.h"

#define TX_RETRIES 3

/* ---- failures ---------------------------------------------------- */

static bool tempfail_state(const char *st)
{
	return strncmp(st, "08", 2) == 0 || strncmp(st, "53", 2) == 0 ||
	       strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 ||
	       strcmp(st, "57P03") == 0 || strcmp(st, "40001") == 0 ||
	       strcmp(st, "40P01") == 0;
}

/* Map a failed result (res may be NULL) to err; clears res. */
int store_fail(struct store *s, PGresult *res, const char *what,
	       struct error *err)
{
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg =
		res ? PQresultErrorMessage(res) : PQerrorMessage(s->db);
	int n = (int)strcspn(msg, "\n");

	if (st == NULL)
		st = "";
	if (strlcpy_checked(s->sqlstate, st, sizeof(s->sqlstate)) < 0)
		s->sqlstate[0] = '\0';
	if (PQstatus(s->db) != CONNECTION_OK || tempfail_state(st)) {
		metrics_db_error(true);
		log_warn("database unavailable during %s: %.*s", what, n, msg);
		error_set(err, ERR_TEMPFAIL, NULL,
			  "database unavailable, try again: %.*s", n, msg);
	} else if (strcmp(st, "23505") == 0) {
		error_set(err, ERR_CONFLICT, NULL, "%s: already exists", what);
	} else if (strcmp(st, "23514") == 0 || strcmp(st, "23502") == 0 ||
		   strcmp(st, "22P02") == 0) {
		log_error("database refused a value during %s: %.*s", what, n,
			  msg);
		error_set(err, ERR_INVALID, NULL,
			  "the database refused a value (%s): %.*s", what, n,
			  msg);
	} else {
		metrics_db_error(false);
		log_error("database error during %s (%s): %.*s", what, st, n,
			  msg);
		error_set(err, ERR_INTERNAL, NULL,
			  "database error during %s (%s): %.*s", what, st, n,
			  msg);
	}
	if (res)
		PQclear(res);
	return -1;
}

/* Per-connection settings, again after every reconnect. */
static int set_session(struct store *s)
{
	PGresult *res = PQexecParams(s->db, "SET TIME ZONE 'UTC'", 0, NULL,
				     NULL, NULL, NULL, 0);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	PQclear(res);
	return ok ? 0 : -1;
}

/* A new or reset connection has no prepared statements. */
static void stmt_forget(struct store *s)
{
	int i;

	s->listening = false;
	for (i = 0; i < s->nstmts; i++)
		free(s->stmts[i].sql);
	s->nstmts = 0;
}

/*
 * Statements are prepared on first use and then executed by name: the
 * set of statement texts is fixed (they are all in this file), so the
 * cache stays small.  NULL when the statement cannot be prepared now
 * (cache full, aborted transaction, connection lost): the caller then
 * runs it unprepared, which reports the real error.
 */
static const char *stmt_name(struct store *s, const char *sql, int nparams)
{
	struct stmt *st;
	PGresult *res;
	int i;

	/* utility statements (BEGIN, LISTEN, SET...) cannot be prepared */
	if (strncmp(sql, "SELECT", 6) != 0 && strncmp(sql, "INSERT", 6) != 0 &&
	    strncmp(sql, "UPDATE", 6) != 0 && strncmp(sql, "DELETE", 6) != 0 &&
	    strncmp(sql, "WITH", 4) != 0)
		return NULL;
	for (i = 0; i < s->nstmts; i++)
		if (strcmp(s->stmts[i].sql, sql) == 0)
			return s->stmts[i].name;
	if (s->nstmts >= STMT_MAX)
		return NULL;
	st = &s->stmts[s->nstmts];
	(void)snprintf(st->name, sizeof(st->name), "mx%d", s->nstmts);
	res = PQprepare(s->db, st->name, sql, nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	st->sql = xstrdup(sql);
	s->nstmts++;
	return st->name;
}

static PGresult *exec(struct store *s, const char *sql, const struct params *p)
{
	int n = p ? p->n : 0;
	const char *const *v = p ? p->v : NULL;
	const char *name = stmt_name(s, sql, n);

	if (name != NULL)
		return PQexecPrepared(s->db, name, n, v, NULL, NULL, 0);
	return PQexecParams(s->db, sql, n, NULL, v, NULL, NULL, 0);
}

/* Run one statement; NULL on failure (err set). */
PGresult *store_q(struct store *s, const char *sql, const struct params *p,
		  const char *what, struct error *err)
{
	PGresult *res;
	ExecStatusType st;

	res = exec(s, sql, p);
	st = PQresultStatus(res);
	/*
	 * A connection the server closed (restart, failover) is only noticed
	 * here.  Outside a transaction nothing can have happened yet, so one
	 * reconnect and one retry make a database restart invisible.
	 */
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !s->in_tx &&
	    PQstatus(s->db) != CONNECTION_OK) {
		PQclear(res);
		PQreset(s->db);
		stmt_forget(s);
		if (PQstatus(s->db) == CONNECTION_OK)
			(void)set_session(s);
		res = exec(s, sql, p);
		st = PQresultStatus(res);
	}
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		store_fail(s, res, what, err);
		return NULL;
	}
	return res;
}

/* A result that is not needed: 0, or -1 for none (a failure). */
static int clear0(PGresult *res)
{
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/* Run a statement whose result is not needed. */
int store_q0(struct store *s, const char *sql, const struct params *p,
	     const char *what, struct error *err)
{
	return clear0(store_q(s, sql, p, what, err));
}

/* Make sure the connection is up; one reset attempt if it is not. */
int store_ensure_conn(struct store *s, struct error *err)
{
	if (PQstatus(s->db) == CONNECTION_OK)
		return 0;
	PQreset(s->db);
	stmt_forget(s);
	if (PQstatus(s->db) == CONNECTION_OK && set_session(s) == 0)
		return 0;
	return store_fail(s, NULL, "connect", err);
}

/* Outside a transaction: connect if need be, run, give p back. */
PGresult *store_run(struct store *s, const char *sql, struct params *p,
		    const char *what, struct error *err)
{
	PGresult *res = NULL;

	if (store_ensure_conn(s, err) == 0)
		res = store_q(s, sql, p, what, err);
	if (p != NULL)
		p_release(p);
	return res;
}

int store_run0(struct store *s, const char *sql, struct params *p,
	       const char *what, struct error *err)
{
	return clear0(store_run(s, sql, p, what, err));
}

/* One line per audit row just committed: the change as the journal
 * indexes it (DOMAIN=, ACTOR=, TICKET=; fcgi adds REQUEST_ID=). */
static void audit_log(struct store *s)
{
	size_t i;

	for (i = 0; i < s->nnotes; i++) {
		const struct audit_note *a = &s->notes[i];
		struct strbuf actor = STRBUF_INIT, ticket = STRBUF_INIT;

		sbuf_addesc(&actor, a->actor, ACTOR_MAX);
		sbuf_addesc(&ticket, a->ticket, TICKET_MAX);
		log_kv(LOG_LEVEL_INFO,
		       (struct log_field[]){ { LOG_F_DOMAIN, a->domain },
					     { LOG_F_ACTOR, a->actor },
					     { LOG_F_TICKET, a->ticket },
					     { NULL, NULL } },
		       "audit: %s%s%s by %s%s%s%s", a->action,
		       a->domain[0] ? " " : "", a->domain, actor.buf,
		       ticket.len ? " (ticket " : "", ticket.buf,
		       ticket.len ? ")" : "");
		sbuf_release(&actor);
		sbuf_release(&ticket);
	}
	s->nnotes = 0;
}

static void audit_note(struct store *s, const struct change_ctx *ctx,
		       const char *action, const char *domain)
{
	struct audit_note *a;

	if (s->nnotes == s->notes_cap) {
		s->notes_cap = s->notes_cap ? s->notes_cap * 2 : 8;
		s->notes = xrealloc(s->notes, s->notes_cap * sizeof(*s->notes));
	}
	a = &s->notes[s->nnotes++];
	(void)snprintf(a->action, sizeof(a->action), "%s", action);
	(void)snprintf(a->domain, sizeof(a->domain), "%s",
		       domain ? domain : "");
	(void)snprintf(a->actor, sizeof(a->actor), "%s", ctx->actor);
	(void)snprintf(a->ticket, sizeof(a->ticket), "%s",
		       ctx->ticket ? ctx->ticket : "");
}

/* Run fn inside one transaction, retrying serialization failures. */
int store_with_tx(struct store *s, tx_fn fn, void *arg, struct error *err)
{
	int attempt;

	for (attempt = 0;; attempt++) {
		s->sqlstate[0] = '\0';
		if (store_ensure_conn(s, err) < 0 ||
		    store_q0(s, "BEGIN", NULL, "begin", err) < 0)
			return -1;
		s->in_tx = true;
		s->nnotes = 0;
		if (fn(s, arg, err) == 0 &&
		    store_q0(s, "COMMIT", NULL, "commit", err) == 0) {
			s->in_tx = false;
			audit_log(s);
			return 0;
		}
		s->in_tx = false;
		s->nnotes = 0;
		if (PQstatus(s->db) == CONNECTION_OK)
			PQclear(PQexecParams(s->db, "ROLLBACK", 0, NULL, NULL,
					     NULL, NULL, 0));
		if (attempt + 1 >= TX_RETRIES ||
		    (strcmp(s->sqlstate, "40001") != 0 &&
		     strcmp(s->sqlstate, "40P01") != 0))
			return -1;
		error_clear(err);
	}
}

/* ---- open / close ------------------------------------------------ */

int store_open(struct store **out, const char *conninfo,
	       const struct conf *conf, struct error *err)
{
	static const char *const keys[] = { "dbname", "connect_timeout",
					    "application_name", NULL };
	char timeout[16];
	const char *vals[4];
	struct store *s;

	(void)snprintf(timeout, sizeof(timeout), "%d",
		       conf->db_connect_timeout > 0 ? conf->db_connect_timeout
						    : 5);
	vals[0] = conninfo;
	vals[1] = timeout;
	vals[2] = "mxfeed";
	vals[3] = NULL;
	s = xcalloc(1, sizeof(*s));
	s->conf = conf;
	/* expand_dbname: conninfo's own settings win over ours */
	s->db = PQconnectdbParams(keys, vals, 1);
	if (s->db == NULL || PQstatus(s->db) != CONNECTION_OK) {
		const char *msg =
			s->db ? PQerrorMessage(s->db) : "out of memory";

		error_set(err, ERR_TEMPFAIL, NULL,
			  "database unavailable: cannot connect: %.*s",
			  (int)strcspn(msg, "\n"), msg);
		PQfinish(s->db);
		free(s);
		return -1;
	}
	if (store_q0(s, "SET TIME ZONE 'UTC'", NULL, "settings", err) < 0) {
		store_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	PQfinish(s->db);
	stmt_forget(s);
	free(s->notes);
	free(s);
}

/* ---- audit rows --------------------------------------------------- */

static const char sql_audit[] =
	"INSERT INTO audit (actor, ticket, action, domain, old, new)"
	" VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)";

int store_audit(struct store *s, const struct change_ctx *ctx,
		const char *action, const char *domain, const json_t *old,
		const json_t *new, struct error *err)
{
	struct params p = { 0 };
	int rc;

	p_str(&p, ctx->actor);
	p_str(&p, ctx->ticket ? ctx->ticket : "");
	p_str(&p, action);
	p_str(&p, domain);
	p_json(&p, old);
	p_json(&p, new);
	rc = store_q0(s, sql_audit, &p, "audit", err);
	p_release(&p);
	if (rc == 0) {
		audit_note(s, ctx, action, domain);
		if (!s->in_tx)
			audit_log(s);
	}
	return rc;
}

/* ---- listings built by PostgreSQL, rows read with COPY ----------- */

json_t *store_json_query(struct store *s, const char *sql,
			 const struct params *p, const char *what,
			 struct error *err)
{
	PGresult *res;
	json_error_t je;
	json_t *j;

	if (store_ensure_conn(s, err) < 0 ||
	    (res = store_q(s, sql, p, what, err)) == NULL)
		return NULL;
	j = json_loads(PQgetvalue(res, 0, 0), 0, &je);
	PQclear(res);
	if (!json_is_array(j)) {
		json_decref(j);
		error_set(err, ERR_INTERNAL, NULL, "%s: unexpected JSON: %s",
			  what, je.text);
		return NULL;
	}
	return j;
}

#define COPY_COLS_MAX 128

/* One COPY text-format line split into cells in place: tabs separate,
 * "\N" is NULL (given as ""), backslash escapes are decoded (a decoded
 * cell is never longer than its text).  line[len] must be '\0', as
 * PQgetCopyData leaves it.  The number of cells, or -1 when there are
 * more than max. */
static int copy_split(char *line, size_t len, const char **cells, int max)
{
	char *r = line, *w = line, *end = line + len;
	int n = 0;

	if (len > 0 && end[-1] == '\n')
		end--;
	cells[n++] = w;
	while (r < end) {
		/* the plain bytes up to the next tab or escape at once; the
		 * NUL libpq ends the line with stops strcspn at the latest */
		size_t run = strcspn(r, "\t\\");
		char c;

		if (run > (size_t)(end - r))
			run = (size_t)(end - r);
		if (w != r)
			memmove(w, r, run);
		w += run;
		r += run;
		if (r == end)
			break;
		c = *r++;
		if (c == '\t') {
			*w++ = '\0';
			if (n == max)
				return -1;
			cells[n++] = w;
			continue;
		}
		if (c != '\\' || r == end) {
			*w++ = c;
			continue;
		}
		c = *r++;
		switch (c) {
		case 'N': /* NULL: the whole cell */
			break;
		case 'b':
			*w++ = '\b';
			break;
		case 'f':
			*w++ = '\f';
			break;
		case 'n':
			*w++ = '\n';
			break;
		case 'r':
			*w++ = '\r';
			break;
		case 't':
			*w++ = '\t';
			break;
		case 'v':
			*w++ = '\v';
			break;
		default:
			if (c >= '0' && c <= '7') {
				int v = c - '0', k;

				for (k = 0;
				     k < 2 && r < end && *r >= '0' && *r <= '7';
				     k++)
					v = v * 8 + (*r++ - '0');
				*w++ = (char)v;
			} else {
				*w++ = c; /* "\\" and any other: the byte */
			}
			break;
		}
	}
	*w = '\0';
	return n;
}

/* "COPY (SELECT ...) TO STDOUT": fn() for each row, as it arrives (the
 * rows are never all in memory).  A row of another width than ncols is
 * an error; after an fn() error the rest of the COPY is drained. */
int store_copy_rows(struct store *s, const char *select, int ncols, copy_fn fn,
		    void *arg, const char *what, struct error *err)
{
	struct strbuf sql = STRBUF_INIT;
	const char *cells[COPY_COLS_MAX];
	PGresult *res;
	char *buf;
	int len, rc = 0;

	if (ncols > COPY_COLS_MAX)
		return error_set(err, ERR_INTERNAL, NULL, "%s: %d columns",
				 what, ncols);
	sbuf_addf(&sql, "COPY (%s) TO STDOUT", select);
	res = PQexec(s->db, sql.buf);
	sbuf_release(&sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		store_fail(s, res, what, err);
		return -1;
	}
	PQclear(res);
	while ((len = PQgetCopyData(s->db, &buf, 0)) > 0) {
		if (rc == 0) {
			int n = copy_split(buf, (size_t)len, cells, ncols);

			if (n != ncols)
				rc = error_set(err, ERR_INTERNAL, NULL,
					       "%s: a row of %d columns, "
					       "not %d",
					       what, n, ncols);
			else
				rc = fn(arg, cells, n, err);
		}
		PQfreemem(buf);
	}
	if (len == -2 && rc == 0)
		rc = store_fail(s, NULL, what, err);
	while ((res = PQgetResult(s->db)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
			rc = store_fail(s, res, what, err);
		else
			PQclear(res);
	}
	return rc;
}
