/*
 * probelimit - bounds on the probes of customers' servers
 *
 * See probelimit.h.  Fixed tables under one mutex: the running probes
 * (a principal's key per slot) and the rate entries, the stalest one
 * reused for a principal not seen before.  "tat" is when the
 * principal's allowance is next full.
 */
#include "probelimit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define RATE_SLOTS 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int limit = 1;
static char running[PROBELIMIT_MAX][PROBELIMIT_KEY + 1]; /* "" free */
static struct {
	char key[PROBELIMIT_KEY + 1];
	int64_t tat;
} rate[RATE_SLOTS];

void probelimit_setup(int workers)
{
	pthread_mutex_lock(&lock);
	limit = workers / 2 < 1 ? 1 : workers / 2;
	if (limit > PROBELIMIT_MAX)
		limit = PROBELIMIT_MAX;
	pthread_mutex_unlock(&lock);
}

void probelimit_reset(void)
{
	pthread_mutex_lock(&lock);
	memset(running, 0, sizeof(running));
	memset(rate, 0, sizeof(rate));
	pthread_mutex_unlock(&lock);
}

/* The key's rate entry (or the stalest one, reused); under lock. */
static int rate_slot(const char *key)
{
	int i, old = 0;

	for (i = 0; i < RATE_SLOTS; i++) {
		if (rate[i].key[0] != '\0' && strcmp(rate[i].key, key) == 0)
			return i;
		if (rate[i].tat < rate[old].tat)
			old = i;
	}
	(void)snprintf(rate[old].key, sizeof(rate[old].key), "%s", key);
	rate[old].tat = 0;
	return old;
}

/* what the key names, for the refusal: the text before ':' ("token") */
static void kind(const char *key, char *out, size_t size)
{
	size_t n = strcspn(key, ":");

	(void)snprintf(out, size, "%.*s", (int)n, key);
}

int probelimit_take(const char *key, int64_t now, int probe_timeout_s,
		    long *retry_after, char *msg, size_t msgsize)
{
	char k[PROBELIMIT_KEY + 1];
	int i, fr = -1, rs;
	int64_t wait = 0, tat;
	const int64_t slack =
		(int64_t)(PROBELIMIT_BURST - 1) * PROBELIMIT_EVERY;
	bool mine = false;
	char who[PROBELIMIT_KEY + 1];

	/* a longer key is cut: still one principal's, as long as keys
	 * differ within the first PROBELIMIT_KEY bytes (ids, logins) */
	(void)snprintf(k, sizeof(k), "%s", key);
	kind(k, who, sizeof(who));
	pthread_mutex_lock(&lock);
	rs = rate_slot(k);
	tat = rate[rs].tat > now ? rate[rs].tat : now;
	if (tat - now > slack)
		wait = tat - now - slack;
	for (i = 0; i < limit; i++) {
		if (running[i][0] == '\0') {
			if (fr < 0)
				fr = i;
		} else if (strcmp(running[i], k) == 0) {
			mine = true;
		}
	}
	if (!mine && fr >= 0 && wait == 0) {
		memcpy(running[fr], k, sizeof(k));
		rate[rs].tat = tat + PROBELIMIT_EVERY;
	}
	pthread_mutex_unlock(&lock);
	if (wait > 0) {
		*retry_after = (long)wait;
		(void)snprintf(msg, msgsize,
			       "this %s used its %d probes; one more every %d "
			       "seconds; nothing was done",
			       who, PROBELIMIT_BURST, PROBELIMIT_EVERY);
		return -1;
	}
	if (mine) {
		*retry_after = probe_timeout_s;
		(void)snprintf(msg, msgsize,
			       "this %s has a probe in progress; one at a "
			       "time; nothing was done",
			       who);
		return -1;
	}
	if (fr < 0) {
		*retry_after = probe_timeout_s;
		(void)snprintf(msg, msgsize, "%s",
			       "too many probes in progress; nothing was done");
		return -1;
	}
	return fr;
}

void probelimit_give(int slot)
{
	if (slot < 0 || slot >= PROBELIMIT_MAX)
		return;
	pthread_mutex_lock(&lock);
	running[slot][0] = '\0';
	pthread_mutex_unlock(&lock);
}
