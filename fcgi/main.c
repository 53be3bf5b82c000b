/*
 * mxfeed-fcgi - the FastCGI service behind nginx: JSON API and portal
 *
 * mxfeed-fcgi [-c FILE] [--listen unix:PATH|HOST:PORT] [--workers N]
 *
 * A fixed pool of threads shares one listening socket; each thread
 * accepts under a mutex (FCGX_Accept_r), owns one PostgreSQL connection
 * and answers one request at a time.  Threads rather than processes:
 * the connection, not the address space, is the per-worker cost, and a
 * thread's share of the resident set stays small (see bench/).
 *
 * Promises: a request never ends the process; a body over 64 KiB gets
 * 413 before it is read; while the database is down every request that
 * needs it gets 503 problem+json with Retry-After, and the next request
 * after the database is back is served without a restart; every
 * response carries Cache-Control: no-store and X-Request-Id; one access
 * log line per request, client text escaped (to the journal, or to
 * stderr in batches that lose nothing on exit or crash: see "the
 * access log" below and lib/util/alog.h).
 * SIGTERM/SIGINT: stop accepting, finish the requests in flight, exit.
 *
 * Peers: MXFEED_STAFF_USER is trusted because only nginx may connect.
 * Each accepted connection's peer (SO_PEERCRED) must be root, the
 * service's own user, or a user or primary group fcgi.peers names;
 * any other is closed unanswered with a warning in the log, whatever
 * the socket's mode (a wrong setup fails closed).  A TCP listener
 * cannot tell its peers apart and needs fcgi.peers = [ "any" ].
 * The check itself: lib/util/peercred.
 */
#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <curl/curl.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "domain_json.h"
#include "fcgi.h"
#include "probegate.h"
#include "metrics.h"
#include "util/alog.h"
#include "util/http.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/peercred.h"

static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t stopping;
static int listen_fd = -1;

/* who may connect besides root and our own uid (fcgi.peers) */
static struct peercred peers;
_Static_assert(CONF_DNSBL_MAX <= PEERCRED_MAX, "fcgi.peers fits a peercred");

/* Resolve fcgi.peers (before any thread: getpwnam is not reentrant). */
static int peers_setup(const struct conf *c, const char *listen_spec)
{
	struct error err = ERROR_INIT;
	int i;

	for (i = 0; i < c->fcgi_peers.n; i++)
		if (peercred_add(&peers, c->fcgi_peers.v[i], &err) < 0) {
			fprintf(stderr, "mxfeed-fcgi: %s: fcgi.peers: %s\n",
				c->path, error_msg(&err));
			error_release(&err);
			return -1;
		}
	if (strncmp(listen_spec, "unix:", 5) != 0 && !peers.any) {
		fprintf(stderr,
			"mxfeed-fcgi: listen %s: mxfeed-fcgi cannot check who "
			"connects over TCP; listen on unix:PATH, or set "
			"fcgi.peers = [ \"any\" ] to trust every local "
			"process\n",
			listen_spec);
		return -1;
	}
	return 0;
}

/* Is the peer of this accepted connection one we may serve? */
static bool peer_allowed(int fd, int worker)
{
	char why[160];

	if (peercred_allowed(&peers, fd, why, sizeof(why)))
		return true;
	if (strncmp(why, "from ", 5) == 0)
		log_warn("worker %d: refused a connection %s: not root, not "
			 "this service's user and not in fcgi.peers",
			 worker, why);
	else
		log_warn("worker %d: refused a connection %s", worker, why);
	return false;
}

struct store *worker_store(struct worker *w, struct error *err)
{
	if (w->store == NULL &&
	    store_open(&w->store, w->conf->db_conninfo, w->conf, err) < 0)
		return NULL;
	return w->store;
}

/* ---- one request ------------------------------------------------- */

/*
 * The FastCGI parameters a request uses, read in one pass over the
 * environment (FCGX_GetParam() walks it once per name).  The first of
 * a repeated name wins, as with FCGX_GetParam().
 */
struct fparams {
	const char *method, *uri, *script, *query, *ctype, *auth, *if_match,
		*idem, *ticket, *origin, *host, *scheme, *https, *staff, *addr,
		*clen, *req_id;
};

#define FP(name, m)                                                            \
	{                                                                      \
		name, sizeof(name) - 1, offsetof(struct fparams, m)            \
	}
static const struct {
	const char *name;
	size_t len, off;
} fparam_names[] = {
	FP("REQUEST_METHOD", method),
	FP("DOCUMENT_URI", uri),
	FP("SCRIPT_NAME", script),
	FP("QUERY_STRING", query),
	FP("CONTENT_TYPE", ctype),
	FP("HTTP_AUTHORIZATION", auth),
	FP("HTTP_IF_MATCH", if_match),
	FP("HTTP_IDEMPOTENCY_KEY", idem),
	FP("HTTP_X_TICKET", ticket),
	FP("HTTP_ORIGIN", origin),
	FP("HTTP_HOST", host),
	FP("REQUEST_SCHEME", scheme),
	FP("HTTPS", https),
	FP("MXFEED_STAFF_USER", staff),
	FP("REMOTE_ADDR", addr),
	FP("CONTENT_LENGTH", clen),
	FP("REQUEST_ID", req_id),
};
#undef FP

static void read_params(FCGX_Request *fr, struct fparams *fp)
{
	char **e;
	size_t i;

	memset(fp, 0, sizeof(*fp));
	for (e = fr->envp; e != NULL && *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		size_t n;

		if (eq == NULL)
			continue;
		n = (size_t)(eq - *e);
		for (i = 0; i < sizeof(fparam_names) / sizeof(*fparam_names);
		     i++) {
			const char **dst;

			if (fparam_names[i].len != n ||
			    memcmp(fparam_names[i].name, *e, n) != 0)
				continue;
			dst = (const char **)(void *)((char *)fp +
						      fparam_names[i].off);
			if (*dst == NULL)
				*dst = eq + 1;
			break;
		}
	}
}

static void make_id(struct req *q, const char *nid /* nginx's $request_id */)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[REQ_ID_LEN / 2];
	size_t i;

	if (nid != NULL && strlen(nid) == REQ_ID_LEN &&
	    strspn(nid, hex) == REQ_ID_LEN) {
		memcpy(q->id, nid, REQ_ID_LEN + 1);
		return;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	for (i = 0; i < sizeof(rnd); i++) {
		q->id[2 * i] = hex[rnd[i] >> 4];
		q->id[2 * i + 1] = hex[rnd[i] & 15];
	}
	q->id[REQ_ID_LEN] = '\0';
}

/* Read the body; 413 before reading when it is announced too large. */
static int read_body(struct req *q, FCGX_Request *fr, const char *cl,
		     struct resp *r)
{
	struct error err = ERROR_INIT;
	long len = 0;
	char buf[8192];

	if (cl != NULL && cl[0] != '\0' &&
	    parse_long(cl, 0, 0x7fffffffL, &len, "Content-Length", &err) < 0) {
		resp_problem(r, 400, &err);
		error_release(&err);
		return -1;
	}
	if (len > JSON_BODY_MAX) {
		char msg[96];

		(void)snprintf(msg, sizeof(msg), "request body over %d bytes",
			       JSON_BODY_MAX);
		resp_problem_msg(r, 413, NULL, msg);
		return -1;
	}
	sbuf_init(&q->body, JSON_BODY_MAX);
	while (q->body.len < (size_t)len) {
		size_t want = (size_t)len - q->body.len;
		int n = FCGX_GetStr(
			buf, (int)(want < sizeof(buf) ? want : sizeof(buf)),
			fr->in);

		if (n <= 0)
			break;
		sbuf_add(&q->body, buf, (size_t)n);
	}
	if (q->body.len != (size_t)len) {
		resp_problem_msg(r, 400, NULL, "request body cut short");
		return -1;
	}
	return 0;
}

static void dispatch(struct req *q, struct resp *r)
{
	const char *p = q->path;

	/* metrics labels; api_handle() sets its routes' own */
	if (strncmp(p, "/portal", 7) == 0)
		(void)snprintf(q->route, sizeof(q->route), "/portal/");
	else if (strcmp(p, "/metrics") == 0 || strcmp(p, "/healthz") == 0 ||
		 strcmp(p, "/api/v1/openapi.json") == 0)
		(void)snprintf(q->route, sizeof(q->route), "%s", p);
	if (strcmp(p, "/healthz") == 0)
		health_handle(q, r);
	else if (strcmp(p, "/metrics") == 0)
		metrics_handle(q, r);
	else if (strcmp(p, "/api/v1/openapi.json") == 0)
		openapi_handle(q, r);
	else if (strncmp(p, "/api/v1/", 8) == 0 || strcmp(p, "/api/v1") == 0)
		api_handle(q, r);
	else if (strncmp(p, "/portal/", 8) == 0 || strcmp(p, "/portal") == 0)
		portal_handle(q, r);
	else
		resp_problem_msg(r, 404, NULL, "no such resource");
}

/* the response's fixed lines, gathered for one FCGX_PutStr */
struct head {
	char buf[512];
	size_t n;
};

static void head_add(struct head *h, const char *s)
{
	size_t n = strnlen(s, sizeof(h->buf) - 1 - h->n);

	memcpy(h->buf + h->n, s, n);
	h->n += n;
}

static void write_resp(FCGX_Request *fr, const struct req *q,
		       const struct resp *r)
{
	struct head h = { .n = 0 };
	char code[4];
	int st = r->status >= 100 && r->status <= 999 ? r->status : 500;

	/* one block for the fixed lines, no printf: every answer has them */
	code[0] = (char)('0' + st / 100);
	code[1] = (char)('0' + st / 10 % 10);
	code[2] = (char)('0' + st % 10);
	code[3] = '\0';
	head_add(&h, "Status: ");
	head_add(&h, code);
	head_add(&h, " ");
	head_add(&h, http_reason(st));
	head_add(&h, "\r\n");
	if (r->body.len > 0 || r->status != 204) {
		head_add(&h, "Content-Type: ");
		head_add(&h, r->ctype ? r->ctype : "text/plain; charset=utf-8");
		head_add(&h, "\r\n");
	}
	head_add(&h, "Cache-Control: no-store\r\n"
		     "X-Content-Type-Options: nosniff\r\n"
		     "X-Request-Id: ");
	head_add(&h, q->id);
	head_add(&h, "\r\n");
	FCGX_PutStr(h.buf, (int)h.n, fr->out);
	FCGX_PutStr(r->headers.buf, (int)r->headers.len, fr->out);
	FCGX_PutS("\r\n", fr->out);
	if (r->status != 204 && r->status != 304 &&
	    strcmp(q->method, "HEAD") != 0)
		FCGX_PutStr(r->body.buf, (int)r->body.len, fr->out);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- the access log ---------------------------------------------- */

/*
 * One line per request.  To the journal: an entry each, through
 * log_info() with the request's fields, as every other event.  To
 * stderr (a file, a pipe): batched per worker by lib/util/alog, written
 * after a request when no other connection waits to be accepted (an
 * idle service writes each line before the answer leaves), under load
 * the lines of several requests in one write, and nothing lost on
 * SIGTERM or a crash (see alog.h).
 */
#define ALOG_PREFIX "mxfeed-fcgi: info: " /* as log.c's plain lines */
#define ALOG_MSG    1023		  /* log.c's LINE_MAX_LEN - 1 */

static bool alog_plain; /* buffered to stderr, not log_info() */

static void access_setup(const struct conf *c, int nworkers)
{
	alog_plain = !log_to_journal() && c->log_level <= LOG_LEVEL_INFO;
	alog_setup(nworkers, STDERR_FILENO);
	alog_catch_fatal();
}

/* Is a connection waiting to be accepted? */
static bool conn_waiting(void)
{
	struct pollfd p = { .fd = listen_fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void access_log(const struct req *q, const struct resp *r, double ms)
{
	struct strbuf m = STRBUF_INIT;

	sbuf_addstr(&m, ALOG_PREFIX);
	alog_access_line(&m, q->id, q->method, q->path, r->status, ms, q->actor,
			 r->body.len);
	if (!alog_plain) {
		log_info("%s", m.buf + strlen(ALOG_PREFIX));
	} else {
		/* cut as log.c cuts a line, marked */
		if (m.len > strlen(ALOG_PREFIX) + ALOG_MSG) {
			m.len = strlen(ALOG_PREFIX) + ALOG_MSG;
			sbuf_addstr(&m, "...");
		}
		sbuf_addch(&m, '\n');
		alog_add(q->w->id, m.buf, m.len, !conn_waiting());
	}
	sbuf_release(&m);
}

static void serve(struct worker *w, FCGX_Request *fr)
{
	struct req q = { 0 };
	struct resp r = { 0 };
	struct fparams fp;
	struct timespec t0;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	read_params(fr, &fp);
	q.w = w;
	q.method = fp.method ? fp.method : "GET";
	q.path = fp.uri ? fp.uri : fp.script ? fp.script : "/";
	q.query = fp.query ? fp.query : "";
	q.content_type = fp.ctype;
	q.authorization = fp.auth;
	q.if_match = fp.if_match;
	q.idem_key = fp.idem;
	q.ticket = fp.ticket;
	q.origin = fp.origin;
	q.host = fp.host;
	q.scheme = fp.scheme ? fp.scheme : fp.https ? "https" : "http";
	/* trusted only from the param nginx sets after auth_basic */
	q.remote_user = fp.staff;
	q.body = (struct strbuf)STRBUF_INIT;
	r.headers = (struct strbuf)STRBUF_INIT;
	r.body = (struct strbuf)STRBUF_INIT;
	q.remote_addr = fp.addr;
	make_id(&q, fp.req_id);
	/* every line about this request names it (the journal's fields;
	 * api.c and portal.c add the actor, ticket and domain) */
	log_ctx_clear();
	log_ctx_set(LOG_F_REQUEST_ID, q.id);
	metrics_http_in_flight(1);
	if (read_body(&q, fr, fp.clen, &r) == 0)
		dispatch(&q, &r);
	write_resp(fr, &q, &r);
	ms = ms_since(&t0);
	access_log(&q, &r, ms);
	log_ctx_clear();
	/* a path no route knows is "other": clients make no series */
	metrics_http_observe(q.route[0] ? q.route : "other", r.status,
			     ms / 1e3);
	metrics_http_in_flight(-1);
	sbuf_release(&q.body);
	sbuf_release(&r.headers);
	sbuf_release(&r.body);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	FCGX_Request fr;

	if (FCGX_InitRequest(&fr, listen_fd, 0) != 0) {
		log_error("worker %d: cannot set up a request", w->id);
		return NULL;
	}
	while (!stopping) {
		int rc;

		pthread_mutex_lock(&accept_lock);
		rc = stopping ? -1 : FCGX_Accept_r(&fr);
		pthread_mutex_unlock(&accept_lock);
		if (rc < 0) {
			if (stopping)
				break;
			log_warn("worker %d: accept failed; retrying", w->id);
			(void)usleep(100000);
			continue;
		}
		if (!peer_allowed(fr.ipcFd, w->id)) {
			/* no answer at all: nothing of the request is used */
			(void)shutdown(fr.ipcFd, SHUT_RDWR);
			FCGX_Finish_r(&fr);
			continue;
		}
		serve(w, &fr);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
	alog_flush(w->id);
	auth_cache_release(&w->tokens);
	store_close(w->store);
	w->store = NULL;
	return NULL;
}

/* "unix:PATH" or "HOST:PORT" -> the libfcgi socket spec. */
static int open_listener(const char *spec)
{
	int fd;

	if (strncmp(spec, "unix:", 5) == 0) {
		const char *path = spec + 5;
		mode_t old;

		if (path[0] != '/') {
			log_error("listen: unix:PATH needs an absolute path");
			return -1;
		}
		(void)unlink(path);
		old = umask(0117); /* 0660: nginx's group may connect */
		fd = FCGX_OpenSocket(path, 128);
		umask(old);
	} else if (strchr(spec, ':') != NULL) {
		fd = FCGX_OpenSocket(spec, 128);
	} else {
		log_error("listen: expected unix:PATH or HOST:PORT");
		return -1;
	}
	if (fd < 0)
		log_error("listen: cannot listen on %s", spec);
	return fd;
}

static void usage(FILE *fp)
{
	fputs("usage: mxfeed-fcgi [-c FILE] [--listen unix:PATH|HOST:PORT] "
	      "[--workers N]\n"
	      "\n"
	      "Serve the mxfeed JSON API (/api/v1/, /healthz) and the "
	      "support portal\n"
	      "(/portal/) over FastCGI, for nginx.\n"
	      "\n"
	      "  -c FILE       configuration (default $MXFEED_CONF, else "
	      "/etc/mxfeed/mxfeed.conf)\n"
	      "  --listen L    unix:/run/mxfeed/fcgi.sock or 127.0.0.1:9000 "
	      "(default: fcgi.listen)\n"
	      "  --workers N   worker threads, 1-64, one database connection "
	      "each (default: fcgi.workers)\n"
	      "  -h, --help    this text\n"
	      "\n"
	      "The portal trusts the staff login only from the FastCGI "
	      "parameter\nMXFEED_STAFF_USER, which nginx sets after its own "
	      "authentication;\nsee contrib/nginx/mxfeed.conf; a login needs "
	      "a row of 'feedctl staff'\n(its role and domain group).  Only "
	      "root, "
	      "this service's user and the\npeers fcgi.peers names may "
	      "connect (checked with SO_PEERCRED).\n",
	      fp);
}

/* The command line into *conf_path, *listen_spec, *nworkers: -1 to go
 * on, else the exit status (2 for a usage error, 0 after --help). */
static int parse_args(int argc, char **argv, const char **conf_path,
		      const char **listen_spec, long *nworkers)
{
	struct error err = ERROR_INIT;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((strcmp(a, "-c") == 0 || strcmp(a, "--listen") == 0 ||
		     strcmp(a, "--workers") == 0) &&
		    i + 1 >= argc) {
			fprintf(stderr, "mxfeed-fcgi: %s needs a value\n", a);
			usage(stderr);
			return 2;
		}
		if (strcmp(a, "-c") == 0) {
			*conf_path = argv[++i];
		} else if (strcmp(a, "--listen") == 0) {
			*listen_spec = argv[++i];
		} else if (strcmp(a, "--workers") == 0) {
			if (parse_long(argv[++i], 1, 64, nworkers, "--workers",
				       &err) < 0) {
				fprintf(stderr, "mxfeed-fcgi: %s\n",
					error_msg(&err));
				error_release(&err);
				return 2;
			}
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "mxfeed-fcgi: unknown argument '%s'\n",
				a);
			usage(stderr);
			return 2;
		}
	}
	return -1;
}

/* Wait for a stop signal of set (SIGHUP reloads nothing yet), waking
 * every ALOG_MAX_MS for the access log's old lines (on stderr; the
 * journal's are never held); the signal. */
static int wait_for_stop(const sigset_t *set)
{
	for (;;) {
		struct timespec tick = { 0, ALOG_MAX_MS * 1000000L };
		int sig = alog_plain ? sigtimedwait(set, NULL, &tick)
				     : sigwaitinfo(set, NULL);

		if (sig < 0 && (errno == EAGAIN || errno == EINTR)) {
			alog_tick(false);
			continue;
		}
		if (sig < 0)
			return SIGTERM;
		if (sig != SIGHUP)
			return sig;
	}
}

/* The CSRF key's random bytes, libcurl and libfcgi, before any thread
 * (libcurl's global setup is not thread-safe); 0, or -1 logged. */
static int libs_start(unsigned char *key, size_t size)
{
	if (RAND_bytes(key, (int)size) != 1) {
		log_error("no random bytes for the CSRF key");
		return -1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_error("libcurl failed to start");
		return -1;
	}
	if (FCGX_Init() != 0) {
		log_error("FastCGI library failed to start");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *conf_path = NULL, *listen_spec = NULL, *where;
	struct error err = ERROR_INIT;
	unsigned char key[32];
	struct worker *workers;
	pthread_t *tids;
	struct conf conf = { 0 };
	sigset_t set;
	long nworkers = 0;
	int i, sig;

	/* the stop signals wait for sigwait() below from the start: a
	 * SIGTERM while starting up (libfcgi installs a handler of its own
	 * for it) would otherwise be swallowed and never stop us */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	log_init("mxfeed-fcgi", LOG_LEVEL_INFO);
	if ((i = parse_args(argc, argv, &conf_path, &listen_spec, &nworkers)) >=
	    0)
		return i;
	if (conf_load(&conf, conf_path, &err) < 0) {
		fprintf(stderr, "mxfeed-fcgi: %s\n", error_msg(&err));
		return 2;
	}
	log_init("mxfeed-fcgi", conf.log_level);
	log_set_target(conf.log_target, LOG_LEVEL_NONE);
	if (nworkers == 0)
		nworkers = conf.fcgi_workers;
	where = listen_spec ? listen_spec : conf.fcgi_listen;
	if (libs_start(key, sizeof(key)) < 0)
		return 1;
	if (peers_setup(&conf, where) < 0)
		return 2;
	if ((listen_fd = open_listener(where)) < 0)
		return 1;

	/* workers inherit the mask with the stop signals blocked (above) */
	signal(SIGPIPE, SIG_IGN);

	access_setup(&conf, (int)nworkers);
	probe_gate_setup((int)nworkers);
	metrics_http_workers((int)nworkers);
	workers = xcalloc((size_t)nworkers, sizeof(*workers));
	tids = xcalloc((size_t)nworkers, sizeof(*tids));
	for (i = 0; i < nworkers; i++) {
		workers[i].id = i;
		workers[i].conf = &conf;
		memcpy(workers[i].csrf_key, key, sizeof(key));
		if (pthread_create(&tids[i], NULL, worker_main, &workers[i]) !=
		    0) {
			log_error("cannot start worker %d", i);
			return 1;
		}
	}
	log_info("listening on %s with %ld workers", where, nworkers);
	sig = wait_for_stop(&set);
	log_info("signal %d: finishing requests in flight", sig);
	stopping = 1;
	/* wakes the thread blocked in accept(); the others see stopping */
	(void)shutdown(listen_fd, SHUT_RDWR);
	for (i = 0; i < nworkers; i++)
		pthread_join(tids[i], NULL);
	alog_tick(true);
	close(listen_fd);
	free(workers);
	free(tids);
	conf_release(&conf);
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}
