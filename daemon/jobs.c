/*
 * jobs.c - reader jobs shared by the API areas, and small JSON helpers
 * for repository objects (see api.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecconfig.h"

#include "api.h"

static void
read_job_done(struct ecd_job *job)
{
	struct ecd_read_job *rj = (struct ecd_read_job *)job;

	if (rj->error) {
		ecd_read_job_reply_error(rj);
	} else {
		ecd_reply_json(rj->ctx, 200, rj->result);
		rj->result = NULL;
	}
	ecd_read_job_free(rj);
}

struct ecd_read_job *
ecd_read_job_new(struct ecd_ctx *ctx,
    void (*run)(struct ecd_job *job, struct ecd_worker *w))
{
	struct ecd_read_job *rj = ecc_calloc(1, sizeof(*rj));

	rj->ctx = ctx;
	rj->job.run = run;
	rj->job.done = read_job_done;
	return rj;
}

void
ecd_read_job_submit(struct ecd_read_job *rj)
{
	if (ecd_pool_submit_read(rj->ctx->srv->pool, &rj->job) < 0) {
		ecd_reply_code(rj->ctx, ECC_EUNAVAIL, NULL);
		ecd_read_job_free(rj);
	}
}

void
ecd_read_job_fail(struct ecd_read_job *rj, int error)
{
	rj->error = error;
	free(rj->errmsg);
	rj->errmsg = ecc_strdup(ecc_error_last());
}

void
ecd_read_job_reply_error(struct ecd_read_job *rj)
{
	ecd_reply_code(rj->ctx, rj->error, rj->errmsg);
	rj->ctx = NULL;
}

void
ecd_read_job_free(struct ecd_read_job *rj)
{
	if (!rj)
		return;
	json_decref(rj->result);
	free(rj->errmsg);
	free(rj->path);
	free(rj->data);
	free(rj);
}

int
ecd_check_revision(ecc_repo *repo, int64_t rev)
{
	int64_t head = ecc_repo_head(repo);

	if (rev < 0 || rev > head)
		return ecc_error_set(ECC_ENOTFOUND, "revision %" PRId64 " does "
		    "not exist (head is r%" PRId64 ")", rev, head);
	return 0;
}

json_t *
ecd_revinfo_json(const struct ecc_revinfo *ri)
{
	return json_pack("{s:I, s:s, s:s, s:I, s:s}",
	    "revision", (json_int_t)ri->revision,
	    "commit", ri->commit,
	    "author", ri->author ? ri->author : "",
	    "time", (json_int_t)ri->time,
	    "message", ri->message ? ri->message : "");
}

json_t *
ecd_changes_json(const struct ecc_pathchange *v, size_t n)
{
	json_t *arr = json_array();
	char action[2] = "?";
	size_t i;

	for (i = 0; i < n; i++) {
		action[0] = v[i].action;
		json_array_append_new(arr, json_pack("{s:s, s:s}", "path",
		    v[i].path, "action", action));
	}
	return arr;
}

/* Length of the valid UTF-8 sequence at s (0 if invalid). */
static size_t
utf8_seq(const unsigned char *s, size_t left)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0)
		return 0;
	return n;
}

json_t *
ecd_json_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *clean;
	size_t i = 0, o = 0, n;
	json_t *j;

	if (!s)
		return json_string("");
	for (i = 0; i < len; i += n)
		if ((n = utf8_seq(p + i, len - i)) == 0)
			break;
	if (i >= len)
		return json_stringn(s, len);
	clean = ecc_malloc(len * 3 + 1);
	for (i = 0; i < len; i += n) {
		n = utf8_seq(p + i, len - i);
		if (n == 0) {
			memcpy(clean + o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		} else {
			memcpy(clean + o, p + i, n);
			o += n;
		}
	}
	j = json_stringn(clean, o);
	free(clean);
	return j;
}

const char *
ecd_mode_text(unsigned mode)
{
	return (mode & 0111) ? "0755" : "0644";
}
