/*
 * fuzz_conf - the configuration loader on arbitrary files: it loads or
 * refuses with a message, and leaks nothing either way
 * (LeakSanitizer checks)
 */
#include "fuzz.h"

#include <unistd.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[] = "/tmp/fuzz_conf.XXXXXX";
	static int fd = -1;
	struct conf conf;
	struct error err = ERROR_INIT;

	if (fd < 0 && (fd = mkstemp(path)) < 0)
		abort();
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	memset(&conf, 0, sizeof(conf));
	if (conf_load(&conf, path, &err) == 0) {
		conf_release(&conf);
	} else {
		FUZZ_CHECK(err.code != ERR_NONE);
		FUZZ_CHECK(error_msg(&err)[0] != '\0');
	}
	error_release(&err);
	return 0;
}
