/* test_rule - sender regex and client CIDR rules, good and bad */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

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
	/* a byte after '\\' is held to the printable-ASCII rule too */
	{ "block", "sender-regex", "a\\\x01", NULL },
	{ "block", "sender-regex", "a\\\n", NULL },
	{ "block", "sender-regex", "a\\", NULL },
	/* what PCRE2 would read differently from an ERE is refused */
	{ "block", "sender-regex", "a\\d", NULL },
	{ "block", "sender-regex", "(?i)a", NULL },
	{ "block", "sender-regex", "(*LIMIT_MATCH=1)a", NULL },
	{ "block", "sender-regex", "a++", NULL },
	{ "block", "sender-regex", "a*?", NULL },
	{ "block", "sender-regex", "a{2}{3}", NULL },
	{ "block", "sender-regex", "*a", NULL },
	{ "block", "sender-regex", "a|+", NULL },
	{ "block", "sender-regex", "a{", NULL },
	{ "block", "sender-regex", "a{3,2}", NULL },
	{ "block", "sender-regex", "a)", NULL },
	{ "block", "sender-regex", "[[=a=]]", NULL },
	{ "block", "sender-regex", "[[:word:]]", NULL },
	/* nested repeats: a repeated group holding a repeat */
	{ "block", "sender-regex", "((a{255}){255}){255}", NULL },
	{ "block", "sender-regex", "(.{0,255}){0,255}z", NULL },
	{ "block", "sender-regex", "(a+)+$", NULL },
	{ "block", "sender-regex", "(a?){2}", NULL },
	{ "block", "sender-regex", "((a)b*)*", NULL },
	{ "block", "sender-regex", "((((((((((((((((((a))))))))))))))))))",
	  NULL },
	/* ... but "?" or {0,1} of such a group costs nothing */
	{ "block", "sender-regex", "@(.+\\.)?example\\.com$",
	  "@(.+\\.)?example\\.com$" },
	{ "block", "sender-regex", "^(a+){0,1}b", "^(a+){0,1}b" },
	{ "block", "sender-regex", "^[[:alpha:]]+@[]a-]",
	  "^[[:alpha:]]+@[]a-]" },
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

/* ERE in, PCRE2 out */
static void translation(void **state)
{
	static const char *const pairs[][2] = {
		{ "^spam@.*\\.test$", "^spam@.*\\.test$" },
		{ "[\\.]", "[\\\\.]" }, /* '\\' is literal in brackets */
		{ "[]x]", "[\\]x]" },
		{ "[^]x]", "[^\\]x]" },
		{ "[a[b]", "[a\\[b]" },
		{ "a{,3}", "a{0,3}" }, /* PCRE2 10.42 would read "{,3}" */
		{ "a{2,}|b{1}", "a{2,}|b{1}" },
		{ "\\{\\}\\(\\)\\*", "\\{\\}\\(\\)\\*" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct error err = ERROR_INIT;
		char out[1100];

		if (rule_regex_translate(pairs[i][0], out, sizeof(out), &err) <
		    0)
			fail_msg("refused %s: %s", pairs[i][0],
				 error_msg(&err));
		assert_string_equal(out, pairs[i][1]);
	}
}

static enum rule_match match1(const char *re, const char *subject)
{
	struct error err = ERROR_INIT;
	struct rule_regex *rx = rule_regex_compile(re, &err);
	enum rule_match m;

	if (rx == NULL)
		fail_msg("refused %s: %s", re, error_msg(&err));
	m = rule_regex_match(rx, subject, strlen(subject), NULL);
	rule_regex_free(rx);
	return m;
}

/* the ERE meaning: unanchored, ignoring case, '$' only at the end */
static void matching(void **state)
{
	(void)state;
	assert_int_equal(match1("^spam@", "SPAM@x.test"), RULE_MATCH);
	assert_int_equal(match1("@x\\.test$", "a@x.test"), RULE_MATCH);
	assert_int_equal(match1("@x\\.test$", "a@x.test\n"), RULE_NOMATCH);
	assert_int_equal(match1("spam", "a-spam-b@x"), RULE_MATCH);
	assert_int_equal(match1("^a.b$", "a\nb"), RULE_MATCH);
	assert_int_equal(match1("[\\.]", "a\\b"), RULE_MATCH);
	assert_int_equal(match1("^[[:digit:]]{3}$", "123"), RULE_MATCH);
	assert_int_equal(match1("^[[:digit:]]{3}$", "12a"), RULE_NOMATCH);
	assert_int_equal(match1("^(foo|bar)@", "bar@x"), RULE_MATCH);
	assert_int_equal(match1("^$", ""), RULE_MATCH);
}

/* a pattern the checks let through still cannot take more than limits */
static void match_limits(void **state)
{
	struct error err = ERROR_INIT;
	struct rule_regex *rx = rule_regex_compile("^(a|aa)+$", &err);
	char subject[4001];
	const char *why = NULL;

	(void)state;
	assert_non_null(rx);
	memset(subject, 'a', sizeof(subject) - 2);
	subject[sizeof(subject) - 2] = 'b';
	subject[sizeof(subject) - 1] = '\0';
	assert_int_equal(rule_regex_match(rx, subject, strlen(subject), &why),
			 RULE_MATCH_ERROR);
	assert_non_null(why);
	assert_non_null(strstr(why, "limit"));
	/* a plain sender still matches with the same matcher */
	assert_int_equal(rule_regex_match(rx, "aaa", 3, NULL), RULE_MATCH);
	rule_regex_free(rx);
}

/* repeated groups are replicated when compiled: the size is bounded */
static void compiled_size(void **state)
{
	struct error err = ERROR_INIT;
	struct rule r;

	(void)state;
	assert_int_equal(rule_parse("block", "sender-regex",
				    "(abcdefghijklmnopqrstuvwxyz0123456789){"
				    "255}",
				    &r, &err),
			 -1);
	assert_string_equal(err.field, "value");
	assert_non_null(strstr(error_msg(&err), "compiles to"));
	error_release(&err);
	assert_int_equal(
		rule_parse("block", "sender-regex", "^[a-z]{255}@", &r, &err),
		0);
}

/*
 * The patterns that took glibc's regcomp() 3.4 GB and 3.7 s, or 535 MB,
 * are refused, by the nested-repeat check, in a child held to 20 s of
 * CPU and (outside ASan, which reserves terabytes) 256 MB.
 */
static void pathological(void **state)
{
	static const char *const res[] = {
		"((a{255}){255}){255}",
		"(.{0,255}){0,255}z",
		"((a{255}){255}){255}@",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		struct rusage ru;
		int status;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			struct rlimit cpu = { 20, 20 };
			struct error err = ERROR_INIT;
			struct rule r;
			int rc;

			(void)setrlimit(RLIMIT_CPU, &cpu);
#ifndef __SANITIZE_ADDRESS__
			{
				struct rlimit as = { 256u << 20, 256u << 20 };

				(void)setrlimit(RLIMIT_AS, &as);
			}
#endif
			rc = rule_parse("block", "sender-regex", res[i], &r,
					&err);
			_exit(rc == -1 && strcmp(err.field, "value") == 0 &&
					      strstr(error_msg(&err),
						     "nested repeats") != NULL
				      ? 0
				      : 1);
		}
		assert_int_equal(wait4(pid, &status, 0, &ru), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("%s not refused as a nested repeat", res[i]);
	}
}

/* a stored row only needs its shape, so it can be listed and removed */
static void stored(void **state)
{
	struct error err = ERROR_INIT;
	struct rule r;

	(void)state;
	assert_int_equal(rule_parse_stored("block", "address-regex",
					   "((a{255}){255}){255}", &r, &err),
			 0);
	assert_string_equal(r.value, "((a{255}){255}){255}");
	assert_int_equal(
		rule_parse_stored("block", "address-regex", "a\x01", &r, &err),
		-1);
	error_release(&err);
	assert_int_equal(rule_parse_stored("block", "client-cidr", "10.0.0.1/8",
					   &r, &err),
			 -1);
	error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table),	cmocka_unit_test(long_pattern),
		cmocka_unit_test(translation),	cmocka_unit_test(matching),
		cmocka_unit_test(match_limits), cmocka_unit_test(compiled_size),
		cmocka_unit_test(pathological), cmocka_unit_test(stored),
	};

	return cmocka_run_group_tests_name("rule", tests, NULL, NULL);
}
