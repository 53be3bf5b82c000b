/*
 * reinject - hand mail from a mailbox back to a relay over SMTP
 *
 * A message in a mailbox carries the envelope it was delivered with in
 * the headers the mailbox host added on delivery: "Return-Path:" (the
 * envelope sender) as its first line, then Dovecot's "Received:" whose
 * "for <ADDRESS>" names the envelope recipient (the relays deliver one
 * recipient per LMTP transaction for this).  reinject_envelope() reads
 * them back and gives the message as it was before delivery: without
 * that Return-Path line (nor a Delivered-To right below it), with CRLF
 * line ends.  A message without a
 * Return-Path first line did not come over LMTP (a draft, a copy the
 * user saved over IMAP) and is not mail to hand on.
 *
 * reinject_send() is one SMTP transaction with libcurl to a relay's
 * re-injection listener (relay.reinject: scanned for viruses, no spam
 * action, no policy): the original envelope sender (the null sender
 * stays null) and one recipient.  The connection is kept for the next
 * message.  "local" is the relay on this host: its listener is the
 * socket REINJECT_SOCKET in the private/ directory of its queue
 * (paths.state/spool), which only root and Postfix can reach; a
 * HOST:PORT relay is spoken to over STARTTLS only, with the worker's
 * client certificate (the relay checks it against its
 * relay.reinject_ca) and the relay's certificate verified.  Any
 * answer but 250 is an error, and the caller keeps the message: a 5xx
 * (a virus found) returns REINJECT_REFUSED, anything else -1
 * (ERR_TEMPFAIL, try again later).  Nothing is dropped because a relay
 * said no.
 */
#ifndef MXFEED_REINJECT_H
#define MXFEED_REINJECT_H

#include <stddef.h>

#include "util/error.h"
#include "util/strbuf.h"

#define REINJECT_ADDR_MAX   512
#define REINJECT_TIMEOUT_MS 120000
#define REINJECT_SOCKET	    "mxfeed-reinject" /* private/ of the queue */
#define REINJECT_REFUSED    (-2)

struct reinject;

/*
 * 1: envelope found, *out the message to send; 0: no Return-Path first
 * line (not mail delivered over LMTP); -1: malformed (err set).
 * rcpt is "" when the trace header names no recipient.
 */
int reinject_envelope(const char *msg, size_t len,
		      char sender[REINJECT_ADDR_MAX + 1],
		      char rcpt[REINJECT_ADDR_MAX + 1], struct strbuf *out,
		      struct error *err) __attribute__((warn_unused_result));

/* The worker's credentials for a HOST:PORT listener (mailbox.reinject_*):
 * its client certificate and key, and the CA to check the relay's
 * certificate against (NULL: the system's). */
struct reinject_tls {
	const char *cert, *key, *ca;
};

/* where: "HOST:PORT" of a re-injection listener (STARTTLS required,
 * tls->cert presented), or "local" (the relay of paths.state state_dir
 * on this host); helo our name. */
int reinject_open(struct reinject **out, const char *where,
		  const char *state_dir, const char *helo,
		  const struct reinject_tls *tls, struct error *err)
	__attribute__((warn_unused_result));
void reinject_close(struct reinject *r);
int reinject_send(struct reinject *r, const char *sender, const char *rcpt,
		  const char *msg, size_t len, struct error *err)
	__attribute__((warn_unused_result));

#endif
