/*
 * cmd-managers.c - `eccfg managers [--json]`: the cluster's managers,
 * the head revision each last recorded, how far it lags behind the one
 * answering, and when it was last seen.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "client.h"
#include "eccfg.h"

static int
managers_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct eccfg_client *c = NULL;
	json_t *res = NULL, *m;
	time_t now = time(NULL);
	json_int_t seen;
	size_t i;
	int first, rc;

	if ((rc = eccfg_parse_options(ctx, argc, argv, NULL, NULL,
	    &first)) != 0)
		return rc;
	if (first != argc)
		return eccfg_usage(ctx, "managers takes no operand");
	if ((rc = eccfg_client_new(&c, ctx, NULL)) < 0 ||
	    (rc = eccfg_client_json(&res, NULL, c, "GET", "/v1/managers",
	    NULL)) < 0)
		goto out;
	if (ctx->g.json) {
		eccfg_print_json(res);
		rc = ECCFG_EXIT_OK;
		goto out;
	}
	printf("%-24s %-24s %8s %6s %s\n", "MANAGER", "ADDRESS", "HEAD", "LAG",
	    "SEEN");
	json_array_foreach(json_object_get(res, "managers"), i, m) {
		seen = json_integer_value(json_object_get(m, "seen"));
		printf("%-24.64s %-24.64s %7s%" JSON_INTEGER_FORMAT " %6"
		    JSON_INTEGER_FORMAT " %llds ago%s\n",
		    json_string_value(json_object_get(m, "name")),
		    json_string_value(json_object_get(m, "address")), "r",
		    json_integer_value(json_object_get(m, "head")),
		    json_integer_value(json_object_get(m, "lag")),
		    (long long)(now > seen ? now - seen : 0),
		    json_is_true(json_object_get(m, "self")) ? " (this one)" :
		    "");
	}
	rc = ECCFG_EXIT_OK;
out:
	json_decref(res);
	eccfg_client_free(c);
	return rc < 0 ? eccfg_report(ctx) : rc;
}

const struct eccfg_cmd eccfg_cmd_managers = {
	.name = "managers",
	.summary = "list the cluster's managers, their head revision and lag",
	.usage = "[--json]",
	.opts = NULL,
	.json_ok = 1,
	.run = managers_run,
};
