/*
 * fake_store - the in-memory store of test_ops (see fake_store.h)
 */
#include "fake_store.h"

#include "relay.h"

#include <stdlib.h>
#include <string.h>

struct store {
	struct fake_store f;
};

struct store *fake_store_new(void)
{
	return calloc(1, sizeof(struct store));
}

void fake_store_free(struct store *s)
{
	free(s);
}

struct fake_store *fake_store_of(struct store *s)
{
	return &s->f;
}

struct fake_row *fake_store_find(struct store *s, const char *alabel)
{
	size_t i;

	for (i = 0; i < FAKE_DOMAINS; i++)
		if (s->f.rows[i].used &&
		    strcmp(s->f.rows[i].d.name.alabel, alabel) == 0)
			return &s->f.rows[i];
	return NULL;
}

void fake_store_put(struct store *s, const struct domain *d, size_t n,
		    size_t temporary)
{
	size_t i;

	for (i = 0; i < FAKE_DOMAINS && s->f.rows[i].used; i++)
		;
	if (i == FAKE_DOMAINS)
		abort();
	s->f.rows[i].used = true;
	s->f.rows[i].d = *d;
	if (s->f.rows[i].d.version == 0)
		s->f.rows[i].d.version = 1;
	s->f.rows[i].mailboxes = n;
	s->f.rows[i].temp_mailboxes = temporary;
}

enum lookup store_domain_get(struct store *s, const struct domain_name *dn,
			     struct domain *out, struct propagation *prop,
			     struct error *err)
{
	struct fake_row *r = fake_store_find(s, dn->alabel);

	(void)err;
	if (r == NULL)
		return LOOKUP_NOTFOUND;
	*out = r->d;
	if (prop)
		memset(prop, 0, sizeof(*prop));
	return LOOKUP_FOUND;
}

/* The row old was read from, unless someone changed it since. */
static struct fake_row *current(struct store *s, const struct domain *old,
				struct error *err)
{
	struct fake_row *r = fake_store_find(s, old->name.alabel);

	if (r == NULL) {
		error_set(err, ERR_NOTFOUND, "name", "no such domain");
		return NULL;
	}
	if (s->f.race_next > 0) {
		s->f.race_next--;
		r->d.version++;
	}
	if (r->d.version != old->version) {
		s->f.conflicts++;
		error_set(err, ERR_STALE, "version",
			  "version is %lld, not %lld: changed by someone",
			  (long long)r->d.version, (long long)old->version);
		return NULL;
	}
	return r;
}

static void store_row(struct store *s, struct fake_row *r, struct domain *nd,
		      const char *action)
{
	nd->version = r->d.version + 1;
	r->d = *nd;
	s->f.writes++;
	(void)snprintf(s->f.last_action, sizeof(s->f.last_action), "%s",
		       action);
}

int store_domain_create(struct store *s, struct domain *d,
			const struct change_ctx *ctx, struct error *err)
{
	(void)ctx;
	if (fake_store_find(s, d->name.alabel) != NULL)
		return error_set(err, ERR_CONFLICT, "name", "exists");
	d->version = 1;
	fake_store_put(s, d, 0, 0);
	s->f.writes++;
	return 0;
}

int store_domain_update(struct store *s, const struct domain *old,
			struct domain *nd, const struct change_ctx *ctx,
			const char *action, struct error *err)
{
	struct fake_row *r = current(s, old, err);

	(void)ctx;
	if (r == NULL)
		return -1;
	store_row(s, r, nd, action);
	return 0;
}

int store_domain_remove(struct store *s, const struct domain *old,
			const struct change_ctx *ctx, struct error *err)
{
	struct fake_row *r = current(s, old, err);

	(void)ctx;
	if (r == NULL)
		return -1;
	if (r->mailboxes > 0)
		return error_set(err, ERR_CONFLICT, "mailboxes",
				 "%s still has mailboxes", old->name.alabel);
	r->used = false;
	s->f.removes++;
	return 0;
}

int store_switch(struct store *s, const struct switch_req *q, long *jobs,
		 const struct change_ctx *ctx, struct error *err)
{
	struct fake_row *r = current(s, q->old, err);

	(void)ctx;
	if (r == NULL)
		return -1;
	*jobs = 0;
	if (q->job_kind != NULL && q->job_kind[0] != '\0')
		*jobs = (long)(q->temp_only ? r->temp_mailboxes : r->mailboxes);
	(void)snprintf(s->f.last_job, sizeof(s->f.last_job), "%s",
		       q->job_kind ? q->job_kind : "");
	if (q->temp_only)
		r->mailboxes -= r->temp_mailboxes, r->temp_mailboxes = 0;
	else if (*jobs > 0)
		r->mailboxes = 0;
	r->mailboxes += q->n;
	s->f.jobs += *jobs;
	store_row(s, r, q->nd, q->action);
	return 0;
}

int store_temp_pop3(struct store *s, const struct domain *old,
		    struct domain *nd, const struct mailbox *mbs,
		    char *const *hashes, size_t n, const struct change_ctx *ctx,
		    struct error *err)
{
	struct fake_row *r = current(s, old, err);

	(void)mbs, (void)hashes, (void)ctx;
	if (r == NULL)
		return -1;
	r->mailboxes += n;
	r->temp_mailboxes += n;
	store_row(s, r, nd, "temp-pop3");
	return 0;
}

int store_mailbox_list(struct store *s, const struct domain_name *dn,
		       struct mailbox **out, size_t *n, struct error *err)
{
	struct fake_row *r = fake_store_find(s, dn->alabel);
	size_t i;

	(void)err;
	*n = r ? r->mailboxes : 0;
	*out = calloc(*n + 1, sizeof(**out));
	for (i = 0; i < *n; i++) {
		(void)snprintf((*out)[i].local, sizeof((*out)[i].local),
			       "box%zu", i);
		(*out)[i].temporary = i < r->temp_mailboxes;
	}
	return 0;
}

/* The rest of the store: ops' tests do not reach it. */
#define UNAVAILABLE(name)                                                      \
	error_set(err, ERR_UNAVAILABLE, NULL, "fake store: %s", name)

int store_domain_apply(struct store *s, struct apply_item *items, size_t n,
		       const struct change_ctx *ctx, struct error *err)
{
	(void)s, (void)items, (void)n, (void)ctx;
	return UNAVAILABLE("store_domain_apply");
}

json_t *store_history(struct store *s, const struct domain_name *dn, long limit,
		      struct error *err)
{
	(void)s, (void)dn, (void)limit;
	UNAVAILABLE("store_history");
	return NULL;
}

int store_mailbox_add(struct store *s, const struct domain *d,
		      const struct mailbox *mb, const char *hash,
		      const struct change_ctx *ctx, struct error *err)
{
	struct fake_row *r = fake_store_find(s, d->name.alabel);

	(void)mb, (void)hash, (void)ctx, (void)err;
	if (r)
		r->mailboxes++;
	return 0;
}

int store_mailbox_passwd(struct store *s, const struct domain *d,
			 const char *local, const char *hash,
			 const struct change_ctx *ctx, struct error *err)
{
	(void)s, (void)d, (void)local, (void)hash, (void)ctx;
	return UNAVAILABLE("store_mailbox_passwd");
}

int store_mailbox_remove(struct store *s, const struct domain *d,
			 const char *local, const struct change_ctx *ctx,
			 struct error *err)
{
	(void)s, (void)d, (void)local, (void)ctx;
	return UNAVAILABLE("store_mailbox_remove");
}

int store_rule_list(struct store *s, const struct domain_name *dn,
		    struct rule **out, size_t *n, struct error *err)
{
	(void)s, (void)dn, (void)out, (void)n;
	return UNAVAILABLE("store_rule_list");
}

int store_rule_add(struct store *s, const struct domain *d, struct rule *r,
		   const struct change_ctx *ctx, struct error *err)
{
	(void)s, (void)d, (void)r, (void)ctx;
	return UNAVAILABLE("store_rule_add");
}

int store_rule_remove(struct store *s, const struct domain *d,
		      const struct rule *r, const struct change_ctx *ctx,
		      struct error *err)
{
	(void)s, (void)d, (void)r, (void)ctx;
	return UNAVAILABLE("store_rule_remove");
}

int store_relay_retire(struct store *s, const char *name, bool retire,
		       bool force, const char *actor, struct error *err)
{
	(void)s, (void)name, (void)retire, (void)force, (void)actor;
	return UNAVAILABLE("store_relay_retire");
}

int store_token_create(struct store *s, const struct token_info *t,
		       const unsigned char hash[TOKEN_HASH_LEN],
		       const struct change_ctx *ctx, struct error *err)
{
	(void)s, (void)t, (void)hash, (void)ctx;
	return UNAVAILABLE("store_token_create");
}

enum lookup store_token_by_hash(struct store *s,
				const unsigned char hash[TOKEN_HASH_LEN],
				struct token_info *out, int64_t *last_used,
				struct error *err)
{
	(void)s, (void)hash, (void)out, (void)last_used;
	UNAVAILABLE("store_token_by_hash");
	return LOOKUP_FAIL;
}

int store_token_touch(struct store *s, const char *name, struct error *err)
{
	(void)s, (void)name;
	return UNAVAILABLE("store_token_touch");
}

int store_staff_add(struct store *s, const struct staff_info *st,
		    const struct change_ctx *ctx, struct error *err)
{
	(void)s, (void)st, (void)ctx;
	return UNAVAILABLE("store_staff_add");
}

int store_staff_set(struct store *s, const char *login,
		    const enum token_role *role,
		    const struct domain_name *domains, size_t ndomains,
		    bool domains_given, const struct change_ctx *ctx,
		    struct error *err)
{
	(void)s, (void)login, (void)role, (void)domains, (void)ndomains,
		(void)domains_given, (void)ctx;
	return UNAVAILABLE("store_staff_set");
}

int store_staff_remove(struct store *s, const char *login,
		       const struct change_ctx *ctx, struct error *err)
{
	(void)s, (void)login, (void)ctx;
	return UNAVAILABLE("store_staff_remove");
}

enum lookup store_staff_get(struct store *s, const char *login,
			    struct staff_info *out, struct error *err)
{
	(void)s, (void)login, (void)out;
	UNAVAILABLE("store_staff_get");
	return LOOKUP_FAIL;
}

json_t *store_command_add(struct store *s, const struct relay_cmd *c,
			  struct error *err)
{
	(void)s, (void)c;
	UNAVAILABLE("store_command_add");
	return NULL;
}

int store_command_finish(struct store *s, int64_t id, bool ok,
			 const json_t *result, const char *error,
			 struct error *err)
{
	(void)s, (void)id, (void)ok, (void)result, (void)error;
	return UNAVAILABLE("store_command_finish");
}

json_t *store_command_status(struct store *s, const char *ids,
			     struct error *err)
{
	(void)s, (void)ids;
	UNAVAILABLE("store_command_status");
	return NULL;
}

json_t *store_command_take(struct store *s, const char *relay,
			   struct error *err)
{
	(void)s, (void)relay;
	UNAVAILABLE("store_command_take");
	return NULL;
}

int store_events_add(struct store *s, const char *relay, const json_t *rows,
		     struct error *err)
{
	(void)s, (void)relay, (void)rows;
	return UNAVAILABLE("store_events_add");
}

json_t *store_events_find(struct store *s, const char *domain,
			  const char *address, const char *message_id,
			  int64_t since, const struct domain_name *scope,
			  size_t nscope, struct error *err)
{
	(void)s, (void)domain, (void)address, (void)message_id, (void)since,
		(void)scope, (void)nscope;
	UNAVAILABLE("store_events_find");
	return NULL;
}

json_t *store_events_recent(struct store *s, const char *domain,
			    const char *verdicts, int64_t since, long limit,
			    struct error *err)
{
	(void)s, (void)domain, (void)verdicts, (void)since, (void)limit;
	UNAVAILABLE("store_events_recent");
	return NULL;
}

int store_events_prepare(struct store *s, int keep_days, int *dropped,
			 struct error *err)
{
	(void)s, (void)keep_days, (void)dropped;
	return UNAVAILABLE("store_events_prepare");
}

int store_queue_publish(struct store *s, const char *relay,
			const json_t *summary, int64_t total, struct error *err)
{
	(void)s, (void)relay, (void)summary, (void)total;
	return UNAVAILABLE("store_queue_publish");
}

json_t *store_queue_view(struct store *s, const char *domain, struct error *err)
{
	(void)s, (void)domain;
	UNAVAILABLE("store_queue_view");
	return NULL;
}

/* no relay at all: nothing is queued (remove_queue_check) */
int64_t store_relay_count(struct store *s, const char *except,
			  struct error *err)
{
	(void)s, (void)except, (void)err;
	return 0;
}

/* lib/relay.c, whose generations need the real store: this host is no
 * relay (fleet.c asks) */
int64_t relay_current_seq(const struct conf *conf)
{
	(void)conf;
	return 0;
}

/*
 * Never called by test_ops (its stores come from fake_store_new()):
 * defined so that a real store module the link pulls in after all (one
 * whose function the fake lacks) drags lib/store.o, which every module
 * needs, in with it, and the two store_open()s fail the link instead of
 * test_ops quietly running against the database code.
 */
int store_open(struct store **out, const char *conninfo,
	       const struct conf *conf, struct error *err)
{
	(void)out, (void)conninfo, (void)conf;
	return UNAVAILABLE("store_open");
}

void store_close(struct store *s)
{
	(void)s;
}
