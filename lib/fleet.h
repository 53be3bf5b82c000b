/*
 * fleet - the relays seen as one: queues and queue work from any host
 *
 * Staff (feedctl, the API, the portal) may work from a host with no
 * relay (seed 001), and a domain's mail may wait on any relay.  The
 * database carries what they need (sql/007), no new daemon port:
 *   - every relay's "mta-glue sync" publishes its queue by domain at
 *     least every FLEET_PUBLISH_S seconds and after every command it
 *     ran, and runs the commands staff queue for it (fleet_serve());
 *   - fleet_queue() asks every active relay to publish now, waits up
 *     to wait_ms for their answers, and reads the domain's share on
 *     each; a relay that did not answer in time shows what it last
 *     published, with its age, as "stale" (it lives) or "down" (no
 *     heartbeat for a minute);
 *   - fleet_command() queues a flush or a bounce for every active
 *     relay and waits up to wait_ms for each to report; a relay that is
 *     down runs it when it comes back, until the command expires.
 * Where this host is a relay itself, its share is read (and the
 * command run) here, then published for the others.  With no relay
 * at all: ERR_UNAVAILABLE.
 *
 * fleet_queue() answers SPEC section 10's shape, each message with its
 * "relay", plus "relays": [{"name", "count", "as_of", "state"
 * ("fresh", "stale", "down", "failed"), "error"}] (section 12).
 * fleet_command() answers {"domain", "verb", "done" (every relay
 * reported), "bounced" (the sum), "relays": [{"name", "state"
 * ("done", "failed", "pending", "expired"), "bounced", "error",
 * "expires_at"}]}.
 */
#ifndef MXFEED_FLEET_H
#define MXFEED_FLEET_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "domain.h"
#include "store.h"
#include "util/error.h"

#define FLEET_PUBLISH_S 30   /* a relay publishes at least this often */
#define FLEET_KEEP	200  /* messages listed per domain and relay */
#define FLEET_WAIT_MS	5000 /* how long staff wait for the relays */

enum fleet_verb { FLEET_FLUSH, FLEET_BOUNCE };

json_t *fleet_queue(struct store *s, const struct conf *conf,
		    const struct domain_name *dn, const char *actor,
		    int wait_ms, struct error *err);
json_t *fleet_command(struct store *s, const struct conf *conf,
		      const struct domain_name *dn, enum fleet_verb verb,
		      const char *actor, int wait_ms, struct error *err);

/*
 * Release (sent on, without a second spam judgement) or delete a
 * quarantined message of the domain, on the relay that holds it:
 * {"queue_id", "done": "released"|"deleted", "relay"}.  Held nowhere:
 * ERR_NOTFOUND; the relay did not answer in time: ERR_TEMPFAIL (the
 * command runs when it does).
 */
json_t *fleet_quarantine(struct store *s, const struct conf *conf,
			 const struct domain_name *dn, const char *id,
			 bool release, const char *actor, int wait_ms,
			 struct error *err);

/* The relay's side, called by "mta-glue sync" on every turn. */
struct fleet_relay {
	int64_t last_publish; /* monotonic seconds; 0: never */
	int publish_s;	      /* publish at least this often; 0:
				 FLEET_PUBLISH_S (a draining relay: more) */
};
int fleet_serve(struct store *s, const struct conf *conf,
		struct fleet_relay *st, struct error *err)
	__attribute__((warn_unused_result));

#endif
