/*
 * domain - customer domain names: parse, canonicalise, compare
 *
 * domain_name_parse() turns user input (A- or U-label, any case) into a
 * struct domain_name.  Invariants of every struct domain_name:
 *   - alabel: lower-case LDH A-label, 1..253 bytes, >= 2 labels, labels
 *     1..63 bytes, no leading/trailing hyphen, no trailing dot, the
 *     top-level label not all-numeric (so never an IP address), not
 *     "localhost" or below it;
 *   - ulabel: the IDNA2008 Unicode form (UTF-8), for display only; equal
 *     to alabel for plain ASCII names.
 * One trailing dot on input ("example.com.", as pasted from a zone
 * file) is dropped: it names the same domain; two are refused.
 * Input bytes are allow-listed before libidn2 sees them; bad punycode
 * ("xn--" labels that do not decode) is rejected.
 * Errors: -1 with err->code == ERR_INVALID, field "name".  Never logs.
 */
#ifndef MXFEED_DOMAIN_H
#define MXFEED_DOMAIN_H

#include <stdbool.h>

#include "util/error.h"

#define DOMAIN_NAME_MAX	  253
#define DOMAIN_ULABEL_MAX 1024
#define DOMAIN_INPUT_MAX  1024

struct domain_name {
	char alabel[DOMAIN_NAME_MAX + 1];
	char ulabel[DOMAIN_ULABEL_MAX + 1];
};

int domain_name_parse(const char *in, struct domain_name *out,
		      struct error *err) __attribute__((warn_unused_result));
/* true when name equals one of names or lies below it */
bool domain_name_under(const char *alabel, const char *parent);

#endif
