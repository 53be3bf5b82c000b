/*
 * parse - strict scalar parsers shared by every front end
 *
 * See parse.h.  Nothing here guesses: "1e3", " 5", "05", "+5", "0x10"
 * and "5 " are all refused rather than read as numbers.
 */
#include "parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int parse_enum(const char *in, const char *const *names)
{
	int i;

	if (in == NULL)
		return -1;
	for (i = 0; names[i] != NULL; i++)
		if (strcmp(in, names[i]) == 0)
			return i;
	return -1;
}

int parse_bool(const char *in, bool *out, const char *field, struct error *err)
{
	static const char *const names[] = { "off", "on", "false", "true",
					     NULL };
	int i = parse_enum(in, names);

	if (i < 0)
		return error_set(err, ERR_INVALID, field,
				 "%s must be on, off, true or false", field);
	*out = (i & 1) != 0;
	return 0;
}

bool parse_i64(const char *s, int64_t *out)
{
	bool neg = *s == '-';
	/* the largest magnitude: 2^63 - 1, or 2^63 with a '-' */
	uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	uint64_t v = 0;
	const char *p = s + neg;

	if (*p == '\0')
		return false;
	for (; *p != '\0'; p++) {
		unsigned d = (unsigned)(unsigned char)*p - '0';

		if (d > 9 || v > (lim - d) / 10)
			return false;
		v = v * 10 + d;
	}
	/* -(2^63) without overflowing on the way */
	*out = !neg ? (int64_t)v : v == 0 ? 0 : -(int64_t)(v - 1) - 1;
	return true;
}

int parse_long(const char *in, long min, long max, long *out, const char *field,
	       struct error *err)
{
	const char *p = in;
	int64_t v;

	if (p == NULL || *p == '\0')
		goto bad;
	if (*p == '-')
		p++;
	/* one spelling per number: no leading zero, no "-0" */
	if (*p < '0' || *p > '9' || (p[0] == '0' && (p[1] != '\0' || p != in)))
		goto bad;
	if (!parse_i64(in, &v) || v < min || v > max)
		goto bad;
	*out = (long)v;
	return 0;
bad:
	return error_set(err, ERR_INVALID, field,
			 "%s must be a whole number from %ld to %ld", field,
			 min, max);
}

/* Whether the 8 bytes at p are all printable ASCII (0x20-0x7e): one
 * word at a time (Hacker's Delight's "has a byte less than n" and
 * "more than n"), as every name and number the generators check is. */
static bool ascii8_printable(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t high = 0x8080808080808080ULL;
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return ((((w - ones * 0x20) & ~w) | (w + ones) | w) & high) == 0;
}

bool utf8_printable(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (len - i >= 8 && ascii8_printable(p + i))
		i += 8;
	while (i < len) {
		unsigned char c = p[i];
		size_t n, k;
		unsigned long cp;

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1fu;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0fu;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07u;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3fu);
		}
		/* overlong forms, surrogates, beyond Unicode, C1 controls */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
		    (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += n + 1;
	}
	return true;
}
