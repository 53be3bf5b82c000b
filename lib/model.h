/*
 * model - the domain record of SPEC section 3 and its rules
 *
 * struct domain is the typed, validated form of one row of "domains".
 * Its settings are the rows of fields.def (path, member, type, column,
 * defaults, bounds, flags, label, help); every field is set only
 * through that table (domain_field_set), so the CLI (feedctl set
 * NAME=VALUE), JSON merge patches (the API and feedctl apply) and rows
 * read from the database all pass the same validators.
 *
 * Setting paths (the JSON field paths of SPEC section 7):
 *   destination.host  destination.port  dest (shorthand IP[:PORT])
 *   fallbacks (comma-separated IP[:PORT] list on the CLI, array of
 *     {"host","port"} objects in JSON)
 *   tls.policy (may|encrypt|verify)  tls.fingerprint (SHA-256 or none)
 *   greylisting  spam.enabled  spam.{low,med,high}.{action,text}
 *   queue.days  queue.extended_until  recipients  max_message_mb
 * Read-only (never taken from input): name, unicode_name, mode,
 * temp_pop3, version, created_*, updated_*, ticket, propagation.  The
 * mode changes only through "switch" (SPEC section 5).
 *
 * Invariants after domain_check() succeeded:
 *   - feed/backup have a destination; pop3 has none and no fallbacks,
 *     and tls.policy may without a fingerprint (TLS is a setting of the
 *     way to the customer's server: 'switch --to pop3' drops it with
 *     the destination);
 *   - tls.policy verify has a tls.fingerprint (64 lower-case hex);
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
#include "tls.h"
#include "util/error.h"
#include "util/strbuf.h"

enum domain_mode { MODE_POP3, MODE_FEED, MODE_BACKUP };
enum spam_action {
	SPAM_NONE,
	SPAM_HEADER,
	SPAM_SUBJECT,
	SPAM_DELETE,
	SPAM_QUARANTINE, /* held on the relay for quarantine.days */
};
enum spam_level { SPAM_LOW, SPAM_MED, SPAM_HIGH, SPAM_NLEVELS };
enum recipients_mode { RCPT_VERIFY, RCPT_LIST, RCPT_ANY };

#define DOMAIN_FALLBACKS_MAX 8
#define SPAM_TEXT_MAX	     64
#define ACTOR_MAX	     64
#define TICKET_MAX	     64
#define QUEUE_DAYS_MAX	     31
#define MESSAGE_MB_MAX	     1024
#define DIGEST_ADDR_MAX	     254 /* quarantine.digest: an address */

extern const char *const domain_mode_names[];	  /* "pop3", ... NULL */
extern const char *const spam_action_names[];	  /* "none", ... NULL */
extern const char *const spam_level_names[];	  /* "low", ... NULL */
extern const char *const recipients_mode_names[]; /* "verify", ... NULL */

struct spam_setting {
	enum spam_action action;
	char text[SPAM_TEXT_MAX + 1];
};

/* Value types of the rows of fields.def. */
enum field_type {
	FT_BOOL,
	FT_INT,
	FT_ENUM,
	FT_TEXT,
	FT_TIME,
	FT_FINGERPRINT,
	FT_CUSTOM
};

/* Flags of the rows of fields.def (see there). */
#define FF_DEST_ONLY	0x01u
#define FF_CLI_ONLY	0x02u
#define FF_NO_FORM	0x04u
#define FF_SNAP_POLICY	0x08u
#define FF_SNAP_SPAM	0x10u
#define FF_SNAP_QUEUE	0x20u
#define FF_MODE_DEFAULT 0x40u
#define FF_SITE_DEFAULT 0x80u

/* The member declarations fields.def generates, by type. */
#define FIELD_DECL_BOOL(ctype, member, max)	   bool member;
#define FIELD_DECL_INT(ctype, member, max)	   int member;
#define FIELD_DECL_ENUM(ctype, member, max)	   ctype member;
#define FIELD_DECL_TEXT(ctype, member, max)	   char member[(max) + 1];
#define FIELD_DECL_TIME(ctype, member, max)	   int64_t member;
#define FIELD_DECL_FINGERPRINT(ctype, member, max) char member[TLS_FP_HEX + 1];
#define FIELD_DECL_CUSTOM(ctype, member, max)	   /* hand-declared */

struct domain {
	struct domain_name name;
	enum domain_mode mode;
	bool temp_pop3;		 /* temporary POP3 in force */
	int64_t temp_pop3_since; /* unix seconds, when temp_pop3 */
	char temp_pop3_by[ACTOR_MAX + 1];
	/* the CUSTOM rows: destination and fallbacks */
	bool has_dest;
	struct dest dest;
	size_t nfallbacks;
	struct dest fallbacks[DOMAIN_FALLBACKS_MAX];
	/* the FIELD_AT rows */
	struct spam_setting spam[SPAM_NLEVELS];
	/* every other row of fields.def */
#define FIELD(id, path, member, type, ctype, sql, d0, d1, d2, min, max, names, \
	      flags, group, label, help)                                       \
	FIELD_DECL_##type(ctype, member, max)
#define FIELD_AT(...)
#include "fields.def"
#undef FIELD
#undef FIELD_AT
	/* bookkeeping, filled by the store, never from input */
	int64_t version;
	int64_t created_at, updated_at; /* unix seconds */
	char created_by[ACTOR_MAX + 1];
	char updated_by[ACTOR_MAX + 1];
	char ticket[TICKET_MAX + 1];
};

/* The ids of the rows of fields.def: FLD_GREYLISTING... */
enum field_id {
#define FIELD(id, ...)	  FLD_##id,
#define FIELD_AT(id, ...) FLD_##id,
#include "fields.def"
#undef FIELD
#undef FIELD_AT
	FLD_COUNT
};

/* One row of fields.def, as every consumer walks it. */
struct field {
	enum field_id id;
	const char *path;
	enum field_type type;
	size_t off, size;   /* of the member in struct domain */
	const char *sql;    /* column, or NULL */
	const char *def[3]; /* by enum domain_mode; NULL: none */
	long min, max;
	const char *const *names; /* FT_ENUM */
	unsigned flags;
	const char *group, *label, *help;
};

extern const struct field domain_fields[FLD_COUNT];

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
/* The row of fields.def for a setting path, or NULL. */
const struct field *domain_field(const char *path);
/* A path that exists but is never taken from input (name, version...). */
bool domain_field_readonly(const char *path);
/* Apply one value to a row's member, through the row's validator. */
int domain_field_set(struct domain *d, const struct field *f, const char *v,
		     const struct conf *conf, struct error *err)
	__attribute__((warn_unused_result));
/* Take a stored value (a database row's text: booleans "t"/"f", times
 * unix seconds) through the same validators.  No copy of d is made (a
 * generation loads 100k rows): on error the member may be half set and
 * the caller discards d. */
int domain_field_load(struct domain *d, const struct field *f, const char *v,
		      struct error *err) __attribute__((warn_unused_result));
/* The member's value as text: for the command line and forms
 * (FIELD_TEXT_INPUT: "on"/"off", times RFC 3339 or "none", a null
 * fingerprint "none": what domain_set() takes back) or for a relay
 * snapshot (FIELD_TEXT_SNAP: "1"/"0", times unix seconds, 0 = none, a
 * null fingerprint "").  Not for FT_CUSTOM rows. */
enum field_style { FIELD_TEXT_INPUT, FIELD_TEXT_SNAP };
void domain_field_text(const struct domain *d, const struct field *f,
		       enum field_style style, struct strbuf *out);
/* What a setting takes on the command line: "on|off", "1-31",
 * "verify|list|any", "IP[:PORT]"... (feedctl help set). */
void domain_field_syntax(const struct field *f, struct strbuf *out);
/* Read-only views of a member, by type (BUG if the type differs);
 * domain_field_str() of a fingerprint is "" for null. */
bool domain_field_bool(const struct domain *d, const struct field *f);
long domain_field_int(const struct domain *d, const struct field *f);
const char *domain_field_str(const struct domain *d, const struct field *f);
int64_t domain_field_time(const struct domain *d, const struct field *f);
/* For a switch to pop3: no destination, no fallbacks, and every other
 * FF_DEST_ONLY setting back at the pop3 default. */
void domain_clear_dest(struct domain *d);
/* After a switch from mode "from" to d->mode: settings marked
 * FF_MODE_DEFAULT that still hold from's default get d->mode's. */
void domain_mode_defaults(struct domain *d, enum domain_mode from,
			  const struct conf *conf);
/* Cross-field rules (see the invariants above). */
int domain_check(const struct domain *d, const struct conf *conf,
		 struct error *err) __attribute__((warn_unused_result));
/* true when every user-settable field is equal (bookkeeping ignored) */
bool domain_settings_equal(const struct domain *a, const struct domain *b);
/*
 * A quarantine digest's address as the record keeps it: LOCAL@DOMAIN,
 * LOCAL a dot-atom of 1..64 bytes (letters, digits, !#$%&'*+/=?^_`{|}~-
 * and single dots inside), DOMAIN a domain name in its canonical form
 * (lower-case A-label: what domain_name_parse() returns); no quoting,
 * no comments, no address literal.  field names the setting.
 */
int digest_address_check(const char *addr, const char *field, struct error *err)
	__attribute__((warn_unused_result));
/* Check an actor or ticket string: printable ASCII, 1..64 bytes. */
int actor_check(const char *s, const char *field, struct error *err)
	__attribute__((warn_unused_result));
/* Check a spam text: printable UTF-8, <= 64 bytes, no CR/LF/NUL/controls. */
int spam_text_check(const char *s, const char *field, struct error *err)
	__attribute__((warn_unused_result));

#endif
