/*
 * dest - customer mail server destinations: IP literal and port
 *
 * See dest.h.  The forbidden ranges are one table; an address inside
 * conf->dest_allow skips the table, but the relay's own addresses are
 * refused always (mail to ourselves would loop).
 */
#include "dest.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "util/parse.h"

struct range {
	const char *cidr;
	const char *what;
};

static const struct range forbidden[] = {
	{ "0.0.0.0/8", "an unspecified (\"this network\") address" },
	{ "10.0.0.0/8", "a private address (RFC 1918)" },
	{ "100.64.0.0/10", "a carrier-grade NAT address (RFC 6598)" },
	{ "127.0.0.0/8", "a loopback address" },
	{ "169.254.0.0/16", "a link-local address" },
	{ "172.16.0.0/12", "a private address (RFC 1918)" },
	{ "192.0.0.0/24", "an IETF protocol assignment address" },
	{ "192.0.2.0/24", "a documentation address (RFC 5737)" },
	{ "192.88.99.0/24", "a 6to4 relay anycast address" },
	{ "192.168.0.0/16", "a private address (RFC 1918)" },
	{ "198.18.0.0/15", "a benchmarking address (RFC 2544)" },
	{ "198.51.100.0/24", "a documentation address (RFC 5737)" },
	{ "203.0.113.0/24", "a documentation address (RFC 5737)" },
	{ "224.0.0.0/4", "a multicast address" },
	{ "240.0.0.0/4", "a reserved or broadcast address" },
	{ "::/128", "the unspecified address" },
	{ "::1/128", "a loopback address" },
	{ "::ffff:0.0.0.0/96",
	  "an IPv4-mapped IPv6 address (give the IPv4 address)" },
	{ "::/96", "an IPv4-compatible IPv6 address" },
	{ "64:ff9b::/96", "a NAT64 address" },
	{ "64:ff9b:1::/48", "a NAT64 address" },
	{ "100::/64", "a discard-only address" },
	{ "2001::/32", "a Teredo address" },
	{ "2001:db8::/32", "a documentation address (RFC 3849)" },
	{ "2002::/16", "a 6to4 address" },
	{ "fc00::/7", "a unique local address (ULA)" },
	{ "fe80::/10", "a link-local address" },
	{ "ff00::/8", "a multicast address" },
};

/* Which forbidden range holds ip; NULL when none. */
static const char *forbidden_range(const struct ip_addr *ip)
{
	struct error e = ERROR_INIT;
	size_t i;

	for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
		struct cidr c;

		if (cidr_parse(forbidden[i].cidr, &c, "range", &e) < 0) {
			/* the table is ours: a bad entry is a bug */
			error_release(&e);
			return "an address in an unparsable range table";
		}
		if (cidr_contains(&c, ip)) {
			error_release(&e);
			return forbidden[i].what;
		}
	}
	error_release(&e);
	return NULL;
}

int dest_ip_parse(const char *in, const struct conf *conf, struct ip_addr *out,
		  const char *field, struct error *err)
{
	struct ip_addr ip;
	const char *what;

	if (ip_parse(in, &ip, field, err) < 0)
		return -1;
	if (cidr_list_contains(&conf->relay_addresses, &ip))
		return error_set(err, ERR_INVALID, field,
				 "%s: %s is our own relay address (mail would "
				 "loop)",
				 field, ip.text);
	if (!cidr_list_contains(&conf->dest_allow, &ip) &&
	    (what = forbidden_range(&ip)) != NULL)
		return error_set(err, ERR_INVALID, field,
				 "%s: %s is %s, not a public mail server",
				 field, ip.text, what);
	*out = ip;
	return 0;
}

int dest_port_parse(const char *in, uint16_t *out, const char *field,
		    struct error *err)
{
	struct error e = ERROR_INIT;
	long v;

	if (parse_long(in, 1, 65535, &v, field, &e) < 0) {
		error_release(&e);
		return error_set(err, ERR_INVALID, field,
				 "%s: the port must be a whole number from 1 "
				 "to 65535",
				 field);
	}
	*out = (uint16_t)v;
	return 0;
}

int dest_parse(const char *in, const struct conf *conf, struct dest *out,
	       const char *field, struct error *err)
{
	char host[IP_TEXT_MAX + 2];
	const char *port = NULL, *colon;
	struct dest d;
	size_t n = in ? strlen(in) : 0;

	memset(&d, 0, sizeof(d));
	d.port = DEST_DEFAULT_PORT;
	if (n == 0)
		return error_set(err, ERR_INVALID, field,
				 "%s: IP[:PORT] is required", field);
	if (in[0] == '[') {
		const char *close = strchr(in, ']');
		size_t len;

		if (close == NULL)
			return error_set(err, ERR_INVALID, field,
					 "%s: missing ']'", field);
		len = (size_t)(close - in - 1);
		if (len >= sizeof(host))
			return error_set(err, ERR_INVALID, field,
					 "%s: not an IP address", field);
		memcpy(host, in + 1, len);
		host[len] = '\0';
		if (strchr(host, ':') == NULL)
			return error_set(err, ERR_INVALID, field,
					 "%s: brackets are for IPv6 addresses "
					 "only",
					 field);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return error_set(err, ERR_INVALID, field,
					 "%s: unexpected text after ']'",
					 field);
	} else {
		colon = strchr(in, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			/* exactly one colon: IPv4:PORT */
			if ((size_t)(colon - in) >= sizeof(host))
				return error_set(err, ERR_INVALID, field,
						 "%s: not an IP address",
						 field);
			memcpy(host, in, (size_t)(colon - in));
			host[colon - in] = '\0';
			port = colon + 1;
		} else if (n < sizeof(host)) {
			memcpy(host, in, n + 1);
		} else {
			return error_set(err, ERR_INVALID, field,
					 "%s: not an IP address", field);
		}
	}
	if (dest_ip_parse(host, conf, &d.ip, field, err) < 0)
		return -1;
	if (port != NULL && dest_port_parse(port, &d.port, field, err) < 0)
		return -1;
	*out = d;
	return 0;
}

void dest_format(const struct dest *d, char *buf, size_t size)
{
	int n;

	if (d->ip.family == AF_INET6)
		n = snprintf(buf, size, "[%s]:%u", d->ip.text,
			     (unsigned)d->port);
	else
		n = snprintf(buf, size, "%s:%u", d->ip.text, (unsigned)d->port);
	if (n < 0 || (size_t)n >= size)
		buf[0] = '\0';
}

bool dest_equal(const struct dest *a, const struct dest *b)
{
	return a->port == b->port && strcmp(a->ip.text, b->ip.text) == 0;
}
