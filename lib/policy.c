/*
 * policy - the relay's per-recipient decisions (SPEC section 4, step 2)
 *
 * See policy.h.  The snapshot is a keyed snapshot file (snapshot.h):
 * rows "domain", "rule" and "rcpt", read by column name.  Lookups are a
 * binary search over the domains, which gen.c wrote in name order (the
 * loader checks that order).  A mapped policy (policy_map) searches the
 * file's lines instead and keeps what it found in a per-process cache.
 */
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot.h"
#include "util/log.h"
#include "util/parse.h"

/* bytes of rows prefetched at most: a stride of ordinary rows */
#define POLICY_PREFETCH_MAX (POLICY_INDEX_STRIDE * 256)
/* the columns of a domain row the loader reads (the most of a kind) */
#define DOMAIN_COLS 6

static void domain_release(struct policy_domain *d)
{
	size_t i;

	for (i = 0; i < d->nrules; i++)
		rule_regex_free(d->rules[i].re);
	free(d->rules);
	free(d->ips);
	for (i = 0; i < d->nrcpts; i++)
		free(d->rcpts[i]);
	free(d->rcpts);
}

/* The kinds of rows, in the order of their sections in the file. */
enum { K_DOMAIN, K_RULE, K_RCPT, K_COUNT };
static const char *const kinds[K_COUNT] = { "domain", "rule", "rcpt" };

struct policy_map {
	struct snap_reader r; /* its headers; the row being checked */
	const char *base;     /* the mapping */
	size_t size;
	size_t body;		 /* offset of the first row */
	size_t sec[K_COUNT + 1]; /* where each kind's rows start; size */
	int name_col[K_COUNT];	 /* field index of "name" per kind */
	/* the field index of each column a loader reads, per kind (in
	 * domain_cols' order...), or NULL: look them up by name */
	int pos[K_COUNT][DOMAIN_COLS];
	const int *col[K_COUNT];
	bool failed;	 /* the last lookup met a bad row */
	const char *idx; /* the sparse index (policy_index), or NULL */
	size_t idx_size, idx_body;
	struct policy_domain cache[POLICY_CACHE];
	bool used[POLICY_CACHE];
};

static void map_release(struct policy_map *m)
{
	size_t i;

	for (i = 0; i < POLICY_CACHE; i++)
		if (m->used[i])
			domain_release(&m->cache[i]);
	if (m->base != NULL)
		(void)munmap((void *)m->base, m->size);
	if (m->idx != NULL)
		(void)munmap((void *)m->idx, m->idx_size);
	snap_close(&m->r);
	free(m);
}

void policy_release(struct policy *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		domain_release(&p->v[i]);
	free(p->v);
	p->v = NULL;
	p->n = 0;
	if (p->map != NULL)
		map_release(p->map);
	p->map = NULL;
}

static int cmp_name(const void *key, const void *elem)
{
	return strcmp(key, ((const struct policy_domain *)elem)->name);
}

static const struct policy_domain *map_find(struct policy_map *m,
					    const char *alabel);

const struct policy_domain *policy_find(const struct policy *p,
					const char *alabel)
{
	if (p->map != NULL)
		return map_find(p->map, alabel);
	if (p->n == 0)
		return NULL;
	return bsearch(alabel, p->v, p->n, sizeof(*p->v), cmp_name);
}

/* The snapshot's columns; headerless files (older generations) have
 * them in this order. */
static const char *const domain_cols[DOMAIN_COLS] = {
	"name", "mode", "max_bytes", "greylisting", "recipients", "ips"
};
static const char *const rule_cols[] = { "name", "action", "kind", "value" };
static const char *const rcpt_cols[] = { "name", "local" };
static const struct snap_schema legacy[] = {
	{ "domain", domain_cols, 6 },
	{ "rule", rule_cols, 4 },
	{ "rcpt", rcpt_cols, 2 },
	{ NULL, NULL, 0 },
};
/* the columns the loaders take, per kind of row */
static const struct {
	const char *const *v;
	size_t n;
} kind_cols[K_COUNT] = { { domain_cols, DOMAIN_COLS },
			 { rule_cols, 4 },
			 { rcpt_cols, 2 } };

/*
 * A domain row's values in domain_cols' order: at the field positions
 * col when the caller found them once (policy_map), else each looked
 * up by name (every one: err names the last one missing).
 */
static int domain_values(const struct snap_reader *r, const int *col,
			 const char **v, struct error *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < DOMAIN_COLS; i++) {
		v[i] = col != NULL ? r->f[col[i]]
				   : snap_get(r, domain_cols[i], err);
		if (v[i] == NULL)
			rc = -1;
	}
	return rc;
}

/* All digits, at most 18 of them (no overflow): their value. */
static bool plain_number(const char *s, long long *v)
{
	size_t i;

	*v = 0;
	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		if (i == 18)
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return i > 0 && s[i] == '\0';
}

static int load_domain(struct policy *p, const char *const *v,
		       struct error *err)
{
	const char *name = v[0], *m = v[1], *mb = v[2], *grey = v[3];
	const char *rc = v[4], *ips = v[5];
	struct policy_domain *d;
	struct domain_name dn;
	long long maxbytes;
	int mode, rcpt;
	char *end = NULL;

	if (domain_name_parse(name, &dn, err) < 0)
		return -1;
	if (strcmp(dn.alabel, name) != 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "domain not in canonical form");
	if (p->n > 0 && strcmp(p->v[p->n - 1].name, dn.alabel) >= 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "domains out of order at %s", dn.alabel);
	mode = parse_enum(m, domain_mode_names);
	rcpt = parse_enum(rc, recipients_mode_names);
	errno = 0;
	/* what strtoll() would make of plain digits, without its cost */
	if (!plain_number(mb, &maxbytes))
		maxbytes = strtoll(mb, &end, 10);
	if (mode < 0 || rcpt < 0 || errno != 0 || (end != NULL && *end) ||
	    maxbytes < 1024 * 1024 ||
	    maxbytes > (long long)MESSAGE_MB_MAX * 1024 * 1024 ||
	    (strcmp(grey, "0") != 0 && strcmp(grey, "1") != 0))
		return error_set(err, ERR_INTERNAL, NULL,
				 "bad domain line for %s", dn.alabel);
	p->v = xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
	d = &p->v[p->n++];
	memset(d, 0, sizeof(*d));
	memcpy(d->name, dn.alabel, sizeof(d->name));
	d->mode = (enum domain_mode)mode;
	d->maxbytes = maxbytes;
	d->greylisting = grey[0] == '1';
	d->recipients = (enum recipients_mode)rcpt;
	while (ips[0] != '\0') {
		size_t n = strcspn(ips, ",");
		char ip[IP_TEXT_MAX + 1];

		if (n > IP_TEXT_MAX)
			return error_set(err, ERR_INTERNAL, NULL,
					 "bad address for %s", dn.alabel);
		memcpy(ip, ips, n);
		ip[n] = '\0';
		d->ips = xrealloc(d->ips, (d->nips + 1) * sizeof(*d->ips));
		if (ip_parse(ip, &d->ips[d->nips], "ips", err) < 0)
			return -1;
		d->nips++;
		ips += n + (ips[n] == ',');
	}
	return 0;
}

static int load_rule(struct policy *p, char **f, int nf, struct error *err)
{
	struct policy_domain *d;
	struct policy_rule *pr;
	struct rule r;

	if (nf != 5)
		return error_set(err, ERR_INTERNAL, NULL,
				 "rule line has %d fields", nf);
	/* rules follow their domains: the last one read, or an error */
	if (p->n == 0 || strcmp(p->v[p->n - 1].name, f[1]) != 0) {
		d = (struct policy_domain *)policy_find(p, f[1]);
		if (d == NULL)
			return error_set(err, ERR_INTERNAL, NULL,
					 "rule for an unknown domain");
	} else {
		d = &p->v[p->n - 1];
	}
	if (rule_parse_stored(f[2], f[3], f[4], &r, err) < 0)
		return -1;
	d->rules = xrealloc(d->rules, (d->nrules + 1) * sizeof(*d->rules));
	pr = &d->rules[d->nrules];
	memset(pr, 0, sizeof(*pr));
	pr->action = r.action;
	pr->kind = r.kind;
	if (r.kind == RULE_SENDER_REGEX) {
		struct error why = ERROR_INIT;
		struct strbuf esc = STRBUF_INIT;

		/* compiled once per process, here; checked as on save */
		pr->re = rule_regex_compile(r.value, &why);
		if (pr->re == NULL) {
			sbuf_addesc(&esc, r.value, RULE_VALUE_MAX);
			log_kv(LOG_LEVEL_WARN,
			       (struct log_field[]){ { LOG_F_DOMAIN, d->name },
						     { NULL, NULL } },
			       "domain=%s skipping %s rule \"%s\": %s", d->name,
			       rule_action_names[r.action], esc.buf,
			       error_msg(&why));
			sbuf_release(&esc);
			error_release(&why);
			return 0;
		}
	} else if (cidr_parse(r.value, &pr->net, "rule", err) < 0) {
		return -1;
	}
	d->nrules++;
	return 0;
}

static int load_rcpt(struct policy *p, char **f, int nf, struct error *err)
{
	struct policy_domain *d;
	size_t i;

	if (nf != 3)
		return error_set(err, ERR_INTERNAL, NULL,
				 "rcpt line has %d fields", nf);
	d = (struct policy_domain *)policy_find(p, f[1]);
	if (d == NULL)
		return error_set(err, ERR_INTERNAL, NULL,
				 "recipient for an unknown domain");
	for (i = 0; f[2][i]; i++)
		if (!islower((unsigned char)f[2][i]) &&
		    !isdigit((unsigned char)f[2][i]) &&
		    strchr("._+-", f[2][i]) == NULL)
			return error_set(err, ERR_INTERNAL, NULL,
					 "bad recipient for %s", d->name);
	if (i == 0 || i > 64 ||
	    (d->nrcpts > 0 && strcmp(d->rcpts[d->nrcpts - 1], f[2]) >= 0))
		return error_set(err, ERR_INTERNAL, NULL,
				 "bad or unordered recipient for %s", d->name);
	d->rcpts = xrealloc(d->rcpts, (d->nrcpts + 1) * sizeof(*d->rcpts));
	d->rcpts[d->nrcpts++] = xstrdup(f[2]);
	return 0;
}

static int cmp_str(const void *key, const void *elem)
{
	return strcmp(key, *(char *const *)elem);
}

/* The recipient's local part is listed (case-insensitively). */
static bool listed(const struct policy_domain *d, const char *rcpt)
{
	const char *at = rcpt ? strrchr(rcpt, '@') : NULL;
	char local[65];
	size_t i, n;

	if (at == NULL || (n = (size_t)(at - rcpt)) == 0 || n >= sizeof(local))
		return false;
	for (i = 0; i < n; i++)
		local[i] = (char)tolower((unsigned char)rcpt[i]);
	local[n] = '\0';
	return d->nrcpts > 0 && bsearch(local, d->rcpts, d->nrcpts,
					sizeof(*d->rcpts), cmp_str) != NULL;
}

/* A rule or rcpt row as the positional fields load_rule() and
 * load_rcpt() take: f[0] the kind, then the columns of cols. */
static int row_fields(const struct snap_reader *r, const char *const *cols,
		      size_t n, const int *col, const char **f,
		      struct error *err)
{
	size_t i;

	f[0] = snap_kind(r);
	for (i = 0; i < n; i++)
		if ((f[i + 1] = col != NULL
					? r->f[col[i]]
					: snap_get(r, cols[i], err)) == NULL)
			return -1;
	return (int)n + 1;
}

int policy_load(const char *path, struct policy *out, struct error *err)
{
	struct policy p = { 0, NULL, NULL };
	struct snap_reader r;
	int rc;

	if (snap_open(&r, path, true, legacy, err) < 0)
		return -1;
	while ((rc = snap_next(&r, err)) > 0) {
		const char *kind = snap_kind(&r), *f[5], *v[DOMAIN_COLS];
		int nf;

		if (strcmp(kind, "domain") == 0)
			rc = domain_values(&r, NULL, v, err) < 0
				     ? -1
				     : load_domain(&p, v, err);
		else if (strcmp(kind, "rule") == 0)
			rc = (nf = row_fields(&r, rule_cols, 4, NULL, f, err)) <
					     0
				     ? -1
				     : load_rule(&p, (char **)f, nf, err);
		else if (strcmp(kind, "rcpt") == 0)
			rc = (nf = row_fields(&r, rcpt_cols, 2, NULL, f, err)) <
					     0
				     ? -1
				     : load_rcpt(&p, (char **)f, nf, err);
		else
			rc = snap_fail(&r, err, "unknown kind of row");
		if (rc < 0) {
			snap_where(&r, err);
			break;
		}
	}
	snap_close(&r);
	if (rc < 0) {
		policy_release(&p);
		return -1;
	}
	*out = p;
	return 0;
}

/* ---- the mapped snapshot ------------------------------------------ */

/* The line holding offset off (from m->body on): its start and end. */
static const char *line_at(const struct policy_map *m, size_t off,
			   const char **end)
{
	const char *lo = m->base + m->body, *p = m->base + off, *e;

	if (p > lo) {
		e = memrchr(lo, '\n', (size_t)(p - lo));
		p = e != NULL ? e + 1 : lo;
	}
	e = memchr(p, '\n', (size_t)(m->base + m->size - p));
	*end = e != NULL ? e : m->base + m->size;
	return p;
}

/* The kind of a row as its section's rank, K_COUNT for none. */
static int line_kind(const char *p, const char *end)
{
	int k;

	for (k = 0; k < K_COUNT; k++) {
		size_t n = strlen(kinds[k]);

		if ((size_t)(end - p) > n && memcmp(p, kinds[k], n) == 0 &&
		    p[n] == '\t')
			return k;
	}
	return K_COUNT;
}

/* Field i of a row (no copy): its start and length; false without it. */
static bool line_field(const char *p, const char *end, int i, const char **f,
		       size_t *n)
{
	const char *t;

	for (; i > 0; i--) {
		t = memchr(p, '\t', (size_t)(end - p));
		if (t == NULL)
			return false;
		p = t + 1;
	}
	t = memchr(p, '\t', (size_t)(end - p));
	*f = p;
	*n = (size_t)((t != NULL ? t : end) - p);
	return true;
}

/* (kind, name) of the row at p against the key; a row of no known kind
 * sorts last. */
static int line_cmp(const struct policy_map *m, const char *p, const char *end,
		    int kind, const char *name, size_t nlen)
{
	int k = line_kind(p, end), c;
	const char *f;
	size_t n;

	if (k != kind)
		return k < kind ? -1 : 1;
	if (!line_field(p, end, m->name_col[k], &f, &n))
		return 1;
	c = memcmp(f, name, n < nlen ? n : nlen);
	if (c != 0)
		return c;
	return n < nlen ? -1 : n > nlen;
}

/* The offset of the first row not below (kind, name) in [lo, hi), both
 * line starts: lower bound. */
static size_t lower_bound(const struct policy_map *m, size_t lo, size_t hi,
			  int kind, const char *name)
{
	size_t nlen = strlen(name);

	while (lo < hi) {
		const char *end, *p = line_at(m, lo + (hi - lo) / 2, &end);

		if (line_cmp(m, p, end, kind, name, nlen) < 0)
			lo = (size_t)(end - m->base) + 1;
		else
			hi = (size_t)(p - m->base);
	}
	return lo;
}

/* Put the row at [p, end) through the reader; 1 when it is a row. */
static int map_row(struct policy_map *m, const char *p, const char *end,
		   struct error *err)
{
	/* the line number is not known without counting: the offset
	 * names the row in messages instead */
	return snap_line(&m->r, p, (size_t)(end - p), (long)(p - m->base), err);
}

/* The sparse index: a line "NAME\tOFFSET" for every POLICY_INDEX_STRIDE-th
 * domain row.  The section of domain rows to search: from the last
 * entry not above the name to the next entry, or all of it without an
 * index (or with one that does not fit this file: it is dropped). */
/*
 * One index line at line, ending before lim: "NAME\tOFFSET\n"; *v the
 * offset.  -1 when the line is not of that form.
 */
static int idx_offset(const char *line, const char *lim, unsigned long long *v)
{
	const char *t = memchr(line, '\t', (size_t)(lim - line));
	char *end;

	if (t == NULL)
		return -1;
	errno = 0;
	*v = strtoull(t + 1, &end, 10);
	return errno != 0 || *end != '\n' ? -1 : 0;
}

/* Start loading the cache lines of [p, p + n) when they are few: the
 * stride between two index entries. */
static void prefetch(const char *p, size_t n)
{
	size_t off;

	if (n == 0 || n > POLICY_PREFETCH_MAX)
		return;
	for (off = 0; off < n; off += 64)
		__builtin_prefetch(p + off);
	__builtin_prefetch(p + n - 1);
}

static size_t idx_lower_bound(struct policy_map *m, const char *name)
{
	size_t lo = m->idx_body, hi = m->idx_size, nlen = strlen(name);
	size_t from = m->sec[K_DOMAIN], to = m->sec[K_DOMAIN + 1];
	const char *best = NULL, *next = NULL;

	if (m->idx == NULL)
		return lower_bound(m, from, to, K_DOMAIN, name);
	/* the first entry above the name: upper bound over the lines */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *p = m->idx + mid, *e, *t;
		int c;

		/* the deep levels miss the caches: while this probe's line
		 * loads, load the lines the next probe may land on too */
		__builtin_prefetch(p - (mid - lo) / 2);
		__builtin_prefetch(p + (hi - mid) / 2);
		if (p > m->idx + m->idx_body) {
			const char *nl = memrchr(m->idx + m->idx_body, '\n',
						 mid - m->idx_body);

			p = nl != NULL ? nl + 1 : m->idx + m->idx_body;
		}
		e = memchr(p, '\n', (size_t)(m->idx + m->idx_size - p));
		t = e != NULL ? memchr(p, '\t', (size_t)(e - p)) : NULL;
		if (t == NULL)
			goto drop;
		c = memcmp(p, name,
			   (size_t)(t - p) < nlen ? (size_t)(t - p) : nlen);
		if (c == 0)
			c = (size_t)(t - p) < nlen ? -1
						   : (size_t)(t - p) > nlen;
		if (c <= 0)
			lo = (size_t)(e - m->idx) + 1;
		else
			hi = (size_t)(p - m->idx);
	}
	/* entries [idx_body, lo) are not above the name: the last of them
	 * starts the range, the entry at lo ends it */
	if (lo > m->idx_body) {
		const char *p = memrchr(m->idx + m->idx_body, '\n',
					lo - 1 - m->idx_body);

		best = p != NULL ? p + 1 : m->idx + m->idx_body;
	}
	if (lo < m->idx_size)
		next = m->idx + lo;
	if (best != NULL) {
		unsigned long long v;

		if (idx_offset(best, m->idx + lo, &v) < 0 || v < from ||
		    v >= to)
			goto drop;
		from = (size_t)v;
	}
	if (next != NULL) {
		unsigned long long v;

		if (idx_offset(next, m->idx + m->idx_size, &v) < 0 ||
		    v <= from || v > to)
			goto drop;
		to = (size_t)v;
	}
	/* the rows in between are a few cache lines of a file too big for
	 * the caches: ask for all of them at once, not one probe at a time */
	prefetch(m->base + from - (from > 0), to - from + (from > 0));
	/* both ends start rows */
	if ((best != NULL && from > 0 && m->base[from - 1] != '\n') ||
	    (next != NULL && m->base[to - 1] != '\n'))
		goto drop;
	return lower_bound(m, from, to, K_DOMAIN, name);
drop:
	log_warn("%s.idx does not fit the snapshot: searching without it",
		 m->r.path);
	(void)munmap((void *)m->idx, m->idx_size);
	m->idx = NULL;
	return lower_bound(m, m->sec[K_DOMAIN], m->sec[K_DOMAIN + 1], K_DOMAIN,
			   name);
}

/* Map PATH.idx when there is one for this very file (its header gives
 * the snapshot's size); without it the search is over all domain rows. */
static void idx_map(struct policy_map *m, const char *path)
{
	char ipath[PATH_MAX], want[96];
	struct stat st;
	const char *p, *e;
	int fd, n;

	if (snprintf(ipath, sizeof(ipath), "%s.idx", path) >=
	    (int)sizeof(ipath))
		return;
	fd = open(ipath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || st.st_size < 1) {
		close(fd);
		return;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return;
	n = snprintf(want, sizeof(want), POLICY_INDEX_HEADER "%zu\n", m->size);
	e = memchr(p, '\n', (size_t)st.st_size);
	if (n < 0 || e == NULL || (size_t)(e + 1 - p) != (size_t)n ||
	    memcmp(p, want, (size_t)n) != 0 || p[st.st_size - 1] != '\n') {
		/* another generation's, or another version's */
		(void)munmap((void *)p, (size_t)st.st_size);
		return;
	}
	m->idx = p;
	m->idx_size = (size_t)st.st_size;
	m->idx_body = (size_t)n;
}

void policy_index(const char *text, size_t len, struct strbuf *out)
{
	const char *p = text, *end = text + len;
	size_t k = 0;

	sbuf_addf(out, POLICY_INDEX_HEADER "%zu\n", len);
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		const char *t;

		if (e == NULL)
			break;
		if ((size_t)(e - p) > 7 && memcmp(p, "domain\t", 7) == 0 &&
		    k++ % POLICY_INDEX_STRIDE == 0 &&
		    (t = memchr(p + 7, '\t', (size_t)(e - p - 7))) != NULL) {
			sbuf_add(out, p + 7, (size_t)(t - p - 7));
			sbuf_addf(out, "\t%zu\n", (size_t)(p - text));
		}
		p = e + 1;
	}
}

/* The domain's rows checked into one[0]; 0 absent, 1 found, -1 bad. */
static int map_load(struct policy_map *m, const char *alabel,
		    struct policy *one, struct error *err)
{
	size_t off, nlen = strlen(alabel);
	const char *end, *p, *f[5], *v[DOMAIN_COLS];
	int k, nf;

	off = idx_lower_bound(m, alabel);
	if (off >= m->sec[K_DOMAIN + 1])
		return 0;
	p = line_at(m, off, &end);
	if (line_cmp(m, p, end, K_DOMAIN, alabel, nlen) != 0)
		return 0;
	if (map_row(m, p, end, err) != 1 ||
	    domain_values(&m->r, m->col[K_DOMAIN], v, err) < 0 ||
	    load_domain(one, v, err) < 0)
		return -1;
	for (k = K_RULE; k < K_COUNT; k++) {
		if (m->sec[k] == m->sec[k + 1])
			continue; /* no rows of that kind at all */
		off = lower_bound(m, m->sec[k], m->sec[k + 1], k, alabel);
		while (off < m->sec[k + 1]) {
			p = line_at(m, off, &end);
			if (line_cmp(m, p, end, k, alabel, nlen) != 0)
				break;
			if (map_row(m, p, end, err) != 1)
				return -1;
			nf = k == K_RULE ? row_fields(&m->r, rule_cols, 4,
						      m->col[k], f, err)
					 : row_fields(&m->r, rcpt_cols, 2,
						      m->col[k], f, err);
			if (nf < 0 ||
			    (k == K_RULE
				     ? load_rule(one, (char **)f, nf, err)
				     : load_rcpt(one, (char **)f, nf, err)) < 0)
				return -1;
			off = (size_t)(end - m->base) + 1;
		}
	}
	return 1;
}

static size_t slot_of(const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h % POLICY_CACHE;
}

static const struct policy_domain *map_find(struct policy_map *m,
					    const char *alabel)
{
	size_t i = slot_of(alabel);
	struct policy one = { 0, NULL, NULL };
	struct error err = ERROR_INIT;
	int rc;

	m->failed = false;
	if (m->used[i] && strcmp(m->cache[i].name, alabel) == 0)
		return &m->cache[i];
	rc = map_load(m, alabel, &one, &err);
	if (rc < 0) {
		snap_where(&m->r, &err);
		log_error("%s (offset, not line); deferring its mail",
			  error_msg(&err));
		error_release(&err);
		m->failed = true;
	}
	if (rc <= 0) {
		policy_release(&one);
		return NULL;
	}
	if (m->used[i])
		domain_release(&m->cache[i]);
	m->cache[i] = one.v[0];
	m->used[i] = true;
	free(one.v);
	return &m->cache[i];
}

/* A lookup met a bad row (mapped policy only). */
static bool lookup_failed(const struct policy *p)
{
	return p->map != NULL && p->map->failed;
}

int policy_map(const char *path, struct policy *out, struct error *err)
{
	struct policy_map *m = xcalloc(1, sizeof(*m));
	struct stat st;
	const char *p, *end;
	size_t i;
	int fd, k, rc;

	(void)snap_open_lines(&m->r, path, true, legacy);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error_set(err, ERR_TEMPFAIL, NULL, "cannot open %s: %s", path,
			  strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) < 0 || st.st_size < 1) {
		close(fd);
		error_set(err, ERR_INTERNAL, NULL, "%s: empty or unreadable",
			  path);
		goto fail;
	}
	m->size = (size_t)st.st_size;
	p = mmap(NULL, m->size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		error_set(err, ERR_TEMPFAIL, NULL, "cannot map %s: %s", path,
			  strerror(errno));
		goto fail;
	}
	m->base = p;
	if (m->base[m->size - 1] != '\n') {
		error_set(err, ERR_INTERNAL, NULL, "%s: last line cut", path);
		goto fail;
	}
	/* the header rows only: constant time whatever the domain count */
	for (p = m->base; p < m->base + m->size && *p == '#'; p = end + 1) {
		end = memchr(p, '\n', (size_t)(m->base + m->size - p));
		if (map_row(m, p, end, err) < 0)
			goto fail;
	}
	m->body = (size_t)(p - m->base);
	for (k = 0; k < K_COUNT; k++) {
		const char *h = snap_header_kind(&m->r, k);

		/* the sections' order is the headers' (when there are) */
		if (h != NULL && strcmp(h, kinds[k]) != 0) {
			error_set(err, ERR_INTERNAL, NULL,
				  "%s: header rows not in the order domain, "
				  "rule, rcpt",
				  path);
			goto fail;
		}
		m->name_col[k] = snap_column(&m->r, kinds[k], "name");
		if (m->name_col[k] < 0) {
			error_set(err, ERR_INTERNAL, NULL,
				  "%s: no column 'name' for %s rows", path,
				  kinds[k]);
			goto fail;
		}
		/* the rows' columns stay where the headers put them */
		m->col[k] = m->pos[k];
		for (i = 0; i < kind_cols[k].n; i++) {
			m->pos[k][i] =
				snap_column(&m->r, kinds[k], kind_cols[k].v[i]);
			if (m->pos[k][i] < 0)
				m->col[k] = NULL; /* by name: its error */
		}
	}
	/* each section's start: the first row not below (kind, "") */
	m->sec[K_COUNT] = m->size;
	for (k = K_COUNT - 1; k >= 0; k--)
		m->sec[k] = lower_bound(m, m->body, m->sec[k + 1], k, "");
	idx_map(m, path);
	rc = 0;
	out->n = 0;
	out->v = NULL;
	out->map = m;
	return rc;
fail:
	map_release(m);
	return -1;
}

/* Lower-cased domain part of an address into buf; false if none. */
static bool rcpt_domain(const char *rcpt, char *buf, size_t size)
{
	const char *at = rcpt ? strrchr(rcpt, '@') : NULL;
	size_t i, n;

	if (at == NULL || at[1] == '\0')
		return false;
	n = strlen(at + 1);
	if (n >= size)
		return false;
	for (i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)at[1 + i]);
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[n - 1] = '\0'; /* "example.com." is example.com */
	return true;
}

static enum rule_match rule_matches(const struct policy_domain *d,
				    const struct policy_rule *r,
				    const struct policy_request *rq)
{
	struct ip_addr ip;
	struct error e = ERROR_INIT;
	enum rule_match m = RULE_NOMATCH;

	if (r->kind == RULE_SENDER_REGEX) {
		const char *s = rq->sender ? rq->sender : "";
		const char *why = "matcher error";

		m = rule_regex_match(r->re, s, strlen(s), &why);
		if (m == RULE_MATCH_ERROR) {
			struct strbuf esc = STRBUF_INIT;

			sbuf_addesc(&esc, s, 100);
			log_kv(LOG_LEVEL_WARN,
			       (struct log_field[]){ { LOG_F_DOMAIN, d->name },
						     { NULL, NULL } },
			       "domain=%s %s rule #%zu hit the %s for "
			       "sender=<%s>",
			       d->name, rule_action_names[r->action],
			       (size_t)(r - d->rules) + 1, why, esc.buf);
			sbuf_release(&esc);
		}
		return m;
	}
	if (rq->client_address != NULL &&
	    ip_parse(rq->client_address, &ip, "client", &e) == 0 &&
	    cidr_contains(&r->net, &ip))
		m = RULE_MATCH;
	error_release(&e);
	return m;
}

static long long size_of(const struct policy_request *rq)
{
	long long v;
	char *end;

	if (rq->size == NULL || rq->size[0] == '\0')
		return 0;
	errno = 0;
	v = strtoll(rq->size, &end, 10);
	return errno != 0 || *end != '\0' || v < 0 ? 0 : v;
}

static void over_size(const struct policy_domain *d, struct strbuf *action)
{
	sbuf_addf(action,
		  "552 5.3.4 Message size exceeds the limit of %lld MB for "
		  "this domain",
		  d->maxbytes / (1024 * 1024));
}

/* ETRN #domain only from one of the domain's destination addresses */
static void etrn(const struct policy *p, const struct policy_request *rq,
		 struct strbuf *action)
{
	const char *arg = rq->etrn_domain ? rq->etrn_domain : "";
	const struct policy_domain *d;
	struct ip_addr ip;
	struct error e = ERROR_INIT;
	char dom[DOMAIN_NAME_MAX + 2];
	size_t i, n;

	if (*arg == '#')
		arg++;
	n = strlen(arg);
	if (n < sizeof(dom)) {
		for (i = 0; i < n; i++)
			dom[i] = (char)tolower((unsigned char)arg[i]);
		dom[n] = '\0';
		d = policy_find(p, dom);
		if (d != NULL && rq->client_address != NULL &&
		    ip_parse(rq->client_address, &ip, "client", &e) == 0)
			for (i = 0; i < d->nips; i++)
				if (d->ips[i].family == ip.family &&
				    memcmp(d->ips[i].addr, ip.addr,
					   sizeof(ip.addr)) == 0) {
					sbuf_addstr(action, "DUNNO");
					return;
				}
		error_release(&e);
	}
	sbuf_addstr(action, "554 5.7.1 ETRN for a domain is accepted only from "
			    "its destination");
}

/* A request not at RCPT: the size at END-OF-MESSAGE, ETRN's origin,
 * nothing else.  False at RCPT, which policy_decide() answers. */
static bool decide_not_rcpt(const struct policy *p,
			    const struct policy_session *ss,
			    const struct policy_request *rq,
			    struct strbuf *action)
{
	const struct policy_domain *d;

	if (rq->state != NULL && strcmp(rq->state, "END-OF-MESSAGE") == 0) {
		d = ss->domain[0] ? policy_find(p, ss->domain) : NULL;
		if (d != NULL && size_of(rq) > d->maxbytes)
			over_size(d, action);
		else
			sbuf_addstr(action, "DUNNO");
		return true;
	}
	if (rq->state != NULL && strcmp(rq->state, "ETRN") == 0) {
		etrn(p, rq, action);
		return true;
	}
	if (rq->state == NULL || strcmp(rq->state, "RCPT") != 0) {
		sbuf_addstr(action, "DUNNO");
		return true;
	}
	return false;
}

/* The domain's allow/block rules on RQ: true with the refusal in
 * ACTION, or false with *allowed telling whether an allow rule
 * matched. */
static bool refused_by_rules(const struct policy_domain *d,
			     const struct policy_request *rq, bool *allowed,
			     struct strbuf *action)
{
	bool blocked = false, allow_unknown = false, block_unknown = false;
	size_t i;

	*allowed = false;
	for (i = 0; i < d->nrules; i++) {
		bool allow = d->rules[i].action == RULE_ALLOW;

		switch (rule_matches(d, &d->rules[i], rq)) {
		case RULE_NOMATCH:
			break;
		case RULE_MATCH:
			*(allow ? allowed : &blocked) = true;
			break;
		case RULE_MATCH_ERROR:
			*(allow ? &allow_unknown : &block_unknown) = true;
			break;
		}
	}
	/*
	 * A rule that could not be evaluated defers only when its answer
	 * could change the outcome; an allow rule that could not be
	 * evaluated otherwise just leaves greylisting on.
	 */
	if (!*allowed && ((blocked && allow_unknown) || block_unknown)) {
		sbuf_addstr(action, "451 4.3.0 Sender rules could not be "
				    "evaluated, try again later");
		return true;
	}
	if (blocked && !*allowed) {
		sbuf_addstr(action, d->mode == MODE_BACKUP
					    ? "450 4.7.1 Sender or client "
					      "blocked by the domain's rules"
					    : "554 5.7.1 Sender or client "
					      "blocked by the domain's rules");
		return true;
	}
	return false;
}

/* The restriction class that accepts for D, greylisting or not. */
static const char *accept_class(const struct policy_domain *d, bool grey)
{
	if (d->mode == MODE_BACKUP && d->recipients == RCPT_VERIFY)
		return grey ? POLICY_BACKUP_VERIFY_GREYLIST_CLASS
			    : POLICY_BACKUP_VERIFY_CLASS;
	if (d->mode == MODE_BACKUP)
		return grey ? POLICY_BACKUP_GREYLIST_CLASS
			    : POLICY_BACKUP_CLASS;
	if (d->recipients == RCPT_VERIFY)
		return grey ? POLICY_VERIFY_GREYLIST_CLASS
			    : POLICY_VERIFY_CLASS;
	return grey ? POLICY_GREYLIST_CLASS : POLICY_FEED_CLASS;
}

void policy_decide(const struct policy *p, struct policy_session *ss,
		   const struct policy_request *rq, struct strbuf *action)
{
	const char *inst = rq->instance ? rq->instance : "";
	const struct policy_domain *d;
	char dom[DOMAIN_NAME_MAX + 2];
	bool allowed;

	if (strcmp(ss->instance, inst) != 0) {
		if (strlcpy_checked(ss->instance, inst, sizeof(ss->instance)) <
		    0)
			ss->instance[0] = '\0';
		ss->domain[0] = '\0';
	}
	if (decide_not_rcpt(p, ss, rq, action))
		return;
	if (!rcpt_domain(rq->recipient, dom, sizeof(dom)) ||
	    (d = policy_find(p, dom)) == NULL) {
		sbuf_addstr(action, lookup_failed(p)
					    ? "451 4.3.0 Relay configuration "
					      "problem, try again later"
					    : "550 5.1.2 Recipient domain not "
					      "handled here");
		return;
	}
	if (ss->domain[0] != '\0' && strcmp(ss->domain, d->name) != 0) {
		sbuf_addstr(action, "452 4.5.3 One recipient domain per "
				    "transaction: send this one again "
				    "separately");
		return;
	}
	memcpy(ss->domain, d->name, sizeof(ss->domain));
	if (size_of(rq) > d->maxbytes) {
		over_size(d, action);
		return;
	}
	if (refused_by_rules(d, rq, &allowed, action))
		return;
	if (d->recipients == RCPT_LIST && !listed(d, rq->recipient)) {
		sbuf_addstr(action, d->mode == MODE_BACKUP
					    ? "450 4.1.1 Recipient not listed "
					      "for this domain"
					    : "550 5.1.1 Recipient not listed "
					      "for this domain");
		return;
	}
	/* allow rules skip greylisting (SPEC section 4, step 2) */
	sbuf_addstr(action, accept_class(d, d->greylisting && !allowed));
}
