/*
 * probegate - the probe limits every front shares
 *
 * See probegate.h.  A key is "WHO:ID" in lib/probelimit's table; the
 * clock is CLOCK_MONOTONIC, so a changed wall clock moves no window.
 */
#include "probegate.h"

#include <stdio.h>
#include <time.h>

#include "probe.h"
#include "probelimit.h"
#include "util/log.h"

void probe_gate_setup(int workers)
{
	probelimit_setup(workers);
}

int probe_gate_take(int64_t key, const char *who, int *retry_after, char *msg,
		    size_t size)
{
	struct timespec t;
	char k[PROBELIMIT_KEY + 1];
	long wait = 0;
	int slot;

	clock_gettime(CLOCK_MONOTONIC, &t);
	(void)snprintf(k, sizeof(k), "%s:%lld", who, (long long)key);
	slot = probelimit_take(k, (int64_t)t.tv_sec, PROBE_TIMEOUT_MS / 1000,
			       &wait, msg, size);
	if (slot < 0) {
		*retry_after = (int)wait;
		log_info("probe refused: %s", msg);
	}
	return slot;
}

void probe_gate_give(int slot)
{
	probelimit_give(slot);
}
