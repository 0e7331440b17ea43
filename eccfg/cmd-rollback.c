/*
 * cmd-rollback.c - `eccfg rollback REV [PATH...] -m MSG`: a new revision
 * whose tree (or only those paths) equals REV's; history is never
 * rewritten; inside a checkout the paths are view paths.  Also the
 * commit-result reporting the server-side commands share
 * (eccfg_post_commit).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "eccfg.h"
#include "wc.h"

#define ROLLBACK_MAX_PATHS 10000

static const struct eccfg_opt rollback_opts[] = {
	{ "message", 1, 'm', ECCFG_OPT_MESSAGE, "MSG",
	  "the log message of the new revision (required)" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

int
eccfg_post_commit(struct eccfg_ctx *ctx, struct eccfg_client *c,
    const char *uri, const json_t *body, const char *lines,
    int64_t *revision)
{
	json_t *res = NULL, *e, *paths, *p;
	const char *output;
	int64_t rev;
	size_t i;
	int error, rc = ECCFG_EXIT_FAIL;

	if (revision)
		*revision = 0;
	if ((error = eccfg_client_json(&res, NULL, c, "POST", uri,
	    body)) < 0) {
		eccfg_report(ctx);
		e = json_object_get(res, "error");
		paths = json_object_get(e, "paths");
		output = json_string_value(json_object_get(e, "output"));
		if (error == ECC_ECONFLICT && json_is_array(paths)) {
			json_array_foreach(paths, i, p) {
				if (!json_is_string(p))
					continue;
				fputs("  out of date: ", stderr);
				eccfg_print_text(stderr, json_string_value(p));
				fputc('\n', stderr);
			}
			fputs("Nothing was committed; run the command again to "
			    "apply it to the new head.\n", stderr);
		}
		if (error == ECC_EREJECTED && output && *output) {
			eccfg_print_text(stderr, output);
			if (output[strlen(output) - 1] != '\n')
				fputc('\n', stderr);
		}
		goto out;
	}
	rev = json_integer_value(json_object_get(res, "revision"));
	if (revision)
		*revision = rev;
	if (json_is_true(json_object_get(res, "unchanged"))) {
		eccfg_say(ctx, "Nothing to commit\n");
	} else {
		if (lines)
			eccfg_say(ctx, "%s", lines);
		eccfg_say(ctx, "Committed revision %lld.\n", (long long)rev);
	}
	rc = ECCFG_EXIT_OK;
out:
	json_decref(res);
	return rc;
}

int
eccfg_post_changeset(struct eccfg_ctx *ctx, struct eccfg_client *c,
    const struct ecc_changeset *cs, const char *lines, int64_t *revision)
{
	json_t *body = NULL;
	char *text;
	int rc;

	if (revision)
		*revision = 0;
	if ((text = ecc_changeset_to_json(cs)) == NULL ||
	    ecc_json_parse(&body, text, strlen(text), 64) < 0) {
		free(text);
		return eccfg_report(ctx);
	}
	free(text);
	rc = eccfg_post_commit(ctx, c, "/v1/commits", body, lines, revision);
	json_decref(body);
	return rc;
}

struct rollback_opts {
	const char *message;
};

static int
rollback_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct rollback_opts o = { NULL };
	struct eccfg_client *c = NULL;
	struct eccfg_server_hint hint;
	struct wc *wc = NULL;
	json_t *body = NULL, *jpaths = NULL;
	char **paths = NULL;
	size_t npaths = 0, i;
	int64_t rev;
	int first, error, rc;

	memset(&hint, 0, sizeof(hint));
	if ((rc = eccfg_parse_options(ctx, argc, argv, eccfg_message_opt,
	    &o.message, &first)) != 0)
		return rc < 0 ? ECCFG_EXIT_USAGE : ECCFG_EXIT_OK;
	if (first >= argc)
		return eccfg_usage(ctx, "expected the revision to roll back "
		    "to");
	if (!o.message || !*o.message)
		return eccfg_usage(ctx, "a log message is required: -m MSG");
	if (argc - first - 1 > ROLLBACK_MAX_PATHS)
		return eccfg_usage(ctx, "more than %d paths",
		    ROLLBACK_MAX_PATHS);
	if (eccfg_parse_rev(&rev, argv[first]) < 0)
		return eccfg_usage(ctx, "%s", ecc_error_last());
	if (rev < 0)
		return eccfg_usage(ctx, "rolling back to HEAD changes nothing; "
		    "give an older revision");
	/* Inside a checkout the paths are view paths; none (or the top of
	 * an --all checkout) means the whole tree. */
	if ((error = wc_repo_operands(&paths, &npaths, &wc, argc - first - 1,
	    argv + first + 1)) < 0) {
		rc = error == ECC_EINVALID ?
		    eccfg_usage(ctx, "%s", ecc_error_last()) :
		    eccfg_report(ctx);
		goto out;
	}
	jpaths = json_array();
	for (i = 0; i < npaths; i++)
		if (json_array_append_new(jpaths, json_string(paths[i])) < 0) {
			rc = eccfg_usage(ctx, "%s: not valid UTF-8", paths[i]);
			goto out;
		}
	body = json_pack("{s:I, s:s}", "revision", (json_int_t)rev,
	    "message", o.message);
	if (!body) {
		rc = eccfg_usage(ctx, "the message is not valid UTF-8");
		goto out;
	}
	if (json_array_size(jpaths))
		json_object_set(body, "paths", jpaths);
	if (wc)
		wc_server_hint(&hint, wc);
	if (eccfg_client_new(&c, ctx, wc ? &hint : NULL) < 0) {
		rc = eccfg_report(ctx);
		goto out;
	}
	rc = eccfg_post_commit(ctx, c, "/v1/rollback", body, NULL, NULL);
out:
	eccfg_client_free(c);
	wc_free(wc);
	json_decref(body);
	json_decref(jpaths);
	ecc_strv_free(paths, npaths);
	return rc;
}

const struct eccfg_cmd eccfg_cmd_rollback = {
	.name = "rollback",
	.summary = "commit a new revision equal to an older one (or some of "
	    "its paths)",
	.usage = "REV [PATH...] -m MSG",
	.opts = rollback_opts,
	.json_ok = 0,
	.run = rollback_run,
};
