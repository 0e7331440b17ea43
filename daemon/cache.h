/*
 * cache.h - the snapshot cache: archives of a view built once per
 * (view, since, revision) and served to every client from memory with
 * zero-copy evbuffer references.  Entries are reference counted, so an
 * entry evicted while a reply still sends it stays alive until the last
 * byte left.  Least recently used entries are evicted beyond a byte
 * budget.  A miss creates a "building" entry that later requests for the
 * same key wait on, so one build serves every concurrent request.
 *
 * Event loop thread only.
 */
#ifndef ECD_CACHE_H
#define ECD_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

struct ecd_ctx;
struct ecd_cache;

struct ecd_snap {
	char *key;
	char *view;
	int64_t since;                /* -1: full snapshot */
	int64_t rev;
	void *data;                   /* the tar, when ready */
	size_t len;
	char *manifest;               /* its manifest as JSON text */
	size_t manifest_len;
	int64_t view_rev;
	int building;
	int indexed;                  /* findable in the cache */
	int refs;
	struct ecd_ctx *waiters;      /* requests waiting for the build */
	struct ecd_ctx **waiters_tail;
	struct ecd_snap *prev, *next; /* LRU, most recent first */
	struct ecd_cache *cache;
};

/* Default byte budget. */
#define ECD_CACHE_BUDGET ((size_t)256 * 1024 * 1024)

struct ecd_cache *ecd_cache_new(size_t budget);

/* Drop every entry (those still referenced live on until released). */
void ecd_cache_free(struct ecd_cache *c);

/* The entry for a key, ready or building, with a new reference; or a new
 * building entry (*created = 1) the caller must finish with
 * ecd_cache_ready() or ecd_cache_failed(). */
struct ecd_snap *ecd_cache_get(struct ecd_cache *c, const char *view,
    int64_t since, int64_t rev, int *created);

/* The build finished: the entry takes `data` and `manifest` (malloc'd)
 * and joins the LRU list (unless it is larger than the whole budget). */
void ecd_cache_ready(struct ecd_cache *c, struct ecd_snap *s, void *data,
    size_t len, char *manifest, size_t manifest_len, int64_t view_rev);

/* The build failed: later requests start a new one. */
void ecd_cache_failed(struct ecd_cache *c, struct ecd_snap *s);

void ecd_snap_ref(struct ecd_snap *s);
void ecd_snap_unref(struct ecd_snap *s);

/* Append the entry's archive (or, with `manifest`, its manifest JSON) to
 * `buf` without copying; takes a reference released when `buf` no
 * longer needs the bytes. */
int ecd_snap_add_to_buffer(struct evbuffer *buf, struct ecd_snap *s,
    int manifest);

/* Bytes held by cached entries. */
size_t ecd_cache_bytes(const struct ecd_cache *c);

#endif
