/* test_gen - the relay generators: golden files and the line writers
 *
 * Each tests/golden/gen/NAME.in is a JSON array of domains (as the API
 * takes them, plus "rules"); the generated relay_domains, transport,
 * policy snapshot, main.cf and master.cf must equal NAME.ref byte for
 * byte.  MXFEED_GOLDEN_UPDATE=1 rewrites the .ref files instead (then
 * review the diff before committing).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dest.h"
#include "domain_json.h"
#include "drain.h"
#include "gen.h"
#include "util/parse.h"
#include "util/template.h"

#define GOLDEN_DIR "tests/golden/gen"

static struct conf conf;

static int setup(void **state)
{
	struct cidr c;
	struct error err = ERROR_INIT;

	(void)state;
	conf_defaults(&conf);
	assert_int_equal(cidr_parse("127.0.0.0/8", &c, "t", &err), 0);
	cidr_list_add(&conf.dest_allow, &c);
	assert_int_equal(cidr_parse("::1/128", &c, "t", &err), 0);
	cidr_list_add(&conf.dest_allow, &c);
	/* production's envelope checks, so that main.cf shows them */
	conf.dnsbl_reject.v[conf.dnsbl_reject.n++] =
		xstrdup("zen.spamhaus.org=127.0.0.[2..11]");
	conf.dnsbl_warn.v[conf.dnsbl_warn.n++] = xstrdup("bl.spamcop.net");
	conf.senders_verify_backup = 1;
	conf.senders_check_domain = 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	conf_release(&conf);
	return 0;
}

static char *slurp(const char *path, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	FILE *fp = fopen(path, "re");
	size_t n;

	if (fp == NULL)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		sbuf_add(&sb, buf, n);
	fclose(fp);
	return sbuf_detach(&sb, len);
}

static int by_name(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;

	return strcmp(json_string_value(json_object_get(x, "_alabel")),
		      json_string_value(json_object_get(y, "_alabel")));
}

/* What the generators make of one .in document. */
static void generate(const char *in, struct strbuf *out)
{
	struct error err = ERROR_INIT;
	json_t *doc = json_loads(in, 0, NULL), *item, **items;
	struct strbuf mcf = STRBUF_INIT, mst = STRBUF_INIT;
	struct strbuf feed = STRBUF_INIT, backup = STRBUF_INIT;
	struct gen g;
	struct drain_plan dp;
	struct drain_vars dv;
	size_t i, n;
	char maxbytes[32];

	assert_non_null(doc);
	gen_init(&g, &conf);
	n = json_array_size(doc);
	items = calloc(n + 1, sizeof(*items));
	/* the store hands domains over in A-label order */
	json_array_foreach(doc, i, item)
	{
		struct domain_name dn;

		assert_int_equal(
			domain_name_parse(json_string_value(json_object_get(
						  item, "name")),
					  &dn, &err),
			0);
		json_object_set_new(item, "_alabel", json_string(dn.alabel));
		items[i] = item;
	}
	qsort(items, n, sizeof(*items), by_name);
	for (i = 0; i < n; i++) {
		json_t *rules = json_incref(json_object_get(items[i], "rules"));
		json_t *r;
		struct domain d;
		struct domain_name dn;
		size_t k;
		int mode;

		json_object_del(items[i], "rules");
		json_object_del(items[i], "_alabel");
		assert_int_equal(
			domain_name_parse(json_string_value(json_object_get(
						  items[i], "name")),
					  &dn, &err),
			0);
		mode = parse_enum(
			json_string_value(json_object_get(items[i], "mode")),
			domain_mode_names);
		assert_true(mode >= 0);
		domain_init(&d, &dn, (enum domain_mode)mode, &conf);
		if (domain_patch(&d, items[i], &conf, &err) < 0)
			fail_msg("%s", error_msg(&err));
		if (gen_domain(&g, &d, &err) < 0)
			fail_msg("%s", error_msg(&err));
		json_array_foreach(rules, k, r)
		{
			struct rule rule;

			if (rule_parse(json_string_value(
					       json_object_get(r, "action")),
				       json_string_value(
					       json_object_get(r, "kind")),
				       json_string_value(
					       json_object_get(r, "value")),
				       &rule, &err) < 0)
				fail_msg("%s", error_msg(&err));
			if (gen_rule(&g, dn.alabel, &rule, &err) < 0)
				fail_msg("%s", error_msg(&err));
		}
		json_decref(rules);
	}
	(void)snprintf(maxbytes, sizeof(maxbytes), "%lld",
		       (long long)g.max_message_mb * 1024 * 1024);
	assert_int_equal(gen_smtpd_checks(&conf, &feed, &backup, &err), 0);
	/* a relay that is not drained, and no relay hands over to it */
	memset(&dp, 0, sizeof(dp));
	drain_vars(&dp, "/var/lib/mxfeed/current", &dv);
	{
		const struct gen_var vars[] = {
			{ "SEQ", "42" },
			{ "CURRENT", "/var/lib/mxfeed/current" },
			{ "STATE", "/var/lib/mxfeed" },
			{ "SPOOL", "/var/lib/mxfeed/spool" },
			{ "DATA", "/var/lib/mxfeed/data" },
			{ "HOSTNAME", "relay1.isp.example" },
			{ "LISTEN", "25" },
			{ "DNS", "enabled" },
			{ "BIND4", "198.51.100.25" },
			{ "BIND6", "2001:db8::25" },
			{ "PEERNAME", "yes" },
			{ "MAXBYTES", maxbytes },
			{ "POLICYD", "/usr/local/bin/mxfeed-policyd" },
			{ "POSTGREY", "127.0.0.1:10023" },
			{ "MILTER", "127.0.0.1:11332" },
			{ "REINJECT", "mxfeed-reinject unix -" },
			{ "REINJECT_CLIENTS", "127.0.0.0/8" },
			{ "REINJECT_TLS", "none" },
			{ "REINJECT_CCERT", "no" },
			{ "REINJECT_CA", "" },
			{ "FEED_CHECKS", feed.buf },
			{ "BACKUP_CHECKS", backup.buf },
			{ "SMTPD_TLS_LEVEL", "may" },
			{ "SMTPD_TLS_CHAIN",
			  "/etc/mxfeed/tls/key.pem, /etc/mxfeed/tls/cert.pem" },
			{ "DRAIN_DELAY_REJECT", dv.delay_reject },
			{ "DRAIN_CLIENT", dv.client },
			{ "TRANSPORT_MAPS", dv.transport_maps },
			{ "RELAY_TRANSPORT", dv.relay_transport },
			{ "PEER_CHECKS", dv.peer_checks },
		};
		size_t nv = sizeof(vars) / sizeof(vars[0]);

		assert_int_equal(gen_fill("main.cf.in",
					  template_get("main.cf.in"), vars, nv,
					  &mcf, &err),
				 0);
		assert_int_equal(gen_fill("master.cf.in",
					  template_get("master.cf.in"), vars,
					  nv, &mst, &err),
				 0);
	}
	sbuf_addf(out, "==> relay_domains <==\n%s", g.relay_domains.buf);
	sbuf_addf(out, "==> transport <==\n%s", g.transport.buf);
	sbuf_addf(out, "==> policy <==\n%s", g.policy.buf);
	sbuf_addf(out, "==> queue <==\n%s", g.queue.buf);
	sbuf_addf(out, "==> rspamd/mxfeed-domains <==\n%s", g.spam.buf);
	sbuf_addf(out, "==> rspamd/mxfeed-modes <==\n%s", g.modes.buf);
	sbuf_addstr(out, "==> tls_policy <==\n");
	assert_int_equal(gen_tls_policy_finish(&g, out, &err), 0);
	sbuf_addstr(out, "==> postgrey.args <==\n");
	gen_postgrey_args(&conf, out);
	sbuf_addf(out, "==> main.cf <==\n%s", mcf.buf);
	sbuf_addf(out, "==> master.cf <==\n%s", mst.buf);
	sbuf_release(&mcf);
	sbuf_release(&mst);
	sbuf_release(&feed);
	sbuf_release(&backup);
	gen_release(&g);
	free(items);
	json_decref(doc);
}

static void golden(void **state)
{
	DIR *d = opendir(GOLDEN_DIR);
	struct dirent *e;
	int cases = 0;
	bool update = getenv("MXFEED_GOLDEN_UPDATE") != NULL;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char in_path[512], ref_path[512];
		struct strbuf got = STRBUF_INIT;
		size_t n = strlen(e->d_name), len;
		char *in, *ref;

		if (n < 4 || strcmp(e->d_name + n - 3, ".in") != 0)
			continue;
		(void)snprintf(in_path, sizeof(in_path), "%s/%s", GOLDEN_DIR,
			       e->d_name);
		(void)snprintf(ref_path, sizeof(ref_path), "%s/%.*s.ref",
			       GOLDEN_DIR, (int)(n - 3), e->d_name);
		in = slurp(in_path, &len);
		assert_non_null(in);
		generate(in, &got);
		if (update) {
			FILE *fp = fopen(ref_path, "we");

			assert_non_null(fp);
			fputs(got.buf, fp);
			fclose(fp);
		} else {
			ref = slurp(ref_path, &len);
			if (ref == NULL)
				fail_msg("%s: no .ref (run with "
					 "MXFEED_GOLDEN_UPDATE=1)",
					 in_path);
			if (strcmp(ref, got.buf) != 0)
				fail_msg("%s: output differs from %s", in_path,
					 ref_path);
			free(ref);
		}
		free(in);
		sbuf_release(&got);
		cases++;
	}
	closedir(d);
	assert_true(cases >= 3);
}

static void map_lines(void **state)
{
	static const char *const bad_keys[] = { "",	     "a b", "a\nb",
						"a\tb",	     "#a",  "a\x01",
						"a\xc3\xa9", "a,b", "a;b" };
	static const char *const bad_values[] = { "",	  " lead", "a\nb",
						  "a\rb", "a\x7f", "a\tb" };
	struct strbuf sb = STRBUF_INIT;
	struct error err = ERROR_INIT;
	size_t i;

	(void)state;
	assert_int_equal(map_line_add(&sb, "example.com",
				      "smtp:[127.0.0.1]:25, [::1]:25", &err),
			 0);
	assert_string_equal(sb.buf,
			    "example.com smtp:[127.0.0.1]:25, [::1]:25\n");
	for (i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
		assert_int_equal(map_line_add(&sb, bad_keys[i], "OK", &err),
				 -1);
		assert_int_equal(err.code, ERR_INTERNAL);
		error_release(&err);
	}
	for (i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		assert_int_equal(map_line_add(&sb, "k", bad_values[i], &err),
				 -1);
		error_release(&err);
	}
	/* nothing was appended by a refusal */
	assert_string_equal(sb.buf,
			    "example.com smtp:[127.0.0.1]:25, [::1]:25\n");
	sbuf_release(&sb);
}

static void policy_lines(void **state)
{
	const char *good[] = { "rule", "example.com", "block", "address-regex",
			       "^a b@" };
	const char *bad[] = { "rule", "example.com", "block", "address-regex",
			      "a\tb" };
	struct strbuf sb = STRBUF_INIT;
	struct error err = ERROR_INIT;

	(void)state;
	assert_int_equal(policy_line_add(&sb, good, 5, &err), 0);
	assert_string_equal(sb.buf,
			    "rule\texample.com\tblock\taddress-regex\t^a b@\n");
	assert_int_equal(policy_line_add(&sb, bad, 5, &err), -1);
	error_release(&err);
	bad[4] = "a\nrule\tx";
	assert_int_equal(policy_line_add(&sb, bad, 5, &err), -1);
	error_release(&err);
	sbuf_release(&sb);
}

/*
 * A stored sender regex the checks now refuse is left out of the
 * generation (logged, counted) instead of stopping it; any other refused
 * row still aborts it.
 */
static void old_rules(void **state)
{
	struct rule r = { 0, RULE_BLOCK, RULE_SENDER_REGEX,
			  "((a{255}){255}){255}" };
	struct error err = ERROR_INIT;
	struct gen g;

	struct strbuf want = STRBUF_INIT;

	(void)state;
	gen_init(&g, &conf);
	/* the snapshot's header rows, then nothing of the skipped rule */
	sbuf_addstr(&want, g.policy.buf);
	assert_int_equal(gen_rule(&g, "example.com", &r, &err), 0);
	assert_int_equal(err.code, ERR_NONE);
	assert_int_equal(g.nskipped, 1);
	assert_int_equal(g.nrules, 0);
	assert_string_equal(g.policy.buf, want.buf);
	(void)snprintf(r.value, sizeof(r.value), "^spam@");
	assert_int_equal(gen_rule(&g, "example.com", &r, &err), 0);
	sbuf_addstr(&want, "rule\texample.com\tblock\taddress-regex\t^spam@\n");
	assert_string_equal(g.policy.buf, want.buf);
	sbuf_release(&want);
	r.kind = RULE_CLIENT_CIDR;
	(void)snprintf(r.value, sizeof(r.value), "10.0.0.1/8");
	assert_int_equal(gen_rule(&g, "example.com", &r, &err), -1);
	error_release(&err);
	gen_release(&g);
}

static void fill(void **state)
{
	const struct gen_var vars[] = { { "A", "one" },
					{ "B", "two\nthree" },
					{ "C", NULL } };
	struct strbuf sb = STRBUF_INIT;
	struct error err = ERROR_INIT;

	(void)state;
	assert_int_equal(gen_fill("t", "x=@A@ y", vars, 3, &sb, &err), 0);
	assert_string_equal(sb.buf, "x=one y");
	sbuf_reset(&sb);
	assert_int_equal(gen_fill("t", "a@@b @A@", vars, 3, &sb, &err), 0);
	assert_string_equal(sb.buf, "a@b one");
	sbuf_reset(&sb);
	assert_int_equal(gen_fill("t", "x=one y", vars, 3, &sb, &err), 0);
	assert_int_equal(gen_fill("t", "x=@B@", vars, 3, &sb, &err), -1);
	assert_non_null(strstr(error_msg(&err), "control byte"));
	error_release(&err);
	assert_int_equal(gen_fill("t", "x=@C@", vars, 3, &sb, &err), -1);
	error_release(&err);
	assert_int_equal(gen_fill("t", "x=@D@", vars, 3, &sb, &err), -1);
	error_release(&err);
	assert_int_equal(gen_fill("t", "x=@A", vars, 3, &sb, &err), -1);
	error_release(&err);
	assert_string_equal(sb.buf, "x=one y"); /* refusals add nothing */
	sbuf_release(&sb);
}

/* The site's zones are re-checked before they reach main.cf. */
static void smtpd_checks(void **state)
{
	static const char *const bad[] = { "BL.test", "bl.test\nx = y",
					   "bl.test, permit", "bl.test=1.2.3",
					   "" };
	struct conf c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct strbuf feed = STRBUF_INIT, backup = STRBUF_INIT;
		struct error err = ERROR_INIT;

		conf_defaults(&c);
		c.dnsbl_reject.v[c.dnsbl_reject.n++] = xstrdup(bad[i]);
		if (gen_smtpd_checks(&c, &feed, &backup, &err) != -1)
			fail_msg("accepted zone #%zu", i);
		assert_int_equal(err.code, ERR_INTERNAL);
		error_release(&err);
		sbuf_release(&feed);
		sbuf_release(&backup);
		conf_release(&c);
	}
	{
		struct strbuf feed = STRBUF_INIT, backup = STRBUF_INIT;
		struct error err = ERROR_INIT;

		conf_defaults(&c);
		assert_int_equal(gen_smtpd_checks(&c, &feed, &backup, &err), 0);
		assert_string_equal(feed.buf, "");
		assert_string_equal(backup.buf, "");
		c.dnsbl_reject.v[c.dnsbl_reject.n++] = xstrdup("bl.test");
		c.senders_verify_backup = 1;
		assert_int_equal(gen_smtpd_checks(&c, &feed, &backup, &err), 0);
		assert_string_equal(feed.buf, "reject_rbl_client bl.test, ");
		assert_string_equal(backup.buf,
				    "warn_if_reject reject_rbl_client bl.test, "
				    "reject_rbl_client bl.test, "
				    "reject_unverified_sender, ");
		sbuf_release(&feed);
		sbuf_release(&backup);
		conf_release(&c);
	}
}

/* One entry per next hop: the strictest policy, every fingerprint. */
static void tls_policy_map(void **state)
{
	static const char fa[] = "00112233445566778899aabbccddeeff"
				 "00112233445566778899aabbccddeeff";
	static const char fb[] = "ffeeddccbbaa99887766554433221100"
				 "ffeeddccbbaa99887766554433221100";
	struct error err = ERROR_INIT;
	struct strbuf out = STRBUF_INIT;
	struct dest a, b, c;
	struct gen g;

	(void)state;
	assert_int_equal(dest_parse("127.0.0.1:2601", &conf, &a, "d", &err), 0);
	assert_int_equal(dest_parse("127.0.0.2", &conf, &b, "d", &err), 0);
	assert_int_equal(dest_parse("[::1]:26", &conf, &c, "d", &err), 0);
	gen_init(&g, &conf);
	assert_int_equal(gen_tls_policy_add(&g, &a, TLS_MAY, NULL, &err), 0);
	assert_int_equal(gen_tls_policy_add(&g, &b, TLS_ENCRYPT, NULL, &err),
			 0);
	assert_int_equal(gen_tls_policy_add(&g, &b, TLS_ENCRYPT, NULL, &err),
			 0);
	assert_int_equal(gen_tls_policy_add(&g, &a, TLS_VERIFY, fb, &err), 0);
	assert_int_equal(gen_tls_policy_add(&g, &a, TLS_ENCRYPT, NULL, &err),
			 0);
	assert_int_equal(gen_tls_policy_add(&g, &a, TLS_VERIFY, fa, &err), 0);
	assert_int_equal(gen_tls_policy_add(&g, &a, TLS_VERIFY, fa, &err), 0);
	assert_int_equal(gen_tls_policy_add(&g, &c, TLS_VERIFY, fa, &err), 0);
	/* a verify without its fingerprint, or a bad one: refused */
	assert_int_equal(gen_tls_policy_add(&g, &c, TLS_VERIFY, NULL, &err),
			 -1);
	error_release(&err);
	assert_int_equal(gen_tls_policy_add(&g, &c, TLS_VERIFY, "00\n11", &err),
			 -1);
	error_release(&err);
	assert_int_equal(gen_tls_policy_finish(&g, &out, &err), 0);
	assert_string_equal(
		out.buf,
		"[127.0.0.1]:2601 fingerprint "
		"match=00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:"
		"22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF|FF:EE:DD:CC:BB:AA:"
		"99:88:77:66:55:44:33:22:11:00:FF:EE:DD:CC:BB:AA:99:88:77:66:"
		"55:44:33:22:11:00\n"
		"[127.0.0.2]:25 encrypt\n"
		"[::1]:26 fingerprint "
		"match=00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:"
		"22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\n");
	gen_release(&g);
	sbuf_release(&out);
}

/* gen_domain() adds a feed/backup domain's policy for its destination
 * and fallbacks; not while its mail goes to temporary mailboxes */
static void tls_policy_domains(void **state)
{
	struct error err = ERROR_INIT;
	struct strbuf out = STRBUF_INIT;
	struct domain_name dn;
	struct domain d;
	struct gen g;

	(void)state;
	gen_init(&g, &conf);
	assert_int_equal(domain_name_parse("enc.example", &dn, &err), 0);
	domain_init(&d, &dn, MODE_BACKUP, &conf);
	assert_int_equal(domain_set(&d, "dest", "127.0.0.1:2601", &conf, &err),
			 0);
	assert_int_equal(domain_set(&d, "fallbacks", "127.0.0.2", &conf, &err),
			 0);
	assert_int_equal(domain_set(&d, "tls.policy", "encrypt", &conf, &err),
			 0);
	assert_int_equal(gen_domain(&g, &d, &err), 0);
	assert_int_equal(domain_name_parse("temp.example", &dn, &err), 0);
	domain_init(&d, &dn, MODE_FEED, &conf);
	assert_int_equal(domain_set(&d, "dest", "127.0.0.3", &conf, &err), 0);
	assert_int_equal(domain_set(&d, "tls.policy", "encrypt", &conf, &err),
			 0);
	d.temp_pop3 = true;
	d.temp_pop3_since = 1;
	memcpy(d.temp_pop3_by, "alice", 6);
	assert_int_equal(gen_domain(&g, &d, &err), 0);
	assert_int_equal(gen_tls_policy_finish(&g, &out, &err), 0);
	assert_string_equal(out.buf, "[127.0.0.1]:2601 encrypt\n"
				     "[127.0.0.2]:25 encrypt\n");
	gen_release(&g);
	sbuf_release(&out);
}

/* tests/golden/dovecot/NAME.ref: Dovecot's TLS settings for a
 * listener; beyond loopback without a key pair is refused. */
static void dovecot_golden(void **state)
{
	static const struct {
		const char *name, *listen;
		bool pair;
	} cases[] = {
		{ "loopback", "127.0.0.1, ::1", false },
		{ "loopback-pair", "127.0.0.1", true },
		{ "public", "*", true },
		{ "public-addr", "192.0.2.7, 127.0.0.1", true },
	};
	bool update = getenv("MXFEED_GOLDEN_UPDATE") != NULL;
	struct error err = ERROR_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf c;
		struct strbuf got = STRBUF_INIT;
		char path[256];
		size_t len;
		char *ref;

		conf_defaults(&c);
		free(c.mailbox_listen);
		c.mailbox_listen = xstrdup(cases[i].listen);
		if (cases[i].pair) {
			c.tls_cert_file = xstrdup("/etc/mxfeed/tls/cert.pem");
			c.tls_key_file = xstrdup("/etc/mxfeed/tls/key.pem");
		}
		assert_int_equal(gen_dovecot_tls(&c, &got, &err), 0);
		(void)snprintf(path, sizeof(path),
			       "tests/golden/dovecot/%s.ref", cases[i].name);
		if (update) {
			FILE *fp = fopen(path, "we");

			assert_non_null(fp);
			fputs(got.buf, fp);
			fclose(fp);
		} else {
			ref = slurp(path, &len);
			if (ref == NULL || strcmp(ref, got.buf) != 0)
				fail_msg("%s differs:\n%s", path, got.buf);
			free(ref);
		}
		sbuf_release(&got);
		conf_release(&c);
	}
	{
		struct conf c;
		struct strbuf got = STRBUF_INIT;

		conf_defaults(&c);
		free(c.mailbox_listen);
		c.mailbox_listen = xstrdup("*"); /* no pair */
		assert_int_equal(gen_dovecot_tls(&c, &got, &err), -1);
		assert_non_null(strstr(error_msg(&err), "tls.cert_file"));
		assert_int_equal(got.len, 0);
		error_release(&err);
		conf_release(&c);
	}
}

/* tests/golden/dovecot/dovecot.conf.ref: the mailbox host's Dovecot
 * with the defaults of mxfeed.conf: POP3 and IMAP on loopback, LMTP
 * on its own address, insert denied by ACL, the site's file last. */
static void dovecot_conf_golden(void **state)
{
	static const char path[] = "tests/golden/dovecot/dovecot.conf.ref";
	struct error err = ERROR_INIT;
	struct strbuf got = STRBUF_INIT;
	struct conf c;
	size_t len;
	char *ref;

	(void)state;
	conf_defaults(&c);
	{
		const struct gen_var vars[] = {
			{ "RUN", "/var/lib/mxfeed/dovecot-run" },
			{ "DSTATE", "/var/lib/mxfeed/dovecot-state" },
			{ "LOG", "/var/lib/mxfeed/dovecot.log" },
			{ "LISTEN", c.mailbox_listen },
			{ "MAILUSER", c.mailbox_user },
			{ "MAILGROUP", "mail" },
			{ "SQLCONF", "/var/lib/mxfeed/current/dovecot/"
				     "dovecot-sql.conf.ext" },
			{ "POP3", "110" },
			{ "IMAP", "143" },
			{ "LMTP", "24" },
			{ "DOVEADMCONF", "/var/lib/mxfeed/current/dovecot/"
					 "doveadm.conf.ext" },
			{ "DOVEADM_ADDR", "127.0.0.1" },
			{ "DOVEADM_PORT", "8090" },
			{ "DOVETLSCONF",
			  "/var/lib/mxfeed/current/dovecot/tls.conf.ext" },
			{ "ACLFILE",
			  "/var/lib/mxfeed/current/dovecot/dovecot-acl" },
			{ "LMTP_LISTEN", c.mailbox_lmtp_listen },
			{ "LOCALCONF", c.mailbox_local_conf },
		};

		assert_int_equal(gen_fill("dovecot.conf.in",
					  template_get("dovecot.conf.in"), vars,
					  sizeof(vars) / sizeof(vars[0]), &got,
					  &err),
				 0);
	}
	assert_non_null(strstr(got.buf, "\nlisten = 127.0.0.1\n"));
	assert_non_null(strstr(got.buf, "    address = 127.0.0.1\n"
					"    port = 24\n"));
	assert_non_null(strstr(got.buf, "\n!include_try "
					"/etc/mxfeed/dovecot-local.conf\n"));
	if (getenv("MXFEED_GOLDEN_UPDATE") != NULL) {
		FILE *fp = fopen(path, "we");

		assert_non_null(fp);
		fputs(got.buf, fp);
		fclose(fp);
	} else {
		ref = slurp(path, &len);
		if (ref == NULL || strcmp(ref, got.buf) != 0)
			fail_msg("%s differs:\n%s", path, got.buf);
		free(ref);
	}
	sbuf_release(&got);
	conf_release(&c);
}

/* Inbound STARTTLS: the pair if any, else loopback only. */
static void smtpd_tls(void **state)
{
	struct error err = ERROR_INIT;
	struct strbuf chain = STRBUF_INIT;
	const char *level = NULL;
	struct conf c;

	(void)state;
	conf_defaults(&c); /* relay.listen "25": every address */
	assert_int_equal(gen_smtpd_tls(&c, &level, &chain, &err), -1);
	assert_non_null(strstr(error_msg(&err), "beyond loopback"));
	error_release(&err);
	free(c.relay_listen);
	c.relay_listen = xstrdup("127.0.0.1:2525");
	assert_int_equal(gen_smtpd_tls(&c, &level, &chain, &err), 0);
	assert_string_equal(level, "none");
	assert_int_equal(chain.len, 0);
	c.tls_cert_file = xstrdup("/etc/mxfeed/tls/cert.pem");
	c.tls_key_file = xstrdup("/etc/mxfeed/tls/key.pem");
	assert_int_equal(gen_smtpd_tls(&c, &level, &chain, &err), 0);
	assert_string_equal(level, "may");
	assert_string_equal(
		chain.buf, "/etc/mxfeed/tls/key.pem, /etc/mxfeed/tls/cert.pem");
	free(c.tls_key_file);
	c.tls_key_file = xstrdup("/etc/mxfeed/tls/a key.pem");
	sbuf_reset(&chain);
	assert_int_equal(gen_smtpd_tls(&c, &level, &chain, &err), -1);
	error_release(&err);
	sbuf_release(&chain);
	conf_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(golden),
		cmocka_unit_test(map_lines),
		cmocka_unit_test(policy_lines),
		cmocka_unit_test(old_rules),
		cmocka_unit_test(fill),
		cmocka_unit_test(smtpd_checks),
		cmocka_unit_test(tls_policy_map),
		cmocka_unit_test(tls_policy_domains),
		cmocka_unit_test(dovecot_golden),
		cmocka_unit_test(dovecot_conf_golden),
		cmocka_unit_test(smtpd_tls),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
