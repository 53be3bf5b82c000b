/*
 * domain_json - the domain record as JSON (SPEC section 7), both ways
 *
 * domain_to_json() builds the API's domain object; domain_json_write()
 * writes the same bytes straight into a buffer (the API's GET and
 * list, where the tree was a quarter of the request).  domain_patch() applies
 * a JSON merge patch (RFC 7396) to a record: every member goes through
 * the same setting table as "feedctl set", with JSON types checked
 * (booleans are JSON true/false, numbers JSON integers, texts strings;
 * null only where a field is nullable: queue.extended_until,
 * destination for pop3).  Unknown and read-only members are rejected by
 * name, e.g. field "version": "version is read-only".
 * json_load_strict() parses a document: size cap, duplicate keys,
 * invalid UTF-8 and nesting deeper than 8 rejected.
 */
#ifndef MXFEED_DOMAIN_JSON_H
#define MXFEED_DOMAIN_JSON_H

#include <jansson.h>

#include "conf.h"
#include "model.h"
#include "util/error.h"
#include "util/strbuf.h"
/* time_format_utc/time_parse_utc moved to util/timefmt.h; kept
 * reachable here for the callers that have not switched yet */
#include "util/timefmt.h"

#define JSON_DEPTH_MAX 8
#define JSON_BODY_MAX  (64 * 1024)

/* prop may be NULL (then "propagation" is null). */
json_t *domain_to_json(const struct domain *d, const struct propagation *p);
/*
 * The same record appended to out, byte for byte as
 * json_dumps(domain_to_json(d, p), JSON_COMPACT) spells it, without
 * building it (the API's GET).  Texts are taken to be UTF-8, as every
 * validator and the database keep them.
 */
void domain_json_write(struct strbuf *out, const struct domain *d,
		       const struct propagation *p);
/* s as a JSON string, escaped as jansson's compact dump does. */
void domain_json_write_string(struct strbuf *out, const char *s);
int domain_patch(struct domain *d, const json_t *patch, const struct conf *conf,
		 struct error *err) __attribute__((warn_unused_result));
json_t *json_load_strict(const char *buf, size_t len, size_t max,
			 struct error *err);
/*
 * The JSON Schema (2020-12, as OpenAPI 3.1 takes it) of the record,
 * walked from fields.def: each row's JSON path, type, bounds or enum
 * names, label and help (and "x-mxfeed-field": the row's path), the
 * bookkeeping members readOnly.  RECORD: what GET answers (every member
 * required, nothing else allowed); PATCH: a merge patch (every member
 * optional; read-only ones only as they are; "force"); CREATE: the
 * POST body (name and mode required, then any setting; "force").
 */
enum domain_schema {
	DOMAIN_SCHEMA_RECORD,
	DOMAIN_SCHEMA_PATCH,
	DOMAIN_SCHEMA_CREATE
};
json_t *domain_json_schema(enum domain_schema kind);

#endif
