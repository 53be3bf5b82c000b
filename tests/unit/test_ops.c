/*
 * test_ops - lib/ops*.c against an in-memory store (fake_store.c, linked
 * in place of lib/store.c): the switch rules as executed (the record
 * stored, the mailbox jobs), that a dry run's plan is what the switch
 * then does, expected versions (set, patch, remove; a switch racing a
 * writer fails, it never retries) and set's retry on a conflict when
 * no version was given.  No switch here needs a probe: the network is
 * not touched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fake_store.h"
#include "ops.h"
#include "unit_conf.h"

static struct ops_ctx ox;

static int fresh(void **state)
{
	(void)state;
	memset(&ox, 0, sizeof(ox));
	ox.store = fake_store_new();
	ox.conf = &conf;
	ox.change.actor = "t-ops";
	ox.change.ticket = "";
	return 0;
}

static int gone(void **state)
{
	(void)state;
	fake_store_free(ox.store);
	return 0;
}

static void put(const char *name, enum domain_mode m, size_t mailboxes)
{
	struct domain_name dn;
	struct domain d;
	struct error err = ERROR_INIT;

	assert_int_equal(domain_name_parse(name, &dn, &err), 0);
	domain_init(&d, &dn, m, &conf);
	if (m != MODE_POP3)
		assert_int_equal(
			domain_set(&d, "dest", "127.0.0.1:2526", &conf, &err),
			0);
	fake_store_put(ox.store, &d, mailboxes, 0);
}

static struct domain *row(const char *name)
{
	struct fake_row *r = fake_store_find(ox.store, name);

	assert_non_null(r);
	return &r->d;
}

static void fails(int rc, struct error *err, enum err_code code,
		  const char *text)
{
	assert_int_equal(rc, -1);
	assert_int_equal(err->code, code);
	if (strstr(error_msg(err), text) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", error_msg(err), text);
	error_release(err);
	*err = (struct error)ERROR_INIT;
}

static void set_retries_without_version(void **state)
{
	struct fake_store *f = fake_store_of(ox.store);
	struct error err = ERROR_INIT;
	char g[] = "greylisting=off", *s[] = { g };
	struct domain out;
	bool changed = false;

	(void)state;
	put("a.example", MODE_FEED, 0);
	f->race_next = 3; /* three writers get in between */
	assert_int_equal(ops_domain_set(&ox, "a.example", s, 1, OPS_NO_VERSION,
					&out, &changed, &err),
			 0);
	assert_true(changed);
	assert_int_equal(f->conflicts, 3);
	assert_false(row("a.example")->greylisting);
	assert_int_equal(row("a.example")->version, 1 + 3 + 1);
	assert_int_equal(out.version, row("a.example")->version);
	error_release(&err); /* the retries' messages */
}

static void set_with_version_fails(void **state)
{
	struct fake_store *f = fake_store_of(ox.store);
	struct error err = ERROR_INIT;
	char q[] = "queue.days=9", *s[] = { q };
	struct domain out;
	bool changed = false;

	(void)state;
	put("a.example", MODE_FEED, 0);
	/* a stale version: refused before anything is written */
	fails(ops_domain_set(&ox, "a.example", s, 1, 7, &out, &changed, &err),
	      &err, ERR_STALE, "version is 1, not 7");
	assert_int_equal(f->writes, 0);
	/* the right version, but a writer gets in: no retry */
	f->race_next = 1;
	fails(ops_domain_set(&ox, "a.example", s, 1, 1, &out, &changed, &err),
	      &err, ERR_STALE, "version is 2, not 1");
	assert_int_equal(f->writes, 0);
	assert_int_equal(f->conflicts, 1);
	assert_int_not_equal(row("a.example")->queue_days, 9);
	/* and a merge patch alike */
	{
		json_t *p = json_pack("{s:b}", "greylisting", 0);

		fails(ops_domain_patch(&ox, "a.example", p, 1, &out, &changed,
				       &err),
		      &err, ERR_STALE, "version is 2");
		json_decref(p);
	}
	assert_int_equal(f->writes, 0);
}

static void remove_takes_a_version(void **state)
{
	struct fake_store *f = fake_store_of(ox.store);
	struct error err = ERROR_INIT;

	(void)state;
	put("r.example", MODE_FEED, 0);
	put("m.example", MODE_POP3, 2);
	fails(ops_domain_remove(&ox, "r.example", 5, NULL, false, &err), &err,
	      ERR_STALE, "version is 1, not 5");
	fails(ops_domain_remove(&ox, "r.example", OPS_NO_VERSION, "x.example",
				false, &err),
	      &err, ERR_INVALID, "must name the domain");
	f->race_next = 1;
	fails(ops_domain_remove(&ox, "r.example", 1, NULL, false, &err), &err,
	      ERR_STALE, "version is 2");
	assert_int_equal(f->removes, 0);
	fails(ops_domain_remove(&ox, "m.example", OPS_NO_VERSION, NULL, false,
				&err),
	      &err, ERR_CONFLICT, "still has mailboxes");
	assert_int_equal(ops_domain_remove(&ox, "r.example", 2, "r.example",
					   false, &err),
			 0);
	assert_int_equal(f->removes, 1);
	assert_null(fake_store_find(ox.store, "r.example"));
}

/* a dry run's plan, then the switch: what was planned is what is stored */
static void plan_then_switch(void **state)
{
	struct fake_store *f = fake_store_of(ox.store);
	struct error err = ERROR_INIT;
	json_t *plan, *rep = NULL;

	(void)state;
	put("f.example", MODE_FEED, 0);
	plan = ops_switch_plan(&ox, "f.example",
			       &(struct sp_req){ .verb = SP_TO_BACKUP }, &err);
	assert_non_null(plan);
	assert_int_equal(f->writes, 0);
	assert_int_equal(ops_switch_relay(&ox, "f.example", OPS_NO_VERSION,
					  MODE_BACKUP, NULL, NULL, false, NULL,
					  &rep, &err),
			 0);
	assert_string_equal(json_string_value(json_object_get(plan, "to")),
			    domain_mode_names[row("f.example")->mode]);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(plan, "queue_days"), "new")),
			 row("f.example")->queue_days);
	assert_string_equal(json_string_value(json_object_get(plan, "probe")),
			    "none");
	assert_true(json_is_null(json_object_get(rep, "probe")));
	assert_int_equal(row("f.example")->version, 2);
	assert_string_equal(f->last_action, "switch");
	json_decref(plan);
	json_decref(rep);
	/* back to feed: queue.days follows again */
	assert_int_equal(ops_switch_relay(&ox, "f.example", OPS_NO_VERSION,
					  MODE_FEED, NULL, NULL, false, NULL,
					  &rep, &err),
			 0);
	assert_int_equal(row("f.example")->mode, MODE_FEED);
	assert_int_equal(row("f.example")->queue_days,
			 domain_default_queue_days(MODE_FEED));
	json_decref(rep);
	/* twice: refused by the plan, nothing written */
	fails(ops_switch_relay(&ox, "f.example", OPS_NO_VERSION, MODE_FEED,
			       NULL, NULL, false, NULL, &rep, &err),
	      &err, ERR_CONFLICT, "is a feed domain already");
	assert_int_equal(f->writes, 2);
}

static void switch_refusals_write_nothing(void **state)
{
	struct fake_store *f = fake_store_of(ox.store);
	struct error err = ERROR_INIT;
	json_t *rep = NULL;
	char info[] = "info", *locals[] = { info };

	(void)state;
	put("p.example", MODE_POP3, 2);
	fails(ops_switch_relay(&ox, "p.example", OPS_NO_VERSION, MODE_FEED,
			       NULL, NULL, false, NULL, &rep, &err),
	      &err, ERR_INVALID, "needs --dest");
	fails(ops_switch_relay(&ox, "p.example", OPS_NO_VERSION, MODE_FEED,
			       "127.0.0.9", "purge", false, NULL, &rep, &err),
	      &err, ERR_INVALID, "--confirm=p.example");
	fails(ops_switch_pop3(&ox, "p.example", OPS_NO_VERSION, locals, 1,
			      false, &rep, &err),
	      &err, ERR_CONFLICT, "is a pop3 domain already");
	fails(ops_temp_pop3(&ox, "p.example", OPS_NO_VERSION, NULL, 0, false,
			    true, 1, &rep, &err),
	      &err, ERR_CONFLICT, "temp-pop3 is for feed");
	fails(ops_revert(&ox, "p.example", OPS_NO_VERSION, -1, 1, &rep, &err),
	      &err, ERR_CONFLICT, "not in temporary POP3");
	fails(ops_switch_relay(&ox, "nx.example", OPS_NO_VERSION, MODE_FEED,
			       NULL, NULL, false, NULL, &rep, &err),
	      &err, ERR_NOTFOUND, "no such domain");
	assert_null(rep);
	assert_int_equal(f->writes, 0);
}

static void feed_to_pop3(void **state)
{
	struct error err = ERROR_INIT;
	struct fake_row *r;
	json_t *created = NULL;
	char info[] = "info", sales[] = "sales";
	char *locals[] = { info, sales, info };

	(void)state;
	put("q.example", MODE_FEED, 0);
	assert_int_equal(ops_switch_pop3(&ox, "q.example", OPS_NO_VERSION,
					 locals, 3, true, &created, &err),
			 0);
	r = fake_store_find(ox.store, "q.example");
	assert_int_equal(r->d.mode, MODE_POP3);
	assert_false(r->d.has_dest);
	/* info once, sales, the catch-all: each password shown once */
	assert_int_equal(r->mailboxes, 3);
	assert_int_equal(json_array_size(created), 3);
	json_decref(created);
}

static void temp_pop3_then_revert(void **state)
{
	struct fake_store *f = fake_store_of(ox.store);
	struct error err = ERROR_INIT;
	json_t *created = NULL, *rep = NULL;
	char alice[] = "alice", *locals[] = { alice };

	(void)state;
	put("t.example", MODE_FEED, 0);
	assert_int_equal(ops_temp_pop3(&ox, "t.example", OPS_NO_VERSION, locals,
				       1, false, true, 1000, &created, &err),
			 0);
	assert_true(row("t.example")->temp_pop3);
	assert_string_equal(row("t.example")->temp_pop3_by, "t-ops");
	assert_int_equal(json_array_size(created), 2);
	json_decref(created);
	fails(ops_switch_relay(&ox, "t.example", OPS_NO_VERSION, MODE_BACKUP,
			       NULL, NULL, false, NULL, &rep, &err),
	      &err, ERR_CONFLICT, "revert it first");
	fails(ops_revert(&ox, "t.example", OPS_NO_VERSION, 400, 1000, &rep,
			 &err),
	      &err, ERR_INVALID, "1 to 365");
	/* a writer gets in: the revert fails, it does not retry */
	f->race_next = 1;
	fails(ops_revert(&ox, "t.example", OPS_NO_VERSION, -1, 1000, &rep,
			 &err),
	      &err, ERR_STALE, "version is");
	assert_true(row("t.example")->temp_pop3);
	assert_int_equal(ops_revert(&ox, "t.example", OPS_NO_VERSION, 3, 1000,
				    &rep, &err),
			 0);
	assert_false(row("t.example")->temp_pop3);
	assert_string_equal(f->last_job, "mailbox-archive");
	assert_string_equal(
		json_string_value(json_object_get(rep, "mailboxes")), "keep");
	assert_int_equal(json_integer_value(json_object_get(rep, "jobs")), 2);
	assert_int_equal(json_integer_value(json_object_get(rep, "keep_until")),
			 1000 + 3 * 86400);
	json_decref(rep);
}

/* every switching verb and extend take the version the caller saw */
static void verbs_take_a_version(void **state)
{
	struct fake_store *f = fake_store_of(ox.store);
	struct error err = ERROR_INIT;
	struct domain d;
	json_t *rep = NULL;
	char alice[] = "alice", *locals[] = { alice };

	(void)state;
	put("v.example", MODE_FEED, 0);
	fails(ops_switch_relay(&ox, "v.example", 7, MODE_BACKUP, NULL, NULL,
			       false, NULL, &rep, &err),
	      &err, ERR_STALE, "version is 1, not 7");
	fails(ops_switch_pop3(&ox, "v.example", 7, locals, 1, false, &rep,
			      &err),
	      &err, ERR_STALE, "version is 1, not 7");
	fails(ops_temp_pop3(&ox, "v.example", 7, locals, 1, false, false, 1,
			    &rep, &err),
	      &err, ERR_STALE, "version is 1, not 7");
	fails(ops_extend(&ox, "v.example", 7, 3, NULL, (int64_t)time(NULL), &d,
			 &err),
	      &err, ERR_STALE, "version is 1, not 7");
	assert_null(rep);
	assert_int_equal(f->writes, 0);
	assert_int_equal(row("v.example")->version, 1);
	/* the version seen: each verb goes ahead */
	if (ops_extend(&ox, "v.example", 1, 3, NULL, (int64_t)time(NULL), &d,
		       &err) < 0)
		fail_msg("extend: %s", error_msg(&err));
	assert_int_equal(ops_temp_pop3(&ox, "v.example", 2, locals, 1, false,
				       false, 1000, &rep, &err),
			 0);
	json_decref(rep);
	fails(ops_revert(&ox, "v.example", 2, -1, 1000, &rep, &err), &err,
	      ERR_STALE, "version is 3, not 2");
	assert_true(row("v.example")->temp_pop3);
	assert_int_equal(ops_revert(&ox, "v.example", 3, -1, 1000, &rep, &err),
			 0);
	assert_false(row("v.example")->temp_pop3);
	json_decref(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(set_retries_without_version,
						fresh, gone),
		cmocka_unit_test_setup_teardown(set_with_version_fails, fresh,
						gone),
		cmocka_unit_test_setup_teardown(remove_takes_a_version, fresh,
						gone),
		cmocka_unit_test_setup_teardown(plan_then_switch, fresh, gone),
		cmocka_unit_test_setup_teardown(verbs_take_a_version, fresh,
						gone),
		cmocka_unit_test_setup_teardown(switch_refusals_write_nothing,
						fresh, gone),
		cmocka_unit_test_setup_teardown(feed_to_pop3, fresh, gone),
		cmocka_unit_test_setup_teardown(temp_pop3_then_revert, fresh,
						gone),
	};

	return cmocka_run_group_tests_name("ops", tests, unit_conf_group_setup,
					   unit_conf_group_teardown);
}
