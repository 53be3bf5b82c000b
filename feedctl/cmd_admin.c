/*
 * cmd_admin - the verbs about who and what may reach a domain:
 * mailbox, rule, token, staff, and db (the schema)
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "feedctl.h"
#include "migrate.h"
#include "ops_view.h"
#include "util/parse.h"

/* A list as a table, or with --json as {"KEY": [...]} (key NULL: the
 * bare array); consumes list. */
static int print_list(struct cli *cli, json_t *list, const char *key,
		      const struct column *cols)
{
	if (list == NULL)
		return fail(cli);
	if (cli->json && key != NULL)
		print_json_new(json_pack("{s:O}", key, list));
	else if (cli->json)
		print_json(list);
	else
		print_table(list, cols);
	json_decref(list);
	return 0;
}

int cmd_mailbox_list(struct cli *cli, const struct args *a)
{
	static const struct column cols[] = {
		{ "address", "ADDRESS" },
		{ "temporary", "TEMPORARY" },
		{ "catch_all", "CATCH-ALL" },
		{ "created_at", "CREATED" },
		{ NULL, NULL },
	};
	struct domain d;

	if (ops_domain_get(&cli->ox, a->pos[0], &d, NULL, &cli->err) < 0)
		return fail(cli);
	return print_list(cli, ops_mailboxes_json(&cli->ox, &d, &cli->err),
			  "mailboxes", cols);
}

int cmd_mailbox_add(struct cli *cli, const struct args *a)
{
	json_t *list = NULL;
	int rc;

	rc = ops_mailbox_add(&cli->ox, a->pos[0], a->pos + 1, a->npos - 1,
			     a->v[OPT_CATCH_ALL].set, &list, &cli->err);
	print_passwords(cli, list);
	json_decref(list);
	return rc < 0 ? fail(cli) : 0;
}

int cmd_mailbox_passwd(struct cli *cli, const struct args *a)
{
	json_t *list = NULL;

	if (ops_mailbox_passwd(&cli->ox, a->pos[0], a->pos[1], &list,
			       &cli->err) < 0)
		return fail(cli);
	print_passwords(cli, list);
	json_decref(list);
	return 0;
}

int cmd_mailbox_remove(struct cli *cli, const struct args *a)
{
	if (ops_mailbox_remove(&cli->ox, a->pos[0], a->pos[1], &cli->err) < 0)
		return fail(cli);
	printf("%s@%s: removed; its maildir is archived by the mailbox "
	       "host's worker\n",
	       a->pos[1], a->pos[0]);
	return 0;
}

int cmd_rule_list(struct cli *cli, const struct args *a)
{
	static const struct column cols[] = {
		{ "action", "ACTION" },
		{ "kind", "KIND" },
		{ "value", "VALUE" },
		{ "refused", "REFUSED (relays skip it)" },
		{ NULL, NULL },
	};
	struct domain d;

	if (ops_domain_get(&cli->ox, a->pos[0], &d, NULL, &cli->err) < 0)
		return fail(cli);
	return print_list(cli, ops_rules_json(&cli->ox, &d, &cli->err), NULL,
			  cols);
}

/* rule add|remove DOMAIN allow|block sender-regex|client VALUE */
int cmd_rule_change(struct cli *cli, const struct args *a)
{
	bool add = strcmp(a->sub, "add") == 0;

	if (ops_rule(&cli->ox, a->pos[0], add, a->pos[1], a->pos[2], a->pos[3],
		     &cli->err) < 0)
		return fail(cli);
	printf("%s: rule %s\n", a->pos[0], add ? "added" : "removed");
	return 0;
}

static const struct column token_cols[] = {
	{ "name", "NAME" },
	{ "role", "ROLE" },
	{ "domains", "DOMAINS" },
	{ "expires_at", "EXPIRES" },
	{ "last_used_at", "LAST USED" },
	{ "created_by", "BY" },
	{ NULL, NULL },
};

int cmd_token_list(struct cli *cli, const struct args *a)
{
	(void)a;
	return print_list(cli, ops_token_list(&cli->ox, &cli->err), NULL,
			  token_cols);
}

int cmd_token_revoke(struct cli *cli, const struct args *a)
{
	if (ops_token_revoke(&cli->ox, a->pos[0], &cli->err) < 0)
		return fail(cli);
	printf("%s: revoked\n", a->pos[0]);
	return 0;
}

int cmd_token_create(struct cli *cli, const struct args *a)
{
	const struct optval *dom = &a->v[OPT_DOMAIN];
	const struct optval *exp = &a->v[OPT_EXPIRES_DAYS];
	const char *name = a->pos[0];
	char text[TOKEN_TEXT_MAX + 1];

	if (ops_token_create(&cli->ox, name, a->v[OPT_ROLE].text, dom->list,
			     dom->nlist, exp->set ? exp->n : 0, text,
			     &cli->err) < 0)
		return fail(cli);
	if (cli->json)
		print_json_new(
			json_pack("{s:s, s:s}", "name", name, "token", text));
	else
		printf("token for %s (shown only now, store it safely):\n%s\n",
		       name, text);
	OPENSSL_cleanse(text, sizeof(text));
	return 0;
}

int cmd_staff_list(struct cli *cli, const struct args *a)
{
	static const struct column cols[] = {
		{ "login", "LOGIN" },	  { "role", "ROLE" },
		{ "domains", "DOMAINS" }, { "updated_at", "CHANGED" },
		{ "created_by", "BY" },	  { NULL, NULL },
	};

	(void)a;
	return print_list(cli, ops_staff_list(&cli->ox, &cli->err), NULL, cols);
}

int cmd_staff_remove(struct cli *cli, const struct args *a)
{
	if (ops_staff_remove(&cli->ox, a->pos[0], &cli->err) < 0)
		return fail(cli);
	printf("%s: removed\n", a->pos[0]);
	return 0;
}

/* staff add|set LOGIN [--role R] [--domain D ... | --all-domains] */
int cmd_staff_change(struct cli *cli, const struct args *a)
{
	const struct optval *dom = &a->v[OPT_DOMAIN];
	const char *login = a->pos[0], *role = a->v[OPT_ROLE].text;
	bool all = a->v[OPT_ALL_DOMAINS].set;

	if (all && dom->nlist > 0)
		return usage_error(cli, "staff",
				   "--all-domains and --domain exclude each "
				   "other");
	if (strcmp(a->sub, "add") == 0) {
		if (ops_staff_add(&cli->ox, login, role, dom->list, dom->nlist,
				  &cli->err) < 0)
			return fail(cli);
		printf("%s: added\n", login);
		return 0;
	}
	if (role == NULL && dom->nlist == 0 && !all)
		return usage_error(cli, "staff",
				   "staff set needs --role, --domain or "
				   "--all-domains");
	if (ops_staff_set(&cli->ox, login, role, dom->list, dom->nlist,
			  all || dom->nlist > 0, &cli->err) < 0)
		return fail(cli);
	printf("%s: changed\n", login);
	return 0;
}

int cmd_db(struct cli *cli, const struct args *a)
{
	int n = 0;

	if (strcmp(a->sub, "migrate") == 0) {
		if (migrate_run(cli->conf.db_owner_conninfo, stdout, &n,
				&cli->err) < 0)
			return fail(cli);
		printf("%d migration%s applied\n", n, n == 1 ? "" : "s");
		return 0;
	}
	if (migrate_status(cli->conf.db_owner_conninfo, stdout, &n, &cli->err) <
	    0)
		return fail(cli);
	return 0;
}
