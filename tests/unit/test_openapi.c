/* test_openapi - the OpenAPI document built from a route table */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "domain_json.h"
#include "model.h"
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

/* j has a schema whose "x-mxfeed-field" is path, at any depth */
static bool has_field(const json_t *j, const char *path)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v) if (has_field(v, path)) return true;
		return false;
	}
	json_object_foreach((json_t *)j, key, v)
	{
		if (strcmp(key, "x-mxfeed-field") == 0 && json_is_string(v) &&
		    strcmp(json_string_value(v), path) == 0)
			return true;
		if (has_field(v, path))
			return true;
	}
	return false;
}

static void record_schemas(void **state)
{
	static const enum domain_schema kinds[] = { DOMAIN_SCHEMA_RECORD,
						    DOMAIN_SCHEMA_PATCH,
						    DOMAIN_SCHEMA_CREATE };
	static const struct openapi_op ops[] = {
		{ "GET", "/api/v1/domains/{name}", "Show", "read", 200, NULL,
		  "Domain", NULL },
		{ "POST", "/api/v1/domains/{name}/probe", "Probe", "operator",
		  200, NULL, "Probe", "429" },
	};
	struct openapi_op bad = { "GET", "/x", "X",    NULL,
				  200,	 NULL, "Nope", NULL };
	struct error err = ERROR_INIT;
	json_t *s, *d, *days, *resp;
	size_t i, k;

	(void)state;
	for (k = 0; k < 3; k++) {
		s = domain_json_schema(kinds[k]);
		for (i = 0; i < FLD_COUNT; i++)
			if (!(domain_fields[i].flags & FF_CLI_ONLY) &&
			    !has_field(s, domain_fields[i].path))
				fail_msg("schema %zu lacks %s", k,
					 domain_fields[i].path);
		json_decref(s);
	}
	s = domain_json_schema(DOMAIN_SCHEMA_RECORD);
	days = json_object_get(
		json_object_get(
			json_object_get(json_object_get(s, "properties"),
					"queue"),
			"properties"),
		"days");
	assert_string_equal(json_string_value(json_object_get(days, "type")),
			    "integer");
	assert_int_equal(json_integer_value(json_object_get(days, "maximum")),
			 domain_fields[FLD_QUEUE_DAYS].max);
	json_decref(s);
	d = openapi_document(ops, 2, &err);
	assert_non_null(d);
	resp = json_object_get(
		json_object_get(json_object_get(json_object_get(d, "paths"),
						"/api/v1/domains/{name}"),
				"get"),
		"responses");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(
				json_object_get(
					json_object_get(
						json_object_get(resp, "200"),
						"content"),
					"application/json"),
				"schema"),
			"$ref")),
		"#/components/schemas/Domain");
	assert_null(json_object_get(resp, "429"));
	resp = json_object_get(
		json_object_get(json_object_get(json_object_get(d, "paths"),
						"/api/v1/domains/{name}/probe"),
				"post"),
		"responses");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(resp, "429"), "$ref")),
			    "#/components/responses/P429");
	json_decref(d);
	/* a schema name the document does not define */
	assert_null(openapi_document(&bad, 1, &err));
	assert_int_equal(err.code, ERR_INTERNAL);
	error_release(&err);
	assert_string_equal(openapi_problem_slug(429), "too-many-requests");
	assert_string_equal(openapi_problem_slug(599), "internal");
}

/* If-Match is a header parameter where the row says so: required on
 * PATCH, optional on the switching verbs, absent elsewhere. */
static void if_match_header(void **state)
{
	static const struct openapi_op ops[] = {
		{ "PATCH", "/api/v1/domains/{name}", "Change", "operator", 200,
		  NULL, NULL, NULL, OPENAPI_IF_MATCH_REQUIRED },
		{ "POST", "/api/v1/domains/{name}/switch", "Switch", "operator",
		  200, NULL, NULL, NULL, OPENAPI_IF_MATCH_OPTIONAL },
		{ "GET", "/api/v1/domains/{name}", "Show", "read" },
	};
	static const char *const methods[] = { "patch", "post", "get" };
	static const char *const paths[] = { "/api/v1/domains/{name}",
					     "/api/v1/domains/{name}/switch",
					     "/api/v1/domains/{name}" };
	struct error err = ERROR_INIT;
	json_t *d = openapi_document(ops, 3, &err), *pp, *h;
	size_t k;

	(void)state;
	assert_non_null(d);
	for (k = 0; k < 3; k++) {
		pp = json_object_get(
			json_object_get(
				json_object_get(json_object_get(d, "paths"),
						paths[k]),
				methods[k]),
			"parameters");
		h = json_array_get(pp, 1);
		if (k == 2) {
			assert_int_equal(json_array_size(pp), 1);
			continue;
		}
		assert_int_equal(json_array_size(pp), 2);
		assert_string_equal(
			json_string_value(json_object_get(h, "name")),
			"If-Match");
		assert_string_equal(json_string_value(json_object_get(h, "in")),
				    "header");
		assert_int_equal(json_is_true(json_object_get(h, "required")),
				 k == 0);
	}
	json_decref(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(openapi),
		cmocka_unit_test(record_schemas),
		cmocka_unit_test(if_match_header),
	};

	return cmocka_run_group_tests_name("openapi", tests, NULL, NULL);
}
