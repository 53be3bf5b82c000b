/*
 * peercred - who may talk to us over a local (unix) socket
 *
 * A struct peercred lists the users and primary groups, besides root
 * and our own effective uid, whose connections are served; "any" lets
 * every peer in (a TCP listener, which cannot tell its peers apart).
 * peercred_add() reads one entry, "user:NAME", "group:NAME" (a name or
 * a decimal id) or "any"; it calls getpwnam()/getgrnam(), which are
 * not reentrant: add every entry before any thread starts.
 * peercred_allowed() asks the kernel (SO_PEERCRED) who the peer of an
 * accepted connection is; a peer it cannot name is refused.
 */
#ifndef MXFEED_PEERCRED_H
#define MXFEED_PEERCRED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#define PEERCRED_MAX 16

struct peercred {
	bool any;
	int nuid, ngid;
	uid_t uid[PEERCRED_MAX];
	gid_t gid[PEERCRED_MAX];
};

/* One entry into p: 0, or -1 with err (ERR_INVALID: "no user 'X'",
 * "no group 'X'", a bad entry, or more than PEERCRED_MAX of a kind). */
int peercred_add(struct peercred *p, const char *entry, struct error *err)
	__attribute__((warn_unused_result));
/* May the peer of fd be served?  When not, why (for the log: "from uid
 * U gid G pid P: ..." or "whose peer is unknown: ..."). */
bool peercred_allowed(const struct peercred *p, int fd, char *why, size_t size);

#endif
