/*
 * cache.c - reference-counted LRU snapshot cache (see cache.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ecconfig.h"

#include "cache.h"
#include "map.h"

struct ecd_cache {
	struct ecd_map *index;        /* key -> entry */
	struct ecd_snap *head, *tail; /* LRU of ready entries */
	size_t bytes;
	size_t budget;
	int closed;
};

static void
snap_destroy(struct ecd_snap *s)
{
	free(s->key);
	free(s->view);
	free(s->data);
	free(s->manifest);
	free(s);
}

void
ecd_snap_ref(struct ecd_snap *s)
{
	s->refs++;
}

void
ecd_snap_unref(struct ecd_snap *s)
{
	if (s && --s->refs == 0)
		snap_destroy(s);
}

static void
lru_unlink(struct ecd_cache *c, struct ecd_snap *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else if (c->head == s)
		c->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else if (c->tail == s)
		c->tail = s->prev;
	s->prev = s->next = NULL;
}

static void
lru_push(struct ecd_cache *c, struct ecd_snap *s)
{
	s->prev = NULL;
	s->next = c->head;
	if (c->head)
		c->head->prev = s;
	c->head = s;
	if (!c->tail)
		c->tail = s;
}

/* Remove from the index and the LRU; drops the index's reference. */
static void
cache_drop(struct ecd_cache *c, struct ecd_snap *s)
{
	if (!s->indexed)
		return;
	ecd_map_remove(c->index, s->key);
	s->indexed = 0;
	if (!s->building) {
		lru_unlink(c, s);
		c->bytes -= s->len + s->manifest_len;
	}
	ecd_snap_unref(s);
}

struct ecd_cache *
ecd_cache_new(size_t budget)
{
	struct ecd_cache *c = ecc_calloc(1, sizeof(*c));

	c->index = ecd_map_new();
	c->budget = budget;
	return c;
}

static int
cache_free_cb(const char *key, void *value, void *payload)
{
	struct ecd_snap *s = value;

	(void)key;
	(void)payload;
	/* Entries still building belong to their jobs from now on. */
	s->indexed = 0;
	s->prev = s->next = NULL;
	ecd_snap_unref(s);
	return 1;
}

void
ecd_cache_free(struct ecd_cache *c)
{
	if (!c)
		return;
	ecd_map_foreach(c->index, cache_free_cb, NULL);
	ecd_map_free(c->index, NULL);
	free(c);
}

struct ecd_snap *
ecd_cache_get(struct ecd_cache *c, const char *view, int64_t since,
    int64_t rev, int *created)
{
	char *key = ecc_printf("%s\n%" PRId64 "\n%" PRId64, view, since, rev);
	struct ecd_snap *s = ecd_map_get(c->index, key);

	*created = 0;
	if (s) {
		free(key);
		if (!s->building) {
			lru_unlink(c, s);
			lru_push(c, s);
		}
		ecd_snap_ref(s);
		return s;
	}
	s = ecc_calloc(1, sizeof(*s));
	s->key = key;
	s->view = ecc_strdup(view);
	s->since = since;
	s->rev = rev;
	s->building = 1;
	s->indexed = 1;
	s->refs = 2;                  /* the index and the caller */
	s->waiters_tail = &s->waiters;
	s->cache = c;
	ecd_map_put(c->index, key, s);
	*created = 1;
	return s;
}

void
ecd_cache_ready(struct ecd_cache *c, struct ecd_snap *s, void *data,
    size_t len, char *manifest, size_t manifest_len, int64_t view_rev)
{
	s->data = data;
	s->len = len;
	s->manifest = manifest;
	s->manifest_len = manifest_len;
	s->view_rev = view_rev;
	s->building = 0;
	if (!s->indexed)
		return;
	if (len + manifest_len > c->budget) {
		/* Served to the waiters, but not kept. */
		s->building = 1;      /* not in the LRU */
		cache_drop(c, s);
		s->building = 0;
		return;
	}
	lru_push(c, s);
	c->bytes += len + manifest_len;
	while (c->bytes > c->budget && c->tail && c->tail != s)
		cache_drop(c, c->tail);
}

void
ecd_cache_failed(struct ecd_cache *c, struct ecd_snap *s)
{
	if (!s->indexed)
		return;
	cache_drop(c, s);             /* still building: not in the LRU */
}

static void
snap_cleanup(const void *data, size_t len, void *extra)
{
	(void)data;
	(void)len;
	ecd_snap_unref(extra);
}

int
ecd_snap_add_to_buffer(struct evbuffer *buf, struct ecd_snap *s,
    int manifest)
{
	const void *data = manifest ? (const void *)s->manifest : s->data;
	size_t len = manifest ? s->manifest_len : s->len;

	if (len == 0)
		return 0;
	ecd_snap_ref(s);
	if (evbuffer_add_reference(buf, data, len, snap_cleanup, s) < 0) {
		ecd_snap_unref(s);
		return ecc_error_set(ECC_ENOMEM, "cannot reference the "
		    "snapshot in the reply");
	}
	return 0;
}

size_t
ecd_cache_bytes(const struct ecd_cache *c)
{
	return c ? c->bytes : 0;
}
