/*
 * mxfeed-policyd - Postfix SMTP access policy delegation for mxfeed
 *
 * mxfeed-policyd -s SNAPSHOT
 *
 * Run by Postfix's spawn(8) per connection (see templates/postfix/
 * master.cf.in): reads policy requests ("name=value" lines ending with
 * an empty line) on stdin and answers "action=..." on stdout, deciding
 * with lib/policy from the generated snapshot only - never the
 * database, so mail keeps flowing by the last good generation while
 * the database is away.  Before every request it checks whether the
 * snapshot file changed (mta-glue swapped generations) and reloads it,
 * keeping the connection; a snapshot that fails to load leaves the old
 * one in force, and with none at all every request is deferred (451).
 * The snapshot is mapped, not read (policy_map): start-up reads its
 * header rows only, every policyd shares the same pages, and a lookup
 * binary-searches the file; what a lookup found stays in a small
 * per-process cache, so a sender regex is compiled once per cached
 * domain, never per request.  A rule skipped or a row found bad at
 * lookup, or a match that hit its limits, is logged to stderr
 * (Postfix's log) as "mxfeed-policyd: ...".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "policy.h"
#include "policyreq.h"
#include "util/log.h"

struct snapshot {
	const char *path;
	struct policy pol;
	bool loaded;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
};

static void refresh(struct snapshot *s)
{
	struct error err = ERROR_INIT;
	struct policy fresh;
	struct stat st;

	if (stat(s->path, &st) < 0)
		return; /* keep what we have */
	if (s->loaded && st.st_dev == s->dev && st.st_ino == s->ino &&
	    st.st_mtim.tv_sec == s->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == s->mtime.tv_nsec)
		return;
	if (policy_map(s->path, &fresh, &err) < 0) {
		log_warn("%s (keeping the previous snapshot)", error_msg(&err));
		error_release(&err);
		return;
	}
	if (s->loaded)
		policy_release(&s->pol);
	s->pol = fresh;
	s->loaded = true;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->mtime = st.st_mtim;
}

int main(int argc, char **argv)
{
	struct snapshot snap = { 0 };
	struct policy_session ss = { "", "" };
	struct policy_attrs attrs = POLICY_ATTRS_INIT;
	char line[POLICY_LINE_MAX + 2];
	int status = 0;

	if (argc != 3 || strcmp(argv[1], "-s") != 0) {
		fputs("usage: mxfeed-policyd -s SNAPSHOT\n"
		      "Postfix policy service for mxfeed; run by spawn(8), "
		      "see master.cf.\n",
		      stderr);
		return 2;
	}
	log_init("mxfeed-policyd", LOG_LEVEL_INFO);
	/* no mxfeed.conf here: the journal wherever it runs */
	log_set_target(LOG_TARGET_AUTO, LOG_LEVEL_NONE);
	snap.path = argv[2];
	refresh(&snap);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		size_t len = strlen(line);
		int rc;

		/* an over-long line, a NUL, no '=': a confused client */
		if (len == 0 || line[len - 1] != '\n' ||
		    (rc = policy_attrs_line(&attrs, line, len - 1)) < 0) {
			status = 1;
			break;
		}
		if (rc == 0)
			continue;
		refresh(&snap);
		if (!snap.loaded) {
			fputs("action=451 4.3.0 Relay configuration not "
			      "available yet, try again later\n\n",
			      stdout);
		} else {
			struct policy_request rq;
			struct strbuf act = STRBUF_INIT;

			policy_attrs_request(&attrs, &rq);
			/* a line about this request names its message */
			log_ctx_set(LOG_F_QUEUE_ID, rq.queue_id);
			policy_decide(&snap.pol, &ss, &rq, &act);
			log_ctx_clear();
			printf("action=%s\n\n", act.buf);
			sbuf_release(&act);
		}
		fflush(stdout);
		policy_attrs_reset(&attrs);
	}
	policy_attrs_reset(&attrs);
	if (snap.loaded)
		policy_release(&snap.pol);
	return status;
}
