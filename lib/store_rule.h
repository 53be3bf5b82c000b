/*
 * store_rule - sender rules (sender_rules)
 *
 * Part of the store's public interface: callers include store.h, which
 * includes this file (store.h has the contract every store function
 * keeps: failures mapped once, changes audited, lookups three-state).
 */
#ifndef MXFEED_STORE_RULE_H
#define MXFEED_STORE_RULE_H

#include "store.h"

int store_rule_list(struct store *s, const struct domain_name *dn,
		    struct rule **out, size_t *n, struct error *err)
	__attribute__((warn_unused_result));
int store_rule_add(struct store *s, const struct domain *d, struct rule *r,
		   const struct change_ctx *ctx, struct error *err)
	__attribute__((warn_unused_result));
int store_rule_remove(struct store *s, const struct domain *d,
		      const struct rule *r, const struct change_ctx *ctx,
		      struct error *err) __attribute__((warn_unused_result));

#endif
