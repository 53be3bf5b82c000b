/*
 * track - message tracking: where did my mail go?
 *
 * The relay's side: track_turn(), called by "mta-glue sync" on every
 * turn, reads what paths.state/postfix.log gained since the position
 * kept in paths.state/tracking.pos (inode and offset: a rotated or
 * truncated log is read from its start), turns its lines into steps
 * (lib/maillog.c) and writes them to message_events in one statement
 * per turn, so logging never waits on mail or mail on logging.  It
 * keeps what the lines of one queue id tell (client, Message-ID,
 * sender) until "removed", so each delivery row carries them.  The
 * position moves only once the rows are stored: a database outage
 * delays tracking, it loses nothing.  Every hour it asks the database
 * to add the days ahead and drop those past tracking.days.
 *
 * The staff's side: track_trace() finds the messages of a domain, an
 * address and/or a Message-ID since a time, newest first, and answers
 * SPEC section 12's {"messages": [{"time", "relay", "queue_id",
 * "message_id", "sender", "recipient", "client", "verdict", "reply",
 * "summary", "steps": [{"time", "verdict", "code", "reply",
 * "destination"}]}], "next"}: one line per message and recipient, its
 * steps in order, a greylisted or deferred attempt joined to the
 * message that was accepted later for the same sender and recipient.
 * "summary" says it in words: "greylisted at 10:02:11, accepted at
 * 10:07:15, delivered to 192.0.2.10[192.0.2.10]:25 at 10:07:16 (250
 * 2.0.0 Ok)".  A message tagged as spam and delivered (spam action
 * header or subject) has a step "tagged" after "accepted", with
 * "spam": {"level", "action", "score"}; its words: "tagged as spam
 * (med, score 6.00): subject rewritten".
 */
#ifndef MXFEED_TRACK_H
#define MXFEED_TRACK_H

#include <jansson.h>
#include <limits.h>
#include <stdint.h>

#include "conf.h"
#include "domain.h"
#include "store.h"
#include "util/error.h"

struct track {
	char log[PATH_MAX], pos[PATH_MAX];
	json_t *open;	      /* queue id -> what its lines said so far */
	int64_t last_prepare; /* monotonic seconds; 0: never */
};

void track_init(struct track *t, const struct conf *conf);
void track_release(struct track *t);
/* -1 (err) only when the database failed; a log problem is logged. */
int track_turn(struct track *t, struct store *s, const struct conf *conf,
	       struct error *err) __attribute__((warn_unused_result));

struct track_query {
	const char *domain;	/* A-label, or NULL */
	const char *address;	/* sender or recipient, or NULL */
	const char *message_id; /* or NULL */
	int64_t since;		/* unix seconds */
	int64_t before;		/* keyset: lines that started before; 0 */
	long limit;		/* 1..500 */
	/* a scoped token's domains, as for struct domain_filter */
	const struct domain_name *scope;
	size_t nscope;
};

json_t *track_trace(struct store *s, const struct track_query *tq,
		    struct error *err);

#endif
