/*
 * cmd-cat.c - `eccfg cat [-r REV] PATH`: one file of the repository, at
 * a revision (default the head), written to stdout byte for byte.  Inside
 * a checkout PATH is a view path (wc_repo_operands()).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "eccfg.h"
#include "wc.h"

enum {
	OPT_REVISION = 1,
};

static const struct eccfg_opt cat_opts[] = {
	{ "revision", 1, 'r', OPT_REVISION, "REV",
	  "the revision to read (default: the head)" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

static int
cat_on_opt(int id, const char *arg, void *payload)
{
	int64_t *rev = payload;

	if (id != OPT_REVISION)
		return ecc_error_set(ECC_EINVALID, "unknown option");
	return eccfg_parse_rev(rev, arg);
}

static int
cat_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct eccfg_client *c = NULL;
	struct eccfg_server_hint hint;
	struct ecc_http_response resp;
	struct wc *wc = NULL;
	char *uri = NULL, *escaped = NULL, **paths = NULL;
	size_t npaths = 0;
	int64_t rev = -1;
	int first, error = -1, rc;

	memset(&resp, 0, sizeof(resp));
	memset(&hint, 0, sizeof(hint));
	if ((rc = eccfg_parse_options(ctx, argc, argv, cat_on_opt, &rev,
	    &first)) != 0)
		return rc < 0 ? ECCFG_EXIT_USAGE : ECCFG_EXIT_OK;
	if (argc - first != 1)
		return eccfg_usage(ctx, "expected one PATH");
	if ((error = wc_repo_operands(&paths, &npaths, &wc, 1,
	    argv + first)) < 0) {
		rc = error == ECC_EINVALID ?
		    eccfg_usage(ctx, "%s", ecc_error_last()) :
		    eccfg_report(ctx);
		goto done;
	}
	if (npaths != 1) {
		rc = eccfg_usage(ctx, "'%s': the top of the checkout is not a "
		    "file", argv[first]);
		goto done;
	}
	escaped = ecc_http_escape(paths[0], 1);
	if (rev >= 0)
		uri = ecc_printf("/v1/files/%s?rev=%lld", escaped,
		    (long long)rev);
	else
		uri = ecc_printf("/v1/files/%s", escaped);
	if (wc)
		wc_server_hint(&hint, wc);
	if ((error = eccfg_client_new(&c, ctx, wc ? &hint : NULL)) < 0 ||
	    (error = eccfg_client_get(&resp, c, uri)) < 0)
		goto out;
	if (resp.len && fwrite(resp.body, 1, resp.len, stdout) != resp.len &&
	    errno != EPIPE) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot write %s to "
		    "standard output", paths[0]);
		goto out;
	}
	error = 0;
out:
	rc = error < 0 ? eccfg_report(ctx) : ECCFG_EXIT_OK;
done:
	eccfg_client_free(c);
	wc_free(wc);
	ecc_http_response_clear(&resp);
	ecc_strv_free(paths, npaths);
	free(uri);
	free(escaped);
	return rc;
}

const struct eccfg_cmd eccfg_cmd_cat = {
	.name = "cat",
	.summary = "print one file of the repository at a revision",
	.usage = "[-r REV] PATH",
	.opts = cat_opts,
	.json_ok = 0,
	.run = cat_run,
};
