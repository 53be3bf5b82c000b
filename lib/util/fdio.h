/*
 * fdio - write(2) a whole buffer
 *
 * fd_write_all() retries a write cut short or interrupted (EINTR)
 * until all of buf is out.  It calls only write(2), so a signal
 * handler may use it.
 */
#ifndef MXFEED_UTIL_FDIO_H
#define MXFEED_UTIL_FDIO_H

#include <stddef.h>

/* 0 when all len bytes of buf were written to fd; -1 with errno set
 * (EIO when write(2) wrote nothing without an error). */
int fd_write_all(int fd, const void *buf, size_t len)
	__attribute__((warn_unused_result));

#endif
