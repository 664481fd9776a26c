/*
 * The fetch pipeline: a blob from the parent, in ARB_CHUNK_SIZE chunks,
 * fetch_depth requests in flight, at most fetch_rate bytes a second,
 * written in order, resumable, verified before it is taken, and fetched
 * once however many callers ask for it at the same time (single flight).
 * Requests go through the parent link.  Everything runs on the loop
 * thread.
 */
#ifndef ARBOR_FETCH_H
#define ARBOR_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "arbor/blob.h"
#include "arbor/link.h"
#include "arbor/sig.h"

struct arb_fetcher;

/*
 * Where fetched bytes go, when not to the blob directory: a simulated
 * endpoint verifies what it downloads but keeps nothing.  open starts a
 * blob (*hp its handle, from offset 0); write takes the next bytes in
 * order; finish is called once every byte is written and verifies
 * (ARB_EBADHASH); finish and abort free the handle.  have says whether a
 * blob is held, verified.
 */
struct arb_fetch_sink {
	int	(*have)(void *arg, const uint8_t sha[ARB_SHA256_LEN],
		    uint64_t size);
	int	(*open)(void *arg, const uint8_t sha[ARB_SHA256_LEN],
		    uint64_t size, void **hp);
	int	(*write)(void *h, const uint8_t *data, size_t len);
	int	(*finish)(void *h);
	void	(*abort)(void *h);
	void	 *arg;
};

struct arb_fetch_conf {
	uv_loop_t			*loop;
	struct arb_link			*link;
	struct arb_blobdir		*blobs;	/* where blobs go, or */
	const struct arb_fetch_sink	*sink;	/* ... this; copied */
	const struct arb_upstream	*up;	/* depth and rate; kept */
	int				 chunk_hashes; /* hand them back */
	const char			*kind;	/* in logs */
	int				 quiet;	/* routine lines at debug */
};

int	arb_fetch_new(const struct arb_fetch_conf *c, struct arb_fetcher **fp);

/*
 * Completion of a fetch, called once on the loop thread: rv 0 (the blob is
 * complete and verified: under its real name in the blob directory, or
 * taken by the sink) or an error (ARB_ETOOLONG, ARB_EBADHASH,
 * ARB_ETIMEDOUT, ARB_ECORRUPT for a blob whose stored size is wrong,
 * ARB_ECLOSED...).  With chunk_hashes set and every byte fetched by this
 * fetch, chunks holds the SHA-256 of each ARB_CHUNK_SIZE chunk in order
 * (nchunks of them, valid during the call); otherwise it is NULL (the blob
 * was there already, or the fetch resumed a partial file).
 */
typedef void (*arb_fetch_cb)(int rv, const uint8_t *sha,
    const uint8_t *chunks, size_t nchunks, void *arg);

/*
 * Fetch blob sha of the given size.  A fetch of the same blob in progress
 * is joined.  A blob already held completes at once (still through the
 * loop: cb never runs inside the caller).  0, or an error and cb is never
 * called.
 */
int	arb_fetch_blob(struct arb_fetcher *fp,
	    const uint8_t sha[ARB_SHA256_LEN], uint64_t size, arb_fetch_cb cb,
	    void *arg);

/* Is the blob held, verified (in the blob directory, or by the sink)? */
int	arb_fetch_have(const struct arb_fetcher *fp,
	    const uint8_t sha[ARB_SHA256_LEN], uint64_t size);

/*
 * Stop: fetches in progress complete with ARB_ECLOSED (those waiting on a
 * reply when it comes, or when the link is closed); fp is freed after the
 * last.
 */
void	arb_fetch_free(struct arb_fetcher *fp);

#endif
