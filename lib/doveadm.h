/*
 * doveadm - Dovecot's doveadm HTTP API, for the jobs worker
 *
 * The mailbox host's Dovecot serves doveadm over HTTP on mailbox.doveadm
 * (templates/dovecot/dovecot.conf.in); the key is a random secret that
 * mta-glue keeps in paths.state/doveadm.key (mode 0600, made on first
 * use) and writes into Dovecot's configuration.
 *
 * doveadm_call() posts one command - [[NAME, PARAMS, "t"]] - and returns
 * the command's result array.  Every request has a connect and a total
 * timeout; a refused connection, an HTTP status other than 200, a reply
 * that is not the expected JSON and a doveadm error (its exit code) are
 * errors with code ERR_TEMPFAIL and a message naming which.
 */
#ifndef MXFEED_DOVEADM_H
#define MXFEED_DOVEADM_H

#include <jansson.h>
#include <stdbool.h>

#include "conf.h"
#include "util/error.h"

#define DOVEADM_KEY_LEN		   64 /* hex characters */
#define DOVEADM_TIMEOUT_MS	   30000
#define DOVEADM_CONNECT_TIMEOUT_MS 5000

struct doveadm;

/*
 * The API key: read from paths.state/doveadm.key; with create, made
 * first when it is missing.
 */
int doveadm_key(const struct conf *conf, bool create,
		char key[DOVEADM_KEY_LEN + 1], struct error *err)
	__attribute__((warn_unused_result));
int doveadm_open(struct doveadm **out, const struct conf *conf,
		 struct error *err) __attribute__((warn_unused_result));
void doveadm_close(struct doveadm *d);
/* The result of command name with params (stolen); NULL with err set. */
json_t *doveadm_call(struct doveadm *d, const char *name, json_t *params,
		     struct error *err);

#endif
