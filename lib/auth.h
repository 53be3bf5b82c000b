/*
 * auth - who is asking, and may they
 *
 * A principal is either an API token (Authorization: Bearer, looked up
 * by its SHA-256, confirmed with a constant-time compare, refused when
 * expired) or a staff user whom nginx authenticated for the portal
 * (REMOTE_USER; staff act with the admin role on every domain).
 * auth_require() checks the role of a route; auth_sees() the domain
 * scope: a scoped token must find any other domain "not found", so the
 * callers turn a false auth_sees() into ERR_NOTFOUND, never 403.
 * Errors: ERR_UNAUTH (no, unknown or expired credentials), ERR_FORBIDDEN
 * (role too low), ERR_TEMPFAIL (database down).  Secrets are never put
 * into messages or logs; only a token's name is.
 */
#ifndef MXFEED_AUTH_H
#define MXFEED_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"
#include "token.h"
#include "util/error.h"

/* last_used_at is written at most this often per token (seconds) */
#define AUTH_TOUCH_INTERVAL 60
/* a worker trusts a token it looked up for this long (seconds): a
 * revoked token stops working within this time */
#define AUTH_CACHE_TTL	 5
#define AUTH_CACHE_SLOTS 16

struct principal {
	char name[TOKEN_NAME_MAX + 1]; /* token name or staff user */
	enum token_role role;
	bool staff;
	size_t nscope;		   /* 0: every domain */
	struct domain_name *scope; /* allocated */
	int64_t token_id;	   /* api_tokens.id; 0 for staff */
};

/*
 * A worker's small cache of recent lookups (digest -> token row), so
 * that the API does not ask the database about the same token on every
 * request.  Expiry is still checked against now on every use.  Not
 * shared between threads.
 */
struct auth_cache_slot {
	unsigned char hash[TOKEN_HASH_LEN];
	struct principal who;
	int64_t expires_at; /* the token's, 0 = never */
	int64_t cached_at;
	bool used;
};

struct auth_cache {
	struct auth_cache_slot slot[AUTH_CACHE_SLOTS];
	size_t next;
};

/* cache may be NULL. */
int auth_bearer(struct store *s, struct auth_cache *cache,
		const char *authorization, int64_t now, struct principal *out,
		struct error *err) __attribute__((warn_unused_result));
void auth_cache_release(struct auth_cache *cache);
int auth_staff(const char *remote_user, struct principal *out,
	       struct error *err) __attribute__((warn_unused_result));
void principal_release(struct principal *p);
int auth_require(const struct principal *p, enum token_role need,
		 struct error *err) __attribute__((warn_unused_result));
bool auth_sees(const struct principal *p, const char *alabel);

#endif
