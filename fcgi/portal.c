/*
 * portal - the support portal under /portal/: plain HTML forms
 *
 *   GET  /portal/                  domain list: search, mode filter, paging
 *   GET  /portal/new, POST         add a domain
 *   GET  /portal/d/NAME, POST      a domain: settings form, propagation,
 *                                  mailboxes, rules, jobs, history
 *   GET  /portal/d/NAME/remove, POST   confirmation page, then removal
 *   GET  /portal/static/portal.css
 *
 * The login is nginx's (MXFEED_STAFF_USER, see main.c); staff act as
 * admin and are the actor of their changes, with the ticket typed in
 * the form.  Every POST must carry our Origin (403 otherwise) and the
 * CSRF token of the login (HMAC-SHA256 of the user under a key made at
 * start-up; 403 otherwise) before anything is parsed further.  A good
 * POST answers 303 to a GET page (post-redirect-get); a refused one
 * renders the form again with the input kept and each error next to
 * its field.  Pages come from templates/portal through
 * lib/util/template, which escapes every value.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "domain_json.h"
#include "fcgi.h"
#include "ops.h"
#include "util/http.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/template.h"

#define LIST_PAGE 50
#define CSRF_HEX  64

struct page {
	struct req *q;
	struct resp *r;
	struct principal who;
	struct ops_ctx ox;
	struct http_form form; /* POST body */
	struct error err;
	char csrf[CSRF_HEX + 1];
};

/* ---- rendering ----------------------------------------------------- */

/* Mark the first and last element of an array of objects. */
static json_t *first_last(json_t *a)
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
static void render(struct page *pg, int status, const char *title,
		   const char *tmpl, json_t *ctx, json_t *flash)
{
	struct strbuf body = STRBUF_INIT, html = STRBUF_INIT;
	json_t *lay;

	json_object_set_new(ctx, "csrf", json_string(pg->csrf));
	if (template_render(tmpl, template_get(tmpl), ctx, &body, &pg->err) < 0)
		goto bug;
	lay = json_pack("{s:s, s:s, s:o, s:o}", "title", title, "user",
			pg->who.name, "body", template_trusted(body.buf),
			"flash", flash ? flash : json_null());
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
static json_t *when(const json_t *iso)
{
	const char *t = json_string_value(iso);
	char buf[32];

	if (t == NULL || strlen(t) != 20 || t[10] != 'T' || t[19] != 'Z')
		return iso ? json_copy((json_t *)iso) : json_null();
	(void)snprintf(buf, sizeof(buf), "%.10s %.5s UTC", t, t + 11);
	return json_string(buf);
}

static json_t *flash(const char *kind, const char *text)
{
	return json_pack("{s:s, s:s}", "kind", kind, "text", text);
}

static void error_page(struct page *pg, int status, const char *message)
{
	render(pg, status, http_reason(status), "error.html",
	       json_pack("{s:s, s:s}", "heading", http_reason(status),
			 "message", message),
	       NULL);
}

/* An error from lib: the page a staff member should see for it. */
static void error_page_err(struct page *pg)
{
	int status = error_http_status(pg->err.code);

	if (status == 503)
		error_page(pg, 503,
			   "The database is unavailable; nothing was changed. "
			   "Try again in a few seconds.");
	else if (status == 500)
		error_page(pg, 500,
			   "Internal error; the details are in the service "
			   "log.");
	else
		error_page(pg, status, error_msg(&pg->err));
	if (status == 503)
		resp_header(pg->r, "Retry-After", "5");
}

static void redirect(struct page *pg, const char *location)
{
	pg->r->status = 303;
	pg->r->ctype = "text/plain; charset=utf-8";
	resp_header(pg->r, "Location", "%s", location);
	sbuf_addstr(&pg->r->body, "see other\n");
}

static void domain_href(struct strbuf *sb, const char *alabel, const char *tail)
{
	sbuf_addstr(sb, "/portal/d/");
	sbuf_addurl(sb, alabel);
	sbuf_addstr(sb, tail);
}

/* ---- CSRF and Origin ---------------------------------------------- */

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
		error_page(pg, 403,
			   "This form was not sent from this site (missing "
			   "or foreign Origin); nothing was changed.");
		return -1;
	}
	if (strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
		error_page(pg, 415, "Forms must be sent url-encoded.");
		return -1;
	}
	if (http_form_parse(pg->q->body.buf, pg->q->body.len, &pg->form,
			    &pg->err) < 0) {
		error_page(pg, 400, error_msg(&pg->err));
		return -1;
	}
	tok = http_form_get(&pg->form, "csrf");
	if (tok == NULL || strlen(tok) != CSRF_HEX ||
	    http_form_count(&pg->form, "csrf") != 1 ||
	    CRYPTO_memcmp(tok, pg->csrf, CSRF_HEX) != 0) {
		error_page(pg, 403,
			   "The form's security token is missing or stale "
			   "(the service may have restarted). Reload the page "
			   "and submit again; nothing was changed.");
		return -1;
	}
	return 0;
}

/* The form's ticket, checked; NULL (page rendered) when unusable. */
static int form_ticket(struct page *pg, const char **ticket)
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

/* ---- the settings form --------------------------------------------- */

enum fkind { F_TEXT, F_NUMBER, F_BOOL, F_ENUM };

struct field_def {
	const char *group;
	const char *name; /* setting path */
	const char *label;
	enum fkind kind;
	const char *const *choices; /* F_ENUM */
	const char *help;
	bool dest_only; /* feed and backup only */
};

static const char *const actions[] = { "none", "header", "subject", "delete",
				       NULL };
static const char *const recipient_modes[] = { "verify", "list", "any", NULL };

static const struct field_def fields[] = {
	{ "Delivery", "destination.host", "Destination IP", F_TEXT, NULL,
	  "the customer's mail server, an IP address", true },
	{ "Delivery", "destination.port", "Port", F_NUMBER, NULL, NULL, true },
	{ "Delivery", "fallbacks", "Fallbacks", F_TEXT, NULL,
	  "further IP[:PORT], comma-separated, tried in order", true },
	{ "Delivery", "recipients", "Recipients", F_ENUM, recipient_modes,
	  "verify: ask the destination; list: listed only; any: accept all",
	  false },
	{ "Delivery", "max_message_mb", "Size limit (MB)", F_NUMBER, NULL,
	  "1 to 1024", false },
	{ "Queue and greylisting", "greylisting", "Greylisting", F_BOOL, NULL,
	  NULL, false },
	{ "Queue and greylisting", "queue.days", "Queue lifetime (days)",
	  F_NUMBER, NULL, "1 to 31: undeliverable mail bounces after this",
	  false },
	{ "Spam", "spam.enabled", "Spam checking", F_BOOL, NULL,
	  "off: messages pass untouched", false },
	{ "Spam", "spam.low.action", "Low: action", F_ENUM, actions, NULL,
	  false },
	{ "Spam", "spam.low.text", "Low: subject text", F_TEXT, NULL, NULL,
	  false },
	{ "Spam", "spam.med.action", "Medium: action", F_ENUM, actions, NULL,
	  false },
	{ "Spam", "spam.med.text", "Medium: subject text", F_TEXT, NULL, NULL,
	  false },
	{ "Spam", "spam.high.action", "High: action", F_ENUM, actions, NULL,
	  false },
	{ "Spam", "spam.high.text", "High: subject text", F_TEXT, NULL, NULL,
	  false },
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* The record's value of a field as form text. */
static void field_value(const struct domain *d, const json_t *dj,
			const struct field_def *f, struct strbuf *out)
{
	const json_t *v = dj;
	const char *p = f->name;
	size_t i;

	if (strcmp(f->name, "fallbacks") == 0) {
		for (i = 0; i < d->nfallbacks; i++) {
			char buf[64];

			dest_format(&d->fallbacks[i], buf, sizeof(buf));
			sbuf_addf(out, "%s%s", i ? "," : "", buf);
		}
		return;
	}
	while (*p && v != NULL) {
		char part[32];
		size_t n = strcspn(p, ".");

		if (n >= sizeof(part))
			return;
		memcpy(part, p, n);
		part[n] = '\0';
		v = json_object_get(v, part);
		p += n + (p[n] == '.');
	}
	if (json_is_string(v))
		sbuf_addstr(out, json_string_value(v));
	else if (json_is_integer(v))
		sbuf_addf(out, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		sbuf_addstr(out, json_is_true(v) ? "on" : "off");
}

static json_t *options(const char *const *choices, const char *value)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; choices[i]; i++)
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:b}", "value", choices[i],
				     "text", choices[i], "selected",
				     strcmp(choices[i], value) == 0));
	return first_last(a);
}

/* One field's context; value from the form when posted, else d. */
static json_t *field_ctx(const char *name, const char *label, const char *type,
			 const char *value, const char *const *choices,
			 const char *help, const char *placeholder,
			 const char *error)
{
	json_t *o =
		json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", name, "label",
			  label, "type", type, "value", value, "id", name);
	char *id = xstrdup(name);
	size_t i;

	for (i = 0; id[i]; i++)
		if (id[i] == '.')
			id[i] = '-';
	json_object_set_new(o, "id", json_string(id));
	free(id);
	json_object_set_new(o, "options",
			    choices ? options(choices, value) : json_null());
	json_object_set_new(o, "help", help ? json_string(help) : json_null());
	json_object_set_new(o, "placeholder",
			    placeholder ? json_string(placeholder)
					: json_null());
	json_object_set_new(o, "error",
			    error ? json_string(error) : json_null());
	return o;
}

static json_t *groups_add(json_t *groups, const char *legend, json_t *field)
{
	json_t *g =
		json_array_size(groups)
			? json_array_get(groups, json_array_size(groups) - 1)
			: NULL;

	if (g == NULL || strcmp(json_string_value(json_object_get(g, "legend")),
				legend) != 0) {
		g = json_pack("{s:s, s:[]}", "legend", legend, "fields");
		json_array_append_new(groups, g);
	}
	json_array_append_new(json_object_get(g, "fields"), field);
	return groups;
}

static const char *const bools[] = { "on", "off", NULL };

/* Markup of the settings fields: posted values and errors win. */
static json_t *settings_fields(struct page *pg, const struct domain *d,
			       const json_t *errors, bool posted)
{
	json_t *dj = domain_to_json(d, NULL), *groups = json_array();
	struct strbuf html = STRBUF_INIT;
	size_t i;

	for (i = 0; i < NFIELDS; i++) {
		const struct field_def *f = &fields[i];
		struct strbuf v = STRBUF_INIT;
		const char *pv =
			posted ? http_form_get(&pg->form, f->name) : NULL;
		const json_t *e = json_object_get(errors, f->name);

		if (f->dest_only && d->mode == MODE_POP3)
			continue;
		if (pv != NULL)
			sbuf_addstr(&v, pv);
		else
			field_value(d, dj, f, &v);
		groups_add(groups, f->group,
			   field_ctx(f->name, f->label,
				     f->kind == F_NUMBER ? "number" : "text",
				     v.buf,
				     f->kind == F_BOOL	 ? bools
				     : f->kind == F_ENUM ? f->choices
							 : NULL,
				     f->help, NULL, json_string_value(e)));
		sbuf_release(&v);
	}
	{
		json_t *ctx = json_pack("{s:o}", "groups", groups);

		if (template_render("fields.html", template_get("fields.html"),
				    ctx, &html, &pg->err) < 0)
			log_error("request %s: %s", pg->q->id,
				  error_msg(&pg->err));
		json_decref(ctx);
	}
	json_decref(dj);
	{
		json_t *t = template_trusted(html.buf);

		sbuf_release(&html);
		return t;
	}
}

/* ---- pages ------------------------------------------------------------ */

static void list_page(struct page *pg)
{
	static const char *const mode_opts[] = { "", "pop3", "feed", "backup",
						 NULL };
	struct domain_filter f = { -1, NULL, NULL, LIST_PAGE, NULL, 0 };
	struct http_form qs = HTTP_FORM_INIT;
	struct domain_list l = { 0 };
	const char *q, *mode, *after;
	json_t *rows, *modes, *ctx, *fl = NULL;
	size_t k;

	if (http_form_parse(pg->q->query, strlen(pg->q->query), &qs, &pg->err) <
	    0) {
		error_page(pg, 400, error_msg(&pg->err));
		return;
	}
	q = http_form_get(&qs, "q");
	mode = http_form_get(&qs, "mode");
	after = http_form_get(&qs, "after");
	if (q != NULL && q[0] != '\0')
		f.match = strlen(q) <= 253 ? q : NULL;
	if (mode != NULL && mode[0] != '\0')
		f.mode = parse_enum(mode, domain_mode_names);
	if (after != NULL && after[0] != '\0' &&
	    strlen(after) <= DOMAIN_NAME_MAX)
		f.after = after;
	if (store_domain_list(pg->ox.store, &f, &l, &pg->err) < 0) {
		http_form_release(&qs);
		error_page_err(pg);
		return;
	}
	rows = json_array();
	for (k = 0; k < l.n; k++) {
		const struct domain *d = &l.v[k];
		struct strbuf href = STRBUF_INIT, dest = STRBUF_INIT,
			      queue = STRBUF_INIT;
		char stamp[32];

		domain_href(&href, d->name.alabel, "");
		if (d->mode == MODE_POP3) {
			sbuf_addstr(&dest, "mailboxes");
		} else {
			char buf[64];

			dest_format(&d->dest, buf, sizeof(buf));
			sbuf_addstr(&dest, buf);
		}
		sbuf_addf(&queue, "%d days%s", d->queue_days,
			  d->queue_extended_until ? ", extended" : "");
		time_format_utc(d->updated_at, stamp, sizeof(stamp));
		json_array_append_new(
			rows,
			json_pack("{s:s, s:s, s:b, s:s, s:s, s:b, s:s, s:s, "
				  "s:s, s:I, s:s, s:s}",
				  "name", d->name.alabel, "unicode_name",
				  d->name.ulabel, "idn",
				  strcmp(d->name.alabel, d->name.ulabel) != 0,
				  "href", href.buf, "mode",
				  domain_mode_names[d->mode], "temp_pop3",
				  d->temp_pop3_since != 0, "dest", dest.buf,
				  "grey", d->greylisting ? "on" : "off", "spam",
				  d->spam_enabled ? "on" : "off", "version",
				  (json_int_t)d->version, "updated_at", "",
				  "updated_by", d->updated_by));
		{
			json_t *js = json_string(stamp);

			json_object_set_new(json_array_get(rows, k),
					    "updated_at", when(js));
			json_decref(js);
		}
		json_object_set_new(json_array_get(rows, k), "queue",
				    json_string(queue.buf));
		sbuf_release(&href);
		sbuf_release(&dest);
		sbuf_release(&queue);
	}
	modes = json_array();
	for (k = 0; mode_opts[k]; k++)
		json_array_append_new(
			modes,
			json_pack("{s:s, s:s, s:b}", "value", mode_opts[k],
				  "label", k ? mode_opts[k] : "any mode",
				  "selected",
				  mode && strcmp(mode, mode_opts[k]) == 0));
	ctx = json_pack("{s:s, s:o, s:o, s:b, s:b}", "q", q ? q : "", "modes",
			modes, "domains", first_last(rows), "filtered",
			f.match != NULL || f.mode >= 0, "paged",
			f.after != NULL);
	if (l.n == LIST_PAGE) {
		struct strbuf next = STRBUF_INIT;

		sbuf_addstr(&next, "/portal/?after=");
		sbuf_addurl(&next, l.v[l.n - 1].name.alabel);
		if (q && q[0]) {
			sbuf_addstr(&next, "&q=");
			sbuf_addurl(&next, q);
		}
		if (f.mode >= 0)
			sbuf_addf(&next, "&mode=%s", domain_mode_names[f.mode]);
		json_object_set_new(ctx, "next_href", json_string(next.buf));
		sbuf_release(&next);
	}
	json_object_set_new(ctx, "first_href", json_string("/portal/"));
	{
		const char *removed = http_form_get(&qs, "removed");
		struct domain_name dn;
		struct error e = ERROR_INIT;

		if (removed != NULL &&
		    domain_name_parse(removed, &dn, &e) == 0) {
			struct strbuf m = STRBUF_INIT;

			sbuf_addf(&m, "Removed %s; its history is kept.",
				  dn.alabel);
			fl = flash("ok", m.buf);
			sbuf_release(&m);
		}
		error_release(&e);
	}
	domain_list_release(&l);
	http_form_release(&qs);
	render(pg, 200, "Domains", "list.html", ctx, fl);
}

/* The domain page; errors/stale/form_error set when re-rendering. */
static void domain_page(struct page *pg, const struct domain *d,
			const struct propagation *p, int status, json_t *errors,
			json_t *stale, const char *form_error,
			int64_t form_version, bool posted, json_t *fl)
{
	struct strbuf action = STRBUF_INIT, rm = STRBUF_INIT,
		      prop = STRBUF_INIT;
	json_t *ctx, *hist, *mbs, *rules, *jobs, *row, *dj;
	const char *ticket = posted ? http_form_get(&pg->form, "ticket") : "";
	size_t k;

	domain_href(&action, d->name.alabel, "");
	domain_href(&rm, d->name.alabel, "/remove");
	if (p->relays_total == 0)
		sbuf_addstr(&prop, "no relays registered yet (mta-glue reports "
				   "here once relays run)");
	else
		sbuf_addf(&prop, "%ld of %ld relays applied this version",
			  p->relays_applied, p->relays_total);
	hist = store_history(pg->ox.store, &d->name, 20, &pg->err);
	mbs = hist ? ops_mailboxes_json(&pg->ox, d, &pg->err) : NULL;
	rules = mbs ? ops_rules_json(&pg->ox, d, &pg->err) : NULL;
	jobs = rules ? store_job_list(pg->ox.store, &d->name, &pg->err) : NULL;
	if (jobs == NULL) {
		json_decref(hist);
		json_decref(mbs);
		json_decref(rules);
		json_decref(errors);
		json_decref(stale);
		json_decref(fl);
		sbuf_release(&action);
		sbuf_release(&rm);
		sbuf_release(&prop);
		error_page_err(pg);
		return;
	}
	json_array_foreach(hist, k, row)
	{
		json_t *ch = json_changes(json_object_get(row, "old"),
					  json_object_get(row, "new"));

		json_object_set_new(row, "changes", ch);
		json_object_set_new(row, "at",
				    when(json_object_get(row, "at")));
	}
	dj = domain_to_json(d, p);
	json_object_set_new(dj, "updated_at",
			    when(json_object_get(dj, "updated_at")));
	ctx = json_pack(
		"{s:o, s:b, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, "
		"s:s, s:I}",
		"d", dj, "idn", strcmp(d->name.alabel, d->name.ulabel) != 0,
		"action", action.buf, "remove_href", rm.buf, "prop_text",
		prop.buf, "prop_class",
		p->relays_total == 0		       ? "none"
		: p->relays_applied == p->relays_total ? "done"
						       : "pending",
		"history", first_last(hist), "mailboxes", first_last(mbs),
		"rules", first_last(rules), "jobs", first_last(jobs), "ticket",
		ticket ? ticket : "", "form_version",
		(json_int_t)(form_version ? form_version : d->version));
	json_object_set_new(ctx, "fields",
			    settings_fields(pg, d, errors, posted));
	json_object_set_new(ctx, "stale", stale ? stale : json_null());
	json_object_set_new(ctx, "form_error",
			    form_error ? json_string(form_error) : json_null());
	json_decref(errors);
	sbuf_release(&action);
	sbuf_release(&rm);
	sbuf_release(&prop);
	render(pg, status, d->name.ulabel, "domain.html", ctx, fl);
}

static int load(struct page *pg, const char *name, struct domain *d,
		struct propagation *p)
{
	if (ops_domain_get(&pg->ox, name, d, p, &pg->err) < 0) {
		error_page_err(pg);
		return -1;
	}
	return 0;
}

static void domain_get(struct page *pg, const char *name)
{
	struct http_form qs = HTTP_FORM_INIT;
	struct propagation p;
	struct domain d;
	json_t *fl = NULL;

	if (load(pg, name, &d, &p) < 0)
		return;
	if (http_form_parse(pg->q->query, strlen(pg->q->query), &qs,
			    &pg->err) == 0) {
		if (http_form_get(&qs, "saved") != NULL) {
			char m[80];

			(void)snprintf(m, sizeof(m), "Saved: version %lld.",
				       (long long)d.version);
			fl = flash("ok", m);
		} else if (http_form_get(&qs, "unchanged") != NULL) {
			fl = flash("ok", "Nothing changed: the settings were "
					 "already so.");
		} else if (http_form_get(&qs, "added") != NULL) {
			fl = flash("ok", "Domain added.");
		}
	}
	error_clear(&pg->err);
	http_form_release(&qs);
	domain_page(pg, &d, &p, 200, NULL, NULL, NULL, 0, false, fl);
}

static void domain_post(struct page *pg, const char *name)
{
	struct strbuf *sets = xcalloc(NFIELDS, sizeof(*sets));
	char **argv = xcalloc(NFIELDS, sizeof(*argv));
	json_t *errors = json_object();
	struct propagation p;
	struct domain d, scratch, nd;
	const char *vtext, *ticket;
	size_t i, n = 0;
	bool changed = false;
	long version = 0;

	if (load(pg, name, &d, &p) < 0)
		goto out;
	vtext = http_form_get(&pg->form, "version");
	if (vtext == NULL || parse_long(vtext, 1, 0x7fffffffL, &version,
					"version", &pg->err) < 0) {
		error_page(pg, 400, "The form has no usable version.");
		goto out;
	}
	if (form_ticket(pg, &ticket) < 0) {
		domain_page(pg, &d, &p, 422, errors, NULL, error_msg(&pg->err),
			    version, true, NULL);
		errors = NULL;
		goto out;
	}
	pg->ox.change.ticket = ticket;
	/* each field on its own, so that every error is found at once */
	for (i = 0; i < NFIELDS; i++) {
		const char *v = http_form_get(&pg->form, fields[i].name);
		struct error e = ERROR_INIT;

		if (v == NULL || (fields[i].dest_only && d.mode == MODE_POP3))
			continue;
		scratch = d;
		if (domain_set(&scratch, fields[i].name, v, pg->ox.conf, &e) <
		    0)
			json_object_set_new(errors, fields[i].name,
					    json_string(error_msg(&e)));
		error_release(&e);
		sbuf_init(&sets[n], 0);
		sbuf_addf(&sets[n], "%s=%s", fields[i].name, v);
		argv[n] = sets[n].buf;
		n++;
	}
	if (json_object_size(errors) > 0) {
		domain_page(pg, &d, &p, 422, errors, NULL,
			    "Nothing was saved: correct the fields marked "
			    "below.",
			    version, true, NULL);
		errors = NULL;
		goto out;
	}
	if (n == 0) {
		error_page(pg, 400, "The form had no settings.");
		goto out;
	}
	if (ops_domain_set(&pg->ox, name, argv, n, version, &nd, &changed,
			   &pg->err) == 0) {
		struct strbuf loc = STRBUF_INIT;

		domain_href(&loc, d.name.alabel,
			    changed ? "?saved=1" : "?unchanged=1");
		redirect(pg, loc.buf);
		sbuf_release(&loc);
	} else if (pg->err.code == ERR_STALE) {
		char stamp[32];
		json_t *js;

		time_format_utc(d.updated_at, stamp, sizeof(stamp));
		js = json_string(stamp);
		domain_page(pg, &d, &p, 409, errors,
			    json_pack("{s:s, s:o, s:I}", "by", d.updated_by,
				      "at", when(js), "version",
				      (json_int_t)d.version),
			    NULL, d.version, true, NULL);
		json_decref(js);
		errors = NULL;
	} else if (pg->err.code == ERR_INVALID) {
		/* a rule across fields (domain_check) */
		if (pg->err.field[0])
			json_object_set_new(errors, pg->err.field,
					    json_string(error_msg(&pg->err)));
		domain_page(pg, &d, &p, 422, errors, NULL, error_msg(&pg->err),
			    version, true, NULL);
		errors = NULL;
	} else {
		error_page_err(pg);
	}
out:
	for (i = 0; i < n; i++)
		sbuf_release(&sets[i]);
	free(sets);
	free(argv);
	json_decref(errors);
}

static const char *const add_modes[] = { "feed", "backup", "pop3", NULL };

static void new_page(struct page *pg, int status, const json_t *errors,
		     const char *form_error)
{
	const char *name = "", *mode = "feed", *dest = "", *ticket = "";
	struct strbuf html = STRBUF_INIT;
	json_t *groups = json_array(), *ctx;

	if (errors != NULL) { /* re-rendering a POST: keep the input */
		const char *v;

		if ((v = http_form_get(&pg->form, "name")) != NULL)
			name = v;
		if ((v = http_form_get(&pg->form, "mode")) != NULL)
			mode = v;
		if ((v = http_form_get(&pg->form, "dest")) != NULL)
			dest = v;
		if ((v = http_form_get(&pg->form, "ticket")) != NULL)
			ticket = v;
	}
	groups_add(
		groups, "New domain",
		field_ctx("name", "Domain name", "text", name, NULL,
			  "Unicode names are converted to their A-label",
			  "example.com",
			  json_string_value(json_object_get(errors, "name"))));
	groups_add(
		groups, "New domain",
		field_ctx("mode", "Mode", "text", mode, add_modes,
			  "feed: relay to the customer's server; backup: "
			  "backup MX; pop3: hosted mailboxes",
			  NULL,
			  json_string_value(json_object_get(errors, "mode"))));
	groups_add(
		groups, "New domain",
		field_ctx("dest", "Destination", "text", dest, NULL,
			  "IP[:PORT] of the customer's server (feed and "
			  "backup only)",
			  "192.0.2.10:25",
			  json_string_value(json_object_get(errors, "dest"))));
	ctx = json_pack("{s:o}", "groups", groups);
	if (template_render("fields.html", template_get("fields.html"), ctx,
			    &html, &pg->err) < 0)
		log_error("request %s: %s", pg->q->id, error_msg(&pg->err));
	json_decref(ctx);
	ctx = json_pack("{s:o, s:s}", "fields", template_trusted(html.buf),
			"ticket", ticket);
	json_object_set_new(ctx, "form_error",
			    form_error ? json_string(form_error) : json_null());
	sbuf_release(&html);
	render(pg, status, "Add a domain", "new.html", ctx, NULL);
}

static void new_post(struct page *pg)
{
	const char *name = http_form_get(&pg->form, "name");
	const char *mode = http_form_get(&pg->form, "mode");
	const char *dest = http_form_get(&pg->form, "dest");
	const char *ticket;
	json_t *errors = json_object();
	struct domain d;

	if (form_ticket(pg, &ticket) < 0) {
		new_page(pg, 422, errors, error_msg(&pg->err));
		json_decref(errors);
		return;
	}
	pg->ox.change.ticket = ticket;
	if (dest != NULL && dest[0] == '\0')
		dest = NULL;
	if (ops_domain_add(&pg->ox, name ? name : "", mode, dest, NULL, 0, &d,
			   &pg->err) == 0) {
		struct strbuf loc = STRBUF_INIT;

		domain_href(&loc, d.name.alabel, "?added=1");
		redirect(pg, loc.buf);
		sbuf_release(&loc);
	} else if (pg->err.code == ERR_INVALID ||
		   pg->err.code == ERR_CONFLICT) {
		const char *f = pg->err.field;

		if (pg->err.code == ERR_CONFLICT)
			f = "name";
		else if (strncmp(f, "destination", 11) == 0 ||
			 strcmp(f, "dest") == 0 || f[0] == '\0')
			f = strcmp(f, "") == 0 ? "name" : "dest";
		json_object_set_new(errors, f,
				    json_string(pg->err.code == ERR_CONFLICT
							? "this domain exists "
							  "already"
							: error_msg(&pg->err)));
		new_page(pg, pg->err.code == ERR_CONFLICT ? 409 : 422, errors,
			 "Nothing was added: correct the fields marked below.");
	} else {
		error_page_err(pg);
	}
	json_decref(errors);
}

static void remove_page(struct page *pg, const struct domain *d, int status,
			const char *form_error, const char *confirm_error)
{
	struct strbuf action = STRBUF_INIT, back = STRBUF_INIT;
	json_t *mbs, *rules, *ctx;
	const char *confirm = confirm_error || form_error
				      ? http_form_get(&pg->form, "confirm")
				      : "";
	const char *ticket = confirm_error || form_error
				     ? http_form_get(&pg->form, "ticket")
				     : "";

	mbs = ops_mailboxes_json(&pg->ox, d, &pg->err);
	rules = mbs ? ops_rules_json(&pg->ox, d, &pg->err) : NULL;
	if (rules == NULL) {
		json_decref(mbs);
		error_page_err(pg);
		return;
	}
	domain_href(&action, d->name.alabel, "/remove");
	domain_href(&back, d->name.alabel, "");
	ctx = json_pack("{s:o, s:s, s:s, s:I, s:I, s:b, s:s, s:s}", "d",
			domain_to_json(d, NULL), "action", action.buf,
			"back_href", back.buf, "nrules",
			(json_int_t)json_array_size(rules), "nmailboxes",
			(json_int_t)json_array_size(mbs), "mailboxes",
			json_array_size(mbs) > 0, "confirm",
			confirm ? confirm : "", "ticket", ticket ? ticket : "");
	json_object_set_new(ctx, "form_error",
			    form_error ? json_string(form_error) : json_null());
	json_object_set_new(ctx, "confirm_error",
			    confirm_error ? json_string(confirm_error)
					  : json_null());
	json_decref(mbs);
	json_decref(rules);
	sbuf_release(&action);
	sbuf_release(&back);
	render(pg, status, "Remove a domain", "remove.html", ctx, NULL);
}

static void remove_post(struct page *pg, const struct domain *d)
{
	const char *confirm = http_form_get(&pg->form, "confirm");
	const char *ticket;

	if (form_ticket(pg, &ticket) < 0) {
		remove_page(pg, d, 422, error_msg(&pg->err), NULL);
		return;
	}
	pg->ox.change.ticket = ticket;
	if (confirm == NULL || confirm[0] == '\0') {
		remove_page(pg, d, 422, NULL,
			    "type the domain's name to confirm");
		return;
	}
	if (ops_domain_remove(&pg->ox, d->name.alabel, confirm, &pg->err) ==
	    0) {
		struct strbuf loc = STRBUF_INIT;

		sbuf_addstr(&loc, "/portal/?removed=");
		sbuf_addurl(&loc, d->name.alabel);
		redirect(pg, loc.buf);
		sbuf_release(&loc);
	} else if (pg->err.code == ERR_INVALID) {
		remove_page(pg, d, 422, NULL, error_msg(&pg->err));
	} else if (pg->err.code == ERR_CONFLICT) {
		remove_page(pg, d, 409, error_msg(&pg->err), NULL);
	} else {
		error_page_err(pg);
	}
}

/* ---- routing ------------------------------------------------------- */

static void route(struct page *pg)
{
	const char *path = pg->q->path, *m = pg->q->method;
	bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
	bool post = strcmp(m, "POST") == 0;
	char name[DOMAIN_INPUT_MAX + 1];
	const char *rest, *slash;
	struct propagation p;
	struct domain d;
	size_t n;

	if (!get && !post) {
		error_page(pg, 405, "Only GET and POST are used here.");
		return;
	}
	if (post && post_guard(pg) < 0)
		return;
	if (strcmp(path, "/portal/") == 0 || strcmp(path, "/portal") == 0) {
		if (get)
			list_page(pg);
		else
			error_page(pg, 405, "Nothing to post here.");
		return;
	}
	if (strcmp(path, "/portal/new") == 0) {
		if (get)
			new_page(pg, 200, NULL, NULL);
		else
			new_post(pg);
		return;
	}
	if (strncmp(path, "/portal/d/", 10) != 0) {
		error_page(pg, 404, "There is no such page.");
		return;
	}
	rest = path + 10;
	slash = strchr(rest, '/');
	n = slash ? (size_t)(slash - rest) : strlen(rest);
	if (n == 0 || n >= sizeof(name)) {
		error_page(pg, 404, "There is no such page.");
		return;
	}
	memcpy(name, rest, n);
	name[n] = '\0';
	if (slash == NULL) {
		if (get)
			domain_get(pg, name);
		else
			domain_post(pg, name);
		return;
	}
	if (strcmp(slash, "/remove") != 0) {
		error_page(pg, 404, "There is no such page.");
		return;
	}
	if (load(pg, name, &d, &p) < 0)
		return;
	if (get)
		remove_page(pg, &d, 200, NULL, NULL);
	else
		remove_post(pg, &d);
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
	if (auth_staff(q->remote_user, &pg.who, &pg.err) < 0) {
		/* nginx authenticates /portal/; reaching here is a setup bug */
		r->status = 401;
		r->ctype = "text/plain; charset=utf-8";
		sbuf_addstr(&r->body, "the portal needs nginx's login "
				      "(see contrib/nginx/mxfeed.conf)\n");
		goto out;
	}
	q->actor = pg.who.name;
	csrf_make(&pg);
	if ((pg.ox.store = worker_store(q->w, &pg.err)) == NULL) {
		error_page_err(&pg);
		goto out;
	}
	pg.ox.conf = q->w->conf;
	pg.ox.change.actor = pg.who.name;
	pg.ox.change.ticket = "";
	route(&pg);
out:
	http_form_release(&pg.form);
	principal_release(&pg.who);
	error_release(&pg.err);
}
