/* test_token - token format, hashing, comparison, names and roles */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "token.h"

static void tokens(void **state)
{
	char a[TOKEN_TEXT_MAX + 1], b[TOKEN_TEXT_MAX + 1];
	unsigned char ha[TOKEN_HASH_LEN], hb[TOKEN_HASH_LEN];
	unsigned char again[TOKEN_HASH_LEN];
	struct error err = ERROR_INIT;

	(void)state;
	assert_int_equal(token_new(a, ha, &err), 0);
	assert_int_equal(token_new(b, hb, &err), 0);
	assert_int_equal(strlen(a), 4 + 43);
	assert_int_equal(strncmp(a, "mxf_", 4), 0);
	assert_int_equal(strspn(a + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
				       "nopqrstuvwxyz0123456789-_"),
			 43);
	assert_string_not_equal(a, b);
	token_hash(a, again);
	assert_memory_equal(again, ha, TOKEN_HASH_LEN);
	assert_true(token_matches(a, ha));
	assert_false(token_matches(b, ha));
	a[10] ^= 1;
	assert_false(token_matches(a, ha));
	/* SHA-256("abc") */
	token_hash("abc", again);
	assert_int_equal(again[0], 0xba);
	assert_int_equal(again[31], 0xad);
}

/*
 * Many tokens: all different, and every character position varies
 * across them (a token from a fixed or poorly seeded source, or with
 * part of its bytes left zero, fails).  43 base64url characters carry
 * 256 bits: the last one only 4 of its 6, so at most 16 values.
 */
static void randomness(void **state)
{
	enum { N = 256, LEN = 43 };
	static char t[N][TOKEN_TEXT_MAX + 1];
	unsigned char h[TOKEN_HASH_LEN];
	struct error err = ERROR_INIT;
	int i, j, pos;

	(void)state;
	for (i = 0; i < N; i++) {
		bool seen[256] = { false };
		int distinct = 0;

		assert_int_equal(token_new(t[i], h, &err), 0);
		for (j = 0; j < i; j++)
			assert_string_not_equal(t[i], t[j]);
		for (pos = 4; pos < 4 + LEN; pos++)
			if (!seen[(unsigned char)t[i][pos]]) {
				seen[(unsigned char)t[i][pos]] = true;
				distinct++;
			}
		/* 43 draws from 64 characters: about 31 distinct */
		assert_true(distinct >= 16);
	}
	for (pos = 4; pos < 4 + LEN; pos++) {
		bool seen[256] = { false };
		int distinct = 0;

		for (i = 0; i < N; i++)
			if (!seen[(unsigned char)t[i][pos]]) {
				seen[(unsigned char)t[i][pos]] = true;
				distinct++;
			}
		/* 256 draws from 64 (last: 16) characters */
		assert_true(distinct >= (pos == 4 + LEN - 1 ? 10 : 48));
	}
}

static void names_and_roles(void **state)
{
	static const char *const bad[] = {
		"", "a b", "a/b", "ä", "a\n", "x;y"
	};
	struct error err = ERROR_INIT;
	enum token_role r;
	size_t i;

	(void)state;
	assert_int_equal(token_name_check("provisioning-1.prod_x", &err), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(token_name_check(bad[i], &err), -1);
		error_release(&err);
	}
	assert_int_equal(token_role_parse("read", &r, &err), 0);
	assert_int_equal(r, ROLE_READ);
	assert_int_equal(token_role_parse("admin", &r, &err), 0);
	assert_int_equal(r, ROLE_ADMIN);
	assert_int_equal(token_role_parse("root", &r, &err), -1);
	assert_string_equal(err.field, "role");
	error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tokens),
		cmocka_unit_test(randomness),
		cmocka_unit_test(names_and_roles),
	};

	return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
