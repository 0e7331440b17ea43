/*
 * api.h - the HTTP API of ecconfigd (proto/API.md): the one route table
 * (routes.c), the handlers (one file per area: api-*.c) and the few
 * pieces the areas share (the commit job, watch wake-ups, user reloads).
 *
 * Handlers run on the event loop with a checked request (server.h); slow
 * work goes to a worker (worker.h) and the reply is sent from the job's
 * `done`.
 */
#ifndef ECD_API_H
#define ECD_API_H

#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include "ecconfig.h"

#include "server.h"
#include "worker.h"
#include "writer.h"

extern const struct ecd_route ecd_routes[];
extern const size_t ecd_nroutes;

/* Request bodies, checked before the handler runs. */
extern const struct ecc_jfield ecd_login_fields[];
extern const struct ecc_jfield ecd_rollback_fields[];
extern const struct ecc_jfield ecd_subcluster_fields[];
extern const struct ecc_jfield ecd_user_create_fields[];
extern const struct ecc_jfield ecd_password_fields[];

/* api-health.c */
void ecd_api_health(struct ecd_ctx *ctx);

/* api-metrics.c */
void ecd_api_metrics(struct ecd_ctx *ctx);
/* Record one commit's outcome and duration. */
void ecd_metrics_commit(struct ecd_server *srv, enum ecd_commit_outcome o,
    double seconds);

/* api-auth.c */
void ecd_api_login(struct ecd_ctx *ctx);
void ecd_api_logout(struct ecd_ctx *ctx);

/* api-revisions.c */
void ecd_api_revisions(struct ecd_ctx *ctx);
void ecd_api_revision(struct ecd_ctx *ctx);
void ecd_api_diff(struct ecd_ctx *ctx);

/* api-files.c */
void ecd_api_file(struct ecd_ctx *ctx);
void ecd_api_tree(struct ecd_ctx *ctx);

/* api-commits.c */
void ecd_api_commit(struct ecd_ctx *ctx);
void ecd_api_rollback(struct ecd_ctx *ctx);

/* api-views.c */
void ecd_api_views(struct ecd_ctx *ctx);
void ecd_api_snapshot(struct ecd_ctx *ctx);
void ecd_api_manifest(struct ecd_ctx *ctx);
void ecd_api_watch(struct ecd_ctx *ctx);
/* After the state changed (`old` may be NULL): answer the watchers of
 * every view whose revision passed theirs. */
void ecd_watch_notify(struct ecd_server *srv, const struct ecd_state *old);
/* Answer every parked watcher now (shutdown). */
void ecd_watch_release_all(struct ecd_server *srv);

/* api-subclusters.c */
void ecd_api_subclusters(struct ecd_ctx *ctx);
void ecd_api_subcluster_create(struct ecd_ctx *ctx);
/* Writer side: the change set creating subcluster `name` from the
 * templates or from `copy_from`, adding it to the topology, against
 * `base` (head when < 0).  ECC_EEXISTS, ECC_ENOTFOUND (copy_from). */
int ecd_subcluster_changeset(struct ecc_changeset **out, ecc_repo *repo,
    const char *name, const char *copy_from, int64_t base,
    const char *message, const char *author);

/* api-users.c */
void ecd_api_users(struct ecd_ctx *ctx);
void ecd_api_user_create(struct ecd_ctx *ctx);
void ecd_api_user_password(struct ecd_ctx *ctx);
void ecd_api_user_delete(struct ecd_ctx *ctx);
/* Reload the accounts from the store on the writer and swap them into
 * the loop's copy (start-up, SIGHUP). */
void ecd_users_reload(struct ecd_server *srv);

/* api-audit.c: who did what from where, copied from a request when a
 * job is made (the job runs on the writer, the request stays on the
 * loop). */
#define ECD_ACTOR_MAX 256
struct ecd_actor {
	char account[ECD_ACTOR_MAX];
	char addr[INET6_ADDRSTRLEN + 8];
};

void ecd_actor_set(struct ecd_actor *a, const struct ecd_ctx *ctx);

/* On the writer: add an entry to the audit trail of `st`; a failure is
 * logged (the change it records has been made). */
void ecd_audit(ecc_store *st, const struct ecd_actor *a, const char *action,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* GET /v1/audit?limit=N&before=ID */
void ecd_api_audit(struct ecd_ctx *ctx);

/* api-managers.c */
void ecd_api_managers(struct ecd_ctx *ctx);

/* api-nodes.c */
extern const struct ecc_jfield ecd_enroll_fields[];
extern const struct ecc_jfield ecd_node_status_fields[];
void ecd_api_nodes(struct ecd_ctx *ctx);
void ecd_api_node_enroll(struct ecd_ctx *ctx);
void ecd_api_node_status(struct ecd_ctx *ctx);
void ecd_api_node_delete(struct ecd_ctx *ctx);
/* Reload the enrolled nodes from the store on the writer and swap them
 * into the loop's copy (SIGHUP). */
void ecd_nodes_reload(struct ecd_server *srv);

/* --- reader jobs (jobs.c) --- */

/* A job for a reader thread on behalf of `ctx`.  `run` fills `result`
 * (replied with 200 by the default `done`) or calls ecd_read_job_fail().
 * A handler may set its own job.done; it must then reply and call
 * ecd_read_job_free(). */
struct ecd_read_job {
	struct ecd_job job;
	struct ecd_ctx *ctx;
	int64_t arg[3];
	char *path;
	const char *view;
	json_t *result;
	int error;
	char *errmsg;
	void *data;                   /* raw reply bytes (files) */
	size_t len;
	char mode[8];
	char blob[ECC_OID_HEX_LEN];
	int64_t rev;
};

struct ecd_read_job *ecd_read_job_new(struct ecd_ctx *ctx,
    void (*run)(struct ecd_job *job, struct ecd_worker *w));
/* Queue it; answers 503 (and frees it) when the readers are saturated. */
void ecd_read_job_submit(struct ecd_read_job *rj);
/* On the worker: record `error` and the thread's last message. */
void ecd_read_job_fail(struct ecd_read_job *rj, int error);
/* On the loop: reply with the recorded error. */
void ecd_read_job_reply_error(struct ecd_read_job *rj);
void ecd_read_job_free(struct ecd_read_job *rj);

/* Check that revision `rev` exists in `repo` (ECC_ENOTFOUND naming it). */
int ecd_check_revision(ecc_repo *repo, int64_t rev);

/* JSON of a revision entry (proto revisions.schema.json). */
json_t *ecd_revinfo_json(const struct ecc_revinfo *ri);

/* JSON array of path changes. */
json_t *ecd_changes_json(const struct ecc_pathchange *v, size_t n);

/* A JSON string of `len` bytes of arbitrary text: bytes that are not
 * valid UTF-8 become U+FFFD (file contents, command output). */
json_t *ecd_json_text(const char *s, size_t len);

/* "0644" / "0755" for a git file mode. */
const char *ecd_mode_text(unsigned mode);

/* --- the commit job, shared by commits, rollback and subclusters --- */

enum ecd_commit_kind {
	ECD_COMMIT_CHANGESET,      /* body: the JSON change set */
	ECD_COMMIT_ROLLBACK,
	ECD_COMMIT_SUBCLUSTER,
};

struct ecd_commit_job {
	struct ecd_job job;
	struct ecd_server *srv;
	struct ecd_ctx *ctx;
	enum ecd_commit_kind kind;
	struct ecd_actor actor;
	/* inputs, copied: the job runs on the writer */
	struct ecd_check check;
	struct ecc_limits limits;
	char *author;
	char *message;
	struct evbuffer *body;     /* CHANGESET */
	int64_t target;            /* ROLLBACK */
	char **paths;
	size_t npaths;
	char *name;                /* SUBCLUSTER */
	char *copy_from;
	int64_t base;
	/* results */
	int error;
	char *errmsg;
	struct ecc_commit_result result;
	struct ecd_state *state;   /* new head state after a commit */
	uint64_t start_us;
};

/* A new commit job for `ctx` (author = ctx->user, settings from the
 * current configuration); fill the kind's inputs, then submit. */
struct ecd_commit_job *ecd_commit_job_new(struct ecd_ctx *ctx,
    enum ecd_commit_kind kind);
void ecd_commit_job_submit(struct ecd_commit_job *cj);

#endif
