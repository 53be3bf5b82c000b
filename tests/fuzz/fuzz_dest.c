/* fuzz_dest - dest_parse: an accepted destination re-parses to itself */
#include "fuzz.h"

#include <sys/socket.h>

#include "conf.h"
#include "dest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf conf;
	static int ready;
	struct dest d, again;
	struct error err = ERROR_INIT;
	char *in = fuzz_str(data, size);

	if (!ready) {
		conf_defaults(&conf);
		ready = 1;
	}
	if (dest_parse(in, &conf, &d, "dest", &err) == 0) {
		char text[DEST_TEXT_MAX + 16];

		FUZZ_CHECK(d.port > 0);
		if (d.ip.family == AF_INET6)
			(void)snprintf(text, sizeof(text), "[%s]:%u", d.ip.text,
				       (unsigned)d.port);
		else
			(void)snprintf(text, sizeof(text), "%s:%u", d.ip.text,
				       (unsigned)d.port);
		FUZZ_CHECK(dest_parse(text, &conf, &again, "dest", &err) == 0);
		FUZZ_CHECK(strcmp(again.ip.text, d.ip.text) == 0);
		FUZZ_CHECK(again.port == d.port);
	} else {
		FUZZ_CHECK(strpbrk(error_msg(&err), "\r\n") == NULL);
	}
	error_release(&err);
	free(in);
	return 0;
}
