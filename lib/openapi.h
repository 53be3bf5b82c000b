/*
 * openapi - the OpenAPI 3.1 document of /api/v1, built from a route
 * table
 *
 * mxfeed-fcgi hands openapi_document() one struct openapi_op per row
 * of its route table (fcgi/api.c's routes[]), so the document cannot
 * list a route the service lacks or miss one it has.  Each operation
 * gets its path parameters (every "{x}" of the path), the bearer
 * security requirement unless role is NULL (the token's role is in
 * "x-mxfeed-role"), a 2XX answer and the problem+json answers (SPEC
 * section 7: "urn:mxfeed:problem:SLUG") its method can give.  An
 * operation without a summary, or a path not starting with "/", is
 * ERR_INTERNAL: the table is ours, so that is a bug to show, not a gap
 * to paper over.
 */
#ifndef MXFEED_OPENAPI_H
#define MXFEED_OPENAPI_H

#include <jansson.h>
#include <stddef.h>

#include "util/error.h"

#define OPENAPI_VERSION "3.1.0"

struct openapi_op {
	const char *method;  /* "GET", "POST", "PATCH", "DELETE" */
	const char *path;    /* "/api/v1/domains/{name}" */
	const char *summary; /* one line */
	const char *role;    /* token role needed; NULL: no token */
};

json_t *openapi_document(const struct openapi_op *ops, size_t n,
			 struct error *err);

#endif
