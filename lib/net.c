/*
 * Messaging over nng, delivered on a libuv loop.  This is the only file in
 * Arbor that makes nng sockets (lib/tls.c gives their dialers and
 * listeners a TLS configuration): REP servers served with contexts, PUB, SUB, REQ
 * clients with one context per request, and a blocking request for tools.
 *
 * Threading model.  nng runs asynchronous operations on its own threads
 * and calls an aio's callback there, but node state belongs to the loop
 * thread alone.  So an aio callback does nothing but record that its
 * operation finished: every aio owns one completion record (an aio has at
 * most one operation in flight, so its record is never queued twice); the
 * callback stores nng_aio_result() in it, appends it to the bridge's FIFO
 * under the bridge's mutex and calls uv_async_send().  The async callback,
 * on the loop thread, takes the records queued so far and dispatches each
 * in order: it takes the message out of the aio, calls the user's
 * callback and starts the next operation on that aio.  The FIFO and its
 * mutex are the only state two threads touch; every other field below is
 * the loop thread's, and no nng call is made while the mutex is held.
 *
 * Closing.  An object is closed on the loop thread: it is marked closing,
 * its socket is closed (operations in flight finish with NNG_ECLOSED) and
 * each of its aios is stopped with nng_aio_stop(), which also waits for a
 * callback still running on an nng thread.  From then on no nng thread
 * queues anything for the object, and the loop never starts an operation
 * on it again (nng 1.5 would complete an operation started on a stopped
 * aio at once, with NNG_ECANCELED).  Last, the object queues a record of
 * its own: the FIFO keeps order, so when the loop reaches that record
 * every earlier record of the object has been dispatched (as closed) and
 * its memory can go.  Requests in flight at a closed client therefore get
 * their ARB_ECLOSED callback from the loop, never from inside
 * arb_cli_close().
 *
 * A server's request (struct arb_req) is one of its context slots: the
 * slot is not re-armed while the request is in the user's hands, so nctx
 * bounds the requests in flight.  A reply to a peer that does not read
 * holds its slot until NET_REPLY_TIMEOUT, so one connection may hold at
 * most per_conn slots (arb_srv_limit): a request past that, told by the
 * pipe it came on, is answered with a busy reply that is sent only if the
 * connection takes it at once, and its slot is re-armed.  A closed server whose requests are still
 * held stays allocated until the last one is answered or dropped
 * (arb_req_reply then returns ARB_ECLOSED), or until arb_net_free.
 *
 * The async handle is referenced, and so keeps uv_run() going, only while
 * there is something to wait for: an open server or subscriber, a request
 * in flight, or a closed object whose last record is still queued.
 */
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/net.h"
#include "arbor/tls.h"
#include "arbor/wire.h"

/* Room for the REQ/REP header (request id and backtrace) on top. */
#define NET_RECVMAX		(ARB_WIRE_MAX + 4096)
#define NET_RECONN_MIN		100		/* ms */
#define NET_RECONN_MAX		ARB_NET_RECONN_MAX_MS
/* REQ resends on its own only this late: our callers retry themselves. */
#define NET_RESEND		60000		/* ms */
/* A reply that a stalled peer does not take frees its context after. */
#define NET_REPLY_TIMEOUT	30000		/* ms */
#define NET_MAXCTX		4096

enum comp_kind {
	COMP_SLOT,		/* server context: recv or send done */
	COMP_SUB,		/* subscriber: recv done */
	COMP_CREQ,		/* client request: send or recv done */
	COMP_FREE_SRV,		/* last record of a closed object */
	COMP_FREE_SUB,
	COMP_FREE_CLI,
	COMP_FREE_DSOCK,
	COMP_CONN,		/* a connection came up (deduplicated) */
};

/* One finished operation, queued from an nng thread to the loop. */
struct comp {
	struct comp	*next;
	struct arb_net	*n;
	enum comp_kind	 kind;
	void		*obj;
	nng_aio		*aio;
	int		 rv;
	int		 queued;	/* COMP_CONN: in the FIFO; under mtx */
	int		 dead;		/* COMP_CONN: socket closing; mtx */
};

enum slot_state {
	SLOT_IDLE,		/* nothing in flight (closed) */
	SLOT_RECV,		/* waiting for a request */
	SLOT_USER,		/* request in the user's hands */
	SLOT_SEND,		/* sending the reply */
};

struct arb_req {
	struct arb_srv	*srv;
	nng_ctx		 ctx;
	nng_aio		*aio;
	enum slot_state	 state;
	uint32_t	 pipe;		/* connection of the request held */
	struct comp	 comp;
	arb_req_local_cb local;		/* set: made by arb_req_local */
	void		*local_arg;
};

struct arb_srv {
	TAILQ_ENTRY(arb_srv) entry;
	struct arb_net	*n;
	char		*url;
	nng_socket	 sock;
	struct arb_req	*slots;
	int		 nslots;
	int		 nuser;		/* slots in SLOT_USER */
	int		 closing;
	int		 gone;		/* last record handled */
	int		 per_conn;	/* requests held per connection; 0: any */
	uint8_t		*busy;		/* the reply to one over it */
	size_t		 busy_len;
	uint64_t	 refused;
	arb_srv_cb	 cb;
	void		*arg;
	struct comp	 last;
};

struct arb_pub {
	TAILQ_ENTRY(arb_pub) entry;
	struct arb_net	*n;
	char		*url;
	nng_socket	 sock;
};

/*
 * A dialled socket: a SUB or REQ socket with one dialer, and its
 * connections counted.  nng 1.5.2 can destroy a dialer while its poller
 * thread still runs the callback of a connection attempt (a panic on a
 * destroyed mutex, or a crash), and the dialer of a peer that is down is
 * always attempting.  So a dialled socket without a connection is never
 * closed: its user's close parks it, and the next dial of the same
 * address and protocol takes it back; a link that cycles through parents
 * that are down reuses one socket per parent.  A socket that has a
 * connection when its user lets it go, or that gets one while parked, is
 * closed: nothing attempts on it then.
 */
enum dsock_proto {
	DS_SUB,
	DS_REQ,
};

struct dsock {
	TAILQ_ENTRY(dsock) entry;	/* in the net's idle list if parked */
	struct arb_net	*n;
	char		*url;
	enum dsock_proto proto;
	nng_socket	 sock;
	void		*owner;		/* its arb_sub or arb_cli; NULL: parked */
	int		 pipes;		/* connections; under n->mtx */
	struct comp	 conn;		/* a connection came up; obj: this */
	struct comp	 last;		/* closed: free it */
};

struct arb_sub {
	TAILQ_ENTRY(arb_sub) entry;
	struct arb_net	*n;
	struct dsock	*ds;
	nng_aio		*aio;
	int		 closing;
	arb_sub_cb	 cb;
	void		*arg;
	void		(*on_conn)(void *);
	void		*conn_arg;
	struct comp	 comp;
	struct comp	 last;
};

struct cli_req {
	TAILQ_ENTRY(cli_req) entry;
	struct arb_cli	*c;
	nng_ctx		 ctx;
	nng_aio		*aio;
	int		 sending;	/* else receiving */
	uint64_t	 deadline;	/* ms, uv_hrtime() clock */
	arb_cli_cb	 cb;
	void		*arg;
	struct comp	 comp;
};

struct arb_cli {
	TAILQ_ENTRY(arb_cli) entry;
	struct arb_net	*n;
	struct dsock	*ds;
	int		 closing;
	TAILQ_HEAD(, cli_req) reqs;
	void		(*on_conn)(void *);
	void		*conn_arg;
	struct comp	 last;
};

struct arb_net {
	uv_loop_t	*loop;
	uv_async_t	 async;
	pthread_mutex_t	 mtx;
	struct comp	*head;		/* the FIFO, under mtx */
	struct comp	**tailp;
	int		 nactive;	/* reasons to keep the loop alive */
	int		 freeing;
	int		 exiting;	/* the process goes: close no dialler */
	TAILQ_HEAD(, arb_srv) srvs;
	TAILQ_HEAD(, arb_pub) pubs;
	TAILQ_HEAD(, arb_sub) subs;
	TAILQ_HEAD(, arb_cli) clis;
	TAILQ_HEAD(, dsock) idle;	/* parked dialled sockets */
};

static void	net_async_cb(uv_async_t *);
static void	net_drain_once(struct arb_net *);

/* ---- errors */

/*
 * Where an nng error happened, which narrows what it may mean to the
 * caller: a failed blocking dial is "unreachable" unless the address
 * itself is bad, and a request in flight reports only that it timed out,
 * was closed, or failed.
 */
enum net_where {
	NET_ANY,
	NET_DIAL,
	NET_REQUEST,
};

/* The one translation of an nng error code into an Arbor one. */
static int
net_errno(int rv, enum net_where where)
{
	int	e;

	switch (rv) {
	case 0:
		return 0;
	case NNG_ETIMEDOUT:
		e = ARB_ETIMEDOUT;
		break;
	case NNG_ECLOSED:
	case NNG_ECANCELED:
		e = ARB_ECLOSED;
		break;
	case NNG_ENOMEM:
		e = -ENOMEM;
		break;
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
	case NNG_ENOTSUP:
		e = ARB_EINVAL;
		break;
	case NNG_EADDRINUSE:
		e = -EADDRINUSE;
		break;
	case NNG_EPERM:
		e = ARB_EPERM;
		break;
	case NNG_EMSGSIZE:
		e = ARB_ETOOBIG;
		break;
	case NNG_ECONNREFUSED:
	case NNG_EUNREACHABLE:
		e = ARB_EUNREACH;
		break;
	default:
		e = ARB_ENET;
		break;
	}
	if (where == NET_DIAL && e != ARB_EINVAL && e != -ENOMEM)
		e = ARB_EUNREACH;
	if (where == NET_REQUEST && e != ARB_ETIMEDOUT && e != ARB_ECLOSED)
		e = ARB_ENET;
	return e;
}

/* Log nng's own text for rv, naming url, and translate it. */
static int
net_err(const char *url, const char *what, int rv)
{
	log_warnx("%s: %s: %s", url, what, nng_strerror(rv));
	return net_errno(rv, NET_ANY);
}

/* The same for a failed blocking dial. */
static int
net_dial_err(const char *url, int rv)
{
	log_warnx("%s: cannot connect: %s", url, nng_strerror(rv));
	return net_errno(rv, NET_DIAL);
}

/* ---- the bridge */

/* Any thread: queue a record and wake the loop. */
static void
net_push(struct arb_net *n, struct comp *cp)
{
	pthread_mutex_lock(&n->mtx);
	cp->next = NULL;
	*n->tailp = cp;
	n->tailp = &cp->next;
	pthread_mutex_unlock(&n->mtx);
	uv_async_send(&n->async);
}

/* nng thread: the only code of this file that runs there. */
static void
net_aio_cb(void *arg)
{
	struct comp	*cp = arg;

	cp->rv = nng_aio_result(cp->aio);
	net_push(cp->n, cp);
}

/*
 * nng thread: a connection (pipe) of a dialled socket came or went.  One
 * record per socket stands for any number of connections since the loop
 * last looked, so it is queued only when it is not queued already, and
 * never once the socket is closing.
 */
static void
net_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct dsock	*d = arg;
	struct arb_net	*n = d->n;
	int		 wake = 0;

	(void)p;
	pthread_mutex_lock(&n->mtx);
	if (ev == NNG_PIPE_EV_REM_POST) {
		if (d->pipes > 0)
			d->pipes--;
	} else if (ev == NNG_PIPE_EV_ADD_POST) {
		d->pipes++;
		if (!d->conn.queued && !d->conn.dead) {
			d->conn.queued = 1;
			d->conn.next = NULL;
			*n->tailp = &d->conn;
			n->tailp = &d->conn.next;
			wake = 1;
		}
	}
	pthread_mutex_unlock(&n->mtx);
	if (wake)
		uv_async_send(&n->async);
}

static void
net_hold(struct arb_net *n)
{
	if (n->nactive++ == 0)
		uv_ref((uv_handle_t *)&n->async);
}

static void
net_release(struct arb_net *n)
{
	if (--n->nactive == 0)
		uv_unref((uv_handle_t *)&n->async);
}

static int
net_aio_new(struct arb_net *n, struct comp *cp, enum comp_kind kind,
    void *obj)
{
	int	rv;

	memset(cp, 0, sizeof(*cp));
	cp->n = n;
	cp->kind = kind;
	cp->obj = obj;
	if ((rv = nng_aio_alloc(&cp->aio, net_aio_cb, cp)) != 0)
		return rv;
	return 0;
}

/* Stop (waiting for a callback still running) and free. */
static void
net_aio_free(nng_aio *aio)
{
	if (aio == NULL)
		return;
	nng_aio_stop(aio);
	nng_aio_free(aio);
}

int
arb_net_new(uv_loop_t *loop, struct arb_net **np)
{
	struct arb_net	*n;
	int		 rv;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return -ENOMEM;
	n->loop = loop;
	n->tailp = &n->head;
	TAILQ_INIT(&n->srvs);
	TAILQ_INIT(&n->pubs);
	TAILQ_INIT(&n->subs);
	TAILQ_INIT(&n->clis);
	TAILQ_INIT(&n->idle);
	if ((rv = pthread_mutex_init(&n->mtx, NULL)) != 0) {
		free(n);
		return -rv;
	}
	if ((rv = uv_async_init(loop, &n->async, net_async_cb)) != 0) {
		log_warnx("net: uv_async_init: %s", uv_strerror(rv));
		pthread_mutex_destroy(&n->mtx);
		free(n);
		return rv;
	}
	n->async.data = n;
	uv_unref((uv_handle_t *)&n->async);
	*np = n;
	return 0;
}

static void
net_close_cb(uv_handle_t *h)
{
	struct arb_net	*n = h->data;

	pthread_mutex_destroy(&n->mtx);
	free(n);
}

static void	srv_free(struct arb_srv *);
static void	dsock_bury_idle(struct arb_net *);

/*
 * The last resort of a stop: nng 1.5.2's teardown can still hang (a
 * close racing a connection's end, nng #1543).  Everything acknowledged
 * is committed before it is acknowledged, so leaving now loses nothing.
 */
static void
net_exit_late(int signo)
{
#define NET_STR(x)	NET_STR1(x)
#define NET_STR1(x)	#x
	static const char	msg[] = "arbor: stopping took over "
	    NET_STR(ARB_NET_EXIT_S) " seconds (nng's teardown): leaving now\n";

	(void)signo;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(0);
}

void
arb_net_exiting(struct arb_net *n)
{
	struct sigaction	sa;

	n->exiting = 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = net_exit_late;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) == 0)
		alarm(ARB_NET_EXIT_S);
}

void
arb_net_free(struct arb_net *n)
{
	struct arb_srv	*s;
	struct arb_pub	*p;
	struct arb_sub	*sub;
	struct arb_cli	*c;
	int		 more;

	if (n == NULL)
		return;
	n->freeing = 1;
	TAILQ_FOREACH(s, &n->srvs, entry)
		arb_srv_close(s);
	while ((p = TAILQ_FIRST(&n->pubs)) != NULL)
		arb_pub_close(p);
	TAILQ_FOREACH(sub, &n->subs, entry)
		arb_sub_close(sub);
	TAILQ_FOREACH(c, &n->clis, entry)
		arb_cli_close(c);

	/* Every aio is stopped: what is queued is all there will be. */
	do {
		net_drain_once(n);
		pthread_mutex_lock(&n->mtx);
		more = n->head != NULL;
		pthread_mutex_unlock(&n->mtx);
	} while (more);

	/* Servers whose requests the user still holds. */
	while ((s = TAILQ_FIRST(&n->srvs)) != NULL)
		srv_free(s);
	dsock_bury_idle(n);
	uv_close((uv_handle_t *)&n->async, net_close_cb);
}

/* ---- sockets */

/* Bounds and back-off that every socket gets. */
static int
sock_setup(nng_socket sock, const char *url)
{
	int	rv;

	if ((rv = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ,
	    NET_RECVMAX)) != 0 ||
	    (rv = nng_socket_set_ms(sock, NNG_OPT_RECONNMINT,
	    NET_RECONN_MIN)) != 0 ||
	    (rv = nng_socket_set_ms(sock, NNG_OPT_RECONNMAXT,
	    NET_RECONN_MAX)) != 0)
		return net_err(url, "socket options", rv);
	return 0;
}

/*
 * Whether something listens on the unix socket path, from the kernel's
 * table.  We must not find out by connecting: nng 1.5.2's ipc listener
 * stops accepting after a peer that disconnects during the handshake
 * (nng issue #1518), so a probe would break the live daemon it found.
 */
static int
ipc_listening(const char *path)
{
	FILE		*fp;
	char		 line[4096 + 128];
	unsigned long	 flags;
	size_t		 len, plen = strlen(path);
	int		 off, found = 0;

	if ((fp = fopen("/proc/net/unix", "re")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), fp) != NULL) {
		/* Num RefCount Protocol Flags Type St Inode Path */
		off = 0;
		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %n", &flags,
		    &off) != 1 || off == 0)
			continue;
		len = strcspn(line + off, "\n");
		/* __SO_ACCEPTCON: the socket is listening. */
		if ((flags & 0x10000) != 0 && len == plen &&
		    memcmp(line + off, path, plen) == 0)
			found = 1;
	}
	fclose(fp);
	return found;
}

/*
 * Remove a socket file left by a process that is gone; one that something
 * still listens on is left alone.
 */
static int
ipc_clear_stale(const char *url, const char *path)
{
	struct stat	st;

	if (lstat(path, &st) == -1 || !S_ISSOCK(st.st_mode))
		return 0;	/* nothing there, or nng will say why */
	if (ipc_listening(path)) {
		log_warnx("%s: in use by another process", url);
		return -EADDRINUSE;
	}
	if (unlink(path) == 0)
		log_debug("%s: removed stale socket", url);
	return 0;
}

/*
 * Listen on url.  An ipc:// socket is made mode 0600 by nng between bind
 * and listen, so no one else can connect even for an instant, and checked
 * with chmod afterwards.
 */
static int
net_listen_one(nng_socket sock, const char *url, enum arb_tls_auth auth)
{
	nng_listener	 l;
	const char	*path = NULL;
	int		 rv, e;

	if (strncmp(url, "ipc://", 6) == 0) {
		path = url + 6;
		if ((rv = ipc_clear_stale(url, path)) != 0)
			return rv;
	}
	if ((rv = nng_listener_create(&l, sock, url)) != 0)
		return net_err(url, "listen", rv);
	if ((rv = arb_tls_listener(l, url, auth)) != 0) {
		nng_listener_close(l);
		return rv;
	}
	if (path != NULL && (rv = nng_listener_set_int(l,
	    NNG_OPT_IPC_PERMISSIONS, 0600)) != 0) {
		nng_listener_close(l);
		return net_err(url, "ipc permissions", rv);
	}
	if ((rv = nng_listener_start(l, 0)) != 0) {
		nng_listener_close(l);
		return net_err(url, "listen", rv);
	}
	if (path != NULL && chmod(path, 0600) == -1) {
		e = errno;
		log_warn("%s: chmod", url);
		nng_listener_close(l);
		return -e;
	}
	return 0;
}

/*
 * Listen on each of the addresses in urls (separated by blanks), one
 * socket for all: a relay serves tls+tcp:// inside and wss:// for roaming
 * endpoints on the same REP socket.  On failure the caller closes the
 * socket, and with it the listeners already started.
 */
static int
net_listen(nng_socket sock, const char *urls, enum arb_tls_auth auth)
{
	char	*copy, *u, *save = NULL;
	int	 rv = 0, any = 0;

	if ((copy = strdup(urls)) == NULL)
		return -ENOMEM;
	for (u = strtok_r(copy, " \t", &save); u != NULL && rv == 0;
	    u = strtok_r(NULL, " \t", &save), any = 1)
		rv = net_listen_one(sock, u, auth);
	free(copy);
	if (rv == 0 && !any) {
		log_warnx("listen: no address");
		rv = ARB_ECONFIG;
	}
	return rv;
}

/*
 * Dial url, with its TLS configuration; flags as nng_dial's.  A refusal
 * of the address or of its TLS settings is ARB_ECONFIG, logged.
 */
static int
net_dial(nng_socket sock, const char *url, int flags)
{
	nng_dialer	d;
	int		rv;

	if ((rv = nng_dialer_create(&d, sock, url)) != 0)
		return net_err(url, "dial", rv);
	if ((rv = arb_tls_dialer(d, url)) != 0) {
		nng_dialer_close(d);
		return rv;
	}
	if ((rv = nng_dialer_start(d, flags)) != 0) {
		nng_dialer_close(d);
		return (flags & NNG_FLAG_NONBLOCK) ? net_err(url, "dial", rv) :
		    net_dial_err(url, rv);
	}
	return 0;
}

/* ---- REP server */

static void
srv_arm(struct arb_req *q)
{
	q->state = SLOT_RECV;
	q->pipe = 0;
	nng_aio_set_timeout(q->aio, NNG_DURATION_DEFAULT);
	nng_ctx_recv(q->ctx, q->aio);
}

static int
srv_listen(struct arb_net *n, const char *url, int nctx, arb_srv_cb cb,
    void *arg, enum arb_tls_auth auth, struct arb_srv **sp)
{
	struct arb_srv	*s;
	struct arb_req	*q;
	int		 i, rv, open = 0;

	if (n->freeing)
		return ARB_ECLOSED;
	if (nctx < 1 || nctx > NET_MAXCTX || cb == NULL)
		return ARB_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->n = n;
	s->cb = cb;
	s->arg = arg;
	s->last.n = n;
	s->last.kind = COMP_FREE_SRV;
	s->last.obj = s;
	if ((s->url = strdup(url)) == NULL ||
	    (s->slots = calloc(nctx, sizeof(*s->slots))) == NULL) {
		rv = -ENOMEM;
		goto fail;
	}
	s->nslots = nctx;
	if ((rv = nng_rep0_open(&s->sock)) != 0) {
		rv = net_err(url, "open", rv);
		goto fail;
	}
	open = 1;
	if ((rv = sock_setup(s->sock, url)) != 0)
		goto fail;
	for (i = 0; i < nctx; i++) {
		q = &s->slots[i];
		q->srv = s;
		if ((rv = nng_ctx_open(&q->ctx, s->sock)) != 0 ||
		    (rv = net_aio_new(n, &q->comp, COMP_SLOT, q)) != 0) {
			rv = net_err(url, "context", rv);
			goto fail;
		}
		q->aio = q->comp.aio;
	}
	if ((rv = net_listen(s->sock, url, auth)) != 0)
		goto fail;
	for (i = 0; i < nctx; i++)
		srv_arm(&s->slots[i]);
	TAILQ_INSERT_TAIL(&n->srvs, s, entry);
	net_hold(n);
	*sp = s;
	return 0;

fail:
	if (open)
		nng_close(s->sock);
	for (i = 0; i < s->nslots; i++)
		net_aio_free(s->slots[i].aio);
	free(s->slots);
	free(s->url);
	free(s);
	return rv;
}

int
arb_srv_listen(struct arb_net *n, const char *url, int nctx, arb_srv_cb cb,
    void *arg, struct arb_srv **sp)
{
	return srv_listen(n, url, nctx, cb, arg, ARB_TLS_REQUIRE, sp);
}

int
arb_srv_listen_enrol(struct arb_net *n, const char *url, int nctx,
    arb_srv_cb cb, void *arg, struct arb_srv **sp)
{
	return srv_listen(n, url, nctx, cb, arg, ARB_TLS_ENROL, sp);
}

static void
srv_free(struct arb_srv *s)
{
	int	i;

	for (i = 0; i < s->nslots; i++)
		net_aio_free(s->slots[i].aio);
	TAILQ_REMOVE(&s->n->srvs, s, entry);
	free(s->slots);
	free(s->busy);
	free(s->url);
	free(s);
}

static void
srv_maybe_free(struct arb_srv *s)
{
	if (s->gone && s->nuser == 0)
		srv_free(s);
}

/* Requests from connection pipe that hold a context (not yet answered). */
static int
srv_conn_load(const struct arb_srv *s, uint32_t pipe)
{
	int	i, n = 0;

	for (i = 0; i < s->nslots; i++)
		if (s->slots[i].pipe == pipe &&
		    (s->slots[i].state == SLOT_USER ||
		    s->slots[i].state == SLOT_SEND))
			n++;
	return n;
}

/*
 * A request over the per-connection limit: answer it with the busy reply
 * if the connection takes it at once, else drop it; either way the
 * context is free again at once.  Takes msg.
 */
static void
srv_refuse(struct arb_req *q, nng_msg *msg, uint32_t pipe)
{
	struct arb_srv	*s = q->srv;
	nng_msg		*reply;

	nng_msg_free(msg);
	if (s->refused++ % 1000 == 0)
		log_warnx("%s: connection %u has %d requests in flight: "
		    "refusing more (%llu refused)", s->url, pipe, s->per_conn,
		    (unsigned long long)s->refused);
	if (nng_msg_alloc(&reply, s->busy_len) != 0) {
		srv_arm(q);
		return;
	}
	memcpy(nng_msg_body(reply), s->busy, s->busy_len);
	q->state = SLOT_SEND;
	nng_aio_set_msg(q->aio, reply);
	nng_aio_set_timeout(q->aio, NNG_DURATION_ZERO);
	nng_ctx_send(q->ctx, q->aio);
}

/* Loop thread: a context's receive or send finished. */
static void
srv_slot_done(struct arb_req *q)
{
	struct arb_srv	*s = q->srv;
	nng_msg		*msg = NULL;
	uint32_t	 pipe;
	int		 rv = q->comp.rv;

	/* A received request, or a reply that was not sent, is ours. */
	if ((q->state == SLOT_RECV && rv == 0) ||
	    (q->state == SLOT_SEND && rv != 0)) {
		msg = nng_aio_get_msg(q->aio);
		nng_aio_set_msg(q->aio, NULL);
	}
	if (s->closing) {
		nng_msg_free(msg);
		q->state = SLOT_IDLE;
		return;
	}
	if (q->state == SLOT_SEND) {
		if (rv != 0) {
			log_debug("%s: reply: %s", s->url, nng_strerror(rv));
			nng_msg_free(msg);
		}
		srv_arm(q);
		return;
	}
	if (rv != 0) {
		if (rv == NNG_ECLOSED) {
			q->state = SLOT_IDLE;
			return;
		}
		log_debug("%s: receive: %s", s->url, nng_strerror(rv));
		srv_arm(q);
		return;
	}
	pipe = nng_pipe_id(nng_msg_get_pipe(msg));
	if (s->per_conn > 0 && srv_conn_load(s, pipe) >= s->per_conn) {
		srv_refuse(q, msg, pipe);
		return;
	}
	q->pipe = pipe;
	q->state = SLOT_USER;
	s->nuser++;
	s->cb(q, nng_msg_body(msg), nng_msg_len(msg), s->arg);
	nng_msg_free(msg);
}

/* Take a request back from the user; 0 if its server is still open. */
static int
req_return(struct arb_req *q)
{
	struct arb_srv	*s = q->srv;

	s->nuser--;
	if (s->closing) {
		q->state = SLOT_IDLE;
		srv_maybe_free(s);
		return ARB_ECLOSED;
	}
	return 0;
}

struct arb_req *
arb_req_local(arb_req_local_cb cb, void *arg)
{
	struct arb_req	*q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->state = SLOT_USER;
	q->local = cb;
	q->local_arg = arg;
	return q;
}

/* A local request's answer: straight to its callback, then freed. */
static int
req_local_reply(struct arb_req *q, size_t len,
    int (*fill)(uint8_t *buf, size_t len, void *arg), void *arg)
{
	uint8_t	*buf;
	int	 rv;

	if (len > ARB_WIRE_MAX)
		return ARB_ETOOBIG;
	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		return -ENOMEM;
	if (len > 0 && (rv = fill(buf, len, arg)) != 0) {
		free(buf);
		return rv;
	}
	q->local(buf, len, q->local_arg);
	free(buf);
	free(q);
	return 0;
}

int
arb_req_reply_fill(struct arb_req *q, size_t len,
    int (*fill)(uint8_t *buf, size_t len, void *arg), void *arg)
{
	struct arb_srv	*s = q->srv;
	nng_msg		*msg;
	int		 rv;

	if (q->local != NULL)
		return req_local_reply(q, len, fill, arg);
	if (q->state != SLOT_USER)
		return ARB_EINVAL;
	if ((rv = req_return(q)) != 0)
		return rv;
	if (len > ARB_WIRE_MAX) {
		log_warnx("%s: reply of %zu bytes not sent", s->url, len);
		srv_arm(q);
		return ARB_ETOOBIG;
	}
	if ((rv = nng_msg_alloc(&msg, len)) != 0) {
		srv_arm(q);
		return net_err(s->url, "reply", rv);
	}
	if (len > 0 && (rv = fill(nng_msg_body(msg), len, arg)) != 0) {
		nng_msg_free(msg);
		srv_arm(q);
		return rv;
	}
	q->state = SLOT_SEND;
	nng_aio_set_msg(q->aio, msg);
	nng_aio_set_timeout(q->aio, NET_REPLY_TIMEOUT);
	nng_ctx_send(q->ctx, q->aio);
	return 0;
}

static int
reply_copy(uint8_t *buf, size_t len, void *arg)
{
	memcpy(buf, arg, len);
	return 0;
}

uint32_t
arb_req_conn(const struct arb_req *req)
{
	return req->pipe;
}

int
arb_req_addr(const struct arb_req *req, char *buf, size_t len)
{
	nng_pipe	p = NNG_PIPE_INITIALIZER;
	nng_sockaddr	sa;
	const char	*s = NULL;

	if (len > 0)
		buf[0] = '\0';
	p.id = req->pipe;
	if (len < ARB_NET_ADDR_LEN ||
	    nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) != 0)
		return ARB_ENOTFOUND;
	if (sa.s_family == NNG_AF_INET)
		s = inet_ntop(AF_INET, &sa.s_in.sa_addr, buf, (socklen_t)len);
	else if (sa.s_family == NNG_AF_INET6)
		s = inet_ntop(AF_INET6, sa.s_in6.sa_addr, buf, (socklen_t)len);
	if (s == NULL) {
		buf[0] = '\0';
		return ARB_ENOTFOUND;
	}
	return 0;
}

int
arb_req_peer_uid(const struct arb_req *req, uint64_t *uidp)
{
	nng_pipe	p = NNG_PIPE_INITIALIZER;
	uint64_t	uid;

	if (req->local != NULL || req->pipe == 0)
		return ARB_ENOTFOUND;
	p.id = req->pipe;
	/* nng 1.5.2 answers it for ipc:// pipes only (NNG_ENOTSUP else). */
	if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid) != 0)
		return ARB_ENOTFOUND;
	*uidp = uid;
	return 0;
}

int
arb_req_reply(struct arb_req *q, const uint8_t *data, size_t len)
{
	return arb_req_reply_fill(q, len, reply_copy, (void *)data);
}

void
arb_req_drop(struct arb_req *q)
{
	if (q->local != NULL) {
		q->local(NULL, 0, q->local_arg);
		free(q);
		return;
	}
	if (q->state != SLOT_USER)
		return;
	if (req_return(q) == 0)
		srv_arm(q);
}

int
arb_srv_limit(struct arb_srv *s, int per_conn, const uint8_t *busy,
    size_t len)
{
	uint8_t	*b;

	if (per_conn < 0 || len == 0 || len > ARB_WIRE_MAX)
		return ARB_EINVAL;
	if ((b = malloc(len)) == NULL)
		return -ENOMEM;
	memcpy(b, busy, len);
	free(s->busy);
	s->busy = b;
	s->busy_len = len;
	s->per_conn = per_conn;
	return 0;
}

void
arb_srv_close(struct arb_srv *s)
{
	int	i;

	if (s == NULL || s->closing)
		return;
	s->closing = 1;
	nng_close(s->sock);
	for (i = 0; i < s->nslots; i++)
		nng_aio_stop(s->slots[i].aio);
	net_push(s->n, &s->last);
}

/* ---- PUB */

int
arb_pub_listen(struct arb_net *n, const char *url, struct arb_pub **pp)
{
	struct arb_pub	*p;
	int		 rv;

	if (n->freeing)
		return ARB_ECLOSED;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -ENOMEM;
	p->n = n;
	if ((p->url = strdup(url)) == NULL) {
		free(p);
		return -ENOMEM;
	}
	if ((rv = nng_pub0_open(&p->sock)) != 0) {
		rv = net_err(url, "open", rv);
		free(p->url);
		free(p);
		return rv;
	}
	if ((rv = sock_setup(p->sock, url)) != 0 ||
	    (rv = net_listen(p->sock, url, ARB_TLS_REQUIRE)) != 0) {
		nng_close(p->sock);
		free(p->url);
		free(p);
		return rv;
	}
	TAILQ_INSERT_TAIL(&n->pubs, p, entry);
	*pp = p;
	return 0;
}

int
arb_pub_send(struct arb_pub *p, const uint8_t *data, size_t len)
{
	nng_msg	*msg;
	int	 rv;

	if (len > ARB_WIRE_MAX)
		return ARB_ETOOBIG;
	if ((rv = nng_msg_alloc(&msg, len)) != 0)
		return net_err(p->url, "publish", rv);
	if (len > 0)
		memcpy(nng_msg_body(msg), data, len);
	if ((rv = nng_sendmsg(p->sock, msg, NNG_FLAG_NONBLOCK)) != 0) {
		nng_msg_free(msg);
		return net_err(p->url, "publish", rv);
	}
	return 0;
}

void
arb_pub_close(struct arb_pub *p)
{
	if (p == NULL)
		return;
	nng_close(p->sock);
	TAILQ_REMOVE(&p->n->pubs, p, entry);
	free(p->url);
	free(p);
}

/* ---- dialled sockets */

static struct dsock *
dsock_take(struct arb_net *n, const char *url, enum dsock_proto proto,
    void *owner)
{
	struct dsock	*d;

	TAILQ_FOREACH(d, &n->idle, entry)
		if (d->proto == proto && strcmp(d->url, url) == 0) {
			TAILQ_REMOVE(&n->idle, d, entry);
			d->owner = owner;
			return d;
		}
	return NULL;
}

/*
 * A socket dialling url for owner: a parked one if there is, else a new
 * one.  A blocking dial (connected, or failed, on return) always gets a
 * new one.
 */
static int
dsock_open(struct arb_net *n, const char *url, enum dsock_proto proto,
    int block, void *owner, struct dsock **dp)
{
	struct dsock	*d;
	int		 rv, open = 0;

	if (!block && (*dp = dsock_take(n, url, proto, owner)) != NULL)
		return 0;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -ENOMEM;
	d->n = n;
	d->proto = proto;
	d->owner = owner;
	d->conn.n = d->last.n = n;
	d->conn.kind = COMP_CONN;
	d->last.kind = COMP_FREE_DSOCK;
	d->conn.obj = d->last.obj = d;
	if ((d->url = strdup(url)) == NULL) {
		rv = -ENOMEM;
		goto fail;
	}
	rv = proto == DS_SUB ? nng_sub0_open(&d->sock) :
	    nng_req0_open(&d->sock);
	if (rv != 0) {
		rv = net_err(url, "open", rv);
		goto fail;
	}
	open = 1;
	if ((rv = sock_setup(d->sock, url)) != 0)
		goto fail;
	rv = proto == DS_SUB ?
	    nng_socket_set(d->sock, NNG_OPT_SUB_SUBSCRIBE, "", 0) :
	    nng_socket_set_ms(d->sock, NNG_OPT_REQ_RESENDTIME, NET_RESEND);
	if (rv != 0 ||
	    (rv = nng_pipe_notify(d->sock, NNG_PIPE_EV_ADD_POST, net_pipe_cb,
	    d)) != 0 ||
	    (rv = nng_pipe_notify(d->sock, NNG_PIPE_EV_REM_POST, net_pipe_cb,
	    d)) != 0) {
		rv = net_err(url, "socket options", rv);
		goto fail;
	}
	/* A dialer that failed to start is not attempting: closed safely. */
	if ((rv = net_dial(d->sock, url, block ? 0 : NNG_FLAG_NONBLOCK)) != 0)
		goto fail;
	*dp = d;
	return 0;
fail:
	if (open)
		nng_close(d->sock);
	free(d->url);
	free(d);
	return rv;
}

static void
dsock_close(struct dsock *d)
{
	pthread_mutex_lock(&d->n->mtx);
	d->conn.dead = 1;
	pthread_mutex_unlock(&d->n->mtx);
	nng_close(d->sock);
	net_hold(d->n);
	net_push(d->n, &d->last);	/* after any record of its own */
}

static void
dsock_free(struct dsock *d)
{
	struct arb_net	*n = d->n;

	free(d->url);
	free(d);
	net_release(n);
}

/* Loop thread: whether d has a connection now. */
static int
dsock_connected(struct dsock *d)
{
	int	c;

	pthread_mutex_lock(&d->n->mtx);
	c = d->pipes > 0;
	pthread_mutex_unlock(&d->n->mtx);
	return c;
}

/*
 * Its user lets d go: closed if it has a connection, else parked.  Once
 * the process is exiting, parked whatever it has: nng 1.5.2's close can
 * also wait forever for a connection torn down at the same moment (its
 * issue #1543), and the exit closes everything anyway.
 */
static void
dsock_release(struct dsock *d)
{
	d->owner = NULL;
	if (!d->n->exiting && dsock_connected(d))
		dsock_close(d);
	else
		TAILQ_INSERT_TAIL(&d->n->idle, d, entry);
}

/*
 * The net goes: parked sockets are left open, for the process's exit to
 * close, and forgotten here (kept reachable, as nng still holds them).
 */
static pthread_mutex_t	 dsock_buried_mtx = PTHREAD_MUTEX_INITIALIZER;
static TAILQ_HEAD(, dsock) dsock_buried = TAILQ_HEAD_INITIALIZER(dsock_buried);

static void
dsock_bury_idle(struct arb_net *n)
{
	struct dsock	*d;

	while ((d = TAILQ_FIRST(&n->idle)) != NULL) {
		TAILQ_REMOVE(&n->idle, d, entry);
		pthread_mutex_lock(&n->mtx);
		d->conn.dead = 1;
		pthread_mutex_unlock(&n->mtx);
		(void)nng_pipe_notify(d->sock, NNG_PIPE_EV_ADD_POST, NULL,
		    NULL);
		(void)nng_pipe_notify(d->sock, NNG_PIPE_EV_REM_POST, NULL,
		    NULL);
		pthread_mutex_lock(&dsock_buried_mtx);
		TAILQ_INSERT_TAIL(&dsock_buried, d, entry);
		pthread_mutex_unlock(&dsock_buried_mtx);
	}
}

/* Loop thread: a connection came up; tell its owner, or close it. */
static void
dsock_conn(struct dsock *d)
{
	struct arb_sub	*sub;
	struct arb_cli	*cli;

	if (d->conn.dead)
		return;
	if (d->owner == NULL) {
		if (!d->n->exiting && dsock_connected(d)) {
			TAILQ_REMOVE(&d->n->idle, d, entry);
			dsock_close(d);
		}
	} else if (d->proto == DS_SUB) {
		sub = d->owner;
		if (!sub->closing && sub->on_conn)
			sub->on_conn(sub->conn_arg);
	} else {
		cli = d->owner;
		if (!cli->closing && cli->on_conn)
			cli->on_conn(cli->conn_arg);
	}
}

/* ---- SUB */

int
arb_sub_dial(struct arb_net *n, const char *url, arb_sub_cb cb, void *arg,
    struct arb_sub **sp)
{
	struct arb_sub	*s;
	int		 rv;

	if (n->freeing)
		return ARB_ECLOSED;
	if (cb == NULL)
		return ARB_EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->n = n;
	s->cb = cb;
	s->arg = arg;
	s->last.n = n;
	s->last.kind = COMP_FREE_SUB;
	s->last.obj = s;
	if ((rv = net_aio_new(n, &s->comp, COMP_SUB, s)) != 0) {
		rv = net_err(url, "subscribe", rv);
		goto fail;
	}
	s->aio = s->comp.aio;
	if ((rv = dsock_open(n, url, DS_SUB, 0, s, &s->ds)) != 0)
		goto fail;
	nng_recv_aio(s->ds->sock, s->aio);
	TAILQ_INSERT_TAIL(&n->subs, s, entry);
	net_hold(n);
	*sp = s;
	return 0;

fail:
	net_aio_free(s->aio);
	free(s);
	return rv;
}

static void
sub_done(struct arb_sub *s)
{
	nng_msg	*msg = NULL;
	int	 rv = s->comp.rv;

	if (rv == 0) {
		msg = nng_aio_get_msg(s->aio);
		nng_aio_set_msg(s->aio, NULL);
	}
	if (s->closing) {
		nng_msg_free(msg);
		return;
	}
	if (rv == 0) {
		s->cb(nng_msg_body(msg), nng_msg_len(msg), s->arg);
		nng_msg_free(msg);
	} else if (rv == NNG_ECLOSED)
		return;
	else
		log_debug("%s: receive: %s", s->ds->url, nng_strerror(rv));
	if (!s->closing)	/* the callback may have closed it */
		nng_recv_aio(s->ds->sock, s->aio);
}

void
arb_sub_close(struct arb_sub *s)
{
	if (s == NULL || s->closing)
		return;
	s->closing = 1;
	nng_aio_stop(s->aio);
	dsock_release(s->ds);
	s->ds = NULL;
	net_push(s->n, &s->last);
}

void
arb_sub_on_connect(struct arb_sub *s, void (*cb)(void *), void *arg)
{
	s->on_conn = cb;
	s->conn_arg = arg;
}

static void
sub_free(struct arb_sub *s)
{
	struct arb_net	*n = s->n;

	net_aio_free(s->aio);
	TAILQ_REMOVE(&n->subs, s, entry);
	free(s);
	net_release(n);
}

/* ---- REQ client */

static uint64_t
net_now_ms(void)
{
	return uv_hrtime() / 1000000;
}

int
arb_cli_dial(struct arb_net *n, const char *url, int block,
    struct arb_cli **cp)
{
	struct arb_cli	*c;
	int		 rv;

	if (n->freeing)
		return ARB_ECLOSED;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	c->n = n;
	TAILQ_INIT(&c->reqs);
	c->last.n = n;
	c->last.kind = COMP_FREE_CLI;
	c->last.obj = c;
	if ((rv = dsock_open(n, url, DS_REQ, block, c, &c->ds)) != 0) {
		free(c);
		return rv;
	}
	TAILQ_INSERT_TAIL(&n->clis, c, entry);
	*cp = c;
	return 0;
}

int
arb_cli_request(struct arb_cli *c, const uint8_t *data, size_t len,
    int timeout_ms, arb_cli_cb cb, void *arg)
{
	struct cli_req	*r;
	nng_msg		*msg = NULL;
	int		 rv, ctx = 0;

	if (c->closing)
		return ARB_ECLOSED;
	if (timeout_ms <= 0 || cb == NULL)
		return ARB_EINVAL;
	if (len > ARB_WIRE_MAX)
		return ARB_ETOOBIG;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	r->c = c;
	r->cb = cb;
	r->arg = arg;
	if ((rv = nng_ctx_open(&r->ctx, c->ds->sock)) != 0) {
		rv = net_err(c->ds->url, "context", rv);
		goto fail;
	}
	ctx = 1;
	if ((rv = net_aio_new(c->n, &r->comp, COMP_CREQ, r)) != 0 ||
	    (rv = nng_msg_alloc(&msg, len)) != 0) {
		rv = net_err(c->ds->url, "request", rv);
		goto fail;
	}
	r->aio = r->comp.aio;
	if (len > 0)
		memcpy(nng_msg_body(msg), data, len);
	r->sending = 1;
	r->deadline = net_now_ms() + (uint64_t)timeout_ms;
	TAILQ_INSERT_TAIL(&c->reqs, r, entry);
	net_hold(c->n);
	nng_aio_set_msg(r->aio, msg);
	nng_aio_set_timeout(r->aio, timeout_ms);
	nng_ctx_send(r->ctx, r->aio);
	return 0;

fail:
	nng_msg_free(msg);
	net_aio_free(r->comp.aio);
	if (ctx)
		nng_ctx_close(r->ctx);
	free(r);
	return rv;
}

/* Loop thread: deliver the one callback of a request and free it. */
static void
cli_req_finish(struct cli_req *r, int rv, nng_msg *msg)
{
	struct arb_cli	*c = r->c;
	struct arb_net	*n = c->n;

	TAILQ_REMOVE(&c->reqs, r, entry);
	/* Its socket may be closed, and its contexts: ids are not reused. */
	nng_ctx_close(r->ctx);
	if (msg != NULL)
		r->cb(0, nng_msg_body(msg), nng_msg_len(msg), r->arg);
	else
		r->cb(rv, NULL, 0, r->arg);
	nng_msg_free(msg);
	net_aio_free(r->aio);
	free(r);
	net_release(n);
}

/* Loop thread: a request's send or receive finished. */
static void
cli_req_done(struct cli_req *r)
{
	struct arb_cli	*c = r->c;
	nng_msg		*msg = NULL;
	uint64_t	 now;
	int		 rv = r->comp.rv;

	/* A reply, or a request that was not sent, is ours to free. */
	if ((!r->sending && rv == 0) || (r->sending && rv != 0)) {
		msg = nng_aio_get_msg(r->aio);
		nng_aio_set_msg(r->aio, NULL);
	}
	if (c->closing) {
		nng_msg_free(msg);
		cli_req_finish(r, ARB_ECLOSED, NULL);
		return;
	}
	if (rv != 0) {
		nng_msg_free(msg);
		log_debug("%s: request: %s", c->ds->url, nng_strerror(rv));
		cli_req_finish(r, net_errno(rv, NET_REQUEST), NULL);
		return;
	}
	if (!r->sending) {
		cli_req_finish(r, 0, msg);
		return;
	}
	/* Sent: wait for the reply in what is left of the time. */
	r->sending = 0;
	now = net_now_ms();
	if (now >= r->deadline) {
		log_debug("%s: request: timed out", c->ds->url);
		cli_req_finish(r, ARB_ETIMEDOUT, NULL);
		return;
	}
	nng_aio_set_timeout(r->aio, (nng_duration)(r->deadline - now));
	nng_ctx_recv(r->ctx, r->aio);
}

void
arb_cli_close(struct arb_cli *c)
{
	struct cli_req	*r;

	if (c == NULL || c->closing)
		return;
	c->closing = 1;
	net_hold(c->n);
	TAILQ_FOREACH(r, &c->reqs, entry)
		nng_aio_stop(r->aio);
	dsock_release(c->ds);
	c->ds = NULL;
	net_push(c->n, &c->last);
}

void
arb_cli_on_connect(struct arb_cli *c, void (*cb)(void *), void *arg)
{
	c->on_conn = cb;
	c->conn_arg = arg;
}

static void
cli_free(struct arb_cli *c)
{
	struct arb_net	*n = c->n;

	TAILQ_REMOVE(&n->clis, c, entry);
	free(c);
	net_release(n);
}

/* ---- dispatch */

static void
net_dispatch(struct comp *cp)
{
	struct arb_srv	*s;

	switch (cp->kind) {
	case COMP_SLOT:
		srv_slot_done(cp->obj);
		break;
	case COMP_SUB:
		sub_done(cp->obj);
		break;
	case COMP_CREQ:
		cli_req_done(cp->obj);
		break;
	case COMP_FREE_SRV:
		s = cp->obj;
		s->gone = 1;
		net_release(s->n);
		srv_maybe_free(s);
		break;
	case COMP_FREE_SUB:
		sub_free(cp->obj);
		break;
	case COMP_FREE_CLI:
		cli_free(cp->obj);
		break;
	case COMP_FREE_DSOCK:
		dsock_free(cp->obj);
		break;
	case COMP_CONN:
		dsock_conn(cp->obj);
		break;
	}
}

/*
 * Dispatch the records queued so far, in order.  Records queued meanwhile
 * have sent the async again, so the loop comes back for them after its
 * other work.
 */
static void
net_drain_once(struct arb_net *n)
{
	struct comp	*list, *cp;

	pthread_mutex_lock(&n->mtx);
	list = n->head;
	n->head = NULL;
	n->tailp = &n->head;
	/* A connection from now on queues its socket's record again. */
	for (cp = list; cp != NULL; cp = cp->next)
		cp->queued = 0;
	pthread_mutex_unlock(&n->mtx);

	while ((cp = list) != NULL) {
		list = cp->next;
		cp->next = NULL;
		net_dispatch(cp);
	}
}

static void
net_async_cb(uv_async_t *a)
{
	net_drain_once(a->data);
}

/* ---- without a loop */

int
arb_net_call(const char *url, const uint8_t *data, size_t len,
    int timeout_ms, uint8_t **replyp, size_t *replylenp)
{
	nng_socket	 sock;
	nng_msg		*msg = NULL;
	uint8_t		*buf;
	size_t		 n;
	int		 rv;

	if (timeout_ms <= 0)
		return ARB_EINVAL;
	if (len > ARB_WIRE_MAX)
		return ARB_ETOOBIG;
	if ((rv = nng_req0_open(&sock)) != 0)
		return net_err(url, "open", rv);
	if ((rv = sock_setup(sock, url)) != 0)
		goto fail;
	if ((rv = nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO,
	    timeout_ms)) != 0 ||
	    (rv = nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO,
	    timeout_ms)) != 0 ||
	    (rv = nng_socket_set_ms(sock, NNG_OPT_REQ_RESENDTIME,
	    NET_RESEND)) != 0) {
		rv = net_err(url, "socket options", rv);
		goto fail;
	}
	if ((rv = net_dial(sock, url, 0)) != 0)
		goto fail;
	if ((rv = nng_msg_alloc(&msg, len)) != 0) {
		rv = net_err(url, "request", rv);
		goto fail;
	}
	if (len > 0)
		memcpy(nng_msg_body(msg), data, len);
	if ((rv = nng_sendmsg(sock, msg, 0)) != 0) {
		nng_msg_free(msg);
		rv = net_err(url, "send", rv);
		goto fail;
	}
	if ((rv = nng_recvmsg(sock, &msg, 0)) != 0) {
		rv = net_err(url, "receive", rv);
		goto fail;
	}
	n = nng_msg_len(msg);
	if ((buf = malloc(n > 0 ? n : 1)) == NULL) {
		nng_msg_free(msg);
		rv = -ENOMEM;
		goto fail;
	}
	if (n > 0)
		memcpy(buf, nng_msg_body(msg), n);
	nng_msg_free(msg);
	nng_close(sock);
	*replyp = buf;
	*replylenp = n;
	return 0;

fail:
	nng_close(sock);
	return rv;
}

int
arb_net_check_fds(uint64_t need)
{
	struct rlimit	rl;
	rlim_t		soft;
	int		e;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		e = errno;
		log_warn("getrlimit");
		return -e;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		soft = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			log_debug("setrlimit: %s", strerror(errno));
			rl.rlim_cur = soft;
		}
	}
	if (rl.rlim_cur != RLIM_INFINITY && need > (uint64_t)rl.rlim_cur) {
		log_warnx("need %llu file descriptors, "
		    "RLIMIT_NOFILE allows %llu", (unsigned long long)need,
		    (unsigned long long)rl.rlim_cur);
		return ARB_EINVAL;
	}
	return 0;
}
