/*
 * digest - the daily quarantine digest of each domain
 *
 * See digest.h.
 */
#include "digest.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "domain_json.h"
#include "model.h"
#include "queue.h"
#include "reinject.h"
#include "util/log.h"

#define DAY 86400

void digest_day(int64_t t, char day[11])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(day, 11, "%Y-%m-%d", &tm) != 10)
		memcpy(day, "1970-01-01", 11);
}

/* "2026-12-02 13:40 UTC" */
static void when_text(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		(void)snprintf(buf, size, "%lld", (long long)t);
}

/* Text a client chose (sender, subject) as printable ASCII, bounded. */
static void add_clean(struct strbuf *out, const char *s, size_t max)
{
	size_t i;

	if (s == NULL || s[0] == '\0') {
		sbuf_addstr(out, "(none)");
		return;
	}
	for (i = 0; s[i] && i < max; i++)
		sbuf_addch(out, s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
	if (s[i])
		sbuf_addstr(out, "...");
}

void digest_format(const struct digest_in *in, struct strbuf *out)
{
	const json_t *msgs = json_object_get(in->held, "messages"), *m, *r;
	json_int_t count =
		json_integer_value(json_object_get(in->held, "count"));
	char date[64], stamp[32], day[11];
	time_t tt = (time_t)in->now;
	struct tm tm;
	size_t i, k;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm) ==
		    0)
		memcpy(date, "Thu, 01 Jan 1970 00:00:00 +0000", 32);
	digest_day(in->now, day);
	when_text(in->now, stamp, sizeof(stamp));
	sbuf_addf(out, "From: MAILER-DAEMON@%s\r\n", in->hostname);
	sbuf_addf(out, "To: %s\r\n", in->to);
	sbuf_addf(out,
		  "Subject: Quarantine digest for %s: %lld message(s) held "
		  "on %s\r\n",
		  in->domain, (long long)count, in->relay);
	sbuf_addf(out, "Date: %s\r\n", date);
	sbuf_addf(out, "Message-ID: <digest.%s.%s.%s@%s>\r\n", day, in->relay,
		  in->domain, in->hostname);
	sbuf_addstr(out, "Auto-Submitted: auto-generated\r\n"
			 "MIME-Version: 1.0\r\n"
			 "Content-Type: text/plain; charset=us-ascii\r\n"
			 "Content-Transfer-Encoding: 7bit\r\n\r\n");
	sbuf_addf(
		out,
		"%lld message(s) for %s are held in quarantine on relay %s\r\n"
		"as of %s.  Each is deleted %d days after it arrived\r\n"
		"unless support releases it (give them the queue id).\r\n",
		(long long)count, in->domain, in->relay, stamp,
		in->quarantine_days);
	json_array_foreach(msgs, i, m)
	{
		int64_t at =
			json_integer_value(json_object_get(m, "arrival_time"));
		char arrived[32], gone[32];

		when_text(at, arrived, sizeof(arrived));
		when_text(at + (int64_t)in->quarantine_days * DAY, gone,
			  sizeof(gone));
		sbuf_addf(out, "\r\n%s  queue id %s\r\n", arrived,
			  json_string_value(json_object_get(m, "queue_id")));
		sbuf_addstr(out, "  From:    ");
		add_clean(out, json_string_value(json_object_get(m, "sender")),
			  254);
		sbuf_addstr(out, "\r\n  To:      ");
		json_array_foreach(json_object_get(m, "recipients"), k, r)
		{
			if (k == 3) {
				sbuf_addf(out, " and %zu more",
					  json_array_size(json_object_get(
						  m, "recipients")) -
						  3);
				break;
			}
			if (k > 0)
				sbuf_addstr(out, ", ");
			add_clean(out, json_string_value(r), 254);
		}
		sbuf_addstr(out, "\r\n  Subject: ");
		add_clean(out, json_string_value(json_object_get(m, "subject")),
			  QUEUE_SUBJECT_MAX);
		sbuf_addf(out, "\r\n  Deleted: %s\r\n", gone);
	}
	if ((json_int_t)json_array_size(msgs) < count)
		sbuf_addf(
			out, "\r\n... and %lld more.\r\n",
			(long long)(count - (json_int_t)json_array_size(msgs)));
}

/* The subjects of the listed messages, where the queue has them. */
static void add_subjects(const struct conf *conf, json_t *held)
{
	struct strbuf subj = STRBUF_INIT;
	struct error e = ERROR_INIT;
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(held, "messages"), i, m)
	{
		const char *id =
			json_string_value(json_object_get(m, "queue_id"));

		if (id != NULL && queue_subject(conf, id, &subj, &e) == 1)
			json_object_set_new(m, "subject",
					    json_string(subj.buf));
		error_clear(&e); /* gone meanwhile: listed without one */
	}
	error_release(&e);
	sbuf_release(&subj);
}

static int send_one(struct reinject **r, const struct conf *conf,
		    const struct digest_in *in, struct error *err)
{
	struct strbuf msg = STRBUF_INIT;
	int rc;

	if (*r == NULL && reinject_open(r, "local", conf->state_dir,
					in->hostname, NULL, err) < 0)
		return -1;
	digest_format(in, &msg);
	rc = reinject_send(*r, "", in->to, msg.buf, msg.len, err);
	sbuf_release(&msg);
	return rc < 0 ? -1 : 0;
}

/* One target T of the held mail HELD: claimed for DAY, sent, counted
 * in *sent; a bad address or a failed send is logged (and unclaimed)
 * for the next run.  0, or -1 with err set when the store failed. */
static int digest_one(struct store *s, const struct conf *conf, int64_t now,
		      const char *day, const json_t *held, const json_t *t,
		      struct reinject **r, size_t *sent, struct error *err)
{
	const char *dom = json_string_value(json_object_get(t, "domain"));
	const char *to = json_string_value(json_object_get(t, "address"));
	json_t *h = json_object_get(held, dom ? dom : "");
	struct digest_in in = { dom,
				conf->relay_name,
				conf->relay_hostname,
				to,
				now,
				conf->quarantine_days,
				h };
	struct error e = ERROR_INIT;
	int c;

	if (h == NULL || to == NULL ||
	    digest_address_check(to, "quarantine.digest", &e) < 0) {
		if (e.code != ERR_NONE)
			log_warn("digest: domain=%s: %s", dom, error_msg(&e));
		error_release(&e);
		return 0;
	}
	c = store_digest_claim(
		s, conf->relay_name, dom, day,
		(long)json_integer_value(json_object_get(h, "count")), err);
	if (c <= 0) /* 0: sent today already */
		return c;
	add_subjects(conf, h);
	if (send_one(r, conf, &in, &e) < 0) {
		log_warn("digest: domain=%s not sent, tried again later: %s",
			 dom, error_msg(&e));
		error_release(&e);
		return store_digest_unclaim(s, conf->relay_name, dom, day,
					    err) < 0
			       ? -1
			       : 0;
	}
	log_info("digest: domain=%s sent to %s: %lld message(s)", dom, to,
		 (long long)json_integer_value(json_object_get(h, "count")));
	(*sent)++;
	return 0;
}

int digest_run(struct store *s, const struct conf *conf, int64_t now,
	       size_t *sent, struct error *err)
{
	json_t *held, *targets = NULL, *t;
	struct reinject *r = NULL;
	const char *name;
	char **names = NULL, day[11];
	size_t n = 0, i;
	int rc = 0;

	*sent = 0;
	if ((held = queue_held(conf, DIGEST_LIST_MAX, err)) == NULL)
		return -1;
	if (json_object_size(held) == 0) {
		json_decref(held);
		return 0;
	}
	names = xcalloc(json_object_size(held), sizeof(*names));
	json_object_foreach(held, name, t) names[n++] = (char *)name;
	targets = store_digest_targets(s, names, n, err);
	free(names);
	if (targets == NULL) {
		json_decref(held);
		return -1;
	}
	digest_day(now, day);
	json_array_foreach(targets, i, t)
	{
		if ((rc = digest_one(s, conf, now, day, held, t, &r, sent,
				     err)) < 0)
			break;
	}
	reinject_close(r);
	json_decref(targets);
	json_decref(held);
	return rc < 0 ? -1 : 0;
}
