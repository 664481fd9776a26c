/*
 * Arbor error codes.  Functions return 0 or a negative code: either one of
 * the ARB_E* codes below or -errno for a system error.
 */
#ifndef ARBOR_ERROR_H
#define ARBOR_ERROR_H

enum arb_err {
	ARB_EPROTO = -1000,	/* malformed message or object */
	ARB_ETOOBIG,		/* message or field larger than allowed */
	ARB_EBADSIG,		/* signature does not verify */
	ARB_EUNKNOWNKEY,	/* signed by a key that is not pinned */
	ARB_EROLLBACK,		/* head seq lower than the one held */
	ARB_EEXPIRED,		/* head past expires_at (freeze) */
	ARB_EMIXMATCH,		/* policy not in the verified head */
	ARB_ETOOLONG,		/* blob longer than declared */
	ARB_EBADHASH,		/* content does not hash to what was named */
	ARB_ECORRUPT,		/* stored data damaged */
	ARB_ENOTFOUND,		/* no such object */
	ARB_ETIMEDOUT,		/* no answer in time */
	ARB_ECLOSED,		/* socket or object closed */
	ARB_ECONFIG,		/* bad configuration */
	ARB_EEXIST,		/* already there */
	ARB_EAGAIN,		/* not now; try again later */
	ARB_EINVAL,		/* invalid argument or request */
	ARB_ESTALE,		/* version not newer than the one held */
	ARB_ECRYPTO,		/* crypto library failure */
	ARB_ESTORE,		/* storage library failure */
	ARB_ENET,		/* messaging library failure */
	ARB_EPERM,		/* refused: permissions */
	ARB_EUNREACH,		/* no parent reachable */
	ARB_EUNKNOWN,		/* a fact this node cannot know (file.* at the root) */
	ARB_EREVOKED,		/* signed by a revoked publisher key */
	ARB_EKEYOLD,		/* key statement older than the one held */
	ARB_EKEYGAP,		/* key statement skips a version */
	ARB_EKEYFORK,		/* key statement: same version, other content */
};

/* Text for an error code (ARB_E* or -errno).  Never NULL. */
const char *arb_strerror(int err);

#endif
