/*
 * store_event - tracking (message_events) and the quarantine digest
 *
 * Tracking rows arrive from relays as JSON and are inserted by
 * PostgreSQL (jsonb_to_recordset) into daily partitions (sql/008),
 * each numbered in the order the relay logged it (seq, sql/015): Postfix
 * logs to the second, so steps of one second are ordered by seq.
 * Searches answer JSON built by PostgreSQL.  A digest is claimed per
 * relay, domain and day, so that it is sent once.
 */
#include "store_event.h"

#include "store_int.h"

#include <ctype.h>

/* ---- tracking: message_events (sql/008) ------------------------- */

static const char sql_events_prepare[] = "SELECT mx_events_prepare($1)";

int store_events_prepare(struct store *s, int keep_days, int *dropped,
			 struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	int64_t n = 0;

	p_int(&p, keep_days);
	res = store_run(s, sql_events_prepare, &p, "tracking partitions", err);
	if (res == NULL)
		return -1;
	(void)get_i64(res, 0, 0, &n);
	PQclear(res);
	*dropped = (int)n;
	return 0;
}

static const char sql_events_add[] =
	"INSERT INTO message_events (at, relay, queue_id, message_id, sender,"
	" recipient, domain, client, helo, verdict, code, reply, destination)"
	" SELECT to_timestamp(x.at), $1, x.queue_id, x.message_id, x.sender,"
	" x.recipient, x.domain, x.client, x.helo, x.verdict, x.code, x.reply,"
	" x.destination FROM ROWS FROM (jsonb_to_recordset($2::jsonb) AS"
	" (at bigint, queue_id text, message_id text, sender text,"
	" recipient text, domain text, client text, helo text, verdict text,"
	" code text, reply text, destination text)) WITH ORDINALITY AS x(at,"
	" queue_id, message_id, sender, recipient, domain, client, helo,"
	" verdict, code, reply, destination, n) ORDER BY x.n";

int store_events_add(struct store *s, const char *relay, const json_t *rows,
		     struct error *err)
{
	struct params p = { 0 };

	p_str(&p, relay);
	p_json(&p, rows);
	return store_run0(s, sql_events_add, &p, "tracking events", err);
}

/* the matching rows, and every row of the queued messages among them */
static const char sql_events_find[] =
	"WITH hit AS (SELECT * FROM message_events"
	" WHERE at >= to_timestamp($4) AND ($1::text IS NULL OR domain = $1)"
	" AND ($2::text IS NULL OR lower(recipient) = $2 OR lower(sender) = $2)"
	" AND ($3::text IS NULL OR message_id = $3)"
	" AND ($5::text[] IS NULL OR domain = ANY($5::text[]))"
	" ORDER BY at DESC, seq DESC LIMIT 20000),"
	" q AS (SELECT DISTINCT relay, queue_id FROM hit"
	"  WHERE queue_id IS NOT NULL),"
	" r AS (SELECT * FROM hit WHERE queue_id IS NULL UNION ALL"
	"  SELECT e.* FROM message_events e JOIN q USING (relay, queue_id)"
	"  WHERE e.at >= to_timestamp($4) - interval '31 days')"
	" SELECT coalesce(json_agg(json_build_object('at', mx_utc(at),"
	" 'at_s', extract(epoch FROM at)::bigint, 'relay', relay,"
	" 'queue_id', queue_id, 'message_id', message_id, 'sender', sender,"
	" 'recipient', recipient, 'domain', domain, 'client', client,"
	" 'helo', helo, 'verdict', verdict, 'code', code, 'reply', reply,"
	" 'destination', destination) ORDER BY at, seq), '[]')::text FROM r";

json_t *store_events_find(struct store *s, const char *domain,
			  const char *address, const char *message_id,
			  int64_t since, const struct domain_name *scope,
			  size_t nscope, struct error *err)
{
	struct params p = { 0 };
	struct strbuf arr = STRBUF_INIT;
	char low[321];
	size_t i;
	json_t *j;

	for (i = 0; address != NULL && address[i] && i + 1 < sizeof(low); i++)
		low[i] = (char)tolower((unsigned char)address[i]);
	low[address ? i : 0] = '\0';
	p_str(&p, domain);
	p_str(&p, address ? low : NULL);
	p_str(&p, message_id);
	p_int(&p, since);
	/* A-labels: [a-z0-9.-] only, safe inside an array literal */
	sbuf_addch(&arr, '{');
	for (i = 0; i < nscope; i++)
		sbuf_addf(&arr, "%s%s", i ? "," : "", scope[i].alabel);
	sbuf_addch(&arr, '}');
	p_str(&p, nscope > 0 ? arr.buf : NULL);
	j = store_json_query(s, sql_events_find, &p, "tracking", err);
	sbuf_release(&arr);
	return j;
}

static const char sql_events_recent[] =
	"SELECT coalesce(json_agg(json_build_object('at', mx_utc(at),"
	" 'relay', relay, 'queue_id', queue_id, 'message_id', message_id,"
	" 'sender', sender, 'recipient', recipient, 'client', client,"
	" 'verdict', verdict, 'code', code, 'reply', reply)"
	" ORDER BY at DESC, seq DESC),"
	" '[]')::text FROM (SELECT * FROM message_events"
	" WHERE domain = $1 AND at >= to_timestamp($2)"
	" AND verdict = ANY($3::text[])"
	" ORDER BY at DESC, seq DESC LIMIT $4) e";

json_t *store_events_recent(struct store *s, const char *domain,
			    const char *verdicts, int64_t since, long limit,
			    struct error *err)
{
	struct params p = { 0 };

	p_str(&p, domain);
	p_int(&p, since);
	p_str(&p, verdicts);
	p_int(&p, limit);
	return store_json_query(s, sql_events_recent, &p, "tracking", err);
}

/* ---- the quarantine digest ------------------------------------------ */

static const char sql_digest_targets[] =
	"SELECT coalesce(json_agg(json_build_object('domain', name, 'address',"
	" quarantine_digest) ORDER BY name), '[]')::text"
	" FROM domains WHERE name = ANY (string_to_array($1, ','))"
	" AND quarantine_digest <> ''";
static const char sql_digest_claim[] =
	"INSERT INTO quarantine_digests (relay, domain, day, messages)"
	" VALUES ($1, $2, $3::date, $4::integer) ON CONFLICT DO NOTHING"
	" RETURNING 1";
static const char sql_digest_unclaim[] =
	"DELETE FROM quarantine_digests WHERE relay = $1 AND domain = $2"
	" AND day = $3::date";
static const char sql_digest_prune[] =
	"DELETE FROM quarantine_digests WHERE day < $1::date - 60";

json_t *store_digest_targets(struct store *s, char *const *names, size_t n,
			     struct error *err)
{
	struct params p = { 0 };
	struct strbuf *sb;
	json_t *j;
	size_t i;

	sb = p_big(&p);
	for (i = 0; i < n; i++)
		sbuf_addf(sb, "%s%s", i ? "," : "", names[i]);
	p_big_done(&p);
	j = store_json_query(s, sql_digest_targets, &p, "digest targets", err);
	p_release(&p);
	return j;
}

int store_digest_claim(struct store *s, const char *relay, const char *domain,
		       const char *day, long messages, struct error *err)
{
	struct params p = { 0 };
	PGresult *res;
	int rc;

	p_str(&p, relay);
	p_str(&p, domain);
	p_str(&p, day);
	p_int(&p, messages);
	res = store_run(s, sql_digest_claim, &p, "digest claim", err);
	if (res == NULL)
		return -1;
	rc = PQntuples(res) > 0 ? 1 : 0;
	PQclear(res);
	if (rc == 1) {
		p = (struct params){ 0 };
		p_str(&p, day);
		/* bookkeeping: a failure here changes nothing that matters */
		if (store_q0(s, sql_digest_prune, &p, "digest prune", err) < 0)
			error_clear(err);
		p_release(&p);
	}
	return rc;
}

int store_digest_unclaim(struct store *s, const char *relay, const char *domain,
			 const char *day, struct error *err)
{
	struct params p = { 0 };

	p_str(&p, relay);
	p_str(&p, domain);
	p_str(&p, day);
	return store_run0(s, sql_digest_unclaim, &p, "digest unclaim", err);
}
