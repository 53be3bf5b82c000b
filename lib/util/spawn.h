/*
 * spawn - run a program with an argv vector, never through a shell
 *
 * spawn_run() forks, execs argv[0] (looked up in PATH) with stdin from
 * /dev/null, collects stdout and stderr together into out (capped at
 * max bytes; the rest is read and dropped so the child never
 * blocks), waits, and returns 0 with *status the exit status (128+N for
 * a signal), or -1 when the program could not be run at all.
 */
#ifndef MXFEED_SPAWN_H
#define MXFEED_SPAWN_H

#include "error.h"
#include "strbuf.h"

#define SPAWN_OUT_MAX (64 * 1024)

int spawn_run(const char *const *argv, struct strbuf *out, size_t max,
	      int *status, struct error *err)
	__attribute__((warn_unused_result));
/*
 * spawn_run(), and a non-zero exit status is an error too: code, with
 * "WHAT failed (exit N): first line of the output".  out may be NULL.
 */
int spawn_check(const char *const *argv, struct strbuf *out, size_t max,
		enum err_code code, const char *what, struct error *err)
	__attribute__((warn_unused_result));
/* The first line of out, escaped and short, for an error message. */
void spawn_summary(const struct strbuf *out, struct strbuf *msg);

#endif
