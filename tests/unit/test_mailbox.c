/* test_mailbox - local parts, generated passwords and SHA512-CRYPT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mailbox.h"

static void locals(void **state)
{
	static const char *const good[][2] = {
		{ "info", "info" },
		{ "Info", "info" },
		{ "a.b", "a.b" },
		{ "x+tag", "x+tag" },
		{ "first_last", "first_last" },
		{ "a-b-c", "a-b-c" },
		{ "0", "0" },
	};
	static const char *const bad[] = {
		"",
		".a",
		"a.",
		"a..b",
		"*",
		"a b",
		"a@b",
		"a\nb",
		"a/b",
		"../x",
		"a;b",
		"\xc3\xa4",
		"a\"b",
		"01234567890123456789012345678901234567890123456789012345678901"
		"234",
	};
	char out[MAILBOX_LOCAL_MAX + 1];
	struct error err = ERROR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(mailbox_local_parse(good[i][0], out, &err), 0);
		assert_string_equal(out, good[i][1]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mailbox_local_parse(bad[i], out, &err) != -1)
			fail_msg("accepted local part #%zu", i);
		assert_string_equal(err.field, "local");
		error_release(&err);
	}
}

/* A typed list: separators, case, duplicates, and each refusal. */
static void local_lists(void **state)
{
	char out[4][MAILBOX_LOCAL_MAX + 1];
	struct error err = ERROR_INIT;
	char longname[MAILBOX_LOCAL_MAX + 3]; /* 66: past what is read */
	size_t n = 0;

	(void)state;
	assert_int_equal(mailbox_locals_split(" Info, sales\tabuse\r\ninfo,,",
					      out, 4, &n, &err),
			 0);
	assert_int_equal(n, 3);
	assert_string_equal(out[0], "info");
	assert_string_equal(out[1], "sales");
	assert_string_equal(out[2], "abuse");
	n = 0;
	assert_int_equal(mailbox_locals_split("", out, 4, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(mailbox_locals_split(" , \t", out, 4, &n, &err), 0);
	assert_int_equal(n, 0);

	assert_int_equal(mailbox_locals_split("a b c d e", out, 4, &n, &err),
			 -1);
	assert_int_equal(n, 4);
	assert_string_equal(error_msg(&err), "at most 4 mailboxes at once");
	assert_string_equal(err.field, "local");
	error_release(&err);

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	n = 0;
	assert_int_equal(mailbox_locals_split(longname, out, 4, &n, &err), -1);
	assert_int_equal(n, 0);
	assert_string_equal(error_msg(&err),
			    "a mailbox name is at most 64 characters");
	error_release(&err);

	n = 0;
	assert_int_equal(mailbox_locals_split("ok, a..b, c", out, 4, &n, &err),
			 -1);
	assert_int_equal(n, 1);
	assert_string_equal(out[0], "ok");
	assert_string_equal(err.field, "local");
	error_release(&err);
}

static void passwords(void **state)
{
	char a[MAILBOX_PASSWORD_LEN + 1], b[MAILBOX_PASSWORD_LEN + 1];
	char h[MAILBOX_HASH_MAX + 1], h2[MAILBOX_HASH_MAX + 1];
	struct error err = ERROR_INIT;

	(void)state;
	assert_int_equal(mailbox_password_new(a, &err), 0);
	assert_int_equal(mailbox_password_new(b, &err), 0);
	assert_int_equal(strlen(a), MAILBOX_PASSWORD_LEN);
	assert_string_not_equal(a, b);
	assert_null(strpbrk(a, "0O1lI"));
	assert_int_equal(mailbox_password_hash(a, h, &err), 0);
	assert_int_equal(strncmp(h, "{SHA512-CRYPT}$6$", 17), 0);
	assert_true(mailbox_password_verify(a, h));
	assert_false(mailbox_password_verify(b, h));
	assert_false(mailbox_password_verify("", h));
	assert_false(mailbox_password_verify(a, h + 14)); /* no prefix */
	/* a fresh salt every time */
	assert_int_equal(mailbox_password_hash(a, h2, &err), 0);
	assert_string_not_equal(h, h2);
	assert_true(mailbox_password_verify(a, h2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(locals),
		cmocka_unit_test(local_lists),
		cmocka_unit_test(passwords),
	};

	return cmocka_run_group_tests_name("mailbox", tests, NULL, NULL);
}
