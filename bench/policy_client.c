/*
 * policy_client - drive a Postfix policy server over one connection
 *
 * policy_client [-w DIGITS] N NDOMAINS COMMAND [ARGS...]
 *
 * Runs COMMAND with its stdin and stdout on pipes (as Postfix's spawn(8)
 * does), sends one warm-up request, then N policy requests one after
 * the other, each answered before the next is sent, as smtpd does.
 * Every request is a new transaction (its own instance) for a recipient
 * at dNNNNNN.example (DIGITS digits, 6 unless -w says 1-9), the
 * domains spread over 1..NDOMAINS.  Prints:
 *
 *   startup S     seconds from the fork to the warm-up request's answer
 *   elapsed S     seconds for the N requests
 *   requests N
 *   answer N ACTION   how many answers were "action=ACTION", one line
 *                     for each of the first 8 distinct actions
 *   answer N (other)  all further distinct actions together
 *   rss_kb N      the server's resident memory after the requests
 *   private_kb N  ...of it, the pages no other process maps now
 *                 (Private_Clean + Private_Dirty of smaps_rollup: the
 *                 snapshot's page cache counts while one server runs)
 *   anon_kb N     ...of it, anonymous memory (Anonymous): what each
 *                 further server costs, the mapped snapshot shared
 *
 * Bounded: N is at most 10,000,000 and every answer must arrive within
 * 10 seconds.  Exit 0 on success, 1 on any protocol or I/O failure.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ANSWER_MAX 4096
#define TIMEOUT_MS 10000
#define N_MAX	   10000000UL
#define KINDS_MAX  8

struct tally {
	char action[KINDS_MAX][ANSWER_MAX];
	unsigned long count[KINDS_MAX];
	int n;
	unsigned long other;
};

/* Count one answer ("action=...\n\n") under its action. */
static void tally_add(struct tally *t, const char *ans)
{
	const char *a = ans + 7;
	size_t len = strlen(a) - 2; /* without the "\n\n" */
	int i;

	for (i = 0; i < t->n; i++)
		if (strlen(t->action[i]) == len &&
		    strncmp(t->action[i], a, len) == 0) {
			t->count[i]++;
			return;
		}
	if (t->n == KINDS_MAX) {
		t->other++;
		return;
	}
	memcpy(t->action[t->n], a, len);
	t->action[t->n][len] = '\0';
	t->count[t->n++] = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One answer, "name=value\n...\n\n", into buf (NUL-terminated). */
static int read_answer(int fd, char *buf, size_t size)
{
	size_t len = 0;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;
		int rc = poll(&p, 1, TIMEOUT_MS);

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0) {
			fputs("policy_client: no answer within 10 s\n", stderr);
			return -1;
		}
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fputs("policy_client: the server closed the "
			      "connection\n",
			      stderr);
			return -1;
		}
		len += (size_t)n;
		buf[len] = '\0';
		if (len >= 2 && buf[len - 2] == '\n' && buf[len - 1] == '\n')
			return 0;
		if (len == size - 1) {
			fputs("policy_client: answer too long\n", stderr);
			return -1;
		}
	}
}

static int digits = 6;

static size_t request(char *buf, size_t size, unsigned long i,
		      unsigned long ndomains)
{
	/* a multiplicative stride visits the domains in a scattered order */
	unsigned long dom = (i * 7919UL) % ndomains + 1;
	int n = snprintf(buf, size,
			 "request=smtpd_access_policy\n"
			 "protocol_state=RCPT\n"
			 "protocol_name=ESMTP\n"
			 "client_address=127.0.0.1\n"
			 "helo_name=client.test\n"
			 "sender=a@sender.test\n"
			 "recipient=user@d%0*lu.example\n"
			 "instance=%lx\n"
			 "size=1000\n"
			 "\n",
			 digits, dom, i + 1);

	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

/* The server's resident, private and anonymous memory in kB from
 * smaps_rollup; -1 where it cannot be read. */
static void memory_of(pid_t pid, long *rss, long *priv, long *anon)
{
	char path[64], line[256];
	long v, pc = -1, pd = -1;
	FILE *f;

	*rss = *priv = *anon = -1;
	(void)snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "Rss: %ld kB", &v) == 1)
			*rss = v;
		else if (sscanf(line, "Private_Clean: %ld kB", &v) == 1)
			pc = v;
		else if (sscanf(line, "Private_Dirty: %ld kB", &v) == 1)
			pd = v;
		else if (sscanf(line, "Anonymous: %ld kB", &v) == 1)
			*anon = v;
	}
	fclose(f);
	if (pc >= 0 && pd >= 0)
		*priv = pc + pd;
}

int main(int argc, char **argv)
{
	int to[2], from[2], status;
	static struct tally t;
	char req[512], ans[ANSWER_MAX];
	unsigned long n, ndomains, i;
	int k;
	double t0, t1, t2;
	pid_t pid;
	size_t len;
	long rss, priv, anon;
	unsigned long dmax = 1;

	if (argc > 2 && strcmp(argv[1], "-w") == 0) {
		char *end;
		long w = strtol(argv[2], &end, 10);

		digits = *end == '\0' && w >= 1 && w <= 9 ? (int)w : 0;
		argv += 2;
		argc -= 2;
	}
	if (argc < 4 || digits < 1 || digits > 9) {
		fputs("usage: policy_client [-w DIGITS] N NDOMAINS COMMAND "
		      "[ARGS...]\n",
		      stderr);
		return 2;
	}
	for (k = 0; k < digits; k++)
		dmax *= 10;
	n = strtoul(argv[1], NULL, 10);
	ndomains = strtoul(argv[2], NULL, 10);
	if (n == 0 || n > N_MAX || ndomains == 0 || ndomains >= dmax) {
		fprintf(stderr,
			"policy_client: N must be 1..10000000, NDOMAINS "
			"1..%lu\n",
			dmax - 1);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (pipe(to) < 0 || pipe(from) < 0) {
		perror("policy_client: pipe");
		return 1;
	}
	t0 = now();
	pid = fork();
	if (pid < 0) {
		perror("policy_client: fork");
		return 1;
	}
	if (pid == 0) {
		if (dup2(to[0], 0) < 0 || dup2(from[1], 1) < 0)
			_exit(127);
		close(to[0]);
		close(to[1]);
		close(from[0]);
		close(from[1]);
		execvp(argv[3], argv + 3);
		perror("policy_client: exec");
		_exit(127);
	}
	close(to[0]);
	close(from[1]);

	/* warm-up: the server has loaded what it needs once this returns */
	len = request(req, sizeof(req), n, ndomains);
	if (write_all(to[1], req, len) < 0 ||
	    read_answer(from[0], ans, sizeof(ans)) < 0)
		goto fail;
	t1 = now();
	for (i = 0; i < n; i++) {
		len = request(req, sizeof(req), i, ndomains);
		if (len == 0 || write_all(to[1], req, len) < 0 ||
		    read_answer(from[0], ans, sizeof(ans)) < 0)
			goto fail;
		if (strncmp(ans, "action=", 7) != 0 ||
		    strchr(ans, '\n')[1] != '\n') {
			fprintf(stderr, "policy_client: not one action: %s",
				ans);
			goto fail;
		}
		tally_add(&t, ans);
	}
	t2 = now();
	memory_of(pid, &rss, &priv, &anon);
	close(to[1]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fputs("policy_client: the server did not exit cleanly\n",
		      stderr);
		return 1;
	}
	printf("startup %.6f\nelapsed %.6f\nrequests %lu\n", t1 - t0, t2 - t1,
	       n);
	for (k = 0; k < t.n; k++)
		printf("answer %lu %s\n", t.count[k], t.action[k]);
	if (t.other > 0)
		printf("answer %lu (other)\n", t.other);
	printf("rss_kb %ld\nprivate_kb %ld\nanon_kb %ld\n", rss, priv, anon);
	return 0;
fail:
	close(to[1]);
	kill(pid, SIGTERM);
	(void)waitpid(pid, &status, 0);
	return 1;
}
