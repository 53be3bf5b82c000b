/*
 * apipath - the shapes of the JSON API's paths under /api/v1/
 *
 * api_path_parse() splits a request path (decoded and normalised by
 * nginx, still the client's bytes) into one of the shapes below:
 *   /api/v1/domains                            API_DOMAINS
 *   /api/v1/domains/{name}                     API_DOMAIN
 *   /api/v1/domains/{name}/{sub}               API_DOMAIN_SUB
 *   /api/v1/domains/{name}/quarantine/{id}/{sub}  API_QUARANTINED
 *   /api/v1/relays                             API_RELAYS
 *   /api/v1/relays/addresses                   API_RELAY_ADDRS
 * Invariants of an accepted path: name is 1..API_PATH_NAME_MAX bytes
 * without '/', item (API_QUARANTINED only, else "") 1..API_PATH_ITEM_MAX
 * bytes without '/', sub (API_DOMAIN_SUB, API_QUARANTINED; else NULL) a
 * non-empty tail of the path without '/'; the pieces put together again
 * are the path.  Nothing is decided about the pieces here: the name is
 * checked as a domain name, sub against the route table, by the caller.
 */
#ifndef MXFEED_APIPATH_H
#define MXFEED_APIPATH_H

#include <stddef.h>

#include "domain.h"

#define API_PATH_NAME_MAX DOMAIN_INPUT_MAX
#define API_PATH_ITEM_MAX 23

enum api_shape {
	API_DOMAINS,
	API_DOMAIN,
	API_DOMAIN_SUB,
	API_RELAYS,
	API_RELAY_ADDRS,
	API_QUARANTINED,
};

struct api_path {
	enum api_shape shape;
	char name[API_PATH_NAME_MAX + 1]; /* {name}, or "" */
	char item[API_PATH_ITEM_MAX + 1]; /* {id}, or "" */
	const char *sub;		  /* inside the path, or NULL */
};

/* 0 with *out, or -1 when no shape fits (out is then undefined). */
int api_path_parse(const char *path, struct api_path *out)
	__attribute__((warn_unused_result));
/* The template of a shape's path, "{name}" and "{id}" for the pieces,
 * ending in '/' for the shapes with a sub ("/api/v1/domains/{name}/"). */
const char *api_path_template(enum api_shape shape);

#endif
