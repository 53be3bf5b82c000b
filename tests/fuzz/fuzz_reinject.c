/*
 * fuzz_reinject - the re-injection envelope (reinject_envelope): the
 * sender comes only from the Return-Path line Dovecot's LMTP delivery
 * put first, the recipient only from the trace header's "for <...>";
 * both are one printable word without spaces or angle brackets; what
 * is sent on has CRLF line ends only, ends in a line end and no longer
 * holds that Return-Path line
 */
#include "fuzz.h"

#include <strings.h>

#include "reinject.h"
#include "util/strbuf.h"

static void word(const char *s)
{
	const unsigned char *p;

	FUZZ_CHECK(strlen(s) <= REINJECT_ADDR_MAX);
	for (p = (const unsigned char *)s; *p; p++)
		FUZZ_CHECK(*p > ' ' && *p != 0x7f && *p != '<' && *p != '>');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char sender[REINJECT_ADDR_MAX + 1], rcpt[REINJECT_ADDR_MAX + 1];
	struct strbuf out = STRBUF_INIT;
	struct error err = ERROR_INIT;
	const char *msg = (const char *)data;
	size_t i;
	int rc;

	rc = reinject_envelope(msg, size, sender, rcpt, &out, &err);
	if (rc == 1) {
		FUZZ_CHECK(size > 12 &&
			   strncasecmp(msg, "Return-Path:", 12) == 0);
		word(sender);
		word(rcpt);
		FUZZ_CHECK(out.len >= 2 && out.buf[out.len - 1] == '\n');
		for (i = 0; i < out.len; i++)
			if (out.buf[i] == '\n')
				FUZZ_CHECK(i > 0 && out.buf[i - 1] == '\r');
		/* the Return-Path line (12 bytes at least) is not sent on;
		 * the rest at most doubles (LF to CRLF) */
		FUZZ_CHECK(out.len <= 2 * (size - 12) + 2);
	} else if (rc == 0) {
		FUZZ_CHECK(sender[0] == '\0' && rcpt[0] == '\0');
		FUZZ_CHECK(size <= 12 ||
			   strncasecmp(msg, "Return-Path:", 12) != 0);
	} else {
		FUZZ_CHECK(rc == -1 && err.code == ERR_INVALID);
	}
	error_release(&err);
	sbuf_release(&out);
	return 0;
}
