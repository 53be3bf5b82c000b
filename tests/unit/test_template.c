/* test_template - the portal's renderer: escaping, trust, sections */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/template.h"

static char *render(const char *text, json_t *ctx, struct error *err)
{
	struct strbuf out = STRBUF_INIT;
	char *s;

	if (template_render("t", text, ctx, &out, err) < 0) {
		sbuf_release(&out);
		json_decref(ctx);
		return NULL;
	}
	json_decref(ctx);
	s = sbuf_detach(&out, NULL);
	return s;
}

static void check(const char *text, json_t *ctx, const char *want)
{
	struct error err = ERROR_INIT;
	char *got = render(text, ctx, &err);

	if (got == NULL)
		fail_msg("render failed: %s", error_msg(&err));
	assert_string_equal(got, want);
	free(got);
}

static void values_are_escaped(void **state)
{
	(void)state;
	check("<p>{{a}}</p>", json_pack("{s:s}", "a", "<b>\"x\"&'y'</b>"),
	      "<p>&lt;b&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/b&gt;</p>");
	check("{{n}} {{t}} {{f}} {{z}} {{missing}}",
	      json_pack("{s:i, s:b, s:b, s:n}", "n", 42, "t", 1, "f", 0, "z"),
	      "42 true false  ");
	check("{{a.b.c}}", json_pack("{s:{s:{s:s}}}", "a", "b", "c", "<deep>"),
	      "&lt;deep&gt;");
}

static void trusted_only_from_code(void **state)
{
	json_t *ctx = json_object();

	(void)state;
	json_object_set_new(ctx, "m", template_trusted("<em>ok</em>"));
	json_object_set_new(ctx, "s", json_string("<em>no</em>"));
	/* {{&s}} on a plain string is still escaped */
	check("{{&m}}|{{m}}|{{&s}}", ctx,
	      "<em>ok</em>|&lt;em&gt;ok&lt;/em&gt;|&lt;em&gt;no&lt;/em&gt;");
	/* a lookalike object from input is not trusted */
	check("{{&x}}", json_pack("{s:{s:s}}", "x", "trusted-html", "<b>"), "");
}

static void sections(void **state)
{
	(void)state;
	check("{{#l}}[{{v}}]{{/l}}",
	      json_pack("{s:[{s:s},{s:s}]}", "l", "v", "1", "v", "<2>"),
	      "[1][&lt;2&gt;]");
	check("{{#l}}x{{/l}}{{^l}}none{{/l}}", json_pack("{s:[]}", "l"),
	      "none");
	check("{{#o}}{{v}}/{{w}}{{/o}}",
	      json_pack("{s:{s:s}, s:s}", "o", "v", "in", "w", "out"),
	      "in/out");
	check("{{#b}}yes{{/b}}{{^b}}no{{/b}}", json_pack("{s:b}", "b", 0),
	      "no");
	check("{{#s}}{{s}}{{/s}}", json_pack("{s:s}", "s", ""), "");
	check("{{#a}}{{#a}}in{{/a}}{{/a}}", json_pack("{s:b}", "a", 1), "in");
	/* an element's null shadows the outer value */
	check("{{#l}}{{e}}{{/l}}",
	      json_pack("{s:s, s:[{s:n}]}", "e", "outer", "l", "e"), "");
}

static void template_errors(void **state)
{
	static const char *const bad[] = {
		"{{#a}}no end", "{{/a}}",  "{{a",	   "{{}}",
		"{{a b}}",	"{{<x>}}", "{{#a}}{{/b}}",
	};
	struct error err = ERROR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *got = render(bad[i], json_pack("{s:b}", "a", 1), &err);

		assert_null(got);
		assert_int_equal(err.code, ERR_INTERNAL);
		assert_non_null(strstr(error_msg(&err), "template t"));
		error_release(&err);
	}
}

static void built_in(void **state)
{
	(void)state;
	assert_non_null(template_get("layout.html"));
	assert_non_null(template_get("portal.css"));
	assert_null(template_get("../etc/passwd"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(values_are_escaped),
		cmocka_unit_test(trusted_only_from_code),
		cmocka_unit_test(sections),
		cmocka_unit_test(template_errors),
		cmocka_unit_test(built_in),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
