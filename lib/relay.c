/*
 * relay - generations of a relay's configuration: write, check, swap
 *
 * See relay.h.  Every path is built with checked snprintf into
 * PATH_MAX buffers; every file is written beside its final name and
 * renamed only after fsync, so no daemon ever reads a half-written one.
 */
#include "relay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "doveadm.h"
#include "drain.h"
#include "gen.h"
#include "policy.h"
#include "postgrey.h"
#include "queue.h"
#include "reinject.h"
#include "relay_incr.h"
#include "tls.h"
#include "util/atomicfile.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/httpc.h"
#include "util/template.h"

/* how long rspamd may take to judge by a new generation (its workers
 * restart after a HUP) before the apply counts as failed */
#define RSPAMD_LIVE_S 15

static int path_of(char *buf, const char *a, const char *b, struct error *err)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", a, b);

	if (n < 0 || n >= PATH_MAX)
		return error_set(err, ERR_INTERNAL, NULL,
				 "path too long: %s/%s", a, b);
	return 0;
}

/* Postfix trusts a configuration file only once its mtime is in the
 * past: the file is complete, so it is dated two seconds back.  The
 * directory is synced once its files are all written. */
static int write_file(const char *dir, const char *name, const char *data,
		      size_t len, struct error *err)
{
	char path[PATH_MAX];

	if (path_of(path, dir, name, err) < 0)
		return -1;
	return atomic_write(path, data, len, 0644,
			    ATOMIC_NO_DIRSYNC | ATOMIC_BACKDATE, err);
}

/* Run a command; its first output line goes into the error. */
static int run(const char *const *argv, const char *what, struct error *err)
{
	return spawn_check(argv, NULL, SPAWN_OUT_MAX, ERR_INTERNAL, what, err);
}

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

static int write_template(const char *dir, const char *out_name,
			  const char *tmpl, const struct gen_var *vars,
			  size_t nvars, struct error *err)
{
	struct strbuf text = STRBUF_INIT;
	int rc;

	rc = gen_fill(tmpl, template_get(tmpl), vars, nvars, &text, err);
	if (rc == 0)
		rc = write_file(dir, out_name, text.buf, text.len, err);
	sbuf_release(&text);
	return rc;
}

static char *slurp(const char *path, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sbuf_add(&sb, buf, (size_t)n);
	close(fd);
	if (n < 0) {
		sbuf_release(&sb);
		return NULL;
	}
	return sbuf_detach(&sb, len);
}

/* The new dir's file equals the current generation's. */
static bool same_file(const char *dir, const char *state, const char *name)
{
	char a[PATH_MAX], b[PATH_MAX];
	size_t la = 0, lb = 0;
	char *x, *y;
	bool same;

	if (snprintf(a, sizeof(a), "%s/%s", dir, name) >= (int)sizeof(a) ||
	    snprintf(b, sizeof(b), "%s/current/%s", state, name) >=
		    (int)sizeof(b))
		return false;
	x = slurp(a, &la);
	y = slurp(b, &lb);
	same = x != NULL && y != NULL && la == lb && memcmp(x, y, la) == 0;
	free(x);
	free(y);
	return same;
}

/* The current generation holds the file name. */
static bool has_current_file(const struct conf *conf, const char *name)
{
	char p[PATH_MAX];

	return snprintf(p, sizeof(p), "%s/current/%s", conf->state_dir, name) <
		       (int)sizeof(p) &&
	       access(p, F_OK) == 0;
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
	return write_file(dir, name, text->buf, text->len, err);
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
	if (path_of(sub, dir, "rspamd", err) < 0 || mkdir(sub, 0755) < 0 ||
	    path_of(sub, dir, "rspamd/local.d", err) < 0 ||
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
		if (write_file(dir, name, off, sizeof(off) - 1, err) < 0)
			return -1;
	}
	if (write_data(dir, x, "rspamd/mxfeed-domains", &g->spam, err) < 0 ||
	    write_data(dir, x, "rspamd/mxfeed-modes", &g->modes, err) < 0 ||
	    atomic_sync_dir(sub, err) < 0)
		return -1;
	if (path_of(sub, dir, "rspamd", err) < 0)
		return -1;
	return atomic_sync_dir(sub, err);
}

/* Mode 0640, group dovecot (when there is one). */
static int protect(const char *dir, const char *name, struct error *err)
{
	char p[PATH_MAX];
	struct passwd *pw = getpwnam("dovecot");

	if (path_of(p, dir, name, err) < 0 || chmod(p, 0640) < 0 ||
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

/* The mailbox host's Dovecot: dovecot.conf and its SQL user database. */
static int write_dovecot(const char *dir, const struct conf *conf,
			 struct error *err)
{
	char sub[PATH_MAX], run[PATH_MAX], st[PATH_MAX], log[PATH_MAX],
		sql[PATH_MAX], pop3[16], imap[16], lmtp[16], group[64],
		dvconf[PATH_MAX], dvaddr[128], dvport[16], dvtls[PATH_MAX],
		acl[PATH_MAX], key[DOVEADM_KEY_LEN + 1];
	const struct gen_var vars[] = {
		{ "RUN", run },
		{ "DSTATE", st },
		{ "LOG", log },
		{ "LISTEN", conf->mailbox_listen },
		{ "MAILUSER", conf->mailbox_user },
		{ "MAILGROUP", group },
		{ "SQLCONF", sql },
		{ "POP3", pop3 },
		{ "IMAP", imap },
		{ "LMTP", lmtp },
		{ "MAILDIR", conf->mailbox_maildir },
		{ "CONNINFO", conf->db_conninfo },
		{ "DOVEADMCONF", dvconf },
		{ "DOVEADM_ADDR", dvaddr },
		{ "DOVEADM_PORT", dvport },
		{ "DOVETLSCONF", dvtls },
		{ "ACLFILE", acl },
		{ "LMTP_LISTEN", conf->mailbox_lmtp_listen },
		{ "LOCALCONF", conf->mailbox_local_conf },
	};
	size_t nv = sizeof(vars) / sizeof(vars[0]);
	char cur[PATH_MAX];

	{
		/* the mail user's primary group ("nogroup" for nobody) */
		struct passwd *pw = getpwnam(conf->mailbox_user);
		struct group *gr = pw ? getgrgid(pw->pw_gid) : NULL;

		if (gr == NULL ||
		    strlcpy_checked(group, gr->gr_name, sizeof(group)) < 0)
			return error_set(err, ERR_INTERNAL, "mailbox.user",
					 "mailbox.user: no such user or group");
	}
	if (path_of(sub, dir, "dovecot", err) < 0 || mkdir(sub, 0755) < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot create %s/dovecot: %s", dir,
				 strerror(errno));
	if (path_of(cur, conf->state_dir, "current/dovecot", err) < 0 ||
	    path_of(run, conf->state_dir, "dovecot-run", err) < 0 ||
	    path_of(st, conf->state_dir, "dovecot-state", err) < 0 ||
	    path_of(log, conf->state_dir, "dovecot.log", err) < 0 ||
	    path_of(sql, cur, "dovecot-sql.conf.ext", err) < 0 ||
	    path_of(dvconf, cur, "doveadm.conf.ext", err) < 0 ||
	    path_of(dvtls, cur, "tls.conf.ext", err) < 0 ||
	    path_of(acl, cur, "dovecot-acl", err) < 0 ||
	    doveadm_key(conf, true, key, err) < 0 ||
	    split_hostport(conf->mailbox_doveadm, dvaddr, sizeof(dvaddr),
			   dvport, sizeof(dvport), err) < 0)
		return -1;
	(void)snprintf(pop3, sizeof(pop3), "%d", conf->mailbox_pop3_port);
	(void)snprintf(imap, sizeof(imap), "%d", conf->mailbox_imap_port);
	(void)snprintf(lmtp, sizeof(lmtp), "%d", conf->mailbox_lmtp_port);
	{
		struct strbuf tc = STRBUF_INIT;
		int rc = gen_dovecot_tls(conf, &tc, err);

		if (rc == 0)
			rc = write_file(sub, "tls.conf.ext", tc.buf, tc.len,
					err);
		sbuf_release(&tc);
		if (rc < 0)
			return -1;
	}
	/* the owner's rights on every mailbox: no "i" (insert: APPEND,
	 * COPY, MOVE), so only LMTP ("p") puts mail in (dovecot.conf.in);
	 * but Trash takes what webmail deletes: a revert never forwards
	 * Trash (mailjob.c), so nothing put there can leave with it */
	static const char acl_rules[] = "* owner lrwstep\n"
					"Trash owner lrwstipek\n";

	if (write_file(sub, "dovecot-acl", acl_rules, sizeof(acl_rules) - 1,
		       err) < 0 ||
	    write_template(dir, "dovecot/dovecot.conf", "dovecot.conf.in", vars,
			   nv, err) < 0 ||
	    write_template(dir, "dovecot/dovecot-sql.conf.ext",
			   "dovecot-sql.conf.ext.in", vars, nv, err) < 0)
		return -1;
	{
		struct strbuf kc = STRBUF_INIT;
		int rc;

		sbuf_addf(&kc,
			  "# the doveadm HTTP API key (generated by mta-glue "
			  "from %s/doveadm.key)\ndoveadm_api_key = %s\n",
			  conf->state_dir, key);
		rc = write_file(sub, "doveadm.conf.ext", kc.buf, kc.len, err);
		OPENSSL_cleanse(kc.buf, kc.len);
		OPENSSL_cleanse(key, sizeof(key));
		sbuf_release(&kc);
		if (rc < 0)
			return -1;
	}
	/* they hold the database login and the API key: root and
	 * Dovecot only */
	if (protect(sub, "dovecot-sql.conf.ext", err) < 0 ||
	    protect(sub, "doveadm.conf.ext", err) < 0)
		return -1;
	return atomic_sync_dir(sub, err);
}

/* rspamd's configuration (not its data) differs from the current one. */
static bool rspamd_changed(const char *dir, const struct conf *conf)
{
	size_t i;

	for (i = 0; i < NRSPAMD; i++)
		if (!same_file(dir, conf->state_dir, rspamd_files[i].out))
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
	rc = write_file(dir, "policy.idx", idx.buf, idx.len, err);
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
	rc = write_file(dir, "INPUTS", t.buf, t.len, err);
	sbuf_release(&t);
	return rc;
}

/*
 * One generation into dir: from the previous generation prev and the
 * domains changed since (relay_incr; x->active tells), or, when prev is
 * NULL or that cannot be, from a snapshot of every domain.
 */
static int generate(struct store *s, const struct conf *conf, const char *dir,
		    const char *policyd, const char *prev, struct relay_incr *x,
		    int64_t *seq, struct error *err)
{
	char digest[INCR_DIGEST_HEX + 1];
	char current[PATH_MAX], spool[PATH_MAX], data[PATH_MAX], map[PATH_MAX];
	char seqs[32], maxbytes[32];
	const char *bind4 = "", *bind6 = "";
	struct strbuf clients = STRBUF_INIT, reinject = STRBUF_INIT,
		      tls_chain = STRBUF_INIT, tls_map = STRBUF_INIT;
	struct strbuf feed_checks = STRBUF_INIT, backup_checks = STRBUF_INIT;
	const char *tls_level = NULL;
	const char *reinject_tls = "none", *reinject_ccert = "no",
		   *reinject_ca = "";
	struct gen g;
	struct drain_plan dp;
	struct drain_vars dv;
	char drain_text[1200];
	size_t i;
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
	if (!x->active && store_snapshot(s, seq,
					 &(const struct snap_fns){
						 on_domain, on_rule, on_rcpt },
					 &g, err) < 0)
		goto out;
	(void)snprintf(seqs, sizeof(seqs), "%lld", (long long)*seq);
	/* the re-injection listener's clients: the mailbox hosts */
	for (i = 0; i < conf->relay_reinject_clients.n; i++)
		sbuf_addf(&clients, "%s%s", i ? "," : "",
			  conf->relay_reinject_clients.v[i].text);
	if (clients.len == 0)
		sbuf_addstr(&clients, "127.0.0.0/8");
	/* "local": private/ of the queue directory (0700, postfix), so
	 * only root and Postfix reach it; else a TCP listener that takes
	 * mail only over TLS from a client relay.reinject_ca signed */
	if (strcmp(conf->relay_reinject, "local") == 0) {
		sbuf_addstr(&reinject, REINJECT_SOCKET " unix -");
	} else if (conf->relay_reinject_ca == NULL ||
		   conf->tls_cert_file == NULL) {
		error_set(err, ERR_INVALID, "relay.reinject_ca",
			  "relay.reinject \"%s\" is a TCP listener: it needs "
			  "relay.reinject_ca (the CA of the mailbox hosts' "
			  "client certificates) and tls.cert_file",
			  conf->relay_reinject);
		goto out;
	} else {
		sbuf_addf(&reinject, "%s inet n", conf->relay_reinject);
		reinject_tls = "encrypt";
		reinject_ccert = "yes";
		reinject_ca = conf->relay_reinject_ca;
	}
	(void)snprintf(maxbytes, sizeof(maxbytes), "%lld",
		       (long long)g.max_message_mb * 1024 * 1024);
	/* canonical addresses (ip_parse), one per family by conf.c */
	for (i = 0; i < conf->relay_outbound.n; i++) {
		const struct ip_addr *a = &conf->relay_outbound.v[i].net;

		if (a->family == AF_INET)
			bind4 = a->text;
		else
			bind6 = a->text;
	}
	if (gen_smtpd_checks(conf, &feed_checks, &backup_checks, err) < 0 ||
	    path_of(current, conf->state_dir, "current", err) < 0 ||
	    path_of(spool, conf->state_dir, "spool", err) < 0 ||
	    path_of(data, conf->state_dir, "data", err) < 0 ||
	    drain_plan_read(s, conf, &dp, err) < 0)
		goto out;
	drain_vars(&dp, current, &dv);
	drain_plan_text(&dp, drain_text, sizeof(drain_text));
	/* STARTTLS: a pair that loads, or loopback only */
	if (gen_smtpd_tls(conf, &tls_level, &tls_chain, err) < 0 ||
	    (conf->tls_cert_file != NULL &&
	     tls_pair_check(conf->tls_cert_file, conf->tls_key_file, err) < 0))
		goto out;
	{
		const struct gen_var vars[] = {
			{ "SEQ", seqs },
			{ "CURRENT", current },
			{ "STATE", conf->state_dir },
			{ "SPOOL", spool },
			{ "DATA", data },
			{ "HOSTNAME", conf->relay_hostname },
			{ "LISTEN", conf->relay_listen },
			{ "DNS", conf->relay_dns ? "enabled" : "disabled" },
			{ "BIND4", bind4 },
			{ "BIND6", bind6 },
			{ "PEERNAME", conf->relay_dns ? "yes" : "no" },
			{ "MAXBYTES", maxbytes },
			{ "POLICYD", policyd },
			{ "POSTGREY", conf->greylist_postgrey },
			{ "MILTER", conf->scanner_milter },
			{ "REINJECT", reinject.buf },
			{ "REINJECT_CLIENTS", clients.buf },
			{ "REINJECT_TLS", reinject_tls },
			{ "REINJECT_CCERT", reinject_ccert },
			{ "REINJECT_CA", reinject_ca },
			{ "FEED_CHECKS", feed_checks.buf },
			{ "BACKUP_CHECKS", backup_checks.buf },
			{ "SMTPD_TLS_LEVEL", tls_level },
			{ "SMTPD_TLS_CHAIN", tls_chain.buf },
			{ "DRAIN_DELAY_REJECT", dv.delay_reject },
			{ "DRAIN_CLIENT", dv.client },
			{ "TRANSPORT_MAPS", dv.transport_maps },
			{ "RELAY_TRANSPORT", dv.relay_transport },
			{ "PEER_CHECKS", dv.peer_checks },
		};
		size_t nv = sizeof(vars) / sizeof(vars[0]);

		if (write_template(dir, "main.cf", "main.cf.in", vars, nv,
				   err) < 0 ||
		    write_template(dir, "master.cf", "master.cf.in", vars, nv,
				   err) < 0)
			goto out;
	}
	if (write_data(dir, x, "relay_domains", &g.relay_domains, err) < 0 ||
	    write_data(dir, x, "transport", &g.transport, err) < 0 ||
	    write_data(dir, x, "tls_domains", &g.tls_domains, err) < 0 ||
	    write_data(dir, x, "policy", &g.policy, err) < 0 ||
	    (relay_incr_unchanged(x, "policy")
		     ? relay_incr_link(x, dir, "policy.idx", err)
		     : write_policy_index(dir, &g, err)) < 0 ||
	    write_data(dir, x, "queue", &g.queue, err) < 0 ||
	    write_file(dir, "SEQ", seqs, strlen(seqs), err) < 0 ||
	    write_file(dir, "DRAIN", drain_text, strlen(drain_text), err) < 0 ||
	    write_inputs(dir, *seq, digest, &g, err) < 0)
		goto out;
	if (gen_tls_policy_finish(&g, &tls_map, err) < 0)
		goto out;
	/* incrementally: the maps patched, not postmapped */
	if (x->active) {
		if (relay_incr_maps(x, dir, &tls_map, err) < 0)
			goto out;
	} else if (write_file(dir, "tls_policy", tls_map.buf, tls_map.len,
			      err) < 0) {
		goto out;
	}
	if (write_rspamd(dir, conf, &g, x, err) < 0 ||
	    write_dovecot(dir, conf, err) < 0)
		goto out;
	{
		struct strbuf pg = STRBUF_INIT;
		int r;

		gen_postgrey_args(conf, &pg);
		r = write_file(dir, "postgrey.args", pg.buf, pg.len, err);
		sbuf_release(&pg);
		if (r < 0)
			goto out;
	}
	/* postmap writes the .lmdb beside its source, via a temp file; the
	 * three maps are built at the same time */
	if (!x->active) {
		static const char *const maps[] = { "relay_domains",
						    "transport", "tls_policy" };
		static const char *const whats[] = { "postmap relay_domains",
						     "postmap transport",
						     "postmap tls_policy" };
		char arg[3][PATH_MAX + 8];
		const char *argv[3][5];
		const char *const *argvs[3];

		for (i = 0; i < 3; i++) {
			if (path_of(map, dir, maps[i], err) < 0)
				goto out;
			(void)snprintf(arg[i], sizeof(arg[i]), "lmdb:%s", map);
			argv[i][0] = "postmap";
			argv[i][1] = "-c";
			argv[i][2] = dir;
			argv[i][3] = arg[i];
			argv[i][4] = NULL;
			argvs[i] = argv[i];
		}
		if (spawn_check_all(argvs, whats, 3, ERR_INTERNAL, err) < 0)
			goto out;
	}
	rc = atomic_sync_dir(dir, err);
out:
	gen_release(&g);
	sbuf_release(&clients);
	sbuf_release(&reinject);
	sbuf_release(&feed_checks);
	sbuf_release(&backup_checks);
	sbuf_release(&tls_chain);
	sbuf_release(&tls_map);
	return rc;
}

int relay_generate(struct store *s, const struct conf *conf, const char *dir,
		   const char *policyd, int64_t *seq, struct error *err)
{
	struct relay_incr x;
	int rc;

	relay_incr_init(&x);
	rc = generate(s, conf, dir, policyd, NULL, &x, seq, err);
	relay_incr_release(&x);
	return rc;
}

static int lock_state(const struct conf *conf, struct error *err)
{
	char path[PATH_MAX];
	int fd;

	if (path_of(path, conf->state_dir, "lock", err) < 0)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set(err, ERR_INTERNAL, NULL, "cannot open %s: %s",
				 path, strerror(errno));
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return error_set(err, ERR_INTERNAL, NULL, "cannot lock %s: %s",
				 path, strerror(errno));
	}
	return fd;
}

/* Remove a generation directory: files and (a few levels of) dirs. */
static void remove_tree_depth(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >=
		    (int)sizeof(p))
			continue;
		if (e->d_type == DT_DIR && depth > 0)
			remove_tree_depth(p, depth - 1);
		else
			(void)unlink(p);
	}
	closedir(d);
	(void)rmdir(dir);
}

static void remove_tree(const char *dir)
{
	remove_tree_depth(dir, 3);
}

/* Remove every "*.new" directory: under the lock no run is writing one. */
static void remove_stale(const char *gens)
{
	DIR *d = opendir(gens);
	struct dirent *e;
	char p[PATH_MAX];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n > 4 && strcmp(e->d_name + n - 4, ".new") == 0 &&
		    snprintf(p, sizeof(p), "%s/%s", gens, e->d_name) <
			    (int)sizeof(p))
			remove_tree(p);
	}
	closedir(d);
}

/* Point "current" at target (a path relative to the state dir). */
static int swap_current(const struct conf *conf, const char *target,
			struct error *err)
{
	char cur[PATH_MAX], tmp[PATH_MAX];

	if (path_of(cur, conf->state_dir, "current", err) < 0 ||
	    path_of(tmp, conf->state_dir, "current.new", err) < 0)
		return -1;
	(void)unlink(tmp);
	if (symlink(target, tmp) < 0 || rename(tmp, cur) < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot switch %s to %s: %s", cur, target,
				 strerror(errno));
	return atomic_sync_dir(conf->state_dir, err);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Generation names, oldest first (names sort by sequence, then time). */
static char **list_generations(const char *gens, size_t *n)
{
	DIR *d = opendir(gens);
	struct dirent *e;
	char **v = NULL;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "g-", 2) != 0 ||
		    strstr(e->d_name, ".new") != NULL)
			continue;
		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_names);
	return v;
}

static void free_names(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The generation "current" points at ("g-..."), or "" if none. */
static void current_name(const struct conf *conf, char *buf, size_t size)
{
	char cur[PATH_MAX], link[PATH_MAX];
	ssize_t n;
	const char *slash;

	buf[0] = '\0';
	if (snprintf(cur, sizeof(cur), "%s/current", conf->state_dir) >=
	    (int)sizeof(cur))
		return;
	n = readlink(cur, link, sizeof(link) - 1);
	if (n <= 0)
		return;
	link[n] = '\0';
	slash = strrchr(link, '/');
	if (strlcpy_checked(buf, slash ? slash + 1 : link, size) < 0)
		buf[0] = '\0';
}

static void prune(const struct conf *conf, const char *gens)
{
	char cur[NAME_MAX + 1];
	size_t n, i, keep = (size_t)conf->relay_generations;
	char **v = list_generations(gens, &n);

	current_name(conf, cur, sizeof(cur));
	for (i = 0; n > keep && i < n - keep; i++) {
		char p[PATH_MAX];

		if (strcmp(v[i], cur) == 0)
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", gens, v[i]) <
		    (int)sizeof(p))
			remove_tree(p);
	}
	free_names(v, n);
}

/* rspamd's pid from scanner.rspamd_pid, or 0 when it does not run. */
static pid_t rspamd_pid(const struct conf *conf)
{
	char buf[32];
	ssize_t n;
	long pid;
	int fd = open(conf->scanner_rspamd_pid, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid <= 1 || pid > INT_MAX || kill((pid_t)pid, 0) < 0)
		return 0;
	return (pid_t)pid;
}

/*
 * The generation rspamd judges by, from one scan through its normal
 * worker (the Lua tags every scan "gen=NAME"): 1 when it is name, 0
 * when it is another or none, -1 when rspamd did not answer.
 */
static int rspamd_judges_by(const struct conf *conf, const char *name,
			    struct strbuf *seen, struct error *err)
{
	static const char msg[] = "From: <mxfeed@localhost>\r\n"
				  "Subject: mxfeed generation check\r\n"
				  "\r\n"
				  "check\r\n";
	char url[300], want[128];
	struct strbuf reply = STRBUF_INIT;
	struct httpc_req rq = { url,  NULL, msg,      sizeof(msg) - 1,
				1000, 3000, 64 * 1024 };
	json_t *j, *opts, *o;
	size_t i;
	long status;
	int rc = 0;

	(void)snprintf(url, sizeof(url), "http://%s/checkv2",
		       conf->scanner_normal);
	(void)snprintf(want, sizeof(want), "gen=%s", name);
	if (httpc_post(&rq, &status, &reply, err) < 0) {
		sbuf_release(&reply);
		return -1;
	}
	j = status == 200 ? json_loadb(reply.buf, reply.len, 0, NULL) : NULL;
	opts = json_object_get(
		json_object_get(json_object_get(j, "symbols"), "MXFEED_POLICY"),
		"options");
	sbuf_reset(seen);
	json_array_foreach(opts, i, o)
	{
		const char *v = json_string_value(o);

		if (v == NULL || strncmp(v, "gen=", 4) != 0)
			continue;
		sbuf_addstr(seen, v + 4);
		rc = strcmp(v, want) == 0;
	}
	json_decref(j);
	sbuf_release(&reply);
	return rc;
}

/*
 * rspamd judges by generation name: HUP it first when its own
 * configuration changed (its workers restart on it), then scan until
 * the answer names the generation.  Not running: nothing serves an
 * older one, and it reads current when it starts.
 */
static int rspamd_live(const struct conf *conf, const char *name, bool reload,
		       struct error *err)
{
	struct strbuf seen = STRBUF_INIT, last = STRBUF_INIT;
	struct timespec now, end;
	pid_t pid = rspamd_pid(conf);
	int r;

	if (pid == 0)
		return 0;
	if (reload)
		(void)kill(pid, SIGHUP);
	(void)clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += RSPAMD_LIVE_S;
	for (;;) {
		struct error e = ERROR_INIT;

		r = rspamd_judges_by(conf, name, &seen, &e);
		if (r < 0) {
			sbuf_reset(&last);
			sbuf_addstr(&last, error_msg(&e));
		}
		error_release(&e);
		if (r == 1)
			break;
		(void)clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec >= end.tv_sec)
			break;
		(void)nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 },
				NULL);
	}
	if (r == 0)
		error_set(err, ERR_INTERNAL, NULL,
			  "rspamd did not take generation %s within %d s (it "
			  "judges by %s)",
			  name, RSPAMD_LIVE_S, seen.len ? seen.buf : "none");
	else if (r < 0)
		error_set(err, ERR_INTERNAL, NULL,
			  "rspamd did not take generation %s within %d s: %s",
			  name, RSPAMD_LIVE_S, last.buf);
	sbuf_release(&seen);
	sbuf_release(&last);
	return r == 1 ? 0 : -1;
}

/* Dovecot's master runs (its pid file names a live process). */
static bool dovecot_running(const struct conf *conf)
{
	char path[PATH_MAX], buf[32];
	ssize_t n;
	long pid;
	int fd;

	if (snprintf(path, sizeof(path), "%s/dovecot-run/master.pid",
		     conf->state_dir) >= (int)sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	return pid > 1 && pid <= INT_MAX && kill((pid_t)pid, 0) == 0;
}

/*
 * Every running daemon the generation drives serves it: Postfix
 * reloaded, rspamd judging by it (checked by a scan), Dovecot reloaded
 * when its configuration changed, postgrey restarted by greylist.restart
 * and greylisting by the new delay when its options changed.  Only then
 * may the relay report it.
 */
static int make_live(const struct conf *conf, const char *name,
		     bool postfix_new, bool rspamd_new, bool dovecot_new,
		     bool postgrey_new, struct error *err)
{
	if (!postfix_new)
		log_info("generation %s: main.cf, master.cf and the maps as "
			 "before; no postfix reload",
			 name);
	else if (relay_postfix_running(conf) &&
		 relay_postfix(conf, "reload", err) < 0)
		return -1;
	if (rspamd_live(conf, name, rspamd_new, err) < 0)
		return -1;
	if (dovecot_new && dovecot_running(conf)) {
		char dc[PATH_MAX];
		const char *argv[] = { "dovecot", "-c", dc, "reload", NULL };

		if (path_of(dc, conf->state_dir, "current/dovecot/dovecot.conf",
			    err) < 0 ||
		    run(argv, "dovecot reload", err) < 0)
			return -1;
	}
	if (postgrey_new) {
		char args[PATH_MAX];

		if (path_of(args, conf->state_dir, "current/postgrey.args",
			    err) < 0 ||
		    postgrey_follow(conf, args, err) < 0)
			return -1;
	}
	return 0;
}

bool relay_postfix_running(const struct conf *conf)
{
	char cur[PATH_MAX];
	const char *argv[] = { "postfix", "-c", cur, "status", NULL };
	struct error e = ERROR_INIT;
	int rc;

	if (snprintf(cur, sizeof(cur), "%s/current", conf->state_dir) >=
	    (int)sizeof(cur))
		return false;
	rc = run(argv, "postfix status", &e);
	error_release(&e);
	return rc == 0;
}

int relay_postfix(const struct conf *conf, const char *verb, struct error *err)
{
	char cur[PATH_MAX], what[64];
	const char *argv[] = { "postfix", "-c", cur, verb, NULL };

	if (path_of(cur, conf->state_dir, "current", err) < 0)
		return -1;
	(void)snprintf(what, sizeof(what), "postfix %s", verb);
	return run(argv, what, err);
}

/* Split a map source into its lines, in place (they stay sorted). */
static char **map_lines(char *text, size_t *n)
{
	char **v = NULL, *p = text;

	*n = 0;
	while (p != NULL && *p) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = p;
		p = nl ? nl + 1 : NULL;
	}
	return v;
}

/* bsearch over "KEY VALUE" lines by KEY */
static int cmp_key(const void *key, const void *elem)
{
	const char *line = *(char *const *)elem;
	size_t kl = strcspn(line, " "), n = strlen(key);
	int c = strncmp(key, line, n < kl ? n : kl);

	return c != 0 ? c : n < kl ? -1 : n > kl ? 1 : 0;
}

/*
 * The domains whose transport is new or different in new_path compared
 * with old_path (both written in byte order by gen.c); sorted.
 */
static char **route_changes(const char *old_path, const char *new_path,
			    size_t *n)
{
	size_t la = 0, lb = 0, na = 0, nb = 0, i;
	char *a = slurp(old_path, &la), *b = slurp(new_path, &lb);
	char **va = a ? map_lines(a, &na) : NULL;
	char **vb = b ? map_lines(b, &nb) : NULL;
	char **out = NULL;

	*n = 0;
	for (i = 0; i < nb; i++) {
		size_t kl = strcspn(vb[i], " ");
		char key[DOMAIN_NAME_MAX + 1];
		char **old;

		if (kl > DOMAIN_NAME_MAX)
			continue;
		memcpy(key, vb[i], kl);
		key[kl] = '\0';
		old = na ? bsearch(key, va, na, sizeof(*va), cmp_key) : NULL;
		if (old != NULL && strcmp(*old, vb[i]) == 0)
			continue;
		out = xrealloc(out, (*n + 1) * sizeof(*out));
		out[(*n)++] = xstrdup(key);
	}
	free(va);
	free(vb);
	free(a);
	free(b);
	return out;
}

/* Postfix's queue (root's; postfix check fills it) and data dirs. */
static int instance_dirs(const struct conf *conf, struct error *err)
{
	char spool[PATH_MAX], data[PATH_MAX];
	struct passwd *pw = getpwnam("postfix");

	if (pw == NULL)
		return error_set(err, ERR_INTERNAL, NULL,
				 "no 'postfix' user: install postfix");
	if (path_of(spool, conf->state_dir, "spool", err) < 0 ||
	    path_of(data, conf->state_dir, "data", err) < 0)
		return -1;
	if ((mkdir(spool, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(data, 0700) < 0 && errno != EEXIST) ||
	    chown(data, pw->pw_uid, pw->pw_gid) < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot set up %s and %s: %s", spool, data,
				 strerror(errno));
	return 0;
}

/*
 * Deferred mail of a domain whose route changed follows the new route
 * now (postsuper -r), not at its next retry on the old one.  Failures
 * are logged: the mail still goes, only later.
 */
static void requeue_moved(const struct conf *conf, const char *gens,
			  const char *name, const struct relay_incr *x)
{
	char prev[PATH_MAX], next[PATH_MAX];
	size_t n = 0, i, done = 0, ngen;
	char **names = list_generations(gens, &ngen), **changed = NULL;
	struct error e = ERROR_INIT;

	for (i = 0; i < ngen && strcmp(names[i], name) != 0; i++)
		;
	if (x->active) /* the changed rows only, not both whole maps */
		changed = relay_incr_moved(x, &n);
	else if (i > 0 && i < ngen &&
		 snprintf(prev, sizeof(prev), "%s/%s/transport", gens,
			  names[i - 1]) < (int)sizeof(prev) &&
		 snprintf(next, sizeof(next), "%s/%s/transport", gens, name) <
			 (int)sizeof(next))
		changed = route_changes(prev, next, &n);
	if (n > 0 && relay_postfix_running(conf)) {
		if (queue_requeue(conf, changed, n, &done, &e) < 0) {
			log_warn("requeue after a route change: %s",
				 error_msg(&e));
			error_release(&e);
		} else if (done > 0) {
			log_info("requeued %zu message(s) of %zu domain(s) "
				 "whose route changed",
				 done, n);
		}
	}
	for (i = 0; i < n; i++)
		free(changed[i]);
	free(changed);
	free_names(names, ngen);
}

/* MAP.stamp: the generation that wrote rspamd's map, the previous
 * one's when the map is its file (the Lua then does not read it again) */
static int write_stamp(const char *dir, const struct relay_incr *x,
		       const char *map, const char *name, struct error *err)
{
	char stamp[PATH_MAX], prev[PATH_MAX];

	if (snprintf(stamp, sizeof(stamp), "%s.stamp", map) >=
	    (int)sizeof(stamp))
		return error_set(err, ERR_INTERNAL, NULL, "path too long");
	if (relay_incr_unchanged(x, map) &&
	    snprintf(prev, sizeof(prev), "%s/%s", x->prev, stamp) <
		    (int)sizeof(prev) &&
	    access(prev, F_OK) == 0)
		return relay_incr_link(x, dir, stamp, err);
	return write_file(dir, stamp, name, strlen(name), err);
}

/* A generation's name: sequence, then time to the nanosecond, so that
 * names sort by age and two runs never share one. */
static void generation_name(char *buf, size_t size, int64_t seq)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)snprintf(buf, size, "g-%020lld-%lld.%09ld", (long long)seq,
		       (long long)ts.tv_sec, ts.tv_nsec);
}

/* The generation is checked; now make it current and live. */
static int activate(const struct conf *conf, const char *gens,
		    const char *tmpdir, const char *name, bool postfix_new,
		    bool rspamd_new, bool dovecot_new, bool postgrey_new,
		    struct error *err)
{
	char final[PATH_MAX], target[PATH_MAX], prev[NAME_MAX + 1];

	current_name(conf, prev, sizeof(prev));
	if (path_of(final, gens, name, err) < 0)
		return -1;
	if (rename(tmpdir, final) < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot rename %s: %s", tmpdir,
				 strerror(errno));
	(void)snprintf(target, sizeof(target), "generations/%s", name);
	if (swap_current(conf, target, err) < 0)
		return -1;
	if (make_live(conf, name, postfix_new, rspamd_new, dovecot_new,
		      postgrey_new, err) == 0)
		return 0;
	/* a daemon did not take it: the previous generation stays */
	if (prev[0] != '\0') {
		struct error e2 = ERROR_INIT;

		(void)snprintf(target, sizeof(target), "generations/%s", prev);
		if (swap_current(conf, target, &e2) < 0 ||
		    make_live(conf, prev, postfix_new, rspamd_new, dovecot_new,
			      postgrey_new, &e2) < 0)
			log_error("back to generation %s: %s", prev,
				  error_msg(&e2));
		else
			log_warn("generation %s not taken, %s stays in force",
				 name, prev);
		error_release(&e2);
	}
	return -1;
}

int relay_apply(struct store *s, const struct conf *conf, const char *policyd,
		int64_t *seq, bool full, struct error *err)
{
	char gens[PATH_MAX], tmpdir[PATH_MAX], name[96], prev[PATH_MAX];
	char cur[NAME_MAX + 1];
	bool postfix_new, rspamd_new, dovecot_new, postgrey_new;
	struct relay_incr x;
	int lock, rc = -1;

	relay_incr_init(&x);

	if (mkdir(conf->state_dir, 0755) < 0 && errno != EEXIST)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot create %s: %s", conf->state_dir,
				 strerror(errno));
	if (path_of(gens, conf->state_dir, "generations", err) < 0)
		return -1;
	if (mkdir(gens, 0755) < 0 && errno != EEXIST)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot create %s: %s", gens, strerror(errno));
	if (instance_dirs(conf, err) < 0)
		return -1;
	if ((lock = lock_state(conf, err)) < 0)
		return -1;
	/* ".new": never taken for a generation by list_generations */
	(void)snprintf(name, sizeof(name), "g-%ld.new", (long)getpid());
	if (path_of(tmpdir, gens, name, err) < 0)
		goto out;
	remove_stale(gens); /* left by runs that were killed */
	/* from the generation in force, unless asked for in full */
	current_name(conf, cur, sizeof(cur));
	if (full || cur[0] == '\0' ||
	    snprintf(prev, sizeof(prev), "%s/%s", gens, cur) >=
		    (int)sizeof(prev))
		prev[0] = '\0';
	if (generate(s, conf, tmpdir, policyd, prev[0] ? prev : NULL, &x, seq,
		     err) < 0)
		goto fail;
	generation_name(name, sizeof(name), *seq);
	/* rspamd's Lua reloads its domains when this name changes */
	if (write_file(tmpdir, "rspamd/mxfeed-generation", name, strlen(name),
		       err) < 0 ||
	    write_stamp(tmpdir, &x, "rspamd/mxfeed-domains", name, err) < 0 ||
	    write_stamp(tmpdir, &x, "rspamd/mxfeed-modes", name, err) < 0)
		goto fail;
	/* maps were checked by postmap; main.cf and master.cf by postfix
	 * check, which takes a quarter of a second, so only when they
	 * differ from the generation in force */
	postfix_new = !same_file(tmpdir, conf->state_dir, "main.cf") ||
		      !same_file(tmpdir, conf->state_dir, "master.cf");
	if (postfix_new) {
		const char *argv[] = { "postfix", "-c", tmpdir, "check", NULL };

		if (run(argv, "postfix check", err) < 0)
			goto fail;
	}
	/*
	 * Postfix's daemons keep the maps of the generation they opened:
	 * a changed map (a route, a domain added or removed, a TLS policy)
	 * takes a reload - trivial-rewrite answers qmgr and cleanup over
	 * connections that outlive a change - but a change of the policy,
	 * rspamd or queue files alone does not (policyd and rspamd follow
	 * the generation themselves).  A full generation always reloads.
	 */
	postfix_new = postfix_new || !x.active || x.maps_changed;
	rspamd_new = rspamd_changed(tmpdir, conf);
	if (rspamd_new) {
		char var[PATH_MAX + 32];
		const char *argv[] = { "rspamadm",
				       var,
				       "configtest",
				       "-c",
				       "/etc/rspamd/rspamd.conf",
				       NULL };

		(void)snprintf(var, sizeof(var),
			       "--var=LOCAL_CONFDIR=%s/rspamd", tmpdir);
		if (run(argv, "rspamadm configtest", err) < 0)
			goto fail;
	}
	dovecot_new =
		!same_file(tmpdir, conf->state_dir, "dovecot/dovecot.conf");
	/* postgrey's options changed: it restarts (the first generation
	 * has nothing before it; whoever starts postgrey reads it) */
	postgrey_new = has_current_file(conf, "postgrey.args") &&
		       !same_file(tmpdir, conf->state_dir, "postgrey.args");
	if (activate(conf, gens, tmpdir, name, postfix_new, rspamd_new,
		     dovecot_new, postgrey_new, err) < 0)
		goto out;
	requeue_moved(conf, gens, name, &x);
	prune(conf, gens);
	rc = 0;
	goto out;
fail:
	remove_tree(tmpdir);
out:
	relay_incr_release(&x);
	close(lock);
	return rc;
}

int relay_rollback(const struct conf *conf, struct error *err)
{
	char gens[PATH_MAX], cur[NAME_MAX + 1], target[PATH_MAX];
	size_t n, i;
	char **v;
	bool postgrey_new;
	int lock, rc = -1;

	if (path_of(gens, conf->state_dir, "generations", err) < 0)
		return -1;
	if ((lock = lock_state(conf, err)) < 0)
		return -1;
	v = list_generations(gens, &n);
	current_name(conf, cur, sizeof(cur));
	for (i = 0; i < n && strcmp(v[i], cur) != 0; i++)
		;
	if (i == n || i == 0) {
		error_set(err, ERR_CONFLICT, NULL,
			  "no older generation to roll back to");
		goto out;
	}
	(void)snprintf(target, sizeof(target), "generations/%s", v[i - 1]);
	{
		char dir[PATH_MAX];

		postgrey_new =
			snprintf(dir, sizeof(dir), "%s/%s", gens, v[i - 1]) <
				(int)sizeof(dir) &&
			!same_file(dir, conf->state_dir, "postgrey.args");
	}
	if (swap_current(conf, target, err) < 0 ||
	    make_live(conf, v[i - 1], true, true, true, postgrey_new, err) < 0)
		goto out;
	rc = 0;
out:
	free_names(v, n);
	close(lock);
	return rc;
}

int64_t relay_current_seq(const struct conf *conf)
{
	char path[PATH_MAX], buf[32];
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/current/SEQ", conf->state_dir) >=
	    (int)sizeof(path))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoll(buf, NULL, 10);
}
