/*
 * metrics - GET /metrics of mxfeed-fcgi, for Prometheus
 *
 * Only for the clients of web.metrics_allow (localhost by default);
 * anyone else hears 404 "no such resource", as for a path that does
 * not exist, so that the endpoint is not advertised.  Needs no
 * database: a scrape still answers while the database is down (and
 * then shows mxfeed_db_errors_total rising).  The counting is
 * lib/metrics.c's; main.c records every request when it is answered.
 */
#include <string.h>

#include "fcgi.h"
#include "metrics.h"

void metrics_handle(struct req *q, struct resp *r)
{
	if (!metrics_client_allowed(&q->w->conf->web_metrics_allow,
				    q->remote_addr)) {
		resp_problem_msg(r, 404, NULL, "no such resource");
		return;
	}
	if (strcmp(q->method, "GET") != 0 && strcmp(q->method, "HEAD") != 0) {
		resp_problem_msg(r, 405, NULL, "method not allowed here");
		resp_header(r, "Allow", "GET, HEAD");
		return;
	}
	r->status = 200;
	r->ctype = METRICS_CONTENT_TYPE;
	sbuf_reset(&r->body);
	metrics_http_render(&r->body);
}
