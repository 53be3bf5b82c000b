/*
 * rule - per-domain sender allow/block rules (SPEC section 3)
 *
 * See rule.h.  A regex is checked before regcomp() sees it (printable
 * ASCII, bounded size, no back-references, bounded repeats) so that a
 * stored rule can neither blow up the policy daemon's matcher nor carry
 * anything a config line could not hold; then it must compile.
 */
#include "rule.h"

#include <regex.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "util/cidr.h"
#include "util/parse.h"

const char *const rule_action_names[] = { "allow", "block", NULL };
const char *const rule_kind_names[] = { "address-regex", "client-cidr", NULL };

/* NULL when the pattern's shape is fine, else why not. */
static const char *regex_shape(const char *re)
{
	size_t i, n = strlen(re);

	if (n == 0)
		return "the pattern is empty";
	if (n > RULE_REGEX_MAX)
		return "the pattern is longer than 256 characters";
	for (i = 0; i < n; i++) {
		if (re[i] < 0x20 || re[i] > 0x7e)
			return "the pattern must be printable ASCII";
		if (re[i] == '\\' && re[i + 1] >= '1' && re[i + 1] <= '9')
			return "back-references are not allowed";
		if (re[i] == '\\' && re[i + 1] != '\0')
			i++; /* skip the escaped character */
		else if (re[i] == '{') {
			/* every number in {m}, {m,} or {m,n} must be small */
			const char *p = re + i + 1;

			while (*p != '}' && *p != '\0') {
				if (*p >= '0' && *p <= '9') {
					char *end;
					unsigned long v = strtoul(p, &end, 10);

					if (v > RULE_REPEAT_MAX)
						return "repeat counts must be "
						       "at "
						       "most 255";
					p = end;
				} else {
					p++;
				}
			}
		}
	}
	return NULL;
}

int rule_parse(const char *action, const char *kind, const char *value,
	       struct rule *out, struct error *err)
{
	struct rule r;
	const char *why;
	int a;

	memset(&r, 0, sizeof(r));
	if ((a = parse_enum(action, rule_action_names)) < 0)
		return error_set(err, ERR_INVALID, "action",
				 "action must be allow or block");
	r.action = (enum rule_action)a;
	if (kind != NULL && (strcmp(kind, "sender-regex") == 0 ||
			     strcmp(kind, "address-regex") == 0)) {
		regex_t rx;
		int rc;

		r.kind = RULE_SENDER_REGEX;
		if (value == NULL || (why = regex_shape(value)) != NULL)
			return error_set(err, ERR_INVALID, "value", "%s",
					 value ? why : "a pattern is required");
		rc = regcomp(&rx, value, REG_EXTENDED | REG_NOSUB | REG_ICASE);
		if (rc != 0) {
			char msg[128];

			regerror(rc, &rx, msg, sizeof(msg));
			return error_set(err, ERR_INVALID, "value",
					 "not a valid extended regular "
					 "expression: %s",
					 msg);
		}
		regfree(&rx);
		if (strlcpy_checked(r.value, value, sizeof(r.value)) < 0)
			return error_set(err, ERR_INVALID, "value",
					 "the pattern is too long");
	} else if (kind != NULL && (strcmp(kind, "client") == 0 ||
				    strcmp(kind, "client-cidr") == 0)) {
		struct cidr c;

		r.kind = RULE_CLIENT_CIDR;
		if (value == NULL)
			return error_set(err, ERR_INVALID, "value",
					 "a CIDR is required");
		if (strchr(value, '/') == NULL) {
			/* a single address is its own /32 or /128 */
			struct ip_addr ip;

			if (ip_parse(value, &ip, "value", err) < 0)
				return -1;
			(void)snprintf(r.value, sizeof(r.value), "%s/%u",
				       ip.text,
				       ip.family == AF_INET ? 32u : 128u);
		} else {
			if (cidr_parse(value, &c, "value", err) < 0)
				return -1;
			if (strlcpy_checked(r.value, c.text, sizeof(r.value)) <
			    0)
				return error_set(err, ERR_INVALID, "value",
						 "CIDR too long");
		}
	} else {
		return error_set(err, ERR_INVALID, "kind",
				 "kind must be sender-regex or client");
	}
	*out = r;
	return 0;
}
