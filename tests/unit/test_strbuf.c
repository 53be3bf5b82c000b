/*
 * test_strbuf - sbuf_addesc(), the escaping of client text for logs,
 * against a byte-at-a-time reference of its documented spelling;
 * sbuf_addint() against printf's "%lld"
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "util/strbuf.h"

/* The spelling, one byte at a time: \n \r \t \\ \" by name, other
 * bytes outside printable ASCII as \xHH, "..." when max cut s. */
static void reference(struct strbuf *sb, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		char hex[8];

		if (c == '\n')
			sbuf_addstr(sb, "\\n");
		else if (c == '\r')
			sbuf_addstr(sb, "\\r");
		else if (c == '\t')
			sbuf_addstr(sb, "\\t");
		else if (c == '\\')
			sbuf_addstr(sb, "\\\\");
		else if (c == '"')
			sbuf_addstr(sb, "\\\"");
		else if (c < 0x20 || c >= 0x7f) {
			(void)snprintf(hex, sizeof(hex), "\\x%02x", c);
			sbuf_addstr(sb, hex);
		} else
			sbuf_addch(sb, (char)c);
	}
	if (s[i] != '\0')
		sbuf_addstr(sb, "...");
}

static void fixed(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	sbuf_addesc(&sb, "GET /a\"b\\c\nd\x01\xc3\xa9", 100);
	assert_string_equal(sb.buf, "GET /a\\\"b\\\\c\\nd\\x01\\xc3\\xa9");
	sbuf_reset(&sb);
	sbuf_addesc(&sb, "abcdef", 3);
	assert_string_equal(sb.buf, "abc...");
	sbuf_reset(&sb);
	sbuf_addesc(&sb, "abc", 3);
	assert_string_equal(sb.buf, "abc");
	sbuf_reset(&sb);
	sbuf_addesc(&sb, "", 3);
	assert_string_equal(sb.buf, "");
	sbuf_release(&sb);
}

static void random_text(void **state)
{
	uint64_t x = 88172645463325252ULL;
	char text[64];
	int i;

	(void)state;
	for (i = 0; i < 100000; i++) {
		struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
		size_t n, k, max;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = x % sizeof(text);
		for (k = 0; k < n; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* mostly printable, some of everything else */
			text[k] = (char)(x % 4 ? 0x20 + (x >> 8) % 0x5f
					       : 1 + (x >> 8) % 255);
		}
		text[n] = '\0';
		max = (x >> 20) % (sizeof(text) + 1);
		sbuf_addesc(&a, text, max);
		reference(&b, text, max);
		assert_string_equal(a.buf, b.buf);
		sbuf_release(&a);
		sbuf_release(&b);
	}
}

/* v through sbuf_addint, after some text, is what "%lld" writes */
static void int_is_printf(long long v)
{
	struct strbuf sb = STRBUF_INIT;
	char want[40];

	sbuf_addstr(&sb, "x=");
	sbuf_addint(&sb, v);
	(void)snprintf(want, sizeof(want), "x=%lld", v);
	assert_string_equal(sb.buf, want);
	assert_int_equal(sb.len, strlen(want));
	sbuf_release(&sb);
}

static void integers(void **state)
{
	static const long long fixed_v[] = {
		0,	   1,	       -1,
		9,	   10,	       -10,
		99,	   100,	       1048576,
		52428800,  2147483647, -2147483648LL,
		LLONG_MAX, LLONG_MIN,  LLONG_MIN + 1,
	};
	uint64_t x = 88172645463325252ULL;
	long long v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(fixed_v) / sizeof(fixed_v[0]); i++)
		int_is_printf(fixed_v[i]);
	for (i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* every magnitude up to LLONG_MAX, both signs */
		v = (long long)((x >> (x % 64)) >> 1);
		int_is_printf(x & 1 ? -v : v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fixed),
		cmocka_unit_test(random_text),
		cmocka_unit_test(integers),
	};

	return cmocka_run_group_tests_name("strbuf", tests, NULL, NULL);
}
