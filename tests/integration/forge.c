/*
 * arbor-forge: an adversarial parent and a raw client, for the integration
 * tests of the trust rules.
 *
 *	arbor-forge serve --svc URL --pub URL --key PRIV.pem --blob FILE
 *	    --mode MODE [--seq N] [--other-key PRIV2.pem] [--id ID]
 *	arbor-forge send URL (--garbage N | --oversize N | --file F)
 *	arbor-forge head URL
 *	arbor-forge chunk URL SHA_HEX OFFSET LEN
 *	arbor-forge endpoint URL TOKEN STATE...
 *	arbor-forge flood URL SHA_HEX LEN N SECONDS
 *	arbor-forge inflate URL BYTES
 *	arbor-forge heads URL N
 *	arbor-forge relays URL big|pin|many TAG
 *	arbor-forge badsig URL TOKEN N
 *	arbor-forge publish CONTROL_URL ID APPLICABILITY
 *	arbor-forge spoof URL ENDPOINT_ID POLICY SEQ STATE [COUNT [MS]]
 *	arbor-forge keystmt --trust PRIV.pem --version N --key PUB.pem...
 *	    [--prev STMT] [--revoke PUB.pem]... [--expired] --out STMT
 *	arbor-forge rotate CONTROL_URL STMT KEY.pem
 *
 * serve --keys STMT (repeatable) also answers GetKeys with those key
 * statements, as they are, and its head names the last one's version.
 * keystmt signs any key statement (one that skips a version, one linked
 * to the wrong predecessor, one not signed by the trust root), and
 * rotate hands one to the root as `arborctl key rotate` would.
 *
 * serve answers GetHead, GetPolicy and GetChunk like a parent that holds a
 * one-policy catalog naming FILE, but breaks exactly the rule that MODE
 * names, so that a test can hand a real node the bad object and watch it
 * refuse.  It is single-threaded: arb_net delivers every request on one uv
 * loop, as in the daemons.
 *
 * The client subcommands print one line a test can match.  send pushes
 * arbitrary bytes at a REP socket; a message larger than ARB_WIRE_MAX is
 * refused by arb_net before it leaves, so that one is sent by speaking the
 * SP-over-TCP framing by hand (tcp:// only), which is what a hostile peer
 * would do anyway.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "arbor/blob.h"
#include "arbor/catalog.h"
#include "arbor/error.h"
#include "arbor/io.h"
#include "arbor/keychain.h"
#include "arbor/log.h"
#include "arbor/net.h"
#include "arbor/report.h"
#include "arbor/sig.h"
#include "arbor/wire.h"

#define FORGE_TIMEOUT_MS	3000
#define FORGE_EXTRA		4096	/* endless data: bytes past the ask */
#define FORGE_NOTIFY_MS		1000
#define FORGE_RELAYS_MANY	512	/* relays: the most one batch may carry */

enum forge_mode {
	M_GOOD, M_BADSIG, M_UNPINNED, M_EXPIRED, M_MIXMATCH, M_FOREIGN,
	M_LONGBLOB, M_BADHASH
};

static const char *const forge_modes[] = {
	"good", "badsig", "unpinned", "expired", "mixmatch", "foreign",
	"longblob", "badhash", NULL
};

struct forge {
	enum forge_mode	 mode;
	uint64_t	 seq;
	int		 unframed;	/* --unframed 1: as an older parent */
	uv_loop_t	 loop;
	uv_signal_t	 sigterm;
	uv_signal_t	 sigint;
	uv_timer_t	 notify;
	struct arb_net	*net;
	struct arb_srv	*srv;
	struct arb_pub	*pub;
	uint8_t		*blob;		/* FILE's bytes */
	uint64_t	 size;
	uint8_t		 blob_sha[ARB_SHA256_LEN];
	uint8_t		 pol_sha[ARB_SHA256_LEN];	/* what the head names */
	uint8_t		*head_reply;	/* encoded envelopes, made once */
	size_t		 head_len;
	uint8_t		*pol_reply;
	size_t		 pol_len;
	uint8_t		*notify_msg;
	size_t		 notify_len;
	uint8_t		*keys_reply;	/* --keys: the statements, as given */
	size_t		 keys_len;
	uint64_t	 key_version;	/* the last one's */
};

#define FORGE_KEYS_MAX	8

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: arbor-forge serve --svc URL --pub URL --key PRIV.pem "
	    "--blob FILE --mode MODE\n"
	    "           [--seq N] [--other-key PRIV2.pem] [--id ID]\n"
	    "           [--unframed 1]\n"
	    "       arbor-forge send URL (--garbage N | --oversize N | "
	    "--file F)\n"
	    "       arbor-forge head URL\n"
	    "       arbor-forge chunk URL SHA_HEX OFFSET LEN\n"
	    "       arbor-forge relay --svc URL --pub URL --parent SVC "
	    "--mode honest|alter|replay|forge|enrol|drop|withhold\n"
	    "       arbor-forge endpoint URL TOKEN STATE...\n"
	    "       arbor-forge enrol URL TOKEN badsig|otherid|good\n"
	    "       arbor-forge flood URL SHA_HEX LEN N SECONDS\n"
	    "       arbor-forge inflate URL BYTES\n"
	    "       arbor-forge heads URL N\n"
	    "       arbor-forge relays URL big|pin|many TAG\n"
	    "       arbor-forge badsig URL TOKEN N\n"
	    "       arbor-forge publish CONTROL_URL ID APPLICABILITY\n"
	    "       arbor-forge spoof URL ENDPOINT_ID POLICY SEQ STATE "
	    "[COUNT [MS]]\n"
	    "       arbor-forge keystmt --trust PRIV.pem --version N "
	    "--key PUB.pem... [--prev STMT]\n"
	    "           [--revoke PUB.pem]... [--expired] --out STMT\n"
	    "       arbor-forge rotate CONTROL_URL STMT KEY.pem\n"
	    "modes: good badsig unpinned expired mixmatch foreign longblob "
	    "badhash\n");
	exit(1);
}

static uint64_t
parse_u64(const char *s, uint64_t max)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
		fatalx("%s: not a number in 0..%" PRIu64, s, max);
	return (uint64_t)v;
}

static int
read_file(const char *path, uint8_t **bufp, uint64_t *lenp)
{
	struct stat	 st;
	uint8_t		*buf;
	size_t		 off;
	int		 fd, rv;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -errno;
	if (fstat(fd, &st) == -1) {
		rv = -errno;
		close(fd);
		return rv;
	}
	if ((buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	if ((rv = arb_io_read_full(fd, buf, (size_t)st.st_size, &off)) != 0 ||
	    off < (size_t)st.st_size) {
		free(buf);
		close(fd);
		return rv != 0 ? rv : ARB_EPROTO;
	}
	close(fd);
	*bufp = buf;
	*lenp = off;
	return 0;
}

/* ------------------------------------------------------------- catalog */

/* Sign a policy titled title with id pid; *sp is cleared by the caller. */
static int
make_policy(const struct forge *f, const struct arb_key *k, const char *pid,
    const char *title, Arbor__Signed *sp)
{
	Arbor__Policy	 p = ARBOR__POLICY__INIT;
	Arbor__BlobRef	 b = ARBOR__BLOB_REF__INIT, *bp = &b;
	uint8_t		*body;
	size_t		 len;
	int		 rv;

	b.name = (char *)"payload.bin";
	b.sha256.data = (uint8_t *)f->blob_sha;
	b.sha256.len = ARB_SHA256_LEN;
	b.size = f->size;
	p.id = (char *)pid;
	p.version = 1;
	p.title = (char *)title;
	p.severity = (char *)"high";
	p.applicability = (char *)"true";
	p.action = (char *)"true";
	p.blobs = &bp;
	p.n_blobs = 1;
	p.published_at = (int64_t)time(NULL);
	if ((rv = arb_wire_encode_policy(&p, &body, &len)) != 0)
		return rv;
	rv = arb_signed_make(k, body, len, sp);
	free(body);
	return rv;
}

/*
 * Build the replies once: the catalog never changes while we serve it, and
 * what is wrong with it is fixed by the mode.
 */
static int
forge_build(struct forge *f, const char *pid, const struct arb_key *key,
    const struct arb_key *other)
{
	const struct arb_key	*k = f->mode == M_UNPINNED ? other : key;
	Arbor__Signed		 pa, pserved, hs;
	Arbor__Head		 h = ARBOR__HEAD__INIT;
	Arbor__PolicyRef	 ref = ARBOR__POLICY_REF__INIT, *refp = &ref;
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__HeadReply	 hr = ARBOR__HEAD_REPLY__INIT;
	Arbor__PolicyReply	 pr = ARBOR__POLICY_REPLY__INIT;
	Arbor__Notify		 nt = ARBOR__NOTIFY__INIT;
	uint8_t			*body;
	size_t			 len;
	int64_t			 now = (int64_t)time(NULL);
	int			 rv;

	arbor__signed__init(&pa);
	arbor__signed__init(&pserved);
	arbor__signed__init(&hs);
	if ((rv = make_policy(f, k, pid, "forged payload", &pa)) != 0)
		return rv;
	if ((rv = arb_sha256(pa.body.data, pa.body.len, f->pol_sha)) != 0)
		goto done;

	/*
	 * mix-and-match: B is as genuine as A (same id and version, signed by
	 * the pinned key) but it is not the object the head names.
	 */
	if (f->mode == M_MIXMATCH)
		rv = make_policy(f, k, pid, "forged payload B", &pserved);
	else if (f->mode == M_FOREIGN)
		rv = make_policy(f, k, "other", "another policy", &pserved);
	if (rv != 0)
		goto done;

	ref.id = (char *)pid;
	ref.version = 1;
	ref.sha256.data = f->pol_sha;
	ref.sha256.len = ARB_SHA256_LEN;
	h.seq = f->seq;
	if (f->mode == M_EXPIRED) {
		h.issued_at = now - 7200;
		h.expires_at = now - 3600;
	} else {
		h.issued_at = now;
		h.expires_at = now + 3600;
	}
	h.policies = &refp;
	h.n_policies = 1;
	h.key_version = f->key_version;
	if ((rv = arb_wire_encode_head(&h, &body, &len)) != 0)
		goto done;
	rv = arb_signed_make(k, body, len, &hs);
	free(body);
	if (rv != 0)
		goto done;
	if (f->mode == M_BADSIG)
		hs.sig.data[0] ^= 0x01;

	env.body_case = ARBOR__ENVELOPE__BODY_HEAD_REPLY;
	env.head_reply = &hr;
	hr.head = &hs;
	if ((rv = arb_wire_encode(&env, &f->head_reply, &f->head_len)) != 0)
		goto done;
	env.body_case = ARBOR__ENVELOPE__BODY_POLICY_REPLY;
	env.policy_reply = &pr;
	pr.policy = pserved.body.data != NULL ? &pserved : &pa;
	if ((rv = arb_wire_encode(&env, &f->pol_reply, &f->pol_len)) != 0)
		goto done;
	env.body_case = ARBOR__ENVELOPE__BODY_NOTIFY;
	env.notify = &nt;
	nt.seq = f->seq;
	nt.policy_id = (char *)"";
	rv = arb_wire_encode(&env, &f->notify_msg, &f->notify_len);
done:
	arb_signed_clear(&pa);
	arb_signed_clear(&pserved);
	arb_signed_clear(&hs);
	return rv;
}

/* ------------------------------------------------------------- serving */

static void
forge_reply(struct arb_req *req, const uint8_t *buf, size_t len)
{
	int rv;

	if ((rv = arb_req_reply(req, buf, len)) != 0)
		log_warnx("forge: reply: %s", arb_strerror(rv));
}

static void
forge_error(struct arb_req *req, int code, const char *what)
{
	uint8_t	*buf;
	size_t	 len;

	if (arb_wire_error(code, &buf, &len, "%s: %s", what,
	    arb_strerror(code)) != 0) {
		arb_req_drop(req);
		return;
	}
	forge_reply(req, buf, len);
	free(buf);
}

/*
 * A chunk as the mode wants it: longblob sends FORGE_EXTRA bytes more than
 * asked for (and, on the last chunk, a total past the declared size);
 * badhash flips the blob's middle byte wherever it falls.
 */
/*
 * A chunk framed as a relay frames it, by hand: arb_wire_pack_framed
 * would refuse the lies (bytes past any chunk's size) this must send.
 */
static int
forge_frame(Arbor__Envelope *env, const uint8_t *data, size_t n,
    uint8_t **bufp, size_t *lenp)
{
	uint8_t	*buf;
	size_t	 h, off = 1;
	int	 rv;

	env->chunk->framed_len = (uint32_t)n;
	h = arb_wire_size(env);
	if (h >= 128 * 128 || (buf = malloc(3 + h + n)) == NULL)
		return -ENOMEM;
	buf[0] = ARB_WIRE_FRAMED;
	if (h >= 128)
		buf[off++] = (uint8_t)(h | 0x80);
	buf[off++] = (uint8_t)(h >> (h >= 128 ? 7 : 0));
	if ((rv = arb_wire_pack(env, buf + off, h)) != 0) {
		free(buf);
		return rv;
	}
	memcpy(buf + off + h, data, n);
	*bufp = buf;
	*lenp = off + h + n;
	return 0;
}

static void
forge_chunk(struct forge *f, struct arb_req *req, const Arbor__GetChunk *gc)
{
	Arbor__Envelope	 env = ARBOR__ENVELOPE__INIT;
	Arbor__Chunk	 ch = ARBOR__CHUNK__INIT;
	uint8_t		*data, *buf;
	uint64_t	 n, mid = f->size / 2;
	size_t		 len, extra = 0;
	int		 rv;

	if (memcmp(gc->sha256.data, f->blob_sha, ARB_SHA256_LEN) != 0) {
		forge_error(req, ARB_ENOTFOUND, "blob");
		return;
	}
	if (gc->offset >= f->size || gc->len == 0) {
		forge_error(req, ARB_EINVAL, "chunk");
		return;
	}
	n = f->size - gc->offset < gc->len ? f->size - gc->offset : gc->len;
	if (f->mode == M_LONGBLOB)
		extra = FORGE_EXTRA;
	if ((data = malloc((size_t)n + extra)) == NULL) {
		forge_error(req, -ENOMEM, "chunk");
		return;
	}
	memcpy(data, f->blob + gc->offset, (size_t)n);
	memset(data + n, 'X', extra);
	if (f->mode == M_BADHASH && mid >= gc->offset && mid < gc->offset + n)
		data[mid - gc->offset] ^= 0x01;
	ch.sha256 = gc->sha256;
	ch.offset = gc->offset;
	ch.total = f->size;
	if (f->mode == M_LONGBLOB && gc->offset + n == f->size)
		ch.total = f->size + FORGE_EXTRA;
	env.body_case = ARBOR__ENVELOPE__BODY_CHUNK;
	env.chunk = &ch;
	if (gc->framed && !f->unframed)
		rv = forge_frame(&env, data, (size_t)n + extra, &buf, &len);
	else {
		ch.data.data = data;
		ch.data.len = (size_t)n + extra;
		rv = arb_wire_encode(&env, &buf, &len);
	}
	free(data);
	if (rv != 0) {
		log_warnx("forge: encode chunk: %s", arb_strerror(rv));
		forge_error(req, rv, "chunk");
		return;
	}
	log_info("forge: chunk at %" PRIu64 ": %zu bytes (%s)", gc->offset,
	    (size_t)n + extra, forge_modes[f->mode]);
	forge_reply(req, buf, len);
	free(buf);
}

static void
forge_request(struct arb_req *req, const uint8_t *data, size_t len, void *arg)
{
	struct forge	*f = arg;
	Arbor__Envelope	*env;
	int		 rv;

	if ((rv = arb_wire_decode(data, len, &env)) != 0) {
		log_warnx("forge: malformed request (%zu bytes): %s", len,
		    arb_strerror(rv));
		forge_error(req, rv, "request");
		return;
	}
	switch (env->body_case) {
	case ARBOR__ENVELOPE__BODY_GET_HEAD:
		log_info("forge: head seq %" PRIu64 " (%s)", f->seq,
		    forge_modes[f->mode]);
		forge_reply(req, f->head_reply, f->head_len);
		break;
	case ARBOR__ENVELOPE__BODY_GET_POLICY:
		if (memcmp(env->get_policy->sha256.data, f->pol_sha,
		    ARB_SHA256_LEN) != 0) {
			forge_error(req, ARB_ENOTFOUND, "policy");
			break;
		}
		log_info("forge: policy (%s)", forge_modes[f->mode]);
		forge_reply(req, f->pol_reply, f->pol_len);
		break;
	case ARBOR__ENVELOPE__BODY_GET_CHUNK:
		forge_chunk(f, req, env->get_chunk);
		break;
	case ARBOR__ENVELOPE__BODY_GET_KEYS:
		if (f->keys_reply == NULL) {
			forge_error(req, ARB_EINVAL, "no trust root");
			break;
		}
		log_info("forge: keys after %llu", (unsigned long long)
		    env->get_keys->have_version);
		forge_reply(req, f->keys_reply, f->keys_len);
		break;
	default:
		log_info("forge: unexpected request (body %d)",
		    (int)env->body_case);
		forge_error(req, ARB_EINVAL, "unexpected request");
		break;
	}
	arb_wire_free(env);
}

/* Subscribers poll on a notification; keep reminding them. */
static void
forge_notify_cb(uv_timer_t *t)
{
	struct forge *f = t->data;

	(void)arb_pub_send(f->pub, f->notify_msg, f->notify_len);
}

static void
forge_stop(uv_signal_t *s, int signum)
{
	struct forge *f = s->data;

	log_info("forge: signal %d: stopping", signum);
	uv_close((uv_handle_t *)&f->sigterm, NULL);
	uv_close((uv_handle_t *)&f->sigint, NULL);
	uv_timer_stop(&f->notify);
	uv_close((uv_handle_t *)&f->notify, NULL);
	arb_srv_close(f->srv);
	arb_pub_close(f->pub);
	arb_net_free(f->net);
	f->net = NULL;
}

/* A statement file as keystmt wrote it: 0 with *sp (arb_wire_free_signed). */
static int
read_stmt(const char *path, Arbor__Signed **sp)
{
	uint8_t		*buf;
	uint64_t	 len;
	int		 rv;

	if ((rv = read_file(path, &buf, &len)) != 0)
		return rv;
	rv = arb_wire_decode_signed(buf, (size_t)len, sp);
	free(buf);
	return rv;
}

/* The KeysReply serve gives to every GetKeys: the files, in order. */
static int
forge_keys(struct forge *f, const char *const *paths, size_t n)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__KeysReply	 kr = ARBOR__KEYS_REPLY__INIT;
	Arbor__Signed		*st[FORGE_KEYS_MAX];
	Arbor__KeyStatement	*ks;
	size_t			 i, got = 0;
	int			 rv = 0;

	for (i = 0; i < n && rv == 0; i++)
		if ((rv = read_stmt(paths[i], &st[i])) == 0)
			got++;
	if (rv == 0 && (rv = arb_wire_decode_keystmt(st[n - 1]->body.data,
	    st[n - 1]->body.len, &ks)) == 0) {
		f->key_version = ks->version;
		arb_wire_free_keystmt(ks);
	}
	if (rv == 0) {
		kr.statements = st;
		kr.n_statements = n;
		env.body_case = ARBOR__ENVELOPE__BODY_KEYS_REPLY;
		env.keys_reply = &kr;
		rv = arb_wire_encode(&env, &f->keys_reply, &f->keys_len);
	}
	for (i = 0; i < got; i++)
		arb_wire_free_signed(st[i]);
	return rv;
}

static int
cmd_serve(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "svc", required_argument, NULL, 's' },
		{ "pub", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "other-key", required_argument, NULL, 'o' },
		{ "blob", required_argument, NULL, 'b' },
		{ "mode", required_argument, NULL, 'm' },
		{ "seq", required_argument, NULL, 'n' },
		{ "id", required_argument, NULL, 'i' },
		{ "keys", required_argument, NULL, 'K' },
		{ "unframed", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*keysp[FORGE_KEYS_MAX];
	size_t		 nkeys = 0;
	struct forge	 f;
	struct arb_key	*key = NULL, *other = NULL;
	const char	*svc = NULL, *pub = NULL, *keyp = NULL, *otherp = NULL;
	const char	*blobp = NULL, *modep = "good", *pid = "forged";
	int		 ch, i, rv;

	memset(&f, 0, sizeof(f));
	f.seq = 5;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			svc = optarg;
			break;
		case 'p':
			pub = optarg;
			break;
		case 'k':
			keyp = optarg;
			break;
		case 'o':
			otherp = optarg;
			break;
		case 'b':
			blobp = optarg;
			break;
		case 'm':
			modep = optarg;
			break;
		case 'n':
			f.seq = parse_u64(optarg, UINT64_MAX);
			break;
		case 'i':
			pid = optarg;
			break;
		case 'u':
			f.unframed = (int)parse_u64(optarg, 1);
			break;
		case 'K':
			if (nkeys == FORGE_KEYS_MAX)
				fatalx("forge: at most %d --keys",
				    FORGE_KEYS_MAX);
			keysp[nkeys++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !svc || !pub || !keyp || !blobp)
		usage();
	if (nkeys > 0 && (rv = forge_keys(&f, keysp, nkeys)) != 0)
		fatalx("forge: --keys: %s", arb_strerror(rv));
	for (i = 0; forge_modes[i] != NULL; i++)
		if (strcmp(forge_modes[i], modep) == 0)
			break;
	if (forge_modes[i] == NULL)
		usage();
	f.mode = (enum forge_mode)i;
	if (f.mode == M_UNPINNED && otherp == NULL)
		fatalx("forge: mode unpinned needs --other-key");

	if ((rv = arb_key_load_private(keyp, &key)) != 0)
		fatalx("forge: %s: %s", keyp, arb_strerror(rv));
	if (otherp && (rv = arb_key_load_private(otherp, &other)) != 0)
		fatalx("forge: %s: %s", otherp, arb_strerror(rv));
	if ((rv = read_file(blobp, &f.blob, &f.size)) != 0 || f.size == 0)
		fatalx("forge: %s: %s", blobp, rv ? arb_strerror(rv) :
		    "empty");
	if ((rv = arb_sha256(f.blob, (size_t)f.size, f.blob_sha)) != 0 ||
	    (rv = forge_build(&f, pid, key, other)) != 0)
		fatalx("forge: cannot build the catalog: %s",
		    arb_strerror(rv));
	arb_key_free(key);
	if (other)
		arb_key_free(other);

	uv_loop_init(&f.loop);
	if ((rv = arb_net_new(&f.loop, &f.net)) != 0 ||
	    (rv = arb_pub_listen(f.net, pub, &f.pub)) != 0 ||
	    (rv = arb_srv_listen(f.net, svc, 16, forge_request, &f,
	    &f.srv)) != 0)
		fatalx("forge: cannot listen: %s", arb_strerror(rv));
	uv_timer_init(&f.loop, &f.notify);
	f.notify.data = &f;
	uv_timer_start(&f.notify, forge_notify_cb, FORGE_NOTIFY_MS,
	    FORGE_NOTIFY_MS);
	uv_signal_init(&f.loop, &f.sigterm);
	uv_signal_init(&f.loop, &f.sigint);
	f.sigterm.data = f.sigint.data = &f;
	uv_signal_start(&f.sigterm, forge_stop, SIGTERM);
	uv_signal_start(&f.sigint, forge_stop, SIGINT);
	log_info("forge: serving %s and %s: mode %s, head seq %" PRIu64
	    ", blob %" PRIu64 " bytes", svc, pub, modep, f.seq, f.size);

	uv_run(&f.loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&f.loop);
	free(f.blob);
	free(f.head_reply);
	free(f.pol_reply);
	free(f.notify_msg);
	free(f.keys_reply);
	return 0;
}

/* ------------------------------------------------------- hostile relay */

/*
 * `arbor-forge relay`: sits where a relay sits, between agents and the
 * root.  It passes enrolments and catalog requests through untouched (so
 * that agents enrol and get work to report on),
 * acknowledges every report batch, and sends it on as MODE says: honest
 * (unchanged), alter (each report's state changed after it was signed),
 * replay (sent twice), forge (replaced by a report in the endpoint's name
 * signed with the forge's own key).  The root must refuse all but honest.
 * enrol answers enrolments itself (a reply the root never signed); drop
 * acknowledges batches and sends nothing on; withhold sends on only the
 * reports of policy versions below 2.  The agent must notice these.
 */
enum relay_mode { R_HONEST, R_ALTER, R_REPLAY, R_FORGE, R_ENROL, R_DROP,
	R_WITHHOLD };

static const char *const relay_modes[] = {
	"honest", "alter", "replay", "forge", "enrol", "drop", "withhold",
	NULL
};

struct hostile {
	enum relay_mode	 mode;
	const char	*parent;
	struct arb_key	*own;
	uv_loop_t	 loop;
	uv_signal_t	 sigterm;
	struct arb_net	*net;
	struct arb_srv	*srv;
	struct arb_pub	*pub;
};

static int
hostile_call(struct hostile *h, const Arbor__Envelope *env, uint8_t **rp,
    size_t *rlenp)
{
	uint8_t	*buf;
	size_t	 len;
	int	 rv;

	if ((rv = arb_wire_encode(env, &buf, &len)) != 0)
		return rv;
	rv = arb_net_call(h->parent, buf, len, FORGE_TIMEOUT_MS, rp, rlenp);
	free(buf);
	return rv;
}

/* Send the batch up; print what the root said. */
static void
hostile_send(struct hostile *h, Arbor__Envelope *env)
{
	Arbor__Envelope	*rep;
	uint8_t		*r;
	size_t		 rlen;
	int		 rv;

	if ((rv = hostile_call(h, env, &r, &rlen)) != 0) {
		log_warnx("forge-relay: parent: %s", arb_strerror(rv));
		return;
	}
	if (arb_wire_decode(r, rlen, &rep) == 0) {
		if (rep->body_case == ARBOR__ENVELOPE__BODY_REPORT_ACK)
			log_info("forge-relay: %s: root accepted %u, "
			    "rejected %u", relay_modes[h->mode],
			    rep->report_ack->accepted,
			    rep->report_ack->rejected);
		arb_wire_free(rep);
	}
	free(r);
}

/* Re-sign nothing: change the state inside the signed bytes. */
static void
hostile_alter(Arbor__ReportEntry *e)
{
	Arbor__Report	*r;
	uint8_t		*buf;
	size_t		 len;

	if (arb_wire_decode_report(e->report->body.data, e->report->body.len,
	    &r) != 0)
		return;
	r->state = r->state == 6 ? 7 : 6;	/* fixed <-> failed */
	if (arb_wire_encode_report(r, &buf, &len) == 0) {
		free(e->report->body.data);
		e->report->body.data = buf;
		e->report->body.len = len;
	}
	arb_wire_free_report(r);
}

/* A report in the endpoint's name, signed with the forge's key. */
static void
hostile_forge(struct hostile *h, Arbor__ReportEntry *e)
{
	Arbor__Report	*r;
	Arbor__Signed	 sg;
	uint8_t		*buf;
	size_t		 len;

	if (arb_wire_decode_report(e->report->body.data, e->report->body.len,
	    &r) != 0)
		return;
	r->seq += 1000;
	r->state = 6;
	if (arb_wire_encode_report(r, &buf, &len) == 0 &&
	    arb_signed_make(h->own, buf, len, &sg) == 0) {
		free(e->report->body.data);
		free(e->report->sig.data);
		free(e->report->key_id.data);
		*e->report = sg;
	}
	free(buf);
	arb_wire_free_report(r);
}

/*
 * Answer an enrolment as the root would, without the root: the reply
 * names the endpoint, and its receipt is signed with the forge's own key.
 */
static void
hostile_enroll(struct hostile *h, struct arb_req *req, Arbor__Enroll *en)
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__EnrollReply	 er = ARBOR__ENROLL_REPLY__INIT;
	Arbor__Receipt		 rc = ARBOR__RECEIPT__INIT;
	Arbor__EnrollBody	*b;
	Arbor__Signed		 sg = ARBOR__SIGNED__INIT;
	uint8_t			*buf;
	size_t			 len;

	if (arb_wire_decode_enroll(en->enroll->body.data,
	    en->enroll->body.len, &b) != 0) {
		forge_error(req, ARB_EPROTO, "enrol");
		return;
	}
	rc.endpoint_id = b->endpoint_id;
	rc.pubkey = b->pubkey;
	rc.at_ms = (int64_t)time(NULL) * 1000;
	if (arb_wire_encode_receipt(&rc, &buf, &len) == 0) {
		(void)arb_signed_make(h->own, buf, len, &sg);
		free(buf);
	}
	er.endpoint_id = b->endpoint_id;
	er.receipt = sg.body.data ? &sg : NULL;
	env.body_case = ARBOR__ENVELOPE__BODY_ENROLL_REPLY;
	env.enroll_reply = &er;
	if (arb_wire_encode(&env, &buf, &len) == 0) {
		log_info("forge-relay: enrol: answered %s myself",
		    b->endpoint_id);
		forge_reply(req, buf, len);
		free(buf);
	} else
		arb_req_drop(req);
	arb_signed_clear(&sg);
	arb_wire_free_enroll(b);
}

/* Keep only the reports of versions below 2; how many are left. */
static size_t
hostile_withhold(Arbor__ReportBatch *b)
{
	Arbor__Report	*r;
	size_t		 i, n = 0, dropped = 0;

	for (i = 0; i < b->n_entries; i++) {
		if (arb_wire_decode_report(b->entries[i]->report->body.data,
		    b->entries[i]->report->body.len, &r) != 0)
			continue;
		if (r->version < 2) {
			Arbor__ReportEntry *x = b->entries[n];

			b->entries[n++] = b->entries[i];
			b->entries[i] = x;
		} else
			dropped++;
		arb_wire_free_report(r);
	}
	if (dropped > 0)
		log_info("forge-relay: withhold: %zu reports of v2 or later "
		    "acknowledged and dropped", dropped);
	/* The dropped ones stay past n_entries; the caller restores it. */
	b->n_entries = n;
	return n;
}

static void
hostile_request(struct arb_req *req, const uint8_t *data, size_t len,
    void *arg)
{
	struct hostile		*h = arg;
	Arbor__Envelope		*env, ack = ARBOR__ENVELOPE__INIT;
	Arbor__ReportAck	 ra = ARBOR__REPORT_ACK__INIT;
	uint8_t			*r, *buf;
	size_t			 rlen, blen, i;
	int			 rv;

	if ((rv = arb_wire_decode(data, len, &env)) != 0) {
		forge_error(req, rv, "request");
		return;
	}
	switch (env->body_case) {
	case ARBOR__ENVELOPE__BODY_ENROLL:
		if (h->mode == R_ENROL) {
			hostile_enroll(h, req, env->enroll);
			break;
		}
		/* Enrolments pass: the agent must be known to the root. */
		if ((rv = arb_net_call(h->parent, data, len,
		    FORGE_TIMEOUT_MS, &r, &rlen)) != 0) {
			forge_error(req, rv, "enrol");
			break;
		}
		forge_reply(req, r, rlen);
		free(r);
		break;
	case ARBOR__ENVELOPE__BODY_REPORT_BATCH:
		ra.accepted = (uint32_t)env->report_batch->n_entries;
		ack.body_case = ARBOR__ENVELOPE__BODY_REPORT_ACK;
		ack.report_ack = &ra;
		if (arb_wire_encode(&ack, &buf, &blen) == 0) {
			forge_reply(req, buf, blen);
			free(buf);
		} else
			arb_req_drop(req);
		if (h->mode == R_DROP) {
			log_info("forge-relay: drop: %zu reports acknowledged "
			    "and dropped", env->report_batch->n_entries);
			break;
		}
		if (h->mode == R_WITHHOLD) {
			i = env->report_batch->n_entries;
			if (hostile_withhold(env->report_batch) > 0)
				hostile_send(h, env);
			env->report_batch->n_entries = i;	/* all freed */
			break;
		}
		for (i = 0; i < env->report_batch->n_entries; i++) {
			if (h->mode == R_ALTER)
				hostile_alter(env->report_batch->entries[i]);
			else if (h->mode == R_FORGE)
				hostile_forge(h,
				    env->report_batch->entries[i]);
		}
		hostile_send(h, env);
		if (h->mode == R_REPLAY)
			hostile_send(h, env);
		break;
	default:
		/* The catalog passes too: agents must get work to report. */
		if ((rv = arb_net_call(h->parent, data, len,
		    FORGE_TIMEOUT_MS, &r, &rlen)) != 0) {
			forge_error(req, rv, "parent");
			break;
		}
		forge_reply(req, r, rlen);
		free(r);
		break;
	}
	arb_wire_free(env);
}

static void
hostile_stop(uv_signal_t *s, int signum)
{
	struct hostile *h = s->data;

	(void)signum;
	uv_close((uv_handle_t *)&h->sigterm, NULL);
	arb_srv_close(h->srv);
	arb_pub_close(h->pub);
	arb_net_free(h->net);
	h->net = NULL;
}

static int
cmd_relay(int argc, char *argv[])
{
	struct hostile	 h;
	const char	*svc = NULL, *pub = NULL, *modep = "honest";
	int		 i, rv;

	memset(&h, 0, sizeof(h));
	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--svc") == 0)
			svc = argv[i + 1];
		else if (strcmp(argv[i], "--pub") == 0)
			pub = argv[i + 1];
		else if (strcmp(argv[i], "--parent") == 0)
			h.parent = argv[i + 1];
		else if (strcmp(argv[i], "--mode") == 0)
			modep = argv[i + 1];
		else
			usage();
	}
	if (i != argc || !svc || !pub || !h.parent)
		usage();
	for (i = 0; relay_modes[i] != NULL; i++)
		if (strcmp(relay_modes[i], modep) == 0)
			break;
	if (relay_modes[i] == NULL)
		usage();
	h.mode = (enum relay_mode)i;
	if ((rv = arb_key_generate(&h.own)) != 0)
		fatalx("forge-relay: key: %s", arb_strerror(rv));
	uv_loop_init(&h.loop);
	if ((rv = arb_net_new(&h.loop, &h.net)) != 0 ||
	    (rv = arb_pub_listen(h.net, pub, &h.pub)) != 0 ||
	    (rv = arb_srv_listen(h.net, svc, 4, hostile_request, &h,
	    &h.srv)) != 0)
		fatalx("forge-relay: cannot listen: %s", arb_strerror(rv));
	uv_signal_init(&h.loop, &h.sigterm);
	h.sigterm.data = &h;
	uv_signal_start(&h.sigterm, hostile_stop, SIGTERM);
	log_info("forge-relay: serving %s: mode %s, parent %s", svc, modep,
	    h.parent);
	uv_run(&h.loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&h.loop);
	arb_key_free(h.own);
	return 0;
}

/* -------------------------------------------------------------- client */

/* Print a reply as one line; 0 (something was received). */
static int
print_reply(const uint8_t *buf, size_t len)
{
	Arbor__Envelope	*env;
	int		 rv;

	if ((rv = arb_wire_decode(buf, len, &env)) != 0) {
		printf("reply undecodable %d %s\n", rv, arb_strerror(rv));
		return 0;
	}
	if (env->body_case == ARBOR__ENVELOPE__BODY_ERROR)
		printf("error %d %s\n", env->error->code,
		    env->error->message);
	else
		printf("reply %d\n", (int)env->body_case);
	arb_wire_free(env);
	return 0;
}

/* SIGPIPE is ignored (main), so a write to a closed peer is -EPIPE. */
static int
write_all(int fd, const uint8_t *p, size_t len)
{
	return arb_io_write_full(fd, p, len);
}

/* The receive timeout (SO_RCVTIMEO) shows as EAGAIN. */
static int
read_all(int fd, uint8_t *p, size_t len)
{
	size_t	n;
	int	rv;

	if ((rv = arb_io_read_full(fd, p, len, &n)) != 0)
		return rv == -EAGAIN || rv == -EWOULDBLOCK ? ARB_ETIMEDOUT :
		    rv;
	return n < len ? ARB_ECLOSED : 0;
}

static void
put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/*
 * A request as an nng REQ socket puts it on a tcp:// connection: the
 * 8-byte SP handshake (protocol 0x30, REQ v0; the peer answers 0x31, REP
 * v0), then one frame of a 64-bit big-endian length, the 32-bit request
 * id with its top bit set, and the body.  Used only for bodies that
 * arb_net refuses to send.
 */
static int
raw_dial(const char *url, int rcvbuf, int *fdp)
{
	static const uint8_t	 hello[8] = { 0, 'S', 'P', 0, 0x00, 0x30,
				    0, 0 };
	struct addrinfo		 hints, *res = NULL;
	struct timeval		 tv;
	uint8_t			 peer[8];
	char			 host[256], *port;
	int			 fd = -1, rv;

	if (strncmp(url, "tcp://", 6) != 0 ||
	    strlen(url + 6) >= sizeof(host))
		return ARB_EINVAL;
	strcpy(host, url + 6);
	if ((port = strrchr(host, ':')) == NULL)
		return ARB_EINVAL;
	*port++ = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return ARB_EUNREACH;
	if ((fd = socket(res->ai_family, SOCK_STREAM, 0)) == -1) {
		rv = ARB_EUNREACH;
		goto done;
	}
	if (rcvbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		    sizeof(rcvbuf));
	if (connect(fd, res->ai_addr, res->ai_addrlen) == -1) {
		rv = ARB_EUNREACH;
		goto done;
	}
	tv.tv_sec = FORGE_TIMEOUT_MS / 1000;
	tv.tv_usec = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((rv = write_all(fd, hello, sizeof(hello))) != 0 ||
	    (rv = read_all(fd, peer, sizeof(peer))) != 0)
		goto done;
	if (memcmp(peer, hello, 4) != 0 || peer[5] != 0x31) {
		rv = ARB_EPROTO;
		goto done;
	}
	*fdp = fd;
	fd = -1;
done:
	if (fd != -1)
		close(fd);
	if (res)
		freeaddrinfo(res);
	return rv;
}

/* One request frame: length, request id with its top bit set, body. */
static int
raw_send(int fd, uint32_t id, const uint8_t *data, size_t len)
{
	uint8_t	hdr[12];
	int	rv;

	put_be64(hdr, (uint64_t)len + 4);
	hdr[8] = 0x80 | (uint8_t)(id >> 24);
	hdr[9] = (uint8_t)(id >> 16);
	hdr[10] = (uint8_t)(id >> 8);
	hdr[11] = (uint8_t)id;
	if ((rv = write_all(fd, hdr, sizeof(hdr))) != 0)
		return rv;
	return write_all(fd, data, len);
}

static int
raw_call(const char *url, const uint8_t *data, size_t len,
    uint8_t **replyp, size_t *replylenp)
{
	uint8_t			 hdr[8], *buf;
	uint64_t		 n;
	int			 fd = -1, i, rv;

	if ((rv = raw_dial(url, 0, &fd)) != 0)
		return rv;
	if ((rv = raw_send(fd, 1, data, len)) != 0 ||
	    (rv = read_all(fd, hdr, 8)) != 0)
		goto done;
	for (n = 0, i = 0; i < 8; i++)
		n = n << 8 | hdr[i];
	if (n < 4 || n > 4 + (uint64_t)ARB_WIRE_MAX) {
		rv = ARB_EPROTO;
		goto done;
	}
	if ((buf = malloc((size_t)n)) == NULL) {
		rv = -ENOMEM;
		goto done;
	}
	if ((rv = read_all(fd, buf, (size_t)n)) != 0) {
		free(buf);
		goto done;
	}
	/* Strip the request id the REP echoed. */
	memmove(buf, buf + 4, (size_t)n - 4);
	*replyp = buf;
	*replylenp = (size_t)n - 4;
	rv = 0;
done:
	close(fd);
	return rv;
}

static size_t
varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			p[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

/*
 * An oversized message that is otherwise well-formed: Envelope{version 1,
 * chunk {sha256, data}} of exactly n bytes, so only its size is wrong.
 * Encoded by hand because arb_wire_encode refuses to build it.
 */
static uint8_t *
make_oversize(size_t n)
{
	uint8_t	*buf, tmp[10];
	size_t	 d, inner, total, off;

	if (n < 64)
		return NULL;
	for (d = n - 40; d > 0; d--) {
		inner = 2 + ARB_SHA256_LEN + 1 + varint_put(tmp, d) + d;
		total = 2 + 2 + varint_put(tmp, inner) + inner;
		if (total == n)
			break;
	}
	if (d == 0 || (buf = malloc(n)) == NULL)
		return NULL;
	off = 0;
	buf[off++] = 0x08;		/* version = 1 */
	buf[off++] = 0x01;
	buf[off++] = 0x8a;		/* field 17 (chunk), bytes */
	buf[off++] = 0x01;
	off += varint_put(buf + off, inner);
	buf[off++] = 0x0a;		/* sha256 */
	buf[off++] = ARB_SHA256_LEN;
	memset(buf + off, 0xab, ARB_SHA256_LEN);
	off += ARB_SHA256_LEN;
	buf[off++] = 0x1a;		/* data */
	off += varint_put(buf + off, d);
	memset(buf + off, 'O', d);
	return buf;
}

/* Deterministic junk, so that a run can be repeated byte for byte. */
static uint8_t *
make_garbage(size_t n)
{
	uint8_t		*buf;
	uint32_t	 x = 0x2545f491;
	size_t		 i;

	if ((buf = malloc(n > 0 ? n : 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
	if (n > 0)
		buf[0] = 0xff;		/* a tag that never ends well */
	return buf;
}

static int
cmd_send(int argc, char *argv[])
{
	uint8_t		*buf = NULL, *reply;
	uint64_t	 len = 0;
	size_t		 rlen;
	int		 rv;

	if (argc != 4)
		usage();
	if (strcmp(argv[2], "--garbage") == 0) {
		len = parse_u64(argv[3], 64 << 20);
		buf = make_garbage((size_t)len);
	} else if (strcmp(argv[2], "--oversize") == 0) {
		len = parse_u64(argv[3], 64 << 20);
		buf = make_oversize((size_t)len);
	} else if (strcmp(argv[2], "--file") == 0) {
		if ((rv = read_file(argv[3], &buf, &len)) != 0)
			fatalx("%s: %s", argv[3], arb_strerror(rv));
	} else
		usage();
	if (buf == NULL)
		fatalx("cannot make %" PRIu64 " bytes", len);
	if (len <= ARB_WIRE_MAX)
		rv = arb_net_call(argv[1], buf, (size_t)len, FORGE_TIMEOUT_MS,
		    &reply, &rlen);
	else
		rv = raw_call(argv[1], buf, (size_t)len, &reply, &rlen);
	free(buf);
	if (rv != 0) {
		printf("noreply %d %s\n", rv, arb_strerror(rv));
		return 2;
	}
	rv = print_reply(reply, rlen);
	free(reply);
	return rv;
}

/* Send env to url and decode the reply; 2 if none came. */
static int
call(const char *url, Arbor__Envelope *env, Arbor__Envelope **replyp)
{
	uint8_t	*buf, *reply;
	size_t	 len, rlen;
	int	 rv;

	if ((rv = arb_wire_encode(env, &buf, &len)) != 0)
		fatalx("encode: %s", arb_strerror(rv));
	rv = arb_net_call(url, buf, len, FORGE_TIMEOUT_MS, &reply, &rlen);
	free(buf);
	if (rv != 0) {
		printf("noreply %d %s\n", rv, arb_strerror(rv));
		return 2;
	}
	rv = arb_wire_decode(reply, rlen, replyp);
	free(reply);
	if (rv != 0) {
		printf("reply undecodable %d %s\n", rv, arb_strerror(rv));
		return 2;
	}
	return 0;
}

static int
cmd_head(int argc, char *argv[])
{
	Arbor__Envelope	 env = ARBOR__ENVELOPE__INIT, *r;
	Arbor__GetHead	 gh = ARBOR__GET_HEAD__INIT;
	Arbor__Head	*h;
	int		 rv;

	if (argc != 2)
		usage();
	env.body_case = ARBOR__ENVELOPE__BODY_GET_HEAD;
	env.get_head = &gh;
	if ((rv = call(argv[1], &env, &r)) != 0)
		return rv;
	if (r->body_case == ARBOR__ENVELOPE__BODY_ERROR)
		printf("none %d\n", r->error->code);
	else if (r->body_case != ARBOR__ENVELOPE__BODY_HEAD_REPLY)
		printf("reply %d\n", (int)r->body_case);
	/* What the node serves, not whether it is true: no verification. */
	else if ((rv = arb_wire_decode_head(r->head_reply->head->body.data,
	    r->head_reply->head->body.len, &h)) != 0)
		printf("head undecodable %d\n", rv);
	else {
		printf("seq %" PRIu64 "\n", h->seq);
		arb_wire_free_head(h);
	}
	arb_wire_free(r);
	return 0;
}

static int
cmd_chunk(int argc, char *argv[])
{
	Arbor__Envelope	 env = ARBOR__ENVELOPE__INIT, *r;
	Arbor__GetChunk	 gc = ARBOR__GET_CHUNK__INIT;
	uint8_t		 sha[ARB_SHA256_LEN], got[ARB_SHA256_LEN];
	char		 hex[ARB_SHA256_HEX];
	int		 rv;

	if (argc != 5 || strlen(argv[2]) != 2 * ARB_SHA256_LEN ||
	    arb_unhex(argv[2], sha, sizeof(sha)) != 0)
		usage();
	gc.sha256.data = sha;
	gc.sha256.len = sizeof(sha);
	gc.offset = parse_u64(argv[3], UINT64_MAX);
	gc.len = (uint32_t)parse_u64(argv[4], UINT32_MAX);
	env.body_case = ARBOR__ENVELOPE__BODY_GET_CHUNK;
	env.get_chunk = &gc;
	if ((rv = call(argv[1], &env, &r)) != 0)
		return rv;
	if (r->body_case == ARBOR__ENVELOPE__BODY_ERROR)
		printf("error %d %s\n", r->error->code, r->error->message);
	else if (r->body_case != ARBOR__ENVELOPE__BODY_CHUNK)
		printf("reply %d\n", (int)r->body_case);
	else {
		(void)arb_sha256(r->chunk->data.data, r->chunk->data.len, got);
		arb_hex(got, sizeof(got), hex);
		printf("chunk %zu sha256=%s\n", r->chunk->data.len, hex);
	}
	arb_wire_free(r);
	return 0;
}

/* ----------------------------------------------------- hostile endpoint */

/*
 * `arbor-forge endpoint URL TOKEN STATE...`: an endpoint that holds the
 * enrolment token and its own key, and so signs whatever it likes.  It
 * enrols at URL, then sends one batch per STATE: a report for policy
 * "forged" with that raw state number and the next sequence number.  It
 * prints "enrolled ID", then one line per batch with what came back.
 */
static int
endpoint_send(const char *url, Arbor__Envelope *env, const char *what)
{
	Arbor__Envelope	*r;
	int		 rv;

	if ((rv = call(url, env, &r)) != 0)
		return rv;
	if (r->body_case == ARBOR__ENVELOPE__BODY_ERROR)
		printf("%s: error %d %s\n", what, r->error->code,
		    r->error->message);
	else if (r->body_case == ARBOR__ENVELOPE__BODY_REPORT_ACK)
		printf("%s: accepted %u rejected %u\n", what,
		    r->report_ack->accepted, r->report_ack->rejected);
	else if (r->body_case == ARBOR__ENVELOPE__BODY_ENROLL_REPLY)
		printf("%s: enrolled %s\n", what,
		    r->enroll_reply->endpoint_id);
	else
		printf("%s: reply %d\n", what, (int)r->body_case);
	arb_wire_free(r);
	return 0;
}

/* An enrolment body for id with k's public key and token, signed by k. */
static void
enrol_sign(const struct arb_key *k, char *id, const char *token,
    Arbor__Signed *sg)
{
	Arbor__EnrollBody	 eb = ARBOR__ENROLL_BODY__INIT;
	uint8_t			 pub[ARB_PUBKEY_LEN], *buf;
	size_t			 len;
	int			 rv;

	if ((rv = arb_key_raw_public(k, pub)) != 0)
		fatalx("forge: key: %s", arb_strerror(rv));
	eb.pubkey.data = pub;
	eb.pubkey.len = sizeof(pub);
	eb.endpoint_id = id;
	eb.token = (char *)token;
	eb.hostname = (char *)"forge";
	eb.at = (int64_t)time(NULL);
	if ((rv = arb_wire_encode_enroll(&eb, &buf, &len)) != 0 ||
	    (rv = arb_signed_make(k, buf, len, sg)) != 0)
		fatalx("forge: enrol: %s", arb_strerror(rv));
	free(buf);
}

static int
cmd_endpoint(int argc, char *argv[])
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__Enroll		 en = ARBOR__ENROLL__INIT;
	Arbor__ReportBatch	 rb = ARBOR__REPORT_BATCH__INIT;
	Arbor__ReportEntry	 re = ARBOR__REPORT_ENTRY__INIT, *rep = &re;
	Arbor__Report		 r = ARBOR__REPORT__INIT;
	Arbor__Signed		 sg, esg;
	struct arb_key		*k;
	uint8_t			*buf;
	char			 id[ARB_EPID_HEX], what[64];
	size_t			 len;
	int			 i, rv;

	if (argc < 4)
		usage();
	if ((rv = arb_key_generate(&k)) != 0 ||
	    (rv = arb_endpoint_id(k, id)) != 0)
		fatalx("forge-endpoint: key: %s", arb_strerror(rv));
	enrol_sign(k, id, argv[2], &esg);
	en.enroll = &esg;
	env.body_case = ARBOR__ENVELOPE__BODY_ENROLL;
	env.enroll = &en;
	if ((rv = endpoint_send(argv[1], &env, "enrol")) != 0)
		return rv;
	arb_signed_clear(&esg);

	r.endpoint_id = id;
	r.policy_id = (char *)"forged";
	r.version = 1;
	r.detail = (char *)"";
	rb.entries = &rep;
	rb.n_entries = 1;
	env.body_case = ARBOR__ENVELOPE__BODY_REPORT_BATCH;
	env.report_batch = &rb;
	for (i = 3; i < argc; i++) {
		r.seq = (uint64_t)(i - 2);
		r.state = (uint32_t)parse_u64(argv[i], UINT32_MAX);
		r.at = (int64_t)time(NULL);
		if ((rv = arb_wire_encode_report(&r, &buf, &len)) != 0 ||
		    (rv = arb_signed_make(k, buf, len, &sg)) != 0)
			fatalx("forge-endpoint: report: %s",
			    arb_strerror(rv));
		free(buf);
		re.report = &sg;
		snprintf(what, sizeof(what), "report state %u", r.state);
		rv = endpoint_send(argv[1], &env, what);
		arb_signed_clear(&sg);
		if (rv != 0)
			break;
	}
	arb_key_free(k);
	return rv;
}

/*
 * `arbor-forge enrol URL TOKEN LIE`: one enrolment that lies.  LIE is
 * badsig (its signature altered), otherid (an id its key does not
 * derive), or good (no lie).  It prints what came back.
 */
static int
cmd_enrol(int argc, char *argv[])
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__Enroll		 en = ARBOR__ENROLL__INIT;
	Arbor__Signed		 esg;
	struct arb_key		*k;
	char			 id[ARB_EPID_HEX];
	int			 rv;

	if (argc != 4 || (strcmp(argv[3], "badsig") != 0 &&
	    strcmp(argv[3], "otherid") != 0 && strcmp(argv[3], "good") != 0))
		usage();
	if ((rv = arb_key_generate(&k)) != 0 ||
	    (rv = arb_endpoint_id(k, id)) != 0)
		fatalx("forge-enrol: key: %s", arb_strerror(rv));
	if (strcmp(argv[3], "otherid") == 0)
		id[0] = id[0] == 'a' ? 'b' : 'a';
	enrol_sign(k, id, argv[2], &esg);
	if (strcmp(argv[3], "badsig") == 0)
		esg.sig.data[0] ^= 1;
	en.enroll = &esg;
	env.body_case = ARBOR__ENVELOPE__BODY_ENROLL;
	env.enroll = &en;
	rv = endpoint_send(argv[1], &env, "enrol");
	arb_signed_clear(&esg);
	arb_key_free(k);
	return rv;
}

/* ------------------------------------------------------ denial of service */

/*
 * `arbor-forge flood URL SHA_HEX LEN N SECONDS`: one connection that asks
 * for the same chunk N times and never reads a reply, held open SECONDS.
 */
static int
cmd_flood(int argc, char *argv[])
{
	Arbor__Envelope	 env = ARBOR__ENVELOPE__INIT;
	Arbor__GetChunk	 gc = ARBOR__GET_CHUNK__INIT;
	uint8_t		 sha[ARB_SHA256_LEN], *buf;
	uint64_t	 i, n, secs;
	size_t		 len;
	int		 fd, rv;

	if (argc != 6 || strlen(argv[2]) != 2 * ARB_SHA256_LEN ||
	    arb_unhex(argv[2], sha, sizeof(sha)) != 0)
		usage();
	gc.sha256.data = sha;
	gc.sha256.len = sizeof(sha);
	gc.len = (uint32_t)parse_u64(argv[3], UINT32_MAX);
	n = parse_u64(argv[4], 100000);
	secs = parse_u64(argv[5], 3600);
	env.body_case = ARBOR__ENVELOPE__BODY_GET_CHUNK;
	env.get_chunk = &gc;
	if ((rv = arb_wire_encode(&env, &buf, &len)) != 0)
		fatalx("encode: %s", arb_strerror(rv));
	if ((rv = raw_dial(argv[1], 4096, &fd)) != 0)
		fatalx("%s: %s", argv[1], arb_strerror(rv));
	for (i = 0; i < n; i++)
		if ((rv = raw_send(fd, (uint32_t)i + 1, buf, len)) != 0)
			break;
	printf("sent %" PRIu64 "\n", i);
	fflush(stdout);
	free(buf);
	sleep((unsigned)secs);
	close(fd);
	return 0;
}

/*
 * `arbor-forge inflate URL BYTES`: a ReportBatch of BYTES bytes made of
 * empty entries, two bytes each on the wire, encoded by hand.
 */
static int
cmd_inflate(int argc, char *argv[])
{
	uint8_t		*buf, *reply;
	uint64_t	 total;
	size_t		 inner, off = 0, rlen, i;
	int		 rv;

	if (argc != 3)
		usage();
	total = parse_u64(argv[2], ARB_WIRE_MAX);
	inner = (size_t)total - 16;
	inner -= inner % 2;
	if ((buf = malloc(inner + 16)) == NULL)
		fatalx("out of memory");
	buf[off++] = 0x08;		/* version = 1 */
	buf[off++] = 0x01;
	buf[off++] = 0xa2;		/* field 52 (report_batch), bytes */
	buf[off++] = 0x03;
	off += varint_put(buf + off, inner);
	for (i = 0; i < inner; i += 2) {
		buf[off++] = 0x0a;	/* entries, empty */
		buf[off++] = 0x00;
	}
	rv = arb_net_call(argv[1], buf, off, FORGE_TIMEOUT_MS, &reply, &rlen);
	free(buf);
	if (rv != 0) {
		printf("noreply %d %s\n", rv, arb_strerror(rv));
		return 2;
	}
	rv = print_reply(reply, rlen);
	free(reply);
	return rv;
}

/* `arbor-forge heads URL N`: N GetHead, each from another node id. */
static int
cmd_heads(int argc, char *argv[])
{
	Arbor__Envelope	 env = ARBOR__ENVELOPE__INIT, *r;
	Arbor__GetHead	 gh = ARBOR__GET_HEAD__INIT;
	uint64_t	 i, n, ok = 0;
	char		 id[64];

	if (argc != 3)
		usage();
	n = parse_u64(argv[2], 10000000);
	gh.node_id = id;
	gh.kind = (char *)"agent";
	env.body_case = ARBOR__ENVELOPE__BODY_GET_HEAD;
	env.get_head = &gh;
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "flood-%" PRIu64, i);
		if (call(argv[1], &env, &r) != 0)
			continue;
		ok++;
		arb_wire_free(r);
	}
	printf("answered %" PRIu64 "\n", ok);
	return 0;
}

/*
 * `arbor-forge relays URL MODE TAG`: a batch with no reports and the
 * RelayInfo of a hostile child.  big: 16 relays below named TAG-N with
 * 64 KiB parents; pin: TAG itself, then relay1 dated INT64_MAX; many:
 * FORGE_RELAYS_MANY small relays TAG-N.
 */
static int
cmd_relays(int argc, char *argv[])
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT, *r;
	Arbor__ReportBatch	 rb = ARBOR__REPORT_BATCH__INIT;
	Arbor__RelayInfo	*v[FORGE_RELAYS_MANY], ri[FORGE_RELAYS_MANY];
	char			 ids[FORGE_RELAYS_MANY][64], *big;
	size_t			 i, n;
	int			 rv;

	if (argc != 4)
		usage();
	if ((big = malloc(ARB_MAX_TEXT + 1)) == NULL)
		fatalx("out of memory");
	memset(big, 'p', ARB_MAX_TEXT - 1024);
	big[ARB_MAX_TEXT - 1024] = '\0';
	n = strcmp(argv[2], "many") == 0 ? FORGE_RELAYS_MANY :
	    strcmp(argv[2], "big") == 0 ? 16 : 2;
	for (i = 0; i < n; i++) {
		arbor__relay_info__init(&ri[i]);
		snprintf(ids[i], sizeof(ids[i]), "%s-%zu", argv[3], i);
		ri[i].node_id = ids[i];
		ri[i].parent = strcmp(argv[2], "big") == 0 ? big :
		    (char *)"tcp://evil:1";
		ri[i].children = 1000000;
		ri[i].at = (int64_t)time(NULL);
		v[i] = &ri[i];
	}
	if (strcmp(argv[2], "pin") == 0) {
		ri[0].node_id = argv[3];
		ri[1].node_id = (char *)"relay1";
		ri[1].at = INT64_MAX;
		ri[1].head_seq = UINT64_MAX;
	}
	rb.relays = v;
	rb.n_relays = n;
	env.body_case = ARBOR__ENVELOPE__BODY_REPORT_BATCH;
	env.report_batch = &rb;
	rv = call(argv[1], &env, &r);
	free(big);
	if (rv != 0)
		return rv;
	if (r->body_case == ARBOR__ENVELOPE__BODY_ERROR)
		printf("error %d %s\n", r->error->code, r->error->message);
	else
		printf("reply %d\n", (int)r->body_case);
	arb_wire_free(r);
	return 0;
}

/*
 * `arbor-forge badsig URL TOKEN N`: enrol, then one batch of N reports of
 * that endpoint whose signatures do not verify; prints the ack and the
 * time the root took to answer.
 */
static int
cmd_badsig(int argc, char *argv[])
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT, *rep;
	Arbor__EnrollBody	 eb = ARBOR__ENROLL_BODY__INIT;
	Arbor__Enroll		 en = ARBOR__ENROLL__INIT;
	Arbor__ReportBatch	 rb = ARBOR__REPORT_BATCH__INIT;
	Arbor__ReportEntry	*ev, **vv;
	Arbor__Report		 r = ARBOR__REPORT__INIT;
	Arbor__Signed		 esg, *sg;
	struct arb_key		*k;
	struct timeval		 t0, t1;
	uint8_t			 pub[ARB_PUBKEY_LEN], *buf;
	char			 id[ARB_EPID_HEX];
	uint64_t		 i, n;
	size_t			 len;
	int			 rv;

	if (argc != 4)
		usage();
	n = parse_u64(argv[3], 100000);
	if ((rv = arb_key_generate(&k)) != 0 ||
	    (rv = arb_key_raw_public(k, pub)) != 0 ||
	    (rv = arb_endpoint_id(k, id)) != 0)
		fatalx("forge-badsig: key: %s", arb_strerror(rv));
	eb.pubkey.data = pub;
	eb.pubkey.len = sizeof(pub);
	eb.endpoint_id = id;
	eb.token = argv[2];
	eb.hostname = (char *)"forge";
	if ((rv = arb_wire_encode_enroll(&eb, &buf, &len)) != 0 ||
	    (rv = arb_signed_make(k, buf, len, &esg)) != 0)
		fatalx("forge-badsig: enrol: %s", arb_strerror(rv));
	free(buf);
	en.enroll = &esg;
	env.body_case = ARBOR__ENVELOPE__BODY_ENROLL;
	env.enroll = &en;
	if ((rv = endpoint_send(argv[1], &env, "enrol")) != 0)
		return rv;
	ev = calloc(n, sizeof(*ev));
	vv = calloc(n, sizeof(*vv));
	sg = calloc(n, sizeof(*sg));
	if (ev == NULL || vv == NULL || sg == NULL)
		fatalx("out of memory");
	r.endpoint_id = id;
	r.policy_id = (char *)"p";
	r.detail = (char *)"";
	for (i = 0; i < n; i++) {
		r.seq = i + 1;
		if ((rv = arb_wire_encode_report(&r, &buf, &len)) != 0 ||
		    (rv = arb_signed_make(k, buf, len, &sg[i])) != 0)
			fatalx("forge-badsig: report: %s", arb_strerror(rv));
		free(buf);
		sg[i].sig.data[0] ^= 0x01;	/* no longer verifies */
		arbor__report_entry__init(&ev[i]);
		ev[i].report = &sg[i];
		vv[i] = &ev[i];
	}
	rb.entries = vv;
	rb.n_entries = n;
	env.body_case = ARBOR__ENVELOPE__BODY_REPORT_BATCH;
	env.report_batch = &rb;
	gettimeofday(&t0, NULL);
	rv = call(argv[1], &env, &rep);
	gettimeofday(&t1, NULL);
	if (rv == 0) {
		if (rep->body_case == ARBOR__ENVELOPE__BODY_REPORT_ACK)
			printf("accepted %u rejected %u in %ld ms\n",
			    rep->report_ack->accepted,
			    rep->report_ack->rejected,
			    (long)((t1.tv_sec - t0.tv_sec) * 1000 +
			    (t1.tv_usec - t0.tv_usec) / 1000));
		else
			printf("reply %d\n", (int)rep->body_case);
		arb_wire_free(rep);
	}
	for (i = 0; i < n; i++)
		arb_signed_clear(&sg[i]);
	arb_signed_clear(&esg);
	free(sg);
	free(vv);
	free(ev);
	arb_key_free(k);
	return rv;
}

/* ------------------------------------------------------- raw publish */

/*
 * `arbor-forge publish CONTROL_URL ID APPLICABILITY`: a Publish sent
 * straight to the root's control socket, past arborctl's own checks, of a
 * policy with no blobs whose applicability is the text given.  Prints
 * "published seq N" or "error CODE MESSAGE".
 */
static int
cmd_publish(int argc, char *argv[])
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT, *r;
	Arbor__Publish		 pb = ARBOR__PUBLISH__INIT;
	Arbor__Policy		 p = ARBOR__POLICY__INIT;
	int			 rv;

	if (argc != 4)
		usage();
	p.id = argv[2];
	p.version = 1;
	p.title = (char *)"raw";
	p.severity = (char *)"high";
	p.applicability = argv[3];
	p.action = (char *)"true";
	pb.policy = &p;
	env.body_case = ARBOR__ENVELOPE__BODY_PUBLISH;
	env.publish = &pb;
	if ((rv = call(argv[1], &env, &r)) != 0)
		return rv;
	if (r->body_case == ARBOR__ENVELOPE__BODY_ERROR)
		printf("error %d %s\n", r->error->code, r->error->message);
	else if (r->body_case == ARBOR__ENVELOPE__BODY_DONE)
		printf("published seq %llu\n",
		    (unsigned long long)r->done->seq);
	else
		printf("reply %d\n", (int)r->body_case);
	arb_wire_free(r);
	return 0;
}

/* ------------------------------------------------------ hostile child */

/*
 * `arbor-forge spoof URL ENDPOINT_ID POLICY SEQ STATE [COUNT [MS]]`: a
 * child (a relay or an endpoint below URL) that sends a report in another
 * endpoint's name, signed with a key of its own, with the sequence number
 * it likes (2^64-1 outbids every genuine one), COUNT times MS apart.  It
 * prints what came back each time.
 */
static int
cmd_spoof(int argc, char *argv[])
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT;
	Arbor__ReportBatch	 rb = ARBOR__REPORT_BATCH__INIT;
	Arbor__ReportEntry	 re = ARBOR__REPORT_ENTRY__INIT, *rep = &re;
	Arbor__Report		 r = ARBOR__REPORT__INIT;
	Arbor__Signed		 sg;
	struct arb_key		*k;
	uint8_t			*buf;
	uint64_t		 count, every, i;
	size_t			 len;
	int			 rv;

	if (argc < 6 || argc > 8)
		usage();
	count = argc > 6 ? parse_u64(argv[6], 100000) : 1;
	every = argc > 7 ? parse_u64(argv[7], 60000) : 0;
	r.endpoint_id = argv[2];
	r.policy_id = argv[3];
	r.seq = parse_u64(argv[4], UINT64_MAX);
	r.version = 1;
	r.state = (uint32_t)parse_u64(argv[5], UINT32_MAX);
	r.detail = (char *)"spoofed";
	r.at = (int64_t)time(NULL);
	if ((rv = arb_key_generate(&k)) != 0 ||
	    (rv = arb_wire_encode_report(&r, &buf, &len)) != 0 ||
	    (rv = arb_signed_make(k, buf, len, &sg)) != 0)
		fatalx("forge-spoof: %s", arb_strerror(rv));
	free(buf);
	arb_key_free(k);
	re.report = &sg;
	rb.entries = &rep;
	rb.n_entries = 1;
	env.body_case = ARBOR__ENVELOPE__BODY_REPORT_BATCH;
	env.report_batch = &rb;
	for (i = 0, rv = 0; i < count; i++) {
		if (i > 0)
			usleep((useconds_t)every * 1000);
		rv = endpoint_send(argv[1], &env, "spoof");
		fflush(stdout);
	}
	arb_signed_clear(&sg);
	return rv;
}

/* ------------------------------------------------------- key statements */

static int
cmd_keystmt(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "trust", required_argument, NULL, 't' },
		{ "version", required_argument, NULL, 'v' },
		{ "key", required_argument, NULL, 'k' },
		{ "prev", required_argument, NULL, 'p' },
		{ "revoke", required_argument, NULL, 'r' },
		{ "expired", no_argument, NULL, 'e' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	struct arb_key	*trust = NULL, *keys[FORGE_KEYS_MAX], *k;
	uint8_t		 revoked[FORGE_KEYS_MAX][ARB_KEYID_LEN];
	uint8_t		 prev[ARB_SHA256_LEN], *buf;
	Arbor__Signed	 s = ARBOR__SIGNED__INIT, *ps;
	const char	*out = NULL;
	uint64_t	 version = 0;
	size_t		 nkeys = 0, nrev = 0, len, i;
	int64_t		 now = (int64_t)time(NULL), nb, na;
	int		 ch, rv, expired = 0, linked = 0, fd;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if ((rv = arb_key_load_private(optarg, &trust)) != 0)
				fatalx("forge: %s: %s", optarg,
				    arb_strerror(rv));
			break;
		case 'v':
			version = parse_u64(optarg, UINT64_MAX);
			break;
		case 'k':
		case 'r':
			if ((rv = arb_key_load_public(optarg, &k)) != 0 &&
			    (rv = arb_key_load_private(optarg, &k)) != 0)
				fatalx("forge: %s: %s", optarg,
				    arb_strerror(rv));
			if (ch == 'k' && nkeys < FORGE_KEYS_MAX)
				keys[nkeys++] = k;
			else if (ch == 'r' && nrev < FORGE_KEYS_MAX) {
				arb_key_id(k, revoked[nrev++]);
				arb_key_free(k);
			} else
				fatalx("forge: at most %d keys",
				    FORGE_KEYS_MAX);
			break;
		case 'p':
			if ((rv = read_stmt(optarg, &ps)) != 0)
				fatalx("forge: %s: %s", optarg,
				    arb_strerror(rv));
			arb_sha256(ps->body.data, ps->body.len, prev);
			arb_wire_free_signed(ps);
			linked = 1;
			break;
		case 'e':
			expired = 1;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || trust == NULL || version == 0 || nkeys == 0 ||
	    out == NULL)
		usage();
	nb = expired ? now - 7200 : now - 300;
	na = expired ? now - 3600 : now + 86400;
	rv = arb_keychain_sign(trust, version, linked ? prev : NULL,
	    (const struct arb_key *const *)keys, nkeys,
	    (const uint8_t (*)[ARB_KEYID_LEN])revoked, nrev, nb, na, &s);
	if (rv != 0)
		fatalx("forge: sign: %s", arb_strerror(rv));
	if ((rv = arb_wire_encode_signed(&s, &buf, &len)) != 0)
		fatalx("forge: encode: %s", arb_strerror(rv));
	if ((fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    write(fd, buf, len) != (ssize_t)len || close(fd) != 0)
		fatalx("forge: %s: %s", out, strerror(errno));
	printf("statement %llu: %zu key(s), %zu revoked\n",
	    (unsigned long long)version, nkeys, nrev);
	free(buf);
	arb_signed_clear(&s);
	for (i = 0; i < nkeys; i++)
		arb_key_free(keys[i]);
	arb_key_free(trust);
	return 0;
}

static int
cmd_rotate(int argc, char *argv[])
{
	Arbor__Envelope		 env = ARBOR__ENVELOPE__INIT, *r;
	Arbor__KeyRotate	 kr = ARBOR__KEY_ROTATE__INIT;
	Arbor__Signed		*st;
	int			 rv;

	if (argc != 4)
		usage();
	if ((rv = read_stmt(argv[2], &st)) != 0)
		fatalx("forge: %s: %s", argv[2], arb_strerror(rv));
	kr.statement = st;
	kr.key_path = argv[3];
	env.body_case = ARBOR__ENVELOPE__BODY_KEY_ROTATE;
	env.key_rotate = &kr;
	rv = call(argv[1], &env, &r);
	arb_wire_free_signed(st);
	if (rv != 0)
		return rv;
	if (r->body_case == ARBOR__ENVELOPE__BODY_ERROR)
		printf("error %d %s\n", r->error->code, r->error->message);
	else if (r->body_case == ARBOR__ENVELOPE__BODY_DONE)
		printf("done %s\n", r->done->detail);
	else
		printf("reply %d\n", (int)r->body_case);
	arb_wire_free(r);
	return 0;
}

int
main(int argc, char *argv[])
{
	log_init(1, LOG_USER);
	if (argc < 2)
		usage();
	/* A peer that hangs up mid-send must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "send") == 0)
		return cmd_send(argc - 1, argv + 1);
	if (strcmp(argv[1], "head") == 0)
		return cmd_head(argc - 1, argv + 1);
	if (strcmp(argv[1], "chunk") == 0)
		return cmd_chunk(argc - 1, argv + 1);
	if (strcmp(argv[1], "relay") == 0)
		return cmd_relay(argc - 1, argv + 1);
	if (strcmp(argv[1], "endpoint") == 0)
		return cmd_endpoint(argc - 1, argv + 1);
	if (strcmp(argv[1], "enrol") == 0)
		return cmd_enrol(argc - 1, argv + 1);
	if (strcmp(argv[1], "flood") == 0)
		return cmd_flood(argc - 1, argv + 1);
	if (strcmp(argv[1], "inflate") == 0)
		return cmd_inflate(argc - 1, argv + 1);
	if (strcmp(argv[1], "heads") == 0)
		return cmd_heads(argc - 1, argv + 1);
	if (strcmp(argv[1], "relays") == 0)
		return cmd_relays(argc - 1, argv + 1);
	if (strcmp(argv[1], "badsig") == 0)
		return cmd_badsig(argc - 1, argv + 1);
	if (strcmp(argv[1], "publish") == 0)
		return cmd_publish(argc - 1, argv + 1);
	if (strcmp(argv[1], "spoof") == 0)
		return cmd_spoof(argc - 1, argv + 1);
	if (strcmp(argv[1], "keystmt") == 0)
		return cmd_keystmt(argc - 1, argv + 1);
	if (strcmp(argv[1], "rotate") == 0)
		return cmd_rotate(argc - 1, argv + 1);
	usage();
}
