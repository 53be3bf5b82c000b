/*
 * httpc - the HTTP client: one libcurl request with timeouts always
 *
 * httpc_post() sends one POST (plain http only, no redirects, no proxy,
 * no signals) and collects the reply into a strbuf capped at
 * max_reply bytes.  Connect failures, timeouts, an oversize reply and
 * 5xx statuses are ERR_TEMPFAIL; any other status is returned in
 * *status for the caller to judge.  Header values are never logged.
 *
 * New callers use this; lib/doveadm.c, lib/probe.c and lib/reinject.c
 * still hold libcurl handles of their own (to be moved here).
 */
#ifndef MXFEED_HTTPC_H
#define MXFEED_HTTPC_H

#include <stddef.h>

#include "error.h"
#include "strbuf.h"

struct httpc_req {
	const char *url; /* http://HOST:PORT/path, validated */
	const char *const
		*headers; /* "Name: value", NULL-terminated, or NULL */
	const char *body;
	size_t body_len;
	long connect_ms;
	long total_ms;
	size_t max_reply;
};

int httpc_post(const struct httpc_req *rq, long *status, struct strbuf *reply,
	       struct error *err) __attribute__((warn_unused_result));

#endif
