/*
 * domain_json - the domain record as JSON (SPEC section 7), both ways
 *
 * See domain_json.h.  Output keys are set in the order of SPEC section
 * 7 (jansson keeps insertion order).  A merge patch is walked member by
 * member; every scalar is type-checked against its fields.def row and
 * then handed to domain_set() as text, so JSON and the command line pass
 * exactly the same validators.  The patch works on a copy: a refused
 * patch leaves the record unchanged.
 */
#include "domain_json.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/parse.h"
#include "util/timefmt.h"

static json_t *json_time(int64_t t)
{
	char buf[32];

	if (t == 0)
		return json_null();
	time_format_utc(t, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *dest_json(const struct dest *d)
{
	return json_pack("{s:s, s:i}", "host", d->ip.text, "port",
			 (int)d->port);
}

/* The object at "a.b" of path "a.b.c" in o, made when missing; the
 * leaf's key in *leaf. */
static json_t *path_parent(json_t *o, const char *path, const char **leaf)
{
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL) {
		char key[64];
		json_t *sub;
		size_t n = (size_t)(dot - path);

		if (n >= sizeof(key))
			BUG("field path %s too long", path);
		memcpy(key, path, n);
		key[n] = '\0';
		sub = json_object_get(o, key);
		if (sub == NULL) {
			sub = json_object();
			json_object_set_new(o, key, sub);
		}
		o = sub;
		path = dot + 1;
	}
	*leaf = path;
	return o;
}

/* One row's member as JSON; NULL for the rows written by hand. */
static json_t *field_json(const struct domain *d, const struct field *f)
{
	switch (f->type) {
	case FT_BOOL:
		return json_boolean(domain_field_bool(d, f));
	case FT_INT:
		return json_integer(domain_field_int(d, f));
	case FT_ENUM:
	case FT_TEXT:
		return json_string(domain_field_str(d, f));
	case FT_TIME:
		return json_time(domain_field_time(d, f));
	case FT_FINGERPRINT:
		return domain_field_str(d, f)[0]
			       ? json_string(domain_field_str(d, f))
			       : json_null();
	case FT_CUSTOM:
		break;
	}
	return NULL;
}

/* The settings, in the order of fields.def (that of SPEC section 7). */
static void settings_to_json(json_t *o, const struct domain *d)
{
	size_t i, k;

	for (i = 0; i < FLD_COUNT; i++) {
		const struct field *f = &domain_fields[i];
		const char *leaf = NULL;
		json_t *v, *fb;

		if (f->flags & FF_CLI_ONLY)
			continue;
		if (f->id == FLD_DEST_HOST) {
			json_object_set_new(o, "destination",
					    d->has_dest ? dest_json(&d->dest)
							: json_null());
		} else if (f->id == FLD_FALLBACKS) {
			fb = json_array();
			for (k = 0; k < d->nfallbacks; k++)
				json_array_append_new(
					fb, dest_json(&d->fallbacks[k]));
			json_object_set_new(o, "fallbacks", fb);
		} else if ((v = field_json(d, f)) != NULL) {
			json_t *parent = path_parent(o, f->path, &leaf);

			json_object_set_new(parent, leaf, v);
		}
	}
}

json_t *domain_to_json(const struct domain *d, const struct propagation *p)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(d->name.alabel));
	json_object_set_new(o, "unicode_name", json_string(d->name.ulabel));
	json_object_set_new(o, "mode", json_string(domain_mode_names[d->mode]));
	if (d->temp_pop3) {
		json_t *t = json_object();

		json_object_set_new(t, "since", json_time(d->temp_pop3_since));
		json_object_set_new(t, "by", json_string(d->temp_pop3_by));
		json_object_set_new(o, "temp_pop3", t);
	} else {
		json_object_set_new(o, "temp_pop3", json_null());
	}
	settings_to_json(o, d);
	json_object_set_new(o, "version", json_integer(d->version));
	json_object_set_new(o, "created_at", json_time(d->created_at));
	json_object_set_new(o, "created_by",
			    d->created_by[0] ? json_string(d->created_by)
					     : json_null());
	json_object_set_new(o, "updated_at", json_time(d->updated_at));
	json_object_set_new(o, "updated_by",
			    d->updated_by[0] ? json_string(d->updated_by)
					     : json_null());
	json_object_set_new(o, "ticket",
			    d->ticket[0] ? json_string(d->ticket)
					 : json_null());
	if (p != NULL)
		json_object_set_new(
			o, "propagation",
			json_pack("{s:I, s:I, s:I}", "sequence",
				  (json_int_t)p->sequence, "relays_applied",
				  (json_int_t)p->relays_applied, "relays_total",
				  (json_int_t)p->relays_total));
	else
		json_object_set_new(o, "propagation", json_null());
	return o;
}

/* ---- the streaming writer ------------------------------------------ */

/*
 * domain_json_write() spells exactly what json_dumps(domain_to_json(),
 * JSON_COMPACT) spells, without building the tree: the API's GET is
 * mostly this.  jansson's string escapes: '"' and '\\' escaped, \b \f
 * \n \r \t by name, other bytes below 0x20 as \u00XX (upper-case hex),
 * everything else (DEL and all of UTF-8) as is.  The objects of dotted
 * paths ("spam.low.action") open and close as the rows walk by, which
 * needs the rows of one object contiguous in fields.def - as they are;
 * test_domain_json compares both spellings over every row.  The keys
 * are laid out once (layout_make); the bytes gather in a small local
 * buffer and go to the strbuf in a few large appends.
 */
struct jw {
	struct strbuf *sb;
	size_t n;
	char buf[1024];
};

static void jw_flush(struct jw *w)
{
	sbuf_add(w->sb, w->buf, w->n);
	w->n = 0;
}

static void jw_add(struct jw *w, const void *p, size_t n)
{
	if (w->n + n > sizeof(w->buf)) {
		jw_flush(w);
		if (n > sizeof(w->buf)) {
			sbuf_add(w->sb, p, n);
			return;
		}
	}
	memcpy(w->buf + w->n, p, n);
	w->n += n;
}

/* a string literal, its length known at compile time */
#define JW_LIT(w, lit) jw_add((w), (lit), sizeof(lit) - 1)

static void jw_ch(struct jw *w, char c)
{
	if (w->n == sizeof(w->buf))
		jw_flush(w);
	w->buf[w->n++] = c;
}

static void put_str(struct jw *w, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s, *run;

	jw_ch(w, '"');
	for (;;) {
		char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
		size_t n = 2;

		for (run = p; *p >= 0x20 && *p != '"' && *p != '\\'; p++)
			;
		jw_add(w, run, (size_t)(p - run));
		if (*p == '\0')
			break;
		switch (*p) {
		case '"':
		case '\\':
			esc[1] = (char)*p;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			n = 6;
		}
		jw_add(w, esc, n);
		p++;
	}
	jw_ch(w, '"');
}

static void put_time(struct jw *w, int64_t t)
{
	char buf[32];

	if (t == 0) {
		JW_LIT(w, "null");
		return;
	}
	time_format_utc(t, buf, sizeof(buf));
	put_str(w, buf);
}

/* As "%lld" spells it. */
static void put_int(struct jw *w, long long v)
{
	char buf[24], *p = buf + sizeof(buf);
	unsigned long long u =
		v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	jw_add(w, p, (size_t)(buf + sizeof(buf) - p));
}

static void put_dest(struct jw *w, const struct dest *d)
{
	JW_LIT(w, "{\"host\":");
	put_str(w, d->ip.text);
	JW_LIT(w, ",\"port\":");
	put_int(w, d->port);
	jw_ch(w, '}');
}

static void put_str_or_null(struct jw *w, const char *s)
{
	if (s[0] == '\0')
		JW_LIT(w, "null");
	else
		put_str(w, s);
}

/* One row's value, as field_json() makes it. */
static void put_field(struct jw *w, const struct domain *d,
		      const struct field *f)
{
	switch (f->type) {
	case FT_BOOL:
		if (domain_field_bool(d, f))
			JW_LIT(w, "true");
		else
			JW_LIT(w, "false");
		break;
	case FT_INT:
		put_int(w, domain_field_int(d, f));
		break;
	case FT_ENUM:
	case FT_TEXT:
		put_str(w, domain_field_str(d, f));
		break;
	case FT_TIME:
		put_time(w, domain_field_time(d, f));
		break;
	case FT_FINGERPRINT:
		put_str_or_null(w, domain_field_str(d, f));
		break;
	case FT_CUSTOM:
		break;
	}
}

#define NEST_MAX 8

/*
 * The keys and braces around the settings depend on fields.def alone:
 * made once, they are for each row the text between the value before
 * it and its own ("," and the key, closing and opening the objects of
 * dotted paths), and after the last row the braces that close.
 */
static struct {
	size_t off[FLD_COUNT + 1], len[FLD_COUNT + 1];
	bool skip[FLD_COUNT];
	char text[1024];
	size_t n;
} layout;
static pthread_once_t layout_once = PTHREAD_ONCE_INIT;

static void layout_add(const char *p, size_t n)
{
	if (layout.n + n > sizeof(layout.text))
		BUG("fields.def keys exceed %zu bytes", sizeof(layout.text));
	memcpy(layout.text + layout.n, p, n);
	layout.n += n;
}

/* "key": with the comma the member before it needs */
static void layout_key(bool *first, const char *key, size_t n)
{
	if (!*first)
		layout_add(",", 1);
	*first = false;
	layout_add("\"", 1);
	layout_add(key, n);
	layout_add("\":", 2);
}

static void layout_make(void)
{
	/* the open objects: the first open_len[k] bytes of open_path */
	size_t open_len[NEST_MAX];
	bool first[NEST_MAX + 1] = { false }; /* after "temp_pop3" */
	const char *open_path = "";
	int depth = 0, i;

	for (i = 0; i < FLD_COUNT; i++) {
		const struct field *f = &domain_fields[i];
		const char *path = f->path, *leaf, *dot;
		int keep = 0;

		layout.off[i] = layout.n;
		layout.skip[i] =
			f->flags & FF_CLI_ONLY ||
			(f->type == FT_CUSTOM && f->id != FLD_DEST_HOST &&
			 f->id != FLD_FALLBACKS);
		if (layout.skip[i])
			continue;
		if (f->id == FLD_DEST_HOST)
			path = "destination"; /* a top-level member */
		/* how many of the open objects this path is inside */
		while (keep < depth &&
		       strncmp(path, open_path, open_len[keep]) == 0 &&
		       path[open_len[keep]] == '.')
			keep++;
		for (; depth > keep; depth--)
			layout_add("}", 1);
		/* open the rest of the path's objects */
		leaf = path + (depth ? open_len[depth - 1] + 1 : 0);
		while ((dot = strchr(leaf, '.')) != NULL) {
			if (depth == NEST_MAX)
				BUG("field path %s too deep", f->path);
			layout_key(&first[depth], leaf, (size_t)(dot - leaf));
			layout_add("{", 1);
			open_len[depth++] = (size_t)(dot - path);
			first[depth] = true;
			leaf = dot + 1;
		}
		open_path = path;
		layout_key(&first[depth], leaf, strlen(leaf));
		layout.len[i] = layout.n - layout.off[i];
	}
	layout.off[FLD_COUNT] = layout.n;
	for (; depth > 0; depth--)
		layout_add("}", 1);
	layout.len[FLD_COUNT] = layout.n - layout.off[FLD_COUNT];
}

/* The settings, as settings_to_json() sets them, after other members
 * of the top level. */
static void settings_write(struct jw *w, const struct domain *d)
{
	int i;
	size_t k;

	(void)pthread_once(&layout_once, layout_make);
	for (i = 0; i < FLD_COUNT; i++) {
		const struct field *f = &domain_fields[i];

		if (layout.skip[i])
			continue;
		jw_add(w, layout.text + layout.off[i], layout.len[i]);
		if (f->id == FLD_DEST_HOST) {
			if (d->has_dest)
				put_dest(w, &d->dest);
			else
				JW_LIT(w, "null");
		} else if (f->id == FLD_FALLBACKS) {
			jw_ch(w, '[');
			for (k = 0; k < d->nfallbacks; k++) {
				if (k > 0)
					jw_ch(w, ',');
				put_dest(w, &d->fallbacks[k]);
			}
			jw_ch(w, ']');
		} else {
			put_field(w, d, f);
		}
	}
	jw_add(w, layout.text + layout.off[FLD_COUNT], layout.len[FLD_COUNT]);
}

void domain_json_write(struct strbuf *out, const struct domain *d,
		       const struct propagation *p)
{
	struct jw w;

	w.sb = out;
	w.n = 0;
	JW_LIT(&w, "{\"name\":");
	put_str(&w, d->name.alabel);
	JW_LIT(&w, ",\"unicode_name\":");
	put_str(&w, d->name.ulabel);
	JW_LIT(&w, ",\"mode\":");
	put_str(&w, domain_mode_names[d->mode]);
	JW_LIT(&w, ",\"temp_pop3\":");
	if (d->temp_pop3) {
		JW_LIT(&w, "{\"since\":");
		put_time(&w, d->temp_pop3_since);
		JW_LIT(&w, ",\"by\":");
		put_str(&w, d->temp_pop3_by);
		jw_ch(&w, '}');
	} else {
		JW_LIT(&w, "null");
	}
	settings_write(&w, d);
	JW_LIT(&w, ",\"version\":");
	put_int(&w, d->version);
	JW_LIT(&w, ",\"created_at\":");
	put_time(&w, d->created_at);
	JW_LIT(&w, ",\"created_by\":");
	put_str_or_null(&w, d->created_by);
	JW_LIT(&w, ",\"updated_at\":");
	put_time(&w, d->updated_at);
	JW_LIT(&w, ",\"updated_by\":");
	put_str_or_null(&w, d->updated_by);
	JW_LIT(&w, ",\"ticket\":");
	put_str_or_null(&w, d->ticket);
	JW_LIT(&w, ",\"propagation\":");
	if (p != NULL) {
		JW_LIT(&w, "{\"sequence\":");
		put_int(&w, p->sequence);
		JW_LIT(&w, ",\"relays_applied\":");
		put_int(&w, p->relays_applied);
		JW_LIT(&w, ",\"relays_total\":");
		put_int(&w, p->relays_total);
		jw_ch(&w, '}');
	} else {
		JW_LIT(&w, "null");
	}
	jw_ch(&w, '}');
	jw_flush(&w);
}

void domain_json_write_string(struct strbuf *out, const char *s)
{
	struct jw w;

	w.sb = out;
	w.n = 0;
	put_str(&w, s);
	jw_flush(&w);
}

/* ---- merge patch --------------------------------------------------- */

static int type_error(struct error *err, const char *path, const char *want)
{
	return error_set(err, ERR_INVALID, path, "%s must be %s", path, want);
}

/* The JSON type a row takes: what patch_scalar() checks. */
static enum field_type json_kind(const struct field *f)
{
	if (f->type != FT_CUSTOM)
		return f->type;
	return f->id == FLD_DEST_PORT ? FT_INT : FT_TEXT;
}

/* One scalar member at a settable path. */
static int patch_scalar(struct domain *d, const char *path, const json_t *v,
			const struct conf *conf, struct error *err)
{
	const struct field *f = domain_field(path);
	char num[32];

	if (f == NULL || f->id == FLD_FALLBACKS)
		/* let domain_set() word the read-only / unknown refusal */
		return domain_set(d, path, "", conf, err);
	switch (json_kind(f)) {
	case FT_BOOL:
		if (!json_is_boolean(v))
			return type_error(err, path, "true or false");
		return domain_set(d, path, json_is_true(v) ? "true" : "false",
				  conf, err);
	case FT_INT:
		if (!json_is_integer(v))
			return type_error(err, path, "a whole number");
		(void)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			       json_integer_value(v));
		return domain_set(d, path, num, conf, err);
	case FT_TIME:
	case FT_FINGERPRINT:
		if (json_is_null(v))
			return domain_set(d, path, "", conf, err);
		if (!json_is_string(v))
			return type_error(err, path, "a string or null");
		if (strlen(json_string_value(v)) != json_string_length(v))
			return type_error(err, path, "a string without NUL");
		return domain_set(d, path, json_string_value(v), conf, err);
	case FT_ENUM:
	case FT_TEXT:
	case FT_CUSTOM:
		break;
	}
	if (!json_is_string(v))
		return type_error(err, path, "a string");
	if (strlen(json_string_value(v)) != json_string_length(v))
		return type_error(err, path, "a string without NUL");
	return domain_set(d, path, json_string_value(v), conf, err);
}

/* "fallbacks": [ "IP[:PORT]" | {"host": ..., "port": ...}, ... ] */
static int patch_fallbacks(struct domain *d, const json_t *v,
			   const struct conf *conf, struct error *err)
{
	struct strbuf list = STRBUF_INIT;
	const json_t *e;
	size_t i;
	int rc = -1;

	if (json_is_null(v))
		return domain_set(d, "fallbacks", "", conf, err);
	if (!json_is_array(v))
		return type_error(err, "fallbacks", "an array");
	if (json_array_size(v) > DOMAIN_FALLBACKS_MAX)
		return error_set(err, ERR_INVALID, "fallbacks",
				 "fallbacks: at most %d addresses",
				 DOMAIN_FALLBACKS_MAX);
	json_array_foreach(v, i, e)
	{
		const json_t *h = json_object_get(e, "host");
		const json_t *p = json_object_get(e, "port");
		const char *hs;

		if (i > 0)
			sbuf_addch(&list, ',');
		if (json_is_string(e)) {
			sbuf_addstr(&list, json_string_value(e));
			continue;
		}
		if (!json_is_object(e) || !json_is_string(h) ||
		    json_object_size(e) != (p ? 2u : 1u) ||
		    (p && !json_is_integer(p))) {
			type_error(err, "fallbacks",
				   "a list of {\"host\": IP, \"port\": N}");
			goto out;
		}
		hs = json_string_value(h);
		if (strchr(hs, ',') != NULL || strchr(hs, '[') != NULL) {
			error_set(err, ERR_INVALID, "fallbacks",
				  "fallbacks: host must be an IP address");
			goto out;
		}
		if (p && strchr(hs, ':'))
			sbuf_addf(&list, "[%s]:%" JSON_INTEGER_FORMAT, hs,
				  json_integer_value(p));
		else if (p)
			sbuf_addf(&list, "%s:%" JSON_INTEGER_FORMAT, hs,
				  json_integer_value(p));
		else
			sbuf_addstr(&list, hs);
	}
	rc = domain_set(d, "fallbacks", list.buf, conf, err);
out:
	sbuf_release(&list);
	return rc;
}

/* "destination": {"host": IP, "port": N} or null */
static int patch_destination(struct domain *d, const json_t *v,
			     const struct conf *conf, struct error *err)
{
	const char *key;
	json_t *m;

	if (json_is_null(v)) {
		if (d->mode == MODE_POP3)
			return 0;
		return error_set(err, ERR_INVALID, "destination",
				 "a %s domain needs a destination",
				 domain_mode_names[d->mode]);
	}
	if (!json_is_object(v))
		return type_error(err, "destination",
				  "an object {\"host\": IP, \"port\": N}");
	json_object_foreach((json_t *)v, key, m)
	{
		if (strcmp(key, "host") != 0 && strcmp(key, "port") != 0) {
			struct strbuf k = STRBUF_INIT;
			int rc;

			sbuf_addesc(&k, key, 40);
			rc = error_set(err, ERR_INVALID, "destination",
				       "unknown field 'destination.%s'", k.buf);
			sbuf_release(&k);
			return rc;
		}
	}
	/* host first: a new destination starts at port 25 */
	if ((m = json_object_get(v, "host")) != NULL &&
	    patch_scalar(d, "destination.host", m, conf, err) < 0)
		return -1;
	if ((m = json_object_get(v, "port")) != NULL &&
	    patch_scalar(d, "destination.port", m, conf, err) < 0)
		return -1;
	return 0;
}

/* "spam", "spam.low", "queue": a prefix of rows' paths, not a row. */
static bool is_group(const char *path)
{
	size_t i, n = strlen(path);

	if (domain_field(path) != NULL)
		return false;
	for (i = 0; i < FLD_COUNT; i++)
		if (strncmp(domain_fields[i].path, path, n) == 0 &&
		    domain_fields[i].path[n] == '.')
			return true;
	return false;
}

/* A read-only member as GET shows it: taken back when it equals the
 * record's own value (a GET document round-trips), refused when it
 * differs (never taken from input).  "propagation" is a report, not
 * part of the record: any object of its shape is ignored. */
static int readonly_same(const struct domain *d, const char *key,
			 const json_t *v, struct error *err)
{
	json_t *cur = domain_to_json(d, NULL);
	bool same;

	if (strcmp(key, "propagation") == 0)
		same = json_is_object(v) &&
		       json_is_integer(json_object_get(v, "sequence")) &&
		       json_is_integer(json_object_get(v, "relays_applied")) &&
		       json_is_integer(json_object_get(v, "relays_total")) &&
		       json_object_size(v) == 3;
	else
		same = json_equal(json_object_get(cur, key), v);
	json_decref(cur);
	if (same)
		return 0;
	return error_set(err, ERR_INVALID, key, "%s is read-only", key);
}

static int patch_object(struct domain *d, const json_t *obj, const char *prefix,
			const struct conf *conf, struct error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		char path[ERROR_FIELD_MAX];
		int n;

		n = snprintf(path, sizeof(path), "%s%s%s", prefix,
			     prefix[0] ? "." : "", key);
		if (n < 0 || (size_t)n >= sizeof(path) ||
		    strlen(key) != strcspn(key, ".")) {
			struct strbuf k = STRBUF_INIT;
			int rc;

			sbuf_addesc(&k, key, 40);
			rc = error_set(err, ERR_INVALID, NULL,
				       "unknown field '%s'", k.buf);
			sbuf_release(&k);
			return rc;
		}
		if (prefix[0] == '\0' && domain_field_readonly(key)) {
			if (readonly_same(d, key, v, err) < 0)
				return -1;
		} else if (prefix[0] == '\0' &&
			   strcmp(key, "destination") == 0) {
			if (patch_destination(d, v, conf, err) < 0)
				return -1;
		} else if (prefix[0] == '\0' && strcmp(key, "fallbacks") == 0) {
			if (patch_fallbacks(d, v, conf, err) < 0)
				return -1;
		} else if (is_group(path)) {
			if (!json_is_object(v))
				return type_error(err, path, "an object");
			if (patch_object(d, v, path, conf, err) < 0)
				return -1;
		} else if (patch_scalar(d, path, v, conf, err) < 0) {
			return -1;
		}
	}
	return 0;
}

int domain_patch(struct domain *d, const json_t *patch, const struct conf *conf,
		 struct error *err)
{
	struct domain copy = *d;
	json_t *rest;
	const json_t *v;
	int rc;

	if (!json_is_object(patch))
		return error_set(err, ERR_INVALID, NULL,
				 "a domain must be a JSON object");
	/* name and mode may be present (apply documents) but not change */
	if ((v = json_object_get(patch, "name")) != NULL) {
		struct domain_name dn;

		if (!json_is_string(v))
			return type_error(err, "name", "a string");
		if (domain_name_parse(json_string_value(v), &dn, err) < 0)
			return -1;
		if (strcmp(dn.alabel, d->name.alabel) != 0)
			return error_set(err, ERR_INVALID, "name",
					 "name is read-only");
	}
	if ((v = json_object_get(patch, "mode")) != NULL &&
	    (!json_is_string(v) ||
	     strcmp(json_string_value(v), domain_mode_names[d->mode]) != 0))
		return error_set(err, ERR_INVALID, "mode",
				 "mode changes only through 'feedctl switch'");
	rest = json_deep_copy(patch);
	json_object_del(rest, "name");
	json_object_del(rest, "mode");
	rc = patch_object(&copy, rest, "", conf, err);
	json_decref(rest);
	if (rc < 0)
		return -1;
	*d = copy;
	return 0;
}

/* ---- strict loading ------------------------------------------------ */

static bool too_deep(const json_t *j, int depth)
{
	const char *key;
	json_t *v;
	size_t i;

	if (!json_is_object(j) && !json_is_array(j))
		return false;
	if (depth > JSON_DEPTH_MAX)
		return true;
	if (json_is_object(j)) {
		json_object_foreach((json_t *)j, key, v)
		{
			if (too_deep(v, depth + 1))
				return true;
		}
	} else {
		json_array_foreach(j, i, v)
		{
			if (too_deep(v, depth + 1))
				return true;
		}
	}
	return false;
}

/*
 * A string holding NUL (\u0000) is no valid value of any field: refuse
 * it naming the field's path ("spam.low.text"; an array's elements are
 * named by the array: "fallbacks"; in an array of domains, as in an
 * apply document, by their own paths), so the API answers 422 like for any bad
 * value. Called after too_deep(): the recursion is bounded.
 */
static int nul_in_string(const json_t *j, const char *path, bool in_array,
			 struct error *err)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_string(j)) {
		if (strlen(json_string_value(j)) == json_string_length(j))
			return 0;
		return error_set(err, ERR_INVALID, path[0] ? path : NULL,
				 "%s must not hold a NUL character",
				 path[0] ? path : "a string");
	}
	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
		{
			if (nul_in_string(v, path, path[0] != '\0', err) < 0)
				return -1;
		}
		return 0;
	}
	if (!json_is_object(j))
		return 0;
	json_object_foreach((json_t *)j, key, v)
	{
		char sub[ERROR_FIELD_MAX];
		int n = snprintf(sub, sizeof(sub), "%s%s%s", path,
				 path[0] ? "." : "", key);

		if (in_array || n < 0 || (size_t)n >= sizeof(sub))
			(void)snprintf(sub, sizeof(sub), "%s", path);
		if (nul_in_string(v, sub, in_array, err) < 0)
			return -1;
	}
	return 0;
}

json_t *json_load_strict(const char *buf, size_t len, size_t max,
			 struct error *err)
{
	json_error_t je;
	json_t *j;

	if (len > max) {
		error_set(err, ERR_INVALID, NULL,
			  "document larger than %zu bytes", max);
		return NULL;
	}
	/* jansson refuses invalid UTF-8, raw NUL, trailing data and, with
	 * this flag, duplicate keys; \u0000 in a string is let through to
	 * be refused below as a bad value of its field */
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (j == NULL) {
		error_set(err, ERR_INVALID, NULL,
			  "invalid JSON at line %d, column %d: %s", je.line,
			  je.column, je.text);
		return NULL;
	}
	if (too_deep(j, 1)) {
		json_decref(j);
		error_set(err, ERR_INVALID, NULL,
			  "JSON nested deeper than %d levels", JSON_DEPTH_MAX);
		return NULL;
	}
	if (nul_in_string(j, "", false, err) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* ---- the JSON Schemas of the record (OpenAPI 3.1, lib/openapi.c) ---- */

static json_t *names_array(const char *const *names)
{
	json_t *a = json_array();

	for (; names && *names; names++)
		json_array_append_new(a, json_string(*names));
	return a;
}

static json_t *nullable(const char *type)
{
	return json_pack("[s, s]", type, "null");
}

/* {"host": IP, "port": N}: a destination or a fallback */
static json_t *dest_schema(const struct field *port)
{
	return json_pack("{s:s, s:{s:{s:s, s:s}, s:{s:s, s:I, s:I}}, s:b}",
			 "type", "object", "properties", "host", "type",
			 "string", "description", "an IP address", "port",
			 "type", "integer", "minimum", (json_int_t)port->min,
			 "maximum", (json_int_t)port->max,
			 "additionalProperties", 0);
}

/* One row of fields.def as a schema: its type, bounds and names. */
static json_t *field_schema(const struct field *f, enum domain_schema kind)
{
	bool in = kind != DOMAIN_SCHEMA_RECORD;
	struct strbuf desc = STRBUF_INIT;
	json_t *s = NULL;

	switch (f->type) {
	case FT_BOOL:
		s = json_pack("{s:s}", "type", "boolean");
		break;
	case FT_INT:
		s = json_pack("{s:s, s:I, s:I}", "type", "integer", "minimum",
			      (json_int_t)f->min, "maximum",
			      (json_int_t)f->max);
		break;
	case FT_ENUM:
		s = json_pack("{s:s, s:o}", "type", "string", "enum",
			      names_array(f->names));
		break;
	case FT_TEXT:
		/* max is in bytes: at most as many characters */
		s = json_pack("{s:s, s:I}", "type", "string", "maxLength",
			      (json_int_t)f->max);
		break;
	case FT_TIME:
		/* input: RFC 3339 or YYYY-MM-DD, within max days */
		s = json_pack("{s:o}", "type", nullable("string"));
		if (!in)
			json_object_set_new(s, "format",
					    json_string("date-time"));
		break;
	case FT_FINGERPRINT:
		s = json_pack("{s:o}", "type", nullable("string"));
		if (!in)
			json_object_set_new(s, "pattern",
					    json_string("^[0-9a-f]{64}$"));
		break;
	case FT_CUSTOM:
		break;
	}
	if (s == NULL)
		return NULL;
	sbuf_addf(&desc, "%s%s%s", f->label, f->help ? ": " : "",
		  f->help ? f->help : "");
	json_object_set_new(s, "description", json_string(desc.buf));
	json_object_set_new(s, "x-mxfeed-field", json_string(f->path));
	sbuf_release(&desc);
	return s;
}

static json_t *object_schema(void)
{
	return json_pack("{s:s, s:{}, s:b}", "type", "object", "properties",
			 "additionalProperties", 0);
}

/* The "properties" of the object at "a.b" of path "a.b.c" under root's,
 * made when missing; the leaf's key in *leaf. */
static json_t *schema_parent(json_t *root, const char *path, const char **leaf)
{
	json_t *props = json_object_get(root, "properties");
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL) {
		json_t *sub =
			json_object_getn(props, path, (size_t)(dot - path));

		if (sub == NULL) {
			sub = object_schema();
			json_object_setn_new(props, path, (size_t)(dot - path),
					     sub);
		}
		props = json_object_get(sub, "properties");
		path = dot + 1;
	}
	*leaf = path;
	return props;
}

/* A record: every member is always there. */
static void require_all(json_t *s)
{
	json_t *props = json_object_get(s, "properties"), *v, *req;
	const char *key;

	if (props == NULL)
		return;
	req = json_array();
	json_object_foreach(props, key, v)
	{
		json_array_append_new(req, json_string(key));
		require_all(v);
		require_all(json_object_get(v, "items"));
	}
	json_object_set_new(s, "required", req);
}

static void bookkeeping(json_t *props, enum domain_schema kind)
{
	bool create = kind == DOMAIN_SCHEMA_CREATE;
	json_t *name, *mode;

	name = json_pack("{s:s, s:s}", "type", "string", "description",
			 "the domain's A-label (a U-label is taken on input "
			 "and converted)");
	mode = json_pack("{s:s, s:o, s:s}", "type", "string", "enum",
			 names_array(domain_mode_names), "description",
			 "pop3, feed or backup; changed by POST .../switch");
	if (!create) {
		json_object_set_new(name, "readOnly", json_true());
		json_object_set_new(mode, "readOnly", json_true());
	}
	json_object_set_new(props, "name", name);
	json_object_set_new(props, "mode", mode);
	if (create)
		return;
	json_object_set_new(
		props, "unicode_name",
		json_pack("{s:s, s:b}", "type", "string", "readOnly", 1));
	json_object_set_new(
		props, "temp_pop3",
		json_pack("{s:o, s:{s:{s:s, s:s}, s:{s:s}}, s:b, s:b, s:s}",
			  "type", nullable("object"), "properties", "since",
			  "type", "string", "format", "date-time", "by", "type",
			  "string", "additionalProperties", 0, "readOnly", 1,
			  "description",
			  "temporary POP3 in force (since, by whom), or null"));
}

static void bookkeeping_tail(json_t *props)
{
	static const char *const times[] = { "created_at", "updated_at", NULL };
	static const char *const who[] = { "created_by", "updated_by", NULL };
	size_t i;

	json_object_set_new(props, "version",
			    json_pack("{s:s, s:i, s:b, s:s}", "type", "integer",
				      "minimum", 1, "readOnly", 1,
				      "description",
				      "the record's version: the ETag, and "
				      "If-Match of a change"));
	for (i = 0; times[i]; i++)
		json_object_set_new(props, times[i],
				    json_pack("{s:o, s:s, s:b}", "type",
					      nullable("string"), "format",
					      "date-time", "readOnly", 1));
	for (i = 0; who[i]; i++)
		json_object_set_new(props, who[i],
				    json_pack("{s:s, s:b}", "type", "string",
					      "readOnly", 1));
	json_object_set_new(props, "ticket",
			    json_pack("{s:o, s:b, s:s}", "type",
				      nullable("string"), "readOnly", 1,
				      "description",
				      "the ticket of the latest change, or "
				      "null"));
	json_object_set_new(
		props, "propagation",
		json_pack("{s:o, s:{s:{s:s}, s:{s:s}, s:{s:s}}, s:b, s:b, "
			  "s:s}",
			  "type", nullable("object"), "properties", "sequence",
			  "type", "integer", "relays_applied", "type",
			  "integer", "relays_total", "type", "integer",
			  "additionalProperties", 0, "readOnly", 1,
			  "description",
			  "how far the latest change has reached the relays "
			  "(null in lists that do not report it)"));
}

json_t *domain_json_schema(enum domain_schema kind)
{
	const struct field *port = &domain_fields[FLD_DEST_PORT];
	bool in = kind != DOMAIN_SCHEMA_RECORD;
	json_t *root = object_schema(), *props;
	size_t i;

	props = json_object_get(root, "properties");
	bookkeeping(props, kind);
	for (i = 0; i < FLD_COUNT; i++) {
		const struct field *f = &domain_fields[i];
		const char *leaf;
		json_t *s, *parent, *item;

		if (f->flags & FF_CLI_ONLY || f->id == FLD_DEST_PORT)
			continue;
		if (f->id == FLD_DEST_HOST) {
			s = dest_schema(port);
			json_object_set_new(s, "type", nullable("object"));
			json_object_set_new(
				s, "description",
				json_string("the customer's server "
					    "(destination.host, "
					    "destination.port); null for pop3 "
					    "domains"));
			json_object_set_new(
				json_object_get(
					json_object_get(s, "properties"),
					"host"),
				"x-mxfeed-field", json_string(f->path));
			json_object_set_new(
				json_object_get(
					json_object_get(s, "properties"),
					"port"),
				"x-mxfeed-field", json_string(port->path));
			json_object_set_new(props, "destination", s);
			continue;
		}
		if (f->id == FLD_FALLBACKS) {
			item = dest_schema(port);
			if (in)
				item = json_pack("{s:[o, {s:s, s:s}]}", "oneOf",
						 item, "type", "string",
						 "description", "IP[:PORT]");
			json_object_set_new(
				props, "fallbacks",
				json_pack("{s:s, s:o, s:i, s:s, s:s}", "type",
					  "array", "items", item, "maxItems",
					  DOMAIN_FALLBACKS_MAX, "description",
					  f->help, "x-mxfeed-field", f->path));
			continue;
		}
		if ((s = field_schema(f, kind)) == NULL)
			BUG("field %s has no schema", f->path);
		parent = schema_parent(root, f->path, &leaf);
		json_object_set_new(parent, leaf, s);
	}
	if (kind == DOMAIN_SCHEMA_RECORD) {
		bookkeeping_tail(props);
		require_all(root);
	} else {
		if (kind == DOMAIN_SCHEMA_PATCH)
			bookkeeping_tail(props);
		json_object_set_new(
			props, "force",
			json_pack("{s:s, s:b, s:s}", "type", "boolean",
				  "writeOnly", 1, "description",
				  "true: skip the probe of a new destination "
				  "(feedctl --force); not stored"));
		if (kind == DOMAIN_SCHEMA_CREATE)
			json_object_set_new(
				root, "required",
				json_pack("[s, s]", "name", "mode"));
	}
	return root;
}
