/*
 * cmd-clone.c - `eccfg clone SRC DEST`: one revision that makes the
 * repository folder DEST hold exactly SRC's files (files only in DEST are
 * deleted).  The copying is shared with `eccfg overlay` (cmd-overlay.c),
 * which keeps the files only in DEST.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "eccfg.h"

static const struct eccfg_opt clone_opts[] = {
	{ "message", 1, 'm', ECCFG_OPT_MESSAGE, "MSG",
	  "the log message (default: \"clone SRC to DEST\")" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

/* One file of a folder, by its path below the folder. */
struct copy_file {
	const char *rel;          /* borrowed from the tree JSON */
	const char *blob;
	const char *mode;
	int seen;
};

struct copy_line {
	char *path;
	const char *verb;
};

static int
copy_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct copy_file *)a)->rel,
	    ((const struct copy_file *)b)->rel);
}

static int
copy_line_cmp(const void *a, const void *b)
{
	return strcmp(((const struct copy_line *)a)->path,
	    ((const struct copy_line *)b)->path);
}

/* Normalize a folder operand: relative, no trailing '/', valid. */
static int
copy_folder_arg(char **out, const char *arg, const char *what)
{
	size_t n;

	*out = NULL;
	if (*arg == '/') {
		eccfg_check_repo_path(arg);
		return eccfg_error_prefix(ECC_EINVALID, "%s", what);
	}
	n = strlen(arg);
	while (n > 0 && arg[n - 1] == '/')
		n--;
	if (n == 0)
		return ecc_error_set(ECC_EINVALID, "%s: name a folder of the "
		    "repository, not its top", what);
	*out = ecc_strndup(arg, n);
	if (ecc_path_validate(*out, NULL) < 0) {
		free(*out);
		*out = NULL;
		return ECC_EINVALID;
	}
	return 0;
}

/* The files below `folder` at `rev` (-1: the head; *rev_out gets the
 * revision read), sorted by their path below it.  *tree keeps the JSON
 * the entries borrow from.  A file named `folder` is an error. */
static int
copy_list(struct copy_file **out, size_t *n, json_t **tree,
    int64_t *rev_out, struct eccfg_client *c, const char *folder,
    int64_t rev)
{
	json_t *files, *f;
	char *esc = NULL, *uri = NULL;
	const char *path;
	size_t i, flen = strlen(folder);
	int error;

	*out = NULL;
	*n = 0;
	*tree = NULL;
	esc = ecc_http_escape(folder, 0);
	if (rev >= 0)
		uri = ecc_printf("/v1/tree?rev=%lld&path=%s", (long long)rev,
		    esc);
	else
		uri = ecc_printf("/v1/tree?path=%s", esc);
	error = eccfg_client_json(tree, NULL, c, "GET", uri, NULL);
	if (error == ECC_ENOTFOUND && rev >= 0) {
		/* An absent folder is an empty one. */
		json_decref(*tree);
		*tree = NULL;
		*rev_out = rev;
		error = 0;
		goto out;
	}
	if (error < 0)
		goto out;
	*rev_out = json_integer_value(json_object_get(*tree, "revision"));
	files = json_object_get(*tree, "files");
	*out = ecc_calloc(json_array_size(files) + 1, sizeof(**out));
	json_array_foreach(files, i, f) {
		path = json_string_value(json_object_get(f, "path"));
		if (!path || !ecc_path_has_prefix(path, folder))
			continue;
		if (path[flen] == '\0') {
			error = ecc_error_set(ECC_EINVALID, "%s is a file, not "
			    "a folder (eccfg put copies one file)", folder);
			goto out;
		}
		(*out)[*n].rel = path + flen + 1;
		(*out)[*n].blob = json_string_value(json_object_get(f, "blob"));
		(*out)[*n].mode = json_string_value(json_object_get(f, "mode"));
		(*n)++;
	}
	qsort(*out, *n, sizeof(**out), copy_file_cmp);
	error = 0;
out:
	free(esc);
	free(uri);
	return error;
}

static int
copy_same(const struct copy_file *a, const struct copy_file *b)
{
	return a->blob && b->blob && strcmp(a->blob, b->blob) == 0 &&
	    a->mode && b->mode && strcmp(a->mode, b->mode) == 0;
}

int
eccfg_copy_folder(struct eccfg_ctx *ctx, int argc, char **argv, int exact)
{
	struct eccfg_client *c = NULL;
	struct ecc_changeset *cs = NULL;
	struct ecc_http_response resp;
	struct copy_file *sf = NULL, *df = NULL, *d;
	struct copy_line *lines = NULL;
	json_t *stree = NULL, *dtree = NULL;
	const char *message = NULL;
	char *src = NULL, *dst = NULL, *msg = NULL, *spath = NULL;
	char *dpath = NULL, *esc = NULL, *uri = NULL, *said = NULL, *line;
	size_t ns = 0, nd = 0, nlines = 0, saidlen = 0, i;
	int64_t head = -1, drev;
	int first, error = -1, rc;

	memset(&resp, 0, sizeof(resp));
	if ((rc = eccfg_parse_options(ctx, argc, argv, eccfg_message_opt,
	    &message, &first)) != 0)
		return rc < 0 ? ECCFG_EXIT_USAGE : ECCFG_EXIT_OK;
	if (argc - first != 2)
		return eccfg_usage(ctx, "expected SRC and DEST (repository "
		    "folders)");
	if (copy_folder_arg(&src, argv[first], "SRC") < 0 ||
	    copy_folder_arg(&dst, argv[first + 1], "DEST") < 0) {
		rc = eccfg_usage(ctx, "%s", ecc_error_last());
		goto done;
	}
	if (ecc_path_has_prefix(src, dst) || ecc_path_has_prefix(dst, src)) {
		rc = eccfg_usage(ctx, "%s and %s overlap; SRC and DEST must be "
		    "separate folders", src, dst);
		goto done;
	}
	if ((error = eccfg_client_new(&c, ctx, NULL)) < 0)
		goto out;
	error = copy_list(&sf, &ns, &stree, &head, c, src, -1);
	if (error == ECC_ENOTFOUND || (error == 0 && ns == 0)) {
		error = ecc_error_set(ECC_ENOTFOUND, "%s: no such folder in the "
		    "repository (or it holds no files)", src);
		goto out;
	}
	if (error < 0 ||
	    (error = copy_list(&df, &nd, &dtree, &drev, c, dst, head)) < 0)
		goto out;

	msg = message ? ecc_strdup(message) : exact ?
	    ecc_printf("clone %s to %s", src, dst) :
	    ecc_printf("overlay %s onto %s", src, dst);
	cs = ecc_changeset_new(head, msg);
	lines = ecc_calloc(ns + nd + 1, sizeof(*lines));
	for (i = 0; i < ns; i++) {
		d = bsearch(&sf[i], df, nd, sizeof(*df), copy_file_cmp);
		if (d)
			d->seen = 1;
		if (d && copy_same(&sf[i], d))
			continue;
		free(dpath);
		free(spath);
		free(esc);
		free(uri);
		dpath = ecc_printf("%s/%s", dst, sf[i].rel);
		spath = ecc_printf("%s/%s", src, sf[i].rel);
		if ((error = ecc_path_validate(dpath, NULL)) < 0)
			goto out;
		esc = ecc_http_escape(spath, 1);
		uri = ecc_printf("/v1/files/%s?rev=%lld", esc, (long long)head);
		ecc_http_response_clear(&resp);
		if ((error = eccfg_client_get(&resp, c, uri)) < 0)
			goto out;
		ecc_changeset_add_write(cs, dpath, resp.body, resp.len,
		    sf[i].mode && strcmp(sf[i].mode, "0755") == 0 ?
		    0755 : 0644);
		lines[nlines].path = dpath;
		lines[nlines++].verb = d ? "Sending" : "Adding";
		dpath = NULL;
	}
	for (i = 0; exact && i < nd; i++) {
		if (df[i].seen)
			continue;
		dpath = ecc_printf("%s/%s", dst, df[i].rel);
		ecc_changeset_add_delete(cs, dpath);
		lines[nlines].path = dpath;
		lines[nlines++].verb = "Deleting";
		dpath = NULL;
	}
	if (nlines == 0) {
		eccfg_say(ctx, "Nothing to commit\n");
		error = 0;
		goto out;
	}
	qsort(lines, nlines, sizeof(*lines), copy_line_cmp);
	for (i = 0; i < nlines; i++) {
		line = ecc_printf("%s %s\n", lines[i].verb, lines[i].path);
		ecc_str_append(&said, &saidlen, line);
		free(line);
	}
	rc = eccfg_post_changeset(ctx, c, cs, said, NULL);
	goto done;
out:
	rc = error < 0 ? eccfg_report(ctx) : ECCFG_EXIT_OK;
done:
	eccfg_client_free(c);
	ecc_changeset_free(cs);
	ecc_http_response_clear(&resp);
	for (i = 0; i < nlines; i++)
		free(lines[i].path);
	free(lines);
	free(sf);
	free(df);
	json_decref(stree);
	json_decref(dtree);
	free(src);
	free(dst);
	free(msg);
	free(spath);
	free(dpath);
	free(esc);
	free(uri);
	free(said);
	return rc;
}

static int
clone_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	return eccfg_copy_folder(ctx, argc, argv, 1);
}

const struct eccfg_cmd eccfg_cmd_clone = {
	.name = "clone",
	.summary = "make a repository folder an exact copy of another, in "
	    "one revision",
	.usage = "[-m MSG] SRC DEST",
	.opts = clone_opts,
	.json_ok = 0,
	.run = clone_run,
};
