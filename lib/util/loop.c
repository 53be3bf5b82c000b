/*
 * loop - stop and re-read signals, a pause, the retry backoff
 *
 * See loop.h.  The flags are sig_atomic_t set by the handlers and
 * read by the loop; nothing else happens in a handler.
 */
#include "util/loop.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag, reread_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	reread_flag = 1;
}

void loop_signals(bool hup)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop; /* no SA_RESTART: poll() must wake */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (hup) {
		sa.sa_handler = on_hup;
		sigaction(SIGHUP, &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
}

bool loop_stopping(void)
{
	return stop_flag != 0;
}

bool loop_reread_take(void)
{
	if (reread_flag == 0)
		return false;
	reread_flag = 0;
	return true;
}

void loop_pause(int seconds)
{
	int i;

	for (i = 0; i < seconds * 10 && !stop_flag; i++)
		(void)usleep(100000);
}

int loop_backoff(int seconds)
{
	return seconds < 16 ? seconds * 2 : LOOP_BACKOFF_MAX_S;
}
