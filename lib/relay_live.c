/*
 * relay_live - making a generation live in the running daemons
 *
 * See relay.h and relay_int.h.  Postfix reload (and status), rspamd's
 * HUP with the wait until it judges by the new generation's stamp,
 * Dovecot's reload and postgrey's restart (lib/postgrey), each only
 * when its configuration changed.
 */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "postgrey.h"
#include "relay_int.h"
#include "util/httpc.h"
#include "util/log.h"

/* how long rspamd may take to judge by a new generation (its workers
 * restart after a HUP) before the apply counts as failed */
#define RSPAMD_LIVE_S 15

/* rspamd's pid from scanner.rspamd_pid, or 0 when it does not run. */
static pid_t rspamd_pid(const struct conf *conf)
{
	char buf[32];
	ssize_t n;
	long pid;
	int fd = open(conf->scanner_rspamd_pid, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid <= 1 || pid > INT_MAX || kill((pid_t)pid, 0) < 0)
		return 0;
	return (pid_t)pid;
}

/*
 * The generation rspamd judges by, from one scan through its normal
 * worker (the Lua tags every scan "gen=NAME"): 1 when it is name, 0
 * when it is another or none, -1 when rspamd did not answer.
 */
static int rspamd_judges_by(const struct conf *conf, const char *name,
			    struct strbuf *seen, struct error *err)
{
	static const char msg[] = "From: <mxfeed@localhost>\r\n"
				  "Subject: mxfeed generation check\r\n"
				  "\r\n"
				  "check\r\n";
	char url[300], want[128];
	struct strbuf reply = STRBUF_INIT;
	struct httpc_req rq = { url,  NULL, msg,      sizeof(msg) - 1,
				1000, 3000, 64 * 1024 };
	json_t *j, *opts, *o;
	size_t i;
	long status;
	int rc = 0;

	(void)snprintf(url, sizeof(url), "http://%s/checkv2",
		       conf->scanner_normal);
	(void)snprintf(want, sizeof(want), "gen=%s", name);
	if (httpc_post(&rq, &status, &reply, err) < 0) {
		sbuf_release(&reply);
		return -1;
	}
	j = status == 200 ? json_loadb(reply.buf, reply.len, 0, NULL) : NULL;
	opts = json_object_get(
		json_object_get(json_object_get(j, "symbols"), "MXFEED_POLICY"),
		"options");
	sbuf_reset(seen);
	json_array_foreach(opts, i, o)
	{
		const char *v = json_string_value(o);

		if (v == NULL || strncmp(v, "gen=", 4) != 0)
			continue;
		sbuf_addstr(seen, v + 4);
		rc = strcmp(v, want) == 0;
	}
	json_decref(j);
	sbuf_release(&reply);
	return rc;
}

/*
 * rspamd judges by generation name: HUP it first when its own
 * configuration changed (its workers restart on it), then scan until
 * the answer names the generation.  Not running: nothing serves an
 * older one, and it reads current when it starts.
 */
static int rspamd_live(const struct conf *conf, const char *name, bool reload,
		       struct error *err)
{
	struct strbuf seen = STRBUF_INIT, last = STRBUF_INIT;
	struct timespec now, end;
	pid_t pid = rspamd_pid(conf);
	int r;

	if (pid == 0)
		return 0;
	if (reload)
		(void)kill(pid, SIGHUP);
	(void)clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += RSPAMD_LIVE_S;
	for (;;) {
		struct error e = ERROR_INIT;

		r = rspamd_judges_by(conf, name, &seen, &e);
		if (r < 0) {
			sbuf_reset(&last);
			sbuf_addstr(&last, error_msg(&e));
		}
		error_release(&e);
		if (r == 1)
			break;
		(void)clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec >= end.tv_sec)
			break;
		(void)nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 },
				NULL);
	}
	if (r == 0)
		error_set(err, ERR_INTERNAL, NULL,
			  "rspamd did not take generation %s within %d s (it "
			  "judges by %s)",
			  name, RSPAMD_LIVE_S, seen.len ? seen.buf : "none");
	else if (r < 0)
		error_set(err, ERR_INTERNAL, NULL,
			  "rspamd did not take generation %s within %d s: %s",
			  name, RSPAMD_LIVE_S, last.buf);
	sbuf_release(&seen);
	sbuf_release(&last);
	return r == 1 ? 0 : -1;
}

/* Dovecot's master runs (its pid file names a live process). */
static bool dovecot_running(const struct conf *conf)
{
	char path[PATH_MAX], buf[32];
	ssize_t n;
	long pid;
	int fd;

	if (snprintf(path, sizeof(path), "%s/dovecot-run/master.pid",
		     conf->state_dir) >= (int)sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	return pid > 1 && pid <= INT_MAX && kill((pid_t)pid, 0) == 0;
}

/*
 * Every running daemon the generation drives serves it: Postfix
 * reloaded, rspamd judging by it (checked by a scan), Dovecot reloaded
 * when its configuration changed, postgrey restarted by greylist.restart
 * and greylisting by the new delay when its options changed.  Only then
 * may the relay report it.
 */
int relay_make_live(const struct conf *conf, const char *name, bool postfix_new,
		    bool rspamd_new, bool dovecot_new, bool postgrey_new,
		    struct error *err)
{
	if (!postfix_new)
		log_info("generation %s: main.cf, master.cf and the maps as "
			 "before; no postfix reload",
			 name);
	else if (relay_postfix_running(conf) &&
		 relay_postfix(conf, "reload", err) < 0)
		return -1;
	if (rspamd_live(conf, name, rspamd_new, err) < 0)
		return -1;
	if (dovecot_new && dovecot_running(conf)) {
		char dc[PATH_MAX];
		const char *argv[] = { "dovecot", "-c", dc, "reload", NULL };

		if (relay_path_of(dc, conf->state_dir,
				  "current/dovecot/dovecot.conf", err) < 0 ||
		    relay_run(argv, "dovecot reload", err) < 0)
			return -1;
	}
	if (postgrey_new) {
		char args[PATH_MAX];

		if (relay_path_of(args, conf->state_dir,
				  "current/postgrey.args", err) < 0 ||
		    postgrey_follow(conf, args, err) < 0)
			return -1;
	}
	return 0;
}

bool relay_postfix_running(const struct conf *conf)
{
	char cur[PATH_MAX];
	const char *argv[] = { "postfix", "-c", cur, "status", NULL };
	struct error e = ERROR_INIT;
	int rc;

	if (snprintf(cur, sizeof(cur), "%s/current", conf->state_dir) >=
	    (int)sizeof(cur))
		return false;
	rc = relay_run(argv, "postfix status", &e);
	error_release(&e);
	return rc == 0;
}

int relay_postfix(const struct conf *conf, const char *verb, struct error *err)
{
	char cur[PATH_MAX], what[64];
	const char *argv[] = { "postfix", "-c", cur, verb, NULL };

	if (relay_path_of(cur, conf->state_dir, "current", err) < 0)
		return -1;
	(void)snprintf(what, sizeof(what), "postfix %s", verb);
	return relay_run(argv, what, err);
}
