/*
 * relay_gen - writing one generation of a relay's configuration
 *
 * See relay.h (relay_generate) and relay_int.h.  From the store's
 * snapshot (in full, or merged into the previous generation's files by
 * lib/incr) into a directory: the data files and maps, Postfix's,
 * rspamd's and Dovecot's configuration from templates/, the policy
 * index, INPUTS.  Nothing here touches a running daemon.
 */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "doveadm.h"
#include "drain.h"
#include "gen.h"
#include "policy.h"
#include "reinject.h"
#include "relay_incr.h"
#include "relay_int.h"
#include "util/atomicfile.h"
#include "util/spawn.h"
#include "util/template.h"

static int on_domain(void *arg, const struct domain *d, struct error *err)
{
	return gen_domain(arg, d, err);
}

static int on_rule(void *arg, const char *alabel, const struct rule *r,
		   struct error *err)
{
	return gen_rule(arg, alabel, r, err);
}

static int on_rcpt(void *arg, const char *alabel, const char *local,
		   struct error *err)
{
	return gen_rcpt(arg, alabel, local, err);
}

const struct snap_fns relay_gen_fns = { on_domain, on_rule, on_rcpt };

static int write_template(const char *dir, const char *out_name,
			  const char *tmpl, const struct gen_var *vars,
			  size_t nvars, struct error *err)
{
	struct strbuf text = STRBUF_INIT;
	int rc;

	rc = gen_fill(tmpl, template_get(tmpl), vars, nvars, &text, err);
	if (rc == 0)
		rc = relay_write_file(dir, out_name, text.buf, text.len, err);
	sbuf_release(&text);
	return rc;
}

/* rspamd's configuration in a generation: output name, template */
static const struct {
	const char *out;
	const char *tmpl;
} rspamd_files[] = {
	{ "rspamd/local.d/worker-proxy.inc", "worker-proxy.inc.in" },
	{ "rspamd/local.d/worker-normal.inc", "worker-normal.inc.in" },
	{ "rspamd/local.d/worker-controller.inc", "worker-controller.inc.in" },
	{ "rspamd/local.d/antivirus.conf", "antivirus.conf.in" },
	{ "rspamd/local.d/force_actions.conf", "force_actions.conf.in" },
	{ "rspamd/local.d/actions.conf", "actions.conf.in" },
	{ "rspamd/rspamd.local.lua", "rspamd.local.lua.in" },
	{ "rspamd/rspamd.conf.local", "rspamd.conf.local.in" },
	{ "rspamd/mxfeed-filters.lua", "mxfeed-filters.lua.in" },
};

/* rspamd modules that ask the network; off with spam.network_checks = 0 */
static const char *const network_modules[] = {
	"rbl",	     "spf",	     "dkim",	 "dmarc",	   "arc",
	"asn",	     "fuzzy_check",  "phishing", "url_redirector", "emails",
	"whitelist", "dkim_signing",
};

#define NRSPAMD (sizeof(rspamd_files) / sizeof(rspamd_files[0]))
#define NNETMOD (sizeof(network_modules) / sizeof(network_modules[0]))

/* A data file: hard-linked from the previous generation when the
 * incremental generation left it as it was, else written. */
static int write_data(const char *dir, const struct relay_incr *x,
		      const char *name, const struct strbuf *text,
		      struct error *err)
{
	if (relay_incr_unchanged(x, name))
		return relay_incr_link(x, dir, name, err);
	return relay_write_file(dir, name, text->buf, text->len, err);
}

static int write_rspamd(const char *dir, const struct conf *conf,
			const struct gen *g, const struct relay_incr *x,
			struct error *err)
{
	char sub[PATH_MAX], low[32], med[32], high[32], backup_defer[32];
	const struct gen_var vars[] = {
		{ "MILTER", conf->scanner_milter },
		{ "NORMAL", conf->scanner_normal },
		{ "CONTROLLER", conf->scanner_controller },
		{ "CLAMD", conf->scanner_clamd },
		{ "LOW", low },
		{ "MED", med },
		{ "HIGH", high },
		{ "TEST_HEADER", conf->spam_test_header ? "true" : "false" },
		{ "BACKUP_DEFER", backup_defer },
		{ "HEADERS_BACKUP",
		  conf->headers_backup_defer ? "true" : "false" },
		{ "HEADERS_FEED",
		  conf->headers_feed_refuse ? "true" : "false" },
	};
	size_t i;

	(void)snprintf(low, sizeof(low), "%g", conf->spam_low);
	(void)snprintf(med, sizeof(med), "%g", conf->spam_med);
	(void)snprintf(high, sizeof(high), "%g", conf->spam_high);
	(void)snprintf(backup_defer, sizeof(backup_defer), "%g",
		       conf->spam_backup_defer);
	if (relay_path_of(sub, dir, "rspamd", err) < 0 ||
	    mkdir(sub, 0755) < 0 ||
	    relay_path_of(sub, dir, "rspamd/local.d", err) < 0 ||
	    mkdir(sub, 0755) < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot create %s/rspamd: %s", dir,
				 strerror(errno));
	for (i = 0; i < NRSPAMD; i++)
		if (write_template(dir, rspamd_files[i].out,
				   rspamd_files[i].tmpl, vars,
				   sizeof(vars) / sizeof(vars[0]), err) < 0)
			return -1;
	for (i = 0; !conf->spam_network_checks && i < NNETMOD; i++) {
		char name[64];
		static const char off[] = "enabled = false;\n";

		(void)snprintf(name, sizeof(name), "rspamd/local.d/%s.conf",
			       network_modules[i]);
		if (relay_write_file(dir, name, off, sizeof(off) - 1, err) < 0)
			return -1;
	}
	if (write_data(dir, x, "rspamd/mxfeed-domains", &g->spam, err) < 0 ||
	    write_data(dir, x, "rspamd/mxfeed-modes", &g->modes, err) < 0 ||
	    atomic_sync_dir(sub, err) < 0)
		return -1;
	if (relay_path_of(sub, dir, "rspamd", err) < 0)
		return -1;
	return atomic_sync_dir(sub, err);
}

/* Mode 0640, group dovecot (when there is one). */
static int protect(const char *dir, const char *name, struct error *err)
{
	char p[PATH_MAX];
	struct passwd *pw = getpwnam("dovecot");

	if (relay_path_of(p, dir, name, err) < 0 || chmod(p, 0640) < 0 ||
	    (pw != NULL && chown(p, 0, pw->pw_gid) < 0))
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot protect %s: %s", p, strerror(errno));
	return 0;
}

/* "HOST:PORT" or "[V6]:PORT" into its parts. */
static int split_hostport(const char *in, char *host, size_t hn, char *port,
			  size_t pn, struct error *err)
{
	const char *colon = strrchr(in, ':');
	const char *h = in;
	size_t len;

	if (colon == NULL || colon[1] == '\0' ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strlen(colon + 1) >= pn)
		return error_set(err, ERR_INVALID, "mailbox.doveadm",
				 "mailbox.doveadm: want HOST:PORT, not \"%s\"",
				 in);
	len = (size_t)(colon - in);
	if (len >= 2 && in[0] == '[' && in[len - 1] == ']') {
		h++;
		len -= 2;
	}
	if (len == 0 || len >= hn)
		return error_set(err, ERR_INVALID, "mailbox.doveadm",
				 "mailbox.doveadm: want HOST:PORT, not \"%s\"",
				 in);
	memcpy(host, h, len);
	host[len] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

/* What dovecot.conf.in and dovecot-sql.conf.ext.in take besides the
 * site config: paths, ports, the mail group, the doveadm listener. */
struct dovecot_words {
	char run[PATH_MAX], st[PATH_MAX], log[PATH_MAX], sql[PATH_MAX],
		pop3[16], imap[16], lmtp[16], group[64], dvconf[PATH_MAX],
		dvaddr[128], dvport[16], dvtls[PATH_MAX], acl[PATH_MAX];
};

/* The mail user's primary group ("nogroup" for nobody). */
static int mail_group(const struct conf *conf, char *group, size_t size,
		      struct error *err)
{
	struct passwd *pw = getpwnam(conf->mailbox_user);
	struct group *gr = pw ? getgrgid(pw->pw_gid) : NULL;

	if (gr == NULL || strlcpy_checked(group, gr->gr_name, size) < 0)
		return error_set(err, ERR_INTERNAL, "mailbox.user",
				 "mailbox.user: no such user or group");
	return 0;
}

/* The paths of w: Dovecot's run, state and log files under the state
 * directory; its generated files by the name they have once current,
 * as dovecot.conf is read from there. */
static int dovecot_paths(const struct conf *conf, struct dovecot_words *w,
			 struct error *err)
{
	char cur[PATH_MAX];

	if (relay_path_of(cur, conf->state_dir, "current/dovecot", err) < 0 ||
	    relay_path_of(w->run, conf->state_dir, "dovecot-run", err) < 0 ||
	    relay_path_of(w->st, conf->state_dir, "dovecot-state", err) < 0 ||
	    relay_path_of(w->log, conf->state_dir, "dovecot.log", err) < 0 ||
	    relay_path_of(w->sql, cur, "dovecot-sql.conf.ext", err) < 0 ||
	    relay_path_of(w->dvconf, cur, "doveadm.conf.ext", err) < 0 ||
	    relay_path_of(w->dvtls, cur, "tls.conf.ext", err) < 0 ||
	    relay_path_of(w->acl, cur, "dovecot-acl", err) < 0)
		return -1;
	return 0;
}

/* The ports of w, as the templates take them. */
static void dovecot_ports(const struct conf *conf, struct dovecot_words *w)
{
	(void)snprintf(w->pop3, sizeof(w->pop3), "%d", conf->mailbox_pop3_port);
	(void)snprintf(w->imap, sizeof(w->imap), "%d", conf->mailbox_imap_port);
	(void)snprintf(w->lmtp, sizeof(w->lmtp), "%d", conf->mailbox_lmtp_port);
}

/* dovecot/tls.conf.ext (gen_dovecot_tls) into sub */
static int write_dovecot_tls(const char *sub, const struct conf *conf,
			     struct error *err)
{
	struct strbuf tc = STRBUF_INIT;
	int rc = gen_dovecot_tls(conf, &tc, err);

	if (rc == 0)
		rc = relay_write_file(sub, "tls.conf.ext", tc.buf, tc.len, err);
	sbuf_release(&tc);
	return rc;
}

/* dovecot/dovecot-acl into sub */
static int write_dovecot_acl(const char *sub, struct error *err)
{
	/* the owner's rights on every mailbox: no "i" (insert: APPEND,
	 * COPY, MOVE), so only LMTP ("p") puts mail in (dovecot.conf.in);
	 * but Trash takes what webmail deletes: a revert never forwards
	 * Trash (mailjob.c), so nothing put there can leave with it */
	static const char acl_rules[] = "* owner lrwstep\n"
					"Trash owner lrwstipek\n";

	return relay_write_file(sub, "dovecot-acl", acl_rules,
				sizeof(acl_rules) - 1, err);
}

/* dovecot.conf and dovecot-sql.conf.ext of dir from the templates */
static int write_dovecot_templates(const char *dir, const struct conf *conf,
				   const struct dovecot_words *w,
				   struct error *err)
{
	const struct gen_var vars[] = {
		{ "RUN", w->run },
		{ "DSTATE", w->st },
		{ "LOG", w->log },
		{ "LISTEN", conf->mailbox_listen },
		{ "MAILUSER", conf->mailbox_user },
		{ "MAILGROUP", w->group },
		{ "SQLCONF", w->sql },
		{ "POP3", w->pop3 },
		{ "IMAP", w->imap },
		{ "LMTP", w->lmtp },
		{ "MAILDIR", conf->mailbox_maildir },
		{ "CONNINFO", conf->db_conninfo },
		{ "DOVEADMCONF", w->dvconf },
		{ "DOVEADM_ADDR", w->dvaddr },
		{ "DOVEADM_PORT", w->dvport },
		{ "DOVETLSCONF", w->dvtls },
		{ "ACLFILE", w->acl },
		{ "LMTP_LISTEN", conf->mailbox_lmtp_listen },
		{ "LOCALCONF", conf->mailbox_local_conf },
	};
	size_t nv = sizeof(vars) / sizeof(vars[0]);

	if (write_template(dir, "dovecot/dovecot.conf", "dovecot.conf.in", vars,
			   nv, err) < 0 ||
	    write_template(dir, "dovecot/dovecot-sql.conf.ext",
			   "dovecot-sql.conf.ext.in", vars, nv, err) < 0)
		return -1;
	return 0;
}

/* dovecot/doveadm.conf.ext into sub: the doveadm HTTP API key, which
 * is wiped from the text and from key once written */
static int write_doveadm_conf(const char *sub, const struct conf *conf,
			      char *key, size_t key_size, struct error *err)
{
	struct strbuf kc = STRBUF_INIT;
	int rc;

	sbuf_addf(&kc,
		  "# the doveadm HTTP API key (generated by mta-glue "
		  "from %s/doveadm.key)\ndoveadm_api_key = %s\n",
		  conf->state_dir, key);
	rc = relay_write_file(sub, "doveadm.conf.ext", kc.buf, kc.len, err);
	OPENSSL_cleanse(kc.buf, kc.len);
	OPENSSL_cleanse(key, key_size);
	sbuf_release(&kc);
	return rc;
}

/* The mailbox host's Dovecot: dovecot.conf and its SQL user database. */
static int write_dovecot(const char *dir, const struct conf *conf,
			 struct error *err)
{
	struct dovecot_words w;
	char sub[PATH_MAX], key[DOVEADM_KEY_LEN + 1];

	if (mail_group(conf, w.group, sizeof(w.group), err) < 0)
		return -1;
	if (relay_path_of(sub, dir, "dovecot", err) < 0 || mkdir(sub, 0755) < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot create %s/dovecot: %s", dir,
				 strerror(errno));
	if (dovecot_paths(conf, &w, err) < 0 ||
	    doveadm_key(conf, true, key, err) < 0 ||
	    split_hostport(conf->mailbox_doveadm, w.dvaddr, sizeof(w.dvaddr),
			   w.dvport, sizeof(w.dvport), err) < 0)
		return -1;
	dovecot_ports(conf, &w);
	if (write_dovecot_tls(sub, conf, err) < 0 ||
	    write_dovecot_acl(sub, err) < 0 ||
	    write_dovecot_templates(dir, conf, &w, err) < 0 ||
	    write_doveadm_conf(sub, conf, key, sizeof(key), err) < 0)
		return -1;
	/* they hold the database login and the API key: root and
	 * Dovecot only */
	if (protect(sub, "dovecot-sql.conf.ext", err) < 0 ||
	    protect(sub, "doveadm.conf.ext", err) < 0)
		return -1;
	return atomic_sync_dir(sub, err);
}

/* rspamd's configuration (not its data) differs from the current one. */
bool relay_rspamd_changed(const char *dir, const struct conf *conf)
{
	size_t i;

	for (i = 0; i < NRSPAMD; i++)
		if (!relay_same_file(dir, conf->state_dir, rspamd_files[i].out))
			return true;
	return false;
}

/* policy.idx: the policy snapshot's sparse index (policy_index) */
static int write_policy_index(const char *dir, const struct gen *g,
			      struct error *err)
{
	struct strbuf idx = STRBUF_INIT;
	int rc;

	policy_index(g->policy.buf, g->policy.len, &idx);
	rc = relay_write_file(dir, "policy.idx", idx.buf, idx.len, err);
	sbuf_release(&idx);
	return rc;
}

/* INPUTS: what the generation was made from (incr.h) */
static int write_inputs(const char *dir, int64_t seq, const char *digest,
			const struct gen *g, struct error *err)
{
	struct incr_inputs in;
	struct strbuf t = STRBUF_INIT;
	int rc;

	in.seq = seq;
	memcpy(in.digest, digest, sizeof(in.digest));
	in.max_bytes = (long long)g->max_message_mb * 1024 * 1024;
	in.ndomains = (long long)g->ndomains;
	incr_inputs_format(&in, &t);
	rc = relay_write_file(dir, "INPUTS", t.buf, t.len, err);
	sbuf_release(&t);
	return rc;
}

/* The re-injection listener's part of master.cf into reinject, clients
 * (the mailbox hosts), and its TLS words; -1 with err set when a TCP
 * listener lacks its CA or certificate. */
static int reinject_vars(const struct conf *conf, struct strbuf *reinject,
			 struct strbuf *clients, const char **tls,
			 const char **ccert, const char **ca, struct error *err)
{
	size_t i;

	*tls = "none";
	*ccert = "no";
	*ca = "";
	for (i = 0; i < conf->relay_reinject_clients.n; i++)
		sbuf_addf(clients, "%s%s", i ? "," : "",
			  conf->relay_reinject_clients.v[i].text);
	if (clients->len == 0)
		sbuf_addstr(clients, "127.0.0.0/8");
	/* "local": private/ of the queue directory (0700, postfix), so
	 * only root and Postfix reach it; else a TCP listener that takes
	 * mail only over TLS from a client relay.reinject_ca signed */
	if (strcmp(conf->relay_reinject, "local") == 0) {
		sbuf_addstr(reinject, REINJECT_SOCKET " unix -");
		return 0;
	}
	if (conf->relay_reinject_ca == NULL || conf->tls_cert_file == NULL)
		return error_set(err, ERR_INVALID, "relay.reinject_ca",
				 "relay.reinject \"%s\" is a TCP listener: it "
				 "needs relay.reinject_ca (the CA of the "
				 "mailbox hosts' client certificates) and "
				 "tls.cert_file",
				 conf->relay_reinject);
	sbuf_addf(reinject, "%s inet n", conf->relay_reinject);
	*tls = "encrypt";
	*ccert = "yes";
	*ca = conf->relay_reinject_ca;
	return 0;
}

/* relay.outbound's addresses, canonical (ip_parse), one per family by
 * conf.c; "" for a family it has none of */
static void outbound_binds(const struct conf *conf, const char **bind4,
			   const char **bind6)
{
	size_t i;

	*bind4 = *bind6 = "";
	for (i = 0; i < conf->relay_outbound.n; i++) {
		const struct ip_addr *a = &conf->relay_outbound.v[i].net;

		if (a->family == AF_INET)
			*bind4 = a->text;
		else
			*bind6 = a->text;
	}
}

/* What main.cf.in and master.cf.in take besides the site config, the
 * generation's seqs and policyd's address. */
struct cf_words {
	char current[PATH_MAX], spool[PATH_MAX], data[PATH_MAX];
	char maxbytes[32];
	const char *bind4, *bind6, *tls_level;
	const char *reinject_tls, *reinject_ccert, *reinject_ca;
	struct strbuf clients, reinject, tls_chain, feed_checks, backup_checks;
	struct drain_vars dv;
};

static void cf_words_release(struct cf_words *w)
{
	sbuf_release(&w->clients);
	sbuf_release(&w->reinject);
	sbuf_release(&w->feed_checks);
	sbuf_release(&w->backup_checks);
	sbuf_release(&w->tls_chain);
}

/* The words of w for g: the drain plan read from the store, its text
 * (the DRAIN file) into drain_text. */
static int cf_words(struct store *s, const struct conf *conf,
		    const struct gen *g, struct cf_words *w, char *drain_text,
		    size_t drain_size, struct error *err)
{
	struct drain_plan dp;

	(void)snprintf(w->maxbytes, sizeof(w->maxbytes), "%lld",
		       (long long)g->max_message_mb * 1024 * 1024);
	outbound_binds(conf, &w->bind4, &w->bind6);
	if (reinject_vars(conf, &w->reinject, &w->clients, &w->reinject_tls,
			  &w->reinject_ccert, &w->reinject_ca, err) < 0 ||
	    gen_smtpd_checks(conf, &w->feed_checks, &w->backup_checks, err) <
		    0 ||
	    relay_path_of(w->current, conf->state_dir, "current", err) < 0 ||
	    relay_path_of(w->spool, conf->state_dir, "spool", err) < 0 ||
	    relay_path_of(w->data, conf->state_dir, "data", err) < 0 ||
	    drain_plan_read(s, conf, &dp, err) < 0)
		return -1;
	drain_vars(&dp, w->current, &w->dv);
	drain_plan_text(&dp, drain_text, drain_size);
	/* STARTTLS: a pair that loads, or loopback only */
	if (gen_smtpd_tls(conf, &w->tls_level, &w->tls_chain, err) < 0 ||
	    (conf->tls_cert_file != NULL &&
	     tls_pair_check(conf->tls_cert_file, conf->tls_key_file, err) < 0))
		return -1;
	return 0;
}

/* main.cf and master.cf of dir from the templates, with the words of w */
static int write_cf_templates(const char *dir, const struct conf *conf,
			      const char *policyd, const char *seqs,
			      const struct cf_words *w, struct error *err)
{
	const struct gen_var vars[] = {
		{ "SEQ", seqs },
		{ "CURRENT", w->current },
		{ "STATE", conf->state_dir },
		{ "SPOOL", w->spool },
		{ "DATA", w->data },
		{ "HOSTNAME", conf->relay_hostname },
		{ "LISTEN", conf->relay_listen },
		{ "DNS", conf->relay_dns ? "enabled" : "disabled" },
		{ "BIND4", w->bind4 },
		{ "BIND6", w->bind6 },
		{ "PEERNAME", conf->relay_dns ? "yes" : "no" },
		{ "MAXBYTES", w->maxbytes },
		{ "POLICYD", policyd },
		{ "POSTGREY", conf->greylist_postgrey },
		{ "MILTER", conf->scanner_milter },
		{ "REINJECT", w->reinject.buf },
		{ "REINJECT_CLIENTS", w->clients.buf },
		{ "REINJECT_TLS", w->reinject_tls },
		{ "REINJECT_CCERT", w->reinject_ccert },
		{ "REINJECT_CA", w->reinject_ca },
		{ "FEED_CHECKS", w->feed_checks.buf },
		{ "BACKUP_CHECKS", w->backup_checks.buf },
		{ "SMTPD_TLS_LEVEL", w->tls_level },
		{ "SMTPD_TLS_CHAIN", w->tls_chain.buf },
		{ "DRAIN_DELAY_REJECT", w->dv.delay_reject },
		{ "DRAIN_CLIENT", w->dv.client },
		{ "TRANSPORT_MAPS", w->dv.transport_maps },
		{ "RELAY_TRANSPORT", w->dv.relay_transport },
		{ "PEER_CHECKS", w->dv.peer_checks },
	};
	size_t nv = sizeof(vars) / sizeof(vars[0]);

	if (write_template(dir, "main.cf", "main.cf.in", vars, nv, err) < 0 ||
	    write_template(dir, "master.cf", "master.cf.in", vars, nv, err) < 0)
		return -1;
	return 0;
}

/*
 * main.cf and master.cf of dir from the templates, for generation seqs
 * of g; the drain plan read from the store, its text (the DRAIN file)
 * into drain_text.
 */
static int write_cf(const char *dir, struct store *s, const struct conf *conf,
		    const char *policyd, const struct gen *g, const char *seqs,
		    char *drain_text, size_t drain_size, struct error *err)
{
	struct cf_words w = { .clients = STRBUF_INIT,
			      .reinject = STRBUF_INIT,
			      .tls_chain = STRBUF_INIT,
			      .feed_checks = STRBUF_INIT,
			      .backup_checks = STRBUF_INIT };
	int rc = -1;

	if (cf_words(s, conf, g, &w, drain_text, drain_size, err) == 0)
		rc = write_cf_templates(dir, conf, policyd, seqs, &w, err);
	cf_words_release(&w);
	return rc;
}

/* The data files and maps of g into dir (merged where x says so), the
 * SEQ, DRAIN and INPUTS files, rspamd's, Dovecot's and postgrey's. */
static int write_files(const char *dir, const struct conf *conf, struct gen *g,
		       struct relay_incr *x, const char *seqs,
		       const char *drain_text, const char *digest, int64_t seq,
		       struct error *err)
{
	struct strbuf tls_map = STRBUF_INIT, pg = STRBUF_INIT;
	int rc = -1;

	if (write_data(dir, x, "relay_domains", &g->relay_domains, err) < 0 ||
	    write_data(dir, x, "transport", &g->transport, err) < 0 ||
	    write_data(dir, x, "tls_domains", &g->tls_domains, err) < 0 ||
	    write_data(dir, x, "policy", &g->policy, err) < 0 ||
	    (relay_incr_unchanged(x, "policy")
		     ? relay_incr_link(x, dir, "policy.idx", err)
		     : write_policy_index(dir, g, err)) < 0 ||
	    write_data(dir, x, "queue", &g->queue, err) < 0 ||
	    relay_write_file(dir, "SEQ", seqs, strlen(seqs), err) < 0 ||
	    relay_write_file(dir, "DRAIN", drain_text, strlen(drain_text),
			     err) < 0 ||
	    write_inputs(dir, seq, digest, g, err) < 0 ||
	    gen_tls_policy_finish(g, &tls_map, err) < 0)
		goto out;
	/* incrementally: the maps patched, not postmapped */
	if ((x->active ? relay_incr_maps(x, dir, &tls_map, err)
		       : relay_write_file(dir, "tls_policy", tls_map.buf,
					  tls_map.len, err)) < 0 ||
	    write_rspamd(dir, conf, g, x, err) < 0 ||
	    write_dovecot(dir, conf, err) < 0)
		goto out;
	gen_postgrey_args(conf, &pg);
	rc = relay_write_file(dir, "postgrey.args", pg.buf, pg.len, err);
out:
	sbuf_release(&tls_map);
	sbuf_release(&pg);
	return rc;
}

/* postmap writes the .lmdb beside its source, via a temp file; the
 * three maps are built at the same time */
static int postmap_all(const char *dir, struct error *err)
{
	static const char *const maps[] = { "relay_domains", "transport",
					    "tls_policy" };
	static const char *const whats[] = { "postmap relay_domains",
					     "postmap transport",
					     "postmap tls_policy" };
	char map[PATH_MAX], arg[3][PATH_MAX + 8];
	const char *argv[3][5];
	const char *const *argvs[3];
	size_t i;

	for (i = 0; i < 3; i++) {
		if (relay_path_of(map, dir, maps[i], err) < 0)
			return -1;
		(void)snprintf(arg[i], sizeof(arg[i]), "lmdb:%s", map);
		argv[i][0] = "postmap";
		argv[i][1] = "-c";
		argv[i][2] = dir;
		argv[i][3] = arg[i];
		argv[i][4] = NULL;
		argvs[i] = argv[i];
	}
	return spawn_check_all(argvs, whats, 3, ERR_INTERNAL, err);
}

/*
 * One generation into dir: from the previous generation prev and the
 * domains changed since (relay_incr; x->active tells), or, when prev is
 * NULL or that cannot be, from a snapshot of every domain.
 */
int relay_gen_into(struct store *s, const struct conf *conf, const char *dir,
		   const char *policyd, const char *prev, struct relay_incr *x,
		   int64_t *seq, struct error *err)
{
	char digest[INCR_DIGEST_HEX + 1], seqs[32], drain_text[1200];
	struct gen g;
	int rc = -1;

	if (template_get("main.cf.in") == NULL)
		return error_set(err, ERR_INTERNAL, NULL,
				 "templates not built in");
	if (mkdir(dir, 0755) < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot create %s: %s", dir, strerror(errno));
	/* the doveadm key lives in paths.state: on a first run (a fresh
	 * host, "mta-glue generate DIR" before any apply) make it */
	if (mkdir(conf->state_dir, 0755) < 0 && errno != EEXIST)
		return error_set(err, ERR_INTERNAL, "paths.state",
				 "cannot create %s: %s", conf->state_dir,
				 strerror(errno));
	gen_init(&g, conf);
	if (relay_incr_digest(conf, digest, err) < 0)
		goto out;
	if (prev != NULL) {
		int r = relay_incr_collect(x, s, conf, prev, digest, &g, seq,
					   err);

		if (r < 0)
			goto out;
		if (r == 0) { /* in full: g again from nothing */
			gen_release(&g);
			gen_init(&g, conf);
		}
	}
	if (!x->active && store_snapshot(s, seq, &relay_gen_fns, &g, err) < 0)
		goto out;
	(void)snprintf(seqs, sizeof(seqs), "%lld", (long long)*seq);
	if (write_cf(dir, s, conf, policyd, &g, seqs, drain_text,
		     sizeof(drain_text), err) < 0 ||
	    write_files(dir, conf, &g, x, seqs, drain_text, digest, *seq, err) <
		    0 ||
	    (!x->active && postmap_all(dir, err) < 0))
		goto out;
	rc = atomic_sync_dir(dir, err);
out:
	gen_release(&g);
	return rc;
}

int relay_generate(struct store *s, const struct conf *conf, const char *dir,
		   const char *policyd, int64_t *seq, struct error *err)
{
	struct relay_incr x;
	int rc;

	relay_incr_init(&x);
	rc = relay_gen_into(s, conf, dir, policyd, NULL, &x, seq, err);
	relay_incr_release(&x);
	return rc;
}
