/*
 * arborctl api-token create|list|revoke and arborctl audit: who may use
 * the root's HTTP API, and what its operators did with it.
 *
 * arborctl makes an API token itself ("arb_" and 32 random bytes in hex),
 * prints it once on stdout and sends the root only its SHA-256: the root
 * cannot show it again, and nothing it stores would let anyone use it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/error.h"
#include "arbor/sig.h"
#include "arborctl.h"

#define CTL_API_PREFIX	"arb_"
#define CTL_API_BYTES	32

static int
api_token_call(struct ctl *c, Arbor__ApiTokenCtl *tc, Arbor__Envelope **repp)
{
	Arbor__Envelope	req = ARBOR__ENVELOPE__INIT;

	req.body_case = ARBOR__ENVELOPE__BODY_API_TOKEN_CTL;
	req.api_token_ctl = tc;
	return ctl_call(c, &req, ARBOR__ENVELOPE__BODY_API_TOKEN_REPLY, repp);
}

static int
api_token_create(struct ctl *c, int argc, char *argv[])
{
	Arbor__ApiTokenCtl	 tc = ARBOR__API_TOKEN_CTL__INIT;
	Arbor__Envelope		*rep;
	const char		*role = NULL, *name = NULL;
	char			 text[sizeof(CTL_API_PREFIX) + 2 * CTL_API_BYTES];
	uint8_t			 rnd[CTL_API_BYTES], sha[ARB_SHA256_LEN];
	int			 i, r, rv;

	for (i = 2; i < argc; i++) {
		if ((r = ctl_opt(argc, argv, &i, "--role", &role)) == 0)
			r = ctl_opt(argc, argv, &i, "--name", &name);
		if (r <= 0)
			goto usage;
	}
	if (role == NULL || name == NULL || (strcmp(role, "viewer") != 0 &&
	    strcmp(role, "operator") != 0))
		goto usage;
	memcpy(text, CTL_API_PREFIX, sizeof(CTL_API_PREFIX) - 1);
	if ((rv = arb_random(rnd, sizeof(rnd))) != 0) {
		ctl_warnx(c, "random: %s", arb_strerror(rv));
		return 1;
	}
	arb_hex(rnd, sizeof(rnd), text + sizeof(CTL_API_PREFIX) - 1);
	memset(rnd, 0, sizeof(rnd));
	if ((rv = arb_sha256(text, strlen(text), sha)) != 0) {
		ctl_warnx(c, "%s", arb_strerror(rv));
		return 1;
	}
	tc.op = "create";
	tc.name = (char *)name;
	tc.role = (char *)role;
	tc.sha256.data = sha;
	tc.sha256.len = sizeof(sha);
	if ((rv = api_token_call(c, &tc, &rep)) != 0) {
		memset(text, 0, sizeof(text));
		return rv;
	}
	arb_wire_free(rep);
	/* Once: the root holds only the hash. */
	printf("%s\n", text);
	memset(text, 0, sizeof(text));
	return 0;
usage:
	ctl_warnx(c, "usage: api-token create --role viewer|operator "
	    "--name NAME");
	return 2;
}

static int
api_token_list(struct ctl *c, int as_json)
{
	Arbor__ApiTokenCtl	 tc = ARBOR__API_TOKEN_CTL__INIT;
	Arbor__Envelope		*rep;
	Arbor__ApiTokenReply	*tr;
	json_t			*doc, *o;
	char			 name[ARB_MAX_ID + 8], created[32], used[32];
	size_t			 i;
	int			 rv;

	tc.op = "list";
	if ((rv = api_token_call(c, &tc, &rep)) != 0)
		return rv;
	tr = rep->api_token_reply;
	if (as_json) {
		doc = json_array();
		for (i = 0; doc != NULL && i < tr->n_tokens; i++) {
			const Arbor__ApiToken *t = tr->tokens[i];

			o = json_pack("{s:s, s:s, s:I, s:I, s:b, s:I, s:s}",
			    "name", t->name, "role", t->role, "created",
			    (json_int_t)t->created, "last_used",
			    (json_int_t)t->last_used, "revoked",
			    (int)t->revoked, "revoked_at",
			    (json_int_t)t->revoked_at, "state", t->revoked ?
			    "revoked" : "active");
			if (o == NULL || json_array_append_new(doc, o) != 0) {
				json_decref(doc);
				doc = NULL;
			}
		}
		arb_wire_free(rep);
		return ctl_json_print(c, doc);
	}
	if (tr->n_tokens == 0)
		printf("no API tokens\n");
	else
		printf("%-24s  %-8s  %-8s  %-20s  %s\n", "NAME", "ROLE",
		    "STATE", "CREATED", "LAST USED");
	for (i = 0; i < tr->n_tokens; i++) {
		const Arbor__ApiToken *t = tr->tokens[i];

		ctl_clean(t->name, 24, name, sizeof(name));
		ctl_utc(t->created * 1000, created, sizeof(created));
		if (t->last_used == 0)
			snprintf(used, sizeof(used), "never");
		else
			ctl_age(t->last_used, used, sizeof(used));
		printf("%-24s  %-8s  %-8s  %-20s  %s\n", name, t->role,
		    t->revoked ? "revoked" : "active", created, used);
	}
	arb_wire_free(rep);
	return 0;
}

int
cmd_api_token(struct ctl *c, int argc, char *argv[])
{
	Arbor__ApiTokenCtl	 tc = ARBOR__API_TOKEN_CTL__INIT;
	Arbor__Envelope		*rep;
	int			 as_json = 0, rv;

	if (argc >= 2 && strcmp(argv[1], "create") == 0)
		return api_token_create(c, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		if (ctl_json_arg(argc - 1, argv + 1, &as_json) != 0)
			return 1;
		return api_token_list(c, as_json);
	}
	if (argc == 3 && strcmp(argv[1], "revoke") == 0 &&
	    strlen(argv[2]) <= ARB_MAX_ID) {
		tc.op = "revoke";
		tc.name = argv[2];
		if ((rv = api_token_call(c, &tc, &rep)) != 0)
			return rv;
		printf("API token %s revoked\n", argv[2]);
		arb_wire_free(rep);
		return 0;
	}
	ctl_warnx(c, "usage: api-token create --role viewer|operator --name "
	    "NAME | api-token list [--json] | api-token revoke NAME");
	return 2;
}

int
cmd_audit(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT, *rep;
	Arbor__GetAudit		 ga = ARBOR__GET_AUDIT__INIT;
	Arbor__AuditReply	*ar;
	char			 when[32], who[40], what[48], tgt[48], det[80];
	size_t			 i;
	int			 as_json = 0, rv;

	if (ctl_json_arg(argc, argv, &as_json) != 0)
		return 1;
	req.body_case = ARBOR__ENVELOPE__BODY_GET_AUDIT;
	req.get_audit = &ga;
	if ((rv = ctl_call(c, &req, ARBOR__ENVELOPE__BODY_AUDIT_REPLY,
	    &rep)) != 0)
		return rv;
	ar = rep->audit_reply;
	if (as_json) {
		rv = ctl_json_print(c, view_audit(ar));
		arb_wire_free(rep);
		return rv;
	}
	if (ar->n_records == 0)
		printf("no operator actions recorded\n");
	else
		printf("%-24s  %-24s  %-20s  %-24s  %-6s  %s\n", "TIME", "TOKEN",
		    "ACTION", "TARGET", "STATUS", "DETAIL");
	for (i = 0; i < ar->n_records; i++) {
		const Arbor__AuditRecord *a = ar->records[i];

		view_utc_ms(a->time_ms, when, sizeof(when));
		ctl_clean(a->token, 24, who, sizeof(who));
		ctl_clean(a->action, 20, what, sizeof(what));
		ctl_clean(a->target, 24, tgt, sizeof(tgt));
		ctl_clean(a->detail, 60, det, sizeof(det));
		printf("%-24s  %-24s  %-20s  %-24s  %-6u  %s\n", when, who,
		    what, tgt, (unsigned)a->status, det);
	}
	arb_wire_free(rep);
	return 0;
}
