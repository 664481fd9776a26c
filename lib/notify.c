/*
 * Readiness and watchdog notifications to the service manager.
 *
 * systemd's protocol is one datagram per state change, "KEY=VALUE" lines,
 * sent to the AF_UNIX socket named by $NOTIFY_SOCKET: a path, or "@name"
 * for the abstract namespace.  That is a socket and a sendto, so it is
 * written here rather than linked from libsystemd: the daemons need no
 * other part of it, and a package without the dependency also runs where
 * systemd is absent.  The protocol is stable (sd_notify(3)).
 *
 * The watchdog timer runs on the daemon's own loop: a WATCHDOG=1 that
 * arrives proves that the loop turns, which is what a watchdog is for.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/notify.h"

struct arb_notify {
	uv_timer_t		 watchdog;
	int			 fd;
	int			 timer;		/* watchdog initialised */
	int			 stopping;	/* STOPPING=1 sent */
	struct sockaddr_un	 sun;
	socklen_t		 sunlen;
};

static void
notify_send(struct arb_notify *n, const char *msg)
{
	ssize_t	r;

	do
		r = sendto(n->fd, msg, strlen(msg), MSG_NOSIGNAL,
		    (struct sockaddr *)&n->sun, n->sunlen);
	while (r == -1 && errno == EINTR);
	if (r == -1)
		log_warn("notify: %s to NOTIFY_SOCKET", msg);
}

static void
notify_watchdog_cb(uv_timer_t *t)
{
	notify_send(t->data, "WATCHDOG=1");
}

/* A decimal number of 1 or more, nothing else; 0 or -1. */
static int
notify_parse(const char *s, unsigned long long *vp)
{
	char			*end;
	unsigned long long	 v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0)
		return -1;
	*vp = v;
	return 0;
}

/*
 * The watchdog interval in ms, 0 without one; -1 for a WATCHDOG_USEC that
 * is not a number.
 */
static int64_t
notify_watchdog_ms(void)
{
	const char		*s;
	unsigned long long	 usec, pid;

	if ((s = getenv("WATCHDOG_USEC")) == NULL || *s == '\0')
		return 0;
	if (notify_parse(s, &usec) != 0 || usec > UINT64_MAX / 2) {
		log_warnx("notify: WATCHDOG_USEC %s: not a number of "
		    "microseconds", s);
		return -1;
	}
	/* Meant for another process (a wrapper that exec'd us is fine). */
	if ((s = getenv("WATCHDOG_PID")) != NULL && *s != '\0' &&
	    (notify_parse(s, &pid) != 0 || pid != (unsigned long long)getpid()))
		return 0;
	usec /= 2;
	return usec < 1000 ? 1 : (int64_t)(usec / 1000);
}

int
arb_notify_start(uv_loop_t *loop, struct arb_notify **np)
{
	struct arb_notify	*n;
	const char		*path;
	size_t			 len;
	int64_t			 ms;

	*np = NULL;
	if ((path = getenv("NOTIFY_SOCKET")) == NULL || *path == '\0')
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len < 2 ||
	    len >= sizeof(n->sun.sun_path)) {
		log_warnx("notify: NOTIFY_SOCKET %s: not an absolute path or "
		    "an @abstract name that fits a socket address", path);
		return ARB_ECONFIG;
	}
	if ((ms = notify_watchdog_ms()) < 0)
		return ARB_ECONFIG;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return -ENOMEM;
	n->sun.sun_family = AF_UNIX;
	memcpy(n->sun.sun_path, path, len);
	if (path[0] == '@')
		n->sun.sun_path[0] = '\0';
	n->sunlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    (path[0] == '@' ? 0 : 1));
	if ((n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("notify: socket");
		free(n);
		return -errno;
	}
	notify_send(n, "READY=1");
	if (ms > 0) {
		uv_timer_init(loop, &n->watchdog);
		n->watchdog.data = n;
		n->timer = 1;
		uv_timer_start(&n->watchdog, notify_watchdog_cb, (uint64_t)ms,
		    (uint64_t)ms);
		uv_unref((uv_handle_t *)&n->watchdog);
		log_debug("notify: watchdog every %lld ms", (long long)ms);
	}
	*np = n;
	return 0;
}

void
arb_notify_stopping(struct arb_notify *n, uint64_t extend_usec)
{
	char	msg[64];

	if (n == NULL)
		return;
	if (!n->stopping)
		notify_send(n, "STOPPING=1");
	n->stopping = 1;
	if (extend_usec > 0) {
		snprintf(msg, sizeof(msg), "EXTEND_TIMEOUT_USEC=%llu",
		    (unsigned long long)extend_usec);
		notify_send(n, msg);
	}
}

static void
notify_closed(uv_handle_t *h)
{
	free(h->data);
}

void
arb_notify_free(struct arb_notify *n)
{
	if (n == NULL)
		return;
	arb_notify_stopping(n, 0);
	(void)close(n->fd);
	if (n->timer)
		uv_close((uv_handle_t *)&n->watchdog, notify_closed);
	else
		free(n);
}
