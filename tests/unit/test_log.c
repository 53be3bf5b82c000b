/* test_log - the plain lines, the threshold, the context, the target */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

static char path[64];
static int saved = -1; /* the real stderr */

/* stderr into a file; what was written since, into buf */
static void capture(void)
{
	int fd;

	(void)snprintf(path, sizeof(path), "/tmp/test_log.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

static void release(void)
{
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	unlink(path);
}

static void captured(char *buf, size_t size)
{
	FILE *fp;
	size_t n;

	fflush(stderr);
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(buf, 1, size - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_true(truncate(path, 0) == 0);
	assert_true(lseek(STDERR_FILENO, 0, SEEK_SET) == 0);
}

static void plain_lines(void **state)
{
	static const struct log_field f[] = { { LOG_F_DOMAIN, "a.example" },
					      { NULL, NULL } };
	char buf[4096], big[2000];

	(void)state;
	capture();
	log_init("prog", LOG_LEVEL_INFO);
	log_set_target(LOG_TARGET_STDERR, LOG_LEVEL_NONE);
	assert_false(log_to_journal());
	log_ctx_set(LOG_F_REQUEST_ID, "0123");
	log_debug("not shown");
	log_info("one %d", 1);
	log_warn("two");
	log_error("three");
	/* a plain line carries no field: the text as it always was */
	log_kv(LOG_LEVEL_WARN, f, "domain=%s four", "a.example");
	captured(buf, sizeof(buf));
	assert_string_equal(buf, "prog: info: one 1\n"
				 "prog: warning: two\n"
				 "prog: error: three\n"
				 "prog: warning: domain=a.example four\n");
	/* a cut line is marked */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
	captured(buf, sizeof(buf));
	assert_int_equal(strlen(buf), strlen("prog: info: ") + 1023 + 4);
	assert_string_equal(buf + strlen(buf) - 4, "...\n");
	log_ctx_clear();
	release();
}

static void targets(void **state)
{
	(void)state;
	assert_string_equal(log_target_names[LOG_TARGET_AUTO], "auto");
	assert_string_equal(log_target_names[LOG_TARGET_JOURNAL], "journal");
	assert_string_equal(log_target_names[LOG_TARGET_STDERR], "stderr");
	assert_null(log_target_names[3]);
	/* auto: $JOURNAL_STREAM names the journal */
	assert_int_equal(setenv("JOURNAL_STREAM", "1:2", 1), 0);
	log_set_target(LOG_TARGET_AUTO, LOG_LEVEL_NONE);
#ifdef HAVE_LIBSYSTEMD
	assert_true(log_to_journal());
#else
	assert_false(log_to_journal());
#endif
	unsetenv("JOURNAL_STREAM");
	if (access(LOG_JOURNAL_SOCKET, F_OK) != 0) {
		log_set_target(LOG_TARGET_AUTO, LOG_LEVEL_NONE);
		assert_false(log_to_journal());
	}
	log_set_target(LOG_TARGET_STDERR, LOG_LEVEL_NONE);
	assert_false(log_to_journal());
}

static void context(void **state)
{
	int i;

	(void)state;
	/* bad names and overflow are dropped, never a crash */
	log_ctx_set("lower", "x");
	log_ctx_set("_UNDERSCORE", "x");
	log_ctx_set("", "x");
	log_ctx_set(NULL, "x");
	for (i = 0; i < 20; i++) {
		char k[16];

		(void)snprintf(k, sizeof(k), "K%d", i);
		log_ctx_set(k, "v");
	}
	log_ctx_set(LOG_F_DOMAIN, NULL);
	log_ctx_set(LOG_F_DOMAIN, "");
	log_ctx_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_lines),
		cmocka_unit_test(targets),
		cmocka_unit_test(context),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
