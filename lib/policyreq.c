/*
 * policyreq - read Postfix policy delegation requests
 *
 * See policyreq.h.  Kept apart from policy.c so that the bytes a client
 * sends meet one small parser, which the fuzz target drives directly.
 * A value is copied only when its name is one of the table below and
 * the first of that name: the other attributes Postfix sends are
 * checked and counted, never stored.
 */
#include "policyreq.h"

#include <string.h>

static const struct {
	const char *name;
	size_t len;
} wanted[PA_COUNT] = {
	[PA_STATE] = { "protocol_state", 14 },
	[PA_INSTANCE] = { "instance", 8 },
	[PA_RECIPIENT] = { "recipient", 9 },
	[PA_SENDER] = { "sender", 6 },
	[PA_CLIENT_ADDRESS] = { "client_address", 14 },
	[PA_SIZE] = { "size", 4 },
	[PA_ETRN_DOMAIN] = { "etrn_domain", 11 },
	[PA_QUEUE_ID] = { "queue_id", 8 },
};

static void keep(struct policy_attrs *a, const char *name, size_t nlen,
		 const char *value, size_t vlen)
{
	int i;

	for (i = 0; i < PA_COUNT; i++)
		if (wanted[i].len == nlen &&
		    memcmp(wanted[i].name, name, nlen) == 0)
			break;
	if (i == PA_COUNT || a->at[i] != 0)
		return; /* not read, or not the first of its name */
	/* fits: at most PA_COUNT values, each shorter than a line */
	memcpy(a->text + a->len, value, vlen);
	a->text[a->len + vlen] = '\0';
	a->at[i] = a->len + 1;
	a->len += vlen + 1;
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
	keep(a, line, (size_t)(eq - line), eq + 1,
	     len - (size_t)(eq - line) - 1);
	a->n++;
	return 0;
}

int policy_attrs_feed(struct policy_attrs *a, const char *buf, size_t len,
		      size_t *used)
{
	size_t off = 0;

	for (;;) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n;
		int rc;

		if (nl == NULL) {
			*used = off;
			return len - off > POLICY_LINE_MAX ? -1 : 0;
		}
		n = (size_t)(nl - (buf + off));
		rc = policy_attrs_line(a, buf + off, n);
		off += n + 1;
		if (rc != 0) {
			*used = off;
			return rc;
		}
	}
}

static const char *attr(const struct policy_attrs *a, enum policy_attr i)
{
	return a->at[i] != 0 ? a->text + a->at[i] - 1 : NULL;
}

void policy_attrs_request(const struct policy_attrs *a,
			  struct policy_request *rq)
{
	rq->state = attr(a, PA_STATE);
	rq->instance = attr(a, PA_INSTANCE);
	rq->recipient = attr(a, PA_RECIPIENT);
	rq->sender = attr(a, PA_SENDER);
	rq->client_address = attr(a, PA_CLIENT_ADDRESS);
	rq->size = attr(a, PA_SIZE);
	rq->etrn_domain = attr(a, PA_ETRN_DOMAIN);
	rq->queue_id = attr(a, PA_QUEUE_ID);
}

void policy_attrs_reset(struct policy_attrs *a)
{
	a->n = 0;
	a->len = 0;
	memset(a->at, 0, sizeof(a->at));
}
