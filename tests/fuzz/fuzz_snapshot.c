/*
 * fuzz_snapshot - the relay snapshot reader (snap_open/snap_next/
 * snap_get) over any file: plain or keyed (first byte), with and
 * without headers (legacy layouts); every value read is one field (no
 * tab, CR, LF), at most SNAP_COLS_MAX of them, each column found by
 * name; errors name the file and line
 */
#include "fuzz.h"

#include <unistd.h>

#include "snapshot.h"

static const char *const plain_names[] = { "name", "mode", "days" };
static const char *const dom_names[] = { "domain", "name", "mode" };
static const char *const rule_names[] = { "rule", "domain", "kind", "arg" };
static const struct snap_schema plain_legacy[] = { { NULL, plain_names, 3 },
						   { NULL, NULL, 0 } };
static const struct snap_schema keyed_legacy[] = {
	{ "domain", dom_names, 3 },
	{ "rule", rule_names, 4 },
	{ NULL, NULL, 0 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct snap_reader r;
	struct error err = ERROR_INIT;
	bool keyed;
	FILE *f;
	int rc, rows = 0, i;

	if (size < 1)
		return 0;
	if (path[0] == '\0')
		(void)snprintf(path, sizeof(path), "/tmp/fuzz_snapshot.%ld",
			       (long)getpid());
	keyed = (data[0] & 1) != 0;
	f = fopen(path, "w");
	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(fwrite(data + 1, 1, size - 1, f) == size - 1);
	FUZZ_CHECK(fclose(f) == 0);
	if (snap_open(&r, path, keyed, keyed ? keyed_legacy : plain_legacy,
		      &err) < 0) {
		FUZZ_CHECK(err.code != ERR_NONE);
		error_release(&err);
		return 0;
	}
	while ((rc = snap_next(&r, &err)) == 1 && rows++ < 10000) {
		FUZZ_CHECK(r.nf >= 1 && r.nf <= SNAP_COLS_MAX);
		/* a keyed header may name its kind only: rows of no value */
		FUZZ_CHECK(r.names != NULL && r.nnames >= (keyed ? 0 : 1));
		for (i = 0; i < r.nnames && i < r.nf; i++) {
			const char *v = snap_get(&r, r.names[i], &err);

			FUZZ_CHECK(v != NULL);
			FUZZ_CHECK(strpbrk(v, "\t\r\n") == NULL);
		}
		error_release(&err);
		if (keyed)
			FUZZ_CHECK(snap_kind(&r) != NULL);
		(void)snap_get(&r, "no-such-column", &err);
		error_release(&err);
	}
	if (rc < 0) {
		FUZZ_CHECK(err.code != ERR_NONE);
		FUZZ_CHECK(strstr(error_msg(&err), path) != NULL);
	}
	error_release(&err);
	snap_close(&r);
	return 0;
}
