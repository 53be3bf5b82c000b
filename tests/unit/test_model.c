/*
 * test_model - defaults per mode, the setting table (good and bad
 * values, read-only and unknown paths), unchanged-on-error, the
 * cross-field rules and settings equality
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "model.h"

static struct conf conf;

static int setup(void **state)
{
	struct error err = ERROR_INIT;
	struct cidr c;

	(void)state;
	memset(&conf, 0, sizeof(conf));
	conf.max_message_mb = 50;
	if (cidr_parse("127.0.0.0/8", &c, "allow", &err) < 0)
		return -1;
	cidr_list_add(&conf.dest_allow, &c);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cidr_list_release(&conf.dest_allow);
	return 0;
}

static void make(struct domain *d, const char *name, enum domain_mode m)
{
	struct domain_name dn;
	struct error err = ERROR_INIT;

	assert_int_equal(domain_name_parse(name, &dn, &err), 0);
	domain_init(d, &dn, m, &conf);
	if (m != MODE_POP3)
		assert_int_equal(
			domain_set(d, "dest", "127.0.0.1:2526", &conf, &err),
			0);
}

static void defaults(void **state)
{
	struct domain f, b, p;
	struct error err = ERROR_INIT;

	(void)state;
	make(&f, "feed.example", MODE_FEED);
	make(&b, "backup.example", MODE_BACKUP);
	make(&p, "pop.example", MODE_POP3);
	assert_int_equal(f.queue_days, 2);
	assert_int_equal(b.queue_days, 8);
	assert_int_equal(p.queue_days, 5);
	assert_true(f.greylisting);
	assert_false(f.spam_enabled);
	assert_int_equal(f.spam[SPAM_LOW].action, SPAM_SUBJECT);
	assert_int_equal(f.spam[SPAM_MED].action, SPAM_SUBJECT);
	assert_int_equal(f.spam[SPAM_HIGH].action, SPAM_DELETE);
	assert_string_equal(f.spam[SPAM_LOW].text, "[SPAM: low] ");
	assert_string_equal(f.spam[SPAM_MED].text, "[SPAM: med] ");
	assert_string_equal(f.spam[SPAM_HIGH].text, "[SPAM: high] ");
	assert_int_equal(f.recipients, RCPT_VERIFY);
	assert_int_equal(f.max_message_mb, 50);
	assert_int_equal(f.queue_extended_until, 0);
	assert_false(p.has_dest);
	assert_int_equal(domain_check(&f, &conf, &err), 0);
	assert_int_equal(domain_check(&p, &conf, &err), 0);
}

struct setcase {
	const char *path, *value;
};

static const struct setcase good_sets[] = {
	{ "greylisting", "off" },
	{ "greylisting", "true" },
	{ "spam.enabled", "on" },
	{ "spam.enabled", "false" },
	{ "spam.low.action", "header" },
	{ "spam.med.action", "none" },
	{ "spam.high.action", "subject" },
	{ "spam.high.action", "delete" },
	{ "spam.low.text", "[low] " },
	{ "spam.med.text", "" },
	{ "spam.high.text", "[Spam: hoch ü] " },
	{ "queue.days", "1" },
	{ "queue.days", "31" },
	{ "recipients", "list" },
	{ "recipients", "any" },
	{ "max_message_mb", "1" },
	{ "max_message_mb", "1024" },
	{ "dest", "127.0.0.2" },
	{ "dest", "[2a00:1450::1]:26" },
	{ "destination.host", "8.8.8.8" },
	{ "destination.port", "587" },
	{ "fallbacks", "127.0.0.3,127.0.0.4:26" },
	{ "fallbacks", "" },
	{ "queue.extended_until", "" },
	{ "queue.extended_until", "none" },
	{ "tls.policy", "may" },
	{ "tls.policy", "encrypt" },
	{ "tls.fingerprint",
	  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
	{ "tls.fingerprint",
	  "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF" },
	{ "tls.fingerprint",
	  "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:"
	  "cd:ef:01:23:45:67:89:ab:cd:ef" },
	{ "tls.fingerprint", "none" },
	{ "tls.fingerprint", "" },
};

struct badset {
	const char *path, *value, *why;
};

static const struct badset bad_sets[] = {
	{ "greylisting", "yes", "on, off, true or false" },
	{ "greylisting", "1", "on, off" },
	{ "greylisting", "ON", "on, off" },
	{ "greylisting", "", "on, off" },
	{ "greylisting", "on ", "on, off" },
	{ "spam.enabled", "enabled", "on, off" },
	{ "spam.low.action", "reject",
	  "none, header, subject, delete or quarantine" },
	{ "spam.low.action", "HEADER", "none, header" },
	{ "spam.med.action", "", "none, header" },
	{ "spam.low.text", "a\nb", "printable" },
	{ "spam.low.text", "a\rb", "printable" },
	{ "spam.low.text", "a\tb", "printable" },
	{ "spam.low.text", "\x1b[31m", "printable" },
	{ "spam.low.text", "\xff\xfe", "printable" },
	{ "spam.low.text",
	  "0123456789012345678901234567890123456789012345678901234567890123X",
	  "at most 64" },
	{ "queue.days", "0", "1 to 31" },
	{ "queue.days", "32", "1 to 31" },
	{ "queue.days", "-1", "1 to 31" },
	{ "queue.days", "05", "1 to 31" },
	{ "queue.days", "+5", "1 to 31" },
	{ "queue.days", "5 ", "1 to 31" },
	{ "queue.days", "0x5", "1 to 31" },
	{ "queue.days", "5.0", "1 to 31" },
	{ "queue.days", "1e1", "1 to 31" },
	{ "queue.days", "", "1 to 31" },
	{ "queue.days", "99999999999999999999", "1 to 31" },
	{ "max_message_mb", "0", "1 to 1024" },
	{ "max_message_mb", "1025", "1 to 1024" },
	{ "max_message_mb", "2000", "1 to 1024" },
	{ "recipients", "all", "verify, list or any" },
	{ "recipients", "", "verify, list" },
	{ "dest", "10.0.0.1", "RFC 1918" },
	{ "dest", "127.1", "canonical" },
	{ "dest", "127.0.0.1:0", "port" },
	{ "destination.host", "127.0.0.1:25", "not an IP" },
	{ "destination.port", "65536", "port" },
	{ "fallbacks", "127.0.0.3,127.0.0.3", "twice" },
	{ "fallbacks", "127.0.0.3,,127.0.0.4", "required" },
	{ "fallbacks",
	  "127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,"
	  "127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9",
	  "at most 8" },
	{ "queue.extended_until", "2020-01-01", "next 31 days" },
	{ "queue.extended_until", "2099-01-01", "next 31 days" },
	{ "queue.extended_until", "tomorrow", "YYYY-MM-DD" },
	{ "queue.extended_until", "2026-02-30", "YYYY-MM-DD" },
	{ "version", "7", "read-only" },
	{ "updated_by", "mallory", "read-only" },
	{ "name", "other.example", "read-only" },
	{ "ticket", "T-1", "read-only" },
	{ "mode", "pop3", "feedctl switch" },
	{ "temp_pop3", "on", "read-only" },
	{ "spam", "on", "unknown setting" },
	{ "spam.low", "header", "unknown setting" },
	{ "greylist", "on", "unknown setting" },
	{ "queue.days;drop", "1", "unknown setting" },
	{ "", "1", "unknown setting" },
	{ "tls.policy", "strict", "may, encrypt or verify" },
	{ "tls.policy", "ENCRYPT", "may, encrypt or verify" },
	{ "tls.policy", "", "may, encrypt" },
	{ "tls.policy", "none", "may, encrypt" },
	{ "tls.fingerprint",
	  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
	  "64 hex digits" },
	{ "tls.fingerprint",
	  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
	  "64 hex digits" },
	{ "tls.fingerprint",
	  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
	  "not a hex digit" },
	{ "tls.fingerprint",
	  " 123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	  "not a hex digit" },
	{ "tls.fingerprint",
	  "01-23-45-67-89-AB-CD-EF-01-23-45-67-89-AB-CD-EF-01-23-45-67-89-AB-"
	  "CD-EF-01-23-45-67-89-AB-CD-EF",
	  "':' expected" },
	{ "tls.fingerprint",
	  "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:"
	  "CD:EF:01:23:45:67:89:AB:CD::F",
	  "not a hex digit" },
	{ "tls.fingerprint",
	  "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:"
	  "CD:EF:01:23:45:67:89:AB:CD:EF:",
	  "64 hex digits" },
	{ "tls.fingerprint", "NONE", "64 hex digits" },
	{ "tls.fingerprint",
	  "sha256:"
	  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	  "64 hex digits" },
	{ "tls", "encrypt", "unknown setting" },
};

static void good_settings(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good_sets) / sizeof(good_sets[0]); i++) {
		struct domain d;
		struct error err = ERROR_INIT;

		make(&d, "feed.example", MODE_FEED);
		if (domain_set(&d, good_sets[i].path, good_sets[i].value, &conf,
			       &err) != 0)
			fail_msg("refused %s=%s: %s", good_sets[i].path,
				 good_sets[i].value, error_msg(&err));
		assert_int_equal(domain_check(&d, &conf, &err), 0);
	}
}

static void bad_settings(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_sets) / sizeof(bad_sets[0]); i++) {
		struct domain d, before;
		struct error err = ERROR_INIT;

		make(&d, "feed.example", MODE_FEED);
		before = d;
		if (domain_set(&d, bad_sets[i].path, bad_sets[i].value, &conf,
			       &err) != -1)
			fail_msg("accepted %s=%s", bad_sets[i].path,
				 bad_sets[i].value);
		assert_int_equal(err.code, ERR_INVALID);
		if (strstr(error_msg(&err), bad_sets[i].why) == NULL)
			fail_msg("%s=%s: message '%s' lacks '%s'",
				 bad_sets[i].path, bad_sets[i].value,
				 error_msg(&err), bad_sets[i].why);
		assert_null(strpbrk(error_msg(&err), "\r\n"));
		/* a refused setting leaves the record exactly as it was */
		assert_memory_equal(&d, &before, sizeof(d));
		error_release(&err);
	}
}

static void values_stored(void **state)
{
	struct domain d;
	struct error err = ERROR_INIT;
	char until[16];
	time_t t = time(NULL) + 10 * 86400;
	struct tm tm;

	(void)state;
	make(&d, "feed.example", MODE_FEED);
	assert_int_equal(
		domain_set(&d, "destination.port", "2600", &conf, &err), 0);
	assert_int_equal(d.dest.port, 2600);
	assert_string_equal(d.dest.ip.text, "127.0.0.1");
	assert_int_equal(
		domain_set(&d, "destination.host", "127.0.0.7", &conf, &err),
		0);
	assert_int_equal(d.dest.port, 2600); /* the port is kept */
	assert_int_equal(domain_set(&d, "fallbacks", "127.0.0.3,[2a00::1]:26",
				    &conf, &err),
			 0);
	assert_int_equal(d.nfallbacks, 2);
	assert_int_equal(d.fallbacks[1].port, 26);
	gmtime_r(&t, &tm);
	strftime(until, sizeof(until), "%Y-%m-%d", &tm);
	assert_int_equal(
		domain_set(&d, "queue.extended_until", until, &conf, &err), 0);
	/* a date means the end of that day, UTC */
	assert_int_equal(d.queue_extended_until % 86400, 86399);
}

static void pop3_has_no_destination(void **state)
{
	struct domain d;
	struct error err = ERROR_INIT;

	(void)state;
	make(&d, "pop.example", MODE_POP3);
	assert_int_equal(domain_set(&d, "dest", "127.0.0.1", &conf, &err), -1);
	assert_non_null(strstr(error_msg(&err), "pop3 domains have no"));
	error_release(&err);
	assert_int_equal(domain_set(&d, "fallbacks", "127.0.0.1", &conf, &err),
			 -1);
	error_release(&err);
	d.temp_pop3 = true;
	assert_int_equal(domain_check(&d, &conf, &err), -1);
	assert_string_equal(err.field, "temp_pop3");
	error_release(&err);
}

/* tls.policy and tls.fingerprint: canonical storage, the verify rule,
 * and pop3 (no destination, so no TLS towards one) */
static void tls_settings(void **state)
{
	static const char fp[] = "0123456789abcdef0123456789abcdef0123456789abc"
				 "def0123456789abcdef";
	struct domain d, before;
	struct error err = ERROR_INIT;

	(void)state;
	make(&d, "feed.example", MODE_FEED);
	assert_int_equal(d.tls_policy, TLS_MAY);
	assert_string_equal(d.tls_fingerprint, "");
	assert_int_equal(
		domain_set(&d, "tls.fingerprint",
			   "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:"
			   "23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF",
			   &conf, &err),
		0);
	assert_string_equal(d.tls_fingerprint, fp);
	/* verify without a fingerprint: refused naming tls.fingerprint */
	assert_int_equal(domain_set(&d, "tls.policy", "verify", &conf, &err),
			 0);
	assert_int_equal(domain_check(&d, &conf, &err), 0);
	assert_int_equal(domain_set(&d, "tls.fingerprint", "none", &conf, &err),
			 0);
	assert_int_equal(domain_check(&d, &conf, &err), -1);
	assert_int_equal(err.code, ERR_INVALID);
	assert_string_equal(err.field, "tls.fingerprint");
	assert_non_null(
		strstr(error_msg(&err), "verify needs tls.fingerprint"));
	error_release(&err);
	/* a stored value that is not canonical is caught by the check */
	make(&d, "feed.example", MODE_FEED);
	memcpy(d.tls_fingerprint, "ABCD", 5);
	assert_int_equal(domain_check(&d, &conf, &err), -1);
	assert_string_equal(err.field, "tls.fingerprint");
	error_release(&err);
	/* pop3: the defaults are taken back, anything else refused */
	make(&d, "pop.example", MODE_POP3);
	before = d;
	assert_int_equal(domain_set(&d, "tls.policy", "may", &conf, &err), 0);
	assert_int_equal(domain_set(&d, "tls.fingerprint", "", &conf, &err), 0);
	assert_int_equal(domain_set(&d, "tls.policy", "encrypt", &conf, &err),
			 -1);
	assert_int_equal(err.code, ERR_INVALID);
	assert_string_equal(err.field, "tls.policy");
	assert_non_null(strstr(error_msg(&err), "pop3 domains have no"));
	error_release(&err);
	assert_int_equal(domain_set(&d, "tls.fingerprint", fp, &conf, &err),
			 -1);
	assert_string_equal(err.field, "tls.fingerprint");
	error_release(&err);
	assert_memory_equal(&d, &before, sizeof(d));
	d.tls_policy = TLS_ENCRYPT;
	assert_int_equal(domain_check(&d, &conf, &err), -1);
	assert_string_equal(err.field, "tls.policy");
	error_release(&err);
	/* a switch to pop3 drops them with the destination */
	make(&d, "feed.example", MODE_FEED);
	assert_int_equal(domain_set(&d, "tls.fingerprint", fp, &conf, &err), 0);
	assert_int_equal(domain_set(&d, "tls.policy", "verify", &conf, &err),
			 0);
	assert_int_equal(domain_set(&d, "fallbacks", "127.0.0.3", &conf, &err),
			 0);
	d.mode = MODE_POP3;
	domain_clear_dest(&d);
	assert_false(d.has_dest);
	assert_int_equal(d.nfallbacks, 0);
	assert_int_equal(d.tls_policy, TLS_MAY);
	assert_string_equal(d.tls_fingerprint, "");
	assert_int_equal(domain_check(&d, &conf, &err), 0);
}

static void checks(void **state)
{
	struct domain d;
	struct error err = ERROR_INIT;

	(void)state;
	make(&d, "feed.example", MODE_FEED);
	d.has_dest = false;
	assert_int_equal(domain_check(&d, &conf, &err), -1);
	assert_non_null(strstr(error_msg(&err), "needs a destination"));
	error_release(&err);
	make(&d, "feed.example", MODE_FEED);
	assert_int_equal(
		domain_set(&d, "fallbacks", "127.0.0.1:2526", &conf, &err), 0);
	assert_int_equal(domain_check(&d, &conf, &err), -1);
	assert_non_null(strstr(error_msg(&err), "destination itself"));
	error_release(&err);
}

static void equality(void **state)
{
	struct domain a, b;
	struct error err = ERROR_INIT;

	(void)state;
	make(&a, "feed.example", MODE_FEED);
	b = a;
	b.version = 9; /* bookkeeping does not count */
	assert_true(domain_settings_equal(&a, &b));
	assert_int_equal(domain_set(&b, "spam.high.text", "x", &conf, &err), 0);
	assert_false(domain_settings_equal(&a, &b));
	b = a;
	assert_int_equal(domain_set(&b, "destination.port", "26", &conf, &err),
			 0);
	assert_false(domain_settings_equal(&a, &b));
	b = a;
	assert_int_equal(domain_set(&b, "tls.policy", "encrypt", &conf, &err),
			 0);
	assert_false(domain_settings_equal(&a, &b));
	b = a;
	assert_int_equal(domain_set(&b, "tls.fingerprint",
				    "0123456789abcdef0123456789abcdef0123456789"
				    "abcdef0123456789abcdef",
				    &conf, &err),
			 0);
	assert_false(domain_settings_equal(&a, &b));
}

static void actors(void **state)
{
	struct error err = ERROR_INIT;

	(void)state;
	assert_int_equal(actor_check("alice", "actor", &err), 0);
	assert_int_equal(actor_check("T-1234 (ticket)", "ticket", &err), 0);
	assert_int_equal(actor_check("", "actor", &err), -1);
	error_release(&err);
	assert_int_equal(actor_check("a\nb", "actor", &err), -1);
	error_release(&err);
	assert_int_equal(actor_check(" a", "actor", &err), -1);
	error_release(&err);
	assert_int_equal(actor_check("\xc3\xa4", "actor", &err), -1);
	error_release(&err);
	assert_int_equal(
		actor_check("01234567890123456789012345678901234567890123456789"
			    "012345678901234",
			    "ticket", &err),
		-1);
	assert_string_equal(err.field, "ticket");
	error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(good_settings),
		cmocka_unit_test(bad_settings),
		cmocka_unit_test(values_stored),
		cmocka_unit_test(pop3_has_no_destination),
		cmocka_unit_test(tls_settings),
		cmocka_unit_test(checks),
		cmocka_unit_test(equality),
		cmocka_unit_test(actors),
	};

	return cmocka_run_group_tests_name("model", tests, setup, teardown);
}
