/*
 * timefmt - RFC 3339 UTC times as text, both ways
 *
 * See timefmt.h.  Parsing checks every digit and the calendar (leap
 * years included) itself rather than trusting strptime, whose accepted
 * forms vary by libc; timegm turns the checked fields into seconds.
 */
#include "util/timefmt.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* two decimal digits of v (0..99) */
static void put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

void time_format_utc(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL) {
		(void)snprintf(buf, size, "%s", "");
		return;
	}
	/* four-digit years by hand (the API writes three times a record);
	 * strftime's spelling of any other */
	if (tm.tm_year >= 1000 - 1900 && tm.tm_year <= 9999 - 1900 &&
	    size >= 21) {
		put2(buf, (tm.tm_year + 1900) / 100);
		put2(buf + 2, (tm.tm_year + 1900) % 100);
		buf[4] = '-';
		put2(buf + 5, tm.tm_mon + 1);
		buf[7] = '-';
		put2(buf + 8, tm.tm_mday);
		buf[10] = 'T';
		put2(buf + 11, tm.tm_hour);
		buf[13] = ':';
		put2(buf + 14, tm.tm_min);
		buf[16] = ':';
		put2(buf + 17, tm.tm_sec);
		buf[19] = 'Z';
		buf[20] = '\0';
		return;
	}
	if (strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(buf, size, "%s", "");
}

static int digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int time_parse_utc(const char *in, int64_t *out, const char *field,
		   struct error *err)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };
	int y, mo, d, h = 0, mi = 0, s = 0, dim;
	size_t n = strlen(in);
	struct tm tm;

	if (!(n == 10 || (n == 20 && in[10] == 'T' && in[13] == ':' &&
			  in[16] == ':' && in[19] == 'Z')) ||
	    in[4] != '-' || in[7] != '-' || digits(in, 4, &y) < 0 ||
	    digits(in + 5, 2, &mo) < 0 || digits(in + 8, 2, &d) < 0 ||
	    (n == 20 &&
	     (digits(in + 11, 2, &h) < 0 || digits(in + 14, 2, &mi) < 0 ||
	      digits(in + 17, 2, &s) < 0)))
		goto bad;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || h > 23 || mi > 59 ||
	    s > 59)
		goto bad;
	dim = mdays[mo - 1];
	if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		dim = 29;
	if (d < 1 || d > dim)
		goto bad;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	*out = (int64_t)timegm(&tm);
	return 0;
bad:
	return error_set(err, ERR_INVALID, field,
			 "%s must be a date YYYY-MM-DD or a UTC time "
			 "YYYY-MM-DDTHH:MM:SSZ",
			 field);
}
