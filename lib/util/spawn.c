/*
 * spawn - run a program with an argv vector, never through a shell
 *
 * See spawn.h.
 */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int spawn_run(const char *const *argv, struct strbuf *out, size_t max,
	      int *status, struct error *err)
{
	int fds[2], ws;
	pid_t pid;
	char buf[4096];
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return error_set(err, ERR_INTERNAL, NULL, "pipe: %s",
				 strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return error_set(err, ERR_INTERNAL, NULL, "fork: %s",
				 strerror(errno));
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		if (nul >= 0)
			(void)dup2(nul, 0);
		(void)dup2(fds[1], 1);
		(void)dup2(fds[1], 2);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out != NULL && out->len < max)
			sbuf_add(out, buf,
				 (size_t)n < max - out->len ? (size_t)n
							    : max - out->len);
	}
	close(fds[0]);
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return error_set(err, ERR_INTERNAL, NULL, "waitpid: %s",
					 strerror(errno));
	if (WIFEXITED(ws))
		*status = WEXITSTATUS(ws);
	else
		*status = 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
	if (*status == 127)
		return error_set(err, ERR_INTERNAL, NULL, "cannot run %s",
				 argv[0]);
	return 0;
}

int spawn_check(const char *const *argv, struct strbuf *out, size_t max,
		enum err_code code, const char *what, struct error *err)
{
	struct strbuf own = STRBUF_INIT, msg = STRBUF_INIT;
	struct strbuf *o = out ? out : &own;
	int status = 0, rc = 0;

	if (spawn_run(argv, o, max, &status, err) < 0) {
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
