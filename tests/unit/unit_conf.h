/*
 * unit_conf - the site configuration most unit tests start from: the
 * built-in defaults, destinations allowed in 127.0.0.0/8 only (tests
 * never leave loopback).  A test including it gets a file-static conf
 * and the group setup/teardown that fill and release it.
 */
#ifndef MXFEED_UNIT_CONF_H
#define MXFEED_UNIT_CONF_H

#include <string.h>

#include "conf.h"

static inline int unit_conf_setup(struct conf *conf)
{
	struct error err = ERROR_INIT;
	struct cidr c;

	conf_defaults(conf);
	if (cidr_parse("127.0.0.0/8", &c, "allow", &err) < 0)
		return -1;
	cidr_list_add(&conf->dest_allow, &c);
	return 0;
}

static inline void unit_conf_release(struct conf *conf)
{
	cidr_list_release(&conf->dest_allow);
}

/* As a cmocka group's setup and teardown, over the test's own conf. */
static struct conf conf;

static inline int unit_conf_group_setup(void **state)
{
	(void)state;
	return unit_conf_setup(&conf);
}

static inline int unit_conf_group_teardown(void **state)
{
	(void)state;
	unit_conf_release(&conf);
	return 0;
}

#endif
