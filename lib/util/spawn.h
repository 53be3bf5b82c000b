/*
 * spawn - run a program with an argv vector, never through a shell
 *
 * spawn_run() starts argv[0] with posix_spawn: a bare name is looked up
 * only in SPAWN_PATH (never the caller's PATH), the environment is
 * exactly PATH=SPAWN_PATH and LC_ALL=C (nothing of ours leaks to it), stdin is
 * /dev/null, signals are at their defaults and unblocked, and the child
 * leads a process group of its own.  stdout and stderr are collected
 * together into out (capped at max bytes; the rest is read and dropped
 * so the child never blocks).  It returns 0 with *status the exit
 * status (128+N for a signal), or -1 when the program could not be run
 * at all, or did not finish within SPAWN_TIMEOUT seconds (ERR_TIMEOUT:
 * the whole process group is killed first, so that a hung postqueue
 * never holds a FastCGI worker).
 */
#ifndef MXFEED_SPAWN_H
#define MXFEED_SPAWN_H

#include "error.h"
#include "strbuf.h"

#define SPAWN_OUT_MAX	   (64 * 1024)
#define SPAWN_PATH	   "/usr/sbin:/usr/bin:/sbin:/bin"
#define SPAWN_TIMEOUT	   300 /* seconds: postfix start, postmap, configtest */
#define SPAWN_TIMEOUT_LONG 3600 /* tar or rm of a mailbox of many GB */

int spawn_run(const char *const *argv, struct strbuf *out, size_t max,
	      int *status, struct error *err)
	__attribute__((warn_unused_result));
/* spawn_run() with a timeout of its own, in seconds (1 or more). */
int spawn_run_timeout(const char *const *argv, struct strbuf *out, size_t max,
		      int timeout, int *status, struct error *err)
	__attribute__((warn_unused_result));
/*
 * spawn_run(), and a non-zero exit status is an error too: code, with
 * "WHAT failed (exit N): first line of the output".  out may be NULL.
 */
int spawn_check(const char *const *argv, struct strbuf *out, size_t max,
		enum err_code code, const char *what, struct error *err)
	__attribute__((warn_unused_result));
/* spawn_check() with spawn_run_timeout()'s timeout. */
int spawn_check_timeout(const char *const *argv, struct strbuf *out, size_t max,
			int timeout, enum err_code code, const char *what,
			struct error *err) __attribute__((warn_unused_result));
/*
 * spawn_check() of n programs (at most SPAWN_ALL_MAX) running at the
 * same time: all are started, then each is waited for; the first
 * failure (whats[i] names it) is the error.  Whatever failed, every
 * program started has finished on return.
 */
#define SPAWN_ALL_MAX 8
int spawn_check_all(const char *const *const *argvs, const char *const *whats,
		    size_t n, enum err_code code, struct error *err)
	__attribute__((warn_unused_result));
/* The first line of out, escaped and short, for an error message. */
void spawn_summary(const struct strbuf *out, struct strbuf *msg);

#endif
