/*
 * rule - per-domain sender allow/block rules (SPEC section 3)
 *
 * A rule is (allow|block, kind, value): kind "sender-regex" holds a POSIX
 * ERE matched against the whole envelope sender, compiled with
 * regcomp(REG_EXTENDED|REG_NOSUB|REG_ICASE) on save; patterns are
 * printable ASCII, at most RULE_REGEX_MAX bytes, no back-references, at
 * most RULE_REPEAT_MAX in any {m,n} bound.  Kind "client-cidr" holds a
 * canonical CIDR (util/cidr.h).  On the CLI the kinds are spelt
 * "sender-regex RE" and "client CIDR".
 */
#ifndef MXFEED_RULE_H
#define MXFEED_RULE_H

#include <stdint.h>

#include "util/error.h"

#define RULE_REGEX_MAX	256
#define RULE_REPEAT_MAX 255
#define RULE_VALUE_MAX	RULE_REGEX_MAX

enum rule_action { RULE_ALLOW, RULE_BLOCK };
enum rule_kind { RULE_SENDER_REGEX, RULE_CLIENT_CIDR };

extern const char *const rule_action_names[]; /* "allow", "block", NULL */
extern const char *const rule_kind_names[];   /* "sender-regex",
						 "client-cidr", NULL */

struct rule {
	int64_t id;
	enum rule_action action;
	enum rule_kind kind;
	char value[RULE_VALUE_MAX + 1]; /* canonical */
};

/* kind accepts "sender-regex", "client" and "client-cidr". */
int rule_parse(const char *action, const char *kind, const char *value,
	       struct rule *out, struct error *err)
	__attribute__((warn_unused_result));

#endif
