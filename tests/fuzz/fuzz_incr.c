/*
 * fuzz_incr - what reads a previous generation's files: incr_merge()
 * over any old file, part and list of names (first byte: the format;
 * the three split at 0xff bytes, names one a line), incr_inputs_parse()
 * (INPUTS), incr_column_max() and gen_tls_load() (tls_domains).
 * Invariants: a merge that succeeds gives the old file with the dropped
 * rows replaced by the added ones (lengths add up; unchanged means the
 * dropped rows are the added ones and no output); accepted INPUTS
 * writes back as the very same bytes
 */
#include "fuzz.h"

#include "gen.h"
#include "incr.h"

static size_t count_nl(const struct strbuf *sb)
{
	size_t i, n = 0;

	for (i = 0; i < sb->len; i++)
		n += sb->buf[i] == '\n';
	return n;
}

static void merge(const uint8_t *data, size_t size)
{
	const uint8_t *p[3], *end = data + size;
	size_t len[3], nnames = 0, i;
	struct error err = ERROR_INIT;
	struct incr_merge m;
	enum incr_fmt fmt = (enum incr_fmt)(data[0] % 3);
	char *names[64], *nbuf;
	const uint8_t *q = data + 1;

	for (i = 0; i < 3; i++) {
		const uint8_t *sep =
			i < 2 ? memchr(q, 0xff, (size_t)(end - q)) : NULL;

		p[i] = q;
		len[i] = (size_t)((sep ? sep : end) - q);
		q = sep ? sep + 1 : end;
	}
	nbuf = fuzz_str(p[2], len[2]);
	for (char *s = nbuf; *s && nnames < 64;) {
		char *nl = strchr(s, '\n');

		if (nl)
			*nl = '\0';
		names[nnames++] = s;
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	incr_merge_init(&m);
	if (incr_merge(fmt, (const char *)p[0], len[0], (const char *)p[1],
		       len[1], names, nnames, &m, &err) == 0) {
		FUZZ_CHECK(m.ndropped == count_nl(&m.dropped));
		FUZZ_CHECK(m.nadded == count_nl(&m.added));
		if (m.changed) {
			FUZZ_CHECK(m.out.len + m.dropped.len ==
				   len[0] + m.added.len);
		} else {
			FUZZ_CHECK(m.out.len == 0);
			FUZZ_CHECK(m.dropped.len == m.added.len);
			FUZZ_CHECK(memcmp(m.dropped.buf, m.added.buf,
					  m.added.len) == 0);
		}
	} else {
		FUZZ_CHECK(err.code == ERR_CONFLICT);
	}
	{
		long long max;

		error_release(&err);
		(void)incr_column_max((const char *)p[0], len[0],
				      (const char *)p[1], len[1], "domain",
				      "max_bytes", &max, &err);
		FUZZ_CHECK(max >= 0);
	}
	error_release(&err);
	incr_merge_release(&m);
	free(nbuf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf conf;
	static int init;
	struct error err = ERROR_INIT;
	struct incr_inputs in;
	struct gen g;

	if (size < 1)
		return 0;
	if (!init) {
		conf_defaults(&conf);
		init = 1;
	}
	merge(data, size);
	if (incr_inputs_parse((const char *)data, size, &in, &err) == 0) {
		struct strbuf t = STRBUF_INIT;

		incr_inputs_format(&in, &t);
		FUZZ_CHECK(t.len == size && memcmp(t.buf, data, size) == 0);
		sbuf_release(&t);
	} else {
		FUZZ_CHECK(err.code == ERR_INVALID);
	}
	error_release(&err);
	gen_init(&g, &conf);
	if (gen_tls_load(&g, (const char *)data, size, &err) == 0) {
		struct strbuf out = STRBUF_INIT;

		/* every entry loaded is one the map writer takes */
		FUZZ_CHECK(gen_tls_policy_finish(&g, &out, &err) == 0);
		sbuf_release(&out);
	}
	error_release(&err);
	gen_release(&g);
	return 0;
}
