/*
 * mxfeed-fcgi - shared declarations of the FastCGI front end
 *
 * main.c owns the process: the listening socket, the worker threads,
 * one database connection per worker, reading a request into a struct
 * req and writing a struct resp back.  api.c answers /api/v1/ and
 * /healthz, portal.c answers /portal/, metrics.c /metrics and
 * openapi.c /api/v1/openapi.json.  Both only parse their syntax,
 * call lib/ and render: every rule lives in lib/.
 */
#ifndef MXFEED_FCGI_H
#define MXFEED_FCGI_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "conf.h"
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

struct resp {
	int status;
	const char *ctype;
	struct strbuf headers; /* "Name: value\r\n" lines */
	struct strbuf body;
};

/* Database handle of this worker, connecting if needed. */
struct store *worker_store(struct worker *w, struct error *err);

/* Add one header line; name and value must be free of CR/LF. */
void resp_header(struct resp *r, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void resp_json(struct resp *r, int status, const json_t *j);
/* problem+json from err; status 0: the status err->code maps to. */
void resp_problem(struct resp *r, int status, const struct error *err);
void resp_problem_msg(struct resp *r, int status, const char *field,
		      const char *msg);

/* Before the workers start: sizes the probe limit (half of them). */
void api_setup(int workers);
/*
 * The probe limits of every front (api.c over lib/probelimit, shared by
 * the API and the portal's forms and "Probe now"): at most half the workers
 * probing at once, one probe per key (a token's id; a staff login's
 * is negative) and a rate per key.  The slot to give back, or -1 with
 * *retry_after (seconds) and msg saying why ("this WHO has ...").
 */
int probe_gate_take(int64_t key, const char *who, int *retry_after, char *msg,
		    size_t size);
void probe_gate_give(int slot);
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
