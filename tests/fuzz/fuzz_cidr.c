/* fuzz_cidr - cidr_parse and ip_parse: canonical text re-parses to itself */
#include "fuzz.h"

#include <strings.h>

#include "util/cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cidr c, again;
	struct ip_addr ip, ip2;
	struct error err = ERROR_INIT;
	char *in = fuzz_str(data, size);

	if (cidr_parse(in, &c, "cidr", &err) == 0) {
		FUZZ_CHECK(cidr_parse(c.text, &again, "cidr", &err) == 0);
		FUZZ_CHECK(strcmp(again.text, c.text) == 0);
		/* the canonical form is what was typed (hex case aside) */
		FUZZ_CHECK(strcasecmp(c.text, in) == 0);
	}
	error_release(&err);
	if (ip_parse(in, &ip, "ip", &err) == 0) {
		FUZZ_CHECK(ip_parse(ip.text, &ip2, "ip", &err) == 0);
		FUZZ_CHECK(strcmp(ip.text, ip2.text) == 0);
		FUZZ_CHECK(strcasecmp(ip.text, in) == 0);
	}
	error_release(&err);
	free(in);
	return 0;
}
