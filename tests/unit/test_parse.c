/* test_parse - booleans, decimal integers, UTF-8 and word tables */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/parse.h"

static void booleans(void **state)
{
	static const char *const bad[] = { "",	 "yes",	 "no",	"1",   "0",
					   "On", "TRUE", " on", "on ", "onn" };
	struct error err = ERROR_INIT;
	bool b;
	size_t i;

	(void)state;
	assert_int_equal(parse_bool("on", &b, "x", &err), 0);
	assert_true(b);
	assert_int_equal(parse_bool("true", &b, "x", &err), 0);
	assert_true(b);
	assert_int_equal(parse_bool("off", &b, "x", &err), 0);
	assert_false(b);
	assert_int_equal(parse_bool("false", &b, "x", &err), 0);
	assert_false(b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_bool(bad[i], &b, "x", &err), -1);
		assert_string_equal(err.field, "x");
		error_release(&err);
	}
}

static void integers(void **state)
{
	static const char *const bad[] = {
		"",
		"-",
		"+1",
		" 1",
		"1 ",
		"01",
		"-01",
		"0x10",
		"1e3",
		"1.0",
		"1,000",
		"١",
		"9223372036854775808",
		"11",
		"-11",
		"--1",
		"-0", /* found by fuzz_number: one spelling per number */
		"-00",
	};
	struct error err = ERROR_INIT;
	long v;
	size_t i;

	(void)state;
	assert_int_equal(parse_long("0", -10, 10, &v, "n", &err), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_long("-10", -10, 10, &v, "n", &err), 0);
	assert_int_equal(v, -10);
	assert_int_equal(parse_long("10", -10, 10, &v, "n", &err), 0);
	assert_int_equal(v, 10);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_long(bad[i], -10, 10, &v, "n", &err) != -1)
			fail_msg("accepted '%s'", bad[i]);
		assert_non_null(strstr(error_msg(&err), "from -10 to 10"));
		error_release(&err);
	}
}

static void utf8(void **state)
{
	(void)state;
	assert_true(utf8_printable("plain [SPAM] ", 13));
	assert_true(utf8_printable("b\xc3\xbc", 3));
	assert_true(utf8_printable("\xe2\x82\xac", 3));
	assert_true(utf8_printable("\xf0\x9f\x93\xa7", 4));
	assert_true(utf8_printable("", 0));
	assert_false(utf8_printable("a\nb", 3));
	assert_false(utf8_printable("a\x7f", 2));
	assert_false(utf8_printable("\xc3", 1));
	assert_false(utf8_printable("\xc0\xaf", 2));	     /* overlong */
	assert_false(utf8_printable("\xe0\x80\xaf", 3));     /* overlong */
	assert_false(utf8_printable("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(utf8_printable("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(utf8_printable("\xc2\x85", 2));	     /* C1 */
	assert_false(utf8_printable("\xff", 1));
	assert_false(utf8_printable("a\0b", 3));
}

static void words(void **state)
{
	static const char *const names[] = { "pop3", "feed", "backup", NULL };

	(void)state;
	assert_int_equal(parse_enum("feed", names), 1);
	assert_int_equal(parse_enum("Feed", names), -1);
	assert_int_equal(parse_enum("", names), -1);
	assert_int_equal(parse_enum(NULL, names), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(booleans),
		cmocka_unit_test(integers),
		cmocka_unit_test(utf8),
		cmocka_unit_test(words),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
