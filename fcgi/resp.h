/*
 * resp - the answer a front builds: status, headers, body
 *
 * api.c, portal.c, metrics.c and openapi.c fill a struct resp with
 * these; main.c writes it to nginx (and adds Cache-Control and
 * X-Request-Id to every answer).  Problems are RFC 9457 problem+json
 * whose type is "urn:mxfeed:problem:SLUG", SLUG the OpenAPI
 * document's for the status (lib/openapi.c), so the document and the
 * answers cannot disagree.
 */
#ifndef MXFEED_RESP_H
#define MXFEED_RESP_H

#include <jansson.h>

#include "util/error.h"
#include "util/strbuf.h"

struct resp {
	int status;
	const char *ctype;
	struct strbuf headers; /* "Name: value\r\n" lines */
	struct strbuf body;
};

/* Add one header line; CR, LF and NUL in the value become spaces. */
void resp_header(struct resp *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same for a value already formatted (no printf on the way). */
void resp_header_text(struct resp *r, const char *name, const char *value);
/* The status and j as the body (application/json). */
void resp_json(struct resp *r, int status, const json_t *j);
/* The status and an empty application/json body for the caller to
 * write a document into (domain_json_write()); resp_json_end() ends
 * it with the newline resp_json() adds. */
struct strbuf *resp_json_begin(struct resp *r, int status);
void resp_json_end(struct resp *r);
/* problem+json from err; status 0: the status err->code maps to.  500
 * and 503 say nothing of err (the details are in the log). */
void resp_problem(struct resp *r, int status, const struct error *err);
/* problem+json with msg as detail, naming field in errors[] unless it
 * is NULL or empty; 503 adds Retry-After, 401 WWW-Authenticate. */
void resp_problem_msg(struct resp *r, int status, const char *field,
		      const char *msg);

#endif
