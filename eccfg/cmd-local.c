/*
 * cmd-local.c - `eccfg local list | rollback REV [--boot FILE]`: the
 * trees a node keeps in STATE_DIR/snapshots, and an instant switch back
 * to one of them without the manager (it was verified and checked when
 * it was applied).  The reload command runs after a rollback, as after
 * an update.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eccfg.h"
#include "node.h"

static const struct eccfg_opt local_opts[] = {
	NODE_BOOT_OPT,
	{ NULL, 0, 0, 0, NULL, NULL },
};

static int
local_opt(int id, const char *arg, void *payload)
{
	if (id != NODE_OPT_BOOT)
		return ecc_error_set(ECC_EINVALID, "unknown option");
	*(const char **)payload = arg;
	return 0;
}

static int
local_list(struct eccfg_ctx *ctx, const struct node *n)
{
	int64_t *revs = NULL;
	size_t i, nrevs = 0;
	json_t *a;
	int error;

	if ((error = ecc_apply_list(&revs, &nrevs, n->boot.state_dir)) < 0)
		return error;
	if (ctx->g.json) {
		a = json_array();
		for (i = 0; i < nrevs; i++)
			json_array_append_new(a, json_pack("{s:I, s:b}",
			    "revision", (json_int_t)revs[i], "current",
			    revs[i] == n->current));
		eccfg_print_json(a);
		json_decref(a);
	} else {
		for (i = 0; i < nrevs; i++)
			printf("%s r%" PRId64 "\n", revs[i] == n->current ?
			    "*" : " ", revs[i]);
	}
	free(revs);
	return ECCFG_EXIT_OK;
}

static int
local_rollback(struct eccfg_ctx *ctx, struct node *n, const char *arg)
{
	char *out = NULL;
	int64_t rev;
	int error, status = 0;

	if ((error = eccfg_parse_rev(&rev, arg)) < 0)
		return error;
	if (rev < 0)
		return ecc_error_set(ECC_EINVALID, "name a kept revision "
		    "(eccfg local list)");
	if ((error = node_rollback(n, rev)) < 0) {
		if (error == ECC_ENOTFOUND)
			eccfg_error_prefix(error, "r%" PRId64 " is not kept "
			    "on this node (eccfg local list shows what is; "
			    "eccfg pull -r REV fetches any revision)", rev);
		return error;
	}
	eccfg_say(ctx, "%s: switched to revision %" PRId64 ".\n",
	    n->boot.conf_dir, rev);
	if (n->apply.reload_command && *n->apply.reload_command &&
	    ecc_apply_run_command(&out, &status, n->apply.reload_command,
	    n->boot.conf_dir, rev) == 0 && status != 0) {
		fprintf(stderr, "eccfg local: reload_command failed (exit "
		    "%d)\n", status);
		if (out)
			eccfg_print_text(stderr, out);
	}
	free(out);
	if (node_report(n, status ? "reload_failed" : "ok", status ?
	    "local rollback: reload failed" : "local rollback") < 0) {
		/* Offline is fine: the switch is what was asked. */
		ecc_log_info("local", "%s", ecc_error_last());
		ecc_error_clear();
	}
	return status ? ECCFG_EXIT_FAIL : ECCFG_EXIT_OK;
}

static int
local_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct node n;
	const char *boot = NULL;
	int first, rc;

	if ((rc = eccfg_parse_options(ctx, argc, argv, local_opt, &boot,
	    &first)) != 0)
		return rc;
	if (argc - first < 1)
		return eccfg_usage(ctx, "name an action: list or rollback REV");
	if (strcmp(argv[first], "list") == 0) {
		if (argc - first != 1)
			return eccfg_usage(ctx, "list takes no operand");
	} else if (strcmp(argv[first], "rollback") == 0) {
		if (argc - first != 2)
			return eccfg_usage(ctx, "rollback takes one revision");
	} else {
		return eccfg_usage(ctx, "unknown action '%s' (expected list or "
		    "rollback)", argv[first]);
	}
	if ((rc = node_open(&n, ctx, node_boot_path(boot))) == 0)
		rc = argv[first][0] == 'l' ? local_list(ctx, &n) :
		    local_rollback(ctx, &n, argv[first + 1]);
	node_close(&n);
	return rc < 0 ? eccfg_report(ctx) : rc;
}

const struct eccfg_cmd eccfg_cmd_local = {
	.name = "local",
	.summary = "on a node: list the kept trees, or switch back to one",
	.usage = "list | rollback REV [--boot FILE]",
	.opts = local_opts,
	.json_ok = 1,
	.run = local_run,
};
