/*
 * lmdbmap - patch a copy of a Postfix lmdb table instead of postmap
 *
 * lmdbmap_patch() copies the table from (a .lmdb file postmap or an
 * earlier patch wrote) to the new file to (which must not exist), then
 * applies the edits in order in one write transaction on that private
 * copy: liblmdb opened with MDB_NOSUBDIR | MDB_NOLOCK, as Postfix opens
 * it, while an fcntl() write lock on the copy keeps out anyone else
 * who locks it the same way (postmap does).  Keys and values are
 * stored byte for byte as postmap stores them: the key folded to lower
 * case, the key and the value each followed by its terminating NUL.
 * An edit with value NULL deletes its key (a key not there is no
 * error).  The copy is synced before it is closed.  Errors: -1 with
 * err set (ERR_INTERNAL, naming the file); a failed patch removes the
 * copy, from is never written.
 */
#ifndef MXFEED_LMDBMAP_H
#define MXFEED_LMDBMAP_H

#include <stddef.h>

#include "util/error.h"

struct lmdbmap_edit {
	const char *key;
	size_t klen;
	const char *value; /* NULL: delete the key */
	size_t vlen;
};

int lmdbmap_patch(const char *from, const char *to,
		  const struct lmdbmap_edit *edits, size_t n, struct error *err)
	__attribute__((warn_unused_result));

#endif
