/*
 * migrate - apply the compiled-in migrations exactly once each
 *
 * Runs as the owner role.  A session advisory lock serialises concurrent
 * runs; each migration runs in its own transaction together with the
 * schema_migrations row that records it, so a failure leaves the
 * database at the last complete migration and a re-run continues there.
 * The migration text is compiled into the binary (never user input) and
 * holds several statements, so it is the one place that uses the simple
 * query protocol (PQexec); everything else uses PQexecParams.
 */
#include "migrate.h"

#include <libpq-fe.h>
#include <string.h>

#define MIGRATE_LOCK_KEY "7340021901" /* arbitrary, fixed */

static const char sql_bootstrap[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" name text PRIMARY KEY,"
	" applied_at timestamptz NOT NULL DEFAULT now())";
static const char sql_lock[] = "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")";
static const char sql_unlock[] =
	"SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")";
static const char sql_applied[] =
	"SELECT to_char(applied_at AT TIME ZONE 'UTC',"
	" 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM schema_migrations"
	" WHERE name = $1";
static const char sql_record[] =
	"INSERT INTO schema_migrations (name) VALUES ($1)";
static const char sql_exists[] =
	"SELECT to_regclass('public.schema_migrations') IS NOT NULL";

static int db_fail(PGconn *db, PGresult *res, const char *what,
		   struct error *err)
{
	const char *msg =
		res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db);
	size_t n = strcspn(msg, "\n");
	enum err_code code =
		PQstatus(db) == CONNECTION_OK ? ERR_INTERNAL : ERR_TEMPFAIL;

	if (res != NULL)
		PQclear(res);
	return error_set(err, code, NULL, "%s: %.*s", what, (int)n, msg);
}

/* Run one parameterised statement; 0 on success, result in *out. */
static int run(PGconn *db, const char *sql, const char *param, PGresult **out,
	       const char *what, struct error *err)
{
	const char *params[1] = { param };
	PGresult *res = PQexecParams(db, sql, param != NULL ? 1 : 0, NULL,
				     params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return db_fail(db, res, what, err);
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return 0;
}

static PGconn *connect_db(const char *conninfo, struct error *err)
{
	PGconn *db = PQconnectdb(conninfo);

	if (db == NULL) {
		error_set(err, ERR_INTERNAL, NULL, "out of memory");
		return NULL;
	}
	if (PQstatus(db) != CONNECTION_OK) {
		const char *msg = PQerrorMessage(db);

		error_set(err, ERR_TEMPFAIL, NULL,
			  "cannot connect to the database: %.*s",
			  (int)strcspn(msg, "\n"), msg);
		PQfinish(db);
		return NULL;
	}
	return db;
}

static int apply_one(PGconn *db, const struct migration *m, FILE *out,
		     int *applied, struct error *err)
{
	PGresult *res;
	bool done;

	if (run(db, "BEGIN", NULL, NULL, m->name, err) < 0)
		return -1;
	if (run(db, sql_applied, m->name, &res, m->name, err) < 0)
		goto rollback;
	done = PQntuples(res) > 0;
	PQclear(res);
	if (done)
		return run(db, "COMMIT", NULL, NULL, m->name, err);

	res = PQexec(db, m->sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		db_fail(db, res, m->name, err);
		goto rollback;
	}
	PQclear(res);
	if (run(db, sql_record, m->name, NULL, m->name, err) < 0 ||
	    run(db, "COMMIT", NULL, NULL, m->name, err) < 0)
		goto rollback;
	(*applied)++;
	if (out != NULL)
		fprintf(out, "applied %s\n", m->name);
	return 0;
rollback:
	PQclear(PQexecParams(db, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0));
	return -1;
}

int migrate_run(const char *conninfo, FILE *out, int *applied,
		struct error *err)
{
	PGconn *db = connect_db(conninfo, err);
	int rc = 0;
	size_t i;

	*applied = 0;
	if (db == NULL)
		return -1;
	if (run(db, "SET client_min_messages = warning", NULL, NULL, "settings",
		err) < 0 ||
	    run(db, sql_lock, NULL, NULL, "lock", err) < 0 ||
	    run(db, sql_bootstrap, NULL, NULL, "schema_migrations", err) < 0) {
		PQfinish(db);
		return -1;
	}
	for (i = 0; i < migrations_count && rc == 0; i++)
		rc = apply_one(db, &migrations[i], out, applied, err);
	/* the lock goes with the session anyway; unlock to be tidy */
	PQclear(PQexecParams(db, sql_unlock, 0, NULL, NULL, NULL, NULL, 0));
	PQfinish(db);
	if (rc == 0 && out != NULL && *applied == 0)
		fprintf(out, "schema is up to date (%zu migrations)\n",
			migrations_count);
	return rc;
}

int migrate_status(const char *conninfo, FILE *out, int *pending,
		   struct error *err)
{
	PGconn *db = connect_db(conninfo, err);
	PGresult *res;
	bool exists;
	size_t i;

	*pending = 0;
	if (db == NULL)
		return -1;
	if (run(db, sql_exists, NULL, &res, "status", err) < 0) {
		PQfinish(db);
		return -1;
	}
	exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	for (i = 0; i < migrations_count; i++) {
		const char *name = migrations[i].name;

		if (!exists) {
			fprintf(out, "%-24s pending\n", name);
			(*pending)++;
			continue;
		}
		if (run(db, sql_applied, name, &res, "status", err) < 0) {
			PQfinish(db);
			return -1;
		}
		if (PQntuples(res) > 0) {
			fprintf(out, "%-24s applied %s\n", name,
				PQgetvalue(res, 0, 0));
		} else {
			fprintf(out, "%-24s pending\n", name);
			(*pending)++;
		}
		PQclear(res);
	}
	PQfinish(db);
	return 0;
}
