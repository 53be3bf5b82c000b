/* test_spawn - programs run by absolute path, clean environment, timeout */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/spawn.h"

static void clean_environment(void **state)
{
	const char *argv[] = { "env", NULL };
	struct strbuf out = STRBUF_INIT;
	struct error err = ERROR_INIT;
	int status = -1;

	(void)state;
	assert_int_equal(setenv("MXFEED_SPAWN_LEAK", "x", 1), 0);
	assert_int_equal(setenv("PATH", "/nonexistent", 1), 0);
	assert_int_equal(spawn_run(argv, &out, SPAWN_OUT_MAX, &status, &err),
			 0);
	assert_int_equal(status, 0);
	assert_null(strstr(out.buf, "MXFEED_SPAWN_LEAK"));
	assert_non_null(strstr(out.buf, "PATH=" SPAWN_PATH "\n"));
	assert_non_null(strstr(out.buf, "LC_ALL=C\n"));
	sbuf_release(&out);
}

static void paths(void **state)
{
	const char *unknown[] = { "mxfeed-no-such-program", NULL };
	const char *relative[] = { "./env", NULL };
	const char *absolute[] = { "/bin/sh", "-c", "exit 3", NULL };
	struct error err = ERROR_INIT;
	int status = -1;

	(void)state;
	assert_int_equal(spawn_run(unknown, NULL, 0, &status, &err), -1);
	assert_non_null(strstr(error_msg(&err), "not found in " SPAWN_PATH));
	error_release(&err);
	assert_int_equal(spawn_run(relative, NULL, 0, &status, &err), -1);
	assert_non_null(strstr(error_msg(&err), "not an absolute path"));
	error_release(&err);
	assert_int_equal(spawn_run(absolute, NULL, 0, &status, &err), 0);
	assert_int_equal(status, 3);
	assert_int_equal(
		spawn_check(absolute, NULL, 0, ERR_TEMPFAIL, "sh", &err), -1);
	assert_int_equal(err.code, ERR_TEMPFAIL);
	assert_non_null(strstr(error_msg(&err), "sh failed (exit 3)"));
	error_release(&err);
}

static void timeout(void **state)
{
	/* the child's child holds the pipe too: the group is killed */
	const char *argv[] = { "sh", "-c", "sleep 60 & sleep 60", NULL };
	struct strbuf out = STRBUF_INIT;
	struct error err = ERROR_INIT;
	int status = -1;

	(void)state;
	assert_int_equal(
		spawn_run_timeout(argv, &out, SPAWN_OUT_MAX, 1, &status, &err),
		-1);
	assert_int_equal(err.code, ERR_TIMEOUT);
	assert_non_null(strstr(error_msg(&err), "sh did not finish within 1"));
	error_release(&err);
	assert_int_equal(
		spawn_check_timeout(argv, NULL, 0, 1, ERR_TEMPFAIL, "sh", &err),
		-1);
	assert_int_equal(err.code, ERR_TIMEOUT);
	error_release(&err);
	assert_int_equal(error_http_status(ERR_TIMEOUT), 504);
	assert_int_equal(error_exit_status(ERR_TIMEOUT), 5);
	sbuf_release(&out);
}

/* spawn_check_all(): the programs run at the same time (the first waits
 * for a file only the second makes, so one after the other it fails),
 * a loud one does not block, and the failure is named */
static void check_all(void **state)
{
	char dir[] = "/tmp/test_spawn.XXXXXX", flag[64], w[256], m[128];
	const char *waiter[] = { "sh", "-c", w, NULL };
	const char *maker[] = { "sh", "-c", m, NULL };
	const char *loud[] = { "sh", "-c", "head -c 200000 /dev/zero", NULL };
	const char *fail[] = { "sh", "-c", "echo broken; exit 4", NULL };
	const char *const *ok[] = { waiter, loud, maker };
	const char *const *bad[] = { loud, fail, loud };
	const char *const whats[] = { "first", "second", "third" };
	struct error err = ERROR_INIT;

	(void)state;
	assert_non_null(mkdtemp(dir));
	(void)snprintf(flag, sizeof(flag), "%s/flag", dir);
	(void)snprintf(w, sizeof(w),
		       "i=0; while [ ! -e %s ] && [ $i -lt 200 ]; do "
		       "sleep 0.05; i=$((i+1)); done; test -e %s",
		       flag, flag);
	(void)snprintf(m, sizeof(m), "touch %s", flag);
	assert_int_equal(spawn_check_all(ok, whats, 3, ERR_TEMPFAIL, &err), 0);
	assert_int_equal(unlink(flag), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(spawn_check_all(bad, whats, 3, ERR_TEMPFAIL, &err),
			 -1);
	assert_int_equal(err.code, ERR_TEMPFAIL);
	assert_non_null(
		strstr(error_msg(&err), "second failed (exit 4): broken"));
	error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clean_environment),
		cmocka_unit_test(paths),
		cmocka_unit_test(timeout),
		cmocka_unit_test(check_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
