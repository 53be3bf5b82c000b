/*
 * store_mailbox - mailboxes, and the switches that change them with the domain
 *
 * Part of the store's public interface: callers include store.h, which
 * includes this file (store.h has the contract every store function
 * keeps: failures mapped once, changes audited, lookups three-state).
 */
#ifndef MXFEED_STORE_MAILBOX_H
#define MXFEED_STORE_MAILBOX_H

#include "store.h"

int store_mailbox_list(struct store *s, const struct domain_name *dn,
		       struct mailbox **out, size_t *n, struct error *err)
	__attribute__((warn_unused_result));
/* ERR_CONFLICT when the address already has a mailbox. */
int store_mailbox_add(struct store *s, const struct domain *d,
		      const struct mailbox *mb, const char *hash,
		      const struct change_ctx *ctx, struct error *err)
	__attribute__((warn_unused_result));
int store_mailbox_passwd(struct store *s, const struct domain *d,
			 const char *local, const char *hash,
			 const struct change_ctx *ctx, struct error *err)
	__attribute__((warn_unused_result));
/*
 * Temporary POP3 (SPEC section 5) in one transaction: the domain's new
 * record (nd: temp_pop3 set) over old, and n temporary mailboxes with
 * their password hashes.  All or nothing.
 */
int store_temp_pop3(struct store *s, const struct domain *old,
		    struct domain *nd, const struct mailbox *mbs,
		    char *const *hashes, size_t n, const struct change_ctx *ctx,
		    struct error *err) __attribute__((warn_unused_result));
/*
 * A switch (SPEC section 5) in one transaction: nd over old (action
 * names the audit entry); for every mailbox of the domain (only the
 * temporary ones with temp_only) a job of kind job_kind (NULL: none)
 * that runs once every relay applied this change and not before
 * run_after (0: now); keep_until (0: unchanged) as those mailboxes'
 * expires_at; then the n new mailboxes mbs with their hashes.  Refused
 * (ERR_CONFLICT) while mailbox jobs of the domain are still to run.
 * *jobs: how many jobs were queued.
 */
struct switch_req {
	const struct domain *old;
	struct domain *nd;
	const char *action;
	const char *job_kind;
	bool temp_only;
	int64_t run_after, keep_until;
	const struct mailbox *mbs;
	char *const *hashes;
	size_t n;
};
int store_switch(struct store *s, const struct switch_req *r, long *jobs,
		 const struct change_ctx *ctx, struct error *err)
	__attribute__((warn_unused_result));

/* Delete mailbox id (if still there) with an audit entry by actor. */
int store_mailbox_drop(struct store *s, int64_t id, const char *domain,
		       const char *address, const char *actor,
		       struct error *err) __attribute__((warn_unused_result));

/* Deletes the row and queues a "mailbox-archive" job for its maildir. */
int store_mailbox_remove(struct store *s, const struct domain *d,
			 const char *local, const struct change_ctx *ctx,
			 struct error *err) __attribute__((warn_unused_result));

#endif
