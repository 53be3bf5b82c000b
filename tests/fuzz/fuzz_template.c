/*
 * fuzz_template - the portal's renderer (template_render) with values
 * from outside: the input is the context (a JSON object, or else one
 * string), rendered into a template with no markup of its own but one
 * trusted value; the output holds no '<', '>', '"' or '\'' but that
 * value's: every outside value is escaped, also through {{&name}},
 * sections and dotted paths.  Every built-in template renders with
 * that context too, without a crash.
 */
#include "fuzz.h"

#include <jansson.h>

#include "util/template.h"

static const char text[] = "{{a}}|{{&a}}|{{#l}}{{b}}{{&b}}{{a}}{{/l}}|"
			   "{{x.y}}{{&x.y}}|{{#x}}{{y}}{{/x}}{{^n}}{{a}}{{/n}}"
			   "|{{&t}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = ERROR_INIT;
	struct strbuf out = STRBUF_INIT;
	json_t *ctx = json_loadb((const char *)data, size, 0, NULL);
	const char *p, *ok;
	size_t i;

	if (!json_is_object(ctx)) {
		char *s = fuzz_str(data, size);
		json_t *v = json_string(s);

		json_decref(ctx);
		if (v == NULL)
			v = json_stringn_nocheck(s, strlen(s));
		ctx = json_pack("{s:o, s:[{s:o}], s:{s:o}}", "a", json_copy(v),
				"l", "b", json_copy(v), "x", "y", v);
		free(s);
		if (ctx == NULL)
			return 0;
	}
	json_object_set_new(ctx, "t", template_trusted("<ok>"));
	if (template_render("fuzz", text, ctx, &out, &err) == 0) {
		FUZZ_CHECK(out.buf != NULL);
		ok = strstr(out.buf, "<ok>");
		FUZZ_CHECK(ok != NULL);
		for (p = out.buf; *p; p++) {
			if (p == ok) {
				p += 3;
				continue;
			}
			FUZZ_CHECK(*p != '<' && *p != '>' && *p != '"' &&
				   *p != '\'');
		}
	}
	error_release(&err);
	sbuf_release(&out);
	for (i = 0; i < template_files_count; i++) {
		struct strbuf o = STRBUF_INIT;

		if (template_render(template_files[i].name,
				    template_files[i].text, ctx, &o, &err) < 0)
			FUZZ_CHECK(err.code != ERR_NONE);
		error_release(&err);
		sbuf_release(&o);
	}
	json_decref(ctx);
	return 0;
}
