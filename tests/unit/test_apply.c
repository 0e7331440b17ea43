/*
 * test_apply.c - unit tests for lib/apply.c: full snapshots and deltas
 * applied to a node's CONF_DIR, refused archives, failing check and
 * reload commands, local edits (carry, hold, mine, theirs), a simulated
 * crash at every step followed by recovery, pruning of kept trees,
 * local rollback and drift reports.
 */
#include "config.h"

#include "helpers.h"

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply.h"
#include "error.h"
#include "manifest.h"
#include "snapshot.h"
#include "util.h"

#define COMMIT "0123456789abcdef0123456789abcdef01234567"

/* A file of a revision's tree. */
struct tfile {
	const char *path;
	unsigned mode;
	const char *data;
};

static const struct tfile r1_files[] = {
	{ "default/default/a.conf", 0644, "alpha\n" },
	{ "global/ecelerity.conf", 0644, "a = 1\n" },
	{ "global/old.conf", 0644, "old\n" },
	{ "global/scripts/run.sh", 0755, "#!/bin/sh\nexit 0\n" },
};

/* r1 with ecelerity.conf changed, old.conf deleted, new.conf added. */
static const struct tfile r2_files[] = {
	{ "default/default/a.conf", 0644, "alpha\n" },
	{ "global/ecelerity.conf", 0644, "a = 2\n" },
	{ "global/new.conf", 0644, "new\n" },
	{ "global/scripts/run.sh", 0755, "#!/bin/sh\nexit 0\n" },
};

/* r2 with ecelerity.conf changed again. */
static const struct tfile r3_files[] = {
	{ "default/default/a.conf", 0644, "alpha\n" },
	{ "global/ecelerity.conf", 0644, "a = 3\n" },
	{ "global/new.conf", 0644, "new\n" },
	{ "global/scripts/run.sh", 0755, "#!/bin/sh\nexit 0\n" },
};

#define R1 r1_files, ECC_ARRAY_SIZE(r1_files)
#define R2 r2_files, ECC_ARRAY_SIZE(r2_files)
#define R3 r3_files, ECC_ARRAY_SIZE(r3_files)

static const struct tfile *
tfile_find(const struct tfile *f, size_t n, const char *path)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(f[i].path, path) == 0)
			return &f[i];
	return NULL;
}

/* The archive of revision `rev` whose complete file set is `f`: a full
 * snapshot when since < 0, else a delta from the tree `old` (only added
 * and changed files travel, removed ones are listed as deleted). */
static void *
tar_build(size_t *len, int64_t rev, const struct tfile *f, size_t n,
    int64_t since, const struct tfile *old, size_t nold)
{
	struct ecc_manifest *m = ecc_manifest_new("default", rev, COMMIT);
	struct ecc_snapshot_file *sf = ecc_calloc(n + 1, sizeof(*sf));
	const struct tfile *o;
	size_t i, ns = 0;
	void *tar = NULL;

	for (i = 0; i < n; i++) {
		ecc_manifest_add_file(m, f[i].path, f[i].mode, f[i].data,
		    strlen(f[i].data));
		o = since >= 0 ? tfile_find(old, nold, f[i].path) : NULL;
		if (o && o->mode == f[i].mode &&
		    strcmp(o->data, f[i].data) == 0)
			continue;
		sf[ns].path = f[i].path;
		sf[ns].mode = f[i].mode;
		sf[ns].data = f[i].data;
		sf[ns].len = strlen(f[i].data);
		ns++;
	}
	if (since >= 0) {
		m->since = since;
		for (i = 0; i < nold; i++)
			if (!tfile_find(f, n, old[i].path))
				ecc_manifest_add_deleted(m, old[i].path);
	}
	ecc_manifest_sort(m);
	assert_int_equal(ecc_snapshot_build(&tar, len, m, sf, ns), 0);
	free(sf);
	ecc_manifest_free(m);
	return tar;
}

static void *
tar_full(size_t *len, int64_t rev, const struct tfile *f, size_t n)
{
	return tar_build(len, rev, f, n, -1, NULL, 0);
}

/* Everything a test works in: a temporary directory holding the state
 * directory and CONF_DIR, and the options of ecc_apply(). */
struct fx {
	char *dir;
	char *state;
	char *conf;
	char *snaps;
	char *log;                 /* a file commands may append to */
	struct ecc_apply_opts o;
};

static struct fx *
fx_new(const char *dir, const char *name)
{
	struct fx *x = ecc_calloc(1, sizeof(*x));

	x->dir = ecc_printf("%s/%s", dir, name);
	assert_int_equal(ecc_mkdir_p(x->dir, 0755), 0);
	x->state = ecc_printf("%s/state", x->dir);
	x->conf = ecc_printf("%s/conf", x->dir);
	x->snaps = ecc_printf("%s/snapshots", x->state);
	x->log = ecc_printf("%s/commands.log", x->dir);
	x->o.state_dir = x->state;
	x->o.conf_dir = x->conf;
	x->o.keep_snapshots = 2;
	x->o.local = ECC_APPLY_LOCAL_CARRY;
	return x;
}

static void
fx_free(struct fx *x)
{
	if (!x)
		return;
	free(x->dir);
	free(x->state);
	free(x->conf);
	free(x->snaps);
	free(x->log);
	free(x);
}

/* Apply, expecting success with `status`. */
static void
fx_apply_ok(struct fx *x, const void *tar, size_t len,
    enum ecc_apply_status status)
{
	struct ecc_apply_result res;
	int rc = ecc_apply(&res, &x->o, tar, len);

	if (rc != 0 || res.status != status)
		print_error("rc %d, status %s, message: %s, output: %s\n", rc,
		    ecc_apply_status_name(res.status), ecc_error_last(),
		    res.output ? res.output : "(none)");
	assert_int_equal(rc, 0);
	assert_int_equal(res.status, status);
	ecc_apply_result_free(&res);
}

static void
fx_apply_full(struct fx *x, int64_t rev, const struct tfile *f, size_t n)
{
	size_t len;
	void *tar = tar_full(&len, rev, f, n);

	fx_apply_ok(x, tar, len, ECC_APPLY_OK);
	free(tar);
}

static char *
path_join(const char *dir, const char *rel)
{
	return ecc_printf("%s/%s", dir, rel);
}

static char *
file_get(const char *dir, const char *rel)
{
	char *p = path_join(dir, rel), *data = NULL;
	size_t len;

	assert_int_equal(ecc_file_read(&data, &len, p, 1 << 20), 0);
	free(p);
	return data;
}

/* A hand edit in the tree at `dir` (parents made). */
static void
file_put(const char *dir, const char *rel, const char *data, mode_t mode)
{
	char *p = path_join(dir, rel), *parent = ecc_path_dirname(p);

	assert_int_equal(ecc_mkdir_p(parent, 0755), 0);
	assert_int_equal(ecc_file_write_atomic(p, data, strlen(data), mode), 0);
	free(parent);
	free(p);
}

static void
file_rm(const char *dir, const char *rel)
{
	char *p = path_join(dir, rel);

	assert_int_equal(unlink(p), 0);
	free(p);
}

static int
file_exists(const char *dir, const char *rel)
{
	char *p = path_join(dir, rel);
	int ok = ecc_path_exists(p);

	free(p);
	return ok;
}

static int
strv_has(char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static void
assert_current(const struct fx *x, int64_t rev)
{
	int64_t cur = -7;

	assert_int_equal(ecc_apply_current(&cur, x->conf), 0);
	assert_int_equal(cur, rev);
}

static void
assert_no_drift(const char *dir)
{
	struct ecc_drift d;

	assert_int_equal(ecc_apply_drift(&d, dir, NULL), 0);
	if (d.nmodified || d.nadded || d.nremoved)
		print_error("%s: %zu modified (%s), %zu added (%s), %zu "
		    "removed (%s)\n", dir, d.nmodified,
		    d.nmodified ? d.modified[0] : "", d.nadded,
		    d.nadded ? d.added[0] : "", d.nremoved,
		    d.nremoved ? d.removed[0] : "");
	assert_int_equal(d.nmodified, 0);
	assert_int_equal(d.nadded, 0);
	assert_int_equal(d.nremoved, 0);
	ecc_drift_free(&d);
}

/* The tree at `dir` holds exactly the files `f` (content and mode) and
 * the manifest of revision `rev`, with no drift. */
static void
assert_tree(const char *dir, int64_t rev, const struct tfile *f, size_t n)
{
	struct ecc_manifest *m = NULL;
	struct stat st;
	char *data, *p;
	size_t i, len;

	for (i = 0; i < n; i++) {
		data = file_get(dir, f[i].path);
		assert_string_equal(data, f[i].data);
		free(data);
		p = path_join(dir, f[i].path);
		assert_int_equal(lstat(p, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(st.st_mode & 0777, f[i].mode);
		free(p);
	}
	data = file_get(dir, ECC_MANIFEST_PATH);
	len = strlen(data);
	assert_int_equal(ecc_manifest_parse(&m, data, len, NULL), 0);
	assert_int_equal(m->revision, rev);
	assert_int_equal(m->nfiles, n);
	ecc_manifest_free(m);
	free(data);
	/* nothing missing, nothing extra, every file as the manifest says */
	assert_no_drift(dir);
}

/* CONF_DIR is a symlink to STATE_DIR/snapshots/rREV holding `f`. */
static void
assert_conf(const struct fx *x, int64_t rev, const struct tfile *f,
    size_t n)
{
	char target[PATH_MAX], *want = ecc_printf("%s/r%d", x->snaps,
	    (int)rev);
	struct stat st;
	ssize_t len;

	assert_int_equal(lstat(x->conf, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	len = readlink(x->conf, target, sizeof(target) - 1);
	assert_true(len > 0);
	target[len] = '\0';
	assert_string_equal(target, want);
	free(want);
	assert_current(x, rev);
	assert_tree(x->conf, rev, f, n);
}

/* No snapshots/ *.tmp and no CONF_DIR.tmp. */
static void
assert_no_leftovers(const struct fx *x)
{
	char *p = ecc_printf("%s.tmp", x->conf);
	struct dirent *de;
	DIR *d;
	size_t nl;

	assert_false(ecc_path_exists(p));
	free(p);
	d = opendir(x->snaps);
	assert_non_null(d);
	while ((de = readdir(d))) {
		nl = strlen(de->d_name);
		if (nl >= 4 && strcmp(de->d_name + nl - 4, ".tmp") == 0)
			print_error("leftover %s/%s\n", x->snaps, de->d_name);
		assert_false(nl >= 4 && strcmp(de->d_name + nl - 4,
		    ".tmp") == 0);
	}
	closedir(d);
}

static void
assert_list(const struct fx *x, const int64_t *want, size_t nwant)
{
	int64_t *revs = NULL;
	size_t n = 99, i;

	assert_int_equal(ecc_apply_list(&revs, &n, x->state), 0);
	if (n != nwant) {
		print_error("kept:");
		for (i = 0; i < n; i++)
			print_error(" r%d", (int)revs[i]);
		print_error("\n");
	}
	assert_int_equal(n, nwant);
	for (i = 0; i < n; i++)
		assert_int_equal(revs[i], want[i]);
	free(revs);
}

static int
snap_exists(const struct fx *x, const char *name)
{
	return file_exists(x->snaps, name);
}

static void
test_apply__status_names(void **state)
{
	(void)state;
	assert_string_equal(ecc_apply_status_name(ECC_APPLY_OK), "ok");
	assert_string_equal(ecc_apply_status_name(ECC_APPLY_UNCHANGED),
	    "unchanged");
	assert_string_equal(ecc_apply_status_name(ECC_APPLY_CHECK_FAILED),
	    "check_failed");
	assert_string_equal(ecc_apply_status_name(ECC_APPLY_RELOAD_FAILED),
	    "reload_failed");
	assert_string_equal(ecc_apply_status_name(ECC_APPLY_HELD), "held");
	ecc_apply_result_free(NULL);
	ecc_drift_free(NULL);
}

static void
test_apply__full_snapshot(void **state)
{
	struct fx *x = fx_new(*state, "n");
	struct ecc_apply_result res;
	int64_t cur = 5, *revs = (int64_t *)1;
	size_t len, n = 9;
	void *tar = tar_full(&len, 1, R1);

	/* an empty state: no CONF_DIR, nothing kept */
	assert_int_equal(ecc_apply_current(&cur, x->conf), ECC_ENOTFOUND);
	assert_int_equal(cur, -1);
	assert_int_equal(ecc_apply_list(&revs, &n, x->state), 0);
	assert_null(revs);
	assert_int_equal(n, 0);

	assert_int_equal(ecc_apply(&res, &x->o, tar, len), 0);
	assert_int_equal(res.status, ECC_APPLY_OK);
	assert_int_equal(res.revision, 1);
	assert_int_equal(res.previous, -1);
	assert_null(res.output);
	assert_int_equal(res.ncarried, 0);
	assert_int_equal(res.nconflicts, 0);
	ecc_apply_result_free(&res);
	assert_conf(x, 1, R1);
	assert_no_leftovers(x);
	assert_list(x, (const int64_t[]){ 1 }, 1);

	/* the same revision again: nothing to do, nothing touched */
	assert_int_equal(ecc_apply(&res, &x->o, tar, len), 0);
	assert_int_equal(res.status, ECC_APPLY_UNCHANGED);
	assert_int_equal(res.revision, 1);
	assert_int_equal(res.previous, 1);
	ecc_apply_result_free(&res);
	assert_conf(x, 1, R1);
	assert_list(x, (const int64_t[]){ 1 }, 1);
	free(tar);

	/* a full snapshot of a later revision replaces the whole tree */
	tar = tar_full(&len, 2, R2);
	assert_int_equal(ecc_apply(&res, &x->o, tar, len), 0);
	assert_int_equal(res.status, ECC_APPLY_OK);
	assert_int_equal(res.revision, 2);
	assert_int_equal(res.previous, 1);
	ecc_apply_result_free(&res);
	assert_conf(x, 2, R2);
	assert_false(file_exists(x->conf, "global/old.conf"));
	assert_no_leftovers(x);
	assert_list(x, (const int64_t[]){ 2, 1 }, 2);
	free(tar);
	fx_free(x);
}

static void
test_apply__conf_dir_not_a_symlink(void **state)
{
	struct fx *x = fx_new(*state, "n");
	struct ecc_apply_result res;
	int64_t cur;
	size_t len;
	void *tar = tar_full(&len, 1, R1);

	/* a CONF_DIR the operator made by hand is never replaced */
	assert_int_equal(ecc_mkdir_p(x->conf, 0755), 0);
	file_put(x->conf, "mine.conf", "hand made\n", 0644);
	test_expect_error(ecc_apply_current(&cur, x->conf), ECC_EINVALID,
	    "current", "not a symlink", NULL);
	assert_true(ecc_apply(&res, &x->o, tar, len) < 0);
	ecc_apply_result_free(&res);
	assert_false(snap_exists(x, "r1"));
	assert_true(file_exists(x->conf, "mine.conf"));
	free(tar);
	fx_free(x);
}

static void
test_apply__delta(void **state)
{
	struct fx *x = fx_new(*state, "n");
	struct ecc_apply_result res;
	size_t len;
	void *tar;

	/* a delta on an empty state has nothing to apply to */
	tar = tar_build(&len, 2, R2, 1, R1);
	test_expect_error(ecc_apply(&res, &x->o, tar, len), ECC_ECONFLICT,
	    "delta 1->2 on nothing", "delta from revision 1", NULL);
	ecc_apply_result_free(&res);
	assert_false(ecc_path_exists(x->conf));

	fx_apply_full(x, 1, R1);

	/* a delta from 2 does not apply to 1: refused, r1 stays */
	free(tar);
	tar = tar_build(&len, 3, R3, 2, R2);
	test_expect_error(ecc_apply(&res, &x->o, tar, len), ECC_ECONFLICT,
	    "delta 2->3 on r1", "delta from revision 2", "revision 1");
	assert_int_equal(res.revision, 1);
	ecc_apply_result_free(&res);
	assert_conf(x, 1, R1);
	assert_false(snap_exists(x, "r3"));
	assert_false(snap_exists(x, "r3.tmp"));

	/* the delta 1->2 gives exactly r2: changed, added, deleted and
	 * unchanged files (the last ones taken from r1) */
	free(tar);
	tar = tar_build(&len, 2, R2, 1, R1);
	assert_int_equal(ecc_apply(&res, &x->o, tar, len), 0);
	assert_int_equal(res.status, ECC_APPLY_OK);
	assert_int_equal(res.revision, 2);
	assert_int_equal(res.previous, 1);
	ecc_apply_result_free(&res);
	assert_conf(x, 2, R2);
	assert_false(file_exists(x->conf, "global/old.conf"));
	assert_no_leftovers(x);
	/* r1 is still complete and untouched */
	{
		char *r1 = ecc_printf("%s/r1", x->snaps);

		assert_tree(r1, 1, R1);
		free(r1);
	}

	/* and now 2->3 applies */
	free(tar);
	tar = tar_build(&len, 3, R3, 2, R2);
	fx_apply_ok(x, tar, len, ECC_APPLY_OK);
	assert_conf(x, 3, R3);
	free(tar);
	fx_free(x);
}

static void
test_apply__delta_missing_file(void **state)
{
	struct fx *x = fx_new(*state, "n");
	struct ecc_manifest *m = ecc_manifest_new("default", 2, COMMIT);
	struct ecc_snapshot_file sf = { "global/new.conf", 0644, "new\n", 4 };
	struct ecc_apply_result res;
	size_t len, i;
	void *tar = NULL;

	fx_apply_full(x, 1, R1);
	/* a delta 1->2 that says ecelerity.conf changed but does not carry
	 * it: the tree cannot be completed */
	for (i = 0; i < ECC_ARRAY_SIZE(r2_files); i++)
		ecc_manifest_add_file(m, r2_files[i].path, r2_files[i].mode,
		    r2_files[i].data, strlen(r2_files[i].data));
	m->since = 1;
	ecc_manifest_add_deleted(m, "global/old.conf");
	ecc_manifest_sort(m);
	assert_int_equal(ecc_snapshot_build(&tar, &len, m, &sf, 1), 0);
	test_expect_error(ecc_apply(&res, &x->o, tar, len), ECC_EINVALID,
	    "delta without a changed file", "lacks",
	    "global/ecelerity.conf");
	ecc_apply_result_free(&res);
	assert_conf(x, 1, R1);
	assert_false(snap_exists(x, "r2"));
	assert_list(x, (const int64_t[]){ 1 }, 1);
	free(tar);
	ecc_manifest_free(m);
	fx_free(x);
}

static void
test_apply__corrupt_archive(void **state)
{
	struct fx *x = fx_new(*state, "n");
	struct ecc_apply_result res;
	size_t len;
	char *tar, *p;
	int rc;

	fx_apply_full(x, 1, R1);

	/* one byte of a file differs from the manifest's SHA-256 */
	tar = tar_full(&len, 2, R2);
	p = memmem(tar, len, "new\n", 4);
	assert_non_null(p);
	p[0] = 'm';
	test_expect_error(ecc_apply(&res, &x->o, tar, len), ECC_EINVALID,
	    "tampered r2", "SHA-256", NULL);
	assert_int_equal(res.revision, 1);
	ecc_apply_result_free(&res);
	assert_conf(x, 1, R1);
	assert_false(snap_exists(x, "r2"));
	assert_list(x, (const int64_t[]){ 1 }, 1);
	free(tar);

	/* a truncated archive, and bytes that are no archive at all */
	tar = tar_full(&len, 2, R2);
	rc = ecc_apply(&res, &x->o, tar, len / 2);
	ecc_apply_result_free(&res);
	assert_true(rc < 0);
	assert_conf(x, 1, R1);
	memset(tar, 'x', len);
	rc = ecc_apply(&res, &x->o, tar, len);
	ecc_apply_result_free(&res);
	assert_true(rc < 0);
	assert_conf(x, 1, R1);
	assert_false(snap_exists(x, "r2"));

	/* the intact archive still applies afterwards */
	free(tar);
	tar = tar_full(&len, 2, R2);
	fx_apply_ok(x, tar, len, ECC_APPLY_OK);
	assert_conf(x, 2, R2);
	assert_no_leftovers(x);
	free(tar);
	fx_free(x);
}

static void
test_apply__check_failed(void **state)
{
	struct fx *x = fx_new(*state, "n");
	struct ecc_apply_result res;
	char *want;
	size_t len;
	void *tar;

	fx_apply_full(x, 1, R1);
	/* the check runs in the new tree, with ECCONFIG_TREE/REVISION */
	x->o.check_command = "echo checking; cat global/ecelerity.conf; "
	    "test -f global/new.conf && echo has-new; "
	    "test -f global/old.conf || echo no-old; "
	    "echo \"tree=$ECCONFIG_TREE rev=$ECCONFIG_REVISION\"; "
	    "echo oops >&2; exit 3";
	tar = tar_build(&len, 2, R2, 1, R1);
	assert_int_equal(ecc_apply(&res, &x->o, tar, len), 0);
	assert_int_equal(res.status, ECC_APPLY_CHECK_FAILED);
	assert_int_equal(res.exit_status, 3);
	assert_int_equal(res.revision, 1);
	assert_int_equal(res.previous, 1);
	assert_non_null(res.output);
	assert_non_null(strstr(res.output, "checking\n"));
	assert_non_null(strstr(res.output, "a = 2\n"));
	assert_non_null(strstr(res.output, "has-new\n"));
	assert_non_null(strstr(res.output, "no-old\n"));
	want = ecc_printf("tree=%s/r2 rev=2\n", x->snaps);
	assert_non_null(strstr(res.output, want));
	free(want);
	assert_non_null(strstr(res.output, "oops\n"));
	ecc_apply_result_free(&res);
	/* the old tree stays, the rejected one is gone */
	assert_conf(x, 1, R1);
	assert_false(snap_exists(x, "r2"));
	assert_no_leftovers(x);
	assert_list(x, (const int64_t[]){ 1 }, 1);

	/* killed by a signal: 128 + the signal */
	x->o.check_command = "kill -9 $$";
	assert_int_equal(ecc_apply(&res, &x->o, tar, len), 0);
	assert_int_equal(res.status, ECC_APPLY_CHECK_FAILED);
	assert_int_equal(res.exit_status, 128 + 9);
	ecc_apply_result_free(&res);
	assert_conf(x, 1, R1);

	/* a passing check lets the switch happen; its output is kept */
	x->o.check_command = "test \"$(cat global/ecelerity.conf)\" = "
	    "'a = 2' && echo fine";
	assert_int_equal(ecc_apply(&res, &x->o, tar, len), 0);
	assert_int_equal(res.status, ECC_APPLY_OK);
	assert_int_equal(res.exit_status, 0);
	assert_non_null(res.output);
	assert_string_equal(res.output, "fine\n");
	ecc_apply_result_free(&res);
	assert_conf(x, 2, R2);
	free(tar);
	fx_free(x);
}

static void
test_apply__check_output_bounded(void **state)
{
	struct fx *x = fx_new(*state, "n");
	struct ecc_apply_result res;
	size_t len;
	void *tar = tar_full(&len, 1, R1);

	/* 200 KiB of output: the command is not blocked, the kept output
	 * is capped */
	x->o.check_command = "head -c 204800 /dev/zero | tr '\\0' x; exit 1";
	assert_int_equal(ecc_apply(&res, &x->o, tar, len), 0);
	assert_int_equal(res.status, ECC_APPLY_CHECK_FAILED);
	assert_int_equal(res.exit_status, 1);
	assert_non_null(res.output);
	assert_int_equal(strlen(res.output), ECC_APPLY_MAX_OUTPUT);
	assert_int_equal(res.revision, -1);
	ecc_apply_result_free(&res);
	assert_false(ecc_path_exists(x->conf));
	free(tar);
	fx_free(x);
}

static void
test_apply__reload_failed(void **state)
{
	struct fx *x = fx_new(*state, "n");
	struct ecc_apply_result res;
	char *cmd, *log;
	size_t len;
	void *tar;

	/* the reload logs each revision it runs on and fails on r2 */
	cmd = ecc_printf("echo \"$ECCONFIG_REVISION $(cat "
	    "global/ecelerity.conf)\" >> '%s'; "
	    "if [ \"$ECCONFIG_REVISION\" = 2 ]; then echo reload-broke; "
	    "exit 4; fi; echo reloaded", x->log);
	x->o.reload_command = cmd;
	tar = tar_full(&len, 1, R1);
	assert_int_equal(ecc_apply(&res, &x->o, tar, len), 0);
	assert_int_equal(res.status, ECC_APPLY_OK);
	assert_string_equal(res.output, "reloaded\n");
	ecc_apply_result_free(&res);
	free(tar);
	assert_conf(x, 1, R1);

	tar = tar_build(&len, 2, R2, 1, R1);
	assert_int_equal(ecc_apply(&res, &x->o, tar, len), 0);
	assert_int_equal(res.status, ECC_APPLY_RELOAD_FAILED);
	assert_int_equal(res.exit_status, 4);
	assert_int_equal(res.revision, 1);
	assert_int_equal(res.previous, 1);
	/* the failed reload's output, not the rerun's */
	assert_non_null(res.output);
	assert_string_equal(res.output, "reload-broke\n");
	ecc_apply_result_free(&res);
	/* switched back, and the reload rerun on the old tree */
	assert_conf(x, 1, R1);
	assert_no_leftovers(x);
	log = file_get(x->dir, "commands.log");
	assert_string_equal(log, "1 a = 1\n2 a = 2\n1 a = 1\n");
	free(log);
	free(tar);
	fx_free(x);
	free(cmd);
}

static void
test_apply__reload_failed_first(void **state)
{
	struct fx *x = fx_new(*state, "n");
	struct ecc_apply_result res;
	size_t len;
	void *tar = tar_full(&len, 1, R1);

	/* nothing to switch back to: CONF_DIR stays on the new tree */
	x->o.reload_command = "echo nope; exit 2";
	assert_int_equal(ecc_apply(&res, &x->o, tar, len), 0);
	assert_int_equal(res.status, ECC_APPLY_RELOAD_FAILED);
	assert_int_equal(res.exit_status, 2);
	assert_int_equal(res.revision, 1);
	assert_int_equal(res.previous, -1);
	assert_string_equal(res.output, "nope\n");
	ecc_apply_result_free(&res);
	assert_conf(x, 1, R1);
	free(tar);
	fx_free(x);
}

/* Hand edits on r1 none of which the update r1 -> r2 touches: a.conf
 * modified, local.conf added, run.sh removed. */
static void
edit_untouched(const struct fx *x)
{
	file_put(x->conf, "default/default/a.conf", "alpha, edited\n", 0644);
	file_put(x->conf, "global/local.conf", "mine\n", 0644);
	file_rm(x->conf, "global/scripts/run.sh");
}

static void
test_apply__local_carry(void **state)
{
	struct ecc_apply_result res;
	struct ecc_drift d;
	struct fx *x;
	char *data, name[16];
	size_t len;
	void *tar;
	int delta;

	/* the same with a delta and with a full snapshot */
	for (delta = 0; delta < 2; delta++) {
		snprintf(name, sizeof(name), "n%d", delta);
		x = fx_new(*state, name);
		fx_apply_full(x, 1, R1);
		edit_untouched(x);
		tar = delta ? tar_build(&len, 2, R2, 1, R1) :
		    tar_full(&len, 2, R2);
		assert_int_equal(ecc_apply(&res, &x->o, tar, len), 0);
		assert_int_equal(res.status, ECC_APPLY_OK);
		assert_int_equal(res.revision, 2);
		assert_int_equal(res.nconflicts, 0);
		assert_int_equal(res.ncarried, 3);
		assert_true(strv_has(res.carried, res.ncarried,
		    "default/default/a.conf"));
		assert_true(strv_has(res.carried, res.ncarried,
		    "global/local.conf"));
		assert_true(strv_has(res.carried, res.ncarried,
		    "global/scripts/run.sh"));
		ecc_apply_result_free(&res);
		assert_current(x, 2);
		/* the update's changes plus the edits */
		data = file_get(x->conf, "global/ecelerity.conf");
		assert_string_equal(data, "a = 2\n");
		free(data);
		data = file_get(x->conf, "global/new.conf");
		assert_string_equal(data, "new\n");
		free(data);
		assert_false(file_exists(x->conf, "global/old.conf"));
		data = file_get(x->conf, "default/default/a.conf");
		assert_string_equal(data, "alpha, edited\n");
		free(data);
		data = file_get(x->conf, "global/local.conf");
		assert_string_equal(data, "mine\n");
		free(data);
		assert_false(file_exists(x->conf, "global/scripts/run.sh"));
		/* they are still edits of r2 */
		assert_int_equal(ecc_apply_drift(&d, x->conf, NULL), 0);
		assert_int_equal(d.nmodified, 1);
		assert_string_equal(d.modified[0], "default/default/a.conf");
		assert_int_equal(d.nadded, 1);
		assert_string_equal(d.added[0], "global/local.conf");
		assert_int_equal(d.nremoved, 1);
		assert_string_equal(d.removed[0], "global/scripts/run.sh");
		ecc_drift_free(&d);
		/* r1 was edited in place and stays as it was left */
		assert_no_leftovers(x);
		free(tar);
		fx_free(x);
	}
}

static void
test_apply__local_held(void **state)
{
	struct fx *x = fx_new(*state, "n");
	struct ecc_apply_result res;
	char *data;
	size_t len;
	void *tar = tar_build(&len, 2, R2, 1, R1);

	fx_apply_full(x, 1, R1);
	/* edits overlapping r2's changes: ecelerity.conf changed on both
	 * sides, new.conf added on both sides; plus one that does not */
	file_put(x->conf, "global/ecelerity.conf", "a = local\n", 0644);
	file_put(x->conf, "global/new.conf", "my new\n", 0644);
	file_put(x->conf, "default/default/a.conf", "alpha, edited\n", 0644);
	assert_int_equal(ecc_apply(&res, &x->o, tar, len), 0);
	assert_int_equal(res.status, ECC_APPLY_HELD);
	assert_int_equal(res.revision, 1);
	assert_int_equal(res.previous, 1);
	assert_int_equal(res.nconflicts, 2);
	assert_true(strv_has(res.conflicts, res.nconflicts,
	    "global/ecelerity.conf"));
	assert_true(strv_has(res.conflicts, res.nconflicts,
	    "global/new.conf"));
	ecc_apply_result_free(&res);
	/* nothing switched, nothing built, the edits untouched */
	assert_current(x, 1);
	assert_false(snap_exists(x, "r2"));
	assert_false(snap_exists(x, "r2.tmp"));
	data = file_get(x->conf, "global/ecelerity.conf");
	assert_string_equal(data, "a = local\n");
	free(data);
	data = file_get(x->conf, "global/new.conf");
	assert_string_equal(data, "my new\n");
	free(data);
	free(tar);

	/* a file removed by hand that the update changes also holds it */
	fx_free(x);
	x = fx_new(*state, "m");
	fx_apply_full(x, 1, R1);
	file_rm(x->conf, "global/ecelerity.conf");
	tar = tar_full(&len, 2, R2);
	assert_int_equal(ecc_apply(&res, &x->o, tar, len), 0);
	assert_int_equal(res.status, ECC_APPLY_HELD);
	assert_int_equal(res.nconflicts, 1);
	assert_string_equal(res.conflicts[0], "global/ecelerity.conf");
	ecc_apply_result_free(&res);
	assert_current(x, 1);
	assert_false(file_exists(x->conf, "global/ecelerity.conf"));
	free(tar);
	fx_free(x);
}

static void
test_apply__local_mine(void **state)
{
	struct fx *x = fx_new(*state, "n");
	struct ecc_apply_result res;
	struct ecc_drift d;
	char *data;
	size_t len;
	void *tar = tar_build(&len, 2, R2, 1, R1);

	fx_apply_full(x, 1, R1);
	file_put(x->conf, "global/ecelerity.conf", "a = local\n", 0644);
	file_put(x->conf, "default/default/a.conf", "alpha, edited\n", 0644);
	x->o.local = ECC_APPLY_LOCAL_MINE;
	assert_int_equal(ecc_apply(&res, &x->o, tar, len), 0);
	assert_int_equal(res.status, ECC_APPLY_OK);
	assert_int_equal(res.revision, 2);
	assert_true(strv_has(res.carried, res.ncarried,
	    "global/ecelerity.conf"));
	assert_true(strv_has(res.carried, res.ncarried,
	    "default/default/a.conf"));
	assert_int_equal(res.ncarried, 2);
	ecc_apply_result_free(&res);
	assert_current(x, 2);
	/* the edit wins over the incoming change; the rest is r2 */
	data = file_get(x->conf, "global/ecelerity.conf");
	assert_string_equal(data, "a = local\n");
	free(data);
	data = file_get(x->conf, "default/default/a.conf");
	assert_string_equal(data, "alpha, edited\n");
	free(data);
	data = file_get(x->conf, "global/new.conf");
	assert_string_equal(data, "new\n");
	free(data);
	assert_false(file_exists(x->conf, "global/old.conf"));
	assert_int_equal(ecc_apply_drift(&d, x->conf, NULL), 0);
	assert_int_equal(d.nmodified, 2);
	assert_string_equal(d.modified[0], "default/default/a.conf");
	assert_string_equal(d.modified[1], "global/ecelerity.conf");
	assert_int_equal(d.nadded + d.nremoved, 0);
	ecc_drift_free(&d);
	free(tar);
	fx_free(x);
}

static void
test_apply__local_theirs(void **state)
{
	struct fx *x = fx_new(*state, "n");
	struct ecc_apply_result res;
	char *data;
	size_t len;
	void *tar;
	int rc;

	fx_apply_full(x, 1, R1);
	file_put(x->conf, "global/ecelerity.conf", "a = local\n", 0644);
	file_put(x->conf, "default/default/a.conf", "alpha, edited\n", 0644);
	x->o.local = ECC_APPLY_LOCAL_THEIRS;

	/* a delta cannot restore an untouched file edited in place (its
	 * original content is nowhere; the copy fails verification):
	 * refused, r1 stays as it was */
	tar = tar_build(&len, 2, R2, 1, R1);
	rc = ecc_apply(&res, &x->o, tar, len);
	ecc_apply_result_free(&res);
	if (rc >= 0)
		print_error("rc %d\n", rc);
	assert_true(rc < 0);
	assert_current(x, 1);
	assert_false(snap_exists(x, "r2"));
	data = file_get(x->conf, "default/default/a.conf");
	assert_string_equal(data, "alpha, edited\n");
	free(data);
	free(tar);

	edit_untouched(x);

	/* a full snapshot drops every edit: exactly r2 */
	tar = tar_full(&len, 2, R2);
	assert_int_equal(ecc_apply(&res, &x->o, tar, len), 0);
	assert_int_equal(res.status, ECC_APPLY_OK);
	assert_int_equal(res.ncarried, 0);
	assert_int_equal(res.nconflicts, 0);
	ecc_apply_result_free(&res);
	assert_conf(x, 2, R2);
	assert_false(file_exists(x->conf, "global/local.conf"));
	free(tar);
	fx_free(x);
}

/* The test hook: records the steps seen, stops at `stop`. */
struct hook_state {
	int stop;                  /* a step, or -1 */
	int seen[16];
	int nseen;
};

static int
hook_crash(enum ecc_apply_step step, void *payload)
{
	struct hook_state *h = payload;

	if (h->nseen < (int)ECC_ARRAY_SIZE(h->seen))
		h->seen[h->nseen++] = (int)step;
	return (int)step == h->stop ? 42 : 0;
}

static void
test_apply__hook_steps(void **state)
{
	struct fx *x = fx_new(*state, "n");
	struct hook_state h = { -1, { 0 }, 0 };
	size_t len;
	void *tar = tar_full(&len, 1, R1);
	int i;

	x->o.check_command = "true";
	x->o.reload_command = "true";
	x->o.hook = hook_crash;
	x->o.hook_payload = &h;
	fx_apply_ok(x, tar, len, ECC_APPLY_OK);
	/* every step, once, in order */
	assert_int_equal(h.nseen, ECC_APPLY_STEP_RELOADED + 1);
	for (i = 0; i < h.nseen; i++)
		assert_int_equal(h.seen[i], i);
	/* an unchanged apply reaches none of them */
	h.nseen = 0;
	fx_apply_ok(x, tar, len, ECC_APPLY_UNCHANGED);
	assert_int_equal(h.nseen, 0);
	free(tar);
	fx_free(x);
}

#define NSTEPS (ECC_APPLY_STEP_RELOADED + 1)

static void
test_apply__crash_recover(void **state)
{
	static const char *const step_names[] = { "built", "synced",
	    "renamed", "checked", "linked", "switched", "reloaded" };
	struct ecc_apply_result res;
	struct hook_state h;
	struct fx *x;
	int64_t rev;
	size_t len;
	char name[16], *p;
	void *tar;
	int i, step, delta, rc;

	/* every step, with a full snapshot then with a delta */
	for (i = 0; i < 2 * NSTEPS; i++) {
		delta = i / NSTEPS;
		step = i % NSTEPS;
		snprintf(name, sizeof(name), "%s-%d", step_names[step], delta);
		x = fx_new(*state, name);
		x->o.check_command = "true";
		x->o.reload_command = "true";
		x->o.keep_snapshots = 1;
		fx_apply_full(x, 1, R1);

		memset(&h, 0, sizeof(h));
		h.stop = step;
		x->o.hook = hook_crash;
		x->o.hook_payload = &h;
		tar = delta ? tar_build(&len, 2, R2, 1, R1) :
		    tar_full(&len, 2, R2);
		rc = ecc_apply(&res, &x->o, tar, len);
		ecc_apply_result_free(&res);
		if (rc != 42)
			print_error("step %s: rc %d, %s\n", name, rc,
			    ecc_error_last());
		assert_int_equal(rc, 42);
		assert_int_equal(h.nseen, step + 1);
		/* the crash left what a real one would */
		if (step <= ECC_APPLY_STEP_SYNCED)
			assert_true(snap_exists(x, "r2.tmp"));
		p = ecc_printf("%s.tmp", x->conf);
		assert_int_equal(ecc_path_exists(p),
		    step == ECC_APPLY_STEP_LINKED);
		free(p);

		/* restart */
		x->o.hook = NULL;
		rev = -7;
		assert_int_equal(ecc_apply_recover(&rev, &x->o), 0);
		if (step < ECC_APPLY_STEP_SWITCHED) {
			assert_int_equal(rev, 1);
			assert_conf(x, 1, R1);
		} else {
			assert_int_equal(rev, 2);
			assert_conf(x, 2, R2);
		}
		assert_no_leftovers(x);
		/* recovering again changes nothing */
		assert_int_equal(ecc_apply_recover(&rev, &x->o), 0);
		assert_current(x, rev);

		/* and the update can be (re)applied */
		fx_apply_ok(x, tar, len, rev == 2 ? ECC_APPLY_UNCHANGED :
		    ECC_APPLY_OK);
		assert_conf(x, 2, R2);
		assert_no_leftovers(x);
		free(tar);
		fx_free(x);
	}
}

static void
test_apply__recover_repoints(void **state)
{
	struct fx *x = fx_new(*state, "n");
	int64_t rev = 7;
	char *p;

	/* nothing at all: fine, no revision */
	assert_int_equal(ecc_apply_recover(&rev, &x->o), 0);
	assert_int_equal(rev, -1);
	assert_false(ecc_path_exists(x->conf));
	assert_int_equal(ecc_apply_recover(NULL, &x->o), 0);

	fx_apply_full(x, 1, R1);
	fx_apply_full(x, 2, R2);
	/* CONF_DIR lost: pointed at the newest complete tree */
	assert_int_equal(unlink(x->conf), 0);
	assert_int_equal(ecc_apply_recover(&rev, &x->o), 0);
	assert_int_equal(rev, 2);
	assert_conf(x, 2, R2);

	/* CONF_DIR on a tree without its manifest (incomplete): r1 */
	p = ecc_printf("%s/r2/" ECC_MANIFEST_PATH, x->snaps);
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_int_equal(ecc_apply_recover(&rev, &x->o), 0);
	assert_int_equal(rev, 1);
	assert_conf(x, 1, R1);

	/* CONF_DIR on a tree that is gone: none left after r1 goes too */
	p = ecc_printf("%s/r1", x->snaps);
	assert_int_equal(ecc_rm_rf(p), 0);
	free(p);
	assert_int_equal(ecc_apply_recover(&rev, &x->o), 0);
	assert_int_equal(rev, -1);
	fx_free(x);
}

/* Revision k of a small tree whose ecelerity.conf says "a = k". */
struct ktree {
	char data[32];
	struct tfile f[2];
};

static void
ktree_init(struct ktree *t, int k)
{
	snprintf(t->data, sizeof(t->data), "a = %d\n", k);
	t->f[0].path = "default/default/a.conf";
	t->f[0].mode = 0644;
	t->f[0].data = "alpha\n";
	t->f[1].path = "global/ecelerity.conf";
	t->f[1].mode = 0644;
	t->f[1].data = t->data;
}

static void
test_apply__prune_and_rollback(void **state)
{
	struct fx *x = fx_new(*state, "n");
	struct ktree t[8];
	int64_t want[8];
	size_t nwant, i;
	char *cmd;
	int k;

	/* commands that would leave a trace if a rollback ran them */
	cmd = ecc_printf("echo ran >> '%s'", x->log);
	x->o.check_command = cmd;
	x->o.reload_command = cmd;
	x->o.keep_snapshots = 2;
	for (k = 1; k <= 7; k++)
		ktree_init(&t[k], k);
	for (k = 1; k <= 6; k++) {
		fx_apply_full(x, k, t[k].f, 2);
		/* current, previous and keep_snapshots more, newest first */
		nwant = k < 4 ? (size_t)k : 4;
		for (i = 0; i < nwant; i++)
			want[i] = k - (int64_t)i;
		assert_list(x, want, nwant);
	}
	assert_conf(x, 6, t[6].f, 2);
	assert_false(snap_exists(x, "r2"));
	assert_false(snap_exists(x, "r1"));
	assert_int_equal(unlink(x->log), 0);

	/* rollback to a kept tree: instant, no command run */
	assert_int_equal(ecc_apply_rollback(&x->o, 4), 0);
	assert_conf(x, 4, t[4].f, 2);
	assert_false(ecc_path_exists(x->log));
	assert_no_leftovers(x);
	assert_list(x, (const int64_t[]){ 6, 5, 4, 3 }, 4);
	/* to a pruned, unknown or negative one: not found, nothing moves */
	test_expect_error(ecc_apply_rollback(&x->o, 2), ECC_ENOTFOUND,
	    "rollback to r2", "revision 2", "not kept");
	test_expect_error(ecc_apply_rollback(&x->o, 99), ECC_ENOTFOUND,
	    "rollback to r99", "revision 99", NULL);
	assert_int_equal(ecc_apply_rollback(&x->o, -1), ECC_ENOTFOUND);
	assert_current(x, 4);
	/* an incomplete tree is not rolled back to */
	{
		char *p = ecc_printf("%s/r3/" ECC_MANIFEST_PATH, x->snaps);

		assert_int_equal(unlink(p), 0);
		free(p);
	}
	assert_int_equal(ecc_apply_rollback(&x->o, 3), ECC_ENOTFOUND);
	assert_current(x, 4);
	assert_list(x, (const int64_t[]){ 6, 5, 4 }, 3);

	/* an apply from r4: the new current, the previous (r4) and the two
	 * newest others stay */
	fx_apply_full(x, 7, t[7].f, 2);
	assert_conf(x, 7, t[7].f, 2);
	assert_list(x, (const int64_t[]){ 7, 6, 5, 4 }, 4);
	/* rolling forward works the same way */
	assert_int_equal(ecc_apply_rollback(&x->o, 6), 0);
	assert_conf(x, 6, t[6].f, 2);
	free(cmd);
	fx_free(x);
}

static void
test_apply__prune_keep_one(void **state)
{
	struct fx *x = fx_new(*state, "n");
	struct ktree t[6];
	int k;

	x->o.keep_snapshots = 1;
	for (k = 1; k <= 5; k++) {
		ktree_init(&t[k], k);
		fx_apply_full(x, k, t[k].f, 2);
	}
	assert_list(x, (const int64_t[]){ 5, 4, 3 }, 3);
	fx_free(x);
}

static void
test_apply__list_ignores_junk(void **state)
{
	struct fx *x = fx_new(*state, "n");
	char *p;

	fx_apply_full(x, 1, R1);
	fx_apply_full(x, 10, R2);
	/* names that are not complete trees rN */
	p = ecc_printf("%s/r3.tmp", x->snaps);
	assert_int_equal(ecc_mkdir_p(p, 0755), 0);
	free(p);
	p = ecc_printf("%s/rfoo", x->snaps);
	assert_int_equal(ecc_mkdir_p(p, 0755), 0);
	free(p);
	p = ecc_printf("%s/r-4", x->snaps);
	assert_int_equal(ecc_mkdir_p(p, 0755), 0);
	free(p);
	p = ecc_printf("%s/r7", x->snaps);
	assert_int_equal(ecc_mkdir_p(p, 0755), 0);
	free(p);
	file_put(x->snaps, "notes", "x\n", 0644);
	/* numeric order, not by name: r10 before r1 */
	assert_list(x, (const int64_t[]){ 10, 1 }, 2);
	fx_free(x);
}

static void
test_apply__drift(void **state)
{
	struct fx *x = fx_new(*state, "n");
	struct ecc_drift d;
	char *p, *q;

	fx_apply_full(x, 1, R1);
	assert_no_drift(x->conf);
	/* content, mode, type; an added file; a removed one; a file under
	 * .ecconfig/ (not part of the tree) */
	file_put(x->conf, "default/default/a.conf", "alphA\n", 0644);
	p = path_join(x->conf, "global/scripts/run.sh");
	assert_int_equal(chmod(p, 0644), 0);
	free(p);
	p = path_join(x->conf, "global/ecelerity.conf");
	q = path_join(x->conf, "global/old.conf");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(q, p), 0);
	free(p);
	free(q);
	file_put(x->conf, "global/zz.conf", "extra\n", 0644);
	file_put(x->conf, "default/b/extra.conf", "extra\n", 0644);
	file_put(x->conf, ".ecconfig/local-notes", "ignored\n", 0644);
	assert_int_equal(ecc_apply_drift(&d, x->conf, NULL), 0);
	assert_int_equal(d.nmodified, 3);
	assert_string_equal(d.modified[0], "default/default/a.conf");
	assert_string_equal(d.modified[1], "global/ecelerity.conf");
	assert_string_equal(d.modified[2], "global/scripts/run.sh");
	assert_int_equal(d.nadded, 2);
	assert_string_equal(d.added[0], "default/b/extra.conf");
	assert_string_equal(d.added[1], "global/zz.conf");
	assert_int_equal(d.nremoved, 0);
	ecc_drift_free(&d);
	assert_null(d.modified);
	assert_int_equal(d.nmodified, 0);

	file_rm(x->conf, "global/old.conf");
	file_rm(x->conf, "default/default/a.conf");
	assert_int_equal(ecc_apply_drift(&d, x->conf, NULL), 0);
	assert_int_equal(d.nremoved, 2);
	assert_string_equal(d.removed[0], "default/default/a.conf");
	assert_string_equal(d.removed[1], "global/old.conf");
	/* the dangling symlink is still there, and still not a file */
	assert_int_equal(d.nmodified, 2);
	assert_string_equal(d.modified[0], "global/ecelerity.conf");
	assert_string_equal(d.modified[1], "global/scripts/run.sh");
	ecc_drift_free(&d);

	/* a tree without a manifest cannot be compared */
	assert_true(ecc_apply_drift(&d, x->dir, NULL) < 0);
	assert_int_equal(d.nmodified + d.nadded + d.nremoved, 0);
	fx_free(x);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, test_setup_tmpdir, \
	test_teardown_tmpdir)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply__status_names),
		T(test_apply__full_snapshot),
		T(test_apply__conf_dir_not_a_symlink),
		T(test_apply__delta),
		T(test_apply__delta_missing_file),
		T(test_apply__corrupt_archive),
		T(test_apply__check_failed),
		T(test_apply__check_output_bounded),
		T(test_apply__reload_failed),
		T(test_apply__reload_failed_first),
		T(test_apply__local_carry),
		T(test_apply__local_held),
		T(test_apply__local_mine),
		T(test_apply__local_theirs),
		T(test_apply__hook_steps),
		T(test_apply__crash_recover),
		T(test_apply__recover_repoints),
		T(test_apply__prune_and_rollback),
		T(test_apply__prune_keep_one),
		T(test_apply__list_ignores_junk),
		T(test_apply__drift),
	};
#undef T

	return cmocka_run_group_tests_name("apply", tests, NULL, NULL);
}
