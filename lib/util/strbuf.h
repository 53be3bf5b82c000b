/*
 * strbuf - length-counted, growable, optionally capped strings
 *
 * Invariants of every initialised struct strbuf (git's, plus a cap):
 *   - buf is never NULL and always NUL-terminated at buf[len];
 *   - len is authoritative: buf may hold NUL bytes;
 *   - alloc is private; cap (0 = none) bounds len.
 * Adding past the cap keeps what fitted and sets the sticky "overflow"
 * flag, so a caller that reads a request body or a child's stderr checks
 * strbuf_overflowed() once at the end instead of after every append.
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

extern char strbuf_slopbuf[];
#define STRBUF_INIT { strbuf_slopbuf, 0, 0, 0, false }

void strbuf_init(struct strbuf *sb, size_t cap);
void strbuf_release(struct strbuf *sb);
/* Hand the buffer to the caller (free() it); sb is re-initialised. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_reset(struct strbuf *sb);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Append s with C-style escapes for anything not printable ASCII, at
 * most max input bytes ("..." marks a cut): for logs and messages. */
void strbuf_addesc(struct strbuf *sb, const char *s, size_t max);
static inline bool strbuf_overflowed(const struct strbuf *sb)
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
