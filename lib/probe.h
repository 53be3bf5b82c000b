/*
 * probe - ask a customer's mail server whether it would take mail
 *
 * probe_run() opens an SMTP session to a validated destination (never
 * a name: dest_parse() has applied the range rules, so no probe can be
 * aimed at our own networks) and records, in the JSON of SPEC section
 * 10: the banner, whether EHLO offers STARTTLS, and - when a domain is
 * given - the answer to RCPT TO:<postmaster@DOMAIN> after MAIL FROM:<>,
 * then RSET and QUIT: no message is ever sent.  "ok" means it greeted
 * (2xx), answered EHLO (2xx) and, with a domain, accepted the RCPT.
 * Every step has a timeout; a server's text is kept only as printable
 * ASCII, cut at 200 bytes.  libcurl carries the connection
 * (CONNECT_ONLY), so its timeouts and address handling are the ones
 * the rest of mxfeed uses.
 *
 * When EHLO offers STARTTLS the probe takes it (TLS 1.2 or later, the
 * certificate not verified) and goes on over TLS, adding "tls":
 * {"protocol", "cipher", "fingerprint"} (SHA-256 of the server's
 * certificate, 64 lower-case hex digits).  A refused or failed
 * handshake adds "tls_error" and the probe goes on in clear on a new
 * connection, as Postfix does for an opportunistic domain; the caller
 * decides whether a domain's tls.policy can live with that.  The
 * handshake counts against the same deadline as every other step.
 */
#ifndef MXFEED_PROBE_H
#define MXFEED_PROBE_H

#include <jansson.h>

#include "dest.h"
#include "domain.h"
#include "tls.h"
#include "util/error.h"

#define PROBE_TIMEOUT_MS 10000

/* {"ok", "host", "port", "banner", "starttls", "rcpt_reply", "ms",
 * "error"[, "tls"][, "tls_error"]}; a failed probe is a report with ok
 * false, not an error. */
json_t *probe_run(const struct dest *d, const struct domain_name *dn,
		  const char *helo, int timeout_ms);
/*
 * Can a server whose probe gave report take a domain's mail under
 * policy (fingerprint: canonical, for TLS_VERIFY)?  NULL if so, else
 * what is missing, for an operator ("no TLS handshake (STARTTLS not
 * offered)", "certificate fingerprint ... is not tls.fingerprint").
 * A report that is not ok is the caller's business.
 */
const char *probe_tls_refusal(const json_t *report, enum tls_policy policy,
			      const char *fingerprint, char *buf, size_t size);

#endif
