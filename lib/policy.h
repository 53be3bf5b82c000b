/*
 * policy - the relay's per-recipient decisions (SPEC section 4, step 2)
 *
 * policy_load() reads the snapshot gen.c wrote (never the database) and
 * re-validates every line: domain names, modes, numbers, rules (regexes
 * compiled once here, CIDRs parsed again); one bad line refuses the
 * whole file, so the daemon keeps the snapshot it had - except a sender
 * regex that today's checks refuse (saved before they grew stricter):
 * that rule is skipped with a warning and the rest loads.
 *
 * policy_decide() answers one Postfix policy request with the text of
 * an "action=" line:
 *   RCPT, unknown recipient domain (also subdomains, address literals)
 *                                   550 5.1.2
 *   RCPT, a second recipient domain in one transaction  452 4.5.3
 *   RCPT, SIZE= over the domain's limit                  552 5.3.4
 *   RCPT, a block rule matches (sender regex against the whole envelope
 *         sender, or client CIDR) and no allow rule     554 5.7.1,
 *                                                   450 4.7.1 for backup
 *   RCPT, a sender regex hit its match limits (logged) where its answer
 *         mattered: a block rule with no allow rule matched, or an
 *         allow rule when a block rule matched         451 4.3.0
 *   END-OF-MESSAGE, size over the transaction domain's limit  552 5.3.4
 *   ETRN for a domain from an address that is not one of its
 *         destinations (or for no domain of ours)         554 5.7.1
 *   RCPT, recipients = list and the address not listed   550 5.1.1,
 *                                                   450 4.1.1 for backup
 *   RCPT, otherwise a restriction class of main.cf, which begins
 *         with the site's DNS blocklists and sender checks:
 *         recipients = verify      -> address verification by callout
 *         greylisting on and no allow rule matched -> postgrey
 *         (both: POLICY_VERIFY_GREYLIST_CLASS; neither:
 *         POLICY_FEED_CLASS)
 *         backup domains use the POLICY_BACKUP_* classes: what the
 *         class would refuse (a listed client, a recipient the primary
 *         refuses) gets 450 4.7.1, not 5xx; a recipient the primary
 *         cannot be asked about 450 4.1.1 as for feed
 *   anything else                                        DUNNO
 * The session remembers the transaction (Postfix's "instance") and its
 * recipient domain.  Messages never echo client text.
 */
#ifndef MXFEED_POLICY_H
#define MXFEED_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "domain.h"
#include "model.h"
#include "rule.h"
#include "util/cidr.h"
#include "util/error.h"
#include "util/strbuf.h"

/*
 * restriction classes main.cf defines (templates/postfix/main.cf.in);
 * each begins with the site's envelope checks (DNS blocklists, sender
 * checks); the backup ones put DEFER_IF_REJECT first, so that what the
 * class would refuse (a listed client, a recipient the primary refuses)
 * is deferred (450 4.7.1) instead
 */
#define POLICY_FEED_CLASS		    "mxfeed_feed"
#define POLICY_BACKUP_CLASS		    "mxfeed_backup"
#define POLICY_BACKUP_GREYLIST_CLASS	    "mxfeed_backup_greylist"
#define POLICY_GREYLIST_CLASS		    "mxfeed_greylist"
#define POLICY_VERIFY_CLASS		    "mxfeed_verify"
#define POLICY_VERIFY_GREYLIST_CLASS	    "mxfeed_verify_greylist"
#define POLICY_BACKUP_VERIFY_CLASS	    "mxfeed_backup_verify"
#define POLICY_BACKUP_VERIFY_GREYLIST_CLASS "mxfeed_backup_verify_greylist"

struct policy_rule {
	enum rule_action action;
	enum rule_kind kind;
	struct rule_regex *re; /* RULE_SENDER_REGEX, compiled at load */
	struct cidr net;
};

struct policy_domain {
	char name[DOMAIN_NAME_MAX + 1];
	enum domain_mode mode;
	long long maxbytes;
	bool greylisting;
	enum recipients_mode recipients;
	size_t nips;
	struct ip_addr *ips; /* destination and fallbacks */
	size_t nrules;
	struct policy_rule *rules;
	size_t nrcpts;
	char **rcpts; /* recipients = list: local parts, sorted */
};

struct policy_map;

struct policy {
	size_t n;
	struct policy_domain *v; /* sorted by name */
	struct policy_map *map;	 /* policy_map(): the file, searched in place */
};

struct policy_session {
	char instance[128];
	char domain[DOMAIN_NAME_MAX + 1];
};

struct policy_request {
	const char *state; /* protocol_state: RCPT, END-OF-MESSAGE... */
	const char *instance;
	const char *recipient;
	const char *sender;
	const char *client_address;
	const char *size;	 /* decimal, may be NULL or "0" */
	const char *etrn_domain; /* ETRN's argument, "#domain" or "domain" */
	const char *queue_id;	 /* Postfix's, once it has one; for logs */
};

int policy_load(const char *path, struct policy *out, struct error *err)
	__attribute__((warn_unused_result));
/*
 * policy_map() maps the snapshot read-only (shared with every other
 * policyd: nothing of it is copied) and reads only its header rows, so
 * it takes the same time whatever the number of domains.  policy_find()
 * then binary-searches the file in place: the domain row (sections in
 * header order domain, rule, rcpt, each in name order - as gen.c writes
 * them) and the rule and rcpt rows of that name, and checks them with
 * policy_load()'s rules; the result stays in a small per-process cache
 * (POLICY_CACHE domains, regexes compiled once per entry), valid until
 * the next policy_find().  A row that fails the checks is logged and
 * the request is deferred (451 4.3.0), never answered as unknown.  The
 * file must be replaced (rename), never rewritten in place.
 */
#define POLICY_CACHE 256
int policy_map(const char *path, struct policy *out, struct error *err)
	__attribute__((warn_unused_result));
/*
 * policy_index() writes the sparse index policy_map() uses when it finds
 * PATH.idx beside the snapshot (mta-glue writes "policy.idx"): a header
 * line naming the version, the columns and the snapshot's size in bytes,
 * POLICY_INDEX_HEADER "SIZE", then "NAME\tOFFSET" for every
 * POLICY_INDEX_STRIDE-th domain row (in name order; OFFSET the row's
 * byte offset in the snapshot).  A lookup then binary-searches the small
 * index (it stays in the CPU caches) and only a stride of the
 * snapshot's rows; an index of another size, or whose offsets do not
 * fit, is ignored and the whole section searched.
 */
#define POLICY_INDEX_HEADER                                                    \
	"#mxfeed-policy-index\tversion=1\tname\toffset\tsize="
#define POLICY_INDEX_STRIDE 32
void policy_index(const char *text, size_t len, struct strbuf *out);
void policy_release(struct policy *p);
const struct policy_domain *policy_find(const struct policy *p,
					const char *alabel);
void policy_decide(const struct policy *p, struct policy_session *ss,
		   const struct policy_request *rq, struct strbuf *action);

#endif
