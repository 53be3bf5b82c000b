/*
 * fuzz_http_form - application/x-www-form-urlencoded bodies and query
 * strings: names are bounded, values valid text, lookups consistent
 */
#include "fuzz.h"

#include "util/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_form f = HTTP_FORM_INIT;
	struct error err = ERROR_INIT;
	size_t i;

	if (http_form_parse((const char *)data, size, &f, &err) == 0) {
		FUZZ_CHECK(f.n <= HTTP_FORM_MAX);
		for (i = 0; i < f.n; i++) {
			FUZZ_CHECK(f.v[i].name != NULL && f.v[i].value != NULL);
			FUZZ_CHECK(strlen(f.v[i].name) <= HTTP_KEY_MAX);
			FUZZ_CHECK(http_form_get(&f, f.v[i].name) != NULL);
			FUZZ_CHECK(http_form_count(&f, f.v[i].name) >= 1);
		}
	} else {
		FUZZ_CHECK(strpbrk(error_msg(&err), "\r\n") == NULL);
	}
	error_release(&err);
	http_form_release(&f);
	return 0;
}
