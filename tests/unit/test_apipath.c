/*
 * test_apipath - the API's path shapes: a table of good paths and their
 * pieces, and of paths no shape fits
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "apipath.h"

static void good(void **state)
{
	static const struct {
		const char *path;
		enum api_shape shape;
		const char *name, *item, *sub;
	} t[] = {
		{ "/api/v1/domains", API_DOMAINS, "", "", NULL },
		{ "/api/v1/relays", API_RELAYS, "", "", NULL },
		{ "/api/v1/relays/addresses", API_RELAY_ADDRS, "", "", NULL },
		{ "/api/v1/domains/example.com", API_DOMAIN, "example.com", "",
		  NULL },
		/* the name is not judged here: any bytes but '/' */
		{ "/api/v1/domains/a\"b\\c", API_DOMAIN, "a\"b\\c", "", NULL },
		{ "/api/v1/domains/x/history", API_DOMAIN_SUB, "x", "",
		  "history" },
		{ "/api/v1/domains/x/quarantine", API_DOMAIN_SUB, "x", "",
		  "quarantine" },
		{ "/api/v1/domains/x/quarantine/4XyZ1/release", API_QUARANTINED,
		  "x", "4XyZ1", "release" },
		{ "/api/v1/domains/x/quarantine/12345678901234567890123/delete",
		  API_QUARANTINED, "x", "12345678901234567890123", "delete" },
	};
	struct api_path p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		assert_int_equal(api_path_parse(t[i].path, &p), 0);
		assert_int_equal(p.shape, t[i].shape);
		assert_string_equal(p.name, t[i].name);
		assert_string_equal(p.item, t[i].item);
		if (t[i].sub == NULL)
			assert_null(p.sub);
		else
			assert_string_equal(p.sub, t[i].sub);
	}
}

static void bad(void **state)
{
	static const char *const t[] = {
		"",
		"/",
		"/api/v1",
		"/api/v1/",
		"/api/v1/domains/",
		"/api/v1/domainsx",
		"/api/v1/domains//history",
		"/api/v1/domains/x/",
		"/api/v1/domains/x/history/",
		"/api/v1/domains/x/a/b",
		"/api/v1/domains/x/quarantine/",
		"/api/v1/domains/x/quarantine/id",
		"/api/v1/domains/x/quarantine//release",
		"/api/v1/domains/x/quarantine/id/",
		"/api/v1/domains/x/quarantine/id/release/x",
		/* an id over 23 bytes */
		"/api/v1/domains/x/quarantine/123456789012345678901234/delete",
		"/api/v1/relays/",
		"/api/v1/relays/addresses/",
		"/API/v1/domains",
	};
	struct api_path p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(*t); i++)
		if (api_path_parse(t[i], &p) != -1)
			fail_msg("accepted '%s'", t[i]);
}

static void name_bound(void **state)
{
	char path[40 + API_PATH_NAME_MAX + 2];
	struct api_path p;
	size_t n = strlen("/api/v1/domains/");

	(void)state;
	memcpy(path, "/api/v1/domains/", n);
	memset(path + n, 'a', API_PATH_NAME_MAX);
	path[n + API_PATH_NAME_MAX] = '\0';
	assert_int_equal(api_path_parse(path, &p), 0);
	assert_int_equal(strlen(p.name), API_PATH_NAME_MAX);
	path[n + API_PATH_NAME_MAX] = 'a';
	path[n + API_PATH_NAME_MAX + 1] = '\0';
	assert_int_equal(api_path_parse(path, &p), -1);
}

static void templates(void **state)
{
	(void)state;
	assert_string_equal(api_path_template(API_DOMAIN),
			    "/api/v1/domains/{name}");
	assert_string_equal(api_path_template(API_QUARANTINED),
			    "/api/v1/domains/{name}/quarantine/{id}/");
	assert_string_equal(api_path_template(API_RELAY_ADDRS),
			    "/api/v1/relays/addresses");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good),
		cmocka_unit_test(bad),
		cmocka_unit_test(name_bound),
		cmocka_unit_test(templates),
	};

	return cmocka_run_group_tests_name("apipath", tests, NULL, NULL);
}
