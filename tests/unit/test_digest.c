/* test_digest - the quarantine digest's text and its address check */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "digest.h"
#include "model.h"

static void address(void **state)
{
	static const char *const good[] = {
		"a@b.example",
		"first.last+tag@example.com",
		"o'hara@xn--bcher-kva.example",
		"x!#$%&*/=?^_`{|}~-@example.com",
	};
	static const struct {
		const char *in, *msg;
	} bad[] = {
		{ "", "must be an address LOCAL@DOMAIN" },
		{ "nobody", "must be an address LOCAL@DOMAIN" },
		{ "@example.com", "must be an address LOCAL@DOMAIN" },
		{ "a b@example.com", "character 0x20 not allowed" },
		{ "a\n@example.com", "character 0x0a not allowed" },
		{ "\"a\"@example.com", "character 0x22 not allowed" },
		{ ".a@example.com", "character 0x2e not allowed" },
		{ "a.@example.com", "character 0x2e not allowed" },
		{ "a..b@example.com", "character 0x2e not allowed" },
		{ "a,b@example.com", "character 0x2c not allowed" },
		{ "a@Example.COM", "write the domain as example.com" },
		{ "a@b\xc3\xbc"
		  "cher.example",
		  "write the domain as xn--bcher-kva.example" },
		{ "a@[127.0.0.1]", "quarantine.digest: " },
		{ "a@localhost", "quarantine.digest: " },
		{ "a@exa_mple.com", "quarantine.digest: " },
	};
	char local[80];
	struct error err = ERROR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(digest_address_check(
					 good[i], "quarantine.digest", &err),
				 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(digest_address_check(
					 bad[i].in, "quarantine.digest", &err),
				 -1);
		assert_int_equal(err.code, ERR_INVALID);
		if (strstr(error_msg(&err), bad[i].msg) == NULL)
			fail_msg("'%s': '%s' lacks '%s'", bad[i].in,
				 error_msg(&err), bad[i].msg);
		error_release(&err);
	}
	memset(local, 'a', 65);
	memcpy(local + 65, "@example.com", 13);
	assert_int_equal(digest_address_check(local, "quarantine.digest", &err),
			 -1);
	assert_non_null(strstr(error_msg(&err), "at most 64 bytes"));
	error_release(&err);
}

static void text(void **state)
{
	json_t *held = json_pack(
		"{s:i, s:[{s:s, s:s, s:[s], s:I, s:s}, {s:s, s:s, s:[s, s, s, "
		"s], s:I}]}",
		"count", 5, "messages", "queue_id", "4AbC123", "sender",
		"spam@sender.test", "recipients", "x@q.example", "arrival_time",
		(json_int_t)1764633600, "subject", "Win\x01 big", "queue_id",
		"5DeF456", "sender", "", "recipients", "a@q.example",
		"b@q.example", "c@q.example", "d@q.example", "arrival_time",
		(json_int_t)1764637200);
	struct digest_in in = { "q.example",
				"relay-1",
				"mx1.isp.example",
				"ops@q.example",
				1764680000,
				30,
				held };
	struct strbuf out = STRBUF_INIT;
	char day[11];

	(void)state;
	digest_format(&in, &out);
	assert_non_null(strstr(out.buf,
			       "From: MAILER-DAEMON@mx1.isp.example\r\n"
			       "To: ops@q.example\r\n"
			       "Subject: Quarantine digest for "
			       "q.example: 5 message(s) held on "
			       "relay-1\r\n"));
	assert_non_null(strstr(out.buf, "Date: Tue, 02 Dec 2025 12:53:20 "
					"+0000\r\n"));
	assert_non_null(strstr(out.buf, "Auto-Submitted: auto-generated\r\n"));
	assert_non_null(strstr(out.buf, "\r\n\r\n5 message(s) for q.example"));
	assert_non_null(strstr(out.buf, "2025-12-02 00:00 UTC  queue id "
					"4AbC123\r\n"
					"  From:    spam@sender.test\r\n"
					"  To:      x@q.example\r\n"
					"  Subject: Win? big\r\n"
					"  Deleted: 2026-01-01 00:00 UTC\r\n"));
	/* the null sender, no subject, recipients cut after three */
	assert_non_null(strstr(out.buf, "  From:    (none)\r\n"
					"  To:      a@q.example, b@q.example, "
					"c@q.example and 1 more\r\n"
					"  Subject: (none)\r\n"));
	assert_non_null(strstr(out.buf, "... and 3 more.\r\n"));
	/* every line ends in CRLF, no bare LF, no control byte */
	{
		size_t i;

		for (i = 0; i < out.len; i++) {
			unsigned char c = (unsigned char)out.buf[i];

			if (c == '\n')
				assert_true(i > 0 && out.buf[i - 1] == '\r');
			else if (c == '\r')
				assert_true(out.buf[i + 1] == '\n');
			else
				assert_true(c >= 0x20 && c < 0x7f);
		}
	}
	digest_day(1764680000, day);
	assert_string_equal(day, "2025-12-02");
	sbuf_release(&out);
	json_decref(held);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(address),
		cmocka_unit_test(text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
