/*
 * portal_rules - allow/block rules from the domain page
 *
 * Through ops_rule() as feedctl rule add/remove: the same validation
 * and messages.  POST .../rule-add (action, kind, value, ticket)
 * answers 303 to the domain page, or the page again (422, 409) with
 * lib's message beside its field and the input kept;
 * GET .../rule-remove?action=&kind=&value= is the confirmation page,
 * whose POST (confirmed=1) removes the rule.  The role must allow
 * ACT_DOMAIN_SET, as for every change of the record.
 */
#include <string.h>

#include "portal_int.h"

/* The rules with their removal links, and the add form, as the role
 * may (ACT_DOMAIN_SET, as for every change of the record). */
void portal_rules_ctx(struct page *pg, const struct domain *d, json_t *rules,
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
		portal_domain_href(&h, d->name.alabel, "/rule-remove?action=");
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
	portal_domain_href(&add, d->name.alabel, "/rule-add");
	{
		const char *a = json_string_value(
				   json_object_get(rf, "action")),
			   *kd = json_string_value(json_object_get(rf, "kind")),
			   *v = json_string_value(json_object_get(rf, "value"));
		json_t *errs = json_object_get(rf, "errors");

		form = json_pack(
			"{s:s, s:o, s:o, s:s}", "action_href", add.buf,
			"actions",
			portal_options(rule_action_names, a ? a : "block"),
			"kinds", portal_options(kinds, kd ? kd : ""), "value",
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

	portal_domain_href(&loc, d->name.alabel,
			   add ? "?rule=added#rules" : "?rule=removed#rules");
	portal_redirect(pg, loc.buf);
	sbuf_release(&loc);
}

void portal_rule_add_post(struct page *pg, const struct domain *d,
			  const struct propagation *p)
{
	const char *a = portal_form_text(pg, "action"),
		   *k = portal_form_text(pg, "kind"),
		   *v = portal_form_text(pg, "value"), *ticket;
	json_t *errs = json_object();
	int status;

	if (portal_form_ticket(pg, &ticket) == 0) {
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
		portal_error_page_err(pg);
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
	portal_domain_page(pg, d, p, status == 409 ? 409 : 422, NULL, NULL,
			   NULL, 0, false, NULL);
}

static void rule_remove_page(struct page *pg, const struct domain *d,
			     const char *a, const char *k, const char *v,
			     int status, const char *error)
{
	struct strbuf act = STRBUF_INIT, back = STRBUF_INIT;
	json_t *ctx;

	portal_domain_href(&act, d->name.alabel, "/rule-remove");
	portal_domain_href(&back, d->name.alabel, "#rules");
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
	portal_render(pg, status, "Remove a rule", "rule-remove.html", ctx,
		      NULL);
}

void portal_rule_remove(struct page *pg, const struct domain *d, bool get)
{
	struct http_form qs = HTTP_FORM_INIT;
	const struct http_form *f = &pg->form;
	const char *a, *k, *v, *ticket;

	if (get) {
		if (http_form_parse(pg->q->query, strlen(pg->q->query), &qs,
				    &pg->err) < 0) {
			portal_error_page(pg, 400,
					  "The link is not well-formed.");
			return;
		}
		f = &qs;
	}
	a = http_form_get(f, "action");
	k = http_form_get(f, "kind");
	v = http_form_get(f, "value");
	if (a == NULL || k == NULL || v == NULL) {
		http_form_release(&qs);
		portal_error_page(pg, 400, "The rule to remove is not named.");
		return;
	}
	if (get || strcmp(portal_form_text(pg, "confirmed"), "1") != 0) {
		rule_remove_page(pg, d, a, k, v, 200, NULL);
	} else if (portal_form_ticket(pg, &ticket) < 0) {
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
			portal_error_page_err(pg);
	}
	http_form_release(&qs);
}
