/*
 * idem - Idempotency-Key on the API's POSTs: the rules, over the
 * store's keys (ops_idem_*)
 *
 * idem_start() reserves the key before the request runs, so that two
 * requests with one new key run once: the second finds the reservation
 * and is told IDEM_BUSY until the first is done, then IDEM_REPLAY with
 * the first answer (its status, body and the headers in
 * idem_kept_names[]).  A key used for another request (method, path
 * and body: idem_hash()) is IDEM_OTHER.  Keys belong to one token (its
 * id, never its name: a token revoked and re-created under the same
 * name with another scope must not replay the old one's answers).
 * idem_finish() keeps the answer for the key, or gives the key up for
 * answers a retry could change (5xx, 401, 429, no body); an answer
 * holding passwords is kept as a 409 saying it was done, never with
 * them.
 */
#ifndef MXFEED_IDEM_H
#define MXFEED_IDEM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "ops.h"
#include "util/error.h"
#include "util/strbuf.h"

extern const char *const idem_kept_names[]; /* Location, ETag */

enum idem_start { IDEM_RUN, IDEM_FAIL, IDEM_OTHER, IDEM_BUSY, IDEM_REPLAY };

/* The first answer of IDEM_REPLAY. */
struct idem_stored {
	int status;
	struct strbuf body;
	struct strbuf headers; /* JSON object: name -> value */
};

void idem_hash(const char *method, const char *path, const char *body,
	       size_t len, unsigned char hash[32]);
/* IDEM_RUN: the key is held, run the request then idem_finish(). */
enum idem_start idem_start(const struct ops_ctx *ox, int64_t token_id,
			   const char *key, const unsigned char hash[32],
			   struct idem_stored *st, struct error *err);
/* The kept headers of a stored answer, others dropped (never NULL). */
json_t *idem_stored_headers(const char *stored);
/* The kept headers of an answer's "Name: value\r\n" lines. */
json_t *idem_kept_headers(const char *lines);
int idem_finish(const struct ops_ctx *ox, int64_t token_id, const char *key,
		int status, const char *body, size_t len, const char *lines,
		bool secret, struct error *err)
	__attribute__((warn_unused_result));

#endif
