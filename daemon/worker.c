/*
 * worker.c - writer and reader threads with job queues; completions are
 * handed back to the event loop through one libevent event activated
 * from the worker (evthread_use_pthreads makes event_active thread safe).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "ecconfig.h"

#include "worker.h"

struct job_queue {
	struct ecd_job *head, *tail;
	size_t len;
	pthread_cond_t cond;
};

struct pool_thread {
	struct ecd_pool *pool;
	struct job_queue *queue;
	struct ecd_worker w;
	pthread_t tid;
	int started;
};

struct ecd_pool {
	pthread_mutex_t lock;          /* guards the queues and `stop` */
	struct job_queue writeq, readq;
	int stop;

	pthread_mutex_t done_lock;
	struct ecd_job *done_head, *done_tail;
	struct event *done_ev;

	size_t inflight;               /* loop thread only */

	struct pool_thread *threads;   /* [0] writer, then readers */
	size_t nthreads;
};

static void
queue_push(struct job_queue *q, struct ecd_job *job)
{
	job->next = NULL;
	if (q->tail)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
	q->len++;
}

static struct ecd_job *
queue_pop(struct job_queue *q)
{
	struct ecd_job *job = q->head;

	if (job) {
		q->head = job->next;
		if (!q->head)
			q->tail = NULL;
		q->len--;
		job->next = NULL;
	}
	return job;
}

/* Runs on the loop: hand every finished job to its `done`. */
static void
pool_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ecd_pool *p = arg;
	struct ecd_job *job, *next;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&p->done_lock);
	job = p->done_head;
	p->done_head = p->done_tail = NULL;
	pthread_mutex_unlock(&p->done_lock);
	for (; job; job = next) {
		next = job->next;
		p->inflight--;
		job->done(job);
	}
}

static void
pool_complete(struct ecd_pool *p, struct ecd_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&p->done_lock);
	if (p->done_tail)
		p->done_tail->next = job;
	else
		p->done_head = job;
	p->done_tail = job;
	pthread_mutex_unlock(&p->done_lock);
	event_active(p->done_ev, EV_READ, 0);
}

static void *
pool_thread_main(void *arg)
{
	struct pool_thread *t = arg;
	struct ecd_pool *p = t->pool;
	struct ecd_job *job;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (!t->queue->head && !p->stop)
			pthread_cond_wait(&t->queue->cond, &p->lock);
		job = queue_pop(t->queue);
		pthread_mutex_unlock(&p->lock);
		if (!job)
			break;          /* stopping and the queue is empty */
		if (ecc_repo_refresh(t->w.repo) < 0)
			ecc_log_err("worker", "worker %d: cannot refresh "
			    "the repository: %s", t->w.id, ecc_error_last());
		ecc_error_clear();
		job->run(job, &t->w);
		pool_complete(p, job);
	}
	return NULL;
}

int
ecd_pool_new(struct ecd_pool **out, struct event_base *base,
    const char *repo_path, int nreaders, ecc_repo *writer_repo,
    ecc_store *store)
{
	struct ecd_pool *p = ecc_calloc(1, sizeof(*p));
	sigset_t all, old;
	size_t i;
	int error = -1, rc;

	*out = NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->done_lock, NULL);
	pthread_cond_init(&p->writeq.cond, NULL);
	pthread_cond_init(&p->readq.cond, NULL);
	p->nthreads = (size_t)(nreaders < 1 ? 1 : nreaders) + 1;
	p->threads = ecc_calloc(p->nthreads, sizeof(*p->threads));
	p->done_ev = event_new(base, -1, 0, pool_done_cb, p);
	if (!p->done_ev) {
		error = ecc_error_set(ECC_ERROR, "cannot create the "
		    "completion event");
		goto out;
	}
	p->threads[0].w.repo = writer_repo;
	p->threads[0].w.store = store;
	writer_repo = NULL;
	store = NULL;
	for (i = 0; i < p->nthreads; i++) {
		p->threads[i].pool = p;
		p->threads[i].w.id = (int)i;
		p->threads[i].queue = i == 0 ? &p->writeq : &p->readq;
		if (i > 0 && (error = ecc_repo_open(&p->threads[i].w.repo,
		    repo_path)) < 0)
			goto out;
	}
	/* Workers never take signals: the loop thread handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < p->nthreads; i++) {
		rc = pthread_create(&p->threads[i].tid, NULL, pool_thread_main,
		    &p->threads[i]);
		if (rc != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			errno = rc;
			error = ecc_error_set_errno(ECC_ERROR,
			    "cannot start worker thread %zu", i);
			goto out;
		}
		p->threads[i].started = 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	*out = p;
	p = NULL;
	error = 0;
out:
	ecc_repo_free(writer_repo);
	ecc_store_free(store);
	ecd_pool_free(p);
	return error;
}

int
ecd_pool_submit_read(struct ecd_pool *p, struct ecd_job *job)
{
	pthread_mutex_lock(&p->lock);
	if (p->readq.len >= ECD_READ_QUEUE_MAX) {
		pthread_mutex_unlock(&p->lock);
		return ecc_error_set(ECC_EAGAIN, "the server is busy "
		    "(%d requests queued)", ECD_READ_QUEUE_MAX);
	}
	queue_push(&p->readq, job);
	pthread_cond_signal(&p->readq.cond);
	pthread_mutex_unlock(&p->lock);
	p->inflight++;
	return 0;
}

void
ecd_pool_submit_write(struct ecd_pool *p, struct ecd_job *job)
{
	pthread_mutex_lock(&p->lock);
	queue_push(&p->writeq, job);
	pthread_cond_signal(&p->writeq.cond);
	pthread_mutex_unlock(&p->lock);
	p->inflight++;
}

size_t
ecd_pool_inflight(const struct ecd_pool *p)
{
	return p ? p->inflight : 0;
}

size_t
ecd_pool_write_backlog(struct ecd_pool *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->writeq.len;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void
ecd_pool_free(struct ecd_pool *p)
{
	size_t i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->writeq.cond);
	pthread_cond_broadcast(&p->readq.cond);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		if (p->threads[i].started)
			pthread_join(p->threads[i].tid, NULL);
	/* Deliver what finished after the loop stopped. */
	if (p->done_ev)
		pool_done_cb(-1, 0, p);
	for (i = 0; i < p->nthreads; i++) {
		ecc_repo_free(p->threads[i].w.repo);
		ecc_store_free(p->threads[i].w.store);
		if (p->threads[i].w.cache_free)
			p->threads[i].w.cache_free(p->threads[i].w.cache);
	}
	if (p->done_ev)
		event_free(p->done_ev);
	pthread_cond_destroy(&p->writeq.cond);
	pthread_cond_destroy(&p->readq.cond);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->done_lock);
	free(p->threads);
	free(p);
}
