/*
 * fuzz_api_path - api_path_parse, the shapes of /api/v1/ paths: an
 * accepted path's pieces are within their bounds, hold no '/', and put
 * together again give the path
 */
#include "fuzz.h"

#include "apipath.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_str(data, size);
	struct strbuf again = STRBUF_INIT;
	struct api_path p;
	const char *tpl, *brace;

	if (api_path_parse(in, &p) == 0) {
		FUZZ_CHECK(strlen(p.name) <= API_PATH_NAME_MAX);
		FUZZ_CHECK(strlen(p.item) <= API_PATH_ITEM_MAX);
		FUZZ_CHECK(strchr(p.name, '/') == NULL);
		FUZZ_CHECK(strchr(p.item, '/') == NULL);
		FUZZ_CHECK((p.item[0] != '\0') == (p.shape == API_QUARANTINED));
		FUZZ_CHECK((p.sub != NULL) == (p.shape == API_DOMAIN_SUB ||
					       p.shape == API_QUARANTINED));
		FUZZ_CHECK((p.name[0] != '\0') ==
			   (p.shape == API_DOMAIN || p.sub != NULL));
		if (p.sub != NULL) {
			FUZZ_CHECK(p.sub > in && p.sub < in + strlen(in));
			FUZZ_CHECK(*p.sub != '\0' && !strchr(p.sub, '/'));
		}
		/* the template with the pieces filled in is the path */
		tpl = api_path_template(p.shape);
		if (p.name[0] != '\0') {
			brace = strstr(tpl, "{name}");
			FUZZ_CHECK(brace != NULL);
			sbuf_add(&again, tpl, (size_t)(brace - tpl));
			sbuf_addstr(&again, p.name);
			tpl = brace + 6;
		}
		if (p.item[0] != '\0') {
			brace = strstr(tpl, "{id}");
			FUZZ_CHECK(brace != NULL);
			sbuf_add(&again, tpl, (size_t)(brace - tpl));
			sbuf_addstr(&again, p.item);
			tpl = brace + 4;
		}
		sbuf_addstr(&again, tpl);
		if (p.sub != NULL)
			sbuf_addstr(&again, p.sub);
		FUZZ_CHECK(strcmp(again.buf, in) == 0);
	}
	sbuf_release(&again);
	free(in);
	return 0;
}
