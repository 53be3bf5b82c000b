/*
 * switchplan - the rules of the switching verbs, as a plan (see
 * switchplan.h).  Nothing here reads or writes the database.
 */
#include "switchplan.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dest.h"
#include "util/strbuf.h"

const char *const sp_verb_names[] = { "switch-feed", "switch-backup",
				      "switch-pop3", "temp-pop3",
				      "revert",	     "remove",
				      "extend",	     "flush" };

static bool names_domain(const struct domain *d, const char *s)
{
	return s != NULL && (strcmp(s, d->name.alabel) == 0 ||
			     strcmp(s, d->name.ulabel) == 0);
}

/* The state rules: which verb a domain in cur's state can take. */
static int state_check(const struct domain *cur, enum sp_verb v,
		       struct error *err)
{
	const char *n = cur->name.alabel;

	switch (v) {
	case SP_TO_FEED:
	case SP_TO_BACKUP: {
		enum domain_mode to = v == SP_TO_FEED ? MODE_FEED : MODE_BACKUP;

		if (cur->mode == to)
			return error_set(err, ERR_CONFLICT, "mode",
					 "%s is a %s domain already (a new "
					 "destination is 'feedctl set %s "
					 "dest=IP')",
					 n, domain_mode_names[to], n);
		break;
	}
	case SP_TO_POP3:
		if (cur->mode == MODE_POP3)
			return error_set(err, ERR_CONFLICT, "mode",
					 "%s is a pop3 domain already "
					 "('feedctl mailbox add' adds "
					 "mailboxes)",
					 n);
		break;
	case SP_TEMP_POP3:
		if (cur->mode == MODE_POP3)
			return error_set(err, ERR_CONFLICT, "mode",
					 "%s is a pop3 domain: temp-pop3 is "
					 "for feed and backup domains",
					 n);
		if (cur->temp_pop3)
			return error_set(err, ERR_CONFLICT, "temp_pop3",
					 "%s is in temporary POP3 already "
					 "(since it was set by %s); revert it "
					 "first",
					 n, cur->temp_pop3_by);
		return 0;
	case SP_REVERT:
		if (!cur->temp_pop3)
			return error_set(err, ERR_CONFLICT, "temp_pop3",
					 "%s is not in temporary POP3: nothing "
					 "to revert",
					 n);
		return 0;
	case SP_REMOVE:
	case SP_EXTEND:
	case SP_FLUSH:
		return 0;
	}
	if (cur->temp_pop3)
		return error_set(err, ERR_CONFLICT, "temp_pop3",
				 "%s is in temporary POP3: revert it first", n);
	return 0;
}

int switch_plan_applies(const struct domain *cur, enum sp_verb verb,
			struct error *err)
{
	return state_check(cur, verb, err);
}

bool switch_plan_offered(const struct domain *cur, enum sp_verb verb)
{
	struct error e = ERROR_INIT;
	bool ok = state_check(cur, verb, &e) == 0;

	error_release(&e);
	return ok;
}

static int plan_relay(const struct domain *cur, const struct sp_req *req,
		      const struct conf *conf, struct sp_plan *p,
		      struct error *err)
{
	enum domain_mode to = req->verb == SP_TO_FEED ? MODE_FEED : MODE_BACKUP;
	bool new_dest = req->dest != NULL && req->dest[0] != '\0';

	if (strcmp(p->fate, "forward") != 0 &&
	    strcmp(p->fate, "archive") != 0 && strcmp(p->fate, "purge") != 0)
		return error_set(err, ERR_INVALID, "mailboxes",
				 "--mailboxes is forward, archive or purge, "
				 "not \"%s\"",
				 p->fate);
	if (!new_dest && cur->mode == MODE_POP3)
		return error_set(err, ERR_INVALID, "destination",
				 "switch --to %s needs --dest IP[:PORT]",
				 domain_mode_names[to]);
	if (state_check(cur, req->verb, err) < 0)
		return -1;
	if (strcmp(p->fate, "purge") == 0 && !names_domain(cur, req->confirm))
		return error_set(err, ERR_INVALID, "confirm",
				 "purging the mailboxes of %s deletes their "
				 "mail: confirm with --confirm=%s",
				 cur->name.alabel, cur->name.alabel);
	p->nd.mode = to;
	/* a queue.days still at the old mode's default takes the new one's */
	domain_mode_defaults(&p->nd, cur->mode, conf);
	if (new_dest) {
		p->nd.has_dest = true;
		if (dest_parse(req->dest, conf, &p->nd.dest, "destination",
			       err) < 0)
			return -1;
	}
	/* the route changes only with a new destination */
	p->probe = cur->mode == MODE_POP3 || !cur->has_dest ||
		   !dest_equal(&cur->dest, &p->nd.dest);
	p->probe_binding = p->probe && !req->force;
	(void)snprintf(p->job_kind, sizeof(p->job_kind), "mailbox-%s", p->fate);
	return 0;
}

static int plan_pop3(const struct domain *cur, const struct sp_req *req,
		     struct sp_plan *p, struct error *err)
{
	p->fate = "new";
	if (req->nlocals > LOCALS_MAX)
		return error_set(err, ERR_INVALID, "mailbox",
				 "at most %d mailboxes at once", LOCALS_MAX);
	if (req->nlocals == 0 && !req->catch_all)
		return error_set(err, ERR_INVALID, "mailbox",
				 "switch --to pop3 needs --mailbox LOCAL or "
				 "--catch-all: a pop3 domain without mailboxes "
				 "would refuse all its mail");
	if (state_check(cur, req->verb, err) < 0)
		return -1;
	p->nd.mode = MODE_POP3;
	domain_clear_dest(&p->nd); /* the tls settings go with it */
	return 0;
}

static int plan_temp_pop3(const struct domain *cur, const struct sp_req *req,
			  struct sp_plan *p, struct error *err)
{
	p->fate = "new";
	p->action = "temp-pop3";
	p->temp_only = true;
	if (req->nlocals > LOCALS_MAX)
		return error_set(err, ERR_INVALID, "mailbox",
				 "at most %d mailboxes at once", LOCALS_MAX);
	if (state_check(cur, req->verb, err) < 0)
		return -1;
	if (req->nlocals == 0 && !req->from_queue && !req->catch_all)
		return error_set(err, ERR_INVALID, "mailbox",
				 "temp-pop3 needs --mailbox LOCAL, "
				 "--from-queue (with mail queued) or "
				 "--catch-all");
	p->nd.temp_pop3 = true;
	p->nd.temp_pop3_since = req->now;
	if (strlcpy_checked(p->nd.temp_pop3_by, req->actor ? req->actor : "",
			    sizeof(p->nd.temp_pop3_by)) < 0)
		return error_set(err, ERR_INVALID, "actor",
				 "the actor's name is too long");
	return 0;
}

static int plan_revert(const struct domain *cur, const struct sp_req *req,
		       struct sp_plan *p, struct error *err)
{
	p->action = "revert";
	p->temp_only = true;
	if (req->keep_days == 0 || req->keep_days > KEEP_DAYS_MAX)
		return error_set(err, ERR_INVALID, "keep_days",
				 "--keep-days is 1 to %d", KEEP_DAYS_MAX);
	if (state_check(cur, req->verb, err) < 0)
		return -1;
	p->nd.temp_pop3 = false;
	p->nd.temp_pop3_since = 0;
	p->nd.temp_pop3_by[0] = '\0';
	if (req->keep_days > 0) {
		p->fate = "keep";
		(void)snprintf(p->job_kind, sizeof(p->job_kind),
			       "mailbox-archive");
		p->run_after = p->keep_until =
			req->now + (int64_t)req->keep_days * 86400;
	} else {
		p->fate = "forward";
		(void)snprintf(p->job_kind, sizeof(p->job_kind),
			       "mailbox-forward");
	}
	return 0;
}

int switch_plan(const struct domain *cur, const struct sp_req *req,
		const struct conf *conf, struct sp_plan *p, struct error *err)
{
	int rc = 0;

	memset(p, 0, sizeof(*p));
	p->verb = req->verb;
	p->nd = *cur;
	p->action = "switch";
	switch (req->verb) {
	case SP_TO_FEED:
	case SP_TO_BACKUP:
		p->fate = req->fate ? req->fate : "forward";
		rc = plan_relay(cur, req, conf, p, err);
		break;
	case SP_TO_POP3:
		rc = plan_pop3(cur, req, p, err);
		break;
	case SP_TEMP_POP3:
		rc = plan_temp_pop3(cur, req, p, err);
		break;
	case SP_REVERT:
		rc = plan_revert(cur, req, p, err);
		break;
	case SP_REMOVE:
		p->action = "remove";
		p->fate = "removed";
		p->bounce_queue = req->bounce_queue;
		if (req->confirm != NULL && !names_domain(cur, req->confirm))
			return error_set(err, ERR_INVALID, "confirm",
					 "--confirm must name the domain (%s)",
					 cur->name.alabel);
		return 0;
	case SP_EXTEND:
	case SP_FLUSH:
		return error_set(err, ERR_INVALID, "verb",
				 "%s changes no mail path: it has no plan",
				 sp_verb_names[req->verb]);
	}
	if (rc < 0)
		return -1;
	p->queue_days_changed = p->nd.queue_days != cur->queue_days;
	return domain_check(&p->nd, conf, err);
}

static void effect(json_t *effects, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void effect(json_t *effects, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(effects, json_string(buf));
}

/* The addresses the plan's mailbox job touches. */
static json_t *affected(const struct sp_plan *p, const json_t *mailboxes)
{
	json_t *out = json_array(), *m;
	size_t i;

	if (p->job_kind[0] == '\0' && p->verb != SP_REMOVE)
		return out;
	json_array_foreach(mailboxes, i, m)
	{
		if (p->temp_only &&
		    !json_is_true(json_object_get(m, "temporary")))
			continue;
		json_array_append(out, json_object_get(m, "address"));
	}
	return out;
}

static const char *queue_text(const struct sp_plan *p)
{
	switch (p->verb) {
	case SP_TO_FEED:
	case SP_TO_BACKUP:
		return "queued mail goes to the destination once every relay "
		       "routes the new way";
	case SP_TO_POP3:
	case SP_TEMP_POP3:
		return "queued mail is delivered into the mailboxes";
	case SP_REVERT:
		return "queued mail goes to the destination again";
	case SP_REMOVE:
		return p->bounce_queue ? "every relay bounces the domain's "
					 "queued mail to its senders first"
				       : "refused while mail is queued on any "
					 "relay";
	case SP_EXTEND:
	case SP_FLUSH:
		break;
	}
	return "";
}

json_t *switch_plan_json(const struct domain *cur, const struct sp_plan *p,
			 const json_t *mailboxes)
{
	char dest[DEST_TEXT_MAX + 8] = "";
	json_t *list = affected(p, mailboxes), *effects = json_array();
	const char *probe = !p->probe	       ? "none"
			    : p->probe_binding ? "required"
					       : "advisory";

	if (p->nd.has_dest && p->nd.mode != MODE_POP3)
		dest_format(&p->nd.dest, dest, sizeof(dest));
	if (p->probe)
		effect(effects, "%s is probed over SMTP first%s", dest,
		       p->probe_binding ? "; if it does not pass, nothing "
					  "is changed"
					: " (force: the outcome is ignored)");
	if (json_array_size(list) > 0 && p->job_kind[0] != '\0')
		effect(effects, "%zu mailbox%s: %s (job %s)",
		       json_array_size(list),
		       json_array_size(list) == 1 ? "" : "es", p->fate,
		       p->job_kind);
	if (p->queue_days_changed)
		effect(effects, "queue.days %d -> %d (the %s default)",
		       cur->queue_days, p->nd.queue_days,
		       domain_mode_names[p->nd.mode]);
	return json_pack(
		"{s:s, s:s, s:I, s:s, s:s, s:b, s:s, s:s?, s:{s:s?, s:s?, "
		"s:o}, s:s, s:{s:i, s:i}, s:o, s:o}",
		"verb", sp_verb_names[p->verb], "domain", cur->name.alabel,
		"version", (json_int_t)cur->version, "from",
		domain_mode_names[cur->mode], "to",
		p->verb == SP_REMOVE ? "removed"
				     : domain_mode_names[p->nd.mode],
		"temp_pop3", p->nd.temp_pop3, "probe", probe, "destination",
		dest[0] ? dest : NULL, "mailboxes", "fate", p->fate, "job",
		p->job_kind[0] ? p->job_kind : NULL, "affected", list, "queue",
		queue_text(p), "queue_days", "old", cur->queue_days, "new",
		p->nd.queue_days, "keep_until",
		p->keep_until ? json_integer(p->keep_until) : json_null(),
		"effects", effects);
}

static void say(json_t *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(json_t *out, const char *fmt, ...)
{
	struct strbuf s = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&s, fmt, ap);
	va_end(ap);
	json_array_append_new(out, json_string(s.buf));
	sbuf_release(&s);
}

static void words_relay(const struct sp_words *w, json_t *out)
{
	/* to backup without a destination: the current one stays */
	const char *to = w->dest[0] ? w->dest : w->cur;

	if (w->verb == SP_TO_BACKUP)
		say(out,
		    "Once every relay has applied the change, we are a backup "
		    "MX for %s: new mail is queued for %s (the customer's "
		    "primary; a queue.days still at the feed default takes "
		    "the backup default), and what the primary might still "
		    "take is deferred (4xx) so that the sender tries the "
		    "primary again.",
		    w->domain, to);
	else
		say(out,
		    "New mail for %s goes to %s once every relay has applied "
		    "the change.",
		    w->domain, to);
	if (w->dest[0] == '\0')
		say(out, "The destination stays %s: it is not probed again.",
		    to);
	else if (w->force)
		say(out,
		    "The SMTP probe of %s is run but its outcome ignored "
		    "(force): if the server does not answer, mail waits in "
		    "the queue.",
		    w->dest);
	else
		say(out,
		    "First %s is probed over SMTP (connect, EHLO, RCPT "
		    "TO:<postmaster@%s>); if it does not pass, nothing is "
		    "changed.",
		    w->dest, w->domain);
	if (w->mailboxes[0] == '\0')
		say(out,
		    "%s has no mailboxes: there is no mail to forward, "
		    "archive or purge.",
		    w->domain);
	else if (strcmp(w->fate, "forward") == 0)
		say(out,
		    "The mail in %s is re-injected to %s (original envelope "
		    "recipient, not scanned again), then the mailboxes are "
		    "archived (a copy kept %d days) and removed. Mail that "
		    "still lands in them during the switch is included.",
		    w->mailboxes, to, w->archive_days);
	else if (strcmp(w->fate, "archive") == 0)
		say(out,
		    "The mailboxes %s are archived (a compressed copy kept %d "
		    "days) and removed; their mail is not delivered to %s.",
		    w->mailboxes, w->archive_days, to);
	else
		say(out,
		    "The mailboxes %s are purged: deleted with all their "
		    "mail, without a copy. This cannot be undone.",
		    w->mailboxes);
}

static void words_pop3(const struct sp_words *w, json_t *out)
{
	say(out,
	    "Mail for %s is no longer relayed to %s: once every relay has "
	    "applied the change it is delivered into mailboxes.",
	    w->domain, w->cur[0] ? w->cur : "its destination");
	say(out, "These mailboxes are created: %s.", w->created);
	if (!w->catch_all)
		say(out,
		    "Mail to any other address of %s is refused as unknown "
		    "(there is no catch-all).",
		    w->domain);
	say(out,
	    "Mail queued for %s is re-queued and delivered into these "
	    "mailboxes.",
	    w->cur[0] ? w->cur : "the old destination");
	say(out, "Each mailbox's password is shown once, on the next page.");
}

static void words_revert(const struct sp_words *w, json_t *out)
{
	say(out,
	    "New mail for %s goes to %s again once every relay has applied "
	    "the change.",
	    w->domain, w->cur);
	if (w->mailboxes[0] == '\0')
		say(out, "There are no temporary mailboxes.");
	else if (w->keep_days < 0)
		say(out,
		    "The mail in the temporary mailboxes %s is re-injected to "
		    "%s, then the mailboxes are archived (a copy kept %d "
		    "days) and removed.",
		    w->mailboxes, w->cur, w->archive_days);
	else
		say(out,
		    "The temporary mailboxes %s stay readable (POP3, IMAP, "
		    "webmail) for %ld more day(s), until %s; then they are "
		    "archived (a copy kept %d days) and removed. Their mail "
		    "is not re-injected to %s.",
		    w->mailboxes, w->keep_days, w->until, w->archive_days,
		    w->cur);
}

void switch_plan_words(const struct sp_words *w, json_t *out)
{
	switch (w->verb) {
	case SP_TO_FEED:
	case SP_TO_BACKUP:
		words_relay(w, out);
		break;
	case SP_TO_POP3:
		words_pop3(w, out);
		break;
	case SP_REVERT:
		words_revert(w, out);
		break;
	case SP_TEMP_POP3:
	case SP_REMOVE:
	case SP_EXTEND:
	case SP_FLUSH:
		break;
	}
}

const char *switch_plan_row_fate(const struct sp_words *w)
{
	if (w->verb == SP_REVERT)
		return w->keep_days < 0
			       ? "mail re-injected, then archived and removed"
			       : "kept readable, then archived and removed";
	if (w->verb != SP_TO_FEED && w->verb != SP_TO_BACKUP)
		return "";
	if (strcmp(w->fate, "forward") == 0)
		return "mail re-injected, then archived and removed";
	if (strcmp(w->fate, "archive") == 0)
		return "archived and removed, mail not delivered";
	return "purged: deleted without a copy";
}

/* A line each, hashed: see switchplan.h. */
int switch_plan_digest(int64_t version, const json_t *mailboxes,
		       char out[SP_DIGEST_HEX + 1], struct error *err)
{
	static const char hex[] = "0123456789abcdef";
	struct strbuf s = STRBUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	const json_t *m;
	size_t k;
	int ok;

	sbuf_addf(&s, "%lld\n", (long long)version);
	json_array_foreach(mailboxes, k, m)
	{
		sbuf_addf(&s, "%s\n",
			  json_string_value(json_object_get(m, "address")));
	}
	ok = EVP_Digest(s.buf, s.len, md, &len, EVP_sha256(), NULL) == 1 &&
	     len * 2 == SP_DIGEST_HEX;
	sbuf_release(&s);
	if (!ok)
		return error_set(err, ERR_INTERNAL, NULL,
				 "SHA-256 of the plan failed");
	for (i = 0; i < len; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[SP_DIGEST_HEX] = '\0';
	return 0;
}

/* The catch-all last, named as such: see switchplan.h. */
void switch_plan_mailbox_list(const json_t *mbs, bool temp_only,
			      struct strbuf *out)
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

json_t *switch_plan_rows(const json_t *mbs, const struct sp_words *w)
{
	const char *fate = switch_plan_row_fate(w);
	json_t *rows = json_array();
	const json_t *m;
	size_t k;

	if (w->verb == SP_TO_POP3)
		return rows;
	json_array_foreach(mbs, k, m)
	{
		bool temp = json_is_true(json_object_get(m, "temporary")),
		     ca = json_is_true(json_object_get(m, "catch_all"));

		if (w->verb == SP_REVERT && !temp)
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
	return rows;
}
