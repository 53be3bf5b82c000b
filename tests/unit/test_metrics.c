/* test_metrics - Prometheus text output, counters, who may scrape */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "metrics.h"

static void escaping(void **state)
{
	struct strbuf out = STRBUF_INIT;

	(void)state;
	metrics_family(&out, "x_total", "counter", "Things.");
	metrics_sample(
		&out, "x_total",
		(const char *const[]){ "a", "q\"b\\c\nd", "e", "", NULL }, "7");
	metrics_sample_u64(&out, "x_total", NULL, 18446744073709551615u);
	assert_string_equal(out.buf, "# HELP x_total Things.\n"
				     "# TYPE x_total counter\n"
				     "x_total{a=\"q\\\"b\\\\c\\nd\",e=\"\"} 7\n"
				     "x_total 18446744073709551615\n");
	sbuf_release(&out);
}

static const char expected[] =
	"# HELP mxfeed_http_requests_total HTTP requests answered, by "
	"route and status.\n"
	"# TYPE mxfeed_http_requests_total counter\n"
	"mxfeed_http_requests_total{route=\"/api/v1/domains\","
	"status=\"200\"} 2\n"
	"mxfeed_http_requests_total{route=\"/api/v1/domains\","
	"status=\"503\"} 1\n"
	"mxfeed_http_requests_total{route=\"/healthz\",status=\"200\"} 1\n"
	"# HELP mxfeed_http_request_duration_seconds Time to answer a "
	"request, by route.\n"
	"# TYPE mxfeed_http_request_duration_seconds histogram\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/api/v1/"
	"domains\",le=\"0.005\"} 1\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/api/v1/"
	"domains\",le=\"0.01\"} 1\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/api/v1/"
	"domains\",le=\"0.025\"} 1\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/api/v1/"
	"domains\",le=\"0.05\"} 1\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/api/v1/"
	"domains\",le=\"0.1\"} 1\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/api/v1/"
	"domains\",le=\"0.25\"} 2\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/api/v1/"
	"domains\",le=\"0.5\"} 2\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/api/v1/"
	"domains\",le=\"1\"} 2\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/api/v1/"
	"domains\",le=\"2.5\"} 2\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/api/v1/"
	"domains\",le=\"5\"} 2\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/api/v1/"
	"domains\",le=\"10\"} 2\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/api/v1/"
	"domains\",le=\"+Inf\"} 3\n"
	"mxfeed_http_request_duration_seconds_sum{route=\"/api/v1/"
	"domains\"} 30.201000\n"
	"mxfeed_http_request_duration_seconds_count{route=\"/api/v1/"
	"domains\"} 3\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/healthz\","
	"le=\"0.005\"} 0\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/healthz\","
	"le=\"0.01\"} 1\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/healthz\","
	"le=\"0.025\"} 1\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/healthz\","
	"le=\"0.05\"} 1\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/healthz\","
	"le=\"0.1\"} 1\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/healthz\","
	"le=\"0.25\"} 1\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/healthz\","
	"le=\"0.5\"} 1\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/healthz\","
	"le=\"1\"} 1\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/healthz\","
	"le=\"2.5\"} 1\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/healthz\","
	"le=\"5\"} 1\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/healthz\","
	"le=\"10\"} 1\n"
	"mxfeed_http_request_duration_seconds_bucket{route=\"/healthz\","
	"le=\"+Inf\"} 1\n"
	"mxfeed_http_request_duration_seconds_sum{route=\"/healthz\"} "
	"0.010000\n"
	"mxfeed_http_request_duration_seconds_count{route=\"/healthz\"} 1\n"
	"# HELP mxfeed_http_series_dropped_total Requests not counted by "
	"route: too many series.\n"
	"# TYPE mxfeed_http_series_dropped_total counter\n"
	"mxfeed_http_series_dropped_total 0\n"
	"# HELP mxfeed_db_errors_total Database failures, by kind "
	"(unavailable: connection lost or a temporary condition).\n"
	"# TYPE mxfeed_db_errors_total counter\n"
	"mxfeed_db_errors_total{kind=\"unavailable\"} 2\n"
	"mxfeed_db_errors_total{kind=\"error\"} 1\n"
	"# HELP mxfeed_http_requests_in_flight Requests being answered "
	"now.\n"
	"# TYPE mxfeed_http_requests_in_flight gauge\n"
	"mxfeed_http_requests_in_flight 1\n"
	"# HELP mxfeed_fcgi_workers Worker threads, each with one database "
	"connection.\n"
	"# TYPE mxfeed_fcgi_workers gauge\n"
	"mxfeed_fcgi_workers 4\n";

static void render(void **state)
{
	struct strbuf out = STRBUF_INIT;

	(void)state;
	metrics_reset();
	/* out of order on purpose: the output is sorted */
	metrics_http_observe("/healthz", 200, 0.01);	    /* le 0.01 is <= */
	metrics_http_observe("/api/v1/domains", 503, 30.0); /* past 10 */
	metrics_http_observe("/api/v1/domains", 200, 0.001);
	metrics_http_observe("/api/v1/domains", 200, 0.2);
	metrics_db_error(true);
	metrics_db_error(true);
	metrics_db_error(false);
	metrics_http_in_flight(1);
	metrics_http_in_flight(1);
	metrics_http_in_flight(-1);
	metrics_http_workers(4);
	metrics_http_render(&out);
	assert_string_equal(out.buf, expected);
	sbuf_release(&out);
	metrics_reset();
}

static void series_cap(void **state)
{
	struct strbuf out = STRBUF_INIT;
	char route[32];
	int i;

	(void)state;
	metrics_reset();
	for (i = 0; i < METRICS_SERIES_MAX + 3; i++) {
		(void)snprintf(route, sizeof(route), "/r%05d", i);
		metrics_http_observe(route, 200, 0);
	}
	metrics_http_render(&out);
	assert_non_null(
		strstr(out.buf, "mxfeed_http_series_dropped_total 3\n"));
	assert_null(strstr(out.buf, "route=\"/r01024\""));
	assert_non_null(strstr(out.buf, "route=\"/r01023\",status=\"200\"} 1"));
	sbuf_release(&out);
	metrics_reset();
}

static void *hammer(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 10000; i++)
		metrics_http_observe(i % 2 ? "/a" : "/b", 200 + i % 3, 0.001);
	return NULL;
}

static void threads(void **state)
{
	struct strbuf out = STRBUF_INIT;
	pthread_t t[4];
	int i;

	(void)state;
	metrics_reset();
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	metrics_http_render(&out);
	/* 4 x 10000 requests, 20000 per route */
	assert_non_null(strstr(out.buf, "_count{route=\"/a\"} 20000\n"));
	assert_non_null(strstr(out.buf, "_count{route=\"/b\"} 20000\n"));
	sbuf_release(&out);
	metrics_reset();
}

static void allowed(void **state)
{
	static const char *const nets[] = { "127.0.0.1/32", "::1/128",
					    "192.0.2.0/24" };
	struct cidr_list l = { 0 };
	struct error err = ERROR_INIT;
	struct cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(cidr_parse(nets[i], &c, "x", &err), 0);
		cidr_list_add(&l, &c);
	}
	assert_true(metrics_client_allowed(&l, "127.0.0.1"));
	assert_true(metrics_client_allowed(&l, "::1"));
	assert_true(metrics_client_allowed(&l, "192.0.2.77"));
	assert_true(metrics_client_allowed(&l, "::ffff:127.0.0.1"));
	assert_false(metrics_client_allowed(&l, "127.0.0.2"));
	assert_false(metrics_client_allowed(&l, "::ffff:127.0.0.2"));
	assert_false(metrics_client_allowed(&l, "198.51.100.1"));
	assert_false(metrics_client_allowed(&l, NULL));
	assert_false(metrics_client_allowed(&l, ""));
	assert_false(metrics_client_allowed(&l, "127.1"));
	assert_false(metrics_client_allowed(&l, "localhost"));
	cidr_list_release(&l);
	/* an empty list lets nobody in */
	assert_false(metrics_client_allowed(&l, "127.0.0.1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escaping),   cmocka_unit_test(render),
		cmocka_unit_test(series_cap), cmocka_unit_test(threads),
		cmocka_unit_test(allowed),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
