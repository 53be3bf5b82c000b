/*
 * ops_view - the listings the front ends show, and their session
 *
 * See ops_view.h.  ops_domain_list() pages through the store
 * OPS_DOMAIN_LIST_PAGE names at a time (keyset on the A-label), so a
 * long list costs several short queries, not one long one.
 */
#include "ops_view.h"

#include <string.h>

#include "domain_json.h"
#include "store.h"
#include "util/parse.h"
#include "util/strbuf.h"

int ops_session_open(struct ops_ctx *ox, const struct conf *conf,
		     struct error *err)
{
	ox->conf = conf;
	return store_open(&ox->store, conf->db_conninfo, conf, err);
}

void ops_session_close(struct ops_ctx *ox)
{
	if (ox->store != NULL)
		store_close(ox->store);
	ox->store = NULL;
}

json_t *ops_domain_list(const struct ops_ctx *ox, const char *mode,
			const char *match, struct error *err)
{
	struct domain_filter f = { -1, NULL, NULL, OPS_DOMAIN_LIST_PAGE };
	char after[DOMAIN_NAME_MAX + 1] = "";
	json_t *rows;

	if (mode != NULL &&
	    (f.mode = parse_enum(mode, domain_mode_names)) < 0) {
		error_set(err, ERR_INVALID, "mode",
			  "mode must be pop3, feed or backup");
		return NULL;
	}
	if (match != NULL && !utf8_printable(match, strlen(match))) {
		error_set(err, ERR_INVALID, "match",
			  "--match must be printable UTF-8");
		return NULL;
	}
	f.match = match;
	rows = json_array();
	for (;;) {
		struct domain_list l = { 0 };
		size_t k;

		f.after = after[0] ? after : NULL;
		if (ops_domain_page(ox, &f, &l, err) < 0) {
			json_decref(rows);
			return NULL;
		}
		for (k = 0; k < l.n; k++)
			json_array_append_new(
				rows, domain_to_json(&l.v[k], &l.prop[k]));
		if (l.n > 0 && strlcpy_checked(after, l.v[l.n - 1].name.alabel,
					       sizeof(after)) < 0)
			l.n = 0;
		k = l.n;
		domain_list_release(&l);
		if (k < (size_t)f.limit)
			return rows;
	}
}

int ops_domain_page(const struct ops_ctx *ox, const struct domain_filter *f,
		    struct domain_list *out, struct error *err)
{
	return store_domain_list(ox->store, f, out, err);
}

json_t *ops_domain_history(const struct ops_ctx *ox,
			   const struct domain_name *dn, long limit,
			   struct error *err)
{
	return store_history(ox->store, dn, limit, err);
}

int ops_change_seq(const struct ops_ctx *ox, int64_t *seq, struct error *err)
{
	return store_change_seq(ox->store, seq, err);
}

json_t *ops_job_list(const struct ops_ctx *ox, const char *name,
		     struct error *err)
{
	struct domain_name dn;

	if (name == NULL)
		return store_job_list(ox->store, NULL, err);
	if (ops_name(ox->conf, name, &dn, err) < 0)
		return NULL;
	return store_job_list(ox->store, &dn, err);
}

json_t *ops_domain_jobs(const struct ops_ctx *ox, const struct domain_name *dn,
			struct error *err)
{
	return store_job_list(ox->store, dn, err);
}

json_t *ops_relay_list(const struct ops_ctx *ox, struct error *err)
{
	return store_relay_list(ox->store, err);
}

json_t *ops_token_list(const struct ops_ctx *ox, struct error *err)
{
	return store_token_list(ox->store, err);
}

json_t *ops_staff_list(const struct ops_ctx *ox, struct error *err)
{
	return store_staff_list(ox->store, err);
}

int ops_token_revoke(const struct ops_ctx *ox, const char *name,
		     struct error *err)
{
	return store_token_revoke(ox->store, name, &ox->change, err);
}
