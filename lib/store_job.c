/*
 * store_job - the jobs table: listings and the jobs worker's side
 *
 * A job is claimed with FOR UPDATE SKIP LOCKED once every relay applied
 * the change that made it and its run_after has come; the claim is a
 * lease that every saved step renews.  A save, done or later whose
 * lease was lost answers ERR_CONFLICT.  Switches queue their jobs in
 * store_mailbox.c, inside their own transaction.
 */
#include "store_job.h"

#include "store_int.h"

#include <limits.h>

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
	return store_json_query(s, sql_jobs, &p, "jobs", err);
}

static const char sql_job_counts[] =
	"SELECT coalesce(json_agg(json_build_object('state', state,"
	" 'count', n) ORDER BY state), '[]')::text FROM"
	" (SELECT state, count(*) AS n FROM jobs GROUP BY state) j";

json_t *store_job_counts(struct store *s, struct error *err)
{
	struct params p = { 0 };

	return store_json_query(s, sql_job_counts, &p, "job counts", err);
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
/* clang-format on */

int store_job_claim(struct store *s, const char *worker, int lease_s,
		    struct job *j, struct error *err)
{
	struct params p = { 0 };
	json_error_t je;
	PGresult *res;
	bool ok;

	memset(j, 0, sizeof(*j));
	p_str(&p, worker);
	p_int(&p, lease_s);
	if ((res = store_run(s, sql_job_claim, &p, "job claim", err)) == NULL)
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

	p_int(&p, j->id);
	p_str(&p, worker);
	p_int(&p, j->step);
	p_json(&p, j->payload);
	if (has_secs)
		p_int(&p, secs);
	if (has_error)
		p_str(&p, error);
	if ((res = store_run(s, sql, &p, "job", err)) == NULL)
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

	p_str(&p, kind);
	p_str(&p, domain);
	p_json(&p, payload);
	p_int(&p, delay_s);
	p_str(&p, actor);
	return store_run0(s, sql_job_add, &p, "job add", err);
}
