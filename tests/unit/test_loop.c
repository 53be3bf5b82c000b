/* test_loop - lib/util/loop: the retry backoff, and signals that set
 * the stop and re-read flags and end a pause */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>

#include "util/loop.h"

static void backoff(void **state)
{
	static const int want[] = { 1, 2, 4, 8, 16, 30, 30, 30 };
	int s = 1;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(s, want[i]);
		s = loop_backoff(s);
	}
	/* a delay never grows past the cap, wherever it starts */
	assert_int_equal(loop_backoff(15), 30);
	assert_int_equal(loop_backoff(29), LOOP_BACKOFF_MAX_S);
	assert_int_equal(loop_backoff(LOOP_BACKOFF_MAX_S), LOOP_BACKOFF_MAX_S);
}

static void signals(void **state)
{
	(void)state;
	loop_signals(true);
	assert_false(loop_stopping());
	assert_false(loop_reread_take());
	/* a peer gone away is an error return, not the end of us */
	assert_int_equal(raise(SIGPIPE), 0);
	assert_int_equal(raise(SIGHUP), 0);
	assert_false(loop_stopping());
	assert_true(loop_reread_take());
	assert_false(loop_reread_take()); /* taken: cleared */
	assert_int_equal(raise(SIGTERM), 0);
	assert_true(loop_stopping());
	assert_false(loop_reread_take());
	/* with the stop flag up a pause of an hour ends at once (else
	 * this test would not end) */
	loop_pause(3600);
	assert_true(loop_stopping());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backoff),
		cmocka_unit_test(signals),
	};

	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
