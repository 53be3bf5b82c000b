/*
 * loop - what a long-running loop needs from the process: signals
 * that ask it to stop or to re-read its configuration, a pause that a
 * stop ends early, and the backoff between retries
 *
 * loop_signals() makes SIGTERM and SIGINT set the stop flag and, with
 * hup, SIGHUP the re-read flag; SIGPIPE is ignored (a peer that went
 * away is an error return, not a death).  The handlers are installed
 * without SA_RESTART, so a poll() or a sleep wakes on a signal.
 * loop_backoff(): 1 s doubling to 16, then 30 s and no more.
 * Knows nothing of mail; one set of flags per process.
 */
#ifndef MXFEED_UTIL_LOOP_H
#define MXFEED_UTIL_LOOP_H

#include <stdbool.h>

#define LOOP_BACKOFF_MAX_S 30

void loop_signals(bool hup);
/* SIGTERM or SIGINT came */
bool loop_stopping(void);
/* SIGHUP came since the last call (the flag is cleared) */
bool loop_reread_take(void);
/* Sleep seconds, in steps of 0.1 s, unless a stop comes first. */
void loop_pause(int seconds);
/* The delay after one of seconds failed again. */
int loop_backoff(int seconds);

#endif
