/*
 * relaystat - the relay's metrics, a file for node_exporter
 *
 * "mta-glue sync" calls relaystat_turn() on every turn; at most every
 * RELAYSTAT_EVERY_S seconds it writes paths.state/metrics.prom in the
 * Prometheus text format that node_exporter's textfile collector reads
 * (--collector.textfile.directory; a symlink or a copy of the name
 * there works).  The file is written beside its target and renamed
 * over it, so a reader never sees half of it.  What it says:
 *   - the sequence applied and the newest in the database, and the
 *     difference (changes the relay is behind);
 *   - the last apply's duration and time, applies and failed applies
 *     since the daemon started (relaystat_applied(), _failed());
 *   - the Postfix queue by queue name (postqueue -j, as the fleet
 *     publication reads it, every RELAYSTAT_QUEUE_S seconds: it parses
 *     every message), or mxfeed_relay_queue_up 0;
 *   - the jobs by state (one GROUP BY query), or left out when the
 *     database did not answer;
 *   - whether rspamd's normal worker and clamd accept a TCP connection
 *     (a connect, no scan: no load on them);
 *   - the time the file was written, to alert on a stale file.
 * Nothing here fails the turn: a problem is logged and the file says
 * what could not be read.
 */
#ifndef MXFEED_RELAYSTAT_H
#define MXFEED_RELAYSTAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "queue.h"
#include "store.h"
#include "util/error.h"
#include "util/strbuf.h"

#define RELAYSTAT_EVERY_S 5
/* postqueue -j parses every queued message: not more often than this */
#define RELAYSTAT_QUEUE_S 30
#define RELAYSTAT_FILE	  "metrics.prom"

struct relaystat {
	uint64_t applies, apply_failures; /* since the daemon started */
	double last_apply_s;		  /* the last good apply took */
	int64_t last_apply_at;		  /* unix seconds; 0: none yet */
	int64_t last_write;		  /* monotonic seconds; 0: never */
	int64_t last_queue;		  /* monotonic seconds; 0: never */
	bool queue_ok;			  /* the last reading of the queue */
	struct queue_counts queue;
};

/* One reading, as relaystat_turn() gathers it. */
struct relaystat_sample {
	const char *relay;
	int64_t applied, want;
	bool queue_ok;
	struct queue_counts queue;
	const json_t *jobs; /* [{"state", "count"}], or NULL: unknown */
	bool rspamd_up, clamd_up;
	int64_t now; /* unix seconds */
};

void relaystat_applied(struct relaystat *st, double seconds);
void relaystat_failed(struct relaystat *st);
void relaystat_turn(struct relaystat *st, struct store *s,
		    const struct conf *conf, int64_t applied, int64_t want);

/* The file's text (unit tests check it exactly). */
void relaystat_render(struct strbuf *out, const struct relaystat *st,
		      const struct relaystat_sample *x);
/* text into path through a temporary file beside it, renamed */
int relaystat_write(const char *path, const struct strbuf *text,
		    struct error *err) __attribute__((warn_unused_result));

#endif
