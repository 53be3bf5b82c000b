/* test_http - form/query parsing, escaping, entity tags, bearer, Origin */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/http.h"

static void forms(void **state)
{
	struct http_form f = HTTP_FORM_INIT;
	struct error err = ERROR_INIT;
	const char *in = "a=1&b=x+y&c=%C3%BC%2B&empty=&flag&&a=2";

	(void)state;
	assert_int_equal(http_form_parse(in, strlen(in), &f, &err), 0);
	assert_string_equal(http_form_get(&f, "a"), "1");
	assert_int_equal(http_form_count(&f, "a"), 2);
	assert_string_equal(http_form_get(&f, "b"), "x y");
	assert_string_equal(http_form_get(&f, "c"), "\xc3\xbc+");
	assert_string_equal(http_form_get(&f, "empty"), "");
	assert_string_equal(http_form_get(&f, "flag"), "");
	assert_null(http_form_get(&f, "missing"));
	http_form_release(&f);
	assert_int_equal(http_form_parse("", 0, &f, &err), 0);
	assert_int_equal(f.n, 0);
	http_form_release(&f);
}

static void bad_forms(void **state)
{
	static const struct {
		const char *in;
		const char *msg;
	} bad[] = {
		{ "a=%zz", "bad %-escape" },
		{ "a=%4", "bad %-escape" },
		{ "a=%", "bad %-escape" },
		{ "a=%00", "NUL byte" },
		{ "a=%ff", "invalid UTF-8" },
		{ "a=%0d%0a", "control character" },
		{ "=x", "empty or too long" },
		{ "%zz=1", "bad %-escape" },
	};
	struct http_form f = HTTP_FORM_INIT;
	struct error err = ERROR_INIT;
	struct strbuf many = STRBUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
			http_form_parse(bad[i].in, strlen(bad[i].in), &f, &err),
			-1);
		assert_int_equal(err.code, ERR_INVALID);
		assert_non_null(strstr(error_msg(&err), bad[i].msg));
		assert_int_equal(f.n, 0);
		error_release(&err);
	}
	for (i = 0; i <= HTTP_FORM_MAX; i++)
		sbuf_addf(&many, "k%zu=v&", i);
	assert_int_equal(http_form_parse(many.buf, many.len, &f, &err), -1);
	assert_non_null(strstr(error_msg(&err), "more than"));
	error_release(&err);
	sbuf_release(&many);
}

static void escaping(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	sbuf_addhtml(&sb, "<a href=\"x\" title='y'>&</a>");
	assert_string_equal(sb.buf, "&lt;a href=&quot;x&quot; "
				    "title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
	sbuf_reset(&sb);
	sbuf_addurl(&sb, "a b/c?d=e&f\xc3\xbc~._-");
	assert_string_equal(sb.buf, "a%20b%2Fc%3Fd%3De%26f%C3%BC~._-");
	sbuf_release(&sb);
}

static void etags(void **state)
{
	static const char *const bad[] = {
		"3",	  "\"\"",  "\"03\"",	   "W/3",
		"\"-1\"", "\"x\"", "\"3\", \"4\"", "\"0\"",
		"",	  "W/\"3", "W/\"a b\"",	   "w/\"3\""
	};
	/* weak tags are valid and never match under strong comparison */
	static const char *const weak[] = { "W/\"3\"", "W/\"x\"", "W/\"\"" };
	struct error err = ERROR_INIT;
	int64_t v;
	size_t i;

	(void)state;
	assert_int_equal(http_etag_parse("\"3\"", &v, &err), 0);
	assert_int_equal(v, 3);
	assert_int_equal(http_etag_parse("*", &v, &err), 0);
	assert_int_equal(v, -1);
	for (i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
		v = 7;
		assert_int_equal(http_etag_parse(weak[i], &v, &err), 0);
		assert_int_equal(v, HTTP_ETAG_WEAK);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(http_etag_parse(bad[i], &v, &err), -1);
		assert_int_equal(err.code, ERR_INVALID);
		error_release(&err);
	}
}

static void bearer_and_origin(void **state)
{
	(void)state;
	assert_string_equal(http_bearer("Bearer abc"), "abc");
	assert_string_equal(http_bearer("bearer  abc"), "abc");
	assert_null(http_bearer("Basic abc"));
	assert_null(http_bearer("Bearer "));
	assert_null(http_bearer(NULL));
	assert_true(http_same_origin("http://127.0.0.1:8080", "http",
				     "127.0.0.1:8080"));
	assert_true(http_same_origin("https://Portal.Example", "https",
				     "portal.example"));
	assert_false(http_same_origin("http://127.0.0.1:8080", "https",
				      "127.0.0.1:8080"));
	assert_false(http_same_origin("http://127.0.0.1:8081", "http",
				      "127.0.0.1:8080"));
	assert_false(http_same_origin("http://127.0.0.1:8080.evil", "http",
				      "127.0.0.1:8080"));
	assert_false(http_same_origin("null", "http", "127.0.0.1:8080"));
	assert_false(http_same_origin(NULL, "http", "127.0.0.1:8080"));
	assert_false(http_same_origin("http://", "http", ""));
}

static void reasons(void **state)
{
	(void)state;
	assert_string_equal(http_reason(428), "Precondition Required");
	assert_string_equal(http_reason(413), "Content Too Large");
	assert_string_equal(http_reason(299), "Unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(forms),
		cmocka_unit_test(bad_forms),
		cmocka_unit_test(escaping),
		cmocka_unit_test(etags),
		cmocka_unit_test(bearer_and_origin),
		cmocka_unit_test(reasons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
