/*
 * mailbox - POP3 mailbox local parts, passwords and their hashes
 *
 * See mailbox.h.  Random choices use rejection sampling over RAND_bytes
 * so that every character of the alphabet is equally likely.
 */
#include "mailbox.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#define HASH_PREFIX "{SHA512-CRYPT}"

int mailbox_local_parse(const char *in, char out[MAILBOX_LOCAL_MAX + 1],
			struct error *err)
{
	char buf[MAILBOX_LOCAL_MAX + 1];
	size_t i, n = in ? strlen(in) : 0;

	if (n == 0 || n > MAILBOX_LOCAL_MAX)
		goto bad;
	for (i = 0; i < n; i++) {
		char c = in[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '+' || c == '-'))
			goto bad;
		buf[i] = c;
	}
	buf[n] = '\0';
	if (buf[0] == '.' || buf[n - 1] == '.' || strstr(buf, "..") != NULL)
		goto bad;
	memcpy(out, buf, n + 1);
	return 0;
bad:
	return error_set(err, ERR_INVALID, "local",
			 "a mailbox name is 1 to 64 of a-z 0-9 . _ + - (no "
			 "leading, trailing or double dot)");
}

/*
 * The names of text into out[*n..]; on a bad name or more than max of
 * them, -1 with err set and *n the names read before it.
 */
int mailbox_locals_split(const char *text, char (*out)[MAILBOX_LOCAL_MAX + 1],
			 size_t max, size_t *n, struct error *err)
{
	const char *p = text;

	while (*p) {
		size_t i, len = strcspn(p, ", \t\r\n");
		const char *s = p, *end = p + len;
		char word[MAILBOX_LOCAL_MAX + 2];

		p = *end ? end + 1 : end;
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (s == end)
			continue;
		if ((size_t)(end - s) >= sizeof(word))
			return error_set(err, ERR_INVALID, "local",
					 "a mailbox name is at most %d "
					 "characters",
					 MAILBOX_LOCAL_MAX);
		memcpy(word, s, (size_t)(end - s));
		word[end - s] = '\0';
		if (*n == max)
			return error_set(err, ERR_INVALID, "local",
					 "at most %zu mailboxes at once", max);
		if (mailbox_local_parse(word, out[*n], err) < 0)
			return -1;
		for (i = 0; i < *n; i++)
			if (strcmp(out[i], out[*n]) == 0)
				break;
		if (i == *n)
			(*n)++;
	}
	return 0;
}

/* n characters from alphabet, uniformly. */
static int random_chars(char *out, size_t n, const char *alphabet)
{
	size_t len = strlen(alphabet), o = 0;
	unsigned limit = 256 - 256 % (unsigned)len;

	while (o < n) {
		unsigned char b[32];
		size_t i;

		if (RAND_bytes(b, sizeof(b)) != 1)
			return -1;
		for (i = 0; i < sizeof(b) && o < n; i++)
			if (b[i] < limit)
				out[o++] = alphabet[b[i] % len];
		OPENSSL_cleanse(b, sizeof(b));
	}
	out[n] = '\0';
	return 0;
}

int mailbox_password_new(char out[MAILBOX_PASSWORD_LEN + 1], struct error *err)
{
	/* no 0/O, 1/l/I: passwords are read out over the phone */
	static const char alphabet[] = "abcdefghijkmnopqrstuvwxyz"
				       "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

	if (random_chars(out, MAILBOX_PASSWORD_LEN, alphabet) < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "no random bytes for a password");
	return 0;
}

int mailbox_password_hash(const char *password, char out[MAILBOX_HASH_MAX + 1],
			  struct error *err)
{
	static const char salt_chars[] = "./0123456789"
					 "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "abcdefghijklmnopqrstuvwxyz";
	char setting[3 + 16 + 2];
	struct crypt_data cd;
	const char *h;
	int rc = 0;

	memcpy(setting, "$6$", 3);
	if (random_chars(setting + 3, 16, salt_chars) < 0)
		return error_set(err, ERR_INTERNAL, NULL,
				 "no random bytes for a salt");
	memset(&cd, 0, sizeof(cd));
	h = crypt_r(password, setting, &cd);
	if (h == NULL || strncmp(h, "$6$", 3) != 0 ||
	    strlen(HASH_PREFIX) + strlen(h) > MAILBOX_HASH_MAX)
		rc = error_set(err, ERR_INTERNAL, NULL,
			       "crypt() cannot make a SHA512-CRYPT hash");
	else
		(void)snprintf(out, MAILBOX_HASH_MAX + 1, "%s%s", HASH_PREFIX,
			       h);
	OPENSSL_cleanse(&cd, sizeof(cd));
	return rc;
}

bool mailbox_password_verify(const char *password, const char *hash)
{
	size_t plen = strlen(HASH_PREFIX);
	struct crypt_data cd;
	const char *h;
	bool ok;

	if (strncmp(hash, HASH_PREFIX, plen) != 0)
		return false;
	hash += plen;
	memset(&cd, 0, sizeof(cd));
	h = crypt_r(password, hash, &cd);
	ok = h != NULL && h[0] == '$' && strlen(h) == strlen(hash) &&
	     CRYPTO_memcmp(h, hash, strlen(hash)) == 0;
	OPENSSL_cleanse(&cd, sizeof(cd));
	return ok;
}
