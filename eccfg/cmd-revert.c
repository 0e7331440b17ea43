/*
 * cmd-revert.c - `eccfg revert PATH...`: put working files back to their
 * base content and mode, undoing edits, scheduled deletions and
 * conflicts.  A directory operand reverts every file below it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "eccfg.h"
#include "wc.h"

/* Restore one base file on disk. */
static int
revert_file(struct wc *wc, const struct wc_entry *e)
{
	char *data = NULL, *abs = NULL, *dir = NULL, *slash;
	size_t len = 0;
	int error;

	if (e->kind == WC_KIND_OTHER)
		return ecc_error_set(ECC_EINVALID, "%s: not a regular file on "
		    "disk; move it away first", e->path);
	if ((error = wc_read_base(&data, &len, wc, e->base)) < 0)
		goto out;
	abs = wc_path(wc, e->path);
	dir = ecc_strdup(abs);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if ((error = ecc_mkdir_p(dir, 0755)) < 0 ||
	    (error = ecc_file_write_atomic(abs, data, len, e->base->mode)) < 0)
		goto out;
	error = 0;
out:
	free(data);
	free(abs);
	free(dir);
	return error;
}

static int
revert_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct wc *wc = NULL;
	struct wc_status st;
	const struct wc_entry *e;
	char **prefixes = NULL;
	size_t nprefixes = 0, i, j, matched;
	int first, rc, dirty = 0;

	memset(&st, 0, sizeof(st));
	if ((rc = eccfg_parse_options(ctx, argc, argv, NULL, NULL,
	    &first)) != 0)
		return rc;
	if (first >= argc)
		return eccfg_usage(ctx, "name the files to revert");
	nprefixes = (size_t)(argc - first);
	if ((rc = wc_open(&wc, argv[first], WC_LOCK_EXCLUSIVE)) < 0 ||
	    (rc = wc_resolve_paths(&prefixes, wc, argc - first,
	    argv + first)) < 0 ||
	    (rc = wc_status_scan(&st, wc)) < 0)
		goto out;
	/* Every operand must name something eccfg knows. */
	for (j = 0; j < nprefixes; j++) {
		matched = 0;
		for (i = 0; i < st.n; i++)
			if ((st.v[i].base || st.v[i].code == WC_CONFLICT) &&
			    ecc_path_has_prefix(st.v[i].path, prefixes[j]))
				matched++;
		if (!matched) {
			rc = ecc_error_set(ECC_ENOTFOUND, "%s: not under "
			    "version control", argv[first + (int)j]);
			goto out;
		}
	}
	for (i = 0; i < st.n; i++) {
		e = &st.v[i];
		if (!wc_path_matches(e->path, prefixes, nprefixes))
			continue;
		if (e->base && e->code != WC_CLEAN) {
			if ((rc = revert_file(wc, e)) < 0)
				goto out;
		} else if (e->code != WC_CONFLICT) {
			continue;
		}
		/* Unversioned conflicts (an incoming deletion kept with
		 * --manual) keep their file; only the mark goes. */
		dirty |= wc_strset_remove(&wc->deleted, e->path);
		dirty |= wc_strset_remove(&wc->conflicts, e->path);
		eccfg_say(ctx, "Reverted '%s'\n", e->path);
	}
	if (dirty && (rc = wc_save(wc, 0)) < 0)
		goto out;
	rc = ECCFG_EXIT_OK;
out:
	ecc_strv_free(prefixes, nprefixes);
	wc_status_clear(&st);
	wc_free(wc);
	return rc < 0 ? eccfg_report(ctx) : rc;
}

const struct eccfg_cmd eccfg_cmd_revert = {
	.name = "revert",
	.summary = "undo local changes to files (edits, deletions, "
	    "conflicts)",
	.usage = "PATH...",
	.opts = NULL,
	.json_ok = 0,
	.run = revert_run,
};
