/*
 * map.h - a small string-keyed hash table for the daemon's in-memory
 * tables (tokens, login failure counters, watchers by view, the snapshot
 * cache index).  Used on the event loop only; not thread safe.
 */
#ifndef ECD_MAP_H
#define ECD_MAP_H

#include <stddef.h>

struct ecd_map;

/* A new empty map.  Never NULL (aborts on exhaustion). */
struct ecd_map *ecd_map_new(void);

/* Free the map; `free_value` (may be NULL) is called on every value. */
void ecd_map_free(struct ecd_map *m, void (*free_value)(void *));

/* The value stored under `key`, or NULL.  Borrowed. */
void *ecd_map_get(const struct ecd_map *m, const char *key);

/* Store `value` under `key` (copied).  Returns the value it replaced, or
 * NULL; the caller owns the old value. */
void *ecd_map_put(struct ecd_map *m, const char *key, void *value);

/* Remove `key`; returns its value (owned by the caller) or NULL. */
void *ecd_map_remove(struct ecd_map *m, const char *key);

size_t ecd_map_count(const struct ecd_map *m);

/* Call `fn` on every entry.  When `fn` returns non-zero the entry is
 * removed (the callback then owns and disposes of the value). */
void ecd_map_foreach(struct ecd_map *m,
    int (*fn)(const char *key, void *value, void *payload), void *payload);

#endif
