/*
 * map.c - string-keyed hash table with separate chaining (see map.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#include "map.h"

struct map_entry {
	struct map_entry *next;
	uint64_t hash;
	char *key;
	void *value;
};

struct ecd_map {
	struct map_entry **buckets;
	size_t nbuckets;               /* a power of two */
	size_t count;
};

#define MAP_MIN_BUCKETS 64

/* FNV-1a: keys are short and mostly random (tokens) or chosen by us. */
static uint64_t
map_hash(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *key; key++) {
		h ^= (unsigned char)*key;
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct ecd_map *
ecd_map_new(void)
{
	struct ecd_map *m = ecc_calloc(1, sizeof(*m));

	m->nbuckets = MAP_MIN_BUCKETS;
	m->buckets = ecc_calloc(m->nbuckets, sizeof(*m->buckets));
	return m;
}

void
ecd_map_free(struct ecd_map *m, void (*free_value)(void *))
{
	struct map_entry *e, *next;
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e; e = next) {
			next = e->next;
			if (free_value)
				free_value(e->value);
			free(e->key);
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}

static struct map_entry **
map_slot(const struct ecd_map *m, const char *key, uint64_t hash)
{
	struct map_entry **pe = &m->buckets[hash & (m->nbuckets - 1)];

	for (; *pe; pe = &(*pe)->next)
		if ((*pe)->hash == hash && strcmp((*pe)->key, key) == 0)
			break;
	return pe;
}

static void
map_resize(struct ecd_map *m, size_t nbuckets)
{
	struct map_entry **nb = ecc_calloc(nbuckets, sizeof(*nb));
	struct map_entry *e, *next;
	size_t i;

	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e; e = next) {
			next = e->next;
			e->next = nb[e->hash & (nbuckets - 1)];
			nb[e->hash & (nbuckets - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = nbuckets;
}

void *
ecd_map_get(const struct ecd_map *m, const char *key)
{
	struct map_entry **pe = map_slot(m, key, map_hash(key));

	return *pe ? (*pe)->value : NULL;
}

void *
ecd_map_put(struct ecd_map *m, const char *key, void *value)
{
	uint64_t hash = map_hash(key);
	struct map_entry **pe = map_slot(m, key, hash);
	struct map_entry *e;
	void *old;

	if (*pe) {
		old = (*pe)->value;
		(*pe)->value = value;
		return old;
	}
	e = ecc_calloc(1, sizeof(*e));
	e->hash = hash;
	e->key = ecc_strdup(key);
	e->value = value;
	e->next = m->buckets[hash & (m->nbuckets - 1)];
	m->buckets[hash & (m->nbuckets - 1)] = e;
	m->count++;
	if (m->count > m->nbuckets)
		map_resize(m, m->nbuckets * 2);
	return NULL;
}

void *
ecd_map_remove(struct ecd_map *m, const char *key)
{
	struct map_entry **pe = map_slot(m, key, map_hash(key));
	struct map_entry *e = *pe;
	void *value;

	if (!e)
		return NULL;
	*pe = e->next;
	value = e->value;
	free(e->key);
	free(e);
	m->count--;
	if (m->nbuckets > MAP_MIN_BUCKETS && m->count < m->nbuckets / 8)
		map_resize(m, m->nbuckets / 2);
	return value;
}

size_t
ecd_map_count(const struct ecd_map *m)
{
	return m->count;
}

void
ecd_map_foreach(struct ecd_map *m,
    int (*fn)(const char *key, void *value, void *payload), void *payload)
{
	struct map_entry **pe, *e;
	size_t i;

	for (i = 0; i < m->nbuckets; i++) {
		pe = &m->buckets[i];
		while ((e = *pe) != NULL) {
			if (fn(e->key, e->value, payload)) {
				*pe = e->next;
				free(e->key);
				free(e);
				m->count--;
			} else {
				pe = &e->next;
			}
		}
	}
}
