/*
 * rule - per-domain sender allow/block rules (SPEC section 3)
 *
 * A rule is (allow|block, kind, value): kind "sender-regex" holds an
 * extended regular expression (POSIX ERE syntax) matched, ignoring
 * case, anywhere in the envelope sender; kind "client-cidr" holds a
 * canonical CIDR (util/cidr.h).  On the CLI the kinds are spelt
 * "sender-regex RE" and "client CIDR".
 *
 * Regexes are matched with PCRE2, which backtracks, so the ERE a user
 * wrote is first checked and translated (rule_parse) and then compiled
 * with bounds: printable ASCII, at most RULE_REGEX_MAX bytes, repeat
 * counts at most RULE_REPEAT_MAX, no back-references, no '\' before a
 * letter or digit, no repeat directly after a repeat ("a+*"), no repeat
 * of a group that itself holds a repeat ("(a+)+": only "?" or {0,1}
 * may repeat such a group), groups nested at most RULE_NEST_MAX deep,
 * at most RULE_COMPILED_MAX bytes of compiled code.  Inside brackets a
 * '\' is a literal backslash, as POSIX says.  A match runs with
 * RULE_MATCH_LIMIT, RULE_DEPTH_LIMIT and RULE_HEAP_LIMIT_KB: a subject
 * that needs more gives RULE_MATCH_ERROR, never a guess.
 *
 * rule_parse() validates (the save path); rule_regex_compile() turns a
 * validated pattern into a matcher once, for a policy process to keep;
 * rule_parse_stored() only checks the shape a stored row must have, so
 * that a rule saved before the checks grew stricter can be listed and
 * removed.  Errors: -1 with err->code == ERR_INVALID and err->field
 * "action", "kind" or "value".  Never logs.
 */
#ifndef MXFEED_RULE_H
#define MXFEED_RULE_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define RULE_REGEX_MAX	   256
#define RULE_REPEAT_MAX	   255
#define RULE_NEST_MAX	   16
#define RULE_COMPILED_MAX  8192	  /* bytes of PCRE2 code */
#define RULE_MATCH_LIMIT   100000 /* PCRE2 match limit per match */
#define RULE_DEPTH_LIMIT   10000  /* PCRE2 backtracking depth */
#define RULE_HEAP_LIMIT_KB 1024	  /* PCRE2 backtracking heap */
#define RULE_VALUE_MAX	   RULE_REGEX_MAX

enum rule_action { RULE_ALLOW, RULE_BLOCK };
enum rule_kind { RULE_SENDER_REGEX, RULE_CLIENT_CIDR };

extern const char *const rule_action_names[]; /* "allow", "block", NULL */
extern const char *const rule_kind_names[];   /* "address-regex",
						 "client-cidr", NULL */

struct rule {
	int64_t id;
	enum rule_action action;
	enum rule_kind kind;
	char value[RULE_VALUE_MAX + 1]; /* canonical */
};

/* kind accepts "sender-regex", "address-regex", "client", "client-cidr". */
int rule_parse(const char *action, const char *kind, const char *value,
	       struct rule *out, struct error *err)
	__attribute__((warn_unused_result));

/* Action and kind as rule_parse; value only printable ASCII, 1..256. */
int rule_parse_stored(const char *action, const char *kind, const char *value,
		      struct rule *out, struct error *err)
	__attribute__((warn_unused_result));

/* A compiled sender regex; opaque, one per rule and process. */
struct rule_regex;

enum rule_match { RULE_NOMATCH, RULE_MATCH, RULE_MATCH_ERROR };

/* Check, translate and compile pattern; NULL and *err on refusal. */
struct rule_regex *rule_regex_compile(const char *pattern, struct error *err)
	__attribute__((warn_unused_result));
/*
 * Match subject[0..len); RULE_MATCH_ERROR when a limit was reached, and
 * then *why (if why is not NULL) names it for the log.
 */
enum rule_match rule_regex_match(const struct rule_regex *rx,
				 const char *subject, size_t len,
				 const char **why);
void rule_regex_free(struct rule_regex *rx);

/* The PCRE2 text rule_regex_compile() builds, for tests; -1 on refusal. */
int rule_regex_translate(const char *pattern, char *out, size_t size,
			 struct error *err) __attribute__((warn_unused_result));

#endif
