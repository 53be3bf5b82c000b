/*
 * model - the domain record of SPEC section 3 and its rules
 *
 * See model.h.  domain_fields[] is fields.def made into descriptors:
 * what "feedctl set", the API's merge patches, "feedctl apply", the
 * store's row reader and the generators take and give.  Each row is
 * validated by its type (bounds, enum names, text rules) or, for the
 * destination rows, by a hand-written setter.  domain_set() works on a
 * copy and writes back only on success, so a refused setting leaves the
 * record exactly as it was.  Only the rules across fields are written
 * out by hand (domain_check: a pop3 domain has no destination and the
 * FF_DEST_ONLY rows at their pop3 defaults; verify needs a fingerprint).
 */
#include "model.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain_json.h"
#include "util/parse.h"
#include "util/timefmt.h"

const char *const domain_mode_names[] = { "pop3", "feed", "backup", NULL };
const char *const spam_action_names[] = { "none",   "header",	  "subject",
					  "delete", "quarantine", NULL };
const char *const spam_level_names[] = { "low", "med", "high", NULL };
const char *const recipients_mode_names[] = { "verify", "list", "any", NULL };

/* ---- the descriptors of fields.def -------------------------------- */

/* clang-format off */
#define FIELD(id, path, member, type, ctype, sql, d0, d1, d2, min, max,       \
	      names, flags, group, label, help)                                \
	[FLD_##id] = { FLD_##id, path, FT_##type,                              \
		       offsetof(struct domain, member),                        \
		       sizeof(((struct domain *)0)->member), sql,              \
		       { d0, d1, d2 }, min, max, names, flags, group, label,   \
		       help },
#define FIELD_AT FIELD
const struct field domain_fields[FLD_COUNT] = {
#include "fields.def"
};
#undef FIELD
#undef FIELD_AT

/* an enum member is read and written as an int */
#define FIELD(id, path, member, type, ctype, ...)                              \
	_Static_assert(FT_##type != FT_ENUM ||                                 \
			       sizeof(((struct domain *)0)->member) ==         \
				       sizeof(int),                            \
		       "enum member " path " is not int-sized");
#define FIELD_AT FIELD
#include "fields.def"
#undef FIELD
#undef FIELD_AT
/* clang-format on */

static void *member(struct domain *d, const struct field *f)
{
	return (char *)d + f->off;
}

static const void *cmember(const struct domain *d, const struct field *f)
{
	return (const char *)d + f->off;
}

bool domain_field_bool(const struct domain *d, const struct field *f)
{
	if (f->type != FT_BOOL)
		BUG("%s is not a boolean", f->path);
	return *(const bool *)cmember(d, f);
}

long domain_field_int(const struct domain *d, const struct field *f)
{
	if (f->type != FT_INT && f->type != FT_ENUM)
		BUG("%s is not a number", f->path);
	return *(const int *)cmember(d, f);
}

const char *domain_field_str(const struct domain *d, const struct field *f)
{
	if (f->type == FT_ENUM)
		return f->names[*(const int *)cmember(d, f)];
	if (f->type != FT_TEXT && f->type != FT_FINGERPRINT)
		BUG("%s is not a text", f->path);
	return cmember(d, f);
}

int64_t domain_field_time(const struct domain *d, const struct field *f)
{
	if (f->type != FT_TIME)
		BUG("%s is not a time", f->path);
	return *(const int64_t *)cmember(d, f);
}

const struct field *domain_field(const char *path)
{
	size_t i;

	for (i = 0; i < FLD_COUNT; i++)
		if (strcmp(domain_fields[i].path, path) == 0)
			return &domain_fields[i];
	return NULL;
}

static const char *const readonly[] = {
	"name",	      "unicode_name", "mode",	     "temp_pop3",
	"version",    "created_at",   "created_by",  "updated_at",
	"updated_by", "ticket",	      "propagation", NULL
};

bool domain_field_readonly(const char *path)
{
	return parse_enum(path, readonly) >= 0;
}

/* ---- the hand-written setters: the destination rows ---------------- */

static int no_dest_on_pop3(const struct domain *d, const char *path,
			   struct error *err)
{
	if (d->mode != MODE_POP3)
		return 0;
	return error_set(err, ERR_INVALID, path,
			 "pop3 domains have no destination (use 'feedctl "
			 "switch' to make it a feed)");
}

static int set_dest_host(struct domain *d, const char *path, const char *v,
			 const struct conf *conf, struct error *err)
{
	if (no_dest_on_pop3(d, path, err) < 0 ||
	    dest_ip_parse(v, conf, &d->dest.ip, path, err) < 0)
		return -1;
	if (!d->has_dest)
		d->dest.port = DEST_DEFAULT_PORT;
	d->has_dest = true;
	return 0;
}

static int set_dest_port(struct domain *d, const char *path, const char *v,
			 const struct conf *conf, struct error *err)
{
	(void)conf;
	if (no_dest_on_pop3(d, path, err) < 0 ||
	    dest_port_parse(v, &d->dest.port, path, err) < 0)
		return -1;
	if (!d->has_dest)
		return error_set(err, ERR_INVALID, path,
				 "set destination.host first");
	return 0;
}

static int set_dest(struct domain *d, const char *path, const char *v,
		    const struct conf *conf, struct error *err)
{
	if (no_dest_on_pop3(d, path, err) < 0 ||
	    dest_parse(v, conf, &d->dest, path, err) < 0)
		return -1;
	d->has_dest = true;
	return 0;
}

static int set_fallbacks(struct domain *d, const char *path, const char *v,
			 const struct conf *conf, struct error *err)
{
	char buf[1024], *p = buf, *item;
	size_t n = 0, i;

	/* an empty list is what a pop3 domain has: setting it is a no-op */
	if (v[0] == '\0') {
		d->nfallbacks = 0;
		return 0;
	}
	if (no_dest_on_pop3(d, path, err) < 0)
		return -1;
	if (strlcpy_checked(buf, v, sizeof(buf)) < 0)
		return error_set(err, ERR_INVALID, path,
				 "fallbacks: list too long");
	while ((item = strsep(&p, ",")) != NULL) {
		if (n >= DOMAIN_FALLBACKS_MAX)
			return error_set(err, ERR_INVALID, path,
					 "fallbacks: at most %d addresses",
					 DOMAIN_FALLBACKS_MAX);
		if (dest_parse(item, conf, &d->fallbacks[n], path, err) < 0)
			return -1;
		for (i = 0; i < n; i++)
			if (dest_equal(&d->fallbacks[i], &d->fallbacks[n]))
				return error_set(
					err, ERR_INVALID, path,
					"fallbacks: %s is listed twice",
					d->fallbacks[n].ip.text);
		n++;
	}
	d->nfallbacks = n;
	return 0;
}

static int set_custom(struct domain *d, const struct field *f, const char *v,
		      const struct conf *conf, struct error *err)
{
	switch (f->id) {
	case FLD_DEST_HOST:
		return set_dest_host(d, f->path, v, conf, err);
	case FLD_DEST_PORT:
		return set_dest_port(d, f->path, v, conf, err);
	case FLD_DEST:
		return set_dest(d, f->path, v, conf, err);
	case FLD_FALLBACKS:
		return set_fallbacks(d, f->path, v, conf, err);
	default:
		BUG("%s has no setter", f->path);
	}
}

/* ---- the typed setters ---------------------------------------------- */

/* "a, b or c" of an enum's names */
static void names_text(const char *const *names, struct strbuf *out)
{
	size_t i;

	for (i = 0; names[i]; i++)
		sbuf_addf(out, "%s%s",
			  i == 0		 ? ""
			  : names[i + 1] == NULL ? " or "
						 : ", ",
			  names[i]);
}

static int set_enum(struct domain *d, const struct field *f, const char *v,
		    struct error *err)
{
	int a = parse_enum(v, f->names);
	struct strbuf m = STRBUF_INIT;
	int rc;

	if (a >= 0) {
		*(int *)member(d, f) = a;
		return 0;
	}
	names_text(f->names, &m);
	rc = error_set(err, ERR_INVALID, f->path, "%s must be %s", f->path,
		       m.buf);
	sbuf_release(&m);
	return rc;
}

static int set_text(struct domain *d, const struct field *f, const char *v,
		    struct error *err)
{
	size_t n = strlen(v);

	if (n > (size_t)f->max)
		return error_set(err, ERR_INVALID, f->path,
				 "%s must be at most %ld bytes", f->path,
				 f->max);
	if (!utf8_printable(v, n))
		return error_set(err, ERR_INVALID, f->path,
				 "%s must be printable UTF-8 without control "
				 "characters",
				 f->path);
	if (strlcpy_checked(member(d, f), v, f->size) < 0)
		return error_set(err, ERR_INVALID, f->path, "too long");
	return 0;
}

static int set_time(struct domain *d, const struct field *f, const char *v,
		    struct error *err)
{
	int64_t t, now = (int64_t)time(NULL), *m = member(d, f);

	if (v[0] == '\0' || strcmp(v, "none") == 0) {
		*m = 0;
		return 0;
	}
	if (time_parse_utc(v, &t, f->path, err) < 0)
		return -1;
	/* a date means "until the end of that day" (SPEC section 11) */
	if (strlen(v) == 10)
		t += 86400 - 1;
	if (t == *m)
		return 0; /* unchanged: re-applying a document is fine */
	if (t <= now || t > now + (int64_t)f->max * 86400)
		return error_set(err, ERR_INVALID, f->path,
				 "%s must lie in the next %ld days", f->path,
				 f->max);
	*m = t;
	return 0;
}

/* "" or "none": null; else a fingerprint as people paste it */
static int set_fingerprint(struct domain *d, const struct field *f,
			   const char *v, struct error *err)
{
	char fp[TLS_FP_HEX + 1];

	if (v[0] == '\0' || strcmp(v, "none") == 0) {
		*(char *)member(d, f) = '\0';
		return 0;
	}
	if (tls_fingerprint_parse(v, fp, f->path, err) < 0)
		return -1;
	memcpy(member(d, f), fp, sizeof(fp));
	return 0;
}

int domain_field_set(struct domain *d, const struct field *f, const char *v,
		     const struct conf *conf, struct error *err)
{
	long n;

	switch (f->type) {
	case FT_BOOL:
		return parse_bool(v, member(d, f), f->path, err);
	case FT_INT:
		if (parse_long(v, f->min, f->max, &n, f->path, err) < 0)
			return -1;
		*(int *)member(d, f) = (int)n;
		return 0;
	case FT_ENUM:
		return set_enum(d, f, v, err);
	case FT_TEXT:
		return set_text(d, f, v, err);
	case FT_TIME:
		return set_time(d, f, v, err);
	case FT_FINGERPRINT:
		return set_fingerprint(d, f, v, err);
	case FT_CUSTOM:
		return set_custom(d, f, v, conf, err);
	}
	BUG("%s: bad field type", f->path);
}

int domain_field_load(struct domain *d, const struct field *f, const char *v,
		      struct error *err)
{
	int64_t n;
	int rc;

	switch (f->type) {
	case FT_BOOL:
		if (strcmp(v, "t") != 0 && strcmp(v, "f") != 0)
			return error_set(err, ERR_INTERNAL, f->path,
					 "stored %s is not a boolean", f->path);
		rc = domain_field_set(d, f, v[0] == 't' ? "on" : "off", NULL,
				      err);
		break;
	case FT_TIME:
		/* a past time is fine in a row: only input must be ahead */
		if (!parse_i64(v, &n) || n < 0)
			return error_set(err, ERR_INTERNAL, f->path,
					 "stored %s is not a time", f->path);
		*(int64_t *)member(d, f) = n;
		rc = 0;
		break;
	case FT_CUSTOM:
		BUG("%s is read by hand", f->path);
	default:
		rc = domain_field_set(d, f, v, NULL, err);
		break;
	}
	return rc < 0 ? -1 : 0;
}

void domain_field_text(const struct domain *d, const struct field *f,
		       enum field_style style, struct strbuf *out)
{
	char when[32];
	int64_t t;

	switch (f->type) {
	case FT_BOOL:
		if (style == FIELD_TEXT_SNAP)
			sbuf_addstr(out, domain_field_bool(d, f) ? "1" : "0");
		else
			sbuf_addstr(out,
				    domain_field_bool(d, f) ? "on" : "off");
		return;
	case FT_INT:
		sbuf_addint(out, domain_field_int(d, f));
		return;
	case FT_ENUM:
	case FT_TEXT:
		sbuf_addstr(out, domain_field_str(d, f));
		return;
	case FT_FINGERPRINT:
		if (domain_field_str(d, f)[0] != '\0')
			sbuf_addstr(out, domain_field_str(d, f));
		else if (style == FIELD_TEXT_INPUT)
			sbuf_addstr(out, "none");
		return;
	case FT_TIME:
		t = domain_field_time(d, f);
		if (style == FIELD_TEXT_SNAP) {
			sbuf_addint(out, t);
		} else if (t == 0) {
			sbuf_addstr(out, "none");
		} else {
			time_format_utc(t, when, sizeof(when));
			sbuf_addstr(out, when);
		}
		return;
	case FT_CUSTOM:
		break;
	}
	BUG("%s has no text form", f->path);
}

void domain_field_syntax(const struct field *f, struct strbuf *out)
{
	size_t i;

	switch (f->type) {
	case FT_BOOL:
		sbuf_addstr(out, "on|off");
		return;
	case FT_INT:
		sbuf_addf(out, "%ld-%ld", f->min, f->max);
		return;
	case FT_ENUM:
		for (i = 0; f->names[i]; i++)
			sbuf_addf(out, "%s%s", i ? "|" : "", f->names[i]);
		return;
	case FT_TEXT:
		sbuf_addf(out, "TEXT (at most %ld bytes)", f->max);
		return;
	case FT_TIME:
		sbuf_addstr(out, "YYYY-MM-DD|YYYY-MM-DDTHH:MM:SSZ|none");
		return;
	case FT_FINGERPRINT:
		sbuf_addstr(out, "SHA256-HEX|none (64 hex digits, ':' pairs "
				 "accepted)");
		return;
	case FT_CUSTOM:
		break;
	}
	switch (f->id) {
	case FLD_DEST_HOST:
		sbuf_addstr(out, "IP");
		return;
	case FLD_DEST_PORT:
		sbuf_addf(out, "%ld-%ld", f->min, f->max);
		return;
	case FLD_DEST:
		sbuf_addstr(out, "IP[:PORT]");
		return;
	case FLD_FALLBACKS:
		sbuf_addstr(out, "IP[:PORT],...");
		return;
	default:
		BUG("%s has no syntax", f->path);
	}
}

/* ---- init, set, mode defaults ---------------------------------------- */

static bool field_equal(const struct domain *a, const struct domain *b,
			const struct field *f);

/* A typed FF_DEST_ONLY row back at its pop3 default (none: null). */
static void set_pop3_default(struct domain *d, const struct field *f)
{
	struct error e = ERROR_INIT;
	const char *v = f->def[MODE_POP3] ? f->def[MODE_POP3] : "";

	if (domain_field_set(d, f, v, NULL, &e) < 0)
		BUG("pop3 default of %s: %s", f->path, error_msg(&e));
}

static bool at_pop3_default(const struct domain *d, const struct field *f)
{
	struct domain def = *d;

	set_pop3_default(&def, f);
	return field_equal(d, &def, f);
}

static int pop3_refusal(const struct field *f, struct error *err)
{
	return error_set(err, ERR_INVALID, f->path,
			 "pop3 domains have no destination: %s is for feed "
			 "and backup domains",
			 f->path);
}

void domain_clear_dest(struct domain *d)
{
	size_t i;

	d->has_dest = false;
	memset(&d->dest, 0, sizeof(d->dest));
	d->nfallbacks = 0;
	memset(d->fallbacks, 0, sizeof(d->fallbacks));
	for (i = 0; i < FLD_COUNT; i++) {
		const struct field *f = &domain_fields[i];

		if ((f->flags & FF_DEST_ONLY) && f->type != FT_CUSTOM)
			set_pop3_default(d, f);
	}
}

int domain_default_queue_days(enum domain_mode mode)
{
	return (int)strtol(domain_fields[FLD_QUEUE_DAYS].def[mode], NULL, 10);
}

static const char *field_default(const struct field *f, enum domain_mode mode,
				 const struct conf *conf, char *buf,
				 size_t size)
{
	if (f->flags & FF_SITE_DEFAULT) {
		(void)snprintf(buf, size, "%d",
			       conf->max_message_mb > 0 ? conf->max_message_mb
							: 50);
		return buf;
	}
	return f->def[mode];
}

void domain_init(struct domain *d, const struct domain_name *name,
		 enum domain_mode mode, const struct conf *conf)
{
	struct error e = ERROR_INIT;
	char buf[32];
	size_t i;

	memset(d, 0, sizeof(*d));
	d->name = *name;
	d->mode = mode;
	for (i = 0; i < FLD_COUNT; i++) {
		const struct field *f = &domain_fields[i];
		const char *v = field_default(f, mode, conf, buf, sizeof(buf));

		/* the table's defaults pass their own validators */
		if (v != NULL && domain_field_set(d, f, v, conf, &e) < 0)
			BUG("default of %s: %s", f->path, error_msg(&e));
	}
	error_release(&e);
}

void domain_mode_defaults(struct domain *d, enum domain_mode from,
			  const struct conf *conf)
{
	struct error e = ERROR_INIT;
	struct strbuf cur = STRBUF_INIT;
	char buf[32], buf2[32];
	size_t i;

	for (i = 0; i < FLD_COUNT; i++) {
		const struct field *f = &domain_fields[i];
		const char *old =
			field_default(f, from, conf, buf, sizeof(buf));
		const char *nv =
			field_default(f, d->mode, conf, buf2, sizeof(buf2));
		struct domain probe = *d;

		if (!(f->flags & FF_MODE_DEFAULT) || old == NULL || nv == NULL)
			continue;
		/* compare canonical forms: the old default, set and shown */
		if (domain_field_set(&probe, f, old, conf, &e) < 0)
			BUG("default of %s: %s", f->path, error_msg(&e));
		sbuf_reset(&cur);
		domain_field_text(d, f, FIELD_TEXT_INPUT, &cur);
		{
			struct strbuf def = STRBUF_INIT;
			bool same;

			domain_field_text(&probe, f, FIELD_TEXT_INPUT, &def);
			same = strcmp(def.buf, cur.buf) == 0;
			sbuf_release(&def);
			if (same && domain_field_set(d, f, nv, conf, &e) < 0)
				BUG("default of %s: %s", f->path,
				    error_msg(&e));
		}
	}
	sbuf_release(&cur);
	error_release(&e);
}

int domain_set(struct domain *d, const char *path, const char *value,
	       const struct conf *conf, struct error *err)
{
	const struct field *f = domain_field(path);
	struct domain copy = *d;
	struct strbuf p = STRBUF_INIT;
	int rc;

	if (f == NULL) {
		sbuf_addesc(&p, path, 40);
		if (strcmp(path, "mode") == 0)
			rc = error_set(err, ERR_INVALID, "mode",
				       "mode changes only through 'feedctl "
				       "switch'");
		else if (domain_field_readonly(path))
			rc = error_set(err, ERR_INVALID, path,
				       "%s is read-only", p.buf);
		else
			rc = error_set(err, ERR_INVALID, NULL,
				       "unknown setting '%s' (see 'feedctl "
				       "help set')",
				       p.buf);
		sbuf_release(&p);
		return rc;
	}
	if (value == NULL)
		value = "";
	if (strlen(value) > 1024)
		return error_set(err, ERR_INVALID, path, "%s: value too long",
				 path);
	if (domain_field_set(&copy, f, value, conf, err) < 0)
		return -1;
	/* the same value is fine: a pop3 domain's own document applies */
	if ((f->flags & FF_DEST_ONLY) && f->type != FT_CUSTOM &&
	    copy.mode == MODE_POP3 && !field_equal(d, &copy, f))
		return pop3_refusal(f, err);
	*d = copy;
	return 0;
}

/* ---- whole-record rules ------------------------------------------ */

/* A member's value passes its row's rules again (a row read back, or a
 * record changed in memory since it was set): the same bounds and the
 * same messages as the setters, without text round trips (the
 * generators check every domain of a snapshot). */
static int field_valid(const struct domain *d, const struct field *f,
		       struct error *err)
{
	const char *t;
	long v, n = 0;
	size_t len;

	switch (f->type) {
	case FT_INT:
		v = domain_field_int(d, f);
		if (v < f->min || v > f->max)
			return error_set(err, ERR_INVALID, f->path,
					 "%s must be a whole number from %ld "
					 "to %ld",
					 f->path, f->min, f->max);
		return 0;
	case FT_ENUM:
		v = *(const int *)cmember(d, f);
		while (f->names[n] != NULL)
			n++;
		if (v < 0 || v >= n)
			return error_set(err, ERR_INVALID, f->path,
					 "%s holds no known value", f->path);
		return 0;
	case FT_TEXT:
		t = cmember(d, f);
		len = strnlen(t, f->size);
		if (len >= f->size || len > (size_t)f->max)
			return error_set(err, ERR_INVALID, f->path,
					 "%s must be at most %ld bytes",
					 f->path, f->max);
		if (!utf8_printable(t, len))
			return error_set(err, ERR_INVALID, f->path,
					 "%s must be printable UTF-8 without "
					 "control characters",
					 f->path);
		return 0;
	case FT_FINGERPRINT:
		t = cmember(d, f);
		len = strnlen(t, f->size);
		if (len != 0 &&
		    (len != TLS_FP_HEX || strspn(t, "0123456789abcdef") != len))
			return error_set(err, ERR_INVALID, f->path,
					 "%s holds no SHA-256 fingerprint",
					 f->path);
		return 0;
	case FT_BOOL:
	case FT_TIME:	/* any stored time is fine: input is checked */
	case FT_CUSTOM: /* by hand in domain_check */
		return 0;
	}
	return 0;
}

static bool atext(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

int digest_address_check(const char *addr, const char *field, struct error *err)
{
	const char *at = strrchr(addr, '@');
	struct domain_name dn;
	struct error e = ERROR_INIT;
	size_t i, n;

	if (at == NULL || at == addr)
		return error_set(err, ERR_INVALID, field,
				 "%s must be an address LOCAL@DOMAIN", field);
	n = (size_t)(at - addr);
	if (n > 64)
		return error_set(err, ERR_INVALID, field,
				 "%s: the part before '@' must be at most 64 "
				 "bytes",
				 field);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)addr[i];

		if (c == '.' && i > 0 && i + 1 < n && addr[i + 1] != '.')
			continue;
		if (!atext(c))
			return error_set(err, ERR_INVALID, field,
					 "%s: character 0x%02x not allowed "
					 "before '@' (letters, digits, "
					 "!#$%%&'*+/=?^_`{|}~- and single dots "
					 "inside)",
					 field, c);
	}
	if (domain_name_parse(at + 1, &dn, &e) < 0) {
		error_set(err, ERR_INVALID, field, "%s: %s", field,
			  error_msg(&e));
		error_release(&e);
		return -1;
	}
	if (strcmp(dn.alabel, at + 1) != 0)
		return error_set(err, ERR_INVALID, field,
				 "%s: write the domain as %s", field,
				 dn.alabel);
	return 0;
}

int domain_check(const struct domain *d, const struct conf *conf,
		 struct error *err)
{
	size_t i;

	(void)conf;
	if (d->mode == MODE_POP3) {
		if (d->has_dest || d->nfallbacks > 0)
			return error_set(err, ERR_INVALID, "destination",
					 "pop3 domains have no destination");
		if (d->temp_pop3)
			return error_set(err, ERR_INVALID, "temp_pop3",
					 "temporary POP3 is for feed and "
					 "backup domains");
		for (i = 0; i < FLD_COUNT; i++) {
			const struct field *f = &domain_fields[i];

			if ((f->flags & FF_DEST_ONLY) && f->type != FT_CUSTOM &&
			    !at_pop3_default(d, f))
				return pop3_refusal(f, err);
		}
	} else if (!d->has_dest) {
		return error_set(err, ERR_INVALID, "destination",
				 "a %s domain needs a destination: --dest "
				 "IP[:PORT]",
				 domain_mode_names[d->mode]);
	}
	for (i = 0; i < d->nfallbacks; i++)
		if (dest_equal(&d->fallbacks[i], &d->dest))
			return error_set(err, ERR_INVALID, "fallbacks",
					 "fallbacks: %s is the destination "
					 "itself",
					 d->dest.ip.text);
	for (i = 0; i < FLD_COUNT; i++)
		if (field_valid(d, &domain_fields[i], err) < 0)
			return -1;
	if (d->quarantine_digest[0] != '\0' &&
	    digest_address_check(d->quarantine_digest, "quarantine.digest",
				 err) < 0)
		return -1;
	if (d->tls_policy == TLS_VERIFY && d->tls_fingerprint[0] == '\0')
		return error_set(err, ERR_INVALID, "tls.fingerprint",
				 "tls.policy verify needs tls.fingerprint: the "
				 "SHA-256 of the destination's certificate, as "
				 "'feedctl probe' shows it");
	return 0;
}

static bool field_equal(const struct domain *a, const struct domain *b,
			const struct field *f)
{
	switch (f->type) {
	case FT_BOOL:
		return domain_field_bool(a, f) == domain_field_bool(b, f);
	case FT_INT:
	case FT_ENUM:
		return domain_field_int(a, f) == domain_field_int(b, f);
	case FT_TEXT:
	case FT_FINGERPRINT:
		return strcmp(domain_field_str(a, f), domain_field_str(b, f)) ==
		       0;
	case FT_TIME:
		return domain_field_time(a, f) == domain_field_time(b, f);
	case FT_CUSTOM:
		return true; /* the destination: by hand */
	}
	return false;
}

bool domain_settings_equal(const struct domain *a, const struct domain *b)
{
	size_t i;

	if (strcmp(a->name.alabel, b->name.alabel) != 0 || a->mode != b->mode ||
	    a->temp_pop3 != b->temp_pop3 ||
	    (a->temp_pop3 && (a->temp_pop3_since != b->temp_pop3_since ||
			      strcmp(a->temp_pop3_by, b->temp_pop3_by) != 0)) ||
	    a->has_dest != b->has_dest ||
	    (a->has_dest && !dest_equal(&a->dest, &b->dest)) ||
	    a->nfallbacks != b->nfallbacks)
		return false;
	for (i = 0; i < a->nfallbacks; i++)
		if (!dest_equal(&a->fallbacks[i], &b->fallbacks[i]))
			return false;
	for (i = 0; i < FLD_COUNT; i++)
		if (!field_equal(a, b, &domain_fields[i]))
			return false;
	return true;
}

int actor_check(const char *s, const char *field, struct error *err)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > ACTOR_MAX || s[0] == ' ' || s[n - 1] == ' ')
		goto bad;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			goto bad;
	return 0;
bad:
	return error_set(err, ERR_INVALID, field,
			 "%s must be 1 to 64 printable ASCII characters",
			 field);
}

int spam_text_check(const char *s, const char *field, struct error *err)
{
	size_t n = strlen(s);

	if (n > SPAM_TEXT_MAX)
		return error_set(err, ERR_INVALID, field,
				 "%s must be at most %d bytes", field,
				 SPAM_TEXT_MAX);
	if (!utf8_printable(s, n))
		return error_set(err, ERR_INVALID, field,
				 "%s must be printable UTF-8 without control "
				 "characters",
				 field);
	return 0;
}
