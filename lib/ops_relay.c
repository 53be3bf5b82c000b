/*
 * ops_relay - the relay lifecycle verbs: retire, activate, drain
 *
 * See ops_relay.h.  The rules that need every relay's role (the last
 * active one, the hand-over relay's state) are checked by the store in
 * the one transaction that writes, with every relay row locked, so two
 * drains at once cannot both leave the fleet without an active relay.
 */
#include "ops_relay.h"

#include <string.h>

#include "util/log.h"
#include "util/parse.h"

int ops_relay_name_check(const char *name, const char *field, struct error *err)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "abcdefghijklmnopqrstuvwxyz0123456789.-";
	size_t n = strlen(name);

	if (n == 0 || n > 63 || strspn(name, ok) != n)
		return error_set(err, ERR_INVALID, field,
				 "a relay name is 1 to 63 letters, digits, "
				 "dots and hyphens");
	return 0;
}

int ops_drain_age_parse(const char *text, int64_t *secs, struct error *err)
{
	static const struct {
		char unit;
		int64_t secs;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	size_t n = strlen(text), digits = strspn(text, "0123456789"), i;
	int64_t v = 0;

	/* digits then one unit; at most 8 digits, so no overflow */
	if (n < 2 || digits != n - 1 || digits > 8)
		return error_set(err, ERR_INVALID, "max_age",
				 "--max-age wants a number and a unit (s, m, "
				 "h or d), such as 90m or 2d, not \"%.40s\"",
				 text);
	for (i = 0; i < digits; i++)
		v = v * 10 + (text[i] - '0');
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (text[n - 1] == units[i].unit)
			break;
	if (i == sizeof(units) / sizeof(units[0]))
		return error_set(err, ERR_INVALID, "max_age",
				 "--max-age wants a number and a unit (s, m, "
				 "h or d), such as 90m or 2d, not \"%.40s\"",
				 text);
	v *= units[i].secs;
	if (v < 1 || v > OPS_DRAIN_AGE_MAX)
		return error_set(err, ERR_INVALID, "max_age",
				 "--max-age must be 1 second to 31 days, not "
				 "%s",
				 text);
	*secs = v;
	return 0;
}

int ops_relay_drain(const struct ops_ctx *ox, const struct ops_drain_in *in,
		    struct error *err)
{
	int64_t age = 0;

	if (ops_relay_name_check(in->name, "relay", err) < 0)
		return -1;
	if (in->hand_over != NULL &&
	    ops_relay_name_check(in->hand_over, "hand_over", err) < 0)
		return -1;
	if (in->max_age != NULL && in->hand_over == NULL)
		return error_set(err, ERR_INVALID, "max_age",
				 "--max-age needs --hand-over: without a relay "
				 "to hand over to, the relay delivers its "
				 "queue itself");
	if (in->max_age != NULL &&
	    ops_drain_age_parse(in->max_age, &age, err) < 0)
		return -1;
	if (in->hand_over != NULL && strcmp(in->hand_over, in->name) == 0)
		return error_set(err, ERR_INVALID, "hand_over",
				 "%s cannot hand its queue over to itself",
				 in->name);
	if (store_relay_drain(ox->store, in->name, in->hand_over, age,
			      ox->change.actor, err) < 0)
		return -1;
	log_kv(LOG_LEVEL_INFO,
	       (struct log_field[]){ { LOG_F_ACTOR, ox->change.actor },
				     { LOG_F_TICKET, ox->change.ticket },
				     { NULL, NULL } },
	       "relay %s draining by %s%s%s%s%s", in->name, ox->change.actor,
	       in->hand_over ? ", handing over to " : "",
	       in->hand_over ? in->hand_over : "", in->max_age ? " after " : "",
	       in->max_age ? in->max_age : "");
	return 0;
}

int ops_relay_retire(const struct ops_ctx *ox, const char *name, bool retire,
		     bool force, struct error *err)
{
	if (ops_relay_name_check(name, "relay", err) < 0 ||
	    store_relay_retire(ox->store, name, retire, force, ox->change.actor,
			       err) < 0)
		return -1;
	log_kv(LOG_LEVEL_INFO,
	       (struct log_field[]){ { LOG_F_ACTOR, ox->change.actor },
				     { LOG_F_TICKET, ox->change.ticket },
				     { NULL, NULL } },
	       "relay %s %s by %s", name, retire ? "retired" : "activated",
	       ox->change.actor);
	return 0;
}
