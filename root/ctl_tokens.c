/*
 * arborctl token create|list|revoke and arborctl endpoint revoke: who may
 * enrol, and an endpoint that may no longer report.
 *
 * arborctl makes a token itself (32 random bytes, in hex), writes it to
 * the file --out names (mode 0600) and sends the root only its SHA-256:
 * the token is never on a command line, in the root's store or on the
 * control socket.  The agent reads it from its configuration file
 * (enroll_token, or enroll_token_file naming that file).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arbor/conf.h"
#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/sig.h"
#include "arborctl.h"

#define CTL_TOKEN_PREFIX	"arbor-"
#define CTL_TOKEN_BYTES		32

/* "active", "revoked", "expired" or "used up", as of now. */
static const char *
token_state(const Arbor__TokenRecord *t, int64_t now)
{
	if (t->revoked)
		return "revoked";
	if (t->expires != 0 && now >= t->expires)
		return "expired";
	if (t->max_uses != 0 && t->uses >= t->max_uses)
		return "used up";
	return "active";
}

static void
token_groups(const Arbor__TokenRecord *t, char *buf, size_t size)
{
	char	one[ARB_MAX_ID + 8];
	size_t	i;

	buf[0] = '\0';
	for (i = 0; i < t->n_groups; i++) {
		ctl_clean(t->groups[i], 32, one, sizeof(one));
		ctl_cat(buf, size, "%s%s", i ? "," : "", one);
	}
	if (buf[0] == '\0')
		snprintf(buf, size, "-");
}

static int
token_call(struct ctl *c, Arbor__TokenCtl *tc, Arbor__Envelope **repp)
{
	Arbor__Envelope	req = ARBOR__ENVELOPE__INIT;

	req.body_case = ARBOR__ENVELOPE__BODY_TOKEN_CTL;
	req.token_ctl = tc;
	return ctl_call(c, &req, ARBOR__ENVELOPE__BODY_TOKEN_REPLY, repp);
}

static int
token_create(struct ctl *c, int argc, char *argv[])
{
	Arbor__TokenCtl	 tc = ARBOR__TOKEN_CTL__INIT;
	Arbor__Envelope	*rep;
	const char	*v, *out = NULL;
	char		*groups[ARB_TOKEN_GROUPS_MAX];
	char		 err[256], text[sizeof(CTL_TOKEN_PREFIX) +
			    2 * CTL_TOKEN_BYTES + 1];
	uint8_t		 rnd[CTL_TOKEN_BYTES], sha[ARB_SHA256_LEN];
	int64_t		 expires = 0, uses = 0;
	size_t		 ng = 0, len;
	int		 i, r, rv;

	for (i = 2; i < argc; i++) {
		if ((r = ctl_opt(argc, argv, &i, "--group", &v)) == 1) {
			if (ng == ARB_TOKEN_GROUPS_MAX || v[0] == '\0' ||
			    strlen(v) > ARB_MAX_ID) {
				ctl_warnx(c, "--group: 1..%d characters, at "
				    "most %d groups", ARB_MAX_ID,
				    ARB_TOKEN_GROUPS_MAX);
				return 1;
			}
			groups[ng++] = (char *)v;
		} else if (r == 0 && (r = ctl_opt(argc, argv, &i, "--expires",
		    &v)) == 1) {
			if (arb_conf_duration_ms(v, 1000,
			    100LL * 365 * 86400000, &expires, err,
			    sizeof(err)) != 0) {
				ctl_warnx(c, "--expires: %s", err);
				return 1;
			}
		} else if (r == 0 && (r = ctl_opt(argc, argv, &i, "--uses",
		    &v)) == 1) {
			if (arb_conf_int(v, 1, UINT32_MAX, &uses, err,
			    sizeof(err)) != 0) {
				ctl_warnx(c, "--uses: %s", err);
				return 1;
			}
		} else if (r == 0)
			r = ctl_opt(argc, argv, &i, "--out", &out);
		if (r <= 0)
			goto usage;
	}
	if (out == NULL)
		goto usage;
	memcpy(text, CTL_TOKEN_PREFIX, sizeof(CTL_TOKEN_PREFIX) - 1);
	if ((rv = arb_random(rnd, sizeof(rnd))) != 0) {
		ctl_warnx(c, "random: %s", arb_strerror(rv));
		return 1;
	}
	arb_hex(rnd, sizeof(rnd), text + sizeof(CTL_TOKEN_PREFIX) - 1);
	len = strlen(text);
	if ((rv = arb_sha256(text, len, sha)) != 0) {
		ctl_warnx(c, "%s", arb_strerror(rv));
		return 1;
	}
	text[len] = '\n';
	/* The file first: a token the root knows and nobody holds is lost. */
	rv = arb_io_write_file(out, text, len + 1, 0600);
	memset(text, 0, sizeof(text));
	memset(rnd, 0, sizeof(rnd));
	if (rv != 0) {
		ctl_warnx(c, "%s: %s", out, arb_strerror(rv));
		return 1;
	}
	tc.op = "create";
	tc.sha256.data = sha;
	tc.sha256.len = sizeof(sha);
	tc.groups = groups;
	tc.n_groups = ng;
	tc.expires_s = expires / 1000;
	tc.max_uses = (uint32_t)uses;
	if ((rv = token_call(c, &tc, &rep)) != 0) {
		(void)unlink(out);
		return rv;
	}
	if (rep->token_reply->n_tokens == 1)
		printf("%s\n", rep->token_reply->tokens[0]->id);
	arb_wire_free(rep);
	return 0;
usage:
	ctl_warnx(c, "usage: token create [--group G]... [--expires DURATION] "
	    "[--uses N] --out FILE");
	return 2;
}

static int
token_list(struct ctl *c, int as_json)
{
	Arbor__TokenCtl		 tc = ARBOR__TOKEN_CTL__INIT;
	Arbor__Envelope		*rep;
	Arbor__TokenReply	*tr;
	json_t			*doc, *g, *o;
	char			 groups[256], id[ARB_MAX_ID + 8], exp[48];
	char			 uses[48];
	size_t			 i, k;
	int			 rv;

	tc.op = "list";
	if ((rv = token_call(c, &tc, &rep)) != 0)
		return rv;
	tr = rep->token_reply;
	if (as_json) {
		doc = json_array();
		for (i = 0; doc != NULL && i < tr->n_tokens; i++) {
			const Arbor__TokenRecord *t = tr->tokens[i];

			g = json_array();
			for (k = 0; g != NULL && k < t->n_groups; k++)
				json_array_append_new(g,
				    json_string(t->groups[k]));
			o = json_pack("{s:s, s:o?, s:I, s:I, s:I, s:I, s:b, "
			    "s:I, s:s}", "id", t->id, "groups", g, "created",
			    (json_int_t)t->created, "expires",
			    (json_int_t)t->expires, "max_uses",
			    (json_int_t)t->max_uses, "uses",
			    (json_int_t)t->uses, "revoked", (int)t->revoked,
			    "revoked_at", (json_int_t)t->revoked_at, "state",
			    token_state(t, tr->now));
			if (o == NULL || json_array_append_new(doc, o) != 0) {
				json_decref(doc);
				doc = NULL;
			}
		}
		arb_wire_free(rep);
		return ctl_json_print(c, doc);
	}
	if (tr->n_tokens == 0)
		printf("no tokens\n");
	else
		printf("%-16s  %-8s  %-10s  %-20s  %s\n", "ID", "STATE", "USES",
		    "EXPIRES", "GROUPS");
	for (i = 0; i < tr->n_tokens; i++) {
		const Arbor__TokenRecord *t = tr->tokens[i];

		ctl_clean(t->id, 32, id, sizeof(id));
		token_groups(t, groups, sizeof(groups));
		if (t->max_uses != 0)
			snprintf(uses, sizeof(uses), "%" PRIu32 "/%" PRIu32,
			    t->uses, t->max_uses);
		else
			snprintf(uses, sizeof(uses), "%" PRIu32 "/-", t->uses);
		if (t->expires == 0)
			snprintf(exp, sizeof(exp), "never");
		else if (t->expires <= tr->now) {
			ctl_span(tr->now - t->expires, exp, sizeof(exp));
			ctl_cat(exp, sizeof(exp), " ago");
		} else {
			snprintf(exp, sizeof(exp), "in ");
			ctl_span(t->expires - tr->now, exp + 3, sizeof(exp) - 3);
		}
		printf("%-16s  %-8s  %-10s  %-20s  %s\n", id,
		    token_state(t, tr->now), uses, exp, groups);
	}
	arb_wire_free(rep);
	return 0;
}

int
cmd_token(struct ctl *c, int argc, char *argv[])
{
	Arbor__TokenCtl	 tc = ARBOR__TOKEN_CTL__INIT;
	Arbor__Envelope	*rep;
	int		 as_json = 0, rv;

	if (argc >= 2 && strcmp(argv[1], "create") == 0)
		return token_create(c, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		if (ctl_json_arg(argc - 1, argv + 1, &as_json) != 0)
			return 1;
		return token_list(c, as_json);
	}
	if (argc == 3 && strcmp(argv[1], "revoke") == 0) {
		tc.op = "revoke";
		tc.id = argv[2];
		if ((rv = token_call(c, &tc, &rep)) != 0)
			return rv;
		if (rep->token_reply->n_tokens == 1)
			printf("token %s revoked\n",
			    rep->token_reply->tokens[0]->id);
		arb_wire_free(rep);
		return 0;
	}
	ctl_warnx(c, "usage: token create|list|revoke");
	return 2;
}

int
cmd_endpoint(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT, *rep;
	Arbor__EndpointRevoke	 er = ARBOR__ENDPOINT_REVOKE__INIT;
	const char		*id = NULL, *reason = "";
	char			 clean[ARB_MAX_TEXT];
	int			 i, r, rv;

	if (argc >= 2 && (strcmp(argv[1], "lock") == 0 ||
	    strcmp(argv[1], "unlock") == 0 || strcmp(argv[1], "locks") == 0))
		return cmd_endpoint_lock(c, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return cmd_endpoint_show(c, argc, argv);
	if (argc < 2 || strcmp(argv[1], "revoke") != 0)
		goto usage;
	for (i = 2; i < argc; i++) {
		if ((r = ctl_opt(argc, argv, &i, "--reason", &reason)) < 0)
			goto usage;
		if (r == 1)
			continue;
		if (id != NULL)
			goto usage;
		id = argv[i];
	}
	if (id == NULL || strlen(id) > ARB_MAX_ID ||
	    strlen(reason) > 4 * ARB_MAX_ID)
		goto usage;
	er.endpoint_id = (char *)id;
	er.reason = (char *)reason;
	req.body_case = ARBOR__ENVELOPE__BODY_ENDPOINT_REVOKE;
	req.endpoint_revoke = &er;
	if ((rv = ctl_call(c, &req, ARBOR__ENVELOPE__BODY_DONE, &rep)) != 0)
		return rv;
	ctl_clean(rep->done->detail, 0, clean, sizeof(clean));
	printf("endpoint %s\n", clean);
	arb_wire_free(rep);
	return 0;
usage:
	ctl_warnx(c, "usage: endpoint revoke ID [--reason TEXT] (reason at "
	    "most %d bytes)", 4 * ARB_MAX_ID);
	return 2;
}
