/*
 * store_auth - API tokens, staff users and idempotency keys
 *
 * Part of the store's public interface: callers include store.h, which
 * includes this file (store.h has the contract every store function
 * keeps: failures mapped once, changes audited, lookups three-state).
 */
#ifndef MXFEED_STORE_AUTH_H
#define MXFEED_STORE_AUTH_H

#include "store.h"

struct token_info {
	int64_t id; /* api_tokens.id: a re-created name gets a new one */
	char name[TOKEN_NAME_MAX + 1];
	enum token_role role;
	int64_t expires_at; /* 0 = never */
	size_t ndomains;
	struct domain_name *domains; /* scope; none = every domain */
};

int store_token_create(struct store *s, const struct token_info *t,
		       const unsigned char hash[TOKEN_HASH_LEN],
		       const struct change_ctx *ctx, struct error *err)
	__attribute__((warn_unused_result));
json_t *store_token_list(struct store *s, struct error *err);
/*
 * The token whose SHA-256 is hash; out->domains is allocated (free()).
 * *last_used: unix seconds, 0 if never.
 */
enum lookup store_token_by_hash(struct store *s,
				const unsigned char hash[TOKEN_HASH_LEN],
				struct token_info *out, int64_t *last_used,
				struct error *err);
int store_token_touch(struct store *s, const char *name, struct error *err)
	__attribute__((warn_unused_result));

/*
 * Staff users: the portal's logins (nginx's REMOTE_USER), their role
 * and their domain group (the exact domains they see; none = every
 * domain).  A login without a row may not use the portal.  Every
 * change writes an audit row (staff-add, staff-set, staff-remove).
 * set: role NULL keeps the role; domains_given replaces the group
 * (ndomains 0: every domain).  ERR_CONFLICT when add finds the login,
 * ERR_NOTFOUND when set or remove does not.
 */
struct staff_info {
	char login[ACTOR_MAX + 1];
	enum token_role role;
	size_t ndomains;
	struct domain_name *domains; /* allocated by store_staff_get() */
};

int store_staff_add(struct store *s, const struct staff_info *st,
		    const struct change_ctx *ctx, struct error *err)
	__attribute__((warn_unused_result));
int store_staff_set(struct store *s, const char *login,
		    const enum token_role *role,
		    const struct domain_name *domains, size_t ndomains,
		    bool domains_given, const struct change_ctx *ctx,
		    struct error *err) __attribute__((warn_unused_result));
int store_staff_remove(struct store *s, const char *login,
		       const struct change_ctx *ctx, struct error *err)
	__attribute__((warn_unused_result));
json_t *store_staff_list(struct store *s, struct error *err);
/* out->domains is allocated (free()); the login was checked already. */
enum lookup store_staff_get(struct store *s, const char *login,
			    struct staff_info *out, struct error *err);

/*
 * Idempotency keys (24 h).  reserve: insert a pending row for the key
 * before its request runs; 1 when this caller holds it, 0 when a row
 * exists (look at it with get), -1 on error.  get: LOOKUP_FOUND fills
 * *status (0 while the first request is still running), *response and
 * *headers (a JSON object, name -> value) and sets *same when the
 * stored request hash equals hash.  put: the answer of a reserved key;
 * release: forget a reservation whose answer is not to be kept.
 */
int store_idem_reserve(struct store *s, const char *actor, const char *key,
		       const unsigned char hash[32], struct error *err)
	__attribute__((warn_unused_result));
enum lookup store_idem_get(struct store *s, const char *actor, const char *key,
			   const unsigned char hash[32], int *status,
			   struct strbuf *response, struct strbuf *headers,
			   bool *same, struct error *err);
int store_idem_put(struct store *s, const char *actor, const char *key,
		   int status, const char *response, const char *headers,
		   struct error *err) __attribute__((warn_unused_result));
int store_idem_release(struct store *s, const char *actor, const char *key,
		       struct error *err) __attribute__((warn_unused_result));
int store_token_revoke(struct store *s, const char *name,
		       const struct change_ctx *ctx, struct error *err)
	__attribute__((warn_unused_result));

#endif
