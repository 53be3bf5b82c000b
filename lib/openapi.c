/*
 * openapi - the OpenAPI 3.1 document of /api/v1
 *
 * See openapi.h.  The problem answers are one shared response
 * (components.responses.Problem) whose schema names every problem type
 * the service sends (fcgi/main.c's problem_slug()).
 */
#include "openapi.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "util/strbuf.h"

struct answer {
	const char *status;
	const char *why;
	bool token;  /* only where a token is needed */
	bool change; /* only for POST, PATCH, DELETE */
};

static const struct answer answers[] = {
	{ "400", "malformed request (query, header or JSON syntax)", false,
	  false },
	{ "401", "no valid bearer token", true, false },
	{ "403", "the token's role is too low for this route", true, false },
	{ "404", "no such resource, or a domain outside the token's scope",
	  false, false },
	{ "405", "method not allowed on this path", false, false },
	{ "409", "conflict, or the same Idempotency-Key still running", false,
	  true },
	{ "412", "If-Match does not match the current version", false, true },
	{ "413", "request body over 64 KiB", false, true },
	{ "415", "Content-Type not accepted", false, true },
	{ "422", "a field's value is invalid (errors[] names it)", false,
	  true },
	{ "428", "If-Match required", false, true },
	{ "500", "internal error (details in the service log)", false, false },
	{ "501", "not available on this installation", false, false },
	{ "503", "database unavailable; retry after Retry-After seconds", false,
	  false },
};

static const char *const problem_types[] = {
	"bad-request", "unauthorized",	     "forbidden",
	"not-found",   "method-not-allowed", "conflict",
	"stale",       "too-large",	     "unsupported-media-type",
	"invalid",     "if-match-required",  "not-implemented",
	"unavailable", "internal",	     NULL
};

static json_t *problem_schema(void)
{
	json_t *types = json_array();
	struct strbuf t = STRBUF_INIT;
	size_t i;

	for (i = 0; problem_types[i]; i++) {
		sbuf_reset(&t);
		sbuf_addf(&t, "urn:mxfeed:problem:%s", problem_types[i]);
		json_array_append_new(types, json_string(t.buf));
	}
	sbuf_release(&t);
	return json_pack(
		"{s:s, s:[s,s,s,s], s:{s:{s:s, s:o}, s:{s:s}, s:{s:s}, "
		"s:{s:s}, s:{s:s, s:{s:s, s:{s:{s:s}, s:{s:s}}}}}}",
		"type", "object", "required", "type", "title", "status",
		"detail", "properties", "type", "type", "string", "enum", types,
		"title", "type", "string", "status", "type", "integer",
		"detail", "type", "string", "errors", "type", "array", "items",
		"type", "object", "properties", "field", "type", "string",
		"message", "type", "string");
}

static json_t *components(void)
{
	return json_pack(
		"{s:{s:{s:s, s:s}}, s:{s:o}, s:{s:{s:s, s:{s:{s:{s:s}}}}}}",
		"securitySchemes", "bearer", "type", "http", "scheme", "bearer",
		"schemas", "Problem", problem_schema(), "responses", "Problem",
		"description", "application/problem+json (SPEC section 7)",
		"content", "application/problem+json", "schema", "$ref",
		"#/components/schemas/Problem");
}

/* "get_domains_name_history" from GET /api/v1/domains/{name}/history */
static void operation_id(struct strbuf *out, const char *method,
			 const char *path)
{
	const char *p = strncmp(path, "/api/v1/", 8) == 0 ? path + 8 : path;

	for (; *method; method++)
		sbuf_addch(out, (char)tolower((unsigned char)*method));
	sbuf_addch(out, '_');
	for (; *p; p++) {
		if (*p == '/' || *p == '-' || *p == '.')
			sbuf_addch(out, '_');
		else if (*p != '{' && *p != '}')
			sbuf_addch(out, *p);
	}
}

static json_t *path_params(const char *path)
{
	json_t *a = json_array();
	const char *p = path, *end;

	while ((p = strchr(p, '{')) != NULL && (end = strchr(p, '}'))) {
		json_t *name = json_stringn(p + 1, (size_t)(end - p - 1));

		json_array_append_new(a, json_pack("{s:o, s:s, s:b, s:{s:s}}",
						   "name", name, "in", "path",
						   "required", 1, "schema",
						   "type", "string"));
		p = end + 1;
	}
	return a;
}

static json_t *operation(const struct openapi_op *op)
{
	bool change = strcmp(op->method, "GET") != 0;
	struct strbuf id = STRBUF_INIT;
	json_t *o, *resp = json_object();
	size_t i;

	json_object_set_new(
		resp, "2XX",
		json_pack("{s:s}", "description",
			  "success; the JSON shapes are SPEC sections 7, 10 "
			  "and 12"));
	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		const struct answer *a = &answers[i];

		if ((a->token && op->role == NULL) || (a->change && !change))
			continue;
		json_object_set_new(resp, a->status,
				    json_pack("{s:s, s:s}", "$ref",
					      "#/components/responses/Problem",
					      "description", a->why));
	}
	operation_id(&id, op->method, op->path);
	o = json_pack("{s:s, s:s, s:o, s:o}", "summary", op->summary,
		      "operationId", id.buf, "parameters",
		      path_params(op->path), "responses", resp);
	sbuf_release(&id);
	if (op->role != NULL) {
		json_object_set_new(o, "security",
				    json_pack("[{s:[]}]", "bearer"));
		json_object_set_new(o, "x-mxfeed-role", json_string(op->role));
	} else {
		json_object_set_new(o, "security", json_pack("[{}]"));
	}
	return o;
}

json_t *openapi_document(const struct openapi_op *ops, size_t n,
			 struct error *err)
{
	json_t *paths = json_object(), *doc;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct openapi_op *op = &ops[i];
		struct strbuf m = STRBUF_INIT;
		json_t *item;
		const char *c;

		if (op->summary == NULL || op->summary[0] == '\0' ||
		    op->path == NULL || op->path[0] != '/') {
			json_decref(paths);
			return error_set(err, ERR_INTERNAL, NULL,
					 "route %s %s has no summary or no "
					 "path",
					 op->method, op->path ? op->path : ""),
			       NULL;
		}
		for (c = op->method; *c; c++)
			sbuf_addch(&m, (char)tolower((unsigned char)*c));
		item = json_object_get(paths, op->path);
		if (item == NULL) {
			item = json_object();
			json_object_set_new(paths, op->path, item);
		}
		json_object_set_new(item, m.buf, operation(op));
		sbuf_release(&m);
	}
	doc = json_pack(
		"{s:s, s:{s:s, s:s, s:s}, s:o, s:o}", "openapi",
		OPENAPI_VERSION, "info", "title", "mxfeed API", "version", "1",
		"description",
		"The JSON API of mxfeed (SPEC section 7), generated from "
		"mxfeed-fcgi's route table.  Bearer tokens come from "
		"'feedctl token create'; x-mxfeed-role is the role a route "
		"needs.",
		"paths", paths, "components", components());
	return doc;
}
