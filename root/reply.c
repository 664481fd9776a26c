/*
 * Replies from the root to a request on any of its sockets: the children's
 * service (enrolments, reports) and the operator's control socket.
 */
#include <stdlib.h>

#include "arbor/error.h"
#include "root.h"

void
root_reply(struct arb_req *req, Arbor__Envelope *env)
{
	uint8_t	*buf;
	size_t	 len;

	if (arb_wire_encode(env, &buf, &len) != 0) {
		arb_req_drop(req);
		return;
	}
	(void)arb_req_reply(req, buf, len);
	free(buf);
}

void
root_reply_error(struct arb_req *req, int code, const char *msg)
{
	uint8_t	*buf;
	size_t	 len;

	if (arb_wire_error(code, &buf, &len, "%s: %s", msg,
	    arb_strerror(code)) != 0) {
		arb_req_drop(req);
		return;
	}
	(void)arb_req_reply(req, buf, len);
	free(buf);
}
