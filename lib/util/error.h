/*
 * error - describe a failure once, map it once
 *
 * Functions that can fail return 0 / -1 (or a pointer / NULL) and fill a
 * caller-provided struct error, left untouched on success.  error_set()
 * returns -1 so that "return error_set(...);" ends a failure path.
 * Messages follow git's style: lower-case start, no full stop, what is
 * wrong first; they never copy raw client input (use sbuf_addesc).
 * Front ends map code exactly once: feedctl to its exit status, the API
 * to an HTTP status.
 */
#ifndef MXFEED_ERROR_H
#define MXFEED_ERROR_H

#include "strbuf.h"

enum err_code {
	ERR_NONE = 0,
	ERR_INVALID,	 /* bad value or usage: exit 2, HTTP 422/400 */
	ERR_NOTFOUND,	 /* exit 3, HTTP 404 */
	ERR_CONFLICT,	 /* exists, or state forbids: exit 4, HTTP 409 */
	ERR_STALE,	 /* version mismatch: exit 4, HTTP 412 */
	ERR_FORBIDDEN,	 /* role or scope: exit 4, HTTP 403 */
	ERR_UNAUTH,	 /* no or bad credentials: exit 4, HTTP 401 */
	ERR_TEMPFAIL,	 /* database or daemon down: exit 5, HTTP 503 */
	ERR_UNAVAILABLE, /* feature not built yet: exit 1, HTTP 501 */
	ERR_INTERNAL,	 /* a bug or an unexpected failure: exit 1, 500 */
	ERR_TIMEOUT,	 /* a program we ran did not finish: exit 5, 504 */
};

#define ERROR_FIELD_MAX 64

struct error {
	enum err_code code;
	char field[ERROR_FIELD_MAX]; /* JSON path of the bad input, or "" */
	struct strbuf msg;
};

#define ERROR_INIT                                                             \
	{                                                                      \
		ERR_NONE, { 0 }, STRBUF_INIT                                   \
	}

int error_set(struct error *err, enum err_code code, const char *field,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void error_clear(struct error *err);
void error_release(struct error *err);
const char *error_msg(const struct error *err);
/* Exit status of SPEC section 7 for a code. */
int error_exit_status(enum err_code code);
/* HTTP status for a code (422 for ERR_INVALID). */
int error_http_status(enum err_code code);
/* A broken invariant that no input can reach: print where, abort. */
#define BUG(...) error_bug(__FILE__, __LINE__, __VA_ARGS__)
void error_bug(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

#endif
