/*
 * test_switchplan - the plan of every switching verb for each mode
 * pair: the record after, the mailbox job, the probe, queue.days, the
 * refusals (code, field, message) and that the plan leaves the domain
 * it was given alone; its JSON form
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "switchplan.h"
#include "unit_conf.h"

static void make(struct domain *d, enum domain_mode m)
{
	struct domain_name dn;
	struct error err = ERROR_INIT;

	assert_int_equal(domain_name_parse("plan.example", &dn, &err), 0);
	domain_init(d, &dn, m, &conf);
	d->version = 7;
	if (m != MODE_POP3)
		assert_int_equal(
			domain_set(d, "dest", "127.0.0.1:2526", &conf, &err),
			0);
}

/* req is refused with code and field, the message containing text */
static void refused(const struct domain *d, const struct sp_req *req,
		    enum err_code code, const char *field, const char *text)
{
	struct error err = ERROR_INIT;
	struct sp_plan p;

	assert_int_equal(switch_plan(d, req, &conf, &p, &err), -1);
	assert_int_equal(err.code, code);
	assert_string_equal(err.field, field);
	if (strstr(error_msg(&err), text) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", error_msg(&err), text);
	error_release(&err);
}

static void planned(const struct domain *d, const struct sp_req *req,
		    struct sp_plan *p)
{
	struct error err = ERROR_INIT;
	struct domain before = *d;

	if (switch_plan(d, req, &conf, p, &err) < 0)
		fail_msg("refused: %s", error_msg(&err));
	/* the plan changes nothing it was given */
	assert_memory_equal(&before, d, sizeof(before));
}

static void pop3_to_feed(void **state)
{
	struct domain d;
	struct sp_plan p;

	(void)state;
	make(&d, MODE_POP3);
	planned(&d, &(struct sp_req){ .verb = SP_TO_FEED, .dest = "127.0.0.9" },
		&p);
	assert_int_equal(p.nd.mode, MODE_FEED);
	assert_true(p.nd.has_dest);
	assert_string_equal(p.nd.dest.ip.text, "127.0.0.9");
	assert_string_equal(p.fate, "forward");
	assert_string_equal(p.job_kind, "mailbox-forward");
	assert_string_equal(p.action, "switch");
	assert_true(p.probe);
	assert_true(p.probe_binding);
	assert_false(p.temp_only);
	/* queue.days at the pop3 default takes the feed default */
	assert_int_equal(p.nd.queue_days, domain_default_queue_days(MODE_FEED));
	assert_true(p.queue_days_changed);
	/* force: the probe runs, its outcome does not bind */
	planned(&d,
		&(struct sp_req){ .verb = SP_TO_FEED,
				  .dest = "127.0.0.9",
				  .fate = "archive",
				  .force = true },
		&p);
	assert_true(p.probe);
	assert_false(p.probe_binding);
	assert_string_equal(p.job_kind, "mailbox-archive");
}

static void pop3_to_backup(void **state)
{
	struct domain d;
	struct sp_plan p;

	(void)state;
	make(&d, MODE_POP3);
	d.queue_days = 3; /* set by hand: stays */
	planned(&d,
		&(struct sp_req){ .verb = SP_TO_BACKUP,
				  .dest = "127.0.0.9:2525",
				  .fate = "purge",
				  .confirm = "plan.example" },
		&p);
	assert_int_equal(p.nd.mode, MODE_BACKUP);
	assert_string_equal(p.job_kind, "mailbox-purge");
	assert_int_equal(p.nd.queue_days, 3);
	assert_false(p.queue_days_changed);
	refused(&d, &(struct sp_req){ .verb = SP_TO_BACKUP }, ERR_INVALID,
		"destination", "needs --dest");
	refused(&d,
		&(struct sp_req){ .verb = SP_TO_BACKUP,
				  .dest = "127.0.0.9",
				  .fate = "purge" },
		ERR_INVALID, "confirm", "--confirm=plan.example");
	refused(&d,
		&(struct sp_req){ .verb = SP_TO_BACKUP,
				  .dest = "127.0.0.9",
				  .fate = "purge",
				  .confirm = "other.example" },
		ERR_INVALID, "confirm", "deletes their mail");
	refused(&d,
		&(struct sp_req){ .verb = SP_TO_BACKUP,
				  .dest = "127.0.0.9",
				  .fate = "shred" },
		ERR_INVALID, "mailboxes", "forward, archive or purge");
	/* outside dest_allow: the destination's own rule */
	refused(&d,
		&(struct sp_req){ .verb = SP_TO_BACKUP, .dest = "192.0.2.1" },
		ERR_INVALID, "destination", "");
}

static void feed_to_backup_and_back(void **state)
{
	struct domain d;
	struct sp_plan p;

	(void)state;
	make(&d, MODE_FEED);
	/* no new destination: no probe, the route stays */
	planned(&d, &(struct sp_req){ .verb = SP_TO_BACKUP }, &p);
	assert_int_equal(p.nd.mode, MODE_BACKUP);
	assert_false(p.probe);
	assert_string_equal(p.nd.dest.ip.text, "127.0.0.1");
	assert_int_equal(p.nd.queue_days,
			 domain_default_queue_days(MODE_BACKUP));
	/* the same destination again: still no probe */
	planned(&d,
		&(struct sp_req){ .verb = SP_TO_BACKUP,
				  .dest = "127.0.0.1:2526" },
		&p);
	assert_false(p.probe);
	/* a new one: probed */
	planned(&d,
		&(struct sp_req){ .verb = SP_TO_BACKUP, .dest = "127.0.0.2" },
		&p);
	assert_true(p.probe);
	refused(&d, &(struct sp_req){ .verb = SP_TO_FEED }, ERR_CONFLICT,
		"mode", "is a feed domain already");
	make(&d, MODE_BACKUP);
	planned(&d, &(struct sp_req){ .verb = SP_TO_FEED }, &p);
	assert_int_equal(p.nd.mode, MODE_FEED);
	assert_int_equal(p.nd.queue_days, domain_default_queue_days(MODE_FEED));
	refused(&d, &(struct sp_req){ .verb = SP_TO_BACKUP }, ERR_CONFLICT,
		"mode", "is a backup domain already");
}

static void relay_to_pop3(void **state)
{
	enum domain_mode from[] = { MODE_FEED, MODE_BACKUP };
	struct domain d;
	struct sp_plan p;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		make(&d, from[i]);
		planned(&d,
			&(struct sp_req){ .verb = SP_TO_POP3, .nlocals = 2 },
			&p);
		assert_int_equal(p.nd.mode, MODE_POP3);
		assert_false(p.nd.has_dest);
		assert_false(p.probe);
		assert_string_equal(p.job_kind, "");
		assert_string_equal(p.fate, "new");
		refused(&d, &(struct sp_req){ .verb = SP_TO_POP3 }, ERR_INVALID,
			"mailbox", "needs --mailbox LOCAL");
		refused(&d,
			&(struct sp_req){ .verb = SP_TO_POP3,
					  .nlocals = LOCALS_MAX + 1 },
			ERR_INVALID, "mailbox", "at most 64 mailboxes");
		refused(&d,
			&(struct sp_req){ .verb = SP_TEMP_POP3,
					  .nlocals = LOCALS_MAX + 1 },
			ERR_INVALID, "mailbox", "at most 64 mailboxes");
	}
	make(&d, MODE_POP3);
	refused(&d, &(struct sp_req){ .verb = SP_TO_POP3, .catch_all = true },
		ERR_CONFLICT, "mode", "is a pop3 domain already");
}

static void temp_pop3_and_revert(void **state)
{
	struct domain d;
	struct sp_plan p;

	(void)state;
	make(&d, MODE_FEED);
	refused(&d, &(struct sp_req){ .verb = SP_REVERT, .keep_days = -1 },
		ERR_CONFLICT, "temp_pop3", "not in temporary POP3");
	refused(&d, &(struct sp_req){ .verb = SP_TEMP_POP3 }, ERR_INVALID,
		"mailbox", "--from-queue");
	planned(&d,
		&(struct sp_req){ .verb = SP_TEMP_POP3,
				  .from_queue = true,
				  .actor = "alice",
				  .now = 1000 },
		&p);
	assert_true(p.nd.temp_pop3);
	assert_int_equal(p.nd.temp_pop3_since, 1000);
	assert_string_equal(p.nd.temp_pop3_by, "alice");
	assert_string_equal(p.action, "temp-pop3");
	assert_int_equal(p.nd.mode, MODE_FEED);

	d = p.nd; /* now in temporary POP3 */
	refused(&d, &(struct sp_req){ .verb = SP_TEMP_POP3, .catch_all = true },
		ERR_CONFLICT, "temp_pop3", "set by alice");
	refused(&d, &(struct sp_req){ .verb = SP_TO_BACKUP }, ERR_CONFLICT,
		"temp_pop3", "revert it first");
	refused(&d, &(struct sp_req){ .verb = SP_TO_POP3, .nlocals = 1 },
		ERR_CONFLICT, "temp_pop3", "revert it first");
	planned(&d, &(struct sp_req){ .verb = SP_REVERT, .keep_days = -1 }, &p);
	assert_false(p.nd.temp_pop3);
	assert_string_equal(p.nd.temp_pop3_by, "");
	assert_string_equal(p.fate, "forward");
	assert_string_equal(p.job_kind, "mailbox-forward");
	assert_true(p.temp_only);
	assert_int_equal(p.keep_until, 0);
	planned(&d,
		&(struct sp_req){
			.verb = SP_REVERT, .keep_days = 3, .now = 1000 },
		&p);
	assert_string_equal(p.fate, "keep");
	assert_string_equal(p.job_kind, "mailbox-archive");
	assert_int_equal(p.keep_until, 1000 + 3 * 86400);
	assert_int_equal(p.run_after, p.keep_until);
	refused(&d, &(struct sp_req){ .verb = SP_REVERT, .keep_days = 366 },
		ERR_INVALID, "keep_days", "1 to 365");
	refused(&d, &(struct sp_req){ .verb = SP_REVERT, .keep_days = 0 },
		ERR_INVALID, "keep_days", "1 to 365");

	make(&d, MODE_POP3);
	refused(&d, &(struct sp_req){ .verb = SP_TEMP_POP3, .catch_all = true },
		ERR_CONFLICT, "mode", "temp-pop3 is for feed");
}

static void remove_plan(void **state)
{
	struct domain d;
	struct sp_plan p;

	(void)state;
	make(&d, MODE_FEED);
	planned(&d, &(struct sp_req){ .verb = SP_REMOVE }, &p);
	assert_false(p.bounce_queue);
	planned(&d,
		&(struct sp_req){ .verb = SP_REMOVE,
				  .confirm = "plan.example",
				  .bounce_queue = true },
		&p);
	assert_true(p.bounce_queue);
	refused(&d,
		&(struct sp_req){ .verb = SP_REMOVE, .confirm = "x.example" },
		ERR_INVALID, "confirm", "must name the domain");
}

static void offered(void **state)
{
	struct domain d;

	(void)state;
	make(&d, MODE_POP3);
	assert_true(switch_plan_offered(&d, SP_TO_FEED));
	assert_true(switch_plan_offered(&d, SP_TO_BACKUP));
	assert_false(switch_plan_offered(&d, SP_TO_POP3));
	assert_false(switch_plan_offered(&d, SP_TEMP_POP3));
	assert_false(switch_plan_offered(&d, SP_REVERT));
	make(&d, MODE_FEED);
	assert_false(switch_plan_offered(&d, SP_TO_FEED));
	assert_true(switch_plan_offered(&d, SP_TO_BACKUP));
	assert_true(switch_plan_offered(&d, SP_TEMP_POP3));
	d.temp_pop3 = true;
	assert_false(switch_plan_offered(&d, SP_TO_BACKUP));
	assert_false(switch_plan_offered(&d, SP_TO_POP3));
	assert_false(switch_plan_offered(&d, SP_TEMP_POP3));
	assert_true(switch_plan_offered(&d, SP_REVERT));
}

static void as_json(void **state)
{
	struct domain d;
	struct sp_plan p;
	json_t *mbs, *j, *aff;

	(void)state;
	make(&d, MODE_POP3);
	mbs = json_pack("[{s:s, s:b}, {s:s, s:b}]", "address",
			"info@plan.example", "temporary", 0, "address",
			"sales@plan.example", "temporary", 0);
	planned(&d, &(struct sp_req){ .verb = SP_TO_FEED, .dest = "127.0.0.9" },
		&p);
	j = switch_plan_json(&d, &p, mbs);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "verb")),
			    "switch-feed");
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 7);
	assert_string_equal(json_string_value(json_object_get(j, "from")),
			    "pop3");
	assert_string_equal(json_string_value(json_object_get(j, "to")),
			    "feed");
	assert_string_equal(json_string_value(json_object_get(j, "probe")),
			    "required");
	assert_string_equal(
		json_string_value(json_object_get(j, "destination")),
		"127.0.0.9:25");
	aff = json_object_get(json_object_get(j, "mailboxes"), "affected");
	assert_int_equal(json_array_size(aff), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(j, "mailboxes"), "job")),
			    "mailbox-forward");
	assert_true(json_array_size(json_object_get(j, "effects")) >= 3);
	json_decref(j);

	/* revert: only the temporary mailboxes */
	make(&d, MODE_FEED);
	d.temp_pop3 = true;
	json_object_set_new(json_array_get(mbs, 1), "temporary", json_true());
	planned(&d, &(struct sp_req){ .verb = SP_REVERT, .keep_days = -1 }, &p);
	j = switch_plan_json(&d, &p, mbs);
	aff = json_object_get(json_object_get(j, "mailboxes"), "affected");
	assert_int_equal(json_array_size(aff), 1);
	assert_string_equal(json_string_value(json_array_get(aff, 0)),
			    "sales@plan.example");
	assert_true(json_is_null(json_object_get(j, "keep_until")));
	json_decref(j);
	json_decref(mbs);
}

/* The words of a confirmation follow the request: what is probed, what
 * the mailboxes get, the revert's keep; a verb without a confirmation
 * says nothing. */
static void words(void **state)
{
	struct sp_words w = { .verb = SP_TO_FEED,
			      .domain = "ex.example",
			      .cur = "192.0.2.1:25",
			      .dest = "192.0.2.9:25",
			      .fate = "archive",
			      .mailboxes = "info@ex.example",
			      .keep_days = -1,
			      .archive_days = 30 };
	json_t *out = json_array();

	(void)state;
	switch_plan_words(&w, out);
	assert_int_equal(json_array_size(out), 3);
	assert_string_equal(json_string_value(json_array_get(out, 0)),
			    "New mail for ex.example goes to 192.0.2.9:25 "
			    "once every relay has applied the change.");
	assert_non_null(strstr(json_string_value(json_array_get(out, 1)),
			       "First 192.0.2.9:25 is probed over SMTP"));
	assert_non_null(strstr(json_string_value(json_array_get(out, 2)),
			       "archived (a compressed copy kept 30 days)"));
	assert_string_equal(switch_plan_row_fate(&w),
			    "archived and removed, mail not delivered");
	json_array_clear(out);
	/* to backup without a destination: it stays, no probe */
	w.verb = SP_TO_BACKUP;
	w.dest = "";
	w.mailboxes = "";
	switch_plan_words(&w, out);
	assert_non_null(strstr(json_string_value(json_array_get(out, 0)),
			       "backup MX for ex.example: new mail is queued "
			       "for 192.0.2.1:25"));
	assert_string_equal(json_string_value(json_array_get(out, 1)),
			    "The destination stays 192.0.2.1:25: it is not "
			    "probed again.");
	assert_non_null(strstr(json_string_value(json_array_get(out, 2)),
			       "has no mailboxes"));
	json_array_clear(out);
	w.verb = SP_REVERT;
	w.mailboxes = "t@ex.example";
	w.keep_days = 3;
	w.until = "2030-01-04 12:00 UTC";
	switch_plan_words(&w, out);
	assert_non_null(
		strstr(json_string_value(json_array_get(out, 1)),
		       "for 3 more day(s), until 2030-01-04 12:00 UTC"));
	assert_string_equal(switch_plan_row_fate(&w),
			    "kept readable, then archived and removed");
	json_array_clear(out);
	w.verb = SP_TEMP_POP3;
	switch_plan_words(&w, out);
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
}

/* The digest of a shown plan: its bytes, and what changes it. */
static void digest(void **state)
{
	json_t *mbs = json_pack("[{s:s},{s:s}]", "address", "a@x.example",
				"address", "b@x.example");
	struct error err = ERROR_INIT;
	char a[SP_DIGEST_HEX + 1], b[SP_DIGEST_HEX + 1];

	(void)state;
	assert_int_equal(switch_plan_digest(7, mbs, a, &err), 0);
	/* printf '7\na@x.example\nb@x.example\n' | sha256sum */
	assert_string_equal(a, "0e71a4a15950c407ac232b6d1db50f19"
			       "eed4ade2c649f7076298fbb8b2303152");
	assert_int_equal(switch_plan_digest(8, mbs, b, &err), 0);
	assert_string_not_equal(a, b);
	json_array_remove(mbs, 1);
	assert_int_equal(switch_plan_digest(7, mbs, b, &err), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(switch_plan_digest(7, NULL, b, &err), 0);
	assert_string_equal(b, "10159baf262b43a92d95db59dae1f72c"
			       "645127301661e0a3ce4e38b295a97c58");
	json_decref(mbs);
}

/* The affected mailboxes in words: order, the catch-all, temp_only. */
static void mailbox_list(void **state)
{
	json_t *mbs = json_pack("[{s:s,s:b,s:b},{s:s,s:b,s:b},{s:s,s:b,s:b}]",
				"address", "catch-all@x.example", "catch_all",
				1, "temporary", 1, "address", "a@x.example",
				"catch_all", 0, "temporary", 0, "address",
				"b@x.example", "catch_all", 0, "temporary", 1);
	struct strbuf s = STRBUF_INIT;

	(void)state;
	switch_plan_mailbox_list(mbs, false, &s);
	assert_string_equal(s.buf, "a@x.example, b@x.example and "
				   "catch-all@x.example (the catch-all)");
	sbuf_reset(&s);
	switch_plan_mailbox_list(mbs, true, &s);
	assert_string_equal(s.buf, "b@x.example and catch-all@x.example "
				   "(the catch-all)");
	json_array_remove(mbs, 0);
	sbuf_reset(&s);
	switch_plan_mailbox_list(mbs, false, &s);
	assert_string_equal(s.buf, "a@x.example, b@x.example");
	sbuf_reset(&s);
	switch_plan_mailbox_list(NULL, false, &s);
	assert_true(s.len == 0);
	sbuf_release(&s);
	json_decref(mbs);
}

/* The confirmation's table: which mailboxes, their kind and fate. */
static void rows(void **state)
{
	json_t *mbs = json_pack("[{s:s,s:b,s:b},{s:s,s:b,s:b},{s:s,s:b,s:b}]",
				"address", "catch-all@x.example", "catch_all",
				1, "temporary", 1, "address", "a@x.example",
				"catch_all", 0, "temporary", 0, "address",
				"b@x.example", "catch_all", 0, "temporary", 1);
	struct sp_words w = { .verb = SP_TO_FEED, .fate = "archive" };
	json_t *r;
	char *t;

	(void)state;
	r = switch_plan_rows(mbs, &w);
	t = json_dumps(r, JSON_COMPACT);
	assert_string_equal(t,
			    "[{\"address\":\"catch-all@x.example\",\"kind\":"
			    "\"temporary, catch-all\",\"fate\":\"archived and "
			    "removed, mail not delivered\"},"
			    "{\"address\":\"a@x.example\",\"kind\":\"hosted\","
			    "\"fate\":\"archived and removed, mail not "
			    "delivered\"},{\"address\":\"b@x.example\","
			    "\"kind\":\"temporary\",\"fate\":\"archived and "
			    "removed, mail not delivered\"}]");
	free(t);
	json_decref(r);
	w.verb = SP_REVERT;
	w.keep_days = -1;
	r = switch_plan_rows(mbs, &w);
	assert_int_equal(json_array_size(r), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(r, 1), "address")),
			    "b@x.example");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(r, 1), "fate")),
			    "mail re-injected, then archived and removed");
	json_decref(r);
	w.verb = SP_TO_POP3;
	r = switch_plan_rows(mbs, &w);
	assert_int_equal(json_array_size(r), 0);
	json_decref(r);
	json_decref(mbs);
}

/*
 * The state rule, every verb in every state: "" where it applies, else
 * a word of the refusal (always ERR_CONFLICT).  extend and flush apply
 * to a pop3 domain too: the portal offers what feedctl and the API do.
 */
static void applies_table(void **state)
{
	static const struct {
		enum domain_mode mode;
		bool temp;
		const char *why[SP_FLUSH + 1]; /* by enum sp_verb */
	} rows[] = {
		{ MODE_POP3,
		  false,
		  { "", "", "pop3 domain already", "temp-pop3 is for feed",
		    "not in temporary", "", "", "" } },
		{ MODE_FEED,
		  false,
		  { "feed domain already", "", "", "", "not in temporary", "",
		    "", "" } },
		{ MODE_BACKUP,
		  false,
		  { "", "backup domain already", "", "", "not in temporary", "",
		    "", "" } },
		{ MODE_FEED,
		  true,
		  { "feed domain already", "revert it first", "revert it first",
		    "temporary POP3 already", "", "", "", "" } },
		{ MODE_BACKUP,
		  true,
		  { "revert it first", "backup domain already",
		    "revert it first", "temporary POP3 already", "", "", "",
		    "" } },
	};
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		for (v = SP_TO_FEED; v <= SP_FLUSH; v++) {
			struct error err = ERROR_INIT;
			struct domain d;
			const char *why = rows[i].why[v];
			int rc;

			make(&d, rows[i].mode);
			d.temp_pop3 = rows[i].temp;
			(void)snprintf(d.temp_pop3_by, sizeof(d.temp_pop3_by),
				       "op");
			rc = switch_plan_applies(&d, (enum sp_verb)v, &err);
			if (why[0] == '\0' && rc != 0)
				fail_msg("row %zu %s: refused: %s", i,
					 sp_verb_names[v], error_msg(&err));
			if (why[0] != '\0' &&
			    (rc != -1 || err.code != ERR_CONFLICT ||
			     strstr(error_msg(&err), why) == NULL))
				fail_msg("row %zu %s: \"%s\" lacks \"%s\"", i,
					 sp_verb_names[v], error_msg(&err),
					 why);
			assert_int_equal(
				switch_plan_offered(&d, (enum sp_verb)v),
				why[0] == '\0');
			error_release(&err);
		}
}

/* extend and flush have a state rule but no plan */
static void no_plan_for_queue_verbs(void **state)
{
	struct domain d;

	(void)state;
	make(&d, MODE_FEED);
	refused(&d, &(struct sp_req){ .verb = SP_EXTEND }, ERR_INVALID, "verb",
		"extend changes no mail path");
	refused(&d, &(struct sp_req){ .verb = SP_FLUSH }, ERR_INVALID, "verb",
		"flush changes no mail path");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pop3_to_feed),
		cmocka_unit_test(pop3_to_backup),
		cmocka_unit_test(feed_to_backup_and_back),
		cmocka_unit_test(relay_to_pop3),
		cmocka_unit_test(temp_pop3_and_revert),
		cmocka_unit_test(remove_plan),
		cmocka_unit_test(offered),
		cmocka_unit_test(applies_table),
		cmocka_unit_test(no_plan_for_queue_verbs),
		cmocka_unit_test(as_json),
		cmocka_unit_test(words),
		cmocka_unit_test(digest),
		cmocka_unit_test(mailbox_list),
		cmocka_unit_test(rows),
	};

	return cmocka_run_group_tests_name("switchplan", tests,
					   unit_conf_group_setup,
					   unit_conf_group_teardown);
}
