/*
 * test_alog - the batched line log: lines wait in their buffer until a
 * flush, a full buffer, their age or the end; a fatal signal writes
 * what is buffered; the access line escapes client text
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/alog.h"

static int pfd[2];
static char got[4 * ALOG_BUF];

/* What the pipe holds now (it is non-blocking): its length. */
static size_t drain(void)
{
	size_t n = 0;
	ssize_t k;

	while (n < sizeof(got) - 1 &&
	       (k = read(pfd[0], got + n, sizeof(got) - 1 - n)) > 0)
		n += (size_t)k;
	got[n] = '\0';
	return n;
}

static int setup(void **state)
{
	(void)state;
	if (pipe2(pfd, O_NONBLOCK) < 0)
		return -1;
	alog_setup(2, pfd[1]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	alog_release();
	close(pfd[0]);
	close(pfd[1]);
	return 0;
}

static void add(int i, const char *line, bool flush)
{
	alog_add(i, line, strlen(line), flush);
}

static void batching(void **state)
{
	(void)state;
	add(0, "one\n", false);
	add(1, "other\n", false);
	add(0, "two\n", false);
	assert_int_equal(drain(), 0); /* held */
	add(0, "three\n", true);
	/* buffer 0's lines, in order, in one write; buffer 1 still held */
	assert_int_equal(drain(), strlen("one\ntwo\nthree\n"));
	assert_string_equal(got, "one\ntwo\nthree\n");
	alog_flush(1);
	drain();
	assert_string_equal(got, "other\n");
	alog_flush(1); /* empty: nothing */
	assert_int_equal(drain(), 0);
}

static void full_buffer(void **state)
{
	char line[1000];
	size_t n = 0;
	int i;

	(void)state;
	memset(line, 'x', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	for (i = 0; i < 4; i++) /* 3996 bytes: fits */
		add(0, line, false);
	assert_int_equal(drain(), 0);
	add(0, line, false); /* would not fit: the first four go out */
	assert_int_equal(drain(), 4 * strlen(line));
	alog_tick(true); /* the end: every buffer */
	n = drain();
	assert_int_equal(n, strlen(line));
	assert_int_equal(got[n - 1], '\n');
}

static void age(void **state)
{
	struct timespec t = { 0, (ALOG_MAX_MS + 50) * 1000000L };

	(void)state;
	add(1, "old\n", false);
	alog_tick(false); /* young: stays */
	assert_int_equal(drain(), 0);
	nanosleep(&t, NULL);
	alog_tick(false);
	drain();
	assert_string_equal(got, "old\n");
	/* a buffer whose oldest line is old goes out on the next add */
	add(0, "a\n", false);
	nanosleep(&t, NULL);
	add(0, "b\n", false);
	drain();
	assert_string_equal(got, "a\nb\n");
}

static void fatal_signal(void **state)
{
	int st;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alog_catch_fatal();
		add(0, "before the crash\n", false);
		add(1, "on the other buffer\n", false);
		(void)raise(SIGABRT);
		_exit(0); /* not reached: SIGABRT's default ends us */
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	drain();
	assert_string_equal(got, "before the crash\non the other buffer\n");
}

static void access_line(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char path[300];

	(void)state;
	alog_access_line(&sb, "0123", "GET", "/api/v1/domains/a\"b\\c\nd", 404,
			 1.26, "t-log", 51);
	assert_string_equal(sb.buf, "access id=0123 method=GET "
				    "path=\"/api/v1/domains/a\\\"b\\\\c\\nd\" "
				    "status=404 ms=1.3 actor=\"t-log\" "
				    "bytes=51");
	sbuf_reset(&sb);
	/* no actor: "-"; a negative time: 0.0; long client text cut */
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	alog_access_line(&sb, "id", "G\x01T", path, 200, -3, "", 0);
	assert_non_null(strstr(sb.buf, " method=G\\x01T "));
	assert_non_null(strstr(sb.buf, "...\" status=200 ms=0.0 actor=\"-\" "
				       "bytes=0"));
	assert_true(sb.len < 300);
	sbuf_reset(&sb);
	alog_access_line(&sb, "id", "GET", "/", 503, 12345.04, NULL, 7);
	assert_non_null(strstr(sb.buf, " ms=12345.0 actor=\"-\" bytes=7"));
	sbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(batching, setup, teardown),
		cmocka_unit_test_setup_teardown(full_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(age, setup, teardown),
		cmocka_unit_test_setup_teardown(fatal_signal, setup, teardown),
		cmocka_unit_test(access_line),
	};

	return cmocka_run_group_tests_name("alog", tests, NULL, NULL);
}
