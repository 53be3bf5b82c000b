/*
 * relay - generations of a relay's configuration: check, swap, apply
 *
 * See relay.h.  This file keeps the state directory: its lock, the
 * generations under it, "current", the apply (generate, check, swap,
 * make live, or put the previous one back), rollback and the files'
 * helpers shared through relay_int.h.  Beside it: relay_gen.c writes a
 * generation, relay_live.c makes one live in the daemons.  Every path
 * is built with checked snprintf into PATH_MAX buffers; every file is
 * written beside its final name and renamed only after fsync, so no
 * daemon ever reads a half-written one.
 */
#include "relay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "queue.h"
#include "relay_incr.h"
#include "relay_int.h"
#include "util/atomicfile.h"
#include "util/log.h"
#include "util/spawn.h"

int relay_path_of(char *buf, const char *a, const char *b, struct error *err)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", a, b);

	if (n < 0 || n >= PATH_MAX)
		return error_set(err, ERR_INTERNAL, NULL,
				 "path too long: %s/%s", a, b);
	return 0;
}

/* Postfix trusts a configuration file only once its mtime is in the
 * past: the file is complete, so it is dated two seconds back.  The
 * directory is synced once its files are all written. */
int relay_write_file(const char *dir, const char *name, const char *data,
		     size_t len, struct error *err)
{
	char path[PATH_MAX];

	if (relay_path_of(path, dir, name, err) < 0)
		return -1;
	return atomic_write(path, data, len, 0644,
			    ATOMIC_NO_DIRSYNC | ATOMIC_BACKDATE, err);
}

/* Run a command; its first output line goes into the error. */
int relay_run(const char *const *argv, const char *what, struct error *err)
{
	return spawn_check(argv, NULL, SPAWN_OUT_MAX, ERR_INTERNAL, what, err);
}

char *relay_slurp(const char *path, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sbuf_add(&sb, buf, (size_t)n);
	close(fd);
	if (n < 0) {
		sbuf_release(&sb);
		return NULL;
	}
	return sbuf_detach(&sb, len);
}

/* The new dir's file equals the current generation's. */
bool relay_same_file(const char *dir, const char *state, const char *name)
{
	char a[PATH_MAX], b[PATH_MAX];
	size_t la = 0, lb = 0;
	char *x, *y;
	bool same;

	if (snprintf(a, sizeof(a), "%s/%s", dir, name) >= (int)sizeof(a) ||
	    snprintf(b, sizeof(b), "%s/current/%s", state, name) >=
		    (int)sizeof(b))
		return false;
	x = relay_slurp(a, &la);
	y = relay_slurp(b, &lb);
	same = x != NULL && y != NULL && la == lb && memcmp(x, y, la) == 0;
	free(x);
	free(y);
	return same;
}

/* The current generation holds the file name. */
bool relay_has_current_file(const struct conf *conf, const char *name)
{
	char p[PATH_MAX];

	return snprintf(p, sizeof(p), "%s/current/%s", conf->state_dir, name) <
		       (int)sizeof(p) &&
	       access(p, F_OK) == 0;
}

static int lock_state(const struct conf *conf, struct error *err)
{
	char path[PATH_MAX];
	int fd;

	if (relay_path_of(path, conf->state_dir, "lock", err) < 0)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set(err, ERR_INTERNAL, NULL, "cannot open %s: %s",
				 path, strerror(errno));
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return error_set(err, ERR_INTERNAL, NULL, "cannot lock %s: %s",
				 path, strerror(errno));
	}
	return fd;
}

/* Remove a generation directory: files and (a few levels of) dirs. */
static void remove_tree_depth(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >=
		    (int)sizeof(p))
			continue;
		if (e->d_type == DT_DIR && depth > 0)
			remove_tree_depth(p, depth - 1);
		else
			(void)unlink(p);
	}
	closedir(d);
	(void)rmdir(dir);
}

static void remove_tree(const char *dir)
{
	remove_tree_depth(dir, 3);
}

/* Remove every "*.new" directory: under the lock no run is writing one. */
static void remove_stale(const char *gens)
{
	DIR *d = opendir(gens);
	struct dirent *e;
	char p[PATH_MAX];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n > 4 && strcmp(e->d_name + n - 4, ".new") == 0 &&
		    snprintf(p, sizeof(p), "%s/%s", gens, e->d_name) <
			    (int)sizeof(p))
			remove_tree(p);
	}
	closedir(d);
}

/* Point "current" at target (a path relative to the state dir). */
static int swap_current(const struct conf *conf, const char *target,
			struct error *err)
{
	char cur[PATH_MAX], tmp[PATH_MAX];

	if (relay_path_of(cur, conf->state_dir, "current", err) < 0 ||
	    relay_path_of(tmp, conf->state_dir, "current.new", err) < 0)
		return -1;
	(void)unlink(tmp);
	if (symlink(target, tmp) < 0 || rename(tmp, cur) < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot switch %s to %s: %s", cur, target,
				 strerror(errno));
	return atomic_sync_dir(conf->state_dir, err);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Generation names, oldest first (names sort by sequence, then time). */
static char **list_generations(const char *gens, size_t *n)
{
	DIR *d = opendir(gens);
	struct dirent *e;
	char **v = NULL;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "g-", 2) != 0 ||
		    strstr(e->d_name, ".new") != NULL)
			continue;
		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_names);
	return v;
}

static void free_names(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The generation "current" points at ("g-..."), or "" if none. */
static void current_name(const struct conf *conf, char *buf, size_t size)
{
	char cur[PATH_MAX], link[PATH_MAX];
	ssize_t n;
	const char *slash;

	buf[0] = '\0';
	if (snprintf(cur, sizeof(cur), "%s/current", conf->state_dir) >=
	    (int)sizeof(cur))
		return;
	n = readlink(cur, link, sizeof(link) - 1);
	if (n <= 0)
		return;
	link[n] = '\0';
	slash = strrchr(link, '/');
	if (strlcpy_checked(buf, slash ? slash + 1 : link, size) < 0)
		buf[0] = '\0';
}

static void prune(const struct conf *conf, const char *gens)
{
	char cur[NAME_MAX + 1];
	size_t n, i, keep = (size_t)conf->relay_generations;
	char **v = list_generations(gens, &n);

	current_name(conf, cur, sizeof(cur));
	for (i = 0; n > keep && i < n - keep; i++) {
		char p[PATH_MAX];

		if (strcmp(v[i], cur) == 0)
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", gens, v[i]) <
		    (int)sizeof(p))
			remove_tree(p);
	}
	free_names(v, n);
}

/* Split a map source into its lines, in place (they stay sorted). */
static char **map_lines(char *text, size_t *n)
{
	char **v = NULL, *p = text;

	*n = 0;
	while (p != NULL && *p) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = p;
		p = nl ? nl + 1 : NULL;
	}
	return v;
}

/* bsearch over "KEY VALUE" lines by KEY */
static int cmp_key(const void *key, const void *elem)
{
	const char *line = *(char *const *)elem;
	size_t kl = strcspn(line, " "), n = strlen(key);
	int c = strncmp(key, line, n < kl ? n : kl);

	return c != 0 ? c : n < kl ? -1 : n > kl ? 1 : 0;
}

/*
 * The domains whose transport is new or different in new_path compared
 * with old_path (both written in byte order by gen.c); sorted.
 */
static char **route_changes(const char *old_path, const char *new_path,
			    size_t *n)
{
	size_t la = 0, lb = 0, na = 0, nb = 0, i;
	char *a = relay_slurp(old_path, &la), *b = relay_slurp(new_path, &lb);
	char **va = a ? map_lines(a, &na) : NULL;
	char **vb = b ? map_lines(b, &nb) : NULL;
	char **out = NULL;

	*n = 0;
	for (i = 0; i < nb; i++) {
		size_t kl = strcspn(vb[i], " ");
		char key[DOMAIN_NAME_MAX + 1];
		char **old;

		if (kl > DOMAIN_NAME_MAX)
			continue;
		memcpy(key, vb[i], kl);
		key[kl] = '\0';
		old = na ? bsearch(key, va, na, sizeof(*va), cmp_key) : NULL;
		if (old != NULL && strcmp(*old, vb[i]) == 0)
			continue;
		out = xrealloc(out, (*n + 1) * sizeof(*out));
		out[(*n)++] = xstrdup(key);
	}
	free(va);
	free(vb);
	free(a);
	free(b);
	return out;
}

/* Postfix's queue (root's; postfix check fills it) and data dirs. */
static int instance_dirs(const struct conf *conf, struct error *err)
{
	char spool[PATH_MAX], data[PATH_MAX];
	struct passwd *pw = getpwnam("postfix");

	if (pw == NULL)
		return error_set(err, ERR_INTERNAL, NULL,
				 "no 'postfix' user: install postfix");
	if (relay_path_of(spool, conf->state_dir, "spool", err) < 0 ||
	    relay_path_of(data, conf->state_dir, "data", err) < 0)
		return -1;
	if ((mkdir(spool, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(data, 0700) < 0 && errno != EEXIST) ||
	    chown(data, pw->pw_uid, pw->pw_gid) < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot set up %s and %s: %s", spool, data,
				 strerror(errno));
	return 0;
}

/*
 * Deferred mail of a domain whose route changed follows the new route
 * now (postsuper -r), not at its next retry on the old one.  Failures
 * are logged: the mail still goes, only later.
 */
static void requeue_moved(const struct conf *conf, const char *gens,
			  const char *name, const struct relay_incr *x)
{
	char prev[PATH_MAX], next[PATH_MAX];
	size_t n = 0, i, done = 0, ngen;
	char **names = list_generations(gens, &ngen), **changed = NULL;
	struct error e = ERROR_INIT;

	for (i = 0; i < ngen && strcmp(names[i], name) != 0; i++)
		;
	if (x->active) /* the changed rows only, not both whole maps */
		changed = relay_incr_moved(x, &n);
	else if (i > 0 && i < ngen &&
		 snprintf(prev, sizeof(prev), "%s/%s/transport", gens,
			  names[i - 1]) < (int)sizeof(prev) &&
		 snprintf(next, sizeof(next), "%s/%s/transport", gens, name) <
			 (int)sizeof(next))
		changed = route_changes(prev, next, &n);
	if (n > 0 && relay_postfix_running(conf)) {
		if (queue_requeue(conf, changed, n, &done, &e) < 0) {
			log_warn("requeue after a route change: %s",
				 error_msg(&e));
			error_release(&e);
		} else if (done > 0) {
			log_info("requeued %zu message(s) of %zu domain(s) "
				 "whose route changed",
				 done, n);
		}
	}
	for (i = 0; i < n; i++)
		free(changed[i]);
	free(changed);
	free_names(names, ngen);
}

/* MAP.stamp: the generation that wrote rspamd's map, the previous
 * one's when the map is its file (the Lua then does not read it again) */
static int write_stamp(const char *dir, const struct relay_incr *x,
		       const char *map, const char *name, struct error *err)
{
	char stamp[PATH_MAX], prev[PATH_MAX];

	if (snprintf(stamp, sizeof(stamp), "%s.stamp", map) >=
	    (int)sizeof(stamp))
		return error_set(err, ERR_INTERNAL, NULL, "path too long");
	if (relay_incr_unchanged(x, map) &&
	    snprintf(prev, sizeof(prev), "%s/%s", x->prev, stamp) <
		    (int)sizeof(prev) &&
	    access(prev, F_OK) == 0)
		return relay_incr_link(x, dir, stamp, err);
	return relay_write_file(dir, stamp, name, strlen(name), err);
}

/* A generation's name: sequence, then time to the nanosecond, so that
 * names sort by age and two runs never share one. */
static void generation_name(char *buf, size_t size, int64_t seq)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)snprintf(buf, size, "g-%020lld-%lld.%09ld", (long long)seq,
		       (long long)ts.tv_sec, ts.tv_nsec);
}

/* The generation is checked; now make it current and live. */
static int activate(const struct conf *conf, const char *gens,
		    const char *tmpdir, const char *name, bool postfix_new,
		    bool rspamd_new, bool dovecot_new, bool postgrey_new,
		    struct error *err)
{
	char final[PATH_MAX], target[PATH_MAX], prev[NAME_MAX + 1];

	current_name(conf, prev, sizeof(prev));
	if (relay_path_of(final, gens, name, err) < 0)
		return -1;
	if (rename(tmpdir, final) < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot rename %s: %s", tmpdir,
				 strerror(errno));
	/* the generation's name on disk before the link to it (a crash
	 * must not leave "current" naming nothing) */
	if (atomic_sync_dir(gens, err) < 0)
		return -1;
	(void)snprintf(target, sizeof(target), "generations/%s", name);
	if (swap_current(conf, target, err) < 0)
		return -1;
	if (relay_make_live(conf, name, postfix_new, rspamd_new, dovecot_new,
			    postgrey_new, err) == 0)
		return 0;
	/* a daemon did not take it: the previous generation stays */
	if (prev[0] != '\0') {
		struct error e2 = ERROR_INIT;

		(void)snprintf(target, sizeof(target), "generations/%s", prev);
		if (swap_current(conf, target, &e2) < 0 ||
		    relay_make_live(conf, prev, postfix_new, rspamd_new,
				    dovecot_new, postgrey_new, &e2) < 0)
			log_error("back to generation %s: %s", prev,
				  error_msg(&e2));
		else
			log_warn("generation %s not taken, %s stays in force",
				 name, prev);
		error_release(&e2);
	}
	return -1;
}

/* The state directory, its generations/ (whose path goes into gens)
 * and the instance directories, made where missing. */
static int state_dirs(const struct conf *conf, char *gens, struct error *err)
{
	if (mkdir(conf->state_dir, 0755) < 0 && errno != EEXIST)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot create %s: %s", conf->state_dir,
				 strerror(errno));
	if (relay_path_of(gens, conf->state_dir, "generations", err) < 0)
		return -1;
	if (mkdir(gens, 0755) < 0 && errno != EEXIST)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot create %s: %s", gens, strerror(errno));
	return instance_dirs(conf, err);
}

/* The generation in force, to build the next one from, into prev
 * (size); "" when asked for in full or there is none. */
static void base_generation(const struct conf *conf, const char *gens,
			    bool full, char *prev, size_t size)
{
	char cur[NAME_MAX + 1];

	current_name(conf, cur, sizeof(cur));
	if (full || cur[0] == '\0' ||
	    snprintf(prev, size, "%s/%s", gens, cur) >= (int)size)
		prev[0] = '\0';
}

/* rspamd's Lua reloads its domains when the generation's name (in
 * rspamd/mxfeed-generation) changes; the stamps say which generation
 * wrote each of its maps. */
static int write_generation_name(const char *tmpdir, const struct relay_incr *x,
				 const char *name, struct error *err)
{
	if (relay_write_file(tmpdir, "rspamd/mxfeed-generation", name,
			     strlen(name), err) < 0 ||
	    write_stamp(tmpdir, x, "rspamd/mxfeed-domains", name, err) < 0 ||
	    write_stamp(tmpdir, x, "rspamd/mxfeed-modes", name, err) < 0)
		return -1;
	return 0;
}

/* Postfix's configuration in tmpdir checked; *reload: whether the
 * running Postfix must take the generation. */
static int check_postfix(const struct conf *conf, const char *tmpdir,
			 const struct relay_incr *x, bool *reload,
			 struct error *err)
{
	/* maps were checked by postmap; main.cf and master.cf by postfix
	 * check, which takes a quarter of a second, so only when they
	 * differ from the generation in force */
	bool changed = !relay_same_file(tmpdir, conf->state_dir, "main.cf") ||
		       !relay_same_file(tmpdir, conf->state_dir, "master.cf");

	if (changed) {
		const char *argv[] = { "postfix", "-c", tmpdir, "check", NULL };

		if (relay_run(argv, "postfix check", err) < 0)
			return -1;
	}
	/*
	 * Postfix's daemons keep the maps of the generation they opened:
	 * a changed map (a route, a domain added or removed, a TLS policy)
	 * takes a reload - trivial-rewrite answers qmgr and cleanup over
	 * connections that outlive a change - but a change of the policy,
	 * rspamd or queue files alone does not (policyd and rspamd follow
	 * the generation themselves).  A full generation always reloads.
	 */
	*reload = changed || !x->active || x->maps_changed;
	return 0;
}

/* rspamd's configuration in tmpdir checked by rspamadm when it differs
 * from the generation in force (*changed says whether it does). */
static int check_rspamd(const struct conf *conf, const char *tmpdir,
			bool *changed, struct error *err)
{
	char var[PATH_MAX + 32];
	const char *argv[] = {
		"rspamadm", var, "configtest", "-c", "/etc/rspamd/rspamd.conf",
		NULL
	};

	*changed = relay_rspamd_changed(tmpdir, conf);
	if (!*changed)
		return 0;
	(void)snprintf(var, sizeof(var), "--var=LOCAL_CONFDIR=%s/rspamd",
		       tmpdir);
	return relay_run(argv, "rspamadm configtest", err) < 0 ? -1 : 0;
}

int relay_apply(struct store *s, const struct conf *conf, const char *policyd,
		int64_t *seq, bool full, struct error *err)
{
	char gens[PATH_MAX], tmpdir[PATH_MAX], name[96], prev[PATH_MAX];
	bool postfix_new, rspamd_new, dovecot_new, postgrey_new;
	struct relay_incr x;
	int lock, rc = -1;

	relay_incr_init(&x);

	if (state_dirs(conf, gens, err) < 0)
		return -1;
	if ((lock = lock_state(conf, err)) < 0)
		return -1;
	/* ".new": never taken for a generation by list_generations */
	(void)snprintf(name, sizeof(name), "g-%ld.new", (long)getpid());
	if (relay_path_of(tmpdir, gens, name, err) < 0)
		goto out;
	remove_stale(gens); /* left by runs that were killed */
	base_generation(conf, gens, full, prev, sizeof(prev));
	if (relay_gen_into(s, conf, tmpdir, policyd, prev[0] ? prev : NULL, &x,
			   seq, err) < 0)
		goto fail;
	generation_name(name, sizeof(name), *seq);
	if (write_generation_name(tmpdir, &x, name, err) < 0 ||
	    check_postfix(conf, tmpdir, &x, &postfix_new, err) < 0 ||
	    check_rspamd(conf, tmpdir, &rspamd_new, err) < 0)
		goto fail;
	dovecot_new = !relay_same_file(tmpdir, conf->state_dir,
				       "dovecot/dovecot.conf");
	/* postgrey's options changed: it restarts (the first generation
	 * has nothing before it; whoever starts postgrey reads it) */
	postgrey_new =
		relay_has_current_file(conf, "postgrey.args") &&
		!relay_same_file(tmpdir, conf->state_dir, "postgrey.args");
	if (activate(conf, gens, tmpdir, name, postfix_new, rspamd_new,
		     dovecot_new, postgrey_new, err) < 0)
		goto out;
	requeue_moved(conf, gens, name, &x);
	prune(conf, gens);
	rc = 0;
	goto out;
fail:
	remove_tree(tmpdir);
out:
	relay_incr_release(&x);
	close(lock);
	return rc;
}

int relay_rollback(const struct conf *conf, struct error *err)
{
	char gens[PATH_MAX], cur[NAME_MAX + 1], target[PATH_MAX];
	size_t n, i;
	char **v;
	bool postgrey_new;
	int lock, rc = -1;

	if (relay_path_of(gens, conf->state_dir, "generations", err) < 0)
		return -1;
	if ((lock = lock_state(conf, err)) < 0)
		return -1;
	v = list_generations(gens, &n);
	current_name(conf, cur, sizeof(cur));
	for (i = 0; i < n && strcmp(v[i], cur) != 0; i++)
		;
	if (i == n || i == 0) {
		error_set(err, ERR_CONFLICT, NULL,
			  "no older generation to roll back to");
		goto out;
	}
	(void)snprintf(target, sizeof(target), "generations/%s", v[i - 1]);
	{
		char dir[PATH_MAX];

		postgrey_new =
			snprintf(dir, sizeof(dir), "%s/%s", gens, v[i - 1]) <
				(int)sizeof(dir) &&
			!relay_same_file(dir, conf->state_dir, "postgrey.args");
	}
	if (swap_current(conf, target, err) < 0 ||
	    relay_make_live(conf, v[i - 1], true, true, true, postgrey_new,
			    err) < 0)
		goto out;
	rc = 0;
out:
	free_names(v, n);
	close(lock);
	return rc;
}

int64_t relay_current_seq(const struct conf *conf)
{
	char path[PATH_MAX], buf[32];
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/current/SEQ", conf->state_dir) >=
	    (int)sizeof(path))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}
