/*
 * cmd-overlay.c - `eccfg overlay SRC DEST`: copy the files of repository
 * folder SRC over DEST in one revision, keeping the files only DEST has
 * (a merge-overwrite; `eccfg clone` is the exact copy).
 */
#include "config.h"

#include "eccfg.h"

/* eccfg_copy_folder parses it with eccfg_message_opt, like clone's. */
static const struct eccfg_opt overlay_opts[] = {
	{ "message", 1, 'm', ECCFG_OPT_MESSAGE, "MSG",
	  "the log message (default: \"overlay SRC onto DEST\")" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

static int
overlay_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	return eccfg_copy_folder(ctx, argc, argv, 0);
}

const struct eccfg_cmd eccfg_cmd_overlay = {
	.name = "overlay",
	.summary = "copy a repository folder's files over another, keeping "
	    "files only it has",
	.usage = "[-m MSG] SRC DEST",
	.opts = overlay_opts,
	.json_ok = 0,
	.run = overlay_run,
};
