/*
 * mailjob - the mailbox work that follows a switch (SPEC section 5)
 *
 * The jobs worker (mta-glue worker, on the mailbox host) claims jobs
 * from the store and runs them here, step by step.  Each kind is a
 * fixed list of steps; the job's step number and payload are saved
 * after every step and after every message forwarded, so a worker that
 * dies is replaced by another that goes on from there.
 *
 *   mailbox-forward  forward, archive, remove
 *   mailbox-archive  archive, remove
 *   mailbox-purge    remove
 *   archive-expire   expire (deletes an archive after limits.archive_days)
 *
 * forward: every message that arrived over LMTP (see reinject.h) is
 * handed to a relay's re-injection listener with its original envelope,
 * then expunged through the doveadm HTTP API, 50 at a time.  The guid
 * of a message is saved in "sent" as soon as the relay took it, before
 * it is expunged, so a resumed job expunges it without sending it
 * again.  The one window left is between the relay's
 * 250 and that save: a worker killed exactly there sends that one
 * message twice - a duplicate, never a loss.  Only LMTP puts mail in a
 * mailbox (Dovecot's ACL denies IMAP APPEND, COPY and MOVE, see
 * dovecot.conf.in), so the envelope read back is the one Dovecot
 * recorded on delivery; a message without it (left from before) or
 * naming another domain's recipient, and those in Trash, are marked
 * $MxfeedKept and left for the archive.  The step repeats
 * until a pass finds nothing, and its last pass comes mailbox.settle
 * seconds after the relays applied the switch, for LMTP deliveries that
 * were already under way.
 * archive: the mailbox's directory as a tar.gz under
 * paths.state/archive/DOMAIN/, written to a temporary name, synced and
 * renamed.  remove: the mailboxes row (audited), then the directory;
 * an archive gets an archive-expire job.
 *
 * A message the relay refuses (5xx: a virus its scanner found) is
 * marked $MxfeedRefused for the rest of the pass and stays in the
 * mailbox; the step then fails, naming the relay's reply, and the next
 * attempt (after the backoff) offers it again.  So the job goes on only
 * once no such message is left (an operator deletes it), and the
 * mailbox is never archived and removed behind anyone's back.
 *
 * A step that fails (doveadm or the relay unreachable, a message that
 * cannot be read) leaves everything as it is; the job goes back to
 * pending with the error shown and a growing delay.
 */
#ifndef MXFEED_MAILJOB_H
#define MXFEED_MAILJOB_H

#include "conf.h"
#include "doveadm.h"
#include "reinject.h"
#include "store.h"
#include "util/error.h"

#define MAILJOB_KEPT	"$MxfeedKept"
#define MAILJOB_REFUSED "$MxfeedRefused"

struct mailjob_ctx {
	struct store *store;
	const struct conf *conf;
	const char *worker;   /* lease holder, and the actor in the audit */
	int lease_s;	      /* seconds a claim lasts without progress */
	int retry_s;	      /* first delay after a failure; doubles, <= 1 h */
	struct doveadm *dove; /* opened on first use */
	struct reinject *smtp; /* opened on first use */
};

/*
 * Run claimed job j until it is done, waits, or fails (then it is back
 * to pending with its error).  -1 only when the store itself failed or
 * the lease was lost; the job is then left to its lease.
 */
int mailjob_run(struct mailjob_ctx *c, struct job *j, struct error *err)
	__attribute__((warn_unused_result));
void mailjob_ctx_release(struct mailjob_ctx *c);

#endif
