/*
 * HTTP on a libuv loop, served by nng's HTTP server.  This is the second
 * file in Arbor that uses nng (lib/net.c is the first): nng's HTTP server
 * is an API of its own, apart from the sockets net.c wraps, and the one
 * HTTP implementation Arbor uses.
 *
 * Threading model.  nng calls a handler's function on one of its threads
 * with the request in an aio that it has begun.  That function does not
 * answer: it registers a cancel function on the aio, queues a job for the
 * loop under the server's mutex and calls uv_async_send().  The async
 * callback, on the loop thread, takes one job at a time out of the queue
 * (it moves to the held list), calls the user's handler without the mutex
 * held, then, if the job was not cancelled meanwhile, builds the response
 * and finishes the aio with it.  Every job is on exactly one list (queued
 * or held) until it is answered or cancelled; both lists and the closing
 * flag are the only state two threads touch.
 *
 * Cancelling.  nng closes a connection (the server stopped, the peer
 * gone) by closing its aio, which calls our cancel function: if the job
 * is still on a list it is taken off and the aio finished with the error
 * at once; a held job is only marked, and the loop frees it after its
 * handler returns.  A job found on no list was answered already.  The
 * cancel function is registered under the mutex, after checking that the
 * server is not closing; arb_http_free sets closing under the same mutex
 * before it stops nng's server, so no request slips in without a cancel
 * function that the stop can call (nng 1.5's nng_aio_defer does not say
 * when an aio was stopped first).  nng_http_server_stop then waits until
 * every connection is reaped, so no nng thread calls into us afterwards.
 *
 * Bounds.  nng reads a request's headers through an 8 KiB buffer; a body
 * over ARB_HTTP_BODY_MAX is refused by nng (400) before it is read, and
 * at most ARB_HTTP_QUEUE_MAX requests wait for the loop (503 beyond).
 */
#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>

#include "arbor/error.h"
#include "arbor/http.h"
#include "arbor/log.h"
#include "arbor/tls.h"

struct http_route {
	struct arb_http	*h;
	arb_http_cb	 cb;
	void		*arg;
};

struct http_job {
	TAILQ_ENTRY(http_job) entry;
	nng_aio			*aio;		/* NULL once cancelled */
	struct http_route	*rt;
	struct arb_http		*h;
	int			 deferred;	/* arb_http_defer was called */
};
TAILQ_HEAD(http_jobs, http_job);

struct arb_http {
	uv_loop_t		*loop;
	uv_async_t		 async;
	char			*url;
	nng_url			*nurl;
	nng_http_server		*srv;
	int			 started;
	struct http_route	**routes;
	size_t			 nroutes;
	pthread_mutex_t		 mtx;
	struct http_jobs	 queue;		/* under mtx */
	struct http_jobs	 held;		/* under mtx */
	size_t			 njobs;		/* on either; under mtx */
	int			 closing;	/* under mtx */
};

static int
http_err(const char *url, const char *what, int rv)
{
	log_warnx("http: %s: %s: %s", url, what, nng_strerror(rv));
	return rv == NNG_ENOMEM ? -ENOMEM : rv == NNG_EADDRINUSE ?
	    -EADDRINUSE : rv == NNG_EADDRINVAL || rv == NNG_EINVAL ?
	    ARB_ECONFIG : ARB_ENET;
}

/*
 * Answer aio with status, body (copied), a WWW-Authenticate challenge (or
 * NULL) and more headers (name, value, ..., NULL; or NULL); on any thread.
 */
static void
http_finish(nng_aio *aio, int status, const char *type, const void *body,
    size_t len, const char *challenge, const char *const *headers)
{
	nng_http_res	*res;
	int		 rv;

	if ((rv = nng_http_res_alloc(&res)) != 0) {
		nng_aio_finish(aio, rv);
		return;
	}
	rv = nng_http_res_set_status(res, (uint16_t)status);
	for (; rv == 0 && headers != NULL && headers[0] != NULL; headers += 2)
		rv = nng_http_res_set_header(res, headers[0], headers[1]);
	if (rv != 0 ||
	    (rv = nng_http_res_set_header(res, "Content-Type", type)) != 0 ||
	    (challenge != NULL && (rv = nng_http_res_set_header(res,
	    "WWW-Authenticate", challenge)) != 0) ||
	    (rv = nng_http_res_copy_data(res, body, len)) != 0) {
		nng_http_res_free(res);
		nng_aio_finish(aio, rv);
		return;
	}
	nng_aio_set_output(aio, 0, res);	/* the server frees it */
	nng_aio_finish(aio, 0);
}

/* nng's thread: a connection is closing under a request we hold. */
static void
http_cancel(nng_aio *aio, void *arg, int rv)
{
	struct arb_http	*h = arg;
	struct http_job	*j;
	int		 found = 0;

	pthread_mutex_lock(&h->mtx);
	TAILQ_FOREACH(j, &h->queue, entry)
		if (j->aio == aio)
			break;
	if (j != NULL) {
		TAILQ_REMOVE(&h->queue, j, entry);
		h->njobs--;
		free(j);
		found = 1;
	} else {
		TAILQ_FOREACH(j, &h->held, entry)
			if (j->aio == aio)
				break;
		if (j != NULL) {
			TAILQ_REMOVE(&h->held, j, entry);
			h->njobs--;
			j->aio = NULL;	/* the loop frees it */
			found = 1;
		}
	}
	pthread_mutex_unlock(&h->mtx);
	if (found)
		nng_aio_finish(aio, rv);
}

/* nng's thread: a request for one of our paths. */
static void
http_entry(nng_aio *aio)
{
	nng_http_handler	*hh = nng_aio_get_input(aio, 1);
	struct http_route	*rt = nng_http_handler_get_data(hh);
	struct arb_http		*h = rt->h;
	struct http_job		*j;
	static const char	 busy[] = "busy: try again\n";

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	j->aio = aio;
	j->rt = rt;
	j->h = h;
	pthread_mutex_lock(&h->mtx);
	if (h->closing) {
		pthread_mutex_unlock(&h->mtx);
		free(j);
		nng_aio_finish(aio, NNG_ECLOSED);
		return;
	}
	if (h->njobs >= ARB_HTTP_QUEUE_MAX) {
		pthread_mutex_unlock(&h->mtx);
		free(j);
		http_finish(aio, 503, "text/plain", busy, sizeof(busy) - 1,
		    NULL, NULL);
		return;
	}
	nng_aio_defer(aio, http_cancel, h);
	TAILQ_INSERT_TAIL(&h->queue, j, entry);
	h->njobs++;
	pthread_mutex_unlock(&h->mtx);
	uv_async_send(&h->async);
}

static void	http_answer(struct http_job *, int, const char *, char *,
		    size_t, const char *, const char *const *);

/* The loop: answer what is queued, one job at a time. */
static void
http_async_cb(uv_async_t *a)
{
	struct arb_http		*h = a->data;
	struct http_job		*j;
	struct arb_http_req	 rq;
	struct arb_http_res	 rs;
	nng_http_req		*req;
	void			*body;
	size_t			 len;

	for (;;) {
		pthread_mutex_lock(&h->mtx);
		if ((j = TAILQ_FIRST(&h->queue)) == NULL) {
			pthread_mutex_unlock(&h->mtx);
			return;
		}
		TAILQ_REMOVE(&h->queue, j, entry);
		TAILQ_INSERT_TAIL(&h->held, j, entry);
		/* Held, the aio and its request stay until we finish it. */
		req = nng_aio_get_input(j->aio, 0);
		pthread_mutex_unlock(&h->mtx);

		memset(&rq, 0, sizeof(rq));
		rq.method = nng_http_req_get_method(req);
		rq.uri = nng_http_req_get_uri(req);
		nng_http_req_get_data(req, &body, &len);
		rq.body = body;
		rq.body_len = len;
		rq.auth = nng_http_req_get_header(req, "Authorization");
		rq.job_ = j;
		memset(&rs, 0, sizeof(rs));
		rs.status = 200;
		rs.type = "text/plain";
		j->rt->cb(j->rt->arg, &rq, &rs);
		if (j->deferred) {	/* answered later: arb_http_answer */
			free(rs.body);
			continue;
		}
		http_answer(j, rs.status, rs.type, rs.body, rs.len,
		    rs.challenge, rs.headers);
	}
}

struct arb_http_later *
arb_http_defer(const struct arb_http_req *req)
{
	struct http_job	*j = req->job_;

	j->deferred = 1;
	return (struct arb_http_later *)j;
}

static void
http_answer(struct http_job *j, int status, const char *type, char *body,
    size_t len, const char *challenge, const char *const *headers)
{
	struct arb_http	*h = j->h;
	nng_aio		*aio;

	pthread_mutex_lock(&h->mtx);
	if ((aio = j->aio) != NULL) {
		TAILQ_REMOVE(&h->held, j, entry);
		h->njobs--;
	}
	pthread_mutex_unlock(&h->mtx);
	free(j);
	if (aio != NULL)
		http_finish(aio, status, type ? type : "text/plain",
		    body ? body : "", len, challenge, headers);
	free(body);
}

void
arb_http_answer(struct arb_http_later *l, int status, const char *type,
    char *body, size_t len)
{
	http_answer((struct http_job *)l, status, type, body, len, NULL,
	    NULL);
}

int
arb_http_new(uv_loop_t *loop, const char *url, struct arb_http **hp)
{
	struct arb_http		*h;
	struct nng_tls_config	*cfg;
	char			 err[512];
	int			 rv;

	if (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0) {
		log_warnx("http: %s: not an http:// or https:// address", url);
		return ARB_ECONFIG;
	}
	if ((rv = arb_tls_url_ok(url, err, sizeof(err))) != 0) {
		log_warnx("http: %s", err);
		return rv;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -ENOMEM;
	h->loop = loop;
	TAILQ_INIT(&h->queue);
	TAILQ_INIT(&h->held);
	pthread_mutex_init(&h->mtx, NULL);
	if ((h->url = strdup(url)) == NULL) {
		rv = -ENOMEM;
		goto fail;
	}
	if ((rv = nng_url_parse(&h->nurl, url)) != 0) {
		rv = http_err(url, "address", rv);
		goto fail;
	}
	if ((rv = nng_http_server_hold(&h->srv, h->nurl)) != 0) {
		rv = http_err(url, "server", rv);
		goto fail;
	}
	if (strncmp(url, "https://", 8) == 0) {
		if ((rv = arb_tls_https(url, &cfg)) != 0)
			goto fail;
		rv = nng_http_server_set_tls(h->srv, cfg);
		nng_tls_config_free(cfg);	/* the server holds it */
		if (rv != 0) {
			rv = http_err(url, "TLS", rv);
			goto fail;
		}
	}
	if ((rv = uv_async_init(loop, &h->async, http_async_cb)) != 0) {
		log_warnx("http: uv_async_init: %s", uv_strerror(rv));
		rv = ARB_EINVAL;
		goto fail;
	}
	h->async.data = h;	/* referenced: a server keeps its loop up */
	*hp = h;
	return 0;
fail:
	if (h->srv != NULL)
		nng_http_server_release(h->srv);
	if (h->nurl != NULL)
		nng_url_free(h->nurl);
	pthread_mutex_destroy(&h->mtx);
	free(h->url);
	free(h);
	return rv;
}

static int
http_handle(struct arb_http *h, const char *method, const char *path,
    int tree, arb_http_cb cb, void *arg)
{
	struct http_route	*rt, **nv;
	nng_http_handler	*hh;
	int			 rv;

	if ((rt = calloc(1, sizeof(*rt))) == NULL)
		return -ENOMEM;
	if ((nv = realloc(h->routes, (h->nroutes + 1) *
	    sizeof(*nv))) == NULL) {
		free(rt);
		return -ENOMEM;
	}
	h->routes = nv;
	rt->h = h;
	rt->cb = cb;
	rt->arg = arg;
	if ((rv = nng_http_handler_alloc(&hh, path, http_entry)) != 0) {
		free(rt);
		return http_err(h->url, path, rv);
	}
	if ((tree && (rv = nng_http_handler_set_tree(hh)) != 0) ||
	    (rv = nng_http_handler_set_method(hh, method)) != 0 ||
	    (rv = nng_http_handler_collect_body(hh, true,
	    ARB_HTTP_BODY_MAX)) != 0 ||
	    (rv = nng_http_handler_set_data(hh, rt, NULL)) != 0 ||
	    (rv = nng_http_server_add_handler(h->srv, hh)) != 0) {
		nng_http_handler_free(hh);
		free(rt);
		return http_err(h->url, path, rv);
	}
	h->routes[h->nroutes++] = rt;	/* the server owns hh */
	return 0;
}

int
arb_http_handle(struct arb_http *h, const char *method, const char *path,
    arb_http_cb cb, void *arg)
{
	return http_handle(h, method, path, 0, cb, arg);
}

int
arb_http_handle_tree(struct arb_http *h, const char *path, arb_http_cb cb,
    void *arg)
{
	return http_handle(h, NULL, path, 1, cb, arg);
}

size_t
arb_http_pending(struct arb_http *h)
{
	size_t	n;

	pthread_mutex_lock(&h->mtx);
	n = h->njobs;
	pthread_mutex_unlock(&h->mtx);
	return n;
}

int
arb_http_start(struct arb_http *h)
{
	int	rv;

	if ((rv = nng_http_server_start(h->srv)) != 0)
		return http_err(h->url, "listen", rv);
	h->started = 1;
	log_info("http: serving %s", h->url);
	return 0;
}

static void
http_closed(uv_handle_t *u)
{
	struct arb_http	*h = u->data;
	size_t		 i;

	for (i = 0; i < h->nroutes; i++)
		free(h->routes[i]);
	free(h->routes);
	pthread_mutex_destroy(&h->mtx);
	free(h->url);
	free(h);
}

void
arb_http_free(struct arb_http *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mtx);
	h->closing = 1;
	pthread_mutex_unlock(&h->mtx);
	/* Cancels what is queued (http_cancel) and waits for nng. */
	if (h->started)
		nng_http_server_stop(h->srv);
	nng_http_server_release(h->srv);
	nng_url_free(h->nurl);
	uv_close((uv_handle_t *)&h->async, http_closed);
}
