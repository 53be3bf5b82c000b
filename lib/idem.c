/*
 * idem - Idempotency-Key on the API's POSTs: the rules, over the
 * store's keys (ops_idem_*)
 *
 * See idem.h.  The owner of a token's keys is "token#ID".
 */
#include "idem.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_view.h"
#include "util/parse.h"

const char *const idem_kept_names[] = { "Location", "ETag", NULL };

static void owner(int64_t token_id, char *buf, size_t size)
{
	(void)snprintf(buf, size, "token#%lld", (long long)token_id);
}

void idem_hash(const char *method, const char *path, const char *body,
	       size_t len, unsigned char hash[32])
{
	struct strbuf in = STRBUF_INIT;

	sbuf_addf(&in, "%s %s\n", method, path);
	sbuf_add(&in, body, len);
	SHA256((const unsigned char *)in.buf, in.len, hash);
	sbuf_release(&in);
}

enum idem_start idem_start(const struct ops_ctx *ox, int64_t token_id,
			   const char *key, const unsigned char hash[32],
			   struct idem_stored *st, struct error *err)
{
	char who[32];
	bool same = false;
	int tries;

	owner(token_id, who, sizeof(who));
	/* a reservation may vanish between reserve and get (its request
	 * ended without an answer to keep): then try to take it again */
	for (tries = 0; tries < 3; tries++) {
		switch (ops_idem_reserve(ox, who, key, hash, err)) {
		case 1:
			return IDEM_RUN;
		case 0:
			break;
		default:
			return IDEM_FAIL;
		}
		sbuf_reset(&st->body);
		sbuf_reset(&st->headers);
		switch (ops_idem_get(ox, who, key, hash, &st->status, &st->body,
				     &st->headers, &same, err)) {
		case LOOKUP_FAIL:
			return IDEM_FAIL;
		case LOOKUP_NOTFOUND:
			continue;
		case LOOKUP_FOUND:
			break;
		}
		if (!same)
			return IDEM_OTHER;
		return st->status == 0 ? IDEM_BUSY : IDEM_REPLAY;
	}
	return IDEM_BUSY;
}

json_t *idem_stored_headers(const char *stored)
{
	json_t *h = json_loads(stored, 0, NULL), *o = json_object(), *v;
	const char *name;

	json_object_foreach(h, name, v)
	{
		if (parse_enum(name, idem_kept_names) >= 0 && json_is_string(v))
			json_object_set(o, name, v);
	}
	json_decref(h);
	return o;
}

json_t *idem_kept_headers(const char *lines)
{
	json_t *o = json_object();
	const char *p = lines;

	while (*p) {
		const char *eol = strstr(p, "\r\n");
		const char *colon = strchr(p, ':');
		size_t n;
		int i;

		if (eol == NULL)
			break;
		if (colon != NULL && colon < eol) {
			n = (size_t)(colon - p);
			for (i = 0; idem_kept_names[i]; i++)
				if (strlen(idem_kept_names[i]) == n &&
				    strncasecmp(p, idem_kept_names[i], n) ==
					    0) {
					const char *v = colon + 1;

					while (*v == ' ')
						v++;
					json_object_set_new(
						o, idem_kept_names[i],
						json_stringn(
							v, (size_t)(eol - v)));
				}
		}
		p = eol + 2;
	}
	return o;
}

int idem_finish(const struct ops_ctx *ox, int64_t token_id, const char *key,
		int status, const char *body, size_t len, const char *lines,
		bool secret, struct error *err)
{
	/* a replay of an answer with passwords: that it was done, not them
	 * (they are shown once and never kept) */
	static const char done[] =
		"{\"type\":\"about:blank\",\"title\":\"Conflict\","
		"\"status\":409,\"detail\":\"this request was carried out "
		"before; the passwords it issued were shown once and are not "
		"kept (a new one: mailbox passwd)\"}";
	char who[32];
	char *hs;
	json_t *h;
	int rc;

	owner(token_id, who, sizeof(who));
	/* answers that a retry could change are not kept */
	if (status >= 500 || status == 401 || status == 429 || len == 0)
		return ops_idem_release(ox, who, key, err);
	if (secret && status < 300)
		return ops_idem_put(ox, who, key, 409, done, "{}", err);
	h = idem_kept_headers(lines);
	hs = json_dumps(h, JSON_COMPACT);
	json_decref(h);
	rc = ops_idem_put(ox, who, key, status, body, hs ? hs : "{}", err);
	free(hs);
	return rc;
}
