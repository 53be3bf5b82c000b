/*
 * store_auth - API tokens, staff users and idempotency keys
 *
 * Tokens are stored by their SHA-256 only; a token's or staff user's
 * domain scope is read back through domain_name_parse().  Token and
 * staff changes write audit rows (never a hash).  Idempotency keys are
 * reserved before their request runs and expire after 24 hours.
 */
#include "store_auth.h"

#include "store_int.h"

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
	p_hex(&p, hash, TOKEN_HASH_LEN);
	res = store_run(s, sql_token_by_hash, &p, "token lookup", err);
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

	p_str(&p, name);
	return store_run0(s, sql_token_touch, &p, "token last-used", err);
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
	p_str(&p, login);
	res = store_run(s, sql_staff_get, &p, "staff lookup", err);
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

	if (store_run0(s, sql_idem_expire, NULL, "idempotency keys", err) < 0)
		return -1;
	p_str(&p, actor);
	p_str(&p, key);
	p_hex(&p, hash, 32);
	res = store_run(s, sql_idem_reserve, &p, "idempotency key", err);
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

	p_str(&p, actor);
	p_str(&p, key);
	p_hex(&p, hash, 32);
	res = store_run(s, sql_idem_get, &p, "idempotency key", err);
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

	p_str(&p, actor);
	p_str(&p, key);
	p_int(&p, status);
	p_str(&p, response);
	p_str(&p, headers);
	return store_run0(s, sql_idem_put, &p, "idempotency key", err);
}

int store_idem_release(struct store *s, const char *actor, const char *key,
		       struct error *err)
{
	struct params p = { 0 };

	p_str(&p, actor);
	p_str(&p, key);
	return store_run0(s, sql_idem_release, &p, "idempotency key", err);
}
