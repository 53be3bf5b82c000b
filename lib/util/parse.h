/*
 * parse - strict scalar parsers shared by every front end
 *
 * Booleans are exactly on|off|true|false; integers are plain decimal
 * (optional leading '-', no '+', no spaces, no leading zeros except "0",
 * no hex, no suffix) within [min, max].  Error messages name the field
 * and the allowed range, and never echo more than a short escaped
 * sample of the input.
 */
#ifndef MXFEED_PARSE_H
#define MXFEED_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

int parse_bool(const char *in, bool *out, const char *field, struct error *err)
	__attribute__((warn_unused_result));
int parse_long(const char *in, long min, long max, long *out, const char *field,
	       struct error *err) __attribute__((warn_unused_result));
/* s as an optional '-' and decimal digits that fit int64_t, nothing
 * else (no sign '+', no space, leading zeros allowed): what PostgreSQL
 * writes for an integer.  Without errno or locale, for the millions of
 * cells a generation reads. */
bool parse_i64(const char *s, int64_t *out) __attribute__((warn_unused_result));
/* true when s[0..len) is well-formed UTF-8 without C0 controls or DEL */
bool utf8_printable(const char *s, size_t len);
/* Look a word up in a NULL-terminated table; index or -1. */
int parse_enum(const char *in, const char *const *names);

#endif
