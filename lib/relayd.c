/*
 * relayd - the relay daemon's loop
 *
 * See relayd.h.  One turn reads the sequence, applies when due, does
 * the work between changes and waits for the next notification; any
 * database failure ends the turn, closes both connections and waits
 * out the backoff.  Log lines start "sync: ", the verb's name.
 */
#include "relayd.h"

#include <string.h>

#include "digest.h"
#include "queue.h"
#include "relay.h"
#include "store.h"
#include "util/log.h"
#include "util/loop.h"

bool relayd_apply_due(const struct relayd *d)
{
	return d->want != d->applied || d->force || d->drain.regenerate;
}

bool relayd_housekeep_due(const struct relayd *d, time_t now)
{
	return now - d->last_housekeep >= RELAYD_HOUSEKEEP_S && d->applied > 0;
}

bool relayd_beat_due(const struct relayd *d, time_t now)
{
	return now - d->last_beat >= RELAYD_BEAT_S;
}

int relayd_publish_s(const struct relayd *d)
{
	return d->drain.draining ? RELAYD_DRAIN_PUBLISH_S : 0;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void wait_backoff(struct relayd *d)
{
	loop_pause(d->backoff);
	d->backoff = loop_backoff(d->backoff);
}

/* SIGHUP: mxfeed.conf again, and a generation by it */
static void reread(struct relayd *d)
{
	struct error e2 = ERROR_INIT;

	if (conf_load(d->conf, d->conf_path, &d->err) < 0) {
		log_error("sync: %s; the configuration read before stays in "
			  "force",
			  error_msg(&d->err));
		if (relayctl_report_failure(&d->c, error_msg(&d->err), &e2) < 0)
			log_warn("sync: %s", error_msg(&e2));
		error_release(&e2);
		error_clear(&d->err);
		return;
	}
	log_init("mta-glue", d->conf->log_level);
	log_set_target(d->conf->log_target, LOG_LEVEL_NONE);
	log_info("sync: re-read %s; applying", d->conf->path);
	store_close(d->c.s);
	d->c.s = NULL;
	d->force = true;
}

/* 0 applied and reported; 1 the apply failed (retried after the
 * backoff); -1 the database failed */
static int apply(struct relayd *d)
{
	struct error e2 = ERROR_INIT;
	struct timespec t0;
	int64_t seq = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (relayctl_apply(&d->c, d->force, &seq, &d->err) < 0) {
		log_error("sync: apply failed: %s; sequence %lld stays in "
			  "force",
			  error_msg(&d->err), (long long)d->applied);
		relaystat_failed(&d->rst);
		if (relayctl_report_failure(&d->c, error_msg(&d->err), &e2) < 0)
			error_release(&e2);
		if (d->err.code == ERR_TEMPFAIL)
			return -1;
		wait_backoff(d);
		return 1;
	}
	d->applied = seq;
	d->force = false;
	relaystat_applied(&d->rst, ms_since(&t0) / 1e3);
	log_info("sync: applied sequence %lld in %.0f ms", (long long)seq,
		 ms_since(&t0));
	if (relayctl_report(&d->c, seq, &d->err) < 0)
		return -1;
	d->last_beat = time(NULL);
	return 0;
}

/* the queue's expiry and the digests; their trouble is logged */
static void housekeep(struct relayd *d)
{
	const struct conf *conf = d->conf;
	struct error e2 = ERROR_INIT;
	size_t n = 0, q = 0;

	if (queue_expire(conf, (int64_t)time(NULL), &n, &q, &e2) < 0) {
		log_warn("sync: queue-expire: %s", error_msg(&e2));
		error_release(&e2);
	} else if (n > 0 || q > 0) {
		log_info("sync: expired %zu message(s) past their domain's "
			 "queue lifetime, deleted %zu quarantined past %d days",
			 n, q, conf->quarantine_days);
	}
	if (digest_run(d->c.s, conf, (int64_t)time(NULL), &n, &e2) < 0) {
		log_warn("sync: quarantine digest: %s", error_msg(&e2));
		error_release(&e2);
	}
	d->last_housekeep = time(NULL);
}

/* the heartbeat, and how far the standby this relay reads lags */
static int beat(struct relayd *d)
{
	int64_t lag = 0;

	if (store_relay_heartbeat(d->c.s, d->conf->relay_name, &d->err) < 0)
		return -1;
	if (d->c.rs == NULL)
		return 0;
	if (store_read_lag(d->c.s, d->c.rs, &lag, &d->err) < 0)
		return -1;
	return store_relay_read_lag(d->c.s, d->conf->relay_name, lag, &d->err);
}

/* until a change is notified or the poll is due */
static int wait_change(struct relayd *d)
{
	int rc = store_wait_change(d->c.s, RELAYD_POLL_MS, &d->err);

	if (rc == 1) /* let a burst of changes settle into one */
		while ((rc = store_wait_change(d->c.s, RELAYD_SETTLE_MS,
					       &d->err)) == 1)
			;
	return rc < 0 ? -1 : 0;
}

/* the work between changes; -1: the database failed */
static int serve(struct relayd *d)
{
	if (relayd_beat_due(d, time(NULL))) {
		if (beat(d) < 0)
			return -1;
		d->last_beat = time(NULL);
	}
	/* staff's queue commands, and the queue published (while
	 * draining, often: feedctl relays shows what is left) */
	d->fleet.publish_s = relayd_publish_s(d);
	if (d->applied > 0 &&
	    fleet_serve(d->c.s, d->conf, &d->fleet, &d->err) < 0)
		return -1;
	/* the log's new lines into message tracking */
	if (track_turn(&d->trk, d->c.s, d->conf, &d->err) < 0)
		return -1;
	/* paths.state/metrics.prom, every few seconds */
	relaystat_turn(&d->rst, d->c.s, d->conf, d->applied, d->want);
	return wait_change(d);
}

/* One turn; -1: the database failed (d->err). */
static int turn(struct relayd *d)
{
	int rc;

	if (d->c.s == NULL &&
	    store_open(&d->c.s, d->conf->db_conninfo, d->conf, &d->err) < 0) {
		log_warn("sync: %s; still serving sequence %lld; retrying in "
			 "%d s",
			 error_msg(&d->err), (long long)d->applied, d->backoff);
		wait_backoff(d);
		return 0;
	}
	if (relayctl_open_read(&d->c, &d->err) < 0 ||
	    store_change_seq(relayctl_reader(&d->c), &d->want, &d->err) < 0)
		return -1;
	/* a drain begun, ended or due to hand over regenerates */
	if (d->applied > 0 &&
	    drain_turn(d->c.s, d->c.rs, d->conf, &d->drain, &d->err) < 0)
		return -1;
	if (relayd_apply_due(d)) {
		rc = apply(d);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
	}
	d->backoff = 1;
	if (relayd_housekeep_due(d, time(NULL)))
		housekeep(d);
	return serve(d);
}

int relayd_run(struct conf *conf, const char *conf_path, const char *policyd)
{
	struct relayd d;

	memset(&d, 0, sizeof(d));
	d.conf = conf;
	d.conf_path = conf_path;
	d.err = (struct error)ERROR_INIT;
	d.applied = relay_current_seq(conf);
	d.backoff = 1;
	relayctl_init(&d.c, conf, policyd);
	loop_signals(true);
	track_init(&d.trk, conf);
	log_info("sync: relay %s starts at sequence %lld", conf->relay_name,
		 (long long)d.applied);
	while (!loop_stopping()) {
		error_clear(&d.err);
		if (loop_reread_take())
			reread(&d);
		if (turn(&d) == 0)
			continue;
		log_warn("sync: database unavailable: %s; still serving "
			 "sequence %lld",
			 error_msg(&d.err), (long long)d.applied);
		relayctl_close(&d.c);
		wait_backoff(&d);
	}
	log_info("sync: stopping at sequence %lld", (long long)d.applied);
	track_release(&d.trk);
	relayctl_close(&d.c);
	error_release(&d.err);
	return 0;
}
