/*
 * relay_int - what relay.c, relay_gen.c and relay_live.c share
 *
 * Private to those three files: the file helpers of the state
 * directory, one generation's writer and making one live.
 */
#ifndef MXFEED_RELAY_INT_H
#define MXFEED_RELAY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay.h"
#include "relay_incr.h"

/* a/b into buf (PATH_MAX); -1 with err set when too long */
int relay_path_of(char *buf, const char *a, const char *b, struct error *err)
	__attribute__((warn_unused_result));
/* dir/name written atomically (beside it, fsync, rename) */
int relay_write_file(const char *dir, const char *name, const char *data,
		     size_t len, struct error *err)
	__attribute__((warn_unused_result));
/* argv run to its end; a failure's message in err names what */
int relay_run(const char *const *argv, const char *what, struct error *err)
	__attribute__((warn_unused_result));
/* a whole file, NUL-terminated, its length in *len; NULL if unreadable */
char *relay_slurp(const char *path, size_t *len);
/* dir/name holds the same bytes as state/current/name */
bool relay_same_file(const char *dir, const char *state, const char *name);
/* the generation in force has name */
bool relay_has_current_file(const struct conf *conf, const char *name);
/* rspamd's configuration of dir differs from the one in force */
bool relay_rspamd_changed(const char *dir, const struct conf *conf);
/*
 * One generation into dir: in full, or with prev (the name of the
 * generation in force) merged from it where x says it may; the
 * sequence it holds in *seq.
 */
int relay_gen_into(struct store *s, const struct conf *conf, const char *dir,
		   const char *policyd, const char *prev, struct relay_incr *x,
		   int64_t *seq, struct error *err)
	__attribute__((warn_unused_result));
/* Generation name live in the daemons whose configuration is new. */
int relay_make_live(const struct conf *conf, const char *name, bool postfix_new,
		    bool rspamd_new, bool dovecot_new, bool postgrey_new,
		    struct error *err) __attribute__((warn_unused_result));

#endif
