/*
 * arborctl: the operator's command line.  It makes the publisher key and
 * talks to the root's control socket: uploads a policy's blobs in chunks
 * (resuming wherever the root already is), publishes, retires and pushes
 * policies, and shows the catalog.
 *
 * Every request is one blocking arb_net_call; arborctl has no loop and no
 * state of its own, so running a command twice is always safe: the root
 * answers an upload it already holds with "complete", and publishing the
 * same version again is the root's to refuse.
 */
#include <sys/stat.h>

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
#include "arbor/log.h"
#include "arbor/net.h"
#include "arbor/policy.h"
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
	uint8_t		*buf, *rbuf;
	size_t		 len, rlen;
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
		ctl_warnx(c, "%s", rep->error->message[0] != '\0' ?
		    rep->error->message : arb_strerror(rep->error->code));
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
	size_t			 want;
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
		do
			n = pread(fd, buf, want, (off_t)off);
		while (n == -1 && errno == EINTR);
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
	int		 i, ac, rv;

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
	else {
		fprintf(stderr, "arborctl: unknown command \"%s\"\n", c.cmd);
		usage(stderr);
		rv = 1;
	}
	free(c.url_buf);
	return rv;
}
