/*
 * The agent's local control socket, DATA_DIR/control.sock, and the
 * command line that talks to it: a user on the endpoint defers a policy
 * within what its severity allows (arbor-agent defer ID DURATION) and
 * lists the deferrals (arbor-agent deferrals).
 *
 * The socket is a unix stream socket made mode 0600 (0660 with
 * control_group as its group), so that only its owner (and that group)
 * may connect.  A request is one line of at most CTL_MAX_LINE bytes that
 * must arrive within CTL_TIMEOUT_MS; the agent answers "ok\n" and the
 * text, or "error: MESSAGE\n", and closes.  At most CTL_MAX_CONN
 * connections are served at once; more are closed at once.
 *
 *	defer ID SECONDS	hold policy ID back until now + SECONDS (0
 *				clears the deferral)
 *	deferrals		the policies deferred, and until when
 *	reboot			the reboot that waiting policies need
 *	reboot now		make it as soon as no action runs
 *	reboot defer SECONDS	make it SECONDS from now instead (never
 *				past the earliest time a policy sets)
 *
 * A deferral is kept in the policy's state record (LMDB) for its version:
 * it survives a restart, and a new version starts without one.  The
 * severity's limit (defer_critical, defer_high, ... in the configuration)
 * counts from the first deferral of the version, so deferring again does
 * not extend it; no deferral reaches past the policy's deadline.  What the
 * deferral holds back is reported by the schedule (state waiting, reason
 * deferred, with the next try).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/log.h"
#include "arbor/schedule.h"
#include "agent.h"

#define CTL_MAX_LINE	512
#define CTL_MAX_REPLY	(64 * 1024)
#define CTL_MAX_CONN	8
#define CTL_TIMEOUT_MS	5000
#define CTL_MAX_DEFER_S	(366 * 86400LL)

struct ctl_conn {
	uv_pipe_t	 pipe;		/* first: the handle's address */
	uv_timer_t	 timer;
	uv_write_t	 wr;
	struct agent	*a;
	char		 line[CTL_MAX_LINE + 1];
	size_t		 len;
	char		*reply;
	size_t		 rlen;
	int		 answered;
	int		 closing;	/* handles left to close */
};

static int	ctl_nconn;

static const char *const ctl_sev[] = { "critical", "high", "medium", "low" };

/* ---- the reply */

static void
ctl_reply_add(struct ctl_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ctl_reply_add(struct ctl_conn *c, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (c->reply == NULL) {
		if ((c->reply = malloc(CTL_MAX_REPLY)) == NULL)
			return;
		c->rlen = 0;
	}
	va_start(ap, fmt);
	n = vsnprintf(c->reply + c->rlen, CTL_MAX_REPLY - c->rlen, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	c->rlen += (size_t)n < CTL_MAX_REPLY - c->rlen ? (size_t)n :
	    CTL_MAX_REPLY - c->rlen - 1;
}

static void
ctl_time(int64_t t, char *buf, size_t len)
{
	time_t		tt = (time_t)t;
	struct tm	tm;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
		snprintf(buf, len, "%" PRId64, t);
}

/* "1d", "3h", "90m", "45s": the largest unit that divides s. */
static void
ctl_span(int64_t s, char *buf, size_t len)
{
	if (s > 0 && s % 86400 == 0)
		snprintf(buf, len, "%" PRId64 "d", s / 86400);
	else if (s > 0 && s % 3600 == 0)
		snprintf(buf, len, "%" PRId64 "h", s / 3600);
	else if (s > 0 && s % 60 == 0)
		snprintf(buf, len, "%" PRId64 "m", s / 60);
	else
		snprintf(buf, len, "%" PRId64 "s", s);
}

static int
ctl_severity(const Arbor__Policy *p)
{
	int	i;

	for (i = 0; i < 4; i++)
		if (p->severity != NULL && strcmp(p->severity, ctl_sev[i]) == 0)
			return i;
	return 2;	/* the root refuses others: medium, to be safe */
}

/* The policy id of the verified head: *pp (free it), *refp. */
static int
ctl_find(struct agent *a, const char *id, Arbor__Policy **pp,
    const Arbor__PolicyRef **refp)
{
	const Arbor__Head	*head;
	Arbor__Policy		*p;
	size_t			 i;

	if ((head = arb_sync_head(a->sync)) == NULL)
		return ARB_EAGAIN;
	for (i = 0; i < head->n_policies; i++) {
		if (arb_catalog_policy(a->store, head->policies[i]->sha256.data,
		    &p) != 0)
			continue;
		if (strcmp(p->id, id) == 0) {
			*pp = p;
			*refp = head->policies[i];
			return 0;
		}
		arb_wire_free_policy(p);
	}
	return ARB_ENOTFOUND;
}

/* ---- the commands */

static int
ctl_defer(struct ctl_conn *c, const char *id, const char *arg)
{
	struct agent		*a = c->a;
	const Arbor__PolicyRef	*ref;
	struct agent_pstate	 st;
	Arbor__Policy		*p;
	char			*end, t1[40], t2[40], span[24];
	long long		 secs;
	int64_t			 now = arb_clock_now(), limit, from, until, dl;
	int			 sev, rv;

	errno = 0;
	secs = strtoll(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || secs < 0 ||
	    secs > CTL_MAX_DEFER_S) {
		ctl_reply_add(c, "error: defer: \"%.64s\" is not a number of "
		    "seconds from 0 to %lld\n", arg, CTL_MAX_DEFER_S);
		return -1;
	}
	if ((rv = ctl_find(a, id, &p, &ref)) != 0) {
		ctl_reply_add(c, "error: defer: %s\n", rv == ARB_EAGAIN ?
		    "no verified catalog yet" : "no such policy in the catalog");
		return -1;
	}
	rv = -1;
	if (agent_pstate_load(a, p->id, &st) != 0 ||
	    memcmp(st.sha, ref->sha256.data, ARB_SHA256_LEN) != 0) {
		ctl_reply_add(c, "error: defer: policy %s v%u has not been "
		    "looked at yet; try again\n", p->id, p->version);
		goto out;
	}
	switch (st.state) {
	case ARB_ST_UNKNOWN:
	case ARB_ST_APPLICABLE:
	case ARB_ST_DOWNLOADING:
	case ARB_ST_DOWNLOAD_FAILED:
	case ARB_ST_WAITING:
		break;
	default:
		ctl_reply_add(c, "error: defer: policy %s v%u is %s: nothing "
		    "to defer\n", p->id, p->version,
		    arb_state_name(st.state));
		goto out;
	}
	if (secs == 0) {
		st.deferred_until = 0;
		if (agent_pstate_save(a, p->id, &st) != 0)
			goto store;
		ctl_reply_add(c, "ok\npolicy %s v%u: deferral cleared\n", p->id,
		    p->version);
		rv = 0;
		goto out;
	}
	sev = ctl_severity(p);
	limit = a->conf->defer_ms[sev] / 1000;
	if (limit == 0) {
		ctl_reply_add(c, "error: defer: policy %s is %s: it may not be "
		    "deferred (defer_%s is 0)\n", p->id, ctl_sev[sev],
		    ctl_sev[sev]);
		goto out;
	}
	from = st.deferred_from != 0 ? st.deferred_from : now;
	until = now + secs;
	ctl_span(limit, span, sizeof(span));
	if (until > from + limit) {
		ctl_time(from + limit, t1, sizeof(t1));
		ctl_reply_add(c, "error: defer: policy %s is %s: deferrals may "
		    "hold it back %s in all, until %s at the latest\n", p->id,
		    ctl_sev[sev], span, t1);
		goto out;
	}
	dl = arb_sched_deadline(p->schedule, p->published_at);
	if (dl > 0 && until > dl) {
		ctl_time(dl, t1, sizeof(t1));
		ctl_reply_add(c, "error: defer: policy %s has its deadline at "
		    "%s: it cannot be deferred past it\n", p->id, t1);
		goto out;
	}
	st.deferred_from = from;
	st.deferred_until = until;
	if (agent_pstate_save(a, p->id, &st) != 0)
		goto store;
	ctl_time(until, t1, sizeof(t1));
	ctl_time(from + limit, t2, sizeof(t2));
	log_info("agent: policy %s v%u: deferred until %s", p->id, p->version,
	    t1);
	ctl_reply_add(c, "ok\npolicy %s v%u deferred until %s (%s allows "
	    "until %s)\n", p->id, p->version, t1, ctl_sev[sev], t2);
	rv = 0;
	agent_apply(a);		/* report it: waiting, deferred */
	goto out;
store:
	ctl_reply_add(c, "error: defer: the agent's store failed\n");
out:
	arb_wire_free_policy(p);
	return rv;
}

static void
ctl_deferrals(struct ctl_conn *c)
{
	struct agent		*a = c->a;
	const Arbor__Head	*head;
	struct agent_pstate	 st;
	Arbor__Policy		*p;
	char			 t1[40];
	int64_t			 now = arb_clock_now();
	size_t			 i, n = 0;

	ctl_reply_add(c, "ok\n");
	if ((head = arb_sync_head(a->sync)) == NULL)
		goto done;
	for (i = 0; i < head->n_policies; i++) {
		if (arb_catalog_policy(a->store, head->policies[i]->sha256.data,
		    &p) != 0)
			continue;
		if (agent_pstate_load(a, p->id, &st) == 0 &&
		    memcmp(st.sha, head->policies[i]->sha256.data,
		    ARB_SHA256_LEN) == 0 && st.deferred_until > now) {
			ctl_time(st.deferred_until, t1, sizeof(t1));
			ctl_reply_add(c, "%s v%u %s deferred until %s\n", p->id,
			    p->version, p->severity ? p->severity : "",
			    t1);
			n++;
		}
		arb_wire_free_policy(p);
	}
done:
	if (n == 0)
		ctl_reply_add(c, "no policy is deferred\n");
}

/*
 * reboot [now | defer SECONDS]: the reboot the waiting policies need, as
 * it stands; now: as soon as no action runs; defer: SECONDS from now
 * instead, never past the earliest of their times.
 */
static void
ctl_reboot(struct ctl_conn *c, const char *word, const char *arg)
{
	struct agent		*a = c->a;
	struct agent_reboot	 r;
	char			*end, t1[40];
	long long		 secs = 0;
	int64_t			 now = arb_clock_now(), at;

	if (word != NULL && strcmp(word, "now") != 0 &&
	    strcmp(word, "defer") != 0) {
		ctl_reply_add(c, "error: reboot: \"%.32s\": expected now or "
		    "defer SECONDS\n", word);
		return;
	}
	if (word != NULL && strcmp(word, "defer") == 0) {
		errno = 0;
		secs = arg ? strtoll(arg, &end, 10) : -1;
		if (arg == NULL || errno != 0 || end == arg || *end != '\0' ||
		    secs < 0 || secs > CTL_MAX_DEFER_S) {
			ctl_reply_add(c, "error: reboot: defer: \"%.64s\" is "
			    "not a number of seconds from 0 to %lld\n",
			    arg ? arg : "", CTL_MAX_DEFER_S);
			return;
		}
	}
	if (a->rb.timer.loop == NULL) {
		ctl_reply_add(c, "error: reboot: simulated endpoints do not "
		    "reboot\n");
		return;
	}
	agent_apply(a);		/* the waiting policies, counted now */
	if (a->rb.npending == 0) {
		ctl_reply_add(c, "error: reboot: no policy waits for a "
		    "reboot\n");
		return;
	}
	agent_reboot_load(a, &r);
	if (word == NULL) {
		at = agent_reboot_when(a, &r);
		ctl_reply_add(c, "ok\n%d policies wait for a reboot",
		    a->rb.npending);
		if (at > 0) {
			ctl_time(at, t1, sizeof(t1));
			ctl_reply_add(c, "; it happens at %s%s\n", t1,
			    r.user_at > 0 ? " (as the user asked)" : "");
		} else
			ctl_reply_add(c, "; none has a time: it happens when "
			    "asked (arbor-agent reboot now)\n");
		if (r.asked_at > 0) {
			ctl_time(r.asked_at, t1, sizeof(t1));
			ctl_reply_add(c, "reboot_command ran at %s in this "
			    "boot\n", t1);
		}
		return;
	}
	if (a->rb.at > 0 && now + secs > a->rb.at) {
		ctl_time(a->rb.at, t1, sizeof(t1));
		ctl_reply_add(c, "error: reboot: defer: a policy reboots at %s "
		    "at the latest: the reboot cannot be deferred past it\n",
		    t1);
		return;
	}
	r.user_at = now + secs;
	if (agent_reboot_save(a, &r) != 0) {
		ctl_reply_add(c, "error: reboot: the agent's store failed\n");
		return;
	}
	ctl_time(r.user_at, t1, sizeof(t1));
	log_info("agent: the user asked for the reboot at %s", t1);
	ctl_reply_add(c, "ok\nreboot for %d policies at %s, once no action "
	    "runs\n", a->rb.npending, t1);
	agent_apply(a);		/* now: it may start */
}

/* Run the request in c->line and write the answer. */
static void
ctl_handle(struct ctl_conn *c)
{
	char	*w[4], *save = NULL, *tok;
	int	 n = 0;

	for (tok = strtok_r(c->line, " \t\r", &save); tok != NULL && n < 4;
	    tok = strtok_r(NULL, " \t\r", &save))
		w[n++] = tok;
	if (n == 3 && strcmp(w[0], "defer") == 0)
		(void)ctl_defer(c, w[1], w[2]);
	else if (n == 1 && strcmp(w[0], "deferrals") == 0)
		ctl_deferrals(c);
	else if (n >= 1 && n <= 3 && strcmp(w[0], "reboot") == 0)
		ctl_reboot(c, n > 1 ? w[1] : NULL, n > 2 ? w[2] : NULL);
	else
		ctl_reply_add(c, "error: unknown request (defer ID SECONDS, "
		    "deferrals, reboot [now|defer SECONDS])\n");
}

/* ---- the connections */

static void
ctl_closed(uv_handle_t *h)
{
	struct ctl_conn	*c = h->data;

	if (--c->closing > 0)
		return;
	free(c->reply);
	free(c);
	ctl_nconn--;
}

static void
ctl_close(struct ctl_conn *c)
{
	if (c->closing)
		return;
	c->closing = 2;
	uv_close((uv_handle_t *)&c->timer, ctl_closed);
	uv_close((uv_handle_t *)&c->pipe, ctl_closed);
}

static void
ctl_written(uv_write_t *wr, int status)
{
	(void)status;
	ctl_close(wr->data);
}

static void
ctl_answer(struct ctl_conn *c)
{
	uv_buf_t	b;

	c->answered = 1;
	uv_read_stop((uv_stream_t *)&c->pipe);
	if (c->reply == NULL) {
		ctl_close(c);	/* out of memory: no answer */
		return;
	}
	b = uv_buf_init(c->reply, (unsigned)c->rlen);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->pipe, &b, 1,
	    ctl_written) != 0)
		ctl_close(c);
}

static void
ctl_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct ctl_conn	*c = h->data;

	(void)hint;
	*b = uv_buf_init(c->line + c->len, (unsigned)(CTL_MAX_LINE - c->len));
}

static void
ctl_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct ctl_conn	*c = s->data;
	char		*nl;

	(void)b;
	if (c->answered || c->closing)
		return;
	if (n < 0) {
		ctl_close(c);	/* EOF before a whole line, or an error */
		return;
	}
	c->len += (size_t)n;
	c->line[c->len] = '\0';
	if ((nl = memchr(c->line, '\n', c->len)) != NULL) {
		*nl = '\0';
		if (strlen(c->line) != (size_t)(nl - c->line))
			ctl_reply_add(c, "error: request holds a NUL byte\n");
		else
			ctl_handle(c);
		ctl_answer(c);
	} else if (c->len == CTL_MAX_LINE) {
		ctl_reply_add(c, "error: request longer than %d bytes\n",
		    CTL_MAX_LINE);
		ctl_answer(c);
	}
}

static void
ctl_timeout(uv_timer_t *t)
{
	struct ctl_conn	*c = t->data;

	if (!c->answered)
		ctl_close(c);
}

static void
ctl_accept(uv_stream_t *server, int status)
{
	struct agent	*a = server->data;
	struct ctl_conn	*c;

	if (status != 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->a = a;
	ctl_nconn++;
	uv_pipe_init(a->loop, &c->pipe, 0);
	uv_timer_init(a->loop, &c->timer);
	c->pipe.data = c->timer.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 ||
	    ctl_nconn > CTL_MAX_CONN) {
		ctl_close(c);
		return;
	}
	uv_timer_start(&c->timer, ctl_timeout, CTL_TIMEOUT_MS, 0);
	if (uv_read_start((uv_stream_t *)&c->pipe, ctl_alloc, ctl_read) != 0)
		ctl_close(c);
}

static int
ctl_path(const char *data_dir, char *buf, size_t len)
{
	struct sockaddr_un	sun;

	if ((size_t)snprintf(buf, len, "%s/control.sock", data_dir) >= len ||
	    strlen(buf) >= sizeof(sun.sun_path))
		return ARB_ETOOBIG;
	return 0;
}

int
agent_control_start(struct agent *a)
{
	struct group	*gr = NULL;
	char		 path[PATH_MAX];
	mode_t		 old;
	int		 rv;

	if ((rv = ctl_path(a->data_dir, path, sizeof(path))) != 0) {
		log_warnx("agent: control socket: %s/control.sock: path too "
		    "long", a->data_dir);
		return rv;
	}
	if (a->conf->control_group != NULL &&
	    (gr = getgrnam(a->conf->control_group)) == NULL) {
		log_warnx("agent: control_group: no group %s",
		    a->conf->control_group);
		return ARB_ECONFIG;
	}
	(void)unlink(path);	/* a socket left by an agent that died */
	uv_pipe_init(a->loop, &a->ctl, 0);
	a->ctl.data = a;
	a->ctl_open = 1;
	old = umask(077);	/* owner only from the start, no window */
	rv = uv_pipe_bind(&a->ctl, path);
	umask(old);
	if (rv == 0 && ((gr != NULL && chown(path, (uid_t)-1,
	    gr->gr_gid) != 0) || chmod(path, gr != NULL ? 0660 : 0600) != 0))
		rv = uv_translate_sys_error(errno);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&a->ctl, CTL_MAX_CONN,
		    ctl_accept);
	if (rv != 0) {
		log_warnx("agent: control socket %s: %s", path,
		    uv_strerror(rv));
		agent_control_stop(a);
		return rv;
	}
	return 0;
}

void
agent_control_stop(struct agent *a)
{
	char	path[PATH_MAX];

	if (!a->ctl_open)
		return;
	a->ctl_open = 0;
	if (!uv_is_closing((uv_handle_t *)&a->ctl))
		uv_close((uv_handle_t *)&a->ctl, NULL);
	if (ctl_path(a->data_dir, path, sizeof(path)) == 0)
		(void)unlink(path);
}

/* ---- the command line */

int
agent_control_client(const struct agent_conf *conf, int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { 10, 0 };
	char			 path[PATH_MAX], req[CTL_MAX_LINE + 2], err[128];
	char			*buf, *body;
	size_t			 len = 0;
	ssize_t			 n;
	int64_t			 ms;
	int			 fd, status = 1;

	if (conf->data_dir == NULL) {
		fprintf(stderr, "arbor-agent: %s: data_dir: required (-c FILE "
		    "or --data_dir DIR)\n", argv[0]);
		return 1;
	}
	if (strcmp(argv[0], "defer") == 0) {
		if (argc != 3) {
			fprintf(stderr, "usage: arbor-agent [-c FILE] defer ID "
			    "DURATION   (0 clears)\n");
			return 1;
		}
		if (arb_conf_duration_ms(argv[2], 0, CTL_MAX_DEFER_S * 1000,
		    &ms, err, sizeof(err)) != 0) {
			fprintf(stderr, "arbor-agent: defer: DURATION \"%s\": "
			    "%s\n", argv[2], err);
			return 1;
		}
		if ((size_t)snprintf(req, sizeof(req), "defer %s %" PRId64 "\n",
		    argv[1], ms / 1000) >= sizeof(req) - 1) {
			fprintf(stderr, "arbor-agent: defer: ID too long\n");
			return 1;
		}
	} else if (strcmp(argv[0], "reboot") == 0) {
		if (argc == 1)
			snprintf(req, sizeof(req), "reboot\n");
		else if (argc == 2 && strcmp(argv[1], "now") == 0)
			snprintf(req, sizeof(req), "reboot now\n");
		else if (argc == 3 && strcmp(argv[1], "defer") == 0) {
			if (arb_conf_duration_ms(argv[2], 0, CTL_MAX_DEFER_S *
			    1000, &ms, err, sizeof(err)) != 0) {
				fprintf(stderr, "arbor-agent: reboot: defer: "
				    "DURATION \"%s\": %s\n", argv[2], err);
				return 1;
			}
			snprintf(req, sizeof(req), "reboot defer %" PRId64 "\n",
			    ms / 1000);
		} else {
			fprintf(stderr, "usage: arbor-agent [-c FILE] reboot "
			    "[now | defer DURATION]\n");
			return 1;
		}
	} else {
		if (argc != 1) {
			fprintf(stderr, "usage: arbor-agent [-c FILE] "
			    "deferrals\n");
			return 1;
		}
		snprintf(req, sizeof(req), "deferrals\n");
	}
	if (ctl_path(conf->data_dir, path, sizeof(path)) != 0) {
		fprintf(stderr, "arbor-agent: %s: data_dir too long\n", argv[0]);
		return 1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((buf = malloc(CTL_MAX_REPLY + 1)) == NULL ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		free(buf);
		fprintf(stderr, "arbor-agent: %s: %s\n", argv[0],
		    strerror(errno));
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "arbor-agent: %s: %s: %s (is the agent "
		    "running?)\n", argv[0], path, strerror(errno));
		goto out;
	}
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		fprintf(stderr, "arbor-agent: %s: %s: %s\n", argv[0], path,
		    strerror(errno));
		goto out;
	}
	while (len < CTL_MAX_REPLY &&
	    (n = read(fd, buf + len, CTL_MAX_REPLY - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	if (strncmp(buf, "ok\n", 3) == 0) {
		fputs(buf + 3, stdout);
		status = 0;
	} else if (strncmp(buf, "error: ", 7) == 0) {
		body = buf + 7;
		if (strncmp(body, argv[0], strlen(argv[0])) == 0 &&
		    strncmp(body + strlen(argv[0]), ": ", 2) == 0)
			body += strlen(argv[0]) + 2;
		fprintf(stderr, "arbor-agent: %s: %s", argv[0], body);
	} else
		fprintf(stderr, "arbor-agent: %s: no answer from the agent\n",
		    argv[0]);
out:
	close(fd);
	free(buf);
	return status;
}
