/*
 * probelimit - bounds on the probes of customers' servers
 *
 * A probe waits on a customer's server (up to its timeout; a tarpit
 * takes all of it), so the service bounds them (issue 13, finding 6):
 * at most half the workers probe at once, one probe at a time per
 * principal (an API token, or a staff login of the portal), and a rate
 * per principal: PROBELIMIT_BURST probes at once, then one every
 * PROBELIMIT_EVERY seconds (a generic cell rate).  Past any limit the
 * caller answers 429 with Retry-After and does nothing.  Shared by the
 * API and the portal of one mxfeed-fcgi process; thread-safe.
 */
#ifndef MXFEED_PROBELIMIT_H
#define MXFEED_PROBELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define PROBELIMIT_MAX	 32 /* probes at once, whatever the workers */
#define PROBELIMIT_BURST 60
#define PROBELIMIT_EVERY 1  /* seconds */
#define PROBELIMIT_KEY	 80 /* longest principal key kept */

/* workers: the process's request workers (half may probe, at least 1) */
void probelimit_setup(int workers);

/*
 * A probe slot for principal key ("WHO:ID": "token:12", "login:-5") at
 * monotonic time now (seconds): >= 0 the slot (give it back with
 * probelimit_give), or -1 refused with *retry_after (seconds) and msg
 * (what to tell the client: "this WHO has a probe in progress...") set.
 * probe_timeout_s: the Retry-After of a refusal because probes are running.
 */
int probelimit_take(const char *key, int64_t now, int probe_timeout_s,
		    long *retry_after, char *msg, size_t msgsize);
void probelimit_give(int slot);

/* forget every slot and rate (unit tests) */
void probelimit_reset(void);

#endif
