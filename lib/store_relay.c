/*
 * store_relay - the relays table and the relay bus
 *
 * What relays report (applied sequence, heartbeat, outbound addresses,
 * replay lag), the listings built from it, the queues relays publish
 * (relay_queue, replaced in one transaction) and the commands staff
 * queue for them (relay_commands: pending until finished or expired),
 * and taking a relay out of service.
 */
#include "store_relay.h"

#include "store_int.h"

/* state: retired; down (no heartbeat for a minute); failing (its last
 * apply failed); behind (not at the newest change); else ok */
static const char sql_relays[] =
	"SELECT coalesce(json_agg(json_build_object('name', name, 'role', role,"
	" 'addresses', (SELECT coalesce(json_agg(host(a)), '[]')"
	"   FROM unnest(addresses) a), 'applied_seq', applied_seq,"
	" 'applied_at', mx_utc(applied_at), 'heartbeat', mx_utc(heartbeat),"
	" 'heartbeat_age', extract(epoch FROM now() - heartbeat)::bigint,"
	" 'lag', greatest(m.seq - applied_seq, 0),"
	" 'state', CASE WHEN role = 'retired' THEN 'retired'"
	"  WHEN heartbeat IS NULL OR heartbeat <= now() - interval '60 seconds'"
	"  THEN 'down' WHEN last_error IS NOT NULL THEN 'failing'"
	/* drained: its queue, published since the drain began, is empty */
	"  WHEN role = 'draining' AND queue_total = 0"
	"   AND queue_as_of > drain_started_at THEN 'drained'"
	"  WHEN role = 'draining' THEN 'draining'"
	"  WHEN role = 'relay' AND applied_seq < m.seq THEN 'behind'"
	"  ELSE 'ok' END,"
	" 'queue_total', queue_total, 'queue_as_of', mx_utc(queue_as_of),"
	" 'read_lag_ms', read_lag_ms,"
	" 'retired_at', mx_utc(retired_at), 'retired_by', retired_by,"
	" 'smtp_address', smtp_address,"
	" 'drain_started_at', mx_utc(drain_started_at), 'drain_by', drain_by,"
	" 'drain_hand_over', drain_hand_over,"
	" 'drain_max_age', extract(epoch FROM drain_max_age)::bigint,"
	" 'last_error', last_error) ORDER BY name), '[]')::text FROM relays,"
	" (SELECT coalesce(max(seq), 0) AS seq FROM changes) m";

json_t *store_relay_list(struct store *s, struct error *err)
{
	return store_json_query(s, sql_relays, NULL, "relays", err);
}

static const char sql_relay_addresses[] =
	"SELECT coalesce(json_agg(host(a) ORDER BY family(a), a), '[]')::text"
	" FROM"
	" (SELECT DISTINCT host(unnest(addresses))::inet AS a FROM relays"
	"  WHERE role IN ('relay', 'draining')) x";

json_t *store_relay_addresses(struct store *s, struct error *err)
{
	return store_json_query(s, sql_relay_addresses, NULL, "relay addresses",
				err);
}

static const char sql_relay_report[] =
	"INSERT INTO relays (name, applied_seq, applied_at, last_error,"
	" heartbeat, addresses) VALUES ($1, $2, CASE WHEN $2::bigint > 0 THEN"
	" now() END, nullif($3, ''), now(), $4::inet[])"
	" ON CONFLICT (name) DO UPDATE SET"
	" applied_seq = CASE WHEN $2::bigint > 0 THEN $2::bigint"
	"   ELSE relays.applied_seq END,"
	" applied_at = CASE WHEN $2::bigint > 0 THEN now()"
	"   ELSE relays.applied_at END,"
	" last_error = nullif($3, ''), heartbeat = now(),"
	" addresses = $4::inet[]";

int store_relay_report(struct store *s, const char *name, int64_t seq,
		       const char *last_error, const struct cidr_list *addrs,
		       struct error *err)
{
	struct params p = { 0 };
	struct strbuf arr = STRBUF_INIT;
	char msg[1025];
	size_t i;
	int rc;

	/* the column holds at most 1024 bytes of printable text */
	(void)snprintf(msg, sizeof(msg), "%s", last_error ? last_error : "");
	/* an array literal of canonical addresses (ip_parse): digits, hex,
	 * '.' and ':' only */
	sbuf_addch(&arr, '{');
	for (i = 0; addrs != NULL && i < addrs->n; i++)
		sbuf_addf(&arr, "%s%s", i ? "," : "", addrs->v[i].net.text);
	sbuf_addch(&arr, '}');
	p_str(&p, name);
	p_int(&p, seq);
	p_str(&p, msg);
	p_str(&p, arr.buf);
	rc = store_run0(s, sql_relay_report, &p, "relay report", err);
	sbuf_release(&arr);
	return rc;
}

static const char sql_relay_heartbeat[] =
	"INSERT INTO relays (name, heartbeat) VALUES ($1, now())"
	" ON CONFLICT (name) DO UPDATE SET heartbeat = now()";

int store_relay_heartbeat(struct store *s, const char *name, struct error *err)
{
	struct params p = { 0 };

	p_str(&p, name);
	return store_run0(s, sql_relay_heartbeat, &p, "heartbeat", err);
}

/* ---- the relay bus: published queues and relay commands ---------- */

static const char sql_bus_register[] =
	"INSERT INTO relays (name) VALUES ($1) ON CONFLICT (name) DO NOTHING";
static const char sql_bus_clear[] = "DELETE FROM relay_queue WHERE relay = $1";
/* rows whose domain is not a name mxfeed could serve (an address
 * literal, say) are nobody's share and are left out */
static const char sql_bus_fill[] =
	"INSERT INTO relay_queue (relay, domain, count, oldest, messages)"
	" SELECT $1, x.domain, x.count, x.oldest::timestamptz, x.messages"
	" FROM jsonb_to_recordset($2::jsonb)"
	"  AS x(domain text, count integer, oldest text, messages jsonb)"
	" WHERE x.domain ~ '^[a-z0-9.-]{1,253}$' AND x.count > 0";
static const char sql_bus_stamp[] =
	"UPDATE relays SET queue_as_of = now(), queue_total = $2"
	" WHERE name = $1";

struct publish_arg {
	const char *relay;
	const json_t *summary;
	int64_t total;
};

static int tx_publish(struct store *s, void *arg, struct error *err)
{
	struct publish_arg *a = arg;
	struct params p = { 0 };
	int rc;

	p_str(&p, a->relay);
	if (store_q0(s, sql_bus_register, &p, "relay register", err) < 0 ||
	    store_q0(s, sql_bus_clear, &p, "queue publish", err) < 0)
		return -1;
	p_json(&p, a->summary);
	rc = store_q0(s, sql_bus_fill, &p, "queue publish", err);
	p_release(&p);
	if (rc < 0)
		return -1;
	memset(&p, 0, sizeof(p));
	p_str(&p, a->relay);
	p_int(&p, a->total);
	return store_q0(s, sql_bus_stamp, &p, "queue publish", err);
}

int store_queue_publish(struct store *s, const char *relay,
			const json_t *summary, int64_t total, struct error *err)
{
	struct publish_arg a = { relay, summary, total };

	return store_with_tx(s, tx_publish, &a, err);
}

/* the relays a view or a command covers: the active relays and the
 * draining ones (they still hold mail and deliver it) */
static const char sql_bus_view[] =
	"SELECT coalesce(json_agg(json_build_object('name', r.name,"
	" 'as_of', mx_utc(r.queue_as_of), 'heartbeat', mx_utc(r.heartbeat),"
	" 'alive', coalesce(r.heartbeat > now() - interval '60 seconds', "
	"false),"
	" 'count', coalesce(q.count, 0), 'oldest', mx_utc(q.oldest),"
	" 'messages', coalesce(q.messages, '[]'::jsonb)) ORDER BY r.name),"
	" '[]')::text FROM relays r"
	" LEFT JOIN relay_queue q ON q.relay = r.name AND q.domain = $1"
	" WHERE r.role IN ('relay', 'draining')";

json_t *store_queue_view(struct store *s, const char *domain, struct error *err)
{
	struct params p = { 0 };

	p_str(&p, domain);
	return store_json_query(s, sql_bus_view, &p, "queue view", err);
}

static const char sql_bus_add[] =
	"WITH ins AS (INSERT INTO relay_commands"
	" (relay, verb, domain, created_by, expires_at, queue_id)"
	" SELECT name, $1, $2, $3, now() + $4 * interval '1 second', $7"
	" FROM relays WHERE role IN ('relay', 'draining')"
	" AND name <> coalesce($5, '')"
	" AND ($6::text IS NULL OR name = $6)"
	" RETURNING id, relay)"
	" SELECT coalesce(json_agg(json_build_object('id', id, 'relay', relay)"
	" ORDER BY relay), '[]')::text FROM ins";

json_t *store_command_add(struct store *s, const struct relay_cmd *c,
			  struct error *err)
{
	struct params p = { 0 };

	p_str(&p, c->verb);
	p_str(&p, c->domain);
	p_str(&p, c->actor);
	p_int(&p, c->ttl_s);
	p_str(&p, c->except);
	p_str(&p, c->only);
	p_str(&p, c->queue_id);
	return store_json_query(s, sql_bus_add, &p, "relay command", err);
}

/* a pending command past its time reads as expired, for everyone */
static const char sql_bus_status[] =
	"SELECT coalesce(json_agg(json_build_object('id', c.id,"
	" 'relay', c.relay, 'state', CASE WHEN c.state = 'pending' AND"
	"  c.expires_at <= now() THEN 'expired' ELSE c.state END,"
	" 'result', c.result, 'error', c.error, 'done_at', mx_utc(c.done_at),"
	" 'expires_at', mx_utc(c.expires_at),"
	" 'alive', coalesce(r.heartbeat > now() - interval '60 seconds', "
	"false))"
	" ORDER BY c.relay), '[]')::text FROM relay_commands c"
	" JOIN relays r ON r.name = c.relay WHERE c.id = ANY($1::bigint[])";

json_t *store_command_status(struct store *s, const char *ids,
			     struct error *err)
{
	struct params p = { 0 };

	p_str(&p, ids);
	return store_json_query(s, sql_bus_status, &p, "relay command", err);
}

static const char sql_bus_expire[] =
	"UPDATE relay_commands SET state = 'expired', done_at = now()"
	" WHERE relay = $1 AND state = 'pending' AND expires_at <= now()";
static const char sql_bus_take[] =
	"SELECT coalesce(json_agg(json_build_object('id', id, 'verb', verb,"
	" 'domain', domain, 'queue_id', queue_id) ORDER BY id), '[]')::text"
	" FROM relay_commands"
	" WHERE relay = $1 AND state = 'pending'";

json_t *store_command_take(struct store *s, const char *relay,
			   struct error *err)
{
	struct params p = { 0 };

	p_str(&p, relay);
	if (store_ensure_conn(s, err) < 0 ||
	    store_q0(s, sql_bus_expire, &p, "relay command", err) < 0)
		return NULL;
	return store_json_query(s, sql_bus_take, &p, "relay command", err);
}

static const char sql_bus_finish[] =
	"UPDATE relay_commands SET state = $2, result = $3::jsonb,"
	" error = nullif($4, ''), done_at = now()"
	" WHERE id = $1 AND state = 'pending'";

int store_command_finish(struct store *s, int64_t id, bool ok,
			 const json_t *result, const char *error,
			 struct error *err)
{
	struct params p = { 0 };
	char msg[1025];

	(void)snprintf(msg, sizeof(msg), "%s", error ? error : "");
	p_int(&p, id);
	p_str(&p, ok ? "done" : "failed");
	p_json(&p, result);
	p_str(&p, msg);
	return store_run0(s, sql_bus_finish, &p, "relay command", err);
}

/* every relay row locked, in the order tx_drain() locks them */
static const char sql_relay_lock_all[] =
	"SELECT name FROM relays ORDER BY name FOR UPDATE";
static const char sql_relay_lock[] =
	"SELECT role, coalesce(queue_total, 0), coalesce(mx_utc(queue_as_of),"
	" 'never'), (SELECT string_agg(d.name, ', ' ORDER BY d.name)"
	"  FROM relays d WHERE d.role = 'draining' AND d.drain_hand_over = $1),"
	" (SELECT count(*) FROM relays o WHERE o.role = 'relay'"
	"  AND o.name <> $1),"
	" (SELECT count(*) FROM relays d WHERE d.role = 'draining')"
	" FROM relays WHERE name = $1";
static const char sql_relay_retire[] =
	"UPDATE relays SET role = 'retired', retired_at = now(),"
	" retired_by = $2 WHERE name = $1";
static const char sql_relay_activate[] =
	"UPDATE relays SET role = 'relay', retired_at = NULL, retired_by = "
	"NULL,"
	" drain_started_at = NULL, drain_by = NULL, drain_hand_over = NULL,"
	" drain_max_age = NULL WHERE name = $1";
static const char sql_relay_drop_cmds[] =
	"UPDATE relay_commands SET state = 'expired', done_at = now(),"
	" error = 'the relay was retired' WHERE relay = $1 AND state = "
	"'pending'";
/* a draining relay learns of a change of its role at once */
static const char sql_relay_wake[] =
	"SELECT pg_notify('mxfeed_relay_commands', $1)";

struct retire_arg {
	const char *name, *actor;
	bool retire, force;
};

static int tx_retire(struct store *s, void *arg, struct error *err)
{
	struct retire_arg *a = arg;
	struct params p = { 0 };
	PGresult *res;
	char role[16], when[40], takers[256];
	int64_t queued = 0, others = 0, draining = 0;

	p_str(&p, a->name);
	if (store_q0(s, sql_relay_lock_all, NULL, "relay", err) < 0 ||
	    (res = store_q(s, sql_relay_lock, &p, "relay", err)) == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return error_set(err, ERR_NOTFOUND, "relay",
				 "no relay is registered as %s", a->name);
	}
	(void)snprintf(role, sizeof(role), "%s", PQgetvalue(res, 0, 0));
	(void)get_i64(res, 0, 1, &queued);
	(void)snprintf(when, sizeof(when), "%s", PQgetvalue(res, 0, 2));
	(void)snprintf(takers, sizeof(takers), "%s", PQgetvalue(res, 0, 3));
	(void)get_i64(res, 0, 4, &others);
	(void)get_i64(res, 0, 5, &draining);
	PQclear(res);
	/* a draining relay is still in service: it may be retired once
	 * drained, or made active again */
	if (a->retire && strcmp(role, "relay") != 0 &&
	    strcmp(role, "draining") != 0)
		return error_set(err, ERR_CONFLICT, "relay",
				 "%s is not an active relay (role %s)", a->name,
				 role);
	if (!a->retire && strcmp(role, "retired") != 0 &&
	    strcmp(role, "draining") != 0)
		return error_set(err, ERR_CONFLICT, "relay",
				 "%s is not retired or draining (role %s)",
				 a->name, role);
	if (a->retire && takers[0] != '\0')
		return error_set(err, ERR_CONFLICT, "relay",
				 "%s takes the queue of draining %s: drain "
				 "or activate that first",
				 a->name, takers);
	/* draining relays refuse new mail: someone must take it */
	if (a->retire && strcmp(role, "relay") == 0 && others == 0 &&
	    draining > 0)
		return error_set(
			err, ERR_CONFLICT, "relay",
			"%s is the last active relay and %" PRId64
			" relay%s drain%s: retiring it would leave new "
			"mail nowhere to go",
			a->name, draining, draining == 1 ? "" : "s",
			draining == 1 ? "s" : "");
	if (a->retire && queued > 0 && !a->force)
		return error_set(err, ERR_CONFLICT, "relay",
				 "%s still held %" PRId64 " queued message%s "
				 "when it last published its queue (as of "
				 "%s): let them be delivered first, or retire "
				 "it with --force",
				 a->name, queued, queued == 1 ? "" : "s", when);
	if (!a->retire)
		return store_q0(s, sql_relay_activate, &p, "relay", err) < 0
			       ? -1
			       : store_q0(s, sql_relay_wake, &p, "relay", err);
	p_str(&p, a->actor);
	if (store_q0(s, sql_relay_retire, &p, "relay", err) < 0)
		return -1;
	p.n = 1;
	return store_q0(s, sql_relay_drop_cmds, &p, "relay", err);
}

int store_relay_retire(struct store *s, const char *name, bool retire,
		       bool force, const char *actor, struct error *err)
{
	struct retire_arg a = { name, actor, retire, force };

	return store_with_tx(s, tx_retire, &a, err);
}

/*
 * The lag that matters to a relay is that of the domain changes: the
 * age, on the primary, of the oldest change the standby has not
 * replayed.  The age of the last replayed commit is no measure: the
 * relay's own heartbeat, committed on the primary a moment before,
 * is often still in flight, and the commit before it is 10 s old.
 */
static const char sql_standby_seq[] =
	"SELECT pg_is_in_recovery()::int,"
	" coalesce((SELECT max(seq) FROM changes), 0)";
static const char sql_changes_age[] =
	"SELECT coalesce(greatest(extract(epoch FROM now() - min(at)) * 1000,"
	" 0), 0)::bigint FROM changes WHERE seq > $1";
static const char sql_relay_read_lag[] =
	"UPDATE relays SET read_lag_ms = nullif($2::bigint, -1) WHERE name = "
	"$1";

int store_read_lag(struct store *s, struct store *standby, int64_t *lag_ms,
		   struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	int64_t recovery = 0, seq = 0;
	bool ok;

	*lag_ms = -1;
	if ((res = store_run(standby, sql_standby_seq, NULL, "replay lag",
			     err)) == NULL)
		return -1;
	ok = get_i64(res, 0, 0, &recovery) && get_i64(res, 0, 1, &seq);
	PQclear(res);
	if (!ok)
		return error_set(err, ERR_INTERNAL, NULL, "bad replay lag");
	if (recovery == 0)
		return 0;
	p_int(&p, seq);
	if ((res = store_run(s, sql_changes_age, &p, "replay lag", err)) ==
	    NULL)
		return -1;
	ok = get_i64(res, 0, 0, lag_ms);
	PQclear(res);
	return ok ? 0 : error_set(err, ERR_INTERNAL, NULL, "bad replay lag");
}

int store_relay_read_lag(struct store *s, const char *name, int64_t lag_ms,
			 struct error *err)
{
	struct params p = { 0 };

	p_str(&p, name);
	p_int(&p, lag_ms);
	return store_run0(s, sql_relay_read_lag, &p, "replay lag", err);
}

static const char sql_relay_others[] =
	"SELECT count(*) FROM relays WHERE role IN ('relay', 'draining')"
	" AND name <> $1";

int64_t store_relay_count(struct store *s, const char *except,
			  struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	int64_t n = -1;

	p_str(&p, except);
	if ((res = store_run(s, sql_relay_others, &p, "relays", err)) == NULL)
		return -1;
	(void)get_i64(res, 0, 0, &n);
	PQclear(res);
	return n;
}

/* ---- draining ------------------------------------------------------ */

/* every relay, locked in one order (two drains at once cannot both
 * take the last but one active relay, nor deadlock) */
static const char sql_drain_lock[] =
	"SELECT name, role, coalesce(smtp_address, ''),"
	" coalesce(mx_utc(drain_started_at), ''), coalesce(drain_hand_over, '')"
	" FROM relays ORDER BY name FOR UPDATE";
static const char sql_drain_set[] =
	"UPDATE relays SET role = 'draining', drain_started_at = now(),"
	" drain_by = $2, drain_hand_over = $3,"
	" drain_max_age = CASE WHEN $4::bigint > 0"
	"  THEN make_interval(secs => $4::bigint) END"
	" WHERE name = $1";

struct drain_arg {
	const char *name, *hand_over, *actor;
	int64_t max_age_s;
};

/* Columns of sql_drain_lock */
enum { DL_NAME, DL_ROLE, DL_SMTP_ADDRESS, DL_STARTED, DL_HAND_OVER };

/* May relay me of the locked rows (res, n of them) drain?  others:
 * how many other active relays there are. */
static int drain_self_check(PGresult *res, int n, int me, int64_t others,
			    const struct drain_arg *a, struct error *err)
{
	int i;

	if (strcmp(PQgetvalue(res, me, DL_ROLE), "draining") == 0)
		return error_set(
			err, ERR_CONFLICT, "relay",
			"%s is draining already (since %s, handing over to "
			"%s): \"relay activate %s\" ends the drain",
			a->name, PQgetvalue(res, me, DL_STARTED),
			PQgetvalue(res, me, DL_HAND_OVER)[0]
				? PQgetvalue(res, me, DL_HAND_OVER)
				: "nobody",
			a->name);
	if (strcmp(PQgetvalue(res, me, DL_ROLE), "relay") != 0)
		return error_set(err, ERR_CONFLICT, "relay",
				 "%s is not an active relay (role %s)", a->name,
				 PQgetvalue(res, me, DL_ROLE));
	for (i = 0; i < n; i++)
		if (strcmp(PQgetvalue(res, i, DL_ROLE), "draining") == 0 &&
		    strcmp(PQgetvalue(res, i, DL_HAND_OVER), a->name) == 0)
			return error_set(err, ERR_CONFLICT, "relay",
					 "%s takes the queue of draining %s: "
					 "it cannot drain before that one is "
					 "done",
					 a->name, PQgetvalue(res, i, DL_NAME));
	if (others == 0)
		return error_set(err, ERR_CONFLICT, "relay",
				 "%s is the last active relay: draining it "
				 "would leave new mail nowhere to go (start "
				 "another relay first)",
				 a->name);
	return 0;
}

/* May relay ho of the locked rows take a->name's queue?  ho < 0: it
 * is not registered. */
static int drain_hand_over_check(PGresult *res, int ho,
				 const struct drain_arg *a, struct error *err)
{
	if (strcmp(a->hand_over, a->name) == 0)
		return error_set(err, ERR_INVALID, "hand_over",
				 "%s cannot hand its queue over to itself",
				 a->name);
	if (ho < 0)
		return error_set(err, ERR_NOTFOUND, "hand_over",
				 "no relay is registered as %s (--hand-over)",
				 a->hand_over);
	if (strcmp(PQgetvalue(res, ho, DL_ROLE), "relay") != 0)
		return error_set(err, ERR_CONFLICT, "hand_over",
				 "%s is not an active relay (role %s): it "
				 "cannot take over a queue",
				 a->hand_over, PQgetvalue(res, ho, DL_ROLE));
	if (PQgetvalue(res, ho, DL_SMTP_ADDRESS)[0] == '\0')
		return error_set(err, ERR_CONFLICT, "hand_over",
				 "%s has not reported the address it takes "
				 "mail on (its mta-glue sync does, from "
				 "relay.listen or relay.outbound)",
				 a->hand_over);
	return 0;
}

/* The drain of a->name recorded, and its sync woken. */
static int drain_mark(struct store *s, const struct drain_arg *a,
		      struct error *err)
{
	struct params p = { 0 };

	p_str(&p, a->name);
	p_str(&p, a->actor);
	p_str(&p, a->hand_over);
	p_int(&p, a->hand_over != NULL ? a->max_age_s : 0);
	if (store_q0(s, sql_drain_set, &p, "relay", err) < 0)
		return -1;
	/* sql_relay_wake takes the name alone: the first parameter */
	p.n = 1;
	return store_q0(s, sql_relay_wake, &p, "relay", err);
}

static int tx_drain(struct store *s, void *arg, struct error *err)
{
	struct drain_arg *a = arg;
	PGresult *res;
	int me = -1, ho = -1, i, n;
	int64_t others = 0;
	int rc = -1;

	if ((res = store_q(s, sql_drain_lock, NULL, "relay", err)) == NULL)
		return -1;
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		const char *name = PQgetvalue(res, i, DL_NAME);

		if (strcmp(name, a->name) == 0)
			me = i;
		else if (strcmp(PQgetvalue(res, i, DL_ROLE), "relay") == 0)
			others++;
		if (a->hand_over != NULL && strcmp(name, a->hand_over) == 0)
			ho = i;
	}
	if (me < 0)
		error_set(err, ERR_NOTFOUND, "relay",
			  "no relay is registered as %s", a->name);
	else if (drain_self_check(res, n, me, others, a, err) == 0 &&
		 (a->hand_over == NULL ||
		  drain_hand_over_check(res, ho, a, err) == 0))
		rc = drain_mark(s, a, err);
	PQclear(res);
	return rc;
}

int store_relay_drain(struct store *s, const char *name, const char *hand_over,
		      int64_t max_age_s, const char *actor, struct error *err)
{
	struct drain_arg a = { name, hand_over, actor, max_age_s };

	return store_with_tx(s, tx_drain, &a, err);
}

/* the hand-over address only while that relay is active; the hand-over
 * due once the age has passed (at once without one); the peers in full
 * or not at all */
static const char sql_drain_state[] =
	"SELECT r.role, CASE WHEN h.role = 'relay' THEN"
	" coalesce(h.smtp_address, '') ELSE '' END,"
	" (r.drain_max_age IS NULL"
	"  OR now() >= r.drain_started_at + r.drain_max_age)::int,"
	" coalesce(extract(epoch FROM r.drain_started_at)::bigint, 0),"
	/* the relays that hand their queue to this one, by the addresses
	 * they send from */
	" coalesce((SELECT string_agg(DISTINCT host(a), ',')"
	"  FROM relays d, unnest(d.addresses) a"
	"  WHERE d.role = 'draining' AND d.drain_hand_over = r.name), '')"
	" FROM relays r LEFT JOIN relays h ON h.name = r.drain_hand_over"
	" WHERE r.name = $1";

int store_relay_drain_state(struct store *s, const char *name,
			    struct store_drain *out, struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	int64_t due = 0;

	memset(out, 0, sizeof(*out));
	p_str(&p, name);
	if ((res = store_run(s, sql_drain_state, &p, "drain state", err)) ==
	    NULL)
		return -1;
	if (PQntuples(res) == 1) {
		out->draining = strcmp(PQgetvalue(res, 0, 0), "draining") == 0;
		(void)snprintf(out->hand_over, sizeof(out->hand_over), "%s",
			       PQgetvalue(res, 0, 1));
		(void)get_i64(res, 0, 2, &due);
		out->hand_over_due = due != 0;
		(void)get_i64(res, 0, 3, &out->started_at);
		if (PQgetlength(res, 0, 4) < (int)sizeof(out->peers))
			memcpy(out->peers, PQgetvalue(res, 0, 4),
			       (size_t)PQgetlength(res, 0, 4) + 1);
	}
	PQclear(res);
	return 0;
}

static const char sql_smtp_address[] =
	"UPDATE relays SET smtp_address = nullif($2, '')"
	" WHERE name = $1 AND smtp_address IS DISTINCT FROM nullif($2, '')";

int store_relay_smtp_address(struct store *s, const char *name,
			     const char *address, struct error *err)
{
	struct params p = { 0 };

	p_str(&p, name);
	p_str(&p, address);
	return store_run0(s, sql_smtp_address, &p, "relay address", err);
}
