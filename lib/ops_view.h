/*
 * ops_view - the listings the front ends show, and their session
 *
 * The rest of ops changes things; these read.  Each takes a front
 * end's raw text (a mode name, a match text, a domain name), runs it
 * through the one validator of its kind and returns the rows as the
 * API spells them, so feedctl, the API and the portal list the same
 * things under the same rules.  ops_session_open() and _close() hold
 * the database connection an ops_ctx works on, so a front end never
 * calls the store itself.
 *
 * Errors: NULL or -1 with err set: ERR_INVALID for bad input,
 * ERR_TEMPFAIL when the database is down.  Never logs, never exits.
 */
#ifndef MXFEED_OPS_VIEW_H
#define MXFEED_OPS_VIEW_H

#include <jansson.h>

#include "conf.h"
#include "ops.h"
#include "util/error.h"

/* Bounds of the front ends' numbers, here once. */
#define OPS_VERSION_MAX	     1000000000L /* an expected version (--if-version) */
#define OPS_TOKEN_DAYS_MAX   3650	 /* a token's lifetime, days */
#define OPS_DOMAIN_LIST_PAGE 1000	 /* rows read per page */

/* Open ox->store on conf's database (ox->conf = conf). */
int ops_session_open(struct ops_ctx *ox, const struct conf *conf,
		     struct error *err) __attribute__((warn_unused_result));
/* Close ox->store, if open; ox->store is NULL afterwards. */
void ops_session_close(struct ops_ctx *ox);

/*
 * Every domain, by name, as domain_to_json() with its propagation.
 * mode: "pop3", "feed", "backup" or NULL for any; match: printable
 * UTF-8 text in the name, or NULL.
 */
json_t *ops_domain_list(const struct ops_ctx *ox, const char *mode,
			const char *match, struct error *err);
/*
 * One page of the domain list, keyset-paged on the A-label, as a front
 * end that pages itself (the portal) asks for it: f->mode -1 for any,
 * f->after NULL for the first page, f->limit 1..OPS_DOMAIN_LIST_PAGE
 * (the store refuses others), f->scope a domain group's names.
 * Release out with domain_list_release().
 */
int ops_domain_page(const struct ops_ctx *ox, const struct domain_filter *f,
		    struct domain_list *out, struct error *err)
	__attribute__((warn_unused_result));
/* The newest audit rows (at most limit) of a domain already read. */
json_t *ops_domain_history(const struct ops_ctx *ox,
			   const struct domain_name *dn, long limit,
			   struct error *err);
/* The sequence number of the newest change, the relays' goal. */
int ops_change_seq(const struct ops_ctx *ox, int64_t *seq, struct error *err)
	__attribute__((warn_unused_result));
/* The jobs of one domain (name, validated) or of all (name NULL). */
json_t *ops_job_list(const struct ops_ctx *ox, const char *name,
		     struct error *err);
/* The jobs of a domain already read. */
json_t *ops_domain_jobs(const struct ops_ctx *ox, const struct domain_name *dn,
			struct error *err);
json_t *ops_relay_list(const struct ops_ctx *ox, struct error *err);
json_t *ops_token_list(const struct ops_ctx *ox, struct error *err);
json_t *ops_staff_list(const struct ops_ctx *ox, struct error *err);
int ops_token_revoke(const struct ops_ctx *ox, const char *name,
		     struct error *err) __attribute__((warn_unused_result));

#endif
