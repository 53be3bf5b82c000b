/*
 * portal_int - what the portal's files share, private to fcgi/portal*.c
 *
 * portal.c holds the request (struct page), rendering, the error
 * pages, the POST guards and the routing; portal_form.c the settings
 * form built from lib's record table (fields.def); portal_verbs.c the
 * mail-stack verbs and their confirmation pages; portal_domain.c the
 * domain page and its add, save, probe and remove; portal_rules.c the
 * rules; portal_list.c the lists (domains, relays, messages).  Every
 * name is prefixed portal_.  A page function answers through pg->r:
 * a page, a redirect or an error page, never nothing.
 */
#ifndef MXFEED_PORTAL_INT_H
#define MXFEED_PORTAL_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "fcgi.h"
#include "model.h"
#include "ops.h"
#include "util/error.h"
#include "util/http.h"
#include "util/strbuf.h"

#define CSRF_HEX 64

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

#define NFIELDS FLD_COUNT

/* ---- portal.c: rendering, errors, guards ------------------------------ */

/* Mark the first and last element of an array of objects; returns a. */
json_t *portal_first_last(json_t *a);
/* Render a body template into the layout and answer with it; takes
 * ctx and flash. */
void portal_render(struct page *pg, int status, const char *title,
		   const char *tmpl, json_t *ctx, json_t *flash);
/* "2026-11-28T19:17:07Z" as "2026-11-28 19:17 UTC" for people. */
json_t *portal_when(const json_t *iso);
json_t *portal_flash(const char *kind, const char *text);
void portal_error_page(struct page *pg, int status, const char *message);
/* An error from lib (pg->err): the page a staff member should see. */
void portal_error_page_err(struct page *pg);
/* The login's key in the probe limits (probe_gate_take()). */
int64_t portal_login_key(const struct page *pg);
/* A probe slot for this login, or -1 with a 429 page. */
int portal_probe_take(struct page *pg);
void portal_redirect(struct page *pg, const char *location);
/* /portal/d/ALABEL then tail, URL-encoded, into sb. */
void portal_domain_href(struct strbuf *sb, const char *alabel,
			const char *tail);
/* The form's ticket, checked: -1 with pg->err set when unusable. */
int portal_form_ticket(struct page *pg, const char **ticket);
/* A posted field's text, "" when absent; whether a checkbox is on. */
const char *portal_form_text(struct page *pg, const char *name);
bool portal_form_checked(struct page *pg, const char *name);
/* An age in seconds as words ("3 min ago"); as a JSON string or null. */
void portal_age_text(int64_t s, char *buf, size_t size);
json_t *portal_age_json(const json_t *secs);
/* Read a domain for a page (log context set), or -1 with an error page. */
int portal_load(struct page *pg, const char *name, struct domain *d,
		struct propagation *p);

/* ---- portal_form.c: the settings form (lib/fields.def) ---------------- */

/* The rows of fields.def a person edits in the settings form. */
bool portal_settings_form_has(const struct field *f, enum domain_mode mode);
json_t *portal_options(const char *const *choices, const char *value);
/* One field's context for templates/portal/fields.html. */
json_t *portal_field_ctx(const char *name, const char *label, const char *type,
			 const char *value, const char *const *choices,
			 const char *help, const char *placeholder,
			 const char *error);
/* Add field to the group legend, made at the end when new. */
json_t *portal_groups_add(json_t *groups, const char *legend, json_t *field);
/* groups (taken) rendered by fields.html, as trusted markup. */
json_t *portal_fields_html(struct page *pg, json_t *groups);
/* Markup of the settings fields: posted values and errors win. */
json_t *portal_settings_fields(struct page *pg, const struct domain *d,
			       const json_t *errors, bool posted);
/*
 * The settings of a posted form, each field checked on its own against
 * d (so that every error is found at once) into errors by path, and as
 * "path=value" into sets/argv (NFIELDS each); returns how many.
 */
size_t portal_settings_parse(struct page *pg, const struct domain *d,
			     json_t *errors, struct strbuf *sets, char **argv);

/* ---- portal_verbs.c: the mail-stack verbs ----------------------------- */

struct verb;
const struct verb *portal_verb_find(const char *path);
/* What the login's role must allow for v. */
enum auth_act portal_verb_act(const struct verb *v);
/* The forms of the verbs the domain page offers, as the role may. */
json_t *portal_verb_forms(struct page *pg, const struct domain *d);
/* Whether the domain page offers flush: the state and the role allow it. */
bool portal_flush_offered(struct page *pg, const struct domain *d);
/* The flash after a verb's redirect, from enumerated values only. */
json_t *portal_verb_flash(const struct domain *d, const struct http_form *qs);
void portal_verb_route(struct page *pg, const struct domain *d,
		       const struct verb *v, bool get);

/* ---- portal_domain.c: a domain's page and its forms ------------------- */

/* The domain page; errors/stale/form_error set when re-rendering (all
 * taken, as fl). */
void portal_domain_page(struct page *pg, const struct domain *d,
			const struct propagation *p, int status, json_t *errors,
			json_t *stale, const char *form_error,
			int64_t form_version, bool posted, json_t *fl);
/* 409: the domain page as it is now, saying who changed it. */
void portal_stale_page(struct page *pg, const char *name, const char *verb);
void portal_domain_get(struct page *pg, const char *name);
void portal_domain_post(struct page *pg, const char *name);
void portal_new_page(struct page *pg, int status, const json_t *errors,
		     const char *form_error);
void portal_new_post(struct page *pg);
void portal_remove_page(struct page *pg, const struct domain *d, int status,
			const char *form_error, const char *confirm_error);
void portal_remove_post(struct page *pg, const struct domain *d);
void portal_probe_post(struct page *pg, const struct domain *d,
		       const struct propagation *p);

/* ---- portal_rules.c: allow/block rules -------------------------------- */

/* The rules with their removal links, and the add form, into ctx. */
void portal_rules_ctx(struct page *pg, const struct domain *d, json_t *rules,
		      json_t *ctx);
void portal_rule_add_post(struct page *pg, const struct domain *d,
			  const struct propagation *p);
void portal_rule_remove(struct page *pg, const struct domain *d, bool get);

/* ---- portal_list.c: the lists ----------------------------------------- */

void portal_list_page(struct page *pg);
void portal_relays_page(struct page *pg);
void portal_messages_page(struct page *pg, const struct domain *d);

#endif
