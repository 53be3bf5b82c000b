/*
 * gen - a relay's mail-stack configuration from a snapshot of records
 *
 * See gen.h.  Every value reaching a file passes two gates: the record
 * or rule validators again (the row may have been written by an older
 * version, or by hand), then the line writer of the file's format.
 */
#include "gen.h"

#include <stdlib.h>
#include <string.h>

#include "dest.h"
#include "mailbox.h"
#include "util/log.h"
#include "util/parse.h"

static const char *const rule_cols[] = { "name", "action", "kind", "value" };
static const char *const rcpt_cols[] = { "name", "local" };
static const struct snap_schema rule_schema = { "rule", rule_cols, 4 };
static const struct snap_schema rcpt_schema = { "rcpt", rcpt_cols, 2 };
static const char *const tls_cols[] = { "name", "hop", "policy", "fp" };
static const struct snap_schema tls_schema = { NULL, tls_cols, 4 };

static void col_add(struct gen_file *gf, enum gen_col_kind k, const char *name,
		    const struct field *f)
{
	size_t n = gf->schema.n;

	if (n == SNAP_COLS_MAX)
		BUG("too many snapshot columns");
	gf->kind[n] = k;
	gf->names[n] = name;
	gf->field[n] = f;
	gf->schema.n = n + 1;
}

/* The columns: the leading hand-made ones, then the rows of fields.def
 * that carry flag, then GC_IPS when ips. */
static void cols_init(struct gen_file *gf, const char *kind, unsigned flag,
		      bool mode, bool max_bytes, bool ips)
{
	size_t i;

	memset(gf, 0, sizeof(*gf));
	for (i = 0; i < SNAP_COLS_MAX; i++)
		sbuf_init(&gf->value[i], 0);
	gf->schema.kind = kind;
	gf->schema.names = gf->names;
	col_add(gf, GC_NAME, "name", NULL);
	if (mode)
		col_add(gf, GC_MODE, "mode", NULL);
	if (max_bytes)
		col_add(gf, GC_MAX_BYTES, "max_bytes", NULL);
	for (i = 0; i < FLD_COUNT; i++)
		if (domain_fields[i].flags & flag)
			col_add(gf, GC_FIELD, domain_fields[i].path,
				&domain_fields[i]);
	if (ips)
		col_add(gf, GC_IPS, "ips", NULL);
}

void gen_init(struct gen *g, const struct conf *conf)
{
	memset(g, 0, sizeof(*g));
	g->conf = conf;
	sbuf_init(&g->relay_domains, 0);
	sbuf_init(&g->transport, 0);
	sbuf_init(&g->policy, 0);
	sbuf_init(&g->queue, 0);
	sbuf_init(&g->spam, 0);
	sbuf_init(&g->modes, 0);
	sbuf_init(&g->tls_domains, 0);
	g->max_message_mb = conf->max_message_mb;
	cols_init(&g->policy_cols, "domain", FF_SNAP_POLICY, true, true, true);
	cols_init(&g->spam_cols, NULL, FF_SNAP_SPAM, true, false, false);
	cols_init(&g->queue_cols, NULL, FF_SNAP_QUEUE, false, false, false);
	snap_header(&g->policy, &g->policy_cols.schema);
	snap_header(&g->policy, &rule_schema);
	snap_header(&g->policy, &rcpt_schema);
	snap_header(&g->spam, &g->spam_cols.schema);
	snap_header(&g->queue, &g->queue_cols.schema);
	snap_header(&g->tls_domains, &tls_schema);
}

static void cols_release(struct gen_file *gf)
{
	size_t i;

	for (i = 0; i < SNAP_COLS_MAX; i++)
		sbuf_release(&gf->value[i]);
}

struct gen_tls {
	char key[DEST_TEXT_MAX + 3]; /* "[IP]:PORT" */
	enum tls_policy policy;
	char fp[TLS_FP_HEX + 1]; /* "" for encrypt */
};

void gen_release(struct gen *g)
{
	cols_release(&g->policy_cols);
	cols_release(&g->spam_cols);
	cols_release(&g->queue_cols);
	free(g->tls);
	g->tls = NULL;
	g->ntls = 0;
	sbuf_release(&g->relay_domains);
	sbuf_release(&g->transport);
	sbuf_release(&g->policy);
	sbuf_release(&g->queue);
	sbuf_release(&g->spam);
	sbuf_release(&g->modes);
	sbuf_release(&g->tls_domains);
}

static bool key_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr(".-_@[]:+", c) != NULL;
}

/* Printable ASCII only: no CR, LF, NUL, tab or other control byte. */
static bool line_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

int map_line_add(struct strbuf *out, const char *key, const char *value,
		 struct error *err)
{
	size_t i;

	if (key[0] == '\0')
		return error_set(err, ERR_INTERNAL, NULL, "map key is empty");
	for (i = 0; key[i]; i++)
		if (!key_byte((unsigned char)key[i]))
			return error_set(err, ERR_INTERNAL, NULL,
					 "map key holds byte 0x%02x",
					 (unsigned char)key[i]);
	if (value[0] == '\0' || value[0] == ' ' || !line_safe(value))
		return error_set(err, ERR_INTERNAL, NULL,
				 "map value for %s is empty or holds a "
				 "control byte",
				 key);
	sbuf_addstr(out, key);
	sbuf_addch(out, ' ');
	sbuf_addstr(out, value);
	sbuf_addch(out, '\n');
	return 0;
}

int policy_line_add(struct strbuf *out, const char *const *fields, size_t n,
		    struct error *err)
{
	size_t i;

	/* printable UTF-8 (spam texts may be): no tab, CR, LF or NUL */
	for (i = 0; i < n; i++)
		if (!utf8_printable(fields[i], strlen(fields[i])))
			return error_set(err, ERR_INTERNAL, NULL,
					 "policy field %zu holds a control "
					 "byte",
					 i);
	for (i = 0; i < n; i++) {
		sbuf_addstr(out, fields[i]);
		sbuf_addch(out, i + 1 < n ? '\t' : '\n');
	}
	return 0;
}

/* "[IP]:PORT" of a destination, as a Postfix SMTP next hop. */
static void nexthop(struct strbuf *sb, const struct dest *d)
{
	sbuf_addch(sb, '[');
	sbuf_addstr(sb, d->ip.text);
	sbuf_addstr(sb, "]:");
	sbuf_addint(sb, d->port);
}

/* One domain's row of a snapshot file. */
static int snap_domain(struct strbuf *out, struct gen_file *gf,
		       const struct domain *d, struct error *err)
{
	struct strbuf *v = gf->value;
	const char *vals[SNAP_COLS_MAX];
	size_t i, k;

	for (i = 0; i < gf->schema.n; i++) {
		sbuf_reset(&v[i]);
		switch (gf->kind[i]) {
		case GC_FIELD:
			domain_field_text(d, gf->field[i], FIELD_TEXT_SNAP,
					  &v[i]);
			break;
		case GC_NAME:
			sbuf_addstr(&v[i], d->name.alabel);
			break;
		case GC_MODE:
			sbuf_addstr(&v[i], domain_mode_names[d->mode]);
			break;
		case GC_MAX_BYTES:
			sbuf_addint(&v[i],
				    (long long)d->max_message_mb * 1024 * 1024);
			break;
		case GC_IPS:
			/* the addresses that may ask for the queue (ETRN) */
			if (!d->has_dest)
				break;
			sbuf_addstr(&v[i], d->dest.ip.text);
			for (k = 0; k < d->nfallbacks; k++) {
				sbuf_addch(&v[i], ',');
				sbuf_addstr(&v[i], d->fallbacks[k].ip.text);
			}
			break;
		}
		vals[i] = v[i].buf;
	}
	return snap_row(out, &gf->schema, vals, err);
}

/* The domain's tls.policy for each next hop its mail takes (the
 * destination and every fallback; none while in temporary POP3). */
static int gen_domain_tls(struct gen *g, const struct domain *d,
			  struct error *err)
{
	const char *fp = d->tls_fingerprint[0] ? d->tls_fingerprint : NULL;
	size_t i;

	if (d->mode == MODE_POP3 || d->temp_pop3 || !d->has_dest)
		return 0;
	for (i = 0; i <= d->nfallbacks; i++) {
		size_t before = g->ntls;
		const struct gen_tls *t;
		const char *f[4];

		if (gen_tls_policy_add(g,
				       i == 0 ? &d->dest : &d->fallbacks[i - 1],
				       d->tls_policy, fp, err) < 0)
			return -1;
		if (g->ntls == before)
			continue; /* "may": no entry */
		t = &g->tls[g->ntls - 1];
		f[0] = d->name.alabel;
		f[1] = t->key;
		f[2] = tls_policy_names[t->policy];
		f[3] = t->fp[0] ? t->fp : "-";
		if (snap_row(&g->tls_domains, &tls_schema, f, err) < 0)
			return -1;
	}
	return 0;
}

int gen_domain(struct gen *g, const struct domain *d, struct error *err)
{
	struct strbuf tr = STRBUF_INIT;
	size_t i;
	int rc;

	if (domain_check(d, g->conf, err) < 0)
		return -1;
	if (map_line_add(&g->relay_domains, d->name.alabel, "OK", err) < 0)
		return -1;
	if (d->mode == MODE_POP3 || d->temp_pop3) {
		sbuf_addstr(&tr, "lmtp:");
		sbuf_addstr(&tr, g->conf->mailbox_lmtp);
	} else if (d->has_dest) {
		sbuf_addstr(&tr, "smtp:");
		nexthop(&tr, &d->dest);
		for (i = 0; i < d->nfallbacks; i++) {
			sbuf_addstr(&tr, ", ");
			nexthop(&tr, &d->fallbacks[i]);
		}
	} else {
		return error_set(err, ERR_INTERNAL, NULL,
				 "%s: %s domain without a destination",
				 d->name.alabel, domain_mode_names[d->mode]);
	}
	rc = map_line_add(&g->transport, d->name.alabel, tr.buf, err);
	sbuf_release(&tr);
	if (rc < 0 || gen_domain_tls(g, d, err) < 0 ||
	    snap_domain(&g->policy, &g->policy_cols, d, err) < 0 ||
	    snap_domain(&g->queue, &g->queue_cols, d, err) < 0 ||
	    snap_domain(&g->spam, &g->spam_cols, d, err) < 0)
		return -1;
	if (gen_mode_line(g, d, err) < 0)
		return -1;
	if (d->max_message_mb > g->max_message_mb)
		g->max_message_mb = d->max_message_mb;
	g->ndomains++;
	return 0;
}

int gen_rule(struct gen *g, const char *alabel, const struct rule *r,
	     struct error *err)
{
	struct rule check;
	const char *f[4];

	/* the stored kind names are the canonical ones rule_parse takes */
	if (rule_parse(rule_action_names[r->action], rule_kind_names[r->kind],
		       r->value, &check, err) < 0) {
		struct strbuf esc = STRBUF_INIT;

		if (r->kind != RULE_SENDER_REGEX || err->code != ERR_INVALID)
			return -1;
		/*
		 * A regex saved before the checks grew stricter: leave it
		 * out (the relay then behaves as if it were not there)
		 * rather than stop every domain's changes; "rule list"
		 * shows it as refused.
		 */
		sbuf_addesc(&esc, r->value, RULE_VALUE_MAX);
		log_kv(LOG_LEVEL_WARN,
		       (struct log_field[]){ { LOG_F_DOMAIN, alabel },
					     { NULL, NULL } },
		       "domain=%s skipping %s rule \"%s\": %s", alabel,
		       rule_action_names[r->action], esc.buf, error_msg(err));
		sbuf_release(&esc);
		error_release(err);
		g->nskipped++;
		return 0;
	}
	f[0] = alabel;
	f[1] = rule_action_names[check.action];
	f[2] = rule_kind_names[check.kind];
	f[3] = check.value;
	if (snap_row(&g->policy, &rule_schema, f, err) < 0)
		return -1;
	g->nrules++;
	return 0;
}

/* "reject_rbl_client ZONE, " for each zone, re-checked first. */
static int rbl_list(struct strbuf *out, const struct conf_list *zones,
		    const char *prefix, struct error *err)
{
	char zone[CONF_DNSBL_LEN + 1];
	int i;

	for (i = 0; i < zones->n; i++) {
		if (conf_dnsbl_parse(zones->v[i], zone, sizeof(zone)) < 0 ||
		    strcmp(zone, zones->v[i]) != 0)
			return error_set(err, ERR_INTERNAL, "dnsbl",
					 "dnsbl zone #%d is not canonical", i);
		sbuf_addf(out, "%sreject_rbl_client %s, ", prefix, zone);
	}
	return 0;
}

int gen_smtpd_checks(const struct conf *conf, struct strbuf *feed,
		     struct strbuf *backup, struct error *err)
{
	/* warn first: a listing in a trial zone is logged even when an
	 * enforced zone refuses the client too */
	if (rbl_list(feed, &conf->dnsbl_warn, "warn_if_reject ", err) < 0 ||
	    rbl_list(feed, &conf->dnsbl_reject, "", err) < 0 ||
	    rbl_list(backup, &conf->dnsbl_warn, "warn_if_reject ", err) < 0)
		return -1;
	/*
	 * A backup class defers whatever it would refuse, under one
	 * DEFER_IF_REJECT text; the warn_if_reject twin logs which zone
	 * listed the client (Postfix caches the answer: one query).
	 */
	if (rbl_list(backup, &conf->dnsbl_reject, "warn_if_reject ", err) < 0 ||
	    rbl_list(backup, &conf->dnsbl_reject, "", err) < 0)
		return -1;
	if (conf->senders_check_domain) {
		sbuf_addstr(feed, "reject_unknown_sender_domain, ");
		sbuf_addstr(backup, "reject_unknown_sender_domain, ");
	}
	if (conf->senders_verify_backup)
		sbuf_addstr(backup, "reject_unverified_sender, ");
	return 0;
}

int gen_mode_line(struct gen *g, const struct domain *d, struct error *err)
{
	const char *f[3];

	if (g->modes.len == 0)
		sbuf_addstr(&g->modes, "#domain\tmode\tspam\n");
	f[0] = d->name.alabel;
	f[1] = domain_mode_names[d->mode];
	f[2] = d->spam_enabled ? "1" : "0";
	return policy_line_add(&g->modes, f, 3, err);
}

int gen_tls_policy_add(struct gen *g, const struct dest *d,
		       enum tls_policy policy, const char *fingerprint,
		       struct error *err)
{
	struct gen_tls t;
	struct strbuf key = STRBUF_INIT;

	memset(&t, 0, sizeof(t));
	switch (policy) {
	case TLS_MAY:
		return 0; /* the default: no line */
	case TLS_ENCRYPT:
		break;
	case TLS_VERIFY:
		if (fingerprint == NULL)
			return error_set(err, ERR_INTERNAL, "tls.fingerprint",
					 "tls.policy verify without a "
					 "fingerprint");
		if (tls_fingerprint_parse(fingerprint, t.fp, "tls.fingerprint",
					  err) < 0)
			return -1;
		break;
	}
	nexthop(&key, d);
	if (strlcpy_checked(t.key, key.buf, sizeof(t.key)) < 0) {
		sbuf_release(&key);
		return error_set(err, ERR_INTERNAL, NULL, "next hop too long");
	}
	sbuf_release(&key);
	t.policy = policy;
	g->tls = xrealloc(g->tls, (g->ntls + 1) * sizeof(*g->tls));
	g->tls[g->ntls++] = t;
	return 0;
}

static int cmp_tls(const void *a, const void *b)
{
	const struct gen_tls *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : strcmp(x->fp, y->fp);
}

int gen_tls_load(struct gen *g, const char *text, size_t len, struct error *err)
{
	const char *p = text, *end = text + len;
	long lineno = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char line[DOMAIN_NAME_MAX + DEST_TEXT_MAX + TLS_FP_HEX + 64];
		char *f[5], *q;
		struct gen_tls t;
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p), i;
		int nf = 0;

		lineno++;
		if (n > 0 && p[0] == '#')
			goto next;
		if (nl == NULL || n >= sizeof(line))
			goto bad;
		memcpy(line, p, n);
		line[n] = '\0';
		if (memchr(line, '\0', n) != NULL)
			goto bad;
		for (q = line; q != NULL && nf < 5; nf++) {
			f[nf] = q;
			q = strchr(q, '\t');
			if (q != NULL)
				*q++ = '\0';
		}
		if (nf != 4 || strlen(f[1]) < 4 || f[1][0] != '[' ||
		    strlcpy_checked(t.key, f[1], sizeof(t.key)) < 0)
			goto bad;
		for (i = 0; f[1][i]; i++)
			if (!key_byte((unsigned char)f[1][i]))
				goto bad;
		memset(t.fp, 0, sizeof(t.fp));
		if (strcmp(f[2], "encrypt") == 0 && strcmp(f[3], "-") == 0) {
			t.policy = TLS_ENCRYPT;
		} else if (strcmp(f[2], "verify") == 0) {
			struct error e = ERROR_INIT;

			t.policy = TLS_VERIFY;
			if (tls_fingerprint_parse(f[3], t.fp, "tls.fingerprint",
						  &e) < 0 ||
			    strcmp(t.fp, f[3]) != 0) {
				error_release(&e);
				goto bad;
			}
		} else {
			goto bad;
		}
		g->tls = xrealloc(g->tls, (g->ntls + 1) * sizeof(*g->tls));
		g->tls[g->ntls++] = t;
	next:
		p = nl ? nl + 1 : end;
		continue;
	bad:
		return error_set(err, ERR_INVALID, NULL,
				 "tls_domains:%ld: not a row mxfeed writes",
				 lineno);
	}
	return 0;
}

int gen_tls_policy_finish(struct gen *g, struct strbuf *out, struct error *err)
{
	size_t i = 0, j;

	if (g->ntls > 1)
		qsort(g->tls, g->ntls, sizeof(*g->tls), cmp_tls);
	while (i < g->ntls) {
		struct strbuf v = STRBUF_INIT;
		enum tls_policy p = TLS_ENCRYPT;
		const char *last = "";
		int rc;

		for (j = i;
		     j < g->ntls && strcmp(g->tls[j].key, g->tls[i].key) == 0;
		     j++)
			if (g->tls[j].policy == TLS_VERIFY)
				p = TLS_VERIFY;
		if (p == TLS_ENCRYPT) {
			sbuf_addstr(&v, "encrypt");
		} else {
			sbuf_addstr(&v, "fingerprint match=");
			for (; i < j; i++) {
				char pf[TLS_FP_POSTFIX + 1];

				if (g->tls[i].fp[0] == '\0' ||
				    strcmp(g->tls[i].fp, last) == 0)
					continue;
				tls_fingerprint_postfix(g->tls[i].fp, pf);
				sbuf_addf(&v, "%s%s", last[0] ? "|" : "", pf);
				last = g->tls[i].fp;
			}
		}
		rc = map_line_add(out, g->tls[j - 1].key, v.buf, err);
		sbuf_release(&v);
		if (rc < 0)
			return -1;
		i = j;
	}
	return 0;
}

/* The key pair's paths go into lists (Postfix: comma or space) and
 * Dovecot's "<FILE": plain path bytes only. */
static int tls_paths_check(const struct conf *conf, struct error *err)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+@";

	if (strspn(conf->tls_cert_file, ok) != strlen(conf->tls_cert_file) ||
	    strspn(conf->tls_key_file, ok) != strlen(conf->tls_key_file))
		return error_set(err, ERR_INVALID, "tls.cert_file",
				 "tls.cert_file and tls.key_file may hold only "
				 "letters, digits and '/._-+@'");
	return 0;
}

int gen_smtpd_tls(const struct conf *conf, const char **level,
		  struct strbuf *chain, struct error *err)
{
	if (conf->tls_cert_file != NULL && conf->tls_key_file != NULL) {
		if (tls_paths_check(conf, err) < 0)
			return -1;
		*level = "may";
		sbuf_addf(chain, "%s, %s", conf->tls_key_file,
			  conf->tls_cert_file);
		return 0;
	}
	if (!tls_listen_loopback(conf->relay_listen, true))
		return error_set(err, ERR_INVALID, "tls.cert_file",
				 "relay.listen \"%s\" reaches beyond loopback "
				 "but there is no certificate: set "
				 "tls.cert_file and tls.key_file so that "
				 "senders can use STARTTLS",
				 conf->relay_listen);
	*level = "none";
	return 0;
}

int gen_dovecot_tls(const struct conf *conf, struct strbuf *out,
		    struct error *err)
{
	if (tls_listen_loopback(conf->mailbox_listen, false)) {
		sbuf_addstr(out, "# mailbox.listen is loopback only: no TLS, "
				 "plaintext logins allowed\n"
				 "ssl = no\n"
				 "disable_plaintext_auth = no\n");
		return 0;
	}
	if (conf->tls_cert_file == NULL || conf->tls_key_file == NULL)
		return error_set(err, ERR_INVALID, "tls.cert_file",
				 "mailbox.listen \"%s\" reaches beyond "
				 "loopback but there is no certificate: set "
				 "tls.cert_file and tls.key_file (Dovecot "
				 "would take passwords in clear)",
				 conf->mailbox_listen);
	if (tls_paths_check(conf, err) < 0)
		return -1;
	sbuf_addf(out,
		  "# mailbox.listen reaches beyond loopback: TLS required, "
		  "no password in clear\n"
		  "ssl = required\n"
		  "ssl_cert = <%s\n"
		  "ssl_key = <%s\n"
		  "ssl_min_protocol = TLSv1.2\n"
		  "ssl_prefer_server_ciphers = yes\n"
		  "disable_plaintext_auth = yes\n",
		  conf->tls_cert_file, conf->tls_key_file);
	return 0;
}

void gen_postgrey_args(const struct conf *conf, struct strbuf *out)
{
	sbuf_addf(out,
		  "--inet=%s --delay=%d --lookup-by-subnet --ipv4cidr=24 "
		  "--ipv6cidr=64 --max-age=35 --retry-window=2\n",
		  conf->greylist_postgrey, conf->greylist_delay);
}

int gen_rcpt(struct gen *g, const char *alabel, const char *local,
	     struct error *err)
{
	char canon[MAILBOX_LOCAL_MAX + 1];
	const char *f[2];

	if (mailbox_local_parse(local, canon, err) < 0)
		return -1;
	f[0] = alabel;
	f[1] = canon;
	return snap_row(&g->policy, &rcpt_schema, f, err);
}

int gen_fill(const char *name, const char *text, const struct gen_var *vars,
	     size_t nvars, struct strbuf *out, struct error *err)
{
	struct strbuf buf = STRBUF_INIT;
	const char *p = text;

	while (*p) {
		const char *at = strchr(p, '@'), *end;
		size_t i, n;

		if (at == NULL) {
			sbuf_addstr(&buf, p);
			break;
		}
		sbuf_add(&buf, p, (size_t)(at - p));
		if (at[1] == '@') { /* "@@" is a literal '@' */
			sbuf_addch(&buf, '@');
			p = at + 2;
			continue;
		}
		end = strchr(at + 1, '@');
		if (end == NULL)
			goto bad;
		n = (size_t)(end - at - 1);
		for (i = 0; i < nvars; i++)
			if (strlen(vars[i].name) == n &&
			    strncmp(vars[i].name, at + 1, n) == 0)
				break;
		if (i == nvars || vars[i].value == NULL)
			goto bad;
		if (!line_safe(vars[i].value)) {
			sbuf_release(&buf);
			return error_set(err, ERR_INTERNAL, NULL,
					 "%s: value of @%s@ holds a control "
					 "byte",
					 name, vars[i].name);
		}
		sbuf_addstr(&buf, vars[i].value);
		p = end + 1;
	}
	sbuf_add(out, buf.buf, buf.len);
	sbuf_release(&buf);
	return 0;
bad:
	sbuf_release(&buf);
	return error_set(err, ERR_INTERNAL, NULL,
			 "%s: unknown or unset placeholder near offset %td",
			 name, (ptrdiff_t)(p - text));
}
