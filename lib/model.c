/*
 * model - the domain record of SPEC section 3 and its rules
 *
 * See model.h.  settings[] is the one table of what "feedctl set", the
 * API's merge patches and "feedctl apply" may change; each entry names
 * its JSON type and the function that validates and stores a value.
 * domain_set() works on a copy and writes back only on success, so a
 * refused setting leaves the record exactly as it was.
 */
#include "model.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain_json.h"
#include "util/parse.h"

const char *const domain_mode_names[] = { "pop3", "feed", "backup", NULL };
const char *const spam_action_names[] = { "none", "header", "subject", "delete",
					  NULL };
const char *const spam_level_names[] = { "low", "med", "high", NULL };
const char *const recipients_mode_names[] = { "verify", "list", "any", NULL };

static const char *const default_spam_text[SPAM_NLEVELS] = { "[SPAM: low] ",
							     "[SPAM: med] ",
							     "[SPAM: high] " };
static const enum spam_action default_spam_action[SPAM_NLEVELS] = {
	SPAM_SUBJECT, SPAM_SUBJECT, SPAM_DELETE
};

int domain_default_queue_days(enum domain_mode mode)
{
	return mode == MODE_FEED ? 2 : mode == MODE_BACKUP ? 8 : 5;
}

void domain_init(struct domain *d, const struct domain_name *name,
		 enum domain_mode mode, const struct conf *conf)
{
	int i;

	memset(d, 0, sizeof(*d));
	d->name = *name;
	d->mode = mode;
	d->greylisting = true;
	d->spam_enabled = false;
	for (i = 0; i < SPAM_NLEVELS; i++) {
		d->spam[i].action = default_spam_action[i];
		/* the defaults fit by construction */
		if (strlcpy_checked(d->spam[i].text, default_spam_text[i],
				    sizeof(d->spam[i].text)) < 0)
			d->spam[i].text[0] = '\0';
	}
	d->queue_days = domain_default_queue_days(mode);
	d->recipients = RCPT_VERIFY;
	d->max_message_mb =
		conf->max_message_mb > 0 ? conf->max_message_mb : 50;
}

/* ---- the setting table ------------------------------------------- */

struct setting;
typedef int (*setter)(struct domain *d, const struct setting *s,
		      const char *value, const struct conf *conf,
		      struct error *err);

struct setting {
	const char *path;
	enum setting_type type;
	setter set;
	int level; /* spam level, or -1 */
};

static int no_dest_on_pop3(const struct domain *d, const char *path,
			   struct error *err)
{
	if (d->mode != MODE_POP3)
		return 0;
	return error_set(err, ERR_INVALID, path,
			 "pop3 domains have no destination (use 'feedctl "
			 "switch' to make it a feed)");
}

static int set_dest_host(struct domain *d, const struct setting *s,
			 const char *v, const struct conf *conf,
			 struct error *err)
{
	if (no_dest_on_pop3(d, s->path, err) < 0 ||
	    dest_ip_parse(v, conf, &d->dest.ip, s->path, err) < 0)
		return -1;
	if (!d->has_dest)
		d->dest.port = DEST_DEFAULT_PORT;
	d->has_dest = true;
	return 0;
}

static int set_dest_port(struct domain *d, const struct setting *s,
			 const char *v, const struct conf *conf,
			 struct error *err)
{
	(void)conf;
	if (no_dest_on_pop3(d, s->path, err) < 0 ||
	    dest_port_parse(v, &d->dest.port, s->path, err) < 0)
		return -1;
	if (!d->has_dest)
		return error_set(err, ERR_INVALID, s->path,
				 "set destination.host first");
	return 0;
}

static int set_dest(struct domain *d, const struct setting *s, const char *v,
		    const struct conf *conf, struct error *err)
{
	if (no_dest_on_pop3(d, s->path, err) < 0 ||
	    dest_parse(v, conf, &d->dest, s->path, err) < 0)
		return -1;
	d->has_dest = true;
	return 0;
}

static bool dest_equal(const struct dest *a, const struct dest *b)
{
	return a->port == b->port && strcmp(a->ip.text, b->ip.text) == 0;
}

static int set_fallbacks(struct domain *d, const struct setting *s,
			 const char *v, const struct conf *conf,
			 struct error *err)
{
	char buf[1024], *p = buf, *item;
	size_t n = 0, i;

	if (no_dest_on_pop3(d, s->path, err) < 0)
		return -1;
	if (strlcpy_checked(buf, v, sizeof(buf)) < 0)
		return error_set(err, ERR_INVALID, s->path,
				 "fallbacks: list too long");
	if (buf[0] == '\0') {
		d->nfallbacks = 0;
		return 0;
	}
	while ((item = strsep(&p, ",")) != NULL) {
		if (n >= DOMAIN_FALLBACKS_MAX)
			return error_set(err, ERR_INVALID, s->path,
					 "fallbacks: at most %d addresses",
					 DOMAIN_FALLBACKS_MAX);
		if (dest_parse(item, conf, &d->fallbacks[n], s->path, err) < 0)
			return -1;
		for (i = 0; i < n; i++)
			if (dest_equal(&d->fallbacks[i], &d->fallbacks[n]))
				return error_set(
					err, ERR_INVALID, s->path,
					"fallbacks: %s is listed twice",
					d->fallbacks[n].ip.text);
		n++;
	}
	d->nfallbacks = n;
	return 0;
}

static int set_greylisting(struct domain *d, const struct setting *s,
			   const char *v, const struct conf *conf,
			   struct error *err)
{
	(void)conf;
	return parse_bool(v, &d->greylisting, s->path, err);
}

static int set_spam_enabled(struct domain *d, const struct setting *s,
			    const char *v, const struct conf *conf,
			    struct error *err)
{
	(void)conf;
	return parse_bool(v, &d->spam_enabled, s->path, err);
}

static int set_spam_action(struct domain *d, const struct setting *s,
			   const char *v, const struct conf *conf,
			   struct error *err)
{
	int a = parse_enum(v, spam_action_names);

	(void)conf;
	if (a < 0)
		return error_set(err, ERR_INVALID, s->path,
				 "%s must be none, header, subject or delete",
				 s->path);
	d->spam[s->level].action = (enum spam_action)a;
	return 0;
}

static int set_spam_text(struct domain *d, const struct setting *s,
			 const char *v, const struct conf *conf,
			 struct error *err)
{
	(void)conf;
	if (spam_text_check(v, s->path, err) < 0)
		return -1;
	return strlcpy_checked(d->spam[s->level].text, v,
			       sizeof(d->spam[s->level].text)) < 0
		       ? error_set(err, ERR_INVALID, s->path, "too long")
		       : 0;
}

static int set_queue_days(struct domain *d, const struct setting *s,
			  const char *v, const struct conf *conf,
			  struct error *err)
{
	long n;

	(void)conf;
	if (parse_long(v, 1, QUEUE_DAYS_MAX, &n, s->path, err) < 0)
		return -1;
	d->queue_days = (int)n;
	return 0;
}

static int set_extended_until(struct domain *d, const struct setting *s,
			      const char *v, const struct conf *conf,
			      struct error *err)
{
	int64_t t, now = (int64_t)time(NULL);

	(void)conf;
	if (v[0] == '\0' || strcmp(v, "none") == 0) {
		d->queue_extended_until = 0;
		return 0;
	}
	if (time_parse_utc(v, &t, s->path, err) < 0)
		return -1;
	/* a date means "until the end of that day" (SPEC section 11) */
	if (strlen(v) == 10)
		t += 86400 - 1;
	if (t == d->queue_extended_until)
		return 0; /* unchanged: re-applying a document is fine */
	if (t <= now || t > now + (int64_t)QUEUE_DAYS_MAX * 86400)
		return error_set(err, ERR_INVALID, s->path,
				 "%s must lie in the next %d days", s->path,
				 QUEUE_DAYS_MAX);
	d->queue_extended_until = t;
	return 0;
}

static int set_recipients(struct domain *d, const struct setting *s,
			  const char *v, const struct conf *conf,
			  struct error *err)
{
	int r = parse_enum(v, recipients_mode_names);

	(void)conf;
	if (r < 0)
		return error_set(err, ERR_INVALID, s->path,
				 "recipients must be verify, list or any");
	d->recipients = (enum recipients_mode)r;
	return 0;
}

static int set_max_message_mb(struct domain *d, const struct setting *s,
			      const char *v, const struct conf *conf,
			      struct error *err)
{
	long n;

	(void)conf;
	if (parse_long(v, 1, MESSAGE_MB_MAX, &n, s->path, err) < 0)
		return -1;
	d->max_message_mb = (int)n;
	return 0;
}

static const struct setting settings[] = {
	{ "destination.host", SETTING_STRING, set_dest_host, -1 },
	{ "destination.port", SETTING_INT, set_dest_port, -1 },
	{ "dest", SETTING_STRING, set_dest, -1 },
	{ "fallbacks", SETTING_LIST, set_fallbacks, -1 },
	{ "greylisting", SETTING_BOOL, set_greylisting, -1 },
	{ "spam.enabled", SETTING_BOOL, set_spam_enabled, -1 },
	{ "spam.low.action", SETTING_STRING, set_spam_action, SPAM_LOW },
	{ "spam.med.action", SETTING_STRING, set_spam_action, SPAM_MED },
	{ "spam.high.action", SETTING_STRING, set_spam_action, SPAM_HIGH },
	{ "spam.low.text", SETTING_STRING, set_spam_text, SPAM_LOW },
	{ "spam.med.text", SETTING_STRING, set_spam_text, SPAM_MED },
	{ "spam.high.text", SETTING_STRING, set_spam_text, SPAM_HIGH },
	{ "queue.days", SETTING_INT, set_queue_days, -1 },
	{ "queue.extended_until", SETTING_NULLABLE_STRING, set_extended_until,
	  -1 },
	{ "recipients", SETTING_STRING, set_recipients, -1 },
	{ "max_message_mb", SETTING_INT, set_max_message_mb, -1 },
};

static const char *const readonly[] = {
	"name",	      "unicode_name", "mode",	     "temp_pop3",
	"version",    "created_at",   "created_by",  "updated_at",
	"updated_by", "ticket",	      "propagation", NULL
};

static const struct setting *find_setting(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (strcmp(settings[i].path, path) == 0)
			return &settings[i];
	return NULL;
}

enum setting_type domain_setting_type(const char *path)
{
	const struct setting *s = find_setting(path);

	if (s != NULL)
		return s->type;
	if (parse_enum(path, readonly) >= 0)
		return SETTING_READONLY;
	return SETTING_UNKNOWN;
}

int domain_set(struct domain *d, const char *path, const char *value,
	       const struct conf *conf, struct error *err)
{
	const struct setting *s = find_setting(path);
	struct domain copy = *d;
	struct strbuf p = STRBUF_INIT;
	int rc;

	if (s == NULL) {
		sbuf_addesc(&p, path, 40);
		if (strcmp(path, "mode") == 0)
			rc = error_set(err, ERR_INVALID, "mode",
				       "mode changes only through 'feedctl "
				       "switch'");
		else if (parse_enum(path, readonly) >= 0)
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
	if (s->set(&copy, s, value, conf, err) < 0)
		return -1;
	*d = copy;
	return 0;
}

/* ---- whole-record rules ------------------------------------------ */

int domain_check(const struct domain *d, const struct conf *conf,
		 struct error *err)
{
	size_t i;
	int l;

	(void)conf;
	if (d->mode == MODE_POP3) {
		if (d->has_dest || d->nfallbacks > 0)
			return error_set(err, ERR_INVALID, "destination",
					 "pop3 domains have no destination");
		if (d->temp_pop3)
			return error_set(err, ERR_INVALID, "temp_pop3",
					 "temporary POP3 is for feed and "
					 "backup domains");
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
	if (d->queue_days < 1 || d->queue_days > QUEUE_DAYS_MAX)
		return error_set(err, ERR_INVALID, "queue.days",
				 "queue.days must be a whole number from 1 "
				 "to 31");
	if (d->max_message_mb < 1 || d->max_message_mb > MESSAGE_MB_MAX)
		return error_set(err, ERR_INVALID, "max_message_mb",
				 "max_message_mb must be a whole number from "
				 "1 to 1024");
	for (l = 0; l < SPAM_NLEVELS; l++)
		if (spam_text_check(d->spam[l].text, "spam text", err) < 0)
			return -1;
	return 0;
}

bool domain_settings_equal(const struct domain *a, const struct domain *b)
{
	size_t i;
	int l;

	if (strcmp(a->name.alabel, b->name.alabel) != 0 || a->mode != b->mode ||
	    a->temp_pop3 != b->temp_pop3 ||
	    (a->temp_pop3 && (a->temp_pop3_since != b->temp_pop3_since ||
			      strcmp(a->temp_pop3_by, b->temp_pop3_by) != 0)) ||
	    a->has_dest != b->has_dest ||
	    (a->has_dest && !dest_equal(&a->dest, &b->dest)) ||
	    a->nfallbacks != b->nfallbacks ||
	    a->greylisting != b->greylisting ||
	    a->spam_enabled != b->spam_enabled ||
	    a->queue_days != b->queue_days ||
	    a->queue_extended_until != b->queue_extended_until ||
	    a->recipients != b->recipients ||
	    a->max_message_mb != b->max_message_mb)
		return false;
	for (i = 0; i < a->nfallbacks; i++)
		if (!dest_equal(&a->fallbacks[i], &b->fallbacks[i]))
			return false;
	for (l = 0; l < SPAM_NLEVELS; l++)
		if (a->spam[l].action != b->spam[l].action ||
		    strcmp(a->spam[l].text, b->spam[l].text) != 0)
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
