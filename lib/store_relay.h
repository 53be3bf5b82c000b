/*
 * store_relay - the relays table and the relay bus
 *
 * Part of the store's public interface: callers include store.h, which
 * includes this file (store.h has the contract every store function
 * keeps: failures mapped once, changes audited, lookups three-state).
 */
#ifndef MXFEED_STORE_RELAY_H
#define MXFEED_STORE_RELAY_H

#include "store.h"

/* A relay reports what it applied (seq 0: keep the old) and its error. */
/* addrs: the relay's outbound addresses (relay.outbound), kept in its row */
int store_relay_report(struct store *s, const char *name, int64_t seq,
		       const char *last_error, const struct cidr_list *addrs,
		       struct error *err) __attribute__((warn_unused_result));

/* The heartbeat alone: the relay is alive, applied state unchanged. */
int store_relay_heartbeat(struct store *s, const char *name, struct error *err)
	__attribute__((warn_unused_result));

json_t *store_relay_list(struct store *s, struct error *err);
/* Every relay's outbound addresses, distinct, as a JSON array of text. */
json_t *store_relay_addresses(struct store *s, struct error *err);

/*
 * The relay bus (sql/007): a relay publishes its queue by domain (the
 * array queue_summary() gives; its old rows replaced in one
 * transaction); staff read one domain's share on every active relay:
 * [{"name", "as_of", "heartbeat", "alive", "count", "oldest",
 * "messages"}].  Commands (verb "publish", "flush", "bounce") are added
 * for every active relay but except (or only one), and answer
 * [{"id", "relay"}]; their status [{"id", "relay", "state", "result",
 * "error", "done_at", "expires_at", "alive"}] for ids "{1,2}"; a relay
 * takes its pending ones [{"id", "verb", "domain", "queue_id"}] and
 * finishes each.
 */
int store_queue_publish(struct store *s, const char *relay,
			const json_t *summary, int64_t total, struct error *err)
	__attribute__((warn_unused_result));
json_t *store_queue_view(struct store *s, const char *domain,
			 struct error *err);
struct relay_cmd {
	const char *verb, *domain, *actor;
	int ttl_s;
	const char *except;   /* every active relay but this one, or NULL */
	const char *only;     /* or this one alone, or NULL */
	const char *queue_id; /* release, delete: the message */
};
json_t *store_command_add(struct store *s, const struct relay_cmd *c,
			  struct error *err);
json_t *store_command_status(struct store *s, const char *ids,
			     struct error *err);
json_t *store_command_take(struct store *s, const char *relay,
			   struct error *err);
/* How many relays serve (active or draining) besides except; -1 (err)
 * on failure. */
int64_t store_relay_count(struct store *s, const char *except,
			  struct error *err);

int store_command_finish(struct store *s, int64_t id, bool ok,
			 const json_t *result, const char *error,
			 struct error *err) __attribute__((warn_unused_result));

/*
 * Take a relay out of service (retire) or back (!retire).  Retiring
 * (an active or a draining relay) is refused while its last published
 * queue held mail, unless force, while a draining relay hands its
 * queue to it, and for the last active relay while others drain; its
 * pending commands expire.  Back: a retired or a
 * draining relay becomes active (the drain ends).
 */
int store_relay_retire(struct store *s, const char *name, bool retire,
		       bool force, const char *actor, struct error *err)
	__attribute__((warn_unused_result));
/*
 * Drain a relay (sql/014): it refuses new SMTP sessions, delivers what
 * it holds, and with hand_over (a relay name, or NULL) hands its queue
 * to that relay after max_age_s seconds (0: at once).  Refused
 * (nothing stored): an unknown relay (ERR_NOTFOUND), one that is not
 * active or already draining, the last active relay, one that takes a
 * draining relay's queue (ERR_CONFLICT); hand_over itself
 * (ERR_INVALID), unknown (ERR_NOTFOUND), not active or without a
 * reported address (ERR_CONFLICT).  The relay is woken at once.
 */
int store_relay_drain(struct store *s, const char *name, const char *hand_over,
		      int64_t max_age_s, const char *actor, struct error *err)
	__attribute__((warn_unused_result));
/* What a relay reads of its own drain (and of others' towards it). */
struct store_drain {
	bool draining;
	bool hand_over_due; /* the age has passed (or there is none) */
	char hand_over[64]; /* "[ADDRESS]:PORT" of the hand-over relay while
			       it is active, else "" */
	int64_t started_at; /* epoch seconds */
	/* draining relays that hand their queue to this one: the
	 * addresses they send from, "A,B" (any role of this one) */
	char peers[1024];
};
int store_relay_drain_state(struct store *s, const char *name,
			    struct store_drain *out, struct error *err)
	__attribute__((warn_unused_result));
/* A relay's "[ADDRESS]:PORT" others hand their queue to ("": none). */
int store_relay_smtp_address(struct store *s, const char *name,
			     const char *address, struct error *err)
	__attribute__((warn_unused_result));
/*
 * How far the standby a relay reads lags its primary s, in ms: the age
 * on s of the oldest domain change standby has not replayed (0: caught
 * up; -1: standby is no standby).  And a relay's report of it (-1
 * clears it).
 */
int store_read_lag(struct store *s, struct store *standby, int64_t *lag_ms,
		   struct error *err) __attribute__((warn_unused_result));
int store_relay_read_lag(struct store *s, const char *name, int64_t lag_ms,
			 struct error *err) __attribute__((warn_unused_result));

#endif
