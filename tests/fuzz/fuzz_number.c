/*
 * fuzz_number - the strict numbers (parse_long) and booleans
 * (parse_bool) every setting and header goes through: an accepted
 * number is in range and is spelled exactly as printf("%ld") spells it
 * (one spelling per number: no sign but '-', no leading zero, no "-0");
 * an accepted boolean is one of the four words
 */
#include "fuzz.h"

#include <stdbool.h>

#include "util/parse.h"

static const long bounds[][2] = {
	{ 0, 1 },
	{ 1, 31 },
	{ -10, 10 },
	{ 1, 0x7fffffffL },
	{ -0x7fffffffL - 1, 0x7fffffffL },
	{ -9223372036854775807L - 1, 9223372036854775807L },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = ERROR_INIT;
	char *in, again[32];
	size_t k;
	long v;
	bool b;

	if (size < 1)
		return 0;
	k = data[0] % (sizeof(bounds) / sizeof(bounds[0]));
	in = fuzz_str(data + 1, size - 1);
	if (parse_long(in, bounds[k][0], bounds[k][1], &v, "n", &err) == 0) {
		FUZZ_CHECK(v >= bounds[k][0] && v <= bounds[k][1]);
		(void)snprintf(again, sizeof(again), "%ld", v);
		FUZZ_CHECK(strcmp(again, in) == 0);
	} else {
		FUZZ_CHECK(err.code == ERR_INVALID);
		FUZZ_CHECK(strstr(error_msg(&err), "whole number") != NULL);
	}
	error_release(&err);
	if (parse_bool(in, &b, "b", &err) == 0)
		FUZZ_CHECK(strcmp(in, b ? "on" : "off") == 0 ||
			   strcmp(in, b ? "true" : "false") == 0);
	error_release(&err);
	free(in);
	return 0;
}
