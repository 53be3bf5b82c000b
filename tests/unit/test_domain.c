/*
 * test_domain - domain_name_parse() against tables of good and bad names
 *
 * Good names check the canonical A-label and the Unicode form; bad
 * names check the code, the field and a word of the message, and that
 * the output was not touched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "domain.h"

struct good {
	const char *in, *alabel, *ulabel;
};

static const struct good good[] = {
	{ "example.com", "example.com", "example.com" },
	{ "EXAMPLE.COM", "example.com", "example.com" },
	/* one trailing dot, as in a zone file: the same domain */
	{ "example.com.", "example.com", "example.com" },
	{ "bücher.example.", "xn--bcher-kva.example", "bücher.example" },
	{ "MiXeD.Example", "mixed.example", "mixed.example" },
	{ "a.b", "a.b", "a.b" },
	{ "x1.example", "x1.example", "x1.example" },
	{ "1x.example", "1x.example", "1x.example" },
	{ "123.example", "123.example", "123.example" },
	{ "a-b.example", "a-b.example", "a-b.example" },
	{ "a--b.example", "a--b.example", "a--b.example" },
	/* hyphens in the third and fourth place, but no xn-- prefix */
	{ "Ab--Cd.Example", "ab--cd.example", "ab--cd.example" },
	{ "sub.domain.example.co.uk", "sub.domain.example.co.uk",
	  "sub.domain.example.co.uk" },
	{ "mail.example.museum", "mail.example.museum", "mail.example.museum" },
	{ "example.xn--p1ai", "example.xn--p1ai", "example.рф" },
	{ "bücher.example", "xn--bcher-kva.example", "bücher.example" },
	{ "BÜCHER.example", "xn--bcher-kva.example", "bücher.example" },
	{ "xn--bcher-kva.example", "xn--bcher-kva.example", "bücher.example" },
	{ "XN--BCHER-KVA.EXAMPLE", "xn--bcher-kva.example", "bücher.example" },
	{ "münchen.de", "xn--mnchen-3ya.de", "münchen.de" },
	{ "пример.рф", "xn--e1afmkfd.xn--p1ai", "пример.рф" },
	{ "例え.jp", "xn--r8jz45g.jp", "例え.jp" },
	{ "faß.de", "xn--fa-hia.de", "faß.de" },
	{ "ñandú.example", "xn--and-6ma2c.example", "ñandú.example" },
	{ "a.example.org", "a.example.org", "a.example.org" },
	{ "0.example", "0.example", "0.example" },
	{ "example.a1", "example.a1", "example.a1" },
	{ "ex.localhost.example", "ex.localhost.example",
	  "ex.localhost.example" },
	{ "localhost.example", "localhost.example", "localhost.example" },
	{ "a.b.c.d.e.f.g.h", "a.b.c.d.e.f.g.h", "a.b.c.d.e.f.g.h" },
	/* 63-character label */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	  "example",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	  "example",
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	  "example" },
	{ "shop-1.example-2.net", "shop-1.example-2.net",
	  "shop-1.example-2.net" },
	{ "xn--e1afmkfd.xn--p1ai", "xn--e1afmkfd.xn--p1ai", "пример.рф" },
	{ "Ünicode.Example", "xn--nicode-2ya.example", "ünicode.example" },
};

struct bad {
	const char *in, *why;
};

static const struct bad bad[] = {
	{ "", "required" },
	/* found by fuzz_domain_name: IDNA maps these to a trailing dot */
	{ "a.b\xef\xbc\x8e", "trailing dot" },
	{ "a.b\xe3\x80\x82", "trailing dot" },
	{ "a.b.\xc2\xad", "trailing dot" },
	{ "example", "two labels" },
	{ "com", "two labels" },
	{ "example.com..", "trailing dot" },
	{ ".example.com", "leading dot" },
	{ "a..example", "empty label" },
	{ "-a.example", "starts or ends" },
	{ "a-.example", "starts or ends" },
	{ "a.-example", "starts or ends" },
	{ "*.example.com", "wildcards" },
	{ "a*.example.com", "wildcards" },
	{ "a_b.example", "'_'" },
	{ "_dmarc.example", "'_'" },
	{ "a b.example", "' '" },
	{ " example.com", "' '" },
	{ "example.com ", "' '" },
	{ "example.com\n", "\\n" },
	{ "evil.example\nrelay_domains", "\\n" },
	{ "a\rb.example", "\\r" },
	{ "a\tb.example", "\\t" },
	{ "a#b.example", "'#'" },
	{ "a\"b.example", "not allowed" },
	{ "a'b.example", "not allowed" },
	{ "a\\b.example", "not allowed" },
	{ "a;b.example", "';'" },
	{ "a|b.example", "'|'" },
	{ "a&b.example", "'&'" },
	{ "a$b.example", "'$'" },
	{ "a`b`.example", "'`'" },
	{ "a>b.example", "'>'" },
	{ "a<b.example", "'<'" },
	{ "$(reboot).example", "'$'" },
	{ "a(b).example", "'('" },
	{ "x'; DROP TABLE domains;--", "not allowed" },
	{ "a.example' OR '1'='1", "not allowed" },
	{ "../../etc/passwd", "'/'" },
	{ "a/b.example", "'/'" },
	{ "example.com/..", "'/'" },
	{ "user@example.com", "'@'" },
	{ "example.com:25", "':'" },
	{ "[127.0.0.1]", "'['" },
	{ "127.0.0.1", "IP address" },
	{ "192.0.2.1", "IP address" },
	{ "1.2.3.4.5", "IP address" },
	{ "example.123", "IP address" },
	{ "::1", "':'" },
	{ "localhost", "two labels" },
	{ "foo.localhost", "localhost" },
	{ "LOCALHOST.localhost", "localhost" },
	{ "xn--zz.example", "punycode" },
	{ "xn--.example", "starts or ends" },
	{ "xn--a.example", "punycode" },
	{ "xn--bcher-kvb.example", "punycode" },
	{ "a.xn--", "starts or ends" },
	/* 64-character label */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	  "example",
	  "63" },
	{ "\xff\xfe.example", "UTF-8" },
	{ "\xc3.example", "UTF-8" },
	{ "b\xc3\xbc\xc3.example", "UTF-8" },
	{ "\xe2\x80\x8b.example", "invalid domain" }, /* zero-width space */
	{ "a\xc2\x85.example", "UTF-8" },	      /* C1 control NEL */
	{ "\xef\xbc\x8e.example", "empty label" },    /* fullwidth dot */
	{ "%2e%2e.example", "'%'" },
	{ "a,b.example", "','" },
	{ "a=b.example", "'='" },
	{ "a+b.example", "'+'" },
	{ "a!b.example", "'!'" },
	{ "a?b.example", "'?'" },
	{ "{a}.example", "'{'" },
	{ "~.example", "'~'" },
};

static void long_names(void **state)
{
	char name[300];
	struct domain_name dn;
	struct error err = ERROR_INIT;
	size_t i;

	(void)state;
	/* 4 x 63 + 3 dots = 255 > 253 */
	memset(name, 'a', sizeof(name));
	for (i = 63; i < 255; i += 64)
		name[i] = '.';
	name[255] = '\0';
	assert_int_equal(domain_name_parse(name, &dn, &err), -1);
	assert_non_null(strstr(error_msg(&err), "253"));
	error_release(&err);
	/* exactly 253 is fine: 63.63.63.61 */
	name[253] = '\0';
	assert_int_equal(domain_name_parse(name, &dn, &err), 0);
	assert_int_equal(strlen(dn.alabel), 253);
	/* input longer than DOMAIN_INPUT_MAX */
	{
		char big[DOMAIN_INPUT_MAX + 10];

		memset(big, 'a', sizeof(big));
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(domain_name_parse(big, &dn, &err), -1);
		assert_int_equal(err.code, ERR_INVALID);
		error_release(&err);
	}
}

static void good_names(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct domain_name dn;
		struct error err = ERROR_INIT;

		if (domain_name_parse(good[i].in, &dn, &err) != 0)
			fail_msg("refused '%s': %s", good[i].in,
				 error_msg(&err));
		assert_string_equal(dn.alabel, good[i].alabel);
		assert_string_equal(dn.ulabel, good[i].ulabel);
		error_release(&err);
	}
	assert_true(sizeof(good) / sizeof(good[0]) >= 30);
}

static void bad_names(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct domain_name dn;
		struct error err = ERROR_INIT;

		memset(&dn, 0x5a, sizeof(dn));
		if (domain_name_parse(bad[i].in, &dn, &err) != -1)
			fail_msg("accepted bad name #%zu as '%s'", i,
				 dn.alabel);
		assert_int_equal(err.code, ERR_INVALID);
		assert_string_equal(err.field, "name");
		if (strstr(error_msg(&err), bad[i].why) == NULL)
			fail_msg("bad name #%zu: message '%s' lacks '%s'", i,
				 error_msg(&err), bad[i].why);
		/* the message never carries raw control characters */
		assert_null(strpbrk(error_msg(&err), "\r\n\t"));
		/* the output is untouched on failure */
		assert_int_equal((unsigned char)dn.alabel[0], 0x5a);
		error_release(&err);
	}
	assert_true(sizeof(bad) / sizeof(bad[0]) >= 60);
}

static void under(void **state)
{
	(void)state;
	assert_true(domain_name_under("example.com", "example.com"));
	assert_true(domain_name_under("mx.example.com", "example.com"));
	assert_false(domain_name_under("badexample.com", "example.com"));
	assert_false(domain_name_under("example.com", "mx.example.com"));
	assert_false(domain_name_under("com", "example.com"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_names),
		cmocka_unit_test(bad_names),
		cmocka_unit_test(long_names),
		cmocka_unit_test(under),
	};

	return cmocka_run_group_tests_name("domain", tests, NULL, NULL);
}
