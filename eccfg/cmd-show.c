/*
 * cmd-show.c - `eccfg show REV`: one revision's author, time, message and
 * changed paths (Subversion's `log -v` for one entry), or the server's
 * JSON with --json.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "client.h"
#include "eccfg.h"

static int
show_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct eccfg_client *c = NULL;
	json_t *res = NULL;
	char *uri = NULL;
	int64_t rev;
	int first, error = -1, rc;

	if ((rc = eccfg_parse_options(ctx, argc, argv, NULL, NULL,
	    &first)) != 0)
		return rc < 0 ? ECCFG_EXIT_USAGE : ECCFG_EXIT_OK;
	if (argc - first != 1)
		return eccfg_usage(ctx, "expected one revision");
	if (eccfg_parse_rev(&rev, argv[first]) < 0)
		return eccfg_usage(ctx, "%s", ecc_error_last());
	if ((error = eccfg_client_new(&c, ctx, NULL)) < 0)
		goto out;
	if (rev < 0 && (error = eccfg_client_head(&rev, c)) < 0)
		goto out;
	uri = ecc_printf("/v1/revisions/%lld", (long long)rev);
	if ((error = eccfg_client_json(&res, NULL, c, "GET", uri, NULL)) < 0)
		goto out;
	if (ctx->g.json) {
		eccfg_print_json(res);
	} else {
		/* The entry is the data, printed even with --quiet. */
		printf("%s\n", ECCFG_LOG_SEPARATOR);
		eccfg_print_revision(res, 1);
	}
	error = 0;
out:
	eccfg_client_free(c);
	json_decref(res);
	free(uri);
	return error < 0 ? eccfg_report(ctx) : ECCFG_EXIT_OK;
}

const struct eccfg_cmd eccfg_cmd_show = {
	.name = "show",
	.summary = "show one revision: author, time, message, changed paths",
	.usage = "REV",
	.opts = NULL,
	.json_ok = 1,
	.run = show_run,
};
