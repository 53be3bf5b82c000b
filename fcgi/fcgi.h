/*
 * mxfeed-fcgi - shared declarations of the FastCGI front end
 *
 * main.c owns the process: the listening socket, the worker threads,
 * one database connection per worker, reading a request into a struct
 * req and writing a struct resp (built with resp.h) back.  api.c
 * answers /api/v1/ and /healthz, portal.c answers /portal/, metrics.c
 * /metrics and openapi.c /api/v1/openapi.json.  They only parse their
 * syntax, call lib/ and render: every rule lives in lib/.
 */
#ifndef MXFEED_FCGI_H
#define MXFEED_FCGI_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "conf.h"
#include "resp.h"
#include "store.h"
#include "util/error.h"
#include "util/strbuf.h"

#define REQ_ID_LEN 32

struct worker {
	int id;
	const struct conf *conf;
	struct store *store; /* NULL until the database answered once */
	struct auth_cache tokens;
	unsigned char csrf_key[32];
};

struct req {
	struct worker *w;
	const char *method;
	const char *path;  /* decoded, normalised by nginx */
	const char *query; /* raw, "" if none */
	const char *content_type;
	const char *authorization;
	const char *if_match;
	const char *idem_key;
	const char *ticket;
	const char *origin;
	const char *host;
	const char *scheme;
	const char *remote_user;
	char id[REQ_ID_LEN + 1];
	struct strbuf body;
	/* for the access log, once known: a copy, the principal is gone
	 * by then */
	char actor[TOKEN_NAME_MAX + 1];
	const char *remote_addr; /* REMOTE_ADDR, as nginx saw the client */
	char route[96];		 /* metrics label: the route's template */
};

/* Database handle of this worker, connecting if needed. */
struct store *worker_store(struct worker *w, struct error *err);

void api_handle(struct req *q, struct resp *r);
void health_handle(struct req *q, struct resp *r);
void portal_handle(struct req *q, struct resp *r);

/* GET /metrics (metrics.c) and GET /api/v1/openapi.json (openapi.c) */
void metrics_handle(struct req *q, struct resp *r);
void openapi_handle(struct req *q, struct resp *r);
/* Row i of the API's route table: its method, path template ("{name}"
 * for a segment) and the token role it needs (NULL: no token); false
 * past the end. */
bool api_route_at(size_t i, const char **method, char *path, size_t size,
		  const char **role);

#endif
