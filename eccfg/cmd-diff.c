/*
 * cmd-diff.c - `eccfg diff [PATH...]`: the working files against the
 * checkout's base, offline (libgit2 makes the unified diff); and
 * `eccfg diff -r A[:B] [PATH]`: the server's diff between two revisions
 * (GET /v1/diff), with view paths mapped to repository paths.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "client.h"
#include "eccfg.h"
#include "wc.h"

enum {
	OPT_REVISION = 1,
};

static const struct eccfg_opt diff_opts[] = {
	{ "revision", 1, 'r', OPT_REVISION, "A[:B]",
	  "show the server's diff from revision A to B (default: the head) "
	  "instead of the local changes" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

struct diff_args {
	int remote;
	int64_t from, to;
};

static int
diff_opt(int id, const char *arg, void *payload)
{
	struct diff_args *a = payload;
	const char *colon;
	char *left = NULL;
	int error;

	if (id != OPT_REVISION)
		return ecc_error_set(ECC_EINVALID, "unknown option");
	a->remote = 1;
	a->to = -1;
	if ((colon = strchr(arg, ':')) == NULL)
		return eccfg_parse_rev(&a->from, arg);
	left = ecc_strndup(arg, (size_t)(colon - arg));
	if ((error = eccfg_parse_rev(&a->from, left)) == 0)
		error = eccfg_parse_rev(&a->to, colon + 1);
	free(left);
	return error;
}

/* Print one file's diff: base (NULL when the file is new) against the
 * working content (NULL when gone). */
static int
diff_print(const char *path, const char *old, size_t oldlen,
    unsigned oldmode, const char *cur, size_t curlen, unsigned curmode)
{
	git_patch *patch = NULL;
	git_buf buf = { NULL, 0, 0 };
	int error = 0;

	if (old && cur && oldmode != curmode)
		printf("diff --git a/%s b/%s\nold mode 100%o\nnew mode 100%o\n",
		    path, path, oldmode, curmode);
	if (old && cur && oldlen == curlen && memcmp(old, cur, oldlen) == 0)
		return 0;
	if (git_patch_from_buffers(&patch, old, oldlen, path, cur, curlen,
	    path, NULL) < 0 || git_patch_to_buf(&buf, patch) < 0) {
		error = ecc_error_set_git(ECC_ERROR, "cannot diff");
		goto out;
	}
	fwrite(buf.ptr, 1, buf.size, stdout);
out:
	git_buf_dispose(&buf);
	git_patch_free(patch);
	return error;
}

static int
diff_local(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct wc *wc = NULL;
	struct wc_status st;
	const struct wc_entry *e;
	char **prefixes = NULL, *old = NULL, *cur = NULL;
	size_t oldlen = 0, curlen = 0, i, nprefixes = (size_t)argc;
	unsigned curmode = 0;
	int rc, git = 0;

	memset(&st, 0, sizeof(st));
	if ((rc = wc_open(&wc, argc ? argv[0] : NULL, WC_LOCK_SHARED)) < 0 ||
	    (rc = wc_resolve_paths(&prefixes, wc, argc, argv)) < 0 ||
	    (rc = wc_status_scan(&st, wc)) < 0)
		goto out;
	if (git_libgit2_init() < 0) {
		rc = ecc_error_set_git(ECC_ERROR, "cannot start libgit2");
		goto out;
	}
	git = 1;
	for (i = 0; i < st.n; i++) {
		e = &st.v[i];
		if (!e->base || !wc_path_matches(e->path, prefixes, nprefixes))
			continue;
		if (e->code != WC_MODIFIED && e->code != WC_CONFLICT &&
		    e->code != WC_DELETED && e->code != WC_MISSING)
			continue;
		if ((rc = wc_read_base(&old, &oldlen, wc, e->base)) < 0)
			goto out;
		if (e->kind == WC_KIND_FILE &&
		    (rc = wc_read_file(&cur, &curlen, &curmode, wc,
		    e->path)) < 0)
			goto out;
		if ((rc = diff_print(e->path, old, oldlen, e->base->mode, cur,
		    curlen, curmode)) < 0)
			goto out;
		free(old);
		free(cur);
		old = cur = NULL;
	}
	rc = ECCFG_EXIT_OK;
out:
	free(old);
	free(cur);
	ecc_strv_free(prefixes, nprefixes);
	wc_status_clear(&st);
	wc_free(wc);
	if (git)
		git_libgit2_shutdown();
	return rc < 0 ? eccfg_report(ctx) : rc;
}

/* GET /v1/diff for one repository prefix (NULL: everything) and print
 * its patch. */
static int
diff_fetch(struct eccfg_client *c, const struct diff_args *a,
    const char *prefix)
{
	json_t *resp = NULL, *patch;
	char *uri = NULL, *to = NULL, *path = NULL;
	int error;

	to = a->to >= 0 ? ecc_printf("&to=%lld", (long long)a->to) :
	    ecc_strdup("");
	path = prefix && *prefix ? ecc_http_escape(prefix, 1) : NULL;
	uri = ecc_printf("/v1/diff?from=%lld%s%s%s", (long long)a->from, to,
	    path ? "&path=" : "", path ? path : "");
	if ((error = eccfg_client_json(&resp, NULL, c, "GET", uri, NULL)) < 0)
		goto out;
	patch = json_object_get(resp, "patch");
	if (!json_is_string(patch)) {
		error = ecc_error_set(ECC_EINVALID, "the server's diff has no "
		    "patch");
		goto out;
	}
	fwrite(json_string_value(patch), 1, json_string_length(patch), stdout);
out:
	json_decref(resp);
	free(uri);
	free(to);
	free(path);
	return error;
}

static int
diff_remote(struct eccfg_ctx *ctx, const struct diff_args *a, int argc,
    char **argv)
{
	struct wc *wc = NULL;
	struct eccfg_client *c = NULL;
	struct eccfg_server_hint hint;
	char **prefixes = NULL;
	size_t nprefixes = 0, i;
	int rc;

	memset(&hint, 0, sizeof(hint));
	if (argc > 1)
		return eccfg_usage(ctx, "diff -r takes at most one PATH");
	if (a->from < 0)
		return eccfg_usage(ctx, "-r: the first revision must be a "
		    "number");
	if ((rc = wc_repo_operands(&prefixes, &nprefixes, &wc, argc,
	    argv)) < 0)
		goto out;
	if (wc) {
		/* Without PATH, what the checkout shows. */
		if (argc == 0) {
			ecc_strv_free(prefixes, nprefixes);
			if ((rc = wc_view_to_repo(&prefixes, &nprefixes, wc,
			    "")) < 0)
				goto out;
		}
		wc_server_hint(&hint, wc);
	}
	if ((rc = eccfg_client_new(&c, ctx, wc ? &hint : NULL)) < 0)
		goto out;
	if (nprefixes == 0)
		rc = diff_fetch(c, a, NULL);
	for (i = 0; rc == 0 && i < nprefixes; i++)
		rc = diff_fetch(c, a, prefixes[i]);
	if (rc < 0)
		goto out;
	rc = ECCFG_EXIT_OK;
out:
	eccfg_client_free(c);
	wc_free(wc);
	ecc_strv_free(prefixes, nprefixes);
	return rc < 0 ? eccfg_report(ctx) : rc;
}

static int
diff_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct diff_args a = { 0, -1, -1 };
	int first, rc;

	if ((rc = eccfg_parse_options(ctx, argc, argv, diff_opt, &a,
	    &first)) != 0)
		return rc;
	if (a.remote)
		return diff_remote(ctx, &a, argc - first, argv + first);
	return diff_local(ctx, argc - first, argv + first);
}

const struct eccfg_cmd eccfg_cmd_diff = {
	.name = "diff",
	.summary = "show local changes against the base revision, or the "
	    "changes between two revisions",
	.usage = "[PATH...] | -r A[:B] [PATH]",
	.opts = diff_opts,
	.json_ok = 0,
	.run = diff_run,
};
