/* test_timefmt - lib/util/timefmt: RFC 3339 UTC times both ways */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

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

/* The spelling is strftime's "%Y-%m-%dT%H:%M:%SZ" of gmtime_r() for
 * any time, "" where there is none (the fast path of years 1000 to
 * 9999 included). */
static void like_strftime(void **state)
{
	uint64_t x = 0x2545f4914f6cdd1dULL;
	char got[64], want[64];
	int i;

	(void)state;
	for (i = 0; i < 200000; i++) {
		time_t tt;
		struct tm tm;
		int64_t t;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		switch (i % 4) {
		case 0: /* 1970..9999 */
			t = (int64_t)(x % 253402300800ULL);
			break;
		case 1: /* around the edges of four-digit years */
			t = (int64_t)(x % 4000000000ULL) - 32000000000LL +
			    (x & 1 ? 0 : 285000000000LL);
			break;
		case 2: /* before 1970 */
			t = -(int64_t)(x % 62000000000ULL);
			break;
		default: /* anything, gmtime_r may refuse */
			t = (int64_t)x;
		}
		tt = (time_t)t;
		if (gmtime_r(&tt, &tm) == NULL ||
		    strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm) ==
			    0)
			want[0] = '\0';
		time_format_utc(t, got, sizeof(got));
		if (strcmp(got, want) != 0)
			fail_msg("%lld: '%s', strftime '%s'", (long long)t, got,
				 want);
	}
	time_format_utc(0, got, 21); /* the documented least size */
	assert_string_equal(got, "1970-01-01T00:00:00Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(times),
		cmocka_unit_test(like_strftime),
	};

	return cmocka_run_group_tests_name("timefmt", tests, NULL, NULL);
}
