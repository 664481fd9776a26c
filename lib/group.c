/*
 * Group commit for requests acknowledged only once durable.
 *
 * A handler calls arb_group_join, which opens the store's group
 * transaction if none is open and starts a uv_check_t: it runs after the
 * loop has polled for I/O, that is once every request that arrived in
 * this turn has been handled.  The check commits the group (one fsync for
 * all of them) and only then sends the replies that waited for it, in the
 * order they were deferred.  A reply is encoded when it is deferred, so
 * the handler's envelope need not outlive the call.
 */
#include <errno.h>
#include <stdlib.h>

#include "arbor/error.h"
#include "arbor/group.h"
#include "arbor/log.h"

struct deferred {
	struct arb_req	*req;
	uint8_t		*buf;
	size_t		 len;
	void		(*after)(void *, int);
	void		*arg;
	struct deferred	*next;
};

struct arb_group {
	struct arb_store	*store;
	const char		*name;
	uv_check_t		*check;		/* commits the group */
	struct deferred		*dq;		/* replies waiting */
	struct deferred		**dqt;
	uint64_t		 errors;
};

static void
group_handle_free_cb(uv_handle_t *h)
{
	free(h);
}

static void
group_error(struct arb_group *g, struct arb_req *req, int code,
    const char *what)
{
	uint8_t	*buf;
	size_t	 len;

	g->errors++;
	if (arb_wire_error(code, &buf, &len, "%s: %s", what,
	    arb_strerror(code)) != 0) {
		arb_req_drop(req);
		return;
	}
	if (arb_req_reply(req, buf, len) != 0)
		log_debug("%s: reply failed", g->name);
	free(buf);
}

static int
group_commit(struct arb_group *g)
{
	struct deferred	*d, *dn;
	int		 rv;

	uv_check_stop(g->check);
	rv = arb_store_group_commit(g->store);
	if (rv != 0)
		log_warnx("%s: group commit: %s", g->name, arb_strerror(rv));
	d = g->dq;
	g->dq = NULL;
	g->dqt = &g->dq;
	for (; d; d = dn) {
		dn = d->next;
		if (rv == 0)
			(void)arb_req_reply(d->req, d->buf, d->len);
		else
			group_error(g, d->req, rv, "commit");
		if (d->after)
			d->after(d->arg, rv == 0);
		free(d->buf);
		free(d);
	}
	return rv;
}

static void
group_check_cb(uv_check_t *h)
{
	(void)group_commit(h->data);
}

int
arb_group_commit(struct arb_group *g)
{
	if (!arb_store_group_active(g->store))
		return 0;
	return group_commit(g);
}

int
arb_group_new(uv_loop_t *loop, struct arb_store *store, const char *name,
    struct arb_group **gp)
{
	struct arb_group *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return -ENOMEM;
	if ((g->check = calloc(1, sizeof(*g->check))) == NULL) {
		free(g);
		return -ENOMEM;
	}
	g->store = store;
	g->name = name;
	uv_check_init(loop, g->check);
	g->check->data = g;
	g->dqt = &g->dq;
	*gp = g;
	return 0;
}

int
arb_group_join(struct arb_group *g)
{
	int rv;

	if (arb_store_group_active(g->store))
		return 0;
	if ((rv = arb_store_group_begin(g->store)) != 0)
		return rv;
	uv_check_start(g->check, group_check_cb);
	return 0;
}

void
arb_group_defer(struct arb_group *g, struct arb_req *req,
    const Arbor__Envelope *reply, void (*after)(void *, int), void *arg)
{
	struct deferred *d;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    arb_wire_encode(reply, &d->buf, &d->len) != 0) {
		free(d);
		group_error(g, req, -ENOMEM, "reply");
		if (after)
			after(arg, 0);
		return;
	}
	d->req = req;
	d->after = after;
	d->arg = arg;
	*g->dqt = d;
	g->dqt = &d->next;
}

uint64_t
arb_group_errors(const struct arb_group *g)
{
	return g->errors;
}

void
arb_group_free(struct arb_group *g)
{
	if (g == NULL)
		return;
	/* What is staged becomes durable; its replies go out now. */
	if (arb_store_group_active(g->store))
		(void)group_commit(g);
	uv_close((uv_handle_t *)g->check, group_handle_free_cb);
	free(g);
}
