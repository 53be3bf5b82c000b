/*
 * verbarg - the numbers the verbs take, read and bounded once for
 * every front
 *
 * extend's days, revert's keep-days and the version a change expects
 * reach lib as text (a feedctl option, a portal form field) or as a
 * JSON member (an API body).  Each front hands the raw value here:
 * the bounds and the words of a refusal are the same whichever front
 * it came from (parse_long()'s "FIELD must be a whole number from MIN
 * to MAX"), and extend's "days or until, one of them" is decided once
 * (ops_extend() asks too).
 */
#ifndef MXFEED_VERBARG_H
#define MXFEED_VERBARG_H

#include <stdbool.h>

#include <jansson.h>

#include "util/error.h"

enum verb_arg {
	VA_DAYS,      /* extend: 1..QUEUE_DAYS_MAX days from now */
	VA_KEEP_DAYS, /* revert: 1..KEEP_DAYS_MAX days readable */
	VA_VERSION    /* the version a change expects: 1..OPS_VERSION_MAX */
};

#define VA_ABSENT (-1L) /* *out when the value was not given */

/* The field an argument's refusal names ("days", "keep_days", ...). */
const char *verb_arg_field(enum verb_arg a);
/* text as a; NULL or "" is VA_ABSENT.  -1 with err set (ERR_INVALID). */
int verb_arg_text(enum verb_arg a, const char *text, long *out,
		  struct error *err) __attribute__((warn_unused_result));
/* A JSON member as a; NULL (no member) is VA_ABSENT. */
int verb_arg_json(enum verb_arg a, const json_t *v, long *out,
		  struct error *err) __attribute__((warn_unused_result));
/* A value already read as a number (a feedctl option): the bounds. */
int verb_arg_check(enum verb_arg a, long v, struct error *err)
	__attribute__((warn_unused_result));
/*
 * extend's choice: exactly one of days (VA_ABSENT: none) and until
 * (NULL or "": none); -1 with err set, its field "until" when both
 * are given, else "days".
 */
int verb_extend_choice(long days, const char *until, struct error *err)
	__attribute__((warn_unused_result));

#endif
