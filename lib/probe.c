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

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls.h"
#include "util/strbuf.h"

#define REPLY_MAX 4096
#define TEXT_MAX  200

struct session {
	CURL *curl;
	curl_socket_t fd;
	struct timespec start;
	int timeout_ms;
	struct strbuf in; /* bytes received, not yet consumed */
	SSL_CTX *ctx;	  /* after STARTTLS: OpenSSL on curl's socket */
	SSL *ssl;
};

static int left_ms(const struct session *s);

/* Wait until fd is readable (or writable); false on timeout. */
static bool wait_fd(const struct session *s, bool out)
{
	struct pollfd pfd = { s->fd, out ? POLLOUT : POLLIN, 0 };

	return poll(&pfd, 1, left_ms(s)) > 0;
}

/*
 * Read what is there: 1 with *got > 0, 0 to wait for (*want_out:
 * writability, for a TLS renegotiation), -1 on close or error.
 */
static int sock_recv(struct session *s, char *buf, size_t n, size_t *got,
		     bool *want_out)
{
	*want_out = false;
	*got = 0;
	if (s->ssl != NULL) {
		int r = SSL_read(s->ssl, buf, (int)n);

		if (r > 0) {
			*got = (size_t)r;
			return 1;
		}
		switch (SSL_get_error(s->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			return 0;
		case SSL_ERROR_WANT_WRITE:
			*want_out = true;
			return 0;
		default:
			ERR_clear_error();
			return -1;
		}
	}
	switch (curl_easy_recv(s->curl, buf, n, got)) {
	case CURLE_OK:
		return *got > 0 ? 1 : -1;
	case CURLE_AGAIN:
		return 0;
	default:
		return -1;
	}
}

/* Like sock_recv, for sending. */
static int sock_send(struct session *s, const char *buf, size_t n, size_t *sent,
		     bool *want_in)
{
	*want_in = false;
	*sent = 0;
	if (s->ssl != NULL) {
		int r = SSL_write(s->ssl, buf, (int)n);

		if (r > 0) {
			*sent = (size_t)r;
			return 1;
		}
		switch (SSL_get_error(s->ssl, r)) {
		case SSL_ERROR_WANT_WRITE:
			return 0;
		case SSL_ERROR_WANT_READ:
			*want_in = true;
			return 0;
		default:
			ERR_clear_error();
			return -1;
		}
	}
	switch (curl_easy_send(s->curl, buf, n, sent)) {
	case CURLE_OK:
		return 1;
	case CURLE_AGAIN:
		return 0;
	default:
		return -1;
	}
}

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
			char buf[1024];
			size_t got = 0;
			bool out = false;
			int rc = sock_recv(s, buf, sizeof(buf), &got, &out);

			if (rc < 0)
				return -1;
			if (rc == 0) {
				if (!wait_fd(s, out))
					return -1;
				continue;
			}
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
		size_t sent = 0;
		bool in = false;
		int r = sock_send(s, out.buf + off, out.len - off, &sent, &in);

		if (r < 0)
			break;
		if (r == 0 && !wait_fd(s, !in))
			break;
		off += sent;
	}
	rc = off == out.len ? 0 : -1;
	sbuf_release(&out);
	return rc;
}

/* Connect (raw TCP: libcurl connects, we speak SMTP). */
static int session_open(struct session *s, const struct dest *d)
{
	char url[96];

	(void)snprintf(url, sizeof(url),
		       d->ip.family == AF_INET6 ? "telnet://[%s]:%u"
						: "telnet://%s:%u",
		       d->ip.text, (unsigned)d->port);
	s->curl = curl_easy_init();
	if (s->curl == NULL)
		return -1;
	curl_easy_setopt(s->curl, CURLOPT_URL, url);
	curl_easy_setopt(s->curl, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(left_ms(s) > 0 ? left_ms(s) : 1));
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS,
			 (long)(left_ms(s) > 0 ? left_ms(s) : 1));
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(s->curl) != CURLE_OK ||
	    curl_easy_getinfo(s->curl, CURLINFO_ACTIVESOCKET, &s->fd) !=
		    CURLE_OK ||
	    s->fd == CURL_SOCKET_BAD)
		return -1;
	return 0;
}

static void session_close(struct session *s)
{
	if (s->ssl != NULL)
		SSL_free(s->ssl);
	if (s->ctx != NULL)
		SSL_CTX_free(s->ctx);
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl); /* closes the socket */
	s->ssl = NULL;
	s->ctx = NULL;
	s->curl = NULL;
	s->fd = CURL_SOCKET_BAD;
	sbuf_reset(&s->in);
}

/*
 * STARTTLS and the handshake, bounded by the session's deadline; the
 * server's certificate is not verified (a customer's MX rarely has
 * one a CA signed for its IP): its fingerprint is reported instead.
 * Returns the "tls" object, or NULL with *why set.
 */
static json_t *starttls(struct session *s, struct strbuf *line,
			const char **why)
{
	char fp[TLS_FP_HEX + 1];
	unsigned char *der = NULL;
	X509 *cert;
	int len;

	if (send_line(s, "STARTTLS") < 0 || reply(s, line, NULL) != 220) {
		*why = "STARTTLS refused";
		return NULL;
	}
	if (s->in.len > 0) { /* bytes sent before the handshake: injected */
		*why = "data after the STARTTLS reply";
		return NULL;
	}
	s->ctx = SSL_CTX_new(TLS_client_method());
	if (s->ctx == NULL ||
	    SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION) != 1 ||
	    (s->ssl = SSL_new(s->ctx)) == NULL ||
	    SSL_set_fd(s->ssl, (int)s->fd) != 1) {
		ERR_clear_error();
		*why = "cannot set up TLS";
		return NULL;
	}
	SSL_set_verify(s->ssl, SSL_VERIFY_NONE, NULL);
	for (;;) {
		int r = SSL_connect(s->ssl), e;

		if (r == 1)
			break;
		e = SSL_get_error(s->ssl, r);
		ERR_clear_error();
		if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
		    !wait_fd(s, e == SSL_ERROR_WANT_WRITE)) {
			*why = e == SSL_ERROR_WANT_READ ||
					       e == SSL_ERROR_WANT_WRITE
				       ? "TLS handshake timed out"
				       : "TLS handshake failed";
			SSL_free(s->ssl); /* nothing more on this socket */
			s->ssl = NULL;
			return NULL;
		}
	}
	cert = SSL_get1_peer_certificate(s->ssl);
	fp[0] = '\0';
	if (cert != NULL && (len = i2d_X509(cert, &der)) > 0)
		tls_fingerprint_of(der, (size_t)len, fp);
	OPENSSL_free(der);
	X509_free(cert);
	return json_pack("{s:s, s:s, s:s}", "protocol", SSL_get_version(s->ssl),
			 "cipher",
			 SSL_CIPHER_get_name(SSL_get_current_cipher(s->ssl)),
			 "fingerprint", fp);
}

/* Banner and EHLO; 0, or -1 with *error set. */
static int greet(struct session *s, const char *helo, struct strbuf *banner,
		 struct strbuf *line, bool *offered, const char **error)
{
	char cmd[320];
	int code = reply(s, banner, NULL);

	if (code != 220) {
		*error = code < 0 ? "no greeting" : "refused at the greeting";
		return -1;
	}
	(void)snprintf(cmd, sizeof(cmd), "EHLO %s", helo);
	if (send_line(s, cmd) < 0 || (code = reply(s, line, offered)) < 0) {
		*error = "no answer to EHLO";
		return -1;
	}
	if (code / 100 != 2) {
		*error = "EHLO refused";
		return -1;
	}
	return 0;
}

/* After EHLO offered STARTTLS: the TLS session and EHLO again over it
 * (*tls set), or, when TLS fails, as Postfix does with "may", a new
 * session in clear (*tls_error set).  0, or -1 with *error set. */
static int tls_or_again(struct session *s, const struct dest *d,
			const char *helo, struct strbuf *line, json_t **tls,
			const char **tls_error, const char **error)
{
	struct strbuf b2 = STRBUF_INIT;
	bool again = false;
	char cmd[320];
	int rc;

	*tls = starttls(s, line, tls_error);
	if (*tls != NULL) {
		/* the session starts over, encrypted */
		(void)snprintf(cmd, sizeof(cmd), "EHLO %s", helo);
		if (send_line(s, cmd) < 0 ||
		    reply(s, line, &again) / 100 != 2) {
			*error = "no answer to EHLO over TLS";
			return -1;
		}
		return 0;
	}
	session_close(s);
	rc = session_open(s, d);
	if (rc < 0)
		*error = "cannot connect again without TLS";
	else
		rc = greet(s, helo, &b2, line, &again, error);
	sbuf_release(&b2);
	return rc;
}

/* MAIL FROM:<> and RCPT TO:<postmaster@DN>, then RSET; the RCPT reply,
 * or the MAIL reply that stopped it, in RCPT (where scripts look).  0,
 * or -1 with *error set. */
static int try_postmaster(struct session *s, const struct domain_name *dn,
			  struct strbuf *line, struct strbuf *rcpt,
			  const char **error)
{
	char cmd[320];
	int code;

	if (send_line(s, "MAIL FROM:<>") < 0 ||
	    (code = reply(s, line, NULL)) < 0) {
		*error = "no answer to MAIL FROM";
		return -1;
	}
	if (code / 100 != 2) {
		sbuf_reset(rcpt);
		sbuf_add(rcpt, line->buf, line->len);
		*error = "MAIL FROM:<> refused";
		return -1;
	}
	(void)snprintf(cmd, sizeof(cmd), "RCPT TO:<postmaster@%s>", dn->alabel);
	if (send_line(s, cmd) < 0 || (code = reply(s, rcpt, NULL)) < 0) {
		*error = "no answer to RCPT TO";
		return -1;
	}
	if (code / 100 != 2) {
		*error = "RCPT TO:<postmaster@...> refused";
		return -1;
	}
	(void)send_line(s, "RSET");
	(void)reply(s, line, NULL);
	return 0;
}

json_t *probe_run(const struct dest *d, const struct domain_name *dn,
		  const char *helo, int timeout_ms)
{
	struct session s = { 0 };
	struct strbuf banner = STRBUF_INIT, line = STRBUF_INIT,
		      rcpt = STRBUF_INIT;
	const char *error = NULL, *tls_error = NULL;
	bool starttls_offered = false, ok = false;
	json_t *o, *tls = NULL;

	clock_gettime(CLOCK_MONOTONIC, &s.start);
	s.timeout_ms = timeout_ms;
	s.in = (struct strbuf)STRBUF_INIT;
	s.fd = CURL_SOCKET_BAD;
	if (session_open(&s, d) < 0)
		error = "cannot connect";
	else if (greet(&s, helo, &banner, &line, &starttls_offered, &error) ==
			 0 &&
		 (!starttls_offered || tls_or_again(&s, d, helo, &line, &tls,
						    &tls_error, &error) == 0) &&
		 (dn == NULL ||
		  try_postmaster(&s, dn, &line, &rcpt, &error) == 0)) {
		ok = true;
		(void)send_line(&s, "QUIT");
	}
	o = json_pack("{s:b, s:s, s:i, s:s, s:b, s:s, s:i}", "ok", ok, "host",
		      d->ip.text, "port", (int)d->port, "banner", banner.buf,
		      "starttls", starttls_offered, "rcpt_reply", rcpt.buf,
		      "ms", elapsed_ms(&s.start));
	json_object_set_new(o, "error",
			    error ? json_string(error) : json_null());
	if (tls != NULL)
		json_object_set_new(o, "tls", tls);
	if (tls_error != NULL)
		json_object_set_new(o, "tls_error", json_string(tls_error));
	session_close(&s);
	sbuf_release(&s.in);
	sbuf_release(&banner);
	sbuf_release(&line);
	sbuf_release(&rcpt);
	return o;
}

const char *probe_tls_refusal(const json_t *report, enum tls_policy policy,
			      const char *fingerprint, char *buf, size_t size)
{
	const json_t *tls = json_object_get(report, "tls");
	const char *got =
		json_string_value(json_object_get(tls, "fingerprint"));
	const char *why =
		json_string_value(json_object_get(report, "tls_error"));

	switch (policy) {
	case TLS_MAY:
		return NULL;
	case TLS_ENCRYPT:
	case TLS_VERIFY:
		break;
	}
	if (!json_is_object(tls)) {
		(void)snprintf(
			buf, size, "no TLS handshake (%s)",
			why ? why
			: json_is_true(json_object_get(report, "starttls"))
				? "failed"
				: "STARTTLS not offered");
		return buf;
	}
	if (policy == TLS_VERIFY && (got == NULL || fingerprint == NULL ||
				     strcmp(got, fingerprint) != 0)) {
		(void)snprintf(buf, size,
			       "the server's certificate has SHA-256 %s, not "
			       "tls.fingerprint",
			       got ? got : "(none)");
		return buf;
	}
	return NULL;
}
