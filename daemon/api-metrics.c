/*
 * api-metrics.c - GET /metrics in the Prometheus text format 0.0.4.  The
 * counters live in struct ecd_metrics and are updated on the loop.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "ecconfig.h"

#include "api.h"
#include "cache.h"

static const double commit_bounds[ECD_COMMIT_BUCKETS] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
};

static const char *const commit_outcomes[ECD_COMMIT_NOUTCOMES] = {
	"ok", "unchanged", "out_of_date", "rejected", "invalid", "error",
};

void
ecd_metrics_commit(struct ecd_server *srv, enum ecd_commit_outcome o,
    double seconds)
{
	struct ecd_metrics *m = &srv->metrics;
	size_t i;

	m->commits[o]++;
	for (i = 0; i < ECD_COMMIT_BUCKETS; i++)
		if (seconds <= commit_bounds[i])
			m->commit_buckets[i]++;
	m->commit_seconds_sum += seconds;
	m->commit_seconds_count++;
}

static void
family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

void
ecd_api_metrics(struct ecd_ctx *ctx)
{
	struct ecd_server *srv = ctx->srv;
	const struct ecd_metrics *m = &srv->metrics;
	struct evbuffer *b = evbuffer_new();
	size_t i;

	if (!b)
		abort();
	family(b, "ecconfig_head_revision", "gauge", "Head revision of the "
	    "repository.");
	evbuffer_add_printf(b, "ecconfig_head_revision %" PRId64 "\n",
	    srv->state ? srv->state->head : 0);
	family(b, "ecconfig_http_requests_total", "counter", "HTTP requests "
	    "answered, by status code.");
	for (i = 100; i < 600; i++)
		if (m->http[i])
			evbuffer_add_printf(b, "ecconfig_http_requests_total"
			    "{code=\"%zu\"} %" PRIu64 "\n", i, m->http[i]);
	family(b, "ecconfig_commits_total", "counter", "Commit, rollback and "
	    "subcluster requests, by result.");
	for (i = 0; i < ECD_COMMIT_NOUTCOMES; i++)
		evbuffer_add_printf(b, "ecconfig_commits_total{result=\"%s\"} "
		    "%" PRIu64 "\n", commit_outcomes[i], m->commits[i]);
	family(b, "ecconfig_commit_seconds", "histogram", "Time from request "
	    "to durable commit.");
	for (i = 0; i < ECD_COMMIT_BUCKETS; i++)
		evbuffer_add_printf(b, "ecconfig_commit_seconds_bucket{le=\"%g\"}"
		    " %" PRIu64 "\n", commit_bounds[i], m->commit_buckets[i]);
	evbuffer_add_printf(b, "ecconfig_commit_seconds_bucket{le=\"+Inf\"} "
	    "%" PRIu64 "\n", m->commit_seconds_count);
	evbuffer_add_printf(b, "ecconfig_commit_seconds_sum %.6f\n",
	    m->commit_seconds_sum);
	evbuffer_add_printf(b, "ecconfig_commit_seconds_count %" PRIu64 "\n",
	    m->commit_seconds_count);
	family(b, "ecconfig_login_failures_total", "counter", "Failed "
	    "logins (wrong user or password).");
	evbuffer_add_printf(b, "ecconfig_login_failures_total %" PRIu64 "\n",
	    m->login_failures);
	family(b, "ecconfig_tls_handshake_failures_total", "counter",
	    "Connections closed before the TLS handshake completed.");
	evbuffer_add_printf(b, "ecconfig_tls_handshake_failures_total %"
	    PRIu64 "\n", m->tls_failures);
	family(b, "ecconfig_snapshots_paced_total", "counter", "Snapshot "
	    "and delta requests answered 429 by snapshot_rate.");
	evbuffer_add_printf(b, "ecconfig_snapshots_paced_total %" PRIu64
	    "\n", m->snapshots_paced);
	family(b, "ecconfig_connections", "gauge", "Open client "
	    "connections.");
	evbuffer_add_printf(b, "ecconfig_connections %" PRId64 "\n",
	    srv->nconns);
	family(b, "ecconfig_watchers", "gauge", "Parked watch requests.");
	evbuffer_add_printf(b, "ecconfig_watchers %zu\n", srv->nwatchers);
	family(b, "ecconfig_snapshot_cache_bytes", "gauge", "Bytes held by "
	    "the snapshot cache.");
	evbuffer_add_printf(b, "ecconfig_snapshot_cache_bytes %zu\n",
	    ecd_cache_bytes(srv->cache));
	family(b, "ecconfig_worker_jobs", "gauge", "Jobs queued or running "
	    "on worker threads.");
	evbuffer_add_printf(b, "ecconfig_worker_jobs %zu\n",
	    ecd_pool_inflight(srv->pool));
	ecd_reply_buffer(ctx, 200, "text/plain; version=0.0.4; charset=utf-8",
	    b);
	evbuffer_free(b);
}
