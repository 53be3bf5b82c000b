/* test_reinject.c - reading a delivered message's envelope back */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "reinject.h"

struct env_case {
	const char *msg;
	int rc;
	const char *sender, *rcpt, *out;
};

static const struct env_case cases[] = {
	/* as Dovecot LMTP stores it: Return-Path, then its Received */
	{ "Return-Path: <a@sender.test>\n"
	  "Received: from relay.test ([127.0.0.1])\n\tby mx with LMTP\n"
	  "\tid X\n\t(envelope-from <a@sender.test>)\n"
	  "\tfor <carol@out.example>; Sat, 28 Nov 2026 21:32:32 +0000\n"
	  "Subject: s\n\nbody\n",
	  1, "a@sender.test", "carol@out.example",
	  "Received: from relay.test ([127.0.0.1])\r\n\tby mx with LMTP\r\n"
	  "\tid X\r\n\t(envelope-from <a@sender.test>)\r\n"
	  "\tfor <carol@out.example>; Sat, 28 Nov 2026 21:32:32 +0000\r\n"
	  "Subject: s\r\n\r\nbody\r\n" },
	/* the null sender stays null; a later Received is not ours */
	{ "Return-Path: <>\nReceived: by mx with LMTP; now\n"
	  "Received: from x by y for <other@else.test>; then\n\nb",
	  1, "", "",
	  "Received: by mx with LMTP; now\r\n"
	  "Received: from x by y for <other@else.test>; then\r\n\r\nb\r\n" },
	/* the mailbox host's Delivered-To goes with the Return-Path; one
	 * further down (the sender's own) stays */
	{ "Return-Path: <s@x.test>\nDelivered-To: a@d.test\n"
	  "Received: by mx with LMTP for <a@d.test>; now\n"
	  "Delivered-To: old@else.test\n\nb\n",
	  1, "s@x.test", "a@d.test",
	  "Received: by mx with LMTP for <a@d.test>; now\r\n"
	  "Delivered-To: old@else.test\r\n\r\nb\r\n" },
	/* CRLF kept as it is, never doubled */
	{ "Return-Path: <s@x.test>\r\nSubject: a\r\n\r\nb\r\n", 1, "s@x.test",
	  "", "Subject: a\r\n\r\nb\r\n" },
	/* a folded Return-Path goes as a whole */
	{ "Return-Path:\n <s@x.test>\nSubject: a\n\nb\n", 1, "s@x.test", "",
	  "Subject: a\r\n\r\nb\r\n" },
	/* no Return-Path: a draft or a copy saved over IMAP */
	{ "Subject: draft\n\nb\n", 0, "", "", "" },
	{ "Received: x\nReturn-Path: <a@b.test>\n\nb\n", 0, "", "", "" },
	/* a Return-Path without an address, or one with spaces: refused */
	{ "Return-Path: nobody\n\nb\n", -1, "", "", "" },
	{ "Return-Path: <a b@c.test>\n\nb\n", -1, "", "", "" },
	/* a trace recipient that is not an address is ignored */
	{ "Return-Path: <a@b.test>\nReceived: by mx for <x y>; z\n\nb\n", 1,
	  "a@b.test", "", "Received: by mx for <x y>; z\r\n\r\nb\r\n" },
};

static void envelope(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct env_case *c = &cases[i];
		char sender[REINJECT_ADDR_MAX + 1], rcpt[REINJECT_ADDR_MAX + 1];
		struct strbuf out = STRBUF_INIT;
		struct error err = ERROR_INIT;
		int rc = reinject_envelope(c->msg, strlen(c->msg), sender, rcpt,
					   &out, &err);

		if (rc != c->rc)
			fail_msg("case %zu: rc %d, want %d (%s)", i, rc, c->rc,
				 error_msg(&err));
		if (rc == 1) {
			assert_string_equal(sender, c->sender);
			assert_string_equal(rcpt, c->rcpt);
			assert_int_equal(out.len, strlen(c->out));
			assert_memory_equal(out.buf, c->out, out.len);
		}
		if (rc < 0)
			assert_true(strlen(error_msg(&err)) > 0);
		sbuf_release(&out);
		error_release(&err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(envelope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
