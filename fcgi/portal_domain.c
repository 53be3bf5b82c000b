/*
 * portal_domain - a domain's page and the forms that change the record
 *
 *   GET  /portal/d/NAME, POST       the page; the settings form's save
 *   GET  /portal/new, POST          add a domain
 *   GET  /portal/d/NAME/remove, POST    confirmation, then removal
 *   POST /portal/d/NAME/probe       probe now (nothing stored)
 *
 * The page reads through lib/ops and lib/ops_view: the record and its
 * propagation, history, mailboxes, rules, jobs, the relays' queue and
 * recent refusals; a part that cannot be read (the queue, refusals) is
 * shown as unavailable, the rest of the page still worth showing.  A
 * save names the version the page showed: a change in between is a
 * 409 page saying who made it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain_json.h"
#include "ops_view.h"
#include "portal_int.h"
#include "probe.h"
#include "probegate.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/timefmt.h"
#include "verbarg.h"

/*
 * The queue summary of the domain page: ops_queue_summary() (what the
 * relays last published; nothing waits), its times in words, and the
 * flush form where the role may send it.
 */
static void domain_queue_ctx(struct page *pg, const struct domain *d,
			     json_t *ctx)
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
				    portal_when(json_object_get(r, "as_of")));
		json_object_set_new(r, "oldest",
				    portal_when(json_object_get(r, "oldest")));
		json_object_set_new(
			r, "oldest_age",
			portal_age_json(json_object_get(r, "oldest_age")));
		portal_first_last(json_object_get(r, "reasons"));
	}
	json_object_set_new(q, "oldest",
			    portal_when(json_object_get(q, "oldest")));
	json_object_set_new(q, "oldest_age",
			    portal_age_json(json_object_get(q, "oldest_age")));
	portal_first_last(json_object_get(q, "relays"));
	portal_first_last(json_object_get(q, "reasons"));
	json_object_set_new(ctx, "queue", q);
	portal_domain_href(&mh, d->name.alabel, "/messages");
	json_object_set_new(ctx, "messages_href", json_string(mh.buf));
	portal_domain_href(&fh, d->name.alabel, "/flush");
	json_object_set_new(ctx, "flush_href",
			    portal_flush_offered(pg, d) ? json_string(fh.buf)
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

		portal_domain_href(&h, d->name.alabel, "/messages");
		if (rcpt != NULL && rcpt[0] != '\0') {
			sbuf_addstr(&h, "?address=");
			sbuf_addurl(&h, rcpt);
		}
		json_object_set_new(e, "href", json_string(h.buf));
		json_object_set_new(e, "at",
				    portal_when(json_object_get(e, "at")));
		sbuf_release(&h);
	}
	json_object_set_new(ctx, "refusals", portal_first_last(l));
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
				    portal_when(t));
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

			portal_domain_href(&h, d->name.alabel, "/probe");
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

/* How far the relays are with this version, in words. */
static void prop_text(const struct propagation *p, struct strbuf *prop)
{
	if (p->relays_total == 0)
		sbuf_addstr(prop, "no relays registered yet (mta-glue reports "
				  "here once relays run)");
	else
		sbuf_addf(prop, "%ld of %ld relays applied this version",
			  p->relays_applied, p->relays_total);
}

/* The history's changes and the times of history and mailboxes in
 * words. */
static void history_words(json_t *hist, json_t *mbs)
{
	json_t *row;
	size_t k;

	json_array_foreach(hist, k, row)
	{
		json_t *ch = ops_json_changes(json_object_get(row, "old"),
					      json_object_get(row, "new"));

		json_object_set_new(row, "changes", ch);
		json_object_set_new(row, "at",
				    portal_when(json_object_get(row, "at")));
	}
	json_array_foreach(mbs, k, row)
	{
		json_object_set_new(
			row, "created_at",
			portal_when(json_object_get(row, "created_at")));
	}
}

/* Mark the jobs whose error must catch the eye (it is why mail is
 * stuck); returns how many. */
static size_t jobs_marked(json_t *jobs)
{
	size_t k, n = 0;
	json_t *row;

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
		json_object_set_new(
			row, "run_after",
			portal_when(json_object_get(row, "run_after")));
		if (bad)
			n++;
	}
	return n;
}

/* What the login's role lets the page offer. */
static void role_ctx(struct page *pg, json_t *ctx)
{
	json_object_set_new(ctx, "can_set",
			    json_boolean(auth_can(&pg->who, ACT_DOMAIN_SET)));
	json_object_set_new(
		ctx, "can_remove",
		json_boolean(auth_can(&pg->who, ACT_DOMAIN_REMOVE)));
	json_object_set_new(ctx, "role",
			    json_string(token_role_names[pg->who.role]));
}

void portal_domain_page(struct page *pg, const struct domain *d,
			const struct propagation *p, int status, json_t *errors,
			json_t *stale, const char *form_error,
			int64_t form_version, bool posted, json_t *fl)
{
	struct strbuf action = STRBUF_INIT, rm = STRBUF_INIT,
		      prop = STRBUF_INIT;
	json_t *ctx, *hist, *mbs, *rules, *jobs, *dj;
	const char *ticket = posted ? http_form_get(&pg->form, "ticket") : "";
	size_t njob_errors;

	portal_domain_href(&action, d->name.alabel, "");
	portal_domain_href(&rm, d->name.alabel, "/remove");
	prop_text(p, &prop);
	hist = ops_domain_history(&pg->ox, &d->name, 20, &pg->err);
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
		portal_error_page_err(pg);
		return;
	}
	history_words(hist, mbs);
	njob_errors = jobs_marked(jobs);
	dj = domain_to_json(d, p);
	json_object_set_new(dj, "updated_at",
			    portal_when(json_object_get(dj, "updated_at")));
	ctx = json_pack(
		"{s:o, s:b, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, "
		"s:s, s:I}",
		"d", dj, "idn", strcmp(d->name.alabel, d->name.ulabel) != 0,
		"action", action.buf, "remove_href", rm.buf, "prop_text",
		prop.buf, "prop_class",
		p->relays_total == 0		       ? "none"
		: p->relays_applied == p->relays_total ? "done"
						       : "pending",
		"history", portal_first_last(hist), "mailboxes",
		portal_first_last(mbs), "rules", portal_first_last(rules),
		"jobs", portal_first_last(jobs), "ticket", ticket ? ticket : "",
		"form_version",
		(json_int_t)(form_version ? form_version : d->version));
	json_object_set_new(ctx, "fields",
			    portal_settings_fields(pg, d, errors, posted));
	domain_queue_ctx(pg, d, ctx);
	refusals_ctx(pg, d, ctx);
	dest_ctx(pg, d, ctx);
	portal_rules_ctx(pg, d, rules, ctx);
	json_object_set_new(ctx, "verbs", portal_verb_forms(pg, d));
	role_ctx(pg, ctx);
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
	portal_render(pg, status, d->name.ulabel, "domain.html", ctx, fl);
}

/*
 * A verb's form named a version the domain has left (or lib found it
 * stale): 409 with the domain page as it is now, saying who changed it
 * and when, and that nothing was done.
 */
void portal_stale_page(struct page *pg, const char *name, const char *verb)
{
	struct propagation p;
	struct domain d;
	char stamp[32];
	json_t *js;

	error_clear(&pg->err);
	if (portal_load(pg, name, &d, &p) < 0)
		return;
	time_format_utc(d.updated_at, stamp, sizeof(stamp));
	js = json_string(stamp);
	portal_domain_page(pg, &d, &p, 409, NULL,
			   json_pack("{s:s, s:o, s:I, s:s}", "by", d.updated_by,
				     "at", portal_when(js), "version",
				     (json_int_t)d.version, "verb_title", verb),
			   NULL, d.version, false, NULL);
	json_decref(js);
}

void portal_domain_get(struct page *pg, const char *name)
{
	struct http_form qs = HTTP_FORM_INIT;
	struct propagation p;
	struct domain d;
	json_t *fl = NULL;

	if (portal_load(pg, name, &d, &p) < 0)
		return;
	if (http_form_parse(pg->q->query, strlen(pg->q->query), &qs,
			    &pg->err) == 0) {
		if (http_form_get(&qs, "saved") != NULL) {
			char m[80];

			(void)snprintf(m, sizeof(m), "Saved: version %lld.",
				       (long long)d.version);
			fl = portal_flash("ok", m);
		} else if (http_form_get(&qs, "unchanged") != NULL) {
			fl = portal_flash("ok",
					  "Nothing changed: the settings were "
					  "already so.");
		} else if (http_form_get(&qs, "rule") != NULL) {
			fl = portal_flash("ok",
					  strcmp(http_form_get(&qs, "rule"),
						 "removed") == 0
						  ? "Rule removed."
						  : "Rule added.");
		} else if (http_form_get(&qs, "added") != NULL) {
			fl = portal_flash("ok", "Domain added.");
		} else {
			fl = portal_verb_flash(&d, &qs);
		}
	}
	error_clear(&pg->err);
	http_form_release(&qs);
	portal_domain_page(pg, &d, &p, 200, NULL, NULL, NULL, 0, false, fl);
}

/*
 * The answer to a settings form ops_domain_set() took (rc 0: a
 * redirect) or refused: the page again, 409 saying who changed the
 * domain, or 422 with lib's message beside its field.  Takes errors.
 */
static void domain_saved(struct page *pg, const struct domain *d,
			 const struct propagation *p, int rc, bool changed,
			 json_t *errors, long version)
{
	if (rc == 0) {
		struct strbuf loc = STRBUF_INIT;

		portal_domain_href(&loc, d->name.alabel,
				   changed ? "?saved=1" : "?unchanged=1");
		portal_redirect(pg, loc.buf);
		sbuf_release(&loc);
		json_decref(errors);
	} else if (pg->err.code == ERR_STALE) {
		char stamp[32];
		json_t *js;

		time_format_utc(d->updated_at, stamp, sizeof(stamp));
		js = json_string(stamp);
		portal_domain_page(pg, d, p, 409, errors,
				   json_pack("{s:s, s:o, s:I}", "by",
					     d->updated_by, "at",
					     portal_when(js), "version",
					     (json_int_t)d->version),
				   NULL, d->version, true, NULL);
		json_decref(js);
	} else if (pg->err.code == ERR_INVALID ||
		   (pg->err.code == ERR_CONFLICT && pg->err.field[0])) {
		/* a rule across fields (domain_check), or a new destination
		 * that failed its probe: shown next to the field */
		if (pg->err.field[0])
			json_object_set_new(errors, pg->err.field,
					    json_string(error_msg(&pg->err)));
		portal_domain_page(pg, d, p, 422, errors, NULL,
				   error_msg(&pg->err), version, true, NULL);
	} else {
		portal_error_page_err(pg);
		json_decref(errors);
	}
}

void portal_domain_post(struct page *pg, const char *name)
{
	struct strbuf *sets = xcalloc(NFIELDS, sizeof(*sets));
	char **argv = xcalloc(NFIELDS, sizeof(*argv));
	json_t *errors = json_object();
	struct propagation p;
	struct domain d, nd;
	const char *vtext, *ticket;
	size_t i, n = 0;
	bool changed = false;
	long version = 0;
	int slot = -1, rc;

	if (portal_load(pg, name, &d, &p) < 0)
		goto out;
	vtext = http_form_get(&pg->form, "version");
	if (vtext == NULL ||
	    verb_arg_text(VA_VERSION, vtext, &version, &pg->err) < 0 ||
	    version == VA_ABSENT) {
		portal_error_page(pg, 400, "The form has no usable version.");
		goto out;
	}
	if (portal_form_ticket(pg, &ticket) < 0) {
		portal_domain_page(pg, &d, &p, 422, errors, NULL,
				   error_msg(&pg->err), version, true, NULL);
		errors = NULL;
		goto out;
	}
	pg->ox.change.ticket = ticket;
	n = portal_settings_parse(pg, &d, errors, sets, argv);
	if (json_object_size(errors) > 0) {
		portal_domain_page(
			pg, &d, &p, 422, errors, NULL,
			"Nothing was saved: correct the fields marked "
			"below.",
			version, true, NULL);
		errors = NULL;
		goto out;
	}
	if (n == 0) {
		portal_error_page(pg, 400, "The form had no settings.");
		goto out;
	}
	pg->ox.force = portal_form_checked(pg, "force");
	if (!pg->ox.force &&
	    (http_form_get(&pg->form, "destination.host") != NULL ||
	     http_form_get(&pg->form, "destination.port") != NULL ||
	     http_form_get(&pg->form, "fallbacks") != NULL ||
	     http_form_get(&pg->form, "mode") != NULL) &&
	    (slot = portal_probe_take(pg)) < 0)
		goto out;
	rc = ops_domain_set(&pg->ox, name, argv, n, version, &nd, &changed,
			    &pg->err);
	probe_gate_give(slot);
	domain_saved(pg, &d, &p, rc, changed, errors, version);
	errors = NULL;
out:
	for (i = 0; i < n; i++)
		sbuf_release(&sets[i]);
	free(sets);
	free(argv);
	json_decref(errors);
}

static const char *const add_modes[] = { "feed", "backup", "pop3", NULL };

void portal_new_page(struct page *pg, int status, const json_t *errors,
		     const char *form_error)
{
	const char *name = "", *mode = "feed", *dest = "", *ticket = "";
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
	portal_groups_add(
		groups, "New domain",
		portal_field_ctx(
			"name", "Domain name", "text", name, NULL,
			"Unicode names are converted to their A-label",
			"example.com",
			json_string_value(json_object_get(errors, "name"))));
	portal_groups_add(
		groups, "New domain",
		portal_field_ctx(
			"mode", "Mode", "text", mode, add_modes,
			"feed: relay to the customer's server; backup: "
			"backup MX; pop3: hosted mailboxes",
			NULL,
			json_string_value(json_object_get(errors, "mode"))));
	portal_groups_add(
		groups, "New domain",
		portal_field_ctx(
			"dest", "Destination", "text", dest, NULL,
			"IP[:PORT] of the customer's server (feed and "
			"backup only)",
			"192.0.2.10:25",
			json_string_value(json_object_get(errors, "dest"))));
	ctx = json_pack("{s:o, s:s}", "fields", portal_fields_html(pg, groups),
			"ticket", ticket);
	json_object_set_new(ctx, "form_error",
			    form_error ? json_string(form_error) : json_null());
	portal_render(pg, status, "Add a domain", "new.html", ctx, NULL);
}

void portal_new_post(struct page *pg)
{
	const char *name = http_form_get(&pg->form, "name");
	const char *mode = http_form_get(&pg->form, "mode");
	const char *dest = http_form_get(&pg->form, "dest");
	const char *ticket;
	json_t *errors = json_object();
	struct domain d;
	int slot = -1, rc;

	if (portal_form_ticket(pg, &ticket) < 0) {
		portal_new_page(pg, 422, errors, error_msg(&pg->err));
		json_decref(errors);
		return;
	}
	pg->ox.change.ticket = ticket;
	if (pg->who.nscope > 0) {
		struct domain_name dn;
		struct error e = ERROR_INIT;

		if (ops_name(pg->ox.conf, name ? name : "", &dn, &e) == 0 &&
		    !auth_sees(&pg->who, dn.alabel)) {
			portal_error_page(
				pg, 403,
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
	pg->ox.force = portal_form_checked(pg, "force");
	if (dest != NULL && !pg->ox.force &&
	    (slot = portal_probe_take(pg)) < 0) {
		json_decref(errors);
		return;
	}
	rc = ops_domain_add(&pg->ox, name ? name : "", mode, dest, NULL, 0, &d,
			    &pg->err);
	probe_gate_give(slot);
	if (rc == 0) {
		struct strbuf loc = STRBUF_INIT;

		portal_domain_href(&loc, d.name.alabel, "?added=1");
		portal_redirect(pg, loc.buf);
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
		portal_new_page(
			pg, pg->err.code == ERR_CONFLICT ? 409 : 422, errors,
			"Nothing was added: correct the fields marked below.");
	} else {
		portal_error_page_err(pg);
	}
	json_decref(errors);
}

void portal_remove_page(struct page *pg, const struct domain *d, int status,
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
		portal_error_page_err(pg);
		return;
	}
	portal_domain_href(&action, d->name.alabel, "/remove");
	portal_domain_href(&back, d->name.alabel, "");
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
	portal_render(pg, status, "Remove a domain", "remove.html", ctx, NULL);
}

void portal_remove_post(struct page *pg, const struct domain *d)
{
	const char *confirm = http_form_get(&pg->form, "confirm");
	const char *ticket;

	if (portal_form_ticket(pg, &ticket) < 0) {
		portal_remove_page(pg, d, 422, error_msg(&pg->err), NULL);
		return;
	}
	pg->ox.change.ticket = ticket;
	if (confirm == NULL || confirm[0] == '\0') {
		portal_remove_page(pg, d, 422, NULL,
				   "type the domain's name to confirm");
		return;
	}
	if (ops_domain_remove(&pg->ox, d->name.alabel, OPS_NO_VERSION, confirm,
			      false, &pg->err) == 0) {
		struct strbuf loc = STRBUF_INIT;

		sbuf_addstr(&loc, "/portal/?removed=");
		sbuf_addurl(&loc, d->name.alabel);
		portal_redirect(pg, loc.buf);
		sbuf_release(&loc);
	} else if (pg->err.code == ERR_INVALID) {
		portal_remove_page(pg, d, 422, NULL, error_msg(&pg->err));
	} else if (pg->err.code == ERR_CONFLICT) {
		portal_remove_page(pg, d, 409, error_msg(&pg->err), NULL);
	} else {
		portal_error_page_err(pg);
	}
}

/*
 * POST /portal/d/NAME/probe: "Probe now" (ops_probe(), as feedctl probe
 * and the API's POST .../probe), inside the API's probe limits
 * (probe_gate_take(), keyed by the login), answered with the domain
 * page showing the result; nothing is stored.
 */
void portal_probe_post(struct page *pg, const struct domain *d,
		       const struct propagation *p)
{
	char msg[128];
	int retry = 0, slot;
	json_t *r = NULL;

	if (!d->has_dest) {
		portal_error_page(pg, 409,
				  "A pop3 domain has no destination to probe.");
		return;
	}
	slot = probe_gate_take(portal_login_key(pg), "login", &retry, msg,
			       sizeof(msg));
	if (slot < 0) {
		portal_domain_page(pg, d, p, 429, NULL, NULL, NULL, 0, false,
				   portal_flash("error", msg));
		resp_header(pg->r, "Retry-After", "%d", retry);
		return;
	}
	if (ops_probe(&pg->ox, d->name.alabel, &r, &pg->err) < 0) {
		probe_gate_give(slot);
		portal_error_page_err(pg);
		return;
	}
	probe_gate_give(slot);
	pg->probe = r;
	portal_domain_page(
		pg, d, p, 200, NULL, NULL, NULL, 0, false,
		portal_flash(
			json_is_true(json_object_get(r, "ok")) ? "ok" : "warn",
			json_is_true(json_object_get(r, "ok"))
				? "The destination passed the probe: see "
				  "Destination below."
				: "The destination did not pass the probe: "
				  "see Destination below."));
}
