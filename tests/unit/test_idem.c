/*
 * test_idem - the pure rules of Idempotency-Key: what identifies a
 * request, which headers of an answer are kept and replayed
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "idem.h"

static void hash(void **state)
{
	unsigned char a[32], b[32];

	(void)state;
	idem_hash("POST", "/api/v1/domains", "{}", 2, a);
	idem_hash("POST", "/api/v1/domains", "{}", 2, b);
	assert_memory_equal(a, b, 32);
	idem_hash("POST", "/api/v1/domains", "{ }", 3, b);
	assert_memory_not_equal(a, b, 32); /* another body */
	idem_hash("PUT", "/api/v1/domains", "{}", 2, b);
	assert_memory_not_equal(a, b, 32); /* another method */
	idem_hash("POST", "/api/v1/domain", "s{}", 3, b);
	assert_memory_not_equal(a, b, 32); /* path and body do not run
					      into each other */
}

static void kept_headers(void **state)
{
	json_t *h;
	char *s;

	(void)state;
	h = idem_kept_headers("ETag: \"1\"\r\nX-Other: x\r\n"
			      "location:   /api/v1/domains/a.example\r\n"
			      "Retry-After: 1\r\nbroken line\r\nETa: 2\r\n");
	s = json_dumps(h, JSON_COMPACT);
	assert_string_equal(s, "{\"ETag\":\"\\\"1\\\"\","
			       "\"Location\":\"/api/v1/domains/a.example\"}");
	free(s);
	json_decref(h);
	h = idem_kept_headers("");
	assert_int_equal(json_object_size(h), 0);
	json_decref(h);
}

static void stored_headers(void **state)
{
	json_t *h;

	(void)state;
	h = idem_stored_headers("{\"ETag\":\"\\\"3\\\"\",\"Set-Cookie\":\"x\","
				"\"Location\":5}");
	assert_int_equal(json_object_size(h), 1);
	assert_string_equal(json_string_value(json_object_get(h, "ETag")),
			    "\"3\"");
	json_decref(h);
	h = idem_stored_headers("not json");
	assert_non_null(h);
	assert_int_equal(json_object_size(h), 0);
	json_decref(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hash),
		cmocka_unit_test(kept_headers),
		cmocka_unit_test(stored_headers),
	};

	return cmocka_run_group_tests_name("idem", tests, NULL, NULL);
}
