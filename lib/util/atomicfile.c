/*
 * atomicfile - whole-file replacement by rename (see atomicfile.h)
 */
#include "atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"

int atomic_sync_dir(const char *dir, struct error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return error_set(err, ERR_INTERNAL, NULL, "cannot sync %s: %s",
				 dir, strerror(e));
	}
	close(fd);
	return 0;
}

static int backdate(int fd)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= 2;
	ts[1] = ts[0];
	return futimens(fd, ts);
}

/* The directory part of path ("." for none) into dir. */
static int dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash == NULL   ? 1
		   : slash == path ? 1
				   : (size_t)(slash - path);

	if (n >= size)
		return -1;
	memcpy(dir, slash == NULL ? "." : path, n);
	dir[n] = '\0';
	return 0;
}

int atomic_write(const char *path, const void *data, size_t len, mode_t mode,
		 unsigned flags, struct error *err)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	bool sync = !(flags & ATOMIC_NO_SYNC);
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp) ||
	    dir_of(path, dir, sizeof(dir)) < 0)
		return error_set(err, ERR_INTERNAL, NULL, "path too long: %s",
				 path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot create %s: %s", tmp, strerror(errno));
	if (fd_write_all(fd, data, len) < 0 || fchmod(fd, mode) < 0 ||
	    ((flags & ATOMIC_BACKDATE) && backdate(fd) < 0) ||
	    (sync && fsync(fd) < 0))
		goto bad;
	if (close(fd) < 0) {
		fd = -1;
		goto bad;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto bad;
	if (sync && !(flags & ATOMIC_NO_DIRSYNC))
		return atomic_sync_dir(dir, err);
	return 0;
bad:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return error_set(err, ERR_INTERNAL, NULL, "cannot write %s: %s", path,
			 strerror(e));
}
