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

/* One domain's row of the list. */
static json_t *list_row(const struct domain *d)
{
	struct strbuf href = STRBUF_INIT, dest = STRBUF_INIT,
		      queue = STRBUF_INIT;
	char stamp[32];
	json_t *row, *js;

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
	row = json_pack("{s:s, s:s, s:b, s:s, s:s, s:b, s:s, s:s, "
			"s:s, s:I, s:s, s:s}",
			"name", d->name.alabel, "unicode_name", d->name.ulabel,
			"idn", strcmp(d->name.alabel, d->name.ulabel) != 0,
			"href", href.buf, "mode", domain_mode_names[d->mode],
			"temp_pop3", d->temp_pop3_since != 0, "dest", dest.buf,
			"grey", d->greylisting ? "on" : "off", "spam",
			d->spam_enabled ? "on" : "off", "version",
			(json_int_t)d->version, "updated_at", "", "updated_by",
			d->updated_by);
	js = json_string(stamp);
	json_object_set_new(row, "updated_at", portal_when(js));
	json_decref(js);
	json_object_set_new(row, "queue", json_string(queue.buf));
	sbuf_release(&href);
	sbuf_release(&dest);
	sbuf_release(&queue);
	return row;
}

/* The mode filter's choices, mode (as given) selected. */
static json_t *list_modes(const char *mode)
{
	static const char *const mode_opts[] = { "", "pop3", "feed", "backup",
						 NULL };
	json_t *modes = json_array();
	size_t k;

	for (k = 0; mode_opts[k]; k++)
		json_array_append_new(
			modes,
			json_pack("{s:s, s:s, s:b}", "value", mode_opts[k],
				  "label", k ? mode_opts[k] : "any mode",
				  "selected",
				  mode && strcmp(mode, mode_opts[k]) == 0));
	return modes;
}

/* The next page's link, after l's last name, with the same filter. */
static void list_next(json_t *ctx, const struct domain_list *l, const char *q,
		      const struct domain_filter *f)
{
	struct strbuf next = STRBUF_INIT;

	sbuf_addstr(&next, "/portal/?after=");
	sbuf_addurl(&next, l->v[l->n - 1].name.alabel);
	if (q && q[0]) {
		sbuf_addstr(&next, "&q=");
		sbuf_addurl(&next, q);
	}
	if (f->mode >= 0)
		sbuf_addf(&next, "&mode=%s", domain_mode_names[f->mode]);
	json_object_set_new(ctx, "next_href", json_string(next.buf));
	sbuf_release(&next);
}

/* "Removed NAME" after a removal's redirect, for a valid name only. */
static json_t *list_removed_flash(const struct http_form *qs)
{
	const char *removed = http_form_get(qs, "removed");
	struct domain_name dn;
	struct error e = ERROR_INIT;
	json_t *fl = NULL;

	if (removed != NULL && domain_name_parse(removed, &dn, &e) == 0) {
		struct strbuf m = STRBUF_INIT;

		sbuf_addf(&m, "Removed %s; its history is kept.", dn.alabel);
		fl = portal_flash("ok", m.buf);
		sbuf_release(&m);
	}
	error_release(&e);
	return fl;
}

void portal_list_page(struct page *pg)
{
	struct domain_filter f = { -1, NULL, NULL, LIST_PAGE, NULL, 0 };
	struct http_form qs = HTTP_FORM_INIT;
	struct domain_list l = { 0 };
	const char *q, *mode, *after;
	json_t *rows, *ctx;
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
	for (k = 0; k < l.n; k++)
		json_array_append_new(rows, list_row(&l.v[k]));
	ctx = json_pack(
		"{s:s, s:o, s:o, s:b, s:b, s:b}", "q", q ? q : "", "modes",
		list_modes(mode), "domains", portal_first_last(rows),
		"filtered", f.match != NULL || f.mode >= 0, "paged",
		f.after != NULL, "can_add", auth_can(&pg->who, ACT_DOMAIN_ADD));
	if (l.n == LIST_PAGE)
		list_next(ctx, &l, q, &f);
	json_object_set_new(ctx, "first_href", json_string("/portal/"));
	portal_render(pg, 200, "Domains", "list.html", ctx,
		      list_removed_flash(&qs));
	domain_list_release(&l);
	http_form_release(&qs);
}

/* lib's state of relay r (store_relay_list), as feedctl shows it, in
 * support's words: the page's name for it, its text into st. */
static const char *relay_state(const json_t *r, bool beat, json_int_t seq,
			       int64_t latest, struct strbuf *st)
{
	const char *sst = json_string_value(json_object_get(r, "state"));

	if (sst == NULL)
		sst = "";
	if (strcmp(sst, "retired") == 0) {
		sbuf_addstr(st, "retired: nothing waits for it");
		return "retired";
	}
	if (strcmp(sst, "down") == 0) {
		sbuf_addf(st, "silent: no heartbeat %s",
			  beat ? "for over a minute" : "yet");
		return "silent";
	}
	if (strcmp(sst, "failing") == 0) {
		sbuf_addstr(st, "error: its last apply failed");
		return "error";
	}
	if (strcmp(sst, "drained") == 0 || strcmp(sst, "draining") == 0) {
		/* feedctl relay drain: what its queue still holds */
		sbuf_addf(st, "%s: %lld message(s) left", sst,
			  (long long)json_integer_value(
				  json_object_get(r, "queue_total")));
		return sst;
	}
	if (strcmp(sst, "behind") == 0) {
		sbuf_addf(st, "behind: at %lld of %lld", (long long)seq,
			  (long long)latest);
		return "behind";
	}
	sbuf_addstr(st, "up to date");
	return "ok";
}

/*
 * Relay r's last error as the login may see it: an error may name any
 * customer's domain, so a domain group's login sees that there is one,
 * not what it says (as a scoped token); NULL for none.
 */
static const char *relay_error(const struct page *pg, const json_t *r)
{
	const char *le = json_string_value(json_object_get(r, "last_error"));

	if (pg->who.nscope > 0 && le != NULL)
		return "(hidden: your login sees only its domain group)";
	return le != NULL && le[0] != '\0' ? le : NULL;
}

/* One relay's row of the page. */
static json_t *relay_row(const struct page *pg, const json_t *r, int64_t latest,
			 int64_t now)
{
	const char *hb = json_string_value(json_object_get(r, "heartbeat"));
	const char *le = relay_error(pg, r), *state;
	json_int_t seq = json_integer_value(json_object_get(r, "applied_seq"));
	struct strbuf addrs = STRBUF_INIT, st = STRBUF_INIT;
	struct error e = ERROR_INIT;
	const json_t *a;
	char age[64] = "never";
	int64_t t = 0;
	bool beat = hb != NULL && time_parse_utc(hb, &t, "heartbeat", &e) == 0;
	json_t *row;
	size_t i;

	error_release(&e);
	if (beat)
		portal_age_text(now - t, age, sizeof(age));
	json_array_foreach(json_object_get(r, "addresses"), i, a)
	{
		sbuf_addf(&addrs, "%s%s", i ? ", " : "", json_string_value(a));
	}
	state = relay_state(r, beat, seq, latest, &st);
	row = json_pack(
		"{s:O, s:O, s:s, s:I, s:o, s:s, s:o, s:s, s:s, s:b, "
		"s:o}",
		"name", json_object_get(r, "name"), "role",
		json_object_get(r, "role"), "addresses",
		addrs.len ? addrs.buf : "none", "applied_seq", seq,
		"applied_at", portal_when(json_object_get(r, "applied_at")),
		"heartbeat_age", age, "heartbeat",
		portal_when(json_object_get(r, "heartbeat")), "state", state,
		"state_text", st.buf, "problem", strcmp(state, "ok") != 0,
		"last_error", le ? json_string(le) : json_null());
	sbuf_release(&addrs);
	sbuf_release(&st);
	return row;
}

/*
 * The relays, from ops_relay_list() as feedctl relays and GET
 * /api/v1/relays give them, with lib's state in support's words:
 * silent (no heartbeat for a minute), error (its last apply failed),
 * draining or drained (with the mail it has left), behind (not yet at
 * the newest change), retired, or up to date.
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
		json_array_append_new(rows, relay_row(pg, r, latest, now));
	}
	json_decref(l);
	ctx = json_pack("{s:o, s:I}", "relays", portal_first_last(rows),
			"latest", (json_int_t)latest);
	portal_render(pg, 200, "Relays", "relays.html", ctx, NULL);
}

/* The times of a trace's messages and their steps in words. */
static void messages_times(json_t *o)
{
	json_t *m, *st;
	size_t i, j;

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
}

/* The next page's link: after o's "next", with the same search. */
static void messages_next(struct strbuf *next, const char *action,
			  const json_t *o, const struct ops_trace_in *in)
{
	sbuf_addf(next, "%s?after=%" JSON_INTEGER_FORMAT, action,
		  json_integer_value(json_object_get(o, "next")));
	if (in->address) {
		sbuf_addstr(next, "&address=");
		sbuf_addurl(next, in->address);
	}
	if (in->message_id) {
		sbuf_addstr(next, "&message_id=");
		sbuf_addurl(next, in->message_id);
	}
	if (in->since) {
		sbuf_addstr(next, "&since=");
		sbuf_addurl(next, in->since);
	}
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
	json_t *o = NULL, *ctx;
	int status = 200;

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
	messages_times(o);
	if (json_is_integer(json_object_get(o, "next")))
		messages_next(&next, action.buf, o, &in);
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
