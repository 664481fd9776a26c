/*
 * hget: a small HTTP/1.1 load client for the nginx comparison.
 *
 * It plays N endpoints that each download one blob over HTTP: every
 * download is one GET on its own connection (as N separate machines would
 * make), spread round-robin over the given URLs, at most C in flight.
 * Every body is hashed with SHA-256 (OpenSSL EVP, as Arbor's agents do)
 * and checked against the expected digest and size, so a fast wrong answer
 * never counts.  The time each download completes, measured from the
 * start, gives the time until 50/90/99/100 % of the endpoints hold the blob
 * -- the same figures the Arbor fan-out benchmark reports.
 *
 * One process is one epoll loop with non-blocking sockets.  Hashing 1,000
 * copies of 10 MiB is seconds of CPU, so --procs K forks K such loops over
 * interleaved shares of the downloads; they send their completion times
 * back through pipes.  Bodies must carry Content-Length or end at EOF
 * (nginx sends Content-Length); chunked encoding counts as a failure.
 *
 * Prints one JSON line.  Exits non-zero if any download failed.
 */

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netdb.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#define HGET_HDR_MAX 16384     /* response headers larger than this fail */
#define HGET_RBUF (256 * 1024) /* one read per wake-up keeps it fair */
#define HGET_FD_SPARE 32       /* descriptors kept for epoll, pipes, stdio */
#define HGET_MAX_URLS 4096
#define HGET_MAX_ERRMSG 10 /* report the first few failures only */

struct url {
	char *text;
	char *hostport; /* for the Host header */
	char *path;
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

enum dl_state { DL_IDLE, DL_CONNECT, DL_SEND, DL_HEAD, DL_BODY };

/* One download slot: a connection in flight and its parsing state. */
struct dl {
	enum dl_state state;
	int fd;
	long long index; /* which download of the N */
	struct url *url;
	char req[1024];
	size_t reqlen, reqoff;
	char hdr[HGET_HDR_MAX];
	size_t hlen;
	long long clen; /* Content-Length, or -1 until EOF */
	long long got;
	EVP_MD_CTX *ctx;
};

struct hget {
	struct url urls[HGET_MAX_URLS];
	int nurls;
	long long nclients;
	long long concurrency;
	long long size;
	unsigned char digest[32];
	double timeout;
	int procs;
	/* This process takes downloads next, next + stride, ... */
	long long stride, next;
	long long nstarted;
	double t0;
	double *times; /* completion times of good downloads */
	long long nok, nfailed;
	long long bytes;
	int nerrmsg;
	int ep;
	unsigned char *rbuf;
};

static void
usage(void)
{
	fprintf(stderr,
		"usage: hget (--urls-file F | --url URL [--url URL ...]) "
		"--clients N\n"
		"            --sha256 HEX --size BYTES [--concurrency C] "
		"[--procs K] [--timeout S]\n");
	exit(2);
}

static long long
num(const char *s, long long lo, long long hi)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "hget: %s: not a number in [%lld, %lld]\n", s,
			lo, hi);
		exit(2);
	}
	return v;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Parse http://host[:port]/path and resolve host once, before timing. */
static int
url_parse(struct url *u, const char *text)
{
	struct addrinfo hints, *res;
	const char *p, *slash;
	char host[256], port[16];
	const char *colon;
	size_t hlen;
	int rv;

	if (strncmp(text, "http://", 7) != 0)
		return -1;
	p = text + 7;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	if ((size_t)(slash - p) >= sizeof(host) || slash == p)
		return -1;
	u->text = strdup(text);
	u->hostport = strndup(p, slash - p);
	u->path = strdup(*slash == '\0' ? "/" : slash);
	if (u->text == NULL || u->hostport == NULL || u->path == NULL)
		return -1;
	colon = strrchr(u->hostport, ':');
	if (colon != NULL) {
		hlen = colon - u->hostport;
		if (strlen(colon + 1) >= sizeof(port))
			return -1;
		strcpy(port, colon + 1);
	} else {
		hlen = strlen(u->hostport);
		strcpy(port, "80");
	}
	memcpy(host, u->hostport, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rv = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "hget: %s: %s\n", text, gai_strerror(rv));
		return -1;
	}
	memcpy(&u->addr, res->ai_addr, res->ai_addrlen);
	u->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void
add_url(struct hget *h, const char *text)
{
	if (h->nurls >= HGET_MAX_URLS) {
		fprintf(stderr, "hget: more than %d URLs\n", HGET_MAX_URLS);
		exit(2);
	}
	if (url_parse(&h->urls[h->nurls], text) != 0) {
		fprintf(stderr, "hget: %s: not an http:// URL\n", text);
		exit(2);
	}
	h->nurls++;
}

static void
read_urls(struct hget *h, const char *file)
{
	char line[4096];
	size_t n;
	FILE *fp;

	if ((fp = fopen(file, "r")) == NULL) {
		perror(file);
		exit(2);
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		n = strlen(line);
		while (n > 0 && isspace((unsigned char)line[n - 1]))
			line[--n] = '\0';
		if (n > 0 && line[0] != '#')
			add_url(h, line);
	}
	fclose(fp);
}

static int
parse_hex(unsigned char out[32], const char *hex)
{
	unsigned int v;
	int i;

	if (strlen(hex) != 64)
		return -1;
	for (i = 0; i < 32; i++) {
		if (!isxdigit((unsigned char)hex[2 * i]) ||
		    !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = v;
	}
	return 0;
}

/*
 * Descriptors: raise the soft limit to the hard one, then never hold more
 * connections than it allows -- running out mid-run would turn into
 * failures that say nothing about the server.
 */
static void
fit_fd_limit(struct hget *h)
{
	struct rlimit rl;
	long long room;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	room = (long long)rl.rlim_cur - HGET_FD_SPARE;
	if (room < 1)
		room = 1;
	/* Each process holds its share of the in-flight connections. */
	if ((h->concurrency + h->procs - 1) / h->procs > room) {
		fprintf(stderr,
			"hget: RLIMIT_NOFILE is %llu: concurrency "
			"%lld cut to %lld\n",
			(unsigned long long)rl.rlim_cur, h->concurrency,
			room * h->procs);
		h->concurrency = room * h->procs;
	}
}

static void
dl_error(struct hget *h, struct dl *d, const char *what, int err)
{
	if (h->nerrmsg++ < HGET_MAX_ERRMSG)
		fprintf(stderr, "hget: download %lld from %s: %s%s%s\n",
			d->index, d->url->text, what, err ? ": " : "",
			err ? strerror(err) : "");
	else if (h->nerrmsg == HGET_MAX_ERRMSG + 1)
		fprintf(stderr, "hget: further failures not shown\n");
}

static void
dl_close(struct hget *h, struct dl *d)
{
	if (d->fd != -1) {
		(void)epoll_ctl(h->ep, EPOLL_CTL_DEL, d->fd, NULL);
		close(d->fd);
	}
	d->fd = -1;
	d->state = DL_IDLE;
}

static void
dl_fail(struct hget *h, struct dl *d, const char *what, int err)
{
	dl_error(h, d, what, err);
	h->nfailed++;
	dl_close(h, d);
}

/* The body is complete: check it and record when it finished. */
static void
dl_done(struct hget *h, struct dl *d)
{
	unsigned char md[32];
	unsigned int mdlen;

	if (EVP_DigestFinal_ex(d->ctx, md, &mdlen) != 1) {
		dl_fail(h, d, "digest failed", 0);
		return;
	}
	if (d->got != h->size) {
		dl_fail(h, d, "body has the wrong size", 0);
		return;
	}
	if (memcmp(md, h->digest, sizeof(md)) != 0) {
		dl_fail(h, d, "body has the wrong SHA-256", 0);
		return;
	}
	h->times[h->nok++] = now() - h->t0;
	h->bytes += d->got;
	dl_close(h, d);
}

static int
dl_body(struct hget *h, struct dl *d, const void *p, size_t n)
{
	d->got += n;
	if (d->got > h->size || (d->clen >= 0 && d->got > d->clen)) {
		dl_fail(h, d, "body longer than expected", 0);
		return -1;
	}
	if (EVP_DigestUpdate(d->ctx, p, n) != 1) {
		dl_fail(h, d, "digest failed", 0);
		return -1;
	}
	if (d->clen >= 0 && d->got == d->clen) {
		dl_done(h, d);
		return -1; /* finished: the slot is free */
	}
	return 0;
}

/*
 * The headers are in d->hdr up to and including the blank line at end.
 * Accept only 200 with a Content-Length or a body that ends at EOF.
 */
static int
dl_headers(struct hget *h, struct dl *d, size_t end)
{
	char *line, *next, *v, *stop;
	int status;

	d->hdr[end - 2] = '\0'; /* cut at the last CRLF */
	if (sscanf(d->hdr, "HTTP/1.%*d %d", &status) != 1) {
		dl_fail(h, d, "no HTTP status line", 0);
		return -1;
	}
	if (status != 200) {
		char msg[64];

		snprintf(msg, sizeof(msg), "HTTP status %d", status);
		dl_fail(h, d, msg, 0);
		return -1;
	}
	d->clen = -1;
	for (line = strstr(d->hdr, "\r\n"); line != NULL; line = next) {
		line += 2;
		next = strstr(line, "\r\n");
		if (next != NULL)
			*next = '\0';
		if ((v = strchr(line, ':')) == NULL)
			continue;
		*v++ = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		if (strcasecmp(line, "content-length") == 0) {
			errno = 0;
			d->clen = strtoll(v, &stop, 10);
			if (errno != 0 || stop == v || d->clen < 0) {
				dl_fail(h, d, "bad Content-Length", 0);
				return -1;
			}
		} else if (strcasecmp(line, "transfer-encoding") == 0 &&
			   strcasecmp(v, "identity") != 0) {
			dl_fail(h, d, "Transfer-Encoding not supported", 0);
			return -1;
		}
	}
	if (d->clen >= 0 && d->clen != h->size) {
		dl_fail(h, d, "Content-Length is not --size", 0);
		return -1;
	}
	d->state = DL_BODY;
	if (EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1) {
		dl_fail(h, d, "digest failed", 0);
		return -1;
	}
	if (d->hlen > end)
		return dl_body(h, d, d->hdr + end, d->hlen - end);
	if (d->clen == 0) {
		dl_done(h, d);
		return -1;
	}
	return 0;
}

static void
dl_start(struct hget *h, struct dl *d)
{
	struct epoll_event ev;
	int fd, n;

	d->index = h->next;
	h->next += h->stride;
	h->nstarted++;
	d->url = &h->urls[d->index % h->nurls];
	d->hlen = 0;
	d->got = 0;
	d->clen = -1;
	d->reqoff = 0;
	n = snprintf(d->req, sizeof(d->req),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: arbor-hget\r\n"
		     "Connection: close\r\n\r\n",
		     d->url->path, d->url->hostport);
	if (n < 0 || (size_t)n >= sizeof(d->req)) {
		d->fd = -1;
		dl_fail(h, d, "URL too long", 0);
		return;
	}
	d->reqlen = n;
	fd = socket(d->url->addr.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	d->fd = fd;
	if (fd == -1) {
		dl_fail(h, d, "socket", errno);
		return;
	}
	if (connect(fd, (struct sockaddr *)&d->url->addr, d->url->addrlen) ==
		-1 &&
	    errno != EINPROGRESS) {
		dl_fail(h, d, "connect", errno);
		return;
	}
	d->state = DL_CONNECT;
	ev.events = EPOLLOUT;
	ev.data.ptr = d;
	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		dl_fail(h, d, "epoll_ctl", errno);
		return;
	}
}

static void
dl_writable(struct hget *h, struct dl *d)
{
	struct epoll_event ev;
	socklen_t len = sizeof(int);
	ssize_t n;
	int err = 0;

	if (d->state == DL_CONNECT) {
		if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			dl_fail(h, d, "connect", err);
			return;
		}
		d->state = DL_SEND;
	}
	while (d->reqoff < d->reqlen) {
		n = write(d->fd, d->req + d->reqoff, d->reqlen - d->reqoff);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			dl_fail(h, d, "send", n == -1 ? errno : EPIPE);
			return;
		}
		d->reqoff += n;
	}
	d->state = DL_HEAD;
	ev.events = EPOLLIN;
	ev.data.ptr = d;
	if (epoll_ctl(h->ep, EPOLL_CTL_MOD, d->fd, &ev) == -1)
		dl_fail(h, d, "epoll_ctl", errno);
}

static void
dl_readable(struct hget *h, struct dl *d)
{
	char *end;
	ssize_t n;

	if (d->state == DL_HEAD) {
		if (d->hlen >= sizeof(d->hdr) - 1) {
			dl_fail(h, d, "response headers too long", 0);
			return;
		}
		n = read(d->fd, d->hdr + d->hlen, sizeof(d->hdr) - 1 - d->hlen);
	} else {
		n = read(d->fd, h->rbuf, HGET_RBUF);
	}
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n == -1) {
		dl_fail(h, d, "receive", errno);
		return;
	}
	if (n == 0) {
		/* EOF ends a body without Content-Length, nothing else. */
		if (d->state == DL_BODY && d->clen < 0)
			dl_done(h, d);
		else
			dl_fail(h, d, "connection closed early", 0);
		return;
	}
	if (d->state == DL_BODY) {
		(void)dl_body(h, d, h->rbuf, n);
		return;
	}
	d->hlen += n;
	d->hdr[d->hlen] = '\0';
	if ((end = strstr(d->hdr, "\r\n\r\n")) != NULL)
		(void)dl_headers(h, d, end - d->hdr + 4);
}

/* Run this process's share of the downloads; the results are in h. */
static void
run(struct hget *h, long long share, long long slots)
{
	struct epoll_event evs[256];
	struct dl *dls;
	double left;
	long long i;
	int n, k;

	if ((h->ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("hget: epoll_create1");
		exit(1);
	}
	h->rbuf = malloc(HGET_RBUF);
	h->times = calloc(share > 0 ? share : 1, sizeof(double));
	dls = calloc(slots > 0 ? slots : 1, sizeof(*dls));
	if (h->rbuf == NULL || h->times == NULL || dls == NULL) {
		fprintf(stderr, "hget: out of memory\n");
		exit(1);
	}
	for (i = 0; i < slots; i++) {
		dls[i].fd = -1;
		if ((dls[i].ctx = EVP_MD_CTX_new()) == NULL) {
			fprintf(stderr, "hget: out of memory\n");
			exit(1);
		}
	}
	for (;;) {
		/* Keep every slot busy while downloads are left to start. */
		for (i = 0; i < slots && h->nstarted < share; i++)
			if (dls[i].state == DL_IDLE)
				dl_start(h, &dls[i]);
		if (h->nok + h->nfailed >= share)
			break;
		left = h->t0 + h->timeout - now();
		if (left <= 0)
			break;
		n = epoll_wait(h->ep, evs, 256, (int)(left * 1000) + 1);
		if (n == -1 && errno != EINTR) {
			perror("hget: epoll_wait");
			exit(1);
		}
		for (k = 0; k < n; k++) {
			struct dl *d = evs[k].data.ptr;

			if (d->state == DL_CONNECT || d->state == DL_SEND)
				dl_writable(h, d);
			else if (d->state != DL_IDLE)
				dl_readable(h, d);
		}
	}
	/* Past the deadline: whatever is unfinished has failed. */
	for (i = 0; i < slots; i++) {
		if (dls[i].state != DL_IDLE)
			dl_fail(h, &dls[i], "timed out", 0);
		EVP_MD_CTX_free(dls[i].ctx);
	}
	h->nfailed += share - h->nstarted;
	free(dls);
	free(h->rbuf);
	close(h->ep);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
put_pct(struct hget *h, double *all, long long nok, int pct)
{
	long long need = (h->nclients * pct + 99) / 100;

	if (need < 1)
		need = 1;
	if (nok < need)
		printf(",\"seconds_to_%d\":null", pct);
	else
		printf(",\"seconds_to_%d\":%.3f", pct, all[need - 1]);
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= w;
	}
	return 0;
}

static int
read_all(int fd, void *p, size_t n)
{
	char *c = p;
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, c, n)) == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= r;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct hget *h;
	double *all;
	long long nok = 0, nfailed = 0, bytes = 0, share, slots;
	int fds[64][2];
	pid_t pids[64];
	int have_sha = 0, i, k, status;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return 1;
	h->nclients = -1;
	h->concurrency = -1;
	h->size = -1;
	h->timeout = 120;
	h->procs = 1;
	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--url") == 0)
			add_url(h, argv[++i]);
		else if (strcmp(argv[i], "--urls-file") == 0)
			read_urls(h, argv[++i]);
		else if (strcmp(argv[i], "--clients") == 0)
			h->nclients = num(argv[++i], 1, 100000000);
		else if (strcmp(argv[i], "--concurrency") == 0)
			h->concurrency = num(argv[++i], 1, 100000000);
		else if (strcmp(argv[i], "--size") == 0)
			h->size = num(argv[++i], 0, 1LL << 40);
		else if (strcmp(argv[i], "--procs") == 0)
			h->procs = num(argv[++i], 1, 64);
		else if (strcmp(argv[i], "--timeout") == 0)
			h->timeout = num(argv[++i], 1, 86400);
		else if (strcmp(argv[i], "--sha256") == 0) {
			if (parse_hex(h->digest, argv[++i]) != 0) {
				fprintf(stderr, "hget: --sha256 wants 64 hex "
						"digits\n");
				return 2;
			}
			have_sha = 1;
		} else
			usage();
	}
	if (h->nurls == 0 || h->nclients < 0 || h->size < 0 || !have_sha)
		usage();
	if (h->concurrency < 0 || h->concurrency > h->nclients)
		h->concurrency = h->nclients;
	if (h->procs > h->nclients)
		h->procs = h->nclients;
	fit_fd_limit(h);
	signal(SIGPIPE, SIG_IGN);

	/*
	 * One start time for all processes.  Each process k takes downloads
	 * k, k + K, k + 2K, ..., so the URLs stay round-robin across them.
	 */
	h->t0 = now();
	h->stride = h->procs;
	for (k = 0; k < h->procs; k++) {
		if (pipe(fds[k]) == -1 || (pids[k] = fork()) == -1) {
			perror("hget: fork");
			return 1;
		}
		if (pids[k] == 0) {
			/* A worker outlives no parent: a killed run stops. */
			if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
			    getppid() == 1)
				_exit(1);
			close(fds[k][0]);
			h->next = k;
			share = (h->nclients - k + h->procs - 1) / h->procs;
			slots = (h->concurrency - k + h->procs - 1) / h->procs;
			run(h, share, slots);
			/* ok, failed, bytes, then the ok times. */
			if (write_all(fds[k][1], &h->nok, sizeof(h->nok)) ||
			    write_all(fds[k][1], &h->nfailed,
				      sizeof(h->nfailed)) ||
			    write_all(fds[k][1], &h->bytes, sizeof(h->bytes)) ||
			    write_all(fds[k][1], h->times,
				      h->nok * sizeof(double)))
				_exit(1);
			_exit(0);
		}
		close(fds[k][1]);
	}
	if ((all = calloc(h->nclients, sizeof(double))) == NULL)
		return 1;
	for (k = 0; k < h->procs; k++) {
		long long o, f, b;

		if (read_all(fds[k][0], &o, sizeof(o)) ||
		    read_all(fds[k][0], &f, sizeof(f)) ||
		    read_all(fds[k][0], &b, sizeof(b)) || o < 0 ||
		    nok + o > h->nclients ||
		    read_all(fds[k][0], all + nok, o * sizeof(double))) {
			fprintf(stderr, "hget: worker %d died\n", k);
			nfailed += (h->nclients - k + h->procs - 1) / h->procs;
		} else {
			nok += o;
			nfailed += f;
			bytes += b;
		}
		close(fds[k][0]);
	}
	for (k = 0; k < h->procs; k++)
		(void)waitpid(pids[k], &status, 0);
	qsort(all, nok, sizeof(double), cmp_double);

	printf("{\"bench\":\"hget\",\"clients\":%lld,\"urls\":%d,"
	       "\"concurrency\":%lld,\"procs\":%d,\"size\":%lld,\"ok\":%lld,"
	       "\"failed\":%lld",
	       h->nclients, h->nurls, h->concurrency, h->procs, h->size, nok,
	       nfailed);
	put_pct(h, all, nok, 50);
	put_pct(h, all, nok, 90);
	put_pct(h, all, nok, 99);
	put_pct(h, all, nok, 100);
	if (nok > 0)
		printf(",\"seconds_first\":%.3f", all[0]);
	else
		printf(",\"seconds_first\":null");
	printf(",\"bytes\":%lld}\n", bytes);
	k = nfailed == 0 && nok == h->nclients ? 0 : 1;
	for (i = 0; i < h->nurls; i++) {
		free(h->urls[i].text);
		free(h->urls[i].hostport);
		free(h->urls[i].path);
	}
	free(all);
	free(h);
	return k;
}
