/*
 * openapi - the OpenAPI 3.1 document of /api/v1
 *
 * See openapi.h.  Each problem status is one shared response
 * (components.responses.P404 ...) whose schema is the Problem schema
 * with that status's type and number as consts; the statuses and their
 * slugs are problems[] below, which fcgi/main.c answers by too.
 */
#include "openapi.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain_json.h"
#include "util/strbuf.h"

enum when {
	W_ALL,	  /* every route */
	W_TOKEN,  /* routes that need a token */
	W_CHANGE, /* POST, PATCH, DELETE */
	W_BODY,	  /* routes that take a JSON body */
	W_LISTED  /* only where openapi_op.problems names it */
};

static const struct problem {
	int status;
	const char *slug, *why;
	enum when when;
} problems[] = {
	{ 400, "bad-request",
	  "malformed request (query, header or JSON syntax)", W_ALL },
	{ 401, "unauthorized", "no valid bearer token", W_TOKEN },
	{ 403, "forbidden", "the token's role is too low for this route",
	  W_TOKEN },
	{ 404, "not-found",
	  "no such resource, or a domain outside the token's scope", W_ALL },
	{ 405, "method-not-allowed", "method not allowed on this path", W_ALL },
	{ 409, "conflict",
	  "conflict, or the same Idempotency-Key still running", W_CHANGE },
	{ 412, "stale", "If-Match does not match the current version",
	  W_CHANGE },
	{ 413, "too-large", "request body over 64 KiB", W_CHANGE },
	{ 415, "unsupported-media-type", "Content-Type not accepted", W_BODY },
	{ 422, "invalid", "a field's value is invalid (errors[] names it)",
	  W_CHANGE },
	{ 428, "if-match-required", "If-Match required", W_CHANGE },
	{ 429, "too-many-requests",
	  "over the token's rate or the running limit; retry after "
	  "Retry-After seconds",
	  W_LISTED },
	{ 500, "internal", "internal error (details in the service log)",
	  W_ALL },
	{ 501, "not-implemented", "not available on this installation", W_ALL },
	{ 503, "unavailable",
	  "database unavailable; retry after Retry-After seconds", W_ALL },
	{ 504, "timeout", "a relay or server did not answer in time", W_ALL },
};

#define NPROBLEMS (sizeof(problems) / sizeof(problems[0]))

const char *openapi_problem_slug(int status)
{
	size_t i;

	for (i = 0; i < NPROBLEMS; i++)
		if (problems[i].status == status)
			return problems[i].slug;
	return "internal";
}

/*
 * The bodies not generated from fields.def: the shapes of SPEC sections
 * 7, 10 and 12, their top-level members required.  "#D" is a reference
 * to the Domain schema.
 */
static const struct {
	const char *name, *json;
} shapes[] = {
	{ "DomainList",
	  "{\"type\":\"object\",\"required\":[\"domains\",\"next\"],"
	  "\"properties\":{\"domains\":{\"type\":\"array\",\"items\":{\"$ref\":"
	  "\"#D\"}},\"next\":{\"type\":[\"string\",\"null\"],\"description\":"
	  "\"the last name of a full page: the after= of the next\"}}}" },
	{ "History",
	  "{\"type\":\"object\",\"required\":[\"domain\",\"history\"],"
	  "\"properties\":{\"domain\":{\"type\":\"string\"},\"history\":{"
	  "\"type\":\"array\",\"items\":{\"type\":\"object\"}}}}" },
	{ "Jobs", "{\"type\":\"object\",\"required\":[\"domain\",\"jobs\"],"
		  "\"properties\":{\"domain\":{\"type\":\"string\"},\"jobs\":{"
		  "\"type\":\"array\",\"items\":{\"type\":\"object\"}}}}" },
	{ "Mailboxes",
	  "{\"type\":\"object\",\"required\":[\"domain\",\"mailboxes\"],"
	  "\"properties\":{\"domain\":{\"type\":\"string\"},\"mailboxes\":{"
	  "\"type\":\"array\",\"items\":{\"type\":\"object\"}}}}" },
	{ "Rules",
	  "{\"type\":\"object\",\"required\":[\"domain\",\"rules\"],"
	  "\"properties\":{\"domain\":{\"type\":\"string\"},\"rules\":{"
	  "\"type\":\"array\",\"items\":{\"type\":\"object\"}}}}" },
	{ "Queue",
	  "{\"type\":\"object\",\"required\":[\"domain\",\"count\","
	  "\"messages\"],\"properties\":{\"domain\":{\"type\":\"string\"},"
	  "\"count\":{\"type\":\"integer\",\"minimum\":0},\"messages\":{"
	  "\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
	  "\"queue_id\":{\"type\":\"string\"},\"relay\":{\"type\":\"string\"}}}"
	  "}"
	  "}}" },
	{ "Messages",
	  "{\"type\":\"object\",\"required\":[\"messages\"],\"properties\":{"
	  "\"messages\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	  "\"properties\":{\"queue_id\":{\"type\":\"string\"},\"steps\":{"
	  "\"type\":\"array\"}}}}}}" },
	{ "Quarantine",
	  "{\"type\":\"object\",\"required\":[\"domain\"],\"properties\":{"
	  "\"domain\":{\"type\":\"string\"},\"messages\":{\"type\":\"array\","
	  "\"items\":{\"type\":\"object\"}}}}" },
	{ "QuarantineDone",
	  "{\"type\":\"object\",\"required\":[\"queue_id\",\"done\"],"
	  "\"properties\":{\"queue_id\":{\"type\":\"string\"},\"done\":{"
	  "\"enum\":[\"released\",\"deleted\"]},\"relay\":{\"type\":"
	  "\"string\"}}}" },
	{ "Switch",
	  "{\"type\":\"object\",\"required\":[\"to\"],\"additionalProperties\":"
	  "false,\"properties\":{\"to\":{\"enum\":[\"feed\",\"backup\","
	  "\"pop3\"]},\"dest\":{\"type\":\"string\",\"description\":"
	  "\"IP[:PORT], for feed and backup\"},\"mailboxes\":{\"enum\":["
	  "\"forward\",\"archive\",\"purge\"]},\"force\":{\"type\":\"boolean\"}"
	  ","
	  "\"confirm\":{\"type\":\"string\"},\"mailbox\":{\"type\":\"array\","
	  "\"items\":{\"type\":\"string\"},\"description\":\"local parts, for "
	  "pop3\"},\"catch_all\":{\"type\":\"boolean\"},\"dry_run\":{"
	  "\"type\":\"boolean\",\"description\":\"answer the plan, change "
	  "nothing\"}}}" },
	{ "SwitchDone",
	  "{\"type\":\"object\",\"required\":[\"domain\"],\"properties\":{"
	  "\"domain\":{\"type\":\"string\"},\"switch\":{\"type\":\"object\"},"
	  "\"mailboxes\":{},\"plan\":{\"type\":\"object\",\"description\":"
	  "\"with dry_run: what the switch would do\"}}}" },
	{ "TempPop3",
	  "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
	  "\"mailboxes\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	  "\"from_queue\":{\"type\":\"boolean\"},\"catch_all\":{\"type\":"
	  "\"boolean\"}}}" },
	{ "TempPop3Done",
	  "{\"type\":\"object\",\"required\":[\"domain\",\"mailboxes\"],"
	  "\"properties\":{\"domain\":{\"type\":\"string\"},\"mailboxes\":{}}"
	  "}" },
	{ "Revert",
	  "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
	  "\"keep_days\":{\"type\":\"integer\",\"minimum\":1}}}" },
	{ "RevertDone",
	  "{\"type\":\"object\",\"required\":[\"domain\",\"revert\"],"
	  "\"properties\":{\"domain\":{\"type\":\"string\"},\"revert\":{"
	  "\"type\":\"object\"}}}" },
	{ "Extend",
	  "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
	  "\"days\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":31},"
	  "\"until\":{\"type\":\"string\",\"description\":\"YYYY-MM-DD\"}}}" },
	{ "Flushed",
	  "{\"type\":\"object\",\"required\":[\"domain\",\"flushed\"],"
	  "\"properties\":{\"domain\":{\"type\":\"string\"},\"flushed\":{"
	  "\"const\":true},\"relays\":{\"type\":\"array\"}}}" },
	{ "Probe",
	  "{\"type\":\"object\",\"required\":[\"ok\"],\"properties\":{\"ok\":{"
	  "\"type\":\"boolean\"},\"host\":{\"type\":\"string\"},\"port\":{"
	  "\"type\":\"integer\"},\"banner\":{\"type\":[\"string\",\"null\"]},"
	  "\"ms\":{\"type\":\"number\"}}}" },
	{ "Relays",
	  "{\"type\":\"object\",\"required\":[\"relays\"],\"properties\":{"
	  "\"relays\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	  "\"required\":[\"name\"],\"properties\":{\"name\":{\"type\":"
	  "\"string\"},\"role\":{\"enum\":[\"relay\",\"mailbox\","
	  "\"draining\",\"retired\"]},\"state\":{\"enum\":[\"ok\","
	  "\"behind\",\"failing\",\"down\",\"draining\",\"drained\","
	  "\"retired\"]},\"queue_total\":{\"type\":[\"integer\",\"null\"]},"
	  "\"smtp_address\":{\"type\":[\"string\",\"null\"]},"
	  "\"drain_started_at\":{\"type\":[\"string\",\"null\"]},"
	  "\"drain_by\":{\"type\":[\"string\",\"null\"]},"
	  "\"drain_hand_over\":{\"type\":[\"string\",\"null\"]},"
	  "\"drain_max_age\":{\"type\":[\"integer\",\"null\"],"
	  "\"description\":\"seconds\"}}}}}}" },
	{ "RelayAddresses",
	  "{\"type\":\"object\",\"required\":[\"addresses\"],\"properties\":{"
	  "\"addresses\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}"
	  "}" },
	{ "OpenAPI",
	  "{\"type\":\"object\",\"required\":[\"openapi\",\"info\",\"paths\"],"
	  "\"properties\":{\"openapi\":{\"type\":\"string\"}}}" },
};

#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))

/* "#D" in a shape: the Domain schema's reference */
static void fix_refs(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v) fix_refs(v);
		return;
	}
	json_object_foreach(j, key, v)
	{
		if (strcmp(key, "$ref") == 0 && json_is_string(v) &&
		    strcmp(json_string_value(v), "#D") == 0)
			json_object_set_new(
				j, key,
				json_string("#/components/schemas/Domain"));
		else
			fix_refs(v);
	}
}

static json_t *problem_schema(void)
{
	json_t *types = json_array();
	struct strbuf t = STRBUF_INIT;
	size_t i;

	for (i = 0; i < NPROBLEMS; i++) {
		sbuf_reset(&t);
		sbuf_addf(&t, "urn:mxfeed:problem:%s", problems[i].slug);
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

static json_t *schemas(struct error *err)
{
	json_t *s = json_object();
	size_t i;

	json_object_set_new(s, "Problem", problem_schema());
	json_object_set_new(s, "Domain",
			    domain_json_schema(DOMAIN_SCHEMA_RECORD));
	json_object_set_new(s, "DomainPatch",
			    domain_json_schema(DOMAIN_SCHEMA_PATCH));
	json_object_set_new(s, "DomainCreate",
			    domain_json_schema(DOMAIN_SCHEMA_CREATE));
	for (i = 0; i < NSHAPES; i++) {
		json_error_t je;
		json_t *j = json_loads(shapes[i].json, 0, &je);

		if (j == NULL) {
			json_decref(s);
			return error_set(err, ERR_INTERNAL, NULL,
					 "openapi: schema %s: %s",
					 shapes[i].name, je.text),
			       NULL;
		}
		fix_refs(j);
		json_object_set_new(s, shapes[i].name, j);
	}
	return s;
}

/* components.responses.P404: the Problem with that type and status */
static json_t *problem_responses(void)
{
	json_t *r = json_object();
	struct strbuf t = STRBUF_INIT, k = STRBUF_INIT;
	size_t i;

	for (i = 0; i < NPROBLEMS; i++) {
		const struct problem *p = &problems[i];

		sbuf_reset(&t);
		sbuf_reset(&k);
		sbuf_addf(&t, "urn:mxfeed:problem:%s", p->slug);
		sbuf_addf(&k, "P%d", p->status);
		json_object_set_new(
			r, k.buf,
			json_pack("{s:s, s:{s:{s:{s:[{s:s}, {s:{s:{s:s}, "
				  "s:{s:i}}}]}}}}",
				  "description", p->why, "content",
				  "application/problem+json", "schema", "allOf",
				  "$ref", "#/components/schemas/Problem",
				  "properties", "type", "const", t.buf,
				  "status", "const", p->status));
	}
	sbuf_release(&t);
	sbuf_release(&k);
	return r;
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

/* The If-Match header of an operation that takes one (strong
 * comparison: a weak tag never matches). */
static json_t *if_match_param(int how)
{
	return json_pack(
		"{s:s, s:s, s:b, s:s, s:{s:s}}", "name", "If-Match", "in",
		"header", "required", how == OPENAPI_IF_MATCH_REQUIRED,
		"description",
		how == OPENAPI_IF_MATCH_REQUIRED
			? "the ETag read (\"N\" or *); 428 without it, 412 "
			  "when stale or weak"
			: "optional: the ETag read (\"N\" or *); 412 when "
			  "stale or weak, none: no version check",
		"schema", "type", "string");
}

static json_t *ref(const char *schema)
{
	struct strbuf r = STRBUF_INIT;
	json_t *j;

	sbuf_addf(&r, "#/components/schemas/%s", schema);
	j = json_pack("{s:s}", "$ref", r.buf);
	sbuf_release(&r);
	return j;
}

static bool listed(const char *list, int status)
{
	char want[8];
	size_t n;

	if (list == NULL)
		return false;
	n = (size_t)snprintf(want, sizeof(want), "%d", status);
	for (; (list = strstr(list, want)) != NULL; list += n)
		if (list[n] == '\0' || list[n] == ' ')
			return true;
	return false;
}

static bool answers(const struct openapi_op *op, const struct problem *p)
{
	bool change = strcmp(op->method, "GET") != 0;

	if (listed(op->problems, p->status))
		return true;
	switch (p->when) {
	case W_ALL:
		return true;
	case W_TOKEN:
		return op->role != NULL;
	case W_CHANGE:
		return change;
	case W_BODY:
		return change && op->request != NULL;
	case W_LISTED:
		break;
	}
	return false;
}

static json_t *operation(const struct openapi_op *op)
{
	struct strbuf id = STRBUF_INIT, k = STRBUF_INIT;
	json_t *o, *ok, *params, *resp = json_object();
	size_t i;

	ok = json_pack("{s:s}", "description", op->summary);
	if (op->response != NULL)
		json_object_set_new(ok, "content",
				    json_pack("{s:{s:o}}", "application/json",
					      "schema", ref(op->response)));
	sbuf_addf(&k, "%d", op->status ? op->status : 200);
	json_object_set_new(resp, k.buf, ok);
	for (i = 0; i < NPROBLEMS; i++) {
		const struct problem *p = &problems[i];
		char key[8], target[48];

		if (!answers(op, p))
			continue;
		(void)snprintf(key, sizeof(key), "%d", p->status);
		(void)snprintf(target, sizeof(target),
			       "#/components/responses/P%d", p->status);
		json_object_set_new(resp, key,
				    json_pack("{s:s}", "$ref", target));
	}
	operation_id(&id, op->method, op->path);
	params = path_params(op->path);
	if (op->if_match != OPENAPI_IF_MATCH_NONE)
		json_array_append_new(params, if_match_param(op->if_match));
	o = json_pack("{s:s, s:s, s:o, s:o}", "summary", op->summary,
		      "operationId", id.buf, "parameters", params, "responses",
		      resp);
	if (op->request != NULL)
		json_object_set_new(
			o, "requestBody",
			json_pack("{s:b, s:{s:{s:o}}}", "required",
				  strcmp(op->method, "PATCH") == 0 ||
					  strcmp(op->request, "DomainCreate") ==
						  0,
				  "content",
				  strcmp(op->method, "PATCH") == 0
					  ? "application/merge-patch+json"
					  : "application/json",
				  "schema", ref(op->request)));
	sbuf_release(&id);
	sbuf_release(&k);
	if (op->role != NULL) {
		json_object_set_new(o, "security",
				    json_pack("[{s:[]}]", "bearer"));
		json_object_set_new(o, "x-mxfeed-role", json_string(op->role));
	} else {
		json_object_set_new(o, "security", json_pack("[{}]"));
	}
	return o;
}

static bool schema_known(const json_t *schemas, const char *name)
{
	return name == NULL || json_object_get(schemas, name) != NULL;
}

json_t *openapi_document(const struct openapi_op *ops, size_t n,
			 struct error *err)
{
	json_t *paths, *doc, *sch;
	size_t i;

	if ((sch = schemas(err)) == NULL)
		return NULL;
	paths = json_object();
	for (i = 0; i < n; i++) {
		const struct openapi_op *op = &ops[i];
		struct strbuf m = STRBUF_INIT;
		json_t *item;
		const char *c;

		if (op->summary == NULL || op->summary[0] == '\0' ||
		    op->path == NULL || op->path[0] != '/' ||
		    !schema_known(sch, op->request) ||
		    !schema_known(sch, op->response)) {
			json_decref(paths);
			json_decref(sch);
			return error_set(err, ERR_INTERNAL, NULL,
					 "route %s %s has no summary, no "
					 "path or an unknown schema",
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
		"{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:{s:{s:s, s:s}}, s:o, "
		"s:o}}",
		"openapi", OPENAPI_VERSION, "info", "title", "mxfeed API",
		"version", "1", "description",
		"The JSON API of mxfeed (SPEC section 7), generated from "
		"mxfeed-fcgi's route table and the record table "
		"(lib/fields.def).  Bearer tokens come from 'feedctl token "
		"create'; x-mxfeed-role is the role a route needs, "
		"x-mxfeed-field the setting a member is.",
		"paths", paths, "components", "securitySchemes", "bearer",
		"type", "http", "scheme", "bearer", "schemas", sch, "responses",
		problem_responses());
	return doc;
}
