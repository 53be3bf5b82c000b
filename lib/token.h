/*
 * token - API tokens: creation, hashing, roles, scopes
 *
 * A token is "mxf_" + 43 base64url characters of RAND_bytes(32).  Only
 * its SHA-256 is stored; token_matches() compares digests with
 * CRYPTO_memcmp.  Token names are 1..64 bytes of [A-Za-z0-9._-].
 * Roles: read (GET only), operator (changes), admin (tokens, remove,
 * purge), ordered so that a higher role includes the lower ones.
 */
#ifndef MXFEED_TOKEN_H
#define MXFEED_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define TOKEN_NAME_MAX 64
#define TOKEN_TEXT_MAX 64
#define TOKEN_HASH_LEN 32

enum token_role { ROLE_READ, ROLE_OPERATOR, ROLE_ADMIN };
extern const char *const token_role_names[]; /* "read", ... NULL */

int token_name_check(const char *name, struct error *err)
	__attribute__((warn_unused_result));
int token_role_parse(const char *in, enum token_role *out, struct error *err)
	__attribute__((warn_unused_result));
/* New random token text and its digest. */
int token_new(char text[TOKEN_TEXT_MAX + 1], unsigned char hash[TOKEN_HASH_LEN],
	      struct error *err) __attribute__((warn_unused_result));
void token_hash(const char *text, unsigned char hash[TOKEN_HASH_LEN]);
bool token_matches(const char *text, const unsigned char hash[TOKEN_HASH_LEN]);

#endif
