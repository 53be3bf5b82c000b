/*
 * httpc - the HTTP client: one libcurl request with timeouts always.
 * See httpc.h.
 */
#include <curl/curl.h>

#include "httpc.h"

struct sink {
	struct strbuf *sb;
	size_t max;
	int too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;

	(void)size; /* always 1 */
	if (s->sb->len + n > s->max) {
		s->too_big = 1;
		return 0;
	}
	sbuf_add(s->sb, p, n);
	return n;
}

int httpc_post(const struct httpc_req *rq, long *status, struct strbuf *reply,
	       struct error *err)
{
	char ebuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hl = NULL;
	struct sink s = { reply, rq->max_reply, 0 };
	CURL *c;
	CURLcode cc;
	size_t i;
	int rc = 0;

	*status = 0;
	sbuf_reset(reply);
	c = curl_easy_init();
	for (i = 0; c != NULL && rq->headers && rq->headers[i]; i++) {
		struct curl_slist *t = curl_slist_append(hl, rq->headers[i]);

		if (t == NULL) {
			curl_slist_free_all(hl);
			curl_easy_cleanup(c);
			c = NULL;
			hl = NULL;
			break;
		}
		hl = t;
	}
	if (c == NULL)
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot set up libcurl");
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->total_ms);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)rq->body_len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (cc != CURLE_OK)
		rc = error_set(err, ERR_TEMPFAIL, NULL, "%s: %s", rq->url,
			       s.too_big ? "reply too large"
			       : ebuf[0] ? ebuf
					 : curl_easy_strerror(cc));
	else if (*status >= 500)
		rc = error_set(err, ERR_TEMPFAIL, NULL, "%s: HTTP status %ld",
			       rq->url, *status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return rc;
}
