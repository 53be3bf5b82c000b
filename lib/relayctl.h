/*
 * relayctl - the relay's one-shot verbs as mta-glue runs them
 *
 * What "mta-glue generate", "apply", "quarantine-digest" and "start"
 * decide, so that the program only parses, calls and prints:
 *   - which connections: the primary (database.conninfo) for writes
 *     and the reports, and where database.read_conninfo is set a
 *     standby to read the sequence and the snapshot from
 *     (relayctl_reader());
 *   - what is reported to the relays table under relay.name: the
 *     sequence applied, or the error of a failed apply (the previous
 *     generation stays in force);
 *   - that Postfix does not start before there is a generation
 *     (ERR_CONFLICT);
 *   - where mxfeed-policyd is: beside the running program.
 * The sync loop (lib/relayd) uses the same connections and reports.
 * Errors: -1 with err from the store or lib/relay.
 */
#ifndef MXFEED_RELAYCTL_H
#define MXFEED_RELAYCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "store.h"
#include "util/error.h"

#define RELAYCTL_POLICYD "mxfeed-policyd"

struct relayctl {
	const struct conf *conf;
	const char *policyd; /* the policy daemon's path, for master.cf */
	struct store *s;     /* the primary: writes and reports */
	struct store *rs;    /* the standby read from, or NULL */
};

/* path of name in the directory of the program exe ("/a/b/prog") */
int relayctl_beside(const char *exe, const char *name, char *buf, size_t size)
	__attribute__((warn_unused_result));
/* mxfeed-policyd beside the running program (/proc/self/exe) */
int relayctl_policyd_path(char *buf, size_t size)
	__attribute__((warn_unused_result));

void relayctl_init(struct relayctl *c, const struct conf *conf,
		   const char *policyd);
/* The primary, then the standby if one is configured; both closed
 * again on failure. */
int relayctl_open(struct relayctl *c, struct error *err)
	__attribute__((warn_unused_result));
/* The standby if one is configured and not open yet. */
int relayctl_open_read(struct relayctl *c, struct error *err)
	__attribute__((warn_unused_result));
/* where the sequence and the snapshot are read: the standby, if any */
struct store *relayctl_reader(const struct relayctl *c);
void relayctl_close(struct relayctl *c);

int relayctl_generate(const struct relayctl *c, const char *dir, int64_t *seq,
		      struct error *err) __attribute__((warn_unused_result));
/* full: see relay_apply() */
int relayctl_apply(const struct relayctl *c, bool full, int64_t *seq,
		   struct error *err) __attribute__((warn_unused_result));
/* The relays table: seq applied and serving. */
int relayctl_report(const struct relayctl *c, int64_t seq, struct error *err)
	__attribute__((warn_unused_result));
/* The relays table: an apply (or a re-read) failed with msg; 0 when
 * the primary is not open. */
int relayctl_report_failure(const struct relayctl *c, const char *msg,
			    struct error *err);

/* quarantine-digest: the digests due at now, over a connection of
 * its own; *sent counts them. */
int relayctl_digest(const struct conf *conf, int64_t now, size_t *sent,
		    struct error *err) __attribute__((warn_unused_result));
/* start, stop: the relay's Postfix; start needs a generation */
int relayctl_postfix(const struct conf *conf, const char *verb,
		     struct error *err) __attribute__((warn_unused_result));

#endif
