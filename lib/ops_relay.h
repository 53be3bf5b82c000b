/*
 * ops_relay - the relay lifecycle verbs: retire, activate, drain
 *
 * ops_relay_retire() retires a relay (nothing waits for it any more)
 * or makes a retired or draining one active again (store_relay.h).
 *
 * ops_relay_drain() takes a front end's raw text (feedctl relay drain
 * NAME [--hand-over RELAY [--max-age AGE]]), checks every word with the
 * validators below, and asks the store to drain the relay (sql/014):
 * it stops taking new mail (421 4.3.2 to new SMTP sessions), delivers
 * what it holds, and with a hand-over relay hands that relay its queue
 * once AGE has passed since the drain began (at once without AGE).
 * No job, removal or propagation count waits for a draining relay; it
 * still applies every change.  When its published queue is empty it is
 * "drained" (feedctl relays) and "relay retire" takes it.
 *
 * Errors (nothing is stored): ERR_INVALID for a bad relay name, a bad
 * AGE, AGE without a hand-over relay, a relay handing over to itself;
 * ERR_NOTFOUND for an unknown relay or hand-over relay; ERR_CONFLICT
 * when the relay is not active (or drains already), is the last active
 * relay (mail would have nowhere to go), takes a draining relay's
 * queue, or the hand-over relay is not active or has no address yet;
 * ERR_TEMPFAIL when the database is down.  Never prints, never exits.
 */
#ifndef MXFEED_OPS_RELAY_H
#define MXFEED_OPS_RELAY_H

#include <stdint.h>

#include "ops.h"
#include "util/error.h"

#define OPS_DRAIN_AGE_MAX (31 * 86400) /* the longest queue lifetime */

/* A relay name (relays.name): 1 to 63 letters, digits, dots, hyphens. */
int ops_relay_name_check(const char *name, const char *field, struct error *err)
	__attribute__((warn_unused_result));
/*
 * A drain's AGE: a whole number and a unit, s, m, h or d ("90m",
 * "2h", "1d"), 1 second to 31 days, into seconds.
 */
int ops_drain_age_parse(const char *text, int64_t *secs, struct error *err)
	__attribute__((warn_unused_result));

struct ops_drain_in {
	const char *name;
	const char *hand_over; /* a relay name, or NULL */
	const char *max_age;   /* AGE text, or NULL (needs hand_over) */
};
int ops_relay_drain(const struct ops_ctx *ox, const struct ops_drain_in *in,
		    struct error *err) __attribute__((warn_unused_result));
/* Retire a relay, or make a retired one active again (store_relay.h). */
int ops_relay_retire(const struct ops_ctx *ox, const char *name, bool retire,
		     bool force, struct error *err)
	__attribute__((warn_unused_result));

#endif
