/*
 * cmd_relay - the verbs about the relays and the jobs that wait for
 * them: relays, relay (drain|retire|activate), jobs
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "feedctl.h"
#include "ops_relay.h"
#include "ops_view.h"

int cmd_relays(struct cli *cli, const struct args *a)
{
	static const struct column cols[] = {
		{ "name", "RELAY" },
		{ "role", "ROLE" },
		{ "state", "STATE" },
		{ "addresses", "SENDS FROM" },
		{ "applied_seq", "APPLIED" },
		{ "lag", "BEHIND" },
		{ "heartbeat", "HEARTBEAT" },
		{ "queue_total", "QUEUED" },
		{ "drain_hand_over", "HANDS OVER TO" },
		{ "last_error", "LAST ERROR" },
		{ NULL, NULL },
	};
	json_t *list;

	(void)a;
	if ((list = ops_relay_list(&cli->ox, &cli->err)) == NULL)
		return fail(cli);
	if (cli->json)
		print_json(list);
	else if (json_array_size(list) == 0)
		puts("no relays registered (mta-glue sync registers them)");
	else
		print_table(list, cols);
	json_decref(list);
	return 0;
}

int cmd_relay(struct cli *cli, const struct args *a)
{
	bool retire = strcmp(a->sub, "retire") == 0;
	const char *name = a->pos[0];

	if (ops_relay_retire(&cli->ox, name, retire, a->v[OPT_FORCE].set,
			     &cli->err) < 0)
		return fail(cli);
	if (cli->json)
		print_json_new(json_pack("{s:s, s:s}", "name", name, "role",
					 retire ? "retired" : "relay"));
	else if (retire)
		printf("%s: retired: no change, queue view, command or job "
		       "waits for it any more\n",
		       name);
	else
		printf("%s: active again\n", name);
	return 0;
}

int cmd_relay_drain(struct cli *cli, const struct args *a)
{
	struct ops_drain_in in = { a->pos[0], a->v[OPT_HAND_OVER].text,
				   a->v[OPT_MAX_AGE].text };

	if (ops_relay_drain(&cli->ox, &in, &cli->err) < 0)
		return fail(cli);
	if (cli->json)
		print_json_new(json_pack("{s:s, s:s, s:s?, s:s?}", "name",
					 in.name, "role", "draining",
					 "hand_over", in.hand_over, "max_age",
					 in.max_age));
	else if (in.hand_over == NULL)
		printf("%s: draining: new SMTP sessions get 421, it delivers "
		       "its queue itself; \"feedctl relays\" shows what is "
		       "left\n",
		       in.name);
	else
		printf("%s: draining: new SMTP sessions get 421, its queue "
		       "goes to %s %s; \"feedctl relays\" shows what is "
		       "left\n",
		       in.name, in.hand_over,
		       in.max_age ? "after max-age" : "now");
	return 0;
}

int cmd_jobs(struct cli *cli, const struct args *a)
{
	static const struct column cols[] = {
		{ "id", "ID" },
		{ "kind", "KIND" },
		{ "domain", "DOMAIN" },
		{ "state", "STATE" },
		{ "attempts", "TRIES" },
		{ "run_after", "RUN AFTER" },
		{ "last_error", "LAST ERROR" },
		{ NULL, NULL },
	};
	json_t *list =
		ops_job_list(&cli->ox, a->npos ? a->pos[0] : NULL, &cli->err);

	if (list == NULL)
		return fail(cli);
	if (cli->json)
		print_json(list);
	else
		print_table(list, cols);
	json_decref(list);
	return 0;
}
