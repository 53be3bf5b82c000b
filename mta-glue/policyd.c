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
 *
 * The client's bytes are read as they come, several lines a read(2),
 * and cut into lines by lib/policyreq; each answer is one write(2).  A
 * line longer than POLICY_LINE_MAX, one with a NUL or without '=', or
 * one the client cuts by closing, ends the connection (exit 1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "policyreq.h"
#include "util/fdio.h"
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

/* One request's answer, "action=...\n\n", written at once. */
static void answer(struct snapshot *s, struct policy_session *ss,
		   const struct policy_attrs *attrs, struct strbuf *out)
{
	struct policy_request rq;

	sbuf_reset(out);
	sbuf_addstr(out, "action=");
	if (!s->loaded) {
		sbuf_addstr(out, "451 4.3.0 Relay configuration not "
				 "available yet, try again later");
	} else {
		policy_attrs_request(attrs, &rq);
		/* a line about this request names its message */
		log_ctx_set(LOG_F_QUEUE_ID, rq.queue_id);
		policy_decide(&s->pol, ss, &rq, out);
		log_ctx_clear();
	}
	sbuf_addstr(out, "\n\n");
	(void)!fd_write_all(STDOUT_FILENO, out->buf, out->len);
}

int main(int argc, char **argv)
{
	struct snapshot snap = { 0 };
	struct policy_session ss = { "", "" };
	struct policy_attrs attrs = POLICY_ATTRS_INIT;
	struct strbuf out = STRBUF_INIT;
	/* room for a line begun (at most POLICY_LINE_MAX) and a read */
	char in[4 * (POLICY_LINE_MAX + 1)];
	size_t start = 0, end = 0, used;
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
	for (;;) {
		ssize_t n;
		/* an over-long line, a NUL, no '=': a confused client */
		int rc = policy_attrs_feed(&attrs, in + start, end - start,
					   &used);

		start += used;
		if (rc < 0) {
			status = 1;
			break;
		}
		if (rc == 1) {
			refresh(&snap);
			answer(&snap, &ss, &attrs, &out);
			policy_attrs_reset(&attrs);
			continue;
		}
		/* only a line begun is left: keep it, read what follows */
		memmove(in, in + start, end - start);
		end -= start;
		start = 0;
		n = read(STDIN_FILENO, in + end, sizeof(in) - end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* the client is gone; a line it cut is confused */
			if (end > 0)
				status = 1;
			break;
		}
		end += (size_t)n;
	}
	sbuf_release(&out);
	if (snap.loaded)
		policy_release(&snap.pol);
	return status;
}
