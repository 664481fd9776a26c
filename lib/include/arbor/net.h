/*
 * Messaging over nng, delivered on a libuv loop.  The only user of nng.
 *
 * nng completes asynchronous operations on its own threads.  Here every
 * completion is queued and handed to the owning loop with uv_async_send,
 * so all callbacks below run on the loop thread and node state is touched
 * by one thread only.
 *
 * Every socket has NNG_OPT_RECVMAXSZ set (ARB_WIRE_MAX plus header room)
 * and explicit reconnect back-off.
 */
#ifndef ARBOR_NET_H
#define ARBOR_NET_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* A dialler that has no connection tries again at least this often. */
#define ARB_NET_RECONN_MAX_MS	2000

struct arb_net;		/* the bridge between nng threads and one loop */
struct arb_srv;		/* REP server */
struct arb_req;		/* one request in flight at a server */
struct arb_pub;		/* PUB socket */
struct arb_sub;		/* SUB socket */
struct arb_cli;		/* REQ client */

/* Create the bridge on loop.  Free with arb_net_free before the loop ends. */
int	arb_net_new(uv_loop_t *loop, struct arb_net **np);
/*
 * Close every socket still open, deliver their final callbacks, and close
 * the async handle (the caller then runs the loop once more to let it
 * close).
 */
void	arb_net_free(struct arb_net *n);
/*
 * The process is about to exit: from now on dialled sockets are left
 * open when their users close them (for the exit to close), never closed
 * with nng_close, which in nng 1.5.2 can hang when a connection is torn
 * down at the same moment.  Should the exit still not have come
 * ARB_NET_EXIT_S seconds later, the process says so and leaves (SIGALRM).
 */
#define ARB_NET_EXIT_S	15
void	arb_net_exiting(struct arb_net *n);

/* ---- REP server */

/*
 * A request arrived.  data is valid only during the call.  The callback
 * must eventually answer with arb_req_reply (now or later, from the loop
 * thread); until then the request holds one of the server's contexts.
 */
typedef void (*arb_srv_cb)(struct arb_req *req, const uint8_t *data,
    size_t len, void *arg);

/*
 * Listen on url (tls+tcp://, wss://, tcp://, ws://, ipc://; or several,
 * separated by blanks, all on one socket) with nctx requests in flight at
 * most.  For ipc:// the socket file is made mode 0600; over tls+tcp:// and
 * wss:// every child must show a client certificate from the pinned CA
 * (arbor/tls.h).
 */
int	arb_srv_listen(struct arb_net *n, const char *url, int nctx,
	    arb_srv_cb cb, void *arg, struct arb_srv **sp);
/*
 * The same, for the enrolment listener: over TLS it asks no client
 * certificate of a child (the server's is still verified by the child);
 * the caller serves nothing but enrolment on it.
 */
int	arb_srv_listen_enrol(struct arb_net *n, const char *url, int nctx,
	    arb_srv_cb cb, void *arg, struct arb_srv **sp);
/* Send the reply (copied) and free req.  Returns 0 or an error. */
int	arb_req_reply(struct arb_req *req, const uint8_t *data, size_t len);
/*
 * Reply with len bytes written in place by fill(buf, len, arg) into the
 * message itself (no copy of a large reply).  fill returns 0 or an error,
 * which is returned and nothing is sent.  Frees req on success.
 */
int	arb_req_reply_fill(struct arb_req *req, size_t len,
	    int (*fill)(uint8_t *buf, size_t len, void *arg), void *arg);
/* The connection req came on: an id unique while it is open, never 0. */
uint32_t arb_req_conn(const struct arb_req *req);
/*
 * A request made on the loop itself (the root's HTTP API runs control
 * requests through the control socket's handler this way): handed to a
 * server callback like one from the network, its arb_req_reply calls
 * cb(data, len, arg) at once, before it returns, and frees the request;
 * arb_req_drop calls cb(NULL, 0, arg).  Its connection is 0.  NULL when
 * out of memory.
 */
typedef void (*arb_req_local_cb)(const uint8_t *data, size_t len, void *arg);
struct arb_req *arb_req_local(arb_req_local_cb cb, void *arg);
/*
 * The remote address of the connection req came on, as text without the
 * port ("192.0.2.7", "2001:db8::7") into buf of len bytes (at least
 * ARB_NET_ADDR_LEN).  0, or ARB_ENOTFOUND when it has none (ipc://, or
 * the connection is gone); buf is then "".
 */
#define ARB_NET_ADDR_LEN	64
int	arb_req_addr(const struct arb_req *req, char *buf, size_t len);
/*
 * The user id of the process at the other end of req's connection, as the
 * kernel tells it (SO_PEERCRED) for ipc://: 0 with *uidp, or ARB_ENOTFOUND
 * for a local request, another transport, or a connection already gone.
 */
int	arb_req_peer_uid(const struct arb_req *req, uint64_t *uidp);
/* Drop a request without answering (the requester will time out). */
void	arb_req_drop(struct arb_req *req);
/*
 * Let one connection hold at most per_conn requests in flight (answered
 * or not, until their replies are sent; 0: no limit).  A request past it
 * never reaches the callback: it is answered with the len bytes at busy
 * (copied) if the connection can take them at once, else dropped.
 * Returns 0 or ARB_EINVAL, -ENOMEM.
 */
int	arb_srv_limit(struct arb_srv *s, int per_conn, const uint8_t *busy,
	    size_t len);
/* Close; requests not yet answered are dropped. */
void	arb_srv_close(struct arb_srv *s);

/* ---- PUB */

int	arb_pub_listen(struct arb_net *n, const char *url,
	    struct arb_pub **pp);
/* Publish a copy of data to every subscriber (best effort). */
int	arb_pub_send(struct arb_pub *p, const uint8_t *data, size_t len);
void	arb_pub_close(struct arb_pub *p);

/* ---- SUB (subscribed to everything) */

typedef void (*arb_sub_cb)(const uint8_t *data, size_t len, void *arg);
/* Dial url without blocking; reconnects by itself. */
int	arb_sub_dial(struct arb_net *n, const char *url, arb_sub_cb cb,
	    void *arg, struct arb_sub **sp);
void	arb_sub_close(struct arb_sub *s);
/*
 * Call cb(arg) on the loop thread when the socket gets a connection, the
 * first or a new one after it lost one (several close together may be
 * told once).  Also for arb_cli_on_connect.
 */
void	arb_sub_on_connect(struct arb_sub *s, void (*cb)(void *), void *arg);

/* ---- REQ client */

/*
 * Reply callback, called exactly once per request on the loop thread:
 * rv 0 with the reply (valid only during the call), or rv ARB_ETIMEDOUT,
 * ARB_ECLOSED, ARB_ENET with data NULL.
 */
typedef void (*arb_cli_cb)(int rv, const uint8_t *data, size_t len,
    void *arg);

/*
 * Dial url.  With block set, fail at once if nothing listens there
 * (ARB_EUNREACH); otherwise dial in the background and reconnect by itself.
 */
int	arb_cli_dial(struct arb_net *n, const char *url, int block,
	    struct arb_cli **cp);
/* Send a request (data copied); cb gets the reply or an error. */
int	arb_cli_request(struct arb_cli *c, const uint8_t *data, size_t len,
	    int timeout_ms, arb_cli_cb cb, void *arg);
/* Close; requests in flight complete with ARB_ECLOSED. */
void	arb_cli_close(struct arb_cli *c);
void	arb_cli_on_connect(struct arb_cli *c, void (*cb)(void *), void *arg);

/*
 * Blocking request for command-line tools without a loop: dial url, send,
 * wait up to timeout_ms for the reply (*replyp malloc'd, caller frees).
 */
int	arb_net_call(const char *url, const uint8_t *data, size_t len,
	    int timeout_ms, uint8_t **replyp, size_t *replylenp);

/*
 * Check RLIMIT_NOFILE (raising the soft limit to the hard one) and refuse
 * with ARB_EINVAL, logged, if need descriptors would not fit.
 */
int	arb_net_check_fds(uint64_t need);

#endif
