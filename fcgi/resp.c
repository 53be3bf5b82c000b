/*
 * resp - building an answer: status, headers, a JSON or problem+json
 * body
 *
 * See resp.h.  No FastCGI here: main.c writes the struct resp out.
 */
#include "resp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "openapi.h"
#include "util/http.h"

void resp_header(struct resp *r, const char *name, const char *fmt, ...)
{
	struct strbuf v = STRBUF_INIT;
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	sbuf_vaddf(&v, fmt, ap);
	va_end(ap);
	for (i = 0; i < v.len; i++)
		if (v.buf[i] == '\r' || v.buf[i] == '\n' || v.buf[i] == '\0')
			v.buf[i] = ' '; /* never a second header */
	sbuf_addf(&r->headers, "%s: %s\r\n", name, v.buf);
	sbuf_release(&v);
}

void resp_header_text(struct resp *r, const char *name, const char *value)
{
	size_t at;

	sbuf_addstr(&r->headers, name);
	sbuf_addstr(&r->headers, ": ");
	at = r->headers.len;
	sbuf_addstr(&r->headers, value);
	for (; at < r->headers.len; at++)
		if (r->headers.buf[at] == '\r' || r->headers.buf[at] == '\n')
			r->headers.buf[at] = ' '; /* never a second header */
	sbuf_addstr(&r->headers, "\r\n");
}

void resp_json(struct resp *r, int status, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

	r->status = status;
	r->ctype = "application/json";
	sbuf_reset(&r->body);
	sbuf_addstr(&r->body, s ? s : "null");
	sbuf_addch(&r->body, '\n');
	free(s);
}

struct strbuf *resp_json_begin(struct resp *r, int status)
{
	r->status = status;
	r->ctype = "application/json";
	sbuf_reset(&r->body);
	return &r->body;
}

void resp_json_end(struct resp *r)
{
	sbuf_addch(&r->body, '\n');
}

/* the slugs are the OpenAPI document's (lib/openapi.c) */
static const char *problem_slug(int status)
{
	return openapi_problem_slug(status);
}

void resp_problem_msg(struct resp *r, int status, const char *field,
		      const char *msg)
{
	char type[64];
	json_t *j;

	(void)snprintf(type, sizeof(type), "urn:mxfeed:problem:%s",
		       problem_slug(status));
	j = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title",
		      http_reason(status), "status", status, "detail", msg);
	json_object_set_new(j, "errors", json_array());
	if (field != NULL && field[0] != '\0')
		json_array_append_new(json_object_get(j, "errors"),
				      json_pack("{s:s, s:s}", "field", field,
						"message", msg));
	resp_json(r, status, j);
	r->ctype = "application/problem+json";
	if (status == 503)
		resp_header(r, "Retry-After", "5");
	if (status == 401)
		resp_header(r, "WWW-Authenticate", "Bearer realm=\"mxfeed\"");
	json_decref(j);
}

void resp_problem(struct resp *r, int status, const struct error *err)
{
	if (status == 0)
		status = error_http_status(err->code);
	if (status == 500)
		/* the details are in the log, not for the client */
		resp_problem_msg(r, 500, NULL,
				 "internal error; see the service log");
	else if (status == 503)
		resp_problem_msg(r, 503, NULL,
				 "the database is unavailable; nothing was "
				 "changed; retry in a few seconds");
	else
		resp_problem_msg(r, status, err->field, error_msg(err));
}
