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
 * Thin: parse argv, load the configuration, call lib, print.  The
 * verbs are a table (name, handler, its lines of --help); the rules
 * are lib's: lib/relayctl (the one-shot verbs: connections, what is
 * reported to the relays table, starts), lib/relayd (sync),
 * lib/jobworker (worker), lib/queue and lib/relay.  Exit codes as
 * feedctl: 0 ok, 1 internal error, 2 usage, 4 conflict, 5 database
 * unavailable.
 */
#include <limits.h>
#include <stdbool.h>
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

/* What every verb gets: the configuration loaded, the policy daemon
 * found. */
struct glue {
	struct conf conf;
	const char *conf_path;
	char policyd[PATH_MAX];
	struct error err;
};

struct verb {
	const char *name;
	int (*run)(struct glue *g, const char *verb, int argc, char **argv);
	bool daemon;	  /* logs to the journal only */
	const char *help; /* its lines of --help; NULL: in the row before */
};

static void usage(FILE *fp);

static int fail(const char *verb, struct error *err)
{
	fprintf(stderr, "mta-glue: %s: %s\n", verb, error_msg(err));
	return error_exit_status(err->code);
}

static int run_generate(struct glue *g, const char *verb, int argc, char **argv)
{
	struct relayctl c;
	int64_t seq = 0;
	int rc = 0;

	if (argc != 1) {
		usage(stderr);
		return 2;
	}
	relayctl_init(&c, &g->conf, g->policyd);
	if (relayctl_open(&c, &g->err) < 0)
		return fail(verb, &g->err);
	if (relayctl_generate(&c, argv[0], &seq, &g->err) < 0)
		rc = fail(verb, &g->err);
	else
		printf("generated sequence %lld into %s\n", (long long)seq,
		       argv[0]);
	relayctl_close(&c);
	return rc;
}

static int run_apply(struct glue *g, const char *verb, int argc, char **argv)
{
	struct error e2 = ERROR_INIT;
	struct relayctl c;
	int64_t seq = 0;
	int rc = 0;

	(void)argc;
	(void)argv;
	relayctl_init(&c, &g->conf, g->policyd);
	if (relayctl_open(&c, &g->err) < 0)
		return fail(verb, &g->err);
	if (relayctl_apply(&c, true, &seq, &g->err) < 0) {
		rc = fail(verb, &g->err);
		if (relayctl_report_failure(&c, error_msg(&g->err), &e2) < 0)
			error_release(&e2);
	} else if (relayctl_report(&c, seq, &g->err) < 0) {
		rc = fail("report", &g->err);
	} else {
		printf("applied sequence %lld\n", (long long)seq);
	}
	relayctl_close(&c);
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

static int run_queue_expire(struct glue *g, const char *verb, int argc,
			    char **argv)
{
	size_t n = 0, purged = 0;
	int64_t now;

	if (as_of(argc, argv, &now, &g->err) < 0) {
		fputs("mta-glue: queue-expire [--as-of UNIXTIME]\n", stderr);
		return 2;
	}
	if (queue_expire(&g->conf, now, &n, &purged, &g->err) < 0)
		return fail(verb, &g->err);
	printf("expired %zu message(s), deleted %zu quarantined\n", n, purged);
	return 0;
}

static int run_digest(struct glue *g, const char *verb, int argc, char **argv)
{
	size_t n = 0;
	int64_t now;

	if (as_of(argc, argv, &now, &g->err) < 0) {
		fputs("mta-glue: quarantine-digest [--as-of UNIXTIME]\n",
		      stderr);
		return 2;
	}
	if (relayctl_digest(&g->conf, now, &n, &g->err) < 0)
		return fail(verb, &g->err);
	printf("sent %zu quarantine digest(s)\n", n);
	return 0;
}

static int run_sync(struct glue *g, const char *verb, int argc, char **argv)
{
	(void)verb;
	(void)argc;
	(void)argv;
	return relayd_run(&g->conf, g->conf_path, g->policyd);
}

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

static int run_worker(struct glue *g, const char *verb, int argc, char **argv)
{
	struct jobworker_opts o = { false, JOBWORKER_LEASE_S,
				    JOBWORKER_RETRY_S };
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--once") == 0) {
			o.once = true;
		} else if (i + 1 < argc && strcmp(argv[i], "--lease") == 0) {
			if (worker_opt(argv[i], argv[i + 1], &o.lease_s,
				       &g->err) < 0)
				return fail(verb, &g->err);
			i++;
		} else if (i + 1 < argc && strcmp(argv[i], "--retry") == 0) {
			if (worker_opt(argv[i], argv[i + 1], &o.retry_s,
				       &g->err) < 0)
				return fail(verb, &g->err);
			i++;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (jobworker_run(&g->conf, &o, &g->err) < 0)
		return fail(verb, &g->err);
	return 0;
}

static int run_rollback(struct glue *g, const char *verb, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (relay_rollback(&g->conf, &g->err) < 0)
		return fail(verb, &g->err);
	printf("rolled back to sequence %lld\n",
	       (long long)relay_current_seq(&g->conf));
	return 0;
}

static int run_status(struct glue *g, const char *verb, int argc, char **argv)
{
	(void)verb;
	(void)argc;
	(void)argv;
	printf("current sequence: %lld\npostfix: %s\n",
	       (long long)relay_current_seq(&g->conf),
	       relay_postfix_running(&g->conf) ? "running" : "stopped");
	return 0;
}

static int run_postfix(struct glue *g, const char *verb, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (relayctl_postfix(&g->conf, verb, &g->err) < 0)
		return fail(verb, &g->err);
	return 0;
}

/* clang-format off */
static const struct verb verbs[] = {
	{ "generate", run_generate, false,
	  "  generate DIR   write one generation of the relay's "
	  "configuration into DIR\n" },
	{ "apply", run_apply, false,
	  "  apply          generate in full, check (postmap, postfix "
	  "check), switch\n"
	  "                 atomically and reload Postfix; report to the "
	  "relays table\n" },
	{ "rollback", run_rollback, false,
	  "  rollback       switch back to the previous generation\n" },
	{ "status", run_status, false,
	  "  status         show the current generation\n" },
	{ "queue-expire", run_queue_expire, false,
	  "  queue-expire   bounce each domain's queued mail that outlived "
	  "its queue.days\n"
	  "                 (or queue.extended_until); sync runs it every "
	  "minute;\n"
	  "                 --as-of UNIXTIME judges as of that moment "
	  "(what-if, tests)\n" },
	{ "quarantine-digest", run_digest, false,
	  "  quarantine-digest [--as-of UNIXTIME]\n"
	  "                 send each domain with quarantine.digest and "
	  "mail held here\n"
	  "                 its digest of the day (UTC), once a day; sync "
	  "runs it every\n"
	  "                 minute\n" },
	{ "sync", run_sync, true,
	  "  sync           run as the relay daemon: LISTEN for changes "
	  "(polling every\n"
	  "                 2 s as well), apply each (incrementally: the "
	  "changed domains\n"
	  "                 merged into the generation in force), report "
	  "to the relays table;\n"
	  "                 while the database is away keep serving the "
	  "last generation;\n"
	  "                 SIGHUP: re-read the configuration and apply "
	  "by it\n" },
	{ "start", run_postfix, false,
	  "  start | stop   start or stop the relay's Postfix instance\n" },
	{ "stop", run_postfix, false, NULL },
	{ "worker", run_worker, true,
	  "  worker [--once] [--lease S] [--retry S]\n"
	  "                 the mailbox host's jobs worker: forwards, "
	  "archives and removes\n"
	  "                 mailboxes after a switch or revert, once "
	  "every relay has\n"
	  "                 applied it; a job's lease is S seconds "
	  "(default 300), a failed\n"
	  "                 step is retried after S seconds (default 30, "
	  "doubling to 1 h);\n"
	  "                 --once: run what is runnable now, then exit\n" },
	{ NULL, NULL, false, NULL }
};
/* clang-format on */

static void usage(FILE *fp)
{
	const struct verb *v;

	fputs("usage: mta-glue [-c CONF] COMMAND\n\n", fp);
	for (v = verbs; v->name != NULL; v++)
		if (v->help != NULL)
			fputs(v->help, fp);
	fputs("\n"
	      "Configuration: -c FILE, else $MXFEED_CONF, else "
	      "/etc/mxfeed/mxfeed.conf.\n"
	      "State (generations, current, Postfix queue): paths.state.\n",
	      fp);
}

static const struct verb *verb_find(const char *name)
{
	const struct verb *v;

	for (v = verbs; v->name != NULL; v++)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

int main(int argc, char **argv)
{
	struct glue g = { .err = ERROR_INIT };
	const struct verb *v;
	const char *verb;
	int i = 1, rc;

	log_init("mta-glue", LOG_LEVEL_INFO);
	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		g.conf_path = argv[2];
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
	if (conf_load(&g.conf, g.conf_path, &g.err) < 0) {
		fprintf(stderr, "mta-glue: %s\n", error_msg(&g.err));
		return 2;
	}
	v = verb_find(verb);
	log_init("mta-glue", g.conf.log_level);
	/* the daemons log to the journal only; a verb run by hand still
	 * shows its lines on the terminal too */
	log_set_target(g.conf.log_target, v != NULL && v->daemon
						  ? LOG_LEVEL_NONE
						  : g.conf.log_level);
	if (relayctl_policyd_path(g.policyd, sizeof(g.policyd)) < 0) {
		fputs("mta-glue: cannot find mxfeed-policyd beside mta-glue\n",
		      stderr);
		return 1;
	}
	if (v == NULL) {
		fprintf(stderr, "mta-glue: unknown command '%s'\n", verb);
		usage(stderr);
		rc = 2;
	} else {
		rc = v->run(&g, verb, argc - i - 1, argv + i + 1);
	}
	error_release(&g.err);
	conf_release(&g.conf);
	return rc;
}
