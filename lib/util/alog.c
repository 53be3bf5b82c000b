/*
 * alog - a line log batched per thread, that loses nothing on exit or
 * on a crash
 *
 * See alog.h.  Each buffer has its mutex; its length is atomic because
 * the fatal-signal handler reads it without the lock (it cannot take
 * one): a line is copied into the buffer before the length that
 * covers it is stored, so the handler writes whole lines only.
 */
#include "alog.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"

struct alog {
	pthread_mutex_t lock;
	atomic_size_t len; /* whole lines in buf */
	int64_t since_ms;  /* monotonic, of the oldest line in buf */
	char buf[ALOG_BUF];
};

static struct alog *alogs;
static int nalogs;
static int alog_fd = STDERR_FILENO;
static atomic_int alog_dying; /* a fatal signal's handler is writing */

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* write(2) all of buf; async-signal-safe.  A failure (stderr gone or
 * full) is dropped, as fprintf would. */
static void write_all(const char *buf, size_t n)
{
	(void)!fd_write_all(alog_fd, buf, n);
}

/* with a->lock held */
static void flush_locked(struct alog *a)
{
	size_t n = atomic_load(&a->len);

	if (n > 0)
		write_all(a->buf, n);
	atomic_store(&a->len, 0);
}

void alog_setup(int n, int fd)
{
	int i;

	alogs = xcalloc((size_t)n, sizeof(*alogs));
	for (i = 0; i < n; i++)
		pthread_mutex_init(&alogs[i].lock, NULL);
	nalogs = n;
	alog_fd = fd;
}

void alog_release(void)
{
	int i;

	for (i = 0; i < nalogs; i++)
		pthread_mutex_destroy(&alogs[i].lock);
	free(alogs);
	alogs = NULL;
	nalogs = 0;
}

void alog_add(int i, const char *line, size_t n, bool flush)
{
	struct alog *a = &alogs[i];
	int64_t now = mono_ms();
	size_t len;

	pthread_mutex_lock(&a->lock);
	if (atomic_load(&a->len) + n > ALOG_BUF)
		flush_locked(a);
	len = atomic_load(&a->len);
	if (len == 0)
		a->since_ms = now;
	if (n > ALOG_BUF) {
		write_all(line, n); /* too long to batch: on its own */
	} else {
		memcpy(a->buf + len, line, n);
		/* the fatal-signal handler reads len: the line is whole */
		atomic_store(&a->len, len + n);
		/* a handler that read len before the store above has set
		 * alog_dying first: then this line is written here (twice,
		 * at worst), not lost with an answer already sent */
		if (atomic_load(&alog_dying))
			write_all(line, n);
	}
	if (flush || now - a->since_ms >= ALOG_MAX_MS)
		flush_locked(a);
	pthread_mutex_unlock(&a->lock);
}

void alog_flush(int i)
{
	pthread_mutex_lock(&alogs[i].lock);
	flush_locked(&alogs[i]);
	pthread_mutex_unlock(&alogs[i].lock);
}

void alog_tick(bool all)
{
	int64_t now = mono_ms();
	int i;

	for (i = 0; i < nalogs; i++) {
		struct alog *a = &alogs[i];

		pthread_mutex_lock(&a->lock);
		if (atomic_load(&a->len) > 0 &&
		    (all || now - a->since_ms >= ALOG_MAX_MS))
			flush_locked(a);
		pthread_mutex_unlock(&a->lock);
	}
}

/* SIGSEGV and the like: the whole lines buffered, then the signal's
 * default action (SA_RESETHAND; raise() takes effect on return). */
static void alog_fatal(int sig)
{
	int i;

	atomic_store(&alog_dying, 1); /* before reading any len */
	for (i = 0; i < nalogs; i++)
		write_all(alogs[i].buf, atomic_load(&alogs[i].len));
	(void)raise(sig);
}

void alog_catch_fatal(void)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = alog_fatal;
	sa.sa_flags = (int)SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(fatal) / sizeof(*fatal); i++)
		(void)sigaction(fatal[i], &sa, NULL);
}

/* v in decimal, as %lu (the access line's numbers, without printf) */
static void add_num(struct strbuf *sb, unsigned long v)
{
	char buf[24], *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	sbuf_add(sb, p, (size_t)(buf + sizeof(buf) - p));
}

void alog_access_line(struct strbuf *sb, const char *id, const char *method,
		      const char *path, int status, double ms,
		      const char *actor, size_t bytes)
{
	long tenths = ms > 0 ? (long)(ms * 10 + 0.5) : 0;

	sbuf_addstr(sb, "access id=");
	sbuf_addstr(sb, id);
	sbuf_addstr(sb, " method=");
	sbuf_addesc(sb, method, 16);
	sbuf_addstr(sb, " path=\"");
	sbuf_addesc(sb, path, 200);
	sbuf_addstr(sb, "\" status=");
	add_num(sb, (unsigned long)status);
	sbuf_addstr(sb, " ms=");
	add_num(sb, (unsigned long)(tenths / 10));
	sbuf_addch(sb, '.');
	add_num(sb, (unsigned long)(tenths % 10));
	sbuf_addstr(sb, " actor=\"");
	sbuf_addesc(sb, actor != NULL && actor[0] ? actor : "-", 64);
	sbuf_addstr(sb, "\" bytes=");
	add_num(sb, (unsigned long)bytes);
}
