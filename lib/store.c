/*
 * store - the PostgreSQL store (libpq): the only place SQL lives
 *
 * See store.h for the contract.  Conventions inside:
 *   - every statement is a static const char[] below and runs through
 *     q(), which prepares it on the connection at first use (then runs
 *     it by name with text parameters), checks the result status and
 *     maps failures through store_fail();
 *   - a change runs in with_tx(): BEGIN, the work, COMMIT; on a
 *     serialization failure or deadlock (40001, 40P01) the whole
 *     transaction is retried a few times, then reported as ERR_TEMPFAIL;
 *   - rows read back are re-checked (ip_parse, enum tables): a row the
 *     validators would refuse is reported as ERR_INTERNAL, never used.
 * Timestamps cross the wire as unix seconds (bigint); JSON listings are
 * built by PostgreSQL (json_agg) with mx_utc() text timestamps.
 */
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "domain_json.h"
#include "metrics.h"
#include "util/log.h"
#include "util/parse.h"

#define TX_RETRIES 3
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

static void p_str(struct params *p, const char *s)
{
	p->v[p->n++] = s;
}

static void p_int(struct params *p, int64_t v)
{
	(void)snprintf(p->buf[p->n], PARAM_LEN, "%" PRId64, v);
	p->v[p->n] = p->buf[p->n];
	p->n++;
}

/* unix seconds, 0 = NULL */
static void p_time(struct params *p, int64_t t)
{
	if (t == 0)
		p_str(p, NULL);
	else
		p_int(p, t);
}

static void p_bool(struct params *p, bool b)
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

static void p_big_done(struct params *p)
{
	p->v[p->n - 1] = p->big[p->nbig - 1].buf;
}

static void p_json(struct params *p, const json_t *j)
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

static void p_release(struct params *p)
{
	int i;

	for (i = 0; i < p->nbig; i++)
		sbuf_release(&p->big[i]);
	p->nbig = 0;
}

/* ---- failures ---------------------------------------------------- */

static bool tempfail_state(const char *st)
{
	return strncmp(st, "08", 2) == 0 || strncmp(st, "53", 2) == 0 ||
	       strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 ||
	       strcmp(st, "57P03") == 0 || strcmp(st, "40001") == 0 ||
	       strcmp(st, "40P01") == 0;
}

/* Map a failed result (res may be NULL) to err; clears res. */
static int store_fail(struct store *s, PGresult *res, const char *what,
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
static PGresult *q(struct store *s, const char *sql, const struct params *p,
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

/* Run a statement whose result is not needed. */
static int q0(struct store *s, const char *sql, const struct params *p,
	      const char *what, struct error *err)
{
	PGresult *res = q(s, sql, p, what, err);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/* Make sure the connection is up; one reset attempt if it is not. */
static int ensure_conn(struct store *s, struct error *err)
{
	if (PQstatus(s->db) == CONNECTION_OK)
		return 0;
	PQreset(s->db);
	stmt_forget(s);
	if (PQstatus(s->db) == CONNECTION_OK && set_session(s) == 0)
		return 0;
	return store_fail(s, NULL, "connect", err);
}

typedef int (*tx_fn)(struct store *s, void *arg, struct error *err);

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
static int with_tx(struct store *s, tx_fn fn, void *arg, struct error *err)
{
	int attempt;

	for (attempt = 0;; attempt++) {
		s->sqlstate[0] = '\0';
		if (ensure_conn(s, err) < 0 ||
		    q0(s, "BEGIN", NULL, "begin", err) < 0)
			return -1;
		s->in_tx = true;
		s->nnotes = 0;
		if (fn(s, arg, err) == 0 &&
		    q0(s, "COMMIT", NULL, "commit", err) == 0) {
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
	if (q0(s, "SET TIME ZONE 'UTC'", NULL, "settings", err) < 0) {
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

/* ---- domains: reading -------------------------------------------- */

#define EPOCH(x) "coalesce(floor(extract(epoch FROM " x "))::bigint, 0)"

/*
 * The record's columns: the hand-read ones (identity, temporary POP3,
 * destination), then one per row of fields.def that has a column, in
 * the table's order, then the bookkeeping.  The statement texts are
 * built from the table, so a new row needs no edit here.
 */
enum {
	C_NAME,
	C_UNAME,
	C_MODE,
	C_TP_SINCE,
	C_TP_BY,
	C_HOST,
	C_PORT,
	C_FB_HOSTS,
	C_FB_PORTS,
	C_FIELDS /* the first of fields.def's columns */
};

/* after the fields: offsets from C_FIELDS + nsql_fields() */
enum {
	B_VERSION,
	B_CREATED_AT,
	B_CREATED_BY,
	B_UPDATED_AT,
	B_UPDATED_BY,
	B_TICKET,
	B_SEQ,
	B_APPLIED,
	B_TOTAL
};

static int nsql_fields(void)
{
	int i, n = 0;

	for (i = 0; i < FLD_COUNT; i++)
		n += domain_fields[i].sql != NULL;
	return n;
}

/* clang-format off */
static void domain_cols(struct strbuf *sql)
{
	int i;

	sbuf_addstr(sql,
		"SELECT d.name, d.unicode_name, d.mode, "
		EPOCH("d.temp_pop3_since") ", coalesce(d.temp_pop3_by, ''),"
		/* inet's text is the bare address for a host (/32, /128) */
		" coalesce(host(d.dest_host), ''), coalesce(d.dest_port, 0),"
		" array_to_string(d.fallback_hosts, ','),"
		" array_to_string(d.fallback_ports, ','),");
	for (i = 0; i < FLD_COUNT; i++) {
		const struct field *f = &domain_fields[i];

		if (f->sql == NULL)
			continue;
		if (f->type == FT_TIME)
			sbuf_addf(sql, " coalesce(floor(extract(epoch FROM"
				  " d.%s))::bigint, 0),", f->sql);
		else if (f->type == FT_FINGERPRINT)
			sbuf_addf(sql, " coalesce(d.%s, ''),", f->sql);
		else
			sbuf_addf(sql, " d.%s,", f->sql);
	}
	sbuf_addstr(sql,
		" d.version, " EPOCH("d.created_at") ", d.created_by, "
		EPOCH("d.updated_at") ", d.updated_by, d.ticket,");
}

/* ...with the propagation of the domain's latest change */
static const char sql_domain_prop[] =
	" coalesce(p.seq, 0),"
	" (SELECT count(*) FROM relays r WHERE r.role = 'relay'"
	"   AND r.applied_seq >= coalesce(p.seq, 0)),"
	" (SELECT count(*) FROM relays r WHERE r.role = 'relay')"
	" FROM domains d LEFT JOIN LATERAL"
	" (SELECT max(c.seq) AS seq FROM changes c WHERE c.domain = d.name) p"
	" ON true ";
/* ...without it, for the generators (100k rows: every lookup counts) */
static const char sql_domain_lean[] = " 0, 0, 0 FROM domains d ";
/* clang-format on */

static bool str_i64(const char *v, int64_t *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0')
		return false;
	*out = n;
	return true;
}

static bool get_i64(const PGresult *res, int row, int col, int64_t *out)
{
	return str_i64(PQgetvalue(res, row, col), out);
}

static bool get_int(const PGresult *res, int row, int col, int lo, int hi,
		    int *out)
{
	int64_t v;

	if (!get_i64(res, row, col, &v) || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

static bool get_enum(const PGresult *res, int row, int col,
		     const char *const *names, int *out)
{
	*out = parse_enum(PQgetvalue(res, row, col), names);
	return *out >= 0;
}

static bool get_text(const PGresult *res, int row, int col, char *buf,
		     size_t size)
{
	return strlcpy_checked(buf, PQgetvalue(res, row, col), size) == 0;
}

static bool get_bool(const PGresult *res, int row, int col)
{
	return PQgetvalue(res, row, col)[0] == 't';
}

/* A stored address: canonical, but no range policy (that was applied
 * when it was written; a site may have tightened it since). */
static bool get_dest(const char *host, const char *port, struct dest *d)
{
	struct error e = ERROR_INIT;
	long n;
	bool ok = ip_parse(host, &d->ip, "host", &e) == 0 &&
		  parse_long(port, 1, 65535, &n, "port", &e) == 0;

	error_release(&e);
	if (ok)
		d->port = (uint16_t)n;
	return ok;
}

/* A domain row's cells: a PGresult's row, or a COPY line split into
 * columns (cells[i], "" for NULL). */
struct rowv {
	const PGresult *res;
	int row;
	const char *const *cells;
};

static const char *cell(const struct rowv *r, int col)
{
	return r->cells != NULL ? r->cells[col]
				: PQgetvalue(r->res, r->row, col);
}

static bool cell_text(const struct rowv *r, int col, char *buf, size_t size)
{
	return strlcpy_checked(buf, cell(r, col), size) == 0;
}

static bool cell_i64(const struct rowv *r, int col, int64_t *out)
{
	return str_i64(cell(r, col), out);
}

static bool get_fallbacks(const struct rowv *r, struct domain *d)
{
	char hosts[DOMAIN_FALLBACKS_MAX * (IP_TEXT_MAX + 1)];
	char ports[DOMAIN_FALLBACKS_MAX * 6 + 8];
	char *hp = hosts, *pp = ports, *h, *p;

	d->nfallbacks = 0;
	if (!cell_text(r, C_FB_HOSTS, hosts, sizeof(hosts)) ||
	    !cell_text(r, C_FB_PORTS, ports, sizeof(ports)))
		return false;
	if (hosts[0] == '\0')
		return ports[0] == '\0';
	while ((h = strsep(&hp, ",")) != NULL) {
		p = strsep(&pp, ",");
		if (p == NULL || d->nfallbacks >= DOMAIN_FALLBACKS_MAX ||
		    !get_dest(h, p, &d->fallbacks[d->nfallbacks]))
			return false;
		d->nfallbacks++;
	}
	return pp == NULL;
}

static bool get_fields(const struct rowv *r, struct domain *d,
		       struct error *err)
{
	int i, col = C_FIELDS;

	for (i = 0; i < FLD_COUNT; i++) {
		const struct field *f = &domain_fields[i];

		if (f->sql == NULL)
			continue;
		if (domain_field_load(d, f, cell(r, col++), err) < 0) {
			error_clear(err);
			return false;
		}
	}
	return true;
}

static int rowv_to_domain(const struct rowv *r, struct domain *d,
			  struct propagation *prop, struct error *err)
{
	int m = -1, b = C_FIELDS + nsql_fields();
	int64_t seq = 0, applied = 0, total = 0;
	bool ok;

	memset(d, 0, sizeof(*d));
	ok = cell_text(r, C_NAME, d->name.alabel, sizeof(d->name.alabel)) &&
	     cell_text(r, C_UNAME, d->name.ulabel, sizeof(d->name.ulabel)) &&
	     (m = parse_enum(cell(r, C_MODE), domain_mode_names)) >= 0 &&
	     cell_i64(r, C_TP_SINCE, &d->temp_pop3_since) &&
	     cell_text(r, C_TP_BY, d->temp_pop3_by, sizeof(d->temp_pop3_by)) &&
	     get_fields(r, d, err) && cell_i64(r, b + B_VERSION, &d->version) &&
	     cell_i64(r, b + B_CREATED_AT, &d->created_at) &&
	     cell_text(r, b + B_CREATED_BY, d->created_by,
		       sizeof(d->created_by)) &&
	     cell_i64(r, b + B_UPDATED_AT, &d->updated_at) &&
	     cell_text(r, b + B_UPDATED_BY, d->updated_by,
		       sizeof(d->updated_by)) &&
	     cell_text(r, b + B_TICKET, d->ticket, sizeof(d->ticket)) &&
	     cell_i64(r, b + B_SEQ, &seq) &&
	     cell_i64(r, b + B_APPLIED, &applied) &&
	     cell_i64(r, b + B_TOTAL, &total) && get_fallbacks(r, d);
	if (ok && cell(r, C_HOST)[0] != '\0') {
		d->has_dest = true;
		ok = get_dest(cell(r, C_HOST), cell(r, C_PORT), &d->dest);
	}
	if (!ok) {
		struct strbuf name = STRBUF_INIT;

		sbuf_addesc(&name, cell(r, C_NAME), 64);
		error_set(err, ERR_INTERNAL, NULL,
			  "stored record of %s does not pass the validators",
			  name.buf);
		sbuf_release(&name);
		return -1;
	}
	d->mode = (enum domain_mode)m;
	d->temp_pop3 = d->temp_pop3_since != 0;
	if (prop != NULL) {
		prop->sequence = seq;
		prop->relays_applied = (long)applied;
		prop->relays_total = (long)total;
	}
	return 0;
}

static int row_to_domain(const PGresult *res, int row, struct domain *d,
			 struct propagation *prop, struct error *err)
{
	const struct rowv r = { res, row, NULL };

	return rowv_to_domain(&r, d, prop, err);
}

static const char sql_domain_get_tail[] = "WHERE d.name = $1";

/*
 * The text of the one-domain read, built once per process: it is the
 * API's hottest statement (every GET of a domain), and composing it
 * from the field table on each call was 2% of mxfeed-fcgi's CPU there.
 * Kept for the life of the process (reachable, never freed).
 */
static struct strbuf sql_get_text = STRBUF_INIT;
static pthread_once_t sql_get_once = PTHREAD_ONCE_INIT;

static void sql_get_build(void)
{
	domain_cols(&sql_get_text);
	sbuf_addstr(&sql_get_text, sql_domain_prop);
	sbuf_addstr(&sql_get_text, sql_domain_get_tail);
}

enum lookup store_domain_get(struct store *s, const struct domain_name *dn,
			     struct domain *out, struct propagation *prop,
			     struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	enum lookup rc;

	if (ensure_conn(s, err) < 0)
		return LOOKUP_FAIL;
	(void)pthread_once(&sql_get_once, sql_get_build);
	p_str(&p, dn->alabel);
	res = q(s, sql_get_text.buf, &p, "read", err);
	if (res == NULL)
		return LOOKUP_FAIL;
	if (PQntuples(res) == 0)
		rc = LOOKUP_NOTFOUND;
	else if (row_to_domain(res, 0, out, prop, err) < 0)
		rc = LOOKUP_FAIL;
	else
		rc = LOOKUP_FOUND;
	PQclear(res);
	return rc;
}

static const char sql_domain_list_tail[] =
	"WHERE ($1::text IS NULL OR d.mode = $1)"
	" AND ($2::text IS NULL OR strpos(d.name, lower($2)) > 0"
	"      OR strpos(lower(d.unicode_name), lower($2)) > 0)"
	" AND ($3::text IS NULL OR d.name > $3)"
	" AND ($5::text IS NULL OR d.name = ANY (string_to_array($5, ',')))"
	" ORDER BY d.name LIMIT $4";

int store_domain_list(struct store *s, const struct domain_filter *f,
		      struct domain_list *out, struct error *err)
{
	struct params p = { 0 };
	struct strbuf sql = STRBUF_INIT;
	PGresult *res;
	int i, n;

	memset(out, 0, sizeof(*out));
	if (f->limit < 1 || f->limit > 1000)
		return error_set(err, ERR_INVALID, "limit",
				 "limit must be a whole number from 1 to 1000");
	if (ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, f->mode >= 0 ? domain_mode_names[f->mode] : NULL);
	p_str(&p, f->match);
	p_str(&p, f->after);
	p_int(&p, f->limit);
	if (f->scope != NULL) {
		struct strbuf *sb = p_big(&p);
		size_t k;

		/* names are LDH: a comma cannot occur in one */
		for (k = 0; k < f->nscope; k++)
			sbuf_addf(sb, "%s%s", k ? "," : "", f->scope[k].alabel);
		p_big_done(&p);
	} else {
		p_str(&p, NULL);
	}
	domain_cols(&sql);
	sbuf_addstr(&sql, sql_domain_prop);
	sbuf_addstr(&sql, sql_domain_list_tail);
	res = q(s, sql.buf, &p, "list", err);
	p_release(&p);
	sbuf_release(&sql);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	out->v = xcalloc((size_t)n + 1, sizeof(*out->v));
	out->prop = xcalloc((size_t)n + 1, sizeof(*out->prop));
	for (i = 0; i < n; i++) {
		if (row_to_domain(res, i, &out->v[i], &out->prop[i], err) < 0) {
			PQclear(res);
			domain_list_release(out);
			return -1;
		}
		out->n++;
	}
	PQclear(res);
	return 0;
}

void domain_list_release(struct domain_list *l)
{
	free(l->v);
	free(l->prop);
	memset(l, 0, sizeof(*l));
}

/* ---- domains: writing -------------------------------------------- */

/* $1.. of the settings, in the column order of domain_set_sql(). */
static void domain_params(struct params *p, const struct domain *d)
{
	struct strbuf *hosts, *ports;
	size_t i;

	p_str(p, d->name.alabel);
	p_str(p, d->name.ulabel);
	p_str(p, domain_mode_names[d->mode]);
	p_time(p, d->temp_pop3 ? d->temp_pop3_since : 0);
	p_str(p, d->temp_pop3 ? d->temp_pop3_by : NULL);
	p_str(p, d->has_dest ? d->dest.ip.text : NULL);
	if (d->has_dest)
		p_int(p, d->dest.port);
	else
		p_str(p, NULL);
	hosts = p_big(p);
	for (i = 0; i < d->nfallbacks; i++)
		sbuf_addf(hosts, "%s%s", i ? "," : "", d->fallbacks[i].ip.text);
	p_big_done(p);
	ports = p_big(p);
	for (i = 0; i < d->nfallbacks; i++)
		sbuf_addf(ports, "%s%u", i ? "," : "",
			  (unsigned)d->fallbacks[i].port);
	p_big_done(p);
	for (i = 0; i < FLD_COUNT; i++) {
		const struct field *f = &domain_fields[i];

		if (f->sql == NULL)
			continue;
		switch (f->type) {
		case FT_BOOL:
			p_bool(p, domain_field_bool(d, f));
			break;
		case FT_INT:
			p_int(p, domain_field_int(d, f));
			break;
		case FT_ENUM:
		case FT_TEXT:
			p_str(p, domain_field_str(d, f));
			break;
		case FT_TIME:
			p_time(p, domain_field_time(d, f));
			break;
		case FT_FINGERPRINT: /* "" is null */
			p_str(p, domain_field_str(d, f)[0]
					 ? domain_field_str(d, f)
					 : NULL);
			break;
		case FT_CUSTOM:
			BUG("%s has a column but no type", f->path);
		}
	}
}

#define DOMAIN_HAND_COLS                                                       \
	"name, unicode_name, mode, temp_pop3_since, temp_pop3_by,"             \
	" dest_host, dest_port, fallback_hosts, fallback_ports"
#define DOMAIN_HAND_VALUES                                                     \
	"$1, $2, $3, to_timestamp($4::bigint), $5, $6::inet, $7::integer,"     \
	" string_to_array($8, ',')::inet[],"                                   \
	" string_to_array($9, ',')::integer[]"
#define DOMAIN_HAND_NPARAMS 9

/* "(COLS, version, ...) VALUES|= (VALUES, ": the settings' columns and
 * their placeholders; the number of the next parameter. */
static int domain_set_sql(struct strbuf *sql, const char *more_cols,
			  const char *between)
{
	int i, n = DOMAIN_HAND_NPARAMS;

	sbuf_addstr(sql, "(" DOMAIN_HAND_COLS);
	for (i = 0; i < FLD_COUNT; i++)
		if (domain_fields[i].sql != NULL)
			sbuf_addf(sql, ", %s", domain_fields[i].sql);
	sbuf_addf(sql, ", %s) %s (" DOMAIN_HAND_VALUES, more_cols, between);
	for (i = 0; i < FLD_COUNT; i++) {
		const struct field *f = &domain_fields[i];

		if (f->sql == NULL)
			continue;
		n++;
		switch (f->type) {
		case FT_BOOL:
			sbuf_addf(sql, ", $%d::boolean", n);
			break;
		case FT_INT:
			sbuf_addf(sql, ", $%d::integer", n);
			break;
		case FT_TIME:
			sbuf_addf(sql, ", to_timestamp($%d::bigint)", n);
			break;
		default:
			sbuf_addf(sql, ", $%d", n);
			break;
		}
	}
	return n + 1;
}

static void sql_domain_insert(struct strbuf *sql)
{
	int n;

	sbuf_addstr(sql, "INSERT INTO domains ");
	n = domain_set_sql(sql, "version, created_by, updated_by, ticket",
			   "VALUES");
	sbuf_addf(sql,
		  ", 1, $%d, $%d, $%d) RETURNING " EPOCH(
			  "created_at") ", " EPOCH("updated_at"),
		  n, n, n + 1);
}

static void sql_domain_update(struct strbuf *sql)
{
	int n;

	sbuf_addstr(sql, "UPDATE domains SET ");
	n = domain_set_sql(sql, "version, updated_at, updated_by, ticket", "=");
	sbuf_addf(sql,
		  ", version + 1, now(), $%d, $%d) WHERE name = $1 AND "
		  "version = $%d RETURNING version, " EPOCH("updated_at"),
		  n, n + 1, n + 2);
}

static const char sql_domain_version[] =
	"SELECT version, updated_by FROM domains WHERE name = $1";

static const char sql_domain_delete[] =
	"DELETE FROM domains WHERE name = $1 AND version = $2";

static const char sql_domain_mailboxes[] =
	"SELECT count(*) FROM mailboxes m JOIN domains d ON d.id = m.domain_id"
	" WHERE d.name = $1";

static const char sql_audit[] =
	"INSERT INTO audit (actor, ticket, action, domain, old, new)"
	" VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)";

static int audit(struct store *s, const struct change_ctx *ctx,
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
	rc = q0(s, sql_audit, &p, "audit", err);
	p_release(&p);
	if (rc == 0) {
		audit_note(s, ctx, action, domain);
		if (!s->in_tx)
			audit_log(s);
	}
	return rc;
}

static int audit_domain(struct store *s, const struct change_ctx *ctx,
			const char *action, const struct domain *old,
			const struct domain *new, struct error *err)
{
	json_t *jo = old ? domain_to_json(old, NULL) : NULL;
	json_t *jn = new ? domain_to_json(new, NULL) : NULL;
	int rc = audit(s, ctx, action, (new ? new : old)->name.alabel, jo, jn,
		       err);

	json_decref(jo);
	json_decref(jn);
	return rc;
}

static void set_bookkeeping(struct domain *d, const struct change_ctx *ctx)
{
	if (strlcpy_checked(d->updated_by, ctx->actor, sizeof(d->updated_by)) <
		    0 ||
	    strlcpy_checked(d->ticket, ctx->ticket ? ctx->ticket : "",
			    sizeof(d->ticket)) < 0) {
		/* actor_check() bounds both: cannot happen */
		d->updated_by[0] = '\0';
		d->ticket[0] = '\0';
	}
}

static int do_create(struct store *s, struct domain *d,
		     const struct change_ctx *ctx, struct error *err)
{
	struct params p = { 0 };
	struct strbuf sql = STRBUF_INIT;
	PGresult *res;
	bool ok;

	domain_params(&p, d);
	p_str(&p, ctx->actor);
	p_str(&p, ctx->ticket ? ctx->ticket : "");
	sql_domain_insert(&sql);
	res = q(s, sql.buf, &p, d->name.alabel, err);
	p_release(&p);
	sbuf_release(&sql);
	if (res == NULL) {
		if (err->code == ERR_CONFLICT) {
			error_clear(err);
			error_set(err, ERR_CONFLICT, "name",
				  "%s already exists", d->name.alabel);
		}
		return -1;
	}
	ok = PQntuples(res) == 1 && get_i64(res, 0, 0, &d->created_at) &&
	     get_i64(res, 0, 1, &d->updated_at);
	PQclear(res);
	if (!ok)
		return error_set(err, ERR_INTERNAL, NULL,
				 "unexpected answer to an insert");
	d->version = 1;
	set_bookkeeping(d, ctx);
	if (strlcpy_checked(d->created_by, ctx->actor, sizeof(d->created_by)) <
	    0)
		d->created_by[0] = '\0';
	return audit_domain(s, ctx, "create", NULL, d, err);
}

/* Why did a version-guarded statement touch no row? */
static int stale_or_gone(struct store *s, const struct domain *old,
			 struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	int rc;

	p_str(&p, old->name.alabel);
	res = q(s, sql_domain_version, &p, "version check", err);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0)
		rc = error_set(err, ERR_NOTFOUND, "name", "%s no longer exists",
			       old->name.alabel);
	else
		rc = error_set(err, ERR_STALE, "version",
			       "changed concurrently: version is now %s (by "
			       "%s), not %" PRId64 "; review and retry",
			       PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
			       old->version);
	PQclear(res);
	return rc;
}

static int do_update(struct store *s, const struct domain *old,
		     struct domain *nd, const struct change_ctx *ctx,
		     const char *action, struct error *err)
{
	struct params p = { 0 };
	struct strbuf sql = STRBUF_INIT;
	PGresult *res;
	int n;
	bool ok;

	domain_params(&p, nd);
	p_str(&p, ctx->actor);
	p_str(&p, ctx->ticket ? ctx->ticket : "");
	p_int(&p, old->version);
	sql_domain_update(&sql);
	res = q(s, sql.buf, &p, nd->name.alabel, err);
	p_release(&p);
	sbuf_release(&sql);
	if (res == NULL)
		return -1;
	n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		return stale_or_gone(s, old, err);
	}
	ok = get_i64(res, 0, 0, &nd->version) &&
	     get_i64(res, 0, 1, &nd->updated_at);
	PQclear(res);
	if (!ok)
		return error_set(err, ERR_INTERNAL, NULL,
				 "unexpected answer to an update");
	nd->created_at = old->created_at;
	if (strlcpy_checked(nd->created_by, old->created_by,
			    sizeof(nd->created_by)) < 0)
		nd->created_by[0] = '\0';
	set_bookkeeping(nd, ctx);
	return audit_domain(s, ctx, action, old, nd, err);
}

struct create_arg {
	struct domain *d;
	const struct change_ctx *ctx;
};

static int tx_create(struct store *s, void *arg, struct error *err)
{
	struct create_arg *a = arg;

	return do_create(s, a->d, a->ctx, err);
}

int store_domain_create(struct store *s, struct domain *d,
			const struct change_ctx *ctx, struct error *err)
{
	struct create_arg a = { d, ctx };

	return with_tx(s, tx_create, &a, err);
}

struct update_arg {
	const struct domain *old;
	struct domain *nd;
	const struct change_ctx *ctx;
	const char *action;
};

static int tx_update(struct store *s, void *arg, struct error *err)
{
	struct update_arg *a = arg;

	return do_update(s, a->old, a->nd, a->ctx, a->action, err);
}

int store_domain_update(struct store *s, const struct domain *old,
			struct domain *nd, const struct change_ctx *ctx,
			const char *action, struct error *err)
{
	struct update_arg a = { old, nd, ctx, action ? action : "update" };

	return with_tx(s, tx_update, &a, err);
}

static int tx_remove(struct store *s, void *arg, struct error *err)
{
	struct update_arg *a = arg;
	struct params p = { 0 };
	PGresult *res;
	int64_t n = 0;

	p_str(&p, a->old->name.alabel);
	res = q(s, sql_domain_mailboxes, &p, "mailbox count", err);
	if (res == NULL)
		return -1;
	if (!get_i64(res, 0, 0, &n))
		n = -1;
	PQclear(res);
	if (n != 0)
		return error_set(err, ERR_CONFLICT, "mailboxes",
				 "%s still has %" PRId64
				 " mailbox%s: archive or "
				 "remove them first ('feedctl mailbox list')",
				 a->old->name.alabel, n, n == 1 ? "" : "es");
	p_int(&p, a->old->version);
	res = q(s, sql_domain_delete, &p, "remove", err);
	if (res == NULL)
		return -1;
	n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (n == 0)
		return stale_or_gone(s, a->old, err);
	return audit_domain(s, a->ctx, "remove", a->old, NULL, err);
}

int store_domain_remove(struct store *s, const struct domain *old,
			const struct change_ctx *ctx, struct error *err)
{
	struct update_arg a = { old, NULL, ctx, "remove" };

	return with_tx(s, tx_remove, &a, err);
}

struct apply_arg {
	struct apply_item *items;
	size_t n;
	const struct change_ctx *ctx;
};

static int tx_apply(struct store *s, void *arg, struct error *err)
{
	struct apply_arg *a = arg;
	size_t i;

	for (i = 0; i < a->n; i++) {
		struct apply_item *it = &a->items[i];
		int rc = it->old ? do_update(s, it->old, it->new, a->ctx,
					     "apply", err)
				 : do_create(s, it->new, a->ctx, err);

		if (rc < 0)
			return -1;
	}
	return 0;
}

int store_domain_apply(struct store *s, struct apply_item *items, size_t n,
		       const struct change_ctx *ctx, struct error *err)
{
	struct apply_arg a = { items, n, ctx };

	return with_tx(s, tx_apply, &a, err);
}

/* ---- listings built by PostgreSQL -------------------------------- */

static json_t *json_query(struct store *s, const char *sql,
			  const struct params *p, const char *what,
			  struct error *err)
{
	PGresult *res;
	json_error_t je;
	json_t *j;

	if (ensure_conn(s, err) < 0 || (res = q(s, sql, p, what, err)) == NULL)
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

static const char sql_history[] =
	"SELECT coalesce(json_agg(json_build_object('id', id, 'at', mx_utc(at),"
	" 'action', action, 'actor', actor, 'ticket', nullif(ticket, ''), "
	"'old', old,"
	" 'new', new) ORDER BY id DESC), '[]')::text FROM"
	" (SELECT * FROM audit WHERE domain = $1 ORDER BY id DESC LIMIT $2) a";

json_t *store_history(struct store *s, const struct domain_name *dn, long limit,
		      struct error *err)
{
	struct params p = { 0 };

	p_str(&p, dn->alabel);
	p_int(&p, limit);
	return json_query(s, sql_history, &p, "history", err);
}

/* state: retired; down (no heartbeat for a minute); failing (its last
 * apply failed); behind (not at the newest change); else ok */
static const char sql_relays[] =
	"SELECT coalesce(json_agg(json_build_object('name', name, 'role', role,"
	" 'addresses', (SELECT coalesce(json_agg(host(a)), '[]')"
	"   FROM unnest(addresses) a), 'applied_seq', applied_seq,"
	" 'applied_at', mx_utc(applied_at), 'heartbeat', mx_utc(heartbeat),"
	" 'heartbeat_age', extract(epoch FROM now() - heartbeat)::bigint,"
	" 'lag', greatest(m.seq - applied_seq, 0),"
	" 'state', CASE WHEN role = 'retired' THEN 'retired'"
	"  WHEN heartbeat IS NULL OR heartbeat <= now() - interval '60 seconds'"
	"  THEN 'down' WHEN last_error IS NOT NULL THEN 'failing'"
	"  WHEN role = 'relay' AND applied_seq < m.seq THEN 'behind'"
	"  ELSE 'ok' END,"
	" 'queue_total', queue_total, 'queue_as_of', mx_utc(queue_as_of),"
	" 'read_lag_ms', read_lag_ms,"
	" 'retired_at', mx_utc(retired_at), 'retired_by', retired_by,"
	" 'last_error', last_error) ORDER BY name), '[]')::text FROM relays,"
	" (SELECT coalesce(max(seq), 0) AS seq FROM changes) m";

json_t *store_relay_list(struct store *s, struct error *err)
{
	return json_query(s, sql_relays, NULL, "relays", err);
}

static const char sql_relay_addresses[] =
	"SELECT coalesce(json_agg(host(a) ORDER BY family(a), a), '[]')::text"
	" FROM"
	" (SELECT DISTINCT host(unnest(addresses))::inet AS a FROM relays"
	"  WHERE role = 'relay') x";

json_t *store_relay_addresses(struct store *s, struct error *err)
{
	return json_query(s, sql_relay_addresses, NULL, "relay addresses", err);
}

static const char sql_jobs[] =
	"SELECT coalesce(json_agg(json_build_object('id', id, 'kind', kind,"
	" 'domain', domain, 'state', state, 'step', step, 'attempts', attempts,"
	" 'after_seq', after_seq, 'run_after', mx_utc(run_after),"
	" 'last_error', last_error, 'payload', payload,"
	" 'created_at', mx_utc(created_at), 'created_by', created_by)"
	" ORDER BY id DESC), '[]')::text FROM"
	" (SELECT * FROM jobs WHERE $1::text IS NULL OR domain = $1"
	"  ORDER BY id DESC LIMIT 500) j";

json_t *store_job_list(struct store *s, const struct domain_name *dn,
		       struct error *err)
{
	struct params p = { 0 };

	p_str(&p, dn ? dn->alabel : NULL);
	return json_query(s, sql_jobs, &p, "jobs", err);
}

static const char sql_job_counts[] =
	"SELECT coalesce(json_agg(json_build_object('state', state,"
	" 'count', n) ORDER BY state), '[]')::text FROM"
	" (SELECT state, count(*) AS n FROM jobs GROUP BY state) j";

json_t *store_job_counts(struct store *s, struct error *err)
{
	struct params p = { 0 };

	return json_query(s, sql_job_counts, &p, "job counts", err);
}

/* ---- mailboxes ---------------------------------------------------- */

/* clang-format off */
static const char sql_mailbox_list[] =
	"SELECT m.id, m.local, m.temporary, m.catch_all, " EPOCH("m.created_at")
	", " EPOCH("m.expires_at") " FROM mailboxes m"
	" JOIN domains d ON d.id = m.domain_id WHERE d.name = $1"
	" ORDER BY m.catch_all, m.local";
/* clang-format on */

int store_mailbox_list(struct store *s, const struct domain_name *dn,
		       struct mailbox **out, size_t *n, struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	int i, rows;

	*out = NULL;
	*n = 0;
	if (ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, dn->alabel);
	if ((res = q(s, sql_mailbox_list, &p, "mailboxes", err)) == NULL)
		return -1;
	rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (i = 0; i < rows; i++) {
		struct mailbox *m = &(*out)[i];

		if (!get_i64(res, i, 0, &m->id) ||
		    !get_text(res, i, 1, m->local, sizeof(m->local)) ||
		    !get_i64(res, i, 4, &m->created_at) ||
		    !get_i64(res, i, 5, &m->expires_at)) {
			PQclear(res);
			free(*out);
			*out = NULL;
			return error_set(err, ERR_INTERNAL, NULL,
					 "unexpected mailbox row");
		}
		m->temporary = get_bool(res, i, 2);
		m->catch_all = get_bool(res, i, 3);
	}
	*n = (size_t)rows;
	PQclear(res);
	return 0;
}

/* clang-format off */
static const char sql_mailbox_add[] =
	"INSERT INTO mailboxes (domain_id, local, password_hash, temporary,"
	" catch_all, expires_at) SELECT id, $2, $3, $4::boolean, $5::boolean,"
	" to_timestamp($6::bigint) FROM domains WHERE name = $1"
	" RETURNING id, " EPOCH("created_at");

/* a temporary mailbox kept after a revert (--keep-days) is taken into
 * use again, with the new password */
static const char sql_mailbox_add_temp[] =
	"INSERT INTO mailboxes (domain_id, local, password_hash, temporary,"
	" catch_all, expires_at) SELECT id, $2, $3, $4::boolean, $5::boolean,"
	" to_timestamp($6::bigint) FROM domains WHERE name = $1"
	" ON CONFLICT (domain_id, local) DO UPDATE"
	" SET password_hash = EXCLUDED.password_hash, expires_at = NULL"
	" WHERE mailboxes.temporary AND EXCLUDED.temporary"
	" RETURNING id, " EPOCH("created_at");
/* clang-format on */

struct mailbox_arg {
	const struct domain *d;
	const struct mailbox *mb;
	const char *local;
	const char *hash;
	const struct change_ctx *ctx;
};

static json_t *mailbox_json(const struct domain *d, const char *local,
			    const struct mailbox *mb)
{
	struct strbuf addr = STRBUF_INIT;
	json_t *j;

	sbuf_addf(&addr, "%s@%s", local, d->name.alabel);
	j = json_pack("{s:s}", "address", addr.buf);
	sbuf_release(&addr);

	if (mb != NULL) {
		json_object_set_new(j, "temporary",
				    json_boolean(mb->temporary));
		json_object_set_new(j, "catch_all",
				    json_boolean(mb->catch_all));
	}
	return j;
}

static const char sql_domain_lock_share[] =
	"SELECT mode = 'pop3' OR temp_pop3_since IS NOT NULL FROM domains"
	" WHERE name = $1 FOR SHARE";

/*
 * Mailboxes belong to pop3 domains and to domains in temporary POP3.
 * The row lock makes a concurrent switch wait for this transaction (and
 * its job query see the new mailbox), or this one wait for the switch
 * and then refuse.
 */
static int domain_takes_mailboxes(struct store *s, const struct domain *d,
				  struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	int rows;
	bool ok;

	p_str(&p, d->name.alabel);
	if ((res = q(s, sql_domain_lock_share, &p, "mailbox add", err)) == NULL)
		return -1;
	rows = PQntuples(res);
	ok = rows == 1 && get_bool(res, 0, 0);
	PQclear(res);
	if (rows == 0)
		return error_set(err, ERR_NOTFOUND, "name",
				 "%s no longer exists", d->name.alabel);
	if (!ok)
		return error_set(err, ERR_CONFLICT, "mode",
				 "%s is no longer a pop3 domain: it was "
				 "switched meanwhile",
				 d->name.alabel);
	return 0;
}

static int tx_mailbox_add(struct store *s, void *arg, struct error *err)
{
	struct mailbox_arg *a = arg;
	struct params p = { 0 };
	PGresult *res;
	json_t *j;
	int rc;

	if (domain_takes_mailboxes(s, a->d, err) < 0)
		return -1;
	p_str(&p, a->d->name.alabel);
	p_str(&p, a->mb->local);
	p_str(&p, a->hash);
	p_bool(&p, a->mb->temporary);
	p_bool(&p, a->mb->catch_all);
	p_time(&p, a->mb->expires_at);
	res = q(s, a->mb->temporary ? sql_mailbox_add_temp : sql_mailbox_add,
		&p, "mailbox add", err);
	if (res == NULL) {
		if (err->code == ERR_CONFLICT) {
			error_clear(err);
			if (a->mb->catch_all)
				error_set(err, ERR_CONFLICT, "catch_all",
					  "%s already has a catch-all mailbox",
					  a->d->name.alabel);
			else
				error_set(err, ERR_CONFLICT, "local",
					  "%s@%s already has a mailbox",
					  a->mb->local, a->d->name.alabel);
		}
		return -1;
	}
	rc = PQntuples(res);
	PQclear(res);
	/* the domain is there (locked above): no row is a mailbox of that
	 * name that is not a kept temporary one */
	if (rc == 0)
		return error_set(err, ERR_CONFLICT, "local",
				 "%s@%s already has a mailbox", a->mb->local,
				 a->d->name.alabel);
	j = mailbox_json(a->d, a->mb->local, a->mb);
	rc = audit(s, a->ctx, "mailbox-add", a->d->name.alabel, NULL, j, err);
	json_decref(j);
	return rc;
}

struct temp_arg {
	const struct domain *old;
	struct domain *nd;
	const struct mailbox *mbs;
	char *const *hashes;
	size_t n;
	const struct change_ctx *ctx;
};

static int no_open_jobs(struct store *s, const struct domain *d,
			struct error *err);
static int lock_domain(struct store *s, const struct domain *d,
		       struct error *err);

/* clang-format off */
/* temporary mailboxes a revert --keep-days left readable: their
 * archive jobs are called off, they are in use again */
static const char sql_keep_cancel[] =
	"UPDATE jobs SET state = 'done', lease_until = NULL, updated_at = now(),"
	" last_error = 'called off: temp-pop3 uses the kept mailbox again'"
	" WHERE domain = $1 AND kind = 'mailbox-archive' AND state = 'pending'"
	" AND run_after > now() AND (payload->>'mailbox_id')::bigint IN"
	" (SELECT m.id FROM mailboxes m JOIN domains d ON d.id = m.domain_id"
	"  WHERE d.name = $1 AND m.temporary AND m.expires_at IS NOT NULL)";

static const char sql_keep_end[] =
	"UPDATE mailboxes m SET expires_at = NULL FROM domains d"
	" WHERE d.id = m.domain_id AND d.name = $1 AND m.temporary";
/* clang-format on */

static int tx_temp_pop3(struct store *s, void *arg, struct error *err)
{
	struct temp_arg *a = arg;
	struct params p = { 0 };
	size_t i;

	p_str(&p, a->old->name.alabel);
	if (lock_domain(s, a->old, err) < 0 ||
	    q0(s, sql_keep_cancel, &p, "temp-pop3", err) < 0 ||
	    no_open_jobs(s, a->old, err) < 0 ||
	    do_update(s, a->old, a->nd, a->ctx, "temp-pop3", err) < 0)
		return -1;
	for (i = 0; i < a->n; i++) {
		struct mailbox_arg m = { a->nd, &a->mbs[i], a->mbs[i].local,
					 a->hashes[i], a->ctx };

		if (tx_mailbox_add(s, &m, err) < 0)
			return -1;
	}
	/* kept ones not named again stay in use, with their passwords */
	return q0(s, sql_keep_end, &p, "temp-pop3", err);
}

int store_temp_pop3(struct store *s, const struct domain *old,
		    struct domain *nd, const struct mailbox *mbs,
		    char *const *hashes, size_t n, const struct change_ctx *ctx,
		    struct error *err)
{
	struct temp_arg a = { old, nd, mbs, hashes, n, ctx };

	return with_tx(s, tx_temp_pop3, &a, err);
}

int store_mailbox_add(struct store *s, const struct domain *d,
		      const struct mailbox *mb, const char *hash,
		      const struct change_ctx *ctx, struct error *err)
{
	struct mailbox_arg a = { d, mb, mb->local, hash, ctx };

	return with_tx(s, tx_mailbox_add, &a, err);
}

static const char sql_mailbox_passwd[] =
	"UPDATE mailboxes m SET password_hash = $3 FROM domains d"
	" WHERE d.id = m.domain_id AND d.name = $1 AND m.local = $2";

static int tx_mailbox_passwd(struct store *s, void *arg, struct error *err)
{
	struct mailbox_arg *a = arg;
	struct params p = { 0 };
	PGresult *res;
	json_t *j;
	long n;
	int rc;

	p_str(&p, a->d->name.alabel);
	p_str(&p, a->local);
	p_str(&p, a->hash);
	if ((res = q(s, sql_mailbox_passwd, &p, "mailbox passwd", err)) == NULL)
		return -1;
	n = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (n == 0)
		return error_set(err, ERR_NOTFOUND, "local",
				 "%s@%s has no mailbox", a->local,
				 a->d->name.alabel);
	/* never the hash: the audit is readable by more people */
	j = mailbox_json(a->d, a->local, NULL);
	rc = audit(s, a->ctx, "mailbox-passwd", a->d->name.alabel, NULL, j,
		   err);
	json_decref(j);
	return rc;
}

int store_mailbox_passwd(struct store *s, const struct domain *d,
			 const char *local, const char *hash,
			 const struct change_ctx *ctx, struct error *err)
{
	struct mailbox_arg a = { d, NULL, local, hash, ctx };

	return with_tx(s, tx_mailbox_passwd, &a, err);
}

static const char sql_mailbox_delete[] =
	"DELETE FROM mailboxes m USING domains d"
	" WHERE d.id = m.domain_id AND d.name = $1 AND m.local = $2"
	" RETURNING m.id, m.temporary, m.catch_all";

/* The archive job waits until every relay stopped delivering to it. */
static const char sql_job_archive[] =
	"INSERT INTO jobs (kind, domain, payload, after_seq, created_by)"
	" VALUES ('mailbox-archive', $1, json_build_object('mailbox_id',"
	" $2::bigint, 'address', $3::text), (SELECT coalesce(max(seq), 0)"
	" FROM changes), $4)";

static int tx_mailbox_remove(struct store *s, void *arg, struct error *err)
{
	struct mailbox_arg *a = arg;
	struct params p = { 0 }, pj = { 0 };
	struct mailbox mb = { 0 };
	struct strbuf addr = STRBUF_INIT;
	PGresult *res;
	json_t *j;
	int rc;

	p_str(&p, a->d->name.alabel);
	p_str(&p, a->local);
	if ((res = q(s, sql_mailbox_delete, &p, "mailbox remove", err)) == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return error_set(err, ERR_NOTFOUND, "local",
				 "%s@%s has no mailbox", a->local,
				 a->d->name.alabel);
	}
	mb.temporary = get_bool(res, 0, 1);
	mb.catch_all = get_bool(res, 0, 2);
	sbuf_addf(&addr, "%s@%s", a->local, a->d->name.alabel);
	p_str(&pj, a->d->name.alabel);
	p_str(&pj, PQgetvalue(res, 0, 0));
	p_str(&pj, addr.buf);
	p_str(&pj, a->ctx->actor);
	rc = q0(s, sql_job_archive, &pj, "archive job", err);
	PQclear(res);
	sbuf_release(&addr);
	if (rc < 0)
		return -1;
	j = mailbox_json(a->d, a->local, &mb);
	rc = audit(s, a->ctx, "mailbox-remove", a->d->name.alabel, j, NULL,
		   err);
	json_decref(j);
	return rc;
}

int store_mailbox_remove(struct store *s, const struct domain *d,
			 const char *local, const struct change_ctx *ctx,
			 struct error *err)
{
	struct mailbox_arg a = { d, NULL, local, NULL, ctx };

	return with_tx(s, tx_mailbox_remove, &a, err);
}

/* ---- switches and the jobs worker -------------------------------- */

static const char sql_jobs_open[] =
	"SELECT count(*) FROM jobs WHERE domain = $1 AND kind LIKE 'mailbox-%'"
	" AND state IN ('pending', 'running')";

/* Mailbox work still to run for a domain refuses another switch. */
static int no_open_jobs(struct store *s, const struct domain *d,
			struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	int64_t n = -1;

	p_str(&p, d->name.alabel);
	if ((res = q(s, sql_jobs_open, &p, "jobs", err)) == NULL)
		return -1;
	if (!get_i64(res, 0, 0, &n))
		n = -1;
	PQclear(res);
	if (n == 0)
		return 0;
	return error_set(err, ERR_CONFLICT, "jobs",
			 "%s still has %" PRId64
			 " mailbox job%s to run (from its last switch or "
			 "revert): see 'feedctl jobs %s'",
			 d->name.alabel, n, n == 1 ? "" : "s", d->name.alabel);
}

/* clang-format off */
static const char sql_switch_jobs[] =
	"INSERT INTO jobs (kind, domain, payload, after_seq, run_after,"
	" created_by)"
	" SELECT $2, d.name, json_build_object('mailbox_id', m.id, 'address',"
	" m.local || '@' || d.name, 'catch_all', m.catch_all),"
	" (SELECT coalesce(max(seq), 0) FROM changes),"
	" coalesce(to_timestamp($3::bigint), now()), $4"
	" FROM mailboxes m JOIN domains d ON d.id = m.domain_id"
	" WHERE d.name = $1 AND (NOT $5::boolean OR m.temporary)"
	" ORDER BY m.id";

static const char sql_keep_until[] =
	"UPDATE mailboxes m SET expires_at = to_timestamp($2::bigint)"
	" FROM domains d WHERE d.id = m.domain_id AND d.name = $1"
	" AND (NOT $3::boolean OR m.temporary)";
/* clang-format on */

static const char sql_domain_lock[] =
	"SELECT 1 FROM domains WHERE name = $1 FOR UPDATE";

static int lock_domain(struct store *s, const struct domain *d,
		       struct error *err)
{
	struct params p = { 0 };

	p_str(&p, d->name.alabel);
	return q0(s, sql_domain_lock, &p, "switch", err);
}

struct switch_arg {
	const struct switch_req *r;
	long *jobs;
	const struct change_ctx *ctx;
};

static int tx_switch(struct store *s, void *arg, struct error *err)
{
	struct switch_arg *a = arg;
	const struct switch_req *r = a->r;
	size_t i;

	*a->jobs = 0;
	/* the domain row first: a concurrent mailbox add waits for this
	 * switch, or this switch for it (then its job covers the mailbox) */
	if (lock_domain(s, r->old, err) < 0 ||
	    no_open_jobs(s, r->old, err) < 0 ||
	    do_update(s, r->old, r->nd, a->ctx, r->action, err) < 0)
		return -1;
	if (r->keep_until != 0) {
		struct params p = { 0 };

		p_str(&p, r->nd->name.alabel);
		p_int(&p, r->keep_until);
		p_bool(&p, r->temp_only);
		if (q0(s, sql_keep_until, &p, "keep", err) < 0)
			return -1;
	}
	if (r->job_kind != NULL) {
		struct params p = { 0 };
		PGresult *res;

		p_str(&p, r->nd->name.alabel);
		p_str(&p, r->job_kind);
		p_time(&p, r->run_after);
		p_str(&p, a->ctx->actor);
		p_bool(&p, r->temp_only);
		if ((res = q(s, sql_switch_jobs, &p, "jobs", err)) == NULL)
			return -1;
		*a->jobs = strtol(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	for (i = 0; i < r->n; i++) {
		struct mailbox_arg m = { r->nd, &r->mbs[i], r->mbs[i].local,
					 r->hashes[i], a->ctx };

		if (tx_mailbox_add(s, &m, err) < 0)
			return -1;
	}
	return 0;
}

int store_switch(struct store *s, const struct switch_req *r, long *jobs,
		 const struct change_ctx *ctx, struct error *err)
{
	struct switch_arg a = { r, jobs, ctx };

	return with_tx(s, tx_switch, &a, err);
}

void job_release(struct job *j)
{
	json_decref(j->payload);
	j->payload = NULL;
}

/* clang-format off */
static const char sql_job_claim[] =
	"UPDATE jobs j SET state = 'running', leased_by = $1,"
	" lease_until = now() + make_interval(secs => $2::int),"
	" attempts = j.attempts + 1, updated_at = now()"
	" WHERE j.id = (SELECT c.id FROM jobs c"
	"  WHERE (c.state = 'pending' OR (c.state = 'running'"
	"         AND c.lease_until < now()))"
	"  AND c.run_after <= now()"
	"  AND NOT EXISTS (SELECT 1 FROM relays r WHERE r.role = 'relay'"
	"                  AND r.applied_seq < c.after_seq)"
	"  ORDER BY c.run_after, c.id LIMIT 1 FOR UPDATE SKIP LOCKED)"
	" RETURNING j.id, j.kind, j.domain, j.payload::text, j.step,"
	" j.attempts";

static const char sql_job_save[] =
	"UPDATE jobs SET step = $3, payload = $4::jsonb,"
	" lease_until = now() + make_interval(secs => $5::int),"
	" updated_at = now()"
	" WHERE id = $1 AND leased_by = $2 AND state = 'running'";

static const char sql_job_done[] =
	"UPDATE jobs SET state = 'done', step = $3, payload = $4::jsonb,"
	" lease_until = NULL, last_error = NULL, updated_at = now()"
	" WHERE id = $1 AND leased_by = $2 AND state = 'running'";

static const char sql_job_later[] =
	"UPDATE jobs SET state = 'pending', step = $3, payload = $4::jsonb,"
	" run_after = now() + make_interval(secs => $5::bigint),"
	" last_error = $6, lease_until = NULL, updated_at = now(),"
	/* a planned wait is not a try: attempts counts failures and
	 * interruptions */
	" attempts = CASE WHEN $6::text IS NULL THEN attempts - 1"
	" ELSE attempts END"
	" WHERE id = $1 AND leased_by = $2 AND state = 'running'";

static const char sql_job_add[] =
	"INSERT INTO jobs (kind, domain, payload, run_after, created_by)"
	" VALUES ($1, $2, $3::jsonb, now() + make_interval(secs =>"
	" $4::bigint), $5)";

static const char sql_mailbox_drop[] =
	"DELETE FROM mailboxes WHERE id = $1 RETURNING temporary, catch_all";
/* clang-format on */

int store_job_claim(struct store *s, const char *worker, int lease_s,
		    struct job *j, struct error *err)
{
	struct params p = { 0 };
	json_error_t je;
	PGresult *res;
	bool ok;

	memset(j, 0, sizeof(*j));
	if (ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, worker);
	p_int(&p, lease_s);
	if ((res = q(s, sql_job_claim, &p, "job claim", err)) == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	ok = get_i64(res, 0, 0, &j->id) &&
	     get_text(res, 0, 1, j->kind, sizeof(j->kind)) &&
	     get_text(res, 0, 2, j->domain, sizeof(j->domain)) &&
	     get_int(res, 0, 4, 0, INT_MAX, &j->step) &&
	     get_int(res, 0, 5, 0, INT_MAX, &j->attempts);
	j->payload = ok ? json_loads(PQgetvalue(res, 0, 3), 0, &je) : NULL;
	PQclear(res);
	if (!json_is_object(j->payload)) {
		job_release(j);
		return error_set(err, ERR_INTERNAL, NULL, "unexpected job row");
	}
	return 1;
}

/* Run one of the job statements; ERR_CONFLICT when the lease is gone. */
static int job_update(struct store *s, const char *sql, const struct job *j,
		      const char *worker, int64_t secs, const char *error,
		      bool has_secs, bool has_error, struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	long n;

	if (ensure_conn(s, err) < 0)
		return -1;
	p_int(&p, j->id);
	p_str(&p, worker);
	p_int(&p, j->step);
	p_json(&p, j->payload);
	if (has_secs)
		p_int(&p, secs);
	if (has_error)
		p_str(&p, error);
	res = q(s, sql, &p, "job", err);
	p_release(&p);
	if (res == NULL)
		return -1;
	n = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (n == 0)
		return error_set(
			err, ERR_CONFLICT, NULL,
			"job %" PRId64 ": lease lost to another worker", j->id);
	return 0;
}

int store_job_save(struct store *s, const struct job *j, const char *worker,
		   int lease_s, struct error *err)
{
	return job_update(s, sql_job_save, j, worker, lease_s, NULL, true,
			  false, err);
}

int store_job_done(struct store *s, const struct job *j, const char *worker,
		   struct error *err)
{
	return job_update(s, sql_job_done, j, worker, 0, NULL, false, false,
			  err);
}

int store_job_later(struct store *s, const struct job *j, const char *worker,
		    int64_t delay_s, const char *error, struct error *err)
{
	char cut[1025];

	/* last_error is at most 1024 bytes: cut on a character boundary */
	if (error != NULL) {
		size_t n = strlen(error);

		if (n >= sizeof(cut)) {
			n = sizeof(cut) - 1;
			while (n > 0 &&
			       ((unsigned char)error[n] & 0xc0) == 0x80)
				n--;
		}
		memcpy(cut, error, n);
		cut[n] = '\0';
	}
	return job_update(s, sql_job_later, j, worker, delay_s,
			  error ? cut : NULL, true, true, err);
}

int store_job_add(struct store *s, const char *kind, const char *domain,
		  const json_t *payload, int64_t delay_s, const char *actor,
		  struct error *err)
{
	struct params p = { 0 };
	int rc;

	if (ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, kind);
	p_str(&p, domain);
	p_json(&p, payload);
	p_int(&p, delay_s);
	p_str(&p, actor);
	rc = q0(s, sql_job_add, &p, "job add", err);
	p_release(&p);
	return rc;
}

struct drop_arg {
	int64_t id;
	const char *domain, *address;
	const struct change_ctx *ctx;
};

static int tx_mailbox_drop(struct store *s, void *arg, struct error *err)
{
	struct drop_arg *a = arg;
	struct params p = { 0 };
	PGresult *res;
	json_t *j;
	int rc;

	p_int(&p, a->id);
	if ((res = q(s, sql_mailbox_drop, &p, "mailbox drop", err)) == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0; /* gone already: a resumed job */
	}
	j = json_pack("{s:s, s:b, s:b}", "address", a->address, "temporary",
		      get_bool(res, 0, 0), "catch_all", get_bool(res, 0, 1));
	PQclear(res);
	rc = audit(s, a->ctx, "mailbox-remove", a->domain, j, NULL, err);
	json_decref(j);
	return rc;
}

int store_mailbox_drop(struct store *s, int64_t id, const char *domain,
		       const char *address, const char *actor,
		       struct error *err)
{
	struct change_ctx ctx = { 0 };
	struct drop_arg a = { id, domain, address, &ctx };

	ctx.actor = actor;
	ctx.ticket = "";
	return with_tx(s, tx_mailbox_drop, &a, err);
}

/* ---- sender rules ------------------------------------------------- */

static const char sql_rule_list[] =
	"SELECT r.id, r.action, r.kind, r.value FROM sender_rules r"
	" JOIN domains d ON d.id = r.domain_id WHERE d.name = $1"
	" ORDER BY r.id";

int store_rule_list(struct store *s, const struct domain_name *dn,
		    struct rule **out, size_t *n, struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	int i, rows, a, k;

	*out = NULL;
	*n = 0;
	if (ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, dn->alabel);
	if ((res = q(s, sql_rule_list, &p, "rules", err)) == NULL)
		return -1;
	rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (i = 0; i < rows; i++) {
		struct rule *r = &(*out)[i];

		if (!get_i64(res, i, 0, &r->id) ||
		    !get_enum(res, i, 1, rule_action_names, &a) ||
		    !get_enum(res, i, 2, rule_kind_names, &k) ||
		    !get_text(res, i, 3, r->value, sizeof(r->value))) {
			PQclear(res);
			free(*out);
			*out = NULL;
			return error_set(err, ERR_INTERNAL, NULL,
					 "unexpected rule row");
		}
		r->action = (enum rule_action)a;
		r->kind = (enum rule_kind)k;
	}
	*n = (size_t)rows;
	PQclear(res);
	return 0;
}

static const char sql_rule_add[] =
	"INSERT INTO sender_rules (domain_id, action, kind, value)"
	" SELECT id, $2, $3, $4 FROM domains WHERE name = $1 RETURNING id";
static const char sql_rule_delete[] =
	"DELETE FROM sender_rules r USING domains d WHERE d.id = r.domain_id"
	" AND d.name = $1 AND r.action = $2 AND r.kind = $3 AND r.value = $4"
	" RETURNING r.id";

struct rule_arg {
	const struct domain *d;
	struct rule *r;
	const struct change_ctx *ctx;
	bool add;
};

static int tx_rule(struct store *s, void *arg, struct error *err)
{
	struct rule_arg *a = arg;
	struct params p = { 0 };
	PGresult *res;
	json_t *j;
	int rc;

	p_str(&p, a->d->name.alabel);
	p_str(&p, rule_action_names[a->r->action]);
	p_str(&p, rule_kind_names[a->r->kind]);
	p_str(&p, a->r->value);
	res = q(s, a->add ? sql_rule_add : sql_rule_delete, &p, "rule", err);
	if (res == NULL) {
		if (err->code == ERR_CONFLICT) {
			error_clear(err);
			error_set(err, ERR_CONFLICT, "value",
				  "%s already has this rule",
				  a->d->name.alabel);
		}
		return -1;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		if (a->add)
			return error_set(err, ERR_NOTFOUND, "name",
					 "%s no longer exists",
					 a->d->name.alabel);
		return error_set(err, ERR_NOTFOUND, "value",
				 "%s has no such rule", a->d->name.alabel);
	}
	if (!get_i64(res, 0, 0, &a->r->id))
		a->r->id = 0;
	PQclear(res);
	j = json_pack("{s:s, s:s, s:s}", "action",
		      rule_action_names[a->r->action], "kind",
		      rule_kind_names[a->r->kind], "value", a->r->value);
	rc = audit(s, a->ctx, a->add ? "rule-add" : "rule-remove",
		   a->d->name.alabel, a->add ? NULL : j, a->add ? j : NULL,
		   err);
	json_decref(j);
	return rc;
}

int store_rule_add(struct store *s, const struct domain *d, struct rule *r,
		   const struct change_ctx *ctx, struct error *err)
{
	struct rule_arg a = { d, r, ctx, true };

	return with_tx(s, tx_rule, &a, err);
}

int store_rule_remove(struct store *s, const struct domain *d,
		      const struct rule *r, const struct change_ctx *ctx,
		      struct error *err)
{
	struct rule copy = *r;
	struct rule_arg a = { d, &copy, ctx, false };

	return with_tx(s, tx_rule, &a, err);
}

/* ---- API tokens --------------------------------------------------- */

static const char sql_token_insert[] =
	"INSERT INTO api_tokens (name, hash, role, domains, expires_at,"
	" created_by) VALUES ($1, decode($2, 'hex'), $3,"
	" string_to_array($4, ','), to_timestamp($5::bigint), $6)";
static const char sql_token_delete[] =
	"DELETE FROM api_tokens WHERE name = $1 RETURNING role, domains";
static const char sql_token_list[] =
	"SELECT coalesce(json_agg(json_build_object('name', name, 'role', role,"
	" 'domains', to_json(domains), 'expires_at', mx_utc(expires_at),"
	" 'last_used_at', mx_utc(last_used_at), 'created_at',"
	" mx_utc(created_at), 'created_by', created_by) ORDER BY name), '[]')"
	"::text FROM api_tokens";

struct token_arg {
	const struct token_info *t;
	const unsigned char *hash;
	const char *name;
	const struct change_ctx *ctx;
};

static int tx_token_create(struct store *s, void *arg, struct error *err)
{
	struct token_arg *a = arg;
	struct params p = { 0 };
	struct strbuf *sb;
	json_t *j, *doms;
	size_t i;
	int rc;

	p_str(&p, a->t->name);
	sb = p_big(&p);
	for (i = 0; i < TOKEN_HASH_LEN; i++)
		sbuf_addf(sb, "%02x", a->hash[i]);
	p_big_done(&p);
	p_str(&p, token_role_names[a->t->role]);
	sb = p_big(&p);
	doms = json_array();
	for (i = 0; i < a->t->ndomains; i++) {
		sbuf_addf(sb, "%s%s", i ? "," : "", a->t->domains[i].alabel);
		json_array_append_new(doms,
				      json_string(a->t->domains[i].alabel));
	}
	p_big_done(&p);
	p_time(&p, a->t->expires_at);
	p_str(&p, a->ctx->actor);
	rc = q0(s, sql_token_insert, &p, "token", err);
	p_release(&p);
	if (rc < 0) {
		json_decref(doms);
		if (err->code == ERR_CONFLICT) {
			error_clear(err);
			error_set(err, ERR_CONFLICT, "name",
				  "a token named %s exists (revoke it first)",
				  a->t->name);
		}
		return -1;
	}
	j = json_pack("{s:s, s:s, s:o}", "name", a->t->name, "role",
		      token_role_names[a->t->role], "domains", doms);
	rc = audit(s, a->ctx, "token-create", NULL, NULL, j, err);
	json_decref(j);
	return rc;
}

int store_token_create(struct store *s, const struct token_info *t,
		       const unsigned char hash[TOKEN_HASH_LEN],
		       const struct change_ctx *ctx, struct error *err)
{
	struct token_arg a = { t, hash, t->name, ctx };

	return with_tx(s, tx_token_create, &a, err);
}

json_t *store_token_list(struct store *s, struct error *err)
{
	return json_query(s, sql_token_list, NULL, "tokens", err);
}

static int tx_token_revoke(struct store *s, void *arg, struct error *err)
{
	struct token_arg *a = arg;
	struct params p = { 0 };
	PGresult *res;
	json_t *j;
	int rc;

	p_str(&p, a->name);
	if ((res = q(s, sql_token_delete, &p, "token revoke", err)) == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return error_set(err, ERR_NOTFOUND, "name", "no such token");
	}
	j = json_pack("{s:s, s:s}", "name", a->name, "role",
		      PQgetvalue(res, 0, 0));
	PQclear(res);
	rc = audit(s, a->ctx, "token-revoke", NULL, j, NULL, err);
	json_decref(j);
	return rc;
}

int store_token_revoke(struct store *s, const char *name,
		       const struct change_ctx *ctx, struct error *err)
{
	struct token_arg a = { NULL, NULL, name, ctx };
	struct error e = ERROR_INIT;

	/* a name that cannot exist is not found, not a database error */
	if (token_name_check(name, &e) < 0) {
		error_release(&e);
		return error_set(err, ERR_NOTFOUND, "name", "no such token");
	}
	return with_tx(s, tx_token_revoke, &a, err);
}

/* clang-format off */
static const char sql_token_by_hash[] =
	"SELECT name, role, array_to_string(domains, ','), "
	EPOCH("expires_at") ", " EPOCH("last_used_at") ", id"
	" FROM api_tokens WHERE hash = decode($1, 'hex')";
/* clang-format on */
static const char sql_token_touch[] =
	"UPDATE api_tokens SET last_used_at = now() WHERE name = $1";

static void p_hex(struct params *p, const unsigned char *v, size_t n)
{
	struct strbuf *sb = p_big(p);
	size_t i;

	for (i = 0; i < n; i++)
		sbuf_addf(sb, "%02x", v[i]);
	p_big_done(p);
}

/* Split a comma list of A-labels read back from a row; re-validated. */
static int scope_from_row(const char *list, struct token_info *out,
			  struct error *err)
{
	struct error e = ERROR_INIT;
	const char *p = list;

	out->ndomains = 0;
	out->domains = NULL;
	while (*p) {
		size_t n = strcspn(p, ",");
		char name[DOMAIN_NAME_MAX + 1];

		out->domains =
			xrealloc(out->domains,
				 (out->ndomains + 1) * sizeof(*out->domains));
		if (n >= sizeof(name))
			goto bad;
		memcpy(name, p, n);
		name[n] = '\0';
		if (domain_name_parse(name, &out->domains[out->ndomains], &e) <
		    0)
			goto bad;
		out->ndomains++;
		p += n + (p[n] == ',');
	}
	return 0;
bad:
	error_release(&e);
	free(out->domains);
	out->domains = NULL;
	out->ndomains = 0;
	return error_set(err, ERR_INTERNAL, NULL,
			 "a token's scope holds an invalid domain name");
}

enum lookup store_token_by_hash(struct store *s,
				const unsigned char hash[TOKEN_HASH_LEN],
				struct token_info *out, int64_t *last_used,
				struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	enum lookup rc = LOOKUP_FAIL;
	int role;

	memset(out, 0, sizeof(*out));
	if (ensure_conn(s, err) < 0)
		return LOOKUP_FAIL;
	p_hex(&p, hash, TOKEN_HASH_LEN);
	res = q(s, sql_token_by_hash, &p, "token lookup", err);
	p_release(&p);
	if (res == NULL)
		return LOOKUP_FAIL;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return LOOKUP_NOTFOUND;
	}
	role = parse_enum(PQgetvalue(res, 0, 1), token_role_names);
	if (!get_text(res, 0, 0, out->name, sizeof(out->name)) || role < 0 ||
	    !get_i64(res, 0, 3, &out->expires_at) ||
	    !get_i64(res, 0, 4, last_used) || !get_i64(res, 0, 5, &out->id)) {
		error_set(err, ERR_INTERNAL, NULL, "unexpected token row");
	} else if (scope_from_row(PQgetvalue(res, 0, 2), out, err) == 0) {
		out->role = (enum token_role)role;
		rc = LOOKUP_FOUND;
	}
	PQclear(res);
	return rc;
}

int store_token_touch(struct store *s, const char *name, struct error *err)
{
	struct params p = { 0 };

	if (ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, name);
	return q0(s, sql_token_touch, &p, "token last-used", err);
}

/* ---- staff users (the portal's logins) ----------------------------- */

static const char sql_staff_insert[] =
	"INSERT INTO staff_users (login, role, domains, created_by)"
	" VALUES ($1, $2, string_to_array($3, ','), $4)";
/* the old row is locked and read in the same statement: audit old/new */
static const char sql_staff_update[] =
	"WITH o AS (SELECT login, role, domains FROM staff_users"
	" WHERE login = $1 FOR UPDATE)"
	" UPDATE staff_users s SET role = coalesce($2, o.role),"
	" domains = CASE WHEN $3::text IS NULL THEN o.domains"
	" ELSE string_to_array($3, ',') END, updated_at = now()"
	" FROM o WHERE s.login = o.login"
	" RETURNING o.role, to_json(o.domains)::text, s.role,"
	" to_json(s.domains)::text";
static const char sql_staff_delete[] =
	"DELETE FROM staff_users WHERE login = $1"
	" RETURNING role, to_json(domains)::text";
static const char sql_staff_list[] =
	"SELECT coalesce(json_agg(json_build_object('login', login, 'role',"
	" role, 'domains', to_json(domains), 'created_at', mx_utc(created_at),"
	" 'created_by', created_by, 'updated_at', mx_utc(updated_at))"
	" ORDER BY login), '[]')::text FROM staff_users";
static const char sql_staff_get[] =
	"SELECT role, array_to_string(domains, ',') FROM staff_users"
	" WHERE login = $1";

struct staff_arg {
	const char *login;
	const enum token_role *role; /* NULL: keep (set) */
	const struct domain_name *domains;
	size_t ndomains;
	bool domains_given; /* set: replace the group */
	const struct change_ctx *ctx;
};

/* The group as a comma list parameter and as JSON for the audit. */
static json_t *p_domains(struct params *p, const struct domain_name *dv,
			 size_t n)
{
	struct strbuf *sb = p_big(p);
	json_t *doms = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		sbuf_addf(sb, "%s%s", i ? "," : "", dv[i].alabel);
		json_array_append_new(doms, json_string(dv[i].alabel));
	}
	p_big_done(p);
	return doms;
}

static json_t *staff_json(const char *login, const char *role,
			  const char *domains_json)
{
	json_t *d = json_loads(domains_json, 0, NULL);

	return json_pack("{s:s, s:s, s:o}", "login", login, "role", role,
			 "domains", d ? d : json_array());
}

static int tx_staff_add(struct store *s, void *arg, struct error *err)
{
	struct staff_arg *a = arg;
	struct params p = { 0 };
	json_t *doms, *j;
	int rc;

	p_str(&p, a->login);
	p_str(&p, token_role_names[*a->role]);
	doms = p_domains(&p, a->domains, a->ndomains);
	p_str(&p, a->ctx->actor);
	rc = q0(s, sql_staff_insert, &p, "staff add", err);
	p_release(&p);
	if (rc < 0) {
		json_decref(doms);
		if (err->code == ERR_CONFLICT) {
			error_clear(err);
			error_set(err, ERR_CONFLICT, "login",
				  "staff user %s exists (use 'staff set')",
				  a->login);
		}
		return -1;
	}
	j = json_pack("{s:s, s:s, s:o}", "login", a->login, "role",
		      token_role_names[*a->role], "domains", doms);
	rc = audit(s, a->ctx, "staff-add", NULL, NULL, j, err);
	json_decref(j);
	return rc;
}

static int tx_staff_set(struct store *s, void *arg, struct error *err)
{
	struct staff_arg *a = arg;
	struct params p = { 0 };
	json_t *doms = NULL, *jo, *jn;
	PGresult *res;
	int rc;

	p_str(&p, a->login);
	p_str(&p, a->role ? token_role_names[*a->role] : NULL);
	if (a->domains_given)
		doms = p_domains(&p, a->domains, a->ndomains);
	else
		p_str(&p, NULL);
	json_decref(doms);
	res = q(s, sql_staff_update, &p, "staff set", err);
	p_release(&p);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return error_set(err, ERR_NOTFOUND, "login", "no staff user %s",
				 a->login);
	}
	jo = staff_json(a->login, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	jn = staff_json(a->login, PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3));
	PQclear(res);
	rc = audit(s, a->ctx, "staff-set", NULL, jo, jn, err);
	json_decref(jo);
	json_decref(jn);
	return rc;
}

static int tx_staff_remove(struct store *s, void *arg, struct error *err)
{
	struct staff_arg *a = arg;
	struct params p = { 0 };
	PGresult *res;
	json_t *j;
	int rc;

	p_str(&p, a->login);
	res = q(s, sql_staff_delete, &p, "staff remove", err);
	p_release(&p);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return error_set(err, ERR_NOTFOUND, "login", "no staff user %s",
				 a->login);
	}
	j = staff_json(a->login, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	PQclear(res);
	rc = audit(s, a->ctx, "staff-remove", NULL, j, NULL, err);
	json_decref(j);
	return rc;
}

int store_staff_add(struct store *s, const struct staff_info *st,
		    const struct change_ctx *ctx, struct error *err)
{
	struct staff_arg a = { st->login,    &st->role, st->domains,
			       st->ndomains, true,	ctx };

	return with_tx(s, tx_staff_add, &a, err);
}

int store_staff_set(struct store *s, const char *login,
		    const enum token_role *role,
		    const struct domain_name *domains, size_t ndomains,
		    bool domains_given, const struct change_ctx *ctx,
		    struct error *err)
{
	struct staff_arg a = { login,	 role,		domains,
			       ndomains, domains_given, ctx };

	return with_tx(s, tx_staff_set, &a, err);
}

int store_staff_remove(struct store *s, const char *login,
		       const struct change_ctx *ctx, struct error *err)
{
	struct staff_arg a = { login, NULL, NULL, 0, false, ctx };

	return with_tx(s, tx_staff_remove, &a, err);
}

json_t *store_staff_list(struct store *s, struct error *err)
{
	return json_query(s, sql_staff_list, NULL, "staff", err);
}

enum lookup store_staff_get(struct store *s, const char *login,
			    struct staff_info *out, struct error *err)
{
	struct params p = { 0 };
	struct token_info scope;
	PGresult *res;
	enum lookup rc = LOOKUP_FAIL;
	int role;

	memset(out, 0, sizeof(*out));
	if (ensure_conn(s, err) < 0)
		return LOOKUP_FAIL;
	p_str(&p, login);
	res = q(s, sql_staff_get, &p, "staff lookup", err);
	p_release(&p);
	if (res == NULL)
		return LOOKUP_FAIL;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return LOOKUP_NOTFOUND;
	}
	role = parse_enum(PQgetvalue(res, 0, 0), token_role_names);
	if (role < 0 ||
	    strlcpy_checked(out->login, login, sizeof(out->login)) < 0) {
		error_set(err, ERR_INTERNAL, NULL, "unexpected staff row");
	} else if (scope_from_row(PQgetvalue(res, 0, 1), &scope, err) == 0) {
		out->role = (enum token_role)role;
		out->ndomains = scope.ndomains;
		out->domains = scope.domains;
		rc = LOOKUP_FOUND;
	}
	PQclear(res);
	return rc;
}

/* ---- idempotency keys --------------------------------------------- */

static const char sql_idem_get[] =
	"SELECT coalesce(status, 0), response, request_hash = decode($3, "
	"'hex'),"
	" headers FROM idempotency_keys WHERE actor = $1 AND key = $2";
/* expired keys, and reservations whose request died (a worker killed
 * mid-request) go before a key is reserved */
static const char sql_idem_expire[] =
	"DELETE FROM idempotency_keys WHERE created_at <= now() - interval"
	" '24 hours' OR (status IS NULL AND created_at <= now() - interval"
	" '5 minutes')";
static const char sql_idem_reserve[] =
	"INSERT INTO idempotency_keys (actor, key, request_hash, status,"
	" response) VALUES ($1, $2, decode($3, 'hex'), NULL, '')"
	" ON CONFLICT (actor, key) DO NOTHING";
static const char sql_idem_put[] =
	"UPDATE idempotency_keys SET status = $3, response = $4, headers = $5"
	" WHERE actor = $1 AND key = $2 AND status IS NULL";
static const char sql_idem_release[] =
	"DELETE FROM idempotency_keys WHERE actor = $1 AND key = $2"
	" AND status IS NULL";

int store_idem_reserve(struct store *s, const char *actor, const char *key,
		       const unsigned char hash[32], struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	int rc;

	if (ensure_conn(s, err) < 0)
		return -1;
	if (q0(s, sql_idem_expire, &p, "idempotency keys", err) < 0)
		return -1;
	p_str(&p, actor);
	p_str(&p, key);
	p_hex(&p, hash, 32);
	res = q(s, sql_idem_reserve, &p, "idempotency key", err);
	p_release(&p);
	if (res == NULL)
		return -1;
	rc = strcmp(PQcmdTuples(res), "1") == 0 ? 1 : 0;
	PQclear(res);
	return rc;
}

enum lookup store_idem_get(struct store *s, const char *actor, const char *key,
			   const unsigned char hash[32], int *status,
			   struct strbuf *response, struct strbuf *headers,
			   bool *same, struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	enum lookup rc = LOOKUP_NOTFOUND;

	if (ensure_conn(s, err) < 0)
		return LOOKUP_FAIL;
	p_str(&p, actor);
	p_str(&p, key);
	p_hex(&p, hash, 32);
	res = q(s, sql_idem_get, &p, "idempotency key", err);
	p_release(&p);
	if (res == NULL)
		return LOOKUP_FAIL;
	if (PQntuples(res) == 1) {
		if (!get_int(res, 0, 0, 0, 599, status) ||
		    (*status != 0 && *status < 100)) {
			error_set(err, ERR_INTERNAL, NULL,
				  "unexpected idempotency row");
			rc = LOOKUP_FAIL;
		} else {
			sbuf_addstr(response, PQgetvalue(res, 0, 1));
			*same = get_bool(res, 0, 2);
			sbuf_addstr(headers, PQgetvalue(res, 0, 3));
			rc = LOOKUP_FOUND;
		}
	}
	PQclear(res);
	return rc;
}

int store_idem_put(struct store *s, const char *actor, const char *key,
		   int status, const char *response, const char *headers,
		   struct error *err)
{
	struct params p = { 0 };
	int rc;

	if (ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, actor);
	p_str(&p, key);
	p_int(&p, status);
	p_str(&p, response);
	p_str(&p, headers);
	rc = q0(s, sql_idem_put, &p, "idempotency key", err);
	p_release(&p);
	return rc;
}

int store_idem_release(struct store *s, const char *actor, const char *key,
		       struct error *err)
{
	struct params p = { 0 };
	int rc;

	if (ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, actor);
	p_str(&p, key);
	rc = q0(s, sql_idem_release, &p, "idempotency key", err);
	p_release(&p);
	return rc;
}

/* ---- snapshots for the generators -------------------------------- */

static const char sql_snap_seq[] = "SELECT coalesce(max(seq), 0) FROM changes";
/* byte order (COLLATE "C"): the relay's readers binary-search with
 * strcmp, whatever collation the site's database uses */
static const char sql_snap_domains_tail[] = "ORDER BY d.name COLLATE \"C\"";
static const char sql_snap_rules[] =
	"SELECT d.name, r.action, r.kind, r.value FROM sender_rules r"
	" JOIN domains d ON d.id = r.domain_id"
	" ORDER BY d.name COLLATE \"C\", r.id";

static const char sql_snap_rcpts[] =
	"SELECT d.name, r.local FROM recipients r"
	" JOIN domains d ON d.id = r.domain_id"
	" ORDER BY d.name COLLATE \"C\", r.local COLLATE \"C\"";

struct snap_arg {
	int64_t *seq;
	const struct snap_fns *fns;
	void *arg;
};

#define COPY_COLS_MAX 128

/* One COPY text-format line split into cells in place: tabs separate,
 * "\N" is NULL (given as ""), backslash escapes are decoded (a decoded
 * cell is never longer than its text).  The number of cells, or -1 when
 * there are more than max. */
static int copy_split(char *line, size_t len, const char **cells, int max)
{
	char *r = line, *w = line, *end = line + len;
	int n = 0;

	if (len > 0 && end[-1] == '\n')
		end--;
	cells[n++] = w;
	while (r < end) {
		char c = *r++;

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

typedef int (*copy_fn)(void *arg, const char *const *cells, int n,
		       struct error *err);

/* "COPY (SELECT ...) TO STDOUT": fn() for each row, as it arrives (the
 * rows are never all in memory).  A row of another width than ncols is
 * an error; after an fn() error the rest of the COPY is drained. */
static int copy_rows(struct store *s, const char *select, int ncols, copy_fn fn,
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

static int snap_domain_row(void *arg, const char *const *cells, int n,
			   struct error *err)
{
	struct snap_arg *a = arg;
	const struct rowv r = { NULL, 0, cells };
	struct domain d;

	(void)n;
	if (rowv_to_domain(&r, &d, NULL, err) < 0)
		return -1;
	return a->fns->on_domain(a->arg, &d, err);
}

static int snap_rule_row(void *arg, const char *const *cells, int n,
			 struct error *err)
{
	struct snap_arg *a = arg;
	struct rule r;
	int act = parse_enum(cells[1], rule_action_names);
	int kind = parse_enum(cells[2], rule_kind_names);

	(void)n;
	if (act < 0 || kind < 0 ||
	    strlcpy_checked(r.value, cells[3], sizeof(r.value)) != 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "unexpected rule row");
	r.id = 0;
	r.action = (enum rule_action)act;
	r.kind = (enum rule_kind)kind;
	return a->fns->on_rule(a->arg, cells[0], &r, err);
}

static int snap_rcpt_row(void *arg, const char *const *cells, int n,
			 struct error *err)
{
	struct snap_arg *a = arg;

	(void)n;
	return a->fns->on_rcpt(a->arg, cells[0], cells[1], err);
}

/* The generators read with COPY: the rows stream through the callbacks
 * as they arrive, with no result set built (100k domains: every copy
 * counts). */
static int tx_snapshot(struct store *s, void *arg, struct error *err)
{
	struct snap_arg *a = arg;
	struct strbuf sql = STRBUF_INIT;
	PGresult *res;
	int rc;

	if (q0(s, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
	       NULL, "snapshot", err) < 0)
		return -1;
	/* a plain scan: JIT compilation would cost more than it saves */
	if (q0(s, "SET LOCAL jit = off", NULL, "snapshot", err) < 0)
		return -1;
	if ((res = q(s, sql_snap_seq, NULL, "snapshot", err)) == NULL)
		return -1;
	if (!get_i64(res, 0, 0, a->seq)) {
		PQclear(res);
		return error_set(err, ERR_INTERNAL, NULL, "bad sequence");
	}
	PQclear(res);
	domain_cols(&sql);
	sbuf_addstr(&sql, sql_domain_lean);
	sbuf_addstr(&sql, sql_snap_domains_tail);
	rc = copy_rows(s, sql.buf, C_FIELDS + nsql_fields() + B_TOTAL + 1,
		       snap_domain_row, a, "snapshot", err);
	sbuf_release(&sql);
	if (rc == 0)
		rc = copy_rows(s, sql_snap_rules, 4, snap_rule_row, a,
			       "snapshot", err);
	if (rc == 0)
		rc = copy_rows(s, sql_snap_rcpts, 2, snap_rcpt_row, a,
			       "snapshot", err);
	return rc < 0 ? -1 : 0;
}

int store_snapshot(struct store *s, int64_t *seq, const struct snap_fns *fns,
		   void *arg, struct error *err)
{
	struct snap_arg a = { seq, fns, arg };

	return with_tx(s, tx_snapshot, &a, err);
}

static const char sql_relay_report[] =
	"INSERT INTO relays (name, applied_seq, applied_at, last_error,"
	" heartbeat, addresses) VALUES ($1, $2, CASE WHEN $2::bigint > 0 THEN"
	" now() END, nullif($3, ''), now(), $4::inet[])"
	" ON CONFLICT (name) DO UPDATE SET"
	" applied_seq = CASE WHEN $2::bigint > 0 THEN $2::bigint"
	"   ELSE relays.applied_seq END,"
	" applied_at = CASE WHEN $2::bigint > 0 THEN now()"
	"   ELSE relays.applied_at END,"
	" last_error = nullif($3, ''), heartbeat = now(),"
	" addresses = $4::inet[]";

int store_relay_report(struct store *s, const char *name, int64_t seq,
		       const char *last_error, const struct cidr_list *addrs,
		       struct error *err)
{
	struct params p = { 0 };
	struct strbuf arr = STRBUF_INIT;
	char msg[1025];
	size_t i;
	int rc;

	if (ensure_conn(s, err) < 0)
		return -1;
	/* the column holds at most 1024 bytes of printable text */
	(void)snprintf(msg, sizeof(msg), "%s", last_error ? last_error : "");
	/* an array literal of canonical addresses (ip_parse): digits, hex,
	 * '.' and ':' only */
	sbuf_addch(&arr, '{');
	for (i = 0; addrs != NULL && i < addrs->n; i++)
		sbuf_addf(&arr, "%s%s", i ? "," : "", addrs->v[i].net.text);
	sbuf_addch(&arr, '}');
	p_str(&p, name);
	p_int(&p, seq);
	p_str(&p, msg);
	p_str(&p, arr.buf);
	rc = q0(s, sql_relay_report, &p, "relay report", err);
	sbuf_release(&arr);
	return rc;
}

static const char sql_relay_heartbeat[] =
	"INSERT INTO relays (name, heartbeat) VALUES ($1, now())"
	" ON CONFLICT (name) DO UPDATE SET heartbeat = now()";

int store_relay_heartbeat(struct store *s, const char *name, struct error *err)
{
	struct params p = { 0 };

	if (ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, name);
	return q0(s, sql_relay_heartbeat, &p, "heartbeat", err);
}

int store_change_seq(struct store *s, int64_t *seq, struct error *err)
{
	PGresult *res;
	bool ok;

	if (ensure_conn(s, err) < 0 ||
	    (res = q(s, sql_snap_seq, NULL, "change sequence", err)) == NULL)
		return -1;
	ok = get_i64(res, 0, 0, seq);
	PQclear(res);
	return ok ? 0 : error_set(err, ERR_INTERNAL, NULL, "bad sequence");
}

int store_wait_change(struct store *s, int timeout_ms, struct error *err)
{
	struct pollfd pfd;
	PGnotify *n;
	int got = 0, rc;

	if (ensure_conn(s, err) < 0)
		return -1;
	if (!s->listening) {
		/* a relay also wakes for the commands staff queue for it */
		if (q0(s, "LISTEN mxfeed_changes", NULL, "listen", err) < 0 ||
		    q0(s, "LISTEN mxfeed_relay_commands", NULL, "listen", err) <
			    0)
			return -1;
		s->listening = true;
	}
	pfd.fd = PQsocket(s->db);
	pfd.events = POLLIN;
	pfd.revents = 0;
	rc = poll(&pfd, 1, timeout_ms);
	if (rc < 0 && errno != EINTR)
		return error_set(err, ERR_TEMPFAIL, NULL, "poll: %s",
				 strerror(errno));
	if (PQconsumeInput(s->db) == 0)
		return store_fail(s, NULL, "wait for changes", err);
	while ((n = PQnotifies(s->db)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	return got;
}

/* ---- the relay bus: published queues and relay commands ---------- */

static const char sql_bus_register[] =
	"INSERT INTO relays (name) VALUES ($1) ON CONFLICT (name) DO NOTHING";
static const char sql_bus_clear[] = "DELETE FROM relay_queue WHERE relay = $1";
/* rows whose domain is not a name mxfeed could serve (an address
 * literal, say) are nobody's share and are left out */
static const char sql_bus_fill[] =
	"INSERT INTO relay_queue (relay, domain, count, oldest, messages)"
	" SELECT $1, x.domain, x.count, x.oldest::timestamptz, x.messages"
	" FROM jsonb_to_recordset($2::jsonb)"
	"  AS x(domain text, count integer, oldest text, messages jsonb)"
	" WHERE x.domain ~ '^[a-z0-9.-]{1,253}$' AND x.count > 0";
static const char sql_bus_stamp[] =
	"UPDATE relays SET queue_as_of = now(), queue_total = $2"
	" WHERE name = $1";

struct publish_arg {
	const char *relay;
	const json_t *summary;
	int64_t total;
};

static int tx_publish(struct store *s, void *arg, struct error *err)
{
	struct publish_arg *a = arg;
	struct params p = { 0 };
	int rc;

	p_str(&p, a->relay);
	if (q0(s, sql_bus_register, &p, "relay register", err) < 0 ||
	    q0(s, sql_bus_clear, &p, "queue publish", err) < 0)
		return -1;
	p_json(&p, a->summary);
	rc = q0(s, sql_bus_fill, &p, "queue publish", err);
	p_release(&p);
	if (rc < 0)
		return -1;
	memset(&p, 0, sizeof(p));
	p_str(&p, a->relay);
	p_int(&p, a->total);
	return q0(s, sql_bus_stamp, &p, "queue publish", err);
}

int store_queue_publish(struct store *s, const char *relay,
			const json_t *summary, int64_t total, struct error *err)
{
	struct publish_arg a = { relay, summary, total };

	return with_tx(s, tx_publish, &a, err);
}

/* the relays a view or a command covers: the active relays */
static const char sql_bus_view[] =
	"SELECT coalesce(json_agg(json_build_object('name', r.name,"
	" 'as_of', mx_utc(r.queue_as_of), 'heartbeat', mx_utc(r.heartbeat),"
	" 'alive', coalesce(r.heartbeat > now() - interval '60 seconds', "
	"false),"
	" 'count', coalesce(q.count, 0), 'oldest', mx_utc(q.oldest),"
	" 'messages', coalesce(q.messages, '[]'::jsonb)) ORDER BY r.name),"
	" '[]')::text FROM relays r"
	" LEFT JOIN relay_queue q ON q.relay = r.name AND q.domain = $1"
	" WHERE r.role = 'relay'";

json_t *store_queue_view(struct store *s, const char *domain, struct error *err)
{
	struct params p = { 0 };

	p_str(&p, domain);
	return json_query(s, sql_bus_view, &p, "queue view", err);
}

static const char sql_bus_add[] =
	"WITH ins AS (INSERT INTO relay_commands"
	" (relay, verb, domain, created_by, expires_at, queue_id)"
	" SELECT name, $1, $2, $3, now() + $4 * interval '1 second', $7"
	" FROM relays WHERE role = 'relay' AND name <> coalesce($5, '')"
	" AND ($6::text IS NULL OR name = $6)"
	" RETURNING id, relay)"
	" SELECT coalesce(json_agg(json_build_object('id', id, 'relay', relay)"
	" ORDER BY relay), '[]')::text FROM ins";

json_t *store_command_add(struct store *s, const struct relay_cmd *c,
			  struct error *err)
{
	struct params p = { 0 };

	p_str(&p, c->verb);
	p_str(&p, c->domain);
	p_str(&p, c->actor);
	p_int(&p, c->ttl_s);
	p_str(&p, c->except);
	p_str(&p, c->only);
	p_str(&p, c->queue_id);
	return json_query(s, sql_bus_add, &p, "relay command", err);
}

/* a pending command past its time reads as expired, for everyone */
static const char sql_bus_status[] =
	"SELECT coalesce(json_agg(json_build_object('id', c.id,"
	" 'relay', c.relay, 'state', CASE WHEN c.state = 'pending' AND"
	"  c.expires_at <= now() THEN 'expired' ELSE c.state END,"
	" 'result', c.result, 'error', c.error, 'done_at', mx_utc(c.done_at),"
	" 'expires_at', mx_utc(c.expires_at),"
	" 'alive', coalesce(r.heartbeat > now() - interval '60 seconds', "
	"false))"
	" ORDER BY c.relay), '[]')::text FROM relay_commands c"
	" JOIN relays r ON r.name = c.relay WHERE c.id = ANY($1::bigint[])";

json_t *store_command_status(struct store *s, const char *ids,
			     struct error *err)
{
	struct params p = { 0 };

	p_str(&p, ids);
	return json_query(s, sql_bus_status, &p, "relay command", err);
}

static const char sql_bus_expire[] =
	"UPDATE relay_commands SET state = 'expired', done_at = now()"
	" WHERE relay = $1 AND state = 'pending' AND expires_at <= now()";
static const char sql_bus_take[] =
	"SELECT coalesce(json_agg(json_build_object('id', id, 'verb', verb,"
	" 'domain', domain, 'queue_id', queue_id) ORDER BY id), '[]')::text"
	" FROM relay_commands"
	" WHERE relay = $1 AND state = 'pending'";

json_t *store_command_take(struct store *s, const char *relay,
			   struct error *err)
{
	struct params p = { 0 };

	p_str(&p, relay);
	if (ensure_conn(s, err) < 0 ||
	    q0(s, sql_bus_expire, &p, "relay command", err) < 0)
		return NULL;
	return json_query(s, sql_bus_take, &p, "relay command", err);
}

static const char sql_bus_finish[] =
	"UPDATE relay_commands SET state = $2, result = $3::jsonb,"
	" error = nullif($4, ''), done_at = now()"
	" WHERE id = $1 AND state = 'pending'";

int store_command_finish(struct store *s, int64_t id, bool ok,
			 const json_t *result, const char *error,
			 struct error *err)
{
	struct params p = { 0 };
	char msg[1025];
	int rc;

	(void)snprintf(msg, sizeof(msg), "%s", error ? error : "");
	p_int(&p, id);
	p_str(&p, ok ? "done" : "failed");
	p_json(&p, result);
	p_str(&p, msg);
	rc = ensure_conn(s, err) < 0
		     ? -1
		     : q0(s, sql_bus_finish, &p, "relay command", err);
	p_release(&p);
	return rc;
}

static const char sql_relay_lock[] =
	"SELECT role, coalesce(queue_total, 0), coalesce(mx_utc(queue_as_of),"
	" 'never') FROM relays WHERE name = $1 FOR UPDATE";
static const char sql_relay_retire[] =
	"UPDATE relays SET role = 'retired', retired_at = now(),"
	" retired_by = $2 WHERE name = $1";
static const char sql_relay_activate[] =
	"UPDATE relays SET role = 'relay', retired_at = NULL, retired_by = NULL"
	" WHERE name = $1";
static const char sql_relay_drop_cmds[] =
	"UPDATE relay_commands SET state = 'expired', done_at = now(),"
	" error = 'the relay was retired' WHERE relay = $1 AND state = "
	"'pending'";

struct retire_arg {
	const char *name, *actor;
	bool retire, force;
};

static int tx_retire(struct store *s, void *arg, struct error *err)
{
	struct retire_arg *a = arg;
	struct params p = { 0 };
	PGresult *res;
	char role[16], when[40];
	int64_t queued = 0;

	p_str(&p, a->name);
	if ((res = q(s, sql_relay_lock, &p, "relay", err)) == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return error_set(err, ERR_NOTFOUND, "relay",
				 "no relay is registered as %s", a->name);
	}
	(void)snprintf(role, sizeof(role), "%s", PQgetvalue(res, 0, 0));
	(void)get_i64(res, 0, 1, &queued);
	(void)snprintf(when, sizeof(when), "%s", PQgetvalue(res, 0, 2));
	PQclear(res);
	if (a->retire && strcmp(role, "relay") != 0)
		return error_set(err, ERR_CONFLICT, "relay",
				 "%s is not an active relay (role %s)", a->name,
				 role);
	if (!a->retire && strcmp(role, "retired") != 0)
		return error_set(err, ERR_CONFLICT, "relay",
				 "%s is not retired (role %s)", a->name, role);
	if (a->retire && queued > 0 && !a->force)
		return error_set(err, ERR_CONFLICT, "relay",
				 "%s still held %" PRId64 " queued message%s "
				 "when it last published its queue (as of "
				 "%s): let them be delivered first, or retire "
				 "it with --force",
				 a->name, queued, queued == 1 ? "" : "s", when);
	if (!a->retire)
		return q0(s, sql_relay_activate, &p, "relay", err);
	p_str(&p, a->actor);
	if (q0(s, sql_relay_retire, &p, "relay", err) < 0)
		return -1;
	p.n = 1;
	return q0(s, sql_relay_drop_cmds, &p, "relay", err);
}

int store_relay_retire(struct store *s, const char *name, bool retire,
		       bool force, const char *actor, struct error *err)
{
	struct retire_arg a = { name, actor, retire, force };

	return with_tx(s, tx_retire, &a, err);
}

/* 0 when nothing received is waiting to be replayed (an idle primary
 * sends nothing, so the age of the last replayed commit is no lag) */
static const char sql_read_lag[] =
	"SELECT CASE WHEN NOT pg_is_in_recovery() THEN -1"
	" WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM"
	"  pg_last_wal_replay_lsn() THEN 0"
	" ELSE greatest(coalesce(extract(epoch FROM now() -"
	"  pg_last_xact_replay_timestamp()) * 1000, 0), 0) END::bigint";
static const char sql_relay_read_lag[] =
	"UPDATE relays SET read_lag_ms = nullif($2::bigint, -1) WHERE name = "
	"$1";

int store_read_lag(struct store *s, int64_t *lag_ms, struct error *err)
{
	PGresult *res;
	bool ok;

	if (ensure_conn(s, err) < 0 ||
	    (res = q(s, sql_read_lag, NULL, "replay lag", err)) == NULL)
		return -1;
	ok = get_i64(res, 0, 0, lag_ms);
	PQclear(res);
	return ok ? 0 : error_set(err, ERR_INTERNAL, NULL, "bad replay lag");
}

int store_relay_read_lag(struct store *s, const char *name, int64_t lag_ms,
			 struct error *err)
{
	struct params p = { 0 };

	if (ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, name);
	p_int(&p, lag_ms);
	return q0(s, sql_relay_read_lag, &p, "replay lag", err);
}

/* ---- tracking: message_events (sql/008) ------------------------- */

static const char sql_events_prepare[] = "SELECT mx_events_prepare($1)";

int store_events_prepare(struct store *s, int keep_days, int *dropped,
			 struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	int64_t n = 0;

	p_int(&p, keep_days);
	if (ensure_conn(s, err) < 0 ||
	    (res = q(s, sql_events_prepare, &p, "tracking partitions", err)) ==
		    NULL)
		return -1;
	(void)get_i64(res, 0, 0, &n);
	PQclear(res);
	*dropped = (int)n;
	return 0;
}

static const char sql_events_add[] =
	"INSERT INTO message_events (at, relay, queue_id, message_id, sender,"
	" recipient, domain, client, helo, verdict, code, reply, destination)"
	" SELECT to_timestamp(x.at), $1, x.queue_id, x.message_id, x.sender,"
	" x.recipient, x.domain, x.client, x.helo, x.verdict, x.code, x.reply,"
	" x.destination FROM jsonb_to_recordset($2::jsonb) AS x(at bigint,"
	" queue_id text, message_id text, sender text, recipient text,"
	" domain text, client text, helo text, verdict text, code text,"
	" reply text, destination text)";

int store_events_add(struct store *s, const char *relay, const json_t *rows,
		     struct error *err)
{
	struct params p = { 0 };
	int rc;

	p_str(&p, relay);
	p_json(&p, rows);
	rc = ensure_conn(s, err) < 0
		     ? -1
		     : q0(s, sql_events_add, &p, "tracking events", err);
	p_release(&p);
	return rc;
}

/* the matching rows, and every row of the queued messages among them */
static const char sql_events_find[] =
	"WITH hit AS (SELECT * FROM message_events"
	" WHERE at >= to_timestamp($4) AND ($1::text IS NULL OR domain = $1)"
	" AND ($2::text IS NULL OR lower(recipient) = $2 OR lower(sender) = $2)"
	" AND ($3::text IS NULL OR message_id = $3)"
	" AND ($5::text[] IS NULL OR domain = ANY($5::text[]))"
	" ORDER BY at DESC LIMIT 20000),"
	" q AS (SELECT DISTINCT relay, queue_id FROM hit"
	"  WHERE queue_id IS NOT NULL),"
	" r AS (SELECT * FROM hit WHERE queue_id IS NULL UNION ALL"
	"  SELECT e.* FROM message_events e JOIN q USING (relay, queue_id)"
	"  WHERE e.at >= to_timestamp($4) - interval '31 days')"
	" SELECT coalesce(json_agg(json_build_object('at', mx_utc(at),"
	" 'at_s', extract(epoch FROM at)::bigint, 'relay', relay,"
	" 'queue_id', queue_id, 'message_id', message_id, 'sender', sender,"
	" 'recipient', recipient, 'domain', domain, 'client', client,"
	" 'helo', helo, 'verdict', verdict, 'code', code, 'reply', reply,"
	" 'destination', destination) ORDER BY at), '[]')::text FROM r";

json_t *store_events_find(struct store *s, const char *domain,
			  const char *address, const char *message_id,
			  int64_t since, const struct domain_name *scope,
			  size_t nscope, struct error *err)
{
	struct params p = { 0 };
	struct strbuf arr = STRBUF_INIT;
	char low[321];
	size_t i;
	json_t *j;

	for (i = 0; address != NULL && address[i] && i + 1 < sizeof(low); i++)
		low[i] = (char)tolower((unsigned char)address[i]);
	low[address ? i : 0] = '\0';
	p_str(&p, domain);
	p_str(&p, address ? low : NULL);
	p_str(&p, message_id);
	p_int(&p, since);
	/* A-labels: [a-z0-9.-] only, safe inside an array literal */
	sbuf_addch(&arr, '{');
	for (i = 0; i < nscope; i++)
		sbuf_addf(&arr, "%s%s", i ? "," : "", scope[i].alabel);
	sbuf_addch(&arr, '}');
	p_str(&p, nscope > 0 ? arr.buf : NULL);
	j = json_query(s, sql_events_find, &p, "tracking", err);
	sbuf_release(&arr);
	return j;
}

static const char sql_events_recent[] =
	"SELECT coalesce(json_agg(json_build_object('at', mx_utc(at),"
	" 'relay', relay, 'queue_id', queue_id, 'message_id', message_id,"
	" 'sender', sender, 'recipient', recipient, 'client', client,"
	" 'verdict', verdict, 'code', code, 'reply', reply) ORDER BY at DESC),"
	" '[]')::text FROM (SELECT * FROM message_events"
	" WHERE domain = $1 AND at >= to_timestamp($2)"
	" AND verdict = ANY($3::text[]) ORDER BY at DESC LIMIT $4) e";

json_t *store_events_recent(struct store *s, const char *domain,
			    const char *verdicts, int64_t since, long limit,
			    struct error *err)
{
	struct params p = { 0 };

	p_str(&p, domain);
	p_int(&p, since);
	p_str(&p, verdicts);
	p_int(&p, limit);
	return json_query(s, sql_events_recent, &p, "tracking", err);
}

static const char sql_relay_others[] =
	"SELECT count(*) FROM relays WHERE role = 'relay' AND name <> $1";

int64_t store_relay_count(struct store *s, const char *except,
			  struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	int64_t n = -1;

	p_str(&p, except);
	if (ensure_conn(s, err) < 0 ||
	    (res = q(s, sql_relay_others, &p, "relays", err)) == NULL)
		return -1;
	(void)get_i64(res, 0, 0, &n);
	PQclear(res);
	return n;
}

/* ---- the quarantine digest ------------------------------------------ */

static const char sql_digest_targets[] =
	"SELECT coalesce(json_agg(json_build_object('domain', name, 'address',"
	" quarantine_digest) ORDER BY name), '[]')::text"
	" FROM domains WHERE name = ANY (string_to_array($1, ','))"
	" AND quarantine_digest <> ''";
static const char sql_digest_claim[] =
	"INSERT INTO quarantine_digests (relay, domain, day, messages)"
	" VALUES ($1, $2, $3::date, $4::integer) ON CONFLICT DO NOTHING"
	" RETURNING 1";
static const char sql_digest_unclaim[] =
	"DELETE FROM quarantine_digests WHERE relay = $1 AND domain = $2"
	" AND day = $3::date";
static const char sql_digest_prune[] =
	"DELETE FROM quarantine_digests WHERE day < $1::date - 60";

json_t *store_digest_targets(struct store *s, char *const *names, size_t n,
			     struct error *err)
{
	struct params p = { 0 };
	struct strbuf *sb;
	json_t *j;
	size_t i;

	if (ensure_conn(s, err) < 0)
		return NULL;
	sb = p_big(&p);
	for (i = 0; i < n; i++)
		sbuf_addf(sb, "%s%s", i ? "," : "", names[i]);
	p_big_done(&p);
	j = json_query(s, sql_digest_targets, &p, "digest targets", err);
	p_release(&p);
	return j;
}

int store_digest_claim(struct store *s, const char *relay, const char *domain,
		       const char *day, long messages, struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	int rc;

	if (ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, relay);
	p_str(&p, domain);
	p_str(&p, day);
	p_int(&p, messages);
	res = q(s, sql_digest_claim, &p, "digest claim", err);
	p_release(&p);
	if (res == NULL)
		return -1;
	rc = PQntuples(res) > 0 ? 1 : 0;
	PQclear(res);
	if (rc == 1) {
		p = (struct params){ 0 };
		p_str(&p, day);
		/* bookkeeping: a failure here changes nothing that matters */
		if (q0(s, sql_digest_prune, &p, "digest prune", err) < 0)
			error_clear(err);
		p_release(&p);
	}
	return rc;
}

int store_digest_unclaim(struct store *s, const char *relay, const char *domain,
			 const char *day, struct error *err)
{
	struct params p = { 0 };
	int rc;

	if (ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, relay);
	p_str(&p, domain);
	p_str(&p, day);
	rc = q0(s, sql_digest_unclaim, &p, "digest unclaim", err);
	p_release(&p);
	return rc;
}
