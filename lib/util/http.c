/*
 * http - small, strict pieces of HTTP for the FastCGI front end
 *
 * See http.h.  Everything is bounded by the caller's input length; no
 * helper allocates more than a copy of what it was given.
 */
#include "http.h"

#include <stdlib.h>
#include <string.h>

#include "parse.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode one x-www-form-urlencoded component into a new string. */
static char *decode(const char *s, size_t len, const char *what,
		    struct error *err)
{
	struct strbuf out = STRBUF_INIT;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (i + 2 >= len) {
				hi = lo = -1;
			} else {
				hi = hexval(s[i + 1]);
				lo = hexval(s[i + 2]);
			}
			if (hi < 0 || lo < 0) {
				sbuf_release(&out);
				error_set(err, ERR_INVALID, NULL,
					  "bad %%-escape in the %s", what);
				return NULL;
			}
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0') {
			sbuf_release(&out);
			error_set(err, ERR_INVALID, NULL, "NUL byte in the %s",
				  what);
			return NULL;
		}
		sbuf_addch(&out, c);
	}
	if (!utf8_printable(out.buf, out.len)) {
		sbuf_release(&out);
		error_set(err, ERR_INVALID, NULL,
			  "invalid UTF-8 or a control character in the %s",
			  what);
		return NULL;
	}
	return sbuf_detach(&out, NULL);
}

int http_form_parse(const char *s, size_t len, struct http_form *out,
		    struct error *err)
{
	struct http_form f = HTTP_FORM_INIT;
	size_t pos = 0;

	while (pos < len) {
		const char *pair = s + pos, *amp, *eq;
		size_t plen, klen;
		char *k, *v;

		amp = memchr(pair, '&', len - pos);
		plen = amp ? (size_t)(amp - pair) : len - pos;
		pos += plen + (amp != NULL);
		if (plen == 0)
			continue;
		if (f.n >= HTTP_FORM_MAX) {
			http_form_release(&f);
			return error_set(err, ERR_INVALID, NULL,
					 "more than %d parameters",
					 HTTP_FORM_MAX);
		}
		eq = memchr(pair, '=', plen);
		klen = eq ? (size_t)(eq - pair) : plen;
		if (klen == 0 || klen > HTTP_KEY_MAX * 3) {
			http_form_release(&f);
			return error_set(err, ERR_INVALID, NULL,
					 "a parameter name is empty or too "
					 "long");
		}
		if ((k = decode(pair, klen, "parameter names", err)) == NULL) {
			http_form_release(&f);
			return -1;
		}
		if (strlen(k) > HTTP_KEY_MAX) {
			free(k);
			http_form_release(&f);
			return error_set(err, ERR_INVALID, NULL,
					 "a parameter name is too long");
		}
		v = eq ? decode(eq + 1, plen - klen - 1, "parameter values",
				err)
		       : xstrdup("");
		if (v == NULL) {
			free(k);
			http_form_release(&f);
			return -1;
		}
		f.v = xrealloc(f.v, (f.n + 1) * sizeof(*f.v));
		f.v[f.n].name = k;
		f.v[f.n].value = v;
		f.n++;
	}
	*out = f;
	return 0;
}

const char *http_form_get(const struct http_form *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->v[i].name, name) == 0)
			return f->v[i].value;
	return NULL;
}

size_t http_form_count(const struct http_form *f, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->v[i].name, name) == 0)
			n++;
	return n;
}

void http_form_release(struct http_form *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].value);
	}
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

void sbuf_addhtml(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			sbuf_addstr(sb, "&amp;");
			break;
		case '<':
			sbuf_addstr(sb, "&lt;");
			break;
		case '>':
			sbuf_addstr(sb, "&gt;");
			break;
		case '"':
			sbuf_addstr(sb, "&quot;");
			break;
		case '\'':
			sbuf_addstr(sb, "&#39;");
			break;
		default:
			sbuf_addch(sb, *s);
		}
	}
}

void sbuf_addurl(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			sbuf_addch(sb, (char)c);
		} else {
			sbuf_addch(sb, '%');
			sbuf_addch(sb, hex[c >> 4]);
			sbuf_addch(sb, hex[c & 15]);
		}
	}
}

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{ 200, "OK" },
	{ 201, "Created" },
	{ 204, "No Content" },
	{ 303, "See Other" },
	{ 304, "Not Modified" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 409, "Conflict" },
	{ 412, "Precondition Failed" },
	{ 413, "Content Too Large" },
	{ 415, "Unsupported Media Type" },
	{ 422, "Unprocessable Content" },
	{ 428, "Precondition Required" },
	{ 429, "Too Many Requests" },
	{ 500, "Internal Server Error" },
	{ 501, "Not Implemented" },
	{ 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
};

const char *http_reason(int status)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}

/* An opaque-tag of RFC 9110: DQUOTE *etagc DQUOTE, etagc = %x21 /
 * %x23-7E / obs-text. */
static bool etag_opaque(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return false;
	for (i = 1; i + 1 < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch == '"' || ch == 0x7f)
			return false;
	}
	return true;
}

int http_etag_parse(const char *in, int64_t *version, struct error *err)
{
	size_t n = strlen(in);
	long v;
	char num[24];

	if (strcmp(in, "*") == 0) {
		*version = -1;
		return 0;
	}
	if (strncmp(in, "W/", 2) == 0 && etag_opaque(in + 2)) {
		*version = HTTP_ETAG_WEAK;
		return 0;
	}
	if (n < 3 || n - 2 >= sizeof(num) || in[0] != '"' || in[n - 1] != '"')
		return error_set(err, ERR_INVALID, "If-Match",
				 "If-Match must be one entity tag as sent in "
				 "ETag, like \"3\"");
	memcpy(num, in + 1, n - 2);
	num[n - 2] = '\0';
	if (parse_long(num, 1, 0x7fffffffL, &v, "If-Match", err) < 0)
		return -1;
	*version = v;
	return 0;
}

bool http_idem_key_ok(const char *key)
{
	size_t i, n = strlen(key);

	if (n == 0 || n > 255)
		return false;
	for (i = 0; i < n; i++)
		if (key[i] < 0x20 || key[i] > 0x7e)
			return false;
	return true;
}

const char *http_bearer(const char *in)
{
	if (in == NULL || strncasecmp(in, "Bearer ", 7) != 0)
		return NULL;
	in += 7;
	while (*in == ' ')
		in++;
	return *in ? in : NULL;
}

bool http_same_origin(const char *origin, const char *scheme, const char *host)
{
	size_t sl;

	if (origin == NULL || scheme == NULL || host == NULL || !*host)
		return false;
	sl = strlen(scheme);
	return strncmp(origin, scheme, sl) == 0 &&
	       strncmp(origin + sl, "://", 3) == 0 &&
	       strcasecmp(origin + sl + 3, host) == 0;
}
