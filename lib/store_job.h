/*
 * store_job - the jobs table: listings and the jobs worker's side
 *
 * Part of the store's public interface: callers include store.h, which
 * includes this file (store.h has the contract every store function
 * keeps: failures mapped once, changes audited, lookups three-state).
 */
#ifndef MXFEED_STORE_JOB_H
#define MXFEED_STORE_JOB_H

#include "store.h"

json_t *store_job_list(struct store *s, const struct domain_name *dn,
		       struct error *err);
/* [{"state", "count"}] of every job, by state (relay metrics) */
json_t *store_job_counts(struct store *s, struct error *err);

/*
 * The jobs worker's side of the jobs table.  A job is claimed with
 * FOR UPDATE SKIP LOCKED once every relay has applied the change that
 * made it (after_seq) and its run_after has come; the claim is a lease
 * of lease_s seconds that every saved step renews.  A job whose lease
 * ran out (its worker died) is claimed again and goes on from its last
 * saved step.
 */
struct job {
	int64_t id;
	char kind[33];
	char domain[DOMAIN_NAME_MAX + 1];
	json_t *payload; /* owned */
	int step;
	int attempts;
};
void job_release(struct job *j);
/* 1: *j claimed; 0: nothing to run now. */
int store_job_claim(struct store *s, const char *worker, int lease_s,
		    struct job *j, struct error *err)
	__attribute__((warn_unused_result));
/* Save j->step and j->payload, renew the lease; ERR_CONFLICT when the
 * lease was lost (another worker has the job now). */
int store_job_save(struct store *s, const struct job *j, const char *worker,
		   int lease_s, struct error *err)
	__attribute__((warn_unused_result));
/* Done; or back to pending after delay_s with error shown (NULL: a
 * planned wait, not a failure). */
int store_job_done(struct store *s, const struct job *j, const char *worker,
		   struct error *err) __attribute__((warn_unused_result));
int store_job_later(struct store *s, const struct job *j, const char *worker,
		    int64_t delay_s, const char *error, struct error *err)
	__attribute__((warn_unused_result));
int store_job_add(struct store *s, const char *kind, const char *domain,
		  const json_t *payload, int64_t delay_s, const char *actor,
		  struct error *err) __attribute__((warn_unused_result));

#endif
