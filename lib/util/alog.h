/*
 * alog - a line log batched per thread, that loses nothing on exit or
 * on a crash
 *
 * alog_setup() makes n buffers of ALOG_BUF bytes, one per writer (a
 * worker thread), over one file descriptor (stderr: a file or a pipe).
 * alog_add() appends whole lines to a buffer; a buffer goes out in one
 * write(2) of at most ALOG_BUF bytes (PIPE_BUF: two buffers' lines
 * never interleave in a pipe)
 *   - when the caller asks (flush: nothing else is waiting);
 *   - when the next line would not fit, or its oldest line is
 *     ALOG_MAX_MS old: checked by alog_add(), and by alog_tick(),
 *     which some thread calls every ALOG_MAX_MS for the buffers whose
 *     writer is idle;
 *   - on alog_flush(i) (a writer ending) and alog_tick(true) (the
 *     process ending);
 *   - on a fatal signal once alog_catch_fatal() ran (SIGSEGV, SIGBUS,
 *     SIGILL, SIGFPE, SIGABRT: the handler writes the whole lines
 *     buffered, then the signal takes its default course).
 * Only SIGKILL (or the machine stopping) loses lines: at most the last
 * ALOG_MAX_MS of each buffer's.  A crash in the middle of a write may
 * repeat some lines; none is lost.  A line is never cut or torn.
 *
 * alog_access_line() formats the access line of one HTTP request,
 * client text (method, path, actor) escaped and bounded.
 */
#ifndef MXFEED_ALOG_H
#define MXFEED_ALOG_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

#define ALOG_BUF    4096
#define ALOG_MAX_MS 100

/* n buffers writing to fd; once, before the writers start. */
void alog_setup(int n, int fd);
/* Free the buffers (after every writer and alog_tick(true)). */
void alog_release(void);
/* The fatal-signal handlers above (SA_RESETHAND). */
void alog_catch_fatal(void);
/* Append line (n bytes, whole lines) to buffer i; write it all out
 * when flush is true or a rule above says so. */
void alog_add(int i, const char *line, size_t n, bool flush);
/* Write out buffer i. */
void alog_flush(int i);
/* Write out the buffers whose oldest line is ALOG_MAX_MS old; every
 * one when all is true. */
void alog_tick(bool all);

/*
 * Append to sb: "access id=ID method=M path="P" status=S ms=T.t
 * actor="A" bytes=N" (actor "-" when empty or NULL), method, path and
 * actor escaped (sbuf_addesc) and cut at 16, 200 and 64 bytes.
 */
void alog_access_line(struct strbuf *sb, const char *id, const char *method,
		      const char *path, int status, double ms,
		      const char *actor, size_t bytes);

#endif
