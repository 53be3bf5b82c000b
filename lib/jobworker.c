/*
 * jobworker - claim, run, repeat
 *
 * See jobworker.h.  The jobs themselves are lib/mailjob's; this is
 * the loop around them and its retries.
 */
#include "jobworker.h"

#include <stdio.h>
#include <unistd.h>

#include "mailjob.h"
#include "store.h"
#include "util/log.h"
#include "util/loop.h"

void jobworker_name(const char *relay, long pid, char *buf, size_t size)
{
	(void)snprintf(buf, size, "%s:%ld", relay, pid);
}

/* run one claimed job, its lines naming its domain and the worker */
static void run_job(struct mailjob_ctx *c, struct job *j, struct error *err)
{
	/* the worker is the actor of the job's audit entries */
	log_ctx_set(LOG_F_DOMAIN, j->domain);
	log_ctx_set(LOG_F_ACTOR, c->worker);
	log_info("job %lld (%s %s) step %d, attempt %d", (long long)j->id,
		 j->kind, j->domain, j->step, j->attempts);
	if (mailjob_run(c, j, err) < 0)
		log_warn("job %lld: %s", (long long)j->id, error_msg(err));
	log_ctx_clear();
	job_release(j);
}

/* after a failure: wait, and wait longer the next time; 1 */
static int retry_later(int *backoff)
{
	loop_pause(*backoff);
	*backoff = loop_backoff(*backoff);
	return 1;
}

/* One turn: 1 go on, 0 stop, -1 stop with err (once only). */
static int turn(struct mailjob_ctx *c, bool once, int *backoff,
		struct error *err)
{
	const struct conf *conf = c->conf;
	struct job j;
	int got;

	if (c->store == NULL &&
	    store_open(&c->store, conf->db_conninfo, conf, err) < 0) {
		if (once)
			return -1;
		log_warn("worker: %s; retrying in %d s", error_msg(err),
			 *backoff);
		return retry_later(backoff);
	}
	got = store_job_claim(c->store, c->worker, c->lease_s, &j, err);
	if (got < 0) {
		log_warn("worker: %s", error_msg(err));
		return once ? -1 : retry_later(backoff);
	}
	*backoff = 1;
	if (got == 0) {
		if (once)
			return 0;
		loop_pause(1);
		return 1;
	}
	run_job(c, &j, err);
	return 1;
}

int jobworker_run(const struct conf *conf, const struct jobworker_opts *o,
		  struct error *err)
{
	struct mailjob_ctx c = { 0 };
	char name[128];
	int backoff = 1, rc = 0;

	jobworker_name(conf->relay_name, (long)getpid(), name, sizeof(name));
	c.conf = conf;
	c.worker = name;
	c.lease_s = (int)o->lease_s;
	c.retry_s = (int)o->retry_s;
	loop_signals(false);
	log_info("worker %s starts", name);
	while (!loop_stopping()) {
		error_clear(err);
		rc = turn(&c, o->once, &backoff, err);
		if (rc <= 0)
			break;
	}
	mailjob_ctx_release(&c);
	if (c.store)
		store_close(c.store);
	return rc < 0 ? -1 : 0;
}
