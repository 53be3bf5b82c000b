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

/* ---- the streaming writer against the jansson tree ----------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random UTF-8 of at most size - 1 bytes: ASCII, the bytes JSON
 * escapes, DEL, two- to four-byte sequences, U+2028, never a NUL. */
static void rnd_text(char *buf, size_t size)
{
	static const char *const pieces[] = { "a",
					      "Z",
					      "0",
					      " ",
					      "\"",
					      "\\",
					      "/",
					      "\x01",
					      "\x1f",
					      "\b",
					      "\f",
					      "\n",
					      "\r",
					      "\t",
					      "\x7f",
					      "\xc3\xa9",
					      "\xe2\x82\xac",
					      "\xe2\x80\xa8",
					      "\xf0\x9f\x98\x80",
					      "[SPAM] ",
					      "u\\u0041",
					      "\x0b",
					      "}",
					      "{\"x\":" };
	size_t len = 0, n = rnd() % 3 == 0 ? 0 : rnd() % size;

	while (len < n) {
		const char *pc =
			pieces[rnd() % (sizeof(pieces) / sizeof(*pieces))];
		size_t k = strlen(pc);

		if (len + k >= size)
			break;
		memcpy(buf + len, pc, k);
		len += k;
	}
	buf[len] = '\0';
}

static int64_t rnd_time(void)
{
	switch (rnd() % 5) {
	case 0:
		return 0;
	case 1:
		return -(int64_t)(rnd() % 100000); /* before 1970 */
	case 2:
		return (int64_t)(rnd() >> 1); /* past year 9999 */
	default:
		return (int64_t)(rnd() % 253402300800ULL);
	}
}

static void rnd_dest(struct dest *d)
{
	rnd_text(d->ip.text, sizeof(d->ip.text));
	d->port = (uint16_t)rnd();
}

/* Every member of the record at random, written past the setters: the
 * writer must spell anything the tree spells. */
static void rnd_domain(struct domain *d)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	rnd_text(d->name.alabel, sizeof(d->name.alabel));
	rnd_text(d->name.ulabel, sizeof(d->name.ulabel));
	d->mode = (enum domain_mode)(rnd() % 3);
	d->temp_pop3 = rnd() % 2;
	d->temp_pop3_since = rnd_time();
	rnd_text(d->temp_pop3_by, sizeof(d->temp_pop3_by));
	d->has_dest = rnd() % 2;
	rnd_dest(&d->dest);
	d->nfallbacks = rnd() % (DOMAIN_FALLBACKS_MAX + 1);
	for (i = 0; i < d->nfallbacks; i++)
		rnd_dest(&d->fallbacks[i]);
	for (i = 0; i < FLD_COUNT; i++) {
		const struct field *f = &domain_fields[i];
		char *m = (char *)d + f->off;
		size_t n = 0;

		switch (f->type) {
		case FT_BOOL:
			*(bool *)m = rnd() % 2;
			break;
		case FT_INT:
			*(int *)m = (int)rnd();
			break;
		case FT_ENUM:
			while (f->names[n] != NULL)
				n++;
			*(int *)m = (int)(rnd() % n);
			break;
		case FT_TEXT:
			rnd_text(m, f->size);
			break;
		case FT_FINGERPRINT:
			if (rnd() % 2)
				m[0] = '\0';
			else
				rnd_text(m, f->size);
			break;
		case FT_TIME:
			*(int64_t *)m = rnd_time();
			break;
		case FT_CUSTOM:
			break;
		}
	}
	d->version = (int64_t)rnd();
	d->created_at = rnd_time();
	d->updated_at = rnd_time();
	rnd_text(d->created_by, sizeof(d->created_by));
	rnd_text(d->updated_by, sizeof(d->updated_by));
	rnd_text(d->ticket, sizeof(d->ticket));
}

static void assert_same(const struct domain *d, const struct propagation *p)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *j = domain_to_json(d, p);
	char *s = dump(j);

	assert_non_null(s);
	sbuf_addstr(&sb, "pre"); /* the writer appends */
	domain_json_write(&sb, d, p);
	assert_int_equal(sb.len, strlen(s) + 3);
	assert_memory_equal(sb.buf, "pre", 3);
	assert_string_equal(sb.buf + 3, s);
	free(s);
	json_decref(j);
	sbuf_release(&sb);
}

static void writer_matches_jansson(void **state)
{
	struct domain d;
	struct propagation p;
	int i;

	(void)state;
	/* the records the API answers: the fixed one, then random ones */
	feed(&d);
	assert_same(&d, NULL);
	p = (struct propagation){ 812, 3, 3 };
	assert_same(&d, &p);
	for (i = 0; i < 20000; i++) {
		rnd_domain(&d);
		p.sequence = (int64_t)rnd();
		p.relays_applied = (long)rnd();
		p.relays_total = (long)rnd() % 7;
		assert_same(&d, rnd() % 4 == 0 ? NULL : &p);
	}
}

static void writer_string(void **state)
{
	static char text[5000];
	int i;

	(void)state;
	/* short ones, and some longer than the writer's own buffer */
	for (i = 0; i < 20000; i++) {
		struct strbuf sb = STRBUF_INIT;
		json_t *j;
		char *s;

		rnd_text(text, i % 100 == 0 ? sizeof(text) : 300);
		if (i % 300 == 0)
			memset(text, 'a', sizeof(text) - 1); /* one long run */
		j = json_string(text);
		assert_non_null(j);
		s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
		domain_json_write_string(&sb, text);
		assert_string_equal(sb.buf, s);
		free(s);
		json_decref(j);
		sbuf_release(&sb);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(to_json_exact),
		cmocka_unit_test(patch_good),
		cmocka_unit_test(patch_bad),
		cmocka_unit_test(tls_object),
		cmocka_unit_test(strict_loader),
		cmocka_unit_test(writer_matches_jansson),
		cmocka_unit_test(writer_string),
	};

	return cmocka_run_group_tests_name("domain_json", tests, setup,
					   teardown);
}
