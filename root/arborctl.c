/*
 * arborctl: the operator's command line.  It makes the publisher key and
 * talks to the root's control socket: uploads a policy's blobs in chunks
 * (resuming wherever the root already is), publishes, retires and pushes
 * policies, asks for a rollback, and shows the catalog and the operator's
 * view: counts by state (status), endpoints, and the relay tree.
 *
 * This file is the frame: the global options, the table of commands
 * (ctl_keys.c, ctl_catalog.c, ctl_status.c, ctl_nodes.c hold them), and
 * the helpers they share.
 *
 * Every request is one blocking arb_net_call; arborctl keeps no state of
 * its own, so running a command twice is always safe: the root answers an
 * upload it already holds with "complete", and publishing the same version
 * again is the root's to refuse.  The one loop is status --watch, which
 * asks again every 200 ms.
 *
 * Hostnames, details, relay names and policy ids in reports were chosen by
 * endpoints and relays, not by the operator: the text views print them
 * with control characters replaced, so none can drive the terminal.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <jansson.h>

#include "arbor/conf.h"
#include "arbor/error.h"
#include "arbor/link.h"
#include "arbor/log.h"
#include "arbor/net.h"
#include "arbor/wire.h"
#include "arborctl.h"

#define CTL_TIMEOUT_MS		30000
#define CTL_DEFAULT_URL		"ipc:///var/lib/arbor/root/control.sock"

static const struct ctl_cmd ctl_cmds[] = {
	{ "keygen", cmd_keygen,
	    "  keygen [--trust-root] DIR\n"
	    "                        make the publisher (or trust-root) key "
	    "pair in DIR\n", 0 },
	{ "key", cmd_key,
	    "  key rotate --trust-key PATH --key PATH [--revoke KEYID|FILE]...\n"
	    "       [--valid DURATION]\n"
	    "                        sign the next key statement (default "
	    "valid 365d):\n"
	    "                        the root signs with --key from now on\n"
	    "  key status [--json]   the newest key statement the root "
	    "serves\n", 1 },
	{ "ca", cmd_ca,
	    "  ca init DIR           make Arbor's TLS certificate authority "
	    "in DIR\n"
	    "  ca init --enrol CA DIR  an enrolment CA under CA, for the "
	    "root to sign\n                        endpoints' certificates "
	    "(enroll_ca)\n", 0 },
	{ "cert", cmd_cert,
	    "  cert issue --ca DIR --name NAME --out PREFIX [--client]\n"
	    "       [--valid DURATION] [--backdate DURATION]\n"
	    "                        a TLS key and certificate for a node "
	    "(default: server\n"
	    "                        and client, valid 365d)\n", 0 },
	{ "publish", cmd_publish,
	    "  publish POLICY.json   upload the policy's blobs and publish "
	    "it\n"
	    "  publish --dry-run [--json] POLICY.json\n"
	    "                        how many endpoints it would apply to, by "
	    "relay\n", 1 },
	{ "retire", cmd_retire,
	    "  retire ID             remove a policy from the catalog\n", 1 },
	{ "push", cmd_push,
	    "  push ID               mark a policy urgent: pull now\n", 1 },
	{ "catalog", cmd_catalog,
	    "  catalog [--json]      show the current catalog\n", 1 },
	{ "rollback", cmd_rollback,
	    "  rollback ID           ask every endpoint that installed ID "
	    "to roll it back\n", 1 },
	{ "status", cmd_status,
	    "  status [ID] [--json]  counts by state, per policy, and the "
	    "root's totals\n"
	    "         [ID] --watch [--keep] [--timeout SECS]\n"
	    "                        progress until every targeted endpoint "
	    "is done\n"
	    "                        (exit 3 after SECS, default 600), or "
	    "with --keep\n"
	    "                        until stopped\n", 1 },
	{ "endpoints", cmd_endpoints,
	    "  endpoints [--policy ID] [--state STATE] [--group G] [--json]\n"
	    "                        endpoints, last contact, state and "
	    "path\n", 1 },
	{ "exposure", cmd_exposure,
	    "  exposure [CVE] [--json]\n"
	    "                        per CVE, the endpoints where a policy "
	    "that fixes it\n"
	    "                        applies and is not fixed, by score\n", 1 },
	{ "baseline", cmd_baseline,
	    "  baseline set NAME --target T... --policy ID... | baseline list "
	    "[--json] |\n"
	    "  baseline rm NAME      the policies a target must have fixed; T is "
	    "all,\n"
	    "                        group:G, endpoint:ID or prop:KEY=VALUE\n",
	    1 },
	{ "exempt", cmd_exempt,
	    "  exempt ID|--group G --reason TEXT [--until T] | exempt list "
	    "[--json] |\n"
	    "  exempt rm ID|--group G\n"
	    "                        keep an endpoint or group out of "
	    "compliance\n", 1 },
	{ "compliance", cmd_compliance,
	    "  compliance [BASELINE] [--json|--csv] [--silent-after D]\n"
	    "                        per endpoint: compliant, below (what is "
	    "missing),\n"
	    "                        exempt, not reporting; totals\n", 1 },
	{ "query", cmd_query,
	    "  query EXPR [--count] [--json] [--by relay|os|group]\n"
	    "                        endpoints whose stored inventory "
	    "matches EXPR\n", 1 },
	{ "rollout", cmd_rollout, "  rollout status [ID] [--json] | rollout pause|resume|advance|retry-failed ID\n                        a staged rollout: its wave, counts, halt\n", 1 },
	{ "export", cmd_export, "  export DIR            the signed catalog and its blobs, for an air-gapped site\n", 1 },
	{ "import-reports", cmd_import_reports, "  import-reports FILE   reports a relay exported (arbor-relay --export-reports)\n", 1 },
	{ "token", cmd_token,
	    "  token create [--group G]... [--expires DURATION] [--uses N] "
	    "--out FILE\n"
	    "                        a new enrolment token, written to FILE "
	    "(mode 0600);\n"
	    "                        prints its id\n"
	    "  token list [--json]   the enrolment tokens: uses, expiry, "
	    "groups\n"
	    "  token revoke ID       refuse enrolments with that token\n", 1 },
	{ "endpoint", cmd_endpoint,
	    "  endpoint show ID [--json]\n"
	    "                        one endpoint: its state per policy, its "
	    "inventory\n"
	    "  endpoint revoke ID [--reason TEXT]\n"
	    "                        refuse that endpoint's reports and "
	    "enrolments\n"
	    "  endpoint lock ID|--group G [--until T] [--reason R]\n"
	    "                        keep it (them) from every action\n"
	    "  endpoint unlock ID|--group G, endpoint locks [--json]\n", 1 },
	{ "unmanaged", cmd_unmanaged,
	    "  unmanaged [--json]    addresses that reached a relay but are "
	    "not managed\n", 1 },
	{ "api-token", cmd_api_token,
	    "  api-token create --role viewer|operator --name NAME\n"
	    "                        a new HTTP API token, printed once\n"
	    "  api-token list [--json], api-token revoke NAME\n", 1 },
	{ "audit", cmd_audit,
	    "  audit [--json]        operator actions (HTTP API and "
	    "arborctl), newest first\n", 1 },
	{ "tree", cmd_tree,
	    "  tree [--json]         relays: parent, children, lag behind "
	    "the root\n", 1 },
};
#define CTL_NCMDS	(sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

void
ctl_usage(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: arborctl [-s URL | -d DIR] command [args]\n\n");
	for (i = 0; i < CTL_NCMDS; i++)
		fputs(ctl_cmds[i].usage, f);
	fprintf(f,
	    "\n"
	    "  -s URL                the root's control socket\n"
	    "  -d, --data-dir DIR    the root's data directory "
	    "(ipc://DIR/control.sock)\n"
	    "  -h, --help            this text\n"
	    "\n"
	    "Without -s or -d: $ARBOR_CONTROL, else " CTL_DEFAULT_URL "\n");
}

void
ctl_warnx(const struct ctl *c, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "arborctl: %s: ", c->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
ctl_call(const struct ctl *c, const Arbor__Envelope *req,
    Arbor__Envelope__BodyCase want, Arbor__Envelope **repp)
{
	Arbor__Envelope	*rep;
	const char	*msg;
	size_t		 n;
	int		 rv;

	rv = arb_call(c->url, req, want, CTL_TIMEOUT_MS, &rep);
	if (rv == 0) {
		*repp = rep;
		return 0;
	}
	if (rep != NULL) {		/* the root said no */
		msg = rep->error->message;
		/* The root may name the request too: say it once. */
		n = strlen(c->cmd);
		if (strncmp(msg, c->cmd, n) == 0 && strncmp(msg + n, ": ",
		    2) == 0)
			msg += n + 2;
		ctl_warnx(c, "%s", msg[0] != '\0' ? msg : arb_strerror(rv));
		arb_wire_free(rep);
	} else if (rv == ARB_ETIMEDOUT)
		ctl_warnx(c, "no answer from the root at %s in %d s", c->url,
		    CTL_TIMEOUT_MS / 1000);
	else if (rv == ARB_EUNREACH || rv == ARB_ENET || rv == ARB_ECLOSED)
		fprintf(stderr, "arborctl: cannot reach the root at %s: %s\n",
		    c->url, rv == ARB_EUNREACH ? "nothing listens there "
		    "(is arbor-root running?)" : arb_strerror(rv));
	else
		ctl_warnx(c, "bad reply from the root: %s", arb_strerror(rv));
	return 1;
}

int
ctl_json_print(const struct ctl *c, json_t *doc)
{
	char	*s;

	if (doc == NULL || (s = json_dumps(doc, JSON_INDENT(2))) == NULL) {
		json_decref(doc);
		ctl_warnx(c, "%s", strerror(ENOMEM));
		return 1;
	}
	printf("%s\n", s);
	free(s);
	json_decref(doc);
	return 0;
}

/* ---- options */

int
ctl_json_arg(int argc, char *argv[], int *as_jsonp)
{
	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		*as_jsonp = 1;
	else if (argc != 1) {
		ctl_usage(stderr);
		return 1;
	}
	return 0;
}

/*
 * One option of a command: argv[*ip] is name, with its value after '=' or
 * in the next word.  1 with *valp set (and *ip past the value), 0 if the
 * word is something else, -1 if the value is missing.
 */
int
ctl_opt(int argc, char *argv[], int *ip, const char *name, const char **valp)
{
	const char	*a = argv[*ip];
	size_t		 n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*valp = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*ip + 1 >= argc)
		return -1;
	*valp = argv[++*ip];
	return 1;
}

/* ---- text */

/* Append to the string in buf (size bytes), truncating. */
void
ctl_cat(char *buf, size_t size, const char *fmt, ...)
{
	va_list	ap;
	size_t	n = strlen(buf);

	if (n + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

/*
 * Copy text that came over the wire (hostnames, details, relay names: an
 * endpoint or a relay chose them) for a terminal: the first line only,
 * control characters as '?', at most max characters (0: as many as fit),
 * cut on a UTF-8 boundary and marked with "..." when cut.
 */
void
ctl_clean(const char *in, size_t max, char *out, size_t outlen)
{
	size_t	i, o = 0, chars = 0, len;
	int	cut = 0;

	len = strcspn(in, "\r\n");
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];

		if ((ch & 0xc0) != 0x80 && ((max > 0 && chars == max) ||
		    o + 4 >= outlen)) {
			cut = 1;
			break;
		}
		if ((ch & 0xc0) != 0x80)
			chars++;
		out[o++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	if (in[len] != '\0')
		cut = 1;
	out[o] = '\0';
	if (!cut)
		return;
	/* Make room for "..." within max, back over whole characters. */
	while (o > 0 && (chars + 3 > (max ? max : chars + 3) ||
	    o + 4 > outlen)) {
		while (o > 0 && ((unsigned char)out[--o] & 0xc0) == 0x80)
			;
		chars--;
	}
	memcpy(out + o, "...", 4);
}

void
ctl_span(int64_t d, char *out, size_t outlen)
{
	if (d < 120)
		snprintf(out, outlen, "%" PRId64 "s", d);
	else if (d < 2 * 3600)
		snprintf(out, outlen, "%" PRId64 "m", d / 60);
	else if (d < 2 * 86400)
		snprintf(out, outlen, "%" PRId64 "h", d / 3600);
	else
		snprintf(out, outlen, "%" PRId64 "d", d / 86400);
}

/* Characters on screen, counting a UTF-8 sequence as one. */
size_t
ctl_width(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}


/* ---- main */

/* Global options; returns the index of the command, or -1 to exit. */
static int
ctl_args(struct ctl *c, int argc, char *argv[], int *exitp)
{
	static const struct option	longopts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int				ch;

	/* "+": options end at the command, which has its own. */
	while ((ch = getopt_long(argc, argv, "+d:hs:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			c->dir = optarg;
			break;
		case 'h':
			ctl_usage(stdout);
			*exitp = 0;
			return -1;
		case 's':
			c->url = optarg;
			break;
		default:
			ctl_usage(stderr);
			*exitp = 1;
			return -1;
		}
	}
	if (optind >= argc) {
		ctl_usage(stderr);
		*exitp = 1;
		return -1;
	}
	c->cmd = argv[optind];
	return optind;
}

/*
 * The global options -d DIR, --data-dir DIR (or =DIR) and -s URL may also
 * follow the command (arborctl status -d DIR): take them out of the
 * command's words, up to a "--".  No command has an option of those names.
 * Returns the command's argc, or -1 after a message.
 */
static int
ctl_late_args(struct ctl *c, int argc, char *argv[])
{
	const char	*val;
	int		 i, o, r;

	for (i = o = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				argv[o++] = argv[i++];
			break;
		}
		if ((r = ctl_opt(argc, argv, &i, "--data-dir", &val)) != 0 ||
		    (r = ctl_opt(argc, argv, &i, "-d", &val)) != 0) {
			if (r > 0)
				c->dir = val;
		} else if ((r = ctl_opt(argc, argv, &i, "-s", &val)) > 0)
			c->url = val;
		if (r < 0) {
			fprintf(stderr, "arborctl: %s: %s needs a value\n",
			    c->cmd, argv[i]);
			return -1;
		}
		if (r == 0)
			argv[o++] = argv[i];
	}
	argv[o] = NULL;
	return o;
}

/*
 * The control socket: -s, else ipc://DIR/control.sock for -d, else
 * $ARBOR_CONTROL, else the default.  0, or 1 after a message.
 */
static int
ctl_url(struct ctl *c)
{
	if (c->url == NULL && c->dir != NULL) {
		if (asprintf(&c->url_buf, "ipc://%s/control.sock",
		    c->dir) < 0) {
			c->url_buf = NULL;
			fprintf(stderr, "arborctl: %s\n", strerror(ENOMEM));
			return 1;
		}
		c->url = c->url_buf;
	}
	if (c->url == NULL)
		c->url = getenv("ARBOR_CONTROL");
	if (c->url == NULL || c->url[0] == '\0')
		c->url = CTL_DEFAULT_URL;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct ctl	 c = { NULL, NULL, NULL, NULL };
	size_t		 k;
	int		 i, rv = 1;

	log_init(1, LOG_USER);
	log_procinit("arborctl");
	if ((i = ctl_args(&c, argc, argv, &rv)) < 0)
		return rv;
	for (k = 0; k < CTL_NCMDS; k++)
		if (strcmp(c.cmd, ctl_cmds[k].name) == 0)
			break;
	if (k == CTL_NCMDS) {
		fprintf(stderr, "arborctl: unknown command \"%s\"\n", c.cmd);
		ctl_usage(stderr);
		rv = 1;
	} else if (ctl_cmds[k].root && (argc = ctl_late_args(&c, argc - i,
	    argv + i)) < 0)
		rv = 1;
	else if (!ctl_cmds[k].root)
		rv = ctl_cmds[k].run(&c, argc - i, argv + i);
	else if ((rv = ctl_url(&c)) == 0)
		rv = ctl_cmds[k].run(&c, argc, argv + i);
	free(c.url_buf);
	return rv;
}

/* "YYYY-MM-DDTHH:MM:SSZ" of ms since the epoch; "" for 0. */
void
ctl_utc(int64_t ms, char *out, size_t size)
{
	view_utc(ms, out, size);
}

/* "YYYY-MM-DDTHH:MM:SSZ", or a duration from now ("7d", "+12h"). */
int
ctl_until(const struct ctl *c, const char *s, int64_t *msp)
{
	struct tm	 tm;
	const char	*end;
	char		 err[128];
	int64_t		 d;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) != NULL &&
	    *end == '\0') {
		*msp = (int64_t)timegm(&tm) * 1000;
		return 0;
	}
	if (arb_conf_duration_ms(s[0] == '+' ? s + 1 : s, 1000,
	    3650LL * 86400000, &d, err, sizeof(err)) == 0) {
		*msp = (int64_t)time(NULL) * 1000 + d;
		return 0;
	}
	ctl_warnx(c, "--until %s: must be YYYY-MM-DDTHH:MM:SSZ or a "
	    "duration from now (7d, 12h)", s);
	return 1;
}
