/*
 * jobworker - the mailbox host's jobs worker ("mta-glue worker")
 *
 * Claim a job, run it (lib/mailjob), repeat; poll once a second when
 * there is nothing to do.  Any number of workers may run (the claim
 * skips locked jobs); a killed one's job is taken over when its lease
 * runs out.  The worker's name, "RELAY:PID" (relay.name and the
 * process id), holds the lease and is the actor of the jobs' audit
 * entries; every log line of a job names its domain and the worker.
 * The database away or a failed claim: retried with backoff (1 s
 * doubling to 30 s), except with once.  SIGTERM, SIGINT: the worker
 * stops after the job it runs.
 */
#ifndef MXFEED_JOBWORKER_H
#define MXFEED_JOBWORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "util/error.h"

/* a job's lease, and the first delay after a failed step, seconds */
#define JOBWORKER_LEASE_S     300
#define JOBWORKER_LEASE_MIN_S 2
#define JOBWORKER_LEASE_MAX_S 3600
#define JOBWORKER_RETRY_S     30
#define JOBWORKER_RETRY_MIN_S 1
#define JOBWORKER_RETRY_MAX_S 3600

struct jobworker_opts {
	bool once; /* run what is runnable now, then return */
	long lease_s, retry_s;
};

/* Run until stopped (or, once, until nothing is runnable); -1 with
 * err only with once, when the database or the claim failed. */
int jobworker_run(const struct conf *conf, const struct jobworker_opts *o,
		  struct error *err) __attribute__((warn_unused_result));

/* "RELAY:PID" into buf */
void jobworker_name(const char *relay, long pid, char *buf, size_t size);

#endif
