/*
 * api-commits.c - POST /v1/commits and POST /v1/rollback, and the commit
 * job they share with subcluster creation: it runs on the writer thread
 * (parse, refresh, conflict check, validation, durable commit), builds
 * the new head state, and the loop answers only once the revision is
 * durable.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "ecconfig.h"

#include "api.h"

#define COMMIT_TRIES 3

static void
commit_job_free(struct ecd_commit_job *cj)
{
	size_t i;

	ecd_check_clear(&cj->check);
	free(cj->author);
	free(cj->message);
	if (cj->body)
		evbuffer_free(cj->body);
	for (i = 0; i < cj->npaths; i++)
		free(cj->paths[i]);
	free(cj->paths);
	free(cj->name);
	free(cj->copy_from);
	free(cj->errmsg);
	ecc_commit_result_clear(&cj->result);
	ecd_state_free(cj->state);
	free(cj);
}

static int
commit_changeset(struct ecd_commit_job *cj, struct ecd_worker *w,
    struct ecc_changeset *cs)
{
	struct ecd_validate_arg va = { &cj->check, w };
	int error = -1, i;

	for (i = 0; i < COMMIT_TRIES; i++) {
		ecc_commit_result_clear(&cj->result);
		error = ecc_repo_commit(&cj->result, w->repo, cs, ecd_validate,
		    &va);
		/* A conflict without paths: another process moved the
		 * branch between our refresh and the ref update. */
		if (error != ECC_ECONFLICT || cj->result.nconflicts > 0)
			break;
		ecc_repo_refresh(w->repo);
	}
	if (error == ECC_ECONFLICT && cj->result.nconflicts == 0)
		error = ecc_error_set(ECC_EUNAVAIL, "the repository kept "
		    "changing under the commit; try again");
	return error;
}

/* Record a revision just made in the audit trail. */
static void
commit_audit(struct ecd_commit_job *cj, ecc_store *st,
    const struct ecc_changeset *cs)
{
	switch (cj->kind) {
	case ECD_COMMIT_CHANGESET:
		ecd_audit(st, &cj->actor, "commit", "r%" PRId64 " %.12s: %zu "
		    "change(s)%s%.200s", cj->result.revision, cj->result.commit,
		    cs ? cs->nchanges : 0, cs && cs->nchanges ? ", first " : "",
		    cs && cs->nchanges ? cs->changes[0].path : "");
		break;
	case ECD_COMMIT_ROLLBACK:
		ecd_audit(st, &cj->actor, "rollback", "r%" PRId64 " %.12s: to "
		    "r%" PRId64 "%s", cj->result.revision, cj->result.commit,
		    cj->target, cj->npaths ? " (some paths)" : "");
		break;
	case ECD_COMMIT_SUBCLUSTER:
		ecd_audit(st, &cj->actor, "subcluster.create", "r%" PRId64
		    " %.12s: %s%s%s", cj->result.revision, cj->result.commit,
		    cj->name, cj->copy_from ? " from " : "", cj->copy_from ?
		    cj->copy_from : "");
		break;
	}
}

static void
commit_run(struct ecd_job *job, struct ecd_worker *w)
{
	struct ecd_commit_job *cj = (struct ecd_commit_job *)job;
	struct ecd_validate_arg va = { &cj->check, w };
	struct ecc_changeset *cs = NULL;
	const char *data;
	size_t len;
	int error = -1;

	switch (cj->kind) {
	case ECD_COMMIT_CHANGESET:
		len = evbuffer_get_length(cj->body);
		data = (const char *)evbuffer_pullup(cj->body, -1);
		if ((error = ecc_changeset_parse(&cs, data, len, &cj->limits))
		    < 0)
			break;
		evbuffer_free(cj->body);
		cj->body = NULL;
		free(cs->author);
		cs->author = ecc_strdup(cj->author);
		error = commit_changeset(cj, w, cs);
		break;
	case ECD_COMMIT_ROLLBACK:
		if ((error = ecd_check_revision(w->repo, cj->target)) < 0)
			break;
		error = ecc_repo_rollback(&cj->result, w->repo, cj->target,
		    (const char *const *)cj->paths, cj->npaths, cj->author,
		    cj->message, ecd_validate, &va);
		break;
	case ECD_COMMIT_SUBCLUSTER:
		if ((error = ecd_subcluster_changeset(&cs, w->repo, cj->name,
		    cj->copy_from, cj->base, cj->message, cj->author)) < 0)
			break;
		error = commit_changeset(cj, w, cs);
		break;
	}
	if (error == 0 && !cj->result.unchanged)
		commit_audit(cj, w->store, cs);
	if (error < 0) {
		cj->error = error;
		cj->errmsg = ecc_strdup(ecc_error_last());
	} else if (!cj->result.unchanged &&
	    ecd_state_build(&cj->state, w->repo) < 0) {
		ecc_log_err("repo", "r%" PRId64 " committed, but the view "
		    "state could not be rebuilt: %s", cj->result.revision,
		    ecc_error_last());
	}
	ecc_changeset_free(cs);
}

static void
commit_done(struct ecd_job *job)
{
	struct ecd_commit_job *cj = (struct ecd_commit_job *)job;
	struct ecd_ctx *ctx = cj->ctx;
	struct ecd_server *srv = cj->srv;
	double seconds = (double)(ecc_now_us() - cj->start_us) / 1e6;
	enum ecd_commit_outcome o;
	int status;

	if (cj->error) {
		switch (cj->error) {
		case ECC_ECONFLICT: o = ECD_COMMIT_OUT_OF_DATE; break;
		case ECC_EREJECTED: o = ECD_COMMIT_REJECTED; break;
		case ECC_EINVALID:
		case ECC_ENOTFOUND:
		case ECC_ETOOBIG:
		case ECC_EEXISTS: o = ECD_COMMIT_INVALID; break;
		default: o = ECD_COMMIT_ERROR; break;
		}
		ecd_metrics_commit(srv, o, seconds);
		if (cj->error == ECC_ECONFLICT)
			ecd_reply_error_full(ctx, 409, "out_of_date",
			    cj->errmsg, cj->result.conflicts,
			    cj->result.nconflicts, NULL);
		else if (cj->error == ECC_EREJECTED)
			ecd_reply_error_full(ctx, 422, "rejected", cj->errmsg,
			    NULL, 0, cj->result.output ? cj->result.output :
			    cj->errmsg);
		else
			ecd_reply_code(ctx, cj->error, cj->errmsg);
		goto out;
	}
	if (cj->result.unchanged) {
		ecd_metrics_commit(srv, ECD_COMMIT_UNCHANGED, seconds);
		status = 200;
	} else {
		ecd_metrics_commit(srv, ECD_COMMIT_OK, seconds);
		ecc_log_notice("repo", "r%" PRId64 " (%s) committed by %s in "
		    "%.3f s", cj->result.revision, cj->result.commit,
		    cj->author, seconds);
		status = 201;
	}
	ecd_reply_json(ctx, status, json_pack("{s:I, s:s, s:b}",
	    "revision", (json_int_t)cj->result.revision,
	    "commit", cj->result.commit,
	    "unchanged", cj->result.unchanged ? 1 : 0));
	/* The committer's reply is queued before the thousands of watch
	 * replies the new head wakes (the loop flushes in order). */
	if (cj->state) {
		ecd_server_set_state(srv, cj->state);
		cj->state = NULL;
	}
out:
	commit_job_free(cj);
}

struct ecd_commit_job *
ecd_commit_job_new(struct ecd_ctx *ctx, enum ecd_commit_kind kind)
{
	struct ecd_commit_job *cj = ecc_calloc(1, sizeof(*cj));

	cj->job.run = commit_run;
	cj->job.done = commit_done;
	cj->srv = ctx->srv;
	cj->ctx = ctx;
	cj->kind = kind;
	ecd_check_copy(&cj->check, ctx->srv->cfg);
	cj->limits = ctx->srv->limits;
	cj->author = ecc_strdup(ctx->user ? ctx->user : "unknown");
	ecd_actor_set(&cj->actor, ctx);
	cj->base = -1;
	cj->start_us = ctx->start_us;
	return cj;
}

void
ecd_commit_job_submit(struct ecd_commit_job *cj)
{
	ecd_pool_submit_write(cj->srv->pool, &cj->job);
}

void
ecd_api_commit(struct ecd_ctx *ctx)
{
	struct ecd_commit_job *cj = ecd_commit_job_new(ctx,
	    ECD_COMMIT_CHANGESET);

	cj->body = ctx->raw;
	ctx->raw = NULL;
	ecd_commit_job_submit(cj);
}

void
ecd_api_rollback(struct ecd_ctx *ctx)
{
	json_t *paths = json_object_get(ctx->body, "paths"), *p;
	const char *message = json_string_value(json_object_get(ctx->body,
	    "message"));
	struct ecd_commit_job *cj;
	json_int_t target = json_integer_value(json_object_get(ctx->body,
	    "revision"));
	size_t i;

	for (i = 0; paths && i < json_array_size(paths); i++) {
		p = json_array_get(paths, i);
		if (!json_is_string(p) || ecc_path_validate(json_string_value(p),
		    &ctx->srv->limits) < 0) {
			ecd_reply_error(ctx, 400, "invalid", "paths[%zu]: %s", i,
			    json_is_string(p) ? ecc_error_last() :
			    "must be a string");
			return;
		}
	}
	cj = ecd_commit_job_new(ctx, ECD_COMMIT_ROLLBACK);
	cj->target = (int64_t)target;
	cj->message = message && *message ? ecc_strdup(message) :
	    ecc_printf("rollback to r%" PRId64, (int64_t)target);
	if (paths && json_array_size(paths) > 0) {
		cj->npaths = json_array_size(paths);
		cj->paths = ecc_calloc(cj->npaths, sizeof(*cj->paths));
		for (i = 0; i < cj->npaths; i++)
			cj->paths[i] = ecc_strdup(json_string_value(
			    json_array_get(paths, i)));
	}
	ecd_commit_job_submit(cj);
}
