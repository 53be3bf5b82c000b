/*
 * ops_int - helpers shared by the ops_*.c files, private to lib/ops
 *
 * Not for the front ends: they include ops.h.  ops.c holds the core
 * (reading a record, version checks, committing a change, probing new
 * destinations); ops_queue.c, ops_mailbox.c, ops_switch.c and
 * ops_admin.c add the verb families and share these.  Every name is
 * prefixed ops_; each function fills err and returns -1 (or NULL) on
 * failure, err untouched on success.
 */
#ifndef MXFEED_OPS_INT_H
#define MXFEED_OPS_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "ops.h"
#include "switchplan.h"
#include "util/error.h"

/* ---- ops.c ------------------------------------------------------------ */

/* ERR_STALE unless if_version is OPS_NO_VERSION or cur's version. */
int ops_check_version(const struct domain *cur, int64_t if_version,
		      struct error *err) __attribute__((warn_unused_result));
/* The domain name as stored (at if_version) and req's plan for it. */
int ops_get_plan(const struct ops_ctx *ox, const char *name, int64_t if_version,
		 const struct sp_req *req, struct domain *cur,
		 struct sp_plan *p, struct error *err)
	__attribute__((warn_unused_result));
/* Write nd over cur unless nothing changed (*changed, if not NULL). */
int ops_commit_change(const struct ops_ctx *ox, const struct domain *cur,
		      struct domain *nd, const char *action, bool *changed,
		      struct error *err) __attribute__((warn_unused_result));
/*
 * Whether a probe report lets nd's mail go to d: 0, or ERR_CONFLICT
 * naming field (a new server), tls.fingerprint or tls.policy; retry
 * is the verb the message tells the operator to repeat with --force.
 */
int ops_probe_verdict(const json_t *probe, const struct domain *nd,
		      const struct dest *d, const char *field, bool new_dest,
		      const char *retry, struct error *err)
	__attribute__((warn_unused_result));

/* ---- ops_queue.c ------------------------------------------------------ */

/* remove --bounce-queue: every relay bounces dn's mail first, or
 * ERR_TEMPFAIL naming the relays that did not. */
int ops_remove_bounce(const struct ops_ctx *ox, const struct domain_name *dn,
		      struct error *err) __attribute__((warn_unused_result));
/* remove without --bounce-queue: ERR_CONFLICT while mail is queued,
 * ERR_TEMPFAIL while a relay did not report; no relay at all is 0. */
int ops_remove_queue_check(const struct ops_ctx *ox,
			   const struct domain_name *dn, struct error *err)
	__attribute__((warn_unused_result));

/* ---- ops_mailbox.c ---------------------------------------------------- */

/* Mailboxes about to be made, each with a new password's hash; list
 * holds what to show once: [{"address", "password", "catch_all"}].
 * Starts as { 0 }; ends with ops_new_mailboxes_done(). */
struct ops_new_mailboxes {
	struct mailbox *mbs;
	char **hashes;
	size_t n;
	json_t *list;
};

/* Add each local part (validated, duplicates skipped), as temporary. */
int ops_add_locals(struct ops_new_mailboxes *nm, char *const *locals, size_t n,
		   struct error *err) __attribute__((warn_unused_result));
/* Add the local part of every recipient queued for dn on the relays;
 * one no mailbox can have is skipped (the catch-all may take it). */
int ops_add_queued_locals(const struct ops_ctx *ox,
			  const struct domain_name *dn,
			  struct ops_new_mailboxes *nm, struct error *err)
	__attribute__((warn_unused_result));
void ops_add_catch_all(struct ops_new_mailboxes *nm, bool temporary);
/* A new password for each mailbox: hashes filled, list for the caller. */
int ops_issue_passwords(const struct domain *d, struct ops_new_mailboxes *nm,
			struct error *err) __attribute__((warn_unused_result));
/* The list of passwords for the caller (NULL if !made), the rest wiped. */
json_t *ops_new_mailboxes_done(struct ops_new_mailboxes *nm, bool made);

#endif
