/* fuzz_domain_name - domain_name_parse: accepted names are canonical */
#include "fuzz.h"

#include "domain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct domain_name dn, again;
	struct error err = ERROR_INIT;
	char *in = fuzz_str(data, size);
	size_t i, n;

	if (domain_name_parse(in, &dn, &err) == 0) {
		n = strlen(dn.alabel);
		FUZZ_CHECK(n >= 1 && n <= DOMAIN_NAME_MAX);
		FUZZ_CHECK(dn.alabel[n - 1] != '.' && dn.alabel[0] != '.');
		FUZZ_CHECK(strstr(dn.alabel, "..") == NULL);
		FUZZ_CHECK(strchr(dn.alabel, '.') != NULL);
		for (i = 0; i < n; i++)
			FUZZ_CHECK(
				(dn.alabel[i] >= 'a' && dn.alabel[i] <= 'z') ||
				(dn.alabel[i] >= '0' && dn.alabel[i] <= '9') ||
				dn.alabel[i] == '.' || dn.alabel[i] == '-');
		/* the canonical form re-parses to itself */
		FUZZ_CHECK(domain_name_parse(dn.alabel, &again, &err) == 0);
		FUZZ_CHECK(strcmp(again.alabel, dn.alabel) == 0);
	} else {
		FUZZ_CHECK(err.code != ERR_NONE);
		FUZZ_CHECK(strpbrk(error_msg(&err), "\r\n") == NULL);
	}
	error_release(&err);
	free(in);
	return 0;
}
