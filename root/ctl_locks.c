/*
 * arborctl endpoint lock ID|--group G [--until T] [--reason R], endpoint
 * unlock ID|--group G, endpoint locks [--json]: the endpoints kept from
 * every action.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arborctl.h"

static int
locks_print(const struct ctl *c, const Arbor__LockReply *lr, int as_json)
{
	const Arbor__Lock	*l;
	json_t			*a = NULL;
	char			 until[32], who[160], why[80];
	size_t			 i;

	if (as_json)
		a = json_array();
	else
		printf("%-40s %-22s %s\n", "LOCKED", "UNTIL", "REASON");
	for (i = 0; i < lr->n_locks; i++) {
		l = lr->locks[i];
		ctl_utc(l->until_ms, until, sizeof(until));
		if (as_json) {
			if (a != NULL)
				json_array_append_new(a, json_pack("{s:s?, "
				    "s:s?, s:s, s:s?, s:I}", "endpoint",
				    l->endpoint_id[0] ? l->endpoint_id : NULL,
				    "group", l->group[0] ? l->group : NULL,
				    "reason", l->reason, "until", until[0] ?
				    until : NULL, "created_ms",
				    (json_int_t)l->created_ms));
			continue;
		}
		ctl_clean(l->group[0] ? l->group : l->endpoint_id, 60, why,
		    sizeof(why));
		snprintf(who, sizeof(who), "%s%s", l->group[0] ? "group:" : "",
		    why);
		ctl_clean(l->reason, 60, why, sizeof(why));
		printf("%-40s %-22s %s\n", who, until[0] ? until : "unlocked",
		    why);
	}
	return as_json ? ctl_json_print(c, a) : 0;
}

int
cmd_endpoint_lock(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT, *rep;
	Arbor__LockCtl		 lc = ARBOR__LOCK_CTL__INIT;
	Arbor__Lock		 l = ARBOR__LOCK__INIT;
	const char		*op = argv[1], *v, *until = NULL;
	int			 i, o, as_json = 0, rv;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else if ((o = ctl_opt(argc, argv, &i, "--group", &v)) != 0) {
			if (o < 0)
				goto usage;
			l.group = (char *)v;
		} else if ((o = ctl_opt(argc, argv, &i, "--reason", &v)) !=
		    0) {
			if (o < 0)
				goto usage;
			l.reason = (char *)v;
		} else if ((o = ctl_opt(argc, argv, &i, "--until", &v)) !=
		    0) {
			if (o < 0)
				goto usage;
			until = v;
		} else if (l.endpoint_id[0] == '\0' && argv[i][0] != '-')
			l.endpoint_id = argv[i];
		else
			goto usage;
	}
	if (strcmp(op, "locks") == 0) {
		if (l.endpoint_id[0] || l.group[0] || l.reason[0] || until)
			goto usage;
		lc.op = "list";
	} else {
		if ((l.endpoint_id[0] == '\0') == (l.group[0] == '\0') ||
		    strlen(l.endpoint_id) > ARB_MAX_ID ||
		    strlen(l.group) > ARB_MAX_ID)
			goto usage;
		if (strcmp(op, "unlock") == 0 && (l.reason[0] || until))
			goto usage;
		if (strlen(l.reason) > ARB_LOCK_REASON_MAX) {
			ctl_warnx(c, "--reason: at most %d bytes",
			    ARB_LOCK_REASON_MAX);
			return 2;
		}
		if (until != NULL && ctl_until(c, until, &l.until_ms) != 0)
			return 2;
		lc.op = (char *)op;
		lc.lock = &l;
	}
	req.body_case = ARBOR__ENVELOPE__BODY_LOCK_CTL;
	req.lock_ctl = &lc;
	if ((rv = ctl_call(c, &req, ARBOR__ENVELOPE__BODY_LOCK_REPLY,
	    &rep)) != 0)
		return rv;
	if (strcmp(op, "locks") == 0)
		rv = locks_print(c, rep->lock_reply, as_json);
	else
		printf("%s %s%s: %s (head seq %" PRIu64 ")\n", op,
		    l.group[0] ? "group:" : "", l.group[0] ? l.group :
		    l.endpoint_id, strcmp(op, "lock") == 0 ? "locked" :
		    "unlocked", rep->lock_reply->head_seq);
	arb_wire_free(rep);
	return rv;
usage:
	ctl_warnx(c, "usage: endpoint lock ID|--group G [--until T] "
	    "[--reason R] | endpoint unlock ID|--group G | endpoint locks "
	    "[--json]");
	return 2;
}
