/*
 * api-files.c - GET /v1/files/{path} (the raw bytes of one file at a
 * revision) and GET /v1/tree (the file list at a revision).  Readers.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "ecconfig.h"

#include "api.h"

/* Largest file served; commits bound files far lower (max_file_size). */
#define FILE_READ_MAX ((size_t)1 << 30)

/* arg[0] = revision (-1: head), path = repository path */
static void
file_run(struct ecd_job *job, struct ecd_worker *w)
{
	struct ecd_read_job *rj = (struct ecd_read_job *)job;
	struct ecc_entry_list l = { NULL, 0 };
	char *data = NULL;
	size_t len = 0, i;
	int error, found = 0;

	rj->rev = rj->arg[0] < 0 ? ecc_repo_head(w->repo) : rj->arg[0];
	if ((error = ecd_check_revision(w->repo, rj->rev)) < 0 ||
	    (error = ecc_repo_list(&l, w->repo, rj->rev, rj->path)) < 0)
		goto fail;
	for (i = 0; i < l.n && !found; i++) {
		if (strcmp(l.v[i].path, rj->path) != 0)
			continue;
		found = 1;
		snprintf(rj->mode, sizeof(rj->mode), "%s",
		    ecd_mode_text(l.v[i].mode));
		snprintf(rj->blob, sizeof(rj->blob), "%s", l.v[i].blob);
	}
	if (!found) {
		error = ecc_error_set(ECC_ENOTFOUND, "%s does not exist at r%"
		    PRId64, rj->path, rj->rev);
		goto fail;
	}
	if ((error = ecc_repo_read(&data, &len, w->repo, rj->rev, rj->path,
	    FILE_READ_MAX)) < 0)
		goto fail;
	rj->data = data;
	rj->len = len;
	ecc_entry_list_clear(&l);
	return;
fail:
	ecd_read_job_fail(rj, error);
	ecc_entry_list_clear(&l);
}

static void
free_cleanup(const void *data, size_t len, void *extra)
{
	(void)len;
	(void)extra;
	free((void *)data);
}

static void
file_done(struct ecd_job *job)
{
	struct ecd_read_job *rj = (struct ecd_read_job *)job;
	struct ecd_ctx *ctx = rj->ctx;
	struct evbuffer *buf;
	const char *inm;
	char text[64];

	if (rj->error) {
		ecd_read_job_reply_error(rj);
		goto out;
	}
	snprintf(text, sizeof(text), "%" PRId64, rj->rev);
	ecd_set_header(ctx, "X-Ecconfig-Revision", text);
	ecd_set_header(ctx, "X-Ecconfig-Mode", rj->mode);
	snprintf(text, sizeof(text), "\"%s\"", rj->blob);
	ecd_set_header(ctx, "ETag", text);
	inm = ecd_get_header(ctx, "If-None-Match");
	if (inm && strcmp(inm, text) == 0) {
		ecd_reply_empty(ctx, 304);
		goto out;
	}
	if (!(buf = evbuffer_new()))
		abort();
	if (rj->len) {
		evbuffer_add_reference(buf, rj->data, rj->len, free_cleanup,
		    NULL);
		rj->data = NULL;
	}
	ecd_reply_buffer(ctx, 200, "application/octet-stream", buf);
	evbuffer_free(buf);
out:
	ecd_read_job_free(rj);
}

void
ecd_api_file(struct ecd_ctx *ctx)
{
	struct ecd_read_job *rj;
	int64_t rev;

	if (ecc_path_validate(ctx->params[0], &ctx->srv->limits) < 0) {
		ecd_reply_error(ctx, 400, "invalid", "%s", ecc_error_last());
		return;
	}
	if (ecd_query_int(ctx, "rev", 0, INT64_MAX, -1, &rev) < 0)
		return;
	rj = ecd_read_job_new(ctx, file_run);
	rj->job.done = file_done;
	rj->arg[0] = rev;
	rj->path = ecc_strdup(ctx->params[0]);
	ecd_read_job_submit(rj);
}

/* arg[0] = revision (-1: head), path = prefix */
static void
tree_run(struct ecd_job *job, struct ecd_worker *w)
{
	struct ecd_read_job *rj = (struct ecd_read_job *)job;
	struct ecc_entry_list l = { NULL, 0 };
	char commit[ECC_OID_HEX_LEN];
	int64_t rev = rj->arg[0] < 0 ? ecc_repo_head(w->repo) : rj->arg[0];
	json_t *files;
	size_t i;
	int error;

	if ((error = ecd_check_revision(w->repo, rev)) < 0 ||
	    (error = ecc_repo_commit_id(commit, w->repo, rev)) < 0 ||
	    (error = ecc_repo_list(&l, w->repo, rev, rj->path)) < 0) {
		ecd_read_job_fail(rj, error);
		return;
	}
	files = json_array();
	for (i = 0; i < l.n; i++)
		json_array_append_new(files, json_pack("{s:s, s:s, s:I, s:s}",
		    "path", l.v[i].path, "mode", ecd_mode_text(l.v[i].mode),
		    "size", (json_int_t)l.v[i].size, "blob", l.v[i].blob));
	rj->result = json_pack("{s:I, s:s, s:o}", "revision", (json_int_t)rev,
	    "commit", commit, "files", files);
	ecc_entry_list_clear(&l);
}

void
ecd_api_tree(struct ecd_ctx *ctx)
{
	struct ecd_read_job *rj;
	const char *path;
	int64_t rev;

	if (ecd_query_int(ctx, "rev", 0, INT64_MAX, -1, &rev) < 0 ||
	    ecd_query_path(ctx, "path", &path) < 0)
		return;
	rj = ecd_read_job_new(ctx, tree_run);
	rj->arg[0] = rev;
	rj->path = ecc_strdup(path);
	ecd_read_job_submit(rj);
}
