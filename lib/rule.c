/*
 * rule - per-domain sender allow/block rules (SPEC section 3)
 *
 * See rule.h.  A sender regex is walked once by ere_translate(), which
 * follows the ERE grammar, refuses every construct whose cost or
 * meaning PCRE2 would not bound or would read differently, and writes
 * the PCRE2 pattern that means the same; only that text reaches
 * pcre2_compile(), whose result must stay under RULE_COMPILED_MAX.  A
 * stored rule thus can neither blow up a policy daemon's start (glibc's
 * regcomp() built automata of gigabytes for "((a{255}){255}){255}")
 * nor make one decision take more than the match limits allow.
 */
#include "rule.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/cidr.h"
#include "util/parse.h"
#include "util/strbuf.h"

const char *const rule_action_names[] = { "allow", "block", NULL };
const char *const rule_kind_names[] = { "address-regex", "client-cidr", NULL };

/* a translated pattern: at most "\\x" for each byte, "{0," for "{," */
#define TRANSLATED_MAX (4 * RULE_REGEX_MAX + 1)

#define PCRE2_OPTIONS                                                          \
	(PCRE2_CASELESS | PCRE2_DOLLAR_ENDONLY | PCRE2_DOTALL |                \
	 PCRE2_NO_AUTO_CAPTURE | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP |           \
	 PCRE2_NEVER_BACKSLASH_C)

struct rule_regex {
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mc;
};

/* What the translator last emitted, for the repeat checks. */
enum prev { PREV_NOTHING, PREV_ATOM, PREV_REPEAT, PREV_GROUP };

struct xlate {
	const char *re;
	size_t i;
	char *out;
	size_t len, size;
	size_t depth;
	bool has_repeat[RULE_NEST_MAX + 1]; /* per open group */
	bool group_has_repeat;		    /* the group just closed */
	enum prev prev;
	struct error *err;
};

/* as xmalloc() does: a daemon out of memory cannot decide mail */
static void oom(void)
{
	fputs("mxfeed: out of memory\n", stderr);
	abort();
}

static int bad(struct xlate *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(struct xlate *x, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return error_set(x->err, ERR_INVALID, "value", "%s", msg);
}

static int emit(struct xlate *x, const char *s, size_t n)
{
	if (x->len + n >= x->size)
		return bad(x, "the pattern is too long once translated");
	memcpy(x->out + x->len, s, n);
	x->len += n;
	x->out[x->len] = '\0';
	return 0;
}

static int emits(struct xlate *x, const char *s)
{
	return emit(x, s, strlen(s));
}

static const char *const posix_classes[] = {
	"alnum", "alpha", "blank", "cntrl", "digit",  "graph", "lower",
	"print", "punct", "space", "upper", "xdigit", NULL,
};

/* "[...]" at x->i: '\' and '[' are literal inside, as in POSIX. */
static int bracket(struct xlate *x)
{
	const char *re = x->re;
	size_t j = x->i + 1;

	if (emits(x, "[") < 0)
		return -1;
	if (re[j] == '^' && (j++, emits(x, "^") < 0))
		return -1;
	if (re[j] == ']' && (j++, emits(x, "\\]") < 0))
		return -1;
	for (;;) {
		char c = re[j];

		if (c == '\0')
			return bad(x, "unterminated '[': a bracket expression "
				      "needs its ']'");
		if (c == ']')
			break;
		if (c == '[' && re[j + 1] == ':') {
			const char *end = strstr(re + j + 2, ":]");
			char name[16];
			size_t n;

			if (end == NULL ||
			    (n = (size_t)(end - (re + j + 2))) >= sizeof(name))
				return bad(x, "unterminated character class "
					      "'[:'");
			memcpy(name, re + j + 2, n);
			name[n] = '\0';
			if (parse_enum(name, posix_classes) < 0)
				return bad(x,
					   "unknown character class "
					   "'[:%s:]'",
					   name);
			if (emit(x, re + j, n + 4) < 0)
				return -1;
			j += n + 4;
			continue;
		}
		if (c == '[' && (re[j + 1] == '=' || re[j + 1] == '.'))
			return bad(x, "collating elements and equivalence "
				      "classes ('[.' and '[=') are not "
				      "supported");
		if (c == '\\' || c == '[') {
			char esc[2] = { '\\', c };

			if (emit(x, esc, 2) < 0)
				return -1;
		} else if (emit(x, &c, 1) < 0) {
			return -1;
		}
		j++;
	}
	x->i = j + 1;
	x->prev = PREV_ATOM;
	return emits(x, "]");
}

/* A repeat count at x->i ('{'): {m}, {m,}, {m,n} or {,n}. */
static int interval(struct xlate *x, unsigned *max)
{
	const char *p = x->re + x->i + 1;
	unsigned long m = 0, n = 0;
	bool has_m = false, comma = false, has_n = false;
	char buf[32];
	char *end;

	if (isdigit((unsigned char)*p)) {
		m = strtoul(p, &end, 10);
		p = end;
		has_m = true;
	}
	if (*p == ',') {
		comma = true;
		p++;
		if (isdigit((unsigned char)*p)) {
			n = strtoul(p, &end, 10);
			p = end;
			has_n = true;
		}
	}
	if (*p != '}' || (!has_m && !has_n))
		return bad(x, "'{' must open a repeat count such as {2} or "
			      "{1,5}: write \\{ for a literal brace");
	if (m > RULE_REPEAT_MAX || n > RULE_REPEAT_MAX)
		return bad(x, "repeat counts must be at most %d",
			   RULE_REPEAT_MAX);
	if (has_n && m > n)
		return bad(x,
			   "repeat count {%lu,%lu}: the first number is "
			   "the larger",
			   m, n);
	if (!comma)
		(void)snprintf(buf, sizeof(buf), "{%lu}", m);
	else if (!has_n)
		(void)snprintf(buf, sizeof(buf), "{%lu,}", m);
	else
		(void)snprintf(buf, sizeof(buf), "{%lu,%lu}", m, n);
	*max = !comma ? (unsigned)m : has_n ? (unsigned)n : RULE_REPEAT_MAX + 1;
	x->i = (size_t)(p + 1 - x->re);
	return emits(x, buf);
}

/* '*', '+', '?' or '{' at x->i. */
static int repeat(struct xlate *x)
{
	char c = x->re[x->i];
	unsigned max = c == '?' ? 1 : RULE_REPEAT_MAX + 1;
	size_t k;

	if (x->prev == PREV_NOTHING)
		return bad(x,
			   "'%c' has nothing to repeat: write \\%c for the "
			   "character itself",
			   c, c);
	if (x->prev == PREV_REPEAT)
		return bad(x, "a repeat may not follow another repeat (as in "
			      "'a+*' or 'a*?'): keep one of them");
	if (c == '{') {
		if (interval(x, &max) < 0)
			return -1;
	} else {
		if (emit(x, &c, 1) < 0)
			return -1;
		x->i++;
	}
	if (x->prev == PREV_GROUP && x->group_has_repeat && max > 1)
		return bad(x, "nested repeats are not allowed: a repeated "
			      "group may not hold a repeat itself (write "
			      "'(.+\\.)?' or '[a-z.]+', not '([a-z]+\\.)+')");
	for (k = 1; k <= x->depth; k++)
		x->has_repeat[k] = true;
	x->prev = PREV_REPEAT;
	return 0;
}

static int escape(struct xlate *x)
{
	char c = x->re[x->i + 1];
	char esc[2] = { '\\', c };

	if (c == '\0')
		return bad(x, "a trailing '\\' escapes nothing");
	if (c >= '1' && c <= '9')
		return bad(x, "back-references are not allowed");
	if (isalnum((unsigned char)c))
		return bad(x,
			   "'\\%c' is not allowed: only punctuation may "
			   "follow '\\' (write [0-9] for a digit)",
			   c);
	x->i += 2;
	x->prev = PREV_ATOM;
	return emit(x, esc, 2);
}

static int open_group(struct xlate *x)
{
	char c = x->re[x->i + 1];

	if (c == '?' || c == '*')
		return bad(x,
			   "'(%c' is not allowed: it is not extended "
			   "regular expression syntax",
			   c);
	if (x->depth == RULE_NEST_MAX)
		return bad(x, "groups may nest at most %d deep", RULE_NEST_MAX);
	x->depth++;
	x->has_repeat[x->depth] = false;
	x->i++;
	x->prev = PREV_NOTHING;
	return emits(x, "(");
}

static int close_group(struct xlate *x)
{
	if (x->depth == 0)
		return bad(x, "unmatched ')': write \\) for the character");
	x->group_has_repeat = x->has_repeat[x->depth];
	x->depth--;
	x->i++;
	x->prev = PREV_GROUP;
	return emits(x, ")");
}

int rule_regex_translate(const char *re, char *out, size_t size,
			 struct error *err)
{
	struct xlate x;
	size_t i, n = strnlen(re, RULE_REGEX_MAX + 1);
	int rc = 0;

	if (n == 0)
		return error_set(err, ERR_INVALID, "value",
				 "the pattern is empty");
	if (n > RULE_REGEX_MAX)
		return error_set(err, ERR_INVALID, "value",
				 "the pattern is longer than %d characters",
				 RULE_REGEX_MAX);
	for (i = 0; i < n; i++)
		if (re[i] < 0x20 || re[i] > 0x7e)
			return error_set(err, ERR_INVALID, "value",
					 "the pattern must be printable ASCII");
	if (size == 0)
		return error_set(err, ERR_INTERNAL, NULL, "no room");
	memset(&x, 0, sizeof(x));
	x.re = re;
	x.out = out;
	x.size = size;
	x.err = err;
	out[0] = '\0';
	while (rc == 0 && re[x.i] != '\0') {
		char c = re[x.i];

		switch (c) {
		case '\\':
			rc = escape(&x);
			break;
		case '[':
			rc = bracket(&x);
			break;
		case '(':
			rc = open_group(&x);
			break;
		case ')':
			rc = close_group(&x);
			break;
		case '*':
		case '+':
		case '?':
		case '{':
			rc = repeat(&x);
			break;
		case '|':
		case '^':
		case '$':
			/* an anchor or an alternation repeats nothing */
			x.prev = PREV_NOTHING;
			x.i++;
			rc = emit(&x, &c, 1);
			break;
		default:
			x.prev = PREV_ATOM;
			x.i++;
			rc = emit(&x, &c, 1);
			break;
		}
	}
	if (rc == 0 && x.depth > 0)
		rc = bad(&x, "unmatched '(': a group needs its ')'");
	return rc;
}

void rule_regex_free(struct rule_regex *rx)
{
	if (rx == NULL)
		return;
	pcre2_match_context_free(rx->mc);
	pcre2_match_data_free(rx->md);
	pcre2_code_free(rx->code);
	free(rx);
}

struct rule_regex *rule_regex_compile(const char *pattern, struct error *err)
{
	char pcre[TRANSLATED_MAX];
	struct rule_regex *rx;
	pcre2_compile_context *cc;
	PCRE2_SIZE erroff;
	size_t size = 0;
	int errcode;

	if (rule_regex_translate(pattern, pcre, sizeof(pcre), err) < 0)
		return NULL;
	cc = pcre2_compile_context_create(NULL);
	if (cc == NULL)
		oom();
	(void)pcre2_set_max_pattern_length(cc, sizeof(pcre));
	(void)pcre2_set_parens_nest_limit(cc, RULE_NEST_MAX + 1);
	rx = xcalloc(1, sizeof(*rx));
	rx->code = pcre2_compile((PCRE2_SPTR)pcre, PCRE2_ZERO_TERMINATED,
				 PCRE2_OPTIONS, &errcode, &erroff, cc);
	pcre2_compile_context_free(cc);
	if (rx->code == NULL) {
		PCRE2_UCHAR msg[128];

		if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
			(void)snprintf((char *)msg, sizeof(msg), "error %d",
				       errcode);
		error_set(err, ERR_INVALID, "value",
			  "not a valid extended regular expression: %s",
			  (const char *)msg);
		rule_regex_free(rx);
		return NULL;
	}
	if (pcre2_pattern_info(rx->code, PCRE2_INFO_SIZE, &size) != 0 ||
	    size > RULE_COMPILED_MAX) {
		error_set(err, ERR_INVALID, "value",
			  "the pattern compiles to %zu bytes, more than %d: "
			  "use fewer or smaller repeat counts",
			  size, RULE_COMPILED_MAX);
		rule_regex_free(rx);
		return NULL;
	}
	rx->md = pcre2_match_data_create(1, NULL);
	rx->mc = pcre2_match_context_create(NULL);
	if (rx->md == NULL || rx->mc == NULL)
		oom();
	(void)pcre2_set_match_limit(rx->mc, RULE_MATCH_LIMIT);
	(void)pcre2_set_depth_limit(rx->mc, RULE_DEPTH_LIMIT);
	(void)pcre2_set_heap_limit(rx->mc, RULE_HEAP_LIMIT_KB);
	return rx;
}

enum rule_match rule_regex_match(const struct rule_regex *rx,
				 const char *subject, size_t len,
				 const char **why)
{
	int rc = pcre2_match(rx->code, (PCRE2_SPTR)subject, len, 0, 0, rx->md,
			     rx->mc);

	if (rc >= 0)
		return RULE_MATCH;
	if (rc == PCRE2_ERROR_NOMATCH)
		return RULE_NOMATCH;
	if (why != NULL)
		*why = rc == PCRE2_ERROR_MATCHLIMIT   ? "match limit"
		       : rc == PCRE2_ERROR_DEPTHLIMIT ? "depth limit"
		       : rc == PCRE2_ERROR_HEAPLIMIT  ? "heap limit"
		       : rc == PCRE2_ERROR_NOMEMORY   ? "out of memory"
						      : "matcher error";
	return RULE_MATCH_ERROR;
}

static int parse_action_kind(const char *action, const char *kind,
			     struct rule *r, struct error *err)
{
	int a;

	memset(r, 0, sizeof(*r));
	if ((a = parse_enum(action, rule_action_names)) < 0)
		return error_set(err, ERR_INVALID, "action",
				 "action must be allow or block");
	r->action = (enum rule_action)a;
	if (kind != NULL && (strcmp(kind, "sender-regex") == 0 ||
			     strcmp(kind, "address-regex") == 0))
		r->kind = RULE_SENDER_REGEX;
	else if (kind != NULL && (strcmp(kind, "client") == 0 ||
				  strcmp(kind, "client-cidr") == 0))
		r->kind = RULE_CLIENT_CIDR;
	else
		return error_set(err, ERR_INVALID, "kind",
				 "kind must be sender-regex or client");
	return 0;
}

static int parse_cidr(const char *value, struct rule *r, struct error *err)
{
	struct cidr c;

	if (value == NULL)
		return error_set(err, ERR_INVALID, "value",
				 "a CIDR is required");
	if (strchr(value, '/') == NULL) {
		/* a single address is its own /32 or /128 */
		struct ip_addr ip;

		if (ip_parse(value, &ip, "value", err) < 0)
			return -1;
		(void)snprintf(r->value, sizeof(r->value), "%s/%u", ip.text,
			       ip.family == AF_INET ? 32u : 128u);
		return 0;
	}
	if (cidr_parse(value, &c, "value", err) < 0)
		return -1;
	if (strlcpy_checked(r->value, c.text, sizeof(r->value)) < 0)
		return error_set(err, ERR_INVALID, "value", "CIDR too long");
	return 0;
}

int rule_parse(const char *action, const char *kind, const char *value,
	       struct rule *out, struct error *err)
{
	struct rule r;

	if (parse_action_kind(action, kind, &r, err) < 0)
		return -1;
	if (r.kind == RULE_SENDER_REGEX) {
		struct rule_regex *rx;

		if (value == NULL)
			return error_set(err, ERR_INVALID, "value",
					 "a pattern is required");
		if ((rx = rule_regex_compile(value, err)) == NULL)
			return -1;
		rule_regex_free(rx);
		if (strlcpy_checked(r.value, value, sizeof(r.value)) < 0)
			return error_set(err, ERR_INVALID, "value",
					 "the pattern is too long");
	} else if (parse_cidr(value, &r, err) < 0) {
		return -1;
	}
	*out = r;
	return 0;
}

int rule_parse_stored(const char *action, const char *kind, const char *value,
		      struct rule *out, struct error *err)
{
	struct rule r;
	size_t i, n;

	if (parse_action_kind(action, kind, &r, err) < 0)
		return -1;
	if (r.kind == RULE_CLIENT_CIDR) {
		if (parse_cidr(value, &r, err) < 0)
			return -1;
		*out = r;
		return 0;
	}
	n = value ? strnlen(value, RULE_VALUE_MAX + 1) : 0;
	if (n == 0 || n > RULE_VALUE_MAX)
		return error_set(err, ERR_INVALID, "value",
				 "a pattern of 1 to %d characters is required",
				 RULE_VALUE_MAX);
	for (i = 0; i < n; i++)
		if (value[i] < 0x20 || value[i] > 0x7e)
			return error_set(err, ERR_INVALID, "value",
					 "the pattern must be printable ASCII");
	memcpy(r.value, value, n + 1);
	*out = r;
	return 0;
}
