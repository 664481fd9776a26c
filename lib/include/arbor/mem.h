/*
 * The heap of a process that moves chunks: see lib/mem.c.
 */
#ifndef ARBOR_MEM_H
#define ARBOR_MEM_H

/*
 * Keep chunk-sized blocks (nng's messages, a chunk's bytes) in the heap
 * for reuse instead of mapping and unmapping each one.  Called once, at
 * the start of main, before any thread.
 */
void	arb_mem_tune(void);

#endif
