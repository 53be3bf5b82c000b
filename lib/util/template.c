/*
 * template - a small logic-less renderer that escapes by default
 *
 * See template.h.  Rendering is one recursive pass over the text:
 * render_span() writes text and tags up to the end of a span and, for a
 * section, finds its matching {{/name}} by counting nested sections of
 * the same name, then renders the inner span once per context.
 * Trusted markup is a one-member object whose key no JSON built from
 * input can carry by accident: TRUSTED_KEY is only set here.
 */
#include "template.h"

#include <inttypes.h>
#include <string.h>

#include "http.h"

#define TRUSTED_KEY "\x01trusted-html"
#define TAG_MAX	    64
#define TAG_CHARS                                                              \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_."

struct render {
	const char *name; /* template name, for errors */
	const char *base; /* whole text, for offsets */
	const json_t *stack[TEMPLATE_DEPTH_MAX + 1];
	int depth;
	struct strbuf *out;
	struct error *err;
};

const char *template_get(const char *name)
{
	size_t i;

	for (i = 0; i < template_files_count; i++)
		if (strcmp(template_files[i].name, name) == 0)
			return template_files[i].text;
	return NULL;
}

json_t *template_trusted(const char *html)
{
	return json_pack("{s:s}", TRUSTED_KEY, html);
}

static int fail(struct render *r, const char *at, const char *what)
{
	return error_set(r->err, ERR_INTERNAL, NULL,
			 "template %s: offset %td: %s", r->name, at - r->base,
			 what);
}

/* Value of a dotted path in one context, or NULL. */
static const json_t *lookup_in(const json_t *ctx, const char *path)
{
	char part[TAG_MAX + 1];
	const json_t *v = ctx;

	while (*path && v != NULL) {
		size_t n = strcspn(path, ".");

		if (n > TAG_MAX || !json_is_object(v))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		v = json_object_get(v, part);
		path += n + (path[n] == '.');
	}
	return v;
}

static const json_t *lookup(const struct render *r, const char *path)
{
	int i;

	if (strcmp(path, ".") == 0)
		return r->stack[r->depth];
	for (i = r->depth; i >= 0; i--) {
		const json_t *v = lookup_in(r->stack[i], path);

		if (v != NULL)
			return v;
	}
	return NULL;
}

static bool truthy(const json_t *v)
{
	if (v == NULL)
		return false;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return true;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	case JSON_TRUE:
		return true;
	case JSON_FALSE:
	case JSON_NULL:
		return false;
	}
	return false;
}

static void put_value(struct render *r, const json_t *v, bool trusted_ok)
{
	char num[32];
	const json_t *t;

	if (v == NULL)
		return;
	switch (json_typeof(v)) {
	case JSON_STRING:
		sbuf_addhtml(r->out, json_string_value(v));
		break;
	case JSON_INTEGER:
		(void)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			       json_integer_value(v));
		sbuf_addstr(r->out, num);
		break;
	case JSON_REAL:
		(void)snprintf(num, sizeof(num), "%g", json_real_value(v));
		sbuf_addstr(r->out, num);
		break;
	case JSON_TRUE:
		sbuf_addstr(r->out, "true");
		break;
	case JSON_FALSE:
		sbuf_addstr(r->out, "false");
		break;
	case JSON_OBJECT:
		t = json_object_get(v, TRUSTED_KEY);
		if (json_is_string(t) && json_object_size(v) == 1) {
			if (trusted_ok)
				sbuf_addstr(r->out, json_string_value(t));
			else
				sbuf_addhtml(r->out, json_string_value(t));
		}
		break;
	case JSON_ARRAY:
	case JSON_NULL:
		break;
	}
}

/* Find the {{/name}} closing the section opened just before p. */
static const char *find_close(const char *p, const char *name,
			      const char **after)
{
	int level = 0;
	size_t n = strlen(name);

	while ((p = strstr(p, "{{")) != NULL) {
		const char *t = p + 2;

		if ((t[0] == '#' || t[0] == '^') &&
		    strncmp(t + 1, name, n) == 0 &&
		    strncmp(t + 1 + n, "}}", 2) == 0) {
			level++;
		} else if (t[0] == '/' && strncmp(t + 1, name, n) == 0 &&
			   strncmp(t + 1 + n, "}}", 2) == 0) {
			if (level == 0) {
				*after = t + 1 + n + 2;
				return p;
			}
			level--;
		}
		p = t;
	}
	return NULL;
}

static int render_span(struct render *r, const char *p, const char *end);

static int section(struct render *r, const char *open, char kind,
		   const char *name, const char *body, const char *end,
		   const char **next)
{
	const char *close, *after;
	const json_t *v;
	size_t i;

	close = find_close(body, name, &after);
	if (close == NULL || close > end)
		return fail(r, open, "section without its {{/...}}");
	*next = after;
	v = lookup(r, name);
	if (kind == '^')
		return truthy(v) ? 0 : render_span(r, body, close);
	if (!truthy(v))
		return 0;
	if (r->depth >= TEMPLATE_DEPTH_MAX)
		return fail(r, open, "sections nested too deeply");
	if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++) {
			int rc;

			r->stack[++r->depth] = json_array_get(v, i);
			rc = render_span(r, body, close);
			r->depth--;
			if (rc < 0)
				return -1;
		}
		return 0;
	}
	if (json_is_object(v)) {
		int rc;

		r->stack[++r->depth] = v;
		rc = render_span(r, body, close);
		r->depth--;
		return rc;
	}
	return render_span(r, body, close);
}

static int render_span(struct render *r, const char *p, const char *end)
{
	while (p < end) {
		const char *open = strstr(p, "{{"), *close;
		char tag[TAG_MAX + 2];
		size_t n, skip;

		if (open == NULL || open >= end) {
			sbuf_add(r->out, p, (size_t)(end - p));
			return 0;
		}
		sbuf_add(r->out, p, (size_t)(open - p));
		close = strstr(open + 2, "}}");
		if (close == NULL || close > end)
			return fail(r, open, "tag without }}");
		n = (size_t)(close - open - 2);
		if (n == 0 || n > TAG_MAX + 1)
			return fail(r, open, "empty or over-long tag");
		memcpy(tag, open + 2, n);
		tag[n] = '\0';
		skip = strchr("#^/&", tag[0]) != NULL ? 1 : 0;
		if (n == skip || strspn(tag + skip, TAG_CHARS) != n - skip)
			return fail(r, open, "tag with characters not allowed");
		p = close + 2;
		switch (tag[0]) {
		case '#':
		case '^':
			if (section(r, open, tag[0], tag + 1, p, end, &p) < 0)
				return -1;
			break;
		case '/':
			return fail(r, open, "{{/...}} without its section");
		case '&':
			put_value(r, lookup(r, tag + 1), true);
			break;
		default:
			put_value(r, lookup(r, tag), false);
		}
	}
	return 0;
}

int template_render(const char *name, const char *text, const json_t *ctx,
		    struct strbuf *out, struct error *err)
{
	struct render r = { 0 };
	struct strbuf buf = STRBUF_INIT;

	if (text == NULL)
		return error_set(err, ERR_INTERNAL, NULL,
				 "template %s: not built in", name);
	r.name = name;
	r.base = text;
	r.stack[0] = ctx;
	r.out = &buf;
	r.err = err;
	if (render_span(&r, text, text + strlen(text)) < 0) {
		sbuf_release(&buf);
		return -1;
	}
	sbuf_add(out, buf.buf, buf.len);
	sbuf_release(&buf);
	return 0;
}
