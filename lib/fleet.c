/*
 * fleet - the relays seen as one: queues and queue work from any host
 *
 * See fleet.h.  Staff's side writes commands and polls their state
 * (the relay NOTIFYs nobody back: a poll every 100 ms for a few
 * seconds costs nothing next to a postqueue run); the relay's side
 * runs what it finds in the order staff queued it.
 */
#include "fleet.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "queue.h"
#include "relay.h"
#include "util/log.h"
#include "util/strbuf.h"

#define POLL_MS 100

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Is this host a relay (a generation in force under paths.state)? */
static bool local_relay(const struct conf *conf)
{
	return conf->relay_name != NULL && relay_current_seq(conf) > 0;
}

/*
 * Publish this relay's queue.  A queue that cannot be read is the
 * relay's trouble, reported in qerr (and nothing published); -1 with
 * err is the database's.  cached: for staff, the listing may be this
 * process's last one (queue_summary()).
 */
static int publish(struct store *s, const struct conf *conf, bool cached,
		   struct error *qerr, struct error *err)
{
	size_t total = 0;
	json_t *sum = queue_summary(conf, FLEET_KEEP, cached, &total, qerr);
	int rc;

	if (sum == NULL)
		return 0;
	rc = store_queue_publish(s, conf->relay_name, sum, (int64_t)total, err);
	json_decref(sum);
	return rc;
}

/*
 * Wait until no command of cmds ([{"id", "relay"}]) is pending on a
 * living relay, or wait_ms passed; answer their status.
 */
static json_t *await(struct store *s, const json_t *cmds, int wait_ms,
		     struct error *err)
{
	struct strbuf ids = STRBUF_INIT;
	int64_t deadline = mono_ms() + wait_ms;
	const json_t *c;
	json_t *st = NULL;
	size_t i;

	sbuf_addch(&ids, '{');
	json_array_foreach(cmds, i, c)
	{
		sbuf_addf(&ids, "%s%" JSON_INTEGER_FORMAT, i ? "," : "",
			  json_integer_value(json_object_get(c, "id")));
	}
	sbuf_addch(&ids, '}');
	for (;;) {
		size_t waiting = 0;

		st = store_command_status(s, ids.buf, err);
		if (st == NULL)
			break;
		json_array_foreach(st, i, c)
		{
			const char *state =
				json_string_value(json_object_get(c, "state"));

			if (strcmp(state, "pending") == 0 &&
			    json_is_true(json_object_get(c, "alive")))
				waiting++;
		}
		if (waiting == 0 || mono_ms() >= deadline)
			break;
		json_decref(st);
		st = NULL;
		sleep_ms(POLL_MS);
	}
	sbuf_release(&ids);
	return st;
}

/* The status entry of relay name in st, or NULL. */
static const json_t *status_of(const json_t *st, const char *name)
{
	const json_t *c;
	size_t i;

	json_array_foreach(st, i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "relay")),
			   name) == 0)
			return c;
	}
	return NULL;
}

/* How fresh a relay's published share is, given its command's fate. */
static const char *freshness(const json_t *relay, const json_t *cmd, bool here,
			     bool here_failed)
{
	const char *state = json_string_value(json_object_get(cmd, "state"));

	if (here)
		return here_failed ? "failed" : "fresh";
	if (state != NULL && strcmp(state, "done") == 0)
		return "fresh";
	if (state != NULL && strcmp(state, "failed") == 0)
		return "failed";
	return json_is_true(json_object_get(relay, "alive")) ? "stale" : "down";
}

/* The fleet's answer for dn from the relays' published shares (view)
 * and their commands' fates (st): every message with its relay, the
 * total, the oldest, and each relay's freshness; here_err is this
 * host's relay's failure to read its own queue, or NULL. */
static json_t *queue_merge(const struct conf *conf,
			   const struct domain_name *dn, const json_t *view,
			   const json_t *st, bool here,
			   const struct error *here_err)
{
	json_t *msgs = json_array(), *relays = json_array(), *out;
	const json_t *r, *m;
	const char *oldest = NULL;
	json_int_t count = 0;
	size_t i, j;

	json_array_foreach(view, i, r)
	{
		const char *name =
			json_string_value(json_object_get(r, "name"));
		bool me = here && strcmp(name, conf->relay_name) == 0;
		const json_t *cmd = status_of(st, name);
		const char *o = json_string_value(json_object_get(r, "oldest"));
		json_t *e =
			json_pack("{s:s, s:O, s:O, s:s}", "name", name, "count",
				  json_object_get(r, "count"), "as_of",
				  json_object_get(r, "as_of"), "state",
				  freshness(r, cmd, me, here_err != NULL));

		if (me && here_err != NULL)
			json_object_set_new(e, "error",
					    json_string(error_msg(here_err)));
		else if (json_is_string(json_object_get(cmd, "error")))
			json_object_set(e, "error",
					json_object_get(cmd, "error"));
		json_array_append_new(relays, e);
		count += json_integer_value(json_object_get(r, "count"));
		if (o != NULL && (oldest == NULL || strcmp(o, oldest) < 0))
			oldest = o;
		json_array_foreach(json_object_get(r, "messages"), j, m)
		{
			json_t *c = json_deep_copy(m);

			json_object_set_new(c, "relay", json_string(name));
			json_array_append_new(msgs, c);
		}
	}
	out = json_pack("{s:s, s:I, s:o, s:o}", "domain", dn->alabel, "count",
			count, "messages", msgs, "relays", relays);
	json_object_set_new(out, "oldest",
			    oldest ? json_string(oldest) : json_null());
	return out;
}

json_t *fleet_queue(struct store *s, const struct conf *conf,
		    const struct domain_name *dn, const char *actor,
		    int wait_ms, struct error *err)
{
	bool here = local_relay(conf), here_failed = false;
	struct error le = ERROR_INIT;
	json_t *cmds, *st = NULL, *view, *out;

	if (here) {
		if (publish(s, conf, true, &le, err) < 0) {
			error_release(&le);
			return NULL;
		}
		here_failed = le.code != ERR_NONE;
	}
	{
		struct relay_cmd rc = { "publish",
					NULL,
					actor,
					60,
					here ? conf->relay_name : NULL,
					NULL,
					NULL };

		cmds = store_command_add(s, &rc, err);
	}
	if (cmds == NULL ||
	    (json_array_size(cmds) > 0 &&
	     (st = await(s, cmds, wait_ms, err)) == NULL) ||
	    (view = store_queue_view(s, dn->alabel, err)) == NULL) {
		json_decref(cmds);
		json_decref(st);
		error_release(&le);
		return NULL;
	}
	json_decref(cmds);
	if (json_array_size(view) == 0 ||
	    (here_failed && json_array_size(view) == 1)) {
		/* nothing to show: no relay, or this one alone and it could
		 * not read its queue (that error, a timeout say, is the
		 * answer) */
		json_decref(st);
		json_decref(view);
		if (here_failed)
			error_set(err, le.code, le.field, "%s", error_msg(&le));
		else
			error_set(err, ERR_UNAVAILABLE, NULL,
				  "no relay has registered (each relay's "
				  "mta-glue sync publishes its queue)");
		error_release(&le);
		return NULL;
	}
	out = queue_merge(conf, dn, view, st, here, here_failed ? &le : NULL);
	json_decref(st);
	json_decref(view);
	error_release(&le);
	return out;
}

/* Run one verb on this host's relay; the result for its entry. */
static json_t *run_here(const struct conf *conf, const struct domain_name *dn,
			enum fleet_verb verb, struct error *err)
{
	size_t n = 0;

	if (verb == FLEET_FLUSH)
		return queue_flush(conf, dn, err) < 0
			       ? NULL
			       : json_pack("{s:b}", "flushed", 1);
	return queue_bounce(conf, dn, &n, err) < 0
		       ? NULL
		       : json_pack("{s:I}", "bounced", (json_int_t)n);
}

/*
 * The verb on this host's relay first: its entry appended to relays
 * (*done false when it failed, *bounced grown), its queue published
 * again.  -1 with err set when the store failed, or when this relay is
 * the only one and failed (that error is the answer).
 */
static int command_here(struct store *s, const struct conf *conf,
			const struct domain_name *dn, enum fleet_verb verb,
			json_t *relays, bool *done, json_int_t *bounced,
			struct error *err)
{
	struct error le = ERROR_INIT;
	json_t *res = run_here(conf, dn, verb, &le), *e;
	int64_t others;

	if (res == NULL &&
	    (others = store_relay_count(s, conf->relay_name, err)) <= 0) {
		if (others == 0)
			error_set(err, le.code, le.field, "%s", error_msg(&le));
		error_release(&le);
		return -1;
	}
	e = json_pack("{s:s, s:s}", "name", conf->relay_name, "state",
		      res ? "done" : "failed");
	json_array_append_new(relays, e);
	if (res == NULL) {
		json_object_set_new(e, "error", json_string(error_msg(&le)));
		*done = false;
		error_release(&le);
		return 0;
	}
	*bounced += json_integer_value(json_object_get(res, "bounced"));
	json_object_update(e, res);
	json_decref(res);
	if (publish(s, conf, false, &le, err) < 0) {
		error_release(&le);
		return -1;
	}
	if (le.code != ERR_NONE)
		log_warn("fleet: %s: queue not published: %s", conf->relay_name,
			 error_msg(&le));
	error_release(&le);
	return 0;
}

/* The other relays' entries from their commands' fates st. */
static void command_entries(const json_t *st, json_t *relays, bool *done,
			    json_int_t *bounced)
{
	const json_t *c;
	size_t i;

	json_array_foreach(st, i, c)
	{
		const char *state =
			json_string_value(json_object_get(c, "state"));
		const json_t *res = json_object_get(c, "result");
		json_t *e =
			json_pack("{s:O, s:s}", "name",
				  json_object_get(c, "relay"), "state", state);

		if (strcmp(state, "done") != 0)
			*done = false;
		if (strcmp(state, "pending") == 0)
			json_object_set(e, "expires_at",
					json_object_get(c, "expires_at"));
		if (json_is_string(json_object_get(c, "error")))
			json_object_set(e, "error",
					json_object_get(c, "error"));
		if (json_is_object(res)) {
			*bounced += json_integer_value(
				json_object_get(res, "bounced"));
			json_object_update(e, (json_t *)res);
		}
		json_array_append_new(relays, e);
	}
}

json_t *fleet_command(struct store *s, const struct conf *conf,
		      const struct domain_name *dn, enum fleet_verb verb,
		      const char *actor, int wait_ms, struct error *err)
{
	static const char *const verbs[] = { "flush", "bounce" };
	bool here = local_relay(conf), done = true;
	json_t *cmds, *st = NULL, *relays = json_array(), *out;
	json_int_t bounced = 0;
	struct relay_cmd rc = { verbs[verb],
				dn->alabel,
				actor,
				verb == FLEET_FLUSH ? 3600 : 600,
				here ? conf->relay_name : NULL,
				NULL,
				NULL };

	if (here &&
	    command_here(s, conf, dn, verb, relays, &done, &bounced, err) < 0) {
		json_decref(relays);
		return NULL;
	}
	cmds = store_command_add(s, &rc, err);
	if (cmds == NULL || (json_array_size(cmds) > 0 &&
			     (st = await(s, cmds, wait_ms, err)) == NULL)) {
		json_decref(cmds);
		json_decref(relays);
		return NULL;
	}
	json_decref(cmds);
	if (!here && json_array_size(st) == 0) {
		json_decref(st);
		json_decref(relays);
		return error_set(err, ERR_UNAVAILABLE, NULL,
				 "no relay has registered (each relay's "
				 "mta-glue sync runs the queue commands)"),
		       NULL;
	}
	command_entries(st, relays, &done, &bounced);
	json_decref(st);
	out = json_pack("{s:s, s:s, s:b, s:o}", "domain", dn->alabel, "verb",
			verbs[verb], "done", done, "relays", relays);
	if (verb == FLEET_BOUNCE)
		json_object_set_new(out, "bounced", json_integer(bounced));
	return out;
}

/* Release or delete a quarantined message here; its result. */
static json_t *quarantine_here(const struct conf *conf,
			       const struct domain_name *dn, const char *id,
			       bool release, struct error *err);

/* The relay holding quarantined message id of the domain, or NULL. */
static const char *holder(const json_t *view, const char *id)
{
	const json_t *r, *m;
	size_t i, j;

	json_array_foreach(view, i, r)
	{
		json_array_foreach(json_object_get(r, "messages"), j, m)
		{
			const char *q =
				json_string_value(json_object_get(m, "queue"));
			const char *qid = json_string_value(
				json_object_get(m, "queue_id"));

			if (q != NULL && qid != NULL &&
			    strcmp(q, "hold") == 0 && strcmp(qid, id) == 0)
				return json_string_value(
					json_object_get(r, "name"));
		}
	}
	return NULL;
}

json_t *fleet_quarantine(struct store *s, const struct conf *conf,
			 const struct domain_name *dn, const char *id,
			 bool release, const char *actor, int wait_ms,
			 struct error *err)
{
	json_t *q = fleet_queue(s, conf, dn, actor, wait_ms, err);
	json_t *view, *cmds, *st = NULL, *out = NULL;
	const char *relay;
	const json_t *c;

	/* the view fleet_queue() just refreshed, with each relay's list */
	if (q == NULL)
		return NULL;
	json_decref(q);
	if ((view = store_queue_view(s, dn->alabel, err)) == NULL)
		return NULL;
	if ((relay = holder(view, id)) == NULL) {
		json_decref(view);
		return error_set(err, ERR_NOTFOUND, "id",
				 "no quarantined message %s of %s on any relay",
				 id, dn->alabel),
		       NULL;
	}
	if (local_relay(conf) && strcmp(relay, conf->relay_name) == 0) {
		struct error le = ERROR_INIT;

		out = quarantine_here(conf, dn, id, release, err);
		if (out != NULL) {
			json_object_set_new(out, "relay", json_string(relay));
			if (publish(s, conf, false, &le, err) < 0) {
				json_decref(out);
				out = NULL;
			}
		}
		error_release(&le);
		json_decref(view);
		return out;
	}
	{
		struct relay_cmd rc = { release ? "release" : "delete",
					dn->alabel,
					actor,
					600,
					NULL,
					relay,
					id };

		cmds = store_command_add(s, &rc, err);
	}
	if (cmds == NULL || (st = await(s, cmds, wait_ms, err)) == NULL) {
		json_decref(cmds);
		json_decref(view);
		return NULL;
	}
	c = json_array_get(st, 0);
	if (c != NULL &&
	    strcmp(json_string_value(json_object_get(c, "state")), "done") == 0)
		out = json_pack("{s:s, s:s, s:s}", "queue_id", id, "done",
				release ? "released" : "deleted", "relay",
				relay);
	else if (c != NULL && json_is_string(json_object_get(c, "error")))
		error_set(err, ERR_CONFLICT, "id", "relay %s: %s", relay,
			  json_string_value(json_object_get(c, "error")));
	else
		error_set(
			err, ERR_TEMPFAIL, "id",
			"relay %s has not answered yet; the command runs "
			"when it does (until %s)",
			relay,
			c ? json_string_value(json_object_get(c, "expires_at"))
			  : "it expires");
	json_decref(cmds);
	json_decref(st);
	json_decref(view);
	return out;
}

/* Release or delete a quarantined message here; its result. */
static json_t *quarantine_here(const struct conf *conf,
			       const struct domain_name *dn, const char *id,
			       bool release, struct error *err)
{
	if (queue_quarantine(conf, dn, id, release, err) < 0)
		return NULL;
	return json_pack("{s:s, s:s}", "queue_id", id, "done",
			 release ? "released" : "deleted");
}

/* Run one command taken from the bus; its result, or NULL (err). */
static json_t *serve_one(const struct conf *conf, const char *verb,
			 const char *domain, const char *queue_id,
			 struct error *err)
{
	struct domain_name dn;

	if (domain == NULL || domain_name_parse(domain, &dn, err) < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "relay command %s without a domain", verb),
		       NULL;
	if (strcmp(verb, "flush") == 0)
		return run_here(conf, &dn, FLEET_FLUSH, err);
	if (strcmp(verb, "bounce") == 0)
		return run_here(conf, &dn, FLEET_BOUNCE, err);
	if ((strcmp(verb, "release") == 0 || strcmp(verb, "delete") == 0) &&
	    queue_id != NULL)
		return quarantine_here(conf, &dn, queue_id,
				       strcmp(verb, "release") == 0, err);
	return error_set(err, ERR_INTERNAL, NULL, "unknown relay command %s",
			 verb),
	       NULL;
}

int fleet_serve(struct store *s, const struct conf *conf,
		struct fleet_relay *st, struct error *err)
{
	json_t *cmds = store_command_take(s, conf->relay_name, err);
	const json_t *c;
	struct error pe = ERROR_INIT;
	int64_t now = mono_ms() / 1000;
	int every = st->publish_s > 0 ? st->publish_s : FLEET_PUBLISH_S;
	bool due = st->last_publish == 0 || now - st->last_publish >= every;
	int rc = 0, published;
	size_t i;

	if (cmds == NULL)
		return -1;
	/* the work first, then one publication showing its effect */
	json_array_foreach(cmds, i, c)
	{
		const char *verb =
			json_string_value(json_object_get(c, "verb"));
		json_int_t id = json_integer_value(json_object_get(c, "id"));
		struct error ce = ERROR_INIT;
		json_t *res;

		due = true;
		if (strcmp(verb, "publish") == 0)
			continue;
		res = serve_one(
			conf, verb,
			json_string_value(json_object_get(c, "domain")),
			json_string_value(json_object_get(c, "queue_id")), &ce);
		if (res == NULL) {
			const char *dom =
				json_string_value(json_object_get(c, "domain"));

			log_kv(LOG_LEVEL_WARN,
			       (struct log_field[]){
				       { LOG_F_DOMAIN, dom },
				       { LOG_F_QUEUE_ID,
					 json_string_value(json_object_get(
						 c, "queue_id")) },
				       { NULL, NULL } },
			       "fleet: %s %s: %s", verb, dom, error_msg(&ce));
		}
		rc = store_command_finish(s, id, res != NULL, res,
					  res ? NULL : error_msg(&ce), err);
		json_decref(res);
		error_release(&ce);
		if (rc < 0)
			break;
	}
	if (rc == 0 && due) {
		rc = publish(s, conf, false, &pe, err);
		published = rc == 0 && pe.code == ERR_NONE ? 0 : -1;
		if (rc == 0 && published < 0)
			log_warn("fleet: queue not published: %s",
				 error_msg(&pe));
		st->last_publish = now;
		json_array_foreach(cmds, i, c)
		{
			if (rc < 0)
				break;
			if (strcmp(json_string_value(
					   json_object_get(c, "verb")),
				   "publish") == 0)
				rc = store_command_finish(
					s,
					json_integer_value(
						json_object_get(c, "id")),
					published == 0, NULL,
					published < 0 ? error_msg(&pe) : NULL,
					err);
		}
	}
	error_release(&pe);
	json_decref(cmds);
	return rc;
}
