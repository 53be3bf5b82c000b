/* test_queue - when a domain's queued message expires (queue_expiry) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "queue.h"

#define HOUR 3600
#define DAY  86400

static void lifetime(void **state)
{
	const int64_t t0 = 1800000000; /* an arrival time */

	(void)state;
	/* queue.days from arrival; one hour either side is not it */
	assert_int_equal(queue_expiry(t0, 2, 0), t0 + 2 * DAY);
	assert_true(queue_expiry(t0, 2, 0) > t0 + 2 * DAY - HOUR);
	assert_true(queue_expiry(t0, 2, 0) < t0 + 2 * DAY + HOUR);
	assert_int_equal(queue_expiry(t0, 1, 0), t0 + DAY);
	assert_int_equal(queue_expiry(t0, 31, 0), t0 + 31 * DAY);
}

static void extension(void **state)
{
	const int64_t t0 = 1800000000;

	(void)state;
	/* a later extension wins */
	assert_int_equal(queue_expiry(t0, 2, t0 + 5 * DAY), t0 + 5 * DAY);
	assert_int_equal(queue_expiry(t0, 2, t0 + 2 * DAY + HOUR),
			 t0 + 2 * DAY + HOUR);
	/* an earlier one (or one that has passed) does not shorten it */
	assert_int_equal(queue_expiry(t0, 2, t0 + 2 * DAY - HOUR),
			 t0 + 2 * DAY);
	assert_int_equal(queue_expiry(t0, 2, t0 - DAY), t0 + 2 * DAY);
	/* never past Postfix's ceiling, 31 days after arrival */
	assert_int_equal(queue_expiry(t0, 2, t0 + 40 * DAY),
			 t0 + QUEUE_LIFETIME_MAX_DAYS * (int64_t)DAY);
	assert_int_equal(queue_expiry(t0, 2, t0 + 31 * DAY + HOUR),
			 t0 + 31 * DAY);
	assert_int_equal(queue_expiry(t0, 2, t0 + 31 * DAY - HOUR),
			 t0 + 31 * DAY - HOUR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lifetime),
		cmocka_unit_test(extension),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
