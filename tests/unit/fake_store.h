/*
 * fake_store - an in-memory stand-in for lib/store.c, linked into
 * test_ops in its place (link-time substitution: the test binary's
 * fake_store.o defines the store_* functions ops reaches, so none of
 * the archive's store modules, lib/store*.o, is pulled in; should one
 * be, its need of lib/store.o brings a second store_open() and the
 * link fails).  It keeps domains and a mailbox count per domain,
 * checks versions as the database does (ERR_STALE when old->version
 * is not the stored one) and can play a concurrent writer.
 * Everything else answers ERR_UNAVAILABLE.  It also stands in for
 * relay_current_seq() (this host is no relay), so that lib/relay.c,
 * which needs the real store, stays out too.
 */
#ifndef MXFEED_FAKE_STORE_H
#define MXFEED_FAKE_STORE_H

#include <stddef.h>

#include "store.h"

#define FAKE_DOMAINS 16

struct fake_row {
	bool used;
	struct domain d;
	size_t mailboxes, temp_mailboxes;
};

struct fake_store {
	struct fake_row rows[FAKE_DOMAINS];
	/* the next N writes find the row changed under them: the stored
	 * version is bumped first, as by a concurrent writer */
	int race_next;
	/* counts, for the tests */
	int writes, conflicts, removes;
	long jobs;
	char last_action[32], last_job[32];
};

struct store *fake_store_new(void);
void fake_store_free(struct store *s);
struct fake_store *fake_store_of(struct store *s);
/* Add d as stored (version 1 unless set), with n mailboxes. */
void fake_store_put(struct store *s, const struct domain *d, size_t n,
		    size_t temporary);
struct fake_row *fake_store_find(struct store *s, const char *alabel);

#endif
