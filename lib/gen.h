/*
 * gen - a relay's mail-stack configuration from a snapshot of records
 *
 * gen_domain() and gen_rule() take records read back from the store,
 * re-validate them (domain_check, rule_parse: a row the validators
 * refuse aborts the generation - it means a bug - except a sender regex
 * saved before the regex checks grew stricter, which is left out with a
 * warning and counted in nskipped), and append lines to the
 * generation's files:
 *   relay_domains  "NAME OK" for every domain (Postfix lmdb map source);
 *   transport      "NAME smtp:[IP]:PORT, [IP]:PORT..." for feed/backup,
 *                  "NAME lmtp:DEST" for pop3 and temporary POP3;
 *   policy         the policy daemon's snapshot (policy.c reads it), a
 *                  keyed snapshot file (snapshot.h) with rows
 *                  "domain": name, mode, max_bytes, the fields.def rows
 *                  flagged FF_SNAP_POLICY, ips (destination and
 *                  fallbacks, comma-separated); "rule": name, action,
 *                  kind, value; "rcpt": name, local (recipients = list);
 *   spam           rspamd's per-domain policy (rspamd.local.lua reads
 *                  it), a plain snapshot file: name, mode, the rows
 *                  flagged FF_SNAP_SPAM ("spam.enabled", ...);
 *   modes          rspamd's per-mode filters (mxfeed-filters.lua reads
 *                  it): a "#domain\tmode\tspam" header row, then
 *                  "NAME\tMODE\tSPAM_ENABLED" (gen_mode_line());
 *   queue          each domain's queue lifetime for mta-glue
 *                  queue-expire (queue.c reads it): name, the rows
 *                  flagged FF_SNAP_QUEUE ("queue.days",
 *                  "queue.extended_until": unix seconds, 0 = none).
 * Each snapshot file starts with its header rows; a column's name is the
 * setting's JSON path, so a new setting reaches the relays by a flag in
 * its fields.def row.  The writers map_line_add() and snap_row() refuse
 * any byte that the format could misread (control characters, and
 * space or '#' in a map key), so no input can add a line or a setting.
 * gen_smtpd_checks() gives the restriction-class text of the site's
 * envelope checks (dnsbl.*, senders.*) that main.cf's feed and backup
 * classes begin with: "reject_rbl_client ZONE, ..." (each zone
 * re-checked by conf_dnsbl_parse), ending in ", " or empty.
 *   tls_policy     Postfix's smtp_tls_policy_maps source, by next hop:
 *                  "[IP]:PORT encrypt" or "[IP]:PORT fingerprint
 *                  match=AB:...|CD:..." (gen_domain() calls
 *                  gen_tls_policy_add() for a feed or backup domain's
 *                  destination and each fallback, not while it is in
 *                  temporary POP3; gen_tls_policy_finish() at the end: a
 *                  server shared by several domains gets the strictest
 *                  of their policies and all their fingerprints);
 *                  "may" needs no line (smtp_tls_security_level).
 *   tls_domains    what tls_policy is made of, by domain (a plain
 *                  snapshot file: name, hop "[IP]:PORT", policy
 *                  "encrypt" or "verify", fp: the canonical fingerprint
 *                  or "-"), so that an incremental generation (incr.h)
 *                  merges a domain's next hops like its other rows;
 *                  gen_tls_load() takes such a file's rows back into
 *                  the entries gen_tls_policy_finish() merges (a row it
 *                  would not write is an error).
 * gen_smtpd_tls() gives main.cf's inbound STARTTLS settings and
 * gen_dovecot_tls() Dovecot's (dovecot/tls.conf.ext): with the site's
 * key pair, STARTTLS offered (Postfix) and TLS required with no
 * plaintext authentication (Dovecot, when mailbox.listen is not
 * loopback); without a pair, a listener beyond loopback is refused -
 * a relay never runs without TLS because a setting was forgotten.
 * gen_postgrey_args() gives postgrey's command-line options (listen
 * address, delay, client /24 and IPv6 /64 triplets) for postgrey.args.
 * gen_fill() expands a text template's @NAME@ placeholders (main.cf,
 * master.cf; "@@" is a literal '@') with values held to the same rule; an
 * unknown or unset placeholder is an error, never left in place.
 */
#ifndef MXFEED_GEN_H
#define MXFEED_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "model.h"
#include "rule.h"
#include "snapshot.h"
#include "tls.h"
#include "util/error.h"
#include "util/strbuf.h"

/* A column of a domain's snapshot row: a fields.def row, or made here. */
enum gen_col_kind { GC_FIELD, GC_NAME, GC_MODE, GC_MAX_BYTES, GC_IPS };

struct gen_file {
	struct snap_schema schema;
	const char *names[SNAP_COLS_MAX];
	enum gen_col_kind kind[SNAP_COLS_MAX];
	const struct field *field[SNAP_COLS_MAX];
	struct strbuf value[SNAP_COLS_MAX]; /* reused from row to row */
};

struct gen {
	const struct conf *conf;
	struct gen_file policy_cols, spam_cols, queue_cols;
	struct strbuf relay_domains;
	struct strbuf transport;
	struct strbuf policy;
	struct strbuf queue;
	struct strbuf spam;  /* rspamd/mxfeed-domains */
	struct strbuf modes; /* rspamd/mxfeed-modes */
	struct strbuf tls_domains;
	struct gen_tls *tls; /* tls_policy entries, merged at the end */
	size_t ntls;
	size_t ndomains, nrules;
	size_t nskipped;    /* stored sender regexes rule_parse now refuses */
	int max_message_mb; /* the largest of any domain and the site's */
};

struct gen_var {
	const char *name;
	const char *value;
};

void gen_init(struct gen *g, const struct conf *conf);
void gen_release(struct gen *g);
int gen_domain(struct gen *g, const struct domain *d, struct error *err)
	__attribute__((warn_unused_result));
int gen_rule(struct gen *g, const char *alabel, const struct rule *r,
	     struct error *err) __attribute__((warn_unused_result));
int gen_rcpt(struct gen *g, const char *alabel, const char *local,
	     struct error *err) __attribute__((warn_unused_result));

int map_line_add(struct strbuf *out, const char *key, const char *value,
		 struct error *err) __attribute__((warn_unused_result));
/* Fields joined by tabs; n fields. */
int policy_line_add(struct strbuf *out, const char *const *fields, size_t n,
		    struct error *err) __attribute__((warn_unused_result));
int gen_mode_line(struct gen *g, const struct domain *d, struct error *err)
	__attribute__((warn_unused_result));
int gen_smtpd_checks(const struct conf *conf, struct strbuf *feed,
		     struct strbuf *backup, struct error *err)
	__attribute__((warn_unused_result));
int gen_tls_policy_add(struct gen *g, const struct dest *d,
		       enum tls_policy policy, const char *fingerprint,
		       struct error *err) __attribute__((warn_unused_result));
int gen_tls_policy_finish(struct gen *g, struct strbuf *out, struct error *err)
	__attribute__((warn_unused_result));
int gen_tls_load(struct gen *g, const char *text, size_t len, struct error *err)
	__attribute__((warn_unused_result));
/* *level: "may" or "none"; chain: "KEY, CERT" or empty */
int gen_smtpd_tls(const struct conf *conf, const char **level,
		  struct strbuf *chain, struct error *err)
	__attribute__((warn_unused_result));
int gen_dovecot_tls(const struct conf *conf, struct strbuf *out,
		    struct error *err) __attribute__((warn_unused_result));
void gen_postgrey_args(const struct conf *conf, struct strbuf *out);
int gen_fill(const char *name, const char *text, const struct gen_var *vars,
	     size_t nvars, struct strbuf *out, struct error *err)
	__attribute__((warn_unused_result));

#endif
