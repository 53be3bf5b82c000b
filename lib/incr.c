/*
 * incr - an incremental generation: the previous one's files, merged
 *
 * See incr.h.  The old file is searched in place: a row is found by
 * binary search over byte offsets (back to the start of the line under
 * the middle offset), so a merge costs a search per changed name and
 * section plus one copy of the untouched spans - and no copy at all
 * when the rows of the changed names are what they were.
 */
#include "incr.h"

#include <stdlib.h>
#include <string.h>

#define INCR_KINDS_MAX 8

struct fmt_ctx {
	enum incr_fmt fmt;
	/* a keyed file's kinds, in the order of its header rows */
	const char *kind[INCR_KINDS_MAX];
	size_t kindlen[INCR_KINDS_MAX];
	int nkinds;
	bool bad; /* a row without a key, or of no known kind */
};

struct row {
	int rank;
	const char *key;
	size_t klen;
	const char *p, *e; /* the line, without its newline */
};

void incr_merge_init(struct incr_merge *m)
{
	memset(m, 0, sizeof(*m));
	sbuf_init(&m->out, 0);
	sbuf_init(&m->dropped, 0);
	sbuf_init(&m->added, 0);
}

void incr_merge_release(struct incr_merge *m)
{
	sbuf_release(&m->out);
	sbuf_release(&m->dropped);
	sbuf_release(&m->added);
}

/* The end of the header rows: the offset of the first line not
 * starting with '#'; -1 when a header row has no newline. */
static long header_end(const char *t, size_t len)
{
	size_t off = 0;

	while (off < len && t[off] == '#') {
		const char *nl = memchr(t + off, '\n', len - off);

		if (nl == NULL)
			return -1;
		off = (size_t)(nl - t) + 1;
	}
	return (long)off;
}

/* A keyed file's kinds from its header rows ("#KIND\t..." or "#KIND"). */
static int kinds_init(struct fmt_ctx *c, const char *t, size_t hlen,
		      struct error *err)
{
	size_t off = 0;

	c->nkinds = 0;
	while (off < hlen) {
		const char *p = t + off + 1,
			   *nl = memchr(p, '\n', hlen - off - 1);
		size_t n;

		if (nl == NULL)
			break;
		n = strcspn(p, "\t\n");
		if ((size_t)(nl - p) < n)
			n = (size_t)(nl - p);
		if (c->nkinds == INCR_KINDS_MAX || n == 0)
			return error_set(err, ERR_CONFLICT, NULL,
					 "too many or empty header rows");
		c->kind[c->nkinds] = p;
		c->kindlen[c->nkinds++] = n;
		off = (size_t)(nl - t) + 1;
	}
	return 0;
}

/* The row [p, e): its rank (section) and key; bad rows rank -1. */
static void row_of(struct fmt_ctx *c, const char *p, const char *e,
		   struct row *r)
{
	const char *k = p, *ke;
	int i;

	r->p = p;
	r->e = e;
	r->rank = 0;
	if (c->fmt == INCR_KEYED) {
		const char *tab = memchr(p, '\t', (size_t)(e - p));
		size_t n = tab ? (size_t)(tab - p) : 0;

		r->rank = -1;
		for (i = 0; tab != NULL && i < c->nkinds; i++)
			if (c->kindlen[i] == n && memcmp(c->kind[i], p, n) == 0)
				r->rank = i;
		k = tab ? tab + 1 : e;
	}
	ke = memchr(k, c->fmt == INCR_MAP ? ' ' : '\t', (size_t)(e - k));
	if (ke == NULL)
		ke = e;
	r->key = k;
	r->klen = (size_t)(ke - k);
	if (r->rank < 0 || r->klen == 0) {
		c->bad = true;
		r->rank = -1;
	}
}

static int key_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int d = memcmp(a, b, al < bl ? al : bl);

	return d != 0 ? d : al < bl ? -1 : al > bl ? 1 : 0;
}

static int row_cmp(const struct row *r, int rank, const char *key, size_t klen)
{
	if (r->rank != rank)
		return r->rank < rank ? -1 : 1;
	return key_cmp(r->key, r->klen, key, klen);
}

/* The row of the line starting at off (the text ends in a newline). */
static size_t line_at(struct fmt_ctx *c, const char *t, size_t off, size_t len,
		      struct row *r)
{
	const char *nl = memchr(t + off, '\n', len - off);

	row_of(c, t + off, nl, r);
	return (size_t)(nl - t) + 1;
}

/* The first line in [lo, hi) (line starts) not below (rank, key). */
static size_t lower_bound(struct fmt_ctx *c, const char *t, size_t lo,
			  size_t hi, int rank, const char *key, size_t klen)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, start, next;
		const char *nl =
			mid > lo ? memrchr(t + lo, '\n', mid - lo) : NULL;
		struct row r;

		start = nl != NULL ? (size_t)(nl - t) + 1 : lo;
		next = line_at(c, t, start, hi, &r);
		if (row_cmp(&r, rank, key, klen) < 0)
			lo = next;
		else
			hi = start;
	}
	return lo;
}

struct span {
	const char *p;
	size_t len;
};

struct spans {
	struct span *v;
	size_t n, cap;
};

static void span_add(struct spans *s, const char *p, size_t len)
{
	if (len == 0)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n].p = p;
	s->v[s->n++].len = len;
}

static int names_check(char *const *names, size_t n, struct error *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i][0] == '\0' ||
		    (i > 0 && strcmp(names[i - 1], names[i]) >= 0))
			return error_set(err, ERR_CONFLICT, NULL,
					 "changed names not sorted");
	return 0;
}

static int name_known(char *const *names, size_t n, const char *key,
		      size_t klen)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = key_cmp(names[mid], strlen(names[mid]), key, klen);

		if (d == 0)
			return 1;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* part's rows, checked: each of a changed name, in order. */
static int part_rows(struct fmt_ctx *c, const char *part, size_t start,
		     size_t len, char *const *names, size_t nnames,
		     struct row **out, size_t *n, struct error *err)
{
	size_t off = start, cap = 0;
	struct row r;

	*out = NULL;
	*n = 0;
	while (off < len) {
		off = line_at(c, part, off, len, &r);
		if (r.rank < 0 || !name_known(names, nnames, r.key, r.klen) ||
		    (*n > 0 &&
		     row_cmp(&(*out)[*n - 1], r.rank, r.key, r.klen) > 0)) {
			free(*out);
			*out = NULL;
			return error_set(err, ERR_CONFLICT, NULL,
					 "a new row out of order, of no "
					 "changed name or without a key");
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		(*out)[(*n)++] = r;
	}
	return 0;
}

int incr_merge(enum incr_fmt fmt, const char *old, size_t oldlen,
	       const char *part, size_t partlen, char *const *names,
	       size_t nnames, struct incr_merge *m, struct error *err)
{
	struct fmt_ctx c = { .fmt = fmt };
	struct spans sp = { NULL, 0, 0 };
	struct row *pr = NULL;
	size_t npr = 0, pi = 0, pos, i;
	long oh = header_end(old, oldlen), ph = header_end(part, partlen);
	int rank, nranks;

	sbuf_reset(&m->out);
	sbuf_reset(&m->dropped);
	sbuf_reset(&m->added);
	m->ndropped = m->nadded = 0;
	m->changed = false;
	if (oh < 0 || ph < 0 || (oldlen > 0 && old[oldlen - 1] != '\n') ||
	    (partlen > 0 && part[partlen - 1] != '\n'))
		return error_set(err, ERR_CONFLICT, NULL,
				 "a file does not end in a newline");
	if (!(ph == 0 && partlen == 0) &&
	    (ph != oh || memcmp(old, part, (size_t)oh) != 0))
		return error_set(err, ERR_CONFLICT, NULL,
				 "the header rows differ");
	if (names_check(names, nnames, err) < 0)
		return -1;
	if (fmt == INCR_KEYED && kinds_init(&c, old, (size_t)oh, err) < 0)
		return -1;
	nranks = fmt == INCR_KEYED ? c.nkinds : 1;
	if (part_rows(&c, part, (size_t)ph, partlen, names, nnames, &pr, &npr,
		      err) < 0)
		return -1;
	pos = (size_t)oh;
	span_add(&sp, old, pos);
	for (rank = 0; rank < nranks; rank++) {
		for (i = 0; i < nnames; i++) {
			size_t kl = strlen(names[i]), lo, hi;
			struct row r;

			lo = lower_bound(&c, old, pos, oldlen, rank, names[i],
					 kl);
			hi = lo;
			while (hi < oldlen) {
				size_t next = line_at(&c, old, hi, oldlen, &r);

				if (row_cmp(&r, rank, names[i], kl) != 0)
					break;
				hi = next;
				m->ndropped++;
			}
			span_add(&sp, old + pos, lo - pos);
			sbuf_add(&m->dropped, old + lo, hi - lo);
			for (; pi < npr &&
			       row_cmp(&pr[pi], rank, names[i], kl) == 0;
			     pi++) {
				size_t n = (size_t)(pr[pi].e - pr[pi].p) + 1;

				span_add(&sp, pr[pi].p, n);
				sbuf_add(&m->added, pr[pi].p, n);
				m->nadded++;
			}
			pos = hi;
		}
	}
	span_add(&sp, old + pos, oldlen - pos);
	free(pr);
	if (c.bad || pi != npr) {
		free(sp.v);
		return error_set(err, ERR_CONFLICT, NULL,
				 "a row without a key or of no known kind");
	}
	m->changed = m->dropped.len != m->added.len ||
		     memcmp(m->dropped.buf, m->added.buf, m->added.len) != 0;
	for (i = 0; m->changed && i < sp.n; i++)
		sbuf_add(&m->out, sp.v[i].p, sp.v[i].len);
	free(sp.v);
	return 0;
}

/* ---- INPUTS ------------------------------------------------------ */

void incr_inputs_format(const struct incr_inputs *in, struct strbuf *out)
{
	sbuf_addf(out,
		  INCR_INPUTS_HEADER "seq\t%lld\ndigest\t%s\nmax_bytes\t%lld\n"
				     "domains\t%lld\n",
		  (long long)in->seq, in->digest, in->max_bytes, in->ndomains);
}

/* A line "name\tDIGITS\n" at *p: its number. */
static int inputs_num(const char **p, const char *end, const char *name,
		      long long *v)
{
	size_t n = strlen(name), d = 0;
	const char *q = *p;

	if ((size_t)(end - q) < n + 1 || memcmp(q, name, n) != 0 ||
	    q[n] != '\t')
		return -1;
	q += n + 1;
	if (q + 1 < end && q[0] == '0' && q[1] != '\n')
		return -1; /* no leading zero: one spelling per number */
	*v = 0;
	while (q < end && *q >= '0' && *q <= '9' && d < 18) {
		*v = *v * 10 + (*q++ - '0');
		d++;
	}
	if (d == 0 || q == end || *q != '\n')
		return -1;
	*p = q + 1;
	return 0;
}

int incr_inputs_parse(const char *text, size_t len, struct incr_inputs *in,
		      struct error *err)
{
	const char *p = text, *end = text + len;
	size_t hl = strlen(INCR_INPUTS_HEADER), i;
	long long seq;

	memset(in, 0, sizeof(*in));
	if (len < hl || memcmp(p, INCR_INPUTS_HEADER, hl) != 0)
		goto bad;
	p += hl;
	if (inputs_num(&p, end, "seq", &seq) < 0)
		goto bad;
	in->seq = seq;
	if ((size_t)(end - p) < 7 + INCR_DIGEST_HEX + 1 ||
	    memcmp(p, "digest\t", 7) != 0 || p[7 + INCR_DIGEST_HEX] != '\n')
		goto bad;
	for (i = 0; i < INCR_DIGEST_HEX; i++) {
		char ch = p[7 + i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			goto bad;
		in->digest[i] = ch;
	}
	in->digest[INCR_DIGEST_HEX] = '\0';
	p += 7 + INCR_DIGEST_HEX + 1;
	if (inputs_num(&p, end, "max_bytes", &in->max_bytes) < 0 ||
	    inputs_num(&p, end, "domains", &in->ndomains) < 0 || p != end)
		goto bad;
	return 0;
bad:
	memset(in, 0, sizeof(*in));
	return error_set(err, ERR_INVALID, NULL,
			 "INPUTS is not what this version writes");
}

/* ---- a column's largest number -------------------------------------- */

/* The index of name among the tab-separated fields of [p, e). */
static int field_index(const char *p, const char *e, const char *name)
{
	size_t n = strlen(name);
	int i = 0;

	for (;;) {
		const char *t = memchr(p, '\t', (size_t)(e - p));
		const char *fe = t ? t : e;

		if ((size_t)(fe - p) == n && memcmp(p, name, n) == 0)
			return i;
		if (t == NULL)
			return -1;
		p = t + 1;
		i++;
	}
}

int incr_column_max(const char *hdr, size_t hlen, const char *rows, size_t rlen,
		    const char *kind, const char *col, long long *max,
		    struct error *err)
{
	size_t off = 0, kl = strlen(kind);
	const char *end = rows + rlen;
	const char *p = rows;
	int idx = -1;

	*max = 0;
	while (off < hlen && hdr[off] == '#') {
		const char *nl = memchr(hdr + off, '\n', hlen - off);
		const char *h = hdr + off + 1;

		if (nl == NULL)
			break;
		if ((size_t)(nl - h) > kl && memcmp(h, kind, kl) == 0 &&
		    h[kl] == '\t')
			idx = field_index(h, nl, col);
		off = (size_t)(nl - hdr) + 1;
	}
	if (idx < 1)
		return error_set(err, ERR_CONFLICT, NULL,
				 "no column %s in %s rows", col, kind);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *f = p;
		long long v = 0;
		int i;

		if ((size_t)(e - p) > kl && memcmp(p, kind, kl) == 0 &&
		    p[kl] == '\t') {
			for (i = 0; i < idx && f != NULL; i++) {
				f = memchr(f, '\t', (size_t)(e - f));
				f = f ? f + 1 : NULL;
			}
			if (f == NULL || f == e || *f < '0' || *f > '9')
				return error_set(err, ERR_CONFLICT, NULL,
						 "a %s row without %s", kind,
						 col);
			for (i = 0; f < e && *f >= '0' && *f <= '9' && i < 18;
			     i++)
				v = v * 10 + (*f++ - '0');
			if (f < e && *f != '\t')
				return error_set(err, ERR_CONFLICT, NULL,
						 "%s is not a number", col);
			if (v > *max)
				*max = v;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}
