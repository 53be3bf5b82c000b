/*
 * log - one line per event, with a severity: to the journal with
 * structured fields, or to stderr as plain lines
 *
 * See log.h.  HAVE_LIBSYSTEMD comes from the GNUmakefile when
 * pkg-config finds libsystemd; without it the journal target falls
 * back to the plain lines.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
/* no CODE_FILE=lib/util/log.c on every entry */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>
#endif

#define CTX_MAX	      8
#define CTX_KEY_MAX   32
#define CTX_VALUE_MAX 256
#define LINE_MAX_LEN  1024
#define EVENT_FIELDS  16 /* context and the event's own, at most */

const char *const log_target_names[] = { "auto", "journal", "stderr", NULL };

static const char *log_prog = "mxfeed";
static enum log_level log_threshold = LOG_LEVEL_INFO;
static bool log_journal;
static enum log_level log_echo = LOG_LEVEL_NONE;

struct ctx_field {
	char key[CTX_KEY_MAX];
	char value[CTX_VALUE_MAX];
};

static _Thread_local struct ctx_field ctx[CTX_MAX];
static _Thread_local int nctx;

void log_init(const char *progname, enum log_level threshold)
{
	log_prog = progname;
	log_threshold = threshold;
}

/* $JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected; it
 * names stderr when that is the journal already (no echo then). */
static bool stderr_is_journal(const char *js)
{
	unsigned long long dev, ino;
	struct stat st;

	return js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	       fstat(STDERR_FILENO, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void log_set_target(enum log_target target, enum log_level echo)
{
	const char *js = getenv("JOURNAL_STREAM");

	if (target == LOG_TARGET_AUTO)
		target = (js != NULL && js[0] != '\0') ||
					 access(LOG_JOURNAL_SOCKET, F_OK) == 0
				 ? LOG_TARGET_JOURNAL
				 : LOG_TARGET_STDERR;
#ifdef HAVE_LIBSYSTEMD
	log_journal = target == LOG_TARGET_JOURNAL;
#else
	log_journal = false;
#endif
	log_echo = stderr_is_journal(js) ? LOG_LEVEL_NONE : echo;
}

bool log_to_journal(void)
{
	return log_journal;
}

static bool key_ok(const char *k)
{
	size_t i;

	if (k == NULL || k[0] == '\0' || k[0] == '_' ||
	    strlen(k) >= CTX_KEY_MAX)
		return false;
	for (i = 0; k[i]; i++)
		if (!((k[i] >= 'A' && k[i] <= 'Z') ||
		      (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return false;
	return true;
}

/* snprintf(dst, size, "%s", src) without the formatting: a request
 * sets three of these */
static void copy_cut(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

void log_ctx_set(const char *key, const char *value)
{
	int i;

	if (!key_ok(key))
		return;
	for (i = 0; i < nctx; i++)
		if (strcmp(ctx[i].key, key) == 0)
			break;
	if (value == NULL || value[0] == '\0') {
		if (i < nctx) {
			ctx[i] = ctx[nctx - 1];
			nctx--;
		}
		return;
	}
	if (i == nctx) {
		if (nctx == CTX_MAX)
			return;
		nctx++;
		copy_cut(ctx[i].key, sizeof(ctx[i].key), key);
	}
	copy_cut(ctx[i].value, sizeof(ctx[i].value), value);
}

void log_ctx_clear(void)
{
	nctx = 0;
}

static const char *const level_names[] = { "debug", "info", "warning",
					   "error" };

static void plain(enum log_level lvl, const char *line, bool cut)
{
	/* a cut line is marked, never silently shortened */
	fprintf(stderr, "%s: %s: %s%s\n", log_prog, level_names[lvl], line,
		cut ? "..." : "");
}

#ifdef HAVE_LIBSYSTEMD
static bool own_field(const struct log_field *f, const char *key)
{
	for (; f && f->key; f++)
		if (f->value && f->value[0] && strcmp(f->key, key) == 0)
			return true;
	return false;
}

/* One entry: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and the fields. */
static int journal(enum log_level lvl, const struct log_field *f,
		   const char *line, bool cut)
{
	static const char prio[] = { '7', '6', '4', '3' };
	char text[EVENT_FIELDS + 3][CTX_KEY_MAX + CTX_VALUE_MAX + 2];
	char msg[LINE_MAX_LEN + 16], pr[16], id[96];
	struct iovec iov[EVENT_FIELDS + 3];
	int n = 0, nt = 0, i;

	(void)snprintf(msg, sizeof(msg), "MESSAGE=%s%s", line,
		       cut ? "..." : "");
	(void)snprintf(pr, sizeof(pr), "PRIORITY=%c", prio[lvl]);
	(void)snprintf(id, sizeof(id), "SYSLOG_IDENTIFIER=%s", log_prog);
	iov[n++] = (struct iovec){ msg, strlen(msg) };
	iov[n++] = (struct iovec){ pr, strlen(pr) };
	iov[n++] = (struct iovec){ id, strlen(id) };
	for (i = 0; i < nctx && nt < EVENT_FIELDS; i++) {
		if (own_field(f, ctx[i].key))
			continue;
		(void)snprintf(text[nt], sizeof(text[nt]), "%.31s=%.255s",
			       ctx[i].key, ctx[i].value);
		iov[n++] = (struct iovec){ text[nt], strlen(text[nt]) };
		nt++;
	}
	for (; f && f->key && nt < EVENT_FIELDS; f++) {
		if (!key_ok(f->key) || f->value == NULL || f->value[0] == '\0')
			continue;
		(void)snprintf(text[nt], sizeof(text[nt]), "%.31s=%.255s",
			       f->key, f->value);
		iov[n++] = (struct iovec){ text[nt], strlen(text[nt]) };
		nt++;
	}
	/* sd_journal_sendv() drops an entry silently (and answers 0) when
	 * the socket is missing: that entry is printed instead */
	if (access(LOG_JOURNAL_SOCKET, F_OK) < 0)
		return -1;
	return sd_journal_sendv(iov, n);
}
#endif

static void log_v(enum log_level lvl, const struct log_field *f,
		  const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void log_v(enum log_level lvl, const struct log_field *f,
		  const char *fmt, va_list ap)
{
	char line[LINE_MAX_LEN];
	bool cut;
	int n;

	if (lvl < log_threshold || lvl >= LOG_LEVEL_NONE)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	cut = (size_t)n >= sizeof(line);
#ifdef HAVE_LIBSYSTEMD
	if (log_journal) {
		if (journal(lvl, f, line, cut) < 0 || lvl >= log_echo)
			plain(lvl, line, cut);
		return;
	}
#else
	(void)f;
#endif
	plain(lvl, line, cut);
}

void log_kv(enum log_level lvl, const struct log_field *fields, const char *fmt,
	    ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(lvl, fields, fmt, ap);
	va_end(ap);
}

#define LOG_FN(fn, lvl)                                                        \
	void fn(const char *fmt, ...)                                          \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		log_v(lvl, NULL, fmt, ap);                                     \
		va_end(ap);                                                    \
	}

LOG_FN(log_debug, LOG_LEVEL_DEBUG)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_error, LOG_LEVEL_ERROR)
