/*
 * relayctl - the relay's one-shot verbs: connections, reports, starts
 *
 * See relayctl.h.  The generation itself is lib/relay's; this module
 * only picks the connection, says what is reported and refuses what
 * may not run yet.
 */
#include "relayctl.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "relay.h"

int relayctl_beside(const char *exe, const char *name, char *buf, size_t size)
{
	const char *slash = strrchr(exe, '/');
	int n;

	if (slash == NULL)
		return -1;
	n = snprintf(buf, size, "%.*s/%s", (int)(slash - exe), exe, name);
	return n >= 0 && (size_t)n < size ? 0 : -1;
}

int relayctl_policyd_path(char *buf, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -1;
	self[n] = '\0';
	return relayctl_beside(self, RELAYCTL_POLICYD, buf, size);
}

void relayctl_init(struct relayctl *c, const struct conf *conf,
		   const char *policyd)
{
	c->conf = conf;
	c->policyd = policyd;
	c->s = c->rs = NULL;
}

int relayctl_open(struct relayctl *c, struct error *err)
{
	if (store_open(&c->s, c->conf->db_conninfo, c->conf, err) < 0 ||
	    relayctl_open_read(c, err) < 0) {
		relayctl_close(c);
		return -1;
	}
	return 0;
}

int relayctl_open_read(struct relayctl *c, struct error *err)
{
	if (c->conf->db_read_conninfo == NULL || c->rs != NULL)
		return 0;
	return store_open(&c->rs, c->conf->db_read_conninfo, c->conf, err);
}

struct store *relayctl_reader(const struct relayctl *c)
{
	return c->rs ? c->rs : c->s;
}

void relayctl_close(struct relayctl *c)
{
	store_close(c->s);
	store_close(c->rs);
	c->s = c->rs = NULL;
}

int relayctl_generate(const struct relayctl *c, const char *dir, int64_t *seq,
		      struct error *err)
{
	return relay_generate(relayctl_reader(c), c->conf, dir, c->policyd, seq,
			      err);
}

int relayctl_apply(const struct relayctl *c, bool full, int64_t *seq,
		   struct error *err)
{
	return relay_apply(relayctl_reader(c), c->conf, c->policyd, seq, full,
			   err);
}

int relayctl_report(const struct relayctl *c, int64_t seq, struct error *err)
{
	return store_relay_report(c->s, c->conf->relay_name, seq, NULL,
				  &c->conf->relay_outbound, err);
}

int relayctl_report_failure(const struct relayctl *c, const char *msg,
			    struct error *err)
{
	if (c->s == NULL)
		return 0;
	return store_relay_report(c->s, c->conf->relay_name, 0, msg,
				  &c->conf->relay_outbound, err);
}

int relayctl_digest(const struct conf *conf, int64_t now, size_t *sent,
		    struct error *err)
{
	struct store *s = NULL;
	int rc;

	if (store_open(&s, conf->db_conninfo, conf, err) < 0)
		return -1;
	rc = digest_run(s, conf, now, sent, err);
	store_close(s);
	return rc;
}

int relayctl_postfix(const struct conf *conf, const char *verb,
		     struct error *err)
{
	if (strcmp(verb, "start") == 0 && relay_current_seq(conf) == 0)
		return error_set(err, ERR_CONFLICT, NULL,
				 "no generation yet; run 'mta-glue apply' "
				 "first");
	return relay_postfix(conf, verb, err);
}
