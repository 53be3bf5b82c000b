/*
 * fuzz_policy_request - the policy delegation reader and the decision:
 * the input is a client's byte stream, cut at '\n' as policyd does; each
 * complete request is decided against a fixed snapshot, and the answer
 * is one line that never echoes what the client sent
 */
#include "fuzz.h"

#include <unistd.h>

#include "policy.h"
#include "policyreq.h"

static const char snapshot[] =
	"domain\tbackup.example\tbackup\t20971520\t0\tverify\t192.0.2.1\n"
	"domain\texample.com\tfeed\t1048576\t1\tlist\t127.0.0.1,::1\n"
	"rule\texample.com\tblock\taddress-regex\t^spam@\n"
	"rule\texample.com\tallow\taddress-regex\t^(a|aa)+$\n"
	"rule\texample.com\tblock\tclient-cidr\t192.0.2.0/24\n"
	"rcpt\texample.com\tinfo\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy pol;
	static int ready;
	struct policy_session ss = { "", "" };
	struct policy_attrs a = POLICY_ATTRS_INIT;
	size_t off = 0;

	if (!ready) {
		char path[] = "/tmp/fuzz_policy.XXXXXX";
		struct error err = ERROR_INIT;
		int fd = mkstemp(path);

		if (fd < 0 || write(fd, snapshot, sizeof(snapshot) - 1) !=
				      (ssize_t)(sizeof(snapshot) - 1))
			abort();
		close(fd);
		if (policy_load(path, &pol, &err) < 0)
			abort();
		unlink(path);
		ready = 1;
	}
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len;
		int rc;

		if (nl == NULL)
			break; /* policyd drops an unterminated line */
		len = (size_t)(nl - (data + off));
		rc = policy_attrs_line(&a, (const char *)data + off, len);
		off += len + 1;
		if (rc < 0)
			break;
		if (rc == 1) {
			struct policy_request rq;
			struct strbuf act = STRBUF_INIT;

			policy_attrs_request(&a, &rq);
			policy_decide(&pol, &ss, &rq, &act);
			FUZZ_CHECK(act.len > 0);
			FUZZ_CHECK(memchr(act.buf, '\n', act.len) == NULL);
			FUZZ_CHECK(strchr(act.buf, '=') == NULL);
			sbuf_release(&act);
			policy_attrs_reset(&a);
		}
	}
	policy_attrs_reset(&a);
	return 0;
}
