/*
 * arborctl: the operator's command line.  It makes the publisher key and
 * talks to the root's control socket: uploads a policy's blobs in chunks
 * (resuming wherever the root already is), publishes, retires and pushes
 * policies, asks for a rollback, and shows the catalog and the operator's
 * view: counts by state (status), endpoints, and the relay tree.
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
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "arbor/blob.h"
#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/log.h"
#include "arbor/net.h"
#include "arbor/policy.h"
#include "arbor/report.h"
#include "arbor/sig.h"
#include "arbor/wire.h"

#define CTL_TIMEOUT_MS		30000
#define CTL_DEFAULT_URL		"ipc:///var/lib/arbor/root/control.sock"
/* Replies in a row that do not move an upload forward before giving up. */
#define CTL_MAX_STALLS		3

struct ctl {
	const char	*url;	/* the root's control socket */
	const char	*cmd;	/* the command, for messages */
	char		*url_buf;
};

static void	ctl_warnx(const struct ctl *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: arborctl [-s URL | -d DIR] command [args]\n"
	    "\n"
	    "  keygen DIR            make the publisher key pair in DIR\n"
	    "  publish POLICY.json   upload the policy's blobs and publish it\n"
	    "  retire ID             remove a policy from the catalog\n"
	    "  push ID               mark a policy urgent: pull now\n"
	    "  catalog [--json]      show the current catalog\n"
	    "  rollback ID           ask every endpoint that installed ID "
	    "to roll it back\n"
	    "  status [ID] [--json]  counts by state, per policy, and the "
	    "root's totals\n"
	    "         [ID] --watch [--until-complete] [--timeout SECS]\n"
	    "                        progress until stopped, or until every "
	    "enrolled\n"
	    "                        endpoint is done (exit 3 after SECS, "
	    "default 600)\n"
	    "  endpoints [--policy ID] [--state STATE] [--json]\n"
	    "                        endpoints, last contact, state and path\n"
	    "  tree [--json]         relays: parent, children, lag behind "
	    "the root\n"
	    "\n"
	    "  -s URL                the root's control socket\n"
	    "  -d, --data-dir DIR    the root's data directory "
	    "(ipc://DIR/control.sock)\n"
	    "  -h, --help            this text\n"
	    "\n"
	    "Without -s or -d: $ARBOR_CONTROL, else " CTL_DEFAULT_URL "\n");
}

static void
ctl_warnx(const struct ctl *c, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "arborctl: %s: ", c->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Send req to the root and wait for its reply.  An Error reply, a reply of
 * another kind than want, or no reply at all is reported here and returns
 * 1 (the exit status); on 0 *repp is freed with arb_wire_free.
 */
static int
ctl_call(const struct ctl *c, const Arbor__Envelope *req,
    Arbor__Envelope__BodyCase want, Arbor__Envelope **repp)
{
	Arbor__Envelope	*rep;
	const char	*msg;
	uint8_t		*buf, *rbuf;
	size_t		 len, rlen, n;
	int		 rv;

	if ((rv = arb_wire_encode(req, &buf, &len)) != 0) {
		ctl_warnx(c, "cannot encode the request: %s",
		    arb_strerror(rv));
		return 1;
	}
	rv = arb_net_call(c->url, buf, len, CTL_TIMEOUT_MS, &rbuf, &rlen);
	free(buf);
	if (rv == ARB_ETIMEDOUT) {
		ctl_warnx(c, "no answer from the root at %s in %d s", c->url,
		    CTL_TIMEOUT_MS / 1000);
		return 1;
	}
	if (rv != 0) {
		fprintf(stderr, "arborctl: cannot reach the root at %s: %s\n",
		    c->url, rv == ARB_EUNREACH ? "nothing listens there "
		    "(is arbor-root running?)" : arb_strerror(rv));
		return 1;
	}
	rv = arb_wire_decode(rbuf, rlen, &rep);
	free(rbuf);
	if (rv != 0) {
		ctl_warnx(c, "bad reply from the root: %s", arb_strerror(rv));
		return 1;
	}
	if (rep->body_case == ARBOR__ENVELOPE__BODY_ERROR) {
		msg = rep->error->message;
		/* The root may name the request too: say it once. */
		n = strlen(c->cmd);
		if (strncmp(msg, c->cmd, n) == 0 && strncmp(msg + n, ": ",
		    2) == 0)
			msg += n + 2;
		ctl_warnx(c, "%s", msg[0] != '\0' ? msg :
		    arb_strerror(rep->error->code));
		arb_wire_free(rep);
		return 1;
	}
	if (rep->body_case != want) {
		ctl_warnx(c, "unexpected reply from the root (body %d)",
		    (int)rep->body_case);
		arb_wire_free(rep);
		return 1;
	}
	*repp = rep;
	return 0;
}

/* ---- keygen */

static int
ctl_keygen(struct ctl *c, int argc, char *argv[])
{
	struct arb_key	*k;
	struct stat	 st;
	uint8_t		 id[ARB_KEYID_LEN];
	char		 hex[2 * ARB_KEYID_LEN + 1], path[4096];
	const char	*dir;
	int		 rv;

	if (argc != 2) {
		usage(stderr);
		return 1;
	}
	dir = argv[1];
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		ctl_warnx(c, "%s: %s", dir, strerror(errno));
		return 1;
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		ctl_warnx(c, "%s: not a directory", dir);
		return 1;
	}
	/* A publisher key is not something to lose by a slip of the hand. */
	snprintf(path, sizeof(path), "%s/publisher.key", dir);
	if (access(path, F_OK) == 0) {
		ctl_warnx(c, "%s exists; refusing to overwrite it", path);
		return 1;
	}
	if ((rv = arb_key_generate(&k)) != 0) {
		ctl_warnx(c, "cannot make a key: %s", arb_strerror(rv));
		return 1;
	}
	if ((rv = arb_key_save(k, dir, "publisher")) != 0 ||
	    (rv = arb_key_id(k, id)) != 0) {
		ctl_warnx(c, "%s: %s", dir, arb_strerror(rv));
		arb_key_free(k);
		return 1;
	}
	arb_key_free(k);
	arb_hex(id, sizeof(id), hex);
	printf("private key: %s/publisher.key\n", dir);
	printf("public key:  %s/publisher.pub\n", dir);
	printf("key id:      %s\n", hex);
	return 0;
}

/* ---- publish */

/*
 * Upload one blob from path in chunks of ARB_CHUNK_SIZE.  The root answers
 * every chunk with how much of the blob it holds; the upload goes on from
 * there, so an interrupted publish resumes and a blob the root already has
 * costs one chunk.
 */
static int
ctl_upload(const struct ctl *c, const char *path, const Arbor__BlobRef *br)
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT;
	Arbor__PutChunk		 pc = ARBOR__PUT_CHUNK__INIT;
	Arbor__Envelope		*rep;
	Arbor__PutChunkReply	*pr;
	struct stat		 st;
	uint8_t			*buf;
	uint64_t		 off, have;
	ssize_t			 n;
	size_t			 want, got;
	int			 fd, stalls = 0, rv = 1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		ctl_warnx(c, "%s: %s", path, strerror(errno));
		return 1;
	}
	if (fstat(fd, &st) == -1 || (uint64_t)st.st_size != br->size) {
		ctl_warnx(c, "%s: changed since it was hashed", path);
		close(fd);
		return 1;
	}
	if ((buf = malloc(ARB_CHUNK_SIZE)) == NULL) {
		ctl_warnx(c, "%s", strerror(ENOMEM));
		close(fd);
		return 1;
	}
	pc.sha256 = br->sha256;
	pc.size = br->size;
	req.body_case = ARBOR__ENVELOPE__BODY_PUT_CHUNK;
	req.put_chunk = &pc;
	off = 0;
	for (;;) {
		want = br->size - off < ARB_CHUNK_SIZE ?
		    (size_t)(br->size - off) : ARB_CHUNK_SIZE;
		n = arb_io_pread_full(fd, buf, want, off, &got) == 0 ?
		    (ssize_t)got : -1;
		if (n == -1 || (size_t)n != want) {
			ctl_warnx(c, "%s: %s", path, n == -1 ?
			    strerror(errno) : "changed since it was hashed");
			goto done;
		}
		pc.offset = off;
		pc.data.data = buf;
		pc.data.len = want;
		if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_PUT_CHUNK_REPLY,
		    &rep) != 0)
			goto done;
		pr = rep->put_chunk_reply;
		have = pr->have;
		if (pr->complete) {
			arb_wire_free(rep);
			break;
		}
		arb_wire_free(rep);
		if (have > br->size) {
			ctl_warnx(c, "blob %s: the root claims %" PRIu64
			    " of %" PRIu64 " bytes", br->name, have, br->size);
			goto done;
		}
		if (have == br->size) {
			ctl_warnx(c, "blob %s: the root holds all %" PRIu64
			    " bytes but did not accept it", br->name, have);
			goto done;
		}
		/* Resume wherever the root is; refuse to go round forever. */
		if (have <= off && ++stalls > CTL_MAX_STALLS) {
			ctl_warnx(c, "blob %s: the root makes no progress at "
			    "byte %" PRIu64, br->name, have);
			goto done;
		}
		if (have > off)
			stalls = 0;
		off = have;
	}
	printf("blob %s: %" PRIu64 " bytes on the root\n", br->name,
	    br->size);
	rv = 0;
done:
	free(buf);
	close(fd);
	return rv;
}

static int
ctl_publish(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT;
	Arbor__Publish		 pub = ARBOR__PUBLISH__INIT;
	Arbor__Envelope		*rep;
	struct arb_policy_file	*pf;
	char			 err[1024];
	size_t			 i;
	int			 rv;

	if (argc != 2) {
		usage(stderr);
		return 1;
	}
	if (arb_policy_load(argv[1], &pf, err, sizeof(err)) != 0) {
		ctl_warnx(c, "%s", err);
		return 1;
	}
	for (i = 0; i < pf->nblobs; i++)
		if ((rv = ctl_upload(c, pf->blob_paths[i],
		    pf->pol.blobs[i])) != 0)
			goto done;
	pub.policy = &pf->pol;
	req.body_case = ARBOR__ENVELOPE__BODY_PUBLISH;
	req.publish = &pub;
	if ((rv = ctl_call(c, &req, ARBOR__ENVELOPE__BODY_DONE, &rep)) != 0)
		goto done;
	printf("published %s v%" PRIu32 ": head seq %" PRIu64 "%s%s%s\n",
	    pf->pol.id, pf->pol.version, rep->done->seq,
	    rep->done->detail[0] != '\0' ? " (" : "", rep->done->detail,
	    rep->done->detail[0] != '\0' ? ")" : "");
	arb_wire_free(rep);
done:
	arb_policy_file_free(pf);
	return rv;
}

/* ---- retire, push */

static int
ctl_retire_push(struct ctl *c, int argc, char *argv[], int push)
{
	Arbor__Envelope	 req = ARBOR__ENVELOPE__INIT;
	Arbor__Retire	 ret = ARBOR__RETIRE__INIT;
	Arbor__Push	 psh = ARBOR__PUSH__INIT;
	Arbor__Envelope	*rep;

	if (argc != 2) {
		usage(stderr);
		return 1;
	}
	if (!arb_policy_id_valid(argv[1])) {
		ctl_warnx(c, "\"%s\": not a policy id", argv[1]);
		return 1;
	}
	if (push) {
		psh.id = argv[1];
		req.body_case = ARBOR__ENVELOPE__BODY_PUSH;
		req.push = &psh;
	} else {
		ret.id = argv[1];
		req.body_case = ARBOR__ENVELOPE__BODY_RETIRE;
		req.retire = &ret;
	}
	if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_DONE, &rep) != 0)
		return 1;
	printf("%s %s: head seq %" PRIu64 "\n", push ? "pushed" : "retired",
	    argv[1], rep->done->seq);
	arb_wire_free(rep);
	return 0;
}

/* ---- catalog */

/* UTC time as ISO 8601 into out (at least 32 bytes). */
static void
ctl_time(int64_t t, char *out, size_t outlen)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "%" PRId64, t);
}

/* The head's entry for a policy body, matched by its hash; or NULL. */
static const Arbor__PolicyRef *
ctl_find_ref(const Arbor__Head *h, const Arbor__Signed *s)
{
	uint8_t	sha[ARB_SHA256_LEN];
	size_t	i;

	if (h == NULL || arb_sha256(s->body.data, s->body.len, sha) != 0)
		return NULL;
	for (i = 0; i < h->n_policies; i++)
		if (h->policies[i]->sha256.len == ARB_SHA256_LEN &&
		    memcmp(h->policies[i]->sha256.data, sha,
		    ARB_SHA256_LEN) == 0)
			return h->policies[i];
	return NULL;
}

static void
ctl_print_policy(const Arbor__Policy *p, int urgent)
{
	char	hex[ARB_SHA256_HEX];
	size_t	i;

	printf("%s v%" PRIu32 " [%s]%s %s\n", p->id, p->version, p->severity,
	    urgent ? " URGENT" : "", p->title);
	for (i = 0; i < p->n_blobs; i++) {
		if (p->blobs[i]->sha256.len == ARB_SHA256_LEN)
			arb_hex(p->blobs[i]->sha256.data, ARB_SHA256_LEN, hex);
		else
			strcpy(hex, "?");
		printf("    %s  %" PRIu64 " bytes  sha256:%s\n",
		    p->blobs[i]->name, p->blobs[i]->size, hex);
	}
}

static json_t *
ctl_json_policy(const Arbor__Policy *p, int urgent)
{
	json_t	*o, *blobs, *b;
	char	 hex[ARB_SHA256_HEX];
	size_t	 i;

	if ((blobs = json_array()) == NULL)
		return NULL;
	for (i = 0; i < p->n_blobs; i++) {
		hex[0] = '\0';
		if (p->blobs[i]->sha256.len == ARB_SHA256_LEN)
			arb_hex(p->blobs[i]->sha256.data, ARB_SHA256_LEN, hex);
		b = json_pack("{s:s, s:s, s:I}", "name", p->blobs[i]->name,
		    "sha256", hex, "size", (json_int_t)p->blobs[i]->size);
		if (b == NULL || json_array_append_new(blobs, b) != 0) {
			json_decref(blobs);
			return NULL;
		}
	}
	o = json_pack("{s:s, s:I, s:s, s:s, s:b, s:I, s:o}", "id", p->id,
	    "version", (json_int_t)p->version, "title", p->title,
	    "severity", p->severity, "urgent", urgent, "published_at",
	    (json_int_t)p->published_at, "blobs", blobs);
	return o;
}

/* Decode and show the catalog; 0, or 1 after a message. */
static int
ctl_show_catalog(const struct ctl *c, const Arbor__CatalogReply *cr,
    int as_json)
{
	Arbor__Head		*h = NULL;
	Arbor__Policy		*p;
	const Arbor__PolicyRef	*ref;
	json_t			*doc = NULL, *pols = NULL, *o;
	char			 t1[32], t2[32], *s;
	size_t			 i;
	int			 rv, ret = 1;

	if (cr->head != NULL && (rv = arb_wire_decode_head(cr->head->body.data,
	    cr->head->body.len, &h)) != 0) {
		ctl_warnx(c, "bad head from the root: %s", arb_strerror(rv));
		return 1;
	}
	if (as_json) {
		if ((pols = json_array()) == NULL)
			goto nomem;
		doc = h == NULL ? json_pack("{s:n}", "head") :
		    json_pack("{s:{s:I, s:I, s:I}}", "head",
		    "seq", (json_int_t)h->seq, "issued_at",
		    (json_int_t)h->issued_at, "expires_at",
		    (json_int_t)h->expires_at);
		if (doc == NULL) {
			json_decref(pols);
			goto nomem;
		}
		if (json_object_set_new(doc, "policies", pols) != 0)
			goto nomem;
	} else if (h == NULL) {
		printf("no head yet\n");
	} else {
		ctl_time(h->issued_at, t1, sizeof(t1));
		ctl_time(h->expires_at, t2, sizeof(t2));
		printf("head seq %" PRIu64 "  issued %s  expires %s\n",
		    h->seq, t1, t2);
	}
	for (i = 0; i < cr->n_policies; i++) {
		if ((rv = arb_wire_decode_policy(cr->policies[i]->body.data,
		    cr->policies[i]->body.len, &p)) != 0) {
			ctl_warnx(c, "bad policy from the root: %s",
			    arb_strerror(rv));
			goto done;
		}
		ref = ctl_find_ref(h, cr->policies[i]);
		if (!as_json) {
			ctl_print_policy(p, ref != NULL && ref->urgent);
		} else if ((o = ctl_json_policy(p, ref != NULL &&
		    ref->urgent)) == NULL || json_array_append_new(pols,
		    o) != 0) {
			arb_wire_free_policy(p);
			goto nomem;
		}
		arb_wire_free_policy(p);
	}
	if (as_json) {
		if ((s = json_dumps(doc, JSON_INDENT(2))) == NULL)
			goto nomem;
		printf("%s\n", s);
		free(s);
	}
	ret = 0;
	goto done;
nomem:
	ctl_warnx(c, "%s", strerror(ENOMEM));
done:
	json_decref(doc);
	if (h != NULL)
		arb_wire_free_head(h);
	return ret;
}

static int
ctl_catalog(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT;
	Arbor__GetCatalog	 gc = ARBOR__GET_CATALOG__INIT;
	Arbor__Envelope		*rep;
	int			 as_json = 0, rv;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		as_json = 1;
	else if (argc != 1) {
		usage(stderr);
		return 1;
	}
	req.body_case = ARBOR__ENVELOPE__BODY_GET_CATALOG;
	req.get_catalog = &gc;
	if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_CATALOG_REPLY, &rep) != 0)
		return 1;
	rv = ctl_show_catalog(c, rep->catalog_reply, as_json);
	arb_wire_free(rep);
	return rv;
}

/* ---- operator view: status, endpoints, tree, rollback */

#define CTL_WATCH_MS		200	/* --watch period, ms */
#define CTL_WATCH_TIMEOUT	600	/* --until-complete: default, s */
#define CTL_EXIT_TIMEOUT	3
#define CTL_BAR_WIDTH		30
#define CTL_DETAIL_MAX		60	/* characters of detail shown */

/*
 * One option of a command: argv[*ip] is name, with its value after '=' or
 * in the next word.  1 with *valp set (and *ip past the value), 0 if the
 * word is something else, -1 if the value is missing.
 */
static int
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

/* Append to the string in buf (size bytes), truncating. */
static void	ctl_cat(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
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
static void
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

/* Characters on screen, counting a UTF-8 sequence as one. */
static size_t
ctl_width(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* How long ago t (seconds since the epoch) was: "3s ago", "never". */
static void
ctl_age(int64_t t, char *out, size_t outlen)
{
	int64_t	d = (int64_t)time(NULL) - t;

	if (t <= 0)
		snprintf(out, outlen, "never");
	else if (d < 0)
		snprintf(out, outlen, "just now");
	else if (d < 120)
		snprintf(out, outlen, "%" PRId64 "s ago", d);
	else if (d < 2 * 3600)
		snprintf(out, outlen, "%" PRId64 "m ago", d / 60);
	else if (d < 2 * 86400)
		snprintf(out, outlen, "%" PRId64 "h ago", d / 3600);
	else
		snprintf(out, outlen, "%" PRId64 "d ago", d / 86400);
}

/* Wall-clock milliseconds as ISO 8601 with milliseconds, or "never". */
static void
ctl_time_ms(int64_t ms, char *out, size_t outlen)
{
	struct tm	tm;
	time_t		tt = (time_t)(ms / 1000);
	char		s[32];

	if (ms <= 0) {
		snprintf(out, outlen, "never");
		return;
	}
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(out, outlen, "%" PRId64 " ms", ms);
		return;
	}
	snprintf(out, outlen, "%s.%03dZ", s, (int)(ms % 1000));
}

static int64_t
ctl_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
ctl_sleep_ms(int64_t ms)
{
	struct timespec	ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* "unknown, not-applicable, ..." for messages. */
static void
ctl_state_list(char *buf, size_t size)
{
	unsigned	i;

	buf[0] = '\0';
	for (i = 0; i < ARB_ST_COUNT; i++)
		ctl_cat(buf, size, "%s%s", i ? ", " : "", arb_state_name(i));
}

/* ---- status */

struct ctl_status {
	const char	*id;		/* one policy, or NULL for all */
	int		 as_json;
	int		 watch;
	int		 until;		/* --until-complete */
	int		 timeout;	/* s; 0: none */
};

static uint32_t
ctl_count(const Arbor__PolicyCounts *pc, unsigned st)
{
	return st < pc->n_counts ? pc->counts[st] : 0;
}

/* 1 for the states a policy rests in on an endpoint. */
static int
ctl_state_done(unsigned st)
{
	switch (st) {
	case ARB_ST_FIXED:
	case ARB_ST_FAILED:
	case ARB_ST_NOT_APPLICABLE:
	case ARB_ST_REBOOT_PENDING:
	case ARB_ST_ROLLED_BACK:
	case ARB_ST_ERROR:
		return 1;
	default:
		return 0;
	}
}

static uint64_t
ctl_done(const Arbor__PolicyCounts *pc, uint64_t *reportingp)
{
	uint64_t	done = 0, all = 0;
	unsigned	i;

	for (i = 0; i < ARB_ST_COUNT; i++) {
		all += ctl_count(pc, i);
		if (ctl_state_done(i))
			done += ctl_count(pc, i);
	}
	if (reportingp != NULL)
		*reportingp = all;
	return done;
}

static int
ctl_cmp_counts(const void *a, const void *b)
{
	const Arbor__PolicyCounts *const *x = a, *const *y = b;

	return strcmp((*x)->policy_id, (*y)->policy_id);
}

/* Ask for the status, policies sorted by id; 0, or 1 after a message. */
static int
ctl_get_status(const struct ctl *c, const char *id, Arbor__Envelope **repp)
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT;
	Arbor__GetStatus	 gs = ARBOR__GET_STATUS__INIT;
	Arbor__Envelope		*rep;
	Arbor__StatusReply	*sr;

	if (id != NULL)
		gs.policy_id = (char *)id;
	req.body_case = ARBOR__ENVELOPE__BODY_GET_STATUS;
	req.get_status = &gs;
	if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_STATUS_REPLY, &rep) != 0)
		return 1;
	sr = rep->status_reply;
	if (sr->n_policies > 1)
		qsort(sr->policies, sr->n_policies, sizeof(*sr->policies),
		    ctl_cmp_counts);
	*repp = rep;
	return 0;
}

/* "ID vN: 8 fixed, 1 failed (9 reporting)" */
static void
ctl_status_line(const Arbor__PolicyCounts *pc, char *buf, size_t size)
{
	char		id[ARB_MAX_ID + 8];
	uint64_t	all;
	unsigned	i;
	int		first = 1;

	ctl_clean(pc->policy_id, ARB_MAX_ID, id, sizeof(id));
	buf[0] = '\0';
	ctl_cat(buf, size, "%s v%" PRIu32 ":", id, pc->version);
	for (i = 0; i < ARB_ST_COUNT; i++) {
		if (ctl_count(pc, i) == 0)
			continue;
		ctl_cat(buf, size, "%s %" PRIu32 " %s", first ? "" : ",",
		    ctl_count(pc, i), arb_state_name(i));
		first = 0;
	}
	(void)ctl_done(pc, &all);
	if (first)
		ctl_cat(buf, size, " no reports");
	else
		ctl_cat(buf, size, " (%" PRIu64 " reporting)", all);
}

/* "root: 12 endpoints enrolled; received ..." */
static void
ctl_summary_line(const Arbor__StatusReply *sr, char *buf, size_t size)
{
	char	t[48];

	ctl_time_ms(sr->last_report_at_ms, t, sizeof(t));
	snprintf(buf, size, "root: %" PRIu64 " endpoint%s enrolled; "
	    "received %" PRIu64 " report%s in %" PRIu64 " batch%s "
	    "(%" PRIu64 " rejected); last report %s; head seq %" PRIu64,
	    sr->endpoints, sr->endpoints == 1 ? "" : "s",
	    sr->reports, sr->reports == 1 ? "" : "s",
	    sr->batches, sr->batches == 1 ? "" : "es",
	    sr->rejected, t, sr->head_seq);
}

static int
ctl_status_json(const struct ctl *c, const Arbor__StatusReply *sr)
{
	json_t		*doc, *pols, *counts, *o;
	char		*s;
	size_t		 i;
	uint32_t	 n;
	unsigned	 st;

	doc = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "head_seq", (json_int_t)sr->head_seq,
	    "endpoints", (json_int_t)sr->endpoints,
	    "batches", (json_int_t)sr->batches,
	    "reports", (json_int_t)sr->reports,
	    "accepted", (json_int_t)sr->accepted,
	    "rejected", (json_int_t)sr->rejected,
	    "last_report_at_ms", (json_int_t)sr->last_report_at_ms,
	    "bytes_served", (json_int_t)sr->bytes_served,
	    "report_bytes", (json_int_t)sr->report_bytes,
	    "requests", (json_int_t)sr->requests);
	if (doc == NULL || (pols = json_array()) == NULL ||
	    json_object_set_new(doc, "policies", pols) != 0)
		goto nomem;
	for (i = 0; i < sr->n_policies; i++) {
		if ((counts = json_object()) == NULL)
			goto nomem;
		for (st = 0; st < ARB_ST_COUNT; st++) {
			n = ctl_count(sr->policies[i], st);
			if (json_object_set_new(counts, arb_state_name(st),
			    json_integer(n)) != 0) {
				json_decref(counts);
				goto nomem;
			}
		}
		o = json_pack("{s:s, s:I, s:o}", "id",
		    sr->policies[i]->policy_id, "version",
		    (json_int_t)sr->policies[i]->version, "counts", counts);
		if (o == NULL || json_array_append_new(pols, o) != 0)
			goto nomem;
	}
	if ((s = json_dumps(doc, JSON_INDENT(2))) == NULL)
		goto nomem;
	printf("%s\n", s);
	free(s);
	json_decref(doc);
	return 0;
nomem:
	json_decref(doc);
	ctl_warnx(c, "%s", strerror(ENOMEM));
	return 1;
}

static void
ctl_status_print(const Arbor__StatusReply *sr, const char *id)
{
	char	line[2048];
	size_t	i;

	if (sr->n_policies == 0)
		printf("%s: no reports\n", id != NULL ? id : "policies");
	for (i = 0; i < sr->n_policies; i++) {
		ctl_status_line(sr->policies[i], line, sizeof(line));
		printf("%s\n", line);
	}
	ctl_summary_line(sr, line, sizeof(line));
	printf("%s\n", line);
}

/*
 * 1 when every endpoint enrolled rests in a final state for the policy
 * (every policy the reply holds); never for no endpoints or no policies.
 */
static int
ctl_complete(const Arbor__StatusReply *sr)
{
	size_t	i;

	if (sr->endpoints == 0 || sr->n_policies == 0)
		return 0;
	for (i = 0; i < sr->n_policies; i++)
		if (ctl_done(sr->policies[i], NULL) < sr->endpoints)
			return 0;
	return 1;
}

/* "ID vN [#####.....] 8/12 done  fixed 7 failed 1" */
static void
ctl_bar_line(const Arbor__PolicyCounts *pc, uint64_t enrolled, int idw,
    char *buf, size_t size)
{
	char		id[ARB_MAX_ID + 8], bar[CTL_BAR_WIDTH + 1];
	uint64_t	done = ctl_done(pc, NULL), fill;
	unsigned	i;

	ctl_clean(pc->policy_id, ARB_MAX_ID, id, sizeof(id));
	fill = enrolled == 0 ? 0 : done >= enrolled ? CTL_BAR_WIDTH :
	    done * CTL_BAR_WIDTH / enrolled;
	memset(bar, '.', CTL_BAR_WIDTH);
	memset(bar, '#', (size_t)fill);
	bar[CTL_BAR_WIDTH] = '\0';
	snprintf(buf, size, "%s v%-*" PRIu32 " [%s] %" PRIu64 "/%" PRIu64
	    " done ", id, idw - (int)ctl_width(id), pc->version, bar, done,
	    enrolled);
	for (i = 0; i < ARB_ST_COUNT; i++)
		if (ctl_count(pc, i) != 0)
			ctl_cat(buf, size, " %s %" PRIu32, arb_state_name(i),
			    ctl_count(pc, i));
}

/*
 * One frame on a terminal: back up over the previous one (*linesp lines)
 * and redraw.  Lines are cut to the width and the frame to the height, so
 * the cursor arithmetic holds.
 */
static void
ctl_draw(const Arbor__StatusReply *sr, const char *id, int *linesp)
{
	struct winsize	ws;
	char		line[2048], pid[ARB_MAX_ID + 8];
	size_t		i, shown;
	int		cols = 80, rows = 24, n = 0, idw = 0, w;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
		cols = ws.ws_col;
		rows = ws.ws_row > 2 ? ws.ws_row : 3;
	}
	if (*linesp > 0)
		printf("\033[%dA\r", *linesp);
	shown = sr->n_policies;
	if (shown > (size_t)rows - 2)
		shown = (size_t)rows - 3;
	/* Bars line up: ids and versions padded to the longest. */
	for (i = 0; i < shown; i++) {
		snprintf(line, sizeof(line), "%" PRIu32,
		    sr->policies[i]->version);
		ctl_clean(sr->policies[i]->policy_id, ARB_MAX_ID, pid,
		    sizeof(pid));
		if ((w = (int)(ctl_width(pid) + strlen(line))) > idw)
			idw = w;
	}
	if (sr->n_policies == 0) {
		snprintf(line, sizeof(line), "%s: no reports",
		    id != NULL ? id : "policies");
		printf("%.*s\033[K\n", cols - 1, line);
		n++;
	}
	for (i = 0; i < shown; i++, n++) {
		ctl_bar_line(sr->policies[i], sr->endpoints, idw, line,
		    sizeof(line));
		printf("%.*s\033[K\n", cols - 1, line);
	}
	if (shown < sr->n_policies) {
		printf("... and %zu more\033[K\n", sr->n_policies - shown);
		n++;
	}
	ctl_summary_line(sr, line, sizeof(line));
	printf("%.*s\033[K\n\033[J", cols - 1, line);
	fflush(stdout);
	*linesp = n + 1;
}

static const Arbor__PolicyCounts *
ctl_find_counts(const Arbor__StatusReply *sr, const char *id)
{
	size_t	i;

	for (i = 0; i < sr->n_policies; i++)
		if (strcmp(sr->policies[i]->policy_id, id) == 0)
			return sr->policies[i];
	return NULL;
}

/*
 * Not on a terminal: a line, with the time, for each policy whose counts
 * (or the number of endpoints they are out of) changed since prev.
 */
static void
ctl_log_changes(const Arbor__StatusReply *sr, const Arbor__StatusReply *prev,
    const char *id)
{
	const Arbor__PolicyCounts	*pc, *old;
	struct timeval			 tv;
	char				 t[48], line[2048];
	size_t				 i;
	unsigned			 st;
	int				 same;

	gettimeofday(&tv, NULL);
	ctl_time_ms((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, t,
	    sizeof(t));
	if (prev == NULL && sr->n_policies == 0)
		printf("%s %s: no reports\n", t, id != NULL ? id : "policies");
	for (i = 0; i < sr->n_policies; i++) {
		pc = sr->policies[i];
		old = prev != NULL ? ctl_find_counts(prev, pc->policy_id) :
		    NULL;
		same = old != NULL && old->version == pc->version &&
		    prev->endpoints == sr->endpoints;
		for (st = 0; same && st < ARB_ST_COUNT; st++)
			same = ctl_count(old, st) == ctl_count(pc, st);
		if (same)
			continue;
		ctl_status_line(pc, line, sizeof(line));
		printf("%s %s; %" PRIu64 "/%" PRIu64 " done\n", t, line,
		    ctl_done(pc, NULL), sr->endpoints);
	}
	fflush(stdout);
}

static int
ctl_status_watch(const struct ctl *c, const struct ctl_status *o)
{
	Arbor__Envelope	*rep, *prev = NULL;
	int64_t		 deadline = 0, now;
	int		 tty, lines = 0, rv;

	tty = isatty(STDOUT_FILENO);
	if (o->timeout > 0)
		deadline = ctl_mono_ms() + (int64_t)o->timeout * 1000;
	for (;;) {
		if ((rv = ctl_get_status(c, o->id, &rep)) != 0)
			break;
		if (tty)
			ctl_draw(rep->status_reply, o->id, &lines);
		else
			ctl_log_changes(rep->status_reply, prev != NULL ?
			    prev->status_reply : NULL, o->id);
		if (prev != NULL)
			arb_wire_free(prev);
		prev = rep;
		if (o->until && ctl_complete(rep->status_reply)) {
			rv = 0;
			break;
		}
		now = ctl_mono_ms();
		if (deadline != 0 && now >= deadline) {
			if (o->until)
				ctl_warnx(c, "not complete after %d s",
				    o->timeout);
			rv = CTL_EXIT_TIMEOUT;
			break;
		}
		ctl_sleep_ms(deadline != 0 && deadline - now < CTL_WATCH_MS ?
		    deadline - now : CTL_WATCH_MS);
	}
	if (prev != NULL)
		arb_wire_free(prev);
	return rv;
}

static int
ctl_status(struct ctl *c, int argc, char *argv[])
{
	struct ctl_status	 o = { NULL, 0, 0, 0, -1 };
	Arbor__Envelope		*rep;
	const char		*val;
	char			*end;
	long			 l;
	int			 i, r, rv;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			o.as_json = 1;
		else if (strcmp(argv[i], "--watch") == 0)
			o.watch = 1;
		else if (strcmp(argv[i], "--until-complete") == 0)
			o.until = 1;
		else if ((r = ctl_opt(argc, argv, &i, "--timeout",
		    &val)) != 0) {
			errno = 0;
			l = r < 0 ? 0 : strtol(val, &end, 10);
			if (r < 0 || end == val || *end != '\0' || errno != 0 ||
			    l < 1 || l > 7 * 86400) {
				ctl_warnx(c, "--timeout: want seconds, "
				    "1 to %d", 7 * 86400);
				return 1;
			}
			o.timeout = (int)l;
		} else if (argv[i][0] == '-' || o.id != NULL) {
			usage(stderr);
			return 1;
		} else
			o.id = argv[i];
	}
	if (!o.watch && (o.until || o.timeout >= 0)) {
		ctl_warnx(c, "--until-complete and --timeout go with --watch");
		return 1;
	}
	if (o.watch && o.as_json) {
		ctl_warnx(c, "--watch and --json do not go together");
		return 1;
	}
	if (o.id != NULL && !arb_policy_id_valid(o.id)) {
		ctl_warnx(c, "\"%s\": not a policy id", o.id);
		return 1;
	}
	/* A watch that waits for something is bounded unless told. */
	if (o.timeout < 0)
		o.timeout = o.until ? CTL_WATCH_TIMEOUT : 0;
	if (o.watch)
		return ctl_status_watch(c, &o);
	if (ctl_get_status(c, o.id, &rep) != 0)
		return 1;
	rv = 0;
	if (o.as_json)
		rv = ctl_status_json(c, rep->status_reply);
	else
		ctl_status_print(rep->status_reply, o.id);
	arb_wire_free(rep);
	return rv;
}

/* ---- endpoints */

enum {
	EPC_ID, EPC_HOST, EPC_POLICY, EPC_CONTACT, EPC_STATE, EPC_VIA,
	EPC_DETAIL, EPC_COUNT
};

struct ctl_eprow {
	char	*col[EPC_COUNT];
};

static int
ctl_cmp_ep(const void *a, const void *b)
{
	const Arbor__EndpointInfo *const *x = a, *const *y = b;
	int	d;

	if ((d = strcmp((*x)->hostname, (*y)->hostname)) != 0)
		return d;
	if ((d = strcmp((*x)->endpoint_id, (*y)->endpoint_id)) != 0)
		return d;
	return strcmp((*x)->policy_id, (*y)->policy_id);
}

/* "r1 < r2 < r3", nearest the endpoint first; "direct" for none. */
static char *
ctl_via(const Arbor__EndpointInfo *e)
{
	char	*s, one[ARB_MAX_ID + 8];
	size_t	 i, size;

	size = 8 + e->n_via * (sizeof(one) + 3);
	if ((s = malloc(size)) == NULL)
		return NULL;
	s[0] = '\0';
	if (e->n_via == 0)
		ctl_cat(s, size, "direct");
	for (i = 0; i < e->n_via; i++) {
		ctl_clean(e->via[i], ARB_MAX_ID, one, sizeof(one));
		ctl_cat(s, size, "%s%s", i ? " < " : "", one);
	}
	return s;
}

static int
ctl_ep_row(const Arbor__EndpointInfo *e, struct ctl_eprow *row)
{
	char		buf[4 * ARB_MAX_ID + 64], id[16];
	const char	*name;
	int		i;

	memset(row, 0, sizeof(*row));
	ctl_clean(e->endpoint_id, 0, buf, sizeof(buf));
	snprintf(id, sizeof(id), "%.12s", buf);
	row->col[EPC_ID] = strdup(id);
	ctl_clean(e->hostname, 64, buf, sizeof(buf));
	row->col[EPC_HOST] = strdup(buf[0] != '\0' ? buf : "-");
	if (e->policy_id[0] == '\0')
		snprintf(buf, sizeof(buf), "-");
	else {
		ctl_clean(e->policy_id, ARB_MAX_ID, buf, sizeof(buf));
		ctl_cat(buf, sizeof(buf), " v%" PRIu32, e->version);
	}
	row->col[EPC_POLICY] = strdup(buf);
	ctl_age(e->last_contact, buf, sizeof(buf));
	row->col[EPC_CONTACT] = strdup(buf);
	if (e->policy_id[0] == '\0')
		snprintf(buf, sizeof(buf), "-");
	else if ((name = arb_state_name(e->state)) == NULL)
		snprintf(buf, sizeof(buf), "state %" PRIu32, e->state);
	else if (e->state == ARB_ST_FAILED)
		snprintf(buf, sizeof(buf), "%s (exit %" PRId32 ")", name,
		    e->exit_code);
	else
		snprintf(buf, sizeof(buf), "%s", name);
	row->col[EPC_STATE] = strdup(buf);
	row->col[EPC_VIA] = ctl_via(e);
	ctl_clean(e->detail, CTL_DETAIL_MAX, buf, sizeof(buf));
	row->col[EPC_DETAIL] = strdup(buf);
	for (i = 0; i < EPC_COUNT; i++)
		if (row->col[i] == NULL)
			return -ENOMEM;
	return 0;
}

static void
ctl_ep_row_free(struct ctl_eprow *row)
{
	int	i;

	for (i = 0; i < EPC_COUNT; i++)
		free(row->col[i]);
}

static int
ctl_ep_table(const struct ctl *c, Arbor__EndpointInfo **v, size_t n,
    int show_policy)
{
	static const char	*head[EPC_COUNT] = { "ENDPOINT", "HOSTNAME",
				    "POLICY", "LAST CONTACT", "STATE", "VIA",
				    "DETAIL" };
	struct ctl_eprow	*rows;
	size_t			 w[EPC_COUNT], i, len;
	int			 j, ret = 1;

	if (n == 0) {
		printf("no endpoints\n");
		return 0;
	}
	if ((rows = calloc(n, sizeof(*rows))) == NULL) {
		ctl_warnx(c, "%s", strerror(ENOMEM));
		return 1;
	}
	for (j = 0; j < EPC_COUNT; j++)
		w[j] = strlen(head[j]);
	for (i = 0; i < n; i++) {
		if (ctl_ep_row(v[i], &rows[i]) != 0) {
			ctl_warnx(c, "%s", strerror(ENOMEM));
			n = i + 1;
			goto done;
		}
		for (j = 0; j < EPC_COUNT; j++)
			if ((len = ctl_width(rows[i].col[j])) > w[j])
				w[j] = len;
	}
	for (j = 0; j < EPC_COUNT; j++) {
		if (j == EPC_POLICY && !show_policy)
			continue;
		if (j == EPC_DETAIL)
			printf("%s\n", head[j]);
		else
			printf("%-*s  ", (int)w[j], head[j]);
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < EPC_COUNT; j++) {
			if (j == EPC_POLICY && !show_policy)
				continue;
			if (j == EPC_DETAIL)
				printf("%s\n", rows[i].col[j]);
			else
				printf("%s%*s  ", rows[i].col[j],
				    (int)(w[j] - ctl_width(rows[i].col[j])),
				    "");
		}
	ret = 0;
done:
	for (i = 0; i < n; i++)
		ctl_ep_row_free(&rows[i]);
	free(rows);
	return ret;
}

static int
ctl_ep_json(const struct ctl *c, Arbor__EndpointInfo **v, size_t n)
{
	json_t		*doc, *via, *o;
	const char	*name;
	char		*s;
	size_t		 i, k;

	if ((doc = json_array()) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if ((via = json_array()) == NULL)
			goto nomem;
		for (k = 0; k < v[i]->n_via; k++)
			if (json_array_append_new(via,
			    json_string(v[i]->via[k])) != 0) {
				json_decref(via);
				goto nomem;
			}
		name = arb_state_name(v[i]->state);
		o = json_pack("{s:s, s:s, s:I, s:o, s:s, s:s?, s:I, s:i, "
		    "s:s, s:I}", "endpoint_id", v[i]->endpoint_id,
		    "hostname", v[i]->hostname,
		    "last_contact", (json_int_t)v[i]->last_contact,
		    "via", via, "policy_id", v[i]->policy_id,
		    "state", name, "state_code", (json_int_t)v[i]->state,
		    "exit_code", (int)v[i]->exit_code,
		    "detail", v[i]->detail,
		    "version", (json_int_t)v[i]->version);
		if (o == NULL || json_array_append_new(doc, o) != 0)
			goto nomem;
	}
	if ((s = json_dumps(doc, JSON_INDENT(2))) == NULL)
		goto nomem;
	printf("%s\n", s);
	free(s);
	json_decref(doc);
	return 0;
nomem:
	json_decref(doc);
	ctl_warnx(c, "%s", strerror(ENOMEM));
	return 1;
}

static int
ctl_endpoints(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT;
	Arbor__GetEndpoints	 ge = ARBOR__GET_ENDPOINTS__INIT;
	Arbor__Envelope		*rep;
	Arbor__EndpointsReply	*er;
	const char		*policy = NULL, *state = NULL;
	char			 names[256];
	unsigned		 st;
	int			 i, r, as_json = 0, rv;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			as_json = 1;
			continue;
		}
		if ((r = ctl_opt(argc, argv, &i, "--policy", &policy)) == 0)
			r = ctl_opt(argc, argv, &i, "--state", &state);
		if (r <= 0) {
			usage(stderr);
			return 1;
		}
	}
	ge.state = -1;
	if (policy != NULL) {
		if (!arb_policy_id_valid(policy)) {
			ctl_warnx(c, "\"%s\": not a policy id", policy);
			return 1;
		}
		ge.policy_id = (char *)policy;
	}
	if (state != NULL) {
		if (arb_state_parse(state, &st) != 0) {
			ctl_state_list(names, sizeof(names));
			ctl_warnx(c, "\"%s\": not a state (one of %s)", state,
			    names);
			return 1;
		}
		ge.state = (int32_t)st;
	}
	req.body_case = ARBOR__ENVELOPE__BODY_GET_ENDPOINTS;
	req.get_endpoints = &ge;
	if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_ENDPOINTS_REPLY,
	    &rep) != 0)
		return 1;
	er = rep->endpoints_reply;
	if (er->n_endpoints > 1)
		qsort(er->endpoints, er->n_endpoints, sizeof(*er->endpoints),
		    ctl_cmp_ep);
	if (as_json)
		rv = ctl_ep_json(c, er->endpoints, er->n_endpoints);
	else
		rv = ctl_ep_table(c, er->endpoints, er->n_endpoints,
		    policy == NULL && state != NULL);
	arb_wire_free(rep);
	return rv;
}

/* ---- tree */

static int
ctl_cmp_relay(const void *a, const void *b)
{
	const Arbor__RelayInfo *const *x = a, *const *y = b;
	int	d;

	if ((d = strcmp((*x)->parent, (*y)->parent)) != 0)
		return d;
	return strcmp((*x)->node_id, (*y)->node_id);
}

static int
ctl_tree_json(const struct ctl *c, const Arbor__TreeReply *tr)
{
	json_t		*doc, *relays, *o;
	char		*s;
	size_t		 i;

	if ((doc = json_pack("{s:I}", "head_seq",
	    (json_int_t)tr->head_seq)) == NULL ||
	    (relays = json_array()) == NULL ||
	    json_object_set_new(doc, "relays", relays) != 0)
		goto nomem;
	for (i = 0; i < tr->n_relays; i++) {
		o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}",
		    "node_id", tr->relays[i]->node_id,
		    "parent", tr->relays[i]->parent,
		    "children", (json_int_t)tr->relays[i]->children,
		    "head_seq", (json_int_t)tr->relays[i]->head_seq,
		    "lag", (json_int_t)(tr->head_seq -
		    tr->relays[i]->head_seq),
		    "last_contact", (json_int_t)tr->relays[i]->at);
		if (o == NULL || json_array_append_new(relays, o) != 0)
			goto nomem;
	}
	if ((s = json_dumps(doc, JSON_INDENT(2))) == NULL)
		goto nomem;
	printf("%s\n", s);
	free(s);
	json_decref(doc);
	return 0;
nomem:
	json_decref(doc);
	ctl_warnx(c, "%s", strerror(ENOMEM));
	return 1;
}

enum { TRC_NODE, TRC_PARENT, TRC_CHILDREN, TRC_CONTACT, TRC_LAG, TRC_COUNT };

/*
 * A relay names its parent by the svc address it uses, not by node id, so
 * the tree is shown as a table sorted by parent: siblings stand together.
 */
static void
ctl_tree_print(const Arbor__TreeReply *tr)
{
	static const char	*head[TRC_COUNT] = { "RELAY", "PARENT",
				    "CHILDREN", "LAST CONTACT", "LAG" };
	char			 cell[TRC_COUNT][4 * ARB_MAX_ID + 8];
	size_t			 w[TRC_COUNT], i, len;
	int			 pass, j;

	printf("root head seq %" PRIu64 "\n", tr->head_seq);
	if (tr->n_relays == 0) {
		printf("no relays have reported\n");
		return;
	}
	for (j = 0; j < TRC_COUNT; j++)
		w[j] = strlen(head[j]);
	/* Pass 0 measures, pass 1 prints. */
	for (pass = 0; pass < 2; pass++) {
		for (j = 0; pass == 1 && j < TRC_COUNT; j++) {
			if (j == TRC_COUNT - 1)
				printf("%s\n", head[j]);
			else
				printf("%-*s  ", (int)w[j], head[j]);
		}
		for (i = 0; i < tr->n_relays; i++) {
			const Arbor__RelayInfo *ri = tr->relays[i];

			ctl_clean(ri->node_id, ARB_MAX_ID, cell[TRC_NODE],
			    sizeof(cell[0]));
			ctl_clean(ri->parent, ARB_MAX_ID, cell[TRC_PARENT],
			    sizeof(cell[0]));
			snprintf(cell[TRC_CHILDREN], sizeof(cell[0]),
			    "%" PRIu32, ri->children);
			ctl_age(ri->at, cell[TRC_CONTACT], sizeof(cell[0]));
			if (ri->head_seq == tr->head_seq)
				snprintf(cell[TRC_LAG], sizeof(cell[0]),
				    "up to date");
			else if (ri->head_seq > tr->head_seq)
				snprintf(cell[TRC_LAG], sizeof(cell[0]),
				    "ahead by %" PRIu64 " (seq %" PRIu64 ")",
				    ri->head_seq - tr->head_seq, ri->head_seq);
			else
				snprintf(cell[TRC_LAG], sizeof(cell[0]),
				    "%" PRIu64 " behind (seq %" PRIu64 ")",
				    tr->head_seq - ri->head_seq, ri->head_seq);
			for (j = 0; j < TRC_COUNT; j++) {
				len = ctl_width(cell[j]);
				if (pass == 0) {
					if (len > w[j])
						w[j] = len;
				} else if (j == TRC_COUNT - 1)
					printf("%s\n", cell[j]);
				else
					printf("%s%*s  ", cell[j],
					    (int)(w[j] - len), "");
			}
		}
	}
}

static int
ctl_tree(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope		 req = ARBOR__ENVELOPE__INIT;
	Arbor__GetTree		 gt = ARBOR__GET_TREE__INIT;
	Arbor__Envelope		*rep;
	Arbor__TreeReply	*tr;
	int			 as_json = 0, rv = 0;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		as_json = 1;
	else if (argc != 1) {
		usage(stderr);
		return 1;
	}
	req.body_case = ARBOR__ENVELOPE__BODY_GET_TREE;
	req.get_tree = &gt;
	if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_TREE_REPLY, &rep) != 0)
		return 1;
	tr = rep->tree_reply;
	if (tr->n_relays > 1)
		qsort(tr->relays, tr->n_relays, sizeof(*tr->relays),
		    ctl_cmp_relay);
	if (as_json)
		rv = ctl_tree_json(c, tr);
	else
		ctl_tree_print(tr);
	arb_wire_free(rep);
	return rv;
}

/* ---- rollback */

static int
ctl_rollback(struct ctl *c, int argc, char *argv[])
{
	Arbor__Envelope	 req = ARBOR__ENVELOPE__INIT;
	Arbor__Rollback	 rb = ARBOR__ROLLBACK__INIT;
	Arbor__Envelope	*rep;

	if (argc != 2) {
		usage(stderr);
		return 1;
	}
	if (!arb_policy_id_valid(argv[1])) {
		ctl_warnx(c, "\"%s\": not a policy id", argv[1]);
		return 1;
	}
	rb.id = argv[1];
	req.body_case = ARBOR__ENVELOPE__BODY_ROLLBACK;
	req.rollback = &rb;
	if (ctl_call(c, &req, ARBOR__ENVELOPE__BODY_DONE, &rep) != 0)
		return 1;
	printf("rollback of %s asked: head seq %" PRIu64 "\n", argv[1],
	    rep->done->seq);
	arb_wire_free(rep);
	return 0;
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
	const char			*url = NULL, *dir = NULL;
	int				 ch;

	/* "+": options end at the command, which has its own. */
	while ((ch = getopt_long(argc, argv, "+d:hs:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage(stdout);
			*exitp = 0;
			return -1;
		case 's':
			url = optarg;
			break;
		default:
			usage(stderr);
			*exitp = 1;
			return -1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		*exitp = 1;
		return -1;
	}
	if (url == NULL && dir != NULL) {
		if (asprintf(&c->url_buf, "ipc://%s/control.sock", dir) < 0) {
			fprintf(stderr, "arborctl: %s\n", strerror(ENOMEM));
			*exitp = 1;
			return -1;
		}
		url = c->url_buf;
	}
	if (url == NULL)
		url = getenv("ARBOR_CONTROL");
	if (url == NULL || url[0] == '\0')
		url = CTL_DEFAULT_URL;
	c->url = url;
	c->cmd = argv[optind];
	return optind;
}

int
main(int argc, char *argv[])
{
	struct ctl	 c = { NULL, NULL, NULL };
	char		**av;
	int		 i, ac, rv = 1;

	log_init(1, LOG_USER);
	log_procinit("arborctl");
	if ((i = ctl_args(&c, argc, argv, &rv)) < 0)
		return rv;
	av = argv + i;
	ac = argc - i;
	if (strcmp(c.cmd, "keygen") == 0)
		rv = ctl_keygen(&c, ac, av);
	else if (strcmp(c.cmd, "publish") == 0)
		rv = ctl_publish(&c, ac, av);
	else if (strcmp(c.cmd, "retire") == 0)
		rv = ctl_retire_push(&c, ac, av, 0);
	else if (strcmp(c.cmd, "push") == 0)
		rv = ctl_retire_push(&c, ac, av, 1);
	else if (strcmp(c.cmd, "catalog") == 0)
		rv = ctl_catalog(&c, ac, av);
	else if (strcmp(c.cmd, "rollback") == 0)
		rv = ctl_rollback(&c, ac, av);
	else if (strcmp(c.cmd, "status") == 0)
		rv = ctl_status(&c, ac, av);
	else if (strcmp(c.cmd, "endpoints") == 0)
		rv = ctl_endpoints(&c, ac, av);
	else if (strcmp(c.cmd, "tree") == 0)
		rv = ctl_tree(&c, ac, av);
	else {
		fprintf(stderr, "arborctl: unknown command \"%s\"\n", c.cmd);
		usage(stderr);
		rv = 1;
	}
	free(c.url_buf);
	return rv;
}
