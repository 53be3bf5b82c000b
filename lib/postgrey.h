/*
 * postgrey - the relay's greylisting daemon follows the generation
 *
 * A generation's postgrey.args holds the options greylist.* gives
 * postgrey (--inet=HOST:PORT --delay=N ...).  When a new generation
 * changes them, postgrey_follow() runs the site's greylist.restart
 * command (an argv, no shell, killed after POSTGREY_RESTART_S) and then
 * waits, at most POSTGREY_LIVE_S, until the postgrey at the
 * generation's --inet greylists by the generation's --delay.
 *
 * The check is behavioural and takes no time of its own: a fresh
 * triplet (a random client in 2001:db8::/32, a recipient unique to the
 * check) asked at T must be greylisted, at T+delay-1 still greylisted,
 * at T+delay passed; postgrey's policy_test_time attribute sets the
 * clock of each request.  An old postgrey still answering with another
 * delay fails it like one that does not answer.
 *
 * Errors: -1 with ERR_INTERNAL and a message for the relays table
 * ("greylist.restart failed (exit 1): ...", "postgrey at H:P did not
 * take ... within 15 s: ...").
 */
#ifndef MXFEED_POSTGREY_H
#define MXFEED_POSTGREY_H

#include "conf.h"
#include "util/error.h"

#define POSTGREY_RESTART_S 60 /* the restart command's time limit */
#define POSTGREY_LIVE_S	   15 /* then postgrey must greylist by args */

/* Restart postgrey with the options in args_path and wait for it. */
int postgrey_follow(const struct conf *conf, const char *args_path,
		    struct error *err) __attribute__((warn_unused_result));
/*
 * One check: 1 when the postgrey at inet greylists by delay, 0 when it
 * answers otherwise (why in err), -1 when it does not answer.
 */
int postgrey_check(const char *inet, int delay, struct error *err);

#endif
