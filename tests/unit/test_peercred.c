/*
 * test_peercred - the local peers a socket serves: entries by name and
 * id, refusals named, root and our own uid always in, other uids only
 * when listed (that part needs root: skipped otherwise)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/peercred.h"

static void entries(void **state)
{
	struct peercred p = { 0 };
	struct error err = ERROR_INIT;
	char e[32];
	int i;

	(void)state;
	assert_int_equal(peercred_add(&p, "user:0", &err), 0);
	assert_int_equal(peercred_add(&p, "user:root", &err), 0);
	assert_int_equal(peercred_add(&p, "group:0", &err), 0);
	assert_int_equal(peercred_add(&p, "group:4242", &err), 0);
	assert_int_equal(p.nuid, 2);
	assert_int_equal(p.ngid, 2);
	assert_true(p.uid[0] == 0 && p.uid[1] == 0 && p.gid[1] == 4242);
	assert_false(p.any);
	assert_int_equal(peercred_add(&p, "any", &err), 0);
	assert_true(p.any);

	assert_int_equal(peercred_add(&p, "user:no-such-user-xyz", &err), -1);
	assert_int_equal(err.code, ERR_INVALID);
	assert_string_equal(error_msg(&err), "no user 'no-such-user-xyz'");
	error_release(&err);
	assert_int_equal(peercred_add(&p, "group:no-such-group-xyz", &err), -1);
	assert_string_equal(error_msg(&err), "no group 'no-such-group-xyz'");
	error_release(&err);
	assert_int_equal(peercred_add(&p, "user:", &err), -1);
	error_release(&err);
	assert_int_equal(peercred_add(&p, "user:99999999999", &err), -1);
	error_release(&err);
	assert_int_equal(peercred_add(&p, "nobody", &err), -1);
	assert_string_equal(error_msg(&err),
			    "'nobody' is not user:NAME, group:NAME or any");
	error_release(&err);
	assert_int_equal(p.nuid, 2); /* refusals add nothing */
	for (i = 2; i < PEERCRED_MAX; i++) {
		(void)snprintf(e, sizeof(e), "user:%d", 1000 + i);
		assert_int_equal(peercred_add(&p, e, &err), 0);
	}
	assert_int_equal(peercred_add(&p, "user:1", &err), -1);
	assert_string_equal(error_msg(&err), "more than 16 users");
	error_release(&err);
}

static void own_uid_and_unknown_peer(void **state)
{
	struct peercred p = { 0 };
	char why[160] = "";
	int sv[2], pfd[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_true(peercred_allowed(&p, sv[0], why, sizeof(why)));
	close(sv[0]);
	close(sv[1]);
	/* no socket: the kernel names no peer, refused */
	assert_int_equal(pipe(pfd), 0);
	assert_false(peercred_allowed(&p, pfd[0], why, sizeof(why)));
	assert_non_null(strstr(why, "whose peer is unknown: "));
	p.any = true;
	assert_true(peercred_allowed(&p, pfd[0], why, sizeof(why)));
	close(pfd[0]);
	close(pfd[1]);
}

/* A connection from uid 65534 gid 65534 (a child that drops root),
 * accepted: its fd. */
static int conn_from_nobody(int lfd, const struct sockaddr_un *sa, pid_t *pid)
{
	*pid = fork();
	if (*pid == 0) {
		int fd;

		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 ||
		    setuid(65534) < 0)
			_exit(1);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	return accept(lfd, NULL, NULL);
}

static void other_uid(void **state)
{
	struct peercred p = { 0 };
	struct error err = ERROR_INIT;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char why[160] = "";
	int lfd, fd;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	(void)snprintf(sa.sun_path, sizeof(sa.sun_path),
		       "/tmp/test_peercred.%d", (int)getpid());
	(void)unlink(sa.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(chmod(sa.sun_path, 0777), 0);
	assert_int_equal(listen(lfd, 4), 0);
	fd = conn_from_nobody(lfd, &sa, &pid);
	assert_true(fd >= 0);
	assert_false(peercred_allowed(&p, fd, why, sizeof(why)));
	assert_non_null(strstr(why, "from uid 65534 gid 65534 pid "));
	assert_int_equal(peercred_add(&p, "user:1", &err), 0);
	assert_int_equal(peercred_add(&p, "group:1", &err), 0);
	assert_false(peercred_allowed(&p, fd, why, sizeof(why)));
	assert_int_equal(peercred_add(&p, "group:65534", &err), 0);
	assert_true(peercred_allowed(&p, fd, why, sizeof(why)));
	p.ngid = 0;
	assert_false(peercred_allowed(&p, fd, why, sizeof(why)));
	assert_int_equal(peercred_add(&p, "user:65534", &err), 0);
	assert_true(peercred_allowed(&p, fd, why, sizeof(why)));
	close(fd);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(lfd);
	(void)unlink(sa.sun_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(entries),
		cmocka_unit_test(own_uid_and_unknown_peer),
		cmocka_unit_test(other_uid),
	};

	return cmocka_run_group_tests_name("peercred", tests, NULL, NULL);
}
