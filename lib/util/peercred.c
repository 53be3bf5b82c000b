/*
 * peercred - who may talk to us over a local (unix) socket
 *
 * See peercred.h.  Root and our own effective uid are always allowed:
 * they could replace the program anyway.  Groups match the peer's
 * primary group only (SO_PEERCRED tells nothing of the others).
 */
#include "peercred.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "parse.h"

/* A name or a decimal id: 0 with *id, or -1. */
static int peer_id(const char *name, bool group, unsigned *id)
{
	long v;
	struct error e = ERROR_INIT;

	if (name[0] != '\0' && strspn(name, "0123456789") == strlen(name)) {
		int rc = parse_long(name, 0, 0x7ffffffeL, &v, "id", &e);

		error_release(&e);
		*id = (unsigned)v;
		return rc;
	}
	if (group) {
		const struct group *g = getgrnam(name);

		if (g == NULL)
			return -1;
		*id = (unsigned)g->gr_gid;
	} else {
		const struct passwd *pw = getpwnam(name);

		if (pw == NULL)
			return -1;
		*id = (unsigned)pw->pw_uid;
	}
	return 0;
}

int peercred_add(struct peercred *p, const char *entry, struct error *err)
{
	bool group = strncmp(entry, "group:", 6) == 0;
	const char *name;
	unsigned id;

	if (strcmp(entry, "any") == 0) {
		p->any = true;
		return 0;
	}
	if (!group && strncmp(entry, "user:", 5) != 0)
		return error_set(err, ERR_INVALID, NULL,
				 "'%s' is not user:NAME, group:NAME or any",
				 entry);
	name = entry + (group ? 6 : 5);
	if ((group ? p->ngid : p->nuid) >= PEERCRED_MAX)
		return error_set(err, ERR_INVALID, NULL, "more than %d %ss",
				 PEERCRED_MAX, group ? "group" : "user");
	if (peer_id(name, group, &id) < 0)
		return error_set(err, ERR_INVALID, NULL, "no %s '%s'",
				 group ? "group" : "user", name);
	if (group)
		p->gid[p->ngid++] = (gid_t)id;
	else
		p->uid[p->nuid++] = (uid_t)id;
	return 0;
}

bool peercred_allowed(const struct peercred *p, int fd, char *why, size_t size)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int i;

	if (p->any)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
	    len != sizeof(cr)) {
		(void)snprintf(why, size, "whose peer is unknown: %s",
			       strerror(errno));
		return false;
	}
	if (cr.uid == 0 || cr.uid == geteuid())
		return true;
	for (i = 0; i < p->nuid; i++)
		if (cr.uid == p->uid[i])
			return true;
	for (i = 0; i < p->ngid; i++)
		if (cr.gid == p->gid[i])
			return true;
	(void)snprintf(why, size, "from uid %u gid %u pid %d", (unsigned)cr.uid,
		       (unsigned)cr.gid, (int)cr.pid);
	return false;
}
