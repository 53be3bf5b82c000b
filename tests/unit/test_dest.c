/*
 * test_dest - destinations: every IP form of SPEC section 3, ports,
 * the forbidden ranges, the allow list and the relay's own addresses
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "dest.h"

static struct conf conf; /* allow 127.0.0.0/8, own 8.8.4.4/32 */

static int setup(void **state)
{
	struct error err = ERROR_INIT;
	struct cidr c;

	(void)state;
	memset(&conf, 0, sizeof(conf));
	if (cidr_parse("127.0.0.0/8", &c, "allow", &err) < 0)
		return -1;
	cidr_list_add(&conf.dest_allow, &c);
	if (cidr_parse("8.8.4.4/32", &c, "own", &err) < 0)
		return -1;
	cidr_list_add(&conf.relay_addresses, &c);
	/* an own address inside the allow list is still refused */
	if (cidr_parse("127.0.0.9/32", &c, "own", &err) < 0)
		return -1;
	cidr_list_add(&conf.relay_addresses, &c);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cidr_list_release(&conf.dest_allow);
	cidr_list_release(&conf.relay_addresses);
	return 0;
}

struct good {
	const char *in, *ip;
	unsigned port;
	const char *formatted;
};

static const struct good good[] = {
	{ "8.8.8.8", "8.8.8.8", 25, "8.8.8.8:25" },
	{ "1.1.1.1:25", "1.1.1.1", 25, "1.1.1.1:25" },
	{ "93.184.216.34:2525", "93.184.216.34", 2525, "93.184.216.34:2525" },
	{ "1.2.3.4:1", "1.2.3.4", 1, "1.2.3.4:1" },
	{ "1.2.3.4:65535", "1.2.3.4", 65535, "1.2.3.4:65535" },
	{ "9.255.255.255", "9.255.255.255", 25, "9.255.255.255:25" },
	{ "11.0.0.1", "11.0.0.1", 25, "11.0.0.1:25" },
	{ "100.63.255.255", "100.63.255.255", 25, "100.63.255.255:25" },
	{ "100.128.0.1", "100.128.0.1", 25, "100.128.0.1:25" },
	{ "172.15.255.255", "172.15.255.255", 25, "172.15.255.255:25" },
	{ "172.32.0.1", "172.32.0.1", 25, "172.32.0.1:25" },
	{ "192.167.1.1", "192.167.1.1", 25, "192.167.1.1:25" },
	{ "192.169.0.1", "192.169.0.1", 25, "192.169.0.1:25" },
	{ "198.17.255.255", "198.17.255.255", 25, "198.17.255.255:25" },
	{ "198.20.0.1", "198.20.0.1", 25, "198.20.0.1:25" },
	{ "223.255.255.254", "223.255.255.254", 25, "223.255.255.254:25" },
	{ "127.0.0.1", "127.0.0.1", 25, "127.0.0.1:25" }, /* allowed */
	{ "127.0.0.1:2526", "127.0.0.1", 2526, "127.0.0.1:2526" },
	{ "127.255.255.254:26", "127.255.255.254", 26, "127.255.255.254:26" },
	{ "2a00:1450::1", "2a00:1450::1", 25, "[2a00:1450::1]:25" },
	{ "[2a00:1450::1]", "2a00:1450::1", 25, "[2a00:1450::1]:25" },
	{ "[2a00:1450::1]:587", "2a00:1450::1", 587, "[2a00:1450::1]:587" },
	{ "2A00:1450::1", "2a00:1450::1", 25, "[2a00:1450::1]:25" },
	{ "2606:4700:4700::1111", "2606:4700:4700::1111", 25,
	  "[2606:4700:4700::1111]:25" },
	{ "2001:4860::8888", "2001:4860::8888", 25, "[2001:4860::8888]:25" },
	{ "2003::1", "2003::1", 25, "[2003::1]:25" },
	{ "[2600::1]:25", "2600::1", 25, "[2600::1]:25" },
	{ "2a01:4f8:1:2:3:4:5:6", "2a01:4f8:1:2:3:4:5:6", 25,
	  "[2a01:4f8:1:2:3:4:5:6]:25" },
	{ "2a01::25", "2a01::25", 25, "[2a01::25]:25" },
	{ "fe00::1", "fe00::1", 25, "[fe00::1]:25" },
	{ "8.8.4.5", "8.8.4.5", 25, "8.8.4.5:25" },
};

struct bad {
	const char *in, *why;
};

static const struct bad bad[] = {
	{ "", "required" },
	{ "127.1", "canonical" },
	{ "127.0.1", "canonical" },
	{ "1.2.3", "canonical" },
	{ "1.2.3.4.5", "canonical" },
	{ "0x7f.0.0.1", "not an IP" },
	{ "0x08080808", "not an IP" },
	{ "010.0.0.1", "canonical" },
	{ "08.8.8.8", "canonical" },
	{ "8.8.8.08", "canonical" },
	{ "0177.0.0.1", "canonical" },
	{ "256.1.1.1", "canonical" },
	{ "1.2.3.256", "canonical" },
	{ "1.2.3.1000", "canonical" },
	{ "2130706433", "canonical" },
	{ " 8.8.8.8", "not an IP" },
	{ "8.8.8.8 ", "not an IP" },
	{ "8.8.8.8\n", "not an IP" },
	{ "8.8.8.8;rm -rf /", "not an IP" },
	{ "8.8.8.8/32", "not an IP" },
	{ "8.8.8.8x", "not an IP" },
	{ "mail.example.com", "not an IP" },
	{ "8.8.8.8:", "port" },
	{ "8.8.8.8:0", "port" },
	{ "8.8.8.8:65536", "port" },
	{ "8.8.8.8:99999999999", "port" },
	{ "8.8.8.8:025", "port" },
	{ "8.8.8.8:-1", "port" },
	{ "8.8.8.8:+25", "port" },
	{ "8.8.8.8:25x", "port" },
	{ "8.8.8.8: 25", "port" },
	{ "8.8.8.8:0x19", "port" },
	{ "[8.8.8.8]", "IPv6" },
	{ "[8.8.8.8]:25", "IPv6" },
	{ "[2a00:1450::1", "']'" },
	{ "[2a00:1450::1]25", "after ']'" },
	{ "[2a00:1450::1]:", "port" },
	{ "[2a00:1450::1]:0", "port" },
	{ "2a00:1450:0::1", "canonical" },
	{ "2a00:1450:0000::1", "canonical" },
	{ "2a00:01450::1", "not an IP" },
	{ "2A00:1450:0:0:0:0:0:1", "canonical" },
	{ "2a00:1450::1%eth0", "not an IP" },
	{ "2a00:::1", "not an IP" },
	{ "0.0.0.0", "unspecified" },
	{ "0.1.2.3", "unspecified" },
	{ "10.0.0.1", "RFC 1918" },
	{ "10.255.255.255", "RFC 1918" },
	{ "172.16.0.1", "RFC 1918" },
	{ "172.31.255.255", "RFC 1918" },
	{ "192.168.1.1", "RFC 1918" },
	{ "100.64.0.1", "carrier-grade NAT" },
	{ "100.127.255.255", "carrier-grade NAT" },
	{ "169.254.1.1", "link-local" },
	{ "192.0.0.8", "IETF" },
	{ "192.0.2.1", "documentation" },
	{ "198.51.100.7", "documentation" },
	{ "203.0.113.200", "documentation" },
	{ "192.88.99.1", "6to4" },
	{ "198.18.0.1", "benchmarking" },
	{ "198.19.255.255", "benchmarking" },
	{ "224.0.0.1", "multicast" },
	{ "239.255.255.250", "multicast" },
	{ "240.0.0.1", "reserved" },
	{ "255.255.255.255", "reserved or broadcast" },
	{ "::", "unspecified" },
	{ "::1", "loopback" },
	{ "[::1]:25", "loopback" },
	{ "::ffff:8.8.8.8", "mapped" },
	{ "::ffff:127.0.0.1", "mapped" },
	{ "[::ffff:127.0.0.1]", "mapped" },
	{ "::8.8.8.8", "compatible" },
	{ "64:ff9b::808:808", "NAT64" },
	{ "64:ff9b::ffff:ffff", "NAT64" },
	{ "64:ff9b:1::1", "NAT64" }, /* local-use NAT64, RFC 8215 */
	{ "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "NAT64" },
	{ "100::1", "discard" },
	{ "2001::1", "Teredo" },
	{ "2001:db8::1", "documentation" },
	{ "[2001:db8::25]:25", "documentation" },
	{ "2002:808:808::1", "6to4" },
	{ "fc00::1", "unique local" },
	{ "fd12:3456::1", "unique local" },
	{ "fe80::1", "link-local" },
	{ "febf::1", "link-local" },
	{ "ff02::1", "multicast" },
	{ "8.8.4.4", "own relay" },
	{ "8.8.4.4:2525", "own relay" },
	{ "127.0.0.9", "own relay" },
};

static void good_dests(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct error err = ERROR_INIT;
		char buf[DEST_TEXT_MAX];
		struct dest d;

		if (dest_parse(good[i].in, &conf, &d, "dest", &err) != 0)
			fail_msg("refused '%s': %s", good[i].in,
				 error_msg(&err));
		assert_string_equal(d.ip.text, good[i].ip);
		assert_int_equal(d.port, good[i].port);
		dest_format(&d, buf, sizeof(buf));
		assert_string_equal(buf, good[i].formatted);
		/* the formatted text parses back to the same */
		{
			struct dest again;

			assert_int_equal(
				dest_parse(buf, &conf, &again, "dest", &err),
				0);
			assert_string_equal(again.ip.text, d.ip.text);
			assert_int_equal(again.port, d.port);
		}
	}
	assert_true(sizeof(good) / sizeof(good[0]) >= 30);
}

static void bad_dests(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct error err = ERROR_INIT;
		struct dest d;

		memset(&d, 0x5a, sizeof(d));
		if (dest_parse(bad[i].in, &conf, &d, "dest", &err) != -1)
			fail_msg("accepted bad destination #%zu '%s'", i,
				 bad[i].in);
		assert_int_equal(err.code, ERR_INVALID);
		assert_string_equal(err.field, "dest");
		if (strstr(error_msg(&err), bad[i].why) == NULL)
			fail_msg("bad destination #%zu: message '%s' lacks "
				 "'%s'",
				 i, error_msg(&err), bad[i].why);
		assert_null(strpbrk(error_msg(&err), "\r\n"));
		assert_int_equal(d.port, 0x5a5a);
		error_release(&err);
	}
	assert_true(sizeof(bad) / sizeof(bad[0]) >= 60);
}

/* Without the allow list loopback is refused like any range. */
static void allow_list_matters(void **state)
{
	struct conf strict;
	struct error err = ERROR_INIT;
	struct dest d;

	(void)state;
	memset(&strict, 0, sizeof(strict));
	assert_int_equal(dest_parse("127.0.0.1", &strict, &d, "dest", &err),
			 -1);
	assert_non_null(strstr(error_msg(&err), "loopback"));
	error_release(&err);
	assert_int_equal(dest_parse("8.8.4.4", &strict, &d, "dest", &err), 0);
}

static void ports(void **state)
{
	struct error err = ERROR_INIT;
	uint16_t p;

	(void)state;
	assert_int_equal(dest_port_parse("25", &p, "port", &err), 0);
	assert_int_equal(p, 25);
	assert_int_equal(dest_port_parse("65535", &p, "port", &err), 0);
	assert_int_equal(dest_port_parse("0", &p, "port", &err), -1);
	error_release(&err);
	assert_int_equal(dest_port_parse("65536", &p, "port", &err), -1);
	error_release(&err);
	assert_int_equal(dest_port_parse("", &p, "port", &err), -1);
	error_release(&err);
	/* dest_ip_parse takes no port */
	{
		struct ip_addr ip;

		assert_int_equal(dest_ip_parse("8.8.8.8:25", &conf, &ip,
					       "destination.host", &err),
				 -1);
		assert_string_equal(err.field, "destination.host");
		error_release(&err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_dests),
		cmocka_unit_test(bad_dests),
		cmocka_unit_test(allow_list_matters),
		cmocka_unit_test(ports),
	};

	return cmocka_run_group_tests_name("dest", tests, setup, teardown);
}
