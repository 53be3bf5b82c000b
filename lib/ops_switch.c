/*
 * ops_switch - the verbs that move a domain between modes: switch
 * relay (feed/backup), switch pop3, temp-pop3, revert, extend, and the
 * plan they show before they run
 *
 * See ops.h.  Each verb asks lib/switchplan for its plan (what will
 * happen, refusals included) at the expected version, then executes
 * exactly that plan in one store_switch() transaction; ops_switch_plan()
 * returns the same plan unexecuted, for the confirmation page and
 * --dry-run.  Nothing here prints or exits.
 */
#include "ops.h"

#include <string.h>

#include "ops_int.h"
#include "probe.h"
#include "queue.h"
#include "util/parse.h"
#include "util/timefmt.h"
#include "verbarg.h"

int ops_extend(const struct ops_ctx *ox, const char *name, int64_t if_version,
	       long days, const char *until, int64_t now, struct domain *out,
	       struct error *err)
{
	struct domain cur;
	char when[32];
	const char *value = until;

	if (verb_extend_choice(days, until, err) < 0)
		return -1;
	if (until == NULL || until[0] == '\0') {
		if (verb_arg_check(VA_DAYS, days, err) < 0)
			return -1;
		time_format_utc(now + (int64_t)days * 86400, when,
				sizeof(when));
		value = when;
	} else if (strlen(until) != 10) {
		return error_set(err, ERR_INVALID, "until",
				 "until must be a date, YYYY-MM-DD");
	}
	if (ops_domain_get(ox, name, &cur, NULL, err) < 0 ||
	    ops_check_version(&cur, if_version, err) < 0 ||
	    switch_plan_applies(&cur, SP_EXTEND, err) < 0)
		return -1;
	*out = cur;
	if (domain_set(out, "queue.extended_until", value, ox->conf, err) < 0)
		return -1;
	return ops_commit_change(ox, &cur, out, "extend", NULL, err);
}

json_t *ops_switch_plan(const struct ops_ctx *ox, const char *name,
			const struct sp_req *req, struct error *err)
{
	struct sp_req r = *req;
	struct sp_plan p;
	struct domain cur;
	json_t *mbs, *out;

	if (r.verb == SP_TEMP_POP3 && r.actor == NULL)
		r.actor = ox->change.actor;
	if (ops_get_plan(ox, name, OPS_NO_VERSION, &r, &cur, &p, err) < 0 ||
	    (mbs = ops_mailboxes_json(ox, &cur, err)) == NULL)
		return NULL;
	out = switch_plan_json(&cur, &p, mbs);
	json_decref(mbs);
	return out;
}

int ops_temp_pop3(const struct ops_ctx *ox, const char *name,
		  int64_t if_version, char *const *locals, size_t nlocals,
		  bool from_queue, bool catch_all, int64_t now,
		  json_t **created, struct error *err)
{
	struct sp_req req = { .verb = SP_TEMP_POP3,
			      .nlocals = nlocals,
			      .from_queue = from_queue,
			      .catch_all = catch_all,
			      .actor = ox->change.actor,
			      .now = now };
	struct ops_new_mailboxes nm = { 0 };
	struct sp_plan p;
	struct domain cur;
	int rc = -1;

	*created = NULL;
	if (ops_get_plan(ox, name, if_version, &req, &cur, &p, err) < 0)
		return -1;
	if (ops_add_locals(&nm, locals, nlocals, err) < 0)
		goto out;
	if (from_queue && ops_add_queued_locals(ox, &cur.name, &nm, err) < 0)
		goto out;
	if (catch_all)
		ops_add_catch_all(&nm, true);
	if (nm.n == 0) {
		error_set(err, ERR_INVALID, "mailbox",
			  "temp-pop3 needs --mailbox LOCAL, --from-queue (with "
			  "mail queued) or --catch-all");
		goto out;
	}
	if (ops_issue_passwords(&cur, &nm, err) < 0)
		goto out;
	if (store_temp_pop3(ox->store, &cur, &p.nd, nm.mbs, nm.hashes, nm.n,
			    &ox->change, err) < 0)
		goto out;
	rc = 0;
out:
	*created = ops_new_mailboxes_done(&nm, rc == 0);
	return rc;
}

/* The part of a store_switch() request that every switching verb fills
 * the same way: the record as stored, the plan's new record and action. */
static void switch_req_start(struct switch_req *r, const struct domain *cur,
			     struct sp_plan *p)
{
	r->old = cur;
	r->nd = &p->nd;
	r->action = p->action;
}

int ops_switch_relay(const struct ops_ctx *ox, const char *name,
		     int64_t if_version, enum domain_mode to, const char *dest,
		     const char *fate, bool force, const char *confirm,
		     json_t **report, struct error *err)
{
	struct sp_req req = { .verb = to == MODE_BACKUP ? SP_TO_BACKUP
							: SP_TO_FEED,
			      .dest = dest,
			      .fate = fate,
			      .force = force,
			      .confirm = confirm };
	struct switch_req r = { 0 };
	struct sp_plan p;
	struct domain cur;
	json_t *probe = NULL;
	long jobs = 0;

	*report = NULL;
	if (to != MODE_FEED && to != MODE_BACKUP)
		return error_set(err, ERR_INTERNAL, "to",
				 "ops_switch_relay: not a relay mode");
	if (ops_get_plan(ox, name, if_version, &req, &cur, &p, err) < 0)
		return -1;
	if (p.probe)
		probe = probe_run(&p.nd.dest, &p.nd.name,
				  ox->conf->relay_hostname, PROBE_TIMEOUT_MS);
	/* ...and under tls.policy encrypt or verify it must take TLS */
	if (probe != NULL && p.probe_binding &&
	    ops_probe_verdict(probe, &p.nd, &p.nd.dest, "destination", true,
			      "switch", err) < 0) {
		json_decref(probe);
		return -1;
	}
	switch_req_start(&r, &cur, &p);
	r.job_kind = p.job_kind;
	if (store_switch(ox->store, &r, &jobs, &ox->change, err) < 0) {
		json_decref(probe);
		return -1;
	}
	*report = json_pack("{s:o, s:s, s:i}", "probe",
			    probe ? probe : json_null(), "mailboxes", p.fate,
			    "jobs", (json_int_t)jobs);
	return 0;
}

int ops_switch_pop3(const struct ops_ctx *ox, const char *name,
		    int64_t if_version, char *const *locals, size_t nlocals,
		    bool catch_all, json_t **created, struct error *err)
{
	struct sp_req req = { .verb = SP_TO_POP3,
			      .nlocals = nlocals,
			      .catch_all = catch_all };
	struct switch_req r = { 0 };
	struct ops_new_mailboxes nm = { 0 };
	struct sp_plan p;
	struct domain cur;
	size_t i;
	long jobs = 0;
	int rc = -1;

	*created = NULL;
	if (ops_get_plan(ox, name, if_version, &req, &cur, &p, err) < 0)
		return -1;
	if (ops_add_locals(&nm, locals, nlocals, err) < 0)
		goto out;
	/* add_local() marks them temporary: these are for good */
	for (i = 0; i < nm.n; i++)
		nm.mbs[i].temporary = false;
	if (catch_all)
		ops_add_catch_all(&nm, false);
	if (ops_issue_passwords(&cur, &nm, err) < 0)
		goto out;
	switch_req_start(&r, &cur, &p);
	r.mbs = nm.mbs;
	r.hashes = nm.hashes;
	r.n = nm.n;
	if (store_switch(ox->store, &r, &jobs, &ox->change, err) < 0)
		goto out;
	rc = 0;
out:
	*created = ops_new_mailboxes_done(&nm, rc == 0);
	return rc;
}

int ops_revert(const struct ops_ctx *ox, const char *name, int64_t if_version,
	       long keep_days, int64_t now, json_t **report, struct error *err)
{
	struct sp_req req = { .verb = SP_REVERT,
			      .keep_days = keep_days,
			      .now = now };
	struct switch_req r = { 0 };
	struct sp_plan p;
	struct domain cur;
	long jobs = 0;

	*report = NULL;
	if (ops_get_plan(ox, name, if_version, &req, &cur, &p, err) < 0)
		return -1;
	switch_req_start(&r, &cur, &p);
	r.temp_only = p.temp_only;
	r.job_kind = p.job_kind;
	r.run_after = p.run_after;
	r.keep_until = p.keep_until;
	if (store_switch(ox->store, &r, &jobs, &ox->change, err) < 0)
		return -1;
	*report = json_pack("{s:s, s:i, s:o}", "mailboxes", p.fate, "jobs",
			    (json_int_t)jobs, "keep_until",
			    p.keep_until ? json_integer(p.keep_until)
					 : json_null());
	return 0;
}
