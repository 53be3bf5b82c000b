/*
 * domain - customer domain names: parse, canonicalise, compare
 *
 * See domain.h for the invariants.  The order matters: the raw bytes
 * are allow-listed and size-capped first, so libidn2 never sees
 * controls, spaces, quotes or shell metacharacters; then the name is
 * converted (IDNA2008, non-transitional) and the LDH rules are checked
 * on the A-label that will be stored.
 */
#include "domain.h"

#include <idn2.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse.h"

static int bad(struct error *err, const char *in, const char *why)
{
	struct strbuf s = STRBUF_INIT;
	int rc;

	sbuf_addesc(&s, in, 80);
	rc = error_set(err, ERR_INVALID, "name", "invalid domain name '%s': %s",
		       s.buf, why);
	sbuf_release(&s);
	return rc;
}

static int bad_char(struct error *err, const char *in, unsigned char c)
{
	struct strbuf why = STRBUF_INIT;
	char ch[2] = { (char)c, '\0' };
	int rc;

	if (c == '*')
		sbuf_addstr(&why, "wildcards are not allowed");
	else {
		sbuf_addstr(&why, "character '");
		sbuf_addesc(&why, ch, 1);
		sbuf_addstr(&why, "' not allowed (only letters, digits, '-' "
				  "and '.')");
	}
	rc = bad(err, in, why.buf);
	sbuf_release(&why);
	return rc;
}

static bool is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* The A-label rules of domain.h; NULL when fine, else why not. */
static const char *alabel_check(const char *a)
{
	size_t n = strlen(a), labels = 0;
	const char *p = a, *last = a;

	if (n == 0)
		return "empty";
	if (n > DOMAIN_NAME_MAX)
		return "longer than 253 characters";
	/* the input had none: IDNA made one of U+FF0E, U+3002, ".\u00ad" */
	if (a[n - 1] == '.')
		return "trailing dot not allowed";
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		size_t i;

		if (len == 0)
			return "empty label";
		if (len > 63)
			return "label longer than 63 characters";
		for (i = 0; i < len; i++)
			if (!is_ldh(p[i]))
				return "only letters, digits, '-' and '.' "
				       "are allowed";
		if (p[0] == '-' || p[len - 1] == '-')
			return "a label starts or ends with '-'";
		labels++;
		last = p;
		p += len;
		if (*p == '.')
			p++;
	}
	if (labels < 2)
		return "needs at least two labels";
	if (strspn(last, "0123456789") == strlen(last))
		return "looks like an IP address, not a domain name";
	if (strcmp(last, "localhost") == 0)
		return "localhost is not a customer domain";
	return NULL;
}

/* "xn--" labels must be valid punycode that round-trips. */
static bool punycode_ok(const char *a)
{
	char *u = NULL, *back = NULL;
	bool ok;

	if (strstr(a, "xn--") == NULL)
		return true;
	ok = idn2_to_unicode_8z8z(a, &u, 0) == IDN2_OK &&
	     idn2_to_ascii_8z(u, &back, IDN2_NONTRANSITIONAL) == IDN2_OK &&
	     strcmp(back, a) == 0;
	free(u);
	free(back);
	return ok;
}

/* The raw bytes of in (n of them, n >= 1) before libidn2 sees any:
 * ASCII letters, digits, '-' and '.', or bytes of valid UTF-8 (then
 * *non_ascii); no dot at either end. */
static int input_check(const char *in, size_t n, bool *non_ascii,
		       struct error *err)
{
	size_t i;

	*non_ascii = false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x80)
			*non_ascii = true;
		else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return bad_char(err, in, c);
	}
	if (in[n - 1] == '.')
		return bad(err, in, "trailing dot not allowed");
	if (in[0] == '.')
		return bad(err, in, "leading dot not allowed");
	if (*non_ascii && !utf8_printable(in, n))
		return bad(err, in, "not valid UTF-8");
	return 0;
}

static int bad_idn2(struct error *err, const char *in, int rc)
{
	struct strbuf why = STRBUF_INIT;

	sbuf_addf(&why, "not a valid internationalised name (%s)",
		  idn2_strerror(rc));
	rc = bad(err, in, why.buf);
	sbuf_release(&why);
	return rc;
}

/* in (checked by input_check) as a lower-case A-label, not yet checked
 * itself, into *ascii (the caller frees it). */
static int to_ascii(const char *in, bool non_ascii, char **ascii,
		    struct error *err)
{
	char *a = NULL;
	size_t i;
	int rc;

	/* plain ASCII needs no conversion: our own checks word the errors */
	if (!non_ascii) {
		a = xstrdup(in);
	} else {
		rc = idn2_to_ascii_8z(in, &a,
				      IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
		if (rc != IDN2_OK)
			return bad_idn2(err, in, rc);
	}
	/* idn2 keeps ASCII labels as they are: lower-case them */
	for (i = 0; a[i]; i++)
		if (a[i] >= 'A' && a[i] <= 'Z')
			a[i] = (char)(a[i] - 'A' + 'a');
	*ascii = a;
	return 0;
}

/* The Unicode form of A-label a into ulabel (size): a name with no
 * xn-- label is its own, no conversion (most names, and every read of
 * one, take this way); false if it cannot be made or does not fit. */
static bool ulabel_copy(const char *a, char *ulabel, size_t size)
{
	char *uni = NULL;
	bool ok;

	if (strstr(a, "xn--") == NULL)
		return strlcpy_checked(ulabel, a, size) >= 0;
	ok = idn2_to_unicode_8z8z(a, &uni, 0) == IDN2_OK &&
	     strlcpy_checked(ulabel, uni, size) >= 0;
	free(uni);
	return ok;
}

/* The A-label ascii of input in checked, then copied with its Unicode
 * form into dn. */
static int labels_fill(const char *in, const char *ascii,
		       struct domain_name *dn, struct error *err)
{
	const char *why;

	if ((why = alabel_check(ascii)) != NULL)
		return bad(err, in, why);
	if (!punycode_ok(ascii))
		return bad(err, in, "bad punycode in an xn-- label");
	if (strlcpy_checked(dn->alabel, ascii, sizeof(dn->alabel)) < 0 ||
	    !ulabel_copy(ascii, dn->ulabel, sizeof(dn->ulabel)))
		return bad(err, in, "cannot be converted to Unicode");
	return 0;
}

int domain_name_parse(const char *in, struct domain_name *out,
		      struct error *err)
{
	struct domain_name dn;
	char *ascii = NULL;
	size_t n = in ? strlen(in) : 0;
	bool non_ascii;
	int rc;

	memset(&dn, 0, sizeof(dn));
	if (n == 0)
		return error_set(err, ERR_INVALID, "name",
				 "a domain name is required");
	if (n > DOMAIN_INPUT_MAX)
		return bad(err, in, "too long");
	/* one trailing dot, as pasted from a zone file, names the same
	 * domain (SPEC section 3): parse the name without it */
	if (n > 1 && in[n - 1] == '.' && in[n - 2] != '.') {
		char copy[DOMAIN_INPUT_MAX + 1];

		memcpy(copy, in, n - 1);
		copy[n - 1] = '\0';
		return domain_name_parse(copy, out, err);
	}
	if (input_check(in, n, &non_ascii, err) < 0 ||
	    to_ascii(in, non_ascii, &ascii, err) < 0)
		return -1;
	rc = labels_fill(in, ascii, &dn, err);
	free(ascii);
	if (rc < 0)
		return -1;
	*out = dn;
	return 0;
}

bool domain_name_under(const char *alabel, const char *parent)
{
	size_t n = strlen(alabel), m = strlen(parent);

	if (n == m)
		return strcmp(alabel, parent) == 0;
	return n > m && alabel[n - m - 1] == '.' &&
	       strcmp(alabel + n - m, parent) == 0;
}
