/*
 * relay_incr - an incremental generation: what changed, merged in
 *
 * See relay_incr.h.  The previous generation's files are mapped, not
 * read: a merge touches the pages of the rows it searches and copies
 * the rest once, or not at all when the file did not change.
 */
#include "relay_incr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lmdbmap.h"
#include "util/atomicfile.h"
#include "util/log.h"

#define MB (1024LL * 1024)

const char *const relay_incr_files[RELAY_INCR_NFILES] = {
	"relay_domains",
	"transport",
	"tls_domains",
	"policy",
	"queue",
	"rspamd/mxfeed-domains",
	"rspamd/mxfeed-modes",
};
static const enum incr_fmt file_fmt[RELAY_INCR_NFILES] = {
	INCR_MAP,   INCR_MAP,	INCR_PLAIN, INCR_KEYED,
	INCR_PLAIN, INCR_PLAIN, INCR_PLAIN,
};
enum { F_DOMAINS, F_TRANSPORT, F_TLS, F_POLICY };

static struct strbuf *gen_file(struct gen *g, int i)
{
	struct strbuf *v[RELAY_INCR_NFILES] = {
		&g->relay_domains, &g->transport, &g->tls_domains, &g->policy,
		&g->queue,	   &g->spam,	  &g->modes,
	};

	return v[i];
}

void relay_incr_init(struct relay_incr *x)
{
	int i;

	memset(x, 0, sizeof(*x));
	for (i = 0; i < RELAY_INCR_NFILES; i++)
		incr_merge_init(&x->m[i]);
}

void relay_incr_release(struct relay_incr *x)
{
	size_t i;

	for (i = 0; i < RELAY_INCR_NFILES; i++)
		incr_merge_release(&x->m[i]);
	for (i = 0; i < x->nnames; i++)
		free(x->names[i]);
	free(x->names);
	x->names = NULL;
	x->nnames = 0;
	x->active = false;
}

/* A file mapped read-only ("" for an empty one). */
struct mapped {
	const char *p;
	size_t len;
	bool mapped;
};

static int map_in(const char *dir, const char *name, struct mapped *m,
		  struct error *err)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	m->p = "";
	m->len = 0;
	m->mapped = false;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		    (int)sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return error_set(err, ERR_CONFLICT, NULL, "cannot open %s/%s",
				 dir, name);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return error_set(err, ERR_CONFLICT, NULL, "cannot stat %s",
				 path);
	}
	if (st.st_size > 0) {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE,
			       fd, 0);

		if (p == MAP_FAILED) {
			close(fd);
			return error_set(err, ERR_CONFLICT, NULL,
					 "cannot map %s: %s", path,
					 strerror(errno));
		}
		m->p = p;
		m->len = (size_t)st.st_size;
		m->mapped = true;
	}
	close(fd);
	return 0;
}

static void map_out(struct mapped *m)
{
	if (m->mapped)
		(void)munmap((void *)m->p, m->len);
	m->mapped = false;
}

int relay_incr_digest(const struct conf *conf, char *out, struct error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	struct strbuf in = STRBUF_INIT;
	struct gen g;
	int rc = 0;

	/* the format (every header row) and the configuration's text */
	sbuf_addstr(&in, INCR_INPUTS_HEADER);
	gen_init(&g, conf);
	for (i = 0; i < RELAY_INCR_NFILES; i++) {
		const struct strbuf *f = gen_file(&g, (int)i);

		sbuf_addf(&in, "%s\n", relay_incr_files[i]);
		sbuf_add(&in, f->buf, f->len);
	}
	gen_release(&g);
	sbuf_addstr(&in, "conf\n");
	if (conf->path != NULL && conf->path[0] != '\0') {
		char buf[8192];
		ssize_t n;
		int fd = open(conf->path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			rc = error_set(err, ERR_INTERNAL, NULL,
				       "cannot read %s: %s", conf->path,
				       strerror(errno));
		while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
			sbuf_add(&in, buf, (size_t)n);
		if (fd >= 0)
			close(fd);
	}
	if (rc == 0 &&
	    EVP_Digest(in.buf, in.len, md, &mdlen, EVP_sha256(), NULL) != 1)
		rc = error_set(err, ERR_INTERNAL, NULL, "SHA-256 failed");
	sbuf_release(&in);
	if (rc < 0)
		return -1;
	for (i = 0; i < mdlen && i * 2 < INCR_DIGEST_HEX; i++)
		(void)snprintf(out + i * 2, 3, "%02x", md[i]);
	out[INCR_DIGEST_HEX] = '\0';
	return 0;
}

/* Merge every data file of prev with part into g; ERR_CONFLICT when
 * one does not merge (the caller generates in full). */
static int merge_all(struct relay_incr *x, struct gen *part, struct gen *g,
		     long long *dropped_max, struct error *err)
{
	int i;

	*dropped_max = 0;
	for (i = 0; i < RELAY_INCR_NFILES; i++) {
		const struct strbuf *pf = gen_file(part, i);
		struct strbuf *gf = gen_file(g, i);
		struct mapped old;
		int rc;

		if (map_in(x->prev, relay_incr_files[i], &old, err) < 0)
			return -1;
		rc = incr_merge(file_fmt[i], old.p, old.len, pf->buf, pf->len,
				x->names, x->nnames, &x->m[i], err);
		if (rc == 0 && i == F_POLICY)
			rc = incr_column_max(old.p, old.len,
					     x->m[i].dropped.buf,
					     x->m[i].dropped.len, "domain",
					     "max_bytes", dropped_max, err);
		if (rc == 0 && x->m[i].changed) {
			/* the merged text is g's now */
			sbuf_release(gf);
			*gf = x->m[i].out;
			sbuf_init(&x->m[i].out, 0);
		} else if (rc == 0 && i == F_TLS) {
			sbuf_reset(gf);
			sbuf_add(gf, old.p, old.len);
		}
		if (rc == 0 && i == F_TLS)
			rc = gen_tls_load(g, gf->buf, gf->len, err);
		map_out(&old);
		if (rc < 0) {
			if (err->code != ERR_CONFLICT)
				err->code = ERR_CONFLICT;
			return -1;
		}
	}
	return 0;
}

/* Why not incrementally, or NULL: it can be. */
static const char *incr_check(struct relay_incr *x, const struct conf *conf,
			      const struct gen *part, long long dropped_max,
			      long long *ndomains)
{
	long long recorded = x->in.max_bytes;
	long long site = (long long)conf->max_message_mb * MB;

	*ndomains = x->in.ndomains - (long long)x->m[F_DOMAINS].ndropped +
		    (long long)x->m[F_DOMAINS].nadded;
	if (x->in.ndomains <= 0 || *ndomains <= 0)
		return "no domain before or after";
	if (recorded > site && dropped_max >= recorded &&
	    (long long)part->max_message_mb * MB < recorded)
		return "a domain with the largest message size changed";
	return NULL;
}

int relay_incr_collect(struct relay_incr *x, struct store *s,
		       const struct conf *conf, const char *prev,
		       const char *digest, struct gen *g, int64_t *seq,
		       struct error *err)
{
	struct error e = ERROR_INIT;
	struct gen part;
	struct mapped in;
	const char *why = NULL;
	long long dropped_max = 0, ndomains = 0;
	bool too_many = false;
	int rc;

	relay_incr_release(x);
	if (strlcpy_checked(x->prev, prev, sizeof(x->prev)) < 0)
		return 0;
	if (map_in(prev, "INPUTS", &in, &e) < 0 ||
	    incr_inputs_parse(in.p, in.len, &x->in, &e) < 0) {
		map_out(&in);
		log_info("generating in full: the previous generation has "
			 "no INPUTS of this version (%s)",
			 error_msg(&e));
		error_release(&e);
		return 0;
	}
	map_out(&in);
	if (strcmp(x->in.digest, digest) != 0) {
		log_info("generating in full: the configuration or the file "
			 "formats changed");
		return 0;
	}
	gen_init(&part, conf);
	rc = store_snapshot_since(s, x->in.seq, INCR_MAX_DOMAINS, seq,
				  &x->names, &x->nnames, &too_many,
				  &relay_gen_fns, &part, err);
	if (rc < 0) {
		gen_release(&part);
		return -1;
	}
	if (too_many) {
		gen_release(&part);
		log_info("generating in full: more than %d domains changed",
			 INCR_MAX_DOMAINS);
		return 0;
	}
	if (merge_all(x, &part, g, &dropped_max, &e) < 0) {
		log_warn("generating in full: %s", error_msg(&e));
		error_release(&e);
		why = "";
	} else {
		why = incr_check(x, conf, &part, dropped_max, &ndomains);
		if (why != NULL)
			log_info("generating in full: %s", why);
	}
	if (why == NULL) {
		long long mb = x->in.max_bytes / MB;

		g->max_message_mb =
			(int)(mb > part.max_message_mb ? mb
						       : part.max_message_mb);
		g->ndomains = (size_t)ndomains;
		g->nskipped = part.nskipped;
		x->active = true;
		x->maps_changed =
			x->m[F_DOMAINS].changed || x->m[F_TRANSPORT].changed;
		log_info("generating incrementally: %zu domain(s) changed "
			 "since sequence %lld",
			 x->nnames, (long long)x->in.seq);
	}
	gen_release(&part);
	if (!x->active)
		relay_incr_release(x);
	return x->active ? 1 : 0;
}

bool relay_incr_unchanged(const struct relay_incr *x, const char *name)
{
	int i;

	if (!x->active)
		return false;
	for (i = 0; i < RELAY_INCR_NFILES; i++)
		if (strcmp(relay_incr_files[i], name) == 0)
			return !x->m[i].changed;
	return false;
}

int relay_incr_link(const struct relay_incr *x, const char *dir,
		    const char *name, struct error *err)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (snprintf(from, sizeof(from), "%s/%s", x->prev, name) >=
		    (int)sizeof(from) ||
	    snprintf(to, sizeof(to), "%s/%s", dir, name) >= (int)sizeof(to))
		return error_set(err, ERR_INTERNAL, NULL, "path too long: %s",
				 name);
	if (link(from, to) < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot link %s to %s: %s", from, to,
				 strerror(errno));
	return 0;
}

/* "KEY VALUE" lines of text as edits (value NULL: delete KEY). */
static void edits_of(const struct strbuf *text, bool del,
		     struct lmdbmap_edit **v, size_t *n)
{
	const char *p = text->buf, *end = text->buf + text->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		const char *sp = memchr(p, ' ', (size_t)(e - p));
		struct lmdbmap_edit ed;

		if (*p != '#' && sp != NULL) {
			ed.key = p;
			ed.klen = (size_t)(sp - p);
			ed.value = del ? NULL : sp + 1;
			ed.vlen = del ? 0 : (size_t)(e - sp - 1);
			*v = xrealloc(*v, (*n + 1) * sizeof(**v));
			(*v)[(*n)++] = ed;
		}
		p = nl ? nl + 1 : end;
	}
}

static int patch(const struct relay_incr *x, const char *dir, const char *name,
		 const struct lmdbmap_edit *e, size_t n, struct error *err)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (snprintf(from, sizeof(from), "%s/%s.lmdb", x->prev, name) >=
		    (int)sizeof(from) ||
	    snprintf(to, sizeof(to), "%s/%s.lmdb", dir, name) >=
		    (int)sizeof(to))
		return error_set(err, ERR_INTERNAL, NULL, "path too long: %s",
				 name);
	return lmdbmap_patch(from, to, e, n, err);
}

/* The edits from old to new, both "KEY VALUE" lines sorted by KEY. */
static void edits_diff(const char *a, size_t al, const char *b, size_t bl,
		       struct lmdbmap_edit **v, size_t *n)
{
	const char *pa = a, *ea = a + al, *pb = b, *eb = b + bl;

	while (pa < ea || pb < eb) {
		const char *na =
			pa < ea ? memchr(pa, '\n', (size_t)(ea - pa)) : NULL;
		const char *nb =
			pb < eb ? memchr(pb, '\n', (size_t)(eb - pb)) : NULL;
		size_t ka = 0, kb = 0;
		struct lmdbmap_edit ed;
		int c;

		if (pa < ea && na == NULL)
			na = ea; /* no newline at the end: the rest */
		if (pb < eb && nb == NULL)
			nb = eb;
		if (na != NULL) {
			const char *sp = memchr(pa, ' ', (size_t)(na - pa));

			ka = (size_t)((sp ? sp : na) - pa);
		}
		if (nb != NULL) {
			const char *sp = memchr(pb, ' ', (size_t)(nb - pb));

			kb = (size_t)((sp ? sp : nb) - pb);
		}
		if (pa >= ea)
			c = 1;
		else if (pb >= eb)
			c = -1;
		else {
			c = memcmp(pa, pb, ka < kb ? ka : kb);
			if (c == 0)
				c = ka < kb ? -1 : ka > kb ? 1 : 0;
		}
		if (c < 0) { /* only in a: delete */
			ed = (struct lmdbmap_edit){ pa, ka, NULL, 0 };
		} else {
			size_t vl = (size_t)(nb - pb) > kb
					    ? (size_t)(nb - pb) - kb - 1
					    : 0;

			ed = (struct lmdbmap_edit){ pb, kb, pb + kb + 1, vl };
			if (vl == 0)
				ed.value = pb + kb; /* "" */
		}
		if (c != 0 || (size_t)(na - pa) != (size_t)(nb - pb) ||
		    memcmp(pa, pb, (size_t)(na - pa)) != 0) {
			*v = xrealloc(*v, (*n + 1) * sizeof(**v));
			(*v)[(*n)++] = ed;
		}
		if (c <= 0)
			pa = na + 1;
		if (c >= 0)
			pb = nb + 1;
	}
}

int relay_incr_maps(struct relay_incr *x, const char *dir,
		    const struct strbuf *tls_map, struct error *err)
{
	struct lmdbmap_edit *e = NULL;
	struct mapped old;
	char path[PATH_MAX];
	size_t n = 0;
	int i, rc = 0;

	for (i = F_DOMAINS; i <= F_TRANSPORT && rc == 0; i++) {
		char lm[64];

		if (!x->m[i].changed) {
			(void)snprintf(lm, sizeof(lm), "%s.lmdb",
				       relay_incr_files[i]);
			rc = relay_incr_link(x, dir, lm, err);
			continue;
		}
		n = 0;
		edits_of(&x->m[i].dropped, true, &e, &n);
		edits_of(&x->m[i].added, false, &e, &n);
		rc = patch(x, dir, relay_incr_files[i], e, n, err);
	}
	if (rc < 0 || map_in(x->prev, "tls_policy", &old, err) < 0) {
		free(e);
		return -1;
	}
	if (old.len == tls_map->len &&
	    memcmp(old.p, tls_map->buf, old.len) == 0) {
		rc = relay_incr_link(x, dir, "tls_policy", err);
		if (rc == 0)
			rc = relay_incr_link(x, dir, "tls_policy.lmdb", err);
	} else {
		n = 0;
		edits_diff(old.p, old.len, tls_map->buf, tls_map->len, &e, &n);
		x->maps_changed = true;
		if (snprintf(path, sizeof(path), "%s/tls_policy", dir) >=
		    (int)sizeof(path))
			rc = error_set(err, ERR_INTERNAL, NULL,
				       "path too long: %s", dir);
		else
			rc = atomic_write(
				path, tls_map->buf, tls_map->len, 0644,
				ATOMIC_NO_DIRSYNC | ATOMIC_BACKDATE, err);
		if (rc == 0)
			rc = patch(x, dir, "tls_policy", e, n, err);
	}
	map_out(&old);
	free(e);
	return rc;
}

char **relay_incr_moved(const struct relay_incr *x, size_t *n)
{
	const struct incr_merge *m = &x->m[F_TRANSPORT];
	const char *p = m->added.buf, *end = p + m->added.len;
	char **out = NULL;

	*n = 0;
	if (!x->active || !m->changed)
		return NULL;
	/* each new row not among the old ones: a new or other route */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		size_t kl = strcspn(p, " \n");
		const char *d = m->dropped.buf, *dend = d + m->dropped.len;
		bool same = false;

		while (d < dend && !same) {
			const char *dn = memchr(d, '\n', (size_t)(dend - d));
			size_t dl = (size_t)((dn ? dn : dend) - d);

			same = dl == len && memcmp(d, p, len) == 0;
			d = dn ? dn + 1 : dend;
		}
		if (!same && kl > 0 && kl < len) {
			char *name = xrealloc(NULL, kl + 1);

			memcpy(name, p, kl);
			name[kl] = '\0';
			out = xrealloc(out, (*n + 1) * sizeof(*out));
			out[(*n)++] = name;
		}
		p = nl ? nl + 1 : end;
	}
	return out;
}
