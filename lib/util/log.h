/*
 * log - one line per event, with a severity, to stderr (journald)
 *
 * log_debug/info/warn/error print "PROG: level: message" when the level
 * is at or above the threshold.  Client-supplied text must go through
 * sbuf_addesc() first; secrets (tokens, passwords, conninfo) are never
 * logged, only the token's name.
 */
#ifndef MXFEED_LOG_H
#define MXFEED_LOG_H

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR
};

void log_init(const char *progname, enum log_level threshold);
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
