/*
 * cmd-resolve.c - `eccfg resolve PATH...`: clear the conflicted state
 * that `eccfg pull --manual` recorded, once the user has edited the
 * conflict markers away (refused while any remain).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "eccfg.h"
#include "wc.h"

/* The first line (1-based) of `buf` that is a conflict marker, or 0. */
static size_t
resolve_marker_line(const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *nl;
	size_t line = 1;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if ((size_t)(end - p) >= 7 && (memcmp(p, "<<<<<<<", 7) == 0 ||
		    memcmp(p, ">>>>>>>", 7) == 0) &&
		    (p + 7 == end || p[7] == ' ' || p[7] == '\n' ||
		    p[7] == '\r'))
			return line;
		if (!nl)
			break;
		p = nl + 1;
		line++;
	}
	return 0;
}

/* Clear one conflicted path after checking its file. */
static int
resolve_one(struct eccfg_ctx *ctx, struct wc *wc, const char *path)
{
	char *buf = NULL;
	size_t len = 0, line;
	int error;

	error = wc_read_file(&buf, &len, NULL, wc, path);
	if (error < 0 && error != ECC_ENOTFOUND)
		return error;
	if (error == 0 && (line = resolve_marker_line(buf, len)) != 0) {
		free(buf);
		return ecc_error_set(ECC_EINVALID, "%s still contains conflict "
		    "markers (line %zu); edit them away first", path, line);
	}
	free(buf);
	wc_strset_remove(&wc->conflicts, path);
	eccfg_say(ctx, "Resolved conflicted state of '%s'\n", path);
	return 0;
}

static int
resolve_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct wc *wc = NULL;
	char **prefixes = NULL, **todo = NULL;
	size_t nprefixes = 0, ntodo = 0, i, j, found;
	int first, rc;

	if ((rc = eccfg_parse_options(ctx, argc, argv, NULL, NULL,
	    &first)) != 0)
		return rc;
	if (first >= argc)
		return eccfg_usage(ctx, "name the conflicted files to resolve");
	nprefixes = (size_t)(argc - first);
	if ((rc = wc_open(&wc, argv[first], WC_LOCK_EXCLUSIVE)) < 0 ||
	    (rc = wc_resolve_paths(&prefixes, wc, argc - first,
	    argv + first)) < 0)
		goto out;
	/* Check every operand before clearing anything. */
	todo = ecc_calloc(wc->conflicts.n + 1, sizeof(*todo));
	for (j = 0; j < nprefixes; j++) {
		found = 0;
		for (i = 0; i < wc->conflicts.n; i++)
			if (ecc_path_has_prefix(wc->conflicts.v[i],
			    prefixes[j]))
				found++;
		if (!found) {
			rc = ecc_error_set(ECC_ENOTFOUND, "%s: not in conflict",
			    argv[first + (int)j]);
			goto out;
		}
	}
	for (i = 0; i < wc->conflicts.n; i++)
		if (wc_path_matches(wc->conflicts.v[i], prefixes, nprefixes))
			todo[ntodo++] = ecc_strdup(wc->conflicts.v[i]);
	for (i = 0; i < ntodo; i++)
		if ((rc = resolve_one(ctx, wc, todo[i])) < 0)
			break;
	if (wc_save(wc, 0) < 0 && rc >= 0)
		rc = -1;
	if (rc < 0)
		goto out;
	rc = ECCFG_EXIT_OK;
out:
	ecc_strv_free(todo, ntodo);
	ecc_strv_free(prefixes, nprefixes);
	wc_free(wc);
	return rc < 0 ? eccfg_report(ctx) : rc;
}

const struct eccfg_cmd eccfg_cmd_resolve = {
	.name = "resolve",
	.summary = "mark conflicted files as resolved once the markers are "
	    "gone",
	.usage = "PATH...",
	.opts = NULL,
	.json_ok = 0,
	.run = resolve_run,
};
