/*
 * error - describe a failure once, map it once
 *
 * See error.h.  The two mapping tables below are the only place where
 * error codes meet exit statuses and HTTP statuses.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int error_set(struct error *err, enum err_code code, const char *field,
	      const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
	if (field == NULL ||
	    strlcpy_checked(err->field, field, sizeof(err->field)) < 0)
		err->field[0] = '\0';
	sbuf_reset(&err->msg);
	va_start(ap, fmt);
	sbuf_vaddf(&err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

void error_clear(struct error *err)
{
	err->code = ERR_NONE;
	err->field[0] = '\0';
	sbuf_reset(&err->msg);
}

void error_release(struct error *err)
{
	sbuf_release(&err->msg);
	err->code = ERR_NONE;
	err->field[0] = '\0';
}

const char *error_msg(const struct error *err)
{
	return err->msg.len ? err->msg.buf : "unknown error";
}

int error_exit_status(enum err_code code)
{
	switch (code) {
	case ERR_NONE:
		return 0;
	case ERR_INVALID:
		return 2;
	case ERR_NOTFOUND:
		return 3;
	case ERR_CONFLICT:
	case ERR_STALE:
	case ERR_FORBIDDEN:
	case ERR_UNAUTH:
		return 4;
	case ERR_TEMPFAIL:
	case ERR_TIMEOUT:
		return 5;
	case ERR_UNAVAILABLE:
	case ERR_INTERNAL:
		return 1;
	}
	return 1;
}

int error_http_status(enum err_code code)
{
	switch (code) {
	case ERR_NONE:
		return 200;
	case ERR_INVALID:
		return 422;
	case ERR_NOTFOUND:
		return 404;
	case ERR_CONFLICT:
		return 409;
	case ERR_STALE:
		return 412;
	case ERR_FORBIDDEN:
		return 403;
	case ERR_UNAUTH:
		return 401;
	case ERR_TEMPFAIL:
		return 503;
	case ERR_UNAVAILABLE:
		return 501;
	case ERR_INTERNAL:
		return 500;
	case ERR_TIMEOUT:
		return 504;
	}
	return 500;
}

void error_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	(void)fprintf(stderr, "BUG at %s:%d: ", file, line);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
	abort();
}
