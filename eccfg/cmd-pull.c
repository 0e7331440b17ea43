/*
 * cmd-pull.c - `eccfg pull [--mine|--theirs|--manual] [-r REV]`: bring
 * the checkout to the head (or REV) atomically, keeping local edits that
 * do not overlap incoming changes (wc_update() does the work).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "eccfg.h"
#include "node.h"
#include "wc.h"

enum {
	OPT_MINE = 1,
	OPT_THEIRS,
	OPT_MANUAL,
	OPT_REVISION,
};

static const struct eccfg_opt pull_opts[] = {
	{ "mine", 0, 0, OPT_MINE, NULL,
	  "on overlapping changes keep the local file" },
	{ "theirs", 0, 0, OPT_THEIRS, NULL,
	  "on overlapping changes take the incoming file" },
	{ "manual", 0, 0, OPT_MANUAL, NULL,
	  "on overlapping changes write conflict markers (then edit and "
	  "eccfg resolve)" },
	{ "revision", 1, 'r', OPT_REVISION, "REV",
	  "revision to bring the checkout to (default: the head); on a "
	  "node a kept revision is switched to at once" },
	NODE_BOOT_OPT,
	{ NULL, 0, 0, 0, NULL, NULL },
};

struct pull_args {
	enum wc_merge mode;
	int nmodes;
	int64_t rev;
	const char *boot;
};

static int
pull_opt(int id, const char *arg, void *payload)
{
	struct pull_args *a = payload;

	switch (id) {
	case OPT_MINE:
		a->mode = WC_MERGE_MINE;
		a->nmodes++;
		return 0;
	case OPT_THEIRS:
		a->mode = WC_MERGE_THEIRS;
		a->nmodes++;
		return 0;
	case OPT_MANUAL:
		a->mode = WC_MERGE_MANUAL;
		a->nmodes++;
		return 0;
	case OPT_REVISION:
		return eccfg_parse_rev(&a->rev, arg);
	case NODE_OPT_BOOT:
		a->boot = arg;
		return 0;
	}
	return ecc_error_set(ECC_EINVALID, "unknown option");
}

static void
pull_notify(char code, const char *path, void *payload)
{
	struct eccfg_ctx *ctx = payload;

	/* Conflicts always show: they explain a failure. */
	if (code == 'C')
		printf("C  %s\n", path);
	else
		eccfg_say(ctx, "%c  %s\n", code, path);
}

/* On an MTA node (cluster.boot): what `follow` does once, whatever
 * autoupdate says (the administrator asked), with --mine/--theirs for
 * local edits that overlap the incoming change. */
static int
pull_node(struct eccfg_ctx *ctx, const struct pull_args *a)
{
	struct ecc_apply_result res;
	struct node n;
	enum ecc_apply_local local = ECC_APPLY_LOCAL_CARRY;
	int64_t target = a->rev;
	int rc;

	memset(&res, 0, sizeof(res));
	if (a->nmodes && a->mode == WC_MERGE_MANUAL)
		return eccfg_usage(ctx, "--manual is for checkouts; on a node "
		    "pass --mine or --theirs");
	if (a->nmodes)
		local = a->mode == WC_MERGE_MINE ? ECC_APPLY_LOCAL_MINE :
		    ECC_APPLY_LOCAL_THEIRS;
	if ((rc = node_open(&n, ctx, node_boot_path(a->boot))) < 0)
		goto out;
	if (target < 0 && (rc = node_view_revision(&target, &n, n.current,
	    0)) < 0)
		goto out;
	if ((rc = node_update(&res, &n, target, local)) < 0)
		goto out;
	node_print_result(ctx, &n, &res);
	if (node_report(&n, node_result_name(res.status), res.output) < 0)
		eccfg_report(ctx);
	rc = res.status == ECC_APPLY_OK || res.status == ECC_APPLY_UNCHANGED ?
	    ECCFG_EXIT_OK : ECCFG_EXIT_FAIL;
out:
	ecc_apply_result_free(&res);
	node_close(&n);
	return rc < 0 ? eccfg_report(ctx) : rc;
}

static int
pull_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct pull_args a = { WC_MERGE_REFUSE, 0, -1, NULL };
	struct wc *wc = NULL;
	struct eccfg_client *c = NULL;
	struct eccfg_server_hint hint;
	int64_t target;
	int first, rc, changed = 0;

	if ((rc = eccfg_parse_options(ctx, argc, argv, pull_opt, &a,
	    &first)) != 0)
		return rc;
	if (a.nmodes > 1)
		return eccfg_usage(ctx, "pass at most one of --mine, --theirs "
		    "and --manual");
	if (argc - first > 1)
		return eccfg_usage(ctx, "pull takes at most one operand (a "
		    "path inside the checkout)");
	if (first == argc && node_mode_wanted(a.boot))
		return pull_node(ctx, &a);
	if ((rc = wc_open(&wc, first < argc ? argv[first] : NULL,
	    WC_LOCK_EXCLUSIVE)) < 0)
		goto out;
	wc_server_hint(&hint, wc);
	if ((rc = eccfg_client_new(&c, ctx, &hint)) < 0)
		goto out;
	target = a.rev;
	if (target < 0 && (rc = wc_head(&target, c)) < 0)
		goto out;
	rc = wc_update(&changed, wc, c, target, a.mode, pull_notify, ctx);
	if (rc == ECC_ECONFLICT) {
		fflush(stdout);
		eccfg_report(ctx);
		fputs("Local changes overlap incoming ones. Pass --mine (keep "
		    "the local files), --theirs (take the incoming files) or "
		    "--manual (write conflict markers, then eccfg resolve).\n",
		    stderr);
		rc = ECCFG_EXIT_FAIL;
		goto out;
	}
	if (rc < 0)
		goto out;
	if (changed)
		eccfg_say(ctx, "Updated to revision %lld.\n", (long long)target);
	else
		eccfg_say(ctx, "At revision %lld.\n", (long long)target);
	rc = ECCFG_EXIT_OK;
out:
	eccfg_client_free(c);
	wc_free(wc);
	return rc < 0 ? eccfg_report(ctx) : rc;
}

const struct eccfg_cmd eccfg_cmd_pull = {
	.name = "pull",
	.summary = "bring the checkout (or this node) to the head revision, "
	    "keeping local changes",
	.usage = "[--mine | --theirs | --manual] [-r REV] [--boot FILE]",
	.opts = pull_opts,
	.json_ok = 0,
	.run = pull_run,
};
