/*
 * store_snap - the generators' reads: snapshot, change sequence, waiting
 *
 * Part of the store's public interface: callers include store.h, which
 * includes this file (store.h has the contract every store function
 * keeps: failures mapped once, changes audited, lookups three-state).
 */
#ifndef MXFEED_STORE_SNAP_H
#define MXFEED_STORE_SNAP_H

#include "store.h"

/*
 * A consistent snapshot for the generators: one REPEATABLE READ, READ
 * ONLY transaction reads the change sequence, every domain (in name
 * order), every rule and every listed recipient; each goes to its
 * callback, which may stop the walk by returning -1 (with err set).
 * The rows are read with COPY (SELECT ...) TO STDOUT and reach the
 * callbacks as they arrive: no result set of 100k rows is built.
 */
typedef int (*snap_domain_fn)(void *arg, const struct domain *d,
			      struct error *err);
typedef int (*snap_rule_fn)(void *arg, const char *alabel, const struct rule *r,
			    struct error *err);
/* a listed recipient (recipients = list): its local part */
typedef int (*snap_rcpt_fn)(void *arg, const char *alabel, const char *local,
			    struct error *err);
struct snap_fns {
	snap_domain_fn on_domain;
	snap_rule_fn on_rule;
	snap_rcpt_fn on_rcpt;
};
int store_snapshot(struct store *s, int64_t *seq, const struct snap_fns *fns,
		   void *arg, struct error *err)
	__attribute__((warn_unused_result));

/*
 * The same snapshot limited to the domains changed after sequence from
 * (for an incremental generation, lib/incr): *seq is the newest
 * sequence, *names (sorted in byte order, each freed by the caller with
 * the array) every domain name a change after from and up to *seq
 * touched - a name no longer stored is a removed domain - and only the
 * rows of those domains reach the callbacks, in store_snapshot()'s
 * order.  More than limit names: *too_many is set, no callback runs and
 * *names is NULL (the caller generates in full).
 */
int store_snapshot_since(struct store *s, int64_t from, size_t limit,
			 int64_t *seq, char ***names, size_t *nnames,
			 bool *too_many, const struct snap_fns *fns, void *arg,
			 struct error *err) __attribute__((warn_unused_result));

/* The newest change sequence. */
int store_change_seq(struct store *s, int64_t *seq, struct error *err)
	__attribute__((warn_unused_result));
/*
 * LISTEN mxfeed_changes on this connection (again after a reconnect),
 * then wait up to timeout_ms for a notification: 1 when one (or more)
 * arrived, 0 on timeout, -1 with err set when the connection failed.
 */
int store_wait_change(struct store *s, int timeout_ms, struct error *err)
	__attribute__((warn_unused_result));

#endif
