/*
 * postgrey - the relay's greylisting daemon follows the generation
 *
 * See postgrey.h.  The policy protocol is Postfix's: "name=value"
 * lines ended by an empty line, answered by "action=..." and an empty
 * line; one request per connection here.
 */
#include "postgrey.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "util/spawn.h"
#include "util/strbuf.h"

#define ASK_TIMEOUT_S 2
#define STR_(x)	      #x
#define STR(x)	      STR_(x)
#define REPLY_MAX     4096

/* "HOST:PORT", "[V6]:PORT" or "PORT" (postgrey: localhost) */
static int split_inet(const char *inet, char *host, size_t hn, char *port,
		      size_t pn)
{
	const char *colon = strrchr(inet, ':');
	const char *h = inet;
	size_t len;

	if (colon == NULL) {
		if (strlen(inet) >= pn ||
		    strlcpy_checked(host, "127.0.0.1", hn) < 0)
			return -1;
		memcpy(port, inet, strlen(inet) + 1);
		return 0;
	}
	len = (size_t)(colon - inet);
	if (len >= 2 && inet[0] == '[' && inet[len - 1] == ']') {
		h++;
		len -= 2;
	}
	if (len == 0 || len >= hn || strlen(colon + 1) >= pn ||
	    colon[1] == '\0')
		return -1;
	memcpy(host, h, len);
	host[len] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

static int connect_to(const char *inet, struct error *err)
{
	char host[256], port[16];
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv = { ASK_TIMEOUT_S, 0 };
	int fd = -1, e = 0, gai;

	if (split_inet(inet, host, sizeof(host), port, sizeof(port)) < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "postgrey's --inet=%s: want HOST:PORT", inet);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0)
		return error_set(err, ERR_INTERNAL, NULL, "postgrey at %s: %s",
				 inet, gai_strerror(gai));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = errno;
			continue;
		}
		/* Linux bounds connect() by the send timeout too */
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "postgrey at %s: connect: %s", inet,
				 strerror(e));
	return fd;
}

/*
 * Ask about one triplet as of time now: 1 greylisted, 0 passed, -1 no
 * answer.
 */
static int ask(const char *inet, const char *client, const char *rcpt,
	       long long now, struct error *err)
{
	struct strbuf rq = STRBUF_INIT, reply = STRBUF_INIT;
	const char *act;
	size_t off = 0;
	int fd, rc = -1;

	if ((fd = connect_to(inet, err)) < 0)
		return -1;
	sbuf_addf(&rq,
		  "request=smtpd_access_policy\n"
		  "protocol_state=RCPT\n"
		  "protocol_name=ESMTP\n"
		  "client_address=%s\n"
		  "client_name=unknown\n"
		  "reverse_client_name=unknown\n"
		  "helo_name=check.mxfeed.invalid\n"
		  "sender=check@mxfeed.invalid\n"
		  "recipient=%s\n"
		  "policy_test_time=%lld\n"
		  "\n",
		  client, rcpt, now);
	while (off < rq.len) {
		ssize_t n = write(fd, rq.buf + off, rq.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			error_set(err, ERR_INTERNAL, NULL,
				  "postgrey at %s: write: %s", inet,
				  strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	while (strstr(reply.buf, "\n\n") == NULL && reply.len < REPLY_MAX) {
		char buf[512];
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			error_set(err, ERR_INTERNAL, NULL,
				  "postgrey at %s: no answer: %s", inet,
				  n == 0 ? "connection closed"
					 : strerror(errno));
			goto out;
		}
		sbuf_add(&reply, buf, (size_t)n);
	}
	act = strncmp(reply.buf, "action=", 7) == 0
		      ? reply.buf
		      : strstr(reply.buf, "\naction=");
	if (act == NULL) {
		error_set(err, ERR_INTERNAL, NULL,
			  "postgrey at %s: an answer without action=", inet);
		goto out;
	}
	act += act[0] == '\n' ? 8 : 7;
	rc = !(strncasecmp(act, "DUNNO", 5) == 0 ||
	       strncasecmp(act, "PREPEND", 7) == 0 ||
	       strncasecmp(act, "OK", 2) == 0);
out:
	close(fd);
	sbuf_release(&rq);
	sbuf_release(&reply);
	return rc;
}

int postgrey_check(const char *inet, int delay, struct error *err)
{
	unsigned char r[10];
	char client[64], rcpt[96];
	long long t = (long long)time(NULL);
	int a;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return error_set(err, ERR_INTERNAL, NULL,
				 "no random bytes for the postgrey check");
	/* a /64 of its own: postgrey looks triplets up by subnet */
	(void)snprintf(client, sizeof(client), "2001:db8:%x:%x:%x::1",
		       r[0] << 8 | r[1], r[2] << 8 | r[3], r[4] << 8 | r[5]);
	(void)snprintf(rcpt, sizeof(rcpt),
		       "check-%02x%02x%02x%02x@mxfeed.invalid", r[6], r[7],
		       r[8], r[9]);
	a = ask(inet, client, rcpt, t, err);
	if (a == 0)
		error_set(err, ERR_INTERNAL, NULL,
			  "it passed a new triplet at once (whitelisted?)");
	if (a != 1)
		return a;
	a = ask(inet, client, rcpt, t + delay - 1, err);
	if (a == 0)
		error_set(err, ERR_INTERNAL, NULL,
			  "a triplet passed after %d s: it greylists for less "
			  "than %d s",
			  delay - 1, delay);
	if (a != 1)
		return a;
	a = ask(inet, client, rcpt, t + delay, err);
	if (a == 1)
		error_set(err, ERR_INTERNAL, NULL,
			  "a triplet still greylisted after %d s: it "
			  "greylists for longer",
			  delay);
	if (a != 0)
		return a == 1 ? 0 : -1;
	return 1;
}

/* --inet= and --delay= of a generation's postgrey.args */
static int read_args(const char *path, char *inet, size_t size, int *delay,
		     struct error *err)
{
	char buf[1024], *tok, *save = NULL;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return error_set(err, ERR_INTERNAL, NULL, "cannot read %s: %s",
				 path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return error_set(err, ERR_INTERNAL, NULL, "%s is empty", path);
	buf[n] = '\0';
	inet[0] = '\0';
	*delay = 0;
	for (tok = strtok_r(buf, " \t\n", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (strncmp(tok, "--inet=", 7) == 0 &&
		    strlcpy_checked(inet, tok + 7, size) < 0)
			inet[0] = '\0';
		else if (strncmp(tok, "--delay=", 8) == 0)
			*delay = (int)strtol(tok + 8, NULL, 10);
	}
	if (inet[0] == '\0' || *delay < 1)
		return error_set(err, ERR_INTERNAL, NULL,
				 "%s lacks --inet= or --delay=", path);
	return 0;
}

int postgrey_follow(const struct conf *conf, const char *args_path,
		    struct error *err)
{
	const char *argv[CONF_ARGV_MAX + 5];
	char inet[300];
	struct strbuf out = STRBUF_INIT, msg = STRBUF_INIT, last = STRBUF_INIT;
	struct timespec now, end;
	int status = 0, delay = 0, r, rc = -1;
	size_t i;

	if (conf->greylist_restart[0] == NULL)
		return error_set(err, ERR_INTERNAL, "greylist.restart",
				 "postgrey's options changed but "
				 "greylist.restart is not set in %s: postgrey "
				 "would greylist by the old ones",
				 conf->path[0] ? conf->path : "mxfeed.conf");
	if (read_args(args_path, inet, sizeof(inet), &delay, err) < 0)
		return -1;
	argv[0] = "/usr/bin/timeout";
	argv[1] = "--kill-after=5";
	argv[2] = STR(POSTGREY_RESTART_S);
	for (i = 0; conf->greylist_restart[i] != NULL; i++)
		argv[i + 3] = conf->greylist_restart[i];
	argv[i + 3] = NULL;
	if (spawn_run(argv, &out, SPAWN_OUT_MAX, &status, err) < 0)
		goto out;
	if (status != 0) {
		spawn_summary(&out, &msg);
		if (status == 124 || status == 137)
			error_set(err, ERR_INTERNAL, NULL,
				  "greylist.restart (%s) did not finish "
				  "within %d s",
				  conf->greylist_restart[0],
				  POSTGREY_RESTART_S);
		else
			error_set(err, ERR_INTERNAL, NULL,
				  "greylist.restart (%s) failed (exit %d): %s",
				  conf->greylist_restart[0], status, msg.buf);
		goto out;
	}
	(void)clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += POSTGREY_LIVE_S;
	for (;;) {
		struct error e = ERROR_INIT;

		r = postgrey_check(inet, delay, &e);
		if (r != 1) {
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
	if (r != 1) {
		error_set(err, ERR_INTERNAL, NULL,
			  "postgrey at %s did not take --delay=%d within %d s "
			  "after greylist.restart: %s",
			  inet, delay, POSTGREY_LIVE_S, last.buf);
		goto out;
	}
	rc = 0;
out:
	sbuf_release(&out);
	sbuf_release(&msg);
	sbuf_release(&last);
	return rc;
}
