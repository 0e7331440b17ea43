/*
 * cmd-delete.c - `eccfg delete [--force] PATH...`: remove files (or every
 * file below a directory) from disk and schedule their deletion for the
 * next commit (status D).  Like Subversion, local modifications and
 * unversioned files are only thrown away with --force.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eccfg.h"
#include "wc.h"

enum {
	OPT_FORCE = 1,
};

static const struct eccfg_opt delete_opts[] = {
	{ "force", 0, 0, OPT_FORCE, NULL,
	  "delete even locally modified files and unversioned files below "
	  "a directory" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

static int
delete_opt(int id, const char *arg, void *payload)
{
	int *force = payload;

	if (id != OPT_FORCE)
		return ecc_error_set(ECC_EINVALID, "unknown option");
	*force = 1;
	return 0;
}

/* rmdir every directory at or below `abs` that is empty once its
 * empty subdirectories are gone. */
static void
delete_prune(const char *abs)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	char *child;

	if ((d = opendir(abs)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		child = ecc_printf("%s/%s", abs, de->d_name);
		if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
			delete_prune(child);
		free(child);
	}
	closedir(d);
	rmdir(abs);
}

/* Check that deleting below `prefix` loses nothing without --force. */
static int
delete_check(const struct wc_status *st, const char *prefix,
    const char *arg, int force)
{
	const struct wc_entry *e;
	size_t i, versioned = 0;

	if (!*prefix)
		return ecc_error_set(ECC_EINVALID, "%s: cannot delete the "
		    "checkout's root", arg);
	for (i = 0; i < st->n; i++) {
		e = &st->v[i];
		if (!ecc_path_has_prefix(e->path, prefix))
			continue;
		if (e->base)
			versioned++;
		if (force)
			continue;
		if (e->base && (e->code == WC_MODIFIED ||
		    e->code == WC_CONFLICT))
			return ecc_error_set(ECC_EINVALID, "%s has local "
			    "modifications; pass --force to delete it anyway "
			    "(or eccfg revert it first)", e->path);
		if (!e->base)
			return ecc_error_set(ECC_EINVALID, "%s is not under "
			    "version control; pass --force to delete it too",
			    e->path);
	}
	if (!versioned)
		return ecc_error_set(ECC_ENOTFOUND, "%s: not under version "
		    "control", arg);
	return 0;
}

static int
delete_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct wc *wc = NULL;
	struct wc_status st;
	const struct wc_entry *e;
	char **prefixes = NULL, *abs = NULL;
	size_t nprefixes = 0, i, j;
	struct stat sb;
	int first, rc, force = 0;

	memset(&st, 0, sizeof(st));
	if ((rc = eccfg_parse_options(ctx, argc, argv, delete_opt, &force,
	    &first)) != 0)
		return rc;
	if (first >= argc)
		return eccfg_usage(ctx, "name the files or directories to "
		    "delete");
	nprefixes = (size_t)(argc - first);
	if ((rc = wc_open(&wc, argv[first], WC_LOCK_EXCLUSIVE)) < 0 ||
	    (rc = wc_resolve_paths(&prefixes, wc, argc - first,
	    argv + first)) < 0 ||
	    (rc = wc_status_scan(&st, wc)) < 0)
		goto out;
	for (j = 0; j < nprefixes; j++)
		if ((rc = delete_check(&st, prefixes[j], argv[first + (int)j],
		    force)) < 0)
			goto out;
	for (i = 0; i < st.n; i++) {
		e = &st.v[i];
		if (!wc_path_matches(e->path, prefixes, nprefixes))
			continue;
		if (e->kind != WC_KIND_NONE) {
			abs = wc_path(wc, e->path);
			if (lstat(abs, &sb) == 0 && S_ISDIR(sb.st_mode))
				rc = ecc_rm_rf(abs);
			else if (unlink(abs) < 0 && errno != ENOENT)
				rc = ecc_error_set_errno(ECC_ERROR, "cannot "
				    "remove %s", e->path);
			free(abs);
			abs = NULL;
			if (rc < 0)
				goto out;
		}
		if (!e->base || e->code == WC_DELETED)
			continue;
		wc_strset_add(&wc->deleted, e->path);
		wc_strset_remove(&wc->conflicts, e->path);
		eccfg_say(ctx, "D         %s\n", e->path);
	}
	for (j = 0; j < nprefixes; j++) {
		abs = wc_path(wc, prefixes[j]);
		if (lstat(abs, &sb) == 0 && S_ISDIR(sb.st_mode))
			delete_prune(abs);
		free(abs);
		abs = NULL;
	}
	if ((rc = wc_save(wc, 0)) < 0)
		goto out;
	rc = ECCFG_EXIT_OK;
out:
	free(abs);
	ecc_strv_free(prefixes, nprefixes);
	wc_status_clear(&st);
	wc_free(wc);
	return rc < 0 ? eccfg_report(ctx) : rc;
}

const struct eccfg_cmd eccfg_cmd_delete = {
	.name = "delete",
	.summary = "remove files or directories and schedule their deletion",
	.usage = "[--force] PATH...",
	.opts = delete_opts,
	.json_ok = 0,
	.run = delete_run,
};
