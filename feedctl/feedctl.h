/*
 * feedctl.h - what feedctl's parts share: the invocation, the grammar
 * rows, the parsed arguments, the printers and the error paths
 *
 * The grammar (grammar.c) is one table: a row per verb (and per
 * sub-command) names its options, how many arguments it takes and the
 * handler.  parse_args() fills a struct args from a row, so a handler
 * starts from typed, bounded values and never reads argv itself; the
 * usage lines, the help and "feedctl --doc-dump" (man pages, bash
 * completion) come from the same rows.
 */
#ifndef MXFEED_FEEDCTL_H
#define MXFEED_FEEDCTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "conf.h"
#include "model.h"
#include "ops.h"
#include "util/error.h"
#include "util/strbuf.h"

#define ARGS_MAX 256

struct cli {
	const char *conf_path;
	bool json;
	const char *ticket;
	char actor[ACTOR_MAX + 1];
	const char *subject; /* what an error message is about */
	struct conf conf;
	struct ops_ctx ox;
	struct error err;
};

/* Every option of every verb; a row lists the ones it takes. */
enum opt_id {
	OPT_NONE,
	OPT_ALL_DOMAINS,
	OPT_BOUNCE_QUEUE,
	OPT_CATCH_ALL,
	OPT_CONFIRM,
	OPT_DAYS,
	OPT_DEST,
	OPT_DOMAIN,
	OPT_DRY_RUN,
	OPT_EXPIRES_DAYS,
	OPT_FILE,
	OPT_FORCE,
	OPT_FROM_QUEUE,
	OPT_HAND_OVER,
	OPT_IF_VERSION,
	OPT_KEEP_DAYS,
	OPT_MAILBOX,
	OPT_MAILBOXES,
	OPT_MATCH,
	OPT_MAX_AGE,
	OPT_MESSAGE_ID,
	OPT_MODE,
	OPT_ROLE,
	OPT_SINCE,
	OPT_TO,
	OPT_UNTIL,
	OPT_COUNT
};

/* One option's value after parsing. */
struct optval {
	bool set;
	const char *text;     /* the last one given (OT_TEXT, OT_INT) */
	long n;		      /* OT_INT: within the option's bounds */
	char *list[ARGS_MAX]; /* OT_LIST: every one given, in order */
	size_t nlist;
};

struct args {
	const char *verb, *sub; /* sub: the sub-command, or NULL */
	char *pos[ARGS_MAX];	/* the arguments that are not options */
	size_t npos;
	struct optval v[OPT_COUNT];
};

/* An option as one row takes it. */
struct verb_opt {
	enum opt_id id;
	const char *missing;  /* usage text when its value is missing, or
				 NULL: "--NAME needs a value" */
	const char *required; /* usage text when it is absent, or NULL */
};

#define V_NO_DASH  1u /* the first argument may not start with '-' */
#define V_SETTINGS 2u /* the help lists the settings (fields.def) */

struct verb {
	const char *name;
	int (*fn)(struct cli *cli, const struct args *a);
	bool needs_db;
	const char *usage; /* verbs only: the synopsis */
	const char *help;  /* verbs only */
	/*
	 * Arguments.  Without opts (NULL) every word is an argument and
	 * there must be min..max of them, else few_msg (or many_msg).
	 * With opts the first min words are the arguments, the rest are
	 * options and at most max - min further arguments; a word left
	 * over is "unexpected argument" (or "unknown option" when the
	 * verb takes further arguments).  "%s" in a message: the
	 * sub-command.  max < 0: no limit.
	 */
	int min, max;
	const char *few_msg, *many_msg;
	const struct verb_opt *opts;
	unsigned flags;
	int subject; /* the argument errors are about (1-based), or 0 */
	/* sub-commands: the first word picks one of these rows */
	const struct verb *subs;
	const char *badsub_msg; /* NULL: "unknown sub-command '%s'" */
};

extern const struct verb verbs[];

const struct verb *find_verb(const char *name);
/* Fill a from row v and argv (argv[0] the verb); the exit status of a
 * refused command line (2), or 0 with *row the row that runs. */
int parse_args(struct cli *cli, const struct verb *v, int argc, char **argv,
	       struct args *a, const struct verb **row);
/* The usage of each verb names exactly the options its rows take:
 * 0, or 1 with the differences on stderr. */
int grammar_check(void);
int usage_error(struct cli *cli, const char *verb, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Print err about the current subject; return the exit status. */
int fail(struct cli *cli);

/* help.c */
void print_help(FILE *fp);
void print_cmd_help(const struct verb *c);
int doc_dump(void);
int cmd_help(struct cli *cli, const struct args *a);

/* print.c */
struct column {
	const char *key;
	const char *title;
};
void print_json(const json_t *j);
void cell_text(const json_t *v, struct strbuf *out);
void print_table(const json_t *rows, const struct column *cols);
void print_domain_json(const struct domain *d, const struct propagation *p);
void print_passwords(struct cli *cli, const json_t *list);
void print_relay_states(const json_t *relays, const char *ok);
/* a JSON object of the pairs given, printed and freed */
void print_json_new(json_t *o);

/* the verbs: cmd_domain.c */
int cmd_list(struct cli *cli, const struct args *a);
int cmd_show(struct cli *cli, const struct args *a);
int cmd_add(struct cli *cli, const struct args *a);
int cmd_set(struct cli *cli, const struct args *a);
int cmd_remove(struct cli *cli, const struct args *a);
int cmd_history(struct cli *cli, const struct args *a);
int cmd_apply(struct cli *cli, const struct args *a);
/* cmd_switch.c */
int cmd_switch(struct cli *cli, const struct args *a);
int cmd_temp_pop3(struct cli *cli, const struct args *a);
int cmd_revert(struct cli *cli, const struct args *a);
int cmd_extend(struct cli *cli, const struct args *a);
int dry_run(struct cli *cli, const char *name, const struct sp_req *req);
/* cmd_queue.c */
int cmd_queue(struct cli *cli, const struct args *a);
int cmd_flush(struct cli *cli, const struct args *a);
int cmd_probe(struct cli *cli, const struct args *a);
int cmd_quarantine(struct cli *cli, const struct args *a);
int cmd_trace(struct cli *cli, const struct args *a);
/* cmd_relay.c */
int cmd_relays(struct cli *cli, const struct args *a);
int cmd_relay(struct cli *cli, const struct args *a);
int cmd_relay_drain(struct cli *cli, const struct args *a);
int cmd_jobs(struct cli *cli, const struct args *a);
/* cmd_admin.c */
int cmd_mailbox_list(struct cli *cli, const struct args *a);
int cmd_mailbox_add(struct cli *cli, const struct args *a);
int cmd_mailbox_passwd(struct cli *cli, const struct args *a);
int cmd_mailbox_remove(struct cli *cli, const struct args *a);
int cmd_rule_list(struct cli *cli, const struct args *a);
int cmd_rule_change(struct cli *cli, const struct args *a);
int cmd_token_list(struct cli *cli, const struct args *a);
int cmd_token_create(struct cli *cli, const struct args *a);
int cmd_token_revoke(struct cli *cli, const struct args *a);
int cmd_staff_list(struct cli *cli, const struct args *a);
int cmd_staff_change(struct cli *cli, const struct args *a);
int cmd_staff_remove(struct cli *cli, const struct args *a);
int cmd_db(struct cli *cli, const struct args *a);

#endif
