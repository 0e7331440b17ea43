/*
 * worker.h - the daemon's worker threads.  Nothing slow runs on the event
 * loop: one writer thread (commits, rollbacks, subcluster creation, user
 * changes, check commands) owns its own ecc_repo and ecc_store; `nreaders`
 * reader threads (logs, diffs, file reads, trees, snapshots, password
 * checks) each own an ecc_repo.  libgit2 objects never cross threads.
 *
 * A job is {run on a worker, done on the loop}: the caller embeds a
 * struct ecd_job in its own structure, fills `run` and `done`, and
 * submits it.  `run` gets the worker's resources; `done` is called on the
 * event loop thread once `run` returned, and owns the job from then on.
 */
#ifndef ECD_WORKER_H
#define ECD_WORKER_H

#include <stddef.h>

#include <event2/event.h>

#include "ecconfig.h"

struct ecd_pool;

/* What a job's `run` may use: the resources of the thread running it. */
struct ecd_worker {
	int id;                       /* 0 = writer, 1.. = readers */
	ecc_repo *repo;               /* refreshed before every job */
	ecc_store *store;             /* writer only; NULL on readers */
	void *cache;                  /* thread-private state of the jobs */
	void (*cache_free)(void *cache);
};

struct ecd_job {
	void (*run)(struct ecd_job *job, struct ecd_worker *w);
	void (*done)(struct ecd_job *job);
	struct ecd_job *next;
};

/* Most reader jobs queued at once; beyond, ecd_pool_submit_read() says
 * ECC_EAGAIN (the caller answers 503). */
#define ECD_READ_QUEUE_MAX 4096

/* Start the threads.  `writer_repo` and `store` are handed to the writer
 * (owned by the pool from then on, even on failure); readers open their
 * own handles on `repo_path`.  Completions are delivered on `base`,
 * which must have been created after evthread_use_pthreads(). */
int ecd_pool_new(struct ecd_pool **out, struct event_base *base,
    const char *repo_path, int nreaders, ecc_repo *writer_repo,
    ecc_store *store);

/* Queue a job for a reader (ECC_EAGAIN when the queue is full; the job
 * is then untouched) or for the writer (never refused). */
int ecd_pool_submit_read(struct ecd_pool *p, struct ecd_job *job);
void ecd_pool_submit_write(struct ecd_pool *p, struct ecd_job *job);

/* Jobs submitted whose `done` has not run yet. */
size_t ecd_pool_inflight(const struct ecd_pool *p);

/* Jobs waiting for the writer (not yet started). */
size_t ecd_pool_write_backlog(struct ecd_pool *p);

/* Let the threads finish every queued job, stop them, join them, and
 * free the pool.  Completions not yet delivered are delivered first, so
 * call this with the loop no longer running only when inflight is 0. */
void ecd_pool_free(struct ecd_pool *p);

#endif
