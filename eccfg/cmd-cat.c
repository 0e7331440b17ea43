/*
 * cmd-cat.c - `eccfg cat [-r REV] PATH`: one file of the repository, at
 * a revision (default the head), written to stdout byte for byte.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "eccfg.h"

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
	struct ecc_http_response resp;
	char *uri = NULL, *escaped = NULL;
	const char *path;
	int64_t rev = -1;
	int first, error = -1, rc;

	memset(&resp, 0, sizeof(resp));
	if ((rc = eccfg_parse_options(ctx, argc, argv, cat_on_opt, &rev,
	    &first)) != 0)
		return rc < 0 ? ECCFG_EXIT_USAGE : ECCFG_EXIT_OK;
	if (argc - first != 1)
		return eccfg_usage(ctx, "expected one PATH");
	path = argv[first];
	while (*path == '/')
		path++;
	if (ecc_path_validate(path, NULL) < 0)
		return eccfg_usage(ctx, "%s", ecc_error_last());
	escaped = ecc_http_escape(path, 1);
	if (rev >= 0)
		uri = ecc_printf("/v1/files/%s?rev=%lld", escaped,
		    (long long)rev);
	else
		uri = ecc_printf("/v1/files/%s", escaped);
	if ((error = eccfg_client_new(&c, ctx, NULL)) < 0 ||
	    (error = eccfg_client_get(&resp, c, uri)) < 0)
		goto out;
	if (resp.len && fwrite(resp.body, 1, resp.len, stdout) != resp.len &&
	    errno != EPIPE) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot write %s to "
		    "standard output", path);
		goto out;
	}
	error = 0;
out:
	eccfg_client_free(c);
	ecc_http_response_clear(&resp);
	free(uri);
	free(escaped);
	return error < 0 ? eccfg_report(ctx) : ECCFG_EXIT_OK;
}

const struct eccfg_cmd eccfg_cmd_cat = {
	.name = "cat",
	.summary = "print one file of the repository at a revision",
	.usage = "[-r REV] PATH",
	.opts = cat_opts,
	.json_ok = 0,
	.run = cat_run,
};
