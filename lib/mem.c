/*
 * The heap of a process that moves chunks.
 *
 * Every chunk crosses a node as blocks of about ARB_CHUNK_SIZE: the nng
 * message it arrives in, the one its reply is packed into, a copy held
 * out of order.  glibc maps a block that large on its own and unmaps it
 * when freed (its threshold starts at 128 KiB and rises only with what is
 * freed), and each new mapping is page-faulted in and zeroed by the
 * kernel: a cost per byte as large as the copy it holds (perf of the
 * large fan-out: clear_page_erms beside the copies, in relays and
 * endpoints).  So blocks below ARB_MEM_MMAP_MIN come from the heap, and
 * the heap is given back to the kernel only beyond ARB_MEM_TRIM of free
 * space at its top: the same pages carry chunk after chunk.  For the root
 * and relays, which serve chunks all day; an agent downloads now and then
 * and gives its memory back (a swarm of simulated endpoints kept 70 %
 * more at its peak, for no speed: measured with bench/fanout.py).
 */
#include <malloc.h>

#include "arbor/blob.h"
#include "arbor/mem.h"

#define ARB_MEM_MMAP_MIN	(4 * ARB_CHUNK_SIZE)
#define ARB_MEM_TRIM		(64 * ARB_CHUNK_SIZE)

void
arb_mem_tune(void)
{
#ifdef M_MMAP_THRESHOLD
	(void)mallopt(M_MMAP_THRESHOLD, ARB_MEM_MMAP_MIN);
	(void)mallopt(M_TRIM_THRESHOLD, ARB_MEM_TRIM);
#endif
}
