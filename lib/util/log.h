/*
 * log - one line per event, with a severity: to the journal with
 * structured fields, or to stderr as plain lines
 *
 * log_debug/info/warn/error log one event when its level is at or above
 * the threshold.  Client-supplied text must go through sbuf_addesc()
 * first; secrets (tokens, passwords, conninfo) are never logged, only
 * the token's name.
 *
 * Where the events go is the target (log.target in mxfeed.conf):
 *   LOG_TARGET_STDERR   "PROG: level: message" on stderr, as always;
 *   LOG_TARGET_JOURNAL  one journal entry per event (sd_journal_sendv,
 *                       where the build found libsystemd) with MESSAGE
 *                       (the message alone), PRIORITY (syslog's 7, 6,
 *                       4, 3), SYSLOG_IDENTIFIER (PROG) and the event's
 *                       fields; an entry the journal refuses is printed
 *                       on stderr instead, and a build without
 *                       libsystemd prints every event there;
 *   LOG_TARGET_AUTO     the journal when $JOURNAL_STREAM is set or
 *                       LOG_JOURNAL_SOCKET exists, else stderr.
 * With the journal, events at or above the echo level are printed on
 * stderr too (feedctl: its user still sees the warnings).
 *
 * Fields: the calling thread's context (log_ctx_set(): the request id,
 * actor, ticket and domain a request or job is about; cleared by
 * log_ctx_clear()) plus those one event names (log_kv()).  Names are
 * journal field names (upper-case letters, digits, '_'); an event's own
 * field wins over the context's of the same name.  A plain line carries
 * no fields: its text is the message as before.
 */
#ifndef MXFEED_LOG_H
#define MXFEED_LOG_H

#include <stdbool.h>

#define LOG_JOURNAL_SOCKET "/run/systemd/journal/socket"

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_NONE /* as an echo level: no echo */
};

enum log_target { LOG_TARGET_AUTO, LOG_TARGET_JOURNAL, LOG_TARGET_STDERR };

/* The names of enum log_target ("auto", "journal", "stderr"), NULL-ended. */
extern const char *const log_target_names[];

/* One structured field of an event; arrays end with key == NULL. */
struct log_field {
	const char *key;   /* "DOMAIN" */
	const char *value; /* NULL or "": the field is left out */
};

/* The fields the product names (issue 16: DOMAIN= ... REQUEST_ID=). */
#define LOG_F_DOMAIN	 "DOMAIN"
#define LOG_F_QUEUE_ID	 "QUEUE_ID"
#define LOG_F_TICKET	 "TICKET"
#define LOG_F_ACTOR	 "ACTOR"
#define LOG_F_REQUEST_ID "REQUEST_ID"

void log_init(const char *progname, enum log_level threshold);
/* Resolve target (auto: see above) for every later event; the echo
 * level applies when that is the journal.  Without a call: stderr. */
void log_set_target(enum log_target target, enum log_level echo);
/* The events go to the journal (target resolved, libsystemd built in). */
bool log_to_journal(void);

/* The calling thread's context: value NULL or "" removes key. */
void log_ctx_set(const char *key, const char *value);
void log_ctx_clear(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One event with its own fields (NULL-key ended array, or NULL). */
void log_kv(enum log_level lvl, const struct log_field *fields, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));

#endif
