/*
 * conf - the site configuration, /etc/mxfeed/mxfeed.conf (libconfig)
 *
 * See conf.h.  settings[] below is the one list of what may appear in
 * the file: name, kind, default, bounds and a doc line.  Loading walks
 * the whole file first and refuses any setting or group not in the
 * table (a typo must not silently leave a default in force), then reads
 * each known setting with its type and bounds checked.  Every error
 * names the file, the line and the setting.
 */
#include "conf.h"

#include <errno.h>
#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/parse.h"

enum kind {
	K_STR,
	K_PATH,
	K_NAME,
	K_HOSTPORT, /* HOST:PORT or [IPv6]:PORT */
	K_REINJECT, /* "local" (a unix socket of the relay) or K_HOSTPORT */
	K_INT,
	K_FLOAT,
	K_CIDRS,
	K_IPS, /* addresses (a cidr_list of host routes), one per family */
	K_NAMES,
	K_LEVEL,
	K_TARGET, /* log.target: auto, journal or stderr */
	K_DNSBLS, /* DNS blocklist zones: ZONE or ZONE=FILTER */
	K_ARGV,	  /* a command: a list of words, the first an absolute path */
	K_PEERS	  /* user:NAME, group:NAME (or ids) or "any" */
};

struct setting {
	const char *name;
	enum kind kind;
	size_t off;	 /* into struct conf */
	const char *def; /* default as text; NULL: see conf_defaults() */
	double min, max; /* K_INT, K_FLOAT; list length for lists */
	const char *doc;
};

#define OFF(f) offsetof(struct conf, f)

static const struct setting settings[] = {
	{ "database.conninfo", K_STR, OFF(db_conninfo),
	  "host=/run/postgresql dbname=mxfeed", 0, 0,
	  "libpq connection string of the application role (mxfeed_app)" },
	{ "database.owner_conninfo", K_STR, OFF(db_owner_conninfo), NULL, 0, 0,
	  "connection string of the schema owner, for 'feedctl db "
	  "migrate' (default: database.conninfo)" },
	{ "database.read_conninfo", K_STR, OFF(db_read_conninfo), NULL, 0, 0,
	  "relays: read the change sequence and the snapshot from this "
	  "connection (a PostgreSQL streaming standby); reports, queue "
	  "publication and commands still use database.conninfo "
	  "(default: database.conninfo for everything)" },
	{ "database.connect_timeout", K_INT, OFF(db_connect_timeout), "5", 1,
	  60, "seconds to wait for a database connection" },
	{ "relay.name", K_NAME, OFF(relay_name), NULL, 0, 0,
	  "this relay's name in the relays table (default: the short host "
	  "name)" },
	{ "relay.addresses", K_CIDRS, OFF(relay_addresses), "", 0, 64,
	  "the relays' own addresses (CIDRs): never accepted as a "
	  "destination" },
	{ "relay.listen", K_STR, OFF(relay_listen), "25", 0, 0,
	  "the relay's SMTP listener in master.cf form: PORT, or "
	  "ADDRESS:PORT" },
	{ "relay.hostname", K_STR, OFF(relay_hostname), "localhost.localdomain",
	  0, 0, "the relay's name in its SMTP greeting and HELO (myhostname)" },
	{ "relay.dns", K_INT, OFF(relay_dns), "1", 0, 1,
	  "1: the relay may use DNS (bounces to senders); 0: never (tests, "
	  "demo)" },
	{ "relay.generations", K_INT, OFF(relay_generations), "5", 2, 100,
	  "generations kept for rollback" },
	{ "relay.outbound", K_IPS, OFF(relay_outbound), "", 0, 2,
	  "the addresses this relay sends from (at most one IPv4 and one "
	  "IPv6; smtp_bind_address): the customers' firewall list, GET "
	  "/api/v1/relays/addresses" },
	{ "relay.reinject", K_REINJECT, OFF(relay_reinject), "local", 0, 0,
	  "the re-injection listener: \"local\", a socket only root and "
	  "Postfix reach (the jobs worker on this host), or ADDRESS:PORT "
	  "for mailbox hosts elsewhere; scanned for viruses, no spam "
	  "action" },
	{ "relay.reinject_ca", K_PATH, OFF(relay_reinject_ca), NULL, 0, 0,
	  "CA file (PEM) that signs the mailbox hosts' client certificates: "
	  "an ADDRESS:PORT relay.reinject takes mail only over TLS from a "
	  "client with such a certificate" },
	{ "relay.reinject_clients", K_CIDRS, OFF(relay_reinject_clients), "", 0,
	  64,
	  "who may use the re-injection listener: the mailbox hosts "
	  "(empty: 127.0.0.0/8 only)" },
	{ "greylist.postgrey", K_HOSTPORT, OFF(greylist_postgrey),
	  "127.0.0.1:10023", 0, 0,
	  "postgrey's policy service on the relay, HOST:PORT" },
	{ "greylist.delay", K_INT, OFF(greylist_delay), "300", 1, 86400,
	  "seconds a new (client /24, sender, recipient) triplet waits" },
	{ "greylist.restart", K_ARGV, OFF(greylist_restart), "", 0,
	  CONF_ARGV_MAX,
	  "the command (a list of words, the first an absolute path; no "
	  "shell) that restarts postgrey with the options in "
	  "paths.state/current/postgrey.args; mta-glue "
	  "runs it when a generation changes them, then waits until "
	  "postgrey answers with the new delay" },
	{ "mailbox.lmtp", K_STR, OFF(mailbox_lmtp), "inet:[127.0.0.1]:24", 0, 0,
	  "where relays deliver pop3 mail: Dovecot LMTP as a Postfix "
	  "next hop (inet:[IP]:PORT or unix:PATH)" },
	{ "mailbox.listen", K_STR, OFF(mailbox_listen), "127.0.0.1", 0, 0,
	  "addresses Dovecot listens on for POP3 and IMAP (beyond "
	  "loopback: TLS required, no password in clear)" },
	{ "mailbox.lmtp_listen", K_STR, OFF(mailbox_lmtp_listen), "127.0.0.1",
	  0, 0,
	  "the address Dovecot's LMTP listens on: the one facing the "
	  "relays (their mailbox.lmtp), never every address" },
	{ "mailbox.local_conf", K_PATH, OFF(mailbox_local_conf),
	  "/etc/mxfeed/dovecot-local.conf", 0, 0,
	  "the site's own Dovecot settings, read last if the file exists "
	  "(outside the generations, so they survive every one)" },
	{ "mailbox.pop3_port", K_INT, OFF(mailbox_pop3_port), "110", 1, 65535,
	  "POP3 port of the mailbox host" },
	{ "mailbox.imap_port", K_INT, OFF(mailbox_imap_port), "143", 1, 65535,
	  "IMAP port of the mailbox host (webmail)" },
	{ "mailbox.lmtp_port", K_INT, OFF(mailbox_lmtp_port), "24", 1, 65535,
	  "LMTP port of the mailbox host (the relays' mailbox.lmtp)" },
	{ "mailbox.maildir", K_PATH, OFF(mailbox_maildir),
	  "/var/lib/mxfeed/mail", 0, 0,
	  "where the mailboxes live, one directory per mailbox id" },
	{ "mailbox.user", K_STR, OFF(mailbox_user), "mail", 0, 0,
	  "the system user owning the maildirs" },
	{ "mailbox.doveadm", K_HOSTPORT, OFF(mailbox_doveadm), "127.0.0.1:8090",
	  0, 0,
	  "Dovecot's doveadm HTTP API on the mailbox host, HOST:PORT (the "
	  "key is paths.state/doveadm.key)" },
	{ "mailbox.reinject", K_REINJECT, OFF(mailbox_reinject), "local", 0, 0,
	  "where the jobs worker re-injects mail: \"local\" (the relay "
	  "on this host, its socket under paths.state) or a relay's "
	  "relay.reinject, HOST:PORT" },
	{ "mailbox.reinject_cert", K_PATH, OFF(mailbox_reinject_cert), NULL, 0,
	  0,
	  "the worker's client certificate (PEM) for an ADDRESS:PORT "
	  "mailbox.reinject, signed by the relays' relay.reinject_ca" },
	{ "mailbox.reinject_key", K_PATH, OFF(mailbox_reinject_key), NULL, 0, 0,
	  "the key of mailbox.reinject_cert (mode 0600)" },
	{ "mailbox.reinject_ca", K_PATH, OFF(mailbox_reinject_ca), NULL, 0, 0,
	  "CA file the relay's certificate is checked against (default: "
	  "the system's)" },
	{ "mailbox.settle", K_INT, OFF(mailbox_settle), "60", 0, 3600,
	  "seconds a mailbox job waits after every relay applied its "
	  "change, for deliveries already under way, before its last pass" },
	{ "site.own_names", K_NAMES, OFF(own_names), "", 0, CONF_NAMES_MAX,
	  "our own host and domain names: never accepted as customer "
	  "domains" },
	{ "paths.state", K_PATH, OFF(state_dir), "/var/lib/mxfeed", 0, 0,
	  "state directory (generations/, archive/ below it)" },
	{ "dnsbl.reject", K_DNSBLS, OFF(dnsbl_reject), "", 0, CONF_DNSBL_MAX,
	  "DNS blocklist zones (ZONE or ZONE=FILTER, as Postfix's "
	  "reject_rbl_client takes them) whose listing refuses feed and "
	  "pop3 mail (554 5.7.1) and defers backup mail (450 4.7.1)" },
	{ "dnsbl.warn", K_DNSBLS, OFF(dnsbl_warn), "", 0, CONF_DNSBL_MAX,
	  "DNS blocklist zones whose listing is only logged "
	  "(reject_warning), to try a list before enforcing it" },
	{ "destinations.allow", K_CIDRS, OFF(dest_allow), "", 0, 64,
	  "CIDRs allowed as destinations despite the range rules (tests "
	  "and demo only)" },
	{ "spam.low", K_FLOAT, OFF(spam_low), "5", 0, 100,
	  "rspamd score from which a message is spam level low" },
	{ "spam.med", K_FLOAT, OFF(spam_med), "10", 0, 100,
	  "rspamd score from which a message is spam level med" },
	{ "spam.high", K_FLOAT, OFF(spam_high), "15", 0, 100,
	  "rspamd score from which a message is spam level high" },
	{ "spam.backup_defer", K_FLOAT, OFF(spam_backup_defer), "6", 0, 100,
	  "backup domains with spam checking on: a score over this defers "
	  "the message (451 4.7.1), the sender tries the primary; 0: never" },
	{ "quarantine.days", K_INT, OFF(quarantine_days), "30", 1, 365,
	  "days a message quarantined by a domain's spam action stays in "
	  "the relay's hold queue before it is deleted" },
	{ "tracking.enabled", K_INT, OFF(tracking_enabled), "1", 0, 1,
	  "relays: follow the Postfix log and record each message's steps "
	  "for feedctl trace, the API and the portal (0: off)" },
	{ "tracking.days", K_INT, OFF(tracking_days), "30", 1, 3660,
	  "days the tracking events are kept (whole days are dropped)" },
	{ "spam.network_checks", K_INT, OFF(spam_network_checks), "1", 0, 1,
	  "0: rspamd's network modules (RBL, SPF, DKIM...) off (tests, "
	  "demo)" },
	{ "spam.test_header", K_INT, OFF(spam_test_header), "0", 0, 1,
	  "1: an X-Test-Score header adds its value to the score (tests, "
	  "demo only)" },
	{ "senders.verify_backup", K_INT, OFF(senders_verify_backup), "0", 0, 1,
	  "1: backup domains verify the envelope sender by a callout to "
	  "its domain and defer (450) what cannot be verified; needs DNS" },
	{ "senders.check_domain", K_INT, OFF(senders_check_domain), "0", 0, 1,
	  "1: a sender domain without an address or MX record is refused "
	  "(550; backup domains: 450); needs DNS" },
	{ "headers.backup_defer", K_INT, OFF(headers_backup_defer), "1", 0, 1,
	  "1: backup domains defer (451 4.7.1) a message whose header "
	  "section is broken (rspamd's header checks)" },
	{ "headers.feed_refuse", K_INT, OFF(headers_feed_refuse), "0", 0, 1,
	  "1: feed and pop3 domains refuse (554 5.7.1) a message whose "
	  "header section is broken" },
	{ "scanner.milter", K_HOSTPORT, OFF(scanner_milter), "127.0.0.1:11332",
	  0, 0, "rspamd's milter (proxy worker) on the relay, HOST:PORT" },
	{ "scanner.normal", K_HOSTPORT, OFF(scanner_normal), "127.0.0.1:11333",
	  0, 0, "rspamd's normal worker, HOST:PORT" },
	{ "scanner.controller", K_HOSTPORT, OFF(scanner_controller),
	  "127.0.0.1:11334", 0, 0, "rspamd's controller worker, HOST:PORT" },
	{ "scanner.clamd", K_HOSTPORT, OFF(scanner_clamd), "127.0.0.1:3310", 0,
	  0, "clamd's TCP socket, HOST:PORT" },
	{ "scanner.rspamd_pid", K_PATH, OFF(scanner_rspamd_pid),
	  "/run/rspamd/rspamd.pid", 0, 0,
	  "rspamd's pid file: mta-glue sends it SIGHUP when its "
	  "configuration changed" },
	{ "limits.max_message_mb", K_INT, OFF(max_message_mb), "50", 1, 1024,
	  "global message size limit in MB, the default of each domain" },
	{ "limits.archive_days", K_INT, OFF(archive_days), "30", 1, 3650,
	  "days an archived mailbox is kept before it is removed" },
	{ "tls.cert_file", K_PATH, OFF(tls_cert_file), NULL, 0, 0,
	  "PEM certificate chain (leaf first) for STARTTLS on the relay's "
	  "SMTP port and for Dovecot; required unless relay.listen and "
	  "mailbox.listen are loopback only" },
	{ "tls.key_file", K_PATH, OFF(tls_key_file), NULL, 0, 0,
	  "PEM private key of tls.cert_file (readable by root only)" },
	{ "fcgi.listen", K_STR, OFF(fcgi_listen), "unix:/run/mxfeed/fcgi.sock",
	  0, 0, "where mxfeed-fcgi listens: unix:PATH or HOST:PORT" },
	{ "fcgi.peers", K_PEERS, OFF(fcgi_peers), "", 0, CONF_DNSBL_MAX,
	  "who besides root and the service's own user may connect to the "
	  "FastCGI socket (SO_PEERCRED): user:NAME or group:NAME (names or "
	  "ids; group: the peer's primary group), e.g. [ \"user:www-data\" "
	  "] for nginx; \"any\" skips the check (required on a TCP "
	  "listener, where it cannot be made)" },
	{ "fcgi.workers", K_INT, OFF(fcgi_workers), "4", 1, 64,
	  "mxfeed-fcgi worker threads, each with its own database "
	  "connection" },
	{ "web.metrics_allow", K_CIDRS, OFF(web_metrics_allow),
	  "127.0.0.0/8 ::1/128", 0, 64,
	  "clients (CIDRs, as nginx passes REMOTE_ADDR) that may read "
	  "mxfeed-fcgi's GET /metrics; any other gets 404" },
	{ "log.level", K_LEVEL, OFF(log_level), "info", 0, 0,
	  "debug, info, warn or error" },
	{ "log.target", K_TARGET, OFF(log_target), "auto", 0, 0,
	  "where the programs log: journal (one entry per event with the "
	  "fields DOMAIN, QUEUE_ID, TICKET, ACTOR and REQUEST_ID where they "
	  "apply; needs a build with libsystemd), stderr (plain lines), or "
	  "auto: the journal when $JOURNAL_STREAM is set or "
	  "/run/systemd/journal/socket exists, else stderr.  feedctl still "
	  "prints its warnings on stderr" },
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static const char *const level_names[] = { "debug", "info", "warn", "error",
					   NULL };

static void *field(struct conf *c, const struct setting *s)
{
	return (char *)c + s->off;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

/* A K_CIDRS default: CIDRs separated by spaces, ours, so valid. */
static void cidrs_default(struct cidr_list *l, const char *def)
{
	char one[IP_TEXT_MAX + 4];
	size_t n;

	while (def != NULL && *def != '\0') {
		struct error e = ERROR_INIT;
		struct cidr c;

		n = strcspn(def, " ");
		if (n == 0 || n >= sizeof(one))
			BUG("bad CIDR default");
		memcpy(one, def, n);
		one[n] = '\0';
		if (cidr_parse(one, &c, "default", &e) < 0)
			BUG("bad CIDR default %s", one);
		cidr_list_add(l, &c);
		def += n;
		def += strspn(def, " ");
	}
}

void conf_defaults(struct conf *c)
{
	char host[256];
	size_t i;

	memset(c, 0, sizeof(*c));
	c->path = xstrdup("");
	for (i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];

		switch (s->kind) {
		case K_STR:
		case K_PATH:
		case K_HOSTPORT:
		case K_REINJECT:
			if (s->def)
				set_str(field(c, s), s->def);
			break;
		case K_INT:
			*(int *)field(c, s) = (int)strtol(s->def, NULL, 10);
			break;
		case K_FLOAT:
			*(double *)field(c, s) = strtod(s->def, NULL);
			break;
		case K_LEVEL:
			c->log_level = LOG_LEVEL_INFO;
			break;
		case K_TARGET:
			c->log_target = LOG_TARGET_AUTO;
			break;
		case K_CIDRS:
			cidrs_default(field(c, s), s->def);
			break;
		case K_NAME:
		case K_IPS:
		case K_NAMES:
		case K_DNSBLS:
		case K_ARGV:
		case K_PEERS:
			break;
		}
	}
	c->db_owner_conninfo = xstrdup(c->db_conninfo);
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	c->relay_name = xstrdup(host[0] ? host : "relay");
}

void conf_release(struct conf *c)
{
	int i;

	free(c->path);
	free(c->db_conninfo);
	free(c->db_owner_conninfo);
	free(c->db_read_conninfo);
	free(c->relay_name);
	free(c->state_dir);
	free(c->fcgi_listen);
	free(c->relay_listen);
	free(c->relay_hostname);
	free(c->mailbox_lmtp);
	free(c->greylist_postgrey);
	free(c->mailbox_listen);
	free(c->mailbox_lmtp_listen);
	free(c->mailbox_local_conf);
	free(c->mailbox_maildir);
	free(c->mailbox_user);
	free(c->mailbox_doveadm);
	free(c->mailbox_reinject);
	free(c->relay_reinject);
	free(c->relay_reinject_ca);
	free(c->mailbox_reinject_cert);
	free(c->mailbox_reinject_key);
	free(c->mailbox_reinject_ca);
	free(c->scanner_milter);
	free(c->scanner_normal);
	free(c->scanner_controller);
	free(c->scanner_clamd);
	free(c->scanner_rspamd_pid);
	free(c->tls_cert_file);
	free(c->tls_key_file);
	for (i = 0; i < c->n_own_names; i++)
		free(c->own_names[i]);
	for (i = 0; i < c->dnsbl_reject.n; i++)
		free(c->dnsbl_reject.v[i]);
	for (i = 0; i < c->dnsbl_warn.n; i++)
		free(c->dnsbl_warn.v[i]);
	for (i = 0; c->greylist_restart[i] != NULL; i++)
		free(c->greylist_restart[i]);
	for (i = 0; i < c->fcgi_peers.n; i++)
		free(c->fcgi_peers.v[i]);
	cidr_list_release(&c->relay_addresses);
	cidr_list_release(&c->relay_outbound);
	cidr_list_release(&c->relay_reinject_clients);
	cidr_list_release(&c->dest_allow);
	cidr_list_release(&c->web_metrics_allow);
	memset(c, 0, sizeof(*c));
}

static int fail(struct error *err, const char *path, unsigned line,
		const char *name, const char *msg)
{
	return error_set(err, ERR_INVALID, name, "%s:%u: %s: %s", path, line,
			 name, msg);
}

static const struct setting *find(const char *name)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].name, name) == 0)
			return &settings[i];
	return NULL;
}

/* Is name a group that holds some setting ("database")? */
static bool known_group(const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < NSETTINGS; i++)
		if (strncmp(settings[i].name, name, n) == 0 &&
		    settings[i].name[n] == '.')
			return true;
	return false;
}

/* Refuse anything in the file that is not in the table. */
static int walk(const config_setting_t *g, const char *prefix, const char *path,
		struct error *err)
{
	int i, n = config_setting_length(g);

	for (i = 0; i < n; i++) {
		const config_setting_t *st =
			config_setting_get_elem(g, (unsigned)i);
		const char *nm = config_setting_name(st);
		struct strbuf full = STRBUF_INIT;
		int rc = 0;

		sbuf_addf(&full, "%s%s%s", prefix, prefix[0] ? "." : "",
			  nm ? nm : "?");
		if (config_setting_is_group(st)) {
			if (!known_group(full.buf))
				rc = fail(err, path,
					  config_setting_source_line(st),
					  full.buf, "unknown group");
			else
				rc = walk(st, full.buf, path, err);
		} else if (find(full.buf) == NULL) {
			rc = fail(err, path, config_setting_source_line(st),
				  full.buf, "unknown setting");
		}
		sbuf_release(&full);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/*
 * A list of CIDRs, or with hosts of addresses (kept as host routes), at
 * most one of each family.
 */
static int read_cidrs(const config_setting_t *st, const struct setting *s,
		      struct cidr_list *out, bool hosts, const char *path,
		      struct error *err)
{
	int i, n;
	size_t j;
	unsigned line = config_setting_source_line(st);

	if (!config_setting_is_array(st) && !config_setting_is_list(st))
		return fail(err, path, line, s->name,
			    hosts ? "must be a list of addresses like "
				    "[ \"192.0.2.25\", \"2001:db8::25\" ]"
				  : "must be a list of CIDRs like "
				    "[ \"192.0.2.0/24\" ]");
	n = config_setting_length(st);
	if (n > (int)s->max)
		return fail(err, path, line, s->name, "too many entries");
	cidr_list_release(out);
	for (i = 0; i < n; i++) {
		const char *v = config_setting_get_string_elem(st, i);
		struct error e = ERROR_INIT;
		struct cidr c;

		if (v == NULL)
			return fail(err, path, line, s->name,
				    "entries must be strings");
		if ((hosts ? ip_parse(v, &c.net, "entry", &e)
			   : cidr_parse(v, &c, "entry", &e)) < 0) {
			fail(err, path, line, s->name, error_msg(&e));
			error_release(&e);
			return -1;
		}
		if (hosts) {
			for (j = 0; j < out->n; j++)
				if (out->v[j].net.family == c.net.family)
					return fail(err, path, line, s->name,
						    "at most one address of "
						    "each family");
			c.prefix = c.net.family == AF_INET ? 32 : 128;
			(void)snprintf(c.text, sizeof(c.text), "%s",
				       c.net.text);
		}
		cidr_list_add(out, &c);
	}
	return 0;
}

static int read_names(const config_setting_t *st, const struct setting *s,
		      struct conf *c, const char *path, struct error *err)
{
	int i, n;
	unsigned line = config_setting_source_line(st);

	if (!config_setting_is_array(st) && !config_setting_is_list(st))
		return fail(err, path, line, s->name,
			    "must be a list of host names");
	n = config_setting_length(st);
	if (n > CONF_NAMES_MAX)
		return fail(err, path, line, s->name, "at most 16 names");
	for (i = 0; i < c->n_own_names; i++)
		free(c->own_names[i]);
	c->n_own_names = 0;
	for (i = 0; i < n; i++) {
		const char *v = config_setting_get_string_elem(st, i);
		struct domain_name_text {
			char b[256];
		} t;
		size_t k, len;

		if (v == NULL || (len = strlen(v)) == 0 || len >= sizeof(t.b) ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyz"
			      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != len)
			return fail(err, path, line, s->name,
				    "entries must be host names");
		for (k = 0; k <= len; k++)
			t.b[k] = (v[k] >= 'A' && v[k] <= 'Z')
					 ? (char)(v[k] - 'A' + 'a')
					 : v[k];
		c->own_names[c->n_own_names++] = xstrdup(t.b);
	}
	return 0;
}

/* A command: [ "/abs/program", "arg", ... ], run without a shell. */
static int read_argv(const config_setting_t *st, const struct setting *s,
		     char **argv, const char *path, struct error *err)
{
	int i, n;
	unsigned line = config_setting_source_line(st);

	if (!config_setting_is_array(st) && !config_setting_is_list(st))
		return fail(err, path, line, s->name,
			    "must be a list of words, e.g. [ "
			    "\"/usr/bin/systemctl\", \"restart\", "
			    "\"postgrey\" ]");
	n = config_setting_length(st);
	if (n > CONF_ARGV_MAX)
		return fail(err, path, line, s->name, "at most 16 words");
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	argv[0] = NULL;
	for (i = 0; i < n; i++) {
		const char *v = config_setting_get_string_elem(st, i);

		if (v == NULL || v[0] == '\0' || strlen(v) > 4096 ||
		    strchr(v, '\n') != NULL)
			return fail(err, path, line, s->name,
				    "entries must be non-empty strings");
		if (i == 0 && v[0] != '/')
			return fail(err, path, line, s->name,
				    "the program must be an absolute path");
		argv[i] = xstrdup(v);
		argv[i + 1] = NULL;
	}
	return 0;
}

/* A decimal 0-255 without leading zeros, exactly n bytes. */
static bool parse_octet(const char *p, size_t n)
{
	size_t i;
	int v = 0;

	if (n == 0 || n > 3 || (n > 1 && p[0] == '0'))
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	return v <= 255;
}

/* One octet pattern of a reply filter: N, [N..M] or [A;B..C;...]. */
static bool filter_octet_ok(const char *p, size_t n)
{
	size_t i = 0;

	if (n == 0)
		return false;
	if (p[0] != '[')
		return parse_octet(p, n);
	if (n < 3 || p[n - 1] != ']')
		return false;
	p++;
	n -= 2;
	while (i < n) {
		size_t item = strcspn(p + i, ";");
		const char *dots;
		size_t a;

		if (i + item > n)
			item = n - i;
		dots = memchr(p + i, '.', item);
		if (dots == NULL) {
			if (!parse_octet(p + i, item))
				return false;
		} else {
			a = (size_t)(dots - (p + i));
			if (item < a + 3 || dots[1] != '.' ||
			    !parse_octet(p + i, a) ||
			    !parse_octet(dots + 2, item - a - 2))
				return false;
		}
		i += item;
		if (i < n && ++i == n) /* a ';' at the end */
			return false;
	}
	return true;
}

int conf_dnsbl_parse(const char *in, char *out, size_t size)
{
	const char *eq = strchr(in, '=');
	size_t zl = eq ? (size_t)(eq - in) : strlen(in), i, label = 0;
	int octets = 0;

	if (zl == 0 || zl > 253 || strlen(in) >= size || in[zl - 1] == '.' ||
	    in[0] == '.')
		return -1;
	for (i = 0; i < zl; i++) {
		char ch = in[i];

		if (ch == '.') {
			if (label == 0 || in[i - 1] == '-')
				return -1;
			label = 0;
			octets++;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || (ch == '-' && label > 0)) ||
		    ++label > 63)
			return -1;
	}
	if (octets == 0 || in[zl - 1] == '-')
		return -1; /* one label: not a zone anybody publishes */
	if (eq != NULL) {
		const char *p = eq + 1;

		for (octets = 0; octets < 4; octets++) {
			size_t n = octets < 3 ? strcspn(p, ".") : strlen(p);

			/* a '.' inside [N..M] is not an octet separator */
			if (p[0] == '[') {
				const char *close = strchr(p, ']');

				if (close == NULL)
					return -1;
				n = (size_t)(close - p) + 1;
			}
			if (!filter_octet_ok(p, n))
				return -1;
			p += n;
			if (octets < 3 && *p++ != '.')
				return -1;
		}
		if (*p != '\0')
			return -1;
	}
	for (i = 0; in[i]; i++)
		out[i] = (in[i] >= 'A' && in[i] <= 'Z')
				 ? (char)(in[i] - 'A' + 'a')
				 : in[i];
	out[i] = '\0';
	return 0;
}

/* "any", or user:NAME / group:NAME, NAME a user or group name or id. */
static bool peer_ok(const char *v)
{
	const char *name;
	size_t n;

	if (strcmp(v, "any") == 0)
		return true;
	if (strncmp(v, "user:", 5) == 0)
		name = v + 5;
	else if (strncmp(v, "group:", 6) == 0)
		name = v + 6;
	else
		return false;
	n = strlen(name);
	return n > 0 && n <= 32 && name[0] != '-' &&
	       strspn(name,
		      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789._-") == n;
}

static int peer_entry(const char *in, char *out, size_t size)
{
	return peer_ok(in) ? strlcpy_checked(out, in, size) : -1;
}

/* A list of strings, each checked and made canonical by entry(). */
struct list_shape {
	const char *shape, *too_many, *bad;
	int (*entry)(const char *in, char *out, size_t size);
};

static const struct list_shape dnsbl_list = {
	"must be a list of zones like "
	"[ \"zen.spamhaus.org=127.0.0.[2..11]\" ]",
	"at most 16 zones",
	"entries must be ZONE or ZONE=FILTER, the filter like 127.0.0.2 or "
	"127.0.0.[2..11]",
	conf_dnsbl_parse
};

static const struct list_shape peer_list = {
	"must be a list like [ \"user:www-data\" ]", "at most 16 entries",
	"entries must be user:NAME, group:NAME (a name or a numeric id) or "
	"\"any\"",
	peer_entry
};

static int read_list(const config_setting_t *st, const struct setting *s,
		     const struct list_shape *ls, struct conf_list *out,
		     const char *path, struct error *err)
{
	unsigned line = config_setting_source_line(st);
	int i, n;

	if (!config_setting_is_array(st) && !config_setting_is_list(st))
		return fail(err, path, line, s->name, ls->shape);
	n = config_setting_length(st);
	if (n > (int)s->max)
		return fail(err, path, line, s->name, ls->too_many);
	for (i = 0; i < out->n; i++)
		free(out->v[i]);
	out->n = 0;
	for (i = 0; i < n; i++) {
		const char *v = config_setting_get_string_elem(st, i);
		char canon[CONF_DNSBL_LEN + 1];

		if (v == NULL || ls->entry(v, canon, sizeof(canon)) < 0)
			return fail(err, path, line, s->name, ls->bad);
		out->v[out->n++] = xstrdup(canon);
	}
	return 0;
}

/* HOST:PORT, HOST a name or IPv4 address, or [IPv6]:PORT; the port a
 * decimal 1-65535 without leading zeros.  These end up in generated
 * configuration lines and URLs: nothing else may pass. */
static bool hostport_ok(const char *v)
{
	const char *colon = strrchr(v, ':'), *p;
	size_t hl;
	long port = 0;

	if (colon == NULL || colon[1] == '\0' || colon[1] == '0' ||
	    strlen(colon + 1) > 5 ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return false;
	for (p = colon + 1; *p; p++)
		port = port * 10 + (*p - '0');
	if (port < 1 || port > 65535)
		return false;
	hl = (size_t)(colon - v);
	if (hl >= 3 && v[0] == '[' && v[hl - 1] == ']')
		return strspn(v + 1, "0123456789abcdefABCDEF:.") == hl - 2;
	return hl > 0 && hl <= 253 &&
	       strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789.-") == hl;
}

/* A string-valued setting: its kind's own check, then stored. */
static int read_string(const config_setting_t *st, const struct setting *s,
		       struct conf *c, const char *path, struct error *err)
{
	unsigned line = config_setting_source_line(st);
	const char *str;
	int lvl;

	if (config_setting_type(st) != CONFIG_TYPE_STRING)
		return fail(err, path, line, s->name,
			    "must be a string in double quotes");
	str = config_setting_get_string(st);
	if (str[0] == '\0' || strlen(str) > 4096)
		return fail(err, path, line, s->name, "must not be empty");
	if (s->kind == K_PATH && str[0] != '/')
		return fail(err, path, line, s->name,
			    "must be an absolute path");
	if (s->kind == K_NAME &&
	    (strlen(str) > 63 ||
	     strspn(str,
		    "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != strlen(str)))
		return fail(err, path, line, s->name,
			    "must be 1-63 letters, digits, '.' or '-'");
	if (s->kind == K_HOSTPORT && !hostport_ok(str))
		return fail(err, path, line, s->name,
			    "must be HOST:PORT or [IPv6]:PORT");
	if (s->kind == K_REINJECT && strcmp(str, "local") != 0 &&
	    !hostport_ok(str))
		return fail(err, path, line, s->name,
			    "must be \"local\", HOST:PORT or [IPv6]:PORT");
	if (s->kind == K_LEVEL) {
		if ((lvl = parse_enum(str, level_names)) < 0)
			return fail(err, path, line, s->name,
				    "must be debug, info, warn or error");
		c->log_level = (enum log_level)lvl;
		return 0;
	}
	if (s->kind == K_TARGET) {
		if ((lvl = parse_enum(str, log_target_names)) < 0)
			return fail(err, path, line, s->name,
				    "must be auto, journal or stderr");
		c->log_target = (enum log_target)lvl;
		return 0;
	}
	set_str(field(c, s), str);
	return 0;
}

/* A number within the setting's bounds, whole for K_INT. */
static int read_number(const config_setting_t *st, const struct setting *s,
		       struct conf *c, const char *path, struct error *err)
{
	unsigned line = config_setting_source_line(st);
	int type = config_setting_type(st), v;
	char range[96];
	double d;

	(void)snprintf(range, sizeof(range),
		       s->kind == K_INT
			       ? "must be a whole number from %.0f to %.0f"
			       : "must be a number from %.0f to %.0f",
		       s->min, s->max);
	if (s->kind == K_INT) {
		if (type != CONFIG_TYPE_INT)
			return fail(err, path, line, s->name, range);
		v = config_setting_get_int(st);
		if (v < s->min || v > s->max)
			return fail(err, path, line, s->name, range);
		*(int *)field(c, s) = v;
		return 0;
	}
	if (type == CONFIG_TYPE_INT)
		d = config_setting_get_int(st);
	else if (type == CONFIG_TYPE_FLOAT)
		d = config_setting_get_float(st);
	else
		return fail(err, path, line, s->name, range);
	if (!(d >= s->min && d <= s->max))
		return fail(err, path, line, s->name, range);
	*(double *)field(c, s) = d;
	return 0;
}

static int read_one(const config_setting_t *st, const struct setting *s,
		    struct conf *c, const char *path, struct error *err)
{
	switch (s->kind) {
	case K_STR:
	case K_PATH:
	case K_NAME:
	case K_HOSTPORT:
	case K_REINJECT:
	case K_LEVEL:
	case K_TARGET:
		return read_string(st, s, c, path, err);
	case K_INT:
	case K_FLOAT:
		return read_number(st, s, c, path, err);
	case K_CIDRS:
		return read_cidrs(st, s, field(c, s), false, path, err);
	case K_IPS:
		return read_cidrs(st, s, field(c, s), true, path, err);
	case K_NAMES:
		return read_names(st, s, c, path, err);
	case K_DNSBLS:
		return read_list(st, s, &dnsbl_list, field(c, s), path, err);
	case K_ARGV:
		return read_argv(st, s, field(c, s), path, err);
	case K_PEERS:
		return read_list(st, s, &peer_list, field(c, s), path, err);
	}
	return 0;
}

int conf_load(struct conf *c, const char *path, struct error *err)
{
	config_t cfg;
	struct conf n;
	bool owner_set = false;
	size_t i;
	int rc = -1;

	if (path == NULL)
		path = getenv("MXFEED_CONF");
	if (path == NULL || path[0] == '\0')
		path = CONF_DEFAULT_PATH;
	conf_defaults(&n);
	set_str(&n.path, path);
	config_init(&cfg);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			error_set(err, ERR_INVALID, NULL, "%s: cannot read: %s",
				  path, strerror(errno));
		else
			error_set(err, ERR_INVALID, NULL,
				  "%s:%d: syntax error: %s", path,
				  config_error_line(&cfg),
				  config_error_text(&cfg));
		goto out;
	}
	if (walk(config_root_setting(&cfg), "", path, err) < 0)
		goto out;
	for (i = 0; i < NSETTINGS; i++) {
		const config_setting_t *st =
			config_lookup(&cfg, settings[i].name);

		if (st == NULL)
			continue;
		if (read_one(st, &settings[i], &n, path, err) < 0)
			goto out;
		if (strcmp(settings[i].name, "database.owner_conninfo") == 0)
			owner_set = true;
	}
	if (!owner_set)
		set_str(&n.db_owner_conninfo, n.db_conninfo);
	if ((n.tls_cert_file == NULL) != (n.tls_key_file == NULL)) {
		error_set(err, ERR_INVALID, "tls",
			  "%s: tls: cert_file and key_file go together", path);
		goto out;
	}
	if ((n.mailbox_reinject_cert == NULL) !=
	    (n.mailbox_reinject_key == NULL)) {
		error_set(err, ERR_INVALID, "mailbox.reinject_cert",
			  "%s: mailbox: reinject_cert and reinject_key go "
			  "together",
			  path);
		goto out;
	}
	if (!(n.spam_low < n.spam_med && n.spam_med < n.spam_high)) {
		error_set(err, ERR_INVALID, "spam",
			  "%s: spam: low < med < high "
			  "is required",
			  path);
		goto out;
	}
	conf_release(c);
	*c = n;
	memset(&n, 0, sizeof(n));
	rc = 0;
out:
	config_destroy(&cfg);
	conf_release(&n);
	return rc;
}

static const char *const kind_names[] = {
	[K_STR] = "string",	 [K_PATH] = "path",
	[K_NAME] = "name",	 [K_HOSTPORT] = "HOST:PORT",
	[K_INT] = "integer",	 [K_FLOAT] = "number",
	[K_CIDRS] = "CIDR list", [K_IPS] = "address list",
	[K_NAMES] = "name list", [K_LEVEL] = "level",
	[K_TARGET] = "target",	 [K_DNSBLS] = "zone list",
	[K_ARGV] = "command",	 [K_REINJECT] = "local or HOST:PORT",
	[K_PEERS] = "peer list",
};

/* kind_names[k], or "" for a kind added without a name (man/gen.sh
 * then refuses the setting) */
static const char *kind_name(enum kind k)
{
	size_t n = sizeof(kind_names) / sizeof(kind_names[0]);

	return (size_t)k < n && kind_names[k] ? kind_names[k] : "";
}

void conf_print_doc(FILE *fp)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];

		fprintf(fp, "%-26s %-9s default %-36s %s\n", s->name,
			kind_name(s->kind),
			s->def ? (s->def[0] ? s->def : "(empty)") : "(see doc)",
			s->doc);
	}
}

const char *conf_doc(const char *name)
{
	const struct setting *s = find(name);

	return s ? s->doc : NULL;
}

/* One line per setting, tab-separated; tabs and newlines in the text
 * cannot occur (the table is ours), so none is escaped. */
void conf_print_table(FILE *fp, const char *prefix)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];

		fprintf(fp, "%s%s\t%s\t%s\t", prefix, s->name,
			kind_name(s->kind), s->def ? s->def : "");
		if (s->kind == K_INT || s->kind == K_FLOAT)
			fprintf(fp, "%g\t%g", s->min, s->max);
		else
			fputs("\t", fp);
		fprintf(fp, "\t%s\n", s->doc ? s->doc : "");
	}
}
