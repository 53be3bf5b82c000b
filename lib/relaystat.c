/*
 * relaystat - the relay's metrics file for node_exporter
 *
 * See relaystat.h.  The text is built by lib/metrics.c's writer, so
 * escaping and layout are those of GET /metrics.  The file is not
 * fsync'ed: it is rewritten every few seconds and a reader only ever
 * sees a whole old or a whole new one (rename), which is all a scrape
 * needs.
 */
#include "relaystat.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "util/atomicfile.h"
#include "util/log.h"

#define CONNECT_TIMEOUT_MS 500

static const char *const job_states[] = { "pending", "running", "done",
					  "failed", NULL };

void relaystat_applied(struct relaystat *st, double seconds)
{
	st->applies++;
	st->last_apply_s = seconds;
	st->last_apply_at = (int64_t)time(NULL);
}

void relaystat_failed(struct relaystat *st)
{
	st->apply_failures++;
}

static void gauge(struct strbuf *out, const char *name, const char *help,
		  const char *value)
{
	metrics_family(out, name, "gauge", help);
	metrics_sample(out, name, NULL, value);
}

static void gauge_i64(struct strbuf *out, const char *name, const char *help,
		      int64_t v)
{
	char t[24];

	(void)snprintf(t, sizeof(t), "%" PRId64, v);
	gauge(out, name, help, t);
}

static void counter(struct strbuf *out, const char *name, const char *help,
		    uint64_t v)
{
	metrics_family(out, name, "counter", help);
	metrics_sample_u64(out, name, NULL, v);
}

static void render_queue(struct strbuf *out, const struct relaystat_sample *x)
{
	const char *name = "mxfeed_relay_queue_messages";

	gauge_i64(out, "mxfeed_relay_queue_up",
		  "1 if postqueue could be read, else 0.", x->queue_ok ? 1 : 0);
	if (!x->queue_ok)
		return;
	metrics_family(out, name, "gauge",
		       "Messages in the relay's Postfix queue, by queue.");
	metrics_sample_u64(out, name,
			   (const char *const[]){ "queue", "active", NULL },
			   x->queue.active);
	metrics_sample_u64(out, name,
			   (const char *const[]){ "queue", "deferred", NULL },
			   x->queue.deferred);
	metrics_sample_u64(out, name,
			   (const char *const[]){ "queue", "hold", NULL },
			   x->queue.hold);
	metrics_sample_u64(out, name,
			   (const char *const[]){ "queue", "other", NULL },
			   x->queue.other);
}

static void render_jobs(struct strbuf *out, const json_t *jobs)
{
	const char *name = "mxfeed_jobs";
	size_t i, k;
	const json_t *j;

	if (jobs == NULL)
		return;
	metrics_family(out, name, "gauge", "Mailbox jobs, by state.");
	for (i = 0; job_states[i]; i++) {
		uint64_t n = 0;

		json_array_foreach(jobs, k, j)
		{
			const char *s =
				json_string_value(json_object_get(j, "state"));

			if (s != NULL && strcmp(s, job_states[i]) == 0)
				n = (uint64_t)json_integer_value(
					json_object_get(j, "count"));
		}
		metrics_sample_u64(
			out, name,
			(const char *const[]){ "state", job_states[i], NULL },
			n);
	}
}

void relaystat_render(struct strbuf *out, const struct relaystat *st,
		      const struct relaystat_sample *x)
{
	const char *sc = "mxfeed_relay_scanner_up";
	char t[32];

	metrics_family(out, "mxfeed_relay_info", "gauge",
		       "This relay's name (relay.name).");
	metrics_sample(out, "mxfeed_relay_info",
		       (const char *const[]){ "relay", x->relay, NULL }, "1");
	gauge_i64(out, "mxfeed_relay_applied_sequence",
		  "The change sequence the relay serves.", x->applied);
	gauge_i64(out, "mxfeed_relay_database_sequence",
		  "The newest change sequence in the database.", x->want);
	gauge_i64(out, "mxfeed_relay_lag_changes",
		  "Changes the relay is behind the database.",
		  x->want > x->applied ? x->want - x->applied : 0);
	(void)snprintf(t, sizeof(t), "%.3f", st->last_apply_s);
	gauge(out, "mxfeed_relay_last_apply_seconds",
	      "How long the last successful apply took.", t);
	gauge_i64(out, "mxfeed_relay_last_apply_timestamp_seconds",
		  "When the last successful apply ended (0: none since the "
		  "start).",
		  st->last_apply_at);
	counter(out, "mxfeed_relay_applies_total",
		"Successful applies since mta-glue sync started.", st->applies);
	counter(out, "mxfeed_relay_apply_failures_total",
		"Failed applies since mta-glue sync started.",
		st->apply_failures);
	render_queue(out, x);
	render_jobs(out, x->jobs);
	metrics_family(out, sc, "gauge",
		       "1 if the scanner accepts a TCP connection, else 0.");
	metrics_sample(out, sc,
		       (const char *const[]){ "scanner", "rspamd", NULL },
		       x->rspamd_up ? "1" : "0");
	metrics_sample(out, sc,
		       (const char *const[]){ "scanner", "clamd", NULL },
		       x->clamd_up ? "1" : "0");
	gauge_i64(out, "mxfeed_relay_metrics_timestamp_seconds",
		  "When this file was written.", x->now);
}

int relaystat_write(const char *path, const struct strbuf *text,
		    struct error *err)
{
	/* node_exporter runs as its own user */
	return atomic_write(path, text->buf, text->len, 0644, ATOMIC_NO_SYNC,
			    err);
}

/* Does HOST:PORT (or [V6]:PORT) accept a TCP connection, soon? */
static bool reachable(const char *hostport)
{
	char host[256];
	const char *colon = hostport ? strrchr(hostport, ':') : NULL;
	const char *h = hostport;
	struct addrinfo hints, *res = NULL;
	size_t len;
	bool up = false;
	int fd;

	if (colon == NULL)
		return false;
	len = (size_t)(colon - hostport);
	if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
		h++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(host))
		return false;
	memcpy(host, h, len);
	host[len] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return false;
	fd = socket(res->ai_family,
		    res->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0) {
		if (connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
			up = true;
		} else if (errno == EINPROGRESS) {
			struct pollfd p = { fd, POLLOUT, 0 };
			int e = 0;
			socklen_t el = sizeof(e);

			up = poll(&p, 1, CONNECT_TIMEOUT_MS) == 1 &&
			     getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) ==
				     0 &&
			     e == 0;
		}
		close(fd);
	}
	freeaddrinfo(res);
	return up;
}

static int64_t mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec;
}

void relaystat_turn(struct relaystat *st, struct store *s,
		    const struct conf *conf, int64_t applied, int64_t want)
{
	struct relaystat_sample x = { 0 };
	struct strbuf text = STRBUF_INIT;
	struct error err = ERROR_INIT;
	char path[PATH_MAX];
	json_t *jobs = NULL;

	if (st->last_write != 0 &&
	    mono_s() - st->last_write < RELAYSTAT_EVERY_S)
		return;
	st->last_write = mono_s();
	if (snprintf(path, sizeof(path), "%s/%s", conf->state_dir,
		     RELAYSTAT_FILE) >= (int)sizeof(path))
		return;
	x.relay = conf->relay_name;
	x.applied = applied;
	x.want = want;
	if (st->last_queue == 0 ||
	    mono_s() - st->last_queue >= RELAYSTAT_QUEUE_S) {
		st->last_queue = mono_s();
		st->queue_ok = queue_count(conf, &st->queue, &err) == 0;
		error_clear(&err);
	}
	x.queue_ok = st->queue_ok;
	x.queue = st->queue;
	if (s != NULL && (jobs = store_job_counts(s, &err)) == NULL)
		error_clear(&err);
	x.jobs = jobs;
	x.rspamd_up = reachable(conf->scanner_normal);
	x.clamd_up = reachable(conf->scanner_clamd);
	x.now = (int64_t)time(NULL);
	relaystat_render(&text, st, &x);
	if (relaystat_write(path, &text, &err) < 0)
		log_warn("sync: metrics: %s", error_msg(&err));
	json_decref(jobs);
	sbuf_release(&text);
	error_release(&err);
}
