/*
 * Replies from the root to a request on any of its sockets: the children's
 * service (enrolments, reports) and the operator's control socket.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "arbor/error.h"
#include "arbor/log.h"
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

void
root_reply_vrefuse(struct arb_req *req, int code, const char *fmt,
    va_list ap)
{
	char	 msg[512];
	uint8_t	*buf;
	size_t	 len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_warnx("root: control: %s", msg);
	if (arb_wire_error(code, &buf, &len, "%s", msg) != 0) {
		arb_req_drop(req);
		return;
	}
	(void)arb_req_reply(req, buf, len);
	free(buf);
}

void
root_reply_refuse(struct arb_req *req, int code, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	root_reply_vrefuse(req, code, fmt, ap);
	va_end(ap);
}
