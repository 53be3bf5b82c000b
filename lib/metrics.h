/*
 * metrics - Prometheus text exposition (format 0.0.4) and the counters
 * of mxfeed-fcgi
 *
 * The writer: metrics_family() prints a family's HELP and TYPE lines,
 * metrics_sample() one sample "name{k="v",...} value".  Label values
 * are escaped as the format wants (backslash, double quote and line
 * feed as \\, \" and \n); names and label names are ours (constants),
 * never client text.
 *
 * The HTTP counters are process-wide and thread-safe (one mutex, held
 * for a few additions): metrics_http_observe() counts one answered
 * request by route and status and puts its duration into the route's
 * histogram (buckets METRICS_BUCKETS, seconds); metrics_http_render()
 * prints every family, series sorted by route then status, so that the
 * output is stable.  A route is a template ("/api/v1/domains/{name}"),
 * never a raw path: a client cannot create series.  At most
 * METRICS_SERIES_MAX route/status pairs are kept; more are counted in
 * mxfeed_http_series_dropped_total.
 *
 * metrics_client_allowed() is the rule of who may read GET /metrics
 * (web.metrics_allow); anyone else is answered 404, as for a path that
 * does not exist.
 *
 * metrics_db_error() counts database failures (lib/store.c calls it in
 * its one failure mapping): "unavailable" (connection lost, a
 * temporary SQLSTATE) or "error" (the rest).
 */
#ifndef MXFEED_METRICS_H
#define MXFEED_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/cidr.h"
#include "util/strbuf.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_SERIES_MAX   1024
#define METRICS_NBUCKETS     11

/* upper bounds of the latency buckets, seconds ("+Inf" is implied) */
extern const double metrics_buckets[METRICS_NBUCKETS];

/* "# HELP name help" and "# TYPE name type" */
void metrics_family(struct strbuf *out, const char *name, const char *type,
		    const char *help);
/* labels: name, value, name, value, ..., NULL (or labels NULL) */
void metrics_sample(struct strbuf *out, const char *name,
		    const char *const *labels, const char *value);
void metrics_sample_u64(struct strbuf *out, const char *name,
			const char *const *labels, uint64_t value);
void metrics_label_escape(struct strbuf *out, const char *v);

void metrics_http_observe(const char *route, int status, double seconds);
/* requests being answered now: +1 when one starts, -1 when it ends */
void metrics_http_in_flight(int delta);
void metrics_db_error(bool unavailable);
/* the worker threads the process runs (a gauge) */
void metrics_http_workers(int n);
/* every family of mxfeed-fcgi */
void metrics_http_render(struct strbuf *out);
/*
 * May remote_addr (REMOTE_ADDR as nginx passes it) read the metrics?
 * NULL or not an address: no.  An IPv4-mapped IPv6 address
 * (::ffff:192.0.2.1) is matched as the IPv4 address it carries.
 */
bool metrics_client_allowed(const struct cidr_list *allow,
			    const char *remote_addr);
/* forget every count (unit tests) */
void metrics_reset(void);

#endif
