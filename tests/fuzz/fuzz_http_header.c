/*
 * fuzz_http_header - the request headers lib parses for the API:
 * If-Match (http_etag_parse: one entity tag; a strong tag is exactly
 * "N" for the version N it returns), Idempotency-Key (1 to 255
 * printable ASCII), Authorization (http_bearer: a non-empty token
 * inside the input) and Origin (http_same_origin: only the exact
 * scheme://host)
 */
#include "fuzz.h"

#include <strings.h>

#include "util/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = ERROR_INIT;
	char *in = fuzz_str(data, size), again[40];
	const char *tok;
	int64_t version = 12345;
	size_t i, n = strlen(in);

	if (http_etag_parse(in, &version, &err) == 0) {
		if (version == -1) {
			FUZZ_CHECK(strcmp(in, "*") == 0);
		} else if (version == HTTP_ETAG_WEAK) {
			FUZZ_CHECK(strncmp(in, "W/\"", 3) == 0);
			FUZZ_CHECK(in[n - 1] == '"');
		} else {
			FUZZ_CHECK(version >= 1 && version <= 0x7fffffffL);
			(void)snprintf(again, sizeof(again), "\"%lld\"",
				       (long long)version);
			FUZZ_CHECK(strcmp(again, in) == 0);
		}
	} else {
		FUZZ_CHECK(err.code == ERR_INVALID);
	}
	error_release(&err);
	if (http_idem_key_ok(in)) {
		FUZZ_CHECK(n >= 1 && n <= 255);
		for (i = 0; i < n; i++)
			FUZZ_CHECK(in[i] >= 0x20 && in[i] <= 0x7e);
	}
	if ((tok = http_bearer(in)) != NULL) {
		FUZZ_CHECK(tok > in && tok < in + n);
		FUZZ_CHECK(strncasecmp(in, "Bearer ", 7) == 0);
		FUZZ_CHECK(*tok != '\0' && *tok != ' ');
	}
	if (http_same_origin(in, "https", "portal.example"))
		FUZZ_CHECK(strncmp(in, "https://", 8) == 0 &&
			   strcasecmp(in + 8, "portal.example") == 0);
	free(in);
	return 0;
}
