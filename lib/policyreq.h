/*
 * policyreq - read Postfix policy delegation requests (SMTPD_POLICY_README)
 *
 * A request is "name=value" lines, each ending in '\n', closed by an
 * empty line.  policy_attrs_line() takes one line without its '\n' and
 * keeps the attribute; it returns 1 at the empty line (the request is
 * complete: policy_attrs_request() then points a policy_request at the
 * values, valid until policy_attrs_reset()), 0 for an attribute, and -1
 * for a line no client of ours sends (no '=', a NUL byte, longer than
 * POLICY_LINE_MAX, more than POLICY_ATTRS_MAX attributes), after which
 * the caller drops the connection.  The first of repeated names wins.
 */
#ifndef MXFEED_POLICYREQ_H
#define MXFEED_POLICYREQ_H

#include <stddef.h>

#include "policy.h"

#define POLICY_LINE_MAX	 4095 /* bytes of one line without its '\n' */
#define POLICY_ATTRS_MAX 256

struct policy_attrs {
	size_t n;
	char *name[POLICY_ATTRS_MAX];
	char *value[POLICY_ATTRS_MAX];
};

#define POLICY_ATTRS_INIT                                                      \
	{                                                                      \
		0                                                              \
	}

int policy_attrs_line(struct policy_attrs *a, const char *line, size_t len)
	__attribute__((warn_unused_result));
void policy_attrs_request(const struct policy_attrs *a,
			  struct policy_request *rq);
void policy_attrs_reset(struct policy_attrs *a);

#endif
