/*
 * api-revisions.c - GET /v1/revisions (log), GET /v1/revisions/{N} (one
 * revision and its changed paths), GET /v1/diff.  All run on readers.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ecconfig.h"

#include "api.h"

/* arg[0] = limit, arg[1] = before (-1: head), path = filter */
static void
revisions_run(struct ecd_job *job, struct ecd_worker *w)
{
	struct ecd_read_job *rj = (struct ecd_read_job *)job;
	struct ecc_revinfo *v = NULL;
	int64_t head = ecc_repo_head(w->repo), from = rj->arg[1];
	size_t n = 0, i;
	json_t *arr;
	int error;

	if (from > head)
		from = head;
	if ((error = ecc_repo_log(&v, &n, w->repo, from, (size_t)rj->arg[0],
	    rj->path && *rj->path ? rj->path : NULL)) < 0) {
		ecd_read_job_fail(rj, error);
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, ecd_revinfo_json(&v[i]));
	rj->result = json_pack("{s:I, s:o}", "head", (json_int_t)head,
	    "revisions", arr);
	ecc_revinfo_array_free(v, n);
}

void
ecd_api_revisions(struct ecd_ctx *ctx)
{
	struct ecd_read_job *rj;
	int64_t limit, before;
	const char *path;

	if (ecd_query_int(ctx, "limit", 1, 1000, 100, &limit) < 0 ||
	    ecd_query_int(ctx, "before", 0, INT64_MAX, -1, &before) < 0 ||
	    ecd_query_path(ctx, "path", &path) < 0)
		return;
	rj = ecd_read_job_new(ctx, revisions_run);
	rj->arg[0] = limit;
	rj->arg[1] = before;
	rj->path = ecc_strdup(path);
	ecd_read_job_submit(rj);
}

/* arg[0] = revision */
static void
revision_run(struct ecd_job *job, struct ecd_worker *w)
{
	struct ecd_read_job *rj = (struct ecd_read_job *)job;
	struct ecc_revinfo ri;
	struct ecc_pathchange *v = NULL;
	size_t n = 0;
	json_t *o;
	int error;

	memset(&ri, 0, sizeof(ri));
	if ((error = ecd_check_revision(w->repo, rj->arg[0])) < 0 ||
	    (error = ecc_repo_revinfo(&ri, w->repo, rj->arg[0])) < 0 ||
	    (rj->arg[0] > 0 && (error = ecc_repo_changes(&v, &n, w->repo,
	    rj->arg[0] - 1, rj->arg[0], NULL)) < 0)) {
		ecd_read_job_fail(rj, error);
		goto out;
	}
	o = ecd_revinfo_json(&ri);
	if (o)
		json_object_set_new(o, "changes", ecd_changes_json(v, n));
	rj->result = o;
out:
	ecc_revinfo_clear(&ri);
	ecc_pathchange_array_free(v, n);
}

void
ecd_api_revision(struct ecd_ctx *ctx)
{
	struct ecd_read_job *rj;
	int64_t rev;

	if (ecc_parse_int64(&rev, ctx->params[0], 0, INT64_MAX) < 0) {
		ecd_reply_error(ctx, 400, "invalid", "revision must be a "
		    "non-negative integer");
		return;
	}
	rj = ecd_read_job_new(ctx, revision_run);
	rj->arg[0] = rev;
	ecd_read_job_submit(rj);
}

/* arg[0] = from (-1: to - 1), arg[1] = to (-1: head), path = prefix */
static void
diff_run(struct ecd_job *job, struct ecd_worker *w)
{
	struct ecd_read_job *rj = (struct ecd_read_job *)job;
	struct ecc_pathchange *v = NULL;
	const char *prefix = rj->path && *rj->path ? rj->path : NULL;
	int64_t from = rj->arg[0], to = rj->arg[1];
	char *patch = NULL;
	size_t n = 0, plen = 0;
	int error;

	if (to < 0)
		to = ecc_repo_head(w->repo);
	if (from < 0)
		from = to > 0 ? to - 1 : 0;
	if ((error = ecd_check_revision(w->repo, to)) < 0 ||
	    (error = ecd_check_revision(w->repo, from)) < 0 ||
	    (error = ecc_repo_changes(&v, &n, w->repo, from, to, prefix)) < 0 ||
	    (error = ecc_repo_diff(&patch, &plen, w->repo, from, to, prefix))
	    < 0) {
		ecd_read_job_fail(rj, error);
		goto out;
	}
	rj->result = json_pack("{s:I, s:I, s:o, s:o}",
	    "from", (json_int_t)from, "to", (json_int_t)to,
	    "changes", ecd_changes_json(v, n),
	    "patch", ecd_json_text(patch, plen));
out:
	free(patch);
	ecc_pathchange_array_free(v, n);
}

void
ecd_api_diff(struct ecd_ctx *ctx)
{
	struct ecd_read_job *rj;
	int64_t from, to;
	const char *path;

	if (ecd_query_int(ctx, "from", 0, INT64_MAX, -1, &from) < 0 ||
	    ecd_query_int(ctx, "to", 0, INT64_MAX, -1, &to) < 0 ||
	    ecd_query_path(ctx, "path", &path) < 0)
		return;
	rj = ecd_read_job_new(ctx, diff_run);
	rj->arg[0] = from;
	rj->arg[1] = to;
	rj->path = ecc_strdup(path);
	ecd_read_job_submit(rj);
}
