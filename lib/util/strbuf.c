/*
 * strbuf - length-counted, growable, optionally capped strings
 *
 * See strbuf.h for the invariants.  Growth is geometric; the cap is
 * enforced in one place, sbuf_grow().
 */
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char sbuf_slopbuf[1];

static void oom(void)
{
	fputs("mxfeed: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom();
	return q;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);

	memcpy(p, s, n);
	return p;
}

int strlcpy_checked(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size);

	if (size == 0)
		return -1;
	if (n >= size) {
		dst[0] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

void sbuf_init(struct strbuf *sb, size_t cap)
{
	sb->buf = sbuf_slopbuf;
	sb->len = 0;
	sb->alloc = 0;
	sb->cap = cap;
	sb->overflow = false;
}

void sbuf_release(struct strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	sbuf_init(sb, sb->cap);
}

char *sbuf_detach(struct strbuf *sb, size_t *len)
{
	char *p;

	if (len)
		*len = sb->len;
	p = sb->alloc ? sb->buf : xstrdup("");
	sbuf_init(sb, sb->cap);
	return p;
}

void sbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->overflow = false;
	sb->buf[0] = '\0';
}

/* Make room for extra more bytes; returns how many may be added. */
static size_t sbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t want, room = extra;

	if (sb->cap && sb->len + extra > sb->cap) {
		room = sb->cap - sb->len;
		sb->overflow = true;
	}
	want = sb->len + room + 1;
	if (want > sb->alloc) {
		size_t n = sb->alloc ? sb->alloc : 64;

		while (n < want)
			n *= 2;
		if (sb->alloc == 0) {
			sb->buf = xmalloc(n);
			sb->buf[0] = '\0';
		} else {
			sb->buf = xrealloc(sb->buf, n);
		}
		sb->alloc = n;
	}
	return room;
}

void sbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	size_t room = sbuf_grow(sb, len);

	if (room == 0 && sb->alloc == 0)
		return;
	memcpy(sb->buf + sb->len, data, room);
	sb->len += room;
	sb->buf[sb->len] = '\0';
}

void sbuf_addstr(struct strbuf *sb, const char *s)
{
	sbuf_add(sb, s, strlen(s));
}

void sbuf_addch(struct strbuf *sb, char c)
{
	sbuf_add(sb, &c, 1);
}

void sbuf_addint(struct strbuf *sb, long long v)
{
	char d[24];
	size_t i = sizeof(d);
	/* the magnitude as unsigned: LLONG_MIN has no positive twin */
	unsigned long long u =
		v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		d[--i] = '-';
	sbuf_add(sb, d + i, sizeof(d) - i);
}

void sbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	char small[256];
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		sbuf_add(sb, small, (size_t)n);
	} else {
		char *big = xmalloc((size_t)n + 1);

		va_copy(cp, ap);
		n = vsnprintf(big, (size_t)n + 1, fmt, cp);
		va_end(cp);
		if (n >= 0)
			sbuf_add(sb, big, (size_t)n);
		free(big);
	}
}

void sbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void sbuf_addesc(struct strbuf *sb, const char *s, size_t max)
{
	size_t i, run;

	for (i = 0; s[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		/* a run of bytes that stay as they are: one append */
		for (run = i; run < max && (unsigned char)s[run] >= 0x20 &&
			      (unsigned char)s[run] < 0x7f && s[run] != '\\' &&
			      s[run] != '"';
		     run++)
			;
		if (run > i) {
			sbuf_add(sb, s + i, run - i);
			i = run - 1;
			continue;
		}
		switch (c) {
		case '\n':
			sbuf_addstr(sb, "\\n");
			break;
		case '\r':
			sbuf_addstr(sb, "\\r");
			break;
		case '\t':
			sbuf_addstr(sb, "\\t");
			break;
		case '\\':
			sbuf_addstr(sb, "\\\\");
			break;
		case '"':
			sbuf_addstr(sb, "\\\"");
			break;
		default:
			if (c < 0x20 || c >= 0x7f)
				sbuf_addf(sb, "\\x%02x", c);
			else
				sbuf_addch(sb, (char)c);
		}
	}
	if (s[i] != '\0')
		sbuf_addstr(sb, "...");
}
