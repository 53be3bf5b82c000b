/*
 * doveadm - Dovecot's doveadm HTTP API, for the jobs worker
 *
 * See doveadm.h.  One libcurl handle per worker, kept between calls so
 * the connection is reused; the request and the reply are JSON.
 */
#include "doveadm.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/strbuf.h"

#define REPLY_MAX (256u * 1024 * 1024) /* a page of message metadata */

struct doveadm {
	CURL *curl;
	struct curl_slist *headers;
	char url[256];
	char errbuf[CURL_ERROR_SIZE];
	struct strbuf reply;
	bool too_big;
};

static int key_path(const struct conf *conf, char *path, size_t n,
		    struct error *err)
{
	int len = snprintf(path, n, "%s/doveadm.key", conf->state_dir);

	if (len < 0 || (size_t)len >= n)
		return error_set(err, ERR_INTERNAL, "paths.state",
				 "paths.state is too long");
	return 0;
}

static bool key_ok(const char *k)
{
	return strlen(k) == DOVEADM_KEY_LEN &&
	       strspn(k, "0123456789abcdef") == DOVEADM_KEY_LEN;
}

static int key_create(const char *path, struct error *err)
{
	unsigned char b[DOVEADM_KEY_LEN / 2];
	char hex[DOVEADM_KEY_LEN + 2];
	size_t i;
	int fd, rc = 0;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return error_set(err, ERR_INTERNAL, NULL,
				 "no random bytes for the doveadm key");
	for (i = 0; i < sizeof(b); i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", b[i]);
	hex[DOVEADM_KEY_LEN] = '\n';
	/* O_EXCL: two programs making it at once keep the first one's */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? 0
				       : error_set(err, ERR_INTERNAL, NULL,
						   "cannot create %s: %s", path,
						   strerror(errno));
	if (write(fd, hex, DOVEADM_KEY_LEN + 1) != DOVEADM_KEY_LEN + 1 ||
	    fsync(fd) < 0)
		rc = error_set(err, ERR_INTERNAL, NULL, "cannot write %s: %s",
			       path, strerror(errno));
	if (close(fd) < 0 && rc == 0)
		rc = error_set(err, ERR_INTERNAL, NULL, "cannot write %s: %s",
			       path, strerror(errno));
	if (rc < 0)
		(void)unlink(path);
	return rc;
}

int doveadm_key(const struct conf *conf, bool create,
		char key[DOVEADM_KEY_LEN + 1], struct error *err)
{
	char path[PATH_MAX], buf[DOVEADM_KEY_LEN + 8];
	FILE *fp;
	size_t n;

	if (key_path(conf, path, sizeof(path), err) < 0)
		return -1;
	if (create && access(path, F_OK) < 0 && key_create(path, err) < 0)
		return -1;
	if ((fp = fopen(path, "re")) == NULL)
		return error_set(err, ERR_TEMPFAIL, NULL,
				 "cannot read the doveadm key %s: %s", path,
				 strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	(void)fclose(fp);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!key_ok(buf))
		return error_set(err, ERR_INTERNAL, NULL,
				 "%s does not hold a doveadm key (64 hex "
				 "characters)",
				 path);
	memcpy(key, buf, DOVEADM_KEY_LEN + 1);
	return 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct doveadm *d = arg;

	if (d->reply.len + n > REPLY_MAX) {
		d->too_big = true;
		return 0;
	}
	sbuf_add(&d->reply, p, n);
	(void)size;
	return n;
}

int doveadm_open(struct doveadm **out, const struct conf *conf,
		 struct error *err)
{
	char key[DOVEADM_KEY_LEN + 1], auth[160];
	unsigned char b64[DOVEADM_KEY_LEN * 2];
	struct doveadm *d;
	int len;

	*out = NULL;
	if (doveadm_key(conf, false, key, err) < 0)
		return -1;
	d = xcalloc(1, sizeof(*d));
	sbuf_init(&d->reply, 0);
	len = snprintf(d->url, sizeof(d->url), "http://%s/doveadm/v1",
		       conf->mailbox_doveadm);
	if (len < 0 || (size_t)len >= sizeof(d->url)) {
		free(d);
		return error_set(err, ERR_INVALID, "mailbox.doveadm",
				 "mailbox.doveadm is too long");
	}
	(void)EVP_EncodeBlock(b64, (const unsigned char *)key, DOVEADM_KEY_LEN);
	(void)snprintf(auth, sizeof(auth), "Authorization: X-Dovecot-API %s",
		       (const char *)b64);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(b64, sizeof(b64));
	d->curl = curl_easy_init();
	d->headers = curl_slist_append(NULL, auth);
	d->headers =
		curl_slist_append(d->headers, "Content-Type: application/json");
	OPENSSL_cleanse(auth, sizeof(auth));
	if (d->curl == NULL || d->headers == NULL) {
		doveadm_close(d);
		return error_set(err, ERR_INTERNAL, NULL,
				 "cannot set up libcurl");
	}
	curl_easy_setopt(d->curl, CURLOPT_URL, d->url);
	curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, d->headers);
	curl_easy_setopt(d->curl, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(d->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(d->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)DOVEADM_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(d->curl, CURLOPT_TIMEOUT_MS, (long)DOVEADM_TIMEOUT_MS);
	curl_easy_setopt(d->curl, CURLOPT_ERRORBUFFER, d->errbuf);
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, d);
	*out = d;
	return 0;
}

void doveadm_close(struct doveadm *d)
{
	if (d == NULL)
		return;
	if (d->curl)
		curl_easy_cleanup(d->curl);
	curl_slist_free_all(d->headers);
	sbuf_release(&d->reply);
	free(d);
}

json_t *doveadm_call(struct doveadm *d, const char *name, json_t *params,
		     struct error *err)
{
	json_t *req, *reply = NULL, *first, *result = NULL;
	json_error_t jerr;
	char *body;
	long status = 0;
	CURLcode cc;

	req = json_pack("[[s, o, s]]", name, params, "t");
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (body == NULL) {
		error_set(err, ERR_INTERNAL, NULL, "doveadm %s: bad request",
			  name);
		return NULL;
	}
	sbuf_reset(&d->reply);
	d->too_big = false;
	d->errbuf[0] = '\0';
	curl_easy_setopt(d->curl, CURLOPT_POSTFIELDS, body);
	cc = curl_easy_perform(d->curl);
	free(body);
	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK) {
		error_set(err, ERR_TEMPFAIL, NULL, "doveadm %s at %s: %s", name,
			  d->url,
			  d->too_big	 ? "reply too large"
			  : d->errbuf[0] ? d->errbuf
					 : curl_easy_strerror(cc));
		return NULL;
	}
	if (status != 200) {
		error_set(err, ERR_TEMPFAIL, NULL,
			  "doveadm %s at %s: HTTP status %ld", name, d->url,
			  status);
		return NULL;
	}
	reply = json_loadb(d->reply.buf, d->reply.len, 0, &jerr);
	first = json_array_get(reply, 0);
	if (!json_is_array(first) || json_array_size(first) < 2) {
		error_set(err, ERR_TEMPFAIL, NULL,
			  "doveadm %s: unexpected reply", name);
	} else if (strcmp(json_string_value(json_array_get(first, 0)) ?: "",
			  "doveadmResponse") == 0 &&
		   json_is_array(json_array_get(first, 1))) {
		result = json_incref(json_array_get(first, 1));
	} else {
		json_t *e = json_array_get(first, 1);

		error_set(err, ERR_TEMPFAIL, NULL,
			  "doveadm %s failed: %s %" JSON_INTEGER_FORMAT, name,
			  json_string_value(json_object_get(e, "type"))
				  ?: "error",
			  json_integer_value(json_object_get(e, "exitCode")));
	}
	json_decref(reply);
	return result;
}
