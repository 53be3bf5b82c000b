/* test_timefmt - lib/util/timefmt: RFC 3339 UTC times both ways */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "util/timefmt.h"

static void times(void **state)
{
	static const char *const bad[] = {
		"2026-02-29",
		"2026-13-01",
		"2026-00-10",
		"2026-01-32",
		"2026-01-01T24:00:00Z",
		"2026-01-01T12:00:00",
		"26-01-01",
		"2026-1-1",
		"2026-01-01 12:00:00Z",
		"2026-01-01T12:60:00Z",
		"1969-12-31",
		"2026-01-01Z",
		"",
		"tomorrow",
	};
	struct error err = ERROR_INIT;
	char buf[32];
	int64_t t;
	size_t i;

	(void)state;
	assert_int_equal(time_parse_utc("2028-02-29", &t, "t", &err), 0);
	time_format_utc(t, buf, sizeof(buf));
	assert_string_equal(buf, "2028-02-29T00:00:00Z");
	assert_int_equal(time_parse_utc("2000-02-29T23:59:59Z", &t, "t", &err),
			 0);
	time_format_utc(t, buf, sizeof(buf));
	assert_string_equal(buf, "2000-02-29T23:59:59Z");
	assert_int_equal(time_parse_utc("1970-01-01", &t, "t", &err), 0);
	assert_int_equal(t, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (time_parse_utc(bad[i], &t, "t", &err) != -1)
			fail_msg("accepted time '%s'", bad[i]);
		error_release(&err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(times),
	};

	return cmocka_run_group_tests_name("timefmt", tests, NULL, NULL);
}
