/*
 * strbuf - length-counted, growable, optionally capped strings
 *
 * Invariants of every initialised struct strbuf (git's, plus a cap):
 *   - buf is never NULL and always NUL-terminated at buf[len];
 *   - len is authoritative: buf may hold NUL bytes;
 *   - alloc is private; cap (0 = none) bounds len.
 * Adding past the cap keeps what fitted and sets the sticky "overflow"
 * flag, so a caller that reads a request body or a child's stderr checks
 * sbuf_overflowed() once at the end instead of after every append.
 * The functions are named sbuf_*, not strbuf_*: libconfig exports its own
 * strbuf_release() and strbuf_append(), and ours would interpose on them.
 * Running out of memory is fatal (log and abort): there is no sane way on.
 */
#ifndef MXFEED_STRBUF_H
#define MXFEED_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t cap;
	bool overflow;
};

extern char sbuf_slopbuf[];
#define STRBUF_INIT                                                            \
	{                                                                      \
		sbuf_slopbuf, 0, 0, 0, false                                   \
	}

void sbuf_init(struct strbuf *sb, size_t cap);
void sbuf_release(struct strbuf *sb);
/* Hand the buffer to the caller (free() it); sb is re-initialised. */
char *sbuf_detach(struct strbuf *sb, size_t *len);
void sbuf_reset(struct strbuf *sb);
void sbuf_add(struct strbuf *sb, const void *data, size_t len);
void sbuf_addstr(struct strbuf *sb, const char *s);
void sbuf_addch(struct strbuf *sb, char c);
/* Append v in decimal, as "%lld" would, without the printf machinery
 * (the generators write millions of numbers). */
void sbuf_addint(struct strbuf *sb, long long v);
void sbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Append s with C-style escapes for anything not printable ASCII, at
 * most max input bytes ("..." marks a cut): for logs and messages. */
void sbuf_addesc(struct strbuf *sb, const char *s, size_t max);
static inline bool sbuf_overflowed(const struct strbuf *sb)
{
	return sb->overflow;
}

/* Allocation helpers that never return NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Bounded copy: returns 0, or -1 when src did not fit (dst then empty). */
int strlcpy_checked(char *dst, const char *src, size_t size)
	__attribute__((warn_unused_result));

#endif
