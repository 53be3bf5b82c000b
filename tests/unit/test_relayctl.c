/* test_relayctl - lib/relayctl: where mxfeed-policyd is, which
 * connection is read, what a failure report needs, and that Postfix
 * does not start without a generation */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relayctl.h"

static void beside(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(relayctl_beside("/usr/sbin/mta-glue", "mxfeed-policyd",
					 buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "/usr/sbin/mxfeed-policyd");
	assert_int_equal(relayctl_beside("/mta-glue", "p", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "/p");
	/* a name without a directory has nothing beside it */
	assert_int_equal(relayctl_beside("mta-glue", "p", buf, sizeof(buf)),
			 -1);
	/* truncation is failure; an exact fit is not */
	assert_int_equal(relayctl_beside("/ab/x", "cd", buf, 7), 0);
	assert_string_equal(buf, "/ab/cd");
	assert_int_equal(relayctl_beside("/ab/x", "cde", buf, 7), -1);
}

static void policyd_path(void **state)
{
	char buf[4096], self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	(void)state;
	assert_true(n > 0);
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	assert_int_equal(relayctl_policyd_path(buf, sizeof(buf)), 0);
	assert_int_equal(strncmp(buf, self, strlen(self)), 0);
	assert_string_equal(buf + strlen(self), "/" RELAYCTL_POLICYD);
	assert_int_equal(relayctl_policyd_path(buf, 4), -1);
}

static void reader(void **state)
{
	struct conf conf;
	struct relayctl c;
	struct error err = ERROR_INIT;
	char a, b;

	(void)state;
	memset(&conf, 0, sizeof(conf));
	relayctl_init(&c, &conf, "/p");
	assert_null(c.s);
	assert_null(c.rs);
	assert_null(relayctl_reader(&c));
	/* opaque stand-ins: relayctl_reader() only picks one */
	c.s = (struct store *)(void *)&a;
	assert_ptr_equal(relayctl_reader(&c), c.s);
	c.rs = (struct store *)(void *)&b;
	assert_ptr_equal(relayctl_reader(&c), c.rs);
	/* no standby configured: nothing to open */
	c.rs = NULL;
	assert_int_equal(relayctl_open_read(&c, &err), 0);
	assert_null(c.rs);
	/* a failure report with the primary away is not an error */
	c.s = NULL;
	assert_int_equal(relayctl_report_failure(&c, "boom", &err), 0);
	assert_int_equal(err.code, ERR_NONE);
}

static void start_needs_generation(void **state)
{
	struct error err = ERROR_INIT;
	char dir[] = "/tmp/test_relayctl.XXXXXX";
	struct conf conf;

	(void)state;
	conf_defaults(&conf);
	assert_non_null(mkdtemp(dir));
	free(conf.state_dir);
	conf.state_dir = strdup(dir);
	assert_int_equal(relayctl_postfix(&conf, "start", &err), -1);
	assert_int_equal(err.code, ERR_CONFLICT);
	assert_int_equal(error_exit_status(err.code), 4);
	assert_string_equal(error_msg(&err),
			    "no generation yet; run 'mta-glue apply' first");
	error_release(&err);
	conf_release(&conf);
	assert_int_equal(rmdir(dir), 0);
}

static void open_fails_closed(void **state)
{
	struct error err = ERROR_INIT;
	struct relayctl c;
	struct conf conf;

	(void)state;
	conf_defaults(&conf);
	free(conf.db_conninfo);
	conf.db_conninfo = strdup("host=/nonexistent/mxfeed dbname=x user=x "
				  "connect_timeout=1");
	relayctl_init(&c, &conf, "/p");
	assert_int_equal(relayctl_open(&c, &err), -1);
	assert_int_equal(error_exit_status(err.code), 5);
	assert_null(c.s);
	assert_null(c.rs);
	error_release(&err);
	conf_release(&conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(beside),
		cmocka_unit_test(policyd_path),
		cmocka_unit_test(reader),
		cmocka_unit_test(start_needs_generation),
		cmocka_unit_test(open_fails_closed),
	};

	return cmocka_run_group_tests_name("relayctl", tests, NULL, NULL);
}
