/*
 * probegate - the probe limits of every front (the API and the
 * portal's forms and "Probe now"), over lib/probelimit
 *
 * Probes wait on customers' servers, so at most half the workers probe
 * at once, one probe per key (a token's id; a staff login's is
 * negative) and a rate per key.  api.c and portal.c both take a slot
 * here rather than from each other.
 */
#ifndef MXFEED_PROBEGATE_H
#define MXFEED_PROBEGATE_H

#include <stddef.h>
#include <stdint.h>

/* Before the workers start: sizes the limit (half of them). */
void probe_gate_setup(int workers);
/* The slot to give back, or -1 with *retry_after (seconds) and msg
 * saying why ("this WHO has ..."). */
int probe_gate_take(int64_t key, const char *who, int *retry_after, char *msg,
		    size_t size);
void probe_gate_give(int slot);

#endif
