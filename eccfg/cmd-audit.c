/*
 * cmd-audit.c - `eccfg audit [-n N] [--before ID] [--json]`: the audit
 * trail, newest first: when, which account from which address, what.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "client.h"
#include "eccfg.h"

enum {
	OPT_LIMIT = 1,
	OPT_BEFORE,
};

static const struct eccfg_opt audit_opts[] = {
	{ "limit", 1, 'n', OPT_LIMIT, "N",
	  "show the N newest entries (default 100)" },
	{ "before", 1, 0, OPT_BEFORE, "ID",
	  "only entries older than entry ID" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

struct audit_args {
	int64_t limit;
	int64_t before;
};

static int
audit_opt(int id, const char *arg, void *payload)
{
	struct audit_args *a = payload;
	int64_t *slot = id == OPT_LIMIT ? &a->limit : &a->before;

	if (id != OPT_LIMIT && id != OPT_BEFORE)
		return ecc_error_set(ECC_EINVALID, "unknown option");
	if (ecc_parse_int64(slot, arg, 1, id == OPT_LIMIT ?
	    ECC_AUDIT_LIST_MAX : INT64_MAX) < 0)
		return ecc_error_set(ECC_EINVALID, "%s '%s': expected a "
		    "positive number%s", id == OPT_LIMIT ? "-n" : "--before",
		    arg, id == OPT_LIMIT ? " up to 10000" : "");
	return 0;
}

static int
audit_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct audit_args a = { 100, 0 };
	struct eccfg_client *c = NULL;
	json_t *res = NULL, *e;
	char *uri, when[32];
	time_t t;
	size_t i;
	int first, rc;

	if ((rc = eccfg_parse_options(ctx, argc, argv, audit_opt, &a,
	    &first)) != 0)
		return rc;
	if (first != argc)
		return eccfg_usage(ctx, "audit takes no operand");
	if (a.before > 0)
		uri = ecc_printf("/v1/audit?limit=%" PRId64 "&before=%" PRId64,
		    a.limit, a.before);
	else
		uri = ecc_printf("/v1/audit?limit=%" PRId64, a.limit);
	if ((rc = eccfg_client_new(&c, ctx, NULL)) < 0 ||
	    (rc = eccfg_client_json(&res, NULL, c, "GET", uri, NULL)) < 0)
		goto out;
	if (ctx->g.json) {
		eccfg_print_json(res);
		rc = ECCFG_EXIT_OK;
		goto out;
	}
	json_array_foreach(json_object_get(res, "entries"), i, e) {
		t = (time_t)json_integer_value(json_object_get(e, "time"));
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime(&t));
		printf("%6" JSON_INTEGER_FORMAT "  %s  %-12.32s %-22.64s "
		    "%-18.32s ", json_integer_value(json_object_get(e, "id")),
		    when, json_string_value(json_object_get(e, "account")),
		    json_string_value(json_object_get(e, "address")),
		    json_string_value(json_object_get(e, "action")));
		eccfg_print_text(stdout, json_string_value(json_object_get(e,
		    "detail")));
		putchar('\n');
	}
	rc = ECCFG_EXIT_OK;
out:
	json_decref(res);
	free(uri);
	eccfg_client_free(c);
	return rc < 0 ? eccfg_report(ctx) : rc;
}

const struct eccfg_cmd eccfg_cmd_audit = {
	.name = "audit",
	.summary = "show the audit trail: who changed what, from where, when",
	.usage = "[-n N] [--before ID] [--json]",
	.opts = audit_opts,
	.json_ok = 1,
	.run = audit_run,
};
