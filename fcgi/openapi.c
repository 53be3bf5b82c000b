/*
 * openapi - GET /api/v1/openapi.json, the OpenAPI 3.1 document
 *
 * Built on every request from api.c's route table (api_route_at()) by
 * lib/openapi.c, so it lists exactly the routes the service answers.
 * Each row needs a one-line summary in summaries[] below: a route
 * added without one makes this answer 500 (and the integration test
 * fail), not a document with a hole.  Public, like any API
 * documentation: no token, no database; it tells nothing SPEC does not.
 */
#include <string.h>

#include "fcgi.h"
#include "openapi.h"
#include "util/log.h"

#define OPENAPI_PATH "/api/v1/openapi.json"

/* method, path, summary, success status, request and response body
 * schemas (components.schemas of lib/openapi.c), more problem statuses,
 * the If-Match header (OPENAPI_IF_MATCH_*; absent: none) */
static const struct {
	const char *method, *path, *summary;
	int status;
	const char *request, *response, *problems;
	int if_match;
} summaries[] = {
	{ "GET", "/api/v1/domains", "List domains (mode, match, limit, after)",
	  200, NULL, "DomainList", NULL },
	{ "POST", "/api/v1/domains", "Add a domain", 201, "DomainCreate",
	  "Domain", NULL },
	{ "GET", "/api/v1/domains/{name}", "Show a domain's record and ETag",
	  200, NULL, "Domain", NULL },
	{ "PATCH", "/api/v1/domains/{name}",
	  "Change a domain (JSON merge patch, If-Match)", 200, "DomainPatch",
	  "Domain", NULL, OPENAPI_IF_MATCH_REQUIRED },
	{ "DELETE", "/api/v1/domains/{name}", "Remove a domain (If-Match)", 204,
	  NULL, NULL, NULL, OPENAPI_IF_MATCH_OPTIONAL },
	{ "GET", "/api/v1/domains/{name}/history",
	  "A domain's audit history, newest first", 200, NULL, "History",
	  NULL },
	{ "GET", "/api/v1/domains/{name}/jobs", "A domain's mailbox jobs", 200,
	  NULL, "Jobs", NULL },
	{ "GET", "/api/v1/domains/{name}/mailboxes", "A domain's mailboxes",
	  200, NULL, "Mailboxes", NULL },
	{ "GET", "/api/v1/domains/{name}/rules",
	  "A domain's allow and block rules", 200, NULL, "Rules", NULL },
	{ "GET", "/api/v1/domains/{name}/queue",
	  "A domain's queued mail on every relay", 200, NULL, "Queue", NULL },
	{ "GET", "/api/v1/domains/{name}/messages",
	  "Message tracking: where a domain's mail went", 200, NULL, "Messages",
	  NULL },
	{ "GET", "/api/v1/domains/{name}/quarantine",
	  "A domain's quarantined messages", 200, NULL, "Quarantine", NULL },
	{ "POST", "/api/v1/domains/{name}/quarantine/{id}/release",
	  "Send a quarantined message on", 200, NULL, "QuarantineDone", NULL },
	{ "POST", "/api/v1/domains/{name}/quarantine/{id}/delete",
	  "Delete a quarantined message", 200, NULL, "QuarantineDone", NULL },
	{ "POST", "/api/v1/domains/{name}/switch",
	  "Switch a domain to feed, backup or pop3", 200, "Switch",
	  "SwitchDone", NULL, OPENAPI_IF_MATCH_OPTIONAL },
	{ "POST", "/api/v1/domains/{name}/temp-pop3",
	  "Temporary POP3 mailboxes during an outage", 200, "TempPop3",
	  "TempPop3Done", NULL, OPENAPI_IF_MATCH_OPTIONAL },
	{ "POST", "/api/v1/domains/{name}/revert",
	  "End temporary POP3 and go back to the feed", 200, "Revert",
	  "RevertDone", NULL, OPENAPI_IF_MATCH_OPTIONAL },
	{ "POST", "/api/v1/domains/{name}/extend",
	  "Extend the queue lifetime of a domain's mail", 200, "Extend",
	  "Domain", NULL, OPENAPI_IF_MATCH_OPTIONAL },
	{ "POST", "/api/v1/domains/{name}/flush",
	  "Flush a domain's queue on every relay", 202, NULL, "Flushed", NULL },
	{ "POST", "/api/v1/domains/{name}/probe",
	  "Probe the domain's destination server", 200, NULL, "Probe", "429" },
	{ "GET", "/api/v1/relays",
	  "The relays: role, addresses, applied sequence, state", 200, NULL,
	  "Relays", NULL },
	{ "GET", "/api/v1/relays/addresses",
	  "The addresses filtered mail comes from (no token)", 200, NULL,
	  "RelayAddresses", NULL },
	{ "GET", OPENAPI_PATH, "This document (no token)", 200, NULL, "OpenAPI",
	  NULL },
};

/* The row of summaries[] for a route; a route without one gets an op
 * without a summary, which openapi_document() refuses. */
static struct openapi_op op_of(const char *method, const char *path,
			       const char *role)
{
	size_t i;

	for (i = 0; i < sizeof(summaries) / sizeof(summaries[0]); i++)
		if (strcmp(summaries[i].method, method) == 0 &&
		    strcmp(summaries[i].path, path) == 0)
			return (struct openapi_op){
				method,
				path,
				summaries[i].summary,
				role,
				summaries[i].status,
				summaries[i].request,
				summaries[i].response,
				summaries[i].problems,
				summaries[i].if_match,
			};
	return (struct openapi_op){ method, path, NULL,
				    role,   0,	  NULL,
				    NULL,   NULL, OPENAPI_IF_MATCH_NONE };
}

void openapi_handle(struct req *q, struct resp *r)
{
	struct openapi_op *ops = NULL;
	struct error err = ERROR_INIT;
	char(*paths)[96] = NULL;
	size_t n = 0, i;
	const char *method, *role;
	char path[96];
	json_t *doc;

	if (strcmp(q->method, "GET") != 0 && strcmp(q->method, "HEAD") != 0) {
		resp_problem_msg(r, 405, NULL, "method not allowed here");
		resp_header(r, "Allow", "GET, HEAD");
		return;
	}
	while (api_route_at(n, &method, path, sizeof(path), &role))
		n++;
	ops = xcalloc(n + 1, sizeof(*ops));
	paths = xcalloc(n + 1, sizeof(*paths));
	for (i = 0; i < n &&
		    api_route_at(i, &method, paths[i], sizeof(paths[i]), &role);
	     i++)
		ops[i] = op_of(method, paths[i], role);
	ops[n] = op_of("GET", OPENAPI_PATH, NULL);
	doc = openapi_document(ops, n + 1, &err);
	if (doc == NULL) {
		log_error("openapi: %s", error_msg(&err));
		resp_problem(r, 500, &err);
	} else {
		resp_json(r, 200, doc);
		json_decref(doc);
	}
	error_release(&err);
	free(ops);
	free(paths);
}
