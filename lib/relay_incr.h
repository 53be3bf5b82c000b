/*
 * relay_incr - an incremental generation: what changed, merged in
 *
 * relay.c's generations, made from the previous one when they can be
 * (SPEC section 9: a change costs what it touches).  A generation's
 * INPUTS (incr.h) names the sequence it holds and the digest of what
 * its data files depend on besides the domains: relay_incr_digest()
 * of the configuration file and the files' header rows (a new setting
 * in fields.def, a new version's layout).  relay_incr_collect() then
 * reads only the rows of the domains changed since that sequence
 * (store_snapshot_since), generates them into a partial struct gen and
 * merges each data file (relay_incr_files) of the previous generation
 * with it (incr_merge) into g.  It answers 0 - generate in full, the
 * reason logged - when the previous generation has no INPUTS or other
 * ones, when more than INCR_MAX_DOMAINS domains changed, when a file
 * does not merge, when no domain is left or there was none, and when
 * a removed or changed domain held the largest message size (main.cf's
 * limit could only be found again by reading every domain).
 *
 * After it, relay_incr_unchanged() tells a data file that is the
 * previous generation's byte for byte, which relay_incr_link() hard
 * links instead of writing it (generations are never rewritten), and
 * relay_incr_maps() makes the three Postfix maps' .lmdb files: a hard
 * link when unchanged, else a patched copy of the previous one
 * (lmdbmap) with the dropped keys deleted and the new rows put, for
 * tls_policy the difference of its old and new text; postmap does not
 * run.  relay_incr_moved() gives the domains whose transport changed.
 */
#ifndef MXFEED_RELAY_INCR_H
#define MXFEED_RELAY_INCR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "gen.h"
#include "incr.h"
#include "store.h"
#include "store_snap.h"
#include "util/error.h"

#define RELAY_INCR_NFILES 7

struct relay_incr {
	bool active; /* g was made incrementally from prev */
	char prev[PATH_MAX];
	struct incr_inputs in; /* the previous generation's */
	char **names;
	size_t nnames;
	struct incr_merge m[RELAY_INCR_NFILES];
	bool maps_changed; /* a map Postfix holds open changed */
};

/* the data files, in the order of relay_incr.m */
extern const char *const relay_incr_files[RELAY_INCR_NFILES];

void relay_incr_init(struct relay_incr *x);
void relay_incr_release(struct relay_incr *x);
int relay_incr_digest(const struct conf *conf, char *out, struct error *err)
	__attribute__((warn_unused_result));
/* 1: g holds the new data; 0: generate in full; -1: err set */
int relay_incr_collect(struct relay_incr *x, struct store *s,
		       const struct conf *conf, const char *prev,
		       const char *digest, struct gen *g, int64_t *seq,
		       struct error *err) __attribute__((warn_unused_result));
bool relay_incr_unchanged(const struct relay_incr *x, const char *name);
int relay_incr_link(const struct relay_incr *x, const char *dir,
		    const char *name, struct error *err)
	__attribute__((warn_unused_result));
int relay_incr_maps(struct relay_incr *x, const char *dir,
		    const struct strbuf *tls_map, struct error *err)
	__attribute__((warn_unused_result));
char **relay_incr_moved(const struct relay_incr *x, size_t *n);

/* The snapshot's rows into a struct gen (relay_gen.c): the reader of
 * the full snapshot and of the changed domains alike. */
extern const struct snap_fns relay_gen_fns;

#endif
