/*
 * trivial_policy - the least a Postfix policy server can do
 *
 * Reads policy requests ("name=value" lines ending with an empty line)
 * on stdin the way mxfeed-policyd does (stdio, one line at a time) and
 * answers every one "action=DUNNO" on stdout, flushed per answer.  The
 * baseline of bench/relay.sh's policyd figure: the cost of the protocol
 * and the pipe round trips without any decision.
 */
#include <stdio.h>
#include <string.h>

#define ATTR_LINE_MAX 4096

int main(void)
{
	char line[ATTR_LINE_MAX];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		size_t len = strlen(line);

		if (len == 0 || line[len - 1] != '\n')
			return 1; /* over-long line */
		if (len > 1)
			continue; /* an attribute: not looked at */
		fputs("action=DUNNO\n\n", stdout);
		if (fflush(stdout) != 0)
			return 1;
	}
	return 0;
}
