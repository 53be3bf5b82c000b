/*
 * cidr - IPv4/IPv6 addresses and networks, parsed strictly
 *
 * ip_parse() accepts only the canonical text of an address: IPv4 as four
 * decimal octets without leading zeros (no "127.1", "0x7f.0.0.1",
 * "010.0.0.1"), IPv6 as inet_pton() reads it and re-printed by
 * inet_ntop() - the input must equal that canonical form after lower-
 * casing.  cidr_parse() takes ADDR/PREFIX with a canonical address, a
 * decimal prefix in range and no host bits set.  Nothing here knows what
 * a mail relay is.
 */
#ifndef MXFEED_CIDR_H
#define MXFEED_CIDR_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define IP_TEXT_MAX 46 /* INET6_ADDRSTRLEN */

struct ip_addr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network order; 4 bytes used for v4 */
	char text[IP_TEXT_MAX]; /* canonical text */
};

struct cidr {
	struct ip_addr net;
	unsigned prefix; /* 0..32 or 0..128 */
	char text[IP_TEXT_MAX + 4];
};

struct cidr_list {
	size_t n;
	struct cidr *v; /* owned; cidr_list_release() frees */
};

int ip_parse(const char *in, struct ip_addr *out, const char *field,
	     struct error *err) __attribute__((warn_unused_result));
int cidr_parse(const char *in, struct cidr *out, const char *field,
	       struct error *err) __attribute__((warn_unused_result));
bool cidr_contains(const struct cidr *net, const struct ip_addr *ip);
bool cidr_list_contains(const struct cidr_list *l, const struct ip_addr *ip);
void cidr_list_add(struct cidr_list *l, const struct cidr *c);
void cidr_list_release(struct cidr_list *l);

#endif
