/*
 * cmd_switch - the verbs that change how a domain's mail flows:
 * switch, temp-pop3, revert, extend
 *
 * Each takes --if-version N (the version the operator saw; lib
 * refuses a stale one before anything is written) and, but extend,
 * --dry-run: lib's plan for the verb, printed, nothing changed.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "domain_json.h"
#include "feedctl.h"
#include "util/parse.h"
#include "verbarg.h"

/* --if-version N, or "any version" */
static int64_t if_version(const struct args *a)
{
	return a->v[OPT_IF_VERSION].set ? (int64_t)a->v[OPT_IF_VERSION].n
					: OPS_NO_VERSION;
}

/* A switching verb's --dry-run: what ops would do (ops_switch_plan). */
int dry_run(struct cli *cli, const char *name, const struct sp_req *req)
{
	json_t *p = ops_switch_plan(&cli->ox, name, req, &cli->err), *v;
	const json_t *mb;
	size_t i;

	if (p == NULL)
		return fail(cli);
	if (cli->json) {
		print_json(p);
		json_decref(p);
		return 0;
	}
	mb = json_object_get(p, "mailboxes");
	printf("%s: %s (version %lld): %s -> %s%s\n", name,
	       json_string_value(json_object_get(p, "verb")),
	       (long long)json_integer_value(json_object_get(p, "version")),
	       json_string_value(json_object_get(p, "from")),
	       json_string_value(json_object_get(p, "to")),
	       json_is_true(json_object_get(p, "temp_pop3"))
		       ? " (temporary POP3)"
		       : "");
	printf("  probe: %s\n", json_string_value(json_object_get(p, "probe")));
	printf("  mailboxes: %s",
	       json_string_value(json_object_get(mb, "fate")));
	json_array_foreach(json_object_get(mb, "affected"), i, v)
		printf("%s%s", i == 0 ? ": " : ", ", json_string_value(v));
	printf("\n  queue: %s\n",
	       json_string_value(json_object_get(p, "queue")));
	json_array_foreach(json_object_get(p, "effects"), i, v)
		printf("  - %s\n", json_string_value(v));
	puts("dry run: nothing was changed");
	json_decref(p);
	return 0;
}

/* switch --to feed|backup */
static int switch_relay(struct cli *cli, const struct args *a,
			enum domain_mode to)
{
	const char *name = a->pos[0], *dest = a->v[OPT_DEST].text;
	const char *fate = a->v[OPT_MAILBOXES].text;
	const char *confirm = a->v[OPT_CONFIRM].text;
	bool force = a->v[OPT_FORCE].set;
	json_t *out = NULL;
	long long jobs;

	if (a->v[OPT_MAILBOX].set || a->v[OPT_CATCH_ALL].set)
		return usage_error(cli, "switch",
				   "--mailbox and --catch-all are for "
				   "--to pop3");
	if (a->v[OPT_DRY_RUN].set)
		return dry_run(cli, name,
			       &(struct sp_req){ .verb = to == MODE_FEED
								 ? SP_TO_FEED
								 : SP_TO_BACKUP,
						 .dest = dest,
						 .fate = fate,
						 .force = force,
						 .confirm = confirm });
	if (ops_switch_relay(&cli->ox, name, if_version(a), to, dest, fate,
			     force, confirm, &out, &cli->err) < 0)
		return fail(cli);
	if (cli->json) {
		print_json_new(out);
		return 0;
	}
	jobs = (long long)json_integer_value(json_object_get(out, "jobs"));
	printf("%s: now a %s domain%s%s; %lld mailbox%s to %s once every "
	       "relay routes the new way ('feedctl jobs %s')\n",
	       name, domain_mode_names[to], dest ? " to " : "",
	       dest ? dest : "", jobs, jobs == 1 ? "" : "es",
	       json_string_value(json_object_get(out, "mailboxes")), name);
	json_decref(out);
	return 0;
}

/* switch --to pop3 */
static int switch_pop3(struct cli *cli, const struct args *a)
{
	const struct optval *mb = &a->v[OPT_MAILBOX];
	const char *name = a->pos[0];
	bool catch_all = a->v[OPT_CATCH_ALL].set;
	json_t *out = NULL;

	if (a->v[OPT_DEST].set || a->v[OPT_MAILBOXES].set ||
	    a->v[OPT_FORCE].set)
		return usage_error(cli, "switch",
				   "--dest, --mailboxes and --force "
				   "are for --to feed");
	if (a->v[OPT_DRY_RUN].set)
		return dry_run(cli, name,
			       &(struct sp_req){ .verb = SP_TO_POP3,
						 .nlocals = mb->nlist,
						 .catch_all = catch_all });
	if (ops_switch_pop3(&cli->ox, name, if_version(a), mb->list, mb->nlist,
			    catch_all, &out, &cli->err) < 0)
		return fail(cli);
	if (!cli->json)
		printf("%s: now a pop3 domain; the relays deliver its mail "
		       "(queued mail too) into these mailboxes:\n",
		       name);
	print_passwords(cli, out);
	json_decref(out);
	return 0;
}

int cmd_switch(struct cli *cli, const struct args *a)
{
	const char *to = a->v[OPT_TO].text;

	if (to != NULL && strcmp(to, "feed") == 0)
		return switch_relay(cli, a, MODE_FEED);
	if (to != NULL && strcmp(to, "backup") == 0)
		return switch_relay(cli, a, MODE_BACKUP);
	if (to != NULL && strcmp(to, "pop3") == 0)
		return switch_pop3(cli, a);
	return usage_error(cli, "switch", "--to is feed, backup or pop3");
}

int cmd_temp_pop3(struct cli *cli, const struct args *a)
{
	const struct optval *mb = &a->v[OPT_MAILBOX];
	const char *name = a->pos[0];
	bool from_queue = a->v[OPT_FROM_QUEUE].set;
	bool catch_all = a->v[OPT_CATCH_ALL].set;
	json_t *created = NULL;

	if (a->v[OPT_DRY_RUN].set)
		return dry_run(cli, name,
			       &(struct sp_req){ .verb = SP_TEMP_POP3,
						 .nlocals = mb->nlist,
						 .from_queue = from_queue,
						 .catch_all = catch_all,
						 .now = (int64_t)time(NULL) });
	if (ops_temp_pop3(&cli->ox, name, if_version(a), mb->list, mb->nlist,
			  from_queue, catch_all, (int64_t)time(NULL), &created,
			  &cli->err) < 0)
		return fail(cli);
	if (!cli->json)
		printf("%s: temporary POP3 is on; the relays deliver its mail "
		       "(queued mail too) into these mailboxes:\n",
		       name);
	print_passwords(cli, created);
	json_decref(created);
	return 0;
}

int cmd_revert(struct cli *cli, const struct args *a)
{
	const char *name = a->pos[0];
	long keep = a->v[OPT_KEEP_DAYS].set ? a->v[OPT_KEEP_DAYS].n : -1;
	json_t *out = NULL;

	if (a->v[OPT_DRY_RUN].set)
		return dry_run(cli, name,
			       &(struct sp_req){ .verb = SP_REVERT,
						 .keep_days = keep,
						 .now = (int64_t)time(NULL) });
	if (ops_revert(&cli->ox, name, if_version(a), keep, (int64_t)time(NULL),
		       &out, &cli->err) < 0)
		return fail(cli);
	if (cli->json)
		print_json(out);
	else if (keep > 0)
		printf("%s: back to its feed; the temporary mailboxes stay "
		       "readable for %ld day%s, then are archived and "
		       "removed\n",
		       name, keep, keep == 1 ? "" : "s");
	else
		printf("%s: back to its feed; the mail in its temporary "
		       "mailboxes goes to the destination once every relay "
		       "routes the new way, then they are archived and "
		       "removed ('feedctl jobs %s')\n",
		       name, name);
	json_decref(out);
	return 0;
}

int cmd_extend(struct cli *cli, const struct args *a)
{
	long days = a->v[OPT_DAYS].set ? a->v[OPT_DAYS].n : VA_ABSENT;
	struct domain d;
	char when[32];

	if (ops_extend(&cli->ox, a->pos[0], if_version(a), days,
		       a->v[OPT_UNTIL].text, (int64_t)time(NULL), &d,
		       &cli->err) < 0)
		return fail(cli);
	if (cli->json) {
		print_domain_json(&d, NULL);
		return 0;
	}
	time_format_utc(d.queue_extended_until, when, sizeof(when));
	printf("%s: queue extended until %s (version %lld); no message of it "
	       "expires before then\n",
	       d.name.alabel, when, (long long)d.version);
	return 0;
}
