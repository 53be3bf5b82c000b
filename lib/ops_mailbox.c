/*
 * ops_mailbox - the mailbox verbs of pop3 domains, and the mailboxes
 * that temp-pop3 and switch pop3 make
 *
 * See ops.h.  Every local part is validated (mailbox_local_parse)
 * before any mailbox is made.  A password exists in clear only to be
 * shown once: it is hashed at once, returned to the caller and wiped
 * (OPENSSL_cleanse) on every path; the hashes are wiped after the
 * store has them.  struct ops_new_mailboxes (ops_int.h) carries the
 * mailboxes a switch is about to make.  Nothing here prints or exits.
 */
#include "ops.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ops_int.h"
#include "util/parse.h"
#include "util/timefmt.h"

static void OPENSSL_cleanse_str(char *s)
{
	OPENSSL_cleanse(s, strlen(s));
}

/*
 * A new password for a mailbox about to be made: its hash into hash, and
 * {"address", "password", "catch_all"} returned for the caller to show
 * once (NULL with err set on failure).
 */
static json_t *issue_password(const struct domain *d, const struct mailbox *mb,
			      char hash[MAILBOX_HASH_MAX + 1],
			      struct error *err)
{
	char pw[MAILBOX_PASSWORD_LEN + 1];
	struct strbuf addr = STRBUF_INIT;
	json_t *entry = NULL;

	if (mailbox_password_new(pw, err) == 0 &&
	    mailbox_password_hash(pw, hash, err) == 0) {
		sbuf_addf(&addr, "%s@%s", mb->local, d->name.alabel);
		entry = json_pack("{s:s, s:s, s:b}", "address", addr.buf,
				  "password", pw, "catch_all", mb->catch_all);
		sbuf_release(&addr);
	}
	OPENSSL_cleanse_str(pw);
	return entry;
}

int ops_mailbox_add(const struct ops_ctx *ox, const char *name,
		    char *const *locals, size_t nlocals, bool catch_all,
		    json_t **created, struct error *err)
{
	struct mailbox *mbs;
	struct domain cur;
	size_t i, n = nlocals + (catch_all ? 1 : 0);
	int rc = -1;

	*created = NULL;
	if (n == 0)
		return error_set(err, ERR_INVALID, "local",
				 "give LOCAL parts or --catch-all");
	if (ops_domain_get(ox, name, &cur, NULL, err) < 0)
		return -1;
	if (cur.mode != MODE_POP3)
		return error_set(err, ERR_CONFLICT, "mode",
				 "%s is a %s domain: mailboxes belong to pop3 "
				 "domains (temp-pop3 makes temporary ones)",
				 cur.name.alabel, domain_mode_names[cur.mode]);
	mbs = xcalloc(n, sizeof(*mbs));
	/* validate every local part before creating any mailbox */
	for (i = 0; i < nlocals; i++)
		if (mailbox_local_parse(locals[i], mbs[i].local, err) < 0)
			goto out;
	if (catch_all) {
		if (strlcpy_checked(mbs[nlocals].local, "catch-all",
				    sizeof(mbs[nlocals].local)) < 0)
			goto out;
		mbs[nlocals].catch_all = true;
	}
	*created = json_array();
	for (i = 0; i < n; i++) {
		char hash[MAILBOX_HASH_MAX + 1];
		json_t *entry = issue_password(&cur, &mbs[i], hash, err);
		int r = entry ? store_mailbox_add(ox->store, &cur, &mbs[i],
						  hash, &ox->change, err)
			      : -1;

		OPENSSL_cleanse(hash, sizeof(hash));
		if (r < 0) {
			/* *created keeps the mailboxes made so far: their
			 * passwords must still reach the operator */
			json_decref(entry);
			goto out;
		}
		json_array_append_new(*created, entry);
	}
	rc = 0;
out:
	free(mbs);
	return rc;
}

/* Add local (canonical) to mbs unless it is there already. */
static int add_local(struct mailbox **mbs, size_t *n, const char *in,
		     struct error *err)
{
	char local[MAILBOX_LOCAL_MAX + 1];
	size_t i;

	if (mailbox_local_parse(in, local, err) < 0)
		return -1;
	for (i = 0; i < *n; i++)
		if (strcmp((*mbs)[i].local, local) == 0)
			return 0;
	*mbs = xrealloc(*mbs, (*n + 1) * sizeof(**mbs));
	memset(&(*mbs)[*n], 0, sizeof(**mbs));
	memcpy((*mbs)[*n].local, local, sizeof(local));
	(*mbs)[*n].temporary = true;
	(*n)++;
	return 0;
}

int ops_add_locals(struct ops_new_mailboxes *nm, char *const *locals, size_t n,
		   struct error *err)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (add_local(&nm->mbs, &nm->n, locals[i], err) < 0)
			return -1;
	return 0;
}

int ops_add_queued_locals(const struct ops_ctx *ox,
			  const struct domain_name *dn,
			  struct ops_new_mailboxes *nm, struct error *err)
{
	json_t *q = ops_queue(ox, dn, err), *m, *r;
	size_t k, j;

	if (q == NULL)
		return -1;
	json_array_foreach(json_object_get(q, "messages"), k, m)
	{
		json_array_foreach(json_object_get(m, "recipients"), j, r)
		{
			const char *addr = json_string_value(r);
			const char *at = addr ? strrchr(addr, '@') : NULL;
			char local[MAILBOX_LOCAL_MAX + 1];
			size_t ln = at ? (size_t)(at - addr) : 0;

			if (ln == 0 || ln >= sizeof(local))
				continue;
			memcpy(local, addr, ln);
			local[ln] = '\0';
			/* an address no mailbox can have is left to the
			 * catch-all, if any */
			if (add_local(&nm->mbs, &nm->n, local, err) < 0)
				error_clear(err);
		}
	}
	json_decref(q);
	return 0;
}

void ops_add_catch_all(struct ops_new_mailboxes *nm, bool temporary)
{
	nm->mbs = xrealloc(nm->mbs, (nm->n + 1) * sizeof(*nm->mbs));
	memset(&nm->mbs[nm->n], 0, sizeof(*nm->mbs));
	memcpy(nm->mbs[nm->n].local, "catch-all", sizeof("catch-all"));
	nm->mbs[nm->n].catch_all = true;
	nm->mbs[nm->n].temporary = temporary;
	nm->n++;
}

int ops_issue_passwords(const struct domain *d, struct ops_new_mailboxes *nm,
			struct error *err)
{
	size_t i;

	nm->hashes = xcalloc(nm->n, sizeof(*nm->hashes));
	nm->list = json_array();
	for (i = 0; i < nm->n; i++) {
		json_t *entry;

		nm->hashes[i] = xcalloc(1, MAILBOX_HASH_MAX + 1);
		if ((entry = issue_password(d, &nm->mbs[i], nm->hashes[i],
					    err)) == NULL)
			return -1;
		json_array_append_new(nm->list, entry);
	}
	return 0;
}

/* The list of passwords for the caller (NULL if none), the rest wiped. */
json_t *ops_new_mailboxes_done(struct ops_new_mailboxes *nm, bool made)
{
	json_t *list = made ? nm->list : NULL;
	size_t i;

	for (i = 0; nm->hashes && i < nm->n; i++) {
		OPENSSL_cleanse(nm->hashes[i], MAILBOX_HASH_MAX + 1);
		free(nm->hashes[i]);
	}
	free(nm->hashes);
	if (!made)
		json_decref(nm->list); /* passwords of nothing that was made */
	free(nm->mbs);
	memset(nm, 0, sizeof(*nm));
	return list;
}

int ops_mailbox_passwd(const struct ops_ctx *ox, const char *name,
		       const char *local, json_t **changed, struct error *err)
{
	char lp[MAILBOX_LOCAL_MAX + 1], pw[MAILBOX_PASSWORD_LEN + 1];
	char hash[MAILBOX_HASH_MAX + 1];
	struct strbuf addr = STRBUF_INIT;
	struct domain cur;
	int rc = -1;

	*changed = NULL;
	if (ops_domain_get(ox, name, &cur, NULL, err) < 0 ||
	    mailbox_local_parse(local, lp, err) < 0)
		return -1;
	if (mailbox_password_new(pw, err) < 0 ||
	    mailbox_password_hash(pw, hash, err) < 0 ||
	    store_mailbox_passwd(ox->store, &cur, lp, hash, &ox->change, err) <
		    0)
		goto out;
	sbuf_addf(&addr, "%s@%s", lp, cur.name.alabel);
	*changed =
		json_pack("[{s:s, s:s}]", "address", addr.buf, "password", pw);
	rc = 0;
out:
	sbuf_release(&addr);
	OPENSSL_cleanse_str(pw);
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc;
}

int ops_mailbox_remove(const struct ops_ctx *ox, const char *name,
		       const char *local, struct error *err)
{
	char lp[MAILBOX_LOCAL_MAX + 1];
	struct domain cur;

	if (ops_domain_get(ox, name, &cur, NULL, err) < 0 ||
	    mailbox_local_parse(local, lp, err) < 0)
		return -1;
	return store_mailbox_remove(ox->store, &cur, lp, &ox->change, err);
}

json_t *ops_mailboxes_json(const struct ops_ctx *ox, const struct domain *d,
			   struct error *err)
{
	struct mailbox *mbs = NULL;
	json_t *list;
	size_t n = 0, k;
	char when[32];

	if (store_mailbox_list(ox->store, &d->name, &mbs, &n, err) < 0)
		return NULL;
	list = json_array();
	for (k = 0; k < n; k++) {
		struct strbuf a = STRBUF_INIT;

		sbuf_addf(&a, "%s@%s", mbs[k].local, d->name.alabel);
		time_format_utc(mbs[k].created_at, when, sizeof(when));
		json_array_append_new(
			list,
			json_pack("{s:s, s:b, s:b, s:s}", "address", a.buf,
				  "temporary", mbs[k].temporary, "catch_all",
				  mbs[k].catch_all, "created_at", when));
		sbuf_release(&a);
	}
	free(mbs);
	return list;
}
