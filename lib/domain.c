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

int domain_name_parse(const char *in, struct domain_name *out,
		      struct error *err)
{
	struct domain_name dn;
	char *ascii = NULL, *uni = NULL;
	const char *why;
	size_t i, n = in ? strlen(in) : 0;
	bool non_ascii = false;
	int rc = IDN2_OK;

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
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x80)
			non_ascii = true;
		else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return bad_char(err, in, c);
	}
	if (in[n - 1] == '.')
		return bad(err, in, "trailing dot not allowed");
	if (in[0] == '.')
		return bad(err, in, "leading dot not allowed");
	if (non_ascii && !utf8_printable(in, n))
		return bad(err, in, "not valid UTF-8");
	/* plain ASCII needs no conversion: our own checks word the errors */
	if (!non_ascii)
		ascii = xstrdup(in);
	else
		rc = idn2_to_ascii_8z(in, &ascii,
				      IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (non_ascii && rc != IDN2_OK) {
		struct strbuf s = STRBUF_INIT;

		sbuf_addf(&s, "not a valid internationalised name (%s)",
			  idn2_strerror(rc));
		rc = bad(err, in, s.buf);
		sbuf_release(&s);
		return rc;
	}
	/* idn2 keeps ASCII labels as they are: lower-case them */
	for (i = 0; ascii[i]; i++)
		if (ascii[i] >= 'A' && ascii[i] <= 'Z')
			ascii[i] = (char)(ascii[i] - 'A' + 'a');
	if ((why = alabel_check(ascii)) != NULL) {
		rc = bad(err, in, why);
		free(ascii);
		return rc;
	}
	if (!punycode_ok(ascii)) {
		free(ascii);
		return bad(err, in, "bad punycode in an xn-- label");
	}
	/* a name with no xn-- label is its own Unicode form: no
	 * conversion (most names, and every read of one, take this way) */
	if (strlcpy_checked(dn.alabel, ascii, sizeof(dn.alabel)) < 0 ||
	    (strstr(ascii, "xn--") == NULL
		     ? strlcpy_checked(dn.ulabel, ascii, sizeof(dn.ulabel)) < 0
		     : idn2_to_unicode_8z8z(ascii, &uni, 0) != IDN2_OK ||
			       strlcpy_checked(dn.ulabel, uni,
					       sizeof(dn.ulabel)) < 0)) {
		free(ascii);
		free(uni);
		return bad(err, in, "cannot be converted to Unicode");
	}
	free(ascii);
	free(uni);
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
