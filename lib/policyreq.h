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
 *
 * policy_attrs_feed() does the same for the bytes of a client's stream
 * as they arrive: it takes the whole lines at the start of the buffer
 * until a request is complete (1), or until only a line begun is left
 * (0: read more, keep those bytes), and *used says how many bytes it
 * took.  A line begun that is already longer than POLICY_LINE_MAX is
 * bad (-1) at once, as is any bad line.
 *
 * Only the values a policy_request names are kept (in the struct: no
 * allocation, nothing to free); every line is checked all the same.
 */
#ifndef MXFEED_POLICYREQ_H
#define MXFEED_POLICYREQ_H

#include <stddef.h>

#include "policy.h"

#define POLICY_LINE_MAX	 4095 /* bytes of one line without its '\n' */
#define POLICY_ATTRS_MAX 256

/* the attributes a policy_request points at */
enum policy_attr {
	PA_STATE,
	PA_INSTANCE,
	PA_RECIPIENT,
	PA_SENDER,
	PA_CLIENT_ADDRESS,
	PA_SIZE,
	PA_ETRN_DOMAIN,
	PA_QUEUE_ID,
	PA_COUNT
};

struct policy_attrs {
	size_t n;	     /* attribute lines of this request so far */
	size_t len;	     /* bytes of text in use */
	size_t at[PA_COUNT]; /* a kept value's offset in text + 1; 0: none */
	/* each kept value and its NUL: one per name, shorter than a line */
	char text[PA_COUNT * (POLICY_LINE_MAX + 1)];
};

#define POLICY_ATTRS_INIT                                                      \
	{                                                                      \
		0                                                              \
	}

int policy_attrs_line(struct policy_attrs *a, const char *line, size_t len)
	__attribute__((warn_unused_result));
int policy_attrs_feed(struct policy_attrs *a, const char *buf, size_t len,
		      size_t *used) __attribute__((warn_unused_result));
void policy_attrs_request(const struct policy_attrs *a,
			  struct policy_request *rq);
void policy_attrs_reset(struct policy_attrs *a);

#endif
