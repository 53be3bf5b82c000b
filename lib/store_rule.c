/*
 * store_rule - sender rules (sender_rules)
 *
 * A rule is added or removed with an audit row in one transaction;
 * rows read back are re-checked against the rule enum tables.
 */
#include "store_rule.h"

#include "store_int.h"

/* ---- sender rules ------------------------------------------------- */

static const char sql_rule_list[] =
	"SELECT r.id, r.action, r.kind, r.value FROM sender_rules r"
	" JOIN domains d ON d.id = r.domain_id WHERE d.name = $1"
	" ORDER BY r.id";

int store_rule_list(struct store *s, const struct domain_name *dn,
		    struct rule **out, size_t *n, struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	int i, rows, a, k;

	*out = NULL;
	*n = 0;
	p_str(&p, dn->alabel);
	if ((res = store_run(s, sql_rule_list, &p, "rules", err)) == NULL)
		return -1;
	rows = PQntuples(res);
	*out = xcalloc((size_t)rows + 1, sizeof(**out));
	for (i = 0; i < rows; i++) {
		struct rule *r = &(*out)[i];

		if (!get_i64(res, i, 0, &r->id) ||
		    !get_enum(res, i, 1, rule_action_names, &a) ||
		    !get_enum(res, i, 2, rule_kind_names, &k) ||
		    !get_text(res, i, 3, r->value, sizeof(r->value))) {
			PQclear(res);
			free(*out);
			*out = NULL;
			return error_set(err, ERR_INTERNAL, NULL,
					 "unexpected rule row");
		}
		r->action = (enum rule_action)a;
		r->kind = (enum rule_kind)k;
	}
	*n = (size_t)rows;
	PQclear(res);
	return 0;
}

static const char sql_rule_add[] =
	"INSERT INTO sender_rules (domain_id, action, kind, value)"
	" SELECT id, $2, $3, $4 FROM domains WHERE name = $1 RETURNING id";
static const char sql_rule_delete[] =
	"DELETE FROM sender_rules r USING domains d WHERE d.id = r.domain_id"
	" AND d.name = $1 AND r.action = $2 AND r.kind = $3 AND r.value = $4"
	" RETURNING r.id";

struct rule_arg {
	const struct domain *d;
	struct rule *r;
	const struct change_ctx *ctx;
	bool add;
};

static int tx_rule(struct store *s, void *arg, struct error *err)
{
	struct rule_arg *a = arg;
	struct params p = { 0 };
	PGresult *res;
	json_t *j;
	int rc;

	p_str(&p, a->d->name.alabel);
	p_str(&p, rule_action_names[a->r->action]);
	p_str(&p, rule_kind_names[a->r->kind]);
	p_str(&p, a->r->value);
	res = store_q(s, a->add ? sql_rule_add : sql_rule_delete, &p, "rule",
		      err);
	if (res == NULL) {
		if (err->code == ERR_CONFLICT) {
			error_clear(err);
			error_set(err, ERR_CONFLICT, "value",
				  "%s already has this rule",
				  a->d->name.alabel);
		}
		return -1;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		if (a->add)
			return error_set(err, ERR_NOTFOUND, "name",
					 "%s no longer exists",
					 a->d->name.alabel);
		return error_set(err, ERR_NOTFOUND, "value",
				 "%s has no such rule", a->d->name.alabel);
	}
	if (!get_i64(res, 0, 0, &a->r->id))
		a->r->id = 0;
	PQclear(res);
	j = json_pack("{s:s, s:s, s:s}", "action",
		      rule_action_names[a->r->action], "kind",
		      rule_kind_names[a->r->kind], "value", a->r->value);
	rc = store_audit(s, a->ctx, a->add ? "rule-add" : "rule-remove",
			 a->d->name.alabel, a->add ? NULL : j,
			 a->add ? j : NULL, err);
	json_decref(j);
	return rc;
}

int store_rule_add(struct store *s, const struct domain *d, struct rule *r,
		   const struct change_ctx *ctx, struct error *err)
{
	struct rule_arg a = { d, r, ctx, true };

	return store_with_tx(s, tx_rule, &a, err);
}

int store_rule_remove(struct store *s, const struct domain *d,
		      const struct rule *r, const struct change_ctx *ctx,
		      struct error *err)
{
	struct rule copy = *r;
	struct rule_arg a = { d, &copy, ctx, false };

	return store_with_tx(s, tx_rule, &a, err);
}
