/*
 * feedctl - the support-staff command line of mxfeed
 *
 * A thin skin over lib/ops: parse argv by the grammar (grammar.c),
 * call one ops_ function (cmd_*.c), print a table or the API's JSON
 * with --json (print.c).  Errors go to stderr as "feedctl: SUBJECT:
 * what is wrong" and map to the exit statuses of SPEC section 7
 * through error_exit_status(): 0 ok, 1 internal, 2 usage or invalid
 * value, 3 not found, 4 conflict, 5 temporarily unavailable.
 *
 * Global options (-c FILE, --json, --ticket ID) are accepted before and
 * after the verb; "--" ends option processing.  The command line is
 * checked before the configuration is read: a refused one never
 * touches the database.
 */
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "feedctl.h"
#include "ops_view.h"
#include "util/error.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/strbuf.h"

struct globals {
	char *args[ARGS_MAX]; /* the verb and its words */
	int n;
	bool help;
};

/* "-c FILE", "--config=FILE", "--ticket ID": 1 taken, 0 not, -1 no value */
static int global_value(int argc, char **argv, int *i, const char *name,
			const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

/* Pull the global options out, wherever they stand; the rest to g. */
static int globals(struct cli *cli, int argc, char **argv, struct globals *g)
{
	bool done = false;
	int i, r;

	for (i = 1; i < argc; i++) {
		if (!done && strcmp(argv[i], "--") == 0) {
			done = true;
			continue;
		}
		if (!done && ((r = global_value(argc, argv, &i, "-c",
						&cli->conf_path)) != 0 ||
			      (r = global_value(argc, argv, &i, "--config",
						&cli->conf_path)) != 0 ||
			      (r = global_value(argc, argv, &i, "--ticket",
						&cli->ticket)) != 0)) {
			if (r < 0)
				return usage_error(cli, NULL,
						   "%s needs a value", argv[i]);
			continue;
		}
		if (!done && strcmp(argv[i], "--json") == 0) {
			cli->json = true;
			continue;
		}
		if (!done && (strcmp(argv[i], "--help") == 0 ||
			      strcmp(argv[i], "-h") == 0)) {
			g->help = true;
			continue;
		}
		if (g->n >= ARGS_MAX)
			return usage_error(cli, NULL, "too many arguments");
		g->args[g->n++] = argv[i];
	}
	return 0;
}

/*
 * The actor recorded for changes: the real user's login, or under sudo
 * (real uid 0, SUDO_USER a user whose uid is SUDO_UID) "NAME via sudo
 * (uid 0)".  Anyone else's SUDO_USER is ignored: it is only an
 * environment variable.
 */
static void set_actor(struct cli *cli)
{
	const char *su = getenv("SUDO_USER"), *suid = getenv("SUDO_UID");
	uid_t ruid = getuid();
	struct passwd *pw;
	char buf[ACTOR_MAX + 32];
	long id = -1;
	struct error e = ERROR_INIT;

	buf[0] = '\0';
	if (ruid == 0 && su != NULL && su[0] != '\0' && suid != NULL &&
	    parse_long(suid, 0, 0x7ffffffeL, &id, "SUDO_UID", &e) == 0 &&
	    (pw = getpwnam(su)) != NULL && (long)pw->pw_uid == id)
		(void)snprintf(buf, sizeof(buf), "%s via sudo (uid 0)", su);
	error_release(&e);
	if (buf[0] == '\0') {
		pw = getpwuid(ruid);
		if (pw != NULL)
			(void)snprintf(buf, sizeof(buf), "%s", pw->pw_name);
		else
			(void)snprintf(buf, sizeof(buf), "uid %u",
				       (unsigned)ruid);
	}
	if (strlcpy_checked(cli->actor, buf, sizeof(cli->actor)) < 0 ||
	    actor_check(cli->actor, "actor", &cli->err) < 0) {
		error_clear(&cli->err);
		(void)snprintf(cli->actor, sizeof(cli->actor), "uid %u",
			       (unsigned)ruid);
	}
}

/* The configuration, the log and the database for a verb of row c. */
static int open_session(struct cli *cli, const struct verb *c)
{
	if (conf_load(&cli->conf, cli->conf_path, &cli->err) < 0)
		return -1;
	/* the journal takes log.level (the audit lines are info); the
	 * terminal still sees warnings and errors only */
	log_set_target(cli->conf.log_target,
		       cli->conf.log_level > LOG_LEVEL_WARN
			       ? cli->conf.log_level
			       : LOG_LEVEL_WARN);
	log_init("feedctl", log_to_journal() ? cli->conf.log_level
			    : cli->conf.log_level > LOG_LEVEL_WARN
				    ? cli->conf.log_level
				    : LOG_LEVEL_WARN);
	set_actor(cli);
	cli->ox.conf = &cli->conf;
	cli->ox.change.actor = cli->actor;
	cli->ox.change.ticket = cli->ticket ? cli->ticket : "";
	if (c->needs_db &&
	    ops_session_open(&cli->ox, &cli->conf, &cli->err) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct args a; /* large: off the stack */
	struct cli cli = { 0 };
	struct globals g = { 0 };
	const struct verb *c, *row = NULL;
	const char *subject;
	int rc;

	cli.err = (struct error)ERROR_INIT;
	log_init("feedctl", LOG_LEVEL_WARN);
	if (argc == 2 && strcmp(argv[1], "--doc-dump") == 0)
		return doc_dump();
	if ((rc = globals(&cli, argc, argv, &g)) != 0)
		return rc;
	if (g.n == 0) {
		print_help(g.help ? stdout : stderr);
		return g.help ? 0 : 2;
	}
	if ((c = find_verb(g.args[0])) == NULL)
		return usage_error(&cli, NULL, "unknown command '%s'",
				   g.args[0]);
	if (g.help) {
		print_cmd_help(c);
		return 0;
	}
	if (c->fn != cmd_help && cli.ticket != NULL &&
	    actor_check(cli.ticket, "ticket", &cli.err) < 0)
		rc = fail(&cli);
	else
		rc = parse_args(&cli, c, g.n, g.args, &a, &row);
	if (rc != 0) {
		error_release(&cli.err);
		return rc;
	}
	if (row->fn == cmd_help)
		return cmd_help(&cli, &a);
	/* a configuration or database error is about neither argument */
	subject = cli.subject;
	cli.subject = NULL;
	if (open_session(&cli, c) < 0) {
		rc = fail(&cli);
		conf_release(&cli.conf);
		error_release(&cli.err);
		return rc;
	}
	cli.subject = subject;
	rc = row->fn(&cli, &a);
	ops_session_close(&cli.ox);
	conf_release(&cli.conf);
	error_release(&cli.err);
	return rc;
}
