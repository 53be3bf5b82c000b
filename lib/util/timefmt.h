/*
 * timefmt - RFC 3339 UTC times as text, both ways
 *
 * The one spelling of a time in mxfeed's JSON, audit and pages:
 * "YYYY-MM-DDTHH:MM:SSZ" (UTC, whole seconds).  Input also takes a
 * date "YYYY-MM-DD", meaning the start of that day UTC (feedctl extend
 * --until, the API's "until").  Years 1970 to 9999.
 */
#ifndef MXFEED_UTIL_TIMEFMT_H
#define MXFEED_UTIL_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* RFC 3339 UTC text of unix seconds into buf (>= 21 bytes); "" when
 * the time cannot be shown. */
void time_format_utc(int64_t t, char *buf, size_t size);
/* Parse "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DD" (start of day UTC);
 * -1 with err (ERR_INVALID naming field) for anything else. */
int time_parse_utc(const char *in, int64_t *out, const char *field,
		   struct error *err) __attribute__((warn_unused_result));

#endif
