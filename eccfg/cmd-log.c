/*
 * cmd-log.c - `eccfg log [-n N] [-r REV] [PATH]`: the revision history,
 * newest first, printed the way Subversion prints it (or the server's
 * JSON with --json); also the entry printer `eccfg show` shares.  Inside
 * a checkout PATH is a view path (wc_repo_operands()).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "eccfg.h"
#include "wc.h"

#define LOG_MAX_LIMIT 1000

enum {
	OPT_LIMIT = 1,
	OPT_REVISION,
};

static const struct eccfg_opt log_opts[] = {
	{ "limit", 1, 'n', OPT_LIMIT, "N",
	  "show at most N revisions (1..1000, default 100)" },
	{ "revision", 1, 'r', OPT_REVISION, "REV",
	  "start at revision REV instead of the head" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

struct log_opts {
	int64_t limit;
	int64_t rev;
};

static int
log_on_opt(int id, const char *arg, void *payload)
{
	struct log_opts *o = payload;

	switch (id) {
	case OPT_LIMIT:
		if (ecc_parse_int64(&o->limit, arg, 1, LOG_MAX_LIMIT) < 0)
			return ecc_error_set(ECC_EINVALID, "'%s' is not a "
			    "number in 1..%d", arg, LOG_MAX_LIMIT);
		return 0;
	case OPT_REVISION:
		return eccfg_parse_rev(&o->rev, arg);
	default:
		return ecc_error_set(ECC_EINVALID, "unknown option");
	}
}

void
eccfg_print_revision(const json_t *rev, int with_changes)
{
	const char *author, *commit, *message, *path, *action;
	json_t *changes, *ch;
	time_t t;
	struct tm tm;
	char when[64] = "(no date)";
	size_t i, len;

	author = json_string_value(json_object_get(rev, "author"));
	commit = json_string_value(json_object_get(rev, "commit"));
	message = json_string_value(json_object_get(rev, "message"));
	t = (time_t)json_integer_value(json_object_get(rev, "time"));
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S +0000", &tm);
	printf("r%lld | ", (long long)json_integer_value(
	    json_object_get(rev, "revision")));
	eccfg_print_text(stdout, author ? author : "(no author)");
	printf(" | %s | %.10s\n", when, commit ? commit : "");
	changes = json_object_get(rev, "changes");
	if (with_changes && json_is_array(changes)) {
		printf("Changed paths:\n");
		json_array_foreach(changes, i, ch) {
			path = json_string_value(json_object_get(ch, "path"));
			action = json_string_value(json_object_get(ch,
			    "action"));
			printf("   %.1s ", action ? action : "?");
			eccfg_print_text(stdout, path ? path : "?");
			putchar('\n');
		}
	}
	putchar('\n');
	if (message && *message) {
		eccfg_print_text(stdout, message);
		len = strlen(message);
		if (message[len - 1] != '\n')
			putchar('\n');
	}
	printf("%s\n", ECCFG_LOG_SEPARATOR);
}

static int
log_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct log_opts o = { .limit = 100, .rev = -1 };
	struct eccfg_client *c = NULL;
	struct eccfg_server_hint hint;
	struct wc *wc = NULL;
	json_t *res = NULL, *revs, *rev;
	char *uri = NULL, *path = NULL, *t, **paths = NULL;
	size_t i, npaths = 0;
	int first, error = -1, rc;

	memset(&hint, 0, sizeof(hint));
	if ((rc = eccfg_parse_options(ctx, argc, argv, log_on_opt, &o,
	    &first)) != 0)
		return rc < 0 ? ECCFG_EXIT_USAGE : ECCFG_EXIT_OK;
	if (argc - first > 1)
		return eccfg_usage(ctx, "at most one PATH");
	if ((error = wc_repo_operands(&paths, &npaths, &wc, argc - first,
	    argv + first)) < 0) {
		rc = error == ECC_EINVALID ?
		    eccfg_usage(ctx, "%s", ecc_error_last()) :
		    eccfg_report(ctx);
		goto done;
	}
	if (npaths > 1) {
		rc = eccfg_usage(ctx, "'%s': the top of a subcluster checkout "
		    "is %s/ and %s/ at once; name one of them (log follows one "
		    "path)", argv[first], paths[0], paths[1]);
		goto done;
	}
	uri = ecc_printf("/v1/revisions?limit=%lld", (long long)o.limit);
	if (o.rev >= 0) {
		t = ecc_printf("%s&before=%lld", uri, (long long)o.rev);
		free(uri);
		uri = t;
	}
	if (npaths == 1) {
		path = ecc_http_escape(paths[0], 1);
		t = ecc_printf("%s&path=%s", uri, path);
		free(uri);
		uri = t;
	}
	if (wc)
		wc_server_hint(&hint, wc);
	if ((error = eccfg_client_new(&c, ctx, wc ? &hint : NULL)) < 0 ||
	    (error = eccfg_client_json(&res, NULL, c, "GET", uri, NULL)) < 0)
		goto out;
	if (ctx->g.json) {
		eccfg_print_json(res);
		error = 0;
		goto out;
	}
	revs = json_object_get(res, "revisions");
	if (!json_is_array(revs)) {
		error = ecc_error_set(ECC_ERROR, "%s: the log response holds no "
		    "revisions", eccfg_client_server(c));
		goto out;
	}
	/* The log is the data, printed even with --quiet. */
	printf("%s\n", ECCFG_LOG_SEPARATOR);
	json_array_foreach(revs, i, rev)
		eccfg_print_revision(rev, 0);
	error = 0;
out:
	rc = error < 0 ? eccfg_report(ctx) : ECCFG_EXIT_OK;
done:
	eccfg_client_free(c);
	wc_free(wc);
	json_decref(res);
	ecc_strv_free(paths, npaths);
	free(uri);
	free(path);
	return rc;
}

const struct eccfg_cmd eccfg_cmd_log = {
	.name = "log",
	.summary = "show the revision history, newest first",
	.usage = "[-n N] [-r REV] [PATH]",
	.opts = log_opts,
	.json_ok = 1,
	.run = log_run,
};
