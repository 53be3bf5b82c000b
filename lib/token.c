/*
 * token - API tokens: creation, hashing, roles, scopes
 *
 * See token.h.  The token text is shown once and never stored or
 * logged; the database holds SHA-256(text), compared in constant time.
 */
#include "token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "util/parse.h"

const char *const token_role_names[] = { "read", "operator", "admin", NULL };

int token_name_check(const char *name, struct error *err)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > TOKEN_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-") != n)
		return error_set(err, ERR_INVALID, "name",
				 "token names are 1 to 64 letters, digits, "
				 "'.', '_' or '-'");
	return 0;
}

int token_role_parse(const char *in, enum token_role *out, struct error *err)
{
	int r = parse_enum(in, token_role_names);

	if (r < 0)
		return error_set(err, ERR_INVALID, "role",
				 "role must be read, operator or admin");
	*out = (enum token_role)r;
	return 0;
}

int token_new(char text[TOKEN_TEXT_MAX + 1], unsigned char hash[TOKEN_HASH_LEN],
	      struct error *err)
{
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[33]; /* 32 random bytes, one zero pad byte */
	size_t i, o = 0;

	if (RAND_bytes(raw, 32) != 1)
		return error_set(err, ERR_INTERNAL, NULL,
				 "no random bytes for a token");
	raw[32] = 0;
	memcpy(text, "mxf_", 4);
	o = 4;
	/* 32 bytes = 10 groups of 3 plus 2 bytes: 40 + 3 characters */
	for (i = 0; i < 33; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 |
			     (unsigned)raw[i + 1] << 8 |
			     (i + 2 < 33 ? raw[i + 2] : 0u);

		text[o++] = b64url[(v >> 18) & 63];
		text[o++] = b64url[(v >> 12) & 63];
		text[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < 32)
			text[o++] = b64url[v & 63];
	}
	text[o] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	token_hash(text, hash);
	return 0;
}

/*
 * SHA-256 fetched once: EVP_sha256() makes every EVP_Digest() look the
 * implementation up again under the provider store's lock, which was
 * most of token_hash()'s cost on each API request (bench/web.sh, perf:
 * 4.6% of mxfeed-fcgi's CPU, about 1.5 us of the 2 us per hash).
 */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

void token_hash(const char *text, unsigned char hash[TOKEN_HASH_LEN])
{
	unsigned int n = TOKEN_HASH_LEN;

	(void)pthread_once(&sha256_once, sha256_fetch);
	if (EVP_Digest(text, strlen(text), hash, &n,
		       sha256_md ? sha256_md : EVP_sha256(), NULL) != 1)
		memset(hash, 0, TOKEN_HASH_LEN); /* matches nothing real */
}

bool token_matches(const char *text, const unsigned char hash[TOKEN_HASH_LEN])
{
	unsigned char h[TOKEN_HASH_LEN];
	bool ok;

	token_hash(text, h);
	ok = CRYPTO_memcmp(h, hash, TOKEN_HASH_LEN) == 0;
	OPENSSL_cleanse(h, sizeof(h));
	return ok;
}
