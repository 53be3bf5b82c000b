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
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain_json.h"
#include "fcgi.h"
#include "probegate.h"
#include "mailbox.h"
#include "ops.h"
#include "ops_view.h"
#include "probe.h"
#include "util/http.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/timefmt.h"
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
	json_t *probe; /* a probe just run for the domain page, or NULL */
	/* the rule form posted back: {"action", "kind", "value",
	 * "errors": {field: message}, "error"}, or NULL */
	json_t *rule_form;
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

/* The login's key in the probe limits (probe_gate_take()): negative,
 * apart from every token id; one per login name. */
static int64_t login_key(const struct page *pg)
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
static int probe_take(struct page *pg)
{
	struct strbuf text = STRBUF_INIT;
	char msg[128];
	int retry = 0, slot;

	slot = probe_gate_take(login_key(pg), "login", &retry, msg,
			       sizeof(msg));
	if (slot >= 0)
		return slot;
	sbuf_addf(&text,
		  "The destination server is probed before a change, and %s. "
		  "Try again in %d seconds.",
		  msg, retry);
	error_page(pg, 429, text.buf);
	resp_header(pg->r, "Retry-After", "%d", retry);
	sbuf_release(&text);
	return -1;
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

/* The rows of fields.def a person edits in the settings form. */
static bool settings_form_has(const struct field *f, enum domain_mode mode)
{
	if (f->flags & (FF_CLI_ONLY | FF_NO_FORM))
		return false;
	return !((f->flags & FF_DEST_ONLY) && mode == MODE_POP3);
}

#define NFIELDS FLD_COUNT

/* The record's value of a field as form text. */
static void field_value(const struct domain *d, const struct field *f,
			struct strbuf *out)
{
	size_t i;

	switch (f->id) {
	case FLD_FALLBACKS:
		for (i = 0; i < d->nfallbacks; i++) {
			char buf[64];

			dest_format(&d->fallbacks[i], buf, sizeof(buf));
			sbuf_addf(out, "%s%s", i ? "," : "", buf);
		}
		return;
	case FLD_DEST_HOST:
		if (d->has_dest)
			sbuf_addstr(out, d->dest.ip.text);
		return;
	case FLD_DEST_PORT:
		if (d->has_dest)
			sbuf_addf(out, "%u", (unsigned)d->dest.port);
		return;
	default:
		if (f->type != FT_CUSTOM)
			domain_field_text(d, f, FIELD_TEXT_INPUT, out);
		return;
	}
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
	/* set on every field: a missing flag would be looked up outwards */
	json_object_set_new(o, "checkbox",
			    json_boolean(strcmp(type, "checkbox") == 0));
	json_object_set_new(o, "checked",
			    json_boolean(strcmp(value, "on") == 0));
	return o;
}

/* Add field to the group legend, made at the end when new. */
static json_t *groups_add(json_t *groups, const char *legend, json_t *field)
{
	json_t *g = NULL, *e;
	size_t i;

	json_array_foreach(groups, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "legend")),
			   legend) == 0)
			g = e;
	}
	if (g == NULL) {
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
	json_t *groups = json_array();
	struct strbuf html = STRBUF_INIT;
	size_t i;

	for (i = 0; i < NFIELDS; i++) {
		const struct field *f = &domain_fields[i];
		struct strbuf v = STRBUF_INIT, help = STRBUF_INIT;
		const char *pv =
			posted ? http_form_get(&pg->form, f->path) : NULL;
		const json_t *e = json_object_get(errors, f->path);
		bool number = f->type == FT_INT || f->id == FLD_DEST_PORT;

		if (!settings_form_has(f, d->mode))
			continue;
		if (pv != NULL)
			sbuf_addstr(&v, pv);
		else
			field_value(d, f, &v);
		if (f->type == FT_INT)
			sbuf_addf(&help, "%ld to %ld%s%s", f->min, f->max,
				  f->help ? ": " : "", f->help ? f->help : "");
		else if (f->help != NULL)
			sbuf_addstr(&help, f->help);
		groups_add(groups, f->group,
			   field_ctx(f->path, f->label,
				     number ? "number" : "text", v.buf,
				     f->type == FT_BOOL	  ? bools
				     : f->type == FT_ENUM ? f->names
							  : NULL,
				     help.len ? help.buf : NULL, NULL,
				     json_string_value(e)));
		sbuf_release(&v);
		sbuf_release(&help);
	}
	{
		json_t *ctx = json_pack("{s:o}", "groups", groups);

		if (template_render("fields.html", template_get("fields.html"),
				    ctx, &html, &pg->err) < 0)
			log_error("request %s: %s", pg->q->id,
				  error_msg(&pg->err));
		json_decref(ctx);
	}
	{
		json_t *t = template_trusted(html.buf);

		sbuf_release(&html);
		return t;
	}
}

/* ---- the mail-stack verbs ------------------------------------------ */

/*
 * switch-feed, switch-pop3, temp-pop3, revert, extend and flush: small
 * forms on the domain page posting to /portal/d/NAME/VERB, each reaching
 * the lib/ops function feedctl and the API call.  A destructive verb
 * (the switches, revert) answers its first POST with a confirmation page
 * - nothing is changed yet - naming what happens to which mailboxes; its
 * form carries the input as hidden fields, "confirmed" and "plan", a
 * digest of the version and mailboxes the page described, so that a
 * change in between brings the page back instead of doing something
 * other than what was shown.  GET /portal/d/NAME/VERB shows a verb's
 * form on its own page; a refusal renders it again with the input kept
 * and lib's message beside its field.  Which forms the domain page
 * offers follows the domain's state (verb_applies); a verb posted for a
 * state it does not fit skips the confirmation and goes to lib, whose
 * refusal is then what the page shows: the rules stay in lib.  The
 * confirmation's words are lib's too (switch_plan_words(), then the
 * plan's effects); the page adds the heading, button and hidden input.
 */

#define PLAN_HEX 64

enum verb_id {
	V_SWITCH_FEED,
	V_SWITCH_POP3,
	V_TEMP_POP3,
	V_REVERT,
	V_EXTEND,
	V_FLUSH,
	V_SWITCH_BACKUP
};

struct verb {
	enum verb_id id;
	enum auth_act act; /* what the role must allow */
	const char *path;
	const char *title;
	const char *intro;
	const char *button;
	bool danger;
};

static const struct verb verbs[] = {
	{ V_SWITCH_FEED, ACT_MAIL_STACK, "switch-feed", "Switch to feed",
	  "Relay the domain's mail to the customer's server instead of "
	  "mailboxes. The next page says what happens to each mailbox.",
	  "Review the switch…", true },
	{ V_SWITCH_POP3, ACT_MAIL_STACK, "switch-pop3", "Switch to POP3",
	  "Host the domain's mail in mailboxes instead of relaying it. The "
	  "next page says what happens.",
	  "Review the switch…", true },
	{ V_TEMP_POP3, ACT_MAIL_STACK, "temp-pop3", "Temporary POP3",
	  "While the customer's server is out: temporary mailboxes (POP3, "
	  "IMAP and webmail at /webmail/) receive the mail, queued mail "
	  "included. Each password is shown once.",
	  "Create temporary mailboxes", false },
	{ V_REVERT, ACT_MAIL_STACK, "revert", "Revert to the feed",
	  "End temporary POP3: mail goes to the destination again. The next "
	  "page says what happens to the temporary mailboxes.",
	  "Review the revert…", true },
	{ V_EXTEND, ACT_QUEUE, "extend", "Extend the queue",
	  "Keep queued mail (and mail still to come) longer than the queue "
	  "lifetime, e.g. while the customer's server is out.",
	  "Extend", false },
	{ V_FLUSH, ACT_QUEUE, "flush", "Flush the queue",
	  "Ask the relay to retry the domain's queued mail now.", "Flush now",
	  false },
	{ V_SWITCH_BACKUP, ACT_MAIL_STACK, "switch-backup", "Switch to backup",
	  "Be a lower-priority MX for the domain: queue its mail for the "
	  "customer's primary server and defer what the primary might still "
	  "take. The next page says what happens to each mailbox.",
	  "Review the switch…", true },
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

struct vfield {
	enum verb_id verb;
	const char *name;
	const char *label;
	const char *type; /* text, number, checkbox, select */
	const char *const *choices;
	const char *help;
	const char *placeholder;
};

static const char *const fates[] = { "forward", "archive", "purge", NULL };

static const struct vfield vfields[] = {
	{ V_SWITCH_FEED, "dest", "Destination", "text", NULL,
	  "IP[:PORT] of the customer's server; it is probed over SMTP first",
	  "192.0.2.10:25" },
	{ V_SWITCH_FEED, "fate", "Mailboxes", "select", fates,
	  "forward: re-inject their mail to the destination, then archive; "
	  "archive: keep a copy, deliver nothing; purge: delete",
	  NULL },
	{ V_SWITCH_FEED, "force", "Force", "checkbox", NULL,
	  "switch even if the probe fails (mail then waits in the queue)",
	  NULL },
	{ V_SWITCH_BACKUP, "dest", "Destination", "text", NULL,
	  "IP[:PORT] of the customer's primary server; empty: the "
	  "destination stays (a pop3 domain needs one); a new one is probed "
	  "over SMTP first",
	  "192.0.2.10:25" },
	{ V_SWITCH_BACKUP, "fate", "Mailboxes", "select", fates,
	  "forward: re-inject their mail to the destination, then archive; "
	  "archive: keep a copy, deliver nothing; purge: delete",
	  NULL },
	{ V_SWITCH_BACKUP, "force", "Force", "checkbox", NULL,
	  "switch even if the probe fails (mail then waits in the queue)",
	  NULL },
	{ V_SWITCH_POP3, "mailboxes", "Mailboxes", "text", NULL,
	  "local parts, separated by commas or spaces", "info, sales" },
	{ V_SWITCH_POP3, "catch_all", "Catch-all", "checkbox", NULL,
	  "one more mailbox for every other address", NULL },
	{ V_TEMP_POP3, "mailboxes", "Mailboxes", "text", NULL,
	  "local parts, separated by commas or spaces", "info, sales" },
	{ V_TEMP_POP3, "from_queue", "From the queue", "checkbox", NULL,
	  "a mailbox for every recipient with mail in the queue", NULL },
	{ V_TEMP_POP3, "catch_all", "Catch-all", "checkbox", NULL,
	  "one more mailbox for every other address", NULL },
	{ V_REVERT, "keep_days", "Keep for days", "number", NULL,
	  "empty: re-inject their mail now; 1 to 365: leave the temporary "
	  "mailboxes readable that long",
	  NULL },
	{ V_EXTEND, "days", "Days", "number", NULL, "1 to 31 from now", NULL },
	{ V_EXTEND, "until", "Or until", "text", NULL,
	  "YYYY-MM-DD, end of that day UTC, at most 31 days ahead",
	  "YYYY-MM-DD" },
};

#define NVFIELDS (sizeof(vfields) / sizeof(vfields[0]))

/* lib's error fields (JSON paths, feedctl's words) as form fields */
static const struct {
	enum verb_id verb;
	const char *lib, *form;
} err_fields[] = {
	{ V_SWITCH_FEED, "destination", "dest" },
	{ V_SWITCH_FEED, "destination.host", "dest" },
	{ V_SWITCH_FEED, "destination.port", "dest" },
	{ V_SWITCH_FEED, "mailboxes", "fate" },
	{ V_SWITCH_BACKUP, "destination", "dest" },
	{ V_SWITCH_BACKUP, "destination.host", "dest" },
	{ V_SWITCH_BACKUP, "destination.port", "dest" },
	{ V_SWITCH_BACKUP, "mailboxes", "fate" },
	{ V_SWITCH_POP3, "mailbox", "mailboxes" },
	{ V_SWITCH_POP3, "local", "mailboxes" },
	{ V_TEMP_POP3, "mailbox", "mailboxes" },
	{ V_TEMP_POP3, "local", "mailboxes" },
	{ V_REVERT, "keep_days", "keep_days" },
	{ V_EXTEND, "days", "days" },
	{ V_EXTEND, "until", "until" },
	{ V_EXTEND, "queue.extended_until", "until" },
};

static const char *form_field(enum verb_id v, const char *lib)
{
	size_t i;

	for (i = 0; i < sizeof(err_fields) / sizeof(err_fields[0]); i++)
		if (err_fields[i].verb == v &&
		    strcmp(err_fields[i].lib, lib) == 0)
			return err_fields[i].form;
	return NULL;
}

static const struct verb *verb_find(const char *path)
{
	size_t i;

	for (i = 0; i < NVERBS; i++)
		if (strcmp(verbs[i].path, path) == 0)
			return &verbs[i];
	return NULL;
}

/* The switching verbs as lib's plan knows them (switchplan.h). */
static enum sp_verb sp_verb_of(enum verb_id v)
{
	return v == V_SWITCH_BACKUP ? SP_TO_BACKUP
	       : v == V_SWITCH_POP3 ? SP_TO_POP3
	       : v == V_TEMP_POP3   ? SP_TEMP_POP3
	       : v == V_REVERT	    ? SP_REVERT
				    : SP_TO_FEED;
}

/* Which forms the domain page offers: lib's state rules decide. */
static bool verb_applies(const struct domain *d, enum verb_id v)
{
	switch (v) {
	case V_SWITCH_FEED:
	case V_SWITCH_BACKUP:
	case V_SWITCH_POP3:
	case V_TEMP_POP3:
	case V_REVERT:
		return switch_plan_offered(d, sp_verb_of(v));
	case V_EXTEND:
	case V_FLUSH:
		return d->mode != MODE_POP3;
	}
	return false;
}

/* The fields of a verb's form as markup; posted input and errors win. */
static json_t *verb_fields(struct page *pg, const struct verb *v,
			   const json_t *errors, bool posted)
{
	struct strbuf html = STRBUF_INIT, id = STRBUF_INIT;
	json_t *groups = json_array(), *ctx, *t;
	size_t i;

	for (i = 0; i < NVFIELDS; i++) {
		const struct vfield *f = &vfields[i];
		const char *val =
			posted ? http_form_get(&pg->form, f->name) : NULL;
		json_t *o;

		if (f->verb != v->id)
			continue;
		if (val == NULL)
			val = f->choices ? f->choices[0] : "";
		o = field_ctx(
			f->name, f->label, f->type, val, f->choices, f->help,
			f->placeholder,
			json_string_value(json_object_get(errors, f->name)));
		sbuf_reset(&id);
		sbuf_addf(&id, "%s-%s", v->path, f->name);
		json_object_set_new(o, "id", json_string(id.buf));
		groups_add(groups, "", o);
	}
	ctx = json_pack("{s:o}", "groups", groups);
	if (template_render("fields.html", template_get("fields.html"), ctx,
			    &html, &pg->err) < 0)
		log_error("request %s: %s", pg->q->id, error_msg(&pg->err));
	json_decref(ctx);
	t = template_trusted(html.buf);
	sbuf_release(&html);
	sbuf_release(&id);
	return t;
}

/* The context of one verb's form (domain page and its own page). */
static json_t *verb_ctx(struct page *pg, const struct domain *d,
			const struct verb *v, const json_t *errors, bool posted)
{
	struct strbuf action = STRBUF_INIT, tid = STRBUF_INIT;
	const char *ticket = posted ? http_form_get(&pg->form, "ticket") : "";
	json_t *o;

	domain_href(&action, d->name.alabel, "/");
	sbuf_addstr(&action, v->path);
	sbuf_addf(&tid, "f-%s-ticket", v->path);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "path",
		      v->path, "title", v->title, "intro", v->intro, "action",
		      action.buf, "button", v->button, "danger", v->danger,
		      "tid", tid.buf, "ticket", ticket ? ticket : "");
	json_object_set_new(o, "fields", verb_fields(pg, v, errors, posted));
	sbuf_release(&action);
	sbuf_release(&tid);
	return o;
}

/* A verb's form on its own page, e.g. again after a refusal. */
static void verb_page(struct page *pg, const struct domain *d,
		      const struct verb *v, int status, const json_t *errors,
		      const char *form_error, bool posted)
{
	struct strbuf back = STRBUF_INIT, title = STRBUF_INIT;
	json_t *ctx = verb_ctx(pg, d, v, errors, posted);

	domain_href(&back, d->name.alabel, "");
	json_object_set_new(ctx, "d", domain_to_json(d, NULL));
	json_object_set_new(ctx, "back_href", json_string(back.buf));
	json_object_set_new(ctx, "form_error",
			    form_error ? json_string(form_error) : json_null());
	sbuf_addf(&title, "%s: %s", v->title, d->name.ulabel);
	render(pg, status, title.buf, "verb.html", ctx, NULL);
	sbuf_release(&back);
	sbuf_release(&title);
}

/* A refusal from lib: beside its field, else above the form. */
static void verb_refused(struct page *pg, const struct domain *d,
			 const struct verb *v, json_t *errors)
{
	const char *f = form_field(v->id, pg->err.field);

	if (pg->err.code != ERR_INVALID && pg->err.code != ERR_CONFLICT &&
	    pg->err.code != ERR_UNAVAILABLE) {
		error_page_err(pg);
		return;
	}
	if (f != NULL)
		json_object_set_new(errors, f,
				    json_string(error_msg(&pg->err)));
	verb_page(pg, d, v, error_http_status(pg->err.code), errors,
		  f ? "Nothing was changed: correct the field marked below."
		    : error_msg(&pg->err),
		  true);
}

/* The input of a verb's POST, checked as far as the form goes. */
struct vin {
	const char *dest, *fate, *confirm, *until, *plan;
	bool force, catch_all, from_queue, confirmed;
	long keep_days, days;
	int64_t version; /* the version the page showed; OPS_NO_VERSION */
	char dest_text[IP_TEXT_MAX + 16]; /* canonical */
	char locals[LOCALS_MAX][MAILBOX_LOCAL_MAX + 1];
	char *lp[LOCALS_MAX];
	size_t n;
};

static const char *form_text(struct page *pg, const char *name)
{
	const char *v = http_form_get(&pg->form, name);

	return v ? v : "";
}

static bool form_checked(struct page *pg, const char *name)
{
	return strcmp(form_text(pg, name), "on") == 0;
}

static void field_err(json_t *errors, const char *field, struct error *e)
{
	json_object_set_new(errors, field, json_string(error_msg(e)));
	error_clear(e);
}

/*
 * "info, sales abuse": canonical local parts, duplicates dropped.  A
 * one-line input, not a textarea: http_form_parse() refuses control
 * characters, so a textarea's CR LF would cost the whole form a 400.
 * Line ends are separators all the same, for when that changes.
 */
static void split_locals(const char *text, struct vin *in, json_t *errors)
{
	struct error e = ERROR_INIT;
	const char *p = text;
	size_t i;

	while (*p) {
		size_t len = strcspn(p, ", \t\r\n");
		const char *s = p, *end = p + len;
		char word[MAILBOX_LOCAL_MAX + 2];

		p = *end ? end + 1 : end;
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (s == end)
			continue;
		if ((size_t)(end - s) >= sizeof(word)) {
			error_set(&e, ERR_INVALID, "local",
				  "a mailbox name is at most %d characters",
				  MAILBOX_LOCAL_MAX);
			break;
		}
		memcpy(word, s, (size_t)(end - s));
		word[end - s] = '\0';
		if (in->n == LOCALS_MAX) {
			error_set(&e, ERR_INVALID, "local",
				  "at most %d mailboxes at once", LOCALS_MAX);
			break;
		}
		if (mailbox_local_parse(word, in->locals[in->n], &e) < 0)
			break;
		for (i = 0; i < in->n; i++)
			if (strcmp(in->locals[i], in->locals[in->n]) == 0)
				break;
		if (i == in->n) {
			in->lp[in->n] = in->locals[in->n];
			in->n++;
		}
	}
	if (e.code != ERR_NONE)
		field_err(errors, "mailboxes", &e);
	error_release(&e);
}

/* Read and check a verb's fields; errors by form field. */
static void verb_input(struct page *pg, const struct verb *v, struct vin *in,
		       json_t *errors)
{
	struct error e = ERROR_INIT;
	const char *t;

	memset(in, 0, sizeof(*in));
	in->keep_days = -1;
	in->confirmed = strcmp(form_text(pg, "confirmed"), "1") == 0;
	in->plan = form_text(pg, "plan");
	in->confirm = form_text(pg, "confirm");
	in->version = OPS_NO_VERSION;
	switch (v->id) {
	case V_SWITCH_FEED:
	case V_SWITCH_BACKUP: {
		struct dest dest;

		in->dest = form_text(pg, "dest");
		in->fate = form_text(pg, "fate");
		in->force = form_checked(pg, "force");
		if (in->fate[0] == '\0')
			in->fate = "forward";
		if (parse_enum(in->fate, fates) < 0)
			json_object_set_new(
				errors, "fate",
				json_string("forward, archive or purge"));
		/* to backup with none: the destination stays (lib) */
		if (in->dest[0] == '\0' && v->id == V_SWITCH_BACKUP)
			break;
		if (in->dest[0] == '\0')
			json_object_set_new(
				errors, "dest",
				json_string("give the customer's server as "
					    "IP[:PORT]"));
		else if (dest_parse(in->dest, pg->ox.conf, &dest, "destination",
				    &e) < 0)
			field_err(errors, "dest", &e);
		else
			dest_format(&dest, in->dest_text,
				    sizeof(in->dest_text));
		break;
	}
	case V_SWITCH_POP3:
	case V_TEMP_POP3:
		split_locals(form_text(pg, "mailboxes"), in, errors);
		in->catch_all = form_checked(pg, "catch_all");
		in->from_queue = form_checked(pg, "from_queue");
		break;
	case V_REVERT:
		t = form_text(pg, "keep_days");
		if (t[0] != '\0' &&
		    parse_long(t, 1, KEEP_DAYS_MAX, &in->keep_days, "keep_days",
			       &e) < 0)
			field_err(errors, "keep_days", &e);
		break;
	case V_EXTEND:
		t = form_text(pg, "days");
		in->until = form_text(pg, "until");
		if (t[0] != '\0' &&
		    parse_long(t, 1, QUEUE_DAYS_MAX, &in->days, "days", &e) < 0)
			field_err(errors, "days", &e);
		else if ((t[0] != '\0') == (in->until[0] != '\0'))
			json_object_set_new(
				errors, t[0] ? "until" : "days",
				json_string("give a number of days or a date, "
					    "not both"));
		if (in->until[0] == '\0')
			in->until = NULL;
		break;
	case V_FLUSH:
		break;
	}
	error_release(&e);
}

/* The plan a confirmation page showed: version and mailboxes. */
static int plan_digest(struct page *pg, const struct domain *d,
		       const json_t *mbs, char out[PLAN_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	struct strbuf s = STRBUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	const json_t *m;
	size_t k;
	int ok;

	sbuf_addf(&s, "%lld\n", (long long)d->version);
	json_array_foreach(mbs, k, m)
	{
		sbuf_addf(&s, "%s\n",
			  json_string_value(json_object_get(m, "address")));
	}
	ok = EVP_Digest(s.buf, s.len, md, &len, EVP_sha256(), NULL) == 1 &&
	     len * 2 == PLAN_HEX;
	sbuf_release(&s);
	if (!ok)
		return error_set(&pg->err, ERR_INTERNAL, NULL,
				 "SHA-256 of the plan failed");
	for (i = 0; i < len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[PLAN_HEX] = '\0';
	return 0;
}

/* "a@d, b@d and catch-all@d (the catch-all)" of (temporary) mailboxes. */
static void mb_list(const json_t *mbs, bool temp_only, struct strbuf *out)
{
	const char *catch_all = NULL;
	size_t k, n = 0;
	const json_t *m;

	json_array_foreach(mbs, k, m)
	{
		const char *a =
			json_string_value(json_object_get(m, "address"));

		if (temp_only && !json_is_true(json_object_get(m, "temporary")))
			continue;
		if (json_is_true(json_object_get(m, "catch_all"))) {
			catch_all = a;
			continue;
		}
		sbuf_addf(out, "%s%s", n++ ? ", " : "", a);
	}
	if (catch_all != NULL)
		sbuf_addf(out, "%s%s (the catch-all)", n ? " and " : "",
			  catch_all);
}

static void effect(json_t *effects, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void effect(json_t *effects, const char *fmt, ...)
{
	struct strbuf s = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&s, fmt, ap);
	va_end(ap);
	json_array_append_new(effects, json_string(s.buf));
	sbuf_release(&s);
}

static void hidden(json_t *h, const char *name, const char *value)
{
	json_array_append_new(
		h, json_pack("{s:s, s:s}", "name", name, "value", value));
}

/*
 * The lines of lib's plan for the verb (ops_switch_plan: what feedctl
 * --dry-run prints), under "In short"; none when lib refuses it (the
 * refusal comes when the verb is run).  The page itself asks for the
 * purge confirmation, so the plan is computed as if it were given.
 */
static void plan_effects(struct page *pg, const struct domain *d,
			 const struct verb *v, const struct vin *in,
			 json_t *effects)
{
	struct sp_req req = { .verb = sp_verb_of(v->id),
			      .dest = in->dest,
			      .fate = in->fate,
			      .force = in->force,
			      .confirm = d->name.alabel,
			      .nlocals = in->n,
			      .catch_all = in->catch_all,
			      .keep_days = in->keep_days,
			      .now = (int64_t)time(NULL) };
	struct error e = ERROR_INIT;
	json_t *p = ops_switch_plan(&pg->ox, d->name.alabel, &req, &e), *t;
	size_t i;

	json_array_foreach(json_object_get(p, "effects"), i, t)
		effect(effects, "In short: %s.", json_string_value(t));
	json_decref(p);
	error_release(&e);
}

/* s as a JSON string, or null for NULL */
static json_t *json_nstr(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* A switch to feed or backup: its heading, button and hidden input. */
static void confirm_relay(const struct domain *d, const struct verb *v,
			  const struct vin *in, json_t *h, struct strbuf *head,
			  struct strbuf *button)
{
	const char *mw = v->id == V_SWITCH_BACKUP ? "backup" : "feed";

	sbuf_addf(head, "Switch %s to %s?", d->name.ulabel, mw);
	sbuf_addf(button, "Switch %s to %s%s", d->name.alabel, mw,
		  strcmp(in->fate, "purge") == 0 ? " and purge its mailboxes"
						 : "");
	hidden(h, "dest", in->dest);
	hidden(h, "fate", in->fate);
	if (in->force)
		hidden(h, "force", "on");
}

/* A switch to pop3: heading, button, hidden input, the new mailboxes
 * listed into created. */
static void confirm_pop3(const struct domain *d, const struct vin *in,
			 json_t *h, struct strbuf *head, struct strbuf *button,
			 struct strbuf *created)
{
	struct strbuf ml = STRBUF_INIT;
	size_t k;

	sbuf_addf(head, "Switch %s to POP3?", d->name.ulabel);
	sbuf_addf(button, "Switch %s to POP3", d->name.alabel);
	for (k = 0; k < in->n; k++) {
		sbuf_addf(created, "%s%s@%s", k ? ", " : "", in->lp[k],
			  d->name.alabel);
		sbuf_addf(&ml, "%s%s", k ? "," : "", in->lp[k]);
	}
	hidden(h, "mailboxes", ml.buf);
	if (in->catch_all) {
		sbuf_addf(created, "%scatch-all@%s (the catch-all)",
			  k ? " and " : "", d->name.alabel);
		hidden(h, "catch_all", "on");
	}
	sbuf_release(&ml);
}

/* A revert: heading, button, hidden input, until when it keeps. */
static void confirm_revert(const struct domain *d, const struct vin *in,
			   json_t *h, struct strbuf *head,
			   struct strbuf *button, struct strbuf *until)
{
	char iso[32], kd[16];
	json_t *t, *w;

	sbuf_addf(head, "Revert %s to its feed?", d->name.ulabel);
	sbuf_addf(button, "Revert %s", d->name.alabel);
	if (in->keep_days < 0)
		return;
	time_format_utc(time(NULL) + (int64_t)in->keep_days * 86400, iso,
			sizeof(iso));
	t = json_string(iso);
	w = when(t);
	sbuf_addstr(until, json_string_value(w));
	json_decref(t);
	json_decref(w);
	(void)snprintf(kd, sizeof(kd), "%ld", in->keep_days);
	hidden(h, "keep_days", kd);
}

/* The mailbox table: each affected mailbox, its kind and fate. */
static json_t *confirm_rows(const json_t *mbs, bool temp_only, const char *fate)
{
	json_t *rows = json_array();
	const json_t *m;
	size_t k;

	json_array_foreach(mbs, k, m)
	{
		bool temp = json_is_true(json_object_get(m, "temporary")),
		     ca = json_is_true(json_object_get(m, "catch_all"));

		if (temp_only && !temp)
			continue;
		json_array_append_new(
			rows, json_pack("{s:O, s:s, s:s}", "address",
					json_object_get(m, "address"), "kind",
					ca     ? (temp ? "temporary, catch-all"
						       : "catch-all")
					: temp ? "temporary"
					       : "hosted",
					"fate", fate));
	}
	return first_last(rows);
}

/*
 * The confirmation page of a destructive verb: what happens to which
 * mailboxes (lib's words, then lib's plan), the input as hidden
 * fields, the plan digest and the version shown.
 */
static void confirm_page(struct page *pg, const struct domain *d,
			 const struct verb *v, const struct vin *in, int status,
			 const char *changed, const char *form_error,
			 const char *confirm_error)
{
	struct strbuf action = STRBUF_INIT, back = STRBUF_INIT,
		      list = STRBUF_INIT, head = STRBUF_INIT,
		      button = STRBUF_INIT, extra = STRBUF_INIT;
	json_t *mbs, *effects = json_array(), *h = json_array(), *ctx;
	char plan[PLAN_HEX + 1], cur[IP_TEXT_MAX + 16] = "", ver[24];
	struct sp_words w = { .verb = sp_verb_of(v->id),
			      .domain = d->name.alabel,
			      .cur = cur,
			      .dest = in->dest_text,
			      .force = in->force,
			      .fate = in->fate ? in->fate : "",
			      .catch_all = in->catch_all,
			      .keep_days = in->keep_days,
			      .archive_days = pg->ox.conf->archive_days };

	if ((mbs = ops_mailboxes_json(&pg->ox, d, &pg->err)) == NULL ||
	    plan_digest(pg, d, mbs, plan) < 0) {
		json_decref(mbs);
		json_decref(effects);
		json_decref(h);
		error_page_err(pg);
		return;
	}
	if (d->has_dest)
		dest_format(&d->dest, cur, sizeof(cur));
	mb_list(mbs, v->id == V_REVERT, &list);
	hidden(h, "confirmed", "1");
	hidden(h, "plan", plan);
	(void)snprintf(ver, sizeof(ver), "%lld", (long long)d->version);
	hidden(h, "version", ver);
	if (v->id == V_SWITCH_FEED || v->id == V_SWITCH_BACKUP)
		confirm_relay(d, v, in, h, &head, &button);
	else if (v->id == V_SWITCH_POP3)
		confirm_pop3(d, in, h, &head, &button, &extra);
	else if (v->id == V_REVERT)
		confirm_revert(d, in, h, &head, &button, &extra);
	else /* verb_post() never asks: these change no mailbox */
		log_error("request %s: %s has no confirmation page", pg->q->id,
			  v->path);
	w.mailboxes = list.buf ? list.buf : "";
	w.created = w.until = extra.buf ? extra.buf : "";
	switch_plan_words(&w, effects);
	plan_effects(pg, d, v, in, effects);
	domain_href(&action, d->name.alabel, "/");
	sbuf_addstr(&action, v->path);
	domain_href(&back, d->name.alabel, "");
	ctx = json_pack(
		"{s:o, s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:b, s:s, s:s}", "d",
		domain_to_json(d, NULL), "heading", head.buf, "effects",
		effects, "mailboxes",
		v->id == V_SWITCH_POP3 ? first_last(json_array())
				       : confirm_rows(mbs, v->id == V_REVERT,
						      switch_plan_row_fate(&w)),
		"hidden", h, "action", action.buf, "back_href", back.buf,
		"button", button.buf, "purge",
		(v->id == V_SWITCH_FEED || v->id == V_SWITCH_BACKUP) &&
			strcmp(w.fate, "purge") == 0,
		"confirm", confirm_error || form_error ? in->confirm : "",
		"ticket", form_text(pg, "ticket"));
	json_object_set_new(ctx, "changed", json_nstr(changed));
	json_object_set_new(ctx, "form_error", json_nstr(form_error));
	json_object_set_new(ctx, "confirm_error", json_nstr(confirm_error));
	json_decref(mbs);
	render(pg, status, head.buf, "confirm.html", ctx, NULL);
	sbuf_release(&action);
	sbuf_release(&back);
	sbuf_release(&list);
	sbuf_release(&head);
	sbuf_release(&button);
	sbuf_release(&extra);
}

/*
 * The passwords of new mailboxes.  This is the one POST answered with
 * a page instead of a redirect: the passwords exist only in this
 * response (lib stores hashes), so a GET that could show them again
 * would have to keep them somewhere.  Every response carries
 * Cache-Control: no-store (main.c), so neither the browser's cache nor
 * its history re-shows them; reloading asks to resubmit, which the
 * changed domain then refuses.
 */
static void passwords_page(struct page *pg, const struct domain *d,
			   json_t *created, bool temp)
{
	struct strbuf back = STRBUF_INIT, head = STRBUF_INIT;
	json_t *ctx, *m;
	size_t k;

	domain_href(&back, d->name.alabel, "");
	sbuf_addf(&head, "%s: %s", temp ? "Temporary POP3" : "Switched to POP3",
		  d->name.ulabel);
	ctx = json_pack("{s:o, s:s, s:s, s:O, s:b}", "d",
			domain_to_json(d, NULL), "heading", head.buf,
			"back_href", back.buf, "created", created, "webmail",
			temp);
	json_incref(ctx); /* to wipe the passwords after rendering */
	render(pg, 200, head.buf, "passwords.html", ctx, NULL);
	json_array_foreach(created, k, m)
	{
		const char *pw =
			json_string_value(json_object_get(m, "password"));

		if (pw != NULL)
			OPENSSL_cleanse((void *)pw, strlen(pw));
	}
	json_decref(ctx);
	sbuf_release(&back);
	sbuf_release(&head);
}

static void stale_page(struct page *pg, const char *name, const char *verb);

static void verb_done(struct page *pg, const struct domain *d,
		      const char *query)
{
	struct strbuf loc = STRBUF_INIT;

	domain_href(&loc, d->name.alabel, query);
	redirect(pg, loc.buf);
	sbuf_release(&loc);
}

/* Run a verb whose input passed the form's checks. */
static void verb_run(struct page *pg, const struct domain *d,
		     const struct verb *v, struct vin *in, json_t *errors)
{
	json_t *out = NULL;
	struct strbuf q = STRBUF_INIT;
	struct domain nd;
	int rc = -1;

	switch (v->id) {
	case V_SWITCH_FEED:
		rc = ops_switch_relay(&pg->ox, d->name.alabel, in->version,
				      MODE_FEED, in->dest, in->fate, in->force,
				      in->confirm, &out, &pg->err);
		if (rc == 0) {
			const json_t *probe = json_object_get(out, "probe");

			sbuf_addf(&q, "?done=switch-feed&fate=%s&jobs=%lld%s",
				  in->fate,
				  (long long)json_integer_value(
					  json_object_get(out, "jobs")),
				  json_is_true(json_object_get(probe, "ok"))
					  ? ""
					  : "&probe=failed");
		}
		break;
	case V_SWITCH_BACKUP:
		rc = ops_switch_relay(&pg->ox, d->name.alabel, in->version,
				      MODE_BACKUP, in->dest, in->fate,
				      in->force, in->confirm, &out, &pg->err);
		if (rc == 0) {
			const json_t *probe = json_object_get(out, "probe");

			/* no probe (the destination stayed) is no failure */
			sbuf_addf(&q, "?done=switch-backup&fate=%s&jobs=%lld%s",
				  in->fate,
				  (long long)json_integer_value(
					  json_object_get(out, "jobs")),
				  probe == NULL || json_is_null(probe) ||
						  json_is_true(json_object_get(
							  probe, "ok"))
					  ? ""
					  : "&probe=failed");
		}
		break;
	case V_SWITCH_POP3:
		rc = ops_switch_pop3(&pg->ox, d->name.alabel, in->version,
				     in->lp, in->n, in->catch_all, &out,
				     &pg->err);
		if (rc == 0)
			passwords_page(pg, d, out, false);
		break;
	case V_TEMP_POP3:
		rc = ops_temp_pop3(&pg->ox, d->name.alabel, in->version, in->lp,
				   in->n, in->from_queue, in->catch_all,
				   (int64_t)time(NULL), &out, &pg->err);
		if (rc == 0)
			passwords_page(pg, d, out, true);
		break;
	case V_REVERT:
		rc = ops_revert(&pg->ox, d->name.alabel, in->version,
				in->keep_days, (int64_t)time(NULL), &out,
				&pg->err);
		if (rc == 0)
			sbuf_addf(&q, "?done=revert&jobs=%lld&keep=%ld",
				  (long long)json_integer_value(
					  json_object_get(out, "jobs")),
				  in->keep_days < 0 ? 0 : in->keep_days);
		break;
	case V_EXTEND:
		rc = ops_extend(&pg->ox, d->name.alabel, in->version,
				in->until ? 0 : in->days, in->until,
				(int64_t)time(NULL), &nd, &pg->err);
		if (rc == 0)
			sbuf_addstr(&q, "?done=extend");
		break;
	case V_FLUSH: {
		json_t *o = ops_flush(&pg->ox, &d->name, &pg->err);

		rc = o == NULL ? -1 : 0;
		if (rc == 0)
			sbuf_addf(&q, "?done=flush&relays=%zu&confirmed=%s",
				  json_array_size(json_object_get(o, "relays")),
				  json_is_true(json_object_get(o, "done"))
					  ? "all"
					  : "some");
		json_decref(o);
		break;
	}
	}
	if (rc < 0 && pg->err.code == ERR_STALE) {
		stale_page(pg, d->name.alabel, v->title);
	} else if (rc < 0) {
		if ((v->id == V_SWITCH_FEED || v->id == V_SWITCH_BACKUP) &&
		    pg->err.code == ERR_INVALID &&
		    strcmp(pg->err.field, "confirm") == 0)
			confirm_page(pg, d, v, in, 422, NULL, NULL,
				     error_msg(&pg->err));
		else
			verb_refused(pg, d, v, errors);
	} else if (q.len > 0) {
		verb_done(pg, d, q.buf);
	}
	json_decref(out);
	sbuf_release(&q);
}

static void verb_post(struct page *pg, const struct domain *d,
		      const struct verb *v)
{
	json_t *errors = json_object();
	const char *ticket, *vtext;
	long version = 0;
	struct vin in;

	if (form_ticket(pg, &ticket) < 0) {
		verb_page(pg, d, v, 422, errors, error_msg(&pg->err), true);
		goto out;
	}
	pg->ox.change.ticket = ticket;
	vtext = http_form_get(&pg->form, "version");
	if (vtext != NULL && parse_long(vtext, 1, 0x7fffffffL, &version,
					"version", &pg->err) < 0) {
		error_page(pg, 400, "The form has no usable version.");
		goto out;
	}
	verb_input(pg, v, &in, errors);
	if (vtext != NULL)
		in.version = version;
	if (json_object_size(errors) > 0) {
		verb_page(pg, d, v, 422, errors,
			  "Nothing was changed: correct the fields marked "
			  "below.",
			  true);
		goto out;
	}
	/* the page showed another version: say who changed it, show the
	 * record as it is now, change nothing (a confirmation page's own
	 * digest covers the version for a confirmed POST) */
	if (!in.confirmed && in.version != OPS_NO_VERSION &&
	    in.version != d->version) {
		stale_page(pg, d->name.alabel, v->title);
		goto out;
	}
	/* the confirmation, where the verb is destructive and may apply */
	if ((v->id == V_SWITCH_FEED || v->id == V_SWITCH_BACKUP ||
	     v->id == V_REVERT ||
	     (v->id == V_SWITCH_POP3 && (in.n > 0 || in.catch_all))) &&
	    verb_applies(d, v->id)) {
		json_t *mbs;
		char plan[PLAN_HEX + 1];

		if (!in.confirmed) {
			confirm_page(pg, d, v, &in, 200, NULL, NULL, NULL);
			goto out;
		}
		if ((mbs = ops_mailboxes_json(&pg->ox, d, &pg->err)) == NULL) {
			error_page_err(pg);
			goto out;
		}
		if (plan_digest(pg, d, mbs, plan) < 0) {
			json_decref(mbs);
			error_page_err(pg);
			goto out;
		}
		json_decref(mbs);
		if (strcmp(plan, in.plan) != 0) {
			confirm_page(pg, d, v, &in, 409,
				     "The domain or its mailboxes changed "
				     "since this page was shown: review what "
				     "happens now and confirm again.",
				     NULL, NULL);
			goto out;
		}
		if ((v->id == V_SWITCH_FEED || v->id == V_SWITCH_BACKUP) &&
		    strcmp(in.fate, "purge") == 0 && in.confirm[0] == '\0') {
			confirm_page(pg, d, v, &in, 422, NULL, NULL,
				     "type the domain's name to confirm that "
				     "the mail is deleted");
			goto out;
		}
	}
	if (v->id == V_SWITCH_FEED || v->id == V_SWITCH_BACKUP) {
		int slot = probe_take(pg);

		if (slot < 0)
			goto out;
		verb_run(pg, d, v, &in, errors);
		probe_gate_give(slot);
	} else {
		verb_run(pg, d, v, &in, errors);
	}
out:
	json_decref(errors);
}

/* The flash after a verb's redirect, from enumerated values only. */
static json_t *verb_flash(const struct domain *d, const struct http_form *qs)
{
	static const char *const done_names[] = { "switch-feed",   "revert",
						  "extend",	   "flush",
						  "switch-backup", NULL };
	const char *done = http_form_get(qs, "done");
	const char *jt = http_form_get(qs, "jobs"),
		   *kt = http_form_get(qs, "keep");
	const char *ft = http_form_get(qs, "fate");
	struct strbuf m = STRBUF_INIT;
	struct error e = ERROR_INIT;
	long jobs = 0, keep = 0;
	json_t *fl;
	char stamp[32];
	bool failed = http_form_get(qs, "probe") != NULL;

	if (done == NULL)
		return NULL;
	if (jt != NULL && parse_long(jt, 0, 1000000, &jobs, "jobs", &e) < 0)
		jobs = 0;
	if (kt != NULL &&
	    parse_long(kt, 0, KEEP_DAYS_MAX, &keep, "keep", &e) < 0)
		keep = 0;
	error_release(&e);
	switch (parse_enum(done, done_names)) {
	case 0:
	case 4:
		sbuf_addf(&m,
			  "Switched to %s. %ld mailbox job(s) queued (%s); "
			  "they run once every relay has applied the "
			  "change — see Jobs below.",
			  done[7] == 'b' ? "backup" : "feed", jobs,
			  ft && parse_enum(ft, fates) >= 0 ? ft : "forward");
		if (failed)
			sbuf_addstr(&m, " The destination did not pass the "
					"probe: switched anyway (force).");
		break;
	case 1:
		if (keep > 0)
			sbuf_addf(&m,
				  "Reverted to the feed. The temporary "
				  "mailboxes stay readable %ld more "
				  "day(s); %ld job(s) then archive them.",
				  keep, jobs);
		else
			sbuf_addf(&m,
				  "Reverted to the feed. %ld job(s) "
				  "queued to re-inject the temporary "
				  "mailboxes' mail — see Jobs below.",
				  jobs);
		break;
	case 2:
		time_format_utc(d->queue_extended_until, stamp, sizeof(stamp));
		{
			json_t *iso = json_string(stamp), *w = when(iso);

			sbuf_addf(&m,
				  "Queue extended: no mail expires before "
				  "%s.",
				  json_string_value(w));
			json_decref(iso);
			json_decref(w);
		}
		break;
	case 3: {
		const char *nr = http_form_get(qs, "relays");
		const char *all = http_form_get(qs, "confirmed");
		long relays = 0;

		if (nr == NULL ||
		    parse_long(nr, 0, 1000, &relays, "relays", &e) < 0)
			relays = 0;
		error_release(&e);
		sbuf_addf(&m,
			  "Flush requested on %ld relay(s): they retry the "
			  "domain's queued mail now.",
			  relays);
		if (all == NULL || strcmp(all, "all") != 0) {
			sbuf_addstr(&m, " Not every relay has confirmed yet; "
					"one that is down runs it when it is "
					"back.");
			failed = true;
		}
		break;
	}
	default:
		sbuf_release(&m);
		return NULL;
	}
	fl = flash(failed ? "warn" : "ok", m.buf);
	sbuf_release(&m);
	return fl;
}

static void verb_route(struct page *pg, const struct domain *d,
		       const struct verb *v, bool get)
{
	if (get)
		verb_page(pg, d, v, 200, NULL, NULL, false);
	else
		verb_post(pg, d, v);
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
	f.scope = pg->who.scope; /* a domain group lists only its own */
	f.nscope = pg->who.nscope;
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
	ctx = json_pack("{s:s, s:o, s:o, s:b, s:b, s:b}", "q", q ? q : "",
			"modes", modes, "domains", first_last(rows), "filtered",
			f.match != NULL || f.mode >= 0, "paged",
			f.after != NULL, "can_add",
			auth_can(&pg->who, ACT_DOMAIN_ADD));
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
static void age_text(int64_t s, char *buf, size_t size);

/* An age in seconds (ops' "oldest_age") as words, or null. */
static json_t *age_json(const json_t *secs)
{
	char buf[64];

	if (!json_is_integer(secs))
		return json_null();
	age_text((int64_t)json_integer_value(secs), buf, sizeof(buf));
	return json_string(buf);
}

/*
 * The queue summary of the domain page: ops_queue_summary() (what the
 * relays last published; nothing waits), its times in words, and the
 * flush form where the role may send it.
 */
static void queue_ctx(struct page *pg, const struct domain *d, json_t *ctx)
{
	struct strbuf mh = STRBUF_INIT, fh = STRBUF_INIT;
	json_t *q = ops_queue_summary(&pg->ox, &d->name, (int64_t)time(NULL),
				      &pg->err),
	       *r;
	size_t k;

	if (q == NULL) {
		/* the rest of the page is still worth showing */
		log_warn("request %s: queue summary: %s", pg->q->id,
			 error_msg(&pg->err));
		error_clear(&pg->err);
		q = json_pack("{s:i, s:[], s:[], s:n, s:n}", "count", 0,
			      "reasons", "relays", "oldest", "oldest_age");
		json_object_set_new(q, "unavailable", json_true());
	}
	json_array_foreach(json_object_get(q, "relays"), k, r)
	{
		json_object_set_new(r, "as_of",
				    when(json_object_get(r, "as_of")));
		json_object_set_new(r, "oldest",
				    when(json_object_get(r, "oldest")));
		json_object_set_new(r, "oldest_age",
				    age_json(json_object_get(r, "oldest_age")));
		first_last(json_object_get(r, "reasons"));
	}
	json_object_set_new(q, "oldest", when(json_object_get(q, "oldest")));
	json_object_set_new(q, "oldest_age",
			    age_json(json_object_get(q, "oldest_age")));
	first_last(json_object_get(q, "relays"));
	first_last(json_object_get(q, "reasons"));
	json_object_set_new(ctx, "queue", q);
	domain_href(&mh, d->name.alabel, "/messages");
	json_object_set_new(ctx, "messages_href", json_string(mh.buf));
	domain_href(&fh, d->name.alabel, "/flush");
	json_object_set_new(ctx, "flush_href",
			    verb_applies(d, V_FLUSH) &&
					    auth_can(&pg->who, ACT_QUEUE)
				    ? json_string(fh.buf)
				    : json_null());
	sbuf_release(&mh);
	sbuf_release(&fh);
}

/*
 * Recent refusals from tracking (ops_refusals()): the newest ten
 * refused, virus, greylisted or bounced events, each linking to the
 * messages page searched by its recipient.
 */
#define REFUSALS_SHOWN 10

static void refusals_ctx(struct page *pg, const struct domain *d, json_t *ctx)
{
	json_t *l = ops_refusals(&pg->ox, &d->name, REFUSALS_SHOWN, &pg->err),
	       *e;
	size_t k;

	if (l == NULL) {
		log_warn("request %s: recent refusals: %s", pg->q->id,
			 error_msg(&pg->err));
		error_clear(&pg->err);
		json_object_set_new(ctx, "refusals_unavailable", json_true());
		l = json_array();
	}
	json_array_foreach(l, k, e)
	{
		const char *rcpt =
			json_string_value(json_object_get(e, "recipient"));
		struct strbuf h = STRBUF_INIT;

		domain_href(&h, d->name.alabel, "/messages");
		if (rcpt != NULL && rcpt[0] != '\0') {
			sbuf_addstr(&h, "?address=");
			sbuf_addurl(&h, rcpt);
		}
		json_object_set_new(e, "href", json_string(h.buf));
		json_object_set_new(e, "at", when(json_object_get(e, "at")));
		sbuf_release(&h);
	}
	json_object_set_new(ctx, "refusals", first_last(l));
}

/*
 * The destination on the domain page: the queue's lifetime and its
 * extension, tls.policy, and the probe just run ("Probe now", below),
 * with whether its TLS would do for the policy (probe_tls_refusal(),
 * lib's words).  No probe result is stored: the page probes on request.
 */
static void dest_ctx(struct page *pg, const struct domain *d, json_t *ctx)
{
	json_t *o = json_pack("{s:i, s:s}", "queue_days", d->queue_days,
			      "tls_policy", tls_policy_names[d->tls_policy]);
	int64_t now = (int64_t)time(NULL);
	char buf[256];

	if (d->queue_extended_until > 0) {
		json_t *t;

		time_format_utc(d->queue_extended_until, buf, sizeof(buf));
		t = json_string(buf);
		json_object_set_new(o,
				    d->queue_extended_until > now
					    ? "extended_until"
					    : "extension_ended",
				    when(t));
		json_decref(t);
	}
	if (d->has_dest) {
		dest_format(&d->dest, buf, sizeof(buf));
		json_object_set_new(o, "address", json_string(buf));
		if (d->tls_fingerprint[0])
			json_object_set_new(o, "tls_fingerprint",
					    json_string(d->tls_fingerprint));
		if (auth_can(&pg->who, ACT_PROBE)) {
			struct strbuf h = STRBUF_INIT;

			domain_href(&h, d->name.alabel, "/probe");
			json_object_set_new(o, "probe_href",
					    json_string(h.buf));
			sbuf_release(&h);
		}
	}
	if (pg->probe != NULL) {
		const char *why;

		why = json_is_true(json_object_get(pg->probe, "ok"))
			      ? probe_tls_refusal(pg->probe, d->tls_policy,
						  d->tls_fingerprint, buf,
						  sizeof(buf))
			      : NULL;
		json_object_set_new(pg->probe, "tls_refusal",
				    why ? json_string(why) : json_null());
		json_object_set(o, "probe", pg->probe);
	}
	json_object_set_new(ctx, "dest", o);
}

/* The rules with their removal links, and the add form, as the role
 * may (ACT_DOMAIN_SET, as for every change of the record). */
static void rules_ctx(struct page *pg, const struct domain *d, json_t *rules,
		      json_t *ctx)
{
	static const char *const kinds[] = { "sender-regex", "client", NULL };
	bool can = auth_can(&pg->who, ACT_DOMAIN_SET);
	struct strbuf add = STRBUF_INIT;
	const json_t *rf = pg->rule_form;
	json_t *r, *form;
	size_t k;

	json_array_foreach(rules, k, r)
	{
		struct strbuf h = STRBUF_INIT;

		if (!can)
			break;
		domain_href(&h, d->name.alabel, "/rule-remove?action=");
		sbuf_addurl(&h,
			    json_string_value(json_object_get(r, "action")));
		sbuf_addstr(&h, "&kind=");
		sbuf_addurl(&h, json_string_value(json_object_get(r, "kind")));
		sbuf_addstr(&h, "&value=");
		sbuf_addurl(&h, json_string_value(json_object_get(r, "value")));
		json_object_set_new(r, "remove_href", json_string(h.buf));
		sbuf_release(&h);
	}
	if (!can) {
		json_object_set_new(ctx, "rule_form", json_null());
		return;
	}
	domain_href(&add, d->name.alabel, "/rule-add");
	{
		const char *a = json_string_value(
				   json_object_get(rf, "action")),
			   *kd = json_string_value(json_object_get(rf, "kind")),
			   *v = json_string_value(json_object_get(rf, "value"));
		json_t *errs = json_object_get(rf, "errors");

		form = json_pack("{s:s, s:o, s:o, s:s}", "action_href", add.buf,
				 "actions",
				 options(rule_action_names, a ? a : "block"),
				 "kinds", options(kinds, kd ? kd : ""), "value",
				 v ? v : "");
		json_object_set_new(form, "errors",
				    errs ? json_incref(errs) : json_object());
		json_object_set_new(
			form, "error",
			json_object_get(rf, "error")
				? json_incref(json_object_get(rf, "error"))
				: json_null());
	}
	json_object_set_new(ctx, "rule_form", form);
	sbuf_release(&add);
}

static void domain_page(struct page *pg, const struct domain *d,
			const struct propagation *p, int status, json_t *errors,
			json_t *stale, const char *form_error,
			int64_t form_version, bool posted, json_t *fl)
{
	struct strbuf action = STRBUF_INIT, rm = STRBUF_INIT,
		      prop = STRBUF_INIT;
	json_t *ctx, *hist, *mbs, *rules, *jobs, *row, *dj;
	const char *ticket = posted ? http_form_get(&pg->form, "ticket") : "";
	size_t k, njob_errors = 0;

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
	jobs = rules ? ops_domain_jobs(&pg->ox, &d->name, &pg->err) : NULL;
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
	json_array_foreach(mbs, k, row)
	{
		json_object_set_new(row, "created_at",
				    when(json_object_get(row, "created_at")));
	}
	/* a job's error must catch the eye: it is why mail is stuck */
	json_array_foreach(jobs, k, row)
	{
		const char *st =
			json_string_value(json_object_get(row, "state"));
		bool bad = st != NULL && strcmp(st, "done") != 0 &&
			   json_is_string(json_object_get(row, "last_error"));

		json_object_set_new(row, "problem", json_boolean(bad));
		json_object_set_new(
			row, "retrying",
			json_boolean(bad && strcmp(st, "failed") != 0));
		json_object_set_new(row, "run_after",
				    when(json_object_get(row, "run_after")));
		if (bad)
			njob_errors++;
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
	queue_ctx(pg, d, ctx);
	refusals_ctx(pg, d, ctx);
	dest_ctx(pg, d, ctx);
	rules_ctx(pg, d, rules, ctx);
	{
		json_t *vs = json_array();

		for (k = 0; k < NVERBS; k++)
			if (verb_applies(d, verbs[k].id) &&
			    auth_can(&pg->who, verbs[k].act))
				json_array_append_new(vs,
						      verb_ctx(pg, d, &verbs[k],
							       NULL, false));
		json_object_set_new(ctx, "verbs", vs);
	}
	json_object_set_new(ctx, "can_set",
			    json_boolean(auth_can(&pg->who, ACT_DOMAIN_SET)));
	json_object_set_new(
		ctx, "can_remove",
		json_boolean(auth_can(&pg->who, ACT_DOMAIN_REMOVE)));
	json_object_set_new(ctx, "role",
			    json_string(token_role_names[pg->who.role]));
	json_object_set_new(ctx, "job_errors",
			    njob_errors ? json_integer((json_int_t)njob_errors)
					: json_null());
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
	/* the request's later lines (and its access line) name it */
	log_ctx_set(LOG_F_DOMAIN, d->name.alabel);
	return 0;
}

/*
 * A verb's form named a version the domain has left (or lib found it
 * stale): 409 with the domain page as it is now, saying who changed it
 * and when, and that nothing was done.
 */
static void stale_page(struct page *pg, const char *name, const char *verb)
{
	struct propagation p;
	struct domain d;
	char stamp[32];
	json_t *js;

	error_clear(&pg->err);
	if (load(pg, name, &d, &p) < 0)
		return;
	time_format_utc(d.updated_at, stamp, sizeof(stamp));
	js = json_string(stamp);
	domain_page(pg, &d, &p, 409, NULL,
		    json_pack("{s:s, s:o, s:I, s:s}", "by", d.updated_by, "at",
			      when(js), "version", (json_int_t)d.version,
			      "verb_title", verb),
		    NULL, d.version, false, NULL);
	json_decref(js);
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
		} else if (http_form_get(&qs, "rule") != NULL) {
			fl = flash("ok", strcmp(http_form_get(&qs, "rule"),
						"removed") == 0
						 ? "Rule removed."
						 : "Rule added.");
		} else if (http_form_get(&qs, "added") != NULL) {
			fl = flash("ok", "Domain added.");
		} else {
			fl = verb_flash(&d, &qs);
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
	int slot = -1, rc;

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
		const struct field *f = &domain_fields[i];
		const char *v = http_form_get(&pg->form, f->path);
		struct error e = ERROR_INIT;

		if (v == NULL || !settings_form_has(f, d.mode))
			continue;
		scratch = d;
		if (domain_set(&scratch, f->path, v, pg->ox.conf, &e) < 0)
			json_object_set_new(errors, f->path,
					    json_string(error_msg(&e)));
		error_release(&e);
		sbuf_init(&sets[n], 0);
		sbuf_addf(&sets[n], "%s=%s", f->path, v);
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
	pg->ox.force = form_checked(pg, "force");
	if (!pg->ox.force &&
	    (http_form_get(&pg->form, "destination.host") != NULL ||
	     http_form_get(&pg->form, "destination.port") != NULL ||
	     http_form_get(&pg->form, "fallbacks") != NULL ||
	     http_form_get(&pg->form, "mode") != NULL) &&
	    (slot = probe_take(pg)) < 0)
		goto out;
	rc = ops_domain_set(&pg->ox, name, argv, n, version, &nd, &changed,
			    &pg->err);
	probe_gate_give(slot);
	if (rc == 0) {
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
	} else if (pg->err.code == ERR_INVALID ||
		   (pg->err.code == ERR_CONFLICT && pg->err.field[0])) {
		/* a rule across fields (domain_check), or a new destination
		 * that failed its probe: shown next to the field */
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
	int slot = -1, rc;

	if (form_ticket(pg, &ticket) < 0) {
		new_page(pg, 422, errors, error_msg(&pg->err));
		json_decref(errors);
		return;
	}
	pg->ox.change.ticket = ticket;
	if (pg->who.nscope > 0) {
		struct domain_name dn;
		struct error e = ERROR_INIT;

		if (ops_name(pg->ox.conf, name ? name : "", &dn, &e) == 0 &&
		    !auth_sees(&pg->who, dn.alabel)) {
			error_page(pg, 403,
				   "This domain is outside your domain group; "
				   "nothing was added.");
			error_release(&e);
			json_decref(errors);
			return;
		}
		error_release(&e);
	}
	if (dest != NULL && dest[0] == '\0')
		dest = NULL;
	pg->ox.force = form_checked(pg, "force");
	if (dest != NULL && !pg->ox.force && (slot = probe_take(pg)) < 0) {
		json_decref(errors);
		return;
	}
	rc = ops_domain_add(&pg->ox, name ? name : "", mode, dest, NULL, 0, &d,
			    &pg->err);
	probe_gate_give(slot);
	if (rc == 0) {
		struct strbuf loc = STRBUF_INIT;

		domain_href(&loc, d.name.alabel, "?added=1");
		redirect(pg, loc.buf);
		sbuf_release(&loc);
	} else if (pg->err.code == ERR_INVALID ||
		   pg->err.code == ERR_CONFLICT) {
		const char *f = pg->err.field;
		/* a conflict without a field: the name exists already */
		bool exists = pg->err.code == ERR_CONFLICT && f[0] == '\0';

		if (exists)
			f = "name";
		else if (strncmp(f, "destination", 11) == 0 ||
			 strcmp(f, "dest") == 0 || f[0] == '\0')
			f = strcmp(f, "") == 0 ? "name" : "dest";
		json_object_set_new(errors, f,
				    json_string(exists ? "this domain exists "
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
	if (ops_domain_remove(&pg->ox, d->name.alabel, OPS_NO_VERSION, confirm,
			      false, &pg->err) == 0) {
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

/* A relay whose heartbeat is older is shown silent (sync beats every
 * 10 s) */

static void age_text(int64_t s, char *buf, size_t size)
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

/*
 * The relays, from ops_relay_list() as feedctl relays and GET
 * /api/v1/relays give them, with lib's state in support's words:
 * silent (no heartbeat for a minute), error (its last apply failed),
 * draining or drained (with the mail it has left), behind (not yet at
 * the newest change), retired, or up to date.
 */
static void relays_page(struct page *pg)
{
	json_t *l = ops_relay_list(&pg->ox, &pg->err), *r, *rows, *ctx;
	int64_t latest = 0, now = (int64_t)time(NULL);
	size_t k;

	if (l == NULL ||
	    store_change_seq(pg->ox.store, &latest, &pg->err) < 0) {
		json_decref(l);
		error_page_err(pg);
		return;
	}
	rows = json_array();
	json_array_foreach(l, k, r)
	{
		const char *hb =
			json_string_value(json_object_get(r, "heartbeat"));
		/* an error may name any customer's domain: a domain group's
		 * login sees that there is one, not what it says (as a
		 * scoped token) */
		const char *le =
			pg->who.nscope > 0 && json_is_string(json_object_get(
						      r, "last_error"))
				? "(hidden: your login sees only its domain "
				  "group)"
				: json_string_value(
					  json_object_get(r, "last_error"));
		json_int_t seq =
			json_integer_value(json_object_get(r, "applied_seq"));
		struct strbuf addrs = STRBUF_INIT, st = STRBUF_INIT;
		struct error e = ERROR_INIT;
		const char *state, *sst;
		const json_t *a;
		char age[64] = "never";
		int64_t t = 0;
		bool beat = hb != NULL &&
			    time_parse_utc(hb, &t, "heartbeat", &e) == 0;
		size_t i;

		error_release(&e);
		if (beat)
			age_text(now - t, age, sizeof(age));
		json_array_foreach(json_object_get(r, "addresses"), i, a)
		{
			sbuf_addf(&addrs, "%s%s", i ? ", " : "",
				  json_string_value(a));
		}
		if (le != NULL && le[0] == '\0')
			le = NULL;
		/* the state is lib's (store_relay_list), as feedctl shows it;
		 * here it gets support's words */
		sst = json_string_value(json_object_get(r, "state"));
		if (sst == NULL)
			sst = "";
		if (strcmp(sst, "retired") == 0) {
			state = "retired";
			sbuf_addstr(&st, "retired: nothing waits for it");
		} else if (strcmp(sst, "down") == 0) {
			state = "silent";
			sbuf_addf(&st, "silent: no heartbeat %s",
				  beat ? "for over a minute" : "yet");
		} else if (strcmp(sst, "failing") == 0) {
			state = "error";
			sbuf_addstr(&st, "error: its last apply failed");
		} else if (strcmp(sst, "drained") == 0 ||
			   strcmp(sst, "draining") == 0) {
			/* feedctl relay drain: what its queue still holds */
			state = sst;
			sbuf_addf(&st, "%s: %lld message(s) left", sst,
				  (long long)json_integer_value(
					  json_object_get(r, "queue_total")));
		} else if (strcmp(sst, "behind") == 0) {
			state = "behind";
			sbuf_addf(&st, "behind: at %lld of %lld",
				  (long long)seq, (long long)latest);
		} else {
			state = "ok";
			sbuf_addstr(&st, "up to date");
		}
		{
			json_t *at = when(json_object_get(r, "applied_at")),
			       *hbw = when(json_object_get(r, "heartbeat"));

			json_array_append_new(
				rows,
				json_pack("{s:O, s:O, s:s, s:I, s:o, s:s, s:o, "
					  "s:s, s:s, s:b, s:o}",
					  "name", json_object_get(r, "name"),
					  "role", json_object_get(r, "role"),
					  "addresses",
					  addrs.len ? addrs.buf : "none",
					  "applied_seq", seq, "applied_at", at,
					  "heartbeat_age", age, "heartbeat",
					  hbw, "state", state, "state_text",
					  st.buf, "problem",
					  strcmp(state, "ok") != 0,
					  "last_error",
					  le ? json_string(le) : json_null()));
		}
		sbuf_release(&addrs);
		sbuf_release(&st);
	}
	json_decref(l);
	ctx = json_pack("{s:o, s:I}", "relays", first_last(rows), "latest",
			(json_int_t)latest);
	render(pg, 200, "Relays", "relays.html", ctx, NULL);
}

/*
 * /portal/d/NAME/messages?address=&message_id=&since=&after=: message
 * tracking (ops_trace()), one line per message in words, its steps on
 * click.  A bad search value is shown above the list (422).
 */
static void messages_page(struct page *pg, const struct domain *d)
{
	struct http_form qs = HTTP_FORM_INIT;
	struct ops_trace_in in = { 0 };
	struct strbuf action = STRBUF_INIT, back = STRBUF_INIT,
		      next = STRBUF_INIT;
	json_t *o = NULL, *ctx, *m, *st;
	int status = 200;
	size_t i, j;

	domain_href(&action, d->name.alabel, "/messages");
	domain_href(&back, d->name.alabel, "");
	if (http_form_parse(pg->q->query, strlen(pg->q->query), &qs, &pg->err) <
	    0) {
		sbuf_release(&action);
		sbuf_release(&back);
		error_page(pg, 400, "The search is not a well-formed query.");
		return;
	}
	in.domain = d->name.alabel;
	in.address = http_form_get(&qs, "address");
	in.message_id = http_form_get(&qs, "message_id");
	in.since = http_form_get(&qs, "since");
	in.before = http_form_get(&qs, "after");
	if (in.address != NULL && in.address[0] == '\0')
		in.address = NULL;
	if (in.message_id != NULL && in.message_id[0] == '\0')
		in.message_id = NULL;
	if (in.since != NULL && in.since[0] == '\0')
		in.since = NULL;
	in.limit = 100;
	o = ops_trace(&pg->ox, &in, &pg->err);
	if (o == NULL && pg->err.code != ERR_INVALID) {
		http_form_release(&qs);
		sbuf_release(&action);
		sbuf_release(&back);
		error_page_err(pg);
		return;
	}
	if (o == NULL)
		status = 422;
	json_array_foreach(json_object_get(o, "messages"), i, m)
	{
		json_object_set_new(m, "time",
				    when(json_object_get(m, "time")));
		json_array_foreach(json_object_get(m, "steps"), j, st)
		{
			json_object_set_new(st, "time",
					    when(json_object_get(st, "time")));
		}
	}
	if (json_is_integer(json_object_get(o, "next"))) {
		sbuf_addf(&next, "%s?after=%" JSON_INTEGER_FORMAT, action.buf,
			  json_integer_value(json_object_get(o, "next")));
		if (in.address) {
			sbuf_addstr(&next, "&address=");
			sbuf_addurl(&next, in.address);
		}
		if (in.message_id) {
			sbuf_addstr(&next, "&message_id=");
			sbuf_addurl(&next, in.message_id);
		}
		if (in.since) {
			sbuf_addstr(&next, "&since=");
			sbuf_addurl(&next, in.since);
		}
	}
	ctx = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "domain",
			d->name.ulabel, "action", action.buf, "back", back.buf,
			"address", in.address ? in.address : "", "message_id",
			in.message_id ? in.message_id : "", "since_in",
			in.since ? in.since : "");
	json_object_set_new(ctx, "since",
			    in.since ? json_string(in.since) : json_null());
	json_object_set_new(
		ctx, "messages",
		o ? first_last(json_incref(json_object_get(o, "messages")))
		  : json_array());
	json_object_set_new(ctx, "next",
			    next.len ? json_string(next.buf) : json_null());
	json_object_set_new(ctx, "error",
			    o == NULL ? json_string(error_msg(&pg->err))
				      : json_null());
	json_decref(o);
	http_form_release(&qs);
	sbuf_release(&action);
	sbuf_release(&back);
	sbuf_release(&next);
	render(pg, status, d->name.ulabel, "messages.html", ctx, NULL);
}

/*
 * POST /portal/d/NAME/probe: "Probe now" (ops_probe(), as feedctl probe
 * and the API's POST .../probe), inside the API's probe limits
 * (probe_gate_take(), keyed by the login), answered with the domain
 * page showing the result; nothing is stored.
 */
static void probe_post(struct page *pg, const struct domain *d,
		       const struct propagation *p)
{
	char msg[128];
	int retry = 0, slot;
	json_t *r = NULL;

	if (!d->has_dest) {
		error_page(pg, 409,
			   "A pop3 domain has no destination to probe.");
		return;
	}
	slot = probe_gate_take(login_key(pg), "login", &retry, msg,
			       sizeof(msg));
	if (slot < 0) {
		domain_page(pg, d, p, 429, NULL, NULL, NULL, 0, false,
			    flash("error", msg));
		resp_header(pg->r, "Retry-After", "%d", retry);
		return;
	}
	if (ops_probe(&pg->ox, d->name.alabel, &r, &pg->err) < 0) {
		probe_gate_give(slot);
		error_page_err(pg);
		return;
	}
	probe_gate_give(slot);
	pg->probe = r;
	domain_page(
		pg, d, p, 200, NULL, NULL, NULL, 0, false,
		flash(json_is_true(json_object_get(r, "ok")) ? "ok" : "warn",
		      json_is_true(json_object_get(r, "ok"))
			      ? "The destination passed the probe: see "
				"Destination below."
			      : "The destination did not pass the probe: "
				"see Destination below."));
}

/*
 * Rules from the domain page, through ops_rule() as feedctl rule
 * add/remove: the same validation and messages.  POST .../rule-add
 * (action, kind, value, ticket) answers 303 to the domain page, or the
 * page again (422, 409) with lib's message beside its field and the
 * input kept; GET .../rule-remove?action=&kind=&value= is the
 * confirmation page, whose POST (confirmed=1) removes the rule.
 */
static void rule_done(struct page *pg, const struct domain *d, bool add)
{
	struct strbuf loc = STRBUF_INIT;

	domain_href(&loc, d->name.alabel,
		    add ? "?rule=added#rules" : "?rule=removed#rules");
	redirect(pg, loc.buf);
	sbuf_release(&loc);
}

static void rule_add_post(struct page *pg, const struct domain *d,
			  const struct propagation *p)
{
	const char *a = form_text(pg, "action"), *k = form_text(pg, "kind"),
		   *v = form_text(pg, "value"), *ticket;
	json_t *errs = json_object();
	int status;

	if (form_ticket(pg, &ticket) == 0) {
		pg->ox.change.ticket = ticket;
		if (ops_rule(&pg->ox, d->name.alabel, true, a, k, v,
			     &pg->err) == 0) {
			json_decref(errs);
			rule_done(pg, d, true);
			return;
		}
	}
	status = error_http_status(pg->err.code);
	if (status >= 500 || status == 404) {
		json_decref(errs);
		error_page_err(pg);
		return;
	}
	json_object_set_new(errs,
			    strcmp(pg->err.field, "action") == 0 ||
					    strcmp(pg->err.field, "kind") == 0
				    ? pg->err.field
				    : "value",
			    json_string(error_msg(&pg->err)));
	pg->rule_form =
		json_pack("{s:s, s:s, s:s, s:o, s:s}", "action", a, "kind", k,
			  "value", v, "errors", errs, "error",
			  "Nothing was saved: correct the rule below.");
	domain_page(pg, d, p, status == 409 ? 409 : 422, NULL, NULL, NULL, 0,
		    false, NULL);
}

static void rule_remove_page(struct page *pg, const struct domain *d,
			     const char *a, const char *k, const char *v,
			     int status, const char *error)
{
	struct strbuf act = STRBUF_INIT, back = STRBUF_INIT;
	json_t *ctx;

	domain_href(&act, d->name.alabel, "/rule-remove");
	domain_href(&back, d->name.alabel, "#rules");
	ctx = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "domain",
			d->name.ulabel, "action", a, "kind", k, "value", v,
			"form_action", act.buf, "back_href", back.buf,
			"verdict",
			strcmp(a, "allow") == 0 ? "no longer passes"
						: "is no longer refused");
	json_object_set_new(ctx, "form_error",
			    error ? json_string(error) : json_null());
	sbuf_release(&act);
	sbuf_release(&back);
	render(pg, status, "Remove a rule", "rule-remove.html", ctx, NULL);
}

static void rule_remove(struct page *pg, const struct domain *d, bool get)
{
	struct http_form qs = HTTP_FORM_INIT;
	const struct http_form *f = &pg->form;
	const char *a, *k, *v, *ticket;

	if (get) {
		if (http_form_parse(pg->q->query, strlen(pg->q->query), &qs,
				    &pg->err) < 0) {
			error_page(pg, 400, "The link is not well-formed.");
			return;
		}
		f = &qs;
	}
	a = http_form_get(f, "action");
	k = http_form_get(f, "kind");
	v = http_form_get(f, "value");
	if (a == NULL || k == NULL || v == NULL) {
		http_form_release(&qs);
		error_page(pg, 400, "The rule to remove is not named.");
		return;
	}
	if (get || strcmp(form_text(pg, "confirmed"), "1") != 0) {
		rule_remove_page(pg, d, a, k, v, 200, NULL);
	} else if (form_ticket(pg, &ticket) < 0) {
		rule_remove_page(pg, d, a, k, v, 422, error_msg(&pg->err));
	} else {
		pg->ox.change.ticket = ticket;
		if (ops_rule(&pg->ox, d->name.alabel, false, a, k, v,
			     &pg->err) == 0)
			rule_done(pg, d, false);
		else if (pg->err.code == ERR_INVALID ||
			 pg->err.code == ERR_NOTFOUND)
			rule_remove_page(pg, d, a, k, v,
					 pg->err.code == ERR_INVALID ? 422
								     : 404,
					 error_msg(&pg->err));
		else
			error_page_err(pg);
	}
	http_form_release(&qs);
}

/* ---- routing ------------------------------------------------------- */

/* A 403 page when the login's role may not do act (auth_may()). */
static bool refused(struct page *pg, enum auth_act act)
{
	if (auth_may(&pg->who, act, &pg->err) == 0)
		return false;
	error_page(pg, 403, error_msg(&pg->err));
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
	error_page_err(pg);
	error_clear(&pg->err);
	return true;
}

static void route(struct page *pg)
{
	const char *path = pg->q->path, *m = pg->q->method;
	bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
	bool post = strcmp(m, "POST") == 0;
	char name[DOMAIN_INPUT_MAX + 1];
	const char *rest, *slash;
	const struct verb *v;
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
	if (strcmp(path, "/portal/relays") == 0) {
		if (get)
			relays_page(pg);
		else
			error_page(pg, 405, "Nothing to post here.");
		return;
	}
	if (strcmp(path, "/portal/new") == 0) {
		if (refused(pg, ACT_DOMAIN_ADD))
			return;
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
	if (unseen(pg, name))
		return;
	if (slash == NULL) {
		if (get)
			domain_get(pg, name);
		else if (!refused(pg, ACT_DOMAIN_SET))
			domain_post(pg, name);
		return;
	}
	if (strcmp(slash, "/rule-add") == 0 ||
	    strcmp(slash, "/rule-remove") == 0) {
		/* the confirmation page offers a change: GET as well */
		if (refused(pg, ACT_DOMAIN_SET) || load(pg, name, &d, &p) < 0)
			return;
		if (slash[6] == 'r')
			rule_remove(pg, &d, get);
		else if (get)
			error_page(pg, 405,
				   "The rule form is on the domain "
				   "page: POST.");
		else
			rule_add_post(pg, &d, &p);
		return;
	}
	if (strcmp(slash, "/probe") == 0) {
		if (!post)
			error_page(pg, 405, "The probe is a button: POST.");
		else if (!refused(pg, ACT_PROBE) && load(pg, name, &d, &p) == 0)
			probe_post(pg, &d, &p);
		return;
	}
	if (strcmp(slash, "/messages") == 0) {
		if (!get)
			error_page(pg, 405, "Nothing to post here.");
		else if (load(pg, name, &d, &p) == 0)
			messages_page(pg, &d);
		return;
	}
	v = verb_find(slash + 1);
	if (strcmp(slash, "/remove") != 0 && v == NULL) {
		error_page(pg, 404, "There is no such page.");
		return;
	}
	/* the forms of these pages change things: GET as well as POST */
	if (refused(pg, v != NULL ? v->act : ACT_DOMAIN_REMOVE))
		return;
	if (load(pg, name, &d, &p) < 0)
		return;
	if (v != NULL)
		verb_route(pg, &d, v, get);
	else if (get)
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
		error_page_err(&pg);
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
