/*
 * cluster.h - cluster mode (store = postgresql): several managers share
 * one PostgreSQL, which orders every revision (lib/pglog.h).
 *
 * - Start-up (before serving, may block): connect, migrate the schema,
 *   create the repository if missing, import every revision the log has
 *   and this repository lacks (a new or wiped manager rebuilds itself),
 *   or publish the local ones the log lacks (the first manager).
 * - Commits: the writer's publish hook inserts the next revision; a
 *   manager that lost the race imports the winner's and the commit is
 *   retried (refused as out of date only if its paths moved).  With the
 *   database away, commits get 503; reads and watches go on.
 * - Other managers' revisions: LISTEN on the loop (lib/pg.h), then a
 *   writer job imports them and wakes the watchers; a timer does the same
 *   every few seconds in case a notification was missed, and records
 *   this manager's head in ecc_managers.
 * - Accounts and nodes changed through another manager: NOTIFY
 *   ecconfig_accounts makes every manager reload its copies.
 */
#ifndef ECD_CLUSTER_H
#define ECD_CLUSTER_H

#include "ecconfig.h"

#include "server.h"

struct ecd_cluster;

/* Start-up, blocking: as above.  `*repo` is opened (or created) here;
 * its publish hook is installed, so it must go to the writer thread.
 * `name` is this manager's name, `address` where it listens. */
int ecd_cluster_prepare(struct ecd_cluster **out, const struct ecc_dconf *cfg,
    const char *repo_path, ecc_repo **repo, const char *name);

/* Log what start-up did (called once logging is set up: prepare runs
 * before the daemon detaches, when only warnings reach stderr). */
void ecd_cluster_log_start(const struct ecd_cluster *cl);

/* On the loop: LISTEN, the periodic sync.  `address` is recorded with
 * the heartbeats. */
int ecd_cluster_start(struct ecd_cluster *cl, struct ecd_server *srv,
    const char *address);

/* Stop listening (the loop is about to stop); the writer's connection is
 * closed by ecd_cluster_free(), after the pool stopped. */
void ecd_cluster_stop(struct ecd_cluster *cl);
void ecd_cluster_free(struct ecd_cluster *cl);

/* Whether the loop's database connection is up (for /v1/health). */
int ecd_cluster_db_up(const struct ecd_cluster *cl);

struct ecd_node_status;
struct ecd_ctx;

/* Record what `node` reported in the database (asynchronously; a failure
 * is logged), so every manager can show it. */
void ecd_cluster_put_node_status(struct ecd_cluster *cl, const char *node,
    const struct ecd_node_status *ns);

/* Merge the statuses other managers received into the loop's table
 * (the newer contact wins), then call `then(ctx)`; with the database
 * away, `then` runs at once on what this manager knows. */
void ecd_cluster_fetch_node_status(struct ecd_cluster *cl,
    struct ecd_ctx *ctx, void (*then)(struct ecd_ctx *ctx));

/* Share a new token (by its SHA-256 `key`) with the other managers, or
 * withdraw one (`key`) or all of an account's (`user`).  Asynchronous;
 * `cl` may be NULL (standalone: nothing to do). */
void ecd_cluster_put_token(struct ecd_cluster *cl, const char *key,
    const char *user, enum ecc_role role, int64_t expires);
void ecd_cluster_drop_tokens(struct ecd_cluster *cl, const char *key,
    const char *user);

/* Reply to GET /v1/managers from ecc_managers (asynchronously). */
void ecd_cluster_managers(struct ecd_cluster *cl, struct ecd_ctx *ctx);

#endif
