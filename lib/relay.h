/*
 * relay - generations of a relay's configuration: write, check, swap
 *
 * Layout under paths.state (conf->state_dir):
 *   generations/g-SEQ-TIME/   one generation: main.cf, master.cf, the
 *                             map sources and their .lmdb files, the
 *                             policy snapshot, SEQ, DRAIN (lib/drain),
 *                             INPUTS (incr.h), rspamd/ with each map's
 *                             MAP.stamp (the generation that wrote the
 *                             map: rspamd's Lua reads a map again only
 *                             on a new one)
 *   current -> generations/g-...   the active one (an atomic symlink)
 *   spool/, data/             Postfix's queue and data directories
 *   lock                      flock()ed by every run: one at a time
 *   postfix.log               Postfix's log (maillog_file)
 *
 * relay_apply(): snapshot -> a fresh directory (temp file, fsync,
 * rename for every file) -> postmap -> "postfix check" -> rename the
 * directory into place -> swap "current" -> every running daemon takes
 * it: Postfix reloaded (unless main.cf, master.cf and every map are as
 * before), rspamd judging by it, Dovecot reloaded, postgrey
 * restarted by greylist.restart when postgrey.args changed (lib/postgrey);
 * a daemon that does not take it swaps "current" back.
 * Unless full, the snapshot holds only the domains changed since the
 * generation in force and the new one is that one's files merged with
 * them, each unchanged file hard-linked from it and the maps' .lmdb
 * patched instead of postmapped (relay_incr.h; whatever it cannot do
 * incrementally it does in full).  Each generation also holds INPUTS
 * (incr.h) and tls_domains (gen.h).
 * Any failure before the swap leaves the previous generation in force,
 * removes the half-written directory and reports the error (also to
 * the relays table).  The newest conf->relay_generations generations
 * are kept; relay_rollback() swaps back to the one before current.
 */
#ifndef MXFEED_RELAY_H
#define MXFEED_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "store.h"
#include "util/error.h"

/* Write one generation into dir (which must not exist). */
int relay_generate(struct store *s, const struct conf *conf, const char *dir,
		   const char *policyd, int64_t *seq, struct error *err)
	__attribute__((warn_unused_result));
/* full: a snapshot of every domain, not the previous generation merged
 * with the domains changed since (relay_incr.h) */
int relay_apply(struct store *s, const struct conf *conf, const char *policyd,
		int64_t *seq, bool full, struct error *err)
	__attribute__((warn_unused_result));
int relay_rollback(const struct conf *conf, struct error *err)
	__attribute__((warn_unused_result));
/* "start", "stop", "reload", "flush" the relay's Postfix instance. */
int relay_postfix(const struct conf *conf, const char *verb, struct error *err)
	__attribute__((warn_unused_result));
bool relay_postfix_running(const struct conf *conf);
/* Sequence of the current generation, 0 when there is none. */
int64_t relay_current_seq(const struct conf *conf);

#endif
