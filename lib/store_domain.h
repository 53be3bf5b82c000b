/*
 * store_domain - the domains table and its audit history
 *
 * Part of the store's public interface: callers include store.h, which
 * includes this file (store.h has the contract every store function
 * keeps: failures mapped once, changes audited, lookups three-state).
 */
#ifndef MXFEED_STORE_DOMAIN_H
#define MXFEED_STORE_DOMAIN_H

#include "store.h"

struct domain_filter {
	int mode;	   /* enum domain_mode, or -1 for any */
	const char *match; /* substring of the A- or U-label, or NULL */
	const char *after; /* keyset: names > after, or NULL */
	long limit;	   /* 1..1000 */
	/* a scoped token's domains: only these are listed */
	const struct domain_name *scope;
	size_t nscope; /* 0 with scope == NULL: every domain */
};

struct domain_list {
	size_t n;
	struct domain *v;
	struct propagation *prop; /* parallel to v */
};

/* One item of an apply: old is NULL for a create. */
struct apply_item {
	const struct domain *old;
	struct domain *new;
};

enum lookup store_domain_get(struct store *s, const struct domain_name *dn,
			     struct domain *out, struct propagation *prop,
			     struct error *err);
int store_domain_list(struct store *s, const struct domain_filter *f,
		      struct domain_list *out, struct error *err)
	__attribute__((warn_unused_result));
void domain_list_release(struct domain_list *l);
/* Fills d->version (1), created/updated fields.  Exists: ERR_CONFLICT. */
int store_domain_create(struct store *s, struct domain *d,
			const struct change_ctx *ctx, struct error *err)
	__attribute__((warn_unused_result));
/* Fills nd->version (old->version + 1) and updated fields. */
int store_domain_update(struct store *s, const struct domain *old,
			struct domain *nd, const struct change_ctx *ctx,
			const char *action, struct error *err)
	__attribute__((warn_unused_result));
/* Refused (ERR_CONFLICT) while the domain still has mailboxes. */
int store_domain_remove(struct store *s, const struct domain *old,
			const struct change_ctx *ctx, struct error *err)
	__attribute__((warn_unused_result));
/* All items in one transaction: all or nothing. */
int store_domain_apply(struct store *s, struct apply_item *items, size_t n,
		       const struct change_ctx *ctx, struct error *err)
	__attribute__((warn_unused_result));

/* JSON arrays for listings (history newest first). */
json_t *store_history(struct store *s, const struct domain_name *dn, long limit,
		      struct error *err);

#endif
