/*
 * cluster.c - cluster mode: replication between managers through
 * PostgreSQL (see cluster.h).
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ecconfig.h"

#include "api.h"
#include "cluster.h"
#include "map.h"
#include "worker.h"
#include "writer.h"

/* Sync with the log this often even without a notification. */
#define CLUSTER_TICK_SECONDS 5
/* Revisions imported by one sync job at most (then another is queued). */
#define CLUSTER_SYNC_MAX 256
#define CLUSTER_ACCOUNTS_CHANNEL "ecconfig_accounts"
#define CLUSTER_TOKEN_CHANNEL "ecconfig_token"
#define CLUSTER_TOKEN_GONE_CHANNEL "ecconfig_token_gone"

struct ecd_cluster {
	struct ecd_server *srv;
	char *conninfo;
	char *name;
	char *address;
	PGconn *wconn;                /* start-up, then the writer only */
	ecc_pg *pg;                   /* the loop's: LISTEN */
	struct event *tick;
	struct event *kick;           /* activated by the writer: sync soon */
	pthread_mutex_t kick_lock;    /* guards kick against its freeing */
	int hook_imported;            /* writer: a lost race imported */
	int sync_running;             /* a sync job is queued or running */
	int sync_again;               /* another was asked for meanwhile */
	/* what start-up did, logged once logging is set up */
	int64_t start_head;
	size_t start_imported;
	int start_rebuilt;
	int64_t start_published;      /* first revision published, or -1 */
};

/* --- the writer's side --- */

/* The publish hook of the writer's repository (writer thread). */
static int
cluster_publish(ecc_repo *repo, const struct ecc_publish *p, void *payload)
{
	struct ecd_cluster *cl = payload;
	size_t n = 0;
	char *why;
	int error;

	if ((error = ecc_pglog_ensure(&cl->wconn, cl->conninfo)) == 0)
		error = ecc_pglog_publish(cl->wconn, p, cl->name);
	if (error == ECC_ECONFLICT) {
		/* Another manager took the number: take its revisions, so
		 * the caller retries on the new head.  Under the publish
		 * lock, so that the retry cannot lose again however busy
		 * the cluster is; the retry's publish releases it, or, when
		 * the commit is not retried (out of date, rejected), the
		 * sync job asked for here, which runs after this job. */
		why = ecc_strdup(ecc_error_last());
		if (ecc_pglog_lock(cl->wconn) < 0)
			ecc_log_warn("cluster", "taking the publish lock after "
			    "losing r%" PRId64 ": %s", p->revision,
			    ecc_error_last());
		if (ecc_pglog_catch_up(&n, cl->wconn, repo, 0) < 0)
			ecc_log_warn("cluster", "catching up after losing r%"
			    PRId64 ": %s", p->revision, ecc_error_last());
		if (n > 0)
			cl->hook_imported = 1;
		pthread_mutex_lock(&cl->kick_lock);
		if (cl->kick)
			event_active(cl->kick, EV_TIMEOUT, 0);
		pthread_mutex_unlock(&cl->kick_lock);
		ecc_log_info("cluster", "%s; retrying", why);
		ecc_error_set(ECC_ECONFLICT, "%s", why);
		free(why);
		return ECC_ECONFLICT;
	}
	if (error == ECC_EUNAVAIL) {
		why = ecc_strdup(ecc_error_last());
		ecc_error_set(ECC_EUNAVAIL, "%s; commits are refused until the "
		    "database answers again (reads and watches go on)", why);
		free(why);
	}
	return error;
}

struct sync_job {
	struct ecd_job job;
	struct ecd_cluster *cl;
	struct ecd_state *state;      /* when revisions were imported */
	size_t imported;
	int more;                     /* CLUSTER_SYNC_MAX reached */
	int error;
	char *errmsg;
};

static void
sync_run(struct ecd_job *job, struct ecd_worker *w)
{
	struct sync_job *sj = (struct sync_job *)job;
	struct ecd_cluster *cl = sj->cl;
	int error;

	/* A publish lock still held after a lost race goes now: the commit
	 * that took it has finished. */
	ecc_pglog_unlock(cl->wconn);
	if ((error = ecc_pglog_ensure(&cl->wconn, cl->conninfo)) == 0 &&
	    (error = ecc_pglog_catch_up(&sj->imported, cl->wconn, w->repo,
	    CLUSTER_SYNC_MAX)) == 0)
		error = ecc_pglog_manager_seen(cl->wconn, cl->name,
		    cl->address ? cl->address : "", ecc_repo_head(w->repo));
	/* Also when a commit that lost a race imported the winner's
	 * revisions: refused, it built no state for them. */
	if ((sj->imported > 0 || cl->hook_imported) &&
	    ecd_state_build(&sj->state, w->repo) < 0)
		ecc_log_err("cluster", "imported up to r%" PRId64 ", but the "
		    "view state could not be rebuilt: %s",
		    ecc_repo_head(w->repo), ecc_error_last());
	cl->hook_imported = 0;
	/* A long catch-up goes in several jobs: commits and a SIGTERM are
	 * not kept waiting, and the head served moves as it goes. */
	sj->more = error == 0 && sj->imported >= CLUSTER_SYNC_MAX;
	if (error < 0) {
		sj->error = error;
		sj->errmsg = ecc_strdup(ecc_error_last());
	}
}

static void cluster_sync(struct ecd_cluster *cl);

static void
sync_done(struct ecd_job *job)
{
	struct sync_job *sj = (struct sync_job *)job;
	struct ecd_cluster *cl = sj->cl;
	struct ecd_server *srv = cl->srv;
	int sj_more;

	if (sj->error)
		ecc_log_info("cluster", "sync with the shared log: %s",
		    sj->errmsg);
	if (sj->state && (!srv->state || sj->state->head >= srv->state->head)) {
		ecc_log_info("cluster", "head is r%" PRId64 " (%zu revision(s) "
		    "from other managers)", sj->state->head, sj->imported);
		ecd_server_set_state(srv, sj->state);
		sj->state = NULL;
	}
	sj_more = sj->more;
	ecd_state_free(sj->state);
	free(sj->errmsg);
	free(sj);
	cl->sync_running = 0;
	if (sj_more)
		cl->sync_again = 1;
	if (cl->sync_again) {
		cl->sync_again = 0;
		cluster_sync(cl);
	}
}

/* Queue one sync job; coalesces requests made while one runs. */
static void
cluster_sync(struct ecd_cluster *cl)
{
	struct sync_job *sj;

	if (!cl->srv || !cl->srv->pool || cl->srv->stopping)
		return;
	if (cl->sync_running) {
		cl->sync_again = 1;
		return;
	}
	sj = ecc_calloc(1, sizeof(*sj));
	sj->job.run = sync_run;
	sj->job.done = sync_done;
	sj->cl = cl;
	cl->sync_running = 1;
	ecd_pool_submit_write(cl->srv->pool, &sj->job);
}

/* --- the loop's side --- */

static void cluster_log_failure(const PGresult *res, int code,
    const char *msg, void *payload);

/* --- tokens --- */

static void
cluster_token_rows(const PGresult *res, int code, const char *msg,
    void *payload)
{
	struct ecd_cluster *cl = payload;
	int64_t expires;
	int i;

	if (code < 0) {
		ecc_log_info("cluster", "reading tokens: %s", msg);
		return;
	}
	for (i = 0; i < PQntuples(res); i++)
		if (ecc_parse_int64(&expires, PQgetvalue(res, i, 3), 0,
		    INT64_MAX) == 0)
			ecd_server_token_add(cl->srv, PQgetvalue(res, i, 0),
			    PQgetvalue(res, i, 1),
			    strcmp(PQgetvalue(res, i, 2), "admin") == 0 ?
			    ECC_ROLE_ADMIN : ECC_ROLE_SERVICE, expires);
}

/* Load one token (`key`), or every live one (NULL). */
static void
cluster_load_tokens(struct ecd_cluster *cl, const char *key)
{
	char now[24];
	const char *v[2];

	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	v[0] = now;
	v[1] = key;
	ecc_pg_query(cl->pg, key ? "SELECT hash, account, role, expires FROM "
	    "ecc_tokens WHERE expires > $1 AND hash = $2" : "SELECT hash, "
	    "account, role, expires FROM ecc_tokens WHERE expires > $1",
	    key ? 2 : 1, v, NULL, NULL, cluster_token_rows, cl);
}

void
ecd_cluster_put_token(struct ecd_cluster *cl, const char *key,
    const char *user, enum ecc_role role, int64_t expires)
{
	char e[24];
	const char *v[4];

	if (!cl || !cl->pg)
		return;
	snprintf(e, sizeof(e), "%" PRId64, expires);
	v[0] = key;
	v[1] = user;
	v[2] = role == ECC_ROLE_ADMIN ? "admin" : "service";
	v[3] = e;
	ecc_pg_query(cl->pg, "WITH ins AS (INSERT INTO ecc_tokens (hash, "
	    "account, role, expires) VALUES ($1, $2, $3, $4) ON CONFLICT (hash) "
	    "DO NOTHING RETURNING hash) SELECT pg_notify('"
	    CLUSTER_TOKEN_CHANNEL "', hash) FROM ins", 4, v, NULL, NULL,
	    cluster_log_failure, (void *)"sharing a token");
}

void
ecd_cluster_drop_tokens(struct ecd_cluster *cl, const char *key,
    const char *user)
{
	const char *v[1];

	if (!cl || !cl->pg)
		return;
	v[0] = key ? key : user;
	ecc_pg_query(cl->pg, key ? "WITH d AS (DELETE FROM ecc_tokens WHERE "
	    "hash = $1 RETURNING hash) SELECT pg_notify('"
	    CLUSTER_TOKEN_GONE_CHANNEL "', hash) FROM d" : "WITH d AS (DELETE "
	    "FROM ecc_tokens WHERE account = $1 RETURNING hash) SELECT "
	    "pg_notify('" CLUSTER_TOKEN_GONE_CHANNEL "', hash) FROM d", 1, v,
	    NULL, NULL, cluster_log_failure, (void *)"withdrawing tokens");
}

static void
cluster_on_notify(const char *channel, const char *extra, void *payload)
{
	struct ecd_cluster *cl = payload;
	struct ecd_server *srv = cl->srv;
	int64_t rev;

	if (strcmp(channel, CLUSTER_ACCOUNTS_CHANNEL) == 0) {
		ecd_users_reload(srv);
		ecd_nodes_reload(srv);
		return;
	}
	if (strcmp(channel, CLUSTER_TOKEN_CHANNEL) == 0) {
		if (!ecd_map_get(srv->tokens, extra))
			cluster_load_tokens(cl, extra);
		return;
	}
	if (strcmp(channel, CLUSTER_TOKEN_GONE_CHANNEL) == 0) {
		ecd_server_token_drop(srv, extra);
		return;
	}
	if (ecc_parse_int64(&rev, extra, 0, INT64_MAX) == 0 && srv->state &&
	    rev <= srv->state->head)
		return;                 /* ours, or already imported */
	cluster_sync(cl);
}

static void
cluster_on_state(int up, const char *why, void *payload)
{
	struct ecd_cluster *cl = payload;

	if (up) {
		ecc_log_notice("cluster", "database connection up");
		/* Whatever was published while we could not hear. */
		cluster_sync(cl);
		ecd_users_reload(cl->srv);
		ecd_nodes_reload(cl->srv);
		cluster_load_tokens(cl, NULL);
	} else {
		ecc_log_warn("cluster", "database unavailable: %s; serving "
		    "reads, refusing commits", why);
	}
}

static void
cluster_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ecd_cluster *cl = arg;
	char now[24];
	const char *v[1] = { now };

	(void)fd;
	(void)what;
	cluster_sync(cl);
	if (ecc_pg_is_up(cl->pg)) {
		snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
		ecc_pg_query(cl->pg, "DELETE FROM ecc_tokens WHERE expires <= $1",
		    1, v, NULL, NULL, cluster_log_failure,
		    (void *)"dropping expired tokens");
	}
}

/* The writer asks for a sync (after a lost race). */
static void
cluster_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cluster_sync(arg);
}

/* --- start-up --- */

/* The log lacks some of our revisions (a manager made with `eccfg init
 * --store postgresql` whose first start publishes r0 and r1): publish
 * them, after checking the log is a prefix of our history. */
static int
cluster_publish_local(struct ecd_cluster *cl, ecc_repo *repo, int64_t dbhead)
{
	int64_t rev;
	int error;

	for (rev = dbhead + 1; rev <= ecc_repo_head(repo); rev++) {
		if ((error = ecc_repo_publish_existing(repo, rev,
		    cluster_publish, cl)) < 0) {
			if (error == ECC_ECONFLICT)
				ecc_error_set(ECC_EINVALID, "r%" PRId64 " of "
				    "%s differs from the shared log's: this "
				    "repository belongs to another cluster",
				    rev, ecc_repo_path(repo));
			return error;
		}
	}
	cl->start_published = dbhead + 1;
	return 0;
}

int
ecd_cluster_prepare(struct ecd_cluster **out, const struct ecc_dconf *cfg,
    const char *repo_path, ecc_repo **repo_out, const char *name)
{
	struct ecd_cluster *cl;
	ecc_repo *repo = NULL;
	int64_t dbhead;
	size_t imported = 0;
	int error;

	*out = NULL;
	*repo_out = NULL;
	cl = ecc_calloc(1, sizeof(*cl));
	pthread_mutex_init(&cl->kick_lock, NULL);
	cl->conninfo = ecc_strdup(cfg->db_conninfo);
	cl->name = ecc_strdup(name);
	cl->start_published = -1;
	if ((error = ecc_pglog_connect(&cl->wconn, cl->conninfo)) < 0 ||
	    (error = ecc_pglog_migrate(cl->wconn)) < 0 ||
	    (error = ecc_pglog_head(&dbhead, cl->wconn)) < 0)
		goto fail;
	error = ecc_repo_open(&repo, repo_path);
	if (error == ECC_ENOTFOUND) {
		cl->start_rebuilt = 1;
		if ((error = ecc_repo_init_empty(repo_path)) < 0 ||
		    (error = ecc_repo_open(&repo, repo_path)) < 0)
			goto fail;
	} else if (error < 0) {
		goto fail;
	}
	if (dbhead < 0 && ecc_repo_head(repo) < 0) {
		error = ecc_error_set(ECC_EINVALID, "the shared log is empty "
		    "and so is %s: create the cluster with eccfg init --store "
		    "postgresql", repo_path);
		goto fail;
	}
	if (ecc_repo_head(repo) > dbhead) {
		if ((error = cluster_publish_local(cl, repo, dbhead)) < 0)
			goto fail;
	} else if ((error = ecc_pglog_catch_up(&imported, cl->wconn,
	    repo, 0)) < 0) {
		goto fail;
	}
	ecc_repo_set_publish(repo, cluster_publish, cl);
	cl->start_head = ecc_repo_head(repo);
	cl->start_imported = imported;
	*out = cl;
	*repo_out = repo;
	return 0;
fail:
	ecc_repo_free(repo);
	ecd_cluster_free(cl);
	return error;
}

void
ecd_cluster_log_start(const struct ecd_cluster *cl)
{
	if (!cl)
		return;
	if (cl->start_rebuilt)
		ecc_log_notice("cluster", "the repository was missing: rebuilt "
		    "from the shared log (%zu revisions)", cl->start_imported);
	if (cl->start_published >= 0)
		ecc_log_notice("cluster", "published r%" PRId64 "..r%" PRId64
		    " to the shared log", cl->start_published, cl->start_head);
	ecc_log_notice("cluster", "manager %s at r%" PRId64 " (%zu revision(s) "
	    "imported from the shared log at start)", cl->name, cl->start_head,
	    cl->start_imported);
}

int
ecd_cluster_start(struct ecd_cluster *cl, struct ecd_server *srv,
    const char *address)
{
	struct ecc_pg_callbacks cb = { cluster_on_state, cluster_on_notify,
		cl };
	struct timeval tv = { CLUSTER_TICK_SECONDS, 0 };
	int error;

	cl->srv = srv;
	free(cl->address);
	cl->address = ecc_strdup(address ? address : "");
	if ((error = ecc_pg_new(&cl->pg, srv->base, cl->conninfo, &cb)) < 0 ||
	    (error = ecc_pg_listen(cl->pg, ECC_PGLOG_CHANNEL)) < 0 ||
	    (error = ecc_pg_listen(cl->pg, CLUSTER_ACCOUNTS_CHANNEL)) < 0 ||
	    (error = ecc_pg_listen(cl->pg, CLUSTER_TOKEN_CHANNEL)) < 0 ||
	    (error = ecc_pg_listen(cl->pg, CLUSTER_TOKEN_GONE_CHANNEL)) < 0)
		return error;
	if (!(cl->tick = event_new(srv->base, -1, EV_PERSIST,
	    cluster_tick_cb, cl)) || event_add(cl->tick, &tv) < 0)
		return ecc_error_set(ECC_ERROR, "cannot start the sync timer");
	pthread_mutex_lock(&cl->kick_lock);
	cl->kick = event_new(srv->base, -1, 0, cluster_kick_cb, cl);
	pthread_mutex_unlock(&cl->kick_lock);
	if (!cl->kick)
		return ecc_error_set(ECC_ERROR, "cannot create an event");
	return 0;
}

void
ecd_cluster_stop(struct ecd_cluster *cl)
{
	if (!cl)
		return;
	if (cl->tick) {
		event_free(cl->tick);
		cl->tick = NULL;
	}
	pthread_mutex_lock(&cl->kick_lock);
	if (cl->kick) {
		event_free(cl->kick);
		cl->kick = NULL;
	}
	pthread_mutex_unlock(&cl->kick_lock);
	ecc_pg_free(cl->pg);
	cl->pg = NULL;
}

void
ecd_cluster_free(struct ecd_cluster *cl)
{
	if (!cl)
		return;
	ecd_cluster_stop(cl);
	if (cl->wconn)
		PQfinish(cl->wconn);
	pthread_mutex_destroy(&cl->kick_lock);
	free(cl->conninfo);
	free(cl->name);
	free(cl->address);
	free(cl);
}

int
ecd_cluster_db_up(const struct ecd_cluster *cl)
{
	return cl && ecc_pg_is_up(cl->pg);
}

/* --- shared node status --- */

static void
cluster_log_failure(const PGresult *res, int code, const char *msg,
    void *payload)
{
	(void)res;
	if (code < 0)
		ecc_log_info("cluster", "%s: %s", (const char *)payload, msg);
}

void
ecd_cluster_put_node_status(struct ecd_cluster *cl, const char *node,
    const struct ecd_node_status *ns)
{
	char rev[24], contact[24], *drift;
	const char *v[7];

	if (!cl || !cl->pg)
		return;
	drift = ecc_json_dump(ns->drift);
	snprintf(rev, sizeof(rev), "%" PRId64, ns->revision);
	snprintf(contact, sizeof(contact), "%" PRId64, ns->last_contact);
	v[0] = node;
	v[1] = rev;
	v[2] = ns->result;
	v[3] = ns->message;
	v[4] = drift;
	v[5] = contact;
	v[6] = cl->name;
	ecc_pg_query(cl->pg, "INSERT INTO ecc_node_status (name, revision, "
	    "result, message, drift, contact, manager) VALUES ($1, $2, $3, $4, "
	    "$5, $6, $7) ON CONFLICT (name) DO UPDATE SET revision = $2, "
	    "result = $3, message = $4, drift = $5, contact = $6, manager = $7 "
	    "WHERE ecc_node_status.contact <= $6", 7, v, NULL, NULL,
	    cluster_log_failure, (void *)"recording a node status");
	free(drift);
}

struct fetch_arg {
	struct ecd_cluster *cl;
	struct ecd_ctx *ctx;
	void (*then)(struct ecd_ctx *ctx);
};

static void
cluster_status_rows(const PGresult *res, int code, const char *msg,
    void *payload)
{
	struct fetch_arg *fa = payload;
	struct ecd_server *srv = fa->cl->srv;
	struct ecd_node_status *ns, *have;
	json_t *drift;
	int64_t rev, contact;
	int i;

	if (code < 0)
		ecc_log_info("cluster", "node statuses of other managers: %s",
		    msg);
	for (i = 0; res && code == 0 && i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0);

		if (!ecd_server_node(srv, name) ||
		    ecc_parse_int64(&rev, PQgetvalue(res, i, 1), 0,
		    INT64_MAX) < 0 ||
		    ecc_parse_int64(&contact, PQgetvalue(res, i, 5), 0,
		    INT64_MAX) < 0)
			continue;
		have = ecd_map_get(srv->node_status, name);
		if (have && have->last_contact >= contact)
			continue;
		if (ecc_json_parse(&drift, PQgetvalue(res, i, 4),
		    strlen(PQgetvalue(res, i, 4)), 4) < 0 ||
		    !json_is_array(drift)) {
			ecc_error_clear();
			json_decref(drift);
			drift = json_array();
		}
		ns = ecc_calloc(1, sizeof(*ns));
		ns->revision = rev;
		ns->result = ecc_strdup(PQgetvalue(res, i, 2));
		ns->message = ecc_strdup(PQgetvalue(res, i, 3));
		ns->drift = drift;
		ns->last_contact = contact;
		ecd_node_status_free(ecd_map_put(srv->node_status, name, ns));
	}
	fa->then(fa->ctx);
	free(fa);
}

void
ecd_cluster_fetch_node_status(struct ecd_cluster *cl, struct ecd_ctx *ctx,
    void (*then)(struct ecd_ctx *ctx))
{
	struct fetch_arg *fa;

	if (!cl || !cl->pg) {
		then(ctx);
		return;
	}
	fa = ecc_calloc(1, sizeof(*fa));
	fa->cl = cl;
	fa->ctx = ctx;
	fa->then = then;
	if (ecc_pg_query(cl->pg, "SELECT name, revision, result, message, "
	    "drift, contact FROM ecc_node_status", 0, NULL, NULL, NULL,
	    cluster_status_rows, fa) < 0) {
		free(fa);
		then(ctx);
	}
}

/* --- managers --- */

static void
cluster_managers_rows(const PGresult *res, int code, const char *msg,
    void *payload)
{
	struct ecd_ctx *ctx = payload;
	struct ecd_server *srv = ctx->srv;
	int64_t head = srv->state ? srv->state->head : 0, h, seen;
	json_t *arr;
	int i;

	if (code < 0) {
		ecd_reply_error(ctx, 503, "unavailable", "the managers are "
		    "listed by the database: %s", msg);
		return;
	}
	arr = json_array();
	for (i = 0; i < PQntuples(res); i++) {
		if (ecc_parse_int64(&h, PQgetvalue(res, i, 2), -1,
		    INT64_MAX) < 0 || ecc_parse_int64(&seen,
		    PQgetvalue(res, i, 3), 0, INT64_MAX) < 0)
			continue;
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I, "
		    "s:I, s:b}", "name", PQgetvalue(res, i, 0), "address",
		    PQgetvalue(res, i, 1), "head", (json_int_t)h, "lag",
		    (json_int_t)(head > h ? head - h : 0), "seen",
		    (json_int_t)seen, "self",
		    strcmp(PQgetvalue(res, i, 0), srv->self_name ?
		    srv->self_name : "") == 0));
	}
	ecd_reply_json(ctx, 200, json_pack("{s:I, s:s, s:o}", "head",
	    (json_int_t)head, "store", "postgresql", "managers", arr));
}

void
ecd_cluster_managers(struct ecd_cluster *cl, struct ecd_ctx *ctx)
{
	if (ecc_pg_query(cl->pg, "SELECT name, address, head, seen FROM "
	    "ecc_managers ORDER BY name", 0, NULL, NULL, NULL,
	    cluster_managers_rows, ctx) < 0)
		ecd_reply_code(ctx, ECC_ERROR, NULL);
}
