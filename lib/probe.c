/*
 * probe - ask a customer's mail server whether it would take mail
 *
 * See probe.h.  The session is a small state machine over one
 * connection: read a (multi-line) reply, send a command, read its
 * reply; the first failure ends it with "error" saying which step.
 */
#include "probe.h"

#include <curl/curl.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "util/strbuf.h"

#define REPLY_MAX 4096
#define TEXT_MAX  200

struct session {
	CURL *curl;
	curl_socket_t fd;
	struct timespec start;
	int timeout_ms;
	struct strbuf in; /* bytes received, not yet consumed */
};

static int elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (int)((t1.tv_sec - t0->tv_sec) * 1000 +
		     (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

static int left_ms(const struct session *s)
{
	int left = s->timeout_ms - elapsed_ms(&s->start);

	return left > 0 ? left : 0;
}

/* Printable ASCII of a server's line, cut: safe for JSON, logs, CLI. */
static void clean(const char *s, size_t n, struct strbuf *out)
{
	size_t i;

	for (i = 0; i < n && out->len < TEXT_MAX; i++)
		sbuf_addch(out, s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
}

/*
 * Read one reply: lines "NNN-text" ending with "NNN text".  Returns the
 * code, fills first (first line) and sets *starttls when a line says
 * STARTTLS; -1 on timeout, close or a malformed reply.
 */
static int reply(struct session *s, struct strbuf *first, bool *starttls)
{
	size_t total = 0;

	sbuf_reset(first);
	for (;;) {
		char *nl = memchr(s->in.buf, '\n', s->in.len);

		if (nl != NULL) {
			size_t n = (size_t)(nl - s->in.buf) + 1;
			char line[REPLY_MAX];
			size_t ln = n < sizeof(line) ? n : sizeof(line) - 1;
			int code;
			bool last;

			memcpy(line, s->in.buf, ln);
			line[ln] = '\0';
			memmove(s->in.buf, s->in.buf + n, s->in.len - n);
			s->in.len -= n;
			s->in.buf[s->in.len] = '\0';
			if (ln < 4 || line[0] < '2' || line[0] > '5' ||
			    line[1] < '0' || line[1] > '9' || line[2] < '0' ||
			    line[2] > '9' ||
			    (line[3] != ' ' && line[3] != '-' &&
			     line[3] != '\r' && line[3] != '\n'))
				return -1;
			code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
			       (line[2] - '0');
			last = line[3] != '-';
			if (first->len == 0)
				clean(line, strcspn(line, "\r\n"), first);
			if (starttls &&
			    strncasecmp(line + 4, "STARTTLS", 8) == 0)
				*starttls = true;
			if (last)
				return code;
			continue;
		}
		if (total > REPLY_MAX * 4)
			return -1;
		{
			struct pollfd pfd = { s->fd, POLLIN, 0 };
			char buf[1024];
			size_t got = 0;
			CURLcode rc;

			if (poll(&pfd, 1, left_ms(s)) <= 0)
				return -1;
			rc = curl_easy_recv(s->curl, buf, sizeof(buf), &got);
			if (rc == CURLE_AGAIN)
				continue;
			if (rc != CURLE_OK || got == 0)
				return -1;
			sbuf_add(&s->in, buf, got);
			total += got;
		}
	}
}

static int send_line(struct session *s, const char *line)
{
	struct strbuf out = STRBUF_INIT;
	size_t off = 0;
	int rc;

	sbuf_addf(&out, "%s\r\n", line);
	while (off < out.len) {
		struct pollfd pfd = { s->fd, POLLOUT, 0 };
		size_t sent = 0;
		CURLcode cc;

		if (poll(&pfd, 1, left_ms(s)) <= 0)
			break;
		cc = curl_easy_send(s->curl, out.buf + off, out.len - off,
				    &sent);
		if (cc != CURLE_OK && cc != CURLE_AGAIN)
			break;
		off += sent;
	}
	rc = off == out.len ? 0 : -1;
	sbuf_release(&out);
	return rc;
}

json_t *probe_run(const struct dest *d, const struct domain_name *dn,
		  const char *helo, int timeout_ms)
{
	struct session s = { 0 };
	struct strbuf banner = STRBUF_INIT, line = STRBUF_INIT,
		      rcpt = STRBUF_INIT;
	const char *error = NULL;
	bool starttls = false, ok = false;
	char url[96], cmd[320];
	int code;
	json_t *o;

	clock_gettime(CLOCK_MONOTONIC, &s.start);
	s.timeout_ms = timeout_ms;
	s.in = (struct strbuf)STRBUF_INIT;
	/* a raw TCP connection: libcurl connects, we speak SMTP */
	(void)snprintf(url, sizeof(url),
		       d->ip.family == AF_INET6 ? "telnet://[%s]:%u"
						: "telnet://%s:%u",
		       d->ip.text, (unsigned)d->port);
	s.curl = curl_easy_init();
	if (s.curl == NULL) {
		error = "cannot set up a connection";
		goto out;
	}
	curl_easy_setopt(s.curl, CURLOPT_URL, url);
	curl_easy_setopt(s.curl, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(s.curl, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(s.curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(s.curl, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(s.curl) != CURLE_OK ||
	    curl_easy_getinfo(s.curl, CURLINFO_ACTIVESOCKET, &s.fd) !=
		    CURLE_OK ||
	    s.fd == CURL_SOCKET_BAD) {
		error = "cannot connect";
		goto out;
	}
	code = reply(&s, &banner, NULL);
	if (code != 220) {
		error = code < 0 ? "no greeting" : "refused at the greeting";
		goto out;
	}
	(void)snprintf(cmd, sizeof(cmd), "EHLO %s", helo);
	if (send_line(&s, cmd) < 0 ||
	    (code = reply(&s, &line, &starttls)) < 0) {
		error = "no answer to EHLO";
		goto out;
	}
	if (code / 100 != 2) {
		error = "EHLO refused";
		goto out;
	}
	if (dn != NULL) {
		if (send_line(&s, "MAIL FROM:<>") < 0 ||
		    (code = reply(&s, &line, NULL)) < 0) {
			error = "no answer to MAIL FROM";
			goto out;
		}
		if (code / 100 != 2) {
			/* the reply that stopped it, where scripts look */
			sbuf_reset(&rcpt);
			sbuf_add(&rcpt, line.buf, line.len);
			error = "MAIL FROM:<> refused";
			goto out;
		}
		(void)snprintf(cmd, sizeof(cmd), "RCPT TO:<postmaster@%s>",
			       dn->alabel);
		if (send_line(&s, cmd) < 0 ||
		    (code = reply(&s, &rcpt, NULL)) < 0) {
			error = "no answer to RCPT TO";
			goto out;
		}
		if (code / 100 != 2) {
			error = "RCPT TO:<postmaster@...> refused";
			goto out;
		}
		(void)send_line(&s, "RSET");
		(void)reply(&s, &line, NULL);
	}
	ok = true;
	(void)send_line(&s, "QUIT");
out:
	o = json_pack("{s:b, s:s, s:i, s:s, s:b, s:s, s:i}", "ok", ok, "host",
		      d->ip.text, "port", (int)d->port, "banner", banner.buf,
		      "starttls", starttls, "rcpt_reply", rcpt.buf, "ms",
		      elapsed_ms(&s.start));
	json_object_set_new(o, "error",
			    error ? json_string(error) : json_null());
	if (s.curl)
		curl_easy_cleanup(s.curl);
	sbuf_release(&s.in);
	sbuf_release(&banner);
	sbuf_release(&line);
	sbuf_release(&rcpt);
	return o;
}
