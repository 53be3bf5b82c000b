/*
 * relayd - the relay daemon ("mta-glue sync"): apply every change as
 * it happens, and the relay's work between changes
 *
 * A change is applied as soon as its notification arrives; the poll
 * every RELAYD_POLL_MS catches what a replica cannot notify, and a
 * burst of notifications settles into one apply.  An apply is
 * incremental (the changed domains merged into the generation in
 * force, lib/relay), in full after a SIGHUP; a drain begun, ended or
 * due to hand over regenerates (lib/drain).  With database.read_conninfo the
 * sequence and the snapshot are read from that standby (LISTEN is not available
 * there: the notification comes from the primary, and the poll catches
 * the standby up), and its replay lag is reported with the heartbeat.
 * Every turn: the heartbeat every RELAYD_BEAT_S seconds, staff's queue
 * commands and the queue published (lib/fleet; every
 * RELAYD_DRAIN_PUBLISH_S while draining), the log into message
 * tracking (lib/track), the metrics file (lib/relaystat); every
 * RELAYD_HOUSEKEEP_S the queue expiry (lib/queue) and the quarantine
 * digests (lib/digest), once a generation is in force.
 * Failures never stop the loop: the database away means reconnecting
 * with backoff (util/loop: 1 s doubling to 30 s) while Postfix keeps
 * serving the generation in force; a failed apply is reported to the
 * relays table and retried with the same backoff.  SIGHUP re-reads the
 * configuration and applies by it (site settings such as
 * greylist.delay are in it); a configuration that does not load is
 * logged and reported, and the one read before stays in force.
 * SIGTERM, SIGINT: the loop ends after its turn.
 */
#ifndef MXFEED_RELAYD_H
#define MXFEED_RELAYD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "drain.h"
#include "fleet.h"
#include "relayctl.h"
#include "relaystat.h"
#include "track.h"
#include "util/error.h"

#define RELAYD_POLL_MS	       2000 /* wait for a notification this long */
#define RELAYD_SETTLE_MS       20   /* more of a burst: wait this long */
#define RELAYD_BEAT_S	       10   /* the heartbeat at least this often */
#define RELAYD_HOUSEKEEP_S     60   /* queue expiry and digests */
#define RELAYD_DRAIN_PUBLISH_S 5    /* a draining relay publishes its queue */

/* The loop's state (here for the unit tests of the rules below). */
struct relayd {
	struct conf *conf;
	const char *conf_path; /* read again on SIGHUP */
	struct relayctl c;     /* the connections; NULL while away */
	struct error err;
	int64_t applied; /* the sequence in force */
	int64_t want;	 /* the newest sequence the database has */
	int backoff;	 /* seconds before the next retry */
	bool force;	 /* apply in full, whatever the sequence */
	time_t last_beat, last_housekeep;
	struct fleet_relay fleet;
	struct drain_relay drain;
	struct relaystat rst;
	struct track trk;
};

/* Run until SIGTERM or SIGINT; 0. */
int relayd_run(struct conf *conf, const char *conf_path, const char *policyd);

/* The loop's rules, pure. */
bool relayd_apply_due(const struct relayd *d);
bool relayd_housekeep_due(const struct relayd *d, time_t now);
bool relayd_beat_due(const struct relayd *d, time_t now);
/* fleet_relay.publish_s by the generation in force */
int relayd_publish_s(const struct relayd *d);

#endif
