/*
 * queue - one domain's share of a relay's Postfix queue
 *
 * See queue.h.  postqueue -j prints one JSON object per message per
 * line; each is parsed on its own, and a line that is not what we
 * expect is an error, never skipped silently.
 */
#include "queue.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "domain_json.h"
#include "snapshot.h"
#include "util/parse.h"
#include "util/spawn.h"
#include "util/timefmt.h"

#define QUEUE_OUT_MAX (256 * 1024 * 1024)
/* seconds: these run inside API requests, whose worker must come back */
#define QUEUE_TIMEOUT 20
#define DAY	      86400

static int current_dir(const struct conf *conf, char *buf, size_t size,
		       struct error *err)
{
	struct stat st;
	int n = snprintf(buf, size, "%s/current", conf->state_dir);

	if (n < 0 || (size_t)n >= size || stat(buf, &st) < 0)
		return error_set(err, ERR_UNAVAILABLE, NULL,
				 "no relay on this host (nothing in %s): run "
				 "this on a relay",
				 conf->state_dir);
	return 0;
}

static int run(const char *const *argv, struct strbuf *out, struct error *err)
{
	return spawn_check_timeout(argv, out, QUEUE_OUT_MAX, QUEUE_TIMEOUT,
				   ERR_TEMPFAIL, argv[0], err);
}

/* Lower-cased domain of an address, or "" (into buf). */
static void addr_domain(const char *addr, char *buf, size_t size)
{
	const char *at = strrchr(addr, '@');
	size_t i;

	buf[0] = '\0';
	if (at == NULL || strlen(at + 1) >= size)
		return;
	for (i = 0; at[1 + i]; i++)
		buf[i] = (char)tolower((unsigned char)at[1 + i]);
	buf[i] = '\0';
}

/* queue ids are [0-9A-Za-z]: never an option or a path */
static bool queue_id_ok(const char *id)
{
	size_t n = id ? strspn(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "abcdefghijklmnopqrstuvwxyz")
		      : 0;

	return n >= 5 && n <= 23 && id[n] == '\0';
}

typedef int (*msg_fn)(void *arg, const json_t *msg, const char *domain,
		      struct error *err);

/*
 * The last "postqueue -j" output of this process, for listings only:
 * an API worker asking for a domain's queue reuses an answer at most
 * QUEUE_CACHE_MS old instead of reading the whole queue again, and
 * concurrent listings wait for one postqueue instead of starting one
 * each.  Changes (expire, bounce, requeue, flush) always read afresh
 * and drop the cached answer.
 */
#define QUEUE_CACHE_MS 2000
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bool valid;
	char cur[PATH_MAX];
	struct timespec at;
	struct strbuf out;
} cache = { .out = STRBUF_INIT };

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long)(t1.tv_sec - t0->tv_sec) * 1000 +
	       (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void cache_drop(void)
{
	pthread_mutex_lock(&cache_lock);
	cache.valid = false;
	sbuf_release(&cache.out);
	pthread_mutex_unlock(&cache_lock);
}

/* Each line of postqueue -j output to fn; the output is not changed. */
static int walk_out(const struct strbuf *out, msg_fn fn, void *arg,
		    struct error *err)
{
	const char *line = out->buf, *end = out->buf + out->len;
	int rc = 0;

	while (rc == 0 && line < end && *line) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		json_error_t je;
		json_t *msg, *rcpts;
		char dom[DOMAIN_NAME_MAX + 2];

		msg = json_loadb(line, n, 0, &je);
		line += n + (nl != NULL);
		rcpts = json_object_get(msg, "recipients");
		if (!json_is_object(msg) || !json_is_array(rcpts) ||
		    !json_is_string(json_object_get(msg, "queue_id"))) {
			json_decref(msg);
			rc = error_set(err, ERR_INTERNAL, NULL,
				       "postqueue -j printed an unexpected "
				       "line");
			break;
		}
		dom[0] = '\0';
		if (json_array_size(rcpts) > 0) {
			const char *a = json_string_value(json_object_get(
				json_array_get(rcpts, 0), "address"));

			addr_domain(a ? a : "", dom, sizeof(dom));
		}
		rc = fn(arg, msg, dom, err);
		json_decref(msg);
	}
	return rc;
}

/* Walk the queue; fn sees each message with its (first) domain.
 * cached: a listing, which may use this process's last answer. */
static int walk_queue(const struct conf *conf, msg_fn fn, void *arg,
		      bool cached, struct error *err)
{
	char cur[PATH_MAX];
	const char *argv[] = { "postqueue", "-c", cur, "-j", NULL };
	struct strbuf out = STRBUF_INIT;
	int rc;

	if (current_dir(conf, cur, sizeof(cur), err) < 0)
		return -1;
	if (!cached) {
		cache_drop();
		rc = run(argv, &out, err) < 0 ? -1
					      : walk_out(&out, fn, arg, err);
		sbuf_release(&out);
		return rc;
	}
	pthread_mutex_lock(&cache_lock);
	if (!cache.valid || strcmp(cache.cur, cur) != 0 ||
	    ms_since(&cache.at) >= QUEUE_CACHE_MS) {
		cache.valid = false;
		sbuf_release(&cache.out);
		if (run(argv, &cache.out, err) < 0) {
			sbuf_release(&cache.out);
			pthread_mutex_unlock(&cache_lock);
			return -1;
		}
		memcpy(cache.cur, cur, sizeof(cur));
		clock_gettime(CLOCK_MONOTONIC, &cache.at);
		cache.valid = true;
	}
	rc = walk_out(&cache.out, fn, arg, err);
	pthread_mutex_unlock(&cache_lock);
	return rc;
}

static int walk(const struct conf *conf, msg_fn fn, void *arg,
		struct error *err)
{
	return walk_queue(conf, fn, arg, false, err);
}

/* One message as SPEC section 10 lists it; *arrival set. */
static json_t *msg_json(const json_t *msg, int64_t *arrival)
{
	const json_t *r, *rcpts = json_object_get(msg, "recipients");
	json_t *addrs = json_array();
	const char *reason = "";
	char when[32];
	size_t i;

	*arrival = json_integer_value(json_object_get(msg, "arrival_time"));
	json_array_foreach(rcpts, i, r)
	{
		const char *addr =
			json_string_value(json_object_get(r, "address"));
		const char *why =
			json_string_value(json_object_get(r, "delay_reason"));

		if (addr)
			json_array_append_new(addrs, json_string(addr));
		if (why && *why)
			reason = why;
	}
	time_format_utc(*arrival, when, sizeof(when));
	return json_pack("{s:O, s:O, s:o, s:s, s:s, s:O}", "queue_id",
			 json_object_get(msg, "queue_id"), "sender",
			 json_object_get(msg, "sender"), "recipients", addrs,
			 "arrival", when, "reason", reason, "queue",
			 json_object_get(msg, "queue_name"));
}

/* One domain's share being gathered. */
struct share {
	json_t *messages;
	size_t count;
	int64_t oldest;
};

static void share_add(struct share *sh, const json_t *msg, size_t keep)
{
	int64_t arrival;
	json_t *m = msg_json(msg, &arrival);

	if (json_array_size(sh->messages) < keep)
		json_array_append_new(sh->messages, m);
	else
		json_decref(m);
	sh->count++;
	if (sh->oldest == 0 || arrival < sh->oldest)
		sh->oldest = arrival;
}

static json_t *share_json(const char *domain, struct share *sh)
{
	char when[32];
	json_t *o;

	time_format_utc(sh->oldest, when, sizeof(when));
	o = json_pack("{s:s, s:I, s:o}", "domain", domain, "count",
		      (json_int_t)sh->count, "messages", sh->messages);
	json_object_set_new(o, "oldest",
			    sh->oldest ? json_string(when) : json_null());
	sh->messages = NULL;
	return o;
}

struct list_arg {
	const char *domain;
	struct share sh;
};

static int list_one(void *arg, const json_t *msg, const char *domain,
		    struct error *err)
{
	struct list_arg *a = arg;

	(void)err;
	if (strcmp(domain, a->domain) == 0)
		share_add(&a->sh, msg, SIZE_MAX);
	return 0;
}

json_t *queue_list(const struct conf *conf, const struct domain_name *dn,
		   struct error *err)
{
	struct list_arg a = { dn->alabel, { json_array(), 0, 0 } };

	if (walk_queue(conf, list_one, &a, true, err) < 0) {
		json_decref(a.sh.messages);
		return NULL;
	}
	return share_json(dn->alabel, &a.sh);
}

struct summary_arg {
	json_t *by_domain; /* domain -> share index + 1 in v */
	struct share *v;
	char **names;
	size_t n, keep;
};

static int summary_one(void *arg, const json_t *msg, const char *domain,
		       struct error *err)
{
	struct summary_arg *a = arg;
	json_t *ix = json_object_get(a->by_domain, domain);
	size_t i;

	(void)err;
	if (domain[0] == '\0') /* no recipient domain: nobody's share */
		return 0;
	if (ix == NULL) {
		i = a->n++;
		a->v = xrealloc(a->v, a->n * sizeof(*a->v));
		a->names = xrealloc(a->names, a->n * sizeof(*a->names));
		a->v[i] = (struct share){ json_array(), 0, 0 };
		a->names[i] = xstrdup(domain);
		json_object_set_new(a->by_domain, domain,
				    json_integer((json_int_t)i));
	} else {
		i = (size_t)json_integer_value(ix);
	}
	share_add(&a->v[i], msg, a->keep);
	return 0;
}

json_t *queue_summary(const struct conf *conf, size_t keep, bool cached,
		      size_t *total, struct error *err)
{
	struct summary_arg a = { json_object(), NULL, NULL, 0, keep };
	json_t *out = NULL;
	size_t i;
	int rc = walk_queue(conf, summary_one, &a, cached, err);

	*total = 0;
	if (rc == 0)
		out = json_array();
	for (i = 0; i < a.n; i++) {
		if (out != NULL) {
			*total += a.v[i].count;
			json_array_append_new(out,
					      share_json(a.names[i], &a.v[i]));
		}
		json_decref(a.v[i].messages);
		free(a.names[i]);
	}
	free(a.v);
	free(a.names);
	json_decref(a.by_domain);
	return out;
}

static int count_one(void *arg, const json_t *msg, const char *domain,
		     struct error *err)
{
	struct queue_counts *c = arg;
	const char *qn = json_string_value(json_object_get(msg, "queue_name"));

	(void)domain;
	(void)err;
	if (qn == NULL)
		qn = "";
	if (strcmp(qn, "active") == 0)
		c->active++;
	else if (strcmp(qn, "deferred") == 0)
		c->deferred++;
	else if (strcmp(qn, "hold") == 0)
		c->hold++;
	else
		c->other++;
	return 0;
}

int queue_count(const struct conf *conf, struct queue_counts *out,
		struct error *err)
{
	memset(out, 0, sizeof(*out));
	return walk(conf, count_one, out, err);
}

int queue_flush(const struct conf *conf, const struct domain_name *dn,
		struct error *err)
{
	char cur[PATH_MAX];
	const char *argv[] = { "postqueue", "-c", cur, "-s", dn->alabel, NULL };
	struct strbuf out = STRBUF_INIT;
	int rc;

	if (current_dir(conf, cur, sizeof(cur), err) < 0)
		return -1;
	cache_drop();
	rc = run(argv, &out, err);
	sbuf_release(&out);
	return rc;
}

int64_t queue_expiry(int64_t arrival, int days, int64_t extended_until)
{
	int64_t end = arrival + (int64_t)days * DAY;
	int64_t ceiling = arrival + (int64_t)QUEUE_LIFETIME_MAX_DAYS * DAY;

	if (extended_until > end)
		end = extended_until < ceiling ? extended_until : ceiling;
	return end;
}

struct lifetime {
	char name[DOMAIN_NAME_MAX + 1];
	int days;
	int64_t until;
};

struct expire_arg {
	struct lifetime *v;
	size_t n;
	int64_t now;
	const char *cur;
	size_t expired, purged;
	int quarantine_days;
};

static int cmp_life(const void *key, const void *elem)
{
	return strcmp(key, ((const struct lifetime *)elem)->name);
}

/* The queue snapshot's columns; a headerless file (an older
 * generation) has them in this order. */
static const char *const life_cols[] = { "name", "queue.days",
					 "queue.extended_until" };
static const struct snap_schema life_legacy[] = {
	{ NULL, life_cols, 3 },
	{ NULL, NULL, 0 },
};

static int load_lifetime(struct snap_reader *r, struct expire_arg *a,
			 struct error *err)
{
	const char *name = snap_get(r, "name", err);
	const char *days = snap_get(r, "queue.days", err);
	const char *until = snap_get(r, "queue.extended_until", err);
	struct lifetime *l;
	long n;
	long long u;
	char *end;

	if (name == NULL || days == NULL || until == NULL)
		return -1;
	if (name[0] == '\0' || strlen(name) > DOMAIN_NAME_MAX ||
	    parse_long(days, 1, QUEUE_LIFETIME_MAX_DAYS, &n, "queue.days",
		       err) < 0)
		return snap_fail(r, err, "bad queue row");
	errno = 0;
	u = strtoll(until, &end, 10);
	if (errno != 0 || end == until || *end != '\0' || u < 0)
		return snap_fail(r, err, "bad queue.extended_until");
	a->v = xrealloc(a->v, (a->n + 1) * sizeof(*a->v));
	l = &a->v[a->n++];
	memcpy(l->name, name, strlen(name) + 1);
	l->days = (int)n;
	l->until = u;
	/* sorted, as the generator writes it */
	if (a->n > 1 && strcmp(a->v[a->n - 2].name, l->name) >= 0)
		return snap_fail(r, err, "rows out of order");
	return 0;
}

static int load_lifetimes(const char *cur, struct expire_arg *a,
			  struct error *err)
{
	char path[PATH_MAX];
	struct snap_reader r;
	int n = snprintf(path, sizeof(path), "%s/queue", cur), rc;

	if (n < 0 || (size_t)n >= sizeof(path) ||
	    snap_open(&r, path, false, life_legacy, err) < 0) {
		error_clear(err);
		return error_set(err, ERR_INTERNAL, NULL,
				 "the current generation has no queue file");
	}
	while ((rc = snap_next(&r, err)) > 0)
		if (load_lifetime(&r, a, err) < 0) {
			rc = -1;
			break;
		}
	snap_close(&r);
	return rc < 0 ? -1 : 0;
}

/* Expire one message and send it on at once: its sender gets the
 * bounce now. */
static int expire_id(const char *cur, const char *id, struct error *err)
{
	const char *exp[] = { "postsuper", "-c", cur, "-e", id, NULL };
	const char *go[] = { "postqueue", "-c", cur, "-i", id, NULL };
	struct strbuf out = STRBUF_INIT;
	size_t i;
	int rc;

	/* queue ids are [0-9A-Za-z]: never an option or a path */
	for (i = 0; id == NULL || id[i]; i++)
		if (id == NULL || !isalnum((unsigned char)id[i]))
			return error_set(err, ERR_INTERNAL, NULL,
					 "unexpected queue id");
	rc = run(exp, &out, err) < 0 || run(go, &out, err) < 0 ? -1 : 0;
	sbuf_release(&out);
	return rc;
}

/* Delete one message for good (a quarantined one past its days). */
static int drop_id(const char *cur, const char *id, struct error *err)
{
	const char *argv[] = { "postsuper", "-c", cur, "-d", id, NULL };
	struct strbuf out = STRBUF_INIT;
	int rc;

	if (!queue_id_ok(id))
		return error_set(err, ERR_INTERNAL, NULL,
				 "unexpected queue id");
	rc = run(argv, &out, err);
	sbuf_release(&out);
	return rc;
}

static int expire_one(void *arg, const json_t *msg, const char *domain,
		      struct error *err)
{
	struct expire_arg *a = arg;
	const struct lifetime *l;
	const char *id = json_string_value(json_object_get(msg, "queue_id"));
	const char *qn = json_string_value(json_object_get(msg, "queue_name"));
	int64_t arrival =
		json_integer_value(json_object_get(msg, "arrival_time"));

	if (qn == NULL)
		return 0;
	/*
	 * quarantined: deleted, never bounced (spam: no backscatter), after
	 * the site's quarantine.days whether or not the domain still
	 * exists - a removed domain's held mail has no one to release it
	 */
	if (strcmp(qn, "hold") == 0) {
		if (a->now < arrival + (int64_t)a->quarantine_days * DAY)
			return 0;
		if (drop_id(a->cur, id, err) < 0)
			return -1;
		a->purged++;
		return 0;
	}
	if (a->n == 0)
		return 0;
	l = bsearch(domain, a->v, a->n, sizeof(*a->v), cmp_life);
	if (l == NULL)
		return 0;
	if (strcmp(qn, "deferred") != 0 ||
	    json_is_true(json_object_get(msg, "forced_expire")) ||
	    a->now < queue_expiry(arrival, l->days, l->until))
		return 0;
	if (expire_id(a->cur, id, err) < 0)
		return -1;
	a->expired++;
	return 0;
}

int queue_expire(const struct conf *conf, int64_t now, size_t *expired,
		 size_t *purged, struct error *err)
{
	char cur[PATH_MAX];
	struct expire_arg a = {
		NULL, 0, now, cur, 0, 0, conf->quarantine_days
	};
	int rc;

	*expired = *purged = 0;
	if (current_dir(conf, cur, sizeof(cur), err) < 0 ||
	    load_lifetimes(cur, &a, err) < 0) {
		free(a.v);
		return -1;
	}
	rc = walk(conf, expire_one, &a, err);
	*expired = a.expired;
	*purged = a.purged;
	free(a.v);
	return rc;
}

struct held_arg {
	const char *domain, *id;
	bool found;
};

static int held_one(void *arg, const json_t *msg, const char *domain,
		    struct error *err)
{
	struct held_arg *a = arg;
	const char *id = json_string_value(json_object_get(msg, "queue_id"));
	const char *qn = json_string_value(json_object_get(msg, "queue_name"));

	(void)err;
	if (id != NULL && qn != NULL && strcmp(id, a->id) == 0 &&
	    strcmp(qn, "hold") == 0 && strcmp(domain, a->domain) == 0)
		a->found = true;
	return 0;
}

int queue_quarantine(const struct conf *conf, const struct domain_name *dn,
		     const char *id, bool release, struct error *err)
{
	char cur[PATH_MAX];
	struct held_arg a = { dn->alabel, id, false };
	struct strbuf out = STRBUF_INIT;
	int rc;

	if (!queue_id_ok(id))
		return error_set(err, ERR_INVALID, "id",
				 "a queue id is 5 to 23 letters and digits");
	if (current_dir(conf, cur, sizeof(cur), err) < 0 ||
	    walk(conf, held_one, &a, err) < 0)
		return -1;
	if (!a.found)
		return error_set(err, ERR_NOTFOUND, "id",
				 "no quarantined message %s of %s on this "
				 "relay",
				 id, dn->alabel);
	if (!release)
		return drop_id(cur, id, err);
	{
		/* out of hold into the queue, then delivered now: past the
		 * milter already, so the spam action does not run again */
		const char *unhold[] = {
			"postsuper", "-c", cur, "-H", id, NULL
		};
		const char *go[] = { "postqueue", "-c", cur, "-i", id, NULL };

		rc = run(unhold, &out, err) < 0 || run(go, &out, err) < 0 ? -1
									  : 0;
	}
	sbuf_release(&out);
	return rc;
}

struct bounce_arg {
	const char *domain, *cur;
	size_t bounced;
};

static int bounce_one(void *arg, const json_t *msg, const char *domain,
		      struct error *err)
{
	struct bounce_arg *a = arg;

	const char *qn = json_string_value(json_object_get(msg, "queue_name"));

	/* quarantined spam is never bounced (backscatter) */
	if (strcmp(domain, a->domain) != 0 ||
	    json_is_true(json_object_get(msg, "forced_expire")) ||
	    (qn != NULL && strcmp(qn, "hold") == 0))
		return 0;
	if (expire_id(a->cur,
		      json_string_value(json_object_get(msg, "queue_id")),
		      err) < 0)
		return -1;
	a->bounced++;
	return 0;
}

int queue_bounce(const struct conf *conf, const struct domain_name *dn,
		 size_t *bounced, struct error *err)
{
	char cur[PATH_MAX];
	struct bounce_arg a = { dn->alabel, cur, 0 };
	int rc;

	*bounced = 0;
	if (current_dir(conf, cur, sizeof(cur), err) < 0)
		return -1;
	rc = walk(conf, bounce_one, &a, err);
	*bounced = a.bounced;
	return rc;
}

struct requeue_arg {
	char *const *domains;
	size_t n;
	const char *cur;
	size_t requeued;
};

static int cmp_domain(const void *key, const void *elem)
{
	return strcmp(key, *(char *const *)elem);
}

static int requeue_one(void *arg, const json_t *msg, const char *domain,
		       struct error *err)
{
	struct requeue_arg *a = arg;
	const char *id = json_string_value(json_object_get(msg, "queue_id"));
	const char *qn = json_string_value(json_object_get(msg, "queue_name"));
	struct strbuf out = STRBUF_INIT;
	size_t i;

	if (qn == NULL || strcmp(qn, "deferred") != 0 ||
	    bsearch(domain, a->domains, a->n, sizeof(*a->domains),
		    cmp_domain) == NULL)
		return 0;
	for (i = 0; id[i]; i++)
		if (!isalnum((unsigned char)id[i]))
			return error_set(err, ERR_INTERNAL, NULL,
					 "unexpected queue id");
	{
		const char *argv[] = {
			"postsuper", "-c", a->cur, "-r", id, NULL
		};

		if (run(argv, &out, err) < 0) {
			sbuf_release(&out);
			return -1;
		}
	}
	sbuf_release(&out);
	a->requeued++;
	return 0;
}

int queue_requeue(const struct conf *conf, char *const *domains, size_t n,
		  size_t *requeued, struct error *err)
{
	char cur[PATH_MAX];
	struct requeue_arg a = { domains, n, cur, 0 };
	int rc;

	*requeued = 0;
	if (n == 0)
		return 0;
	if (current_dir(conf, cur, sizeof(cur), err) < 0)
		return -1;
	rc = walk(conf, requeue_one, &a, err);
	*requeued = a.requeued;
	if (rc == 0 && a.requeued > 0) {
		/* requeued mail waits in maildrop: wake pickup up now */
		const char *argv[] = { "postkick", "-c", cur, "public",
				       "pickup",   "W",	 NULL };
		struct strbuf out = STRBUF_INIT;

		rc = run(argv, &out, err);
		sbuf_release(&out);
	}
	return rc;
}

/* ---- the quarantine digest's view ------------------------------------- */

struct held_list_arg {
	json_t *by_domain;
	size_t keep;
};

static int held_list_one(void *arg, const json_t *msg, const char *domain,
			 struct error *err)
{
	struct held_list_arg *a = arg;
	const char *qn = json_string_value(json_object_get(msg, "queue_name"));
	json_t *sh;
	int64_t arrival;

	(void)err;
	if (qn == NULL || strcmp(qn, "hold") != 0 || domain[0] == '\0')
		return 0;
	if ((sh = json_object_get(a->by_domain, domain)) == NULL) {
		sh = json_pack("{s:I, s:[]}", "count", (json_int_t)0,
			       "messages");
		json_object_set_new(a->by_domain, domain, sh);
	}
	json_object_set_new(
		sh, "count",
		json_integer(json_integer_value(json_object_get(sh, "count")) +
			     1));
	if (json_array_size(json_object_get(sh, "messages")) < a->keep) {
		json_t *m = msg_json(msg, &arrival);

		json_object_set_new(m, "arrival_time", json_integer(arrival));
		json_array_append_new(json_object_get(sh, "messages"), m);
	}
	return 0;
}

json_t *queue_held(const struct conf *conf, size_t keep, struct error *err)
{
	struct held_list_arg a = { json_object(), keep };

	if (walk(conf, held_list_one, &a, err) < 0) {
		json_decref(a.by_domain);
		return NULL;
	}
	return a.by_domain;
}

int queue_subject(const struct conf *conf, const char *id, struct strbuf *out,
		  struct error *err)
{
	char cur[PATH_MAX];
	const char *argv[] = { "postcat", "-c", cur, "-h", "-q", id, NULL };
	struct strbuf txt = STRBUF_INIT, raw = STRBUF_INIT;
	const char *p, *end, *b, *e;
	int rc = 0;

	sbuf_reset(out);
	if (!queue_id_ok(id))
		return error_set(err, ERR_INVALID, "id",
				 "a queue id is letters and digits");
	if (current_dir(conf, cur, sizeof(cur), err) < 0 ||
	    run(argv, &txt, err) < 0) {
		sbuf_release(&txt);
		return -1;
	}
	/* the first Subject: header, unfolded, printable ASCII only */
	for (p = txt.buf, end = txt.buf + txt.len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *q;

		if (n == 0) /* the end of the headers */
			break;
		if (n < 8 || strncasecmp(p, "Subject:", 8) != 0) {
			p += n + (nl != NULL);
			continue;
		}
		for (q = p + 8;;) {
			for (; q < p + n && raw.len < QUEUE_SUBJECT_MAX; q++)
				sbuf_addch(&raw,
					   *q >= 0x20 && *q < 0x7f ? *q : ' ');
			/* a folded continuation line */
			if (nl == NULL || nl + 1 >= end ||
			    (nl[1] != ' ' && nl[1] != '\t'))
				break;
			p = nl + 1;
			nl = memchr(p, '\n', (size_t)(end - p));
			n = nl ? (size_t)(nl - p) : (size_t)(end - p);
			q = p;
		}
		rc = 1;
		break;
	}
	for (b = raw.buf, e = raw.buf + raw.len; b < e && *b == ' '; b++)
		;
	while (e > b && e[-1] == ' ')
		e--;
	sbuf_add(out, b, (size_t)(e - b));
	sbuf_release(&raw);
	sbuf_release(&txt);
	return rc;
}
