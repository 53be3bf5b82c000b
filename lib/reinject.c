/*
 * reinject - hand mail from a mailbox back to a relay over SMTP
 *
 * See reinject.h.
 */
#include "reinject.h"

#include <curl/curl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct reinject {
	CURL *curl;
	char url[300];
	char sock[PATH_MAX]; /* "local": the relay's socket */
	char errbuf[CURL_ERROR_SIZE];
	char reply[256];  /* the relay's last reply line, for errors */
	const char *data; /* the message being sent */
	size_t len, off;
};

/* The header line starting at p (up to end) including its folded
 * continuation lines: returns where the next header starts. */
static const char *header_end(const char *p, const char *end)
{
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			return end;
		p = nl + 1;
		if (p >= end || (*p != ' ' && *p != '\t'))
			return p;
	}
}

static bool is_header(const char *p, const char *end, const char *name)
{
	size_t n = strlen(name);

	return (size_t)(end - p) > n && strncasecmp(p, name, n) == 0 &&
	       p[n] == ':';
}

/* The address between '<' and '>' at or after p in [p, end). */
static int angle_addr(const char *p, const char *end,
		      char out[REINJECT_ADDR_MAX + 1])
{
	const char *lt = memchr(p, '<', (size_t)(end - p)), *gt, *c;
	size_t n;

	if (lt == NULL || (gt = memchr(lt, '>', (size_t)(end - lt))) == NULL)
		return -1;
	n = (size_t)(gt - lt - 1);
	if (n > REINJECT_ADDR_MAX)
		return -1;
	for (c = lt + 1; c < gt; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '<')
			return -1;
	memcpy(out, lt + 1, n);
	out[n] = '\0';
	return 0;
}

/* The recipient in a Received header's "for <ADDRESS>" clause. */
static void received_for(const char *p, const char *end,
			 char out[REINJECT_ADDR_MAX + 1])
{
	const char *c;

	out[0] = '\0';
	for (c = p; c + 5 < end; c++)
		if ((c[0] == ' ' || c[0] == '\t' || c[0] == '\n') &&
		    strncmp(c + 1, "for", 3) == 0 &&
		    (c[4] == ' ' || c[4] == '\t') && c[5] == '<') {
			if (angle_addr(c + 5, end, out) < 0)
				out[0] = '\0';
			return;
		}
}

int reinject_envelope(const char *msg, size_t len,
		      char sender[REINJECT_ADDR_MAX + 1],
		      char rcpt[REINJECT_ADDR_MAX + 1], struct strbuf *out,
		      struct error *err)
{
	const char *end = msg + len, *p, *rp_end, *h;

	sender[0] = rcpt[0] = '\0';
	sbuf_reset(out);
	if (!is_header(msg, end, "Return-Path"))
		return 0;
	rp_end = header_end(msg, end);
	if (angle_addr(msg, rp_end, sender) < 0)
		return error_set(err, ERR_INVALID, NULL,
				 "the Return-Path header holds no address");
	/* a Delivered-To the mailbox host put above its trace goes too:
	 * the customer's server would take it for a mail loop */
	while (is_header(rp_end, end, "Delivered-To"))
		rp_end = header_end(rp_end, end);
	/* the first Received after it is the mailbox host's own */
	for (h = rp_end; h < end && *h != '\n' && *h != '\r';
	     h = header_end(h, end))
		if (is_header(h, end, "Received")) {
			received_for(h, header_end(h, end), rcpt);
			break;
		}
	/* the rest, LF line ends made CRLF (Dovecot stores LF) */
	for (p = rp_end; p < end; p++) {
		if (*p == '\n' && (p == rp_end || p[-1] != '\r'))
			sbuf_addch(out, '\r');
		sbuf_addch(out, *p);
	}
	if (out->len == 0 || out->buf[out->len - 1] != '\n')
		sbuf_addstr(out, "\r\n");
	return 1;
}

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct reinject *r = arg;
	size_t want = size * n, left = r->len - r->off;

	if (want > left)
		want = left;
	memcpy(buf, r->data + r->off, want);
	r->off += want;
	return want;
}

/* Keeps the last reply line the relay sent: libcurl's own error text
 * does not carry it, and "554 5.7.1 virus found" is what a job should
 * show. */
static int on_debug(CURL *c, curl_infotype type, char *data, size_t n,
		    void *arg)
{
	struct reinject *r = arg;
	size_t k;

	(void)c;
	if (type != CURLINFO_HEADER_IN)
		return 0;
	while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		n--;
	if (n >= sizeof(r->reply))
		n = sizeof(r->reply) - 1;
	for (k = 0; k < n; k++)
		r->reply[k] = (unsigned char)data[k] < ' ' ||
					      (unsigned char)data[k] >= 0x7f
				      ? '?'
				      : data[k];
	r->reply[n] = '\0';
	return 0;
}

int reinject_open(struct reinject **out, const char *where,
		  const char *state_dir, const char *helo,
		  const struct reinject_tls *tls, struct error *err)
{
	bool local = strcmp(where, "local") == 0;
	struct reinject *r;
	int n, m = 0;

	*out = NULL;
	if (!local && (tls == NULL || tls->cert == NULL || tls->key == NULL))
		return error_set(err, ERR_INVALID, "mailbox.reinject_cert",
				 "mailbox.reinject \"%s\" is a TCP listener: "
				 "it needs mailbox.reinject_cert and "
				 "mailbox.reinject_key (a client certificate "
				 "the relay's relay.reinject_ca signed)",
				 where);
	r = xcalloc(1, sizeof(*r));
	n = snprintf(r->url, sizeof(r->url), "smtp://%s/%s",
		     local ? "localhost" : where, helo);
	if (local)
		m = snprintf(r->sock, sizeof(r->sock),
			     "%s/spool/private/" REINJECT_SOCKET, state_dir);
	if (n < 0 || (size_t)n >= sizeof(r->url) || m < 0 ||
	    (size_t)m >= sizeof(r->sock) ||
	    (r->curl = curl_easy_init()) == NULL) {
		free(r);
		return error_set(err, ERR_INTERNAL, "mailbox.reinject",
				 "cannot set up SMTP to %s", where);
	}
	curl_easy_setopt(r->curl, CURLOPT_URL, r->url);
	if (local) {
		curl_easy_setopt(r->curl, CURLOPT_UNIX_SOCKET_PATH, r->sock);
	} else {
		/* STARTTLS or nothing, our certificate, theirs checked */
		curl_easy_setopt(r->curl, CURLOPT_USE_SSL,
				 (long)CURLUSESSL_ALL);
		curl_easy_setopt(r->curl, CURLOPT_SSLCERT, tls->cert);
		curl_easy_setopt(r->curl, CURLOPT_SSLKEY, tls->key);
		curl_easy_setopt(r->curl, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(r->curl, CURLOPT_SSL_VERIFYHOST, 2L);
		if (tls->ca != NULL)
			curl_easy_setopt(r->curl, CURLOPT_CAINFO, tls->ca);
	}
	curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "smtp");
	curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS,
			 (long)REINJECT_TIMEOUT_MS);
	curl_easy_setopt(r->curl, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->curl, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(r->curl, CURLOPT_DEBUGDATA, r);
	curl_easy_setopt(r->curl, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(r->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(r->curl, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(r->curl, CURLOPT_READDATA, r);
	*out = r;
	return 0;
}

void reinject_close(struct reinject *r)
{
	if (r == NULL)
		return;
	if (r->curl)
		curl_easy_cleanup(r->curl);
	free(r);
}

int reinject_send(struct reinject *r, const char *sender, const char *rcpt,
		  const char *msg, size_t len, struct error *err)
{
	char from[REINJECT_ADDR_MAX + 3];
	struct curl_slist *to;
	long code = 0;
	CURLcode cc;

	/* "<>" stays the null sender; libcurl adds the brackets itself */
	(void)snprintf(from, sizeof(from), "<%s>", sender);
	to = curl_slist_append(NULL, rcpt);
	if (to == NULL)
		return error_set(err, ERR_INTERNAL, NULL, "out of memory");
	r->data = msg;
	r->len = len;
	r->off = 0;
	r->errbuf[0] = r->reply[0] = '\0';
	curl_easy_setopt(r->curl, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(r->curl, CURLOPT_MAIL_RCPT, to);
	curl_easy_setopt(r->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	cc = curl_easy_perform(r->curl);
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(r->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(to);
	if (cc != CURLE_OK || code != 250) {
		error_set(err, ERR_TEMPFAIL, NULL,
			  "re-injection of mail for %s at %s: %s (reply %s)",
			  rcpt, r->sock[0] ? r->sock : r->url + 7,
			  r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc),
			  r->reply[0] ? r->reply : "none");
		return code >= 500 && code < 600 ? REINJECT_REFUSED : -1;
	}
	return 0;
}
