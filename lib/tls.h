/*
 * tls - TLS on the relays: the site's key pair, customers' policies
 *
 * tls_pair_check() loads the site's certificate chain and private key
 * (tls.cert_file, tls.key_file) with OpenSSL and checks that they
 * belong together, so a generation never points Postfix or Dovecot at
 * a pair they would refuse at the first STARTTLS; an expired
 * certificate is logged, not refused (opportunistic TLS still beats
 * clear text, and the operator must see it).
 *
 * tls_listen_loopback() tells whether a listener specification reaches
 * loopback only: a master.cf service address ("PORT", "ADDR:PORT",
 * "[V6]:PORT") or a Dovecot listen list ("*", "127.0.0.1, ::1").  Only
 * then may a relay run without a certificate.
 *
 * The policy towards a customer's server (SPEC section 12):
 *   TLS_MAY      opportunistic: TLS when offered, else clear text;
 *   TLS_ENCRYPT  TLS or nothing: the mail waits in the queue;
 *   TLS_VERIFY   TLS and the server's certificate has the recorded
 *                SHA-256 fingerprint.
 * tls_fingerprint_parse() takes a SHA-256 fingerprint as people paste
 * it (64 hex digits, optionally as colon-separated pairs, any case)
 * and gives the canonical form: 64 lower-case hex digits.
 * tls_fingerprint_postfix() gives Postfix's form (AB:CD:...).
 * Errors: -1, ERR_INVALID (field as given) or ERR_INTERNAL for a key
 * pair that does not load.
 */
#ifndef MXFEED_TLS_H
#define MXFEED_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define TLS_FP_HEX     64 /* SHA-256, hex */
#define TLS_FP_POSTFIX 95 /* 32 pairs and 31 colons */

enum tls_policy { TLS_MAY, TLS_ENCRYPT, TLS_VERIFY };

extern const char *const tls_policy_names[]; /* "may", ... NULL */

int tls_pair_check(const char *cert_file, const char *key_file,
		   struct error *err) __attribute__((warn_unused_result));
bool tls_listen_loopback(const char *spec, bool with_port);
/* out: TLS_FP_HEX + 1 bytes */
int tls_fingerprint_parse(const char *in, char *out, const char *field,
			  struct error *err)
	__attribute__((warn_unused_result));
/* fp canonical; out: TLS_FP_POSTFIX + 1 bytes */
void tls_fingerprint_postfix(const char *fp, char *out);
/* SHA-256 of DER bytes as canonical hex; out: TLS_FP_HEX + 1 bytes */
void tls_fingerprint_of(const unsigned char *der, size_t len, char *out);

#endif
