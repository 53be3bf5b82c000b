/*
 * ops - the verbs of mxfeed, shared by feedctl and the API
 *
 * Each function takes raw text from a front end, runs it through the
 * validators (domain names, settings, JSON documents), applies the rules
 * of SPEC sections 3, 5 and 7, and changes the store in one transaction.
 * The front ends only parse their syntax, call one of these and render
 * the result or map err->code, so the CLI, the API and the portal can
 * never disagree.
 *
 * Refused operations change nothing: no row, no audit entry, no version.
 * A change that would leave every setting as it is changes nothing
 * either (the version stays), which makes "set" and "apply" idempotent.
 */
#ifndef MXFEED_OPS_H
#define MXFEED_OPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "model.h"
#include "store.h"
#include "switchplan.h"
#include "util/error.h"

#define OPS_NO_VERSION	(-1)
#define APPLY_DOC_MAX	(32 * 1024 * 1024)
#define APPLY_ITEMS_MAX 100000

struct ops_ctx {
	struct store *store;
	const struct conf *conf;
	struct change_ctx change;
	/* a new or changed destination (or fallback) is probed before it
	 * is stored, and refused (ERR_CONFLICT) when the probe fails;
	 * force skips the probe (feedctl --force, "force": true) */
	bool force;
};

/* Parse a domain name and refuse our own host names. */
int ops_name(const struct conf *conf, const char *in, struct domain_name *dn,
	     struct error *err) __attribute__((warn_unused_result));
/* One domain, as ops_domain_get() reads it, by a name ops_name()
 * has vetted already (the API's path: parsed once per request). */
int ops_domain_read(const struct ops_ctx *ox, const struct domain_name *dn,
		    struct domain *out, struct propagation *prop,
		    struct error *err) __attribute__((warn_unused_result));
/* Read one domain; not found is an error (ERR_NOTFOUND) here. */
int ops_domain_get(const struct ops_ctx *ox, const char *name,
		   struct domain *out, struct propagation *prop,
		   struct error *err) __attribute__((warn_unused_result));
int ops_domain_add(const struct ops_ctx *ox, const char *name, const char *mode,
		   const char *dest, char *const *settings, size_t nsettings,
		   struct domain *out, struct error *err)
	__attribute__((warn_unused_result));
/*
 * Create from a JSON document (the API's POST): "name" and "mode"
 * required, every other member as in a merge patch.
 */
int ops_domain_create_json(const struct ops_ctx *ox, const json_t *doc,
			   struct domain *out, struct error *err)
	__attribute__((warn_unused_result));
/*
 * The audit rows of a domain, newest first, at most limit; they outlive
 * the domain, so a removed name answers them too.  NULL with
 * ERR_NOTFOUND when the name has no rows at all.
 */
json_t *ops_history(const struct ops_ctx *ox, const char *name, long limit,
		    struct error *err) __attribute__((warn_unused_result));
/*
 * if_version: the version the caller saw (ERR_STALE when the domain has
 * changed since), or OPS_NO_VERSION: then a concurrent change is not a
 * conflict; the settings are applied again to the newer record (bounded
 * retries), so that concurrent sets of different settings all apply.
 * The same holds for ops_domain_patch.
 */
int ops_domain_set(const struct ops_ctx *ox, const char *name,
		   char *const *settings, size_t nsettings, int64_t if_version,
		   struct domain *out, bool *changed, struct error *err)
	__attribute__((warn_unused_result));
/* JSON merge patch (the API's PATCH). */
int ops_domain_patch(const struct ops_ctx *ox, const char *name,
		     const json_t *patch, int64_t if_version,
		     struct domain *out, bool *changed, struct error *err)
	__attribute__((warn_unused_result));
/*
 * Lengthen the queue (SPEC section 11): days 1..31 from now, or until
 * the end of the day "YYYY-MM-DD" (UTC, at most 31 days ahead).
 * Exactly one of days (VA_ABSENT: none) and until (NULL: none) is
 * given (verb_extend_choice(), verbarg.h).
 *
 * if_version, here and for the switching verbs below (ops_temp_pop3,
 * ops_switch_relay, ops_switch_pop3, ops_revert): the version the caller
 * saw, refused with ERR_STALE when the domain changed since, or
 * OPS_NO_VERSION.
 */
int ops_extend(const struct ops_ctx *ox, const char *name, int64_t if_version,
	       long days, const char *until, int64_t now, struct domain *out,
	       struct error *err) __attribute__((warn_unused_result));
/*
 * Probe a destination (SPEC section 11): target is a domain (its
 * destination is asked about RCPT TO:<postmaster@DOMAIN>) or IP[:PORT]
 * (greeting and EHLO only), validated like any destination.  *report
 * as probe_run(); a probe that failed is a report with "ok": false.
 */
int ops_probe(const struct ops_ctx *ox, const char *target, json_t **report,
	      struct error *err) __attribute__((warn_unused_result));
/*
 * A domain's queue on every relay, and its flush (fleet_queue(),
 * fleet_command()); the domain need not exist any more: mail of a
 * removed domain may still wait.  A flush some relay has not confirmed
 * yet is no error: its entry says "pending" until it runs or expires.
 */
json_t *ops_queue(const struct ops_ctx *ox, const struct domain_name *dn,
		  struct error *err);
json_t *ops_flush(const struct ops_ctx *ox, const struct domain_name *dn,
		  struct error *err);
/*
 * The queue as the relays last published it (store_queue_view(); no
 * relay is asked, nothing waits): {"count", "oldest", "oldest_age"
 * (seconds before now, or null), "reasons": the top QUEUE_TOP_REASONS
 * delay reasons of the published messages [{"reason", "count"}], most
 * frequent first, "relays": [{"name", "alive", "as_of", "count",
 * "oldest", "oldest_age", "reasons"}]}.  Each relay publishes at most
 * the first 200 messages of a domain, so the reasons count those.
 */
#define QUEUE_TOP_REASONS 3
json_t *ops_queue_summary(const struct ops_ctx *ox,
			  const struct domain_name *dn, int64_t now,
			  struct error *err);
/*
 * What tracking refused or sent back for a domain lately (since
 * tracking.days): the newest limit (1..50) events refused, virus,
 * greylisted or bounced, newest first, as store_events_recent().
 */
#define OPS_REFUSALS_MAX 50
json_t *ops_refusals(const struct ops_ctx *ox, const struct domain_name *dn,
		     long limit, struct error *err);
/*
 * Message tracking (track_trace()): what is a domain (A- or U-label)
 * or an address; message_id, since ("YYYY-MM-DD", RFC 3339 UTC, or
 * "Nh"/"Nd" ago; default: tracking.days ago), before (the "next" of
 * a previous answer) may be NULL; limit 1..500 (0: 100).
 */
struct ops_trace_in {
	const char *domain, *address, *message_id, *since, *before;
	long limit;
	const struct domain_name *scope;
	size_t nscope;
};
json_t *ops_trace(const struct ops_ctx *ox, const struct ops_trace_in *in,
		  struct error *err);
/*
 * Quarantine (spam action "quarantine"): the domain's held messages on
 * every relay, {"domain", "count", "messages": [{..., "relay",
 * "expires"}], "relays"}; and one released or deleted by queue id
 * (fleet_quarantine()).
 */
json_t *ops_quarantine_list(const struct ops_ctx *ox,
			    const struct domain_name *dn, struct error *err);
json_t *ops_quarantine(const struct ops_ctx *ox, const struct domain_name *dn,
		       const char *id, bool release, struct error *err);
/*
 * confirm: NULL, or must equal the domain's name.  Refused while the
 * domain has mailboxes or queued mail on any relay, unless
 * bounce_queue: then every relay bounces its queued mail to the
 * senders first.  A relay that does not answer refuses the removal
 * (ERR_TEMPFAIL): nobody can tell what waits there.  if_version as for
 * ops_domain_set(): the version the caller saw, or OPS_NO_VERSION.
 */
int ops_domain_remove(const struct ops_ctx *ox, const char *name,
		      int64_t if_version, const char *confirm,
		      bool bounce_queue, struct error *err)
	__attribute__((warn_unused_result));
/*
 * What a switching verb (switch, temp-pop3, revert, remove: req) would
 * do to name, changing nothing: switch_plan_json() of the plan the verb
 * itself executes, or NULL with err set to the verb's refusal.  The
 * live probe and the relays' queues are not consulted.
 */
json_t *ops_switch_plan(const struct ops_ctx *ox, const char *name,
			const struct sp_req *req, struct error *err);
/*
 * Converge the domains of doc (one object or an array of them) to it.
 * *report: {"dry_run": b, "results": [{"name", "action":
 * "create"|"update"|"none", "version", "changes": [{"field", "old",
 * "new"}]}]}.  All domains are validated before anything is written;
 * the writes are one transaction.
 */
int ops_apply(const struct ops_ctx *ox, const json_t *doc, bool dry_run,
	      json_t **report, struct error *err)
	__attribute__((warn_unused_result));
/*
 * Mailboxes of a pop3 domain.  *created / *changed: [{"address",
 * "password"}] - the only time a password is shown.  On a failure part
 * way, *created still lists the mailboxes that were made.
 */
int ops_mailbox_add(const struct ops_ctx *ox, const char *name,
		    char *const *locals, size_t nlocals, bool catch_all,
		    json_t **created, struct error *err)
	__attribute__((warn_unused_result));
/*
 * Temporary POP3 for a feed or backup domain during its server's outage
 * (SPEC section 5): temporary mailboxes for locals, for the recipients
 * seen in the relays' queues (from_queue) and/or a catch-all, and the
 * domain switched to them, in one transaction.  Relays then deliver the
 * domain over LMTP and requeue its queued mail into the mailboxes.
 * *created as for ops_mailbox_add: the only time passwords are shown.
 */
int ops_temp_pop3(const struct ops_ctx *ox, const char *name,
		  int64_t if_version, char *const *locals, size_t nlocals,
		  bool from_queue, bool catch_all, int64_t now,
		  json_t **created, struct error *err)
	__attribute__((warn_unused_result));
/*
 * Switch (SPEC section 5).  To feed or backup (to): a pop3 domain gets
 * destination dest; a live probe must pass unless force (*report holds
 * it); its mailboxes get a job by fate - "forward" (default, NULL),
 * "archive" or "purge" (confirm must name the domain).  Between feed
 * and backup the mail path changes, not the mailboxes: dest may be
 * NULL (keep it) and the probe runs only for a new one.  queue.days
 * still at the old mode's default takes the new mode's.  *report:
 * {"probe": {...}|null, "mailboxes": "forward"|..., "jobs": N}.
 */
int ops_switch_relay(const struct ops_ctx *ox, const char *name,
		     int64_t if_version, enum domain_mode to, const char *dest,
		     const char *fate, bool force, const char *confirm,
		     json_t **report, struct error *err)
	__attribute__((warn_unused_result));
/*
 * To pop3: a feed or backup domain (not in temporary POP3) gets the
 * mailboxes locals and/or a catch-all; at least one is required.
 * *created as for ops_mailbox_add.
 */
int ops_switch_pop3(const struct ops_ctx *ox, const char *name,
		    int64_t if_version, char *const *locals, size_t nlocals,
		    bool catch_all, json_t **created, struct error *err)
	__attribute__((warn_unused_result));
/*
 * Back from temporary POP3 to the feed: the temporary mailboxes' mail
 * is re-injected to the destination and the mailboxes archived and
 * removed (keep_days < 0), or they stay readable keep_days (1..365)
 * more days and are then archived and removed.  *report: {"mailboxes":
 * "forward"|"keep", "jobs": N, "keep_until": T|null}.
 */
int ops_revert(const struct ops_ctx *ox, const char *name, int64_t if_version,
	       long keep_days, int64_t now, json_t **report, struct error *err)
	__attribute__((warn_unused_result));
int ops_mailbox_passwd(const struct ops_ctx *ox, const char *name,
		       const char *local, json_t **changed, struct error *err)
	__attribute__((warn_unused_result));
int ops_mailbox_remove(const struct ops_ctx *ox, const char *name,
		       const char *local, struct error *err)
	__attribute__((warn_unused_result));
/* Add (add = true) or remove an allow/block rule. */
int ops_rule(const struct ops_ctx *ox, const char *name, bool add,
	     const char *action, const char *kind, const char *value,
	     struct error *err) __attribute__((warn_unused_result));
/* Listings of one domain as JSON arrays (NULL with err set). */
json_t *ops_mailboxes_json(const struct ops_ctx *ox, const struct domain *d,
			   struct error *err);
json_t *ops_rules_json(const struct ops_ctx *ox, const struct domain *d,
		       struct error *err);
/* New API token; text is shown once, only its hash is stored. */
int ops_token_create(const struct ops_ctx *ox, const char *name,
		     const char *role, char *const *domains, size_t ndomains,
		     long expires_days, char text[TOKEN_TEXT_MAX + 1],
		     struct error *err) __attribute__((warn_unused_result));
/*
 * Staff users (store_staff_add()): login as nginx passes it (1..64
 * printable ASCII, no space at either end), role read|operator|admin,
 * domains the group (exact names; none: every domain).  set: role NULL
 * keeps the role, domains_given replaces the group (ndomains 0: every
 * domain); at least one of them is required.
 */
int ops_staff_add(const struct ops_ctx *ox, const char *login, const char *role,
		  char *const *domains, size_t ndomains, struct error *err)
	__attribute__((warn_unused_result));
int ops_staff_set(const struct ops_ctx *ox, const char *login, const char *role,
		  char *const *domains, size_t ndomains, bool domains_given,
		  struct error *err) __attribute__((warn_unused_result));
int ops_staff_remove(const struct ops_ctx *ox, const char *login,
		     struct error *err) __attribute__((warn_unused_result));
/*
 * [{"field", "old", "new"}] between two domain JSON objects as the
 * history keeps them, values as display text; [] unless both are
 * objects.  Bookkeeping members (version, updated_*) are left out.
 */
json_t *ops_json_changes(const json_t *old, const json_t *new);
/* [{"field", "old", "new"}] between two records (JSON field paths). */
json_t *ops_domain_diff(const struct domain *a, const struct domain *b);

#endif
