/*
 * An HTTP server on a libuv loop, served by nng's own HTTP server (nng's
 * HTTP supplement; Arbor has no other HTTP code).  Handlers run on the
 * loop thread, where the daemon's state lives: nng parses a request on
 * its own threads and hands it over, and the loop's answer goes back
 * without any nng thread waiting for it.  For /metrics and the root's
 * JSON API (root/api.c), on one server or two.
 *
 * An http:// address off loopback is refused unless allow_plain is set
 * (arbor/tls.h); an https:// one uses the node's tls_cert and tls_key.
 */
#ifndef ARBOR_HTTP_H
#define ARBOR_HTTP_H

#include <stddef.h>
#include <uv.h>

/* Bytes of a request body taken at most (a longer one gets 400). */
#define ARB_HTTP_BODY_MAX	(64 * 1024)
/* Requests waiting for the loop at most (more get 503 at once). */
#define ARB_HTTP_QUEUE_MAX	64

struct arb_http;

/* A request, valid during the handler's call only. */
struct arb_http_req {
	const char	*method;	/* "GET", ... */
	const char	*uri;		/* as sent: path, then ?query */
	const void	*body;
	size_t		 body_len;
	const char	*auth;		/* the Authorization header, or NULL */
	void		*job_;		/* private to lib/http.c */
};

/*
 * The handler's answer.  It comes in as 200, "text/plain", no body; the
 * handler sets what it means, with body malloc'd (taken, also on error).
 */
struct arb_http_res {
	int		 status;
	const char	*type;		/* Content-Type; static storage */
	char		*body;
	size_t		 len;
	/* A WWW-Authenticate header to send (static storage), or NULL. */
	const char	*challenge;
	/* More headers: name, value, ..., NULL (static storage), or NULL. */
	const char *const *headers;
};

typedef void (*arb_http_cb)(void *arg, const struct arb_http_req *req,
    struct arb_http_res *res);

/*
 * A server for url (http://host:port or https://host:port) on loop; it
 * listens from arb_http_start.  0, ARB_ECONFIG (a bad or refused url,
 * logged), or an error.
 */
int	arb_http_new(uv_loop_t *loop, const char *url, struct arb_http **hp);

/*
 * Serve method requests to path (exactly that path) with cb(arg, ...) on
 * the loop.  Before arb_http_start.  0 or an error.
 */
int	arb_http_handle(struct arb_http *h, const char *method,
	    const char *path, arb_http_cb cb, void *arg);

/*
 * Serve every method to path and everything under it (path/...) with cb:
 * the handler answers 404 and 405 itself.  Before arb_http_start.
 */
int	arb_http_handle_tree(struct arb_http *h, const char *path,
	    arb_http_cb cb, void *arg);

/*
 * An answer that comes later (the handler waits for something on the
 * loop).  Called in the handler, it makes the handler's res ignored; the
 * request then holds its place (ARB_HTTP_QUEUE_MAX) until arb_http_answer,
 * which the caller must call exactly once, on the loop thread, and before
 * arb_http_free.  A request whose connection closed meanwhile is answered
 * into nothing.
 */
struct arb_http_later;
struct arb_http_later *arb_http_defer(const struct arb_http_req *req);
/* Answer l with status, type (static) and body (malloc'd, taken). */
void	arb_http_answer(struct arb_http_later *l, int status,
	    const char *type, char *body, size_t len);

/* Requests waiting for the loop or in its hands now; on any thread. */
size_t	arb_http_pending(struct arb_http *h);

/* Listen.  0 or an error, logged (the address in use, say). */
int	arb_http_start(struct arb_http *h);

/*
 * Stop serving (requests not yet answered are dropped, their connections
 * closed) and free h once the loop has run again.  On the loop thread,
 * never from inside a handler.
 */
void	arb_http_free(struct arb_http *h);

#endif
