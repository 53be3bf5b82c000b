/*
 * atomicfile - replace a file so that a reader sees the whole old or
 * the whole new one, never a part
 *
 * atomic_write() writes a temporary file in the same directory
 * (PATH.XXXXXX), sets its mode, fsyncs it, renames it over path and
 * fsyncs the directory; on any failure the temporary file is removed
 * and path is left as it was.  Flags relax or add to that:
 *   ATOMIC_NO_SYNC     no fsync at all (a file rewritten every few
 *                      seconds, of which a crash may lose the last)
 *   ATOMIC_NO_DIRSYNC  the file is fsynced, the directory is not: the
 *                      caller writes many files and then calls
 *                      atomic_sync_dir() once
 *   ATOMIC_BACKDATE    mtime two seconds in the past (Postfix trusts a
 *                      configuration file only once its mtime is)
 */
#ifndef MXFEED_UTIL_ATOMICFILE_H
#define MXFEED_UTIL_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#define ATOMIC_NO_SYNC	  1u
#define ATOMIC_NO_DIRSYNC 2u
#define ATOMIC_BACKDATE	  4u

int atomic_write(const char *path, const void *data, size_t len, mode_t mode,
		 unsigned flags, struct error *err)
	__attribute__((warn_unused_result));
int atomic_sync_dir(const char *dir, struct error *err)
	__attribute__((warn_unused_result));

#endif
