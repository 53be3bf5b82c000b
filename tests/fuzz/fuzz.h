/*
 * fuzz.h - shared bits of the libFuzzer targets in tests/fuzz/
 *
 * Each fuzz_NAME.c defines LLVMFuzzerTestOneInput() over one parser of
 * outside bytes and checks its invariants with FUZZ_CHECK, which aborts
 * (a crash libFuzzer reports and keeps) when one does not hold.
 */
#ifndef MXFEED_FUZZ_H
#define MXFEED_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",       \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data as a NUL-terminated string (bytes after a NUL are cut off). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
