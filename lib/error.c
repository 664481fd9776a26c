/*
 * Text for Arbor's error codes.
 */
#include <string.h>

#include "arbor/error.h"

static const char *const arb_errtab[] = {
	[ARB_EPROTO - ARB_EPROTO] = "malformed message",
	[ARB_ETOOBIG - ARB_EPROTO] = "message too large",
	[ARB_EBADSIG - ARB_EPROTO] = "bad signature",
	[ARB_EUNKNOWNKEY - ARB_EPROTO] = "signed by a key that is not pinned",
	[ARB_EROLLBACK - ARB_EPROTO] = "rollback: seq lower than the one held",
	[ARB_EEXPIRED - ARB_EPROTO] = "expired (freeze)",
	[ARB_EMIXMATCH - ARB_EPROTO] = "not in the verified head (mix-and-match)",
	[ARB_ETOOLONG - ARB_EPROTO] = "longer than declared (endless data)",
	[ARB_EBADHASH - ARB_EPROTO] = "hash mismatch",
	[ARB_ECORRUPT - ARB_EPROTO] = "stored data corrupt",
	[ARB_ENOTFOUND - ARB_EPROTO] = "not found",
	[ARB_ETIMEDOUT - ARB_EPROTO] = "timed out",
	[ARB_ECLOSED - ARB_EPROTO] = "closed",
	[ARB_ECONFIG - ARB_EPROTO] = "bad configuration",
	[ARB_EEXIST - ARB_EPROTO] = "already exists",
	[ARB_EAGAIN - ARB_EPROTO] = "try again later",
	[ARB_EINVAL - ARB_EPROTO] = "invalid argument",
	[ARB_ESTALE - ARB_EPROTO] = "version not newer than the one held",
	[ARB_ECRYPTO - ARB_EPROTO] = "crypto failure",
	[ARB_ESTORE - ARB_EPROTO] = "storage failure",
	[ARB_ENET - ARB_EPROTO] = "messaging failure",
	[ARB_EPERM - ARB_EPROTO] = "permission refused",
	[ARB_EUNREACH - ARB_EPROTO] = "unreachable",
	[ARB_EUNKNOWN - ARB_EPROTO] = "not known here",
	[ARB_EREVOKED - ARB_EPROTO] = "signed by a revoked key",
	[ARB_EKEYOLD - ARB_EPROTO] = "key statement older than the one held",
	[ARB_EKEYGAP - ARB_EPROTO] = "key statement skips a version",
	[ARB_EKEYFORK - ARB_EPROTO] =
	    "key statement: same version, other content",
};

const char *
arb_strerror(int err)
{
	size_t	i;

	if (err == 0)
		return "success";
	if (err < ARB_EPROTO || err > ARB_EKEYFORK)
		return err < 0 ? strerror(-err) : "unknown error";
	i = (size_t)(err - ARB_EPROTO);
	if (arb_errtab[i])
		return arb_errtab[i];
	return "unknown error";
}
