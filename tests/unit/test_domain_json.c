/*
 * test_domain_json - the domain JSON of SPEC section 7, merge patches
 * and the strict loader (UTC times: test_timefmt)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "domain_json.h"

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

static void feed(struct domain *d)
{
	struct domain_name dn;
	struct error err = ERROR_INIT;

	assert_int_equal(domain_name_parse("bücher.example", &dn, &err), 0);
	domain_init(d, &dn, MODE_FEED, &conf);
	assert_int_equal(domain_set(d, "dest", "127.0.0.1:2526", &conf, &err),
			 0);
}

static char *dump(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT);
}

static void to_json_exact(void **state)
{
	struct domain d;
	struct propagation p = { 812, 3, 3 };
	json_t *j;
	char *s;

	(void)state;
	feed(&d);
	d.version = 3;
	d.updated_at = 1795521600; /* 2026-11-24T12:00:00Z */
	d.created_at = 1795521600;
	memcpy(d.updated_by, "alice", 6);
	memcpy(d.created_by, "alice", 6);
	memcpy(d.ticket, "T-1234", 7);
	j = domain_to_json(&d, &p);
	s = dump(j);
	assert_string_equal(
		s,
		"{\"name\":\"xn--bcher-kva.example\",\"unicode_name\":"
		"\"bücher.example\",\"mode\":\"feed\",\"temp_pop3\":null,"
		"\"destination\":{\"host\":\"127.0.0.1\",\"port\":2526},"
		"\"fallbacks\":[],\"tls\":{\"policy\":\"may\",\"fingerprint\":"
		"null},"
		"\"greylisting\":true,\"spam\":{\"enabled\":"
		"false,\"low\":{\"action\":\"subject\",\"text\":\"[SPAM: low] "
		"\"},\"med\":{\"action\":\"subject\",\"text\":\"[SPAM: med] "
		"\"},\"high\":{\"action\":\"delete\",\"text\":\"[SPAM: high] "
		"\"}},\"quarantine\":{\"digest\":\"\"},"
		"\"queue\":{\"days\":2,\"extended_until\":null},"
		"\"recipients\":\"verify\",\"max_message_mb\":50,\"version\":3,"
		"\"created_at\":\"2026-11-24T12:00:00Z\",\"created_by\":"
		"\"alice\",\"updated_at\":\"2026-11-24T12:00:00Z\","
		"\"updated_by\":\"alice\",\"ticket\":\"T-1234\","
		"\"propagation\":{\"sequence\":812,\"relays_applied\":3,"
		"\"relays_total\":3}}");
	free(s);
	json_decref(j);
}

static int patch_text(struct domain *d, const char *text, struct error *err)
{
	json_t *j = json_load_strict(text, strlen(text), JSON_BODY_MAX, err);
	int rc;

	if (j == NULL)
		return -1;
	rc = domain_patch(d, j, &conf, err);
	json_decref(j);
	return rc;
}

static void patch_good(void **state)
{
	struct domain d;
	struct error err = ERROR_INIT;

	(void)state;
	feed(&d);
	assert_int_equal(
		patch_text(&d,
			   "{\"greylisting\":false,\"spam\":{\"enabled\":true,"
			   "\"med\":{\"action\":\"header\"}},\"queue\":{"
			   "\"days\":5},"
			   "\"destination\":{\"port\":2600,\"host\":\"127.0.0."
			   "2\"},"
			   "\"fallbacks\":[{\"host\":\"127.0.0.3\"},\"127.0.0."
			   "4:26\"],"
			   "\"max_message_mb\":20,\"name\":\"BÜCHER.example\","
			   "\"mode\":\"feed\",\"recipients\":\"list\"}",
			   &err),
		0);
	assert_false(d.greylisting);
	assert_true(d.spam_enabled);
	assert_int_equal(d.spam[SPAM_MED].action, SPAM_HEADER);
	assert_int_equal(d.spam[SPAM_LOW].action, SPAM_SUBJECT); /* merged */
	assert_int_equal(d.queue_days, 5);
	assert_string_equal(d.dest.ip.text, "127.0.0.2");
	assert_int_equal(d.dest.port, 2600);
	assert_int_equal(d.nfallbacks, 2);
	assert_int_equal(d.fallbacks[0].port, 25);
	assert_int_equal(d.fallbacks[1].port, 26);
	assert_int_equal(d.max_message_mb, 20);
	assert_int_equal(d.recipients, RCPT_LIST);
	assert_int_equal(patch_text(&d,
				    "{\"queue\":{\"extended_until\":null},"
				    "\"fallbacks\":[]}",
				    &err),
			 0);
	assert_int_equal(d.nfallbacks, 0);
}

/* "tls": {"policy", "fingerprint"} in, canonical out, and back again */
static void tls_object(void **state)
{
	static const char fp[] = "0123456789abcdef0123456789abcdef0123456789abc"
				 "def0123456789abcdef";
	struct domain d, again;
	struct error err = ERROR_INIT;
	struct propagation p = { 7, 1, 1 };
	json_t *j, *t;

	(void)state;
	feed(&d);
	assert_int_equal(patch_text(&d,
				    "{\"tls\":{\"policy\":\"verify\","
				    "\"fingerprint\":\"01:23:45:67:89:AB:CD:EF:"
				    "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:"
				    "CD:EF:01:23:45:67:89:AB:CD:EF\"}}",
				    &err),
			 0);
	assert_int_equal(d.tls_policy, TLS_VERIFY);
	assert_string_equal(d.tls_fingerprint, fp);
	j = domain_to_json(&d, &p);
	t = json_object_get(j, "tls");
	assert_int_equal(json_object_size(t), 2);
	assert_string_equal(json_string_value(json_object_get(t, "policy")),
			    "verify");
	assert_string_equal(
		json_string_value(json_object_get(t, "fingerprint")), fp);
	/* the document GET gives is accepted back unchanged */
	again = d;
	assert_int_equal(domain_patch(&again, j, &conf, &err), 0);
	assert_true(domain_settings_equal(&d, &again));
	json_decref(j);
	/* null clears the fingerprint */
	assert_int_equal(patch_text(&d,
				    "{\"tls\":{\"policy\":\"encrypt\","
				    "\"fingerprint\":null}}",
				    &err),
			 0);
	assert_int_equal(d.tls_policy, TLS_ENCRYPT);
	assert_string_equal(d.tls_fingerprint, "");
	j = domain_to_json(&d, NULL);
	assert_true(json_is_null(
		json_object_get(json_object_get(j, "tls"), "fingerprint")));
	json_decref(j);
}

struct badpatch {
	const char *json, *field, *why;
};

static const struct badpatch bad_patches[] = {
	{ "{\"version\":9}", "version", "read-only" },
	{ "{\"updated_by\":\"mallory\"}", "updated_by", "read-only" },
	{ "{\"propagation\":null}", "propagation", "read-only" },
	{ "{\"mode\":\"pop3\"}", "mode", "feedctl switch" },
	{ "{\"name\":\"other.example\"}", "name", "read-only" },
	{ "{\"name\":5}", "name", "a string" },
	{ "{\"colour\":\"red\"}", "", "unknown setting" },
	{ "{\"spam\":{\"colour\":1}}", "", "unknown setting" },
	{ "{\"spam\":{\"low\":{\"level\":1}}}", "", "unknown setting" },
	{ "{\"destination\":{\"host\":\"127.0.0.1\",\"x\":1}}", "destination",
	  "unknown field" },
	{ "{\"greylisting\":\"on\"}", "greylisting", "true or false" },
	{ "{\"greylisting\":1}", "greylisting", "true or false" },
	{ "{\"greylisting\":null}", "greylisting", "true or false" },
	{ "{\"queue\":{\"days\":\"5\"}}", "queue.days", "whole number" },
	{ "{\"queue\":{\"days\":1.5}}", "queue.days", "whole number" },
	{ "{\"queue\":{\"days\":32}}", "queue.days", "1 to 31" },
	{ "{\"queue\":5}", "queue", "an object" },
	{ "{\"spam\":true}", "spam", "an object" },
	{ "{\"spam\":{\"low\":{\"action\":\"reject\"}}}", "spam.low.action",
	  "none, header" },
	{ "{\"spam\":{\"low\":{\"text\":\"a\\nb\"}}}", "spam.low.text",
	  "printable" },
	/* a field-level error naming the field (issue 14) */
	{ "{\"spam\":{\"low\":{\"text\":\"a\\u0000b\"}}}", "spam.low.text",
	  "NUL" },
	{ "{\"fallbacks\":[{\"host\":\"127.0.0.3\\u0000\"}]}", "fallbacks",
	  "NUL" },
	{ "{\"destination\":null}", "destination", "needs a destination" },
	{ "{\"destination\":\"127.0.0.1\"}", "destination", "an object" },
	{ "{\"destination\":{\"host\":\"10.1.1.1\"}}", "destination.host",
	  "RFC 1918" },
	{ "{\"destination\":{\"port\":0}}", "destination.port", "port" },
	{ "{\"fallbacks\":\"127.0.0.3\"}", "fallbacks", "an array" },
	{ "{\"fallbacks\":[{\"host\":\"127.0.0.3\",\"port\":\"25\"}]}",
	  "fallbacks", "host" },
	{ "{\"fallbacks\":[{\"host\":\"127.0.0.3,127.0.0.4\"}]}", "fallbacks",
	  "IP address" },
	{ "{\"max_message_mb\":1025}", "max_message_mb", "1 to 1024" },
	{ "{\"max_message_mb\":true}", "max_message_mb", "whole number" },
	{ "{\"recipients\":[\"list\"]}", "recipients", "a string" },
	{ "{\"queue\":{\"extended_until\":\"2020-01-01\"}}",
	  "queue.extended_until", "next 31 days" },
	{ "{\"tls\":\"encrypt\"}", "tls", "an object" },
	{ "{\"tls\":null}", "tls", "an object" },
	{ "{\"tls\":{\"policy\":\"strict\"}}", "tls.policy",
	  "may, encrypt or verify" },
	{ "{\"tls\":{\"policy\":null}}", "tls.policy", "a string" },
	{ "{\"tls\":{\"fingerprint\":5}}", "tls.fingerprint",
	  "a string or null" },
	{ "{\"tls\":{\"fingerprint\":\"abc\"}}", "tls.fingerprint",
	  "64 hex digits" },
	{ "{\"tls\":{\"level\":\"may\"}}", "", "unknown setting" },
	{ "[]", "", "JSON object" },
};

static void patch_bad(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_patches) / sizeof(bad_patches[0]); i++) {
		struct domain d, before;
		struct error err = ERROR_INIT;

		feed(&d);
		before = d;
		if (patch_text(&d, bad_patches[i].json, &err) != -1)
			fail_msg("accepted %s", bad_patches[i].json);
		assert_int_equal(err.code, ERR_INVALID);
		if (strcmp(err.field, bad_patches[i].field) != 0 ||
		    strstr(error_msg(&err), bad_patches[i].why) == NULL)
			fail_msg("%s: got field '%s' message '%s'",
				 bad_patches[i].json, err.field,
				 error_msg(&err));
		assert_memory_equal(&d, &before, sizeof(d));
		error_release(&err);
	}
}

static const char *const bad_docs[] = {
	"",
	"{",
	"{\"a\":1,\"a\":2}",
	"{\"spam\":{\"low\":{},\"low\":{}}}",
	"{\"a\":1} trailing",
	"{\"a\":\"\xff\"}",
	"{\"a\":\"\xc3\"}",
	"{'a':1}",
	"{\"a\":01}",
	"{\"a\":NaN}",
	"[[[[[[[[[1]]]]]]]]]",
	"{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":{}}}}}}}}}",
};

static void strict_loader(void **state)
{
	struct error err = ERROR_INIT;
	char *big;
	json_t *j;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++) {
		j = json_load_strict(bad_docs[i], strlen(bad_docs[i]),
				     JSON_BODY_MAX, &err);
		if (j != NULL)
			fail_msg("accepted document #%zu", i);
		assert_int_equal(err.code, ERR_INVALID);
		error_release(&err);
	}
	/* eight levels are fine */
	j = json_load_strict("[[[[[[[[1]]]]]]]]", 17, JSON_BODY_MAX, &err);
	assert_non_null(j);
	json_decref(j);
	/* oversize */
	big = malloc(JSON_BODY_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', JSON_BODY_MAX + 1);
	big[0] = '1';
	big[JSON_BODY_MAX + 1] = '\0';
	assert_null(
		json_load_strict(big, JSON_BODY_MAX + 1, JSON_BODY_MAX, &err));
	assert_non_null(strstr(error_msg(&err), "larger than"));
	error_release(&err);
	free(big);
	/* an embedded NUL byte */
	assert_null(json_load_strict("{\"a\":1}\0x", 9, JSON_BODY_MAX, &err));
	error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(to_json_exact), cmocka_unit_test(patch_good),
		cmocka_unit_test(patch_bad),	 cmocka_unit_test(tls_object),
		cmocka_unit_test(strict_loader),
	};

	return cmocka_run_group_tests_name("domain_json", tests, setup,
					   teardown);
}
