/*
 * model - the domain record of SPEC section 3 and its rules
 *
 * struct domain is the typed, validated form of one row of "domains".
 * Every field is set only through the setting table in model.c, so the
 * CLI (feedctl set NAME=VALUE), JSON merge patches (the API and feedctl
 * apply) and rows read from the database all pass the same validators.
 *
 * Setting paths (the JSON field paths of SPEC section 7):
 *   destination.host  destination.port  dest (shorthand IP[:PORT])
 *   fallbacks (comma-separated IP[:PORT] list on the CLI, array of
 *     {"host","port"} objects in JSON)
 *   greylisting  spam.enabled  spam.{low,med,high}.{action,text}
 *   queue.days  queue.extended_until  recipients  max_message_mb
 * Read-only (never taken from input): name, unicode_name, mode,
 * temp_pop3, version, created_*, updated_*, ticket, propagation.  The
 * mode changes only through "switch" (SPEC section 5).
 *
 * Invariants after domain_check() succeeded:
 *   - feed/backup have a destination; pop3 has none and no fallbacks;
 *   - temp_pop3 only on feed/backup;
 *   - queue_days 1..31, max_message_mb 1..1024, spam texts printable
 *     UTF-8 <= 64 bytes without CR/LF/NUL.
 */
#ifndef MXFEED_MODEL_H
#define MXFEED_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "dest.h"
#include "domain.h"
#include "util/error.h"

enum domain_mode { MODE_POP3, MODE_FEED, MODE_BACKUP };
enum spam_action { SPAM_NONE, SPAM_HEADER, SPAM_SUBJECT, SPAM_DELETE };
enum spam_level { SPAM_LOW, SPAM_MED, SPAM_HIGH, SPAM_NLEVELS };
enum recipients_mode { RCPT_VERIFY, RCPT_LIST, RCPT_ANY };

#define DOMAIN_FALLBACKS_MAX 8
#define SPAM_TEXT_MAX	     64
#define ACTOR_MAX	     64
#define TICKET_MAX	     64
#define QUEUE_DAYS_MAX	     31
#define MESSAGE_MB_MAX	     1024

extern const char *const domain_mode_names[];	  /* "pop3", ... NULL */
extern const char *const spam_action_names[];	  /* "none", ... NULL */
extern const char *const spam_level_names[];	  /* "low", ... NULL */
extern const char *const recipients_mode_names[]; /* "verify", ... NULL */

struct spam_setting {
	enum spam_action action;
	char text[SPAM_TEXT_MAX + 1];
};

struct domain {
	struct domain_name name;
	enum domain_mode mode;
	bool temp_pop3;		 /* temporary POP3 in force */
	int64_t temp_pop3_since; /* unix seconds, when temp_pop3 */
	char temp_pop3_by[ACTOR_MAX + 1];
	bool has_dest;
	struct dest dest;
	size_t nfallbacks;
	struct dest fallbacks[DOMAIN_FALLBACKS_MAX];
	bool greylisting;
	bool spam_enabled;
	struct spam_setting spam[SPAM_NLEVELS];
	int queue_days;
	int64_t queue_extended_until; /* unix seconds, 0 = none */
	enum recipients_mode recipients;
	int max_message_mb;
	/* bookkeeping, filled by the store, never from input */
	int64_t version;
	int64_t created_at, updated_at; /* unix seconds */
	char created_by[ACTOR_MAX + 1];
	char updated_by[ACTOR_MAX + 1];
	char ticket[TICKET_MAX + 1];
};

/* Propagation of a domain's latest change to the relays. */
struct propagation {
	int64_t sequence;
	long relays_applied;
	long relays_total;
};

/* A new record with the defaults of SPEC section 3 for mode. */
/* queue.days of a new domain: 2 for feed (seed 002), 8 for backup (000) */
int domain_default_queue_days(enum domain_mode mode);
void domain_init(struct domain *d, const struct domain_name *name,
		 enum domain_mode mode, const struct conf *conf);
/* Apply one CLI setting "path=value"; d unchanged on error. */
int domain_set(struct domain *d, const char *path, const char *value,
	       const struct conf *conf, struct error *err)
	__attribute__((warn_unused_result));
/* The JSON type a setting path takes (for merge patches). */
enum setting_type {
	SETTING_UNKNOWN,
	SETTING_READONLY,
	SETTING_BOOL,
	SETTING_INT,
	SETTING_STRING,
	SETTING_NULLABLE_STRING, /* JSON null clears it */
	SETTING_LIST,		 /* fallbacks */
};
enum setting_type domain_setting_type(const char *path);
/* Cross-field rules (see the invariants above). */
int domain_check(const struct domain *d, const struct conf *conf,
		 struct error *err) __attribute__((warn_unused_result));
/* true when every user-settable field is equal (bookkeeping ignored) */
bool domain_settings_equal(const struct domain *a, const struct domain *b);
/* Check an actor or ticket string: printable ASCII, 1..64 bytes. */
int actor_check(const char *s, const char *field, struct error *err)
	__attribute__((warn_unused_result));
/* Check a spam text: printable UTF-8, <= 64 bytes, no CR/LF/NUL/controls. */
int spam_text_check(const char *s, const char *field, struct error *err)
	__attribute__((warn_unused_result));

#endif
