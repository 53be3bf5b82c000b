/* test_maillog - Postfix log lines into tracking steps */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "maillog.h"

/* 2026-12-02 06:00:00 UTC */
#define NOW 1796191200

struct row {
	const char *line;
	enum mlog_kind kind;
	const char *qid, *verdict, *code, *sender, *recipient, *client, *helo,
		*mid, *dest, *reply;
};

static void lines(void **state)
{
	static const struct row rows[] = {
		{ "Dec 02 05:35:07 relay postfix/reinject/smtpd[27721]: "
		  "20EFBA7595F: client=localhost[127.0.0.1]",
		  ML_CLIENT, "20EFBA7595F", "", "", "", "", "127.0.0.1", "", "",
		  "", "" },
		{ "Dec  2 05:35:07 relay postfix/cleanup[27726]: 20EFBA7595F: "
		  "message-id=<20261202053507.027718@vm>",
		  ML_MESSAGE_ID, "20EFBA7595F", "", "", "", "", "", "",
		  "20261202053507.027718@vm", "", "" },
		{ "Dec 02 05:35:07 relay postfix/qmgr[27674]: 4B8DAA7595F: "
		  "from=<s@sender.test>, size=449, nrcpt=1 (queue active)",
		  ML_FROM, "4B8DAA7595F", "", "", "s@sender.test", "", "", "",
		  "", "", "" },
		{ "Dec 02 05:35:07 relay postfix/qmgr[27674]: 4B8DAA7595F: "
		  "from=<>, size=2, nrcpt=1 (queue active)",
		  ML_FROM, "4B8DAA7595F", "", "", "", "", "", "", "", "", "" },
		{ "Dec 02 05:35:07 relay postfix/smtp[27754]: 4B8DAA7595F: "
		  "to=<alice@out.example>, relay=127.0.0.1[127.0.0.1]:2526, "
		  "delay=0.08, delays=0.05/0.02/0/0, dsn=2.0.0, status=sent "
		  "(250 2.0.0 Ok)",
		  ML_DELIVERY, "4B8DAA7595F", "delivered", "250", "",
		  "alice@out.example", "", "", "", "127.0.0.1[127.0.0.1]:2526",
		  "2.0.0 Ok" },
		{ "Dec 02 05:35:07 relay postfix/smtp[1]: ABCDE: "
		  "to=<u@x.example>, relay=none, delay=30, delays=0/0/30/0, "
		  "dsn=4.4.1, status=deferred (connect to 127.0.0.1[127.0.0.1]"
		  ":2529: Connection refused)",
		  ML_DELIVERY, "ABCDE", "deferred", "", "", "u@x.example", "",
		  "", "", "none",
		  "connect to 127.0.0.1[127.0.0.1]:2529: Connection refused" },
		{ "Dec 02 05:35:07 relay postfix/smtp[1]: ABCDE: "
		  "to=<u@x.example>, orig_to=<v@x.example>, "
		  "relay=h[1.2.3.4]:25,"
		  " delay=1, dsn=5.1.1, status=bounced (host h[1.2.3.4] said: "
		  "550 5.1.1 no such user (in reply to RCPT TO command))",
		  ML_DELIVERY, "ABCDE", "bounced", "", "", "u@x.example", "",
		  "", "", "h[1.2.3.4]:25",
		  "host h[1.2.3.4] said: 550 5.1.1 no such user (in reply to "
		  "RCPT TO command)" },
		{ "Dec 02 05:34:25 relay postfix/smtpd[25396]: NOQUEUE: "
		  "reject: "
		  "RCPT from unknown[127.0.0.5]: 554 5.7.1 Service "
		  "unavailable; "
		  "Client host [127.0.0.5] blocked using bl.test; from=<a@ok."
		  "test> to=<u@feed.example> proto=ESMTP helo=<client.test>",
		  ML_REJECT, "", "refused", "554", "a@ok.test",
		  "u@feed.example", "127.0.0.5", "client.test", "", "",
		  "5.7.1 Service unavailable; Client host [127.0.0.5] blocked "
		  "using bl.test" },
		{ "Dec 02 05:34:25 relay postfix/smtpd[2]: NOQUEUE: reject: "
		  "RCPT"
		  " from unknown[::1]: 450 4.2.0 <u@g.example>: Recipient "
		  "address"
		  " rejected: Greylisted, see http://postgrey/; "
		  "from=<a@b.test> "
		  "to=<u@g.example> proto=ESMTP helo=<c.test>",
		  ML_REJECT, "", "greylisted", "450", "a@b.test", "u@g.example",
		  "::1", "c.test", "", "",
		  "4.2.0 <u@g.example>: Recipient address rejected: "
		  "Greylisted, "
		  "see http://postgrey/" },
		{ "Dec 02 05:35:07 relay postfix/cleanup[27726]: 20EFBA7595F: "
		  "milter-reject: END-OF-MESSAGE from localhost[127.0.0.1]: "
		  "5.7.1 virus found, message refused; from=<ceo@bank.test> "
		  "to=<alice@out.example> proto=ESMTP helo=<relay.test>",
		  ML_REJECT, "20EFBA7595F", "virus", "5.7.1", "ceo@bank.test",
		  "alice@out.example", "127.0.0.1", "relay.test", "", "",
		  "virus found, message refused" },
		{ "Dec 02 05:35:10 relay postfix/smtpd[28265]: NOQUEUE: milter-"
		  "reject: MAIL from unknown[127.0.0.1]: 451 4.7.1 Service "
		  "unavailable - try again later; from=<a@sender.test> "
		  "proto=ESMTP helo=<client.test>",
		  ML_REJECT, "", "deferred", "451", "a@sender.test", "",
		  "127.0.0.1", "client.test", "", "",
		  "4.7.1 Service unavailable - try again later" },
		{ "Dec 02 05:35:10 relay postfix/cleanup[3]: ABCDEF: "
		  "milter-discard: END-OF-MESSAGE from x[10.1.1.1]: milter "
		  "triggers DISCARD action; from=<s@t.test> to=<r@d.example> "
		  "proto=ESMTP helo=<h>",
		  ML_REJECT, "ABCDEF", "deleted", "", "s@t.test", "r@d.example",
		  "10.1.1.1", "h", "", "", "milter triggers DISCARD action" },
		{ "Dec 02 05:35:10 relay postfix/cleanup[3]: ABCDEF: "
		  "milter-hold: END-OF-MESSAGE from x[10.1.1.1]: milter "
		  "triggers HOLD action; from=<s@t.test> to=<r@d.example> "
		  "proto=ESMTP helo=<h>",
		  ML_REJECT, "ABCDEF", "quarantined", "", "s@t.test",
		  "r@d.example", "10.1.1.1", "h", "", "",
		  "milter triggers HOLD action" },
		{ "Dec 02 05:35:10 relay postfix/postsuper[9]: ABCDEF: "
		  "released "
		  "from hold",
		  ML_RELEASED, "ABCDEF", "released", "", "", "", "", "", "", "",
		  "" },
		{ "Dec 02 05:35:10 relay postfix/qmgr[3]: ABCDEF: from=<s@t>, "
		  "status=expired, returned to sender",
		  ML_EXPIRED, "ABCDEF", "expired", "", "s@t", "", "", "", "",
		  "", "" },
		{ "Dec 02 05:35:10 relay postfix/qmgr[3]: ABCDEF: from=<s@t>, "
		  "status=force-expired, returned to sender",
		  ML_EXPIRED, "ABCDEF", "expired", "", "s@t", "", "", "", "",
		  "", "" },
		{ "Dec 02 05:35:07 relay postfix/qmgr[27674]: 4B8DAA7595F: "
		  "removed",
		  ML_REMOVED, "4B8DAA7595F", "", "", "", "", "", "", "", "",
		  "" },
		/* a control byte from a stranger is not copied */
		{ "Dec 02 05:34:25 relay postfix/smtpd[2]: NOQUEUE: reject: "
		  "RCPT"
		  " from u[1.1.1.1]: 554 5.7.1 no; from=<a\x1b@b> to=<c@d> "
		  "proto=SMTP helo=<x\x01y>",
		  ML_REJECT, "", "refused", "554", "a?@b", "c@d", "1.1.1.1",
		  "x?y", "", "", "5.7.1 no" },
		{ "2026-12-02T05:35:07.123456+00:00 relay postfix/qmgr[1]: "
		  "ABCDE: removed",
		  ML_REMOVED, "ABCDE", "", "", "", "", "", "", "", "", "" },
	};
	static const char *const none[] = {
		"",
		"Dec 02 05:34:16 relay postfix/postfix-script[25000]: starting",
		"Dec 02 05:34:25 relay postfix/smtpd[25396]: connect from "
		"unknown[127.0.0.1]",
		"Dec 02 05:34:25 relay postfix/smtpd[2]: NOQUEUE: "
		"reject_warning:"
		" RCPT from u[1.1.1.1]: 554 5.7.1 no; from=<a@b> to=<c@d> "
		"proto=SMTP helo=<x>",
		"Dec 02 05:34:25 relay dovecot[1]: ABCDE: removed",
		"Dec 32 05:34:25 relay postfix/qmgr[1]: ABCDE: removed",
		"Xyz 02 05:34:25 relay postfix/qmgr[1]: ABCDE: removed",
		"Dec 02 05:34:25 relay postfix/qmgr[1]: AB: removed",
		"Dec 02 05:34:25 relay postfix/qmgr[1]: ABCDE: from=<a@b",
		"Dec 02 05:34:25 relay postfix/smtp[1]: ABCDE: to=<a@b>, "
		"relay=x, status=weird (x)",
		"Dec 02 05:34:25 relay postfix/smtpd[2]: NOQUEUE: reject: RCPT"
		" from nowhere: 554 no",
		"2026-12-02T05:35:07 relay postfix/qmgr[1]: ABCDE: removed",
	};
	struct mlog_line l;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		assert_int_equal(mlog_parse(r->line, NOW, &l), r->kind);
		assert_int_equal(l.kind, r->kind);
		assert_string_equal(l.queue_id, r->qid);
		assert_string_equal(l.verdict, r->verdict);
		assert_string_equal(l.code, r->code);
		assert_string_equal(l.sender, r->sender);
		assert_string_equal(l.recipient, r->recipient);
		assert_string_equal(l.client, r->client);
		assert_string_equal(l.helo, r->helo);
		assert_string_equal(l.message_id, r->mid);
		assert_string_equal(l.destination, r->dest);
		assert_string_equal(l.reply, r->reply);
	}
	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_int_equal(mlog_parse(none[i], NOW, &l), ML_NONE);
}

static void times(void **state)
{
	struct mlog_line l;

	(void)state;
	assert_int_equal(mlog_parse("Dec 02 05:35:07 r postfix/qmgr[1]: "
				    "ABCDE: removed",
				    NOW, &l),
			 ML_REMOVED);
	assert_int_equal(l.time, NOW - 24 * 60 - 53);
	/* no year in the line: late December read in early January */
	assert_int_equal(mlog_parse("Dec 31 23:59:59 r postfix/qmgr[1]: "
				    "ABCDE: removed",
				    1798761600 /* 2027-01-01 00:00 */, &l),
			 ML_REMOVED);
	assert_int_equal(l.time, 1798761599);
	assert_int_equal(mlog_parse("2026-12-02T06:35:07+01:00 r "
				    "postfix/qmgr[1]: ABCDE: removed",
				    NOW, &l),
			 ML_REMOVED);
	assert_int_equal(l.time, NOW - 24 * 60 - 53);
}

/* the warning milter_header_checks logs for our spam header */
static void tagged(void **state)
{
	static const char pre[] = "Dec 02 05:35:07 relay postfix/cleanup[9]: "
				  "4B8DAA7595F: milter-header-warning: header ";
	static const char *const bad[] = {
		/* a level or action outside the lists, a score not a number */
		"X-Mxfeed-Spam: level=huge action=subject score=6.00 from x",
		"X-Mxfeed-Spam: level=med action=reject score=6.00 from x",
		"X-Mxfeed-Spam: level=med action=subject score=6.0x from x",
		"X-Mxfeed-Spam: level=med action=subject score= from x",
		"X-Mxfeed-Spam: level=med action=subject score=6. from x",
		"X-Mxfeed-Spam: level=med action=subjects score=6.00",
		"X-Mxfeed-Spam: level=med score=6.00 action=subject",
		"X-Mxfeed-Spamx: level=med action=subject score=6.00",
		"Subject: level=med action=subject score=6.00 from x",
		"X-Mxfeed-Spam: level=med action=subject score="
		"123456789012345678 from x",
	};
	char line[512];
	struct mlog_line l;
	size_t i;

	(void)state;
	(void)snprintf(line, sizeof(line),
		       "%sX-Mxfeed-Spam: level=med action=subject score=6.00 "
		       "from unknown[127.0.0.1]; from=<s@sender.test> "
		       "to=<a@t.example> proto=ESMTP helo=<client.test>: ",
		       pre);
	assert_int_equal(mlog_parse(line, NOW, &l), ML_TAGGED);
	assert_string_equal(l.queue_id, "4B8DAA7595F");
	assert_string_equal(l.verdict, "tagged");
	assert_string_equal(l.spam_level, "med");
	assert_string_equal(l.spam_action, "subject");
	assert_string_equal(l.spam_score, "6.00");
	(void)snprintf(line, sizeof(line),
		       "%sX-Mxfeed-Spam: level=low action=header score=-0.5",
		       pre);
	assert_int_equal(mlog_parse(line, NOW, &l), ML_TAGGED);
	assert_string_equal(l.spam_level, "low");
	assert_string_equal(l.spam_action, "header");
	assert_string_equal(l.spam_score, "-0.5");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(line, sizeof(line), "%s%s", pre, bad[i]);
		assert_int_equal(mlog_parse(line, NOW, &l), ML_NONE);
	}
	/* header_checks' WARN is on the sender's own headers: not ours */
	assert_int_equal(
		mlog_parse("Dec 02 05:35:07 relay postfix/cleanup[9]: "
			   "4B8DAA7595F: warning: header X-Mxfeed-Spam: "
			   "level=med action=subject score=6.00 from x",
			   NOW, &l),
		ML_NONE);
	/* only cleanup logs it; another program's warning is not a step */
	assert_int_equal(
		mlog_parse("Dec 02 05:35:07 relay postfix/smtpd[9]: "
			   "4B8DAA7595F: milter-header-warning: header "
			   "X-Mxfeed-Spam: level=med action=subject score=6.00",
			   NOW, &l),
		ML_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines),
		cmocka_unit_test(times),
		cmocka_unit_test(tagged),
	};

	return cmocka_run_group_tests_name("maillog", tests, NULL, NULL);
}
