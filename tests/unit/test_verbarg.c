/*
 * test_verbarg - the numbers the verbs take: one table of good and bad
 * inputs, as text (feedctl, the portal) and as JSON (the API), with
 * the same words from both; extend's days-or-until choice
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "verbarg.h"

static const struct {
	enum verb_arg a;
	const char *text; /* NULL: not given */
	long want;	  /* VA_ABSENT, or the value; -2: refused */
	const char *msg;
} cases[] = {
	{ VA_DAYS, NULL, VA_ABSENT, NULL },
	{ VA_DAYS, "", VA_ABSENT, NULL },
	{ VA_DAYS, "1", 1, NULL },
	{ VA_DAYS, "31", 31, NULL },
	{ VA_DAYS, "0", -2, "days must be a whole number from 1 to 31" },
	{ VA_DAYS, "32", -2, "days must be a whole number from 1 to 31" },
	{ VA_DAYS, "-3", -2, "days must be a whole number from 1 to 31" },
	{ VA_DAYS, "05", -2, "days must be a whole number from 1 to 31" },
	{ VA_DAYS, "3d", -2, "days must be a whole number from 1 to 31" },
	{ VA_DAYS, " 3", -2, "days must be a whole number from 1 to 31" },
	{ VA_KEEP_DAYS, "1", 1, NULL },
	{ VA_KEEP_DAYS, "365", 365, NULL },
	{ VA_KEEP_DAYS, "0", -2,
	  "keep_days must be a whole number from 1 to 365" },
	{ VA_KEEP_DAYS, "366", -2,
	  "keep_days must be a whole number from 1 to 365" },
	{ VA_VERSION, "1", 1, NULL },
	{ VA_VERSION, "1000000000", 1000000000L, NULL },
	{ VA_VERSION, "1000000001", -2,
	  "version must be a whole number from 1 to 1000000000" },
	{ VA_VERSION, "0", -2,
	  "version must be a whole number from 1 to 1000000000" },
	{ VA_VERSION, "x", -2,
	  "version must be a whole number from 1 to 1000000000" },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void check(size_t i, const char *how, int rc, long got,
		  struct error *err)
{
	if (cases[i].want == -2) {
		if (rc != -1 || err->code != ERR_INVALID ||
		    strcmp(err->field, verb_arg_field(cases[i].a)) != 0 ||
		    strcmp(error_msg(err), cases[i].msg) != 0)
			fail_msg("%s case %zu: rc %d, \"%s\"", how, i, rc,
				 error_msg(err));
	} else if (rc != 0 || got != cases[i].want) {
		fail_msg("%s case %zu: rc %d, %ld: %s", how, i, rc, got,
			 error_msg(err));
	}
	error_release(err);
}

static void as_text(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NCASES; i++) {
		struct error err = ERROR_INIT;
		long got = 42;
		int rc = verb_arg_text(cases[i].a, cases[i].text, &got, &err);

		check(i, "text", rc, got, &err);
	}
}

/* The same table as JSON: a good value as a number, a bad one as a
 * string, refused with the same words. */
static void as_json(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NCASES; i++) {
		struct error err = ERROR_INIT;
		const char *t = cases[i].text;
		json_t *v = NULL;
		long got = 42;
		int rc;

		if (t != NULL && t[0] == '\0')
			continue; /* an empty form field has no JSON twin */
		if (t != NULL)
			v = cases[i].want == -2
				    ? json_string(t)
				    : json_loads(t, JSON_DECODE_ANY, NULL);
		rc = verb_arg_json(cases[i].a, v, &got, &err);
		json_decref(v);
		check(i, "json", rc, got, &err);
	}
}

static void json_types(void **state)
{
	static const char *const bad[] = { "\"3\"", "3.0",   "true", "null",
					   "[3]",   "1e400", NULL };
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		struct error err = ERROR_INIT;
		json_t *v = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		long got = 0;

		if (v == NULL)
			v = json_string(bad[i]);
		assert_int_equal(verb_arg_json(VA_DAYS, v, &got, &err), -1);
		assert_string_equal(error_msg(&err),
				    "days must be a whole number from 1 to 31");
		error_release(&err);
		json_decref(v);
	}
}

static void check_bounds(void **state)
{
	struct error err = ERROR_INIT;

	(void)state;
	assert_int_equal(verb_arg_check(VA_DAYS, 31, &err), 0);
	assert_int_equal(verb_arg_check(VA_DAYS, 32, &err), -1);
	assert_string_equal(error_msg(&err),
			    "days must be a whole number from 1 to 31");
	error_release(&err);
	assert_int_equal(verb_arg_check(VA_KEEP_DAYS, VA_ABSENT, &err), -1);
	assert_string_equal(err.field, "keep_days");
	error_release(&err);
}

static void extend_choice(void **state)
{
	struct error err = ERROR_INIT;

	(void)state;
	assert_int_equal(verb_extend_choice(3, NULL, &err), 0);
	assert_int_equal(verb_extend_choice(3, "", &err), 0);
	assert_int_equal(verb_extend_choice(VA_ABSENT, "2031-01-01", &err), 0);
	assert_int_equal(verb_extend_choice(3, "2031-01-01", &err), -1);
	assert_string_equal(err.field, "until");
	assert_string_equal(error_msg(&err),
			    "give a number of days or a date, not both");
	error_release(&err);
	assert_int_equal(verb_extend_choice(VA_ABSENT, NULL, &err), -1);
	assert_string_equal(err.field, "days");
	assert_non_null(strstr(error_msg(&err), "1 to 31"));
	error_release(&err);
	assert_int_equal(verb_extend_choice(VA_ABSENT, "", &err), -1);
	error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(as_text),	 cmocka_unit_test(as_json),
		cmocka_unit_test(json_types),	 cmocka_unit_test(check_bounds),
		cmocka_unit_test(extend_choice),
	};

	return cmocka_run_group_tests_name("verbarg", tests, NULL, NULL);
}
