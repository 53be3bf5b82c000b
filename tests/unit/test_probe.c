/* test_probe - what a probe report means for a domain's tls.policy */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "probe.h"

#define FP  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define FP2 "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static void tls_policy(void **state)
{
	json_t *clear = json_pack("{s:b, s:b}", "ok", 1, "starttls", 0);
	json_t *failed = json_pack("{s:b, s:b, s:s}", "ok", 1, "starttls", 1,
				   "tls_error", "TLS handshake failed");
	json_t *tls =
		json_pack("{s:b, s:b, s:{s:s, s:s, s:s}}", "ok", 1, "starttls",
			  1, "tls", "protocol", "TLSv1.3", "cipher",
			  "TLS_AES_256_GCM_SHA384", "fingerprint", FP);
	char buf[200];
	const char *why;

	(void)state;
	assert_null(probe_tls_refusal(clear, TLS_MAY, NULL, buf, sizeof(buf)));
	assert_null(probe_tls_refusal(failed, TLS_MAY, NULL, buf, sizeof(buf)));
	why = probe_tls_refusal(clear, TLS_ENCRYPT, NULL, buf, sizeof(buf));
	assert_non_null(why);
	assert_non_null(strstr(why, "STARTTLS not offered"));
	why = probe_tls_refusal(failed, TLS_ENCRYPT, NULL, buf, sizeof(buf));
	assert_non_null(why);
	assert_non_null(strstr(why, "TLS handshake failed"));
	assert_null(
		probe_tls_refusal(tls, TLS_ENCRYPT, NULL, buf, sizeof(buf)));
	assert_null(probe_tls_refusal(tls, TLS_VERIFY, FP, buf, sizeof(buf)));
	why = probe_tls_refusal(tls, TLS_VERIFY, FP2, buf, sizeof(buf));
	assert_non_null(why);
	assert_non_null(strstr(why, FP));
	assert_non_null(
		probe_tls_refusal(clear, TLS_VERIFY, FP, buf, sizeof(buf)));
	json_decref(clear);
	json_decref(failed);
	json_decref(tls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tls_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
