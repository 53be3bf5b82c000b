/*
 * ops - the verbs of mxfeed, shared by feedctl and the API
 *
 * See ops.h.  Every function follows one shape: validate all input into
 * typed values first, read the current record, compute the new record
 * with the model's setting table, check it as a whole, and only then
 * write.  Nothing here prints or exits.
 */
#include "ops.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "domain_json.h"
#include "fleet.h"
#include "track.h"
#include "probe.h"
#include "queue.h"
#include "util/log.h"
#include "util/parse.h"

static void OPENSSL_cleanse_str(char *s)
{
	OPENSSL_cleanse(s, strlen(s));
}

/* Members of the domain JSON that are bookkeeping, not settings. */
static const char *const diff_skip[] = {
	"version",    "created_at", "created_by",  "updated_at",
	"updated_by", "ticket",	    "propagation", NULL,
};

int ops_name(const struct conf *conf, const char *in, struct domain_name *dn,
	     struct error *err)
{
	int i;

	if (domain_name_parse(in, dn, err) < 0)
		return -1;
	for (i = 0; i < conf->n_own_names; i++)
		if (domain_name_under(dn->alabel, conf->own_names[i]))
			return error_set(err, ERR_INVALID, "name",
					 "%s is one of our own host names",
					 dn->alabel);
	return 0;
}

int ops_domain_get(const struct ops_ctx *ox, const char *name,
		   struct domain *out, struct propagation *prop,
		   struct error *err)
{
	struct domain_name dn;

	if (ops_name(ox->conf, name, &dn, err) < 0)
		return -1;
	switch (store_domain_get(ox->store, &dn, out, prop, err)) {
	case LOOKUP_FOUND:
		return 0;
	case LOOKUP_NOTFOUND:
		return error_set(err, ERR_NOTFOUND, "name", "no such domain");
	case LOOKUP_FAIL:
		return -1;
	}
	return error_set(err, ERR_INTERNAL, NULL, "unexpected lookup result");
}

json_t *ops_history(const struct ops_ctx *ox, const char *name, long limit,
		    struct error *err)
{
	struct domain_name dn;
	json_t *rows;

	if (ops_name(ox->conf, name, &dn, err) < 0)
		return NULL;
	rows = store_history(ox->store, &dn, limit, err);
	if (rows != NULL && json_array_size(rows) == 0) {
		json_decref(rows);
		error_set(err, ERR_NOTFOUND, "name",
			  "no such domain and no history");
		return NULL;
	}
	return rows;
}

/* Apply "path=value" settings in order; d unchanged on error. */
static int apply_settings(struct domain *d, char *const *settings, size_t n,
			  const struct conf *conf, struct error *err)
{
	struct domain tmp = *d;
	size_t i;

	for (i = 0; i < n; i++) {
		const char *eq = strchr(settings[i], '=');
		char path[64];
		size_t plen;

		if (eq == NULL || eq == settings[i]) {
			struct strbuf sb = STRBUF_INIT;

			sbuf_addesc(&sb, settings[i], 64);
			error_set(err, ERR_INVALID, NULL,
				  "'%s' is not SETTING=VALUE", sb.buf);
			sbuf_release(&sb);
			return -1;
		}
		plen = (size_t)(eq - settings[i]);
		if (plen >= sizeof(path)) {
			return error_set(err, ERR_INVALID, NULL,
					 "setting name too long");
		}
		memcpy(path, settings[i], plen);
		path[plen] = '\0';
		if (domain_set(&tmp, path, eq + 1, conf, err) < 0)
			return -1;
	}
	*d = tmp;
	return 0;
}

/* d's destination was already old's (or one of old's fallbacks). */
static bool had_dest(const struct domain *old, const struct dest *d)
{
	size_t i;

	if (old == NULL || old->mode == MODE_POP3 || !old->has_dest)
		return false;
	if (dest_equal(&old->dest, d))
		return true;
	for (i = 0; i < old->nfallbacks; i++)
		if (dest_equal(&old->fallbacks[i], d))
			return true;
	return false;
}

/*
 * Whether a probe report lets nd's mail go to that server: the probe
 * passed and, under tls.policy encrypt or verify, the TLS handshake
 * did (with the recorded certificate).  0, or ERR_CONFLICT naming
 * tls.fingerprint when the certificate differs, else field when the
 * server itself is new, else tls.policy.
 */
static int probe_verdict(const json_t *probe, const struct domain *nd,
			 const struct dest *d, const char *field, bool new_dest,
			 const char *retry, struct error *err)
{
	bool handshake = json_is_object(json_object_get(probe, "tls"));
	char dt[IP_TEXT_MAX + 16], why[160];
	const char *refusal;

	dest_format(d, dt, sizeof(dt));
	if (!json_is_true(json_object_get(probe, "ok")))
		return error_set(
			err, ERR_CONFLICT, new_dest ? field : "tls.policy",
			"%s did not pass the probe (%s): mail for %s would "
			"only queue there; fix it, or %s with --force",
			dt,
			json_string_value(json_object_get(probe, "error"))
				?: json_string_value(
					   json_object_get(probe, "rcpt_reply"))
				?: "refused",
			nd->name.alabel, retry);
	refusal = probe_tls_refusal(probe, nd->tls_policy, nd->tls_fingerprint,
				    why, sizeof(why));
	if (refusal == NULL)
		return 0;
	/* a handshake with another certificate: the fingerprint is what
	 * disagrees; no handshake: the server, or the policy if the
	 * server is not new */
	return error_set(
		err, ERR_CONFLICT,
		handshake  ? "tls.fingerprint"
		: new_dest ? field
			   : "tls.policy",
		"%s fails tls.policy %s: %s; mail for %s would wait in "
		"the queue; fix it, or %s with --force",
		dt, tls_policy_names[nd->tls_policy], refusal, nd->name.alabel,
		retry);
}

/* Probe d for nd; refuse it (ERR_CONFLICT) as probe_verdict() says. */
static int probe_or_refuse(const struct ops_ctx *ox, const struct domain *nd,
			   const struct dest *d, const char *field,
			   bool new_dest, struct error *err)
{
	json_t *probe = probe_run(d, &nd->name, ox->conf->relay_hostname,
				  PROBE_TIMEOUT_MS);
	int rc = probe_verdict(probe, nd, d, field, new_dest, "save", err);

	json_decref(probe);
	return rc;
}

/* nd asks more of TLS towards its servers than old did: a policy that
 * is stricter, or another fingerprint to verify. */
static bool tls_tightened(const struct domain *old, const struct domain *nd)
{
	if (nd->tls_policy == TLS_MAY)
		return false;
	if (old == NULL || old->mode == MODE_POP3 ||
	    old->tls_policy < nd->tls_policy)
		return true;
	return nd->tls_policy == TLS_VERIFY &&
	       strcmp(old->tls_fingerprint, nd->tls_fingerprint) != 0;
}

/*
 * Every destination of nd that old did not have is probed first: a
 * mistyped or dead address would otherwise queue the customer's mail
 * silently for days.  So is every one of them when the tls settings
 * ask for more than before (tls.policy encrypt or verify: the server
 * must take STARTTLS, and show the recorded certificate).  Unless
 * ox->force.
 */
static int probe_new_dests(const struct ops_ctx *ox, const struct domain *old,
			   const struct domain *nd, struct error *err)
{
	bool tls = tls_tightened(old, nd), fresh;
	size_t i;

	if (ox->force || nd->mode == MODE_POP3 || !nd->has_dest)
		return 0;
	fresh = !had_dest(old, &nd->dest);
	if ((fresh || tls) &&
	    probe_or_refuse(ox, nd, &nd->dest, "destination.host", fresh, err) <
		    0)
		return -1;
	for (i = 0; i < nd->nfallbacks; i++) {
		fresh = !had_dest(old, &nd->fallbacks[i]);
		if ((fresh || tls) &&
		    probe_or_refuse(ox, nd, &nd->fallbacks[i], "fallbacks",
				    fresh, err) < 0)
			return -1;
	}
	return 0;
}

int ops_domain_add(const struct ops_ctx *ox, const char *name, const char *mode,
		   const char *dest, char *const *settings, size_t nsettings,
		   struct domain *out, struct error *err)
{
	struct domain_name dn;
	int m;

	if (ops_name(ox->conf, name, &dn, err) < 0)
		return -1;
	if (mode == NULL)
		return error_set(err, ERR_INVALID, "mode",
				 "--mode pop3|feed|backup is required");
	m = parse_enum(mode, domain_mode_names);
	if (m < 0)
		return error_set(err, ERR_INVALID, "mode",
				 "mode must be pop3, feed or backup");
	domain_init(out, &dn, (enum domain_mode)m, ox->conf);
	if (dest != NULL && domain_set(out, "dest", dest, ox->conf, err) < 0)
		return -1;
	if (apply_settings(out, settings, nsettings, ox->conf, err) < 0)
		return -1;
	if (domain_check(out, ox->conf, err) < 0 ||
	    probe_new_dests(ox, NULL, out, err) < 0)
		return -1;
	return store_domain_create(ox->store, out, &ox->change, err);
}

int ops_domain_create_json(const struct ops_ctx *ox, const json_t *doc,
			   struct domain *out, struct error *err)
{
	const json_t *jname = json_object_get(doc, "name");
	const json_t *jmode = json_object_get(doc, "mode");
	struct domain_name dn;
	int m;

	if (!json_is_object(doc))
		return error_set(err, ERR_INVALID, NULL,
				 "a domain must be a JSON object");
	if (!json_is_string(jname))
		return error_set(err, ERR_INVALID, "name",
				 "\"name\" is required (a string)");
	if (ops_name(ox->conf, json_string_value(jname), &dn, err) < 0)
		return -1;
	if (!json_is_string(jmode))
		return error_set(err, ERR_INVALID, "mode",
				 "\"mode\" is required: pop3, feed or backup");
	m = parse_enum(json_string_value(jmode), domain_mode_names);
	if (m < 0)
		return error_set(err, ERR_INVALID, "mode",
				 "mode must be pop3, feed or backup");
	domain_init(out, &dn, (enum domain_mode)m, ox->conf);
	if (domain_patch(out, doc, ox->conf, err) < 0 ||
	    domain_check(out, ox->conf, err) < 0 ||
	    probe_new_dests(ox, NULL, out, err) < 0)
		return -1;
	return store_domain_create(ox->store, out, &ox->change, err);
}

static int check_version(const struct domain *cur, int64_t if_version,
			 struct error *err)
{
	if (if_version == OPS_NO_VERSION || if_version == cur->version)
		return 0;
	return error_set(err, ERR_STALE, "version",
			 "version is %lld, not %lld: changed by %s; "
			 "review and retry",
			 (long long)cur->version, (long long)if_version,
			 cur->updated_by[0] ? cur->updated_by : "someone");
}

/* The domain name as stored (at if_version) and req's plan for it. */
static int get_plan(const struct ops_ctx *ox, const char *name,
		    int64_t if_version, const struct sp_req *req,
		    struct domain *cur, struct sp_plan *p, struct error *err)
{
	if (ops_domain_get(ox, name, cur, NULL, err) < 0 ||
	    check_version(cur, if_version, err) < 0)
		return -1;
	return switch_plan(cur, req, ox->conf, p, err);
}

/* Write nd over cur unless nothing changed. */
static int commit_change(const struct ops_ctx *ox, const struct domain *cur,
			 struct domain *nd, const char *action, bool *changed,
			 struct error *err)
{
	if (domain_check(nd, ox->conf, err) < 0)
		return -1;
	if (domain_settings_equal(cur, nd)) {
		*nd = *cur;
		if (changed)
			*changed = false;
		return 0;
	}
	if (probe_new_dests(ox, cur, nd, err) < 0 ||
	    store_domain_update(ox->store, cur, nd, &ox->change, action, err) <
		    0)
		return -1;
	if (changed)
		*changed = true;
	return 0;
}

/*
 * A read-modify-write of settings or a merge patch.  With an expected
 * version the caller asked to fail when someone else changed the
 * domain (ERR_STALE).  Without one it only wants its own change on top
 * of whatever is there: when a concurrent writer got in between the
 * read and the write, read again and apply the same change to the new
 * record, up to SET_TRIES times.
 */
#define SET_TRIES 20

typedef int (*change_fn)(struct domain *d, const void *arg,
			 const struct conf *conf, struct error *err);

struct settings_arg {
	char *const *settings;
	size_t n;
};

static int change_settings(struct domain *d, const void *arg,
			   const struct conf *conf, struct error *err)
{
	const struct settings_arg *a = arg;

	return apply_settings(d, a->settings, a->n, conf, err);
}

static int change_patch(struct domain *d, const void *arg,
			const struct conf *conf, struct error *err)
{
	return domain_patch(d, arg, conf, err);
}

static int modify(const struct ops_ctx *ox, const char *name, change_fn change,
		  const void *arg, int64_t if_version, struct domain *out,
		  bool *changed, struct error *err)
{
	struct domain cur;
	int tries;

	for (tries = 1;; tries++) {
		if (ops_domain_get(ox, name, &cur, NULL, err) < 0)
			return -1;
		if (check_version(&cur, if_version, err) < 0)
			return -1;
		*out = cur;
		if (change(out, arg, ox->conf, err) < 0)
			return -1;
		if (commit_change(ox, &cur, out, "set", changed, err) == 0)
			return 0;
		if (err->code != ERR_STALE || if_version != OPS_NO_VERSION ||
		    tries == SET_TRIES)
			return -1;
		error_clear(err);
	}
}

int ops_domain_set(const struct ops_ctx *ox, const char *name,
		   char *const *settings, size_t nsettings, int64_t if_version,
		   struct domain *out, bool *changed, struct error *err)
{
	struct settings_arg a = { settings, nsettings };

	if (nsettings == 0)
		return error_set(err, ERR_INVALID, NULL,
				 "nothing to set: give SETTING=VALUE");
	return modify(ox, name, change_settings, &a, if_version, out, changed,
		      err);
}

int ops_domain_patch(const struct ops_ctx *ox, const char *name,
		     const json_t *patch, int64_t if_version,
		     struct domain *out, bool *changed, struct error *err)
{
	if (!json_is_object(patch))
		return error_set(err, ERR_INVALID, NULL,
				 "a merge patch must be a JSON object");
	return modify(ox, name, change_patch, patch, if_version, out, changed,
		      err);
}

int ops_extend(const struct ops_ctx *ox, const char *name, int64_t if_version,
	       long days, const char *until, int64_t now, struct domain *out,
	       struct error *err)
{
	struct domain cur;
	char when[32];
	const char *value = until;

	if ((days > 0) == (until != NULL))
		return error_set(err, ERR_INVALID, "days",
				 "give either --days N or --until YYYY-MM-DD");
	if (until == NULL) {
		if (days > QUEUE_DAYS_MAX)
			return error_set(err, ERR_INVALID, "days",
					 "days must be a whole number from 1 "
					 "to %d",
					 QUEUE_DAYS_MAX);
		time_format_utc(now + (int64_t)days * 86400, when,
				sizeof(when));
		value = when;
	} else if (strlen(until) != 10) {
		return error_set(err, ERR_INVALID, "until",
				 "until must be a date, YYYY-MM-DD");
	}
	if (ops_domain_get(ox, name, &cur, NULL, err) < 0 ||
	    check_version(&cur, if_version, err) < 0)
		return -1;
	*out = cur;
	if (domain_set(out, "queue.extended_until", value, ox->conf, err) < 0)
		return -1;
	return commit_change(ox, &cur, out, "extend", NULL, err);
}

int ops_probe(const struct ops_ctx *ox, const char *target, json_t **report,
	      struct error *err)
{
	struct domain d;
	struct dest dest;

	*report = NULL;
	/* an address has no letters but hex digits, and a ':' or only
	 * digits and dots; anything else is a domain name */
	if (strspn(target, "0123456789.:[]abcdefABCDEF") == strlen(target) &&
	    strpbrk(target, ".:") != NULL &&
	    (strchr(target, ':') != NULL ||
	     strspn(target, "0123456789.") == strlen(target))) {
		if (dest_parse(target, ox->conf, &dest, "target", err) < 0)
			return -1;
		*report = probe_run(&dest, NULL, ox->conf->relay_hostname,
				    PROBE_TIMEOUT_MS);
		return 0;
	}
	if (ops_domain_get(ox, target, &d, NULL, err) < 0)
		return -1;
	if (!d.has_dest)
		return error_set(err, ERR_CONFLICT, "target",
				 "%s is a pop3 domain: it has no destination "
				 "to probe",
				 d.name.alabel);
	*report = probe_run(&d.dest, &d.name, ox->conf->relay_hostname,
			    PROBE_TIMEOUT_MS);
	return 0;
}

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

int ops_relay_retire(const struct ops_ctx *ox, const char *name, bool retire,
		     bool force, struct error *err)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "abcdefghijklmnopqrstuvwxyz0123456789.-";
	size_t n = strlen(name);

	if (n == 0 || n > 63 || strspn(name, ok) != n)
		return error_set(err, ERR_INVALID, "relay",
				 "a relay name is 1 to 63 letters, digits, "
				 "dots and hyphens");
	if (store_relay_retire(ox->store, name, retire, force, ox->change.actor,
			       err) < 0)
		return -1;
	log_kv(LOG_LEVEL_INFO,
	       (struct log_field[]){ { LOG_F_ACTOR, ox->change.actor },
				     { LOG_F_TICKET, ox->change.ticket },
				     { NULL, NULL } },
	       "relay %s %s by %s", name, retire ? "retired" : "activated",
	       ox->change.actor);
	return 0;
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
static int remove_bounce(const struct ops_ctx *ox, const struct domain_name *dn,
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
static int remove_queue_check(const struct ops_ctx *ox,
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

int ops_domain_remove(const struct ops_ctx *ox, const char *name,
		      int64_t if_version, const char *confirm,
		      bool bounce_queue, struct error *err)
{
	struct sp_req req = { .verb = SP_REMOVE,
			      .confirm = confirm,
			      .bounce_queue = bounce_queue };
	struct sp_plan p;
	struct domain cur;

	if (get_plan(ox, name, if_version, &req, &cur, &p, err) < 0)
		return -1;
	if (p.bounce_queue) {
		if (remove_bounce(ox, &cur.name, err) < 0)
			return -1;
	} else if (remove_queue_check(ox, &cur.name, err) < 0) {
		return -1;
	}
	return store_domain_remove(ox->store, &cur, &ox->change, err);
}

json_t *ops_switch_plan(const struct ops_ctx *ox, const char *name,
			const struct sp_req *req, struct error *err)
{
	struct sp_req r = *req;
	struct sp_plan p;
	struct domain cur;
	json_t *mbs, *out;

	if (r.verb == SP_TEMP_POP3 && r.actor == NULL)
		r.actor = ox->change.actor;
	if (get_plan(ox, name, OPS_NO_VERSION, &r, &cur, &p, err) < 0 ||
	    (mbs = ops_mailboxes_json(ox, &cur, err)) == NULL)
		return NULL;
	out = switch_plan_json(&cur, &p, mbs);
	json_decref(mbs);
	return out;
}

/* Flatten a JSON object into {"a.b.c": leaf} (arrays stay leaves). */
static void flatten(const json_t *obj, const char *prefix, json_t *out)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)obj, key, val)
	{
		struct strbuf path = STRBUF_INIT;
		int i, skip = 0;

		if (prefix[0] == '\0')
			for (i = 0; diff_skip[i]; i++)
				if (strcmp(key, diff_skip[i]) == 0)
					skip = 1;
		if (skip)
			continue;
		if (prefix[0])
			sbuf_addf(&path, "%s.", prefix);
		sbuf_addstr(&path, key);
		if (json_is_object(val))
			flatten(val, path.buf, out);
		else
			json_object_set(out, path.buf, val);
		sbuf_release(&path);
	}
}

static json_t *display(const json_t *v)
{
	char *s;
	json_t *t;

	if (v == NULL || json_is_null(v))
		return json_string("-");
	if (json_is_string(v))
		return json_copy((json_t *)v);
	if (json_is_boolean(v))
		return json_string(json_is_true(v) ? "on" : "off");
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	t = json_string(s ? s : "?");
	free(s);
	return t;
}

/* [{"field", "old", "new"}] between two domain JSON objects: values as
 * they are, or (as_text) as display text. */
static json_t *diff_objects(const json_t *old, const json_t *new, bool as_text)
{
	json_t *fa = json_object(), *fb = json_object(), *res = json_array();
	const char *key;
	json_t *vb;

	flatten(old, "", fa);
	flatten(new, "", fb);
	json_object_foreach(fb, key, vb)
	{
		json_t *va = json_object_get(fa, key);

		if (va != NULL && json_equal(va, vb))
			continue;
		json_array_append_new(
			res,
			json_pack("{s:s, s:o, s:o}", "field", key, "old",
				  as_text ? display(va)
					  : json_incref(va ? va : json_null()),
				  "new",
				  as_text ? display(vb) : json_incref(vb)));
	}
	json_decref(fa);
	json_decref(fb);
	return res;
}

json_t *json_changes(const json_t *old, const json_t *new)
{
	if (!json_is_object(old) || !json_is_object(new))
		return json_array();
	return diff_objects(old, new, true);
}

json_t *domain_diff(const struct domain *a, const struct domain *b)
{
	json_t *ja = domain_to_json(a, NULL), *jb = domain_to_json(b, NULL);
	json_t *res = diff_objects(ja, jb, false);

	json_decref(ja);
	json_decref(jb);
	return res;
}

struct apply_state {
	struct domain *cur;  /* current records (valid when has_cur) */
	struct domain *next; /* desired records */
	bool *has_cur;
	size_t n;
};

static void apply_state_release(struct apply_state *st)
{
	free(st->cur);
	free(st->next);
	free(st->has_cur);
}

/* Build the desired record for one document item. */
static int apply_one(const struct ops_ctx *ox, const json_t *item, size_t i,
		     struct apply_state *st, struct error *err)
{
	const json_t *jname = json_object_get(item, "name");
	const json_t *jmode = json_object_get(item, "mode");
	struct domain_name dn;
	char field[32];
	size_t j;
	int m;

	(void)snprintf(field, sizeof(field), "[%zu].name", i);
	if (!json_is_object(item))
		return error_set(err, ERR_INVALID, NULL,
				 "item %zu is not a JSON object", i);
	if (!json_is_string(jname))
		return error_set(err, ERR_INVALID, field,
				 "item %zu has no \"name\" string", i);
	if (ops_name(ox->conf, json_string_value(jname), &dn, err) < 0)
		return -1;
	for (j = 0; j < i; j++)
		if (strcmp(st->next[j].name.alabel, dn.alabel) == 0)
			return error_set(err, ERR_INVALID, field,
					 "%s appears twice in the document",
					 dn.alabel);
	switch (store_domain_get(ox->store, &dn, &st->cur[i], NULL, err)) {
	case LOOKUP_FOUND:
		st->has_cur[i] = true;
		st->next[i] = st->cur[i];
		break;
	case LOOKUP_NOTFOUND:
		if (!json_is_string(jmode))
			return error_set(err, ERR_INVALID, "mode",
					 "%s is new: \"mode\" is required",
					 dn.alabel);
		m = parse_enum(json_string_value(jmode), domain_mode_names);
		if (m < 0)
			return error_set(err, ERR_INVALID, "mode",
					 "mode must be pop3, feed or backup");
		domain_init(&st->next[i], &dn, (enum domain_mode)m, ox->conf);
		break;
	case LOOKUP_FAIL:
		return -1;
	}
	if (domain_patch(&st->next[i], item, ox->conf, err) < 0 ||
	    domain_check(&st->next[i], ox->conf, err) < 0) {
		/* name the domain: a document may hold thousands */
		struct strbuf msg = STRBUF_INIT;

		sbuf_addf(&msg, "%s: %s", dn.alabel, error_msg(err));
		sbuf_reset(&err->msg);
		sbuf_add(&err->msg, msg.buf, msg.len);
		sbuf_release(&msg);
		return -1;
	}
	return 0;
}

int ops_apply(const struct ops_ctx *ox, const json_t *doc, bool dry_run,
	      json_t **report, struct error *err)
{
	struct apply_state st = { 0 };
	struct apply_item *items = NULL;
	json_t *results = NULL;
	size_t i, nitems = 0;
	int rc = -1;

	*report = NULL;
	st.n = json_is_array(doc) ? json_array_size(doc) : 1;
	if (!json_is_array(doc) && !json_is_object(doc))
		return error_set(err, ERR_INVALID, NULL,
				 "expected a domain object or an array");
	if (st.n > APPLY_ITEMS_MAX)
		return error_set(err, ERR_INVALID, NULL,
				 "at most %d domains per document",
				 APPLY_ITEMS_MAX);
	st.cur = xcalloc(st.n, sizeof(*st.cur));
	st.next = xcalloc(st.n, sizeof(*st.next));
	st.has_cur = xcalloc(st.n, sizeof(*st.has_cur));
	items = xcalloc(st.n, sizeof(*items));
	results = json_array();
	for (i = 0; i < st.n; i++) {
		const json_t *item =
			json_is_array(doc) ? json_array_get(doc, i) : doc;
		const char *action;
		json_t *changes;

		if (apply_one(ox, item, i, &st, err) < 0)
			goto out;
		if (!st.has_cur[i]) {
			action = "create";
			changes = json_array();
			items[nitems].old = NULL;
			items[nitems++].new = &st.next[i];
		} else if (domain_settings_equal(&st.cur[i], &st.next[i])) {
			action = "none";
			changes = json_array();
		} else {
			action = "update";
			changes = domain_diff(&st.cur[i], &st.next[i]);
			items[nitems].old = &st.cur[i];
			items[nitems++].new = &st.next[i];
		}
		json_array_append_new(
			results, json_pack("{s:s, s:s, s:o}", "name",
					   st.next[i].name.alabel, "action",
					   action, "changes", changes));
	}
	for (i = 0; !dry_run && i < nitems; i++)
		if (probe_new_dests(ox, items[i].old, items[i].new, err) < 0)
			goto out;
	if (!dry_run && nitems > 0 &&
	    store_domain_apply(ox->store, items, nitems, &ox->change, err) < 0)
		goto out;
	for (i = 0; i < st.n; i++) {
		json_t *r = json_array_get(results, i);
		int64_t v = st.next[i].version;

		if (dry_run &&
		    strcmp(json_string_value(json_object_get(r, "action")),
			   "none") != 0)
			v = st.has_cur[i] ? st.cur[i].version + 1 : 1;
		json_object_set_new(r, "version", json_integer(v));
	}
	*report =
		json_pack("{s:b, s:O}", "dry_run", dry_run, "results", results);
	rc = 0;
out:
	json_decref(results);
	free(items);
	apply_state_release(&st);
	return rc;
}

/*
 * A new password for a mailbox about to be made: its hash into hash, and
 * {"address", "password", "catch_all"} returned for the caller to show
 * once (NULL with err set on failure).
 */
static json_t *issue_password(const struct domain *d, const struct mailbox *mb,
			      char hash[MAILBOX_HASH_MAX + 1],
			      struct error *err)
{
	char pw[MAILBOX_PASSWORD_LEN + 1];
	struct strbuf addr = STRBUF_INIT;
	json_t *entry = NULL;

	if (mailbox_password_new(pw, err) == 0 &&
	    mailbox_password_hash(pw, hash, err) == 0) {
		sbuf_addf(&addr, "%s@%s", mb->local, d->name.alabel);
		entry = json_pack("{s:s, s:s, s:b}", "address", addr.buf,
				  "password", pw, "catch_all", mb->catch_all);
		sbuf_release(&addr);
	}
	OPENSSL_cleanse_str(pw);
	return entry;
}

int ops_mailbox_add(const struct ops_ctx *ox, const char *name,
		    char *const *locals, size_t nlocals, bool catch_all,
		    json_t **created, struct error *err)
{
	struct mailbox *mbs;
	struct domain cur;
	size_t i, n = nlocals + (catch_all ? 1 : 0);
	int rc = -1;

	*created = NULL;
	if (n == 0)
		return error_set(err, ERR_INVALID, "local",
				 "give LOCAL parts or --catch-all");
	if (ops_domain_get(ox, name, &cur, NULL, err) < 0)
		return -1;
	if (cur.mode != MODE_POP3)
		return error_set(err, ERR_CONFLICT, "mode",
				 "%s is a %s domain: mailboxes belong to pop3 "
				 "domains (temp-pop3 makes temporary ones)",
				 cur.name.alabel, domain_mode_names[cur.mode]);
	mbs = xcalloc(n, sizeof(*mbs));
	/* validate every local part before creating any mailbox */
	for (i = 0; i < nlocals; i++)
		if (mailbox_local_parse(locals[i], mbs[i].local, err) < 0)
			goto out;
	if (catch_all) {
		if (strlcpy_checked(mbs[nlocals].local, "catch-all",
				    sizeof(mbs[nlocals].local)) < 0)
			goto out;
		mbs[nlocals].catch_all = true;
	}
	*created = json_array();
	for (i = 0; i < n; i++) {
		char hash[MAILBOX_HASH_MAX + 1];
		json_t *entry = issue_password(&cur, &mbs[i], hash, err);
		int r = entry ? store_mailbox_add(ox->store, &cur, &mbs[i],
						  hash, &ox->change, err)
			      : -1;

		OPENSSL_cleanse(hash, sizeof(hash));
		if (r < 0) {
			/* *created keeps the mailboxes made so far: their
			 * passwords must still reach the operator */
			json_decref(entry);
			goto out;
		}
		json_array_append_new(*created, entry);
	}
	rc = 0;
out:
	free(mbs);
	return rc;
}

/* Add local (canonical) to mbs unless it is there already. */
static int add_local(struct mailbox **mbs, size_t *n, const char *in,
		     struct error *err)
{
	char local[MAILBOX_LOCAL_MAX + 1];
	size_t i;

	if (mailbox_local_parse(in, local, err) < 0)
		return -1;
	for (i = 0; i < *n; i++)
		if (strcmp((*mbs)[i].local, local) == 0)
			return 0;
	*mbs = xrealloc(*mbs, (*n + 1) * sizeof(**mbs));
	memset(&(*mbs)[*n], 0, sizeof(**mbs));
	memcpy((*mbs)[*n].local, local, sizeof(local));
	(*mbs)[*n].temporary = true;
	(*n)++;
	return 0;
}

/* Mailboxes about to be made, each with a new password's hash; list
 * holds what to show once: [{"address", "password", "catch_all"}]. */
struct new_mailboxes {
	struct mailbox *mbs;
	char **hashes;
	size_t n;
	json_t *list;
};

static int add_locals(struct new_mailboxes *nm, char *const *locals, size_t n,
		      struct error *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (add_local(&nm->mbs, &nm->n, locals[i], err) < 0)
			return -1;
	return 0;
}

static void add_catch_all(struct new_mailboxes *nm, bool temporary)
{
	nm->mbs = xrealloc(nm->mbs, (nm->n + 1) * sizeof(*nm->mbs));
	memset(&nm->mbs[nm->n], 0, sizeof(*nm->mbs));
	memcpy(nm->mbs[nm->n].local, "catch-all", sizeof("catch-all"));
	nm->mbs[nm->n].catch_all = true;
	nm->mbs[nm->n].temporary = temporary;
	nm->n++;
}

static int issue_passwords(const struct domain *d, struct new_mailboxes *nm,
			   struct error *err)
{
	size_t i;

	nm->hashes = xcalloc(nm->n, sizeof(*nm->hashes));
	nm->list = json_array();
	for (i = 0; i < nm->n; i++) {
		json_t *entry;

		nm->hashes[i] = xcalloc(1, MAILBOX_HASH_MAX + 1);
		if ((entry = issue_password(d, &nm->mbs[i], nm->hashes[i],
					    err)) == NULL)
			return -1;
		json_array_append_new(nm->list, entry);
	}
	return 0;
}

/* The list of passwords for the caller (NULL if none), the rest wiped. */
static json_t *new_mailboxes_done(struct new_mailboxes *nm, bool made)
{
	json_t *list = made ? nm->list : NULL;
	size_t i;

	for (i = 0; nm->hashes && i < nm->n; i++) {
		OPENSSL_cleanse(nm->hashes[i], MAILBOX_HASH_MAX + 1);
		free(nm->hashes[i]);
	}
	free(nm->hashes);
	if (!made)
		json_decref(nm->list); /* passwords of nothing that was made */
	free(nm->mbs);
	memset(nm, 0, sizeof(*nm));
	return list;
}

int ops_temp_pop3(const struct ops_ctx *ox, const char *name,
		  int64_t if_version, char *const *locals, size_t nlocals,
		  bool from_queue, bool catch_all, int64_t now,
		  json_t **created, struct error *err)
{
	struct sp_req req = { .verb = SP_TEMP_POP3,
			      .nlocals = nlocals,
			      .from_queue = from_queue,
			      .catch_all = catch_all,
			      .actor = ox->change.actor,
			      .now = now };
	struct new_mailboxes nm = { 0 };
	struct sp_plan p;
	struct domain cur;
	int rc = -1;

	*created = NULL;
	if (get_plan(ox, name, if_version, &req, &cur, &p, err) < 0)
		return -1;
	if (add_locals(&nm, locals, nlocals, err) < 0)
		goto out;
	if (from_queue) {
		json_t *q = ops_queue(ox, &cur.name, err), *m, *r;
		size_t k, j;

		if (q == NULL)
			goto out;
		json_array_foreach(json_object_get(q, "messages"), k, m)
		{
			json_array_foreach(json_object_get(m, "recipients"), j,
					   r)
			{
				const char *addr = json_string_value(r);
				const char *at =
					addr ? strrchr(addr, '@') : NULL;
				char local[MAILBOX_LOCAL_MAX + 1];
				size_t ln = at ? (size_t)(at - addr) : 0;

				if (ln == 0 || ln >= sizeof(local))
					continue;
				memcpy(local, addr, ln);
				local[ln] = '\0';
				/* an address no mailbox can have is left to
				 * the catch-all, if any */
				if (add_local(&nm.mbs, &nm.n, local, err) < 0)
					error_clear(err);
			}
		}
		json_decref(q);
	}
	if (catch_all)
		add_catch_all(&nm, true);
	if (nm.n == 0) {
		error_set(err, ERR_INVALID, "mailbox",
			  "temp-pop3 needs --mailbox LOCAL, --from-queue (with "
			  "mail queued) or --catch-all");
		goto out;
	}
	if (issue_passwords(&cur, &nm, err) < 0)
		goto out;
	if (store_temp_pop3(ox->store, &cur, &p.nd, nm.mbs, nm.hashes, nm.n,
			    &ox->change, err) < 0)
		goto out;
	rc = 0;
out:
	*created = new_mailboxes_done(&nm, rc == 0);
	return rc;
}

int ops_switch_relay(const struct ops_ctx *ox, const char *name,
		     int64_t if_version, enum domain_mode to, const char *dest,
		     const char *fate, bool force, const char *confirm,
		     json_t **report, struct error *err)
{
	struct sp_req req = { .verb = to == MODE_BACKUP ? SP_TO_BACKUP
							: SP_TO_FEED,
			      .dest = dest,
			      .fate = fate,
			      .force = force,
			      .confirm = confirm };
	struct switch_req r = { 0 };
	struct sp_plan p;
	struct domain cur;
	json_t *probe = NULL;
	long jobs = 0;

	*report = NULL;
	if (to != MODE_FEED && to != MODE_BACKUP)
		return error_set(err, ERR_INTERNAL, "to",
				 "ops_switch_relay: not a relay mode");
	if (get_plan(ox, name, if_version, &req, &cur, &p, err) < 0)
		return -1;
	if (p.probe)
		probe = probe_run(&p.nd.dest, &p.nd.name,
				  ox->conf->relay_hostname, PROBE_TIMEOUT_MS);
	/* ...and under tls.policy encrypt or verify it must take TLS */
	if (probe != NULL && p.probe_binding &&
	    probe_verdict(probe, &p.nd, &p.nd.dest, "destination", true,
			  "switch", err) < 0) {
		json_decref(probe);
		return -1;
	}
	r.old = &cur;
	r.nd = &p.nd;
	r.action = p.action;
	r.job_kind = p.job_kind;
	if (store_switch(ox->store, &r, &jobs, &ox->change, err) < 0) {
		json_decref(probe);
		return -1;
	}
	*report = json_pack("{s:o, s:s, s:i}", "probe",
			    probe ? probe : json_null(), "mailboxes", p.fate,
			    "jobs", (json_int_t)jobs);
	return 0;
}

int ops_switch_pop3(const struct ops_ctx *ox, const char *name,
		    int64_t if_version, char *const *locals, size_t nlocals,
		    bool catch_all, json_t **created, struct error *err)
{
	struct sp_req req = { .verb = SP_TO_POP3,
			      .nlocals = nlocals,
			      .catch_all = catch_all };
	struct switch_req r = { 0 };
	struct new_mailboxes nm = { 0 };
	struct sp_plan p;
	struct domain cur;
	size_t i;
	long jobs = 0;
	int rc = -1;

	*created = NULL;
	if (get_plan(ox, name, if_version, &req, &cur, &p, err) < 0)
		return -1;
	if (add_locals(&nm, locals, nlocals, err) < 0)
		goto out;
	/* add_local() marks them temporary: these are for good */
	for (i = 0; i < nm.n; i++)
		nm.mbs[i].temporary = false;
	if (catch_all)
		add_catch_all(&nm, false);
	if (issue_passwords(&cur, &nm, err) < 0)
		goto out;
	r.old = &cur;
	r.nd = &p.nd;
	r.action = p.action;
	r.mbs = nm.mbs;
	r.hashes = nm.hashes;
	r.n = nm.n;
	if (store_switch(ox->store, &r, &jobs, &ox->change, err) < 0)
		goto out;
	rc = 0;
out:
	*created = new_mailboxes_done(&nm, rc == 0);
	return rc;
}

int ops_revert(const struct ops_ctx *ox, const char *name, int64_t if_version,
	       long keep_days, int64_t now, json_t **report, struct error *err)
{
	struct sp_req req = { .verb = SP_REVERT,
			      .keep_days = keep_days,
			      .now = now };
	struct switch_req r = { 0 };
	struct sp_plan p;
	struct domain cur;
	long jobs = 0;

	*report = NULL;
	if (get_plan(ox, name, if_version, &req, &cur, &p, err) < 0)
		return -1;
	r.old = &cur;
	r.nd = &p.nd;
	r.action = p.action;
	r.temp_only = p.temp_only;
	r.job_kind = p.job_kind;
	r.run_after = p.run_after;
	r.keep_until = p.keep_until;
	if (store_switch(ox->store, &r, &jobs, &ox->change, err) < 0)
		return -1;
	*report = json_pack("{s:s, s:i, s:o}", "mailboxes", p.fate, "jobs",
			    (json_int_t)jobs, "keep_until",
			    p.keep_until ? json_integer(p.keep_until)
					 : json_null());
	return 0;
}

int ops_mailbox_passwd(const struct ops_ctx *ox, const char *name,
		       const char *local, json_t **changed, struct error *err)
{
	char lp[MAILBOX_LOCAL_MAX + 1], pw[MAILBOX_PASSWORD_LEN + 1];
	char hash[MAILBOX_HASH_MAX + 1];
	struct strbuf addr = STRBUF_INIT;
	struct domain cur;
	int rc = -1;

	*changed = NULL;
	if (ops_domain_get(ox, name, &cur, NULL, err) < 0 ||
	    mailbox_local_parse(local, lp, err) < 0)
		return -1;
	if (mailbox_password_new(pw, err) < 0 ||
	    mailbox_password_hash(pw, hash, err) < 0 ||
	    store_mailbox_passwd(ox->store, &cur, lp, hash, &ox->change, err) <
		    0)
		goto out;
	sbuf_addf(&addr, "%s@%s", lp, cur.name.alabel);
	*changed =
		json_pack("[{s:s, s:s}]", "address", addr.buf, "password", pw);
	rc = 0;
out:
	sbuf_release(&addr);
	OPENSSL_cleanse_str(pw);
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc;
}

int ops_mailbox_remove(const struct ops_ctx *ox, const char *name,
		       const char *local, struct error *err)
{
	char lp[MAILBOX_LOCAL_MAX + 1];
	struct domain cur;

	if (ops_domain_get(ox, name, &cur, NULL, err) < 0 ||
	    mailbox_local_parse(local, lp, err) < 0)
		return -1;
	return store_mailbox_remove(ox->store, &cur, lp, &ox->change, err);
}

int ops_rule(const struct ops_ctx *ox, const char *name, bool add,
	     const char *action, const char *kind, const char *value,
	     struct error *err)
{
	struct domain cur;
	struct rule r;

	/*
	 * removing takes any stored shape, so that a regex saved before
	 * the checks grew stricter can still be removed
	 */
	if (ops_domain_get(ox, name, &cur, NULL, err) < 0 ||
	    (add ? rule_parse(action, kind, value, &r, err)
		 : rule_parse_stored(action, kind, value, &r, err)) < 0)
		return -1;
	if (add)
		return store_rule_add(ox->store, &cur, &r, &ox->change, err);
	return store_rule_remove(ox->store, &cur, &r, &ox->change, err);
}

json_t *ops_mailboxes_json(const struct ops_ctx *ox, const struct domain *d,
			   struct error *err)
{
	struct mailbox *mbs = NULL;
	json_t *list;
	size_t n = 0, k;
	char when[32];

	if (store_mailbox_list(ox->store, &d->name, &mbs, &n, err) < 0)
		return NULL;
	list = json_array();
	for (k = 0; k < n; k++) {
		struct strbuf a = STRBUF_INIT;

		sbuf_addf(&a, "%s@%s", mbs[k].local, d->name.alabel);
		time_format_utc(mbs[k].created_at, when, sizeof(when));
		json_array_append_new(
			list,
			json_pack("{s:s, s:b, s:b, s:s}", "address", a.buf,
				  "temporary", mbs[k].temporary, "catch_all",
				  mbs[k].catch_all, "created_at", when));
		sbuf_release(&a);
	}
	free(mbs);
	return list;
}

json_t *ops_rules_json(const struct ops_ctx *ox, const struct domain *d,
		       struct error *err)
{
	struct rule *rules = NULL;
	json_t *list;
	size_t n = 0, k;

	if (store_rule_list(ox->store, &d->name, &rules, &n, err) < 0)
		return NULL;
	list = json_array();
	for (k = 0; k < n; k++) {
		struct error why = ERROR_INIT;
		struct rule check;
		json_t *o = json_pack("{s:s, s:s, s:s}", "action",
				      rule_action_names[rules[k].action],
				      "kind", rule_kind_names[rules[k].kind],
				      "value", rules[k].value);

		/* saved before the checks grew stricter: relays skip it */
		if (rule_parse(rule_action_names[rules[k].action],
			       rule_kind_names[rules[k].kind], rules[k].value,
			       &check, &why) < 0)
			json_object_set_new(o, "refused",
					    json_string(error_msg(&why)));
		error_release(&why);
		json_array_append_new(list, o);
	}
	free(rules);
	return list;
}

int ops_token_create(const struct ops_ctx *ox, const char *name,
		     const char *role, char *const *domains, size_t ndomains,
		     long expires_days, char text[TOKEN_TEXT_MAX + 1],
		     struct error *err)
{
	unsigned char hash[TOKEN_HASH_LEN];
	struct token_info t = { 0 };
	size_t i;
	int rc = -1;

	if (token_name_check(name, err) < 0 ||
	    token_role_parse(role, &t.role, err) < 0)
		return -1;
	if (strlcpy_checked(t.name, name, sizeof(t.name)) < 0)
		return error_set(err, ERR_INVALID, "name", "name too long");
	if (expires_days > 0)
		t.expires_at = (int64_t)time(NULL) + expires_days * 86400;
	t.ndomains = ndomains;
	t.domains = xcalloc(ndomains ? ndomains : 1, sizeof(*t.domains));
	for (i = 0; i < ndomains; i++)
		if (ops_name(ox->conf, domains[i], &t.domains[i], err) < 0)
			goto out;
	if (token_new(text, hash, err) < 0)
		goto out;
	rc = store_token_create(ox->store, &t, hash, &ox->change, err);
	if (rc < 0)
		OPENSSL_cleanse(text, TOKEN_TEXT_MAX + 1);
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	free(t.domains);
	return rc;
}

/* ---- staff users ----------------------------------------------------- */

/* The group's names, each through ops_name(); *out allocated. */
static int staff_domains(const struct ops_ctx *ox, char *const *domains,
			 size_t n, struct domain_name **out, struct error *err)
{
	size_t i;

	*out = xcalloc(n ? n : 1, sizeof(**out));
	for (i = 0; i < n; i++)
		if (ops_name(ox->conf, domains[i], &(*out)[i], err) < 0) {
			free(*out);
			*out = NULL;
			return -1;
		}
	return 0;
}

int ops_staff_add(const struct ops_ctx *ox, const char *login, const char *role,
		  char *const *domains, size_t ndomains, struct error *err)
{
	struct staff_info st = { { 0 }, ROLE_READ, 0, NULL };
	int rc;

	if (auth_login_check(login, err) < 0 ||
	    token_role_parse(role, &st.role, err) < 0)
		return -1;
	if (strlcpy_checked(st.login, login, sizeof(st.login)) < 0)
		return error_set(err, ERR_INVALID, "login", "login too long");
	if (staff_domains(ox, domains, ndomains, &st.domains, err) < 0)
		return -1;
	st.ndomains = ndomains;
	rc = store_staff_add(ox->store, &st, &ox->change, err);
	free(st.domains);
	return rc;
}

int ops_staff_set(const struct ops_ctx *ox, const char *login, const char *role,
		  char *const *domains, size_t ndomains, bool domains_given,
		  struct error *err)
{
	struct domain_name *dv = NULL;
	enum token_role r = ROLE_READ;
	int rc;

	if (auth_login_check(login, err) < 0)
		return -1;
	if (role == NULL && !domains_given)
		return error_set(err, ERR_INVALID, NULL,
				 "nothing to change: give a role or the "
				 "domains");
	if (role != NULL && token_role_parse(role, &r, err) < 0)
		return -1;
	if (domains_given && staff_domains(ox, domains, ndomains, &dv, err) < 0)
		return -1;
	rc = store_staff_set(ox->store, login, role ? &r : NULL, dv, ndomains,
			     domains_given, &ox->change, err);
	free(dv);
	return rc;
}

int ops_staff_remove(const struct ops_ctx *ox, const char *login,
		     struct error *err)
{
	if (auth_login_check(login, err) < 0)
		return -1;
	return store_staff_remove(ox->store, login, &ox->change, err);
}
