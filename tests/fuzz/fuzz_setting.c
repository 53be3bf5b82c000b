/*
 * fuzz_setting - the "path=value" settings of feedctl set / add and the
 * portal's forms (domain_set) on each mode's record: a refused setting
 * leaves the record as it was; an accepted one of a plain field writes
 * back as text (domain_field_text) that domain_set takes to the same
 * record
 */
#include "fuzz.h"

#include "conf.h"
#include "model.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf conf;
	static struct domain_name dn;
	static int ready;
	struct error err = ERROR_INIT;
	char *in = fuzz_str(data, size), *eq, *nl;
	enum domain_mode m;

	if (!ready) {
		conf_defaults(&conf);
		if (domain_name_parse("example.com", &dn, &err) < 0)
			abort();
		ready = 1;
	}
	if ((nl = strchr(in, '\n')) != NULL)
		*nl = '\0';
	if ((eq = strchr(in, '=')) == NULL) {
		free(in);
		return 0;
	}
	*eq = '\0';
	for (m = MODE_POP3; m <= MODE_BACKUP; m++) {
		struct domain d, before, again;
		const struct field *f = domain_field(in);

		domain_init(&d, &dn, m, &conf);
		before = d;
		if (domain_set(&d, in, eq + 1, &conf, &err) < 0) {
			FUZZ_CHECK(err.code != ERR_NONE);
			FUZZ_CHECK(domain_settings_equal(&d, &before));
			error_release(&err);
			continue;
		}
		FUZZ_CHECK(f != NULL && !domain_field_readonly(in));
		if (f->type != FT_CUSTOM) {
			struct strbuf text = STRBUF_INIT;

			domain_field_text(&d, f, FIELD_TEXT_INPUT, &text);
			again = before;
			FUZZ_CHECK(domain_set(&again, in,
					      text.buf ? text.buf : "", &conf,
					      &err) == 0);
			FUZZ_CHECK(domain_settings_equal(&d, &again));
			sbuf_release(&text);
		}
		error_release(&err);
	}
	free(in);
	return 0;
}
