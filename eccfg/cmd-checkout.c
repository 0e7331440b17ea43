/*
 * cmd-checkout.c - `eccfg checkout --subcluster S DIR | --all DIR [-r REV]`:
 * make a working copy of one view (wc.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "eccfg.h"
#include "wc.h"

enum {
	OPT_SUBCLUSTER = 1,
	OPT_ALL,
	OPT_REVISION,
};

static const struct eccfg_opt checkout_opts[] = {
	{ "subcluster", 1, 0, OPT_SUBCLUSTER, "NAME",
	  "check out what subcluster NAME's nodes see: global/ plus the "
	  "subcluster's folders" },
	{ "all", 0, 0, OPT_ALL, NULL,
	  "check out the whole repository" },
	{ "revision", 1, 'r', OPT_REVISION, "REV",
	  "revision to check out (default: the head)" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

struct checkout_args {
	const char *subcluster;
	int all;
	int64_t rev;
};

static int
checkout_opt(int id, const char *arg, void *payload)
{
	struct checkout_args *a = payload;

	switch (id) {
	case OPT_SUBCLUSTER:
		if (ecc_name_is_reserved(arg))
			return ecc_error_set(ECC_EINVALID, "'%s' is reserved "
			    "and names no subcluster%s", arg,
			    strcmp(arg, ECC_VIEW_ALL) == 0 ? " (--all checks "
			    "out the whole repository)" : "");
		if (!ecc_name_is_subcluster(arg))
			return ecc_error_set(ECC_EINVALID, "'%s': subcluster "
			    "names must be lower case and one word", arg);
		a->subcluster = arg;
		return 0;
	case OPT_ALL:
		a->all = 1;
		return 0;
	case OPT_REVISION:
		return eccfg_parse_rev(&a->rev, arg);
	}
	return ecc_error_set(ECC_EINVALID, "unknown option");
}

static void
checkout_notify(char code, const char *path, void *payload)
{
	eccfg_say(payload, "%c  %s\n", code, path);
}

static int
checkout_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct checkout_args a = { NULL, 0, -1 };
	struct eccfg_client *c = NULL;
	const char *view;
	int64_t rev = 0;
	int first, rc;

	if ((rc = eccfg_parse_options(ctx, argc, argv, checkout_opt, &a,
	    &first)) != 0)
		return rc;
	if (!a.subcluster == !a.all)
		return eccfg_usage(ctx, "pass either --subcluster NAME or "
		    "--all");
	if (argc - first != 1)
		return eccfg_usage(ctx, "name one directory to check out into");
	view = a.all ? ECC_VIEW_ALL : a.subcluster;
	if ((rc = eccfg_client_new(&c, ctx, NULL)) < 0)
		goto out;
	if ((rc = wc_checkout(&rev, argv[first], c, view, a.rev,
	    eccfg_client_username(c), checkout_notify, ctx)) < 0)
		goto out;
	eccfg_say(ctx, "Checked out revision %lld.\n", (long long)rev);
	rc = ECCFG_EXIT_OK;
out:
	eccfg_client_free(c);
	return rc < 0 ? eccfg_report(ctx) : rc;
}

const struct eccfg_cmd eccfg_cmd_checkout = {
	.name = "checkout",
	.summary = "make a working copy of a subcluster's view or of "
	    "everything",
	.usage = "--subcluster NAME DIR | --all DIR [-r REV]",
	.opts = checkout_opts,
	.json_ok = 0,
	.run = checkout_run,
};
