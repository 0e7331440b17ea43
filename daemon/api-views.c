/*
 * api-views.c - views: GET /v1/views, snapshots and deltas
 * (/v1/views/{view}/snapshot, built on a reader and served from the
 * snapshot cache), manifests, and the long-poll watch: requests parked
 * per view, answered when a commit moves their view past `since` or
 * when their wait ends.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "ecconfig.h"

#include "api.h"
#include "cache.h"
#include "map.h"

enum {
	WAIT_SNAPSHOT = 0,
	WAIT_MANIFEST = 1,
};

/* --- GET /v1/views --- */

void
ecd_api_views(struct ecd_ctx *ctx)
{
	const struct ecd_state *st = ctx->srv->state;
	json_t *arr = json_array();
	size_t i;

	/* Subclusters first, then "all" (as in proto/API.md). */
	for (i = 1; st && i <= st->nviews; i++) {
		const struct ecd_view_rev *v = &st->views[i % st->nviews];

		json_array_append_new(arr, json_pack("{s:s, s:I}", "name",
		    v->name, "revision", (json_int_t)v->revision));
	}
	ecd_reply_json(ctx, 200, json_pack("{s:I, s:o}", "head",
	    (json_int_t)(st ? st->head : 0), "views", arr));
}

/* --- snapshots and manifests --- */

struct snap_job {
	struct ecd_job job;
	struct ecd_server *srv;
	struct ecd_snap *snap;
	struct ecc_limits limits;
	void *data;
	size_t len;
	char *manifest;
	size_t manifest_len;
	int64_t view_rev;
	int error;
	char *errmsg;
};

static void
snap_etag(char *out, size_t size, const struct ecd_snap *s)
{
	if (s->since < 0)
		snprintf(out, size, "\"%s-%" PRId64 "\"", s->view, s->rev);
	else
		snprintf(out, size, "\"%s-%" PRId64 "-%" PRId64 "\"", s->view,
		    s->since, s->rev);
}

static void
snap_serve(struct ecd_ctx *ctx, struct ecd_snap *s)
{
	struct evbuffer *buf = evbuffer_new();
	char text[128];
	int manifest = ctx->waiter_kind == WAIT_MANIFEST;

	if (!buf)
		abort();
	if (!manifest) {
		snprintf(text, sizeof(text), "%" PRId64, s->rev);
		ecd_set_header(ctx, "X-Ecconfig-Revision", text);
		snprintf(text, sizeof(text), "%" PRId64, s->view_rev);
		ecd_set_header(ctx, "X-Ecconfig-View-Revision", text);
		snap_etag(text, sizeof(text), s);
		ecd_set_header(ctx, "ETag", text);
	}
	if (ecd_snap_add_to_buffer(buf, s, manifest) < 0) {
		evbuffer_free(buf);
		ecd_reply_code(ctx, ECC_ENOMEM, NULL);
		return;
	}
	ecd_reply_buffer(ctx, 200, manifest ? "application/json; "
	    "charset=utf-8" : "application/x-tar", buf);
	evbuffer_free(buf);
}

static void
snap_run(struct ecd_job *job, struct ecd_worker *w)
{
	struct snap_job *sj = (struct snap_job *)job;
	struct ecd_snap *s = sj->snap;
	struct ecc_manifest *m = NULL;
	int error;

	if ((error = ecd_check_revision(w->repo, s->rev)) < 0 ||
	    (s->since >= 0 && (error = ecd_check_revision(w->repo, s->since))
	    < 0) ||
	    (error = ecc_view_revision(&sj->view_rev, w->repo, s->view,
	    s->rev)) < 0 ||
	    (error = ecc_view_archive(&sj->data, &sj->len, w->repo, s->view,
	    s->since, s->rev, &sj->limits)) < 0 ||
	    (error = ecc_snapshot_read_manifest(&m, sj->data, sj->len,
	    &sj->limits)) < 0 ||
	    (error = ecc_manifest_to_json(&sj->manifest, &sj->manifest_len, m))
	    < 0) {
		sj->error = error;
		sj->errmsg = ecc_strdup(ecc_error_last());
	}
	ecc_manifest_free(m);
}

static void
snap_done(struct ecd_job *job)
{
	struct snap_job *sj = (struct snap_job *)job;
	struct ecd_snap *s = sj->snap;
	struct ecd_cache *cache = sj->srv->cache;
	struct ecd_ctx *ctx, *next;

	if (sj->error) {
		ecd_log_remote(LOG_WARNING, "view", "cannot build %s of view "
		    "%s at r%" PRId64 ": %s", s->since < 0 ? "a snapshot" : "a delta", s->view,
		    s->rev, sj->errmsg);
		ecd_cache_failed(cache, s);
	} else {
		ecc_log_debug("view", "built %s/%" PRId64 "/%" PRId64 ": %zu "
		    "bytes", s->view, s->since, s->rev, sj->len);
		ecd_cache_ready(cache, s, sj->data, sj->len, sj->manifest,
		    sj->manifest_len, sj->view_rev);
		sj->data = NULL;
		sj->manifest = NULL;
	}
	ctx = s->waiters;
	s->waiters = NULL;
	s->waiters_tail = &s->waiters;
	for (; ctx; ctx = next) {
		next = ctx->next_waiter;
		ctx->next_waiter = NULL;
		if (sj->error)
			ecd_reply_code(ctx, sj->error, sj->errmsg);
		else
			snap_serve(ctx, s);
		ecd_snap_unref(s);            /* the waiter's */
	}
	ecd_snap_unref(s);                    /* the job's */
	free(sj->data);
	free(sj->manifest);
	free(sj->errmsg);
	free(sj);
}

/* Serve `view` at (since, rev) from the cache, building it if needed. */
static void
snap_request(struct ecd_ctx *ctx, const char *view, int64_t since,
    int64_t rev)
{
	struct ecd_server *srv = ctx->srv;
	struct ecd_snap *s;
	struct snap_job *sj;
	int created;

	s = ecd_cache_get(srv->cache, view, since, rev, &created);
	if (!s->building) {
		snap_serve(ctx, s);
		ecd_snap_unref(s);
		return;
	}
	/* Wait for the build; the reference from get is the waiter's. */
	ctx->next_waiter = NULL;
	*s->waiters_tail = ctx;
	s->waiters_tail = &ctx->next_waiter;
	if (!created)
		return;
	sj = ecc_calloc(1, sizeof(*sj));
	sj->job.run = snap_run;
	sj->job.done = snap_done;
	sj->srv = srv;
	sj->snap = s;
	sj->limits = srv->limits;
	ecd_snap_ref(s);
	if (ecd_pool_submit_read(srv->pool, &sj->job) < 0) {
		sj->error = ECC_EUNAVAIL;
		sj->errmsg = ecc_strdup(ecc_error_last());
		snap_done(&sj->job);
	}
}

/* The view named by params[0], or -1 after a 404. */
static int64_t
view_lookup(struct ecd_ctx *ctx)
{
	int64_t vrev = ecd_server_view_revision(ctx->srv, ctx->params[0]);

	if (vrev < 0)
		ecd_reply_error(ctx, 404, "not_found", "no such view: %s (views "
		    "are 'all' and the subclusters of the topology)",
		    ctx->params[0]);
	return vrev;
}

/* A herd of nodes fetching at once is spread out: beyond snapshot_rate
 * a second, 429 with a Retry-After of 1..3 s drawn at random, so the
 * herd does not come back as one.  Returns 1 when the request was
 * answered so. */
static int
snap_paced(struct ecd_ctx *ctx)
{
	struct ecd_server *srv = ctx->srv;
	int64_t rate = srv->cfg->snapshot_rate;
	uint64_t second = ecc_now_ms() / 1000;
	unsigned char r = 0;
	char text[8];

	if (rate <= 0)
		return 0;
	if (second != srv->snap_second) {
		srv->snap_second = second;
		srv->snap_tokens = rate;
	}
	if (srv->snap_tokens > 0) {
		srv->snap_tokens--;
		return 0;
	}
	if (ecc_random_bytes(&r, 1) < 0)
		ecc_error_clear();
	snprintf(text, sizeof(text), "%u", 1u + r % 3u);
	srv->metrics.snapshots_paced++;
	ecd_set_header(ctx, "Retry-After", text);
	ecd_reply_error(ctx, 429, "try_again", "%" PRId64 " snapshots a "
	    "second are being served; retry after %s s", rate, text);
	return 1;
}

void
ecd_api_snapshot(struct ecd_ctx *ctx)
{
	int64_t head = ctx->srv->state ? ctx->srv->state->head : 0;
	int64_t rev, since;
	const char *inm;
	char etag[128], text[32];

	if (view_lookup(ctx) < 0 ||
	    ecd_query_int(ctx, "rev", 0, INT64_MAX, head, &rev) < 0 ||
	    ecd_query_int(ctx, "since", 0, INT64_MAX, -1, &since) < 0)
		return;
	if (rev > head) {
		ecd_reply_error(ctx, 404, "not_found", "revision %" PRId64
		    " does not exist (head is r%" PRId64 ")", rev, head);
		return;
	}
	if (since > rev) {
		ecd_reply_error(ctx, 400, "invalid", "since (%" PRId64 ") is "
		    "past rev (%" PRId64 ")", since, rev);
		return;
	}
	if (since >= 0)
		snprintf(etag, sizeof(etag), "\"%s-%" PRId64 "-%" PRId64 "\"",
		    ctx->params[0], since, rev);
	else
		snprintf(etag, sizeof(etag), "\"%s-%" PRId64 "\"",
		    ctx->params[0], rev);
	inm = ecd_get_header(ctx, "If-None-Match");
	if (inm && strcmp(inm, etag) == 0) {
		snprintf(text, sizeof(text), "%" PRId64, rev);
		ecd_set_header(ctx, "ETag", etag);
		ecd_set_header(ctx, "X-Ecconfig-Revision", text);
		ecd_reply_empty(ctx, 304);
		return;
	}
	if (snap_paced(ctx))
		return;
	ctx->waiter_kind = WAIT_SNAPSHOT;
	snap_request(ctx, ctx->params[0], since, rev);
}

void
ecd_api_manifest(struct ecd_ctx *ctx)
{
	int64_t head = ctx->srv->state ? ctx->srv->state->head : 0;
	int64_t rev;

	if (view_lookup(ctx) < 0 ||
	    ecd_query_int(ctx, "rev", 0, INT64_MAX, head, &rev) < 0)
		return;
	if (rev > head) {
		ecd_reply_error(ctx, 404, "not_found", "revision %" PRId64
		    " does not exist (head is r%" PRId64 ")", rev, head);
		return;
	}
	ctx->waiter_kind = WAIT_MANIFEST;
	snap_request(ctx, ctx->params[0], -1, rev);
}

/* --- watch --- */

struct watch_list;

struct watcher {
	struct ecd_ctx *ctx;
	struct watch_list *list;
	struct watcher *prev, *next;
	struct event *timer;
	int64_t since;
};

struct watch_list {
	char *view;
	struct watcher *head;
};

static void
watch_reply(struct ecd_ctx *ctx, const char *view, int changed)
{
	struct ecd_server *srv = ctx->srv;
	int64_t vrev = ecd_server_view_revision(srv, view);

	if (vrev < 0) {
		ecd_reply_error(ctx, 404, "not_found", "view %s no longer "
		    "exists", view);
		return;
	}
	ecd_reply_json(ctx, 200, json_pack("{s:s, s:I, s:I, s:b}",
	    "view", view, "revision", (json_int_t)vrev,
	    "head", (json_int_t)(srv->state ? srv->state->head : 0),
	    "changed", changed));
}

/* The reply every watcher of a view woken by one commit gets: encoded
 * once and referenced by each reply's buffer, freed with the last. */
struct watch_body {
	unsigned refs;
	size_t len;
	char text[];
};

static struct watch_body *
watch_body_new(struct ecd_server *srv, const char *view, int64_t vrev)
{
	json_t *v = json_pack("{s:s, s:I, s:I, s:b}", "view", view,
	    "revision", (json_int_t)vrev, "head",
	    (json_int_t)(srv->state ? srv->state->head : 0), "changed", 1);
	char *text = v ? ecc_json_dump(v) : NULL;
	struct watch_body *b = NULL;
	size_t len;

	json_decref(v);
	if (!text)
		return NULL;
	len = strlen(text);
	b = ecc_malloc(sizeof(*b) + len + 2);
	b->refs = 1;
	memcpy(b->text, text, len);
	b->text[len] = '\n';
	b->text[len + 1] = '\0';
	b->len = len + 1;
	free(text);
	return b;
}

static void
watch_body_unref(struct watch_body *b)
{
	if (b && --b->refs == 0)
		free(b);
}

static void
watch_body_cleanup(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	watch_body_unref(arg);
}

static void
watch_reply_shared(struct ecd_ctx *ctx, struct watch_body *b)
{
	struct evbuffer *buf = evbuffer_new();

	if (!buf)
		abort();
	b->refs++;
	if (evbuffer_add_reference(buf, b->text, b->len, watch_body_cleanup,
	    b) < 0)
		abort();
	ecd_reply_buffer(ctx, 200, "application/json; charset=utf-8", buf);
	evbuffer_free(buf);
}

/* Unlink and free a watcher (not its ctx); drops an empty list. */
static void
watcher_remove(struct ecd_server *srv, struct watcher *w)
{
	struct watch_list *l = w->list;

	if (w->prev)
		w->prev->next = w->next;
	else
		l->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	event_free(w->timer);
	free(w);
	srv->nwatchers--;
	if (!l->head) {
		ecd_map_remove(srv->watchers, l->view);
		free(l->view);
		free(l);
	}
}

static void
watch_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watcher *w = arg;
	struct ecd_ctx *ctx = w->ctx;
	struct ecd_server *srv = ctx->srv;
	char *view = ecc_strdup(w->list->view);

	(void)fd;
	(void)what;
	watcher_remove(srv, w);
	watch_reply(ctx, view, 0);
	free(view);
}

void
ecd_api_watch(struct ecd_ctx *ctx)
{
	struct ecd_server *srv = ctx->srv;
	int64_t maxwait = srv->cfg->watch_max_wait, since, wait, vrev;
	struct watch_list *l;
	struct watcher *w;
	struct timeval tv;

	if ((vrev = view_lookup(ctx)) < 0 ||
	    ecd_query_int(ctx, "since", 0, INT64_MAX, 0, &since) < 0 ||
	    ecd_query_int(ctx, "wait", 0, INT64_MAX, maxwait < 60 ? maxwait :
	    60, &wait) < 0)
		return;
	if (wait > maxwait)
		wait = maxwait;
	/* wait=0 asks for the view's revision without waiting. */
	if (vrev > since || wait == 0) {
		watch_reply(ctx, ctx->params[0], vrev > since);
		return;
	}
	w = ecc_calloc(1, sizeof(*w));
	w->ctx = ctx;
	w->since = since;
	if (!(w->timer = evtimer_new(srv->base, watch_timeout_cb, w))) {
		free(w);
		ecd_reply_code(ctx, ECC_ENOMEM, "cannot park the watch");
		return;
	}
	if (!(l = ecd_map_get(srv->watchers, ctx->params[0]))) {
		l = ecc_calloc(1, sizeof(*l));
		l->view = ecc_strdup(ctx->params[0]);
		ecd_map_put(srv->watchers, l->view, l);
	}
	w->list = l;
	w->next = l->head;
	if (l->head)
		l->head->prev = w;
	l->head = w;
	srv->nwatchers++;
	tv.tv_sec = (time_t)wait;
	tv.tv_usec = 0;
	evtimer_add(w->timer, &tv);
}

static int64_t
state_view_rev(const struct ecd_state *st, const char *view)
{
	size_t i;

	for (i = 0; st && i < st->nviews; i++)
		if (strcmp(st->views[i].name, view) == 0)
			return st->views[i].revision;
	return -1;
}

struct notify_arg {
	struct ecd_server *srv;
	const struct ecd_state *old;
	struct watch_list **lists;
	size_t n, cap;
};

static void
notify_push(struct notify_arg *na, struct watch_list *l)
{
	if (na->n == na->cap) {
		na->cap = na->cap ? na->cap * 2 : 8;
		na->lists = ecc_realloc(na->lists, na->cap *
		    sizeof(*na->lists));
	}
	na->lists[na->n++] = l;
}

static int
notify_collect(const char *key, void *value, void *payload)
{
	struct notify_arg *na = payload;
	int64_t now = ecd_server_view_revision(na->srv, key);

	if (now >= 0 && now == state_view_rev(na->old, key))
		return 0;               /* this view did not move */
	notify_push(na, value);
	return 0;
}

void
ecd_watch_notify(struct ecd_server *srv, const struct ecd_state *old)
{
	struct notify_arg na = { srv, old, NULL, 0, 0 };
	struct watch_body *body;
	struct watcher *w, *next;
	struct ecd_ctx *ctx;
	char *view;
	int64_t vrev;
	size_t i, woken = 0;
	int last;

	if (!srv->watchers)
		return;
	ecd_map_foreach(srv->watchers, notify_collect, &na);
	for (i = 0; i < na.n; i++) {
		view = ecc_strdup(na.lists[i]->view);
		vrev = ecd_server_view_revision(srv, view);
		body = vrev >= 0 ? watch_body_new(srv, view, vrev) : NULL;
		for (w = na.lists[i]->head, last = 0; w && !last; w = next) {
			next = w->next;
			last = next == NULL;
			if (vrev >= 0 && vrev <= w->since)
				continue;
			ctx = w->ctx;
			/* Removing the last watcher frees the list. */
			watcher_remove(srv, w);
			if (body)
				watch_reply_shared(ctx, body);
			else
				watch_reply(ctx, view, 1);
			woken++;
		}
		watch_body_unref(body);
		free(view);
	}
	if (woken)
		ecc_log_debug("view", "woke %zu watcher(s)", woken);
	free(na.lists);
}

static int
release_collect(const char *key, void *value, void *payload)
{
	struct notify_arg *na = payload;

	(void)key;
	notify_push(na, value);
	return 0;
}

void
ecd_watch_release_all(struct ecd_server *srv)
{
	struct notify_arg na = { srv, NULL, NULL, 0, 0 };
	struct watcher *w;
	struct ecd_ctx *ctx;
	char *view;
	size_t i;

	if (!srv->watchers)
		return;
	ecd_map_foreach(srv->watchers, release_collect, &na);
	for (i = 0; i < na.n; i++) {
		view = ecc_strdup(na.lists[i]->view);
		/* The list is freed with its last watcher. */
		for (;;) {
			struct watch_list *l = ecd_map_get(srv->watchers, view);

			if (!l || !(w = l->head))
				break;
			ctx = w->ctx;
			watcher_remove(srv, w);
			watch_reply(ctx, view, 0);
		}
		free(view);
	}
	free(na.lists);
}
