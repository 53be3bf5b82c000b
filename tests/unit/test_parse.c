/* test_parse - booleans, decimal integers, stored integers, UTF-8 and
 * word tables */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
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

/* parse_i64: PostgreSQL's spelling of an integer, to its limits */
static void cells(void **state)
{
	static const struct {
		const char *in;
		int64_t v;
	} good[] = {
		{ "0", 0 },
		{ "7", 7 },
		{ "-7", -7 },
		{ "007", 7 },
		{ "52428800", 52428800 },
		{ "9223372036854775807", INT64_MAX },
		{ "-9223372036854775808", INT64_MIN },
		{ "-9223372036854775807", INT64_MIN + 1 },
	};
	static const char *const bad[] = {
		"",
		" 1",
		"1 ",
		"+1",
		"-",
		"--1",
		"0x1",
		"1e3",
		"1.5",
		"12a",
		"a12",
		"9223372036854775808",
		"-9223372036854775809",
		"99999999999999999999",
	};
	char buf[32];
	int64_t v;
	uint64_t x = 88172645463325252ULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!parse_i64(good[i].in, &v))
			fail_msg("refused '%s'", good[i].in);
		assert_true(v == good[i].v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		if (parse_i64(bad[i], &v))
			fail_msg("accepted '%s'", bad[i]);
		assert_true(v == 42); /* untouched */
	}
	for (i = 0; i < 100000; i++) { /* what strtoll reads, both signs */
		long long n;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = (long long)((x >> (x % 64)) >> 1);
		(void)snprintf(buf, sizeof(buf), "%lld", x & 1 ? -n : n);
		assert_true(parse_i64(buf, &v));
		assert_true(v == strtoll(buf, NULL, 10));
	}
}

/* Every byte value at every place of a 24-byte string (the first 16
 * are read a word at a time, the rest a byte at a time): one byte
 * outside printable ASCII spoils it, and so alone does any byte >=
 * 0x80 (never UTF-8 alone); a 2- and 3-byte character fits anywhere. */
static void utf8_every_place(void **state)
{
	char buf[24];
	size_t k;
	int b;

	(void)state;
	for (k = 0; k < sizeof(buf); k++) {
		for (b = 0; b < 256; b++) {
			memset(buf, 'a', sizeof(buf));
			buf[k] = (char)b;
			assert_int_equal(utf8_printable(buf, sizeof(buf)),
					 b >= 0x20 && b <= 0x7e);
		}
		if (k + 2 <= sizeof(buf)) {
			memset(buf, 'a', sizeof(buf));
			memcpy(buf + k, "\xc3\xa9", 2);
			assert_true(utf8_printable(buf, sizeof(buf)));
		}
		if (k + 3 <= sizeof(buf)) {
			memset(buf, 'a', sizeof(buf));
			memcpy(buf + k, "\xe2\x82\xac", 3);
			assert_true(utf8_printable(buf, sizeof(buf)));
			buf[k + 2] = 'x'; /* cut short */
			assert_false(utf8_printable(buf, sizeof(buf)));
		}
	}
	/* the length counts, not a NUL: the word never reads past it */
	memset(buf, 'a', sizeof(buf));
	buf[9] = '\n';
	assert_true(utf8_printable(buf, 9));
	assert_false(utf8_printable(buf, 10));
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
		cmocka_unit_test(booleans), cmocka_unit_test(integers),
		cmocka_unit_test(utf8),	    cmocka_unit_test(utf8_every_place),
		cmocka_unit_test(words),    cmocka_unit_test(cells),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
