/*
 * floor: the machine's own floor for moving content to many endpoints.
 *
 * The Arbor fan-out benchmark reports how long the tree takes to deliver a
 * blob to every endpoint.  This program measures what the same number of
 * bytes costs with no protocol at all: N TCP streams of SIZE bytes each
 * cross 127.0.0.1 and every stream is hashed with SHA-256 (OpenSSL EVP, as
 * Arbor does) and checked against the expected digest.  Whatever Arbor
 * spends beyond this figure is its own overhead.
 *
 * P sender threads and P receiver threads run at once (default P = the
 * number of CPUs, so both sides of every core have work while the other
 * side waits); each sender opens one connection per stream, as every
 * endpoint holds its own connection.  The sender write(2)s the blob from
 * memory and the receiver reads it into one buffer and hashes it, the
 * least an endpoint can do.  sendfile(2) from a memfd, which nginx uses,
 * is there for comparison (--sendfile): on loopback on these machines it
 * was slower, 0.7-1.4 GB/s against 1.4-1.7 GB/s for write(2), and P from 2
 * to 8 made no difference beyond the noise, while P = 1 leaves a core idle
 * (0.7-1.1 GB/s).  Read sizes from 32 KiB to 1 MiB were all the same; SHA-256
 * itself runs 1.74 GB/s per core here, so hashing is most of the floor.
 * No Arbor code is used.
 *
 * Prints one JSON line.  Exits non-zero if any stream was short, hashed
 * wrong, or the run passed --timeout.
 */

#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define FLOOR_RBUF (256 * 1024) /* larger reads gain nothing on loopback */
#define FLOOR_PMAX 64

struct floor {
	long long nstreams;
	long long size;
	int parallel;
	int use_sendfile; /* sendfile(2) from a memfd instead of write(2) */
	int lfd;	  /* listening socket */
	int memfd;	  /* the blob, for sendfile */
	unsigned char *blob;
	unsigned char digest[32];
	struct sockaddr_in addr;
	atomic_llong next_send; /* next stream a sender opens */
	atomic_llong next_recv; /* next connection a receiver accepts */
	atomic_llong ok;
	atomic_llong bad;
};

static void
usage(void)
{
	fprintf(stderr, "usage: floor --clients N --size BYTES [--parallel P] "
			"[--sendfile] [--timeout SECONDS]\n");
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
		fprintf(stderr, "floor: %s: not a number in [%lld, %lld]\n", s,
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

/* Send one stream: the whole blob, then close so the receiver sees EOF. */
static int
send_stream(struct floor *f)
{
	long long left = f->size;
	off_t off = 0;
	ssize_t n;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&f->addr, sizeof(f->addr)) == -1) {
		close(fd);
		return -1;
	}
	while (left > 0) {
		if (f->use_sendfile)
			n = sendfile(fd, f->memfd, &off, left);
		else
			n = write(fd, f->blob + (f->size - left), left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		left -= n;
	}
	close(fd);
	return 0;
}

static void *
sender(void *arg)
{
	struct floor *f = arg;

	while (atomic_fetch_add(&f->next_send, 1) < f->nstreams) {
		if (send_stream(f) != 0) {
			perror("floor: send");
			atomic_fetch_add(&f->bad, 1);
		}
	}
	return NULL;
}

/* Receive one stream to EOF, hash it, and check length and digest. */
static int
recv_stream(struct floor *f, int fd, unsigned char *buf, EVP_MD_CTX *ctx)
{
	unsigned char md[32];
	unsigned int mdlen;
	long long got = 0;
	ssize_t n;

	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		return -1;
	for (;;) {
		n = read(fd, buf, FLOOR_RBUF);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		got += n;
		if (got > f->size || EVP_DigestUpdate(ctx, buf, n) != 1)
			return -1;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		return -1;
	if (got != f->size || memcmp(md, f->digest, sizeof(md)) != 0)
		return -1;
	return 0;
}

static void *
receiver(void *arg)
{
	struct floor *f = arg;
	unsigned char *buf;
	EVP_MD_CTX *ctx;
	int fd;

	if ((buf = malloc(FLOOR_RBUF)) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL) {
		fprintf(stderr, "floor: out of memory\n");
		exit(1);
	}
	/* Exactly nstreams connections arrive, one per claimed slot. */
	while (atomic_fetch_add(&f->next_recv, 1) < f->nstreams) {
		if ((fd = accept(f->lfd, NULL, NULL)) == -1) {
			perror("floor: accept");
			atomic_fetch_add(&f->bad, 1);
			continue;
		}
		if (recv_stream(f, fd, buf, ctx) == 0)
			atomic_fetch_add(&f->ok, 1);
		else
			atomic_fetch_add(&f->bad, 1);
		close(fd);
	}
	EVP_MD_CTX_free(ctx);
	free(buf);
	return NULL;
}

/* Make the random blob, its digest, and a memfd holding it for sendfile. */
static void
make_blob(struct floor *f)
{
	unsigned int mdlen;
	long long off;
	int chunk;

	if ((f->blob = malloc(f->size)) == NULL) {
		fprintf(stderr, "floor: out of memory\n");
		exit(1);
	}
	for (off = 0; off < f->size; off += chunk) {
		chunk =
		    f->size - off > INT_MAX ? INT_MAX : (int)(f->size - off);
		if (RAND_bytes(f->blob + off, chunk) != 1) {
			fprintf(stderr, "floor: RAND_bytes failed\n");
			exit(1);
		}
	}
	if (EVP_Digest(f->blob, f->size, f->digest, &mdlen, EVP_sha256(),
		       NULL) != 1) {
		fprintf(stderr, "floor: EVP_Digest failed\n");
		exit(1);
	}
	if ((f->memfd = memfd_create("floor-blob", 0)) == -1) {
		perror("floor: memfd_create");
		exit(1);
	}
	for (off = 0; off < f->size;) {
		ssize_t n = write(f->memfd, f->blob + off, f->size - off);
		if (n <= 0) {
			perror("floor: write memfd");
			exit(1);
		}
		off += n;
	}
}

static void
listen_loopback(struct floor *f)
{
	socklen_t len = sizeof(f->addr);
	int one = 1;

	memset(&f->addr, 0, sizeof(f->addr));
	f->addr.sin_family = AF_INET;
	f->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->addr.sin_port = 0; /* any free port: runs may overlap */
	if ((f->lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(f->lfd, (struct sockaddr *)&f->addr, sizeof(f->addr)) == -1 ||
	    listen(f->lfd, 4 * FLOOR_PMAX) == -1 ||
	    getsockname(f->lfd, (struct sockaddr *)&f->addr, &len) == -1) {
		perror("floor: listen");
		exit(1);
	}
}

static void
on_alarm(int sig)
{
	static const char msg[] = "floor: timed out\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) == -1)
		_exit(1);	/* nowhere to say it: exit all the same */
	_exit(1);
}

int
main(int argc, char *argv[])
{
	pthread_t snd[FLOOR_PMAX], rcv[FLOOR_PMAX];
	struct floor f;
	long long timeout = 300;
	double t0, secs;
	int i;

	memset(&f, 0, sizeof(f));
	f.nstreams = -1;
	f.size = -1;
	f.parallel = sysconf(_SC_NPROCESSORS_ONLN);
	if (f.parallel < 1 || f.parallel > FLOOR_PMAX)
		f.parallel = 2;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--sendfile") == 0)
			f.use_sendfile = 1;
		else if (i + 1 >= argc)
			usage();
		else if (strcmp(argv[i], "--clients") == 0)
			f.nstreams = num(argv[++i], 1, 10000000);
		else if (strcmp(argv[i], "--size") == 0)
			f.size = num(argv[++i], 1, 1LL << 34);
		else if (strcmp(argv[i], "--parallel") == 0)
			f.parallel = num(argv[++i], 1, FLOOR_PMAX);
		else if (strcmp(argv[i], "--timeout") == 0)
			timeout = num(argv[++i], 1, 86400);
		else
			usage();
	}
	if (f.nstreams < 0 || f.size < 0)
		usage();
	if (f.parallel > f.nstreams)
		f.parallel = f.nstreams;

	/* A sender that dies would leave receivers blocked in accept. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	make_blob(&f);
	listen_loopback(&f);

	alarm(timeout);
	t0 = now();
	for (i = 0; i < f.parallel; i++) {
		if (pthread_create(&rcv[i], NULL, receiver, &f) != 0 ||
		    pthread_create(&snd[i], NULL, sender, &f) != 0) {
			fprintf(stderr, "floor: pthread_create failed\n");
			return 1;
		}
	}
	for (i = 0; i < f.parallel; i++) {
		pthread_join(snd[i], NULL);
		pthread_join(rcv[i], NULL);
	}
	secs = now() - t0;
	alarm(0);

	printf("{\"bench\":\"floor\",\"clients\":%lld,\"size\":%lld,"
	       "\"bytes\":%lld,\"seconds\":%.3f,\"gbytes_per_s\":%.3f,"
	       "\"parallel\":%d,\"send\":\"%s\",\"ok\":%lld,\"failed\":%lld,"
	       "\"cpus\":%ld}\n",
	       f.nstreams, f.size, f.nstreams * f.size, secs,
	       f.nstreams * f.size / secs / 1e9, f.parallel,
	       f.use_sendfile ? "sendfile" : "write", (long long)f.ok,
	       (long long)f.bad, sysconf(_SC_NPROCESSORS_ONLN));
	close(f.lfd);
	close(f.memfd);
	free(f.blob);
	return f.ok == f.nstreams ? 0 : 1;
}
