/*
 * dest - customer mail server destinations: IP literal and port
 *
 * dest_parse() accepts "IP", "IP:PORT", "[IPv6]" and "[IPv6]:PORT"
 * (a bare IPv6 address takes no port); the address must be canonical
 * (see util/cidr.h) and public: loopback, unspecified, RFC 1918, CGNAT
 * (100.64/10), link-local, multicast, broadcast, reserved (240/4), the
 * documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24,
 * 2001:db8::/32), benchmarking (198.18/15), IPv6 ULA (fc00::/7),
 * IPv4-mapped/compatible IPv6, NAT64 and 6to4/Teredo prefixes, and the
 * relay's own addresses (conf->relay_addresses) are refused - unless the
 * address lies inside conf->dest_allow (tests allow 127.0.0.0/8).
 * The port is decimal 1..65535, default 25.
 * Errors: -1, ERR_INVALID, field as given by the caller.
 */
#ifndef MXFEED_DEST_H
#define MXFEED_DEST_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "util/cidr.h"
#include "util/error.h"

#define DEST_DEFAULT_PORT 25
#define DEST_TEXT_MAX	  (IP_TEXT_MAX + 8)

struct dest {
	struct ip_addr ip;
	uint16_t port;
};

int dest_parse(const char *in, const struct conf *conf, struct dest *out,
	       const char *field, struct error *err)
	__attribute__((warn_unused_result));
/* Only the address (no port allowed): for destination.host, fallbacks. */
int dest_ip_parse(const char *in, const struct conf *conf, struct ip_addr *out,
		  const char *field, struct error *err)
	__attribute__((warn_unused_result));
int dest_port_parse(const char *in, uint16_t *out, const char *field,
		    struct error *err) __attribute__((warn_unused_result));
/* "192.0.2.1:25" or "[2001:db8::1]:25" */
void dest_format(const struct dest *d, char *buf, size_t size);
/* The same server: address and port. */
bool dest_equal(const struct dest *a, const struct dest *b);

#endif
