/*
 * portal - the support portal under /portal/: plain HTML forms
 *
 *   GET  /portal/                  domain list: search, mode filter, paging
 *   GET  /portal/new, POST         add a domain
 *   GET  /portal/d/NAME, POST      a domain: the queue on every relay
 *                                  (count, oldest, top reasons, flush),
 *                                  recent refusals from tracking,
 *                                  the destination's TLS and probe,
 *                                  settings form, propagation,
 *                                  mailboxes, rules, jobs, history
 *   GET  /portal/d/NAME/remove, POST   confirmation page, then removal
 *   GET  /portal/d/NAME/VERB, POST     switch-feed, switch-backup,
 *                                  switch-pop3, temp-pop3, revert,
 *                                  extend, flush: a
 *                                  confirmation page for the destructive
 *                                  ones, the passwords once for new
 *                                  mailboxes (see "mail-stack verbs")
 *   POST /portal/d/NAME/rule-add   add an allow/block rule
 *   GET  /portal/d/NAME/rule-remove?action=&kind=&value=, POST
 *                                  confirmation page, then removal
 *   POST /portal/d/NAME/probe      probe now: the domain page with
 *                                  the result (nothing stored)
 *   GET  /portal/d/NAME/messages   message tracking: search by address,
 *                                  Message-ID, since; steps on click
 *   GET  /portal/relays            the relays: addresses, applied
 *                                  sequence, heartbeat, state, last error
 *   GET  /portal/static/portal.css
 *
 * The login is nginx's (MXFEED_STAFF_USER, see main.c); lib/auth
 * looks it up in staff_users (feedctl staff): a login without a row
 * gets a 403 page, a row gives the role and the domain group.  What a
 * role may do is auth_may()'s table: pages offer only the forms the
 * role may send, and every such page and POST is refused (403,
 * nothing stored) above it; a domain outside the group is "not found"
 * (404) on every page and POST, its list shows only the group.  Staff
 * are the actor of their changes, with the ticket typed in the form.  Every
 * POST must carry our Origin (403 otherwise) and the CSRF token of the login
 * (HMAC-SHA256 of the user under a key made at start-up; 403 otherwise) before
 * anything is parsed further.  A good POST answers 303 to a GET page
 * (post-redirect-get); a refused one renders the form again with the input kept
 * and each error next to its field.  Pages come from templates/portal through
 * lib/util/template, which escapes every value.
 *
 * This file: the request (struct page, portal_int.h), rendering, the
 * error pages, the Origin and CSRF guards and the routing.  The pages
 * live beside it: portal_form.c (the settings form from lib's record
 * table), portal_verbs.c (the mail-stack verbs), portal_domain.c (a
 * domain's page, add, save, probe, remove), portal_rules.c and
 * portal_list.c (domains, relays, messages).  Nothing in the portal
 * calls the store: lib/ops and lib/ops_view decide and read.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "portal_int.h"
#include "probegate.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/template.h"

/* Mark the first and last element of an array of objects. */
json_t *portal_first_last(json_t *a)
{
	size_t n = json_array_size(a), i;

	for (i = 0; i < n; i++) {
		json_t *o = json_array_get(a, i);

		if (!json_is_object(o))
			continue;
		json_object_set_new(o, "first", json_boolean(i == 0));
		json_object_set_new(o, "last", json_boolean(i + 1 == n));
	}
	return a;
}

/* Render a body template into the layout and answer with it. */
void portal_render(struct page *pg, int status, const char *title,
		   const char *tmpl, json_t *ctx, json_t *flash)
{
	struct strbuf body = STRBUF_INIT, html = STRBUF_INIT;
	json_t *lay;

	json_object_set_new(ctx, "csrf", json_string(pg->csrf));
	if (template_render(tmpl, template_get(tmpl), ctx, &body, &pg->err) < 0)
		goto bug;
	lay = json_pack(
		"{s:s, s:s, s:o, s:b, s:o, s:o}", "title", title, "user",
		pg->who.name, "role",
		pg->who.staff ? json_string(token_role_names[pg->who.role])
			      : json_null(),
		"can_add", pg->who.staff && auth_can(&pg->who, ACT_DOMAIN_ADD),
		"body", template_trusted(body.buf), "flash",
		flash ? flash : json_null());
	if (template_render("layout.html", template_get("layout.html"), lay,
			    &html, &pg->err) < 0) {
		json_decref(lay);
		goto bug;
	}
	json_decref(lay);
	pg->r->status = status;
	pg->r->ctype = "text/html; charset=utf-8";
	sbuf_reset(&pg->r->body);
	sbuf_add(&pg->r->body, html.buf, html.len);
	resp_header(pg->r, "Content-Security-Policy",
		    "default-src 'none'; style-src 'self'; img-src 'self'; "
		    "form-action 'self'; frame-ancestors 'none'");
	resp_header(pg->r, "X-Frame-Options", "DENY");
	resp_header(pg->r, "Referrer-Policy", "same-origin");
	goto out;
bug:
	log_error("request %s: %s", pg->q->id, error_msg(&pg->err));
	pg->r->status = 500;
	pg->r->ctype = "text/plain; charset=utf-8";
	sbuf_reset(&pg->r->body);
	sbuf_addstr(&pg->r->body, "internal error; see the service log\n");
out:
	sbuf_release(&body);
	sbuf_release(&html);
	json_decref(ctx);
}

/* "2026-11-28T19:17:07Z" as "2026-11-28 19:17 UTC" for people. */
json_t *portal_when(const json_t *iso)
{
	const char *t = json_string_value(iso);
	char buf[32];

	if (t == NULL || strlen(t) != 20 || t[10] != 'T' || t[19] != 'Z')
		return iso ? json_copy((json_t *)iso) : json_null();
	(void)snprintf(buf, sizeof(buf), "%.10s %.5s UTC", t, t + 11);
	return json_string(buf);
}

json_t *portal_flash(const char *kind, const char *text)
{
	return json_pack("{s:s, s:s}", "kind", kind, "text", text);
}

void portal_error_page(struct page *pg, int status, const char *message)
{
	portal_render(pg, status, http_reason(status), "error.html",
		      json_pack("{s:s, s:s}", "heading", http_reason(status),
				"message", message),
		      NULL);
}

/* An error from lib: the page a staff member should see for it. */
void portal_error_page_err(struct page *pg)
{
	int status = error_http_status(pg->err.code);

	if (status == 503)
		portal_error_page(
			pg, 503,
			"The database is unavailable; nothing was changed. "
			"Try again in a few seconds.");
	else if (status == 500)
		portal_error_page(
			pg, 500,
			"Internal error; the details are in the service "
			"log.");
	else
		portal_error_page(pg, status, error_msg(&pg->err));
	if (status == 503)
		resp_header(pg->r, "Retry-After", "5");
}

/* The login's key in the probe limits (probe_gate_take()): negative,
 * apart from every token id; one per login name. */
int64_t portal_login_key(const struct page *pg)
{
	uint64_t h = 14695981039346656037ULL;
	const char *c;

	for (c = pg->who.name; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ULL;
	return -(int64_t)(h >> 2) - 1;
}

/*
 * A probe slot for this staff login (the API's limits, lib/probelimit,
 * one key per login as for "Probe now"): >= 0, or -1 with a 429 page
 * saying when to try again.  Taken by a form that would probe a
 * customer's server: a destination, fallbacks or mode saved, a domain
 * added with a destination, a switch to feed or backup - without
 * "force".
 */
int portal_probe_take(struct page *pg)
{
	struct strbuf text = STRBUF_INIT;
	char msg[128];
	int retry = 0, slot;

	slot = probe_gate_take(portal_login_key(pg), "login", &retry, msg,
			       sizeof(msg));
	if (slot >= 0)
		return slot;
	sbuf_addf(&text,
		  "The destination server is probed before a change, and %s. "
		  "Try again in %d seconds.",
		  msg, retry);
	portal_error_page(pg, 429, text.buf);
	resp_header(pg->r, "Retry-After", "%d", retry);
	sbuf_release(&text);
	return -1;
}

void portal_redirect(struct page *pg, const char *location)
{
	pg->r->status = 303;
	pg->r->ctype = "text/plain; charset=utf-8";
	resp_header(pg->r, "Location", "%s", location);
	sbuf_addstr(&pg->r->body, "see other\n");
}

void portal_domain_href(struct strbuf *sb, const char *alabel, const char *tail)
{
	sbuf_addstr(sb, "/portal/d/");
	sbuf_addurl(sb, alabel);
	sbuf_addstr(sb, tail);
}

static void csrf_make(struct page *pg)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[32];
	unsigned int len = sizeof(mac);
	size_t i;

	if (HMAC(EVP_sha256(), pg->q->w->csrf_key, sizeof(pg->q->w->csrf_key),
		 (const unsigned char *)pg->who.name, strlen(pg->who.name), mac,
		 &len) == NULL)
		memset(mac, 0, sizeof(mac)); /* then no POST will pass */
	for (i = 0; i < sizeof(mac); i++) {
		pg->csrf[2 * i] = hex[mac[i] >> 4];
		pg->csrf[2 * i + 1] = hex[mac[i] & 15];
	}
	pg->csrf[CSRF_HEX] = '\0';
}

/* Origin, form body and CSRF token of a POST; 0 when all is well. */
static int post_guard(struct page *pg)
{
	const char *ct = pg->q->content_type ? pg->q->content_type : "";
	const char *tok;

	if (!http_same_origin(pg->q->origin, pg->q->scheme, pg->q->host)) {
		portal_error_page(
			pg, 403,
			"This form was not sent from this site (missing "
			"or foreign Origin); nothing was changed.");
		return -1;
	}
	if (strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		portal_error_page(pg, 415, "Forms must be sent url-encoded.");
		return -1;
	}
	if (http_form_parse(pg->q->body.buf, pg->q->body.len, &pg->form,
			    &pg->err) < 0) {
		portal_error_page(pg, 400, error_msg(&pg->err));
		return -1;
	}
	tok = http_form_get(&pg->form, "csrf");
	if (tok == NULL || strlen(tok) != CSRF_HEX ||
	    http_form_count(&pg->form, "csrf") != 1 ||
	    CRYPTO_memcmp(tok, pg->csrf, CSRF_HEX) != 0) {
		portal_error_page(
			pg, 403,
			"The form's security token is missing or stale "
			"(the service may have restarted). Reload the page "
			"and submit again; nothing was changed.");
		return -1;
	}
	return 0;
}

/* The form's ticket, checked; NULL (page rendered) when unusable. */
int portal_form_ticket(struct page *pg, const char **ticket)
{
	const char *t = http_form_get(&pg->form, "ticket");

	*ticket = "";
	if (t == NULL || t[0] == '\0')
		return 0;
	if (actor_check(t, "ticket", &pg->err) < 0)
		return -1;
	*ticket = t;
	return 0;
}

const char *portal_form_text(struct page *pg, const char *name)
{
	const char *v = http_form_get(&pg->form, name);

	return v ? v : "";
}

bool portal_form_checked(struct page *pg, const char *name)
{
	return strcmp(portal_form_text(pg, name), "on") == 0;
}

/* An age in seconds (ops' "oldest_age") as words, or null. */
json_t *portal_age_json(const json_t *secs)
{
	char buf[64];

	if (!json_is_integer(secs))
		return json_null();
	portal_age_text((int64_t)json_integer_value(secs), buf, sizeof(buf));
	return json_string(buf);
}

int portal_load(struct page *pg, const char *name, struct domain *d,
		struct propagation *p)
{
	if (ops_domain_get(&pg->ox, name, d, p, &pg->err) < 0) {
		portal_error_page_err(pg);
		return -1;
	}
	/* the request's later lines (and its access line) name it */
	log_ctx_set(LOG_F_DOMAIN, d->name.alabel);
	return 0;
}

void portal_age_text(int64_t s, char *buf, size_t size)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		(void)snprintf(buf, size, "%lld s ago", (long long)s);
	else if (s < 7200)
		(void)snprintf(buf, size, "%lld min ago", (long long)s / 60);
	else if (s < 172800)
		(void)snprintf(buf, size, "%lld h ago", (long long)s / 3600);
	else
		(void)snprintf(buf, size, "%lld days ago",
			       (long long)s / 86400);
}

/* A 403 page when the login's role may not do act (auth_may()). */
static bool refused(struct page *pg, enum auth_act act)
{
	if (auth_may(&pg->who, act, &pg->err) == 0)
		return false;
	portal_error_page(pg, 403, error_msg(&pg->err));
	error_clear(&pg->err);
	return true;
}

/*
 * A 404 page, the same as for a missing domain, when name is outside
 * the login's domain group (or names no domain at all).
 */
static bool unseen(struct page *pg, const char *name)
{
	struct domain_name dn;

	if (pg->who.nscope == 0)
		return false;
	if (ops_name(pg->ox.conf, name, &dn, &pg->err) == 0 &&
	    auth_sees(&pg->who, dn.alabel))
		return false;
	error_clear(&pg->err);
	error_set(&pg->err, ERR_NOTFOUND, "name", "no such domain");
	portal_error_page_err(pg);
	error_clear(&pg->err);
	return true;
}

/* /portal/d/NAME/...: the pages below a domain's (slash: "/..."). */
static void route_domain_sub(struct page *pg, const char *name,
			     const char *slash, bool get)
{
	const struct verb *v;
	struct propagation p;
	struct domain d;

	if (strcmp(slash, "/rule-add") == 0 ||
	    strcmp(slash, "/rule-remove") == 0) {
		/* the confirmation page offers a change: GET as well */
		if (refused(pg, ACT_DOMAIN_SET) ||
		    portal_load(pg, name, &d, &p) < 0)
			return;
		if (slash[6] == 'r')
			portal_rule_remove(pg, &d, get);
		else if (get)
			portal_error_page(pg, 405,
					  "The rule form is on the domain "
					  "page: POST.");
		else
			portal_rule_add_post(pg, &d, &p);
		return;
	}
	if (strcmp(slash, "/probe") == 0) {
		if (get)
			portal_error_page(pg, 405,
					  "The probe is a button: POST.");
		else if (!refused(pg, ACT_PROBE) &&
			 portal_load(pg, name, &d, &p) == 0)
			portal_probe_post(pg, &d, &p);
		return;
	}
	if (strcmp(slash, "/messages") == 0) {
		if (!get)
			portal_error_page(pg, 405, "Nothing to post here.");
		else if (portal_load(pg, name, &d, &p) == 0)
			portal_messages_page(pg, &d);
		return;
	}
	v = portal_verb_find(slash + 1);
	if (strcmp(slash, "/remove") != 0 && v == NULL) {
		portal_error_page(pg, 404, "There is no such page.");
		return;
	}
	/* the forms of these pages change things: GET as well as POST */
	if (refused(pg, v != NULL ? portal_verb_act(v) : ACT_DOMAIN_REMOVE))
		return;
	if (portal_load(pg, name, &d, &p) < 0)
		return;
	if (v != NULL)
		portal_verb_route(pg, &d, v, get);
	else if (get)
		portal_remove_page(pg, &d, 200, NULL, NULL);
	else
		portal_remove_post(pg, &d);
}

/* /portal/d/NAME[/...]: rest is what follows "/portal/d/". */
static void route_domain(struct page *pg, const char *rest, bool get)
{
	char name[DOMAIN_INPUT_MAX + 1];
	const char *slash;
	size_t n;

	slash = strchr(rest, '/');
	n = slash ? (size_t)(slash - rest) : strlen(rest);
	if (n == 0 || n >= sizeof(name)) {
		portal_error_page(pg, 404, "There is no such page.");
		return;
	}
	memcpy(name, rest, n);
	name[n] = '\0';
	if (unseen(pg, name))
		return;
	if (slash == NULL) {
		if (get)
			portal_domain_get(pg, name);
		else if (!refused(pg, ACT_DOMAIN_SET))
			portal_domain_post(pg, name);
		return;
	}
	route_domain_sub(pg, name, slash, get);
}

/* The pages with nothing to post. */
static const struct {
	const char *path;
	void (*page)(struct page *pg);
} get_pages[] = {
	{ "/portal/", portal_list_page },
	{ "/portal", portal_list_page },
	{ "/portal/relays", portal_relays_page },
};

static void route(struct page *pg)
{
	const char *path = pg->q->path, *m = pg->q->method;
	bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
	bool post = strcmp(m, "POST") == 0;
	size_t i;

	if (!get && !post) {
		portal_error_page(pg, 405, "Only GET and POST are used here.");
		return;
	}
	if (post && post_guard(pg) < 0)
		return;
	for (i = 0; i < sizeof(get_pages) / sizeof(get_pages[0]); i++) {
		if (strcmp(path, get_pages[i].path) != 0)
			continue;
		if (get)
			get_pages[i].page(pg);
		else
			portal_error_page(pg, 405, "Nothing to post here.");
		return;
	}
	if (strcmp(path, "/portal/new") == 0) {
		if (refused(pg, ACT_DOMAIN_ADD))
			return;
		if (get)
			portal_new_page(pg, 200, NULL, NULL);
		else
			portal_new_post(pg);
		return;
	}
	if (strncmp(path, "/portal/d/", 10) != 0) {
		portal_error_page(pg, 404, "There is no such page.");
		return;
	}
	route_domain(pg, path + 10, get);
}

void portal_handle(struct req *q, struct resp *r)
{
	struct page pg = { .q = q, .r = r, .err = ERROR_INIT };

	if (strcmp(q->path, "/portal/static/portal.css") == 0) {
		r->status = 200;
		r->ctype = "text/css; charset=utf-8";
		sbuf_addstr(&r->body, template_get("portal.css"));
		return;
	}
	pg.form = (struct http_form)HTTP_FORM_INIT;
	if ((pg.ox.store = worker_store(q->w, &pg.err)) == NULL ||
	    auth_staff(pg.ox.store, q->remote_user, &pg.who, &pg.err) < 0) {
		if (pg.err.code == ERR_UNAUTH) {
			/* nginx authenticates /portal/: a setup bug */
			r->status = 401;
			r->ctype = "text/plain; charset=utf-8";
			sbuf_addstr(&r->body,
				    "the portal needs nginx's login "
				    "(see contrib/nginx/mxfeed.conf)\n");
			goto out;
		}
		memset(pg.csrf, 0, sizeof(pg.csrf)); /* no forms here */
		portal_error_page_err(&pg);
		goto out;
	}
	(void)snprintf(q->actor, sizeof(q->actor), "%s", pg.who.name);
	log_ctx_set(LOG_F_ACTOR, pg.who.name);
	csrf_make(&pg);
	pg.ox.conf = q->w->conf;
	pg.ox.change.actor = pg.who.name;
	pg.ox.change.ticket = "";
	route(&pg);
out:
	http_form_release(&pg.form);
	principal_release(&pg.who);
	error_release(&pg.err);
	json_decref(pg.probe);
	json_decref(pg.rule_form);
}
