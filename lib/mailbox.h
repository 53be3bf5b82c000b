/*
 * mailbox - POP3 mailbox local parts, passwords and their hashes
 *
 * mailbox_local_parse(): 1..64 bytes of [a-z0-9._+-] after lower-casing
 * ASCII, no leading, trailing or doubled dot; "*" is refused (the
 * catch-all is a flag, not a name).
 * mailbox_locals_split(): a typed list such as "info, sales abuse" (comma,
 * blank or line end between names) as canonical local parts, duplicates
 * dropped, at most max of them: what the portal's form and any other
 * one-text input of several mailboxes read.
 * mailbox_password_new(): 20 characters from RAND_bytes over an
 * unambiguous alphabet.
 * mailbox_password_hash(): "{SHA512-CRYPT}$6$..." as Dovecot's passdb
 * reads it (crypt_r with a RAND_bytes salt).
 * mailbox_password_verify(): constant-time check of a password against
 * such a hash.
 */
#ifndef MXFEED_MAILBOX_H
#define MXFEED_MAILBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "domain.h"
#include "util/error.h"

#define MAILBOX_LOCAL_MAX    64
#define MAILBOX_PASSWORD_LEN 20
#define MAILBOX_HASH_MAX     160

struct mailbox {
	int64_t id; /* never reused: the maildir is named after it */
	char local[MAILBOX_LOCAL_MAX + 1];
	bool temporary;
	bool catch_all;
	int64_t created_at;
	int64_t expires_at; /* 0 = never */
};

int mailbox_local_parse(const char *in, char out[MAILBOX_LOCAL_MAX + 1],
			struct error *err) __attribute__((warn_unused_result));
int mailbox_locals_split(const char *text, char (*out)[MAILBOX_LOCAL_MAX + 1],
			 size_t max, size_t *n, struct error *err)
	__attribute__((warn_unused_result));
int mailbox_password_new(char out[MAILBOX_PASSWORD_LEN + 1], struct error *err)
	__attribute__((warn_unused_result));
int mailbox_password_hash(const char *password, char out[MAILBOX_HASH_MAX + 1],
			  struct error *err)
	__attribute__((warn_unused_result));
bool mailbox_password_verify(const char *password, const char *hash);

#endif
