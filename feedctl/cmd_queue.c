/*
 * cmd_queue - the verbs about a domain's mail on the relays: queue,
 * flush, probe, quarantine, trace
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "feedctl.h"

/* How many relays hold some of the domain's mail (as each last
 * published it): every relay asked is listed, holding or not. */
static size_t relays_holding(const json_t *relays)
{
	const json_t *r;
	size_t i, n = 0;

	json_array_foreach(relays, i, r)
	{
		if (json_integer_value(json_object_get(r, "count")) > 0)
			n++;
	}
	return n;
}

int cmd_queue(struct cli *cli, const struct args *a)
{
	static const struct column cols[] = {
		{ "relay", "RELAY" },
		{ "queue_id", "QUEUE ID" },
		{ "arrival", "ARRIVED" },
		{ "sender", "SENDER" },
		{ "recipients", "RECIPIENTS" },
		{ "reason", "LAST DELAY REASON" },
		{ NULL, NULL },
	};
	struct domain_name dn;
	json_t *q;

	if (ops_name(&cli->conf, a->pos[0], &dn, &cli->err) < 0 ||
	    (q = ops_queue(&cli->ox, &dn, &cli->err)) == NULL)
		return fail(cli);
	if (cli->json) {
		print_json(q);
	} else {
		const json_t *o = json_object_get(q, "oldest");

		printf("%s: %lld message(s) queued on %zu relay(s)%s%s\n",
		       dn.alabel,
		       (long long)json_integer_value(
			       json_object_get(q, "count")),
		       relays_holding(json_object_get(q, "relays")),
		       json_is_string(o) ? ", oldest from " : "",
		       json_is_string(o) ? json_string_value(o) : "");
		print_relay_states(json_object_get(q, "relays"), "fresh");
		if (json_array_size(json_object_get(q, "messages")) > 0)
			print_table(json_object_get(q, "messages"), cols);
	}
	json_decref(q);
	return 0;
}

int cmd_flush(struct cli *cli, const struct args *a)
{
	struct domain_name dn;
	json_t *o;

	if (ops_name(&cli->conf, a->pos[0], &dn, &cli->err) < 0 ||
	    (o = ops_flush(&cli->ox, &dn, &cli->err)) == NULL)
		return fail(cli);
	if (cli->json) {
		print_json(o);
	} else {
		printf("%s: delivery of its queued mail started on %zu "
		       "relay(s)%s\n",
		       dn.alabel, json_array_size(json_object_get(o, "relays")),
		       json_is_true(json_object_get(o, "done"))
			       ? ""
			       : "; not every relay has confirmed yet:");
		print_relay_states(json_object_get(o, "relays"), "done");
	}
	json_decref(o);
	return 0;
}

int cmd_probe(struct cli *cli, const struct args *a)
{
	json_t *r;
	bool ok;

	if (ops_probe(&cli->ox, a->pos[0], &r, &cli->err) < 0)
		return fail(cli);
	ok = json_is_true(json_object_get(r, "ok"));
	if (cli->json) {
		print_json(r);
	} else {
		const char *e = json_string_value(json_object_get(r, "error"));

		printf("%s:%lld %s in %lld ms\n",
		       json_string_value(json_object_get(r, "host")),
		       (long long)json_integer_value(
			       json_object_get(r, "port")),
		       ok ? "ok" : "FAILED",
		       (long long)json_integer_value(json_object_get(r, "ms")));
		printf("  banner:   %s\n  STARTTLS: %s\n",
		       json_string_value(json_object_get(r, "banner")),
		       json_is_true(json_object_get(r, "starttls"))
			       ? "offered"
			       : "not offered");
		if (json_is_object(json_object_get(r, "tls"))) {
			const json_t *t = json_object_get(r, "tls");

			printf("  TLS:      %s %s\n  SHA-256:  %s\n",
			       json_string_value(
				       json_object_get(t, "protocol")),
			       json_string_value(json_object_get(t, "cipher")),
			       json_string_value(
				       json_object_get(t, "fingerprint")));
		} else if (json_is_string(json_object_get(r, "tls_error"))) {
			printf("  TLS:      %s (went on in clear)\n",
			       json_string_value(
				       json_object_get(r, "tls_error")));
		}
		if (json_string_length(json_object_get(r, "rcpt_reply")) > 0)
			printf("  RCPT:     %s\n",
			       json_string_value(
				       json_object_get(r, "rcpt_reply")));
		if (e != NULL)
			printf("  error:    %s\n", e);
	}
	json_decref(r);
	return ok ? 0 : 5;
}

int cmd_quarantine(struct cli *cli, const struct args *a)
{
	static const struct column cols[] = {
		{ "relay", "RELAY" },
		{ "queue_id", "ID" },
		{ "arrival", "ARRIVED" },
		{ "sender", "SENDER" },
		{ "recipients", "RECIPIENTS" },
		{ "expires", "DELETED AFTER" },
		{ NULL, NULL },
	};
	struct domain_name dn;
	bool list, release;
	json_t *o;

	list = strcmp(a->sub, "list") == 0;
	release = strcmp(a->sub, "release") == 0;
	if (ops_name(&cli->conf, a->pos[0], &dn, &cli->err) < 0)
		return fail(cli);
	o = list ? ops_quarantine_list(&cli->ox, &dn, &cli->err)
		 : ops_quarantine(&cli->ox, &dn, a->pos[1], release, &cli->err);
	if (o == NULL)
		return fail(cli);
	if (cli->json)
		print_json(o);
	else if (!list)
		printf("%s: %s %s on relay %s\n", dn.alabel, a->pos[1],
		       json_string_value(json_object_get(o, "done")),
		       json_string_value(json_object_get(o, "relay")));
	else if (json_array_size(json_object_get(o, "messages")) == 0)
		printf("%s: nothing in quarantine\n", dn.alabel);
	else
		print_table(json_object_get(o, "messages"), cols);
	json_decref(o);
	return 0;
}

int cmd_trace(struct cli *cli, const struct args *a)
{
	static const struct column cols[] = {
		{ "time", "TIME" },
		{ "sender", "SENDER" },
		{ "recipient", "RECIPIENT" },
		{ "verdict", "VERDICT" },
		{ "summary", "WHAT HAPPENED" },
		{ NULL, NULL },
	};
	struct ops_trace_in in = { 0 };
	json_t *o;

	if (strchr(a->pos[0], '@') != NULL)
		in.address = a->pos[0];
	else
		in.domain = a->pos[0];
	in.since = a->v[OPT_SINCE].text;
	in.message_id = a->v[OPT_MESSAGE_ID].text;
	in.limit = 500;
	if ((o = ops_trace(&cli->ox, &in, &cli->err)) == NULL)
		return fail(cli);
	if (cli->json)
		print_json(o);
	else if (json_array_size(json_object_get(o, "messages")) == 0)
		printf("%s: no message found\n", a->pos[0]);
	else
		print_table(json_object_get(o, "messages"), cols);
	json_decref(o);
	return 0;
}
