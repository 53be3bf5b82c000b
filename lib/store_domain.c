/*
 * store_domain - the domains table and its audit history
 *
 * A domain's record is read back through the same validators that let
 * it in (a row they refuse is ERR_INTERNAL, never used); the statement
 * texts are built from lib/fields.def, so a new field needs no edit
 * here.  Create, update, remove and apply write the row and one audit
 * row per domain in one transaction; updates and removes are guarded
 * by the version the caller read (ERR_STALE, or ERR_NOTFOUND when the
 * domain is gone).  store_do_update() and the row readers serve the
 * other store modules (switches, the snapshot).
 */
#include "store_domain.h"

#include <pthread.h>

#include "store_int.h"

#include "domain_json.h"

/* ---- domains: reading -------------------------------------------- */

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

/*
 * The columns of a domain row.  lean: for the generators, which write
 * no name in Unicode, no temp_pop3_by and none of the bookkeeping: those
 * columns are constants (the same row shape, so one reader), as the
 * server spends a third of a 100k-row COPY formatting them.
 */
/* clang-format off */
static void domain_cols(struct strbuf *sql, bool lean)
{
	int i;

	sbuf_addstr(sql, lean ? "SELECT d.name, '', d.mode, " :
		"SELECT d.name, d.unicode_name, d.mode, ");
	sbuf_addstr(sql, EPOCH("d.temp_pop3_since"));
	sbuf_addstr(sql, lean ? ", ''," : ", coalesce(d.temp_pop3_by, ''),");
	sbuf_addstr(sql,
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
	sbuf_addstr(sql, lean ? " 0, 0, '', 0, '', ''," :
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

int store_rowv_to_domain(const struct rowv *r, struct domain *d,
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

	return store_rowv_to_domain(&r, d, prop, err);
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
	domain_cols(&sql_get_text, false);
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

	(void)pthread_once(&sql_get_once, sql_get_build);
	p_str(&p, dn->alabel);
	res = store_run(s, sql_get_text.buf, &p, "read", err);
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
	domain_cols(&sql, false);
	sbuf_addstr(&sql, sql_domain_prop);
	sbuf_addstr(&sql, sql_domain_list_tail);
	res = store_run(s, sql.buf, &p, "list", err);
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

static int audit_domain(struct store *s, const struct change_ctx *ctx,
			const char *action, const struct domain *old,
			const struct domain *new, struct error *err)
{
	json_t *jo = old ? domain_to_json(old, NULL) : NULL;
	json_t *jn = new ? domain_to_json(new, NULL) : NULL;
	int rc = store_audit(s, ctx, action, (new ? new : old)->name.alabel, jo,
			     jn, err);

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
	res = store_q(s, sql.buf, &p, d->name.alabel, err);
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
	res = store_q(s, sql_domain_version, &p, "version check", err);
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

int store_do_update(struct store *s, const struct domain *old,
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
	res = store_q(s, sql.buf, &p, nd->name.alabel, err);
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

	return store_with_tx(s, tx_create, &a, err);
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

	return store_do_update(s, a->old, a->nd, a->ctx, a->action, err);
}

int store_domain_update(struct store *s, const struct domain *old,
			struct domain *nd, const struct change_ctx *ctx,
			const char *action, struct error *err)
{
	struct update_arg a = { old, nd, ctx, action ? action : "update" };

	return store_with_tx(s, tx_update, &a, err);
}

static int tx_remove(struct store *s, void *arg, struct error *err)
{
	struct update_arg *a = arg;
	struct params p = { 0 };
	PGresult *res;
	int64_t n = 0;

	p_str(&p, a->old->name.alabel);
	res = store_q(s, sql_domain_mailboxes, &p, "mailbox count", err);
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
	res = store_q(s, sql_domain_delete, &p, "remove", err);
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

	return store_with_tx(s, tx_remove, &a, err);
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
		int rc = it->old ? store_do_update(s, it->old, it->new, a->ctx,
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

	return store_with_tx(s, tx_apply, &a, err);
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
	return store_json_query(s, sql_history, &p, "history", err);
}

/* The lean select of the snapshot: what the generators read (every
 * setting), no bookkeeping, no propagation. */
void store_domain_select_lean(struct strbuf *sql)
{
	domain_cols(sql, true);
	sbuf_addstr(sql, sql_domain_lean);
}

/* How many columns a domain row has. */
int store_domain_ncols(void)
{
	return C_FIELDS + nsql_fields() + B_TOTAL + 1;
}
