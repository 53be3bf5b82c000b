/* test_probelimit - probes bounded per principal and per process */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "probelimit.h"

static char msg[128];
static long wait_s;

static int take(const char *key, int64_t now)
{
	msg[0] = '\0';
	wait_s = -1;
	return probelimit_take(key, now, 10, &wait_s, msg, sizeof(msg));
}

static void concurrency(void **state)
{
	int a, b;

	(void)state;
	probelimit_reset();
	probelimit_setup(4); /* half the workers: two at once */
	a = take("token:1", 100);
	assert_true(a >= 0);
	/* one at a time per principal */
	assert_int_equal(take("token:1", 100), -1);
	assert_int_equal(wait_s, 10);
	assert_string_equal(msg, "this token has a probe in progress; one at "
				 "a time; nothing was done");
	/* a staff login is another principal than a token */
	b = take("login:-1", 100);
	assert_true(b >= 0 && b != a);
	/* both slots taken: a third principal waits */
	assert_int_equal(take("login:-2", 100), -1);
	assert_non_null(strstr(msg, "too many probes in progress"));
	assert_int_equal(wait_s, 10);
	probelimit_give(a);
	assert_true((a = take("login:-2", 100)) >= 0);
	probelimit_give(a);
	probelimit_give(b);
	probelimit_setup(1); /* at least one */
	assert_true((a = take("token:1", 100)) >= 0);
	assert_int_equal(take("token:2", 100), -1);
	probelimit_give(a);
	probelimit_give(-1); /* nothing */
	probelimit_give(PROBELIMIT_MAX);
}

static void rate(void **state)
{
	int i, s;

	(void)state;
	probelimit_reset();
	probelimit_setup(8);
	/* the burst: PROBELIMIT_BURST at one instant, then refused */
	for (i = 0; i < PROBELIMIT_BURST; i++) {
		s = take("login:-3", 1000);
		assert_true(s >= 0);
		probelimit_give(s);
	}
	assert_int_equal(take("login:-3", 1000), -1);
	assert_int_equal(wait_s, PROBELIMIT_EVERY);
	assert_string_equal(msg, "this login used its 60 probes; one "
				 "more every 1 seconds; nothing was done");
	/* others are not charged for it */
	assert_true((s = take("login:-4", 1000)) >= 0);
	probelimit_give(s);
	/* one more per PROBELIMIT_EVERY seconds, not two */
	assert_true((s = take("login:-3", 1000 + PROBELIMIT_EVERY)) >= 0);
	probelimit_give(s);
	assert_int_equal(take("login:-3", 1000 + PROBELIMIT_EVERY), -1);
	/* a long pause gives the whole burst back */
	for (i = 0; i < PROBELIMIT_BURST; i++) {
		s = take("login:-3", 5000);
		assert_true(s >= 0);
		probelimit_give(s);
	}
	assert_int_equal(take("login:-3", 5000), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(concurrency),
		cmocka_unit_test(rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
