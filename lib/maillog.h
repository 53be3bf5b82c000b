/*
 * maillog - one line of the relay's Postfix log, as a tracking step
 *
 * Postfix writes one line per event (maillog_file, or syslog):
 *   "Dec 02 05:35:07 relay postfix/smtp[27754]: 4B8DAA7595F: to=<a@b>,
 *    relay=127.0.0.1[127.0.0.1]:2526, ..., dsn=2.0.0, status=sent (250 Ok)"
 * mlog_parse() reads the lines support cares about into a struct
 * mlog_line; every other line is ML_NONE.  The line is outside input
 * (addresses and replies come from strangers): every field is copied
 * bounded, control bytes become '?', and a line that does not have the
 * expected shape is ML_NONE, never half-read.
 *
 *   ML_CLIENT     smtpd "QID: client=NAME[IP]"             client
 *   ML_MESSAGE_ID cleanup "QID: message-id=<ID>"            message_id
 *   ML_FROM       qmgr "QID: from=<S>, size=..."            sender
 *   ML_REJECT     "NOQUEUE: reject: RCPT from NAME[IP]: 554 5.7.1 text;
 *                 from=<S> to=<R> proto=.. helo=<H>", and the same with
 *                 a queue id, milter-reject (virus, spam),
 *                 milter-discard (spam deleted) and milter-hold (spam
 *                 quarantined): verdict, code, reply,
 *                 sender, recipient, client, helo
 *   ML_DELIVERY   smtp/lmtp/... "QID: to=<R>, relay=D, ..., status=S
 *                 (reply)": verdict delivered|deferred|bounced|expired,
 *                 recipient, destination, reply
 *   ML_EXPIRED    qmgr "QID: from=<S>, status=expired, returned to
 *                 sender" (or force-expired: postsuper -e)
 *   ML_REMOVED    qmgr "QID: removed": the message left the queue
 *   ML_RELEASED   postsuper "QID: released from hold": out of quarantine
 *   ML_TAGGED     cleanup "QID: milter-header-warning: header
 *                 X-Mxfeed-Spam: level=L
 *                 action=A score=S from ...: ": rspamd classified the
 *                 message as spam and the domain's action only tags it
 *                 (header, subject), so it is delivered.  The header is
 *                 added by our rspamd policy through the milter and
 *                 logged by milter_header_checks (WARN), which sees
 *                 only headers a milter adds, never the sender's own:
 *                 verdict "tagged", spam_level, spam_action, spam_score
 *
 * The timestamp is the classic syslog one ("Mmm dd hh:mm:ss", no year:
 * the year is now's, or the one before when that would lie more than a
 * day ahead) or RFC 3339; times are UTC, as the relays log.
 */
#ifndef MXFEED_MAILLOG_H
#define MXFEED_MAILLOG_H

#include <stdint.h>

enum mlog_kind {
	ML_NONE,
	ML_CLIENT,
	ML_MESSAGE_ID,
	ML_FROM,
	ML_REJECT,
	ML_DELIVERY,
	ML_EXPIRED,
	ML_REMOVED,
	ML_RELEASED,
	ML_TAGGED,
};

#define MLOG_ADDR_MAX  320
#define MLOG_REPLY_MAX 512

struct mlog_line {
	enum mlog_kind kind;
	int64_t time;
	char queue_id[24];		/* "" for NOQUEUE */
	char verdict[16];		/* see above; "" when none */
	char code[8];			/* "554", "4.7.1": the reply's class */
	char reply[MLOG_REPLY_MAX];	/* the reply text, without the code */
	char sender[MLOG_ADDR_MAX + 1]; /* "" is the null sender */
	char recipient[MLOG_ADDR_MAX + 1];
	char client[64]; /* the client's IP */
	char helo[256];
	char message_id[256];
	char destination[128]; /* relay=...: where it was delivered */
	char spam_level[8];    /* ML_TAGGED: low, med, high */
	char spam_action[8];   /* ML_TAGGED: header, subject */
	char spam_score[16];   /* ML_TAGGED: "6.00", as rspamd wrote it */
};

/* The header our rspamd policy adds to a message it tags as spam. */
#define MLOG_SPAM_HEADER "X-Mxfeed-Spam"

/* ML_NONE (0) for a line of no interest; now: unix seconds, for the year */
enum mlog_kind mlog_parse(const char *line, int64_t now, struct mlog_line *out);

#endif
