/*
 * log - one line per event, with a severity, to stderr (journald)
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static const char *log_prog = "mxfeed";
static enum log_level log_threshold = LOG_LEVEL_INFO;

void log_init(const char *progname, enum log_level threshold)
{
	log_prog = progname;
	log_threshold = threshold;
}

static void log_v(enum log_level lvl, const char *name, const char *fmt,
		  va_list ap) __attribute__((format(printf, 3, 0)));

static void log_v(enum log_level lvl, const char *name, const char *fmt,
		  va_list ap)
{
	char line[1024];
	int n;

	if (lvl < log_threshold)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	/* a cut line is marked, never silently shortened */
	fprintf(stderr, "%s: %s: %s%s\n", log_prog, name, line,
		(size_t)n >= sizeof(line) ? "..." : "");
}

#define LOG_FN(fn, lvl, name)                                                  \
	void fn(const char *fmt, ...)                                          \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_v(lvl, name, fmt, ap);                                     \
		va_end(ap);                                                    \
	}

LOG_FN(log_debug, LOG_LEVEL_DEBUG, "debug")
LOG_FN(log_info, LOG_LEVEL_INFO, "info")
LOG_FN(log_warn, LOG_LEVEL_WARN, "warning")
LOG_FN(log_error, LOG_LEVEL_ERROR, "error")
