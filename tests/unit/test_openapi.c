/* test_openapi - the OpenAPI document built from a route table */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "openapi.h"

static void openapi(void **state)
{
	static const struct openapi_op ops[] = {
		{ "GET", "/api/v1/domains", "List", "read" },
		{ "POST", "/api/v1/domains/{name}/quarantine/{id}/release",
		  "Release", "operator" },
		{ "GET", "/api/v1/relays/addresses", "Addresses", NULL },
	};
	struct openapi_op bad = { "GET", "/x", "", NULL };
	struct error err = ERROR_INIT;
	json_t *d = openapi_document(ops, 3, &err), *op, *pp;
	char *text;

	(void)state;
	assert_non_null(d);
	/* it survives a round trip as JSON text */
	text = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	d = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(d, "openapi")),
			    "3.1.0");
	op = json_object_get(
		json_object_get(json_object_get(d, "paths"), "/api/v1/domains"),
		"get");
	assert_string_equal(json_string_value(json_object_get(op, "summary")),
			    "List");
	assert_string_equal(
		json_string_value(json_object_get(op, "x-mxfeed-role")),
		"read");
	assert_non_null(
		json_object_get(json_object_get(op, "responses"), "401"));
	/* a GET has no 428 */
	assert_null(json_object_get(json_object_get(op, "responses"), "428"));
	op = json_object_get(
		json_object_get(
			json_object_get(d, "paths"),
			"/api/v1/domains/{name}/quarantine/{id}/release"),
		"post");
	pp = json_object_get(op, "parameters");
	assert_int_equal(json_array_size(pp), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(pp, 1), "name")),
			    "id");
	assert_string_equal(
		json_string_value(json_object_get(op, "operationId")),
		"post_domains_name_quarantine_id_release");
	assert_non_null(
		json_object_get(json_object_get(op, "responses"), "428"));
	op = json_object_get(json_object_get(json_object_get(d, "paths"),
					     "/api/v1/relays/addresses"),
			     "get");
	/* no token: no 401, an empty security requirement */
	assert_null(json_object_get(json_object_get(op, "responses"), "401"));
	assert_int_equal(json_object_size(json_array_get(
				 json_object_get(op, "security"), 0)),
			 0);
	json_decref(d);
	/* a row without a summary is refused, not papered over */
	assert_null(openapi_document(&bad, 1, &err));
	assert_int_equal(err.code, ERR_INTERNAL);
	error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(openapi),
	};

	return cmocka_run_group_tests_name("openapi", tests, NULL, NULL);
}
