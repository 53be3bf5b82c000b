/*
 * store_mailbox - mailboxes, and the switches that change them with the domain
 *
 * Mailboxes belong to pop3 domains and to domains in temporary POP3:
 * an add locks the domain row (FOR SHARE) and is refused once it was
 * switched meanwhile.  A switch and temporary POP3 update the domain,
 * queue the mailbox jobs (lib/mailjob) and add the new mailboxes in one
 * transaction, refused while mailbox jobs of the domain are still to
 * run.  Removing a mailbox queues the archive of its maildir.  Every
 * change writes an audit row; password hashes never reach it.
 */
#include "store_mailbox.h"

#include "store_int.h"

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
	p_str(&p, dn->alabel);
	res = store_run(s, sql_mailbox_list, &p, "mailboxes", err);
	if (res == NULL)
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
	if ((res = store_q(s, sql_domain_lock_share, &p, "mailbox add", err)) ==
	    NULL)
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
	res = store_q(s,
		      a->mb->temporary ? sql_mailbox_add_temp : sql_mailbox_add,
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
	rc = store_audit(s, a->ctx, "mailbox-add", a->d->name.alabel, NULL, j,
			 err);
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
	    store_q0(s, sql_keep_cancel, &p, "temp-pop3", err) < 0 ||
	    no_open_jobs(s, a->old, err) < 0 ||
	    store_do_update(s, a->old, a->nd, a->ctx, "temp-pop3", err) < 0)
		return -1;
	for (i = 0; i < a->n; i++) {
		struct mailbox_arg m = { a->nd, &a->mbs[i], a->mbs[i].local,
					 a->hashes[i], a->ctx };

		if (tx_mailbox_add(s, &m, err) < 0)
			return -1;
	}
	/* kept ones not named again stay in use, with their passwords */
	return store_q0(s, sql_keep_end, &p, "temp-pop3", err);
}

int store_temp_pop3(struct store *s, const struct domain *old,
		    struct domain *nd, const struct mailbox *mbs,
		    char *const *hashes, size_t n, const struct change_ctx *ctx,
		    struct error *err)
{
	struct temp_arg a = { old, nd, mbs, hashes, n, ctx };

	return store_with_tx(s, tx_temp_pop3, &a, err);
}

int store_mailbox_add(struct store *s, const struct domain *d,
		      const struct mailbox *mb, const char *hash,
		      const struct change_ctx *ctx, struct error *err)
{
	struct mailbox_arg a = { d, mb, mb->local, hash, ctx };

	return store_with_tx(s, tx_mailbox_add, &a, err);
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
	if ((res = store_q(s, sql_mailbox_passwd, &p, "mailbox passwd", err)) ==
	    NULL)
		return -1;
	n = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (n == 0)
		return error_set(err, ERR_NOTFOUND, "local",
				 "%s@%s has no mailbox", a->local,
				 a->d->name.alabel);
	/* never the hash: the audit is readable by more people */
	j = mailbox_json(a->d, a->local, NULL);
	rc = store_audit(s, a->ctx, "mailbox-passwd", a->d->name.alabel, NULL,
			 j, err);
	json_decref(j);
	return rc;
}

int store_mailbox_passwd(struct store *s, const struct domain *d,
			 const char *local, const char *hash,
			 const struct change_ctx *ctx, struct error *err)
{
	struct mailbox_arg a = { d, NULL, local, hash, ctx };

	return store_with_tx(s, tx_mailbox_passwd, &a, err);
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
	if ((res = store_q(s, sql_mailbox_delete, &p, "mailbox remove", err)) ==
	    NULL)
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
	rc = store_q0(s, sql_job_archive, &pj, "archive job", err);
	PQclear(res);
	sbuf_release(&addr);
	if (rc < 0)
		return -1;
	j = mailbox_json(a->d, a->local, &mb);
	rc = store_audit(s, a->ctx, "mailbox-remove", a->d->name.alabel, j,
			 NULL, err);
	json_decref(j);
	return rc;
}

int store_mailbox_remove(struct store *s, const struct domain *d,
			 const char *local, const struct change_ctx *ctx,
			 struct error *err)
{
	struct mailbox_arg a = { d, NULL, local, NULL, ctx };

	return store_with_tx(s, tx_mailbox_remove, &a, err);
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
	if ((res = store_q(s, sql_jobs_open, &p, "jobs", err)) == NULL)
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
	return store_q0(s, sql_domain_lock, &p, "switch", err);
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
	    store_do_update(s, r->old, r->nd, a->ctx, r->action, err) < 0)
		return -1;
	if (r->keep_until != 0) {
		struct params p = { 0 };

		p_str(&p, r->nd->name.alabel);
		p_int(&p, r->keep_until);
		p_bool(&p, r->temp_only);
		if (store_q0(s, sql_keep_until, &p, "keep", err) < 0)
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
		if ((res = store_q(s, sql_switch_jobs, &p, "jobs", err)) ==
		    NULL)
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

	return store_with_tx(s, tx_switch, &a, err);
}

/* clang-format off */
static const char sql_mailbox_drop[] =
	"DELETE FROM mailboxes WHERE id = $1 RETURNING temporary, catch_all";
/* clang-format on */

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
	if ((res = store_q(s, sql_mailbox_drop, &p, "mailbox drop", err)) ==
	    NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0; /* gone already: a resumed job */
	}
	j = json_pack("{s:s, s:b, s:b}", "address", a->address, "temporary",
		      get_bool(res, 0, 0), "catch_all", get_bool(res, 0, 1));
	PQclear(res);
	rc = store_audit(s, a->ctx, "mailbox-remove", a->domain, j, NULL, err);
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
	return store_with_tx(s, tx_mailbox_drop, &a, err);
}
