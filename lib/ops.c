/*
 * ops - the verbs of mxfeed, shared by feedctl and the API: the core
 *
 * See ops.h.  Every function follows one shape: validate all input into
 * typed values first, read the current record, compute the new record
 * with the model's setting table, check it as a whole, and only then
 * write.  Nothing here prints or exits.
 *
 * This file holds the domain record itself: get, add, set/patch,
 * remove, apply and their diffs, the version check, the commit and the
 * probe of new destinations (shared through ops_int.h), plus probe
 * and rules.  The verb families live beside it: ops_queue.c (queues,
 * quarantine, refusals, trace), ops_mailbox.c, ops_switch.c (mode
 * switches, temp-pop3, revert, extend), ops_admin.c (tokens, staff)
 * and ops_relay.c (retire, activate, drain).
 */
#include "ops.h"

#include <stdlib.h>
#include <string.h>

#include "domain_json.h"
#include "ops_int.h"
#include "probe.h"
#include "util/log.h"
#include "util/parse.h"

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
int ops_probe_verdict(const json_t *probe, const struct domain *nd,
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

/* Probe d for nd; refuse it (ERR_CONFLICT) as ops_probe_verdict() says. */
static int probe_or_refuse(const struct ops_ctx *ox, const struct domain *nd,
			   const struct dest *d, const char *field,
			   bool new_dest, struct error *err)
{
	json_t *probe = probe_run(d, &nd->name, ox->conf->relay_hostname,
				  PROBE_TIMEOUT_MS);
	int rc = ops_probe_verdict(probe, nd, d, field, new_dest, "save", err);

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

int ops_check_version(const struct domain *cur, int64_t if_version,
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
int ops_get_plan(const struct ops_ctx *ox, const char *name, int64_t if_version,
		 const struct sp_req *req, struct domain *cur,
		 struct sp_plan *p, struct error *err)
{
	if (ops_domain_get(ox, name, cur, NULL, err) < 0 ||
	    ops_check_version(cur, if_version, err) < 0)
		return -1;
	return switch_plan(cur, req, ox->conf, p, err);
}

/* Write nd over cur unless nothing changed. */
int ops_commit_change(const struct ops_ctx *ox, const struct domain *cur,
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
		if (ops_check_version(&cur, if_version, err) < 0)
			return -1;
		*out = cur;
		if (change(out, arg, ox->conf, err) < 0)
			return -1;
		if (ops_commit_change(ox, &cur, out, "set", changed, err) == 0)
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

int ops_domain_remove(const struct ops_ctx *ox, const char *name,
		      int64_t if_version, const char *confirm,
		      bool bounce_queue, struct error *err)
{
	struct sp_req req = { .verb = SP_REMOVE,
			      .confirm = confirm,
			      .bounce_queue = bounce_queue };
	struct sp_plan p;
	struct domain cur;

	if (ops_get_plan(ox, name, if_version, &req, &cur, &p, err) < 0)
		return -1;
	if (p.bounce_queue) {
		if (ops_remove_bounce(ox, &cur.name, err) < 0)
			return -1;
	} else if (ops_remove_queue_check(ox, &cur.name, err) < 0) {
		return -1;
	}
	return store_domain_remove(ox->store, &cur, &ox->change, err);
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

json_t *ops_json_changes(const json_t *old, const json_t *new)
{
	if (!json_is_object(old) || !json_is_object(new))
		return json_array();
	return diff_objects(old, new, true);
}

json_t *ops_domain_diff(const struct domain *a, const struct domain *b)
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
			changes = ops_domain_diff(&st.cur[i], &st.next[i]);
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
