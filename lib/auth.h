/*
 * auth - who is asking, and may they
 *
 * A principal is either an API token (Authorization: Bearer, looked up
 * by its SHA-256, confirmed with a constant-time compare, refused when
 * expired) or a staff user whom nginx authenticated for the portal
 * (REMOTE_USER) and who has a row in staff_users: its role and its
 * domain group (the exact domains it sees, like a token's scope), kept
 * with "feedctl staff".  A login without a row is refused
 * (ERR_FORBIDDEN); the first admin is added with feedctl on the server.
 * auth_require() checks a role; auth_may() an action of the front ends
 * against the table of the least role each needs (auth.c), so the
 * portal and its templates ask the same question; auth_sees() the
 * domain scope: a scoped principal must find any other domain "not
 * found", so the callers turn a false auth_sees() into ERR_NOTFOUND,
 * never 403.
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
/* A portal login: 1..64 printable ASCII, no space at either end. */
int auth_login_check(const char *login, struct error *err)
	__attribute__((warn_unused_result));
/* The login is checked before the store is asked (s may then be NULL). */
int auth_staff(struct store *s, const char *remote_user, struct principal *out,
	       struct error *err) __attribute__((warn_unused_result));
void principal_release(struct principal *p);
int auth_require(const struct principal *p, enum token_role need,
		 struct error *err) __attribute__((warn_unused_result));
bool auth_sees(const struct principal *p, const char *alabel);

/* What the front ends let a principal do (see the table in auth.c). */
enum auth_act {
	ACT_VIEW,	   /* any page or listing of a domain it sees */
	ACT_DOMAIN_ADD,	   /* add a domain */
	ACT_DOMAIN_SET,	   /* change settings */
	ACT_DOMAIN_REMOVE, /* remove a domain */
	ACT_MAIL_STACK,	   /* switch, temp-pop3, revert */
	ACT_QUEUE,	   /* extend, flush */
	ACT_QUARANTINE,	   /* release or delete a held message */
	ACT_PROBE,	   /* probe a destination */
	ACT_COUNT
};
extern const char *const auth_act_names[]; /* "view", ... NULL */

enum token_role auth_act_role(enum auth_act a);
/* ERR_FORBIDDEN naming the action when the role is too low. */
int auth_may(const struct principal *p, enum auth_act a, struct error *err)
	__attribute__((warn_unused_result));
bool auth_can(const struct principal *p, enum auth_act a);

#endif
