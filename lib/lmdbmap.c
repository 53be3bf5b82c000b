/*
 * lmdbmap - patch a copy of a Postfix lmdb table instead of postmap
 *
 * See lmdbmap.h.  The copy is made with copy_file_range() (the kernel
 * copies, or shares the blocks where the file system can); the map
 * size given to liblmdb leaves room for the edits, and the size it
 * stores is the one Postfix's readers then map (they take the larger
 * of theirs and the file's).
 */
#include "lmdbmap.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/strbuf.h"

/* the smallest map size asked for; Postfix's lmdb_map_size default */
#define LMDBMAP_MIN_SIZE ((size_t)16 * 1024 * 1024)

static int copy_fd(int in, int out, off_t size, const char *from,
		   struct error *err)
{
	off_t done = 0;

	while (done < size) {
		ssize_t n = copy_file_range(in, NULL, out, NULL,
					    (size_t)(size - done), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return error_set(
				err, ERR_INTERNAL, NULL, "cannot copy %s: %s",
				from, n < 0 ? strerror(errno) : "file shrank");
		done += n;
	}
	return 0;
}

/* The edits in one transaction of the open environment. */
static int apply_edits(MDB_env *env, const struct lmdbmap_edit *e, size_t n,
		       const char *to, struct error *err)
{
	struct strbuf k = STRBUF_INIT, v = STRBUF_INIT;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	size_t i, j;
	int rc;

	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		MDB_val key, val;

		sbuf_reset(&k);
		for (j = 0; j < e[i].klen; j++)
			sbuf_addch(&k,
				   (char)tolower((unsigned char)e[i].key[j]));
		key.mv_data = k.buf;
		key.mv_size = k.len + 1; /* with its NUL, as postmap writes */
		if (e[i].value == NULL) {
			rc = mdb_del(txn, dbi, &key, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		} else {
			sbuf_reset(&v);
			sbuf_add(&v, e[i].value, e[i].vlen);
			val.mv_data = v.buf;
			val.mv_size = v.len + 1;
			rc = mdb_put(txn, dbi, &key, &val, 0);
		}
		if (rc != 0)
			goto fail;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc == 0)
		rc = mdb_env_sync(env, 1);
	if (rc != 0)
		goto fail;
	sbuf_release(&k);
	sbuf_release(&v);
	return 0;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	sbuf_release(&k);
	sbuf_release(&v);
	return error_set(err, ERR_INTERNAL, NULL, "cannot update %s: %s", to,
			 mdb_strerror(rc));
}

int lmdbmap_patch(const char *from, const char *to,
		  const struct lmdbmap_edit *edits, size_t n, struct error *err)
{
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct stat st;
	MDB_env *env = NULL;
	size_t size;
	int in, out = -1, rc;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0) {
		error_set(err, ERR_INTERNAL, NULL, "cannot open %s: %s", from,
			  strerror(errno));
		goto fail;
	}
	out = open(to, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0) {
		error_set(err, ERR_INTERNAL, NULL, "cannot create %s: %s", to,
			  strerror(errno));
		goto fail;
	}
	if (fcntl(out, F_SETLKW, &lk) < 0) {
		error_set(err, ERR_INTERNAL, NULL, "cannot lock %s: %s", to,
			  strerror(errno));
		goto fail;
	}
	if (copy_fd(in, out, st.st_size, from, err) < 0)
		goto fail;
	/* room for the file twice over: a patch of a few thousand keys
	 * never comes near it, and the old pages are freed for reuse */
	size = (size_t)st.st_size * 2 + n * 1024;
	if (size < LMDBMAP_MIN_SIZE)
		size = LMDBMAP_MIN_SIZE;
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, size)) != 0 ||
	    (rc = mdb_env_open(env, to, MDB_NOSUBDIR | MDB_NOLOCK, 0644)) !=
		    0) {
		error_set(err, ERR_INTERNAL, NULL, "cannot open %s: %s", to,
			  mdb_strerror(rc));
		goto fail;
	}
	if (apply_edits(env, edits, n, to, err) < 0)
		goto fail;
	mdb_env_close(env);
	close(out); /* releases the lock */
	close(in);
	return 0;
fail:
	if (env != NULL)
		mdb_env_close(env);
	if (out >= 0) {
		(void)unlink(to);
		close(out);
	}
	if (in >= 0)
		close(in);
	return -1;
}
