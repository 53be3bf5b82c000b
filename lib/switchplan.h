/*
 * switchplan - what a switching verb will do, decided before doing it
 *
 * switch_plan() holds the rules of the verbs that change a domain's
 * mail path (SPEC section 5): switch to feed, backup or pop3,
 * temp-pop3, revert and remove.  From the domain as it is and the
 * request it either refuses (err set, as the verb would) or fills a
 * struct sp_plan: the record after the change, the job the mailboxes
 * get, whether a live probe runs, what the queue sees.  It changes
 * nothing: ops executes the plan it computed (lib/ops_switch.c; remove
 * in lib/ops.c), and ops_switch_plan() returns it as JSON for a
 * --dry-run, the API's "dry_run" and the portal's confirmation page.
 */
#ifndef MXFEED_SWITCHPLAN_H
#define MXFEED_SWITCHPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conf.h"
#include "model.h"
#include "util/error.h"
#include "util/strbuf.h"

enum sp_verb {
	SP_TO_FEED,
	SP_TO_BACKUP,
	SP_TO_POP3,
	SP_TEMP_POP3,
	SP_REVERT,
	SP_REMOVE,
	SP_EXTEND, /* not switching verbs: only their state rule is here */
	SP_FLUSH
};

extern const char *const sp_verb_names[]; /* "switch-feed", ... */

/* The bounds the fronts check their input against (lib decides) */
#define KEEP_DAYS_MAX 365 /* revert --keep-days 1..KEEP_DAYS_MAX */
#define LOCALS_MAX    64  /* mailboxes named in one request */

struct sp_req {
	enum sp_verb verb;
	const char *dest;    /* to feed/backup: IP[:PORT] or NULL */
	const char *fate;    /* to feed/backup: forward (NULL)|archive|purge */
	bool force;	     /* to feed/backup: a failed probe is ignored */
	const char *confirm; /* purge, remove: must name the domain */
	size_t nlocals;	     /* to pop3, temp-pop3: mailboxes asked for */
	bool catch_all;
	bool from_queue;   /* temp-pop3 */
	long keep_days;	   /* revert: < 0 forward now, 1..365 keep */
	bool bounce_queue; /* remove */
	const char *actor; /* temp-pop3: who set it */
	int64_t now;
};

struct sp_plan {
	enum sp_verb verb;
	struct domain nd;	 /* the record after (remove: the one before) */
	const char *action;	 /* the audit action: switch|temp-pop3|... */
	const char *fate;	 /* the mailboxes': forward|archive|purge|keep|
				    new|removed */
	char job_kind[32];	 /* the mailboxes' job, "" for none */
	bool temp_only;		 /* only the temporary mailboxes are affected */
	bool probe;		 /* a live probe of nd.dest runs */
	bool probe_binding;	 /* ...and a failure refuses (not force) */
	bool queue_days_changed; /* queue.days took the new mode's default */
	bool bounce_queue;	 /* remove: the relays bounce queued mail */
	int64_t run_after, keep_until;
};

/*
 * The plan of req for cur, or -1 with err set (the refusal: its code,
 * field and message are the verb's).  conf: the defaults and the
 * destination rules.
 */
int switch_plan(const struct domain *cur, const struct sp_req *req,
		const struct conf *conf, struct sp_plan *p, struct error *err)
	__attribute__((warn_unused_result));
/*
 * The state rule of every verb on a domain's mail path, the one answer
 * feedctl, the API and the portal share: 0 if verb fits cur's mode and
 * state, else -1 with err set to the refusal the verb itself gives
 * (ERR_CONFLICT).  extend and flush fit every domain, a pop3 one too
 * (its queue waits for the mailboxes; SPEC section 5).
 */
int switch_plan_applies(const struct domain *cur, enum sp_verb verb,
			struct error *err) __attribute__((warn_unused_result));
/* Whether verb fits cur's state at all (which forms to offer). */
bool switch_plan_offered(const struct domain *cur, enum sp_verb verb);
/*
 * p as JSON: {"verb", "domain", "version", "from", "to", "temp_pop3",
 * "probe": "none"|"required"|"advisory", "destination", "mailboxes":
 * {"fate", "job", "affected": [ADDRESS...]}, "queue": TEXT,
 * "queue_days": {"old", "new"}, "keep_until": T|null, "effects":
 * [TEXT...]}.  mailboxes: ops_mailboxes_json()'s list (may be NULL).
 */
json_t *switch_plan_json(const struct domain *cur, const struct sp_plan *p,
			 const json_t *mailboxes);

/*
 * The words of a confirmation: what a switch to feed, backup or pop3,
 * or a revert, will do, as sentences for a person (the portal's
 * confirmation page says them above the plan's "effects").  The fronts
 * pass what they show as text; the rules behind the words are
 * switch_plan()'s.
 */
struct sp_words {
	enum sp_verb verb;     /* SP_TO_FEED, SP_TO_BACKUP, SP_TO_POP3,
				  SP_REVERT; any other says nothing */
	const char *domain;    /* the A-label */
	const char *cur;       /* the destination now, "" for none */
	const char *dest;      /* feed/backup: the one asked for, "" none */
	bool force;	       /* feed/backup: the probe's outcome ignored */
	const char *fate;      /* feed/backup: forward|archive|purge */
	const char *mailboxes; /* the affected ones listed, "" for none */
	const char *created;   /* pop3: the mailboxes made, listed */
	bool catch_all;	       /* pop3: one of them is the catch-all */
	long keep_days;	       /* revert: < 0 forward now */
	const char *until;     /* revert with keep_days: when, as shown */
	int archive_days;      /* how long an archive is kept */
};
/*
 * What a shown plan rests on, as 64 hex digits: SHA-256 of the
 * version, then each mailbox's "address" (ops_mailboxes_json()'s list,
 * may be NULL), a line each.  A confirmation carries it; a different
 * digest when it comes back means the domain or its mailboxes changed
 * in between.  -1 with err set if OpenSSL fails.
 */
#define SP_DIGEST_HEX 64
int switch_plan_digest(int64_t version, const json_t *mailboxes,
		       char out[SP_DIGEST_HEX + 1], struct error *err)
	__attribute__((warn_unused_result));
/*
 * sp_words.mailboxes from ops_mailboxes_json()'s list (temp_only: the
 * temporary ones): "a@d, b@d and catch-all@d (the catch-all)".
 */
void switch_plan_mailbox_list(const json_t *mailboxes, bool temp_only,
			      struct strbuf *out);
/* Append w's sentences (JSON strings) to the array out. */
void switch_plan_words(const struct sp_words *w, json_t *out);
/* What happens to each affected mailbox, for a table row. */
const char *switch_plan_row_fate(const struct sp_words *w);
/*
 * The confirmation's mailbox table: [{"address", "kind": "hosted"|
 * "temporary"|"catch-all"|"temporary, catch-all", "fate":
 * switch_plan_row_fate(w)}] for each mailbox of mbs (ops_mailboxes_json()'s
 * list) w's verb affects: a revert only the temporary ones, a switch
 * to pop3 none (its mailboxes are made by it).
 */
json_t *switch_plan_rows(const json_t *mbs, const struct sp_words *w);

#endif
