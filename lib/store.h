/*
 * store - the PostgreSQL store (libpq): the only place SQL lives
 *
 * Every statement is a static const char[] in store*.c, prepared on
 * its connection at first use and run with its values as parameters;
 * every result is checked and cleared on every path.  store_fail() is
 * the one function mapping failures: dead connection, SQLSTATE class
 * 08, 53, 57P01..57P03 -> ERR_TEMPFAIL; 23505 -> ERR_CONFLICT;
 * 40001/40P01 are retried a few times inside the store; everything
 * else -> ERR_INTERNAL with the server's text logged, not returned to
 * clients.
 *
 * Every change is one transaction that writes the row(s), one "audit"
 * row (old and new JSON, actor, ticket) per domain touched; triggers in
 * sql/ add the "changes" row and NOTIFY mxfeed_changes.  Updates are
 * optimistic: WHERE version = old->version, else ERR_STALE (or
 * ERR_NOTFOUND when the domain is gone).
 *
 * Lookups have three outcomes (enum lookup); a database failure is
 * LOOKUP_FAIL with err set, never "not found".
 */
#ifndef MXFEED_STORE_H
#define MXFEED_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "mailbox.h"
#include "model.h"
#include "rule.h"
#include "token.h"
#include "util/error.h"

enum lookup { LOOKUP_FOUND, LOOKUP_NOTFOUND, LOOKUP_FAIL };

struct store;

/* Who is changing what, and why: recorded in domains and audit. */
struct change_ctx {
	const char *actor;  /* validated by actor_check() */
	const char *ticket; /* "" for none */
};

int store_open(struct store **out, const char *conninfo,
	       const struct conf *conf, struct error *err)
	__attribute__((warn_unused_result));
void store_close(struct store *s);

/* the tables' parts (each includes this file first) */
#include "store_domain.h"
#include "store_mailbox.h"
#include "store_job.h"
#include "store_rule.h"
#include "store_auth.h"
#include "store_relay.h"
#include "store_event.h"
#include "store_snap.h"

#endif
