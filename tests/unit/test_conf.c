/*
 * test_conf - the configuration loader: defaults, a full valid file,
 * and each kind of refusal naming file, line and setting
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

static char path[64];

static void write_conf(const char *text)
{
	int fd;
	FILE *fp;

	(void)snprintf(path, sizeof(path), "/tmp/mxfeed-conf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int load(const char *text, struct conf *c, struct error *err)
{
	int rc;

	write_conf(text);
	conf_defaults(c);
	rc = conf_load(c, path, err);
	unlink(path);
	return rc;
}

static void defaults(void **state)
{
	struct conf c;
	struct error err = ERROR_INIT;

	(void)state;
	assert_int_equal(load("", &c, &err), 0);
	assert_string_equal(c.db_conninfo,
			    "host=/run/postgresql dbname=mxfeed");
	assert_string_equal(c.db_owner_conninfo, c.db_conninfo);
	assert_int_equal(c.db_connect_timeout, 5);
	assert_int_equal(c.max_message_mb, 50);
	assert_int_equal(c.archive_days, 30);
	assert_string_equal(c.state_dir, "/var/lib/mxfeed");
	assert_int_equal(c.dest_allow.n, 0);
	/* a K_CIDRS default of several networks */
	assert_int_equal(c.web_metrics_allow.n, 2);
	assert_string_equal(c.web_metrics_allow.v[0].text, "127.0.0.0/8");
	assert_string_equal(c.web_metrics_allow.v[1].text, "::1/128");
	assert_int_equal(c.log_level, LOG_LEVEL_INFO);
	assert_int_equal(c.log_target, LOG_TARGET_AUTO);
	/* production's envelope checks need DNS: off unless switched on */
	assert_int_equal(c.dnsbl_reject.n, 0);
	assert_int_equal(c.dnsbl_warn.n, 0);
	assert_int_equal(c.senders_verify_backup, 0);
	assert_int_equal(c.senders_check_domain, 0);
	assert_int_equal(c.headers_backup_defer, 1);
	assert_int_equal(c.headers_feed_refuse, 0);
	assert_true(c.spam_backup_defer > 5.9 && c.spam_backup_defer < 6.1);
	assert_true(c.spam_low < c.spam_med && c.spam_med < c.spam_high);
	assert_true(c.relay_name[0] != '\0');
	assert_null(c.greylist_restart[0]);
	/* the mailbox host faces only loopback unless told otherwise */
	assert_string_equal(c.mailbox_listen, "127.0.0.1");
	assert_string_equal(c.mailbox_lmtp_listen, "127.0.0.1");
	assert_string_equal(c.mailbox_local_conf,
			    "/etc/mxfeed/dovecot-local.conf");
	assert_string_equal(c.relay_reinject, "local");
	assert_string_equal(c.mailbox_reinject, "local");
	assert_int_equal(c.tracking_enabled, 1);
	assert_int_equal(c.tracking_days, 30);
	assert_int_equal(c.quarantine_days, 30);
	conf_release(&c);
}

static void log_target(void **state)
{
	static const struct {
		const char *text;
		enum log_target want;
	} ok[] = {
		{ "log = { target = \"journal\"; };\n", LOG_TARGET_JOURNAL },
		{ "log = { target = \"stderr\"; };\n", LOG_TARGET_STDERR },
		{ "log = { target = \"auto\"; };\n", LOG_TARGET_AUTO },
	};
	struct conf c;
	struct error err = ERROR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(load(ok[i].text, &c, &err), 0);
		assert_int_equal(c.log_target, ok[i].want);
		conf_release(&c);
	}
	assert_int_equal(load("log = { target = \"syslog\"; };\n", &c, &err),
			 -1);
	assert_non_null(
		strstr(error_msg(&err),
		       ":1: log.target: must be auto, journal or stderr"));
	conf_release(&c);
	error_release(&err);
}

static void peers(void **state)
{
	struct conf c;
	struct error err = ERROR_INIT;

	(void)state;
	assert_int_equal(load("fcgi = { peers = [ \"user:www-data\", "
			      "\"group:33\", \"any\" ]; };\n",
			      &c, &err),
			 0);
	assert_int_equal(c.fcgi_peers.n, 3);
	assert_string_equal(c.fcgi_peers.v[0], "user:www-data");
	assert_string_equal(c.fcgi_peers.v[1], "group:33");
	assert_string_equal(c.fcgi_peers.v[2], "any");
	conf_release(&c);
	conf_defaults(&c);
	assert_int_equal(c.fcgi_peers.n, 0); /* fail closed: nobody else */
	conf_release(&c);
}

static void full(void **state)
{
	struct conf c;
	struct error err = ERROR_INIT;

	(void)state;
	assert_int_equal(
		load("database = { conninfo = \"dbname=x\"; owner_conninfo = "
		     "\"dbname=x user=o\"; connect_timeout = 10; };\n"
		     "relay = { name = \"relay1\"; addresses = "
		     "[ \"8.8.4.4/32\", \"2a00::/64\" ]; outbound = "
		     "[ \"2a00::25\", \"8.8.4.4\" ]; };\n"
		     "site = { own_names = [ \"MX1.ISP.example\" ]; };\n"
		     "paths = { state = \"/srv/mxfeed\"; };\n"
		     "destinations = { allow = [ \"127.0.0.0/8\" ]; };\n"
		     "spam = { low = 4; med = 8.5; high = 20.0; backup_defer = "
		     "8.5; "
		     "};\n"
		     "limits = { max_message_mb = 100; archive_days = 7; };\n"
		     "log = { level = \"debug\"; };\n"
		     "mailbox = { doveadm = \"[::1]:8090\"; reinject = "
		     "\"relay1.isp.example:10025\"; };\n"
		     "dnsbl = { reject = [ "
		     "\"Zen.Spamhaus.org=127.0.0.[2..11]\","
		     " \"bl.test=127.0.[0;1].[2;4..9]\" ];"
		     " warn = [ \"bl.spamcop.net\" ]; };\n"
		     "senders = { verify_backup = 1; check_domain = 1; };\n"
		     "headers = { backup_defer = 0; feed_refuse = 1; };\n"
		     "web = { metrics_allow = [ \"192.0.2.0/24\" ]; };\n"
		     "greylist = { restart = [ \"/usr/bin/systemctl\", "
		     "\"restart\", \"postgrey\" ]; };\n"
		     "",
		     &c, &err),
		0);
	assert_int_equal(c.dnsbl_reject.n, 2);
	assert_string_equal(c.dnsbl_reject.v[0],
			    "zen.spamhaus.org=127.0.0.[2..11]");
	assert_string_equal(c.dnsbl_reject.v[1],
			    "bl.test=127.0.[0;1].[2;4..9]");
	assert_int_equal(c.dnsbl_warn.n, 1);
	assert_string_equal(c.dnsbl_warn.v[0], "bl.spamcop.net");
	assert_int_equal(c.senders_verify_backup, 1);
	assert_int_equal(c.senders_check_domain, 1);
	assert_int_equal(c.headers_backup_defer, 0);
	assert_int_equal(c.headers_feed_refuse, 1);
	assert_true(c.spam_backup_defer > 8.4 && c.spam_backup_defer < 8.6);
	assert_string_equal(c.db_conninfo, "dbname=x");
	assert_string_equal(c.db_owner_conninfo, "dbname=x user=o");
	assert_int_equal(c.db_connect_timeout, 10);
	assert_string_equal(c.relay_name, "relay1");
	assert_int_equal(c.relay_addresses.n, 2);
	assert_int_equal(c.relay_outbound.n, 2);
	assert_string_equal(c.relay_outbound.v[1].net.text, "8.8.4.4");
	assert_int_equal(c.n_own_names, 1);
	assert_string_equal(c.own_names[0], "mx1.isp.example");
	assert_string_equal(c.state_dir, "/srv/mxfeed");
	/* the file's list replaces the default one */
	assert_int_equal(c.web_metrics_allow.n, 1);
	assert_string_equal(c.web_metrics_allow.v[0].text, "192.0.2.0/24");
	assert_int_equal(c.dest_allow.n, 1);
	assert_true(c.spam_med > 8.4 && c.spam_med < 8.6);
	assert_int_equal(c.max_message_mb, 100);
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(c.mailbox_doveadm, "[::1]:8090");
	assert_string_equal(c.mailbox_reinject, "relay1.isp.example:10025");
	assert_string_equal(c.greylist_restart[0], "/usr/bin/systemctl");
	assert_string_equal(c.greylist_restart[2], "postgrey");
	assert_null(c.greylist_restart[3]);
	conf_release(&c);
}

struct badconf {
	const char *text, *want;
};

static const struct badconf bad[] = {
	{ "tls = { cert_file = \"/etc/mxfeed/c.pem\"; };\n",
	  "tls: cert_file and key_file go together" },
	{ "tls = { key_file = \"k.pem\"; };\n",
	  "tls.key_file: must be an absolute path" },
	{ "\n\ndatabase = { connnfo = \"x\"; };\n",
	  ":3: database.connnfo: unknown setting" },
	{ "colour = \"red\";\n", ":1: colour: unknown setting" },
	{ "relay = { outbound = [ \"192.0.2.1\", \"192.0.2.2\" ]; };\n",
	  "relay.outbound: at most one address of each family" },
	{ "relay = { outbound = [ \"192.0.2.0/24\" ]; };\n", "relay.outbound" },
	{ "relay = { outbound = [ \"127.1\" ]; };\n", "relay.outbound" },
	{ "relay = { outbound = \"192.0.2.1\"; };\n",
	  "must be a list of addresses" },
	{ "relay = { outbound = [ \"a\", \"b\", \"c\" ]; };\n",
	  "too many entries" },
	{ "frobs = { a = 1; };\n", ":1: frobs: unknown group" },
	{ "limits = { max_message_mb = 0; };\n",
	  "limits.max_message_mb: must be a whole number from 1 to 1024" },
	{ "limits = { max_message_mb = 2000; };\n", "from 1 to 1024" },
	{ "limits = { max_message_mb = \"50\"; };\n", "whole number" },
	{ "limits = { archive_days = 1.5; };\n", "whole number" },
	{ "database = { connect_timeout = 0; };\n", "from 1 to 60" },
	{ "database = { conninfo = 5; };\n", "must be a string" },
	{ "database = { conninfo = \"\"; };\n", "must not be empty" },
	{ "paths = { state = \"relative/dir\"; };\n", "absolute path" },
	{ "relay = { name = \"bad name\"; };\n", "letters, digits" },
	{ "destinations = { allow = [ \"127.0.0.1/8\" ]; };\n",
	  "destinations.allow: entry: host bits set" },
	{ "destinations = { allow = [ \"127.1/8\" ]; };\n", "canonical" },
	{ "destinations = { allow = \"127.0.0.0/8\"; };\n", "list of CIDRs" },
	{ "relay = { addresses = [ \"8.8.8.8\" ]; };\n", "ADDRESS/PREFIX" },
	{ "site = { own_names = [ \"a b\" ]; };\n", "host names" },
	{ "spam = { low = 10; med = 5; high = 15; };\n", "low < med < high" },
	{ "spam = { low = -1; };\n", "from 0 to 100" },
	{ "log = { level = \"chatty\"; };\n", "debug, info, warn or error" },
	{ "relay = { reinject = \"10025\"; };\n",
	  "relay.reinject: must be \"local\", HOST:PORT or [IPv6]:PORT" },
	{ "mailbox = { reinject = \"locals\"; };\n", "HOST:PORT" },
	{ "mailbox = { reinject_cert = \"/etc/mxfeed/m.pem\"; };\n",
	  "reinject_cert and reinject_key go together" },
	{ "mailbox = { doveadm = \"127.0.0.1:0\"; };\n", "HOST:PORT" },
	{ "mailbox = { doveadm = \"127.0.0.1:65536\"; };\n", "HOST:PORT" },
	{ "mailbox = { reinject = \"127.0.0.1:025\"; };\n", "HOST:PORT" },
	{ "mailbox = { reinject = \"a b:25\"; };\n", "HOST:PORT" },
	{ "mailbox = { reinject = \"x:25\\n-o y\"; };\n", "HOST:PORT" },
	{ "scanner = { clamd = \"[::1:3310\"; };\n", "HOST:PORT" },
	{ "greylist = { postgrey = \":10023\"; };\n", "HOST:PORT" },
	{ "fcgi = { peers = \"user:www-data\"; };\n",
	  "fcgi.peers: must be a list" },
	{ "fcgi = { peers = [ \"www-data\" ]; };\n", "user:NAME, group:NAME" },
	{ "fcgi = { peers = [ \"user:\" ]; };\n", "user:NAME, group:NAME" },
	{ "fcgi = { peers = [ \"user:-x\" ]; };\n", "user:NAME, group:NAME" },
	{ "fcgi = { peers = [ \"group:a b\" ]; };\n", "user:NAME, group:NAME" },
	{ "fcgi = { peers = [ \"uid:33\" ]; };\n", "user:NAME, group:NAME" },
	{ "fcgi = { peers = [ 33 ]; };\n", "user:NAME, group:NAME" },
	{ "dnsbl = { reject = \"zen.spamhaus.org\"; };\n",
	  "dnsbl.reject: must be a list of zones" },
	{ "dnsbl = { reject = [ \"localhost\" ]; };\n", "ZONE or ZONE=FILTER" },
	{ "dnsbl = { reject = [ \"zen.spamhaus.org.\" ]; };\n", "ZONE=" },
	{ "dnsbl = { reject = [ \"-x.example\" ]; };\n", "ZONE=" },
	{ "dnsbl = { reject = [ \"x-.example\" ]; };\n", "ZONE=" },
	{ "dnsbl = { reject = [ \"a..example\" ]; };\n", "ZONE=" },
	{ "dnsbl = { warn = [ \"bl.test, permit\" ]; };\n",
	  "dnsbl.warn: entries must be" },
	{ "dnsbl = { warn = [ \"bl.test\\nx = y\" ]; };\n", "ZONE=" },
	{ "dnsbl = { reject = [ \"bl.test=127.0.0\" ]; };\n", "ZONE=" },
	{ "dnsbl = { reject = [ \"bl.test=127.0.0.256\" ]; };\n", "ZONE=" },
	{ "dnsbl = { reject = [ \"bl.test=127.0.0.02\" ]; };\n", "ZONE=" },
	{ "dnsbl = { reject = [ \"bl.test=127.0.0.2.1\" ]; };\n", "ZONE=" },
	{ "dnsbl = { reject = [ \"bl.test=127.0.0.[2..]\" ]; };\n", "ZONE=" },
	{ "dnsbl = { reject = [ \"bl.test=127.0.0.[2;]\" ]; };\n", "ZONE=" },
	{ "dnsbl = { reject = [ \"bl.test=127.0.0.[2\" ]; };\n", "ZONE=" },
	{ "dnsbl = { reject = [ \"bl.test=127.0.0.[]\" ]; };\n", "ZONE=" },
	{ "dnsbl = { reject = [ \"bl.test=127.0.0.2}\" ]; };\n", "ZONE=" },
	{ "dnsbl = { reject = [ \"bl.test=\" ]; };\n", "ZONE=" },
	{ "dnsbl = { reject = [ 5 ]; };\n", "ZONE=" },
	{ "dnsbl = { zones = [ \"bl.test\" ]; };\n",
	  "dnsbl.zones: unknown setting" },
	{ "senders = { verify_backup = 2; };\n", "from 0 to 1" },
	{ "greylist = { restart = \"/usr/bin/systemctl restart postgrey\"; "
	  "};\n",
	  "greylist.restart: must be a list of words" },
	{ "greylist = { restart = [ \"systemctl\", \"restart\" ]; };\n",
	  "greylist.restart: the program must be an absolute path" },
	{ "greylist = { restart = [ \"/bin/x\", \"\" ]; };\n",
	  "entries must be non-empty strings" },
	{ "greylist = { restart = ( \"/bin/x\", 5 ); };\n",
	  "entries must be non-empty strings" },
	{ "headers = { feed_refuse = \"yes\"; };\n", "whole number" },
	{ "spam = { backup_defer = 101; };\n", "from 0 to 100" },
	{ "database = { conninfo = \"x\" ", "syntax error" },
	{ "database = { conninfo = \"x\"; };\ndatabase = { };\n",
	  "syntax error" },
};

static void refusals(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct conf c;
		struct error err = ERROR_INIT;

		if (load(bad[i].text, &c, &err) != -1)
			fail_msg("accepted config #%zu", i);
		assert_int_equal(err.code, ERR_INVALID);
		if (strstr(error_msg(&err), bad[i].want) == NULL)
			fail_msg("config #%zu: '%s' lacks '%s'", i,
				 error_msg(&err), bad[i].want);
		/* every message starts with the file's name */
		assert_int_equal(strncmp(error_msg(&err), path, strlen(path)),
				 0);
		/* the previous configuration is kept */
		assert_int_equal(c.max_message_mb, 50);
		conf_release(&c);
		error_release(&err);
	}
}

static void missing_file(void **state)
{
	struct conf c;
	struct error err = ERROR_INIT;

	(void)state;
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, "/nonexistent/mxfeed.conf", &err), -1);
	assert_non_null(strstr(error_msg(&err),
			       "/nonexistent/mxfeed.conf: cannot read"));
	conf_release(&c);
	error_release(&err);
}

static void documented(void **state)
{
	(void)state;
	assert_non_null(conf_doc("database.conninfo"));
	assert_non_null(conf_doc("destinations.allow"));
	assert_non_null(conf_doc("dnsbl.reject"));
	assert_non_null(conf_doc("senders.verify_backup"));
	assert_non_null(conf_doc("greylist.restart"));
	assert_null(conf_doc("nonsense"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),   cmocka_unit_test(full),
		cmocka_unit_test(peers),      cmocka_unit_test(refusals),
		cmocka_unit_test(log_target), cmocka_unit_test(missing_file),
		cmocka_unit_test(documented),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
