/*
 * queue - one domain's share of a relay's Postfix queue
 *
 * Postfix has one queue and one lifetime (maximal_queue_lifetime, 31d
 * in our main.cf); mxfeed gives every domain its own.  This module
 * reads the relay's queue with "postqueue -j" (never by opening queue
 * files), lists a domain's messages, flushes a domain ("postqueue -s",
 * fast_flush_domains covers relay_domains), and enforces each domain's
 * lifetime from the current generation's "queue" file: a deferred
 * message whose recipients are in a domain expires when
 *     arrival + queue_days            has passed, unless the domain's
 *     queue_extended_until            is later - then that, but never
 *     arrival + 31 days               (Postfix's ceiling);
 * it is expired with "postsuper -e" and sent on its way at once
 * ("postqueue -i"), which bounces it to its sender with the last delay
 * reason.  Deferred messages of domains absent from the generation
 * (removed) are left to Postfix's global lifetime; quarantined ones
 * (the hold queue) of any domain, removed or not, are deleted after
 * the site's quarantine.days.
 *
 * A listing (queue_list) may reuse this process's last postqueue -j
 * answer for up to two seconds, and listings at once wait for one run
 * rather than each reading the whole queue; every change reads afresh.
 *
 * Every function needs the relay's instance under conf->state_dir; on
 * a host without one they fail with ERR_UNAVAILABLE.
 */
#ifndef MXFEED_QUEUE_H
#define MXFEED_QUEUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "domain.h"
#include "util/error.h"
#include "util/strbuf.h"

#define QUEUE_LIFETIME_MAX_DAYS 31

/*
 * {"domain", "count", "oldest", "messages": [{"queue_id", "sender",
 * "recipients", "arrival", "reason"}]} (SPEC section 10).
 */
json_t *queue_list(const struct conf *conf, const struct domain_name *dn,
		   struct error *err);
/*
 * The whole queue by domain, for publishing: an array of the objects
 * queue_list() gives, one per domain with mail queued, each listing
 * its first keep messages (count is every one); *total counts all.
 * cached: a listing for staff, which may use this process's last
 * postqueue answer (2 s), as queue_list() does.
 */
json_t *queue_summary(const struct conf *conf, size_t keep, bool cached,
		      size_t *total, struct error *err);
/*
 * How many messages wait in each of Postfix's queues ("postqueue -j"'s
 * queue_name), for the relay's metrics; "incoming" and "maildrop"
 * count as other.
 */
struct queue_counts {
	size_t active, deferred, hold, other;
};
int queue_count(const struct conf *conf, struct queue_counts *out,
		struct error *err) __attribute__((warn_unused_result));
int queue_flush(const struct conf *conf, const struct domain_name *dn,
		struct error *err) __attribute__((warn_unused_result));
/*
 * Expire what is due; *expired counts the messages.  Quarantined
 * messages (the hold queue) older than quarantine.days are deleted,
 * not bounced; *purged counts them.
 */
int queue_expire(const struct conf *conf, int64_t now, size_t *expired,
		 size_t *purged, struct error *err)
	__attribute__((warn_unused_result));
/*
 * A domain's quarantined message (in the hold queue) released - sent
 * on now, without a second spam judgement - or deleted.  Not held
 * here, or not of the domain: ERR_NOTFOUND.
 */
int queue_quarantine(const struct conf *conf, const struct domain_name *dn,
		     const char *id, bool release, struct error *err)
	__attribute__((warn_unused_result));
/*
 * Bounce every queued message of a domain to its sender now (expire
 * and send on): the explicit way to empty its queue before a removal.
 */
int queue_bounce(const struct conf *conf, const struct domain_name *dn,
		 size_t *bounced, struct error *err)
	__attribute__((warn_unused_result));
/*
 * Requeue the deferred mail of the domains (sorted A-labels) whose
 * route changed ("postsuper -r"), so that it follows the new route at
 * once instead of waiting for its next retry on the old one.
 */
int queue_requeue(const struct conf *conf, char *const *domains, size_t n,
		  size_t *requeued, struct error *err)
	__attribute__((warn_unused_result));
/*
 * The quarantine on this relay by domain, for the daily digest: an
 * object domain -> {"count", "messages": [first keep of queue_list()'s
 * objects, plus "arrival_time" in unix seconds]}; domains without
 * held mail are absent.
 */
json_t *queue_held(const struct conf *conf, size_t keep, struct error *err);
/*
 * The Subject of queued message id ("postcat -h"): unfolded, each byte
 * outside printable ASCII a space, at most QUEUE_SUBJECT_MAX bytes
 * (encoded words stay encoded).  1: found, 0: none, -1: error.
 */
#define QUEUE_SUBJECT_MAX 200
int queue_subject(const struct conf *conf, const char *id, struct strbuf *out,
		  struct error *err) __attribute__((warn_unused_result));
/* When a message of a domain expires (pure: for the enforcer and tests). */
int64_t queue_expiry(int64_t arrival, int days, int64_t extended_until);

#endif
