/* test_relaystat - the relay's metrics file: its exact text, and the
 * write through a temporary file renamed over the target */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relaystat.h"

static const char expected[] =
	"# HELP mxfeed_relay_info This relay's name (relay.name).\n"
	"# TYPE mxfeed_relay_info gauge\n"
	"mxfeed_relay_info{relay=\"r\\\"1\"} 1\n"
	"# HELP mxfeed_relay_applied_sequence The change sequence the relay "
	"serves.\n"
	"# TYPE mxfeed_relay_applied_sequence gauge\n"
	"mxfeed_relay_applied_sequence 40\n"
	"# HELP mxfeed_relay_database_sequence The newest change sequence in "
	"the database.\n"
	"# TYPE mxfeed_relay_database_sequence gauge\n"
	"mxfeed_relay_database_sequence 42\n"
	"# HELP mxfeed_relay_lag_changes Changes the relay is behind the "
	"database.\n"
	"# TYPE mxfeed_relay_lag_changes gauge\n"
	"mxfeed_relay_lag_changes 2\n"
	"# HELP mxfeed_relay_last_apply_seconds How long the last successful "
	"apply took.\n"
	"# TYPE mxfeed_relay_last_apply_seconds gauge\n"
	"mxfeed_relay_last_apply_seconds 0.250\n"
	"# HELP mxfeed_relay_last_apply_timestamp_seconds When the last "
	"successful apply ended (0: none since the start).\n"
	"# TYPE mxfeed_relay_last_apply_timestamp_seconds gauge\n"
	"mxfeed_relay_last_apply_timestamp_seconds 1700000000\n"
	"# HELP mxfeed_relay_applies_total Successful applies since mta-glue "
	"sync started.\n"
	"# TYPE mxfeed_relay_applies_total counter\n"
	"mxfeed_relay_applies_total 3\n"
	"# HELP mxfeed_relay_apply_failures_total Failed applies since "
	"mta-glue sync started.\n"
	"# TYPE mxfeed_relay_apply_failures_total counter\n"
	"mxfeed_relay_apply_failures_total 1\n"
	"# HELP mxfeed_relay_queue_up 1 if postqueue could be read, else 0.\n"
	"# TYPE mxfeed_relay_queue_up gauge\n"
	"mxfeed_relay_queue_up 1\n"
	"# HELP mxfeed_relay_queue_messages Messages in the relay's Postfix "
	"queue, by queue.\n"
	"# TYPE mxfeed_relay_queue_messages gauge\n"
	"mxfeed_relay_queue_messages{queue=\"active\"} 1\n"
	"mxfeed_relay_queue_messages{queue=\"deferred\"} 5\n"
	"mxfeed_relay_queue_messages{queue=\"hold\"} 2\n"
	"mxfeed_relay_queue_messages{queue=\"other\"} 0\n"
	"# HELP mxfeed_jobs Mailbox jobs, by state.\n"
	"# TYPE mxfeed_jobs gauge\n"
	"mxfeed_jobs{state=\"pending\"} 0\n"
	"mxfeed_jobs{state=\"running\"} 0\n"
	"mxfeed_jobs{state=\"done\"} 7\n"
	"mxfeed_jobs{state=\"failed\"} 1\n"
	"# HELP mxfeed_relay_scanner_up 1 if the scanner accepts a TCP "
	"connection, else 0.\n"
	"# TYPE mxfeed_relay_scanner_up gauge\n"
	"mxfeed_relay_scanner_up{scanner=\"rspamd\"} 1\n"
	"mxfeed_relay_scanner_up{scanner=\"clamd\"} 0\n"
	"# HELP mxfeed_relay_metrics_timestamp_seconds When this file was "
	"written.\n"
	"# TYPE mxfeed_relay_metrics_timestamp_seconds gauge\n"
	"mxfeed_relay_metrics_timestamp_seconds 1700000005\n";

static void render(void **state)
{
	struct relaystat st = { 0 };
	struct relaystat_sample x = { 0 };
	struct strbuf out = STRBUF_INIT;
	json_t *jobs = json_pack("[{s:s, s:i}, {s:s, s:i}]", "state", "done",
				 "count", 7, "state", "failed", "count", 1);

	(void)state;
	relaystat_applied(&st, 0.1);
	relaystat_applied(&st, 0.2);
	relaystat_applied(&st, 0.25);
	relaystat_failed(&st);
	st.last_apply_at = 1700000000;
	x.relay = "r\"1";
	x.applied = 40;
	x.want = 42;
	x.queue_ok = true;
	x.queue = (struct queue_counts){ 1, 5, 2, 0 };
	x.jobs = jobs;
	x.rspamd_up = true;
	x.now = 1700000005;
	relaystat_render(&out, &st, &x);
	assert_string_equal(out.buf, expected);

	/* unknown: no queue lines but queue_up 0, no job lines; never a
	 * negative lag */
	sbuf_reset(&out);
	x.queue_ok = false;
	x.jobs = NULL;
	x.applied = 50;
	relaystat_render(&out, &st, &x);
	assert_non_null(strstr(out.buf, "\nmxfeed_relay_queue_up 0\n"));
	assert_null(strstr(out.buf, "mxfeed_relay_queue_messages"));
	assert_null(strstr(out.buf, "mxfeed_jobs"));
	assert_non_null(strstr(out.buf, "\nmxfeed_relay_lag_changes 0\n"));
	sbuf_release(&out);
	json_decref(jobs);
}

static void write_file(void **state)
{
	char dir[] = "/tmp/mxfeed-relaystat-XXXXXX", path[64], buf[64];
	struct strbuf t = STRBUF_INIT;
	struct error err = ERROR_INIT;
	struct dirent *de;
	FILE *fp;
	DIR *d;
	int n = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/metrics.prom", dir);
	sbuf_addstr(&t, "a 1\n");
	assert_int_equal(relaystat_write(path, &t, &err), 0);
	sbuf_reset(&t);
	sbuf_addstr(&t, "b 2\n");
	assert_int_equal(relaystat_write(path, &t, &err), 0);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	assert_string_equal(buf, "b 2\n");
	/* no temporary file left beside it */
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	assert_int_equal(n, 1);
	unlink(path);
	/* a directory that is not there: an error naming the file */
	rmdir(dir);
	assert_int_equal(relaystat_write(path, &t, &err), -1);
	assert_non_null(strstr(error_msg(&err), "metrics.prom"));
	error_release(&err);
	sbuf_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(render),
		cmocka_unit_test(write_file),
	};

	return cmocka_run_group_tests_name("relaystat", tests, NULL, NULL);
}
