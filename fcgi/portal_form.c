/*
 * portal_form - the settings form of the domain page, from lib's table
 *
 * Every row of lib/fields.def a person edits (not FF_CLI_ONLY or
 * FF_NO_FORM; FF_DEST_ONLY rows only for a relayed domain) becomes a
 * field with its label, help, bounds and choices; a posted value and
 * its error win over the record's value.  A posted form is checked
 * field by field through domain_set(), lib's one validator, so that
 * every error shows at once beside its field; the change itself goes
 * through ops_domain_set().  Markup comes from templates/portal/
 * fields.html, which escapes every value.
 */
#include <stdlib.h>
#include <string.h>

#include "domain_json.h"
#include "portal_int.h"
#include "util/log.h"
#include "util/template.h"

/* The rows of fields.def a person edits in the settings form. */
bool portal_settings_form_has(const struct field *f, enum domain_mode mode)
{
	if (f->flags & (FF_CLI_ONLY | FF_NO_FORM))
		return false;
	return !((f->flags & FF_DEST_ONLY) && mode == MODE_POP3);
}

/* The record's value of a field as form text. */
static void field_value(const struct domain *d, const struct field *f,
			struct strbuf *out)
{
	size_t i;

	switch (f->id) {
	case FLD_FALLBACKS:
		for (i = 0; i < d->nfallbacks; i++) {
			char buf[64];

			dest_format(&d->fallbacks[i], buf, sizeof(buf));
			sbuf_addf(out, "%s%s", i ? "," : "", buf);
		}
		return;
	case FLD_DEST_HOST:
		if (d->has_dest)
			sbuf_addstr(out, d->dest.ip.text);
		return;
	case FLD_DEST_PORT:
		if (d->has_dest)
			sbuf_addf(out, "%u", (unsigned)d->dest.port);
		return;
	default:
		if (f->type != FT_CUSTOM)
			domain_field_text(d, f, FIELD_TEXT_INPUT, out);
		return;
	}
}

json_t *portal_options(const char *const *choices, const char *value)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; choices[i]; i++)
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:b}", "value", choices[i],
				     "text", choices[i], "selected",
				     strcmp(choices[i], value) == 0));
	return portal_first_last(a);
}

/* One field's context; value from the form when posted, else d. */
json_t *portal_field_ctx(const char *name, const char *label, const char *type,
			 const char *value, const char *const *choices,
			 const char *help, const char *placeholder,
			 const char *error)
{
	json_t *o =
		json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", name, "label",
			  label, "type", type, "value", value, "id", name);
	char *id = xstrdup(name);
	size_t i;

	for (i = 0; id[i]; i++)
		if (id[i] == '.')
			id[i] = '-';
	json_object_set_new(o, "id", json_string(id));
	free(id);
	json_object_set_new(o, "options",
			    choices ? portal_options(choices, value)
				    : json_null());
	json_object_set_new(o, "help", help ? json_string(help) : json_null());
	json_object_set_new(o, "placeholder",
			    placeholder ? json_string(placeholder)
					: json_null());
	json_object_set_new(o, "error",
			    error ? json_string(error) : json_null());
	/* set on every field: a missing flag would be looked up outwards */
	json_object_set_new(o, "checkbox",
			    json_boolean(strcmp(type, "checkbox") == 0));
	json_object_set_new(o, "checked",
			    json_boolean(strcmp(value, "on") == 0));
	return o;
}

/* Add field to the group legend, made at the end when new. */
json_t *portal_groups_add(json_t *groups, const char *legend, json_t *field)
{
	json_t *g = NULL, *e;
	size_t i;

	json_array_foreach(groups, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "legend")),
			   legend) == 0)
			g = e;
	}
	if (g == NULL) {
		g = json_pack("{s:s, s:[]}", "legend", legend, "fields");
		json_array_append_new(groups, g);
	}
	json_array_append_new(json_object_get(g, "fields"), field);
	return groups;
}

static const char *const bools[] = { "on", "off", NULL };

json_t *portal_fields_html(struct page *pg, json_t *groups)
{
	struct strbuf html = STRBUF_INIT;
	json_t *ctx = json_pack("{s:o}", "groups", groups), *t;

	if (template_render("fields.html", template_get("fields.html"), ctx,
			    &html, &pg->err) < 0)
		log_error("request %s: %s", pg->q->id, error_msg(&pg->err));
	json_decref(ctx);
	t = template_trusted(html.buf);
	sbuf_release(&html);
	return t;
}

/* Markup of the settings fields: posted values and errors win. */
json_t *portal_settings_fields(struct page *pg, const struct domain *d,
			       const json_t *errors, bool posted)
{
	json_t *groups = json_array();
	size_t i;

	for (i = 0; i < NFIELDS; i++) {
		const struct field *f = &domain_fields[i];
		struct strbuf v = STRBUF_INIT, help = STRBUF_INIT;
		const char *pv =
			posted ? http_form_get(&pg->form, f->path) : NULL;
		const json_t *e = json_object_get(errors, f->path);
		bool number = f->type == FT_INT || f->id == FLD_DEST_PORT;

		if (!portal_settings_form_has(f, d->mode))
			continue;
		if (pv != NULL)
			sbuf_addstr(&v, pv);
		else
			field_value(d, f, &v);
		if (f->type == FT_INT)
			sbuf_addf(&help, "%ld to %ld%s%s", f->min, f->max,
				  f->help ? ": " : "", f->help ? f->help : "");
		else if (f->help != NULL)
			sbuf_addstr(&help, f->help);
		portal_groups_add(
			groups, f->group,
			portal_field_ctx(f->path, f->label,
					 number ? "number" : "text", v.buf,
					 f->type == FT_BOOL   ? bools
					 : f->type == FT_ENUM ? f->names
							      : NULL,
					 help.len ? help.buf : NULL, NULL,
					 json_string_value(e)));
		sbuf_release(&v);
		sbuf_release(&help);
	}
	return portal_fields_html(pg, groups);
}

size_t portal_settings_parse(struct page *pg, const struct domain *d,
			     json_t *errors, struct strbuf *sets, char **argv)
{
	struct domain scratch;
	size_t i, n = 0;

	for (i = 0; i < NFIELDS; i++) {
		const struct field *f = &domain_fields[i];
		const char *v = http_form_get(&pg->form, f->path);
		struct error e = ERROR_INIT;

		if (v == NULL || !portal_settings_form_has(f, d->mode))
			continue;
		scratch = *d;
		if (domain_set(&scratch, f->path, v, pg->ox.conf, &e) < 0)
			json_object_set_new(errors, f->path,
					    json_string(error_msg(&e)));
		error_release(&e);
		sbuf_init(&sets[n], 0);
		sbuf_addf(&sets[n], "%s=%s", f->path, v);
		argv[n] = sets[n].buf;
		n++;
	}
	return n;
}
