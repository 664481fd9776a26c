/*
 * arborctl rollout status|pause|resume|advance|retry-failed [ID] [--json]:
 * a staged rollout's wave, its counts, whether it halted and why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arborctl.h"

int
ctl_rollout_get(const struct ctl *c, Arbor__Envelope **repp)
{
	Arbor__Envelope		req = ARBOR__ENVELOPE__INIT;
	Arbor__RolloutCtl	rc = ARBOR__ROLLOUT_CTL__INIT;

	rc.op = "status";
	rc.id = "";
	req.body_case = ARBOR__ENVELOPE__BODY_ROLLOUT_CTL;
	req.rollout_ctl = &rc;
	return ctl_call(c, &req, ARBOR__ENVELOPE__BODY_ROLLOUT_REPLY, repp);
}

json_t *
ctl_rollout_find(const Arbor__Envelope *rep, const char *id)
{
	return view_rollout_find(rep != NULL ? rep->rollout_reply : NULL, id);
}

void
ctl_rollout_text(json_t *o, char *buf, size_t size)
{
	char	why[256];

	ctl_clean(json_string_value(json_object_get(o, "why")) ?
	    json_string_value(json_object_get(o, "why")) : "-", 200, why,
	    sizeof(why));
	snprintf(buf, size, "  rollout: wave %lld of %lld (%s, %lld %%): %s; "
	    "%lld in, %lld ok, %lld failed, %lld silent, %lld pending%s%s",
	    (long long)json_integer_value(json_object_get(o, "wave")),
	    (long long)json_integer_value(json_object_get(o, "waves")),
	    json_string_value(json_object_get(o, "name")) ?
	    json_string_value(json_object_get(o, "name")) : "-",
	    (long long)json_integer_value(json_object_get(o, "share")),
	    json_string_value(json_object_get(o, "state")) ?
	    json_string_value(json_object_get(o, "state")) : "?",
	    (long long)json_integer_value(json_object_get(o, "in")),
	    (long long)json_integer_value(json_object_get(o, "ok")),
	    (long long)json_integer_value(json_object_get(o, "failed")),
	    (long long)json_integer_value(json_object_get(o, "silent")),
	    (long long)json_integer_value(json_object_get(o, "pending")),
	    strcmp(why, "-") != 0 ? "; " : "", strcmp(why, "-") != 0 ? why :
	    "");
}

int
cmd_rollout(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT, *rep;
	Arbor__RolloutCtl	 rc = ARBOR__ROLLOUT_CTL__INIT;
	const char		*op = NULL, *id = "";
	char			 clean[1024];
	json_t			*arr;
	int			 i, as_json = 0, rv;
	size_t			 k;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else if (op == NULL)
			op = argv[i];
		else if (id[0] == '\0')
			id = argv[i];
		else
			goto usage;
	}
	if (op == NULL || (strcmp(op, "status") != 0 && strcmp(op, "pause") !=
	    0 && strcmp(op, "resume") != 0 && strcmp(op, "advance") != 0 &&
	    strcmp(op, "retry-failed") != 0) ||
	    (strcmp(op, "status") != 0 && id[0] == '\0'))
		goto usage;
	rc.op = (char *)op;
	rc.id = (char *)id;
	req.body_case = ARBOR__ENVELOPE__BODY_ROLLOUT_CTL;
	req.rollout_ctl = &rc;
	if ((rv = ctl_call(c, &req, ARBOR__ENVELOPE__BODY_ROLLOUT_REPLY,
	    &rep)) != 0)
		return rv;
	if (as_json) {
		arr = json_array();
		for (k = 0; arr && k < rep->rollout_reply->n_lines; k++)
			json_array_append_new(arr,
			    view_rollout_line(rep->rollout_reply->lines[k]));
		arb_wire_free(rep);
		return ctl_json_print(c, arr);
	}
	if (strcmp(op, "status") != 0)
		printf("rollout %s: %s (head seq %llu)\n", id, op,
		    (unsigned long long)rep->rollout_reply->head_seq);
	for (k = 0; k < rep->rollout_reply->n_lines; k++) {
		ctl_clean(rep->rollout_reply->lines[k], 0, clean,
		    sizeof(clean));
		printf("%s\n", clean);
	}
	arb_wire_free(rep);
	return 0;
usage:
	ctl_warnx(c, "usage: rollout status [ID] [--json] | "
	    "rollout pause|resume|advance|retry-failed ID");
	return 2;
}
