/*
 * fuzz_rule - the sender regex validator and matcher: whatever it
 * accepts compiles, stays under the size bound and matches within the
 * limits; the first line is the pattern, the rest a sender to match
 */
#include "fuzz.h"

#include "rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t plen = nl ? (size_t)(nl - data) : size;
	char *pattern = fuzz_str(data, plen);
	const char *sender = nl ? (const char *)nl + 1 : "";
	size_t slen = nl ? size - plen - 1 : 0;
	struct error err = ERROR_INIT;
	struct rule r;
	int parsed = rule_parse("block", "sender-regex", pattern, &r, &err);
	struct rule_regex *rx;

	error_release(&err);
	rx = rule_regex_compile(pattern, &err);
	/* rule_parse and the compiler agree */
	FUZZ_CHECK((parsed == 0) == (rx != NULL));
	if (rx != NULL) {
		const char *why = NULL;
		enum rule_match m;

		FUZZ_CHECK(strcmp(r.value, pattern) == 0);
		m = rule_regex_match(rx, sender, slen, &why);
		FUZZ_CHECK(m == RULE_MATCH || m == RULE_NOMATCH ||
			   (m == RULE_MATCH_ERROR && why != NULL));
		rule_regex_free(rx);
	} else {
		FUZZ_CHECK(strcmp(err.field, "value") == 0);
		FUZZ_CHECK(strpbrk(error_msg(&err), "\r\n") == NULL);
	}
	error_release(&err);
	free(pattern);
	return 0;
}
