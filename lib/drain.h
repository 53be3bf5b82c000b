/*
 * drain - a relay's own side of being drained (feedctl relay drain)
 *
 * A draining relay (sql/014, lib/ops_relay) keeps running and applying
 * every change; what changes is its generation, by drain_plan_read():
 *   - DRAIN_REFUSE: the public smtpd answers every new session
 *     "421 4.3.2" at connect and disconnects (smtpd_delay_reject=no and
 *     the mxfeed_draining restriction, an access(5) 421, in master.cf),
 *     so senders try another MX; the re-injection listener and the
 *     local services work as before; the queue is flushed once;
 *   - DRAIN_HAND_OVER (a hand-over relay, its age passed): as REFUSE,
 *     and the domains' mail goes to the hand-over relay's smtpd over
 *     SMTP (transport_maps empty, relay_transport relay:[ADDR]:PORT)
 *     instead of their destinations; bounces and other mail for
 *     non-customer domains go their usual way.  The queue is flushed
 *     then and every minute, until it is empty.
 * And on the hand-over relay, whatever its own plan: the draining
 * relays that hand their queue to it are trusted for the domains it
 * serves (reject_unauth_destination, then their relay.outbound
 * addresses OK, before the policy service): mail a relay already took
 * is not greylisted or verified against a destination that may be down
 * a second time; the milter still scans it.
 * The plan's text is written as DRAIN into each generation, so the
 * sync loop sees when the generation in force is not the one the
 * database asks for (an age that passed changes no sequence) and
 * regenerates (drain_turn()).  drain_turn() also reports this relay's
 * own "[ADDRESS]:PORT" for others to hand over to (relay.listen with
 * an address, else relay.outbound's first address and its port).
 * Errors: -1 with err from the store; the flush's trouble is logged.
 */
#ifndef MXFEED_DRAIN_H
#define MXFEED_DRAIN_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "store.h"
#include "util/error.h"

#define DRAIN_FLUSH_S 60 /* a handing-over relay flushes this often */

enum drain_mode { DRAIN_OFF, DRAIN_REFUSE, DRAIN_HAND_OVER };

struct drain_plan {
	enum drain_mode mode;
	char hand_over[64]; /* DRAIN_HAND_OVER: "[ADDRESS]:PORT" */
	char peers[1024];   /* "A,B": canonical addresses (ip_parse) */
};

/* What this relay's generation should do now, by its relays row. */
int drain_plan_read(struct store *s, const struct conf *conf,
		    struct drain_plan *p, struct error *err)
	__attribute__((warn_unused_result));
/* "off", "refuse" or "hand-over [ADDRESS]:PORT", then " peers A,B"
 * when there are (the DRAIN file). */
void drain_plan_text(const struct drain_plan *p, char *buf, size_t size);

/* The template values of a plan (main.cf.in, master.cf.in). */
struct drain_vars {
	const char *delay_reject, *client;
	char transport_maps[PATH_MAX + 16], relay_transport[96];
	char peer_checks[2048];
};
void drain_vars(const struct drain_plan *p, const char *current,
		struct drain_vars *v);

/* This relay's "[ADDRESS]:PORT" by its configuration, "" if none. */
void drain_smtp_address(const struct conf *conf, char *buf, size_t size);

/* The sync loop's side, on every turn. */
struct drain_relay {
	bool regenerate; /* out: the generation in force is not the plan */
	bool draining;	 /* out: the generation in force drains */
	char seen[1200]; /* the DRAIN text of the generation last seen */
	int64_t last_report, last_flush; /* monotonic seconds */
};
int drain_turn(struct store *s, struct store *rs, const struct conf *conf,
	       struct drain_relay *st, struct error *err)
	__attribute__((warn_unused_result));

#endif
