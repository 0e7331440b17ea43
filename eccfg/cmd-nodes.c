/*
 * cmd-nodes.c - `eccfg nodes [--subcluster S] [--json]` and `eccfg nodes
 * remove NODE`: the enrolled MTA nodes as the manager sees them (applied
 * revision, view head, last result, last contact, stale), and revoking
 * one (its certificate is refused from its next request on).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "eccfg.h"

enum {
	OPT_SUBCLUSTER = 1,
};

static const struct eccfg_opt nodes_opts[] = {
	{ "subcluster", 1, 0, OPT_SUBCLUSTER, "NAME",
	  "list only the nodes of subcluster NAME" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

static int
nodes_opt(int id, const char *arg, void *payload)
{
	const char **sc = payload;

	if (id != OPT_SUBCLUSTER)
		return ecc_error_set(ECC_EINVALID, "unknown option");
	if (!ecc_name_is_subcluster(arg))
		return ecc_error_set(ECC_EINVALID, "'%s': subcluster names "
		    "must be lower case and one word", arg);
	*sc = arg;
	return 0;
}

/* "r12", or "-" for null. */
static void
nodes_rev(char *buf, size_t size, const json_t *v)
{
	if (json_is_integer(v))
		snprintf(buf, size, "r%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else
		snprintf(buf, size, "-");
}

/* How long ago `t` was, compactly ("12s", "5m", "3h", "2d"), or
 * "never". */
static void
nodes_ago(char *buf, size_t size, const json_t *v, time_t now)
{
	json_int_t d;

	if (!json_is_integer(v)) {
		snprintf(buf, size, "never");
		return;
	}
	d = (json_int_t)now - json_integer_value(v);
	if (d < 0)
		d = 0;
	if (d < 120)
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT "s ago", d);
	else if (d < 7200)
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT "m ago", d / 60);
	else if (d < 172800)
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT "h ago", d / 3600);
	else
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT "d ago", d / 86400);
}

static int
nodes_list(struct eccfg_ctx *ctx, struct eccfg_client *c, const char *sc)
{
	json_t *res = NULL, *nodes, *n;
	char *esc = NULL, *uri, applied[32], view[32], ago[32];
	const char *result;
	time_t now = time(NULL);
	size_t i;
	int error;

	if (sc) {
		esc = ecc_http_escape(sc, 0);
		uri = ecc_printf("/v1/nodes?subcluster=%s", esc);
	} else {
		uri = ecc_strdup("/v1/nodes");
	}
	if ((error = eccfg_client_json(&res, NULL, c, "GET", uri, NULL)) < 0)
		goto out;
	if (ctx->g.json) {
		eccfg_print_json(res);
		goto out;
	}
	nodes = json_object_get(res, "nodes");
	if (json_array_size(nodes) == 0) {
		eccfg_say(ctx, "No node is enrolled%s%s.\n", sc ? " in " : "",
		    sc ? sc : "");
		goto out;
	}
	printf("%-24s %-12s %-8s %-8s %-14s %-10s %s\n", "NODE", "SUBCLUSTER",
	    "APPLIED", "VIEW", "RESULT", "CONTACT", "STATE");
	json_array_foreach(nodes, i, n) {
		nodes_rev(applied, sizeof(applied), json_object_get(n,
		    "applied_revision"));
		nodes_rev(view, sizeof(view), json_object_get(n,
		    "view_revision"));
		nodes_ago(ago, sizeof(ago), json_object_get(n, "last_contact"),
		    now);
		result = json_string_value(json_object_get(n, "result"));
		printf("%-24.64s %-12.64s %-8s %-8s %-14.32s %-10s %s%s\n",
		    json_string_value(json_object_get(n, "name")),
		    json_string_value(json_object_get(n, "subcluster")),
		    applied, view, result ? result : "-", ago,
		    json_is_true(json_object_get(n, "stale")) ? "stale" :
		    "current",
		    json_array_size(json_object_get(n, "drift")) > 0 ?
		    ", drift" : "");
	}
out:
	json_decref(res);
	free(uri);
	free(esc);
	return error < 0 ? error : ECCFG_EXIT_OK;
}

static int
nodes_remove(struct eccfg_ctx *ctx, struct eccfg_client *c,
    const char *name)
{
	char *esc, *uri;
	int error;

	if (!ecc_name_is_node(name))
		return ecc_error_set(ECC_EINVALID, "'%s' is not a node name",
		    name);
	esc = ecc_http_escape(name, 0);
	uri = ecc_printf("/v1/nodes/%s", esc);
	error = eccfg_client_json(NULL, NULL, c, "DELETE", uri, NULL);
	free(uri);
	free(esc);
	if (error < 0)
		return error;
	eccfg_say(ctx, "Removed node %s: its certificate is refused from now "
	    "on.\n", name);
	return ECCFG_EXIT_OK;
}

static int
nodes_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct eccfg_client *c = NULL;
	const char *sc = NULL;
	int first, rc, nargs;

	if ((rc = eccfg_parse_options(ctx, argc, argv, nodes_opt, &sc,
	    &first)) != 0)
		return rc;
	nargs = argc - first;
	if (nargs > 0 && strcmp(argv[first], "list") == 0) {
		first++;
		nargs--;
	}
	if (nargs > 0 && strcmp(argv[first], "remove") != 0)
		return eccfg_usage(ctx, "unknown action '%s' (expected list or "
		    "remove)", argv[first]);
	if (nargs > 0 && nargs != 2)
		return eccfg_usage(ctx, "remove takes one node name");
	if ((rc = eccfg_client_new(&c, ctx, NULL)) < 0)
		goto out;
	rc = nargs ? nodes_remove(ctx, c, argv[first + 1]) :
	    nodes_list(ctx, c, sc);
out:
	eccfg_client_free(c);
	return rc < 0 ? eccfg_report(ctx) : rc;
}

const struct eccfg_cmd eccfg_cmd_nodes = {
	.name = "nodes",
	.summary = "list the enrolled MTA nodes and what they run, or remove "
	    "one",
	.usage = "[list] [--subcluster NAME] | remove NODE",
	.opts = nodes_opts,
	.json_ok = 1,
	.run = nodes_run,
};
