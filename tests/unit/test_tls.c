/* test_tls - fingerprints as people paste them, loopback listeners */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "tls.h"

static void fingerprints(void **state)
{
	static const char canon[] = "00112233445566778899aabbccddeeff"
				    "00112233445566778899aabbccddeeff";
	static const char *const good[] = {
		"00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddee"
		"ff",
		"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
		"00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
	};
	static const char *const bad[] = {
		"",
		"0011",
		"00112233445566778899aabbccddeeff00112233445566778899aabbccdde"
		"e",
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddee"
		"fff",
		"g0112233445566778899aabbccddeeff00112233445566778899aabbccddee"
		"ff",
		"00112233445566778899aabbccddeeff00112233445566778899aabbccdde"
		"\n",
		"00-11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
		"00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
		"0:011:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
		"00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
		"' OR 1=1 --",
	};
	char out[TLS_FP_HEX + 1], pf[TLS_FP_POSTFIX + 1];
	struct error err = ERROR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(tls_fingerprint_parse(good[i], out,
						       "tls.fingerprint", &err),
				 0);
		assert_string_equal(out, canon);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tls_fingerprint_parse(bad[i], out,
						       "tls.fingerprint", &err),
				 -1);
		assert_int_equal(err.code, ERR_INVALID);
		assert_non_null(strstr(error_msg(&err), "tls.fingerprint"));
		error_release(&err);
	}
	tls_fingerprint_postfix(canon, pf);
	assert_string_equal(pf, "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:"
				"FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:"
				"EE:FF");
	tls_fingerprint_of((const unsigned char *)"abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223"
				 "b00361a396177a9cb410ff61f20015ad");
}

static void loopback(void **state)
{
	(void)state;
	assert_true(tls_listen_loopback("127.0.0.1:2525", true));
	assert_true(tls_listen_loopback("[::1]:25", true));
	assert_true(tls_listen_loopback("localhost:25", true));
	assert_false(tls_listen_loopback("25", true));
	assert_false(tls_listen_loopback("0.0.0.0:25", true));
	assert_false(tls_listen_loopback("192.0.2.1:25", true));
	assert_false(tls_listen_loopback("[::]:25", true));
	assert_false(tls_listen_loopback("", true));
	assert_true(tls_listen_loopback("127.0.0.1", false));
	assert_true(tls_listen_loopback("127.0.0.1, ::1", false));
	assert_false(tls_listen_loopback("*", false));
	assert_false(tls_listen_loopback("::", false));
	assert_false(tls_listen_loopback("127.0.0.1, 192.0.2.7", false));
	assert_false(tls_listen_loopback("mail.isp.example", false));
	assert_false(tls_listen_loopback(" , ", false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fingerprints),
		cmocka_unit_test(loopback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
