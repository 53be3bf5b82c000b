/*
 * tls - TLS on the relays: the site's key pair, customers' policies
 *
 * See tls.h.  OpenSSL's error queue is drained into the message of the
 * first failure, so the operator reads what OpenSSL disliked.
 */
#include "tls.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509err.h>

#include "util/log.h"
#include "util/strbuf.h"

const char *const tls_policy_names[] = { "may", "encrypt", "verify", NULL };

/* OpenSSL's reason for the last failure (and an empty queue after). */
static const char *ssl_reason(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		(void)snprintf(buf, size, "unknown error");
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

int tls_pair_check(const char *cert_file, const char *key_file,
		   struct error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char why[256];
	X509 *leaf;
	int rc = -1;

	if (ctx == NULL)
		return error_set(err, ERR_INTERNAL, "tls",
				 "tls: cannot set up OpenSSL: %s",
				 ssl_reason(why, sizeof(why)));
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
		error_set(err, ERR_INTERNAL, "tls.cert_file",
			  "tls.cert_file: cannot load '%s': %s", cert_file,
			  ssl_reason(why, sizeof(why)));
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			error_set(err, ERR_INTERNAL, "tls.key_file",
				  "tls.key_file: '%s' is not the key of '%s'",
				  key_file, cert_file);
		} else {
			error_set(err, ERR_INTERNAL, "tls.key_file",
				  "tls.key_file: cannot load '%s': %s",
				  key_file, ssl_reason(why, sizeof(why)));
		}
		goto out;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		error_set(err, ERR_INTERNAL, "tls.key_file",
			  "tls.key_file: '%s' is not the key of '%s'", key_file,
			  cert_file);
		ERR_clear_error();
		goto out;
	}
	leaf = SSL_CTX_get0_certificate(ctx);
	if (leaf != NULL && X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0)
		log_warn("tls.cert_file: '%s' has expired: renew it (senders "
			 "that check certificates refuse it)",
			 cert_file);
	rc = 0;
out:
	SSL_CTX_free(ctx);
	return rc;
}

static bool host_loopback(const char *h, size_t n)
{
	char buf[64];
	unsigned char a[16];

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, h, n);
	buf[n] = '\0';
	if (strcmp(buf, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, buf, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, buf, a) == 1)
		return memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0;
	return false; /* "*", "::", a name: not provably loopback */
}

bool tls_listen_loopback(const char *spec, bool with_port)
{
	const char *p = spec;
	int n = 0;

	while (*p) {
		size_t len = strcspn(p, ", \t");
		const char *h = p;
		size_t hl = len;

		if (len == 0) {
			p++;
			continue;
		}
		if (with_port) {
			const char *colon = NULL, *q;

			for (q = p; q < p + len; q++)
				if (*q == ':')
					colon = q;
			if (colon == NULL)
				return false; /* a bare port: every address */
			hl = (size_t)(colon - p);
		}
		if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
			h++;
			hl -= 2;
		}
		if (!host_loopback(h, hl))
			return false;
		n++;
		p += len;
	}
	return n > 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tls_fingerprint_parse(const char *in, char *out, const char *field,
			  struct error *err)
{
	size_t len = strnlen(in, TLS_FP_POSTFIX + 1), i, k = 0;
	bool colons = len == TLS_FP_POSTFIX;

	if (len != TLS_FP_HEX && len != TLS_FP_POSTFIX)
		return error_set(err, ERR_INVALID, field,
				 "%s must be a SHA-256 fingerprint: 64 hex "
				 "digits, or 32 pairs separated by ':'",
				 field);
	for (i = 0; i < len; i++) {
		if (colons && i % 3 == 2) {
			if (in[i] != ':')
				return error_set(err, ERR_INVALID, field,
						 "%s: ':' expected at "
						 "position %zu",
						 field, i + 1);
			continue;
		}
		if (hexval(in[i]) < 0)
			return error_set(err, ERR_INVALID, field,
					 "%s: character 0x%02x is not a hex "
					 "digit",
					 field, (unsigned char)in[i]);
		out[k++] = "0123456789abcdef"[hexval(in[i])];
	}
	out[k] = '\0';
	return 0;
}

void tls_fingerprint_postfix(const char *fp, char *out)
{
	size_t i, k = 0;

	for (i = 0; i < TLS_FP_HEX && fp[i]; i++) {
		if (i > 0 && i % 2 == 0)
			out[k++] = ':';
		out[k++] = fp[i] >= 'a' && fp[i] <= 'f'
				   ? (char)(fp[i] - 'a' + 'A')
				   : fp[i];
	}
	out[k] = '\0';
}

void tls_fingerprint_of(const unsigned char *der, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	out[0] = '\0';
	if (EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen * 2 != TLS_FP_HEX)
		return;
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = "0123456789abcdef"[md[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
	}
	out[2 * mdlen] = '\0';
}
