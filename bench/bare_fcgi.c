/*
 * bare_fcgi - the baseline of bench/web.sh: the least a FastCGI
 * responder can do for GET /api/v1/domains/NAME
 *
 * bare_fcgi CONNINFO unix:/path/to/sock NTHREADS
 *
 * NTHREADS threads share one listening socket and accept under a mutex
 * (FCGX_Accept_r), exactly like mxfeed-fcgi; each owns one PostgreSQL
 * connection with one prepared statement: the primary-key SELECT of
 * store_domain_get() in lib/store_domain.c (sql_domain_cols +
 * sql_domain_get_tail, copied here).  The last path segment is the
 * domain name; the answer is {"name":"..."} with 200, or 404 when there
 * is no row.  A path under /api/v1/list/AFTER is the keyset page of
 * bench/portal.sh's list: the 50 names after AFTER by the primary key,
 * {"name":"LAST"}.  No authentication, no JSON library, no logging:
 * only the floor.
 * SIGTERM/SIGINT end the process at once (libfcgi would otherwise catch
 * SIGTERM and leave the threads blocked in accept()).
 */
#include <fcgiapp.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EPOCH(x) "coalesce(floor(extract(epoch FROM " x "))::bigint, 0)"

/* clang-format off */
/* copied from lib/store_domain.c: sql_domain_cols + sql_domain_get_tail */
static const char sql_get[] =
	"SELECT d.name, d.unicode_name, d.mode, " EPOCH("d.temp_pop3_since")
	", coalesce(d.temp_pop3_by, ''), coalesce(host(d.dest_host), ''),"
	" coalesce(d.dest_port, 0),"
	" array_to_string(array(SELECT host(h) FROM unnest(d.fallback_hosts)"
	"   WITH ORDINALITY u(h, i) ORDER BY i), ','),"
	" array_to_string(d.fallback_ports, ','),"
	" d.greylisting, d.spam_enabled,"
	" d.spam_low_action, d.spam_med_action, d.spam_high_action,"
	" d.spam_low_text, d.spam_med_text, d.spam_high_text,"
	" d.queue_days, " EPOCH("d.queue_extended_until") ", d.recipients,"
	" d.max_message_mb, d.version, " EPOCH("d.created_at")
	", d.created_by, " EPOCH("d.updated_at") ", d.updated_by, d.ticket,"
	" coalesce(p.seq, 0),"
	" (SELECT count(*) FROM relays r WHERE r.role = 'relay'"
	"   AND r.applied_seq >= coalesce(p.seq, 0)),"
	" (SELECT count(*) FROM relays r WHERE r.role = 'relay')"
	" FROM domains d LEFT JOIN LATERAL"
	" (SELECT max(c.seq) AS seq FROM changes c WHERE c.domain = d.name) p"
	" ON true "
	"WHERE d.name = $1";
static const char sql_list[] =
	"SELECT name FROM domains WHERE name > $1 ORDER BY name LIMIT 50";
/* clang-format on */

static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *conninfo;
static int listen_fd = -1;

static PGconn *db_open(void)
{
	PGconn *db = PQconnectdb(conninfo);
	PGresult *res;

	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "bare_fcgi: connect: %s", PQerrorMessage(db));
		PQfinish(db);
		return NULL;
	}
	res = PQprepare(db, "get", sql_get, 1, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "bare_fcgi: prepare: %s", PQerrorMessage(db));
		PQclear(res);
		PQfinish(db);
		return NULL;
	}
	PQclear(res);
	res = PQprepare(db, "list", sql_list, 1, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "bare_fcgi: prepare: %s", PQerrorMessage(db));
		PQclear(res);
		PQfinish(db);
		return NULL;
	}
	PQclear(res);
	return db;
}

/* {"name":"VALUE"}, VALUE with '"', '\\' and controls escaped */
static void put_json(FCGX_Stream *out, const char *v)
{
	FCGX_PutS("{\"name\":\"", out);
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '"' || c == '\\')
			FCGX_FPrintF(out, "\\%c", c);
		else if (c < 0x20)
			FCGX_FPrintF(out, "\\u%04x", c);
		else
			FCGX_PutChar(c, out);
	}
	FCGX_PutS("\"}\n", out);
}

static void serve(PGconn *db, FCGX_Request *fr)
{
	const char *path = FCGX_GetParam("DOCUMENT_URI", fr->envp);
	const char *name, *slash;
	PGresult *res;

	if (path == NULL)
		path = "/";
	slash = strrchr(path, '/');
	name = slash ? slash + 1 : path;
	res = PQexecPrepared(
		db, strncmp(path, "/api/v1/list/", 13) == 0 ? "list" : "get", 1,
		&name, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		FCGX_PutS("Status: 500 Internal Server Error\r\n"
			  "Content-Type: application/json\r\n\r\n"
			  "{\"error\":\"database\"}\n",
			  fr->out);
		if (PQstatus(db) != CONNECTION_OK)
			PQreset(db);
	} else if (PQntuples(res) == 0) {
		FCGX_PutS("Status: 404 Not Found\r\n"
			  "Content-Type: application/json\r\n\r\n"
			  "{\"error\":\"not found\"}\n",
			  fr->out);
	} else {
		FCGX_PutS("Status: 200 OK\r\n"
			  "Content-Type: application/json\r\n\r\n",
			  fr->out);
		put_json(fr->out, PQgetvalue(res, PQntuples(res) - 1, 0));
	}
	PQclear(res);
}

static void *worker(void *arg)
{
	FCGX_Request fr;
	PGconn *db = db_open();

	(void)arg;
	if (db == NULL || FCGX_InitRequest(&fr, listen_fd, 0) != 0) {
		fprintf(stderr, "bare_fcgi: worker cannot start\n");
		exit(1);
	}
	for (;;) {
		int rc;

		pthread_mutex_lock(&accept_lock);
		rc = FCGX_Accept_r(&fr);
		pthread_mutex_unlock(&accept_lock);
		if (rc < 0)
			break;
		serve(db, &fr);
		FCGX_Finish_r(&fr);
	}
	PQfinish(db);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t *tids;
	sigset_t set;
	mode_t old;
	int sig;
	long n, i;
	char *end;

	if (argc != 4 || strncmp(argv[2], "unix:/", 6) != 0) {
		fprintf(stderr, "usage: bare_fcgi CONNINFO unix:/path/to/sock "
				"NTHREADS\n");
		return 2;
	}
	n = strtol(argv[3], &end, 10);
	if (*end != '\0' || n < 1 || n > 64) {
		fprintf(stderr, "bare_fcgi: NTHREADS must be 1 to 64\n");
		return 2;
	}
	conninfo = argv[1];
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0) {
		fprintf(stderr, "bare_fcgi: FCGX_Init failed\n");
		return 1;
	}
	(void)unlink(argv[2] + 5);
	old = umask(0117);
	listen_fd = FCGX_OpenSocket(argv[2] + 5, 128);
	umask(old);
	if (listen_fd < 0) {
		fprintf(stderr, "bare_fcgi: cannot listen on %s\n", argv[2]);
		return 1;
	}
	/* the threads inherit the stop signals blocked; main waits for them */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	tids = calloc((size_t)n, sizeof(*tids));
	if (tids == NULL)
		return 1;
	for (i = 0; i < n; i++)
		if (pthread_create(&tids[i], NULL, worker, NULL) != 0) {
			fprintf(stderr, "bare_fcgi: cannot start a thread\n");
			return 1;
		}
	(void)sigwait(&set, &sig);
	close(listen_fd);
	_exit(0);
}
