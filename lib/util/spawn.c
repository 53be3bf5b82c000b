/*
 * spawn - run a program with an argv vector, never through a shell
 *
 * See spawn.h.
 */
#include "spawn.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* argv[0] as an absolute path: as given when it has a '/', else the
 * first executable of that name in SPAWN_PATH. */
static int resolve(const char *name, char *buf, size_t size, struct error *err)
{
	static const char *const dirs[] = { "/usr/sbin", "/usr/bin", "/sbin",
					    "/bin", NULL };
	size_t i;

	if (strchr(name, '/') != NULL) {
		if (name[0] != '/')
			return error_set(err, ERR_INTERNAL, NULL,
					 "cannot run %s: not an absolute path",
					 name);
		if (strlen(name) >= size)
			return error_set(err, ERR_INTERNAL, NULL,
					 "cannot run %s: path too long", name);
		memcpy(buf, name, strlen(name) + 1);
		return 0;
	}
	for (i = 0; dirs[i]; i++) {
		int n = snprintf(buf, size, "%s/%s", dirs[i], name);

		if (n > 0 && (size_t)n < size && access(buf, X_OK) == 0)
			return 0;
	}
	return error_set(err, ERR_INTERNAL, NULL,
			 "cannot run %s: not found in %s", name, SPAWN_PATH);
}

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static int start(const char *path, const char *const *argv, int outfd,
		 pid_t *pid, struct error *err)
{
	static char env_path[] = "PATH=" SPAWN_PATH, env_lc[] = "LC_ALL=C";
	static char *const env[] = { env_path, env_lc, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	int rc;

	sigemptyset(&none);
	sigfillset(&dfl);
	sigdelset(&dfl, SIGKILL);
	sigdelset(&dfl, SIGSTOP);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outfd, 1);
	posix_spawn_file_actions_adddup2(&fa, outfd, 2);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
					      POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	rc = posix_spawn(pid, path, &fa, &at, (char *const *)argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0)
		return error_set(err, ERR_INTERNAL, NULL, "cannot run %s: %s",
				 path, strerror(rc));
	return 0;
}

/* A started child: its pid, the read end of its output, its deadline. */
struct child {
	const char *name;
	pid_t pid;
	int fd;
	int timeout;
	struct timespec deadline;
};

static int child_start(const char *const *argv, int timeout, struct child *c,
		       struct error *err)
{
	char path[PATH_MAX];
	int fds[2];

	if (resolve(argv[0], path, sizeof(path), err) < 0)
		return -1;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return error_set(err, ERR_INTERNAL, NULL, "pipe: %s",
				 strerror(errno));
	if (start(path, argv, fds[1], &c->pid, err) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	close(fds[1]);
	c->name = argv[0];
	c->fd = fds[0];
	c->timeout = timeout < 1 ? 1 : timeout;
	clock_gettime(CLOCK_MONOTONIC, &c->deadline);
	c->deadline.tv_sec += c->timeout;
	return 0;
}

/* Collect a started child's output and wait for it. */
static int child_finish(struct child *c, struct strbuf *out, size_t max,
			int *status, struct error *err)
{
	char buf[4096];
	bool timed_out = false;
	int ws;
	ssize_t n;

	for (;;) {
		struct pollfd pf = { .fd = c->fd, .events = POLLIN };
		long left = ms_left(&c->deadline);
		int pr;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		pr = poll(&pf, 1, left > 1000000 ? 1000000 : (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			break;
		if (pr == 0)
			continue;
		n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out != NULL && out->len < max)
			sbuf_add(out, buf,
				 (size_t)n < max - out->len ? (size_t)n
							    : max - out->len);
	}
	close(c->fd);
	if (timed_out)
		(void)kill(-c->pid, SIGKILL); /* it and whatever it started */
	while (waitpid(c->pid, &ws, 0) < 0)
		if (errno != EINTR)
			return error_set(err, ERR_INTERNAL, NULL, "waitpid: %s",
					 strerror(errno));
	if (timed_out)
		return error_set(err, ERR_TIMEOUT, NULL,
				 "%s did not finish within %d seconds and was "
				 "stopped; nothing it would have printed was "
				 "used",
				 c->name, c->timeout);
	if (WIFEXITED(ws))
		*status = WEXITSTATUS(ws);
	else
		*status = 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
	if (*status == 127)
		return error_set(err, ERR_INTERNAL, NULL, "cannot run %s",
				 c->name);
	return 0;
}

int spawn_run_timeout(const char *const *argv, struct strbuf *out, size_t max,
		      int timeout, int *status, struct error *err)
{
	struct child c;

	if (child_start(argv, timeout, &c, err) < 0)
		return -1;
	return child_finish(&c, out, max, status, err);
}

int spawn_run(const char *const *argv, struct strbuf *out, size_t max,
	      int *status, struct error *err)
{
	return spawn_run_timeout(argv, out, max, SPAWN_TIMEOUT, status, err);
}

int spawn_check_timeout(const char *const *argv, struct strbuf *out, size_t max,
			int timeout, enum err_code code, const char *what,
			struct error *err)
{
	struct strbuf own = STRBUF_INIT, msg = STRBUF_INIT;
	struct strbuf *o = out ? out : &own;
	int status = 0, rc = 0;

	if (spawn_run_timeout(argv, o, max, timeout, &status, err) < 0) {
		rc = -1;
	} else if (status != 0) {
		spawn_summary(o, &msg);
		rc = error_set(err, code, NULL, "%s failed (exit %d): %s", what,
			       status, msg.buf);
	}
	sbuf_release(&msg);
	sbuf_release(&own);
	return rc;
}

int spawn_check(const char *const *argv, struct strbuf *out, size_t max,
		enum err_code code, const char *what, struct error *err)
{
	return spawn_check_timeout(argv, out, max, SPAWN_TIMEOUT, code, what,
				   err);
}

int spawn_check_all(const char *const *const *argvs, const char *const *whats,
		    size_t n, enum err_code code, struct error *err)
{
	struct child c[SPAWN_ALL_MAX];
	size_t i, started = 0;
	int rc = 0;

	if (n > SPAWN_ALL_MAX)
		return error_set(err, ERR_INTERNAL, NULL,
				 "%zu programs at once", n);
	for (i = 0; i < n && rc == 0; i++) {
		if (child_start(argvs[i], SPAWN_TIMEOUT, &c[i], err) < 0)
			rc = -1;
		else
			started++;
	}
	/* each child runs on while an earlier one is read: one blocked on
	 * a full pipe waits only until its turn */
	for (i = 0; i < started; i++) {
		struct strbuf out = STRBUF_INIT, msg = STRBUF_INIT;
		struct error e = ERROR_INIT;
		int status = 0;

		if (child_finish(&c[i], &out, SPAWN_OUT_MAX, &status, &e) < 0) {
			if (rc == 0)
				rc = error_set(err, e.code,
					       e.field[0] ? e.field : NULL,
					       "%s", error_msg(&e));
		} else if (status != 0 && rc == 0) {
			spawn_summary(&out, &msg);
			rc = error_set(err, code, NULL,
				       "%s failed (exit %d): %s", whats[i],
				       status, msg.buf);
		}
		error_release(&e);
		sbuf_release(&msg);
		sbuf_release(&out);
	}
	return rc;
}

void spawn_summary(const struct strbuf *out, struct strbuf *msg)
{
	size_t n = strcspn(out->buf, "\n");
	char line[512];

	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, out->buf, n);
	line[n] = '\0';
	sbuf_addesc(msg, line, 300);
}
