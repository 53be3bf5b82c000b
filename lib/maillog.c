/*
 * maillog - one line of the relay's Postfix log, as a tracking step
 *
 * See maillog.h.  Each field is found by its fixed Postfix prefix
 * ("to=<", ", relay=", "; from=<") and copied bounded; the reply text
 * Postfix logs is ours or the customer server's, the addresses and the
 * HELO are the sender's and may hold anything but a newline.
 */
#include "maillog.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Copy n bytes of src into dst (size), control bytes as '?'. */
static void copy_clean(char *dst, size_t size, const char *src, size_t n)
{
	size_t i;

	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	dst[n] = '\0';
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static int month_of(const char *m)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int i;

	for (i = 0; i < 12; i++)
		if (strncmp(m, names + 3 * i, 3) == 0)
			return i;
	return -1;
}

/* n digits at s into *v */
static bool digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/* "Mmm dd hh:mm:ss " or RFC 3339 "YYYY-MM-DDThh:mm:ss[.f](Z|+hh:mm) " */
static const char *parse_time(const char *s, int64_t now, int64_t *out)
{
	struct tm tm = { 0 };
	int v;
	time_t t;

	if (digits(s, 4, &v) && s[4] == '-') {
		const char *p = s + 19;
		int mon, day, h, mi, se, oh = 0, om = 0, sign = 1;

		tm.tm_year = v - 1900;
		if (!digits(s + 5, 2, &mon) || s[7] != '-' ||
		    !digits(s + 8, 2, &day) || s[10] != 'T' ||
		    !digits(s + 11, 2, &h) || s[13] != ':' ||
		    !digits(s + 14, 2, &mi) || s[16] != ':' ||
		    !digits(s + 17, 2, &se))
			return NULL;
		if (*p == '.')
			for (p++; isdigit((unsigned char)*p); p++)
				;
		if (*p == 'Z') {
			p++;
		} else if ((*p == '+' || *p == '-') && digits(p + 1, 2, &oh) &&
			   p[3] == ':' && digits(p + 4, 2, &om)) {
			sign = *p == '-' ? -1 : 1;
			p += 6;
		} else {
			return NULL;
		}
		if (mon < 1 || mon > 12 || day < 1 || day > 31 || h > 23 ||
		    mi > 59 || se > 60 || oh > 23 || om > 59 || *p != ' ')
			return NULL;
		tm.tm_mon = mon - 1;
		tm.tm_mday = day;
		tm.tm_hour = h;
		tm.tm_min = mi;
		tm.tm_sec = se;
		t = timegm(&tm);
		*out = (int64_t)t - sign * (oh * 3600 + om * 60);
		return p + 1;
	}
	{
		int mon = month_of(s), day, h, mi, se;
		time_t nt = (time_t)now;
		struct tm nowtm;

		if (mon < 0 || s[3] != ' ')
			return NULL;
		if (s[4] == ' ' && digits(s + 5, 1, &day))
			;
		else if (!digits(s + 4, 2, &day))
			return NULL;
		if (s[6] != ' ' || !digits(s + 7, 2, &h) || s[9] != ':' ||
		    !digits(s + 10, 2, &mi) || s[12] != ':' ||
		    !digits(s + 13, 2, &se) || s[15] != ' ' || day < 1 ||
		    day > 31 || h > 23 || mi > 59 || se > 60)
			return NULL;
		gmtime_r(&nt, &nowtm);
		tm.tm_year = nowtm.tm_year;
		tm.tm_mon = mon;
		tm.tm_mday = day;
		tm.tm_hour = h;
		tm.tm_min = mi;
		tm.tm_sec = se;
		t = timegm(&tm);
		if ((int64_t)t > now + 86400) { /* December's line in January */
			tm.tm_year--;
			t = timegm(&tm);
		}
		*out = (int64_t)t;
		return s + 16;
	}
}

/* NAME[IP] at s: the IP into dst; the position after ']' */
static const char *client_ip(const char *s, char *dst, size_t size)
{
	const char *o = strchr(s, '['), *c, *sp = strchr(s, ' ');

	if (o == NULL || (c = strchr(o, ']')) == NULL || (sp != NULL && sp < o))
		return NULL;
	copy_clean(dst, size, o + 1, (size_t)(c - o - 1));
	return c + 1;
}

/* "554 5.7.1 text" or "5.7.1 text": the class into code, text into reply */
static void split_reply(const char *s, size_t n, struct mlog_line *out)
{
	size_t k = 0;

	while (k < n && (isdigit((unsigned char)s[k]) || s[k] == '.'))
		k++;
	if (k > 0 && k < n && s[k] == ' ') {
		copy_clean(out->code, sizeof(out->code), s, k);
		s += k + 1;
		n -= k + 1;
		/* "554 5.7.1 text": the enhanced code goes with the text */
	}
	copy_clean(out->reply, sizeof(out->reply), s, n);
}

static bool contains_ci(const char *s, const char *needle)
{
	size_t n = strlen(needle);

	for (; *s; s++)
		if (strncasecmp(s, needle, n) == 0)
			return true;
	return false;
}

/*
 * "reject: STAGE from NAME[IP]: REPLY; from=<S> to=<R> proto=P
 * helo=<H>" (also milter-reject, milter-discard).
 */
static enum mlog_kind parse_reject(const char *s, struct mlog_line *out)
{
	bool milter = has_prefix(s, "milter-"), discard, hold;
	const char *p, *env, *to, *helo;

	discard = has_prefix(s, "milter-discard: ");
	hold = has_prefix(s, "milter-hold: ");
	if (!has_prefix(s, "reject: ") && !has_prefix(s, "milter-reject: ") &&
	    !discard && !hold)
		return ML_NONE;
	s = strchr(s, ' ') + 1;
	if ((p = strstr(s, " from ")) == NULL ||
	    (p = client_ip(p + 6, out->client, sizeof(out->client))) == NULL ||
	    !has_prefix(p, ": "))
		return ML_NONE;
	p += 2;
	env = strstr(p, "; from=<");
	if (env == NULL)
		env = strstr(p, "; proto=");
	if (env == NULL)
		return ML_NONE;
	split_reply(p, (size_t)(env - p), out);
	if (has_prefix(env, "; from=<")) {
		const char *f = env + 8;
		const char *e = strstr(f, "> to=<");

		if (e == NULL)
			e = strstr(f, "> proto=");
		if (e == NULL)
			return ML_NONE;
		copy_clean(out->sender, sizeof(out->sender), f,
			   (size_t)(e - f));
		if (has_prefix(e, "> to=<")) {
			to = e + 6;
			if ((e = strstr(to, "> proto=")) == NULL &&
			    (e = strrchr(to, '>')) == NULL)
				return ML_NONE;
			copy_clean(out->recipient, sizeof(out->recipient), to,
				   (size_t)(e - to));
		}
	}
	if ((helo = strstr(env, " helo=<")) != NULL) {
		const char *e = strrchr(helo, '>');

		if (e != NULL && e > helo + 7)
			copy_clean(out->helo, sizeof(out->helo), helo + 7,
				   (size_t)(e - helo - 7));
	}
	if (discard)
		memcpy(out->verdict, "deleted", 8);
	else if (hold)
		memcpy(out->verdict, "quarantined", 12);
	else if (milter && contains_ci(out->reply, "virus"))
		memcpy(out->verdict, "virus", 6);
	else if (contains_ci(out->reply, "greylist"))
		memcpy(out->verdict, "greylisted", 11);
	else if (out->code[0] == '4')
		memcpy(out->verdict, "deferred", 9);
	else if (milter && contains_ci(out->reply, "spam"))
		memcpy(out->verdict, "spam", 5);
	else
		memcpy(out->verdict, "refused", 8);
	return ML_REJECT;
}

/* "to=<R>, [orig_to=<O>, ]relay=D, ..., status=S (reply)" */
static enum mlog_kind parse_delivery(const char *s, struct mlog_line *out)
{
	const char *e, *rel, *st, *o, *c;
	static const char *const map[][2] = {
		{ "sent", "delivered" },
		{ "deferred", "deferred" },
		{ "bounced", "bounced" },
		{ "expired", "expired" },
	};
	size_t i, n;

	if ((e = strstr(s + 4, ">, ")) == NULL)
		return ML_NONE;
	copy_clean(out->recipient, sizeof(out->recipient), s + 4,
		   (size_t)(e - s - 4));
	if ((rel = strstr(e, ", relay=")) == NULL ||
	    (st = strstr(e, ", status=")) == NULL)
		return ML_NONE;
	rel += 8;
	n = strcspn(rel, ",");
	copy_clean(out->destination, sizeof(out->destination), rel, n);
	st += 9;
	n = strcspn(st, " ");
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strlen(map[i][0]) == n && strncmp(st, map[i][0], n) == 0)
			break;
	if (i == sizeof(map) / sizeof(map[0]))
		return ML_NONE;
	memcpy(out->verdict, map[i][1], strlen(map[i][1]) + 1);
	if ((o = strchr(st, '(')) != NULL && (c = strrchr(o, ')')) != NULL)
		split_reply(o + 1, (size_t)(c - o - 1), out);
	return ML_DELIVERY;
}

/* word at *s followed by ' ' or the end, one of the list: into dst */
static bool one_of(const char **s, const char *const *list, char *dst,
		   size_t size)
{
	size_t n = strcspn(*s, " "), i;

	for (i = 0; list[i] != NULL; i++) {
		if (strlen(list[i]) == n && strncmp(*s, list[i], n) == 0 &&
		    n < size) {
			memcpy(dst, *s, n);
			dst[n] = '\0';
			*s += n;
			return true;
		}
	}
	return false;
}

/*
 * "header X-Mxfeed-Spam: level=L action=A score=S from NAME[IP]; ...":
 * each value from a closed list or digits, so nothing of the sender's
 * reaches the row (the header is ours: milter_header_checks sees only
 * what a milter adds).
 */
static enum mlog_kind parse_tagged(const char *s, struct mlog_line *out)
{
	static const char *const levels[] = { "low", "med", "high", NULL };
	static const char *const actions[] = { "header", "subject", NULL };
	size_t n;

	if (!has_prefix(s, "header " MLOG_SPAM_HEADER ": level="))
		return ML_NONE;
	s += strlen("header " MLOG_SPAM_HEADER ": level=");
	if (!one_of(&s, levels, out->spam_level, sizeof(out->spam_level)) ||
	    !has_prefix(s, " action="))
		return ML_NONE;
	s += 8;
	if (!one_of(&s, actions, out->spam_action, sizeof(out->spam_action)) ||
	    !has_prefix(s, " score="))
		return ML_NONE;
	s += 7;
	n = strspn(s, "-0123456789.");
	if (n == 0 || n >= sizeof(out->spam_score) ||
	    (s[n] != ' ' && s[n] != '\0') || !isdigit((unsigned char)s[n - 1]))
		return ML_NONE;
	memcpy(out->spam_score, s, n);
	out->spam_score[n] = '\0';
	memcpy(out->verdict, "tagged", 7);
	return ML_TAGGED;
}

/* After the time: the host, then the tag "postfix[/name...]/PROG[PID]: ";
 * PROG into pg (size).  The text after the tag, NULL if the line is not
 * Postfix's. */
static const char *parse_tag(const char *p, char *pg, size_t size)
{
	const char *tag, *colon, *prog, *b;

	if ((tag = strchr(p, ' ')) == NULL || !has_prefix(tag + 1, "postfix"))
		return NULL;
	tag++;
	if ((colon = strstr(tag, "]: ")) == NULL ||
	    (b = memchr(tag, '[', (size_t)(colon - tag))) == NULL ||
	    memchr(tag, ' ', (size_t)(colon - tag)) != NULL)
		return NULL;
	for (prog = b; prog > tag && prog[-1] != '/'; prog--)
		;
	copy_clean(pg, size, prog, (size_t)(b - prog));
	return colon + 3;
}

/* "QUEUEID: " into out->queue_id, or "NOQUEUE: " (queue_id stays "");
 * the text after it, NULL if the line has neither. */
static const char *parse_queue_id(const char *p, struct mlog_line *out)
{
	size_t n = strspn(p, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			     "abcdefghijklmnopqrstuvwxyz");

	if (n < 5 || n >= sizeof(out->queue_id) || !has_prefix(p + n, ": "))
		return NULL;
	if (!(n == 7 && has_prefix(p, "NOQUEUE")))
		copy_clean(out->queue_id, sizeof(out->queue_id), p, n);
	return p + n + 2;
}

/* After "message-id=": "<ID>", the brackets dropped when both are
 * there */
static enum mlog_kind parse_message_id(const char *s, struct mlog_line *out)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '<' && s[n - 1] == '>')
		copy_clean(out->message_id, sizeof(out->message_id), s + 1,
			   n - 2);
	else
		copy_clean(out->message_id, sizeof(out->message_id), s, n);
	return ML_MESSAGE_ID;
}

/* qmgr's "from=<S>, size=..." (queued) or "from=<S>, status=expired" */
static enum mlog_kind parse_from(const char *s, struct mlog_line *out)
{
	const char *e = strstr(s + 6, ">, ");

	if (e == NULL)
		return ML_NONE;
	copy_clean(out->sender, sizeof(out->sender), s + 6,
		   (size_t)(e - s - 6));
	if (has_prefix(e, ">, size="))
		return ML_FROM;
	if (has_prefix(e, ">, status=expired") ||
	    has_prefix(e, ">, status=force-expired")) {
		memcpy(out->verdict, "expired", 8);
		return ML_EXPIRED;
	}
	return ML_NONE;
}

/* The text p after the queue id of a queued message, logged by pg */
static enum mlog_kind parse_queued(const char *p, const char *pg,
				   struct mlog_line *out)
{
	if (strcmp(pg, "smtpd") == 0 && has_prefix(p, "client=")) {
		if (client_ip(p + 7, out->client, sizeof(out->client)) == NULL)
			return ML_NONE;
		return ML_CLIENT;
	}
	if (strcmp(pg, "cleanup") == 0 && has_prefix(p, "message-id="))
		return parse_message_id(p + 11, out);
	if (strcmp(pg, "qmgr") == 0 && has_prefix(p, "from=<"))
		return parse_from(p, out);
	if (strcmp(p, "removed") == 0)
		return ML_REMOVED;
	if (strcmp(pg, "postsuper") == 0 &&
	    strcmp(p, "released from hold") == 0) {
		memcpy(out->verdict, "released", 9);
		return ML_RELEASED;
	}
	if (has_prefix(p, "to=<") && strcmp(pg, "qmgr") != 0)
		return parse_delivery(p, out);
	return ML_NONE;
}

enum mlog_kind mlog_parse(const char *line, int64_t now, struct mlog_line *out)
{
	const char *p;
	char pg[16];

	memset(out, 0, sizeof(*out));
	if ((p = parse_time(line, now, &out->time)) == NULL ||
	    (p = parse_tag(p, pg, sizeof(pg))) == NULL ||
	    (p = parse_queue_id(p, out)) == NULL)
		return ML_NONE;
	/* "milter-header-warning": milter_header_checks, which sees only
	 * what a milter adds (header_checks would log "warning:") */
	if (strcmp(pg, "cleanup") == 0 &&
	    has_prefix(p, "milter-header-warning: "))
		return out->kind = out->queue_id[0] ? parse_tagged(p + 23, out)
						    : ML_NONE;
	if (strstr(p, "reject: ") == p || has_prefix(p, "milter-"))
		return out->kind = parse_reject(p, out);
	if (out->queue_id[0] == '\0')
		return ML_NONE;
	return out->kind = parse_queued(p, pg, out);
}
