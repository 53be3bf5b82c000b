/*
 * http - small, strict pieces of HTTP for the FastCGI front end
 *
 * Nothing here knows about domains or mail.  The helpers parse what a
 * client sends (query strings, url-encoded form bodies, entity tags,
 * bearer credentials) into bounded, checked values and escape what we
 * send back (HTML text and attributes, URL path segments).
 *
 * http_form_parse() refuses, rather than repairs: a bad %-escape, a NUL
 * byte, invalid UTF-8, more than HTTP_FORM_MAX pairs or a key longer
 * than HTTP_KEY_MAX is an ERR_INVALID naming what was wrong; a repeated
 * key keeps every value (http_form_get() returns the first, and
 * http_form_count() lets a caller refuse repeats).
 */
#ifndef MXFEED_HTTP_H
#define MXFEED_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "strbuf.h"

#define HTTP_FORM_MAX 256
#define HTTP_KEY_MAX  64

struct http_param {
	char *name;
	char *value;
};

struct http_form {
	size_t n;
	struct http_param *v;
};

#define HTTP_FORM_INIT                                                         \
	{                                                                      \
		0, NULL                                                        \
	}

int http_form_parse(const char *s, size_t len, struct http_form *out,
		    struct error *err) __attribute__((warn_unused_result));
/* First value of name, or NULL. */
const char *http_form_get(const struct http_form *f, const char *name);
size_t http_form_count(const struct http_form *f, const char *name);
void http_form_release(struct http_form *f);

/* HTML-escape s (& < > " ') for text and quoted attribute values. */
void sbuf_addhtml(struct strbuf *sb, const char *s);
/* Percent-encode s for one URL path segment or query value. */
void sbuf_addurl(struct strbuf *sb, const char *s);

/* Reason phrase for a status ("Unprocessable Content"), never NULL. */
const char *http_reason(int status);
/*
 * If-Match: a single strong tag "N" (N a version, decimal, no sign),
 * "*", or a weak tag W/"..." (RFC 9110 8.8.3).  Returns 0 and *version:
 * N, -1 for "*", HTTP_ETAG_WEAK for a weak tag, which is valid but
 * never matches, since If-Match compares strongly.  -1 with err set
 * when the header is not one entity tag.
 */
#define HTTP_ETAG_WEAK 0
int http_etag_parse(const char *in, int64_t *version, struct error *err)
	__attribute__((warn_unused_result));
/* Idempotency-Key: 1 to 255 printable ASCII characters (0x20-0x7e). */
bool http_idem_key_ok(const char *key);
/* "Bearer TOKEN": pointer to TOKEN inside in, or NULL if not that shape. */
const char *http_bearer(const char *in);
/* Origin check: true when origin is exactly scheme://host. */
bool http_same_origin(const char *origin, const char *scheme, const char *host);

#endif
