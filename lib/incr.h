/*
 * incr - an incremental generation: the previous one's files, merged
 *
 * A generation's data files (relay_domains, transport, tls_domains,
 * policy, queue, rspamd/mxfeed-domains, rspamd/mxfeed-modes; gen.h)
 * are header rows ('#' first) and then rows sorted by domain name, in
 * sections for a keyed file (policy: domain, rule and rcpt rows, in the
 * order of its header rows).  A row's key is its domain name: the text
 * before the first space (INCR_MAP: a Postfix map source), before the
 * first tab (INCR_PLAIN), or the second field (INCR_KEYED; the first is
 * the kind).
 *
 * incr_merge() makes the new file from the old one and part: a file
 * generated (gen.c) from the rows of the changed domains only, names
 * (sorted by strcmp, no duplicates: every changed name, a removed
 * domain's too).  Every old row of a name in names is dropped, every
 * row of part goes in at its place; the rows in between are copied as
 * they are (found by binary search, not read line by line).  The
 * result: m->changed (false: the new file is the old one, byte for
 * byte, and m->out stays empty), m->out, the dropped and the added rows
 * in file order (m->dropped, m->added: the edits of a map), and their
 * counts.  part must have the old file's header rows (or none and no
 * rows), its rows in order and each of a name in names; the old file
 * must end in a newline and each row have a key.  Anything else is an
 * error (-1, ERR_CONFLICT: the caller generates in full - a full
 * generation is the fallback, never a guess).
 *
 * A generation records its inputs in INPUTS: the sequence it holds,
 * the digest of what its files depend on besides the domains (the
 * configuration file, the file formats), the largest message size any
 * domain allows (main.cf's message_size_limit) and the number of
 * domains.  incr_inputs_parse() refuses anything but exactly the text
 * incr_inputs_format() writes (ERR_INVALID).
 *
 * incr_column_max() gives the largest number in column col of the rows
 * of kind in rows (a keyed file's, its header rows in hdr): -1 with
 * ERR_CONFLICT when a row lacks it or it is not a number.
 */
#ifndef MXFEED_INCR_H
#define MXFEED_INCR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/strbuf.h"

/* more changed domains than this: a full generation */
#define INCR_MAX_DOMAINS   2000
#define INCR_DIGEST_HEX	   64
#define INCR_INPUTS_HEADER "#mxfeed-generation-inputs\tversion=1\n"

enum incr_fmt { INCR_MAP, INCR_PLAIN, INCR_KEYED };

struct incr_merge {
	bool changed;
	struct strbuf out;     /* the new file, when changed */
	struct strbuf dropped; /* the old rows of the changed names */
	struct strbuf added;   /* part's rows */
	size_t ndropped, nadded;
};

void incr_merge_init(struct incr_merge *m);
void incr_merge_release(struct incr_merge *m);
int incr_merge(enum incr_fmt fmt, const char *old, size_t oldlen,
	       const char *part, size_t partlen, char *const *names,
	       size_t nnames, struct incr_merge *m, struct error *err)
	__attribute__((warn_unused_result));

struct incr_inputs {
	int64_t seq;
	char digest[INCR_DIGEST_HEX + 1];
	long long max_bytes;
	long long ndomains;
};

void incr_inputs_format(const struct incr_inputs *in, struct strbuf *out);
int incr_inputs_parse(const char *text, size_t len, struct incr_inputs *in,
		      struct error *err) __attribute__((warn_unused_result));

int incr_column_max(const char *hdr, size_t hlen, const char *rows, size_t rlen,
		    const char *kind, const char *col, long long *max,
		    struct error *err) __attribute__((warn_unused_result));

#endif
