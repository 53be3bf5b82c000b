/*
 * ops_queue - the verbs about mail on its way: queue, flush, refusals,
 * quarantine, trace, and the queue checks before a domain is removed
 *
 * See ops.h.  The relays answer through lib/fleet; a relay that does
 * not answer in time is named in the result or the error, never taken
 * for an empty queue.  remove's checks (ops_int.h): queued mail blocks
 * a removal (ERR_CONFLICT) unless --bounce-queue bounced it first on
 * every relay; a relay that did not report is ERR_TEMPFAIL.  Nothing
 * here prints or exits.
 */
#include "ops.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet.h"
#include "ops_int.h"
#include "queue.h"
#include "track.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/timefmt.h"

json_t *ops_queue(const struct ops_ctx *ox, const struct domain_name *dn,
		  struct error *err)
{
	return fleet_queue(ox->store, ox->conf, dn, ox->change.actor,
			   FLEET_WAIT_MS, err);
}

json_t *ops_flush(const struct ops_ctx *ox, const struct domain_name *dn,
		  struct error *err)
{
	return fleet_command(ox->store, ox->conf, dn, FLEET_FLUSH,
			     ox->change.actor, FLEET_WAIT_MS, err);
}

/* Count m's "reason" into counts (reason -> n); empty ones are not. */
static void reasons_count(json_t *counts, const json_t *msgs)
{
	const json_t *m;
	size_t i;

	json_array_foreach(msgs, i, m)
	{
		const char *r = json_string_value(json_object_get(m, "reason"));
		json_int_t n;

		if (r == NULL || r[0] == '\0')
			continue;
		n = json_integer_value(json_object_get(counts, r));
		json_object_set_new(counts, r, json_integer(n + 1));
	}
}

static int reason_cmp(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a,
		     *y = *(const json_t *const *)b;
	json_int_t nx = json_integer_value(json_object_get(x, "count")),
		   ny = json_integer_value(json_object_get(y, "count"));

	if (nx != ny)
		return nx > ny ? -1 : 1;
	return strcmp(json_string_value(json_object_get(x, "reason")),
		      json_string_value(json_object_get(y, "reason")));
}

/* The top QUEUE_TOP_REASONS of counts as [{"reason", "count"}]. */
static json_t *reasons_top(const json_t *counts)
{
	size_t n = json_object_size(counts), k = 0, i;
	json_t **v = xcalloc(n ? n : 1, sizeof(*v)), *out = json_array();
	const char *r;
	json_t *c;

	json_object_foreach((json_t *)counts, r, c)
	{
		v[k++] = json_pack("{s:s, s:O}", "reason", r, "count", c);
	}
	qsort(v, n, sizeof(*v), reason_cmp);
	for (i = 0; i < n; i++) {
		if (i < QUEUE_TOP_REASONS)
			json_array_append(out, v[i]);
		json_decref(v[i]);
	}
	free(v);
	return out;
}

/* Seconds from the UTC stamp t to now, or null. */
static json_t *age_of(const json_t *t, int64_t now)
{
	struct error e = ERROR_INIT;
	int64_t at = 0;
	int rc;

	if (!json_is_string(t))
		return json_null();
	rc = time_parse_utc(json_string_value(t), &at, "oldest", &e);
	error_release(&e);
	if (rc < 0)
		return json_null();
	return json_integer(now > at ? (json_int_t)(now - at) : 0);
}

json_t *ops_queue_summary(const struct ops_ctx *ox,
			  const struct domain_name *dn, int64_t now,
			  struct error *err)
{
	json_t *view = store_queue_view(ox->store, dn->alabel, err);
	json_t *all, *relays, *out;
	const json_t *r;
	const char *oldest = NULL;
	json_int_t count = 0;
	size_t i;

	if (view == NULL)
		return NULL;
	all = json_object();
	relays = json_array();
	json_array_foreach(view, i, r)
	{
		const json_t *msgs = json_object_get(r, "messages");
		const char *o = json_string_value(json_object_get(r, "oldest"));
		json_t *mine = json_object(), *e;

		reasons_count(mine, msgs);
		reasons_count(all, msgs);
		e = json_pack("{s:O, s:O, s:O, s:O, s:O, s:o, s:o}", "name",
			      json_object_get(r, "name"), "alive",
			      json_object_get(r, "alive"), "as_of",
			      json_object_get(r, "as_of"), "count",
			      json_object_get(r, "count"), "oldest",
			      json_object_get(r, "oldest"), "oldest_age",
			      age_of(json_object_get(r, "oldest"), now),
			      "reasons", reasons_top(mine));
		json_decref(mine);
		json_array_append_new(relays, e);
		count += json_integer_value(json_object_get(r, "count"));
		if (o != NULL && (oldest == NULL || strcmp(o, oldest) < 0))
			oldest = o;
	}
	out = json_pack("{s:I, s:o, s:o}", "count", count, "reasons",
			reasons_top(all), "relays", relays);
	json_object_set_new(out, "oldest",
			    oldest ? json_string(oldest) : json_null());
	json_object_set_new(out, "oldest_age",
			    age_of(json_object_get(out, "oldest"), now));
	json_decref(all);
	json_decref(view);
	return out;
}

json_t *ops_refusals(const struct ops_ctx *ox, const struct domain_name *dn,
		     long limit, struct error *err)
{
	int64_t since =
		(int64_t)time(NULL) - (int64_t)ox->conf->tracking_days * 86400;

	if (limit < 1 || limit > OPS_REFUSALS_MAX)
		return error_set(err, ERR_INVALID, "limit",
				 "limit must be 1 to %d", OPS_REFUSALS_MAX),
		       NULL;
	return store_events_recent(ox->store, dn->alabel,
				   "{refused,virus,greylisted,bounced}", since,
				   limit, err);
}

json_t *ops_quarantine_list(const struct ops_ctx *ox,
			    const struct domain_name *dn, struct error *err)
{
	json_t *q = ops_queue(ox, dn, err), *held, *m;
	size_t i;

	if (q == NULL)
		return NULL;
	held = json_array();
	json_array_foreach(json_object_get(q, "messages"), i, m)
	{
		const char *qn = json_string_value(json_object_get(m, "queue"));
		const char *arr =
			json_string_value(json_object_get(m, "arrival"));
		struct error e = ERROR_INIT;
		int64_t t = 0;
		char until[32];

		if (qn == NULL || strcmp(qn, "hold") != 0)
			continue;
		if (arr != NULL &&
		    time_parse_utc(arr, &t, "arrival", &e) == 0) {
			time_format_utc(t + (int64_t)ox->conf->quarantine_days *
							86400,
					until, sizeof(until));
			json_object_set_new(m, "expires", json_string(until));
		}
		error_release(&e);
		json_array_append(held, m);
	}
	json_object_set_new(q, "count",
			    json_integer((json_int_t)json_array_size(held)));
	json_object_set_new(q, "messages", held);
	json_object_del(q, "oldest");
	return q;
}

json_t *ops_quarantine(const struct ops_ctx *ox, const struct domain_name *dn,
		       const char *id, bool release, struct error *err)
{
	size_t n = id ? strlen(id) : 0;

	if (n < 5 || n > 23 ||
	    strspn(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		       "abcdefghijklmnopqrstuvwxyz") != n)
		return error_set(err, ERR_INVALID, "id",
				 "a quarantine id is the message's queue id: "
				 "5 to 23 letters and digits"),
		       NULL;
	return fleet_quarantine(ox->store, ox->conf, dn, id, release,
				ox->change.actor, FLEET_WAIT_MS, err);
}

/* "Nh" / "Nd" ago, or a date or time (time_parse_utc) */
static int since_parse(const char *in, int64_t now, int64_t *out,
		       struct error *err)
{
	size_t n = strlen(in);
	long v;

	if (n >= 2 && (in[n - 1] == 'h' || in[n - 1] == 'd')) {
		char num[16];

		if (n - 1 >= sizeof(num))
			return error_set(err, ERR_INVALID, "since",
					 "since is too long");
		memcpy(num, in, n - 1);
		num[n - 1] = '\0';
		if (parse_long(num, 1, in[n - 1] == 'h' ? 24 * 3660 : 3660, &v,
			       "since", err) < 0)
			return -1;
		*out = now - v * (in[n - 1] == 'h' ? 3600 : 86400);
		return 0;
	}
	if (time_parse_utc(in, out, "since", err) < 0) {
		error_clear(err);
		return error_set(err, ERR_INVALID, "since",
				 "since must be YYYY-MM-DD, "
				 "YYYY-MM-DDTHH:MM:SSZ, Nh or Nd");
	}
	return 0;
}

json_t *ops_trace(const struct ops_ctx *ox, const struct ops_trace_in *in,
		  struct error *err)
{
	struct track_query tq = { 0 };
	struct domain_name dn, ad;
	int64_t now = (int64_t)time(NULL);
	long before = 0;
	const char *at;
	size_t i;

	tq.limit = in->limit > 0 ? in->limit : 100;
	if (tq.limit > 500)
		return error_set(err, ERR_INVALID, "limit",
				 "limit must be 1 to 500"),
		       NULL;
	if (in->domain != NULL) {
		if (ops_name(ox->conf, in->domain, &dn, err) < 0)
			return NULL;
		tq.domain = dn.alabel;
	}
	if (in->address != NULL) {
		at = strrchr(in->address, '@');
		if (at == NULL || at == in->address ||
		    strlen(in->address) > 320)
			return error_set(err, ERR_INVALID, "address",
					 "address must be LOCAL@DOMAIN, at "
					 "most 320 bytes"),
			       NULL;
		for (i = 0; in->address[i]; i++)
			if ((unsigned char)in->address[i] <= ' ' ||
			    in->address[i] == 0x7f)
				return error_set(err, ERR_INVALID, "address",
						 "address holds a space or a "
						 "control character"),
				       NULL;
		if (domain_name_parse(at + 1, &ad, err) < 0)
			return NULL;
		tq.address = in->address;
		/* an address alone names its domain's messages too */
		if (tq.domain != NULL && strcmp(tq.domain, ad.alabel) != 0)
			return error_set(err, ERR_INVALID, "address",
					 "the address is not in %s", tq.domain),
			       NULL;
	}
	if (in->message_id != NULL) {
		size_t n = strlen(in->message_id);

		if (n == 0 || n > 255)
			return error_set(err, ERR_INVALID, "message_id",
					 "message_id must be 1 to 255 bytes"),
			       NULL;
		/* as the log has it: without the angle brackets */
		tq.message_id = in->message_id;
	}
	if (tq.domain == NULL && tq.address == NULL && tq.message_id == NULL)
		return error_set(err, ERR_INVALID, "domain",
				 "trace needs a domain, an address or a "
				 "message id"),
		       NULL;
	tq.since = now - (int64_t)ox->conf->tracking_days * 86400;
	if (in->since != NULL &&
	    since_parse(in->since, now, &tq.since, err) < 0)
		return NULL;
	if (in->before != NULL) {
		if (parse_long(in->before, 1, LONG_MAX, &before, "after", err) <
		    0)
			return NULL;
		tq.before = before;
	}
	tq.scope = in->scope;
	tq.nscope = in->nscope;
	return track_trace(ox->store, &tq, err);
}

/* The relays of a fleet answer that did not do their part, by name. */
static void laggards(const json_t *relays, const char *ok, struct strbuf *out)
{
	const json_t *r;
	size_t i;

	json_array_foreach(relays, i, r)
	{
		const char *state =
			json_string_value(json_object_get(r, "state"));

		if (strcmp(state, ok) == 0)
			continue;
		sbuf_addf(
			out, "%s%s (%s%s%s)", out->len ? ", " : "",
			json_string_value(json_object_get(r, "name")), state,
			json_is_string(json_object_get(r, "error")) ? ": " : "",
			json_is_string(json_object_get(r, "error"))
				? json_string_value(json_object_get(r, "error"))
				: "");
	}
}

/* remove --bounce-queue: every relay bounces the domain's mail first. */
int ops_remove_bounce(const struct ops_ctx *ox, const struct domain_name *dn,
		      struct error *err)
{
	struct strbuf late = STRBUF_INIT;
	json_t *r = fleet_command(ox->store, ox->conf, dn, FLEET_BOUNCE,
				  ox->change.actor, FLEET_WAIT_MS * 2, err);
	int rc = 0;

	if (r == NULL)
		return -1;
	laggards(json_object_get(r, "relays"), "done", &late);
	if (late.len > 0)
		rc = error_set(err, ERR_TEMPFAIL, "queue",
			       "%s: not every relay bounced its queued mail: "
			       "%s; nothing was removed (run it again once "
			       "they answer)",
			       dn->alabel, late.buf);
	else
		log_kv(LOG_LEVEL_INFO,
		       (struct log_field[]){
			       { LOG_F_DOMAIN, dn->alabel },
			       { LOG_F_ACTOR, ox->change.actor },
			       { LOG_F_TICKET, ox->change.ticket },
			       { NULL, NULL } },
		       "%s: %" JSON_INTEGER_FORMAT " queued message%s "
		       "bounced before removal",
		       dn->alabel,
		       json_integer_value(json_object_get(r, "bounced")),
		       json_integer_value(json_object_get(r, "bounced")) == 1
			       ? ""
			       : "s");
	sbuf_release(&late);
	json_decref(r);
	return rc;
}

/*
 * Mail still queued would bounce once the domain is gone: only an
 * explicit --bounce-queue does that.  No relay at all: nothing queued.
 */
int ops_remove_queue_check(const struct ops_ctx *ox,
			   const struct domain_name *dn, struct error *err)
{
	struct strbuf late = STRBUF_INIT;
	struct error qe = ERROR_INIT;
	json_t *q = fleet_queue(ox->store, ox->conf, dn, ox->change.actor,
				FLEET_WAIT_MS, &qe);
	json_int_t count = json_integer_value(json_object_get(q, "count"));
	int rc = 0;

	if (q == NULL) {
		rc = qe.code == ERR_UNAVAILABLE
			     ? 0
			     : error_set(err, qe.code, NULL, "%s",
					 error_msg(&qe));
		error_release(&qe);
		return rc;
	}
	laggards(json_object_get(q, "relays"), "fresh", &late);
	if (count > 0)
		rc = error_set(err, ERR_CONFLICT, "queue",
			       "%s still has %" JSON_INTEGER_FORMAT
			       " message%s queued on the relays: let "
			       "them be delivered (feedctl flush), or "
			       "bounce them to their senders with "
			       "--bounce-queue",
			       dn->alabel, count, count == 1 ? "" : "s");
	else if (late.len > 0)
		rc = error_set(err, ERR_TEMPFAIL, "queue",
			       "%s: these relays did not report their queue: "
			       "%s; nothing was removed (run it again once "
			       "they answer)",
			       dn->alabel, late.buf);
	sbuf_release(&late);
	json_decref(q);
	return rc;
}
