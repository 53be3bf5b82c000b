/*
 * store - the PostgreSQL store (libpq): the only place SQL lives
 *
 * See store.h for the contract.  Conventions inside:
 *   - every statement is a static const char[] below and runs through
 *     store_q(), which prepares it on the connection at first use (then runs
 *     it by name with text parameters), checks the result status and
 *     maps failures through store_fail();
 *   - a change runs in store_with_tx(): BEGIN, the work, COMMIT; on a
 *     serialization failure or deadlock (40001, 40P01) the whole
 *     transaction is retried a few times, then reported as ERR_TEMPFAIL;
 *   - rows read back are re-checked (ip_parse, enum tables): a row the
 *     validators would refuse is reported as ERR_INTERNAL, never used.
 * Timestamps cross the wire as unix seconds (bigint); JSON listings are
 * built by PostgreSQL (json_agg) with mx_utc() text timestamps.
 */
#include "store.h"

#include "store_int.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "domain_json.h"
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

/* Run a statement whose result is not needed. */
int store_q0(struct store *s, const char *sql, const struct params *p,
	     const char *what, struct error *err)
{
	PGresult *res = store_q(s, sql, p, what, err);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
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

/* ---- listings built by PostgreSQL -------------------------------- */

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
	return store_json_query(s, sql_relays, NULL, "relays", err);
}

static const char sql_relay_addresses[] =
	"SELECT coalesce(json_agg(host(a) ORDER BY family(a), a), '[]')::text"
	" FROM"
	" (SELECT DISTINCT host(unnest(addresses))::inet AS a FROM relays"
	"  WHERE role = 'relay') x";

json_t *store_relay_addresses(struct store *s, struct error *err)
{
	return store_json_query(s, sql_relay_addresses, NULL, "relay addresses",
				err);
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
	rc = store_q0(s, sql_token_insert, &p, "token", err);
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
	rc = store_audit(s, a->ctx, "token-create", NULL, NULL, j, err);
	json_decref(j);
	return rc;
}

int store_token_create(struct store *s, const struct token_info *t,
		       const unsigned char hash[TOKEN_HASH_LEN],
		       const struct change_ctx *ctx, struct error *err)
{
	struct token_arg a = { t, hash, t->name, ctx };

	return store_with_tx(s, tx_token_create, &a, err);
}

json_t *store_token_list(struct store *s, struct error *err)
{
	return store_json_query(s, sql_token_list, NULL, "tokens", err);
}

static int tx_token_revoke(struct store *s, void *arg, struct error *err)
{
	struct token_arg *a = arg;
	struct params p = { 0 };
	PGresult *res;
	json_t *j;
	int rc;

	p_str(&p, a->name);
	if ((res = store_q(s, sql_token_delete, &p, "token revoke", err)) ==
	    NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return error_set(err, ERR_NOTFOUND, "name", "no such token");
	}
	j = json_pack("{s:s, s:s}", "name", a->name, "role",
		      PQgetvalue(res, 0, 0));
	PQclear(res);
	rc = store_audit(s, a->ctx, "token-revoke", NULL, j, NULL, err);
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
	return store_with_tx(s, tx_token_revoke, &a, err);
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
	if (store_ensure_conn(s, err) < 0)
		return LOOKUP_FAIL;
	p_hex(&p, hash, TOKEN_HASH_LEN);
	res = store_q(s, sql_token_by_hash, &p, "token lookup", err);
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

	if (store_ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, name);
	return store_q0(s, sql_token_touch, &p, "token last-used", err);
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
	rc = store_q0(s, sql_staff_insert, &p, "staff add", err);
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
	rc = store_audit(s, a->ctx, "staff-add", NULL, NULL, j, err);
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
	res = store_q(s, sql_staff_update, &p, "staff set", err);
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
	rc = store_audit(s, a->ctx, "staff-set", NULL, jo, jn, err);
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
	res = store_q(s, sql_staff_delete, &p, "staff remove", err);
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
	rc = store_audit(s, a->ctx, "staff-remove", NULL, j, NULL, err);
	json_decref(j);
	return rc;
}

int store_staff_add(struct store *s, const struct staff_info *st,
		    const struct change_ctx *ctx, struct error *err)
{
	struct staff_arg a = { st->login,    &st->role, st->domains,
			       st->ndomains, true,	ctx };

	return store_with_tx(s, tx_staff_add, &a, err);
}

int store_staff_set(struct store *s, const char *login,
		    const enum token_role *role,
		    const struct domain_name *domains, size_t ndomains,
		    bool domains_given, const struct change_ctx *ctx,
		    struct error *err)
{
	struct staff_arg a = { login,	 role,		domains,
			       ndomains, domains_given, ctx };

	return store_with_tx(s, tx_staff_set, &a, err);
}

int store_staff_remove(struct store *s, const char *login,
		       const struct change_ctx *ctx, struct error *err)
{
	struct staff_arg a = { login, NULL, NULL, 0, false, ctx };

	return store_with_tx(s, tx_staff_remove, &a, err);
}

json_t *store_staff_list(struct store *s, struct error *err)
{
	return store_json_query(s, sql_staff_list, NULL, "staff", err);
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
	if (store_ensure_conn(s, err) < 0)
		return LOOKUP_FAIL;
	p_str(&p, login);
	res = store_q(s, sql_staff_get, &p, "staff lookup", err);
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

	if (store_ensure_conn(s, err) < 0)
		return -1;
	if (store_q0(s, sql_idem_expire, &p, "idempotency keys", err) < 0)
		return -1;
	p_str(&p, actor);
	p_str(&p, key);
	p_hex(&p, hash, 32);
	res = store_q(s, sql_idem_reserve, &p, "idempotency key", err);
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

	if (store_ensure_conn(s, err) < 0)
		return LOOKUP_FAIL;
	p_str(&p, actor);
	p_str(&p, key);
	p_hex(&p, hash, 32);
	res = store_q(s, sql_idem_get, &p, "idempotency key", err);
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

	if (store_ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, actor);
	p_str(&p, key);
	p_int(&p, status);
	p_str(&p, response);
	p_str(&p, headers);
	rc = store_q0(s, sql_idem_put, &p, "idempotency key", err);
	p_release(&p);
	return rc;
}

int store_idem_release(struct store *s, const char *actor, const char *key,
		       struct error *err)
{
	struct params p = { 0 };
	int rc;

	if (store_ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, actor);
	p_str(&p, key);
	rc = store_q0(s, sql_idem_release, &p, "idempotency key", err);
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

static int snap_domain_row(void *arg, const char *const *cells, int n,
			   struct error *err)
{
	struct snap_arg *a = arg;
	const struct rowv r = { NULL, 0, cells };
	struct domain d;

	(void)n;
	if (store_rowv_to_domain(&r, &d, NULL, err) < 0)
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

	if (store_q0(s,
		     "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ "
		     "ONLY",
		     NULL, "snapshot", err) < 0)
		return -1;
	/* a plain scan: JIT compilation would cost more than it saves */
	if (store_q0(s, "SET LOCAL jit = off", NULL, "snapshot", err) < 0)
		return -1;
	if ((res = store_q(s, sql_snap_seq, NULL, "snapshot", err)) == NULL)
		return -1;
	if (!get_i64(res, 0, 0, a->seq)) {
		PQclear(res);
		return error_set(err, ERR_INTERNAL, NULL, "bad sequence");
	}
	PQclear(res);
	store_domain_select_lean(&sql);
	sbuf_addstr(&sql, sql_snap_domains_tail);
	rc = store_copy_rows(s, sql.buf, store_domain_ncols(), snap_domain_row,
			     a, "snapshot", err);
	sbuf_release(&sql);
	if (rc == 0)
		rc = store_copy_rows(s, sql_snap_rules, 4, snap_rule_row, a,
				     "snapshot", err);
	if (rc == 0)
		rc = store_copy_rows(s, sql_snap_rcpts, 2, snap_rcpt_row, a,
				     "snapshot", err);
	return rc < 0 ? -1 : 0;
}

int store_snapshot(struct store *s, int64_t *seq, const struct snap_fns *fns,
		   void *arg, struct error *err)
{
	struct snap_arg a = { seq, fns, arg };

	return store_with_tx(s, tx_snapshot, &a, err);
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

	if (store_ensure_conn(s, err) < 0)
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
	rc = store_q0(s, sql_relay_report, &p, "relay report", err);
	sbuf_release(&arr);
	return rc;
}

static const char sql_relay_heartbeat[] =
	"INSERT INTO relays (name, heartbeat) VALUES ($1, now())"
	" ON CONFLICT (name) DO UPDATE SET heartbeat = now()";

int store_relay_heartbeat(struct store *s, const char *name, struct error *err)
{
	struct params p = { 0 };

	if (store_ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, name);
	return store_q0(s, sql_relay_heartbeat, &p, "heartbeat", err);
}

int store_change_seq(struct store *s, int64_t *seq, struct error *err)
{
	PGresult *res;
	bool ok;

	if (store_ensure_conn(s, err) < 0 ||
	    (res = store_q(s, sql_snap_seq, NULL, "change sequence", err)) ==
		    NULL)
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

	if (store_ensure_conn(s, err) < 0)
		return -1;
	if (!s->listening) {
		/* a relay also wakes for the commands staff queue for it */
		if (store_q0(s, "LISTEN mxfeed_changes", NULL, "listen", err) <
			    0 ||
		    store_q0(s, "LISTEN mxfeed_relay_commands", NULL, "listen",
			     err) < 0)
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
	if (store_q0(s, sql_bus_register, &p, "relay register", err) < 0 ||
	    store_q0(s, sql_bus_clear, &p, "queue publish", err) < 0)
		return -1;
	p_json(&p, a->summary);
	rc = store_q0(s, sql_bus_fill, &p, "queue publish", err);
	p_release(&p);
	if (rc < 0)
		return -1;
	memset(&p, 0, sizeof(p));
	p_str(&p, a->relay);
	p_int(&p, a->total);
	return store_q0(s, sql_bus_stamp, &p, "queue publish", err);
}

int store_queue_publish(struct store *s, const char *relay,
			const json_t *summary, int64_t total, struct error *err)
{
	struct publish_arg a = { relay, summary, total };

	return store_with_tx(s, tx_publish, &a, err);
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
	return store_json_query(s, sql_bus_view, &p, "queue view", err);
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
	return store_json_query(s, sql_bus_add, &p, "relay command", err);
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
	return store_json_query(s, sql_bus_status, &p, "relay command", err);
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
	if (store_ensure_conn(s, err) < 0 ||
	    store_q0(s, sql_bus_expire, &p, "relay command", err) < 0)
		return NULL;
	return store_json_query(s, sql_bus_take, &p, "relay command", err);
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
	rc = store_ensure_conn(s, err) < 0
		     ? -1
		     : store_q0(s, sql_bus_finish, &p, "relay command", err);
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
	if ((res = store_q(s, sql_relay_lock, &p, "relay", err)) == NULL)
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
		return store_q0(s, sql_relay_activate, &p, "relay", err);
	p_str(&p, a->actor);
	if (store_q0(s, sql_relay_retire, &p, "relay", err) < 0)
		return -1;
	p.n = 1;
	return store_q0(s, sql_relay_drop_cmds, &p, "relay", err);
}

int store_relay_retire(struct store *s, const char *name, bool retire,
		       bool force, const char *actor, struct error *err)
{
	struct retire_arg a = { name, actor, retire, force };

	return store_with_tx(s, tx_retire, &a, err);
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

	if (store_ensure_conn(s, err) < 0 ||
	    (res = store_q(s, sql_read_lag, NULL, "replay lag", err)) == NULL)
		return -1;
	ok = get_i64(res, 0, 0, lag_ms);
	PQclear(res);
	return ok ? 0 : error_set(err, ERR_INTERNAL, NULL, "bad replay lag");
}

int store_relay_read_lag(struct store *s, const char *name, int64_t lag_ms,
			 struct error *err)
{
	struct params p = { 0 };

	if (store_ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, name);
	p_int(&p, lag_ms);
	return store_q0(s, sql_relay_read_lag, &p, "replay lag", err);
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
	if (store_ensure_conn(s, err) < 0 ||
	    (res = store_q(s, sql_events_prepare, &p, "tracking partitions",
			   err)) == NULL)
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
	rc = store_ensure_conn(s, err) < 0
		     ? -1
		     : store_q0(s, sql_events_add, &p, "tracking events", err);
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
	j = store_json_query(s, sql_events_find, &p, "tracking", err);
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
	return store_json_query(s, sql_events_recent, &p, "tracking", err);
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
	if (store_ensure_conn(s, err) < 0 ||
	    (res = store_q(s, sql_relay_others, &p, "relays", err)) == NULL)
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

	if (store_ensure_conn(s, err) < 0)
		return NULL;
	sb = p_big(&p);
	for (i = 0; i < n; i++)
		sbuf_addf(sb, "%s%s", i ? "," : "", names[i]);
	p_big_done(&p);
	j = store_json_query(s, sql_digest_targets, &p, "digest targets", err);
	p_release(&p);
	return j;
}

int store_digest_claim(struct store *s, const char *relay, const char *domain,
		       const char *day, long messages, struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	int rc;

	if (store_ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, relay);
	p_str(&p, domain);
	p_str(&p, day);
	p_int(&p, messages);
	res = store_q(s, sql_digest_claim, &p, "digest claim", err);
	p_release(&p);
	if (res == NULL)
		return -1;
	rc = PQntuples(res) > 0 ? 1 : 0;
	PQclear(res);
	if (rc == 1) {
		p = (struct params){ 0 };
		p_str(&p, day);
		/* bookkeeping: a failure here changes nothing that matters */
		if (store_q0(s, sql_digest_prune, &p, "digest prune", err) < 0)
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

	if (store_ensure_conn(s, err) < 0)
		return -1;
	p_str(&p, relay);
	p_str(&p, domain);
	p_str(&p, day);
	rc = store_q0(s, sql_digest_unclaim, &p, "digest unclaim", err);
	p_release(&p);
	return rc;
}
