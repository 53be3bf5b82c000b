/*
 * auth - who is asking, and may they
 *
 * See auth.h.
 */
#include "auth.h"

#include <stdlib.h>
#include <string.h>

#include "util/http.h"
#include "util/log.h"

int auth_bearer(struct store *s, const char *authorization, int64_t now,
		struct principal *out, struct error *err)
{
	unsigned char hash[TOKEN_HASH_LEN];
	struct token_info ti;
	const char *text = http_bearer(authorization);
	int64_t last_used = 0;
	struct error e = ERROR_INIT;

	memset(out, 0, sizeof(*out));
	if (text == NULL)
		return error_set(err, ERR_UNAUTH, NULL,
				 "send 'Authorization: Bearer TOKEN' (tokens "
				 "come from 'feedctl token create')");
	if (strlen(text) > TOKEN_TEXT_MAX)
		return error_set(err, ERR_UNAUTH, NULL, "unknown token");
	token_hash(text, hash);
	switch (store_token_by_hash(s, hash, &ti, &last_used, err)) {
	case LOOKUP_FAIL:
		return -1;
	case LOOKUP_NOTFOUND:
		return error_set(err, ERR_UNAUTH, NULL, "unknown token");
	case LOOKUP_FOUND:
		break;
	}
	/* the lookup was by digest; confirm without timing leaks anyway */
	if (!token_matches(text, hash)) {
		free(ti.domains);
		return error_set(err, ERR_UNAUTH, NULL, "unknown token");
	}
	if (ti.expires_at != 0 && ti.expires_at <= now) {
		free(ti.domains);
		return error_set(err, ERR_UNAUTH, NULL, "token %s has expired",
				 ti.name);
	}
	if (now - last_used >= AUTH_TOUCH_INTERVAL &&
	    store_token_touch(s, ti.name, &e) < 0) {
		/* bookkeeping only: the request may go on */
		log_warn("token %s: last-used not recorded: %s", ti.name,
			 error_msg(&e));
		error_release(&e);
	}
	memcpy(out->name, ti.name, sizeof(out->name));
	out->role = ti.role;
	out->nscope = ti.ndomains;
	out->scope = ti.domains;
	return 0;
}

int auth_staff(const char *remote_user, struct principal *out,
	       struct error *err)
{
	memset(out, 0, sizeof(*out));
	if (remote_user == NULL || remote_user[0] == '\0')
		return error_set(err, ERR_UNAUTH, NULL,
				 "the portal needs a login (nginx sets "
				 "REMOTE_USER)");
	if (actor_check(remote_user, "REMOTE_USER", err) < 0 ||
	    strlcpy_checked(out->name, remote_user, sizeof(out->name)) < 0)
		return error_set(err, ERR_UNAUTH, NULL,
				 "the login name is not usable");
	out->role = ROLE_ADMIN;
	out->staff = true;
	return 0;
}

void principal_release(struct principal *p)
{
	free(p->scope);
	p->scope = NULL;
	p->nscope = 0;
}

int auth_require(const struct principal *p, enum token_role need,
		 struct error *err)
{
	if (p->role >= need)
		return 0;
	return error_set(err, ERR_FORBIDDEN, NULL,
			 "token %s has role %s; this needs %s", p->name,
			 token_role_names[p->role], token_role_names[need]);
}

bool auth_sees(const struct principal *p, const char *alabel)
{
	size_t i;

	if (p->nscope == 0)
		return true;
	for (i = 0; i < p->nscope; i++)
		if (strcmp(p->scope[i].alabel, alabel) == 0)
			return true;
	return false;
}
