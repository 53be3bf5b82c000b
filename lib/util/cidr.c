/*
 * cidr - IPv4/IPv6 addresses and networks, parsed strictly
 *
 * See cidr.h.  inet_pton() alone is too lenient for IPv4 on some libcs
 * and silent about non-canonical IPv6, so IPv4 is parsed by hand and
 * IPv6 is accepted only when it equals inet_ntop()'s re-print.
 */
#include "cidr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Canonical dotted quad: 4 decimal octets, no leading zeros. */
static bool ipv4_parse(const char *in, unsigned char out[4])
{
	const char *p = in;
	int i;

	for (i = 0; i < 4; i++) {
		unsigned v = 0;
		int digits = 0;

		if (*p == '0' && p[1] >= '0' && p[1] <= '9')
			return false;
		while (*p >= '0' && *p <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*p - '0');
			p++;
			digits++;
		}
		if (digits == 0 || digits > 3 || v > 255)
			return false;
		out[i] = (unsigned char)v;
		if (i < 3 && *p++ != '.')
			return false;
	}
	return *p == '\0';
}

int ip_parse(const char *in, struct ip_addr *out, const char *field,
	     struct error *err)
{
	char lower[IP_TEXT_MAX];
	struct ip_addr ip;
	size_t i, n = in ? strlen(in) : 0;

	memset(&ip, 0, sizeof(ip));
	if (n == 0)
		return error_set(err, ERR_INVALID, field,
				 "%s: an IP address is required", field);
	if (n >= sizeof(lower) || strspn(in, "0123456789abcdefABCDEF.:") != n)
		return error_set(err, ERR_INVALID, field,
				 "%s: not an IP address", field);
	for (i = 0; i <= n; i++)
		lower[i] = (char)tolower((unsigned char)in[i]);
	if (strchr(lower, ':') == NULL) {
		if (!ipv4_parse(lower, ip.addr))
			return error_set(err, ERR_INVALID, field,
					 "%s: not a canonical IPv4 address "
					 "(four decimal numbers 0-255, no "
					 "leading zeros)",
					 field);
		ip.family = AF_INET;
		/* ipv4_parse() takes the canonical form only: it is the text */
		memcpy(ip.text, lower, n + 1);
		*out = ip;
		return 0;
	}
	if (inet_pton(AF_INET6, lower, ip.addr) != 1)
		return error_set(err, ERR_INVALID, field,
				 "%s: not an IP address", field);
	ip.family = AF_INET6;
	if (inet_ntop(ip.family, ip.addr, ip.text, sizeof(ip.text)) == NULL)
		return error_set(err, ERR_INVALID, field,
				 "%s: not an IP address", field);
	if (strcmp(ip.text, lower) != 0)
		return error_set(err, ERR_INVALID, field,
				 "%s: not in canonical form (write %s)", field,
				 ip.text);
	*out = ip;
	return 0;
}

static bool host_bits_zero(const struct ip_addr *ip, unsigned prefix)
{
	unsigned bits = ip->family == AF_INET ? 32 : 128, i;

	for (i = prefix; i < bits; i++)
		if (ip->addr[i / 8] & (0x80u >> (i % 8)))
			return false;
	return true;
}

int cidr_parse(const char *in, struct cidr *out, const char *field,
	       struct error *err)
{
	char addr[IP_TEXT_MAX];
	const char *slash = in ? strchr(in, '/') : NULL;
	struct cidr c;
	unsigned long prefix;
	size_t alen;
	char *end;
	unsigned max;

	memset(&c, 0, sizeof(c));
	if (slash == NULL)
		return error_set(err, ERR_INVALID, field,
				 "%s: expected ADDRESS/PREFIX", field);
	alen = (size_t)(slash - in);
	if (alen >= sizeof(addr))
		return error_set(err, ERR_INVALID, field,
				 "%s: not an IP address", field);
	memcpy(addr, in, alen);
	addr[alen] = '\0';
	if (ip_parse(addr, &c.net, field, err) < 0)
		return -1;
	max = c.net.family == AF_INET ? 32 : 128;
	if (slash[1] < '0' || slash[1] > '9' ||
	    (slash[1] == '0' && slash[2] != '\0'))
		goto bad_prefix;
	prefix = strtoul(slash + 1, &end, 10);
	if (*end != '\0' || prefix > max)
		goto bad_prefix;
	c.prefix = (unsigned)prefix;
	if (!host_bits_zero(&c.net, c.prefix))
		return error_set(err, ERR_INVALID, field,
				 "%s: host bits set after /%u", field,
				 c.prefix);
	(void)snprintf(c.text, sizeof(c.text), "%s/%u", c.net.text, c.prefix);
	*out = c;
	return 0;
bad_prefix:
	return error_set(err, ERR_INVALID, field,
			 "%s: prefix must be a whole number from 0 to %u",
			 field, max);
}

bool cidr_contains(const struct cidr *net, const struct ip_addr *ip)
{
	unsigned i;

	if (net->net.family != ip->family)
		return false;
	for (i = 0; i < net->prefix; i++) {
		unsigned mask = 0x80u >> (i % 8);

		if ((net->net.addr[i / 8] & mask) != (ip->addr[i / 8] & mask))
			return false;
	}
	return true;
}

bool cidr_list_contains(const struct cidr_list *l, const struct ip_addr *ip)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (cidr_contains(&l->v[i], ip))
			return true;
	return false;
}

void cidr_list_add(struct cidr_list *l, const struct cidr *c)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = *c;
}

void cidr_list_release(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
