/*
 * policyreq - read Postfix policy delegation requests
 *
 * See policyreq.h.  Kept apart from policy.c so that the bytes a client
 * sends meet one small parser, which the fuzz target drives directly.
 */
#include "policyreq.h"

#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"

static char *dup_n(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int policy_attrs_line(struct policy_attrs *a, const char *line, size_t len)
{
	const char *eq;

	if (len == 0)
		return 1;
	if (len > POLICY_LINE_MAX || memchr(line, '\0', len) != NULL ||
	    a->n >= POLICY_ATTRS_MAX)
		return -1;
	eq = memchr(line, '=', len);
	if (eq == NULL)
		return -1;
	a->name[a->n] = dup_n(line, (size_t)(eq - line));
	a->value[a->n] = dup_n(eq + 1, len - (size_t)(eq - line) - 1);
	a->n++;
	return 0;
}

static const char *attr(const struct policy_attrs *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->name[i], name) == 0)
			return a->value[i];
	return NULL;
}

void policy_attrs_request(const struct policy_attrs *a,
			  struct policy_request *rq)
{
	rq->state = attr(a, "protocol_state");
	rq->instance = attr(a, "instance");
	rq->recipient = attr(a, "recipient");
	rq->sender = attr(a, "sender");
	rq->client_address = attr(a, "client_address");
	rq->size = attr(a, "size");
	rq->etrn_domain = attr(a, "etrn_domain");
	rq->queue_id = attr(a, "queue_id");
}

void policy_attrs_reset(struct policy_attrs *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		free(a->name[i]);
		free(a->value[i]);
	}
	a->n = 0;
}
