/*
 * template - a small logic-less renderer that escapes by default
 *
 * Templates are text with tags; the values come from a JSON object:
 *   {{name}}       the value at name (a dotted path: a.b.c), HTML-escaped;
 *                  strings as they are, numbers in decimal, booleans
 *                  "true"/"false", null or missing as nothing;
 *   {{&name}}      trusted markup, written as it is - but only when the
 *                  value was made by template_trusted() in our own code;
 *                  any other value is escaped like {{name}};
 *   {{#name}}..{{/name}}  a section: once per element of an array (the
 *                  element becomes the innermost context), once for an
 *                  object (likewise) or any other true value, and not
 *                  at all for false, null, missing, "", 0 or [];
 *   {{^name}}..{{/name}}  the inverse: only when #name would not render.
 * Lookups search the context stack from the innermost outwards.  There
 * is no other syntax: the code prepares every value, the template only
 * places it.  Errors (unbalanced sections, unknown tag forms, nesting
 * deeper than TEMPLATE_DEPTH_MAX) are ERR_INTERNAL naming the template
 * and the offset: templates are ours, so an error is a bug to fix, and
 * nothing partial is returned.
 */
#ifndef MXFEED_TEMPLATE_H
#define MXFEED_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "strbuf.h"

#define TEMPLATE_DEPTH_MAX 16

struct template_file {
	const char *name;
	const char *text;
};

/* The templates built into the program (generated from templates/). */
extern const struct template_file template_files[];
extern const size_t template_files_count;

/* A template's text by file name, or NULL. */
const char *template_get(const char *name);
/* A value that {{&name}} writes unescaped: markup built by our code. */
json_t *template_trusted(const char *html);
int template_render(const char *name, const char *text, const json_t *ctx,
		    struct strbuf *out, struct error *err)
	__attribute__((warn_unused_result));

#endif
