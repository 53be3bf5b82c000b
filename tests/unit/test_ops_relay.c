/* test_ops_relay - the drain's validators (ops_relay) and the relay's
 * side of a drain that needs no daemon (drain: the plan's text, its
 * template values, the address a relay takes hand-overs on) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "drain.h"
#include "ops_relay.h"
#include "unit_conf.h"

static void test_age(void **state)
{
	static const struct {
		const char *in;
		int64_t secs; /* -1: refused */
		const char *msg;
	} cases[] = {
		{ "1s", 1, NULL },
		{ "90m", 5400, NULL },
		{ "2h", 7200, NULL },
		{ "1d", 86400, NULL },
		{ "31d", 31 * 86400, NULL },
		{ "744h", 744 * 3600, NULL },
		{ "2678400s", 2678400, NULL },
		{ "0s", -1, "must be 1 second to 31 days" },
		{ "0m", -1, "must be 1 second to 31 days" },
		{ "32d", -1, "must be 1 second to 31 days" },
		{ "2678401s", -1, "must be 1 second to 31 days" },
		{ "99999999d", -1, "must be 1 second to 31 days" },
		{ "123456789s", -1, "a number and a unit" },
		{ "", -1, "a number and a unit" },
		{ "h", -1, "a number and a unit" },
		{ "5", -1, "a number and a unit" },
		{ "5x", -1, "a number and a unit" },
		{ "5H", -1, "a number and a unit" },
		{ "1.5h", -1, "a number and a unit" },
		{ "-1h", -1, "a number and a unit" },
		{ "+1h", -1, "a number and a unit" },
		{ " 1h", -1, "a number and a unit" },
		{ "1h ", -1, "a number and a unit" },
		{ "1 h", -1, "a number and a unit" },
		{ "1hh", -1, "a number and a unit" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct error err = ERROR_INIT;
		int64_t secs = -7;
		int rc = ops_drain_age_parse(cases[i].in, &secs, &err);

		if (cases[i].secs >= 0) {
			assert_int_equal(rc, 0);
			assert_int_equal(secs, cases[i].secs);
		} else {
			assert_int_equal(rc, -1);
			assert_int_equal(secs, -7); /* untouched */
			assert_int_equal(err.code, ERR_INVALID);
			assert_string_equal(err.field, "max_age");
			assert_non_null(strstr(error_msg(&err), cases[i].msg));
		}
		error_release(&err);
	}
}

static void test_name(void **state)
{
	static const struct {
		const char *in;
		bool ok;
	} cases[] = {
		{ "relay-1", true },
		{ "mx1.example.net", true },
		{ "A", true },
		{ "", false },
		{ "a b", false },
		{ "a_b", false },
		{ "a/b", false },
		{ "r\n", false },
		{ "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"
		  "abc",
		  true }, /* 63 */
		{ "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"
		  "abcd",
		  false }, /* 64 */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct error err = ERROR_INIT;
		int rc = ops_relay_name_check(cases[i].in, "hand_over", &err);

		assert_int_equal(rc, cases[i].ok ? 0 : -1);
		if (!cases[i].ok) {
			assert_int_equal(err.code, ERR_INVALID);
			assert_string_equal(err.field, "hand_over");
		}
		error_release(&err);
	}
}

/* Refusals that need no database: the store (NULL here) is never asked,
 * so nothing can have been stored. */
static void test_drain_refusals(void **state)
{
	static const struct {
		struct ops_drain_in in;
		const char *field, *msg;
	} cases[] = {
		{ { "a b", NULL, NULL }, "relay", "a relay name is" },
		{ { "r1", "x y", NULL }, "hand_over", "a relay name is" },
		{ { "r1", NULL, "1h" },
		  "max_age",
		  "--max-age needs --hand-over" },
		{ { "r1", "r2", "5x" }, "max_age", "a number and a unit" },
		{ { "r1", "r2", "40d" }, "max_age", "1 second to 31 days" },
		{ { "r1", "r1", NULL },
		  "hand_over",
		  "r1 cannot hand its queue over to itself" },
		{ { "r1", "r1", "1h" },
		  "hand_over",
		  "r1 cannot hand its queue over to itself" },
	};
	struct ops_ctx ox = { 0 };
	size_t i;

	(void)state;
	ox.conf = &conf;
	ox.change.actor = "tester";
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct error err = ERROR_INIT;

		assert_int_equal(ops_relay_drain(&ox, &cases[i].in, &err), -1);
		assert_int_equal(err.code, ERR_INVALID);
		assert_string_equal(err.field, cases[i].field);
		assert_non_null(strstr(error_msg(&err), cases[i].msg));
		error_release(&err);
	}
}

static void test_plan(void **state)
{
	struct drain_plan p;
	struct drain_vars v;
	char text[1200];

	(void)state;
	memset(&p, 0, sizeof(p));
	drain_plan_text(&p, text, sizeof(text));
	assert_string_equal(text, "off");
	drain_vars(&p, "/s/current", &v);
	assert_string_equal(v.delay_reject, "yes");
	assert_string_equal(v.client, "");
	assert_string_equal(v.transport_maps, "lmdb:/s/current/transport");
	assert_string_equal(v.relay_transport, "relay");
	assert_string_equal(v.peer_checks, "");

	p.mode = DRAIN_REFUSE;
	drain_plan_text(&p, text, sizeof(text));
	assert_string_equal(text, "refuse");
	drain_vars(&p, "/s/current", &v);
	assert_string_equal(v.delay_reject, "no");
	assert_string_equal(v.client, "mxfeed_draining");
	assert_string_equal(v.transport_maps, "lmdb:/s/current/transport");

	p.mode = DRAIN_HAND_OVER;
	(void)snprintf(p.hand_over, sizeof(p.hand_over), "[127.0.0.22]:2525");
	(void)snprintf(p.peers, sizeof(p.peers), "127.0.0.5,2001:db8::1");
	drain_plan_text(&p, text, sizeof(text));
	assert_string_equal(text, "hand-over [127.0.0.22]:2525 peers "
				  "127.0.0.5,2001:db8::1");
	drain_vars(&p, "/s/current", &v);
	assert_string_equal(v.client, "mxfeed_draining");
	assert_string_equal(v.transport_maps, "");
	assert_string_equal(v.relay_transport, "relay:[127.0.0.22]:2525");
	assert_string_equal(v.peer_checks,
			    "reject_unauth_destination, check_client_access "
			    "cidr:{{127.0.0.5/32 OK}, {2001:db8::1/128 OK}}, ");

	p.mode = DRAIN_OFF;
	(void)snprintf(p.peers, sizeof(p.peers), "127.0.0.5");
	drain_plan_text(&p, text, sizeof(text));
	assert_string_equal(text, "off peers 127.0.0.5");
}

static void test_smtp_address(void **state)
{
	static const struct {
		const char *listen, *outbound, *want;
	} cases[] = {
		{ "127.0.0.21:2525", NULL, "[127.0.0.21]:2525" },
		{ "[2001:db8::1]:25", NULL, "[2001:db8::1]:25" },
		{ "192.0.2.1:25", "198.51.100.1/32", "[192.0.2.1]:25" },
		{ "25", "198.51.100.1/32", "[198.51.100.1]:25" },
		{ "25", NULL, "" },
		{ "mx.example:25", NULL, "" }, /* a name: not an address */
		{ "127.0.0.1:", NULL, "" },
		{ "127.0.0.1:smtp", NULL, "" },
		{ "127.0.0.1:123456", NULL, "" },
		{ "0127.0.0.1:25", NULL, "" },
	};
	char *saved = conf.relay_listen, buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr_list out = { 0 };

		conf.relay_listen = (char *)cases[i].listen;
		if (cases[i].outbound != NULL) {
			struct error err = ERROR_INIT;
			struct cidr c;

			assert_int_equal(
				cidr_parse(cases[i].outbound, &c, "o", &err),
				0);
			cidr_list_add(&out, &c);
		}
		conf.relay_outbound = out;
		drain_smtp_address(&conf, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
		cidr_list_release(&out);
		memset(&conf.relay_outbound, 0, sizeof(conf.relay_outbound));
	}
	conf.relay_listen = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_drain_refusals),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_smtp_address),
	};

	return cmocka_run_group_tests(tests, unit_conf_group_setup,
				      unit_conf_group_teardown);
}
