/*
 * drain - a relay's own side of being drained (feedctl relay drain)
 *
 * See drain.h.  The plan comes from the relay's own row; the generation
 * carries it (DRAIN), so nothing here keeps state a restart would lose:
 * a sync that starts again reads the plan, compares, and flushes when
 * it sees a draining generation for the first time.
 */
#include "drain.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "relay.h"
#include "util/cidr.h"
#include "util/log.h"
#include "util/strbuf.h"

/* The peers' addresses as the store gave them, each canonical or out. */
static void peers_take(const char *in, char *out, size_t size)
{
	struct strbuf b = STRBUF_INIT;
	char one[64];

	while (*in) {
		size_t n = strcspn(in, ",");
		struct ip_addr a;
		struct error e = ERROR_INIT;

		if (n < sizeof(one)) {
			memcpy(one, in, n);
			one[n] = '\0';
			if (ip_parse(one, &a, "relays.addresses", &e) == 0)
				sbuf_addf(&b, "%s%s", b.len ? "," : "", a.text);
		}
		error_release(&e);
		in += n;
		if (*in == ',')
			in++;
	}
	out[0] = '\0';
	if (b.len < size)
		memcpy(out, b.buf, b.len + 1);
	sbuf_release(&b);
}

int drain_plan_read(struct store *s, const struct conf *conf,
		    struct drain_plan *p, struct error *err)
{
	struct store_drain d;

	memset(p, 0, sizeof(*p));
	if (conf->relay_name == NULL)
		return 0;
	if (store_relay_drain_state(s, conf->relay_name, &d, err) < 0)
		return -1;
	peers_take(d.peers, p->peers, sizeof(p->peers));
	if (!d.draining)
		return 0;
	p->mode = DRAIN_REFUSE;
	/* the store checked the address's shape (sql/014): brackets,
	 * hex digits, dots, colons and a port */
	if (d.hand_over_due && d.hand_over[0] != '\0') {
		p->mode = DRAIN_HAND_OVER;
		(void)snprintf(p->hand_over, sizeof(p->hand_over), "%s",
			       d.hand_over);
	}
	return 0;
}

void drain_plan_text(const struct drain_plan *p, char *buf, size_t size)
{
	const char *mode = p->mode == DRAIN_HAND_OVER ? "hand-over "
			   : p->mode == DRAIN_REFUSE  ? "refuse"
						      : "off";

	(void)snprintf(buf, size, "%s%s%s%s", mode,
		       p->mode == DRAIN_HAND_OVER ? p->hand_over : "",
		       p->peers[0] ? " peers " : "", p->peers);
}

void drain_vars(const struct drain_plan *p, const char *current,
		struct drain_vars *v)
{
	bool refuse = p->mode != DRAIN_OFF;

	v->delay_reject = refuse ? "no" : "yes";
	v->client = refuse ? "mxfeed_draining" : "";
	v->peer_checks[0] = '\0';
	if (p->peers[0] != '\0') {
		struct strbuf b = STRBUF_INIT;
		const char *a = p->peers;

		sbuf_addstr(&b, "reject_unauth_destination, "
				"check_client_access cidr:{");
		while (*a) {
			size_t n = strcspn(a, ",");

			sbuf_addf(&b, "%s{%.*s/%s OK}",
				  a == p->peers ? "" : ", ", (int)n, a,
				  memchr(a, ':', n) ? "128" : "32");
			a += n;
			if (*a == ',')
				a++;
		}
		sbuf_addstr(&b, "}, ");
		if (b.len < sizeof(v->peer_checks))
			memcpy(v->peer_checks, b.buf, b.len + 1);
		sbuf_release(&b);
	}
	if (p->mode == DRAIN_HAND_OVER) {
		v->transport_maps[0] = '\0';
		(void)snprintf(v->relay_transport, sizeof(v->relay_transport),
			       "relay:%s", p->hand_over);
	} else {
		(void)snprintf(v->transport_maps, sizeof(v->transport_maps),
			       "lmdb:%s/transport", current);
		(void)snprintf(v->relay_transport, sizeof(v->relay_transport),
			       "relay");
	}
}

void drain_smtp_address(const struct conf *conf, char *buf, size_t size)
{
	const char *listen = conf->relay_listen, *colon = strrchr(listen, ':');
	const char *port = colon ? colon + 1 : listen;
	char host[64];
	struct ip_addr a;
	struct error e = ERROR_INIT;
	size_t hn;

	buf[0] = '\0';
	if (port[0] == '\0' || strspn(port, "0123456789") != strlen(port) ||
	    strlen(port) > 5)
		goto out;
	hn = colon ? (size_t)(colon - listen) : 0;
	if (hn >= 2 && listen[0] == '[' && listen[hn - 1] == ']') {
		listen++;
		hn -= 2;
	}
	if (hn > 0 && hn < sizeof(host)) {
		memcpy(host, listen, hn);
		host[hn] = '\0';
		if (ip_parse(host, &a, "relay.listen", &e) == 0)
			(void)snprintf(buf, size, "[%s]:%s", a.text, port);
	} else if (hn == 0 && conf->relay_outbound.n > 0) {
		(void)snprintf(buf, size, "[%s]:%s",
			       conf->relay_outbound.v[0].net.text, port);
	}
out:
	error_release(&e);
}

static int64_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* The DRAIN text of the generation in force ("off" without one). */
static void current_text(const struct conf *conf, char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t n = -1;
	int fd;

	(void)snprintf(buf, size, "off");
	if (snprintf(path, sizeof(path), "%s/current/DRAIN", conf->state_dir) >=
	    (int)sizeof(path))
		return;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if (n <= 0)
		(void)snprintf(buf, size, "off");
}

static void flush(const struct conf *conf, const char *why)
{
	struct error e = ERROR_INIT;

	if (relay_postfix(conf, "flush", &e) < 0)
		log_warn("drain: flush: %s", error_msg(&e));
	else
		log_info("drain: queue flushed (%s)", why);
	error_release(&e);
}

int drain_turn(struct store *s, struct store *rs, const struct conf *conf,
	       struct drain_relay *st, struct error *err)
{
	struct drain_plan p;
	char want[1200], cur[1200];
	int64_t now = mono_s();

	if (st->last_report == 0 || now - st->last_report >= 60) {
		char addr[64];

		drain_smtp_address(conf, addr, sizeof(addr));
		if (store_relay_smtp_address(s, conf->relay_name, addr, err) <
		    0)
			return -1;
		st->last_report = now;
	}
	if (drain_plan_read(rs ? rs : s, conf, &p, err) < 0)
		return -1;
	drain_plan_text(&p, want, sizeof(want));
	current_text(conf, cur, sizeof(cur));
	st->regenerate = strcmp(want, cur) != 0;
	st->draining = strncmp(cur, "off", 3) != 0;
	if (strcmp(cur, st->seen) != 0) {
		/* a generation that drains otherwise than the last one
		 * seen: what it holds goes now (to its destinations, or
		 * to the hand-over relay) */
		if (st->seen[0] != '\0' || st->draining)
			log_info("drain: generation in force: %s", cur);
		if (st->draining) {
			flush(conf, cur);
			st->last_flush = now;
		}
		(void)snprintf(st->seen, sizeof(st->seen), "%s", cur);
	} else if (strncmp(cur, "hand-over ", 10) == 0 &&
		   now - st->last_flush >= DRAIN_FLUSH_S) {
		flush(conf, cur);
		st->last_flush = now;
	}
	return 0;
}
