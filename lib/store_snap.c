/*
 * store_snap - the generators' reads: snapshot, change sequence, waiting
 *
 * store_snapshot() reads one REPEATABLE READ, READ ONLY transaction
 * with COPY: domains, rules and listed recipients stream through the
 * callbacks as they arrive, no result set built; store_snapshot_since()
 * the same for the domains named by the changes after a sequence only
 * (their rows found by the names through the primary indexes).
 * store_wait_change()
 * LISTENs (again after a reconnect) for changes and relay commands.
 */
#include "store_snap.h"

#include "store_int.h"

#include <poll.h>

/* ---- snapshots for the generators -------------------------------- */

static const char sql_snap_seq[] = "SELECT coalesce(max(seq), 0) FROM changes";
/* byte order (COLLATE "C"): the relay's readers binary-search with
 * strcmp, whatever collation the site's database uses */
static const char sql_snap_domains_tail[] = "ORDER BY d.name COLLATE \"C\"";
static const char sql_snap_rules[] =
	"SELECT d.name, r.action, r.kind, r.value FROM sender_rules r"
	" JOIN domains d ON d.id = r.domain_id"
	" ORDER BY d.name COLLATE \"C\", r.id";

static const char sql_snap_rcpts[] =
	"SELECT d.name, r.local FROM recipients r"
	" JOIN domains d ON d.id = r.domain_id"
	" ORDER BY d.name COLLATE \"C\", r.local COLLATE \"C\"";

struct snap_arg {
	int64_t *seq;
	const struct snap_fns *fns;
	void *arg;
};

static int snap_domain_row(void *arg, const char *const *cells, int n,
			   struct error *err)
{
	struct snap_arg *a = arg;
	const struct rowv r = { NULL, 0, cells };
	struct domain d;

	(void)n;
	if (store_rowv_to_domain(&r, &d, NULL, err) < 0)
		return -1;
	return a->fns->on_domain(a->arg, &d, err);
}

static int snap_rule_row(void *arg, const char *const *cells, int n,
			 struct error *err)
{
	struct snap_arg *a = arg;
	struct rule r;
	int act = parse_enum(cells[1], rule_action_names);
	int kind = parse_enum(cells[2], rule_kind_names);

	(void)n;
	if (act < 0 || kind < 0 ||
	    strlcpy_checked(r.value, cells[3], sizeof(r.value)) != 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "unexpected rule row");
	r.id = 0;
	r.action = (enum rule_action)act;
	r.kind = (enum rule_kind)kind;
	return a->fns->on_rule(a->arg, cells[0], &r, err);
}

static int snap_rcpt_row(void *arg, const char *const *cells, int n,
			 struct error *err)
{
	struct snap_arg *a = arg;

	(void)n;
	return a->fns->on_rcpt(a->arg, cells[0], cells[1], err);
}

/* The generators read with COPY: the rows stream through the callbacks
 * as they arrive, with no result set built (100k domains: every copy
 * counts). */
static int tx_snapshot(struct store *s, void *arg, struct error *err)
{
	struct snap_arg *a = arg;
	struct strbuf sql = STRBUF_INIT;
	PGresult *res;
	int rc;

	if (store_q0(s,
		     "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ "
		     "ONLY",
		     NULL, "snapshot", err) < 0)
		return -1;
	/* a plain scan: JIT compilation would cost more than it saves */
	if (store_q0(s, "SET LOCAL jit = off", NULL, "snapshot", err) < 0)
		return -1;
	if ((res = store_q(s, sql_snap_seq, NULL, "snapshot", err)) == NULL)
		return -1;
	if (!get_i64(res, 0, 0, a->seq)) {
		PQclear(res);
		return error_set(err, ERR_INTERNAL, NULL, "bad sequence");
	}
	PQclear(res);
	store_domain_select_lean(&sql);
	sbuf_addstr(&sql, sql_snap_domains_tail);
	rc = store_copy_rows(s, sql.buf, store_domain_ncols(), snap_domain_row,
			     a, "snapshot", err);
	sbuf_release(&sql);
	if (rc == 0)
		rc = store_copy_rows(s, sql_snap_rules, 4, snap_rule_row, a,
				     "snapshot", err);
	if (rc == 0)
		rc = store_copy_rows(s, sql_snap_rcpts, 2, snap_rcpt_row, a,
				     "snapshot", err);
	return rc < 0 ? -1 : 0;
}

int store_snapshot(struct store *s, int64_t *seq, const struct snap_fns *fns,
		   void *arg, struct error *err)
{
	struct snap_arg a = { seq, fns, arg };

	return store_with_tx(s, tx_snapshot, &a, err);
}

/* ---- the rows of the changed domains only ------------------------- */

struct since_arg {
	int64_t from, *seq;
	size_t limit;
	char **names;
	size_t n;
	bool too_many;
	const struct snap_fns *fns;
	void *arg;
};

static int since_name_row(void *arg, const char *const *cells, int n,
			  struct error *err)
{
	struct since_arg *a = arg;

	(void)n;
	(void)err;
	if (a->n >= a->limit) {
		a->too_many = true;
		return 0; /* the rest of the COPY is read and dropped */
	}
	a->names = xrealloc(a->names, (a->n + 1) * sizeof(*a->names));
	a->names[a->n++] = xstrdup(cells[0]);
	return 0;
}

static void since_names_free(struct since_arg *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->names[i]);
	free(a->names);
	a->names = NULL;
	a->n = 0;
}

static int tx_snapshot_since(struct store *s, void *arg, struct error *err)
{
	struct since_arg *a = arg;
	struct snap_arg sa = { a->seq, a->fns, a->arg };
	struct strbuf sql = STRBUF_INIT, in = STRBUF_INIT;
	PGresult *res;
	int rc;

	since_names_free(a); /* a retried transaction starts again */
	a->too_many = false;
	if (store_q0(s,
		     "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ "
		     "ONLY",
		     NULL, "snapshot", err) < 0 ||
	    store_q0(s, "SET LOCAL jit = off", NULL, "snapshot", err) < 0)
		return -1;
	if ((res = store_q(s, sql_snap_seq, NULL, "snapshot", err)) == NULL)
		return -1;
	if (!get_i64(res, 0, 0, a->seq)) {
		PQclear(res);
		return error_set(err, ERR_INTERNAL, NULL, "bad sequence");
	}
	PQclear(res);
	/* both bounds are numbers: no text of anyone's reaches the SQL */
	sbuf_addf(&in,
		  "SELECT c.domain FROM changes c WHERE c.seq > %lld"
		  " AND c.seq <= %lld",
		  (long long)a->from, (long long)*a->seq);
	sbuf_addf(&sql,
		  "SELECT DISTINCT c.domain COLLATE \"C\" FROM changes c"
		  " WHERE c.seq > %lld AND c.seq <= %lld ORDER BY 1 LIMIT %zu",
		  (long long)a->from, (long long)*a->seq, a->limit + 1);
	rc = store_copy_rows(s, sql.buf, 1, since_name_row, a, "snapshot", err);
	if (rc < 0 || a->too_many || a->n == 0)
		goto out;
	sbuf_reset(&sql);
	store_domain_select_lean(&sql);
	sbuf_addf(&sql, "WHERE d.name IN (%s) %s", in.buf,
		  sql_snap_domains_tail);
	rc = store_copy_rows(s, sql.buf, store_domain_ncols(), snap_domain_row,
			     &sa, "snapshot", err);
	if (rc == 0) {
		sbuf_reset(&sql);
		sbuf_addf(&sql,
			  "SELECT d.name, r.action, r.kind, r.value FROM"
			  " sender_rules r JOIN domains d ON d.id = r.domain_id"
			  " WHERE d.name IN (%s)"
			  " ORDER BY d.name COLLATE \"C\", r.id",
			  in.buf);
		rc = store_copy_rows(s, sql.buf, 4, snap_rule_row, &sa,
				     "snapshot", err);
	}
	if (rc == 0) {
		sbuf_reset(&sql);
		sbuf_addf(&sql,
			  "SELECT d.name, r.local FROM recipients r"
			  " JOIN domains d ON d.id = r.domain_id"
			  " WHERE d.name IN (%s)"
			  " ORDER BY d.name COLLATE \"C\","
			  " r.local COLLATE \"C\"",
			  in.buf);
		rc = store_copy_rows(s, sql.buf, 2, snap_rcpt_row, &sa,
				     "snapshot", err);
	}
out:
	sbuf_release(&sql);
	sbuf_release(&in);
	return rc < 0 ? -1 : 0;
}

int store_snapshot_since(struct store *s, int64_t from, size_t limit,
			 int64_t *seq, char ***names, size_t *nnames,
			 bool *too_many, const struct snap_fns *fns, void *arg,
			 struct error *err)
{
	struct since_arg a = { from, seq, limit, NULL, 0, false, fns, arg };

	*names = NULL;
	*nnames = 0;
	*too_many = false;
	if (store_with_tx(s, tx_snapshot_since, &a, err) < 0 || a.too_many) {
		*too_many = a.too_many;
		since_names_free(&a);
		return *too_many ? 0 : -1;
	}
	*names = a.names;
	*nnames = a.n;
	return 0;
}

int store_change_seq(struct store *s, int64_t *seq, struct error *err)
{
	PGresult *res;
	bool ok;

	res = store_run(s, sql_snap_seq, NULL, "change sequence", err);
	if (res == NULL)
		return -1;
	ok = get_i64(res, 0, 0, seq);
	PQclear(res);
	return ok ? 0 : error_set(err, ERR_INTERNAL, NULL, "bad sequence");
}

int store_wait_change(struct store *s, int timeout_ms, struct error *err)
{
	struct pollfd pfd;
	PGnotify *n;
	int got = 0, rc;

	if (store_ensure_conn(s, err) < 0)
		return -1;
	if (!s->listening) {
		/* a relay also wakes for the commands staff queue for it */
		if (store_q0(s, "LISTEN mxfeed_changes", NULL, "listen", err) <
			    0 ||
		    store_q0(s, "LISTEN mxfeed_relay_commands", NULL, "listen",
			     err) < 0)
			return -1;
		s->listening = true;
	}
	pfd.fd = PQsocket(s->db);
	pfd.events = POLLIN;
	pfd.revents = 0;
	rc = poll(&pfd, 1, timeout_ms);
	if (rc < 0 && errno != EINTR)
		return error_set(err, ERR_TEMPFAIL, NULL, "poll: %s",
				 strerror(errno));
	if (PQconsumeInput(s->db) == 0)
		return store_fail(s, NULL, "wait for changes", err);
	while ((n = PQnotifies(s->db)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	return got;
}
