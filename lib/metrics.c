/*
 * metrics - Prometheus text exposition and mxfeed-fcgi's counters
 *
 * See metrics.h.  The tables are small arrays kept sorted on insert
 * (routes by name, series by route and status), so rendering is one
 * walk under the lock and never allocates per sample beyond the
 * output buffer.
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

const double metrics_buckets[METRICS_NBUCKETS] = { 0.005, 0.01, 0.025, 0.05,
						   0.1,	  0.25, 0.5,   1,
						   2.5,	  5,	10 };

static const char *const bucket_text[METRICS_NBUCKETS] = {
	"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
	"0.5",	 "1",	 "2.5",	  "5",	  "10"
};

struct route_stat {
	char *name;
	uint64_t bucket[METRICS_NBUCKETS]; /* not cumulative */
	uint64_t count;
	uint64_t sum_us; /* microseconds */
};

struct series {
	size_t route; /* index into routes */
	int status;
	uint64_t count;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct route_stat *routes;
static size_t nroutes;
static struct series *series;
static size_t nseries;
static uint64_t dropped;
static atomic_uint_fast64_t db_unavailable, db_other;
static atomic_int in_flight, workers;

void metrics_label_escape(struct strbuf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			sbuf_addstr(out, "\\\\");
		else if (*v == '"')
			sbuf_addstr(out, "\\\"");
		else if (*v == '\n')
			sbuf_addstr(out, "\\n");
		else
			sbuf_addch(out, *v);
	}
}

void metrics_family(struct strbuf *out, const char *name, const char *type,
		    const char *help)
{
	sbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_sample(struct strbuf *out, const char *name,
		    const char *const *labels, const char *value)
{
	size_t i;

	sbuf_addstr(out, name);
	if (labels != NULL && labels[0] != NULL) {
		sbuf_addch(out, '{');
		for (i = 0; labels[i] != NULL && labels[i + 1] != NULL;
		     i += 2) {
			sbuf_addf(out, "%s%s=\"", i ? "," : "", labels[i]);
			metrics_label_escape(out, labels[i + 1]);
			sbuf_addch(out, '"');
		}
		sbuf_addch(out, '}');
	}
	sbuf_addf(out, " %s\n", value);
}

void metrics_sample_u64(struct strbuf *out, const char *name,
			const char *const *labels, uint64_t value)
{
	char v[24];

	(void)snprintf(v, sizeof(v), "%" PRIu64, value);
	metrics_sample(out, name, labels, v);
}

/* Index of route name, inserted in order if new; SIZE_MAX when full. */
static size_t route_index(const char *name)
{
	size_t lo = 0, hi = nroutes;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(routes[mid].name, name);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (nroutes >= METRICS_SERIES_MAX)
		return SIZE_MAX;
	routes = xrealloc(routes, (nroutes + 1) * sizeof(*routes));
	memmove(&routes[lo + 1], &routes[lo], (nroutes - lo) * sizeof(*routes));
	memset(&routes[lo], 0, sizeof(*routes));
	routes[lo].name = xstrdup(name);
	nroutes++;
	/* series refer to routes by index: shift those after the new one */
	for (hi = 0; hi < nseries; hi++)
		if (series[hi].route >= lo)
			series[hi].route++;
	return lo;
}

static struct series *series_get(size_t route, int status)
{
	size_t i;

	/* routes are sorted, so (route index, status) order is the order
	 * of (route name, status) */
	for (i = 0; i < nseries; i++) {
		if (series[i].route == route && series[i].status == status)
			return &series[i];
		if (series[i].route > route ||
		    (series[i].route == route && series[i].status > status))
			break;
	}
	if (nseries >= METRICS_SERIES_MAX)
		return NULL;
	series = xrealloc(series, (nseries + 1) * sizeof(*series));
	memmove(&series[i + 1], &series[i], (nseries - i) * sizeof(*series));
	series[i] = (struct series){ route, status, 0 };
	nseries++;
	return &series[i];
}

void metrics_http_observe(const char *route, int status, double seconds)
{
	struct route_stat *r;
	struct series *s;
	size_t i, b;

	if (seconds < 0)
		seconds = 0;
	pthread_mutex_lock(&lock);
	i = route_index(route);
	s = i == SIZE_MAX ? NULL : series_get(i, status);
	if (s == NULL) {
		dropped++;
	} else {
		s->count++;
		r = &routes[i];
		for (b = 0; b < METRICS_NBUCKETS; b++)
			if (seconds <= metrics_buckets[b])
				break;
		if (b < METRICS_NBUCKETS)
			r->bucket[b]++;
		r->count++;
		r->sum_us += (uint64_t)(seconds * 1e6 + 0.5);
	}
	pthread_mutex_unlock(&lock);
}

void metrics_http_in_flight(int delta)
{
	atomic_fetch_add(&in_flight, delta);
}

void metrics_http_workers(int n)
{
	atomic_store(&workers, n);
}

void metrics_db_error(bool unavailable)
{
	atomic_fetch_add(unavailable ? &db_unavailable : &db_other, 1);
}

static void render_histogram(struct strbuf *out)
{
	const char *name = "mxfeed_http_request_duration_seconds";
	struct strbuf n = STRBUF_INIT;
	char sum[32];
	size_t i, b;

	metrics_family(out, name, "histogram",
		       "Time to answer a request, by route.");
	for (i = 0; i < nroutes; i++) {
		const struct route_stat *r = &routes[i];
		uint64_t cum = 0;

		for (b = 0; b < METRICS_NBUCKETS; b++) {
			cum += r->bucket[b];
			sbuf_reset(&n);
			sbuf_addf(&n, "%s_bucket", name);
			metrics_sample_u64(
				out, n.buf,
				(const char *const[]){ "route", r->name, "le",
						       bucket_text[b], NULL },
				cum);
		}
		sbuf_reset(&n);
		sbuf_addf(&n, "%s_bucket", name);
		metrics_sample_u64(out, n.buf,
				   (const char *const[]){ "route", r->name,
							  "le", "+Inf", NULL },
				   r->count);
		sbuf_reset(&n);
		sbuf_addf(&n, "%s_sum", name);
		(void)snprintf(sum, sizeof(sum), "%" PRIu64 ".%06" PRIu64,
			       r->sum_us / 1000000, r->sum_us % 1000000);
		metrics_sample(out, n.buf,
			       (const char *const[]){ "route", r->name, NULL },
			       sum);
		sbuf_reset(&n);
		sbuf_addf(&n, "%s_count", name);
		metrics_sample_u64(
			out, n.buf,
			(const char *const[]){ "route", r->name, NULL },
			r->count);
	}
	sbuf_release(&n);
}

void metrics_http_render(struct strbuf *out)
{
	char st[16], v[16];
	size_t i;

	pthread_mutex_lock(&lock);
	metrics_family(out, "mxfeed_http_requests_total", "counter",
		       "HTTP requests answered, by route and status.");
	for (i = 0; i < nseries; i++) {
		(void)snprintf(st, sizeof(st), "%d", series[i].status);
		metrics_sample_u64(
			out, "mxfeed_http_requests_total",
			(const char *const[]){ "route",
					       routes[series[i].route].name,
					       "status", st, NULL },
			series[i].count);
	}
	render_histogram(out);
	metrics_family(out, "mxfeed_http_series_dropped_total", "counter",
		       "Requests not counted by route: too many series.");
	metrics_sample_u64(out, "mxfeed_http_series_dropped_total", NULL,
			   dropped);
	pthread_mutex_unlock(&lock);
	metrics_family(out, "mxfeed_db_errors_total", "counter",
		       "Database failures, by kind (unavailable: connection "
		       "lost or a temporary condition).");
	metrics_sample_u64(out, "mxfeed_db_errors_total",
			   (const char *const[]){ "kind", "unavailable", NULL },
			   (uint64_t)atomic_load(&db_unavailable));
	metrics_sample_u64(out, "mxfeed_db_errors_total",
			   (const char *const[]){ "kind", "error", NULL },
			   (uint64_t)atomic_load(&db_other));
	metrics_family(out, "mxfeed_http_requests_in_flight", "gauge",
		       "Requests being answered now.");
	(void)snprintf(v, sizeof(v), "%d", atomic_load(&in_flight));
	metrics_sample(out, "mxfeed_http_requests_in_flight", NULL, v);
	metrics_family(out, "mxfeed_fcgi_workers", "gauge",
		       "Worker threads, each with one database connection.");
	(void)snprintf(v, sizeof(v), "%d", atomic_load(&workers));
	metrics_sample(out, "mxfeed_fcgi_workers", NULL, v);
}

bool metrics_client_allowed(const struct cidr_list *allow,
			    const char *remote_addr)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0,    0,
						  0, 0, 0, 0, 0xff, 0xff };
	struct error e = ERROR_INIT;
	struct ip_addr ip;

	if (remote_addr == NULL ||
	    ip_parse(remote_addr, &ip, "REMOTE_ADDR", &e) < 0) {
		error_release(&e);
		return false;
	}
	if (ip.family == AF_INET6 && memcmp(ip.addr, mapped, 12) == 0) {
		ip.family = AF_INET;
		memmove(ip.addr, ip.addr + 12, 4);
		memset(ip.addr + 4, 0, 12);
		(void)inet_ntop(AF_INET, ip.addr, ip.text, sizeof(ip.text));
	}
	return cidr_list_contains(allow, &ip);
}

void metrics_reset(void)
{
	size_t i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nroutes; i++)
		free(routes[i].name);
	free(routes);
	free(series);
	routes = NULL;
	series = NULL;
	nroutes = nseries = 0;
	dropped = 0;
	pthread_mutex_unlock(&lock);
	atomic_store(&db_unavailable, 0);
	atomic_store(&db_other, 0);
	atomic_store(&in_flight, 0);
	atomic_store(&workers, 0);
}
