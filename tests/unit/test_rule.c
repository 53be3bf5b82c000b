/* test_rule - sender regex and client CIDR rules, good and bad */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "rule.h"

struct tcase {
	const char *action, *kind, *value, *want; /* want NULL: refused */
};

static const struct tcase cases[] = {
	{ "block", "sender-regex", "^spam@.*$", "^spam@.*$" },
	{ "allow", "address-regex", "@example\\.com$", "@example\\.com$" },
	{ "block", "sender-regex", "^a{1,255}$", "^a{1,255}$" },
	{ "block", "sender-regex", "(x|y)+@z\\.example", "(x|y)+@z\\.example" },
	{ "allow", "client", "127.0.0.0/24", "127.0.0.0/24" },
	{ "allow", "client-cidr", "2a00:1450::/32", "2a00:1450::/32" },
	{ "block", "client", "8.8.8.8", "8.8.8.8/32" },
	{ "block", "client", "2a00::1", "2a00::1/128" },
	{ "deny", "client", "8.8.8.8/32", NULL },
	{ "", "client", "8.8.8.8/32", NULL },
	{ "block", "helo", "x", NULL },
	{ "block", "sender-regex", "", NULL },
	{ "block", "sender-regex", "(unclosed", NULL },
	{ "block", "sender-regex", "[a-", NULL },
	{ "block", "sender-regex", "(a)\\1", NULL },
	{ "block", "sender-regex", "a{1,256}", NULL },
	{ "block", "sender-regex", "a{1000}", NULL },
	{ "block", "sender-regex", "a\nb", NULL },
	{ "block", "sender-regex", "a\tb", NULL },
	{ "block", "sender-regex", "\xc3\xa4", NULL },
	{ "block", "client", "127.0.0.1/24", NULL },
	{ "block", "client", "127.0.0.0/33", NULL },
	{ "block", "client", "127.1/8", NULL },
	{ "block", "client", "example.com", NULL },
};

static void table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct error err = ERROR_INIT;
		struct rule r;
		int rc = rule_parse(cases[i].action, cases[i].kind,
				    cases[i].value, &r, &err);

		if (cases[i].want == NULL) {
			if (rc != -1)
				fail_msg("accepted case #%zu", i);
			assert_int_equal(err.code, ERR_INVALID);
			assert_true(err.field[0] != '\0');
			assert_null(strpbrk(error_msg(&err), "\r\n"));
		} else {
			if (rc != 0)
				fail_msg("refused case #%zu: %s", i,
					 error_msg(&err));
			assert_string_equal(r.value, cases[i].want);
		}
		error_release(&err);
	}
}

static void long_pattern(void **state)
{
	char re[RULE_REGEX_MAX + 2];
	struct error err = ERROR_INIT;
	struct rule r;

	(void)state;
	memset(re, 'a', sizeof(re));
	re[RULE_REGEX_MAX] = '\0';
	assert_int_equal(rule_parse("block", "sender-regex", re, &r, &err), 0);
	re[RULE_REGEX_MAX] = 'a';
	re[RULE_REGEX_MAX + 1] = '\0';
	assert_int_equal(rule_parse("block", "sender-regex", re, &r, &err), -1);
	assert_non_null(strstr(error_msg(&err), "256"));
	error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table),
		cmocka_unit_test(long_pattern),
	};

	return cmocka_run_group_tests_name("rule", tests, NULL, NULL);
}
