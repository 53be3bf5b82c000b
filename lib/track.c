/*
 * track - message tracking: where did my mail go?
 *
 * See track.h.  The relay's side keeps no more than the lines of the
 * messages in flight; the staff's side builds the message lines from
 * the rows in time order, then drops every line the query may not see
 * (another domain's recipient of a message with several).
 */
#include "track.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "maillog.h"
#include "util/atomicfile.h"
#include "util/log.h"
#include "util/strbuf.h"

#define CHUNK	      (4 * 1024 * 1024) /* log bytes read per turn */
#define OPEN_MAX      200000		/* queue ids remembered */
#define PREPARE_EVERY 3600		/* seconds */

static int64_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

void track_init(struct track *t, const struct conf *conf)
{
	memset(t, 0, sizeof(*t));
	(void)snprintf(t->log, sizeof(t->log), "%s/postfix.log",
		       conf->state_dir);
	(void)snprintf(t->pos, sizeof(t->pos), "%s/tracking.pos",
		       conf->state_dir);
	t->open = json_object();
}

void track_release(struct track *t)
{
	json_decref(t->open);
	t->open = NULL;
}

/* A JSON string of s, "?" for each byte when s is not UTF-8. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	char *c;
	size_t i;

	if (j != NULL)
		return j;
	c = xstrdup(s);
	for (i = 0; c[i]; i++)
		if ((unsigned char)c[i] >= 0x80)
			c[i] = '?';
	j = json_string(c);
	free(c);
	return j;
}

/* key: s, or nothing when s is "" (the column stays NULL) */
static void put(json_t *o, const char *key, const char *s)
{
	if (s != NULL && s[0] != '\0')
		json_object_set_new(o, key, jstr(s));
}

/* to[key] = from[key] where to has none (absent or null) */
static void copy_field(json_t *to, const json_t *from, const char *key)
{
	const json_t *v = json_object_get(from, key), *w;

	w = json_object_get(to, key);
	if (v != NULL && !json_is_null(v) && (w == NULL || json_is_null(w)))
		json_object_set(to, key, (json_t *)v);
}

static json_t *row_of(const struct mlog_line *l, const char *verdict)
{
	json_t *r = json_pack("{s:I, s:s}", "at", (json_int_t)l->time,
			      "verdict", verdict);
	const char *at = strrchr(l->recipient, '@');

	put(r, "queue_id", l->queue_id);
	put(r, "message_id", l->message_id);
	if (l->kind == ML_REJECT || l->kind == ML_EXPIRED)
		json_object_set_new(r, "sender", jstr(l->sender));
	put(r, "recipient", l->recipient);
	if (at != NULL && at[1] != '\0') {
		char dom[254];
		size_t i;

		(void)snprintf(dom, sizeof(dom), "%s", at + 1);
		for (i = 0; dom[i]; i++)
			dom[i] = (char)tolower((unsigned char)dom[i]);
		put(r, "domain", dom);
	}
	put(r, "client", l->client);
	put(r, "helo", l->helo);
	put(r, "code", l->code);
	put(r, "reply", l->reply);
	put(r, "destination", l->destination);
	if (l->kind == ML_TAGGED) {
		char v[64];

		/* the values are from closed lists and digits (maillog.c) */
		(void)snprintf(v, sizeof(v), "level=%s action=%s score=%s",
			       l->spam_level, l->spam_action, l->spam_score);
		put(r, "reply", v);
	}
	return r;
}

/* One parsed line: the state of its queue id, and a row if a step. */
static void step(struct track *t, const struct mlog_line *l, json_t *rows)
{
	json_t *o =
		l->queue_id[0] ? json_object_get(t->open, l->queue_id) : NULL;
	json_t *r = NULL;

	if (o == NULL && l->queue_id[0] &&
	    (l->kind == ML_CLIENT || l->kind == ML_MESSAGE_ID ||
	     l->kind == ML_FROM)) {
		if (json_object_size(t->open) >= OPEN_MAX) {
			log_warn("tracking: over %d messages in flight; "
				 "forgetting what their lines said",
				 OPEN_MAX);
			json_object_clear(t->open);
		}
		o = json_pack("{s:I}", "at", (json_int_t)l->time);
		json_object_set_new(t->open, l->queue_id, o);
	}
	switch (l->kind) {
	case ML_CLIENT:
		put(o, "client", l->client);
		break;
	case ML_MESSAGE_ID:
		put(o, "message_id", l->message_id);
		break;
	case ML_FROM:
		/* qmgr logs from= again each time a deferred message comes
		 * back: accepted once */
		if (json_object_get(o, "sender") != NULL)
			break;
		json_object_set_new(o, "sender", jstr(l->sender));
		r = row_of(l, "accepted");
		json_object_set(r, "at", json_object_get(o, "at"));
		break;
	case ML_REJECT:
		/* a held message was accepted (250) before it was held;
		 * qmgr logs its from= only once it is released, and that
		 * step belongs before the hold, in the log's order */
		if (o != NULL && strcmp(l->verdict, "quarantined") == 0 &&
		    json_object_get(o, "sender") == NULL) {
			json_t *a =
				json_pack("{s:O, s:s, s:s}", "at",
					  json_object_get(o, "at"), "verdict",
					  "accepted", "queue_id", l->queue_id);

			json_object_set_new(o, "sender", jstr(l->sender));
			copy_field(a, o, "sender");
			copy_field(a, o, "message_id");
			copy_field(a, o, "client");
			json_array_append_new(rows, a);
		}
		r = row_of(l, l->verdict);
		break;
	case ML_DELIVERY:
	case ML_EXPIRED:
	case ML_RELEASED:
	case ML_TAGGED:
		r = row_of(l, l->verdict);
		break;
	case ML_REMOVED:
	case ML_NONE:
		break;
	}
	if (r != NULL && o != NULL) {
		copy_field(r, o, "sender");
		copy_field(r, o, "message_id");
		copy_field(r, o, "client");
	}
	if (r != NULL)
		json_array_append_new(rows, r);
	/* a held message stays in flight: its release and delivery follow */
	if (l->queue_id[0] &&
	    (l->kind == ML_REMOVED || (l->kind == ML_REJECT && o != NULL &&
				       strcmp(l->verdict, "quarantined") != 0)))
		json_object_del(t->open, l->queue_id);
}

static bool read_pos(const char *path, unsigned long long *ino, long long *off)
{
	FILE *fp = fopen(path, "r");
	bool ok;

	if (fp == NULL)
		return false;
	ok = fscanf(fp, "%llu %lld", ino, off) == 2 && *off >= 0;
	fclose(fp);
	return ok;
}

static void write_pos(const char *path, unsigned long long ino, long long off)
{
	struct error err = ERROR_INIT;
	char line[64];
	int n = snprintf(line, sizeof(line), "%llu %lld\n", ino, off);

	/* rewritten every turn, not fsynced (as before): a crash loses
	 * at most the last position */
	if (atomic_write(path, line, (size_t)n, 0644, ATOMIC_NO_SYNC, &err) < 0)
		log_warn("tracking: %s", error_msg(&err));
	error_release(&err);
}

int track_turn(struct track *t, struct store *s, const struct conf *conf,
	       struct error *err)
{
	unsigned long long ino = 0;
	long long off = 0;
	struct stat st;
	char *buf;
	ssize_t got;
	size_t used = 0;
	json_t *rows, *before;
	int fd, rc = 0;
	char *line, *nl;
	int64_t now = (int64_t)time(NULL);

	if (!conf->tracking_enabled)
		return 0;
	if (t->last_prepare == 0 ||
	    mono_s() - t->last_prepare >= PREPARE_EVERY) {
		int dropped = 0;

		if (store_events_prepare(s, conf->tracking_days, &dropped,
					 err) < 0)
			return -1;
		if (dropped > 0)
			log_info("tracking: dropped %d day(s) of events past "
				 "%d days",
				 dropped, conf->tracking_days);
		t->last_prepare = mono_s();
	}
	if ((fd = open(t->log, O_RDONLY | O_CLOEXEC)) < 0)
		return 0; /* no log yet */
	if (fstat(fd, &st) < 0) {
		close(fd);
		return 0;
	}
	if (!read_pos(t->pos, &ino, &off) ||
	    ino != (unsigned long long)st.st_ino || off > (long long)st.st_size)
		off = 0; /* new, rotated or truncated: from the start */
	if (off == (long long)st.st_size) {
		close(fd);
		return 0;
	}
	buf = xmalloc(CHUNK + 1);
	got = pread(fd, buf, CHUNK, (off_t)off);
	close(fd);
	if (got <= 0) {
		free(buf);
		return 0;
	}
	buf[got] = '\0';
	rows = json_array();
	before = json_deep_copy(t->open);
	for (line = buf; (nl = memchr(line, '\n', (size_t)(buf + got - line)));
	     line = nl + 1) {
		struct mlog_line l;

		*nl = '\0';
		if (mlog_parse(line, now, &l) != ML_NONE)
			step(t, &l, rows);
		used = (size_t)(nl + 1 - buf);
	}
	if (used == 0 && got == CHUNK)
		used = CHUNK; /* one line longer than a chunk: skip it */
	if (json_array_size(rows) > 0 &&
	    store_events_add(s, conf->relay_name, rows, err) < 0) {
		/* read these lines again next turn, from the same state */
		json_decref(t->open);
		t->open = before;
		before = NULL;
		rc = -1;
	} else if (used > 0) {
		write_pos(t->pos, (unsigned long long)st.st_ino,
			  off + (long long)used);
	}
	json_decref(before);
	json_decref(rows);
	free(buf);
	return rc;
}

/* ---- the staff's side -------------------------------------------- */

static const char *sget(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* domain of an address, lower case, into buf ("" if none) */
static void domain_of(const char *addr, char *buf, size_t size)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	size_t i;

	(void)snprintf(buf, size, "%s", at ? at + 1 : "");
	for (i = 0; buf[i]; i++)
		buf[i] = (char)tolower((unsigned char)buf[i]);
}

static json_t *line_new(const json_t *row)
{
	json_t *l = json_object();
	static const char *const keys[] = { "relay",  "queue_id",  "message_id",
					    "sender", "recipient", "client" };
	size_t i;

	json_object_set(l, "time", json_object_get(row, "at"));
	json_object_set(l, "at_s", json_object_get(row, "at_s"));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		json_object_set(l, keys[i], json_object_get(row, keys[i]));
	json_object_set_new(l, "steps", json_array());
	return l;
}

static void line_add(json_t *l, const json_t *row)
{
	json_t *st = json_pack("{s:O, s:O, s:O, s:O, s:O}", "time",
			       json_object_get(row, "at"), "verdict",
			       json_object_get(row, "verdict"), "code",
			       json_object_get(row, "code"), "reply",
			       json_object_get(row, "reply"), "destination",
			       json_object_get(row, "destination"));

	if (strcmp(sget(row, "verdict"), "tagged") == 0) {
		const char *rp = sget(row, "reply");
		char level[8], action[8], score[16];

		/* "level=L action=A score=S", as row_of wrote it */
		if (rp != NULL && sscanf(rp, "level=%7s action=%7s score=%15s",
					 level, action, score) == 3)
			json_object_set_new(st, "spam",
					    json_pack("{s:s, s:s, s:f}",
						      "level", level, "action",
						      action, "score",
						      strtod(score, NULL)));
	}
	json_array_append_new(json_object_get(l, "steps"), st);
	/* fill in what earlier steps did not know */
	copy_field(l, row, "message_id");
	copy_field(l, row, "client");
	copy_field(l, row, "sender");
	copy_field(l, row, "recipient");
}

static const char *words(const char *verdict)
{
	static const char *const w[][2] = {
		{ "virus", "refused as a virus" },
		{ "spam", "refused as spam" },
		{ "deleted", "deleted as spam" },
		{ "expired", "expired and returned to the sender" },
		{ "quarantined", "quarantined as spam" },
		{ "released", "released from quarantine" },
	};
	size_t i;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (strcmp(verdict, w[i][0]) == 0)
			return w[i][1];
	return verdict;
}

/* "tagged as spam (med, score 6.00): subject rewritten" */
static void tagged_words(struct strbuf *sb, const json_t *st)
{
	const json_t *sp = json_object_get(st, "spam");
	const char *a = sget(sp, "action");

	if (sp == NULL || a == NULL) {
		sbuf_addf(sb, "tagged as spam");
		return;
	}
	sbuf_addf(sb, "tagged as spam (%s, score %.2f): %s",
		  sget(sp, "level") ? sget(sp, "level") : "?",
		  json_number_value(json_object_get(sp, "score")),
		  strcmp(a, "header") == 0    ? "header X-Spam-Flag added"
		  : strcmp(a, "subject") == 0 ? "subject rewritten"
					      : a);
}

/* "greylisted at 10:02:11, accepted at 10:07:15, delivered to D at
 * 10:07:16 (250 2.0.0 Ok)"; the first time with its date */
static void line_finish(json_t *l)
{
	json_t *steps = json_object_get(l, "steps"), *st, *last;
	struct strbuf sb = STRBUF_INIT;
	size_t i, n = json_array_size(steps);

	json_array_foreach(steps, i, st)
	{
		const char *v = sget(st, "verdict"), *t = sget(st, "time");
		const char *d = sget(st, "destination"), *c = sget(st, "code"),
			   *r = sget(st, "reply");
		bool tell = i + 1 == n || strcmp(v, "delivered") != 0;

		if (v != NULL && strcmp(v, "tagged") == 0) {
			sbuf_addf(&sb, "%s", i ? ", " : "");
			tagged_words(&sb, st);
			r = NULL; /* the words say it all */
		} else {
			sbuf_addf(&sb, "%s%s", i ? ", " : "",
				  words(v ? v : "?"));
		}
		if (d != NULL && strcmp(d, "none") != 0)
			sbuf_addf(&sb, " to %s", d);
		if (t != NULL && strlen(t) >= 19)
			sbuf_addf(&sb, " at %.*s", i ? 8 : 19, i ? t + 11 : t);
		if (tell && r != NULL && strcmp(v, "accepted") != 0)
			sbuf_addf(&sb, " (%s%s%s)", c ? c : "", c ? " " : "",
				  r);
	}
	last = json_array_get(steps, n - 1);
	json_object_set(l, "verdict", json_object_get(last, "verdict"));
	json_object_set(l, "reply", json_object_get(last, "reply"));
	json_object_set_new(l, "summary", json_string(sb.buf));
	sbuf_release(&sb);
}

static bool line_visible(const json_t *l, const struct track_query *tq)
{
	const char *rcpt = sget(l, "recipient"), *snd = sget(l, "sender");
	const char *mid = sget(l, "message_id");
	char dom[256];
	size_t i;

	domain_of(rcpt, dom, sizeof(dom));
	if (rcpt == NULL && (tq->nscope > 0 || tq->domain != NULL))
		return false;
	if (tq->nscope > 0) {
		for (i = 0; i < tq->nscope; i++)
			if (strcmp(dom, tq->scope[i].alabel) == 0)
				break;
		if (i == tq->nscope)
			return false;
	}
	if (tq->domain != NULL && strcmp(dom, tq->domain) != 0)
		return false;
	if (tq->address != NULL &&
	    !(rcpt != NULL && strcasecmp(rcpt, tq->address) == 0) &&
	    !(snd != NULL && strcasecmp(snd, tq->address) == 0))
		return false;
	if (tq->message_id != NULL &&
	    (mid == NULL || strcmp(mid, tq->message_id) != 0))
		return false;
	return true;
}

static int cmp_lines(const void *a, const void *b)
{
	json_int_t x = json_integer_value(
		json_object_get(*(json_t *const *)a, "at_s"));
	json_int_t y = json_integer_value(
		json_object_get(*(json_t *const *)b, "at_s"));

	return x < y ? 1 : x > y ? -1 : 0; /* newest first */
}

/* A step of the whole message (expiry): to each of its lines. */
static bool attach_all(json_t *byq, const char *qk, const json_t *row)
{
	size_t ql = strlen(qk);
	bool any = false;
	const char *k;
	json_t *l;

	json_object_foreach(byq, k, l)
	{
		if (strncmp(k, qk, ql) == 0 && k[ql] == ' ') {
			line_add(l, row);
			any = true;
		}
	}
	return any;
}

/* The indexes a trace builds while it groups event rows into lines. */
struct trace_idx {
	json_t *byq;  /* "relay qid rcpt" -> line */
	json_t *acc;  /* "relay qid" -> accepted row */
	json_t *tag;  /* "relay qid" -> tagged row */
	json_t *wait; /* "sender\nrcpt" -> NOQUEUE line */
	json_t *all;  /* every line */
};

/* Tagged as spam: a step of the whole message, right after its
 * acceptance on each of its lines (it may share their second). */
static void index_tagged(struct trace_idx *x, const json_t *rows)
{
	size_t i;
	json_t *r;

	json_array_foreach(rows, i, r)
	{
		const char *qid = sget(r, "queue_id");
		char qk[128];

		if (qid == NULL || sget(r, "recipient") != NULL ||
		    strcmp(sget(r, "verdict"), "tagged") != 0)
			continue;
		(void)snprintf(qk, sizeof(qk), "%s %s", sget(r, "relay"), qid);
		json_object_set(x->tag, qk, r);
	}
}

/* The line of queue id QK's recipient row R (KEY "relay qid rcpt"),
 * new unless one exists: a NOQUEUE line of the same sender and
 * recipient (tried before, accepted later) becomes it. */
static json_t *line_of(struct trace_idx *x, const char *qk, const char *key,
		       const char *pair, json_t *r)
{
	json_t *l = json_object_get(x->byq, key), *w, *a;

	if (l != NULL)
		return l;
	if ((w = json_object_get(x->wait, pair)) != NULL) {
		l = w;
		json_object_set(l, "queue_id", json_object_get(r, "queue_id"));
		json_object_set(l, "relay", json_object_get(r, "relay"));
		json_object_del(x->wait, pair);
	} else {
		l = line_new(r);
		json_array_append_new(x->all, l);
	}
	if ((a = json_object_get(x->acc, qk)) != NULL)
		line_add(l, a);
	if ((a = json_object_get(x->tag, qk)) != NULL)
		line_add(l, a);
	json_object_set(x->byq, key, l);
	return l;
}

/* Row R onto its line. */
static void place_row(struct trace_idx *x, json_t *r)
{
	const char *qid = sget(r, "queue_id"), *rcpt = sget(r, "recipient");
	const char *verdict = sget(r, "verdict");
	char pair[700], qk[128], key[1024];
	json_t *l;

	(void)snprintf(pair, sizeof(pair), "%s\n%s",
		       sget(r, "sender") ? sget(r, "sender") : "",
		       rcpt ? rcpt : "");
	if (qid == NULL) {
		l = line_new(r);
		line_add(l, r);
		json_array_append_new(x->all, l);
		if (strcmp(verdict, "greylisted") == 0 ||
		    strcmp(verdict, "deferred") == 0)
			json_object_set(x->wait, pair, l);
		return;
	}
	(void)snprintf(qk, sizeof(qk), "%s %s", sget(r, "relay"), qid);
	if (rcpt == NULL && strcmp(verdict, "accepted") == 0) {
		json_object_set(x->acc, qk, r);
		return;
	}
	if (rcpt == NULL && strcmp(verdict, "tagged") == 0)
		return;				       /* in tag */
	if (rcpt == NULL && attach_all(x->byq, qk, r)) /* expired */
		return;
	(void)snprintf(key, sizeof(key), "%s %s", qk, rcpt ? rcpt : "");
	line_add(line_of(x, qk, key, pair, r), r);
}

/* Accepted, not tried yet: a line of its own. */
static void add_unrouted(struct trace_idx *x)
{
	const char *qk, *bk;
	json_t *a, *bl;

	json_object_foreach(x->acc, qk, a)
	{
		bool used = false;
		size_t ql = strlen(qk);

		json_object_foreach(x->byq, bk, bl)
		{
			if (strncmp(bk, qk, ql) == 0 && bk[ql] == ' ')
				used = true;
		}
		if (!used) {
			json_t *l = line_new(a), *tg;

			line_add(l, a);
			if ((tg = json_object_get(x->tag, qk)) != NULL)
				line_add(l, tg);
			json_array_append_new(x->all, l);
		}
	}
}

/* The page the query asks for: visible lines, newest first, at most
 * tq->limit, with the cursor of the next page. */
static json_t *trace_page(const json_t *all, const struct track_query *tq)
{
	json_t **v = xmalloc((json_array_size(all) + 1) * sizeof(*v));
	json_t *r, *out, *msgs = json_array();
	size_t i, n = 0, k;

	json_array_foreach(all, i, r)
	{
		json_int_t at = json_integer_value(json_object_get(r, "at_s"));

		if (line_visible(r, tq) && (tq->before == 0 || at < tq->before))
			v[n++] = r;
	}
	qsort(v, n, sizeof(*v), cmp_lines);
	for (k = 0; k < n && k < (size_t)tq->limit; k++) {
		line_finish(v[k]);
		json_array_append(msgs, v[k]);
	}
	out = json_pack("{s:o}", "messages", msgs);
	json_object_set_new(
		out, "next",
		n > (size_t)tq->limit
			? json_integer(json_integer_value(
				  json_object_get(v[tq->limit - 1], "at_s")))
			: json_null());
	json_array_foreach(msgs, i, r)
	{
		json_object_del(r, "at_s");
	}
	free(v);
	return out;
}

json_t *track_trace(struct store *s, const struct track_query *tq,
		    struct error *err)
{
	json_t *rows = store_events_find(s, tq->domain, tq->address,
					 tq->message_id, tq->since, tq->scope,
					 tq->nscope, err),
	       *r, *out;
	struct trace_idx x;
	size_t i;

	if (rows == NULL)
		return NULL;
	x.byq = json_object();
	x.acc = json_object();
	x.tag = json_object();
	x.wait = json_object();
	x.all = json_array();
	index_tagged(&x, rows);
	json_array_foreach(rows, i, r)
	{
		place_row(&x, r);
	}
	add_unrouted(&x);
	out = trace_page(x.all, tq);
	json_decref(x.byq);
	json_decref(x.acc);
	json_decref(x.tag);
	json_decref(x.wait);
	json_decref(x.all);
	json_decref(rows);
	return out;
}
