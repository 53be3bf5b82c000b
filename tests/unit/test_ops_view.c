/*
 * test_ops_view - the rules the listings apply before any query: a
 * mode is one of the three, a match text printable UTF-8, a domain a
 * valid name.  No store
 * is open: a refused input must never reach one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ops_view.h"
#include "switchplan.h"
#include "unit_conf.h"

static struct conf conf;
static struct ops_ctx ox;

static int setup(void **state)
{
	(void)state;
	if (unit_conf_setup(&conf) < 0)
		return -1;
	ox.store = NULL; /* reaching the store would crash the test */
	ox.conf = &conf;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unit_conf_release(&conf);
	return 0;
}

static void list_refuses_bad_mode(void **state)
{
	static const char *const bad[] = { "",	    "FEED",  "pop",
					   "feed ", "relay", "feed\n" };
	struct error err = ERROR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(ops_domain_list(&ox, bad[i], NULL, &err));
		assert_int_equal(err.code, ERR_INVALID);
		assert_string_equal(err.field, "mode");
		assert_string_equal(error_msg(&err),
				    "mode must be pop3, feed or backup");
		error_release(&err);
	}
}

static void list_refuses_unprintable_match(void **state)
{
	static const char *const bad[] = { "a\nb", "\x1b[2J", "\xff",
					   "tab\there" };
	struct error err = ERROR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(ops_domain_list(&ox, "feed", bad[i], &err));
		assert_int_equal(err.code, ERR_INVALID);
		assert_string_equal(err.field, "match");
		error_release(&err);
	}
}

static void jobs_refuse_bad_name(void **state)
{
	struct error err = ERROR_INIT;

	(void)state;
	assert_null(ops_job_list(&ox, "not a domain", &err));
	assert_int_equal(err.code, ERR_INVALID);
	error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(list_refuses_bad_mode),
		cmocka_unit_test(list_refuses_unprintable_match),
		cmocka_unit_test(jobs_refuse_bad_name),
	};

	return cmocka_run_group_tests_name("ops_view", tests, setup, teardown);
}
