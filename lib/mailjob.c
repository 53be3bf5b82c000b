/*
 * mailjob - the mailbox work that follows a switch (SPEC section 5)
 *
 * See mailjob.h.  Steps return STEP_NEXT (go on), STEP_WAIT (a planned
 * pause of *delay seconds) or STEP_FAIL (err says why); the runner
 * saves the job between steps.
 */
#include "mailjob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/spawn.h"
#include "util/strbuf.h"

#define MESSAGE_MAX (1100L * 1024 * 1024) /* the 1 GB limit and headers */
#define RETRY_MAX_S 3600
#define ARCHIVE_DIR "archive"

enum step_rc { STEP_FAIL = -1, STEP_NEXT = 0, STEP_WAIT = 1 };
enum step { S_SETTLE, S_FORWARD, S_ARCHIVE, S_REMOVE, S_EXPIRE };

static const struct kind {
	const char *name;
	enum step steps[4];
	int n;
} kinds[] = {
	/* forward settles in its own last pass, the others first */
	{ "mailbox-forward", { S_FORWARD, S_ARCHIVE, S_REMOVE }, 3 },
	{ "mailbox-archive", { S_SETTLE, S_ARCHIVE, S_REMOVE }, 3 },
	{ "mailbox-purge", { S_SETTLE, S_REMOVE }, 2 },
	{ "archive-expire", { S_EXPIRE }, 1 },
};

/* What a job is about, read from its payload. */
struct target {
	int64_t id;
	const char *address;
	bool catch_all;
	char home[PATH_MAX]; /* mailbox.maildir/ID */
};

/* "a/b" into out; -1 when it does not fit. */
static int join(char *out, size_t n, const char *a, const char *b)
{
	int len = snprintf(out, n, "%s/%s", a, b);

	return len < 0 || (size_t)len >= n ? -1 : 0;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static int64_t pl_int(const struct job *j, const char *key)
{
	return json_integer_value(json_object_get(j->payload, key));
}

static void pl_set_int(struct job *j, const char *key, int64_t v)
{
	json_object_set_new(j->payload, key, json_integer(v));
}

static int target_of(const struct mailjob_ctx *c, const struct job *j,
		     struct target *t, struct error *err)
{
	int n;

	t->id = pl_int(j, "mailbox_id");
	t->address = json_string_value(json_object_get(j->payload, "address"));
	t->catch_all = json_is_true(json_object_get(j->payload, "catch_all"));
	if (t->id <= 0 || t->address == NULL)
		return error_set(err, ERR_INTERNAL, NULL,
				 "job %" PRId64 ": no mailbox in its payload",
				 j->id);
	n = snprintf(t->home, sizeof(t->home), "%s/%" PRId64,
		     c->conf->mailbox_maildir, t->id);
	if (n < 0 || (size_t)n >= sizeof(t->home))
		return error_set(err, ERR_INTERNAL, "mailbox.maildir",
				 "mailbox.maildir is too long");
	return 0;
}

/* ---- forward ------------------------------------------------------ */

/* The file names of one maildir folder, sorted, to find guids in. */
struct folder {
	char *name; /* doveadm's mailbox name */
	char path[PATH_MAX];
	char **files; /* "cur/NAME" and "new/NAME" */
	size_t n;
};

static int cmp_base(const void *a, const void *b)
{
	const char *x = strchr(*(char *const *)a, '/') + 1;
	const char *y = strchr(*(char *const *)b, '/') + 1;

	return strcmp(x, y);
}

static void folder_release(struct folder *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->files[i]);
	free(f->files);
	free(f->name);
	memset(f, 0, sizeof(*f));
}

static int folder_scan(struct folder *f, struct error *err)
{
	static const char *const subs[] = { "cur", "new" };
	size_t k;

	for (k = 0; k < 2; k++) {
		char dir[PATH_MAX];
		struct dirent *de;
		DIR *d;

		if (join(dir, sizeof(dir), f->path, subs[k]) < 0)
			return error_set(err, ERR_INTERNAL, NULL,
					 "path too long: %s", f->path);
		if ((d = opendir(dir)) == NULL) {
			if (errno == ENOENT)
				continue;
			return error_set(err, ERR_TEMPFAIL, NULL,
					 "cannot read %s: %s", dir,
					 strerror(errno));
		}
		while ((de = readdir(d)) != NULL) {
			struct strbuf sb = STRBUF_INIT;

			if (de->d_name[0] == '.')
				continue;
			sbuf_addf(&sb, "%s/%s", subs[k], de->d_name);
			f->files = xrealloc(f->files,
					    (f->n + 1) * sizeof(*f->files));
			f->files[f->n++] = sbuf_detach(&sb, NULL);
		}
		(void)closedir(d);
	}
	qsort(f->files, f->n, sizeof(*f->files), cmp_base);
	return 0;
}

/* The maildir file of guid (Dovecot's maildir guid is the base name). */
static const char *folder_find(const struct folder *f, const char *guid)
{
	size_t lo = 0, hi = f->n, gl = strlen(guid);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *base = strchr(f->files[mid], '/') + 1;
		int c = strncmp(base, guid, gl);

		if (c == 0 && (base[gl] == '\0' || base[gl] == ':'))
			return f->files[mid];
		if (c == 0)
			c = base[gl] < ':' ? -1 : 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Maildir++: INBOX is the top directory, folder "a/b" is ".a.b". */
static int folder_open(struct folder *f, const struct target *t,
		       const char *name, struct error *err)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p;
	int rc;

	memset(f, 0, sizeof(*f));
	f->name = xstrdup(name);
	sbuf_addf(&sb, "%s/Maildir", t->home);
	if (strcmp(name, "INBOX") != 0) {
		sbuf_addstr(&sb, "/.");
		for (p = name; *p; p++)
			sbuf_addch(&sb, *p == '/' ? '.' : *p);
	}
	rc = strlcpy_checked(f->path, sb.buf, sizeof(f->path));
	sbuf_release(&sb);
	if (rc < 0 || strstr(name, "..") != NULL || name[0] == '.' ||
	    strchr(name, '\\') != NULL)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot map folder \"%s\" to a maildir", name);
	return folder_scan(f, err);
}

static int folder_rescan(struct folder *f, struct error *err)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->files[i]);
	free(f->files);
	f->files = NULL;
	f->n = 0;
	return folder_scan(f, err);
}

static int read_file(const char *path, struct strbuf *out, struct error *err)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	sbuf_reset(out);
	if (fd < 0)
		return errno == ENOENT ? 0
				       : error_set(err, ERR_TEMPFAIL, NULL,
						   "cannot read %s: %s", path,
						   strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (out->len + (size_t)n > (size_t)MESSAGE_MAX) {
			(void)close(fd);
			return error_set(err, ERR_INTERNAL, NULL,
					 "%s is larger than any message", path);
		}
		sbuf_add(out, buf, (size_t)n);
	}
	(void)close(fd);
	if (n < 0)
		return error_set(err, ERR_TEMPFAIL, NULL, "cannot read %s: %s",
				 path, strerror(errno));
	return 1;
}

static int dove(struct mailjob_ctx *c, struct error *err)
{
	return c->dove ? 0 : doveadm_open(&c->dove, c->conf, err);
}

/* doveadm query: the message uid in mailbox. */
static json_t *uid_query(const char *mailbox, const char *uid)
{
	return json_pack("[s, s, s, s]", "mailbox", mailbox, "uid", uid);
}

static int expunge(struct mailjob_ctx *c, const struct target *t,
		   const char *mailbox, const char *uid, struct error *err)
{
	json_t *r = doveadm_call(c->dove, "expunge",
				 json_pack("{s:s, s:o}", "user", t->address,
					   "query", uid_query(mailbox, uid)),
				 err);

	json_decref(r);
	return r ? 0 : -1;
}

static int flag(struct mailjob_ctx *c, const struct target *t,
		const char *mailbox, const char *uid, const char *keyword,
		struct error *err)
{
	json_t *r = doveadm_call(c->dove, "flagsAdd",
				 json_pack("{s:s, s:[s], s:o}", "user",
					   t->address, "flag", keyword, "query",
					   uid_query(mailbox, uid)),
				 err);

	json_decref(r);
	return r ? 0 : -1;
}

static int keep(struct mailjob_ctx *c, struct job *j, const struct target *t,
		const char *mailbox, const char *uid, struct error *err)
{
	if (flag(c, t, mailbox, uid, MAILJOB_KEPT, err) < 0)
		return -1;
	pl_set_int(j, "kept", pl_int(j, "kept") + 1);
	return 0;
}

/* How many messages of the mailbox the relay refused (still there). */
static long refused_count(struct mailjob_ctx *c, const struct target *t,
			  struct error *err)
{
	json_t *r = doveadm_call(c->dove, "fetch",
				 json_pack("{s:s, s:[s], s:[s,s,s,s,s]}",
					   "user", t->address, "field", "uid",
					   "query", "mailbox", "*", "undeleted",
					   "keyword", MAILJOB_REFUSED),
				 err);
	long n;

	if (r == NULL)
		return -1;
	n = json_is_array(r) ? (long)json_array_size(r) : 0;
	json_decref(r);
	return n;
}

/*
 * The recipient to hand a message to: a mailbox's own address; for a
 * catch-all, the address the relay delivered to (the trace header's
 * "for", which must be in the domain).  *rcpt NULL when a catch-all
 * message names none.
 */
static void pick_rcpt(const struct target *t, const char *traced,
		      const char **rcpt)
{
	const char *dom = strrchr(t->address, '@');
	const char *at = strrchr(traced, '@');

	if (!t->catch_all)
		*rcpt = t->address;
	else if (at != NULL && dom != NULL && strcasecmp(at, dom) == 0)
		*rcpt = traced;
	else
		*rcpt = NULL;
}

/* Hand one message on; 1 sent, 0 kept, -1 failed. */
static int forward_one(struct mailjob_ctx *c, struct job *j,
		       const struct target *t, struct folder *f,
		       const char *uid, const char *guid, struct error *err)
{
	char sender[REINJECT_ADDR_MAX + 1], traced[REINJECT_ADDR_MAX + 1];
	struct strbuf raw = STRBUF_INIT, msg = STRBUF_INIT;
	const char *file, *rcpt = NULL;
	char path[PATH_MAX];
	int rc = -1, got = 0, tries;

	/* a message Dovecot moved from new/ to cur/ since the scan: look
	 * again once */
	for (tries = 0; tries < 2 && got == 0; tries++) {
		if (tries == 1 && folder_rescan(f, err) < 0)
			goto out;
		if ((file = folder_find(f, guid)) == NULL)
			continue;
		if (join(path, sizeof(path), f->path, file) < 0) {
			error_set(err, ERR_INTERNAL, NULL, "path too long: %s",
				  f->path);
			goto out;
		}
		if ((got = read_file(path, &raw, err)) < 0)
			goto out;
	}
	if (got == 0) {
		/* a folder name Maildir++ stores differently (non-ASCII):
		 * left for the archive, not a reason to stop the job */
		log_warn("%s: message %s not found in its maildir folder: "
			 "kept for the archive",
			 t->address, guid);
		rc = keep(c, j, t, f->name, uid, err) < 0 ? -1 : 0;
		goto out;
	}
	switch (reinject_envelope(raw.buf, raw.len, sender, traced, &msg,
				  err)) {
	case 1:
		pick_rcpt(t, traced, &rcpt);
		if (rcpt != NULL)
			break;
		/* a catch-all message without its recipient */
		__attribute__((fallthrough));
	case 0:
		/* not mail delivered over LMTP (a draft, a copy saved over
		 * IMAP): not ours to send on; kept for the archive */
		rc = keep(c, j, t, f->name, uid, err) < 0 ? -1 : 0;
		goto out;
	default:
		/* an envelope we cannot read: kept, counted, logged */
		log_warn("%s: message %s: %s: kept for the archive", t->address,
			 guid, error_msg(err));
		error_clear(err);
		rc = keep(c, j, t, f->name, uid, err) < 0 ? -1 : 0;
		goto out;
	}
	if (c->smtp == NULL) {
		const struct reinject_tls tls = {
			c->conf->mailbox_reinject_cert,
			c->conf->mailbox_reinject_key,
			c->conf->mailbox_reinject_ca,
		};

		if (reinject_open(&c->smtp, c->conf->mailbox_reinject,
				  c->conf->state_dir, c->conf->relay_hostname,
				  &tls, err) < 0)
			goto out;
	}
	switch (reinject_send(c->smtp, sender, rcpt, msg.buf, msg.len, err)) {
	case 0:
		break;
	case REINJECT_REFUSED:
		/* refused for good (a virus): stays here, and the step
		 * reports it once this pass is over */
		log_warn("%s: message %s: %s: kept in the mailbox", t->address,
			 guid, error_msg(err));
		json_object_set_new(j->payload, "refused_error",
				    json_string(error_msg(err)));
		error_clear(err);
		if (flag(c, t, f->name, uid, MAILJOB_REFUSED, err) < 0 ||
		    store_job_save(c->store, j, c->worker, c->lease_s, err) < 0)
			goto out;
		rc = 0;
		goto out;
	default:
		goto out;
	}
	/* sent: saved before the expunge, so a resumed job never sends it
	 * again */
	if (!json_is_array(json_object_get(j->payload, "sent")))
		json_object_set_new(j->payload, "sent", json_array());
	json_array_append_new(json_object_get(j->payload, "sent"),
			      json_string(guid));
	pl_set_int(j, "forwarded", pl_int(j, "forwarded") + 1);
	if (store_job_save(c->store, j, c->worker, c->lease_s, err) < 0)
		goto out;
	rc = 1;
out:
	sbuf_release(&raw);
	sbuf_release(&msg);
	return rc;
}

/* Messages sent and not yet expunged, all in one folder. */
struct batch {
	const char *mailbox; /* a string of the current listing */
	struct strbuf uids;  /* "1,5,9": a doveadm uid set */
	json_t *guids;	     /* theirs, to forget once expunged */
	size_t n;
};

#define BATCH_MAX 50

static bool was_sent(const struct job *j, const char *guid)
{
	json_t *sent = json_object_get(j->payload, "sent"), *g;
	size_t i;

	json_array_foreach(sent, i, g)
	{
		if (strcmp(json_string_value(g) ?: "", guid) == 0)
			return true;
	}
	return false;
}

/* Expunge the batch, then forget its guids (and only those: a resumed
 * job's "sent" may name messages of other folders). */
static int batch_flush(struct mailjob_ctx *c, struct job *j,
		       const struct target *t, struct batch *b,
		       struct error *err)
{
	json_t *sent = json_object_get(j->payload, "sent"), *keep_list, *g;
	size_t i, k;

	if (b->n == 0)
		return 0;
	if (expunge(c, t, b->mailbox, b->uids.buf, err) < 0)
		return -1;
	keep_list = json_array();
	json_array_foreach(sent, i, g)
	{
		bool gone = false;
		json_t *h;

		json_array_foreach(b->guids, k, h)
		{
			if (json_equal(g, h))
				gone = true;
		}
		if (!gone)
			json_array_append(keep_list, g);
	}
	json_object_set_new(j->payload, "sent", keep_list);
	json_array_clear(b->guids);
	sbuf_reset(&b->uids);
	b->n = 0;
	return store_job_save(c->store, j, c->worker, c->lease_s, err);
}

static int batch_add(struct mailjob_ctx *c, struct job *j,
		     const struct target *t, struct batch *b,
		     const char *mailbox, const char *uid, const char *guid,
		     struct error *err)
{
	if (b->n > 0 && strcmp(b->mailbox, mailbox) != 0 &&
	    batch_flush(c, j, t, b, err) < 0)
		return -1;
	b->mailbox = mailbox;
	sbuf_addf(&b->uids, "%s%s", b->n ? "," : "", uid);
	json_array_append_new(b->guids, json_string(guid));
	b->n++;
	return b->n >= BATCH_MAX ? batch_flush(c, j, t, b, err) : 0;
}

/* One message M of doveadm's fetch: forwarded and batched for expunge
 * (*done counts it), or only batched if sent before the worker
 * stopped, or kept if in the Trash.  0, or -1 with err set. */
static int forward_row(struct mailjob_ctx *c, struct job *j,
		       const struct target *t, struct batch *b,
		       struct folder *f, const json_t *m, long *done,
		       struct error *err)
{
	const char *mb = json_string_value(json_object_get(m, "mailbox"));
	const char *uid = json_string_value(json_object_get(m, "uid"));
	const char *guid = json_string_value(json_object_get(m, "guid"));
	int r;

	if (mb == NULL || uid == NULL || guid == NULL ||
	    strspn(uid, "0123456789") != strlen(uid))
		return error_set(err, ERR_TEMPFAIL, NULL,
				 "doveadm fetch: unexpected answer");
	if (was_sent(j, guid)) {
		/* sent before the worker stopped: only expunge */
		if (batch_add(c, j, t, b, mb, uid, guid, err) < 0)
			return -1;
		(*done)++;
		return 0;
	}
	if (strcmp(mb, "Trash") == 0)
		return keep(c, j, t, mb, uid, err) < 0 ? -1 : 0;
	/* the last folder's batch goes first: "sent" must never hold a
	 * guid its batch does not */
	if (b->n > 0 && strcmp(b->mailbox, mb) != 0 &&
	    batch_flush(c, j, t, b, err) < 0)
		return -1;
	if (f->name == NULL || strcmp(f->name, mb) != 0) {
		folder_release(f);
		if (folder_open(f, t, mb, err) < 0)
			return -1;
	}
	if ((r = forward_one(c, j, t, f, uid, guid, err)) < 0)
		return -1;
	if (r == 1) {
		if (batch_add(c, j, t, b, mb, uid, guid, err) < 0)
			return -1;
		(*done)++;
	}
	return 0;
}

/* Nothing went on this pass: messages the relay refused are unmarked
 * for the next attempt, after the backoff (a refusal may have been the
 * relay's configuration), and the step fails saying so.  0 when none
 * were refused, else -1 with err set. */
static int refused_again(struct mailjob_ctx *c, struct job *j,
			 const struct target *t, struct error *err)
{
	long refused = refused_count(c, t, err);
	const char *why;
	json_t *r;

	if (refused <= 0)
		return refused < 0 ? -1 : 0;
	why = json_string_value(json_object_get(j->payload, "refused_error"));
	r = doveadm_call(c->dove, "flagsRemove",
			 json_pack("{s:s, s:[s], s:[s,s,s,s]}", "user",
				   t->address, "flag", MAILJOB_REFUSED, "query",
				   "mailbox", "*", "keyword", MAILJOB_REFUSED),
			 err);
	if (r == NULL)
		return -1;
	json_decref(r);
	return error_set(err, ERR_TEMPFAIL, NULL,
			 "%ld message(s) refused by the relay, kept in the "
			 "mailbox (delete them to go on): %s",
			 refused, why ? why : "no reason recorded");
}

static int step_forward(struct mailjob_ctx *c, struct job *j,
			const struct target *t, int64_t *delay,
			struct error *err)
{
	struct batch b = { NULL, STRBUF_INIT, NULL, 0 };
	struct folder f = { 0 };
	json_t *list, *m;
	size_t i;
	long done = 0;
	int rc = STEP_FAIL;

	if (dove(c, err) < 0)
		return STEP_FAIL;
	if (pl_int(j, "gate_at") == 0) {
		pl_set_int(j, "gate_at", now_s());
		if (store_job_save(c->store, j, c->worker, c->lease_s, err) < 0)
			return STEP_FAIL;
	}
	b.guids = json_array();
	list = doveadm_call(c->dove, "fetch",
			    json_pack("{s:s, s:[s,s,s], s:[s,s,s,s,s,s,s,s,s]}",
				      "user", t->address, "field", "mailbox",
				      "uid", "guid", "query", "mailbox", "*",
				      "undeleted", "NOT", "keyword",
				      MAILJOB_KEPT, "NOT", "keyword",
				      MAILJOB_REFUSED),
			    err);
	if (list == NULL) {
		json_decref(b.guids);
		return STEP_FAIL;
	}
	json_array_foreach(list, i, m)
	{
		if (forward_row(c, j, t, &b, &f, m, &done, err) < 0)
			goto out;
	}
	if (batch_flush(c, j, t, &b, err) < 0 ||
	    (done == 0 && refused_again(c, j, t, err) < 0))
		goto out;
	if (done > 0) {
		/* another pass: mail may have come in meanwhile */
		*delay = 0;
		rc = STEP_WAIT;
	} else if (now_s() < pl_int(j, "gate_at") + c->conf->mailbox_settle) {
		*delay = pl_int(j, "gate_at") + c->conf->mailbox_settle -
			 now_s();
		rc = STEP_WAIT;
	} else {
		rc = STEP_NEXT;
	}
out:
	sbuf_release(&b.uids);
	json_decref(b.guids);
	folder_release(&f);
	json_decref(list);
	return rc;
}

/* ---- archive, remove, expire ------------------------------------- */

/*
 * Wait mailbox.settle seconds from the first run (every relay routes the
 * new way by then): LMTP deliveries that were under way when the relays
 * reloaded land before the mailbox is archived or removed.
 */
static int step_settle(struct mailjob_ctx *c, struct job *j, int64_t *delay,
		       struct error *err)
{
	if (pl_int(j, "gate_at") == 0) {
		pl_set_int(j, "gate_at", now_s());
		if (store_job_save(c->store, j, c->worker, c->lease_s, err) < 0)
			return STEP_FAIL;
	}
	if (now_s() < pl_int(j, "gate_at") + c->conf->mailbox_settle) {
		*delay = pl_int(j, "gate_at") + c->conf->mailbox_settle -
			 now_s();
		return STEP_WAIT;
	}
	return STEP_NEXT;
}

static int archive_path(const struct mailjob_ctx *c, const struct job *j,
			const struct target *t, char *out, size_t n,
			struct error *err)
{
	const char *at = strchr(t->address, '@');
	int len;

	len = snprintf(out, n, "%s/" ARCHIVE_DIR "/%s/%" PRId64 "-%.*s.tar.gz",
		       c->conf->state_dir, j->domain, t->id,
		       at ? (int)(at - t->address) : 0, t->address);
	if (len < 0 || (size_t)len >= n)
		return error_set(err, ERR_INTERNAL, NULL,
				 "archive path too long");
	return 0;
}

static int sync_path(const char *path, int flags, struct error *err)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		int e = errno;

		if (fd >= 0)
			(void)close(fd);
		return error_set(err, ERR_TEMPFAIL, NULL, "cannot sync %s: %s",
				 path, strerror(e));
	}
	(void)close(fd);
	return 0;
}

static int step_archive(struct mailjob_ctx *c, struct job *j,
			const struct target *t, struct error *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 24], dir[PATH_MAX], id[32];
	struct stat st;
	char *slash;

	if (stat(t->home, &st) < 0) {
		if (errno != ENOENT)
			return error_set(err, ERR_TEMPFAIL, NULL,
					 "cannot read %s: %s", t->home,
					 strerror(errno));
		json_object_set_new(j->payload, "archive", json_null());
		return 0; /* never received mail: nothing to keep */
	}
	if (archive_path(c, j, t, path, sizeof(path), err) < 0)
		return -1;
	/* the temporary name is this process's own */
	if (snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return error_set(err, ERR_INTERNAL, NULL,
				 "archive path too long");
	(void)snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	(void)snprintf(id, sizeof(id), "%" PRId64, t->id);
	{
		const char *mk[] = { "mkdir", "-p", "-m", "0700", dir, NULL };
		const char *tar[] = { "tar",  "-C", c->conf->mailbox_maildir,
				      "-czf", tmp,  "--",
				      id,     NULL };

		if (spawn_check(mk, NULL, 0, ERR_TEMPFAIL, "mkdir", err) < 0 ||
		    spawn_check_timeout(tar, NULL, 0, SPAWN_TIMEOUT_LONG,
					ERR_TEMPFAIL, "tar", err) < 0)
			return -1;
	}
	if (sync_path(tmp, O_RDONLY, err) < 0)
		return -1;
	if (rename(tmp, path) < 0)
		return error_set(err, ERR_TEMPFAIL, NULL,
				 "cannot rename %s: %s", tmp, strerror(errno));
	if (sync_path(dir, O_RDONLY | O_DIRECTORY, err) < 0)
		return -1;
	json_object_set_new(j->payload, "archive", json_string(path));
	return 0;
}

static int step_remove(struct mailjob_ctx *c, struct job *j,
		       const struct target *t, struct error *err)
{
	const char *rm[] = { "rm", "-rf",   "--one-file-system",
			     "--", t->home, NULL };
	const char *archive =
		json_string_value(json_object_get(j->payload, "archive"));

	/* the row first: from then on nobody logs in or delivers here */
	if (store_mailbox_drop(c->store, t->id, j->domain, t->address,
			       c->worker, err) < 0 ||
	    spawn_check_timeout(rm, NULL, 0, SPAWN_TIMEOUT_LONG, ERR_TEMPFAIL,
				"rm", err) < 0)
		return -1;
	if (archive != NULL) {
		json_t *p = json_pack("{s:s, s:s}", "archive", archive,
				      "address", t->address);
		int rc = store_job_add(c->store, "archive-expire", j->domain, p,
				       (int64_t)c->conf->archive_days * 86400,
				       c->worker, err);

		json_decref(p);
		return rc;
	}
	return 0;
}

static int step_expire(const struct job *j, struct error *err)
{
	const char *archive =
		json_string_value(json_object_get(j->payload, "archive"));

	if (archive != NULL && unlink(archive) < 0 && errno != ENOENT)
		return error_set(err, ERR_TEMPFAIL, NULL,
				 "cannot remove %s: %s", archive,
				 strerror(errno));
	return 0;
}

/* ---- the runner --------------------------------------------------- */

static int run_step(struct mailjob_ctx *c, struct job *j, enum step st,
		    int64_t *delay, struct error *err)
{
	struct target t;

	if (st == S_EXPIRE)
		return step_expire(j, err) < 0 ? STEP_FAIL : STEP_NEXT;
	if (target_of(c, j, &t, err) < 0)
		return STEP_FAIL;
	switch (st) {
	case S_SETTLE:
		return step_settle(c, j, delay, err);
	case S_FORWARD:
		return step_forward(c, j, &t, delay, err);
	case S_ARCHIVE:
		return step_archive(c, j, &t, err) < 0 ? STEP_FAIL : STEP_NEXT;
	case S_REMOVE:
		return step_remove(c, j, &t, err) < 0 ? STEP_FAIL : STEP_NEXT;
	case S_EXPIRE:
		break;
	}
	return STEP_NEXT;
}

static int64_t backoff(const struct mailjob_ctx *c, int attempts)
{
	int64_t d = c->retry_s > 0 ? c->retry_s : 1;
	int i;

	for (i = 1; i < attempts && d < RETRY_MAX_S; i++)
		d *= 2;
	return d < RETRY_MAX_S ? d : RETRY_MAX_S;
}

int mailjob_run(struct mailjob_ctx *c, struct job *j, struct error *err)
{
	const struct kind *k = NULL;
	struct error e = ERROR_INIT;
	int64_t delay = 0;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, j->kind) == 0)
			k = &kinds[i];
	if (k == NULL)
		return store_job_later(c->store, j, c->worker, RETRY_MAX_S,
				       "unknown job kind: this worker is older "
				       "than the job",
				       err);
	while (j->step < k->n) {
		rc = run_step(c, j, k->steps[j->step], &delay, &e);
		if (rc == STEP_FAIL) {
			/* a store failure or a lost lease: the lease decides */
			if (e.code == ERR_CONFLICT) {
				error_set(err, e.code, NULL, "%s", e.msg.buf);
				error_release(&e);
				return -1;
			}
			log_warn("job %" PRId64 " (%s %s) step %d: %s", j->id,
				 j->kind, j->domain, j->step, e.msg.buf);
			rc = store_job_later(c->store, j, c->worker,
					     backoff(c, j->attempts), e.msg.buf,
					     err);
			error_release(&e);
			return rc;
		}
		if (rc == STEP_WAIT) {
			if (delay > 0)
				return store_job_later(c->store, j, c->worker,
						       delay, NULL, err);
			continue;
		}
		j->step++;
		if (j->step < k->n &&
		    store_job_save(c->store, j, c->worker, c->lease_s, err) < 0)
			return -1;
	}
	log_info("job %" PRId64 " (%s %s) done", j->id, j->kind, j->domain);
	return store_job_done(c->store, j, c->worker, err);
}

void mailjob_ctx_release(struct mailjob_ctx *c)
{
	doveadm_close(c->dove);
	reinject_close(c->smtp);
	c->dove = NULL;
	c->smtp = NULL;
}
