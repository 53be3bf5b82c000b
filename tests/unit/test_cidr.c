/* test_cidr - canonical addresses and networks, containment */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/cidr.h"

static void networks(void **state)
{
	static const char *const good[][2] = {
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "10.0.0.0/8", "10.0.0.0/8" },
		{ "8.8.8.8/32", "8.8.8.8/32" },
		{ "::/0", "::/0" },
		{ "2A00:1450::/32", "2a00:1450::/32" },
		{ "::ffff:0.0.0.0/96", "::ffff:0.0.0.0/96" },
	};
	static const char *const bad[] = {
		"",
		"10.0.0.0",
		"10.0.0.1/8",
		"10.0.0.0/33",
		"10.0.0.0/08",
		"10.0.0.0/",
		"10.0.0.0/-1",
		"10/8",
		"::1/129",
		"2a00::1/64",
		"10.0.0.0/8 ",
		"10.0.0.0/8/8",
		"::ffff:0:0/96",
	};
	struct error err = ERROR_INIT;
	struct cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (cidr_parse(good[i][0], &c, "net", &err) != 0)
			fail_msg("refused %s: %s", good[i][0], error_msg(&err));
		assert_string_equal(c.text, good[i][1]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cidr_parse(bad[i], &c, "net", &err) != -1)
			fail_msg("accepted '%s'", bad[i]);
		assert_string_equal(err.field, "net");
		error_release(&err);
	}
}

static void containment(void **state)
{
	struct error err = ERROR_INIT;
	struct cidr_list l = { 0, NULL };
	struct ip_addr in, out, v6;
	struct cidr c;

	(void)state;
	assert_int_equal(cidr_parse("127.0.0.0/8", &c, "n", &err), 0);
	cidr_list_add(&l, &c);
	assert_int_equal(cidr_parse("2a00:1450::/32", &c, "n", &err), 0);
	cidr_list_add(&l, &c);
	assert_int_equal(ip_parse("127.255.0.1", &in, "ip", &err), 0);
	assert_int_equal(ip_parse("128.0.0.1", &out, "ip", &err), 0);
	assert_int_equal(ip_parse("2a00:1450:1::5", &v6, "ip", &err), 0);
	assert_true(cidr_list_contains(&l, &in));
	assert_false(cidr_list_contains(&l, &out));
	assert_true(cidr_list_contains(&l, &v6));
	/* a mapped IPv6 address is not its IPv4 address */
	assert_int_equal(ip_parse("::ffff:127.0.0.1", &in, "ip", &err), 0);
	assert_false(cidr_list_contains(&l, &in));
	cidr_list_release(&l);
	assert_int_equal(l.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(networks),
		cmocka_unit_test(containment),
	};

	return cmocka_run_group_tests_name("cidr", tests, NULL, NULL);
}
