/*
 * portal_list - the portal's lists: domains, relays, a domain's messages
 *
 *   GET /portal/?q=&mode=&after=     the domains, 50 a page, keyset-paged
 *                                    on the A-label (ops_domain_page)
 *   GET /portal/relays               the relays and their state
 *   GET /portal/d/NAME/messages      message tracking (ops_trace)
 *
 * A domain group's login lists only its group, and sees that a relay
 * has an error, not what it says.  Every value is lib's; this file
 * only puts it in support's words.
 */
#include <string.h>
#include <time.h>

#include "domain_json.h"
#include "ops_view.h"
#include "portal_int.h"
#include "util/parse.h"
#include "util/timefmt.h"

#define LIST_PAGE 50

void portal_list_page(struct page *pg)
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
		portal_error_page(pg, 400, error_msg(&pg->err));
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
	if (ops_domain_page(&pg->ox, &f, &l, &pg->err) < 0) {
		http_form_release(&qs);
		portal_error_page_err(pg);
		return;
	}
	rows = json_array();
	for (k = 0; k < l.n; k++) {
		const struct domain *d = &l.v[k];
		struct strbuf href = STRBUF_INIT, dest = STRBUF_INIT,
			      queue = STRBUF_INIT;
		char stamp[32];

		portal_domain_href(&href, d->name.alabel, "");
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
					    "updated_at", portal_when(js));
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
			"modes", modes, "domains", portal_first_last(rows),
			"filtered", f.match != NULL || f.mode >= 0, "paged",
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
			fl = portal_flash("ok", m.buf);
			sbuf_release(&m);
		}
		error_release(&e);
	}
	domain_list_release(&l);
	http_form_release(&qs);
	portal_render(pg, 200, "Domains", "list.html", ctx, fl);
}

/*
 * The relays, from ops_relay_list() as feedctl relays and GET
 * /api/v1/relays give them, with lib's state in support's words:
 * silent (no heartbeat for a minute), error (its last apply failed),
 * behind (not yet at the newest change), retired, or up to date.
 */
void portal_relays_page(struct page *pg)
{
	json_t *l = ops_relay_list(&pg->ox, &pg->err), *r, *rows, *ctx;
	int64_t latest = 0, now = (int64_t)time(NULL);
	size_t k;

	if (l == NULL || ops_change_seq(&pg->ox, &latest, &pg->err) < 0) {
		json_decref(l);
		portal_error_page_err(pg);
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
			portal_age_text(now - t, age, sizeof(age));
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
		} else if (strcmp(sst, "behind") == 0) {
			state = "behind";
			sbuf_addf(&st, "behind: at %lld of %lld",
				  (long long)seq, (long long)latest);
		} else {
			state = "ok";
			sbuf_addstr(&st, "up to date");
		}
		{
			json_t *at = portal_when(
				       json_object_get(r, "applied_at")),
			       *hbw = portal_when(
				       json_object_get(r, "heartbeat"));

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
	ctx = json_pack("{s:o, s:I}", "relays", portal_first_last(rows),
			"latest", (json_int_t)latest);
	portal_render(pg, 200, "Relays", "relays.html", ctx, NULL);
}

/*
 * /portal/d/NAME/messages?address=&message_id=&since=&after=: message
 * tracking (ops_trace()), one line per message in words, its steps on
 * click.  A bad search value is shown above the list (422).
 */
void portal_messages_page(struct page *pg, const struct domain *d)
{
	struct http_form qs = HTTP_FORM_INIT;
	struct ops_trace_in in = { 0 };
	struct strbuf action = STRBUF_INIT, back = STRBUF_INIT,
		      next = STRBUF_INIT;
	json_t *o = NULL, *ctx, *m, *st;
	int status = 200;
	size_t i, j;

	portal_domain_href(&action, d->name.alabel, "/messages");
	portal_domain_href(&back, d->name.alabel, "");
	if (http_form_parse(pg->q->query, strlen(pg->q->query), &qs, &pg->err) <
	    0) {
		sbuf_release(&action);
		sbuf_release(&back);
		portal_error_page(pg, 400,
				  "The search is not a well-formed query.");
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
		portal_error_page_err(pg);
		return;
	}
	if (o == NULL)
		status = 422;
	json_array_foreach(json_object_get(o, "messages"), i, m)
	{
		json_object_set_new(m, "time",
				    portal_when(json_object_get(m, "time")));
		json_array_foreach(json_object_get(m, "steps"), j, st)
		{
			json_object_set_new(
				st, "time",
				portal_when(json_object_get(st, "time")));
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
	json_object_set_new(ctx, "messages",
			    o ? portal_first_last(json_incref(
					json_object_get(o, "messages")))
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
	portal_render(pg, status, d->name.ulabel, "messages.html", ctx, NULL);
}
