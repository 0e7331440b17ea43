/*
 * view.c - what one subcluster sees (see view.h): the mapping between
 * view paths and repository paths, the file list and revision of a view,
 * and its snapshot and delta archives.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "manifest.h"
#include "path.h"
#include "repo.h"
#include "snapshot.h"
#include "util.h"
#include "view.h"

#define VIEW_GLOBAL "global"

/* One file of a view: its view path, repository path and entry. */
struct view_file {
	char *view_path;
	char *repo_path;
	unsigned mode;
	uint64_t size;
	char blob[ECC_OID_HEX_LEN];
};

static int
view_is_all(const char *view)
{
	return strcmp(view, ECC_VIEW_ALL) == 0;
}

static int
view_check(const char *view)
{
	if (!view || (!view_is_all(view) && !ecc_name_is_subcluster(view)))
		return ecc_error_set(ECC_EINVALID, "'%s': not a view name",
		    view ? view : "");
	return 0;
}

/* Length of the first component of `path`, or 0 when it has only one. */
static size_t
view_first_len(const char *path)
{
	const char *slash = strchr(path, '/');

	return slash ? (size_t)(slash - path) : 0;
}

static int
view_starts_with(const char *path, const char *dir)
{
	size_t n = view_first_len(path);

	return n > 0 && n == strlen(dir) && strncmp(path, dir, n) == 0;
}

int
ecc_view_to_repo(char **out, const char *view, const char *view_path)
{
	int error;

	*out = NULL;
	if ((error = view_check(view)) < 0 ||
	    (error = ecc_path_validate(view_path, NULL)) < 0)
		return error;
	if (view_is_all(view)) {
		*out = ecc_strdup(view_path);
		return 0;
	}
	if (view_first_len(view_path) == 0)
		return ecc_error_set(ECC_EINVALID,
		    "'%s': a view path needs a folder (global/, default/ or a"
		    " node's)", view_path);
	if (view_starts_with(view_path, VIEW_GLOBAL))
		*out = ecc_strdup(view_path);
	else
		*out = ecc_printf("%s/%s", view, view_path);
	return 0;
}

int
ecc_view_from_repo(char **out, const char *view, const char *repo_path)
{
	int error;
	const char *rest;

	*out = NULL;
	if ((error = view_check(view)) < 0 ||
	    (error = ecc_path_validate(repo_path, NULL)) < 0)
		return error;
	if (view_is_all(view)) {
		*out = ecc_strdup(repo_path);
		return 0;
	}
	if (view_starts_with(repo_path, VIEW_GLOBAL)) {
		*out = ecc_strdup(repo_path);
		return 0;
	}
	/* S/D/x -> D/x; S/x (no folder) and S/global/x (would shadow the
	 * real global/) have no place in the view. */
	if (view_starts_with(repo_path, view)) {
		rest = repo_path + strlen(view) + 1;
		if (view_first_len(rest) > 0 &&
		    !view_starts_with(rest, VIEW_GLOBAL)) {
			*out = ecc_strdup(rest);
			return 0;
		}
	}
	return ecc_error_set(ECC_EINVALID, "'%s': not in view '%s'",
	    repo_path, view);
}

static void
view_files_free(struct view_file *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].view_path);
		free(v[i].repo_path);
	}
	free(v);
}

static int
view_file_cmp(const void *a, const void *b)
{
	const struct view_file *x = a, *y = b;

	return strcmp(x->view_path, y->view_path);
}

/* The repository prefixes a view is made of. */
static size_t
view_prefixes(const char *prefixes[2], const char *view)
{
	if (view_is_all(view)) {
		prefixes[0] = "";
		return 1;
	}
	prefixes[0] = VIEW_GLOBAL;
	prefixes[1] = view;
	return 2;
}

/* Every file of the view at `rev`, sorted by view path. */
static int
view_collect(struct view_file **out, size_t *nout, ecc_repo *repo,
    const char *view, int64_t rev)
{
	int error = ECC_ERROR;
	struct ecc_entry_list l = { 0 };
	struct view_file *v = NULL;
	const char *prefixes[2];
	size_t np, p, i, n = 0, cap = 0;
	char *vp;

	*out = NULL;
	*nout = 0;
	if ((error = view_check(view)) < 0)
		goto out;
	np = view_prefixes(prefixes, view);
	for (p = 0; p < np; p++) {
		if ((error = ecc_repo_list(&l, repo, rev, prefixes[p])) < 0)
			goto out;
		for (i = 0; i < l.n; i++) {
			/* Files outside the view's layout are not shown. */
			if (ecc_view_from_repo(&vp, view, l.v[i].path) < 0)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				v = ecc_realloc(v, cap * sizeof(*v));
			}
			v[n].view_path = vp;
			v[n].repo_path = l.v[i].path;
			l.v[i].path = NULL;
			v[n].mode = l.v[i].mode;
			v[n].size = l.v[i].size;
			memcpy(v[n].blob, l.v[i].blob, sizeof(v[n].blob));
			n++;
		}
		ecc_entry_list_clear(&l);
	}
	ecc_error_clear();
	if (n > 1)
		qsort(v, n, sizeof(*v), view_file_cmp);
	*out = v;
	*nout = n;
	v = NULL;
	n = 0;
	error = 0;
out:
	ecc_entry_list_clear(&l);
	view_files_free(v, n);
	return error;
}

int
ecc_view_list(struct ecc_entry_list *out, ecc_repo *repo, const char *view,
    int64_t rev)
{
	int error;
	struct view_file *v = NULL;
	size_t n = 0, i;

	out->v = NULL;
	out->n = 0;
	if ((error = view_collect(&v, &n, repo, view, rev)) < 0)
		return error;
	out->v = ecc_calloc(n ? n : 1, sizeof(*out->v));
	for (i = 0; i < n; i++) {
		out->v[i].path = v[i].view_path;
		v[i].view_path = NULL;
		out->v[i].mode = v[i].mode;
		out->v[i].size = v[i].size;
		memcpy(out->v[i].blob, v[i].blob, sizeof(out->v[i].blob));
	}
	out->n = n;
	view_files_free(v, n);
	return 0;
}

int
ecc_view_revision(int64_t *out, ecc_repo *repo, const char *view,
    int64_t rev)
{
	int error;
	const char *prefixes[2];
	size_t np;

	*out = 0;
	if ((error = view_check(view)) < 0)
		return error;
	np = view_prefixes(prefixes, view);
	return ecc_repo_last_change(out, repo, rev, prefixes, np);
}

static int
view_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The view paths added or changed between `since` and `rev` (sorted,
 * into *changed) and those deleted (into the manifest). */
static int
view_delta(char ***changed, size_t *nchanged, struct ecc_manifest *m,
    ecc_repo *repo, const char *view, int64_t since, int64_t rev)
{
	int error = ECC_ERROR;
	struct ecc_pathchange *pc = NULL;
	size_t npc = 0, p, i, np, n = 0;
	const char *prefixes[2];
	char **v = NULL;
	char *vp;

	*changed = NULL;
	*nchanged = 0;
	np = view_prefixes(prefixes, view);
	for (p = 0; p < np; p++) {
		if ((error = ecc_repo_changes(&pc, &npc, repo, since, rev,
		    prefixes[p])) < 0)
			goto out;
		v = ecc_realloc(v, (n + npc + 1) * sizeof(*v));
		for (i = 0; i < npc; i++) {
			if (ecc_view_from_repo(&vp, view, pc[i].path) < 0)
				continue;
			if (pc[i].action == 'D') {
				ecc_manifest_add_deleted(m, vp);
				free(vp);
			} else
				v[n++] = vp;
		}
		ecc_pathchange_array_free(pc, npc);
		pc = NULL;
		npc = 0;
	}
	ecc_error_clear();
	if (n > 1)
		qsort(v, n, sizeof(*v), view_str_cmp);
	*changed = v;
	*nchanged = n;
	v = NULL;
	n = 0;
	error = 0;
out:
	ecc_pathchange_array_free(pc, npc);
	ecc_strv_free(v, n);
	return error;
}

int
ecc_view_archive(void **out, size_t *outlen, ecc_repo *repo,
    const char *view, int64_t since, int64_t rev,
    const struct ecc_limits *lim)
{
	int error = ECC_ERROR;
	struct ecc_limits deflim;
	struct ecc_manifest *m = NULL;
	struct view_file *v = NULL;
	struct ecc_snapshot_file *files = NULL;
	char **changed = NULL, **bufs = NULL;
	size_t nv = 0, nchanged = 0, nfiles = 0, i, len;
	char *data = NULL;
	int64_t head = ecc_repo_head(repo);

	*out = NULL;
	*outlen = 0;
	if (!lim) {
		ecc_limits_default(&deflim);
		lim = &deflim;
	}
	if ((error = view_check(view)) < 0)
		goto out;
	if (rev < 0 || rev > head) {
		error = ecc_error_set(ECC_ENOTFOUND,
		    "revision %" PRId64 " does not exist (head is r%" PRId64
		    ")", rev, head);
		goto out;
	}
	if (since >= rev) {
		/* A manifest's since is below its revision (manifest.h). */
		error = ecc_error_set(ECC_EINVALID,
		    "since=%" PRId64 " is not below revision %" PRId64, since,
		    rev);
		goto out;
	}
	m = ecc_calloc(1, sizeof(*m));
	m->view = ecc_strdup(view);
	m->revision = rev;
	m->since = since < 0 ? -1 : since;
	if ((error = ecc_repo_commit_id(m->commit, repo, rev)) < 0)
		goto out;
	if (since >= 0 && (error = view_delta(&changed, &nchanged, m, repo,
	    view, since, rev)) < 0)
		goto out;
	if ((error = view_collect(&v, &nv, repo, view, rev)) < 0)
		goto out;
	files = ecc_calloc(nv ? nv : 1, sizeof(*files));
	bufs = ecc_calloc(nv ? nv : 1, sizeof(*bufs));
	for (i = 0; i < nv; i++) {
		if ((error = ecc_repo_read(&data, &len, repo, rev,
		    v[i].repo_path, lim->max_file_size)) < 0)
			goto out;
		ecc_manifest_add_file(m, v[i].view_path, v[i].mode, data, len);
		if (since >= 0 && !bsearch(&v[i].view_path, changed, nchanged,
		    sizeof(*changed), view_str_cmp)) {
			free(data);
			data = NULL;
			continue;
		}
		files[nfiles].path = v[i].view_path;
		files[nfiles].mode = (v[i].mode & 0111) ? 0755 : 0644;
		files[nfiles].data = data;
		files[nfiles].len = len;
		bufs[nfiles++] = data;
		data = NULL;
	}
	ecc_manifest_sort(m);
	error = ecc_snapshot_build(out, outlen, m, files, nfiles);
out:
	free(data);
	for (i = 0; bufs && i < nfiles; i++)
		free(bufs[i]);
	free(bufs);
	free(files);
	for (i = 0; i < nchanged; i++)
		free(changed[i]);
	free(changed);
	view_files_free(v, nv);
	ecc_manifest_free(m);
	return error;
}
