/*
 * portal_verbs - the mail-stack verbs on the portal: switch-feed,
 * switch-backup, switch-pop3, temp-pop3, revert, extend and flush
 *
 * A table of verbs and one of their form fields; each verb's POST is
 * read and checked as far as a form goes (verb_input), then handed to
 * the lib/ops function feedctl and the API call.  The destructive ones
 * first answer with a confirmation page whose words are lib's plan
 * (ops_switch_plan, switch_plan_words) and whose digest of version and
 * mailboxes (switch_plan_digest) must still hold when it is confirmed.
 * New mailboxes' passwords are shown once, then wiped.
 */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "domain_json.h"
#include "mailbox.h"
#include "portal_int.h"
#include "probegate.h"
#include "queue.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/timefmt.h"
#include "verbarg.h"

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
 * offers follows lib's one state rule, the one feedctl and the API
 * obey too (switch_plan_offered()); a verb posted for a state it does
 * not fit skips the confirmation and goes to lib, whose refusal is then
 * what the page shows: the rules stay in lib.  The confirmation's words
 * are lib's too (switch_plan_words(), then the plan's effects); the
 * page adds the heading, button and hidden input.
 */

struct verb {
	enum sp_verb id;   /* lib's name for the verb (switchplan.h) */
	enum auth_act act; /* what the role must allow */
	const char *path;
	const char *title;
	const char *intro;
	const char *button;
	bool danger;
};

static const struct verb verbs[] = {
	{ SP_TO_FEED, ACT_MAIL_STACK, "switch-feed", "Switch to feed",
	  "Relay the domain's mail to the customer's server instead of "
	  "mailboxes. The next page says what happens to each mailbox.",
	  "Review the switch…", true },
	{ SP_TO_POP3, ACT_MAIL_STACK, "switch-pop3", "Switch to POP3",
	  "Host the domain's mail in mailboxes instead of relaying it. The "
	  "next page says what happens.",
	  "Review the switch…", true },
	{ SP_TEMP_POP3, ACT_MAIL_STACK, "temp-pop3", "Temporary POP3",
	  "While the customer's server is out: temporary mailboxes (POP3, "
	  "IMAP and webmail at /webmail/) receive the mail, queued mail "
	  "included. Each password is shown once.",
	  "Create temporary mailboxes", false },
	{ SP_REVERT, ACT_MAIL_STACK, "revert", "Revert to the feed",
	  "End temporary POP3: mail goes to the destination again. The next "
	  "page says what happens to the temporary mailboxes.",
	  "Review the revert…", true },
	{ SP_EXTEND, ACT_QUEUE, "extend", "Extend the queue",
	  "Keep queued mail (and mail still to come) longer than the queue "
	  "lifetime, e.g. while the customer's server is out.",
	  "Extend", false },
	{ SP_FLUSH, ACT_QUEUE, "flush", "Flush the queue",
	  "Ask the relay to retry the domain's queued mail now.", "Flush now",
	  false },
	{ SP_TO_BACKUP, ACT_MAIL_STACK, "switch-backup", "Switch to backup",
	  "Be a lower-priority MX for the domain: queue its mail for the "
	  "customer's primary server and defer what the primary might still "
	  "take. The next page says what happens to each mailbox.",
	  "Review the switch…", true },
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

struct vfield {
	enum sp_verb verb;
	const char *name;
	const char *label;
	const char *type; /* text, number, checkbox, select */
	const char *const *choices;
	const char *help;
	const char *placeholder;
};

static const char *const fates[] = { "forward", "archive", "purge", NULL };

static const struct vfield vfields[] = {
	{ SP_TO_FEED, "dest", "Destination", "text", NULL,
	  "IP[:PORT] of the customer's server; it is probed over SMTP first",
	  "192.0.2.10:25" },
	{ SP_TO_FEED, "fate", "Mailboxes", "select", fates,
	  "forward: re-inject their mail to the destination, then archive; "
	  "archive: keep a copy, deliver nothing; purge: delete",
	  NULL },
	{ SP_TO_FEED, "force", "Force", "checkbox", NULL,
	  "switch even if the probe fails (mail then waits in the queue)",
	  NULL },
	{ SP_TO_BACKUP, "dest", "Destination", "text", NULL,
	  "IP[:PORT] of the customer's primary server; empty: the "
	  "destination stays (a pop3 domain needs one); a new one is probed "
	  "over SMTP first",
	  "192.0.2.10:25" },
	{ SP_TO_BACKUP, "fate", "Mailboxes", "select", fates,
	  "forward: re-inject their mail to the destination, then archive; "
	  "archive: keep a copy, deliver nothing; purge: delete",
	  NULL },
	{ SP_TO_BACKUP, "force", "Force", "checkbox", NULL,
	  "switch even if the probe fails (mail then waits in the queue)",
	  NULL },
	{ SP_TO_POP3, "mailboxes", "Mailboxes", "text", NULL,
	  "local parts, separated by commas or spaces", "info, sales" },
	{ SP_TO_POP3, "catch_all", "Catch-all", "checkbox", NULL,
	  "one more mailbox for every other address", NULL },
	{ SP_TEMP_POP3, "mailboxes", "Mailboxes", "text", NULL,
	  "local parts, separated by commas or spaces", "info, sales" },
	{ SP_TEMP_POP3, "from_queue", "From the queue", "checkbox", NULL,
	  "a mailbox for every recipient with mail in the queue", NULL },
	{ SP_TEMP_POP3, "catch_all", "Catch-all", "checkbox", NULL,
	  "one more mailbox for every other address", NULL },
	{ SP_REVERT, "keep_days", "Keep for days", "number", NULL,
	  "empty: re-inject their mail now; 1 to 365: leave the temporary "
	  "mailboxes readable that long",
	  NULL },
	{ SP_EXTEND, "days", "Days", "number", NULL, "1 to 31 from now", NULL },
	{ SP_EXTEND, "until", "Or until", "text", NULL,
	  "YYYY-MM-DD, end of that day UTC, at most 31 days ahead",
	  "YYYY-MM-DD" },
};

#define NVFIELDS (sizeof(vfields) / sizeof(vfields[0]))

/* lib's error fields (JSON paths, feedctl's words) as form fields */
static const struct {
	enum sp_verb verb;
	const char *lib, *form;
} err_fields[] = {
	{ SP_TO_FEED, "destination", "dest" },
	{ SP_TO_FEED, "destination.host", "dest" },
	{ SP_TO_FEED, "destination.port", "dest" },
	{ SP_TO_FEED, "mailboxes", "fate" },
	{ SP_TO_BACKUP, "destination", "dest" },
	{ SP_TO_BACKUP, "destination.host", "dest" },
	{ SP_TO_BACKUP, "destination.port", "dest" },
	{ SP_TO_BACKUP, "mailboxes", "fate" },
	{ SP_TO_POP3, "mailbox", "mailboxes" },
	{ SP_TO_POP3, "local", "mailboxes" },
	{ SP_TEMP_POP3, "mailbox", "mailboxes" },
	{ SP_TEMP_POP3, "local", "mailboxes" },
	{ SP_REVERT, "keep_days", "keep_days" },
	{ SP_EXTEND, "days", "days" },
	{ SP_EXTEND, "until", "until" },
	{ SP_EXTEND, "queue.extended_until", "until" },
};

static const char *form_field(enum sp_verb v, const char *lib)
{
	size_t i;

	for (i = 0; i < sizeof(err_fields) / sizeof(err_fields[0]); i++)
		if (err_fields[i].verb == v &&
		    strcmp(err_fields[i].lib, lib) == 0)
			return err_fields[i].form;
	return NULL;
}

const struct verb *portal_verb_find(const char *path)
{
	size_t i;

	for (i = 0; i < NVERBS; i++)
		if (strcmp(verbs[i].path, path) == 0)
			return &verbs[i];
	return NULL;
}

/* What the login's role must allow for v. */
enum auth_act portal_verb_act(const struct verb *v)
{
	return v->act;
}

/* Whether the domain page offers flush: the state and the role allow it. */
bool portal_flush_offered(struct page *pg, const struct domain *d)
{
	return switch_plan_offered(d, SP_FLUSH) &&
	       auth_can(&pg->who, ACT_QUEUE);
}

/* The fields of a verb's form as markup; posted input and errors win. */
static json_t *verb_fields(struct page *pg, const struct verb *v,
			   const json_t *errors, bool posted)
{
	struct strbuf id = STRBUF_INIT;
	json_t *groups = json_array();
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
		o = portal_field_ctx(
			f->name, f->label, f->type, val, f->choices, f->help,
			f->placeholder,
			json_string_value(json_object_get(errors, f->name)));
		sbuf_reset(&id);
		sbuf_addf(&id, "%s-%s", v->path, f->name);
		json_object_set_new(o, "id", json_string(id.buf));
		portal_groups_add(groups, "", o);
	}
	sbuf_release(&id);
	return portal_fields_html(pg, groups);
}

/* The context of one verb's form (domain page and its own page). */
static json_t *verb_ctx(struct page *pg, const struct domain *d,
			const struct verb *v, const json_t *errors, bool posted)
{
	struct strbuf action = STRBUF_INIT, tid = STRBUF_INIT;
	const char *ticket = posted ? http_form_get(&pg->form, "ticket") : "";
	json_t *o;

	portal_domain_href(&action, d->name.alabel, "/");
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

/* The forms of the verbs the domain page offers, as the role may. */
json_t *portal_verb_forms(struct page *pg, const struct domain *d)
{
	json_t *vs = json_array();
	size_t k;

	for (k = 0; k < NVERBS; k++)
		if (switch_plan_offered(d, verbs[k].id) &&
		    auth_can(&pg->who, verbs[k].act))
			json_array_append_new(
				vs, verb_ctx(pg, d, &verbs[k], NULL, false));
	return vs;
}

/* A verb's form on its own page, e.g. again after a refusal. */
static void verb_page(struct page *pg, const struct domain *d,
		      const struct verb *v, int status, const json_t *errors,
		      const char *form_error, bool posted)
{
	struct strbuf back = STRBUF_INIT, title = STRBUF_INIT;
	json_t *ctx = verb_ctx(pg, d, v, errors, posted);

	portal_domain_href(&back, d->name.alabel, "");
	json_object_set_new(ctx, "d", domain_to_json(d, NULL));
	json_object_set_new(ctx, "back_href", json_string(back.buf));
	json_object_set_new(ctx, "form_error",
			    form_error ? json_string(form_error) : json_null());
	sbuf_addf(&title, "%s: %s", v->title, d->name.ulabel);
	portal_render(pg, status, title.buf, "verb.html", ctx, NULL);
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
		portal_error_page_err(pg);
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

static void field_err(json_t *errors, const char *field, struct error *e)
{
	json_object_set_new(errors, field, json_string(error_msg(e)));
	error_clear(e);
}

/*
 * The mailboxes field (lib reads the list).  A one-line input, not a
 * textarea: http_form_parse() refuses control characters, so a
 * textarea's CR LF would cost the whole form a 400.
 */
static void split_locals(const char *text, struct vin *in, json_t *errors)
{
	struct error e = ERROR_INIT;
	size_t i;

	if (mailbox_locals_split(text, in->locals, LOCALS_MAX, &in->n, &e) < 0)
		field_err(errors, "mailboxes", &e);
	for (i = 0; i < in->n; i++)
		in->lp[i] = in->locals[i];
	error_release(&e);
}

/* Read and check a verb's fields; errors by form field. */
static void verb_input(struct page *pg, const struct verb *v, struct vin *in,
		       json_t *errors)
{
	struct error e = ERROR_INIT;

	memset(in, 0, sizeof(*in));
	in->keep_days = -1;
	in->confirmed = strcmp(portal_form_text(pg, "confirmed"), "1") == 0;
	in->plan = portal_form_text(pg, "plan");
	in->confirm = portal_form_text(pg, "confirm");
	in->version = OPS_NO_VERSION;
	switch (v->id) {
	case SP_TO_FEED:
	case SP_TO_BACKUP: {
		struct dest dest;

		in->dest = portal_form_text(pg, "dest");
		in->fate = portal_form_text(pg, "fate");
		in->force = portal_form_checked(pg, "force");
		if (in->fate[0] == '\0')
			in->fate = "forward";
		if (parse_enum(in->fate, fates) < 0)
			json_object_set_new(
				errors, "fate",
				json_string("forward, archive or purge"));
		/* to backup with none: the destination stays (lib) */
		if (in->dest[0] == '\0' && v->id == SP_TO_BACKUP)
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
	case SP_TO_POP3:
	case SP_TEMP_POP3:
		split_locals(portal_form_text(pg, "mailboxes"), in, errors);
		in->catch_all = portal_form_checked(pg, "catch_all");
		in->from_queue = portal_form_checked(pg, "from_queue");
		break;
	case SP_REVERT:
		if (verb_arg_text(VA_KEEP_DAYS,
				  portal_form_text(pg, "keep_days"),
				  &in->keep_days, &e) < 0)
			field_err(errors, "keep_days", &e);
		break;
	case SP_EXTEND:
		in->until = portal_form_text(pg, "until");
		if (verb_arg_text(VA_DAYS, portal_form_text(pg, "days"),
				  &in->days, &e) < 0 ||
		    verb_extend_choice(in->days, in->until, &e) < 0)
			field_err(errors, e.field, &e);
		if (in->until[0] == '\0')
			in->until = NULL;
		break;
	case SP_FLUSH:
	case SP_REMOVE: /* not a portal verb */
		break;
	}
	error_release(&e);
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
	struct sp_req req = { .verb = v->id,
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
	const char *mw = v->id == SP_TO_BACKUP ? "backup" : "feed";

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
	w = portal_when(t);
	sbuf_addstr(until, json_string_value(w));
	json_decref(t);
	json_decref(w);
	(void)snprintf(kd, sizeof(kd), "%ld", in->keep_days);
	hidden(h, "keep_days", kd);
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
	char plan[SP_DIGEST_HEX + 1], cur[IP_TEXT_MAX + 16] = "", ver[24];
	struct sp_words w = { .verb = v->id,
			      .domain = d->name.alabel,
			      .cur = cur,
			      .dest = in->dest_text,
			      .force = in->force,
			      .fate = in->fate ? in->fate : "",
			      .catch_all = in->catch_all,
			      .keep_days = in->keep_days,
			      .archive_days = pg->ox.conf->archive_days };

	if ((mbs = ops_mailboxes_json(&pg->ox, d, &pg->err)) == NULL ||
	    switch_plan_digest(d->version, mbs, plan, &pg->err) < 0) {
		json_decref(mbs);
		json_decref(effects);
		json_decref(h);
		portal_error_page_err(pg);
		return;
	}
	if (d->has_dest)
		dest_format(&d->dest, cur, sizeof(cur));
	switch_plan_mailbox_list(mbs, v->id == SP_REVERT, &list);
	hidden(h, "confirmed", "1");
	hidden(h, "plan", plan);
	(void)snprintf(ver, sizeof(ver), "%lld", (long long)d->version);
	hidden(h, "version", ver);
	if (v->id == SP_TO_FEED || v->id == SP_TO_BACKUP)
		confirm_relay(d, v, in, h, &head, &button);
	else if (v->id == SP_TO_POP3)
		confirm_pop3(d, in, h, &head, &button, &extra);
	else if (v->id == SP_REVERT)
		confirm_revert(d, in, h, &head, &button, &extra);
	else /* verb_post() never asks: these change no mailbox */
		log_error("request %s: %s has no confirmation page", pg->q->id,
			  v->path);
	w.mailboxes = list.buf ? list.buf : "";
	w.created = w.until = extra.buf ? extra.buf : "";
	switch_plan_words(&w, effects);
	plan_effects(pg, d, v, in, effects);
	portal_domain_href(&action, d->name.alabel, "/");
	sbuf_addstr(&action, v->path);
	portal_domain_href(&back, d->name.alabel, "");
	ctx = json_pack(
		"{s:o, s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:b, s:s, s:s}", "d",
		domain_to_json(d, NULL), "heading", head.buf, "effects",
		effects, "mailboxes",
		portal_first_last(switch_plan_rows(mbs, &w)), "hidden", h,
		"action", action.buf, "back_href", back.buf, "button",
		button.buf, "purge",
		(v->id == SP_TO_FEED || v->id == SP_TO_BACKUP) &&
			strcmp(w.fate, "purge") == 0,
		"confirm", confirm_error || form_error ? in->confirm : "",
		"ticket", portal_form_text(pg, "ticket"));
	json_object_set_new(ctx, "changed", json_nstr(changed));
	json_object_set_new(ctx, "form_error", json_nstr(form_error));
	json_object_set_new(ctx, "confirm_error", json_nstr(confirm_error));
	json_decref(mbs);
	portal_render(pg, status, head.buf, "confirm.html", ctx, NULL);
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

	portal_domain_href(&back, d->name.alabel, "");
	sbuf_addf(&head, "%s: %s", temp ? "Temporary POP3" : "Switched to POP3",
		  d->name.ulabel);
	ctx = json_pack("{s:o, s:s, s:s, s:O, s:b}", "d",
			domain_to_json(d, NULL), "heading", head.buf,
			"back_href", back.buf, "created", created, "webmail",
			temp);
	json_incref(ctx); /* to wipe the passwords after rendering */
	portal_render(pg, 200, head.buf, "passwords.html", ctx, NULL);
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

static void verb_done(struct page *pg, const struct domain *d,
		      const char *query)
{
	struct strbuf loc = STRBUF_INIT;

	portal_domain_href(&loc, d->name.alabel, query);
	portal_redirect(pg, loc.buf);
	sbuf_release(&loc);
}

/* A switch to feed or backup; its redirect's query into q. */
static int verb_relay(struct page *pg, const struct domain *d,
		      const struct verb *v, struct vin *in, json_t **out,
		      struct strbuf *q)
{
	bool backup = v->id == SP_TO_BACKUP, probe_ok;
	const json_t *probe;

	if (ops_switch_relay(&pg->ox, d->name.alabel, in->version,
			     backup ? MODE_BACKUP : MODE_FEED, in->dest,
			     in->fate, in->force, in->confirm, out,
			     &pg->err) < 0)
		return -1;
	probe = json_object_get(*out, "probe");
	probe_ok = json_is_true(json_object_get(probe, "ok"));
	/* to backup, no probe (the destination stayed) is no failure */
	if (backup && (probe == NULL || json_is_null(probe)))
		probe_ok = true;
	sbuf_addf(q, "?done=%s&fate=%s&jobs=%lld%s", v->path, in->fate,
		  (long long)json_integer_value(json_object_get(*out, "jobs")),
		  probe_ok ? "" : "&probe=failed");
	return 0;
}

/*
 * Call lib for the verb: 0, with the redirect's query in q (or a page
 * of passwords rendered), or -1 with pg->err set.
 */
static int verb_call(struct page *pg, const struct domain *d,
		     const struct verb *v, struct vin *in, json_t **outp,
		     struct strbuf *q)
{
	json_t *out = NULL;
	struct domain nd;
	int rc = -1;

	switch (v->id) {
	case SP_TO_FEED:
	case SP_TO_BACKUP:
		rc = verb_relay(pg, d, v, in, &out, q);
		break;
	case SP_TO_POP3:
		rc = ops_switch_pop3(&pg->ox, d->name.alabel, in->version,
				     in->lp, in->n, in->catch_all, &out,
				     &pg->err);
		if (rc == 0)
			passwords_page(pg, d, out, false);
		break;
	case SP_TEMP_POP3:
		rc = ops_temp_pop3(&pg->ox, d->name.alabel, in->version, in->lp,
				   in->n, in->from_queue, in->catch_all,
				   (int64_t)time(NULL), &out, &pg->err);
		if (rc == 0)
			passwords_page(pg, d, out, true);
		break;
	case SP_REVERT:
		rc = ops_revert(&pg->ox, d->name.alabel, in->version,
				in->keep_days, (int64_t)time(NULL), &out,
				&pg->err);
		if (rc == 0)
			sbuf_addf(q, "?done=revert&jobs=%lld&keep=%ld",
				  (long long)json_integer_value(
					  json_object_get(out, "jobs")),
				  in->keep_days < 0 ? 0 : in->keep_days);
		break;
	case SP_EXTEND:
		rc = ops_extend(&pg->ox, d->name.alabel, in->version, in->days,
				in->until, (int64_t)time(NULL), &nd, &pg->err);
		if (rc == 0)
			sbuf_addstr(q, "?done=extend");
		break;
	case SP_FLUSH: {
		json_t *o = ops_flush(&pg->ox, &d->name, &pg->err);

		rc = o == NULL ? -1 : 0;
		if (rc == 0)
			sbuf_addf(q, "?done=flush&relays=%zu&confirmed=%s",
				  json_array_size(json_object_get(o, "relays")),
				  json_is_true(json_object_get(o, "done"))
					  ? "all"
					  : "some");
		json_decref(o);
		break;
	}
	case SP_REMOVE: /* not a portal verb */
		break;
	}
	*outp = out;
	return rc;
}

/* Run a verb whose input passed the form's checks. */
static void verb_run(struct page *pg, const struct domain *d,
		     const struct verb *v, struct vin *in, json_t *errors)
{
	json_t *out = NULL;
	struct strbuf q = STRBUF_INIT;
	int rc = verb_call(pg, d, v, in, &out, &q);

	if (rc < 0 && pg->err.code == ERR_STALE) {
		portal_stale_page(pg, d->name.alabel, v->title);
	} else if (rc < 0) {
		if ((v->id == SP_TO_FEED || v->id == SP_TO_BACKUP) &&
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

/*
 * A destructive verb that may apply goes ahead only once confirmed with
 * the plan (version and mailboxes) the confirmation page showed, and a
 * purge with the domain's name typed: 0 to go ahead, or -1 with the
 * confirmation (or an error) page rendered.
 */
static int verb_confirmed(struct page *pg, const struct domain *d,
			  const struct verb *v, const struct vin *in)
{
	json_t *mbs;
	char plan[SP_DIGEST_HEX + 1];

	if (!((v->id == SP_TO_FEED || v->id == SP_TO_BACKUP ||
	       v->id == SP_REVERT ||
	       (v->id == SP_TO_POP3 && (in->n > 0 || in->catch_all))) &&
	      switch_plan_offered(d, v->id)))
		return 0;
	if (!in->confirmed) {
		confirm_page(pg, d, v, in, 200, NULL, NULL, NULL);
		return -1;
	}
	if ((mbs = ops_mailboxes_json(&pg->ox, d, &pg->err)) == NULL) {
		portal_error_page_err(pg);
		return -1;
	}
	if (switch_plan_digest(d->version, mbs, plan, &pg->err) < 0) {
		json_decref(mbs);
		portal_error_page_err(pg);
		return -1;
	}
	json_decref(mbs);
	if (strcmp(plan, in->plan) != 0) {
		confirm_page(pg, d, v, in, 409,
			     "The domain or its mailboxes changed since this "
			     "page was shown: review what happens now and "
			     "confirm again.",
			     NULL, NULL);
		return -1;
	}
	if ((v->id == SP_TO_FEED || v->id == SP_TO_BACKUP) &&
	    strcmp(in->fate, "purge") == 0 && in->confirm[0] == '\0') {
		confirm_page(pg, d, v, in, 422, NULL, NULL,
			     "type the domain's name to confirm that the mail "
			     "is deleted");
		return -1;
	}
	return 0;
}

static void verb_post(struct page *pg, const struct domain *d,
		      const struct verb *v)
{
	json_t *errors = json_object();
	const char *ticket, *vtext;
	long version = 0;
	struct vin in;

	if (portal_form_ticket(pg, &ticket) < 0) {
		verb_page(pg, d, v, 422, errors, error_msg(&pg->err), true);
		goto out;
	}
	pg->ox.change.ticket = ticket;
	vtext = http_form_get(&pg->form, "version");
	if (vtext != NULL &&
	    (verb_arg_text(VA_VERSION, vtext, &version, &pg->err) < 0 ||
	     version == VA_ABSENT)) {
		portal_error_page(pg, 400, "The form has no usable version.");
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
		portal_stale_page(pg, d->name.alabel, v->title);
		goto out;
	}
	/* the confirmation, where the verb is destructive and may apply */
	if (verb_confirmed(pg, d, v, &in) < 0)
		goto out;
	if (v->id == SP_TO_FEED || v->id == SP_TO_BACKUP) {
		int slot = portal_probe_take(pg);

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

/* The flash after extend: until when no mail expires. */
static void flash_extended(const struct domain *d, struct strbuf *m)
{
	char stamp[32];
	json_t *iso, *w;

	time_format_utc(d->queue_extended_until, stamp, sizeof(stamp));
	iso = json_string(stamp);
	w = portal_when(iso);
	sbuf_addf(m, "Queue extended: no mail expires before %s.",
		  json_string_value(w));
	json_decref(iso);
	json_decref(w);
}

/* The flash after flush; false when not every relay confirmed. */
static bool flash_flushed(const struct http_form *qs, struct strbuf *m)
{
	const char *nr = http_form_get(qs, "relays");
	const char *all = http_form_get(qs, "confirmed");
	struct error e = ERROR_INIT;
	long relays = 0;

	if (nr == NULL || parse_long(nr, 0, 1000, &relays, "relays", &e) < 0)
		relays = 0;
	error_release(&e);
	sbuf_addf(m,
		  "Flush requested on %ld relay(s): they retry the domain's "
		  "queued mail now.",
		  relays);
	if (all != NULL && strcmp(all, "all") == 0)
		return true;
	sbuf_addstr(m, " Not every relay has confirmed yet; one that is "
		       "down runs it when it is back.");
	return false;
}

/* The flash after a verb's redirect, from enumerated values only. */
json_t *portal_verb_flash(const struct domain *d, const struct http_form *qs)
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
		flash_extended(d, &m);
		break;
	case 3:
		if (!flash_flushed(qs, &m))
			failed = true;
		break;
	default:
		sbuf_release(&m);
		return NULL;
	}
	fl = portal_flash(failed ? "warn" : "ok", m.buf);
	sbuf_release(&m);
	return fl;
}

void portal_verb_route(struct page *pg, const struct domain *d,
		       const struct verb *v, bool get)
{
	if (get)
		verb_page(pg, d, v, 200, NULL, NULL, false);
	else
		verb_post(pg, d, v);
}
