/*
 * A map from strings to pointers: open addressing, linear probing, FNV-1a.
 * Keys are copied; values are the caller's.  For the sets a node keeps in
 * memory (children heard from, relays below, counts per policy).
 */
#ifndef ARBOR_STRMAP_H
#define ARBOR_STRMAP_H

#include <stddef.h>

struct arb_strmap;

int	arb_strmap_new(struct arb_strmap **mp);
/* Frees the map and its keys; free_val (may be NULL) frees each value. */
void	arb_strmap_free(struct arb_strmap *m, void (*free_val)(void *));
/* The value for key, or NULL. */
void	*arb_strmap_get(const struct arb_strmap *m, const char *key);
/* Set key to val; *oldp (may be NULL) gets the value replaced, or NULL. */
int	arb_strmap_put(struct arb_strmap *m, const char *key, void *val,
	    void **oldp);
/* Remove key; returns its value or NULL. */
void	*arb_strmap_del(struct arb_strmap *m, const char *key);
size_t	arb_strmap_count(const struct arb_strmap *m);
/* Call fn for each entry (order unspecified); fn must not change m. */
void	arb_strmap_each(const struct arb_strmap *m,
	    void (*fn)(const char *key, void *val, void *arg), void *arg);

#endif
