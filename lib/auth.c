/*
 * auth - who is asking, and may they
 *
 * See auth.h.
 */
#include "auth.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/http.h"
#include "util/log.h"

static void principal_copy(struct principal *dst, const struct principal *src)
{
	*dst = *src;
	dst->scope = NULL;
	if (src->nscope > 0) {
		dst->scope = xcalloc(src->nscope, sizeof(*dst->scope));
		memcpy(dst->scope, src->scope,
		       src->nscope * sizeof(*dst->scope));
	}
}

static struct auth_cache_slot *
cache_find(struct auth_cache *c, const unsigned char *hash, int64_t now)
{
	size_t i;

	for (i = 0; c != NULL && i < AUTH_CACHE_SLOTS; i++) {
		struct auth_cache_slot *sl = &c->slot[i];

		if (sl->used && now - sl->cached_at < AUTH_CACHE_TTL &&
		    now >= sl->cached_at &&
		    CRYPTO_memcmp(sl->hash, hash, TOKEN_HASH_LEN) == 0)
			return sl;
	}
	return NULL;
}

static void cache_put(struct auth_cache *c, const unsigned char *hash,
		      const struct principal *who, int64_t expires_at,
		      int64_t now)
{
	struct auth_cache_slot *sl;

	if (c == NULL)
		return;
	sl = &c->slot[c->next];
	c->next = (c->next + 1) % AUTH_CACHE_SLOTS;
	if (sl->used)
		principal_release(&sl->who);
	memcpy(sl->hash, hash, TOKEN_HASH_LEN);
	principal_copy(&sl->who, who);
	sl->expires_at = expires_at;
	sl->cached_at = now;
	sl->used = true;
}

void auth_cache_release(struct auth_cache *c)
{
	size_t i;

	for (i = 0; i < AUTH_CACHE_SLOTS; i++)
		if (c->slot[i].used)
			principal_release(&c->slot[i].who);
	memset(c, 0, sizeof(*c));
}

static int expired(const char *name, int64_t expires_at, int64_t now,
		   struct error *err)
{
	if (expires_at != 0 && expires_at <= now)
		return error_set(err, ERR_UNAUTH, NULL, "token %s has expired",
				 name);
	return 0;
}

int auth_bearer(struct store *s, struct auth_cache *cache,
		const char *authorization, int64_t now, struct principal *out,
		struct error *err)
{
	unsigned char hash[TOKEN_HASH_LEN];
	struct auth_cache_slot *hit;
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
	if ((hit = cache_find(cache, hash, now)) != NULL) {
		if (expired(hit->who.name, hit->expires_at, now, err) < 0)
			return -1;
		principal_copy(out, &hit->who);
		return 0;
	}
	switch (store_token_by_hash(s, hash, &ti, &last_used, err)) {
	case LOOKUP_FAIL:
		return -1;
	case LOOKUP_NOTFOUND:
		return error_set(err, ERR_UNAUTH, NULL, "unknown token");
	case LOOKUP_FOUND:
		break;
	}
	/* the lookup was by digest; confirm without timing leaks anyway */
	if (!token_matches(text, hash) ||
	    expired(ti.name, ti.expires_at, now, err) < 0) {
		free(ti.domains);
		if (err->code == ERR_NONE)
			error_set(err, ERR_UNAUTH, NULL, "unknown token");
		return -1;
	}
	if (now - last_used >= AUTH_TOUCH_INTERVAL &&
	    store_token_touch(s, ti.name, &e) < 0) {
		/* bookkeeping only: the request may go on */
		log_warn("token %s: last-used not recorded: %s", ti.name,
			 error_msg(&e));
		error_release(&e);
	}
	memcpy(out->name, ti.name, sizeof(out->name));
	out->token_id = ti.id;
	out->role = ti.role;
	out->nscope = ti.ndomains;
	out->scope = ti.domains;
	cache_put(cache, hash, out, ti.expires_at, now);
	return 0;
}

int auth_login_check(const char *login, struct error *err)
{
	if (login == NULL || login[0] == '\0')
		return error_set(err, ERR_INVALID, "login", "login is empty");
	return actor_check(login, "login", err);
}

int auth_staff(struct store *s, const char *remote_user, struct principal *out,
	       struct error *err)
{
	struct staff_info st;

	memset(out, 0, sizeof(*out));
	if (remote_user == NULL || remote_user[0] == '\0')
		return error_set(err, ERR_UNAUTH, NULL,
				 "the portal needs a login (nginx sets "
				 "REMOTE_USER)");
	if (actor_check(remote_user, "REMOTE_USER", err) < 0 ||
	    strlcpy_checked(out->name, remote_user, sizeof(out->name)) < 0) {
		error_clear(err);
		return error_set(err, ERR_UNAUTH, NULL,
				 "the login name is not usable");
	}
	switch (store_staff_get(s, remote_user, &st, err)) {
	case LOOKUP_FAIL:
		return -1;
	case LOOKUP_NOTFOUND:
		return error_set(err, ERR_FORBIDDEN, NULL,
				 "the login %s is not a staff user here; an "
				 "administrator adds it with 'feedctl staff "
				 "add %s --role read'",
				 remote_user, remote_user);
	case LOOKUP_FOUND:
		break;
	}
	out->role = st.role;
	out->staff = true;
	out->nscope = st.ndomains;
	out->scope = st.domains;
	if (st.ndomains == 0) {
		free(st.domains);
		out->scope = NULL;
	}
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
			 "%s %s has role %s; this "
			 "needs %s",
			 p->staff ? "staff user" : "token", p->name,
			 token_role_names[p->role], token_role_names[need]);
}

/*
 * The least role of each action: read sees, operator changes, admin
 * removes (as the API's routes).  Indexed by enum auth_act.
 */
/* clang-format off */
static const struct {
	const char *name;
	enum token_role need;
} auth_acts[ACT_COUNT] = {
	[ACT_VIEW] =          { "view",          ROLE_READ },
	[ACT_DOMAIN_ADD] =    { "add domains",   ROLE_OPERATOR },
	[ACT_DOMAIN_SET] =    { "change settings", ROLE_OPERATOR },
	[ACT_DOMAIN_REMOVE] = { "remove domains", ROLE_ADMIN },
	[ACT_MAIL_STACK] =    { "switch or revert domains", ROLE_OPERATOR },
	[ACT_QUEUE] =         { "extend or flush queues", ROLE_OPERATOR },
	[ACT_QUARANTINE] =    { "release or delete quarantined mail",
				ROLE_OPERATOR },
	[ACT_PROBE] =         { "probe destinations", ROLE_OPERATOR },
};
/* clang-format on */

const char *const auth_act_names[] = {
	"view",		 "domain-add", "domain-set",
	"domain-remove", "mail-stack", "queue",
	"quarantine",	 "probe",      NULL,
};

enum token_role auth_act_role(enum auth_act a)
{
	if ((unsigned)a >= ACT_COUNT)
		BUG("auth action %d out of range", (int)a);
	return auth_acts[a].need;
}

int auth_may(const struct principal *p, enum auth_act a, struct error *err)
{
	enum token_role need = auth_act_role(a);

	if (p->role >= need)
		return 0;
	return error_set(err, ERR_FORBIDDEN, NULL,
			 "%s %s has role %s: only %s or above may %s",
			 p->staff ? "staff user" : "token", p->name,
			 token_role_names[p->role], token_role_names[need],
			 auth_acts[a].name);
}

bool auth_can(const struct principal *p, enum auth_act a)
{
	return p->role >= auth_act_role(a);
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
