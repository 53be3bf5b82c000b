/*
 * digest - the daily quarantine digest of each domain (issue 17)
 *
 * A domain whose record has a quarantine.digest address gets, once a
 * UTC day from each relay holding quarantined mail of it, a plain-text
 * message listing that mail: arrival, queue id, sender, recipients,
 * subject (when the queued message has one) and when it is deleted.
 * No held mail, no digest.  The relay submits it to its own Postfix
 * through the re-injection listener (lib/reinject, "local": scanned
 * for viruses, no spam action, no policy), from the null sender (a
 * failed digest bounces to nobody) with From: MAILER-DAEMON@ the
 * relay's relay.hostname.
 *
 * At most once a day: the digest is claimed in quarantine_digests
 * (relay, domain, day) before it is sent and the claim is given back
 * when the send fails, so the next run tries again; a crash between
 * claim and send loses that day's digest rather than sending two.
 * With several relays a domain gets one digest from each relay that
 * holds some of its mail.
 *
 * digest_format() is pure (unit tests); digest_run() is what
 * "mta-glue sync" runs every minute and "mta-glue quarantine-digest"
 * once.  Errors: -1 with err set (ERR_TEMPFAIL: database or Postfix
 * away); a domain whose digest could not be sent is logged and the
 * others still go out.
 */
#ifndef MXFEED_DIGEST_H
#define MXFEED_DIGEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "store.h"
#include "util/error.h"
#include "util/strbuf.h"

#define DIGEST_LIST_MAX                                                        \
	200 /* messages listed in one digest; the rest counted */

struct digest_in {
	const char *domain;   /* A-label */
	const char *relay;    /* relay.name */
	const char *hostname; /* relay.hostname */
	const char *to;	      /* checked by digest_address_check() */
	int64_t now;
	int quarantine_days;
	/* queue_held()'s entry of the domain: "count", "messages" (each
	 * may have "subject") */
	const json_t *held;
};

/* The whole message, headers and body, CRLF line ends. */
void digest_format(const struct digest_in *in, struct strbuf *out);
/* The UTC day of t as "YYYY-MM-DD" into day[11]. */
void digest_day(int64_t t, char day[11]);
int digest_run(struct store *s, const struct conf *conf, int64_t now,
	       size_t *sent, struct error *err)
	__attribute__((warn_unused_result));

#endif
