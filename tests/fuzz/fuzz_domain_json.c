/*
 * fuzz_domain_json - json_load_strict and domain_patch: an API body
 * (duplicate keys, depth, UTF-8, size) and its merge patch onto a record;
 * the record the patch left is written by both spellings, the jansson
 * tree and domain_json_write(), which must give the same bytes
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "domain_json.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf conf;
	static struct domain_name dn;
	static int ready;
	struct error err = ERROR_INIT;
	json_t *doc;

	if (!ready) {
		conf_defaults(&conf);
		if (domain_name_parse("example.com", &dn, &err) < 0)
			abort();
		ready = 1;
	}
	doc = json_load_strict((const char *)data, size, JSON_BODY_MAX, &err);
	if (doc == NULL) {
		FUZZ_CHECK(err.code != ERR_NONE);
		error_release(&err);
		return 0;
	}
	if (json_is_object(doc)) {
		enum domain_mode m;

		for (m = MODE_POP3; m <= MODE_BACKUP; m++) {
			struct domain d;
			json_t *out;

			domain_init(&d, &dn, m, &conf);
			if (domain_patch(&d, doc, &conf, &err) == 0) {
				(void)domain_check(&d, &conf, &err);
				error_release(&err);
				struct propagation p = { (int64_t)size, 1, 3 };
				struct strbuf sb = STRBUF_INIT;
				char *text;

				out = domain_to_json(&d, &p);
				FUZZ_CHECK(out != NULL);
				text = json_dumps(out, JSON_COMPACT);
				FUZZ_CHECK(text != NULL);
				domain_json_write(&sb, &d, &p);
				FUZZ_CHECK(strcmp(sb.buf, text) == 0);
				free(text);
				sbuf_release(&sb);
				json_decref(out);
			} else {
				FUZZ_CHECK(err.code != ERR_NONE);
			}
			error_release(&err);
		}
	}
	json_decref(doc);
	return 0;
}
