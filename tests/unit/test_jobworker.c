/* test_jobworker - lib/jobworker: the worker's name, and --once with
 * the database away failing at once instead of retrying */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "jobworker.h"

static void name(void **state)
{
	char buf[16];

	(void)state;
	jobworker_name("relay1", 4242, buf, sizeof(buf));
	assert_string_equal(buf, "relay1:4242");
	/* too long: cut, still a string */
	jobworker_name("a-very-long-relay-name", 1, buf, sizeof(buf));
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
}

static void once_database_away(void **state)
{
	struct jobworker_opts o = { true, JOBWORKER_LEASE_S,
				    JOBWORKER_RETRY_S };
	struct error err = ERROR_INIT;
	struct conf conf;

	(void)state;
	conf_defaults(&conf);
	free(conf.db_conninfo);
	conf.db_conninfo = strdup("host=/nonexistent/mxfeed dbname=x user=x "
				  "connect_timeout=1");
	assert_int_equal(jobworker_run(&conf, &o, &err), -1);
	assert_int_equal(err.code, ERR_TEMPFAIL);
	assert_int_equal(error_exit_status(err.code), 5);
	error_release(&err);
	conf_release(&conf);
}

static void bounds(void **state)
{
	(void)state;
	/* the defaults lie within the bounds the options are held to */
	assert_true(JOBWORKER_LEASE_MIN_S <= JOBWORKER_LEASE_S);
	assert_true(JOBWORKER_LEASE_S <= JOBWORKER_LEASE_MAX_S);
	assert_true(JOBWORKER_RETRY_MIN_S <= JOBWORKER_RETRY_S);
	assert_true(JOBWORKER_RETRY_S <= JOBWORKER_RETRY_MAX_S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(name),
		cmocka_unit_test(once_database_away),
		cmocka_unit_test(bounds),
	};

	return cmocka_run_group_tests_name("jobworker", tests, NULL, NULL);
}
