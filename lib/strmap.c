/*
 * String map: open addressing with linear probing and backward-shift
 * deletion (no tombstones), grown at 70 % load.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arbor/strmap.h"

struct slot {
	char	*key;
	void	*val;
	uint32_t hash;
};

struct arb_strmap {
	struct slot	*slots;
	size_t		 cap;		/* a power of two */
	size_t		 n;
};

static uint32_t
fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h;
}

int
arb_strmap_new(struct arb_strmap **mp)
{
	struct arb_strmap *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -ENOMEM;
	m->cap = 16;
	if ((m->slots = calloc(m->cap, sizeof(*m->slots))) == NULL) {
		free(m);
		return -ENOMEM;
	}
	*mp = m;
	return 0;
}

void
arb_strmap_free(struct arb_strmap *m, void (*free_val)(void *))
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->cap; i++)
		if (m->slots[i].key) {
			free(m->slots[i].key);
			if (free_val)
				free_val(m->slots[i].val);
		}
	free(m->slots);
	free(m);
}

static size_t
find(const struct arb_strmap *m, const char *key, uint32_t h)
{
	size_t i = h & (m->cap - 1);

	while (m->slots[i].key != NULL &&
	    (m->slots[i].hash != h || strcmp(m->slots[i].key, key) != 0))
		i = (i + 1) & (m->cap - 1);
	return i;
}

void *
arb_strmap_get(const struct arb_strmap *m, const char *key)
{
	size_t i = find(m, key, fnv1a(key));

	return m->slots[i].key ? m->slots[i].val : NULL;
}

static int
grow(struct arb_strmap *m)
{
	struct slot	*old = m->slots, *ns;
	size_t		 oldcap = m->cap, i, j;

	if ((ns = calloc(oldcap * 2, sizeof(*ns))) == NULL)
		return -ENOMEM;
	m->slots = ns;
	m->cap = oldcap * 2;
	for (i = 0; i < oldcap; i++)
		if (old[i].key) {
			j = old[i].hash & (m->cap - 1);
			while (m->slots[j].key)
				j = (j + 1) & (m->cap - 1);
			m->slots[j] = old[i];
		}
	free(old);
	return 0;
}

int
arb_strmap_put(struct arb_strmap *m, const char *key, void *val, void **oldp)
{
	uint32_t	h = fnv1a(key);
	size_t		i;
	int		rv;

	if ((m->n + 1) * 10 > m->cap * 7 && (rv = grow(m)) != 0)
		return rv;
	i = find(m, key, h);
	if (m->slots[i].key) {
		if (oldp)
			*oldp = m->slots[i].val;
		m->slots[i].val = val;
		return 0;
	}
	if ((m->slots[i].key = strdup(key)) == NULL)
		return -ENOMEM;
	m->slots[i].val = val;
	m->slots[i].hash = h;
	m->n++;
	if (oldp)
		*oldp = NULL;
	return 0;
}

void *
arb_strmap_del(struct arb_strmap *m, const char *key)
{
	size_t	 i = find(m, key, fnv1a(key)), j, home;
	void	*val;

	if (m->slots[i].key == NULL)
		return NULL;
	val = m->slots[i].val;
	free(m->slots[i].key);
	m->slots[i].key = NULL;
	m->n--;
	/* Shift back the entries of this run that can move closer home. */
	j = i;
	for (;;) {
		j = (j + 1) & (m->cap - 1);
		if (m->slots[j].key == NULL)
			break;
		home = m->slots[j].hash & (m->cap - 1);
		/* Move j to i if home is not cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			m->slots[i] = m->slots[j];
			m->slots[j].key = NULL;
			i = j;
		}
	}
	return val;
}

size_t
arb_strmap_count(const struct arb_strmap *m)
{
	return m->n;
}

void
arb_strmap_each(const struct arb_strmap *m,
    void (*fn)(const char *key, void *val, void *arg), void *arg)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			fn(m->slots[i].key, m->slots[i].val, arg);
}
