/* test_relayd - lib/relayd: when the sync loop applies, does its
 * housekeeping, beats, and how often a draining relay publishes */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "relayd.h"

static void clean(struct relayd *d)
{
	memset(d, 0, sizeof(*d));
	d->applied = d->want = 7;
}

static void apply_due(void **state)
{
	struct relayd d;

	(void)state;
	clean(&d);
	assert_false(relayd_apply_due(&d)); /* nothing changed */
	d.want = 8;
	assert_true(relayd_apply_due(&d)); /* a newer sequence */
	d.want = 6; /* a database restored from older: follow it too */
	assert_true(relayd_apply_due(&d));
	clean(&d);
	d.force = true; /* SIGHUP */
	assert_true(relayd_apply_due(&d));
	clean(&d);
	d.drain.regenerate = true; /* a drain's turn, no new sequence */
	assert_true(relayd_apply_due(&d));
	clean(&d);
	d.applied = d.want = 0; /* no generation, none in the database */
	assert_false(relayd_apply_due(&d));
}

static void housekeep_due(void **state)
{
	struct relayd d;
	time_t now = 1700000000;

	(void)state;
	clean(&d);
	assert_true(relayd_housekeep_due(&d, now)); /* never done */
	d.last_housekeep = now - RELAYD_HOUSEKEEP_S + 1;
	assert_false(relayd_housekeep_due(&d, now));
	d.last_housekeep = now - RELAYD_HOUSEKEEP_S;
	assert_true(relayd_housekeep_due(&d, now));
	/* not before a generation is in force */
	d.applied = 0;
	assert_false(relayd_housekeep_due(&d, now));
	d.last_housekeep = 0;
	assert_false(relayd_housekeep_due(&d, now));
}

static void beat_due(void **state)
{
	struct relayd d;
	time_t now = 1700000000;

	(void)state;
	clean(&d);
	assert_true(relayd_beat_due(&d, now));
	d.last_beat = now - RELAYD_BEAT_S + 1;
	assert_false(relayd_beat_due(&d, now));
	d.last_beat = now - RELAYD_BEAT_S;
	assert_true(relayd_beat_due(&d, now));
	d.applied = 0; /* alive without a generation: beats all the same */
	assert_true(relayd_beat_due(&d, now));
}

static void publish_s(void **state)
{
	struct relayd d;

	(void)state;
	clean(&d);
	assert_int_equal(relayd_publish_s(&d), 0); /* fleet's default */
	d.drain.draining = true;
	assert_int_equal(relayd_publish_s(&d), RELAYD_DRAIN_PUBLISH_S);
	assert_true(RELAYD_DRAIN_PUBLISH_S < FLEET_PUBLISH_S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(apply_due),
		cmocka_unit_test(housekeep_due),
		cmocka_unit_test(beat_due),
		cmocka_unit_test(publish_s),
	};

	return cmocka_run_group_tests_name("relayd", tests, NULL, NULL);
}
