/*
 * ops_admin - the administrators' verbs: API tokens and staff users
 *
 * See ops.h.  A token's text exists only to be shown once: the store
 * keeps its hash, and the text is wiped when the store refuses it.
 * Every domain a token or a staff user is scoped to passes ops_name()
 * before anything is stored.  Nothing here prints or exits.
 */
#include "ops.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "ops_int.h"
#include "util/parse.h"

int ops_token_create(const struct ops_ctx *ox, const char *name,
		     const char *role, char *const *domains, size_t ndomains,
		     long expires_days, char text[TOKEN_TEXT_MAX + 1],
		     struct error *err)
{
	unsigned char hash[TOKEN_HASH_LEN];
	struct token_info t = { 0 };
	size_t i;
	int rc = -1;

	if (token_name_check(name, err) < 0 ||
	    token_role_parse(role, &t.role, err) < 0)
		return -1;
	if (strlcpy_checked(t.name, name, sizeof(t.name)) < 0)
		return error_set(err, ERR_INVALID, "name", "name too long");
	if (expires_days > 0)
		t.expires_at = (int64_t)time(NULL) + expires_days * 86400;
	t.ndomains = ndomains;
	t.domains = xcalloc(ndomains ? ndomains : 1, sizeof(*t.domains));
	for (i = 0; i < ndomains; i++)
		if (ops_name(ox->conf, domains[i], &t.domains[i], err) < 0)
			goto out;
	if (token_new(text, hash, err) < 0)
		goto out;
	rc = store_token_create(ox->store, &t, hash, &ox->change, err);
	if (rc < 0)
		OPENSSL_cleanse(text, TOKEN_TEXT_MAX + 1);
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	free(t.domains);
	return rc;
}

/* ---- staff users ----------------------------------------------------- */

/* The group's names, each through ops_name(); *out allocated. */
static int staff_domains(const struct ops_ctx *ox, char *const *domains,
			 size_t n, struct domain_name **out, struct error *err)
{
	size_t i;

	*out = xcalloc(n ? n : 1, sizeof(**out));
	for (i = 0; i < n; i++)
		if (ops_name(ox->conf, domains[i], &(*out)[i], err) < 0) {
			free(*out);
			*out = NULL;
			return -1;
		}
	return 0;
}

int ops_staff_add(const struct ops_ctx *ox, const char *login, const char *role,
		  char *const *domains, size_t ndomains, struct error *err)
{
	struct staff_info st = { { 0 }, ROLE_READ, 0, NULL };
	int rc;

	if (auth_login_check(login, err) < 0 ||
	    token_role_parse(role, &st.role, err) < 0)
		return -1;
	if (strlcpy_checked(st.login, login, sizeof(st.login)) < 0)
		return error_set(err, ERR_INVALID, "login", "login too long");
	if (staff_domains(ox, domains, ndomains, &st.domains, err) < 0)
		return -1;
	st.ndomains = ndomains;
	rc = store_staff_add(ox->store, &st, &ox->change, err);
	free(st.domains);
	return rc;
}

int ops_staff_set(const struct ops_ctx *ox, const char *login, const char *role,
		  char *const *domains, size_t ndomains, bool domains_given,
		  struct error *err)
{
	struct domain_name *dv = NULL;
	enum token_role r = ROLE_READ;
	int rc;

	if (auth_login_check(login, err) < 0)
		return -1;
	if (role == NULL && !domains_given)
		return error_set(err, ERR_INVALID, NULL,
				 "nothing to change: give a role or the "
				 "domains");
	if (role != NULL && token_role_parse(role, &r, err) < 0)
		return -1;
	if (domains_given && staff_domains(ox, domains, ndomains, &dv, err) < 0)
		return -1;
	rc = store_staff_set(ox->store, login, role ? &r : NULL, dv, ndomains,
			     domains_given, &ox->change, err);
	free(dv);
	return rc;
}

int ops_staff_remove(const struct ops_ctx *ox, const char *login,
		     struct error *err)
{
	if (auth_login_check(login, err) < 0)
		return -1;
	return store_staff_remove(ox->store, login, &ox->change, err);
}
