/*
 * apply.c - atomic apply of snapshots and deltas to a node's
 * configuration directory, local edits (drift), recovery after a crash,
 * local rollback and pruning of kept trees (see apply.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apply.h"
#include "error.h"
#include "manifest.h"
#include "path.h"
#include "snapshot.h"
#include "util.h"

/* Deepest directory nesting walked in a tree. */
#define APPLY_MAX_DEPTH 64
/* Most entries walked in one tree. */
#define APPLY_MAX_ENTRIES (1024u * 1024)

const char *
ecc_apply_status_name(enum ecc_apply_status s)
{
	switch (s) {
	case ECC_APPLY_OK:
		return "ok";
	case ECC_APPLY_UNCHANGED:
		return "unchanged";
	case ECC_APPLY_CHECK_FAILED:
		return "check_failed";
	case ECC_APPLY_RELOAD_FAILED:
		return "reload_failed";
	case ECC_APPLY_HELD:
		return "held";
	}
	return "unknown";
}

static char *
apply_snap_dir(const char *state_dir, int64_t rev)
{
	return ecc_printf("%s/snapshots/r%" PRId64, state_dir, rev);
}

/* Parse "rN" (N >= 0, no sign, no leading junk); -1 when not such. */
static int64_t
apply_parse_rname(const char *name)
{
	int64_t v;

	if (name[0] != 'r' || name[1] == '\0' ||
	    strspn(name + 1, "0123456789") != strlen(name + 1) ||
	    strlen(name + 1) > 18)
		return -1;
	if (ecc_parse_int64(&v, name + 1, 0, INT64_MAX) < 0) {
		ecc_error_clear();
		return -1;
	}
	return v;
}

/* The manifest of the tree at `dir`. */
static int
apply_tree_manifest(struct ecc_manifest **m, const char *dir,
    const struct ecc_limits *lim)
{
	char *path = ecc_printf("%s/%s", dir, ECC_MANIFEST_PATH), *buf = NULL;
	size_t len = 0;
	int error;

	*m = NULL;
	if ((error = ecc_file_read(&buf, &len, path,
	    ECC_MANIFEST_MAX_BYTES)) < 0)
		goto out;
	if ((error = ecc_manifest_parse(m, buf, len, lim)) < 0) {
		char *msg = ecc_strdup(ecc_error_last());

		ecc_error_set(error, "%s: %s", path, msg);
		free(msg);
	}
out:
	free(buf);
	free(path);
	return error;
}

/* 1 when `dir` holds a manifest of revision `rev` (written last, so the
 * tree is complete), else 0. */
static int
apply_tree_complete(const char *dir, int64_t rev,
    const struct ecc_limits *lim)
{
	struct ecc_manifest *m = NULL;
	int ok;

	if (apply_tree_manifest(&m, dir, lim) < 0) {
		ecc_error_clear();
		return 0;
	}
	ok = m->revision == rev;
	ecc_manifest_free(m);
	return ok;
}

/* 1 when the file at `path` is a regular file matching `f` (size,
 * SHA-256, executable bit), 0 when not (or missing), negative on a read
 * error. */
static int
apply_file_matches(const char *path, const struct ecc_manifest_file *f)
{
	struct stat st;
	char *buf = NULL, hex[ECC_SHA256_HEX_LEN];
	size_t len = 0;
	int error;

	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if ((uint64_t)st.st_size != f->size ||
	    ((st.st_mode & 0111) != 0) != ((f->mode & 0111) != 0))
		return 0;
	if ((error = ecc_file_read(&buf, &len, path, (size_t)f->size)) < 0)
		return error == ECC_ETOOBIG ? 0 : error;
	ecc_sha256_hex(hex, buf, len);
	free(buf);
	return len == f->size && strcmp(hex, f->sha256) == 0;
}

/* Copy the regular file `src` to `dst` (created, never through a
 * symlink, parents made), with `mode`, fsynced. */
static int
apply_copy_file(const char *src, const char *dst, unsigned mode,
    const struct ecc_limits *lim)
{
	struct ecc_limits dl;
	struct stat st;
	char *buf = NULL, *parent = NULL;
	size_t len = 0;
	int fd = -1, error = ECC_ERROR;

	if (!lim) {
		ecc_limits_default(&dl);
		lim = &dl;
	}
	if (lstat(src, &st) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot stat %s", src);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		error = ecc_error_set(ECC_EINVALID, "%s is not a regular file",
		    src);
		goto out;
	}
	if ((error = ecc_file_read(&buf, &len, src, lim->max_file_size)) < 0)
		goto out;
	parent = ecc_path_dirname(dst);
	if ((error = ecc_mkdir_p(parent, 0755)) < 0)
		goto out;
	fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    (mode_t)(mode & 0777));
	if (fd < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot create %s", dst);
		goto out;
	}
	if ((error = ecc_write_all(fd, buf, len)) < 0)
		goto out;
	if (fchmod(fd, (mode_t)(mode & 0777)) < 0 || fsync(fd) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot sync %s", dst);
		goto out;
	}
	error = 0;
out:
	if (fd >= 0 && close(fd) < 0 && error == 0)
		error = ecc_error_set_errno(ECC_ERROR, "cannot close %s", dst);
	free(parent);
	free(buf);
	return error;
}

/* Collect every non-directory under `top`/`rel` as a relative path
 * (the top-level .ecconfig/ skipped); with `sync_dirs`, fsync every
 * directory instead of collecting. */
static int
apply_walk(char ***v, size_t *n, const char *top, const char *rel,
    int depth, int sync_dirs)
{
	char *dir = rel[0] ? ecc_printf("%s/%s", top, rel) : ecc_strdup(top);
	char *child = NULL, *full = NULL;
	DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	int error = ECC_ERROR;

	if (depth > APPLY_MAX_DEPTH) {
		error = ecc_error_set(ECC_ETOOBIG, "%s: directories nested "
		    "deeper than %d", dir, APPLY_MAX_DEPTH);
		goto out;
	}
	if (!(d = opendir(dir))) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot open %s", dir);
		goto out;
	}
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		child = rel[0] ? ecc_printf("%s/%s", rel, de->d_name) :
		    ecc_strdup(de->d_name);
		full = ecc_printf("%s/%s", top, child);
		if (lstat(full, &st) < 0) {
			error = ecc_error_set_errno(ECC_ERROR, "cannot stat %s",
			    full);
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			if (!(depth == 0 && strcmp(de->d_name,
			    ".ecconfig") == 0 && !sync_dirs) &&
			    (error = apply_walk(v, n, top, child, depth + 1,
			    sync_dirs)) < 0)
				goto out;
		} else if (!sync_dirs) {
			if (*n >= APPLY_MAX_ENTRIES) {
				error = ecc_error_set(ECC_ETOOBIG, "%s: more "
				    "than %u files", top, APPLY_MAX_ENTRIES);
				goto out;
			}
			*v = ecc_grow(*v, *n, sizeof(**v));
			(*v)[(*n)++] = child;
			child = NULL;
		}
		free(child);
		free(full);
		child = full = NULL;
	}
	if (errno) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot read %s", dir);
		goto out;
	}
	if (sync_dirs && (error = ecc_fsync_dir(dir)) < 0)
		goto out;
	error = 0;
out:
	if (d)
		closedir(d);
	free(child);
	free(full);
	free(dir);
	return error;
}

static int
apply_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
apply_strv_add(char ***v, size_t *n, const char *s)
{
	*v = ecc_grow(*v, *n, sizeof(**v));
	(*v)[(*n)++] = ecc_strdup(s);
}

static int
apply_strv_has(char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

void
ecc_drift_free(struct ecc_drift *d)
{
	if (!d)
		return;
	ecc_strv_free(d->modified, d->nmodified);
	ecc_strv_free(d->added, d->nadded);
	ecc_strv_free(d->removed, d->nremoved);
	memset(d, 0, sizeof(*d));
}

int
ecc_apply_drift(struct ecc_drift *d, const char *dir,
    const struct ecc_limits *lim)
{
	struct ecc_manifest *m = NULL;
	const struct ecc_manifest_file *f;
	char **files = NULL, *full = NULL;
	size_t nfiles = 0, i;
	int error, rc;

	memset(d, 0, sizeof(*d));
	if ((error = apply_tree_manifest(&m, dir, lim)) < 0)
		goto out;
	if ((error = apply_walk(&files, &nfiles, dir, "", 0, 0)) < 0)
		goto out;
	if (nfiles)
		qsort(files, nfiles, sizeof(*files), apply_strcmp);
	for (i = 0; i < nfiles; i++) {
		if (!(f = ecc_manifest_find(m, files[i]))) {
			apply_strv_add(&d->added, &d->nadded, files[i]);
			continue;
		}
		full = ecc_printf("%s/%s", dir, files[i]);
		rc = apply_file_matches(full, f);
		free(full);
		full = NULL;
		if (rc < 0) {
			error = rc;
			goto out;
		}
		if (!rc)
			apply_strv_add(&d->modified, &d->nmodified, files[i]);
	}
	for (i = 0; i < m->nfiles; i++)
		if (!bsearch(&m->files[i].path, files, nfiles, sizeof(*files),
		    apply_strcmp))
			apply_strv_add(&d->removed, &d->nremoved,
			    m->files[i].path);
	error = 0;
out:
	if (error < 0)
		ecc_drift_free(d);
	ecc_strv_free(files, nfiles);
	ecc_manifest_free(m);
	return error;
}

int
ecc_apply_current(int64_t *rev, const char *conf_dir)
{
	char target[PATH_MAX];
	const char *base;
	ssize_t n;

	*rev = -1;
	n = readlink(conf_dir, target, sizeof(target) - 1);
	if (n < 0 && errno == ENOENT)
		return ecc_error_set(ECC_ENOTFOUND, "%s does not exist",
		    conf_dir);
	if (n < 0 && errno == EINVAL)
		return ecc_error_set(ECC_EINVALID, "%s is not a symlink to a "
		    "snapshot", conf_dir);
	if (n < 0)
		return ecc_error_set_errno(ECC_ERROR, "cannot read %s",
		    conf_dir);
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if ((*rev = apply_parse_rname(base)) < 0)
		return ecc_error_set(ECC_EINVALID, "%s points to %s, not to a "
		    "snapshot rN", conf_dir, target);
	return 0;
}

/* Point CONF_DIR at snapshots/rREV: symlink CONF_DIR.tmp, rename(2) over
 * CONF_DIR, fsync the parent.  `hook`: the apply's, called once linked. */
static int
apply_switch(const struct ecc_apply_opts *o, int64_t rev, int use_hook)
{
	char *target = apply_snap_dir(o->state_dir, rev);
	char *tmp = ecc_printf("%s.tmp", o->conf_dir), *parent = NULL;
	struct stat st;
	int error = ECC_ERROR;

	if (lstat(o->conf_dir, &st) == 0 && !S_ISLNK(st.st_mode)) {
		error = ecc_error_set(ECC_EINVALID, "%s exists and is not a "
		    "symlink: move it away first", o->conf_dir);
		goto out;
	}
	if ((error = ecc_rm_rf(tmp)) < 0)
		goto out;
	if (symlink(target, tmp) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot create symlink "
		    "%s", tmp);
		goto out;
	}
	if (use_hook && o->hook &&
	    (error = o->hook(ECC_APPLY_STEP_LINKED, o->hook_payload)) != 0)
		goto out;
	if (rename(tmp, o->conf_dir) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot rename %s to %s",
		    tmp, o->conf_dir);
		goto out;
	}
	parent = ecc_path_dirname(o->conf_dir);
	if ((error = ecc_fsync_dir(parent)) < 0)
		goto out;
	error = 0;
out:
	free(parent);
	free(tmp);
	free(target);
	return error;
}

/* Run `cmd` with /bin/sh -c in `tree` with ECCONFIG_TREE and
 * ECCONFIG_REVISION set; stdout and stderr go to *output (bounded).
 * Returns 0 and the exit status in *status (non-zero for a signal). */
static int
apply_run(char **output, int *status, const char *cmd, const char *tree,
    int64_t rev)
{
	char buf[4096], *out = NULL, *revs;
	size_t len = 0;
	ssize_t n;
	int fds[2] = { -1, -1 }, ws = 0, devnull;
	pid_t pid;

	*status = 0;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return ecc_error_set_errno(ECC_ERROR, "cannot run '%s'", cmd);
	revs = ecc_printf("%" PRId64, rev);
	pid = fork();
	if (pid < 0) {
		free(revs);
		close(fds[0]);
		close(fds[1]);
		return ecc_error_set_errno(ECC_ERROR, "cannot run '%s'", cmd);
	}
	if (pid == 0) {
		devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		if (chdir(tree) < 0 || setenv("ECCONFIG_TREE", tree, 1) < 0 ||
		    setenv("ECCONFIG_REVISION", revs, 1) < 0)
			_exit(126);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	free(revs);
	close(fds[1]);
	out = ecc_malloc(1);
	out[0] = '\0';
	for (;;) {
		n = read(fds[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len < ECC_APPLY_MAX_OUTPUT) {
			size_t take = (size_t)n;

			if (take > ECC_APPLY_MAX_OUTPUT - len)
				take = ECC_APPLY_MAX_OUTPUT - len;
			out = ecc_realloc(out, len + take + 1);
			memcpy(out + len, buf, take);
			len += take;
			out[len] = '\0';
		}
	}
	close(fds[0]);
	while (waitpid(pid, &ws, 0) < 0) {
		if (errno != EINTR) {
			free(out);
			return ecc_error_set_errno(ECC_ERROR, "cannot wait for "
			    "'%s'", cmd);
		}
	}
	if (WIFEXITED(ws))
		*status = WEXITSTATUS(ws);
	else
		*status = 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
	free(*output);
	*output = out;
	return 0;
}

int
ecc_apply_run_command(char **output, int *status, const char *cmd,
    const char *tree, int64_t rev)
{
	return apply_run(output, status, cmd, tree, rev);
}

int
ecc_apply_list(int64_t **revs, size_t *nrevs, const char *state_dir)
{
	char *dir = ecc_printf("%s/snapshots", state_dir), *sub;
	int64_t *v = NULL, r, t;
	size_t n = 0, i, j;
	struct dirent *de;
	DIR *d;

	*revs = NULL;
	*nrevs = 0;
	if (!(d = opendir(dir))) {
		free(dir);
		if (errno == ENOENT)
			return 0;
		return ecc_error_set_errno(ECC_ERROR, "cannot open %s/"
		    "snapshots", state_dir);
	}
	while ((de = readdir(d))) {
		if ((r = apply_parse_rname(de->d_name)) < 0)
			continue;
		sub = ecc_printf("%s/%s", dir, de->d_name);
		if (apply_tree_complete(sub, r, NULL)) {
			v = ecc_grow(v, n, sizeof(*v));
			v[n++] = r;
		}
		free(sub);
	}
	closedir(d);
	free(dir);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && v[j - 1] < v[j]; j--) {
			t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	*revs = v;
	*nrevs = n;
	return 0;
}

/* Remove kept trees beyond keep_snapshots, never `cur` nor `prev` (which
 * do not count against keep_snapshots). */
static int
apply_prune(const struct ecc_apply_opts *o, int64_t cur, int64_t prev)
{
	int64_t *revs = NULL;
	size_t n = 0, i, kept = 0;
	size_t keep = o->keep_snapshots > 0 ? (size_t)o->keep_snapshots : 1;
	char *dir;
	int error;

	if ((error = ecc_apply_list(&revs, &n, o->state_dir)) < 0)
		return error;
	for (i = 0; i < n; i++) {
		if (revs[i] == cur || revs[i] == prev)
			continue;
		if (kept < keep) {
			kept++;
			continue;
		}
		dir = apply_snap_dir(o->state_dir, revs[i]);
		error = ecc_rm_rf(dir);
		free(dir);
		if (error < 0)
			break;
	}
	free(revs);
	return error;
}

void
ecc_apply_result_free(struct ecc_apply_result *res)
{
	if (!res)
		return;
	free(res->output);
	ecc_strv_free(res->carried, res->ncarried);
	ecc_strv_free(res->conflicts, res->nconflicts);
	memset(res, 0, sizeof(*res));
}

/* 1 when incoming `i` differs from base `b` (either may be NULL). */
static int
apply_entry_changed(const struct ecc_manifest_file *b,
    const struct ecc_manifest_file *i)
{
	if (!b || !i)
		return b != i;
	return b->mode != i->mode || b->size != i->size ||
	    strcmp(b->sha256, i->sha256) != 0;
}

/* Sort local edits of the current tree into carried ones (modified and
 * added files to copy in `*copy`, removed ones in `*drop`) and overlaps
 * (res->conflicts). */
static void
apply_plan_local(struct ecc_apply_result *res, char ***copy, size_t *ncopy,
    char ***drop, size_t *ndrop, const struct ecc_drift *d,
    const struct ecc_manifest *base, const struct ecc_manifest *in,
    enum ecc_apply_local mode)
{
	const struct ecc_manifest_file *b, *i;
	size_t k;
	int overlap;

	for (k = 0; k < d->nmodified; k++) {
		b = ecc_manifest_find(base, d->modified[k]);
		i = ecc_manifest_find(in, d->modified[k]);
		overlap = apply_entry_changed(b, i);
		if (overlap)
			apply_strv_add(&res->conflicts, &res->nconflicts,
			    d->modified[k]);
		if (!overlap || mode == ECC_APPLY_LOCAL_MINE) {
			apply_strv_add(copy, ncopy, d->modified[k]);
			apply_strv_add(&res->carried, &res->ncarried,
			    d->modified[k]);
		}
	}
	for (k = 0; k < d->nadded; k++) {
		overlap = ecc_manifest_find(in, d->added[k]) != NULL;
		if (overlap)
			apply_strv_add(&res->conflicts, &res->nconflicts,
			    d->added[k]);
		if (!overlap || mode == ECC_APPLY_LOCAL_MINE) {
			apply_strv_add(copy, ncopy, d->added[k]);
			apply_strv_add(&res->carried, &res->ncarried,
			    d->added[k]);
		}
	}
	for (k = 0; k < d->nremoved; k++) {
		b = ecc_manifest_find(base, d->removed[k]);
		i = ecc_manifest_find(in, d->removed[k]);
		if (!i)
			continue;       /* removed on both sides */
		overlap = apply_entry_changed(b, i);
		if (overlap)
			apply_strv_add(&res->conflicts, &res->nconflicts,
			    d->removed[k]);
		if (!overlap || mode == ECC_APPLY_LOCAL_MINE) {
			apply_strv_add(drop, ndrop, d->removed[k]);
			apply_strv_add(&res->carried, &res->ncarried,
			    d->removed[k]);
		}
	}
}

/* Complete the extracted tree `tmp` of manifest `in`: unchanged files
 * from `base_dir`, carried local edits; then verify all of it. */
static int
apply_fill_and_verify(const char *tmp, const struct ecc_manifest *in,
    const char *base_dir, const struct ecc_manifest *base,
    char *const *copy, size_t ncopy, char *const *drop, size_t ndrop,
    const struct ecc_limits *lim)
{
	const struct ecc_manifest_file *f, *b;
	char **files = NULL, *dst = NULL, *src = NULL;
	size_t nfiles = 0, k;
	struct stat st;
	int error = ECC_ERROR, rc;

	for (k = 0; k < in->nfiles; k++) {
		f = &in->files[k];
		if (apply_strv_has(copy, ncopy, f->path) ||
		    apply_strv_has(drop, ndrop, f->path))
			continue;
		dst = ecc_printf("%s/%s", tmp, f->path);
		if (!ecc_path_exists(dst)) {
			b = base ? ecc_manifest_find(base, f->path) : NULL;
			if (!b || apply_entry_changed(b, f)) {
				error = ecc_error_set(ECC_EINVALID, "archive of "
				    "revision %" PRId64 " lacks %s", in->revision,
				    f->path);
				goto out;
			}
			src = ecc_printf("%s/%s", base_dir, f->path);
			if ((error = apply_copy_file(src, dst, f->mode,
			    lim)) < 0)
				goto out;
			free(src);
			src = NULL;
		}
		if ((rc = apply_file_matches(dst, f)) <= 0) {
			error = rc < 0 ? rc : ecc_error_set(ECC_EINVALID,
			    "%s of revision %" PRId64 " does not match the "
			    "manifest", f->path, in->revision);
			goto out;
		}
		free(dst);
		dst = NULL;
	}
	for (k = 0; k < ndrop; k++) {
		dst = ecc_printf("%s/%s", tmp, drop[k]);
		if (unlink(dst) < 0 && errno != ENOENT) {
			error = ecc_error_set_errno(ECC_ERROR, "cannot remove "
			    "%s", dst);
			goto out;
		}
		free(dst);
		dst = NULL;
	}
	for (k = 0; k < ncopy; k++) {
		src = ecc_printf("%s/%s", base_dir, copy[k]);
		dst = ecc_printf("%s/%s", tmp, copy[k]);
		if (lstat(src, &st) < 0) {
			error = ecc_error_set_errno(ECC_ERROR, "cannot stat %s",
			    src);
			goto out;
		}
		if ((unlink(dst) < 0 && errno != ENOENT) ||
		    (error = apply_copy_file(src, dst, st.st_mode & 0777,
		    lim)) < 0) {
			if (error >= 0)
				error = ecc_error_set_errno(ECC_ERROR, "cannot "
				    "replace %s", dst);
			goto out;
		}
		free(src);
		free(dst);
		src = dst = NULL;
	}
	/* nothing else may be there */
	if ((error = apply_walk(&files, &nfiles, tmp, "", 0, 0)) < 0)
		goto out;
	for (k = 0; k < nfiles; k++) {
		if (!ecc_manifest_find(in, files[k]) &&
		    !apply_strv_has(copy, ncopy, files[k])) {
			error = ecc_error_set(ECC_EINVALID, "%s: unexpected file "
			    "%s", tmp, files[k]);
			goto out;
		}
	}
	error = 0;
out:
	ecc_strv_free(files, nfiles);
	free(src);
	free(dst);
	return error;
}

static int
apply_hook(const struct ecc_apply_opts *o, enum ecc_apply_step step)
{
	return o->hook ? o->hook(step, o->hook_payload) : 0;
}

int
ecc_apply(struct ecc_apply_result *res, const struct ecc_apply_opts *o,
    const void *tar, size_t len)
{
	struct ecc_manifest *in = NULL, *base = NULL;
	struct ecc_drift drift;
	char *base_dir = NULL, *tmp = NULL, *final = NULL, *snaps = NULL;
	char **copy = NULL, **drop = NULL;
	size_t ncopy = 0, ndrop = 0;
	int64_t cur = -1, rev;
	int error, status = 0;

	memset(res, 0, sizeof(*res));
	memset(&drift, 0, sizeof(drift));
	res->revision = res->previous = -1;
	error = ecc_apply_current(&cur, o->conf_dir);
	if (error == ECC_ENOTFOUND) {
		ecc_error_clear();
		cur = -1;
	} else if (error < 0) {
		goto out;
	}
	res->revision = res->previous = cur;
	if ((error = ecc_snapshot_read_manifest(&in, tar, len, o->lim)) < 0)
		goto out;
	rev = in->revision;
	if (rev == cur) {
		res->status = ECC_APPLY_UNCHANGED;
		error = 0;
		goto out;
	}
	if (in->since >= 0 && in->since != cur) {
		error = ecc_error_set(ECC_ECONFLICT, "delta from revision %"
		    PRId64 " does not apply to %s at revision %" PRId64,
		    in->since, o->conf_dir, cur);
		goto out;
	}
	if (cur >= 0) {
		base_dir = apply_snap_dir(o->state_dir, cur);
		if ((error = apply_tree_manifest(&base, base_dir, o->lim)) < 0)
			goto out;
		if (o->local != ECC_APPLY_LOCAL_THEIRS) {
			if ((error = ecc_apply_drift(&drift, base_dir,
			    o->lim)) < 0)
				goto out;
			apply_plan_local(res, &copy, &ncopy, &drop, &ndrop,
			    &drift, base, in, o->local);
			if (res->nconflicts && o->local == ECC_APPLY_LOCAL_CARRY) {
				res->status = ECC_APPLY_HELD;
				error = 0;
				goto out;
			}
		}
	}
	snaps = ecc_printf("%s/snapshots", o->state_dir);
	tmp = ecc_printf("%s/snapshots/r%" PRId64 ".tmp", o->state_dir, rev);
	final = apply_snap_dir(o->state_dir, rev);
	if ((error = ecc_mkdir_p(snaps, 0755)) < 0 ||
	    (error = ecc_rm_rf(tmp)) < 0 || (error = ecc_rm_rf(final)) < 0)
		goto out;
	if (mkdir(tmp, 0755) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot create %s", tmp);
		goto out;
	}
	if ((error = ecc_snapshot_extract(NULL, NULL, NULL, tar, len, tmp,
	    o->lim)) < 0)
		goto out;
	if ((error = apply_fill_and_verify(tmp, in, base_dir, base, copy,
	    ncopy, drop, ndrop, o->lim)) < 0)
		goto out;
	if ((error = apply_hook(o, ECC_APPLY_STEP_BUILT)) != 0)
		goto out;
	if ((error = apply_walk(NULL, NULL, tmp, "", 0, 1)) < 0)
		goto out;
	if ((error = apply_hook(o, ECC_APPLY_STEP_SYNCED)) != 0)
		goto out;
	if (rename(tmp, final) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot rename %s",
		    tmp);
		goto out;
	}
	if ((error = ecc_fsync_dir(snaps)) < 0)
		goto out;
	if ((error = apply_hook(o, ECC_APPLY_STEP_RENAMED)) != 0)
		goto out;
	if (o->check_command && o->check_command[0]) {
		if ((error = apply_run(&res->output, &status, o->check_command,
		    final, rev)) < 0)
			goto out;
		if (status != 0) {
			res->status = ECC_APPLY_CHECK_FAILED;
			res->exit_status = status;
			error = ecc_rm_rf(final);
			goto out;
		}
	}
	if ((error = apply_hook(o, ECC_APPLY_STEP_CHECKED)) != 0)
		goto out;
	if ((error = apply_switch(o, rev, 1)) != 0)
		goto out;
	res->revision = rev;
	if ((error = apply_hook(o, ECC_APPLY_STEP_SWITCHED)) != 0)
		goto out;
	if (o->reload_command && o->reload_command[0]) {
		if ((error = apply_run(&res->output, &status, o->reload_command,
		    final, rev)) < 0)
			goto out;
		if (status != 0) {
			char *out1 = res->output;

			res->output = NULL;
			res->status = ECC_APPLY_RELOAD_FAILED;
			res->exit_status = status;
			if (cur >= 0) {
				if ((error = apply_switch(o, cur, 0)) < 0) {
					res->output = out1;
					goto out;
				}
				res->revision = cur;
				error = apply_run(&res->output, &status,
				    o->reload_command, base_dir, cur);
			}
			/* the failed reload's output is what is reported */
			free(res->output);
			res->output = out1;
			if (error < 0)
				goto out;
		}
	}
	if ((error = apply_hook(o, ECC_APPLY_STEP_RELOADED)) != 0)
		goto out;
	error = apply_prune(o, res->revision,
	    res->revision == rev ? cur : rev);
out:
	ecc_drift_free(&drift);
	ecc_strv_free(copy, ncopy);
	ecc_strv_free(drop, ndrop);
	ecc_manifest_free(in);
	ecc_manifest_free(base);
	free(snaps);
	free(final);
	free(tmp);
	free(base_dir);
	return error;
}

int
ecc_apply_recover(int64_t *rev_out, const struct ecc_apply_opts *o)
{
	char *snaps = ecc_printf("%s/snapshots", o->state_dir), *p = NULL;
	char *dir = NULL;
	int64_t *revs = NULL, cur = -1;
	size_t nrevs = 0, nl;
	struct dirent *de;
	DIR *d = NULL;
	int error;

	if (rev_out)
		*rev_out = -1;
	if ((d = opendir(snaps))) {
		while ((de = readdir(d))) {
			nl = strlen(de->d_name);
			if (nl < 5 || strcmp(de->d_name + nl - 4, ".tmp") != 0)
				continue;
			p = ecc_printf("%s/%s", snaps, de->d_name);
			error = ecc_rm_rf(p);
			free(p);
			p = NULL;
			if (error < 0)
				goto out;
		}
	} else if (errno != ENOENT) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot open %s", snaps);
		goto out;
	}
	p = ecc_printf("%s.tmp", o->conf_dir);
	if ((error = ecc_rm_rf(p)) < 0)
		goto out;
	error = ecc_apply_current(&cur, o->conf_dir);
	if (error == 0) {
		dir = apply_snap_dir(o->state_dir, cur);
		if (apply_tree_complete(dir, cur, o->lim))
			goto done;
	} else if (error != ECC_ENOTFOUND) {
		goto out;
	}
	ecc_error_clear();
	cur = -1;
	if ((error = ecc_apply_list(&revs, &nrevs, o->state_dir)) < 0)
		goto out;
	if (nrevs) {
		if ((error = apply_switch(o, revs[0], 0)) < 0)
			goto out;
		cur = revs[0];
	}
done:
	if (rev_out)
		*rev_out = cur;
	error = 0;
out:
	if (d)
		closedir(d);
	free(revs);
	free(dir);
	free(p);
	free(snaps);
	return error;
}

int
ecc_apply_rollback(const struct ecc_apply_opts *o, int64_t rev)
{
	char *dir = apply_snap_dir(o->state_dir, rev);
	int error;

	if (rev < 0 || !apply_tree_complete(dir, rev, o->lim))
		error = ecc_error_set(ECC_ENOTFOUND, "revision %" PRId64 " is "
		    "not kept in %s/snapshots", rev, o->state_dir);
	else
		error = apply_switch(o, rev, 0);
	free(dir);
	return error;
}
