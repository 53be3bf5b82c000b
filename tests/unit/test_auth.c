/* test_auth - roles, scopes and the staff login (no database needed) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "auth.h"

static void roles(void **state)
{
	struct principal p = { "t", ROLE_READ, false, 0, NULL };
	struct error err = ERROR_INIT;

	(void)state;
	assert_int_equal(auth_require(&p, ROLE_READ, &err), 0);
	assert_int_equal(auth_require(&p, ROLE_OPERATOR, &err), -1);
	assert_int_equal(err.code, ERR_FORBIDDEN);
	assert_non_null(strstr(error_msg(&err), "role read"));
	error_release(&err);
	p.role = ROLE_OPERATOR;
	assert_int_equal(auth_require(&p, ROLE_OPERATOR, &err), 0);
	assert_int_equal(auth_require(&p, ROLE_ADMIN, &err), -1);
	error_release(&err);
	p.role = ROLE_ADMIN;
	assert_int_equal(auth_require(&p, ROLE_ADMIN, &err), 0);
}

static void scopes(void **state)
{
	struct domain_name dn[2];
	struct principal p = { "t", ROLE_OPERATOR, false, 0, NULL };
	struct error err = ERROR_INIT;

	(void)state;
	assert_true(auth_sees(&p, "any.example"));
	assert_int_equal(domain_name_parse("a.example", &dn[0], &err), 0);
	assert_int_equal(domain_name_parse("b.example", &dn[1], &err), 0);
	p.scope = dn;
	p.nscope = 2;
	assert_true(auth_sees(&p, "a.example"));
	assert_true(auth_sees(&p, "b.example"));
	assert_false(auth_sees(&p, "c.example"));
	assert_false(auth_sees(&p, "sub.a.example"));
	assert_false(auth_sees(&p, "A.example")); /* callers pass A-labels */
}

static void staff(void **state)
{
	static const char *const bad[] = { NULL,     "",	  " lead",
					   "trail ", "tab\tname", "nl\nname" };
	struct principal p;
	struct error err = ERROR_INIT;
	size_t i;

	(void)state;
	assert_int_equal(auth_staff("alice", &p, &err), 0);
	assert_string_equal(p.name, "alice");
	assert_int_equal(p.role, ROLE_ADMIN);
	assert_true(p.staff);
	assert_int_equal(p.nscope, 0);
	principal_release(&p);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(auth_staff(bad[i], &p, &err), -1);
		assert_int_equal(err.code, ERR_UNAUTH);
		error_release(&err);
	}
}

static void no_credentials(void **state)
{
	struct principal p;
	struct error err = ERROR_INIT;

	(void)state;
	/* refused before any database access: the store may be NULL */
	assert_int_equal(auth_bearer(NULL, NULL, NULL, 0, &p, &err), -1);
	assert_int_equal(err.code, ERR_UNAUTH);
	error_release(&err);
	assert_int_equal(
		auth_bearer(NULL, NULL, "Basic dXNlcjpwdw==", 0, &p, &err), -1);
	assert_int_equal(err.code, ERR_UNAUTH);
	error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roles),
		cmocka_unit_test(scopes),
		cmocka_unit_test(staff),
		cmocka_unit_test(no_credentials),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
