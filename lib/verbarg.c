/*
 * verbarg - the numbers the verbs take (see verbarg.h)
 */
#include "verbarg.h"

#include "model.h"
#include "ops_view.h"
#include "switchplan.h"
#include "util/parse.h"

static const struct {
	const char *field;
	long min, max;
} args[] = {
	[VA_DAYS] = { "days", 1, QUEUE_DAYS_MAX },
	[VA_KEEP_DAYS] = { "keep_days", 1, KEEP_DAYS_MAX },
	[VA_VERSION] = { "version", 1, OPS_VERSION_MAX },
};

const char *verb_arg_field(enum verb_arg a)
{
	return args[a].field;
}

int verb_arg_text(enum verb_arg a, const char *text, long *out,
		  struct error *err)
{
	*out = VA_ABSENT;
	if (text == NULL || text[0] == '\0')
		return 0;
	return parse_long(text, args[a].min, args[a].max, out, args[a].field,
			  err);
}

/* parse_long()'s words, so that every front says the same */
static int refuse(enum verb_arg a, struct error *err)
{
	return error_set(err, ERR_INVALID, args[a].field,
			 "%s must be a whole number from %ld to %ld",
			 args[a].field, args[a].min, args[a].max);
}

int verb_arg_check(enum verb_arg a, long v, struct error *err)
{
	if (v >= args[a].min && v <= args[a].max)
		return 0;
	return refuse(a, err);
}

int verb_arg_json(enum verb_arg a, const json_t *v, long *out,
		  struct error *err)
{
	json_int_t n;

	*out = VA_ABSENT;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return refuse(a, err);
	n = json_integer_value(v);
	if (n < args[a].min || n > args[a].max)
		return refuse(a, err);
	*out = (long)n;
	return 0;
}

int verb_extend_choice(long days, const char *until, struct error *err)
{
	bool d = days != VA_ABSENT, u = until != NULL && until[0] != '\0';

	if (d && u)
		return error_set(err, ERR_INVALID, "until",
				 "give a number of days or a date, not both");
	if (!d && !u)
		return error_set(err, ERR_INVALID, "days",
				 "give a number of days (1 to %d) or a date, "
				 "YYYY-MM-DD",
				 QUEUE_DAYS_MAX);
	return 0;
}
