/*
 * Unit tests for lib/http.c over real loopback connections: a handler
 * runs on the loop's thread and its answer arrives; a request still
 * queued when the server is freed is dropped, its connection closed,
 * and nothing leaks; past ARB_HTTP_QUEUE_MAX waiting requests the next
 * gets 503 at once; addresses that may not be used are refused.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "arbor/error.h"
#include "arbor/http.h"

struct client {
	pthread_t	 th;
	int		 port;
	char		 resp[4096];
	size_t		 len;
	int		 done;		/* under mtx */
};

static pthread_mutex_t	mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_t	loop_thread;
static int		handled;

static int
free_port(void)
{
	struct sockaddr_in	sa;
	socklen_t		len = sizeof(sa);
	int			s, port;

	s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(s);
	return port;
}

/* One GET /x with Connection: close; the whole answer read. */
static void *
client_run(void *arg)
{
	struct client		*c = arg;
	struct sockaddr_in	 sa;
	static const char	 req[] = "GET /x HTTP/1.1\r\nHost: t\r\n"
				    "Connection: close\r\n\r\n";
	ssize_t			 n;
	int			 s;

	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)c->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    write(s, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1))
		while (c->len < sizeof(c->resp) - 1 && (n = read(s,
		    c->resp + c->len, sizeof(c->resp) - 1 - c->len)) > 0)
			c->len += (size_t)n;
	c->resp[c->len] = '\0';
	if (s >= 0)
		close(s);
	pthread_mutex_lock(&mtx);
	c->done = 1;
	pthread_mutex_unlock(&mtx);
	return NULL;
}

static int
client_done(struct client *c)
{
	int d;

	pthread_mutex_lock(&mtx);
	d = c->done;
	pthread_mutex_unlock(&mtx);
	return d;
}

static void
nap(void)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static void
handler(void *arg, const struct arb_http_req *req, struct arb_http_res *res)
{
	(void)arg;
	assert_true(pthread_equal(pthread_self(), loop_thread));
	assert_string_equal(req->method, "GET");
	assert_string_equal(req->uri, "/x");
	handled++;
	res->type = "text/plain; charset=utf-8";
	res->body = strdup("hello\n");
	res->len = 6;
}

struct fix {
	uv_loop_t	 loop;
	struct arb_http	*h;
	int		 port;
};

/* A loop on this thread and a server on it for GET /x. */
static void
fix_start(struct fix *f)
{
	char	url[64];

	loop_thread = pthread_self();
	handled = 0;
	uv_loop_init(&f->loop);
	f->port = free_port();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->port);
	assert_int_equal(arb_http_new(&f->loop, url, &f->h), 0);
	assert_int_equal(arb_http_handle(f->h, "GET", "/x", handler, NULL),
	    0);
	assert_int_equal(arb_http_start(f->h), 0);
}

static void
fix_end(struct fix *f)
{
	arb_http_free(f->h);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void
client_start(struct fix *f, struct client *c)
{
	memset(c, 0, sizeof(*c));
	c->port = f->port;
	assert_int_equal(pthread_create(&c->th, NULL, client_run, c), 0);
}

/* Run the loop until client c has its answer (bounded), and join it. */
static void
client_wait(struct fix *f, struct client *c)
{
	int	t;

	for (t = 0; t < 5000 && !client_done(c); t++) {
		uv_run(&f->loop, UV_RUN_NOWAIT);
		nap();
	}
	assert_true(client_done(c));
	pthread_join(c->th, NULL);
}

/* Wait (bounded, the loop not running) until n requests are queued. */
static void
wait_pending(struct fix *f, size_t n)
{
	int	t;

	for (t = 0; t < 5000 && arb_http_pending(f->h) < n; t++)
		nap();
	assert_int_equal(arb_http_pending(f->h), n);
}

static void
test_served_on_loop(void **state)
{
	struct fix	f;
	struct client	c;
	int		i;

	(void)state;
	fix_start(&f);
	for (i = 0; i < 2; i++) {	/* twice: the server goes on */
		client_start(&f, &c);
		client_wait(&f, &c);
		assert_non_null(strstr(c.resp, "HTTP/1.1 200"));
		assert_non_null(strstr(c.resp, "Content-Type: text/plain; "
		    "charset=utf-8\r\n"));
		assert_non_null(strstr(c.resp, "\r\n\r\nhello\n"));
	}
	assert_int_equal(handled, 2);
	assert_int_equal(arb_http_pending(f.h), 0);
	fix_end(&f);
}

static void
test_dropped_when_freed(void **state)
{
	struct fix	f;
	struct client	c;

	(void)state;
	fix_start(&f);
	client_start(&f, &c);
	wait_pending(&f, 1);	/* the loop does not run: it waits */
	fix_end(&f);
	pthread_join(c.th, NULL);
	assert_int_equal(handled, 0);
	assert_int_equal(c.len, 0);	/* closed without an answer */
}

static void
test_queue_bounded(void **state)
{
	struct fix	 f;
	struct client	*c, extra;
	int		 i;

	(void)state;
	fix_start(&f);
	c = calloc(ARB_HTTP_QUEUE_MAX, sizeof(*c));
	assert_non_null(c);
	for (i = 0; i < ARB_HTTP_QUEUE_MAX; i++)
		client_start(&f, &c[i]);
	wait_pending(&f, ARB_HTTP_QUEUE_MAX);
	/* One more is told to come back, without the loop. */
	memset(&extra, 0, sizeof(extra));
	extra.port = f.port;
	client_run(&extra);
	assert_non_null(strstr(extra.resp, "HTTP/1.1 503"));
	/* The loop answers the others. */
	for (i = 0; i < ARB_HTTP_QUEUE_MAX; i++) {
		client_wait(&f, &c[i]);
		assert_non_null(strstr(c[i].resp, "HTTP/1.1 200"));
	}
	assert_int_equal(handled, ARB_HTTP_QUEUE_MAX);
	free(c);
	fix_end(&f);
}

static void
test_refused(void **state)
{
	uv_loop_t	 loop;
	struct arb_http	*h = NULL;

	(void)state;
	uv_loop_init(&loop);
	assert_int_equal(arb_http_new(&loop, "http://10.1.2.3:1", &h),
	    ARB_ECONFIG);
	assert_int_equal(arb_http_new(&loop, "ftp://127.0.0.1:1", &h),
	    ARB_ECONFIG);
	assert_int_equal(arb_http_new(&loop, "https://127.0.0.1:1", &h),
	    ARB_ECONFIG);	/* no tls_cert */
	assert_null(h);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_served_on_loop),
		cmocka_unit_test(test_dropped_when_freed),
		cmocka_unit_test(test_queue_bounded),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
