/* fuzz_maillog - mlog_parse over any line: bounded fields, no control bytes */
#include "fuzz.h"

#include "maillog.h"

static void clean(const char *s, size_t size)
{
	size_t i, n = strnlen(s, size);

	FUZZ_CHECK(n < size);
	for (i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_str(data, size);
	struct mlog_line l;
	enum mlog_kind k = mlog_parse(in, 1796191200, &l);

	FUZZ_CHECK(k == l.kind || k == ML_NONE);
	if (k != ML_NONE) {
		clean(l.queue_id, sizeof(l.queue_id));
		clean(l.verdict, sizeof(l.verdict));
		clean(l.code, sizeof(l.code));
		clean(l.reply, sizeof(l.reply));
		clean(l.sender, sizeof(l.sender));
		clean(l.recipient, sizeof(l.recipient));
		clean(l.client, sizeof(l.client));
		clean(l.helo, sizeof(l.helo));
		clean(l.message_id, sizeof(l.message_id));
		clean(l.destination, sizeof(l.destination));
		clean(l.spam_level, sizeof(l.spam_level));
		clean(l.spam_action, sizeof(l.spam_action));
		clean(l.spam_score, sizeof(l.spam_score));
	}
	if (k == ML_TAGGED) { /* closed lists and a number, nothing else */
		FUZZ_CHECK(strcmp(l.spam_level, "low") == 0 ||
			   strcmp(l.spam_level, "med") == 0 ||
			   strcmp(l.spam_level, "high") == 0);
		FUZZ_CHECK(strcmp(l.spam_action, "header") == 0 ||
			   strcmp(l.spam_action, "subject") == 0);
		FUZZ_CHECK(l.spam_score[0] != '\0' &&
			   strspn(l.spam_score, "-0123456789.") ==
				   strlen(l.spam_score));
	}
	free(in);
	return 0;
}
