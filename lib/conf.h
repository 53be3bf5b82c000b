/*
 * conf - the site configuration, /etc/mxfeed/mxfeed.conf (libconfig)
 *
 * One table in conf.c lists every setting: name, type, default, bounds,
 * flags and a doc line.  conf_load() reads the file, rejects unknown
 * settings and out-of-range values with "FILE:LINE: SETTING: what is
 * wrong", and fills a struct conf whose every field then holds a valid
 * value.  Path lookup: -c FILE, else $MXFEED_CONF, else CONF_DEFAULT_PATH.
 * conf_defaults() gives the built-in defaults (for tests).
 * conf_print_doc() prints the table (for docs; a test checks every key is
 * documented).
 */
#ifndef MXFEED_CONF_H
#define MXFEED_CONF_H

#include <stdio.h>

#include "util/cidr.h"
#include "util/error.h"
#include "util/log.h"

#define CONF_DEFAULT_PATH "/etc/mxfeed/mxfeed.conf"
#define CONF_NAMES_MAX	  16
#define CONF_DNSBL_MAX	  16
#define CONF_DNSBL_LEN	  320 /* a zone (253) and its reply filter */
#define CONF_ARGV_MAX	  16  /* words of a command setting */

/* a list of canonical strings (dnsbl.*: lower-case ZONE[=FILTER]) */
struct conf_list {
	int n;
	char *v[CONF_DNSBL_MAX];
};

struct conf {
	char *path;		 /* file read, or "" for built-in defaults */
	char *db_conninfo;	 /* database.conninfo (secret) */
	char *db_owner_conninfo; /* database.owner_conninfo: migrations;
				    defaults to db_conninfo */
	char *db_read_conninfo;	 /* database.read_conninfo: a standby the
				    relay reads from; NULL: db_conninfo */
	int db_connect_timeout;	 /* database.connect_timeout, seconds */
	char *relay_name;	 /* relay.name */
	struct cidr_list relay_addresses; /* relay.addresses: own IPs */
	struct cidr_list relay_outbound;  /* relay.outbound: sends from */
	char *relay_listen;		  /* relay.listen */
	char *relay_hostname;		  /* relay.hostname */
	int relay_dns;			  /* relay.dns */
	int relay_generations;		  /* relay.generations */
	char *relay_reinject;		  /* relay.reinject */
	struct cidr_list relay_reinject_clients; /* relay.reinject_clients */
	char *relay_reinject_ca;       /* relay.reinject_ca, or NULL */
	char *mailbox_reinject_cert;   /* mailbox.reinject_cert, or NULL */
	char *mailbox_reinject_key;    /* mailbox.reinject_key, or NULL */
	char *mailbox_reinject_ca;     /* mailbox.reinject_ca, or NULL */
	char *mailbox_lmtp;	       /* mailbox.lmtp */
	char *mailbox_listen;	       /* mailbox.listen */
	char *mailbox_lmtp_listen;     /* mailbox.lmtp_listen */
	char *mailbox_local_conf;      /* mailbox.local_conf */
	int mailbox_pop3_port;	       /* mailbox.pop3_port */
	int mailbox_imap_port;	       /* mailbox.imap_port */
	int mailbox_lmtp_port;	       /* mailbox.lmtp_port */
	char *mailbox_maildir;	       /* mailbox.maildir */
	char *mailbox_user;	       /* mailbox.user */
	char *mailbox_doveadm;	       /* mailbox.doveadm */
	char *mailbox_reinject;	       /* mailbox.reinject */
	int mailbox_settle;	       /* mailbox.settle */
	char *greylist_postgrey;       /* greylist.postgrey */
	int greylist_delay;	       /* greylist.delay */
	char *scanner_milter;	       /* scanner.milter */
	char *scanner_normal;	       /* scanner.normal */
	char *scanner_controller;      /* scanner.controller */
	char *scanner_clamd;	       /* scanner.clamd */
	char *scanner_rspamd_pid;      /* scanner.rspamd_pid */
	int spam_network_checks;       /* spam.network_checks */
	int tracking_enabled;	       /* tracking.enabled */
	int tracking_days;	       /* tracking.days */
	int quarantine_days;	       /* quarantine.days */
	int spam_test_header;	       /* spam.test_header */
	double spam_backup_defer;      /* spam.backup_defer */
	struct conf_list dnsbl_reject; /* dnsbl.reject */
	struct conf_list dnsbl_warn;   /* dnsbl.warn */
	int senders_verify_backup;     /* senders.verify_backup */
	int senders_check_domain;      /* senders.check_domain */
	int headers_backup_defer;      /* headers.backup_defer */
	int headers_feed_refuse;       /* headers.feed_refuse */
	char *tls_cert_file; /* tls.cert_file, NULL: none (loopback only) */
	char *tls_key_file;  /* tls.key_file, NULL: none */
	char *own_names[CONF_NAMES_MAX]; /* site.own_names: our hostnames */
	int n_own_names;
	char *state_dir;		      /* paths.state */
	struct cidr_list dest_allow;	      /* destinations.allow */
	double spam_low, spam_med, spam_high; /* spam.low/med/high */
	int max_message_mb;		      /* limits.max_message_mb */
	int archive_days;		      /* limits.archive_days */
	char *fcgi_listen;		      /* fcgi.listen */
	int fcgi_workers;		      /* fcgi.workers */
	struct conf_list fcgi_peers; /* fcgi.peers: user:X, group:X, any */
	struct cidr_list web_metrics_allow; /* web.metrics_allow */
	enum log_level log_level;	    /* log.level */
	enum log_target log_target;	    /* log.target */

	/* greylist.restart: the command that restarts postgrey, argv[0]
	 * an absolute path, NULL-terminated; [0] NULL: none set */
	char *greylist_restart[CONF_ARGV_MAX + 1];
};

void conf_defaults(struct conf *conf);
/*
 * path NULL: $MXFEED_CONF, else the default path.  *conf must be zeroed
 * or hold a configuration loaded before (it is released and replaced
 * only on success).
 */
int conf_load(struct conf *conf, const char *path, struct error *err)
	__attribute__((warn_unused_result));
void conf_release(struct conf *conf);
void conf_print_doc(FILE *fp);
/*
 * The table for generated documentation (mxfeed.conf(5)): one line per
 * setting, PREFIX NAME TAB TYPE TAB DEFAULT TAB MIN TAB MAX TAB DOC (DEFAULT
 * empty when built in elsewhere, MIN and MAX empty unless numeric).
 */
void conf_print_table(FILE *fp, const char *prefix);
/*
 * A DNS blocklist entry as dnsbl.* takes it: ZONE (LDH labels, >= 2,
 * <= 253 bytes, no trailing dot) or ZONE=FILTER (Postfix's reply filter:
 * four octet patterns N, [N..M] or [A;B..C]); out gets the lower-case
 * form.  0 or -1.  The generators re-check with it before writing.
 */
int conf_dnsbl_parse(const char *in, char *out, size_t size)
	__attribute__((warn_unused_result));
/* Look a setting up by name for "show config"-like output; NULL if none. */
const char *conf_doc(const char *name);

#endif
