/*
 * mta-glue - turn the domain records into a relay's running mail stack
 *
 * mta-glue [-c CONF] COMMAND
 *   generate DIR   write one generation into DIR (for inspection)
 *   apply          generate, check, switch atomically, reload Postfix
 *   rollback       switch back to the generation before the current one
 *   status         the current generation and whether Postfix runs
 *   sync           the relay daemon: apply every change as it happens
 *   queue-expire   expire each domain's mail at its own queue lifetime
 *   quarantine-digest  send the day's quarantine digests not sent yet
 *   start | stop   the relay's Postfix instance (on the current one)
 *   worker         the mailbox host's jobs worker (lib/jobworker)
 *
 * Thin: parse argv, call lib/relay, print.  apply reports what it did
 * (or its error) to the relays table under relay.name; a failed apply
 * leaves the previous generation serving.  Exit codes as feedctl: 0 ok,
 * 1 internal error, 2 usage, 4 conflict, 5 database unavailable.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "jobworker.h"
#include "queue.h"
#include "relay.h"
#include "relayctl.h"
#include "relayd.h"
#include "util/log.h"
#include "util/parse.h"

static void usage(FILE *fp)
{
	fputs("usage: mta-glue [-c CONF] COMMAND\n"
	      "\n"
	      "  generate DIR   write one generation of the relay's "
	      "configuration into DIR\n"
	      "  apply          generate in full, check (postmap, postfix "
	      "check), switch\n"
	      "                 atomically and reload Postfix; report to the "
	      "relays table\n"
	      "  rollback       switch back to the previous generation\n"
	      "  status         show the current generation\n"
	      "  queue-expire   bounce each domain's queued mail that outlived "
	      "its queue.days\n"
	      "                 (or queue.extended_until); sync runs it every "
	      "minute;\n"
	      "                 --as-of UNIXTIME judges as of that moment "
	      "(what-if, tests)\n"
	      "  quarantine-digest [--as-of UNIXTIME]\n"
	      "                 send each domain with quarantine.digest and "
	      "mail held here\n"
	      "                 its digest of the day (UTC), once a day; sync "
	      "runs it every\n"
	      "                 minute\n"
	      "  sync           run as the relay daemon: LISTEN for changes "
	      "(polling every\n"
	      "                 2 s as well), apply each (incrementally: the "
	      "changed domains\n"
	      "                 merged into the generation in force), report "
	      "to the relays table;\n"
	      "                 while the database is away keep serving the "
	      "last generation;\n"
	      "                 SIGHUP: re-read the configuration and apply "
	      "by it\n"
	      "  start | stop   start or stop the relay's Postfix instance\n"
	      "  worker [--once] [--lease S] [--retry S]\n"
	      "                 the mailbox host's jobs worker: forwards, "
	      "archives and removes\n"
	      "                 mailboxes after a switch or revert, once "
	      "every relay has\n"
	      "                 applied it; a job's lease is S seconds "
	      "(default 300), a failed\n"
	      "                 step is retried after S seconds (default 30, "
	      "doubling to 1 h);\n"
	      "                 --once: run what is runnable now, then exit\n"
	      "\n"
	      "Configuration: -c FILE, else $MXFEED_CONF, else "
	      "/etc/mxfeed/mxfeed.conf.\n"
	      "State (generations, current, Postfix queue): paths.state.\n",
	      fp);
}

static int fail(const char *verb, struct error *err);

/* one of --lease S, --retry S: its value into *v */
static int worker_opt(const char *opt, const char *arg, long *v,
		      struct error *err)
{
	if (strcmp(opt, "--lease") == 0)
		return parse_long(arg, JOBWORKER_LEASE_MIN_S,
				  JOBWORKER_LEASE_MAX_S, v, opt, err);
	return parse_long(arg, JOBWORKER_RETRY_MIN_S, JOBWORKER_RETRY_MAX_S, v,
			  opt, err);
}

/* The jobs worker (lib/jobworker). */
static int cmd_worker(const struct conf *conf, int argc, char **argv)
{
	struct jobworker_opts o = { false, JOBWORKER_LEASE_S,
				    JOBWORKER_RETRY_S };
	struct error err = ERROR_INIT;
	int i, rc = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--once") == 0) {
			o.once = true;
		} else if (i + 1 < argc && strcmp(argv[i], "--lease") == 0) {
			if (worker_opt(argv[i], argv[i + 1], &o.lease_s, &err) <
			    0)
				return fail("worker", &err);
			i++;
		} else if (i + 1 < argc && strcmp(argv[i], "--retry") == 0) {
			if (worker_opt(argv[i], argv[i + 1], &o.retry_s, &err) <
			    0)
				return fail("worker", &err);
			i++;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (jobworker_run(conf, &o, &err) < 0)
		rc = fail("worker", &err);
	error_release(&err);
	return rc;
}

static int fail(const char *verb, struct error *err)
{
	fprintf(stderr, "mta-glue: %s: %s\n", verb, error_msg(err));
	return error_exit_status(err->code);
}

static int cmd_generate(const struct conf *conf, const char *policyd,
			const char *dir)
{
	struct error err = ERROR_INIT;
	struct relayctl c;
	int64_t seq = 0;
	int rc = 0;

	relayctl_init(&c, conf, policyd);
	if (relayctl_open(&c, &err) < 0) {
		rc = fail("generate", &err);
	} else if (relayctl_generate(&c, dir, &seq, &err) < 0) {
		rc = fail("generate", &err);
	} else {
		printf("generated sequence %lld into %s\n", (long long)seq,
		       dir);
	}
	relayctl_close(&c);
	error_release(&err);
	return rc;
}

static int cmd_apply(const struct conf *conf, const char *policyd)
{
	struct error err = ERROR_INIT, e2 = ERROR_INIT;
	struct relayctl c;
	int64_t seq = 0;
	int rc = 0;

	relayctl_init(&c, conf, policyd);
	if (relayctl_open(&c, &err) < 0) {
		rc = fail("apply", &err);
	} else if (relayctl_apply(&c, true, &seq, &err) < 0) {
		rc = fail("apply", &err);
		if (relayctl_report_failure(&c, error_msg(&err), &e2) < 0)
			error_release(&e2);
	} else if (relayctl_report(&c, seq, &err) < 0) {
		rc = fail("report", &err);
	} else {
		printf("applied sequence %lld\n", (long long)seq);
	}
	relayctl_close(&c);
	error_release(&err);
	return rc;
}

/* [--as-of UNIXTIME]: the moment to judge by; -1 on anything else */
static int as_of(int argc, char **argv, int64_t *now, struct error *err)
{
	long t = 0;

	*now = (int64_t)time(NULL);
	if (argc == 0)
		return 0;
	if (strcmp(argv[0], "--as-of") != 0 || argc != 2 ||
	    parse_long(argv[1], 1, 0x7fffffffL, &t, "--as-of", err) < 0)
		return -1;
	*now = t;
	return 0;
}

int main(int argc, char **argv)
{
	const char *conf_path = NULL, *verb;
	struct error err = ERROR_INIT;
	char policyd[PATH_MAX];
	struct conf conf = { 0 };
	int64_t now;
	int i = 1, rc = 0;

	log_init("mta-glue", LOG_LEVEL_INFO);
	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		conf_path = argv[2];
		i = 3;
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	verb = argv[i];
	if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0 ||
	    strcmp(verb, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (conf_load(&conf, conf_path, &err) < 0) {
		fprintf(stderr, "mta-glue: %s\n", error_msg(&err));
		return 2;
	}
	log_init("mta-glue", conf.log_level);
	/* the daemons log to the journal only; a verb run by hand still
	 * shows its lines on the terminal too */
	log_set_target(conf.log_target,
		       strcmp(verb, "sync") == 0 || strcmp(verb, "worker") == 0
			       ? LOG_LEVEL_NONE
			       : conf.log_level);
	if (relayctl_policyd_path(policyd, sizeof(policyd)) < 0) {
		fputs("mta-glue: cannot find mxfeed-policyd beside mta-glue\n",
		      stderr);
		return 1;
	}
	if (strcmp(verb, "generate") == 0) {
		if (i + 2 != argc) {
			usage(stderr);
			rc = 2;
		} else {
			rc = cmd_generate(&conf, policyd, argv[i + 1]);
		}
	} else if (strcmp(verb, "apply") == 0) {
		rc = cmd_apply(&conf, policyd);
	} else if (strcmp(verb, "queue-expire") == 0) {
		size_t n = 0, purged = 0;

		if (as_of(argc - i - 1, argv + i + 1, &now, &err) < 0) {
			fputs("mta-glue: queue-expire [--as-of UNIXTIME]\n",
			      stderr);
			rc = 2;
		} else if (queue_expire(&conf, now, &n, &purged, &err) < 0) {
			rc = fail(verb, &err);
		} else {
			printf("expired %zu message(s), deleted %zu "
			       "quarantined\n",
			       n, purged);
		}
	} else if (strcmp(verb, "quarantine-digest") == 0) {
		size_t n = 0;

		if (as_of(argc - i - 1, argv + i + 1, &now, &err) < 0) {
			fputs("mta-glue: quarantine-digest [--as-of "
			      "UNIXTIME]\n",
			      stderr);
			rc = 2;
		} else if (relayctl_digest(&conf, now, &n, &err) < 0) {
			rc = fail(verb, &err);
		} else {
			printf("sent %zu quarantine digest(s)\n", n);
		}
	} else if (strcmp(verb, "sync") == 0) {
		rc = relayd_run(&conf, conf_path, policyd);
	} else if (strcmp(verb, "worker") == 0) {
		rc = cmd_worker(&conf, argc - i - 1, argv + i + 1);
	} else if (strcmp(verb, "rollback") == 0) {
		if (relay_rollback(&conf, &err) < 0)
			rc = fail(verb, &err);
		else
			printf("rolled back to sequence %lld\n",
			       (long long)relay_current_seq(&conf));
	} else if (strcmp(verb, "status") == 0) {
		printf("current sequence: %lld\npostfix: %s\n",
		       (long long)relay_current_seq(&conf),
		       relay_postfix_running(&conf) ? "running" : "stopped");
	} else if (strcmp(verb, "start") == 0 || strcmp(verb, "stop") == 0) {
		if (relayctl_postfix(&conf, verb, &err) < 0)
			rc = fail(verb, &err);
	} else {
		fprintf(stderr, "mta-glue: unknown command '%s'\n", verb);
		usage(stderr);
		rc = 2;
	}
	error_release(&err);
	conf_release(&conf);
	return rc;
}
