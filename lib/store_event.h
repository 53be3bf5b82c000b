/*
 * store_event - tracking (message_events) and the quarantine digest
 *
 * Part of the store's public interface: callers include store.h, which
 * includes this file (store.h has the contract every store function
 * keeps: failures mapped once, changes audited, lookups three-state).
 */
#ifndef MXFEED_STORE_EVENT_H
#define MXFEED_STORE_EVENT_H

#include "store.h"

/*
 * Tracking (sql/008): the days' partitions made and old ones dropped;
 * rows ([{"at": unix, "queue_id", ..., "verdict", ...}]) added for a
 * relay; the rows a search matches plus every row of the queued
 * messages among them, oldest first (NULLs for any filter not given).
 */
int store_events_prepare(struct store *s, int keep_days, int *dropped,
			 struct error *err) __attribute__((warn_unused_result));
int store_events_add(struct store *s, const char *relay, const json_t *rows,
		     struct error *err) __attribute__((warn_unused_result));
json_t *store_events_find(struct store *s, const char *domain,
			  const char *address, const char *message_id,
			  int64_t since, const struct domain_name *scope,
			  size_t nscope, struct error *err);
/*
 * The newest limit events of a domain since (unix seconds) whose
 * verdict is one of verdicts ("{refused,virus}"), newest first:
 * [{"at", "relay", "queue_id", "message_id", "sender", "recipient",
 * "client", "verdict", "code", "reply"}].
 */
json_t *store_events_recent(struct store *s, const char *domain,
			    const char *verdicts, int64_t since, long limit,
			    struct error *err);

/*
 * The quarantine digest (lib/digest): of the domains names (A-labels),
 * those with a quarantine.digest address: [{"domain", "address"}];
 * claim the digest of relay, domain and UTC day ("YYYY-MM-DD"): 1 when
 * this caller may send it, 0 when it was sent already; unclaim: give a
 * claim back after a failed send, so that the next run tries again.
 */
json_t *store_digest_targets(struct store *s, char *const *names, size_t n,
			     struct error *err);
int store_digest_claim(struct store *s, const char *relay, const char *domain,
		       const char *day, long messages, struct error *err)
	__attribute__((warn_unused_result));
int store_digest_unclaim(struct store *s, const char *relay, const char *domain,
			 const char *day, struct error *err)
	__attribute__((warn_unused_result));

#endif
