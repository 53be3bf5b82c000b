/*
 * api - the JSON API of SPEC section 7 under /api/v1/, and /healthz
 *
 * A route table maps (method, path shape) to a handler and the role it
 * needs.  Every request is authenticated (Bearer token), checked
 * against the token's scope for a domain route (another domain, or a
 * path segment that is no domain name, is 404, exactly as a missing
 * one, whatever the method), then against the route's role.  Handlers
 * parse the request's syntax, call lib/ops and render the result; the
 * rules are in lib/.  Strict input: a body must be application/json
 * (PATCH also application/merge-patch+json), at most 64 KiB, loaded by
 * json_load_strict (duplicate keys, depth, UTF-8).  PATCH requires
 * If-Match (428 without, 412 when stale); DELETE and the switching
 * verbs (switch, temp-pop3, revert, extend) check an optional one the
 * same way.  POSTs honour Idempotency-Key.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apipath.h"
#include "domain_json.h"
#include "idem.h"
#include "fcgi.h"
#include "ops.h"
#include "ops_view.h"
#include "probe.h"
#include "probegate.h"
#include "queue.h"
#include "util/http.h"
#include "util/log.h"
#include "util/parse.h"
#include "verbarg.h"

#define LIST_DEFAULT 100

struct call {
	struct req *q;
	struct resp *r;
	struct principal who;
	struct ops_ctx ox;
	const char *name;      /* {name} of the path, or NULL */
	struct domain_name dn; /* name, as path_domain() parsed it */
	struct api_path path;  /* its pieces (lib/apipath) */
	struct error err;
	bool secret; /* the answer holds passwords: never stored */
};

typedef void (*handler_fn)(struct call *c);

struct route {
	const char *method;
	enum api_shape shape;
	const char *sub; /* for API_DOMAIN_SUB */
	enum token_role need;
	handler_fn fn;
};

static void fail(struct call *c)
{
	resp_problem(c->r, 0, &c->err);
}

static void etag(struct call *c, const struct domain *d)
{
	char v[32];

	(void)snprintf(v, sizeof(v), "\"%lld\"", (long long)d->version);
	resp_header_text(c->r, "ETag", v);
}

static void send_domain(struct call *c, int status, const struct domain *d,
			const struct propagation *p)
{
	/* written straight into the answer: no tree (the GET's cost) */
	domain_json_write(resp_json_begin(c->r, status), d, p);
	resp_json_end(c->r);
	etag(c, d);
}

/* Parse the body as one JSON document of an accepted media type. */
static json_t *body_json(struct call *c, const char *const *types)
{
	const char *ct = c->q->content_type ? c->q->content_type : "";
	size_t n = strcspn(ct, "; ");
	json_t *j;
	int i;

	for (i = 0; types[i]; i++)
		if (strlen(types[i]) == n && strncasecmp(ct, types[i], n) == 0)
			break;
	if (types[i] == NULL) {
		struct strbuf m = STRBUF_INIT;

		sbuf_addf(&m, "Content-Type must be %s", types[0]);
		if (types[1])
			sbuf_addf(&m, " or %s", types[1]);
		resp_problem_msg(c->r, 415, "Content-Type", m.buf);
		sbuf_release(&m);
		return NULL;
	}
	j = json_load_strict(c->q->body.buf, c->q->body.len, JSON_BODY_MAX,
			     &c->err);
	/* not JSON: 400; JSON whose value is bad for a field: 422 */
	if (j == NULL)
		resp_problem(c->r, c->err.field[0] ? 422 : 400, &c->err);
	return j;
}

/*
 * The {name} of a domain route, checked before the route's role: a
 * segment that is not a domain name names no domain, and a domain
 * outside the token's scope is answered exactly as a missing one, on
 * every route and method, so that a scoped token cannot even learn
 * from a 403 that the domain exists.
 */
static int path_domain(struct call *c)
{
	if (ops_name(c->ox.conf, c->name, &c->dn, &c->err) < 0 ||
	    !auth_sees(&c->who, c->dn.alabel)) {
		error_clear(&c->err);
		resp_problem_msg(c->r, 404, "name", "no such domain");
		return -1;
	}
	log_ctx_set(LOG_F_DOMAIN, c->dn.alabel);
	if (c->path.item[0] != '\0')
		log_ctx_set(LOG_F_QUEUE_ID, c->path.item);
	return 0;
}

/* Read the domain of the path (path_domain() has vetted the name into
 * c->dn: it is not parsed again). */
static int load(struct call *c, struct domain *d, struct propagation *p)
{
	if (ops_domain_read(&c->ox, &c->dn, d, p, &c->err) < 0) {
		fail(c);
		return -1;
	}
	return 0;
}

/*
 * If-Match: required (428), parsed (400); *v = -1 for "*".  A weak tag
 * is a valid one that never matches (strong comparison): 412.
 */
static int if_match(struct call *c, bool required, int64_t *v)
{
	*v = OPS_NO_VERSION;
	if (c->q->if_match == NULL) {
		if (!required)
			return 0;
		resp_problem_msg(c->r, 428, "If-Match",
				 "send If-Match with the ETag you read, so "
				 "that a concurrent change is not overwritten");
		return -1;
	}
	if (http_etag_parse(c->q->if_match, v, &c->err) < 0) {
		resp_problem(c->r, 400, &c->err);
		return -1;
	}
	if (*v == HTTP_ETAG_WEAK) {
		error_set(&c->err, ERR_STALE, "If-Match",
			  "If-Match holds a weak entity tag, which never "
			  "matches: send the ETag as read, like \"3\"");
		fail(c);
		return -1;
	}
	return 0;
}

/* ---- handlers ----------------------------------------------------- */

/* ?mode=&match=&limit=&after= into *f: 0, or -1 answered (400). */
static int list_filter(struct call *c, const struct http_form *qs,
		       struct domain_filter *f)
{
	const char *v;
	size_t k;
	long limit;

	for (k = 0; k < qs->n; k++)
		if (parse_enum(qs->v[k].name,
			       (const char *const[]){ "mode", "match", "limit",
						      "after", NULL }) < 0 ||
		    http_form_count(qs, qs->v[k].name) > 1) {
			resp_problem_msg(c->r, 400, "query",
					 "query parameters are mode, match, "
					 "limit and after, each at most once");
			return -1;
		}
	if ((v = http_form_get(qs, "mode")) != NULL &&
	    (f->mode = parse_enum(v, domain_mode_names)) < 0) {
		resp_problem_msg(c->r, 400, "mode",
				 "mode must be pop3, feed or backup");
		return -1;
	}
	f->match = http_form_get(qs, "match");
	if (f->match != NULL && strlen(f->match) > 253) {
		resp_problem_msg(c->r, 400, "match", "match is too long");
		return -1;
	}
	if ((v = http_form_get(qs, "limit")) != NULL) {
		if (parse_long(v, 1, 1000, &limit, "limit", &c->err) < 0) {
			resp_problem(c->r, 400, &c->err);
			return -1;
		}
		f->limit = limit;
	}
	f->after = http_form_get(qs, "after");
	if (f->after != NULL && strlen(f->after) > DOMAIN_NAME_MAX) {
		resp_problem_msg(c->r, 400, "after", "after is too long");
		return -1;
	}
	return 0;
}

/* The Link header to the page after last. */
static void list_link(struct call *c, const struct domain_filter *f,
		      const char *last)
{
	struct strbuf link = STRBUF_INIT;

	sbuf_addf(&link, "</api/v1/domains?limit=%ld&after=", f->limit);
	sbuf_addurl(&link, last);
	if (f->mode >= 0)
		sbuf_addf(&link, "&mode=%s", domain_mode_names[f->mode]);
	if (f->match) {
		sbuf_addstr(&link, "&match=");
		sbuf_addurl(&link, f->match);
	}
	sbuf_addstr(&link, ">; rel=\"next\"");
	resp_header(c->r, "Link", "%s", link.buf);
	sbuf_release(&link);
}

static void h_list(struct call *c)
{
	struct domain_filter f = { -1, NULL, NULL, LIST_DEFAULT, NULL, 0 };
	struct http_form qs = HTTP_FORM_INIT;
	struct domain_list l = { 0 };
	struct strbuf *body;
	size_t k;

	if (http_form_parse(c->q->query, strlen(c->q->query), &qs, &c->err) <
	    0) {
		resp_problem(c->r, 400, &c->err);
		return;
	}
	if (list_filter(c, &qs, &f) < 0)
		goto out;
	if (c->who.nscope > 0) {
		f.scope = c->who.scope;
		f.nscope = c->who.nscope;
	}
	if (ops_domain_page(&c->ox, &f, &l, &c->err) < 0) {
		fail(c);
		goto out;
	}
	/* {"domains":[...],"next":...} written straight into the answer */
	body = resp_json_begin(c->r, 200);
	sbuf_addstr(body, "{\"domains\":[");
	for (k = 0; k < l.n; k++) {
		if (k > 0)
			sbuf_addch(body, ',');
		domain_json_write(body, &l.v[k], &l.prop[k]);
	}
	sbuf_addstr(body, "],\"next\":");
	if (l.n == (size_t)f.limit && l.n > 0) {
		domain_json_write_string(body, l.v[l.n - 1].name.alabel);
		list_link(c, &f, l.v[l.n - 1].name.alabel);
	} else {
		sbuf_addstr(body, "null");
	}
	sbuf_addch(body, '}');
	resp_json_end(c->r);
	domain_list_release(&l);
out:
	http_form_release(&qs);
}

/*
 * "force": true in a create or patch body skips the probe of a new
 * destination (feedctl --force); it is a request option, not a field
 * of the domain, so it is taken out before the body is read as one.
 */
static int take_force(struct call *c, json_t *doc)
{
	const json_t *f = json_object_get(doc, "force");

	if (f == NULL)
		return 0;
	if (!json_is_boolean(f))
		return error_set(&c->err, ERR_INVALID, "force",
				 "force is true or false");
	c->ox.force = json_is_true(f);
	return json_object_del(doc, "force");
}

static void h_create(struct call *c)
{
	static const char *const types[] = { "application/json", NULL };
	const json_t *jn;
	struct domain d;
	json_t *doc = body_json(c, types);

	if (doc == NULL)
		return;
	if (take_force(c, doc) < 0) {
		fail(c);
		json_decref(doc);
		return;
	}
	jn = json_object_get(doc, "name");
	if (c->who.nscope > 0 && json_is_string(jn)) {
		struct domain_name dn;

		if (ops_name(c->ox.conf, json_string_value(jn), &dn, &c->err) ==
			    0 &&
		    !auth_sees(&c->who, dn.alabel)) {
			resp_problem_msg(c->r, 403, "name",
					 "this token may not create domains "
					 "outside its scope");
			json_decref(doc);
			return;
		}
		error_clear(&c->err);
	}
	if (ops_domain_create_json(&c->ox, doc, &d, &c->err) < 0) {
		/* the store's unique violation; a failed probe says its own */
		if (c->err.code == ERR_CONFLICT && c->err.field[0] == '\0')
			error_set(&c->err, ERR_CONFLICT, "name",
				  "domain exists");
		fail(c);
	} else {
		struct strbuf loc = STRBUF_INIT;

		send_domain(c, 201, &d, NULL);
		sbuf_addstr(&loc, "/api/v1/domains/");
		sbuf_addurl(&loc, d.name.alabel);
		resp_header(c->r, "Location", "%s", loc.buf);
		sbuf_release(&loc);
	}
	json_decref(doc);
}

static void h_get(struct call *c)
{
	struct propagation p;
	struct domain d;

	if (load(c, &d, &p) == 0)
		send_domain(c, 200, &d, &p);
}

static void h_patch(struct call *c)
{
	static const char *const types[] = { "application/merge-patch+json",
					     "application/json", NULL };
	struct propagation p;
	struct domain d, nd;
	bool changed = false;
	int64_t v;
	json_t *doc;

	if (load(c, &d, &p) < 0 || if_match(c, true, &v) < 0 ||
	    (doc = body_json(c, types)) == NULL)
		return;
	if (take_force(c, doc) < 0 ||
	    ops_domain_patch(&c->ox, d.name.alabel, doc, v, &nd, &changed,
			     &c->err) < 0)
		fail(c);
	else if (ops_domain_get(&c->ox, d.name.alabel, &nd, &p, &c->err) < 0)
		fail(c);
	else
		send_domain(c, 200, &nd, &p);
	json_decref(doc);
}

/* DELETE ...?bounce_queue=true: feedctl remove --bounce-queue */
static void h_delete(struct call *c)
{
	struct http_form qs = HTTP_FORM_INIT;
	const char *bq;
	struct domain d;
	bool bounce;
	int64_t v;

	if (http_form_parse(c->q->query, strlen(c->q->query), &qs, &c->err) <
	    0) {
		resp_problem(c->r, 400, &c->err);
		return;
	}
	bq = http_form_get(&qs, "bounce_queue");
	bounce = bq != NULL && strcmp(bq, "true") == 0;
	if (qs.n > (bq ? 1u : 0u) ||
	    (bq != NULL && !bounce && strcmp(bq, "false") != 0)) {
		http_form_release(&qs);
		resp_problem_msg(c->r, 400, "query",
				 "the one query parameter is bounce_queue=true "
				 "or false");
		return;
	}
	http_form_release(&qs);
	if (load(c, &d, NULL) < 0 || if_match(c, false, &v) < 0)
		return;
	if (ops_domain_remove(&c->ox, d.name.alabel, v, NULL, bounce, &c->err) <
	    0) {
		fail(c);
		return;
	}
	c->r->status = 204;
}

static void send_list(struct call *c, const char *key, json_t *list)
{
	json_t *o;

	if (list == NULL) {
		fail(c);
		return;
	}
	o = json_pack("{s:s, s:o}", "domain", c->name, key, list);
	resp_json(c->r, 200, o);
	json_decref(o);
}

/* The audit outlives the domain: a removed name answers its rows. */
static void h_history(struct call *c)
{
	send_list(c, "history", ops_history(&c->ox, c->name, 1000, &c->err));
}

static void h_jobs(struct call *c)
{
	struct domain d;

	if (load(c, &d, NULL) == 0)
		send_list(c, "jobs", ops_domain_jobs(&c->ox, &d.name, &c->err));
}

static void h_mailboxes(struct call *c)
{
	struct domain d;

	if (load(c, &d, NULL) == 0)
		send_list(c, "mailboxes",
			  ops_mailboxes_json(&c->ox, &d, &c->err));
}

static void h_rules(struct call *c)
{
	struct domain d;

	if (load(c, &d, NULL) == 0)
		send_list(c, "rules", ops_rules_json(&c->ox, &d, &c->err));
}

/* ?address=&message_id=&since=&limit=&after= (SPEC section 12) */
static void h_messages(struct call *c)
{
	static const char *const names[] = { "address", "message_id", "since",
					     "limit",	"after",      NULL };
	struct http_form qs = HTTP_FORM_INIT;
	struct ops_trace_in in = { 0 };
	struct domain d;
	const char *v;
	json_t *o;
	size_t k;

	if (load(c, &d, NULL) < 0)
		return;
	if (http_form_parse(c->q->query, strlen(c->q->query), &qs, &c->err) <
	    0) {
		resp_problem(c->r, 400, &c->err);
		return;
	}
	for (k = 0; k < qs.n; k++)
		if (parse_enum(qs.v[k].name, names) < 0 ||
		    http_form_count(&qs, qs.v[k].name) > 1) {
			resp_problem_msg(c->r, 400, "query",
					 "query parameters are address, "
					 "message_id, since, limit and after, "
					 "each at most once");
			goto out;
		}
	in.domain = d.name.alabel;
	in.address = http_form_get(&qs, "address");
	in.message_id = http_form_get(&qs, "message_id");
	in.since = http_form_get(&qs, "since");
	in.before = http_form_get(&qs, "after");
	if ((v = http_form_get(&qs, "limit")) != NULL &&
	    parse_long(v, 1, 500, &in.limit, "limit", &c->err) < 0) {
		resp_problem(c->r, 422, &c->err);
		goto out;
	}
	in.scope = c->who.scope;
	in.nscope = c->who.nscope;
	if ((o = ops_trace(&c->ox, &in, &c->err)) == NULL) {
		fail(c);
	} else {
		resp_json(c->r, 200, o);
		json_decref(o);
	}
out:
	http_form_release(&qs);
}

static void h_quarantine(struct call *c)
{
	struct domain d;
	json_t *q;

	if (load(c, &d, NULL) < 0)
		return;
	if ((q = ops_quarantine_list(&c->ox, &d.name, &c->err)) == NULL) {
		fail(c);
		return;
	}
	resp_json(c->r, 200, q);
	json_decref(q);
}

static void quarantine_act(struct call *c, bool release)
{
	struct domain d;
	json_t *o;

	if (load(c, &d, NULL) < 0)
		return;
	if ((o = ops_quarantine(&c->ox, &d.name, c->path.item, release,
				&c->err)) == NULL) {
		fail(c);
		return;
	}
	resp_json(c->r, 200, o);
	json_decref(o);
}

static void h_release(struct call *c)
{
	quarantine_act(c, true);
}

static void h_qdelete(struct call *c)
{
	quarantine_act(c, false);
}

static void h_queue(struct call *c)
{
	struct domain d;

	if (load(c, &d, NULL) == 0) {
		json_t *q = ops_queue(&c->ox, &d.name, &c->err);

		if (q == NULL) {
			fail(c);
			return;
		}
		resp_json(c->r, 200, q);
		json_decref(q);
	}
}

static void h_flush(struct call *c)
{
	struct domain d;
	json_t *o;

	if (load(c, &d, NULL) < 0)
		return;
	if ((o = ops_flush(&c->ox, &d.name, &c->err)) == NULL) {
		fail(c);
	} else {
		json_object_set_new(o, "flushed", json_true());
		resp_json(c->r, 202, o);
		json_decref(o);
	}
}

/* {"days": N} or {"until": "YYYY-MM-DD"} */
static void h_extend(struct call *c)
{
	static const char *const types[] = { "application/json", NULL };
	struct domain d, nd;
	int64_t ver;
	const json_t *until;
	const char *key;
	long days;
	json_t *doc, *v;

	if (load(c, &d, NULL) < 0 || if_match(c, false, &ver) < 0 ||
	    (doc = body_json(c, types)) == NULL)
		return;
	json_object_foreach(doc, key, v)
	{
		if (strcmp(key, "days") != 0 && strcmp(key, "until") != 0) {
			error_set(&c->err, ERR_INVALID, NULL,
				  "extend takes \"days\" or \"until\" only");
			goto bad;
		}
	}
	until = json_object_get(doc, "until");
	if (verb_arg_json(VA_DAYS, json_object_get(doc, "days"), &days,
			  &c->err) < 0)
		goto bad;
	if (until != NULL && !json_is_string(until)) {
		error_set(&c->err, ERR_INVALID, "until",
			  "until is a date, YYYY-MM-DD");
		goto bad;
	}
	if (ops_extend(&c->ox, d.name.alabel, ver, days,
		       until ? json_string_value(until) : NULL,
		       (int64_t)time(NULL), &nd, &c->err) < 0)
		goto bad;
	send_domain(c, 200, &nd, NULL);
	json_decref(doc);
	return;
bad:
	fail(c);
	json_decref(doc);
}

static void h_probe(struct call *c)
{
	struct domain d;
	json_t *r;

	if (load(c, &d, NULL) < 0)
		return;
	if (ops_probe(&c->ox, d.name.alabel, &r, &c->err) < 0) {
		fail(c);
		return;
	}
	resp_json(c->r, 200, r);
	json_decref(r);
}

/* {"mailboxes": ["LOCAL", ...], "from_queue": bool, "catch_all": bool} */

/* Member key of doc, a list of local parts, into locals (at most
 * LOCALS_MAX; the strings stay doc's).  -1 with c->err set. */
static int body_locals(struct call *c, const json_t *doc, const char *key,
		       char **locals, size_t *n)
{
	const json_t *mb = json_object_get(doc, key), *v;
	size_t i;

	*n = 0;
	if ((mb != NULL && !json_is_array(mb)) ||
	    json_array_size(mb) > LOCALS_MAX)
		return error_set(&c->err, ERR_INVALID, key,
				 "%s is a list of at most %d local parts", key,
				 LOCALS_MAX);
	json_array_foreach(mb, i, v)
	{
		if (!json_is_string(v))
			return error_set(&c->err, ERR_INVALID, key,
					 "%s holds local parts (strings)", key);
		locals[(*n)++] = (char *)json_string_value(v);
	}
	return 0;
}

static void h_temp_pop3(struct call *c)
{
	static const char *const types[] = { "application/json", NULL };
	char *locals[LOCALS_MAX];
	size_t n = 0;
	const char *key;
	json_t *doc, *v, *created = NULL, *o;
	struct domain d;
	int64_t ver;

	if (load(c, &d, NULL) < 0 || if_match(c, false, &ver) < 0 ||
	    (doc = body_json(c, types)) == NULL)
		return;
	json_object_foreach(doc, key, v)
	{
		if (strcmp(key, "mailboxes") != 0 &&
		    strcmp(key, "from_queue") != 0 &&
		    strcmp(key, "catch_all") != 0) {
			error_set(&c->err, ERR_INVALID, NULL,
				  "temp-pop3 takes mailboxes, from_queue and "
				  "catch_all only");
			goto bad;
		}
	}
	if (body_locals(c, doc, "mailboxes", locals, &n) < 0)
		goto bad;
	if ((json_object_get(doc, "from_queue") &&
	     !json_is_boolean(json_object_get(doc, "from_queue"))) ||
	    (json_object_get(doc, "catch_all") &&
	     !json_is_boolean(json_object_get(doc, "catch_all")))) {
		error_set(&c->err, ERR_INVALID, NULL,
			  "from_queue and catch_all are true or false");
		goto bad;
	}
	c->secret = true;
	if (ops_temp_pop3(&c->ox, d.name.alabel, ver, locals, n,
			  json_is_true(json_object_get(doc, "from_queue")),
			  json_is_true(json_object_get(doc, "catch_all")),
			  (int64_t)time(NULL), &created, &c->err) < 0)
		goto bad;
	o = json_pack("{s:s, s:o}", "domain", d.name.alabel, "mailboxes",
		      created);
	resp_json(c->r, 200, o);
	json_decref(o);
	json_decref(doc);
	return;
bad:
	fail(c);
	json_decref(doc);
}

/* Refuse members of doc not in allowed (NULL-terminated). */
static int only_members(struct call *c, const json_t *doc, const char *verb,
			const char *const *allowed)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)doc, key, v)
	{
		for (i = 0; allowed[i] && strcmp(allowed[i], key) != 0; i++)
			;
		if (allowed[i] == NULL)
			return error_set(&c->err, ERR_INVALID, key,
					 "%s does not take \"%s\"", verb, key);
	}
	return 0;
}

/* A string member (NULL when absent); -1 when it is not a string. */
static int str_member(struct call *c, const json_t *doc, const char *key,
		      const char **out)
{
	const json_t *v = json_object_get(doc, key);

	*out = json_string_value(v);
	if (v != NULL && !json_is_string(v))
		return error_set(&c->err, ERR_INVALID, key, "%s is a string",
				 key);
	return 0;
}

static int bool_member(struct call *c, const json_t *doc, const char *key,
		       bool *out)
{
	const json_t *v = json_object_get(doc, key);

	*out = json_is_true(v);
	if (v != NULL && !json_is_boolean(v))
		return error_set(&c->err, ERR_INVALID, key,
				 "%s is true or false", key);
	return 0;
}

/* switch with "dry_run": the plan of req to "to", as the answer's
 * document; NULL with c->err set. */
static json_t *dry_plan(struct call *c, const struct domain *d, const char *to,
			struct sp_req *req)
{
	json_t *out;

	req->verb = strcmp(to, "pop3") == 0	? SP_TO_POP3
		    : strcmp(to, "backup") == 0 ? SP_TO_BACKUP
						: SP_TO_FEED;
	if ((out = ops_switch_plan(&c->ox, d->name.alabel, req, &c->err)) ==
	    NULL)
		return NULL;
	return json_pack("{s:s, s:o}", "domain", d->name.alabel, "plan", out);
}

/*
 * {"to": "feed"|"backup", "dest": "IP[:PORT]", "mailboxes":
 * "forward"|"archive"| "purge", "force": b, "confirm": NAME} or {"to": "pop3",
 * "mailbox": [LOCAL...], "catch_all": b} - feedctl switch's options as JSON.
 */
static void h_switch(struct call *c)
{
	static const char *const types[] = { "application/json", NULL };
	static const char *const allowed[] = {
		"to",	   "dest",	"mailboxes", "force", "confirm",
		"mailbox", "catch_all", "dry_run",   NULL
	};
	const char *to, *dest, *fate, *confirm;
	bool force, catch_all, dry;
	char *locals[LOCALS_MAX];
	size_t n = 0;
	json_t *doc, *mb, *out = NULL, *o;
	struct domain d;
	int64_t ver;

	if (load(c, &d, NULL) < 0 || if_match(c, false, &ver) < 0 ||
	    (doc = body_json(c, types)) == NULL)
		return;
	if (only_members(c, doc, "switch", allowed) < 0 ||
	    str_member(c, doc, "to", &to) < 0 ||
	    str_member(c, doc, "dest", &dest) < 0 ||
	    str_member(c, doc, "mailboxes", &fate) < 0 ||
	    str_member(c, doc, "confirm", &confirm) < 0 ||
	    bool_member(c, doc, "force", &force) < 0 ||
	    bool_member(c, doc, "catch_all", &catch_all) < 0 ||
	    bool_member(c, doc, "dry_run", &dry) < 0)
		goto bad;
	mb = json_object_get(doc, "mailbox");
	if (body_locals(c, doc, "mailbox", locals, &n) < 0)
		goto bad;
	if (dry && to != NULL &&
	    (strcmp(to, "feed") == 0 || strcmp(to, "backup") == 0 ||
	     strcmp(to, "pop3") == 0)) {
		struct sp_req req = { .dest = dest,
				      .fate = fate,
				      .force = force,
				      .confirm = confirm,
				      .nlocals = n,
				      .catch_all = catch_all };

		if ((o = dry_plan(c, &d, to, &req)) == NULL)
			goto bad;
	} else if (to != NULL &&
		   (strcmp(to, "feed") == 0 || strcmp(to, "backup") == 0) &&
		   mb == NULL && !catch_all) {
		if (ops_switch_relay(&c->ox, d.name.alabel, ver,
				     to[0] == 'f' ? MODE_FEED : MODE_BACKUP,
				     dest, fate, force, confirm, &out,
				     &c->err) < 0)
			goto bad;
		o = json_pack("{s:s, s:o}", "domain", d.name.alabel, "switch",
			      out);
	} else if (to != NULL && strcmp(to, "pop3") == 0 && dest == NULL &&
		   fate == NULL && !force) {
		c->secret = true;
		if (ops_switch_pop3(&c->ox, d.name.alabel, ver, locals, n,
				    catch_all, &out, &c->err) < 0)
			goto bad;
		o = json_pack("{s:s, s:o}", "domain", d.name.alabel,
			      "mailboxes", out);
	} else {
		error_set(&c->err, ERR_INVALID, "to",
			  "to is \"feed\" or \"backup\" (with dest, "
			  "mailboxes, force, confirm) or \"pop3\" (with "
			  "mailbox, catch_all)");
		goto bad;
	}
	resp_json(c->r, 200, o);
	json_decref(o);
	json_decref(doc);
	return;
bad:
	fail(c);
	json_decref(doc);
}

/* {} or {"keep_days": N} */
static void h_revert(struct call *c)
{
	static const char *const types[] = { "application/json", NULL };
	static const char *const allowed[] = { "keep_days", NULL };
	json_t *doc, *out = NULL, *o;
	struct domain d;
	int64_t ver;
	long keep;

	if (load(c, &d, NULL) < 0 || if_match(c, false, &ver) < 0 ||
	    (doc = body_json(c, types)) == NULL)
		return;
	if (only_members(c, doc, "revert", allowed) < 0)
		goto bad;
	if (verb_arg_json(VA_KEEP_DAYS, json_object_get(doc, "keep_days"),
			  &keep, &c->err) < 0)
		goto bad;
	if (ops_revert(&c->ox, d.name.alabel, ver, keep, (int64_t)time(NULL),
		       &out, &c->err) < 0)
		goto bad;
	o = json_pack("{s:s, s:o}", "domain", d.name.alabel, "revert", out);
	resp_json(c->r, 200, o);
	json_decref(o);
	json_decref(doc);
	return;
bad:
	fail(c);
	json_decref(doc);
}

/*
 * A relay's last_error may name any customer's domain: only tokens that
 * see every domain (staff's) get it; a scoped token's listing has no
 * last_error field at all.
 */
static void h_relays(struct call *c)
{
	json_t *l = ops_relay_list(&c->ox, &c->err), *o, *rl;
	size_t i;

	if (l == NULL) {
		fail(c);
		return;
	}
	if (c->who.nscope > 0)
		json_array_foreach(l, i, rl) json_object_del(rl, "last_error");
	o = json_pack("{s:o}", "relays", l);
	resp_json(c->r, 200, o);
	json_decref(o);
}

/*
 * The addresses the relays send from, for customers' firewalls (seed
 * 001): public by design, the one route without a token.
 */
static void h_relay_addresses(struct call *c)
{
	json_t *l = ops_relay_addresses(&c->ox, &c->err), *o;

	if (l == NULL) {
		fail(c);
		return;
	}
	o = json_pack("{s:o}", "addresses", l);
	resp_json(c->r, 200, o);
	json_decref(o);
}

static const struct route routes[] = {
	{ "GET", API_DOMAINS, NULL, ROLE_READ, h_list },
	{ "POST", API_DOMAINS, NULL, ROLE_OPERATOR, h_create },
	{ "GET", API_DOMAIN, NULL, ROLE_READ, h_get },
	{ "PATCH", API_DOMAIN, NULL, ROLE_OPERATOR, h_patch },
	{ "DELETE", API_DOMAIN, NULL, ROLE_ADMIN, h_delete },
	{ "GET", API_DOMAIN_SUB, "history", ROLE_READ, h_history },
	{ "GET", API_DOMAIN_SUB, "jobs", ROLE_READ, h_jobs },
	{ "GET", API_DOMAIN_SUB, "mailboxes", ROLE_READ, h_mailboxes },
	{ "GET", API_DOMAIN_SUB, "rules", ROLE_READ, h_rules },
	{ "GET", API_DOMAIN_SUB, "queue", ROLE_READ, h_queue },
	{ "GET", API_DOMAIN_SUB, "messages", ROLE_READ, h_messages },
	{ "GET", API_DOMAIN_SUB, "quarantine", ROLE_READ, h_quarantine },
	{ "POST", API_QUARANTINED, "release", ROLE_OPERATOR, h_release },
	{ "POST", API_QUARANTINED, "delete", ROLE_OPERATOR, h_qdelete },
	{ "POST", API_DOMAIN_SUB, "switch", ROLE_OPERATOR, h_switch },
	{ "POST", API_DOMAIN_SUB, "temp-pop3", ROLE_OPERATOR, h_temp_pop3 },
	{ "POST", API_DOMAIN_SUB, "revert", ROLE_OPERATOR, h_revert },
	{ "POST", API_DOMAIN_SUB, "extend", ROLE_OPERATOR, h_extend },
	{ "POST", API_DOMAIN_SUB, "flush", ROLE_OPERATOR, h_flush },
	{ "POST", API_DOMAIN_SUB, "probe", ROLE_OPERATOR, h_probe },
	{ "GET", API_RELAYS, NULL, ROLE_READ, h_relays },
	/* no token: see h_relay_addresses */
	{ "GET", API_RELAY_ADDRS, NULL, ROLE_READ, h_relay_addresses },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* The template of a route's path: metrics label, OpenAPI path. */
static void route_path(const struct route *rt, char *buf, size_t size)
{
	(void)snprintf(buf, size, "%s%s", api_path_template(rt->shape),
		       rt->sub ? rt->sub : "");
}

bool api_route_at(size_t i, const char **method, char *path, size_t size,
		  const char **role)
{
	if (i >= NROUTES)
		return false;
	*method = routes[i].method;
	route_path(&routes[i], path, size);
	/* api_handle() asks no token for API_RELAY_ADDRS */
	*role = routes[i].shape == API_RELAY_ADDRS
			? NULL
			: token_role_names[routes[i].need];
	return true;
}

/*
 * Idempotency-Key on a POST (lib/idem has the rules).  idem_begin():
 * 1 when the request is answered here (a bad key, a key of another
 * request, one in progress, a replay), 0 when it is to run (key held).
 * A replay happens only after the route's scope and role checks.
 */
static void idem_replay(struct call *c, const struct idem_stored *st)
{
	json_t *h = idem_stored_headers(st->headers.buf), *v;
	const char *name;

	c->r->status = st->status;
	c->r->ctype = st->status >= 400 ? "application/problem+json"
					: "application/json";
	sbuf_reset(&c->r->body);
	sbuf_add(&c->r->body, st->body.buf, st->body.len);
	json_object_foreach(h, name, v)
	{
		/* resp_header masks CR/LF */
		resp_header(c->r, name, "%s", json_string_value(v));
	}
	json_decref(h);
	resp_header(c->r, "Idempotent-Replayed", "true");
}

static int idem_begin(struct call *c)
{
	struct idem_stored st = { 0, STRBUF_INIT, STRBUF_INIT };
	unsigned char hash[32];

	if (!http_idem_key_ok(c->q->idem_key)) {
		resp_problem_msg(c->r, 400, "Idempotency-Key",
				 "Idempotency-Key must be 1 to 255 printable "
				 "ASCII characters");
		return 1;
	}
	idem_hash(c->q->method, c->q->path, c->q->body.buf, c->q->body.len,
		  hash);
	switch (idem_start(&c->ox, c->who.token_id, c->q->idem_key, hash, &st,
			   &c->err)) {
	case IDEM_RUN:
		return 0;
	case IDEM_FAIL:
		fail(c);
		break;
	case IDEM_OTHER:
		resp_problem_msg(c->r, 422, "Idempotency-Key",
				 "this Idempotency-Key was used for a "
				 "different request");
		break;
	case IDEM_BUSY:
		resp_problem_msg(c->r, 409, "Idempotency-Key",
				 "a request with this Idempotency-Key "
				 "is in progress; retry when it is "
				 "done to get its answer");
		resp_header(c->r, "Retry-After", "1");
		break;
	case IDEM_REPLAY:
		idem_replay(c, &st);
		break;
	}
	sbuf_release(&st.body);
	sbuf_release(&st.headers);
	return 1;
}

/* Keep the answer for the reserved key, or give the key up. */
static void idem_end(struct call *c)
{
	struct error e = ERROR_INIT;

	if (idem_finish(&c->ox, c->who.token_id, c->q->idem_key, c->r->status,
			c->r->body.buf, c->r->body.len, c->r->headers.buf,
			c->secret, &e) < 0) {
		log_warn("request %s: idempotency key not stored: %s", c->q->id,
			 error_msg(&e));
		error_release(&e);
	}
}

/*
 * Probes wait on customers' servers (up to PROBE_TIMEOUT_MS; a tarpit
 * takes all of it), so they may hold at most half the workers at once,
 * and one per token: the other workers stay free for everything else.
 * Each token also has a rate (probegate.h over lib/probelimit, shared
 * with the portal's staff logins).  Past any limit: 429 with
 * Retry-After, nothing done.  A request
 * counts when it would probe: POST .../probe, a switch to feed or
 * backup, a create naming a destination or fallbacks, a PATCH naming
 * those or the mode - without "force".
 */
static bool may_probe(const struct call *c, const struct route *rt)
{
	json_t *doc;
	bool yes = false;

	if (rt->fn == h_probe)
		return true;
	if (rt->fn != h_create && rt->fn != h_patch && rt->fn != h_switch)
		return false;
	doc = json_loadb(c->q->body.buf, c->q->body.len, 0, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc); /* the route answers the bad body */
		return false;
	}
	if (rt->fn == h_switch) {
		const char *to = json_string_value(json_object_get(doc, "to"));

		yes = to != NULL &&
		      (strcmp(to, "feed") == 0 || strcmp(to, "backup") == 0) &&
		      !json_is_true(json_object_get(doc, "dry_run"));
	} else if (!json_is_true(json_object_get(doc, "force"))) {
		/* a pop3 create has nothing to probe */
		yes = json_object_get(doc, "destination") != NULL ||
		      json_object_get(doc, "fallbacks") != NULL ||
		      (rt->fn == h_patch &&
		       json_object_get(doc, "mode") != NULL);
	}
	json_decref(doc);
	return yes;
}

/* A probe slot for this token: its index, or -1 with 429 answered. */
static int probe_take(struct call *c)
{
	char msg[128];
	int retry = 0, slot = probe_gate_take(c->who.token_id, "token", &retry,
					      msg, sizeof(msg));

	if (slot < 0) {
		resp_problem_msg(c->r, 429, NULL, msg);
		resp_header(c->r, "Retry-After", "%d", retry);
		log_info("request %s: probe refused", c->q->id);
	}
	return slot;
}

static void probe_give(int slot)
{
	probe_gate_give(slot);
}

/* The route, inside a probe slot when it may probe. */
static void run_route(struct call *c, const struct route *rt)
{
	int slot = -1;

	if (may_probe(c, rt) && (slot = probe_take(c)) < 0)
		return;
	rt->fn(c);
	if (slot >= 0)
		probe_give(slot);
}

/* The route of the request's path and method, or NULL with 404 or
 * 405 answered. */
static const struct route *find_route(struct call *c)
{
	const struct api_path *p = &c->path;
	bool path_known = false;
	size_t i;

	if (api_path_parse(c->q->path, &c->path) < 0) {
		resp_problem_msg(c->r, 404, NULL, "no such resource");
		return NULL;
	}
	for (i = 0; i < NROUTES; i++) {
		if (routes[i].shape != p->shape ||
		    (p->sub != NULL && strcmp(routes[i].sub, p->sub) != 0))
			continue;
		path_known = true;
		if (strcmp(routes[i].method, c->q->method) == 0 ||
		    (strcmp(c->q->method, "HEAD") == 0 &&
		     strcmp(routes[i].method, "GET") == 0))
			return &routes[i];
	}
	if (path_known)
		resp_problem_msg(c->r, 405, NULL, "method not allowed here");
	else
		resp_problem_msg(c->r, 404, NULL, "no such resource");
	return NULL;
}

/* The token, the path's domain, the route's role and X-Ticket: 0, or
 * -1 answered. */
static int call_admit(struct call *c, const struct route *rt)
{
	struct req *q = c->q;

	if (auth_bearer(c->ox.store, &q->w->tokens, q->authorization,
			(int64_t)time(NULL), &c->who, &c->err) < 0) {
		fail(c);
		return -1;
	}
	(void)snprintf(q->actor, sizeof(q->actor), "%s", c->who.name);
	log_ctx_set(LOG_F_ACTOR, c->who.name);
	if (c->name != NULL && path_domain(c) < 0)
		return -1;
	if (auth_require(&c->who, rt->need, &c->err) < 0) {
		fail(c);
		return -1;
	}
	c->ox.change.actor = c->who.name;
	c->ox.change.ticket = "";
	if (q->ticket != NULL) {
		if (actor_check(q->ticket, "X-Ticket", &c->err) < 0) {
			resp_problem(c->r, 400, &c->err);
			return -1;
		}
		c->ox.change.ticket = q->ticket;
		log_ctx_set(LOG_F_TICKET, q->ticket);
	}
	return 0;
}

void api_handle(struct req *q, struct resp *r)
{
	struct call c = { .q = q, .r = r, .err = ERROR_INIT };
	const struct route *rt;

	if ((rt = find_route(&c)) == NULL)
		return;
	route_path(rt, q->route, sizeof(q->route));
	c.name = c.path.name[0] != '\0' ? c.path.name : NULL;
	if ((c.ox.store = worker_store(q->w, &c.err)) == NULL) {
		fail(&c);
		goto out;
	}
	c.ox.conf = q->w->conf;
	if (rt->shape == API_RELAY_ADDRS) {
		rt->fn(&c);
		goto out;
	}
	if (call_admit(&c, rt) < 0)
		goto out;
	if (strcmp(rt->method, "POST") == 0 && q->idem_key != NULL) {
		if (idem_begin(&c))
			goto out;
		run_route(&c, rt);
		idem_end(&c);
	} else {
		run_route(&c, rt);
	}
out:
	principal_release(&c.who);
	error_release(&c.err);
}

void health_handle(struct req *q, struct resp *r)
{
	struct error err = ERROR_INIT;
	struct ops_ctx ox = { .conf = q->w->conf };
	json_t *j;

	/* the relays listing is a cheap query that needs the database */
	if ((ox.store = worker_store(q->w, &err)) == NULL ||
	    (j = ops_relay_list(&ox, &err)) == NULL) {
		resp_problem(r, 503, &err);
	} else {
		json_decref(j);
		j = json_pack("{s:s}", "status", "ok");
		resp_json(r, 200, j);
		json_decref(j);
	}
	error_release(&err);
}
