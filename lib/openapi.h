/*
 * openapi - the OpenAPI 3.1 document of /api/v1, built from a route
 * table
 *
 * mxfeed-fcgi hands openapi_document() one struct openapi_op per row
 * of its route table (fcgi/api.c's routes[]), so the document cannot
 * list a route the service lacks or miss one it has.  Each operation
 * gets its path parameters (every "{x}" of the path), an If-Match
 * header parameter where if_match says so, the bearer
 * security requirement unless role is NULL (the token's role is in
 * "x-mxfeed-role"), its success answer with the body's schema, the
 * request body's schema, and one answer per problem status it can give
 * (SPEC section 7), each naming its problem type
 * ("urn:mxfeed:problem:SLUG") as a const.  The body schemas are
 * components.schemas: Domain, DomainPatch and DomainCreate generated
 * from fields.def (domain_json_schema()), the others written here.  An
 * operation without a summary, a path not starting with "/", or a
 * schema name the document does not define is ERR_INTERNAL: the table
 * is ours, so that is a bug to show, not a gap to paper over.
 */
#ifndef MXFEED_OPENAPI_H
#define MXFEED_OPENAPI_H

#include <jansson.h>
#include <stddef.h>

#include "util/error.h"

#define OPENAPI_VERSION "3.1.0"

struct openapi_op {
	const char *method;   /* "GET", "POST", "PATCH", "DELETE" */
	const char *path;     /* "/api/v1/domains/{name}" */
	const char *summary;  /* one line */
	const char *role;     /* token role needed; NULL: no token */
	int status;	      /* the success answer; 0: 200 */
	const char *request;  /* schema of the JSON body, or NULL: none */
	const char *response; /* schema of the success body; NULL: none */
	const char *problems; /* more problem statuses ("429"), or NULL */
	int if_match;	      /* OPENAPI_IF_MATCH_*: the If-Match header */
};

/* openapi_op.if_match: no If-Match header; an optional one (a stale
 * or weak tag is 412); a required one (428 without). */
#define OPENAPI_IF_MATCH_NONE	  0
#define OPENAPI_IF_MATCH_OPTIONAL 1
#define OPENAPI_IF_MATCH_REQUIRED 2

/* The problem statuses the service answers with, and their slugs. */
const char *openapi_problem_slug(int status);

json_t *openapi_document(const struct openapi_op *ops, size_t n,
			 struct error *err);

#endif
