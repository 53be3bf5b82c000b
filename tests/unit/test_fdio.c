/* test_fdio - lib/util/fdio: a buffer larger than a pipe holds goes out
 * whole while a reader drains it; a pipe with no reader is an error */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fdio.h"

#define BIG (1024 * 1024) /* more than a pipe buffers: short writes */

static void whole(void **state)
{
	static char out[BIG], in[BIG];
	size_t i, got = 0;
	int p[2], st;
	pid_t pid;

	(void)state;
	for (i = 0; i < BIG; i++)
		out[i] = (char)(i * 7 + i / 251);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		_exit(fd_write_all(p[1], out, BIG) == 0 ? 0 : 1);
	}
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], in + got, BIG - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(got, BIG);
	assert_memory_equal(in, out, BIG);
}

static void no_reader(void **state)
{
	int p[2];

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	errno = 0;
	assert_int_equal(fd_write_all(p[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	close(p[1]);
	/* nothing to write is no write at all */
	assert_int_equal(fd_write_all(-1, "", 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole),
		cmocka_unit_test(no_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
