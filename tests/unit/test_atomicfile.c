/*
 * test_atomicfile - atomic_write(): a new file, a replaced one, the
 * mode, the backdated mtime, and the failure paths (a missing or
 * unwritable directory, a rename that fails) leaving path as it was and
 * no temporary file behind
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/atomicfile.h"

static char dir[64];

static int mkdir_tmp(void **state)
{
	(void)state;
	(void)snprintf(dir, sizeof(dir), "/tmp/mxfeed-atomic.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int rm_tmp(void **state)
{
	static const char *const names[] = { "d/f", "d", "f", "rel", NULL };
	char p[128];
	size_t i;

	(void)state;
	for (i = 0; names[i]; i++) {
		(void)snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		if (unlink(p) < 0)
			(void)rmdir(p);
	}
	return rmdir(dir);
}

static size_t entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(dp);
	while ((e = readdir(dp)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

static void slurp(const char *path, char *buf, size_t size)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, size - 1, fp);
	buf[n] = '\0';
	fclose(fp);
}

static void writes_and_replaces(void **state)
{
	struct error err = ERROR_INIT;
	char path[128], buf[64];
	struct stat st;

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(atomic_write(path, "one\n", 4, 0600, 0, &err), 0);
	slurp(path, buf, sizeof(buf));
	assert_string_equal(buf, "one\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(atomic_write(path, "two\n", 4, 0644,
				      ATOMIC_NO_DIRSYNC | ATOMIC_BACKDATE,
				      &err),
			 0);
	slurp(path, buf, sizeof(buf));
	assert_string_equal(buf, "two\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_true(st.st_mtime <= time(NULL) - 1);
	assert_int_equal(atomic_sync_dir(dir, &err), 0);
	assert_int_equal(atomic_write(path, "", 0, 0644, ATOMIC_NO_SYNC, &err),
			 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	/* a relative path: its directory is "." */
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(atomic_write("rel", "r", 1, 0644, 0, &err), 0);
	assert_int_equal(chdir("/"), 0);
	assert_int_equal(entries(dir), 2); /* f and rel, no temporary file */
}

static void failures_leave_nothing(void **state)
{
	struct error err = ERROR_INIT;
	char path[128], sub[128], buf[64];

	(void)state;
	/* a missing directory */
	(void)snprintf(path, sizeof(path), "%s/nx/f", dir);
	assert_int_equal(atomic_write(path, "x", 1, 0644, 0, &err), -1);
	assert_int_equal(err.code, ERR_INTERNAL);
	assert_non_null(strstr(error_msg(&err), "cannot create"));
	error_release(&err);
	/* the rename fails (path is a directory): no temporary file left */
	(void)snprintf(sub, sizeof(sub), "%s/d", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(atomic_write(sub, "x", 1, 0644, 0, &err), -1);
	assert_non_null(strstr(error_msg(&err), "cannot write"));
	error_release(&err);
	assert_int_equal(entries(dir), 1); /* only d */
	/* an unwritable directory (unless root, who writes anyway) */
	(void)snprintf(path, sizeof(path), "%s/d/f", dir);
	assert_int_equal(atomic_write(path, "old", 3, 0644, 0, &err), 0);
	assert_int_equal(chmod(sub, 0555), 0);
	if (geteuid() != 0) {
		assert_int_equal(atomic_write(path, "new", 3, 0644, 0, &err),
				 -1);
		error_release(&err);
		slurp(path, buf, sizeof(buf));
		assert_string_equal(buf, "old");
		assert_int_equal(entries(sub), 1);
	}
	assert_int_equal(chmod(sub, 0755), 0);
	/* a path too long for the temporary name */
	{
		char longp[PATH_MAX + 8];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[0] = '/';
		longp[sizeof(longp) - 1] = '\0';
		assert_int_equal(atomic_write(longp, "x", 1, 0644, 0, &err),
				 -1);
		assert_non_null(strstr(error_msg(&err), "too long"));
		error_release(&err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(writes_and_replaces, mkdir_tmp,
						rm_tmp),
		cmocka_unit_test_setup_teardown(failures_leave_nothing,
						mkdir_tmp, rm_tmp),
	};

	return cmocka_run_group_tests_name("atomicfile", tests, NULL, NULL);
}
