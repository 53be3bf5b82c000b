/* test_auth - roles, scopes and the staff login (no database needed) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
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
	/* a bad login is refused before the store is asked (NULL here) */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(auth_staff(NULL, bad[i], &p, &err), -1);
		assert_int_equal(err.code, ERR_UNAUTH);
		error_release(&err);
	}
	assert_int_equal(auth_login_check("alice", &err), 0);
	assert_int_equal(auth_login_check("alice@example.com", &err), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(auth_login_check(bad[i], &err), -1);
		assert_int_equal(err.code, ERR_INVALID);
		assert_string_equal(err.field, "login");
		error_release(&err);
	}
}

/* The action table: who may do what, row by row. */
static void actions(void **state)
{
	static const struct {
		enum auth_act act;
		bool read, operator, admin;
	} want[] = {
		{ ACT_VIEW, true, true, true },
		{ ACT_DOMAIN_ADD, false, true, true },
		{ ACT_DOMAIN_SET, false, true, true },
		{ ACT_DOMAIN_REMOVE, false, false, true },
		{ ACT_MAIL_STACK, false, true, true },
		{ ACT_QUEUE, false, true, true },
		{ ACT_QUARANTINE, false, true, true },
		{ ACT_PROBE, false, true, true },
	};
	struct principal p = { "bob", ROLE_READ, true, 0, NULL, 0 };
	struct error err = ERROR_INIT;
	size_t i;

	(void)state;
	/* every action has a row here and a name */
	assert_int_equal(sizeof(want) / sizeof(want[0]), ACT_COUNT);
	for (i = 0; i < ACT_COUNT; i++)
		assert_non_null(auth_act_names[i]);
	assert_null(auth_act_names[ACT_COUNT]);
	for (i = 0; i < ACT_COUNT; i++) {
		bool allowed[3] = { want[i].read, want[i].operator,
				    want[i].admin };
		int r;

		for (r = ROLE_READ; r <= ROLE_ADMIN; r++) {
			p.role = (enum token_role)r;
			assert_int_equal(auth_can(&p, want[i].act), allowed[r]);
			assert_int_equal(auth_may(&p, want[i].act, &err),
					 allowed[r] ? 0 : -1);
			if (!allowed[r]) {
				assert_int_equal(err.code, ERR_FORBIDDEN);
				assert_non_null(strstr(error_msg(&err),
						       "staff user bob"));
				error_release(&err);
			}
		}
	}
	p.role = ROLE_OPERATOR;
	assert_int_equal(auth_may(&p, ACT_DOMAIN_REMOVE, &err), -1);
	assert_string_equal(error_msg(&err),
			    "staff user bob has role operator: only admin or "
			    "above may remove domains");
	error_release(&err);
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
		cmocka_unit_test(roles),	  cmocka_unit_test(scopes),
		cmocka_unit_test(staff),	  cmocka_unit_test(actions),
		cmocka_unit_test(no_credentials),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
