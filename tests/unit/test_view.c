/*
 * test_view.c - unit tests of views (lib/view.c): path mapping both ways,
 * view listing and revisions, and full and delta archives extracted back
 * with the snapshot module.
 */
#include "config.h"

#include "helpers.h"

#include "error.h"
#include "manifest.h"
#include "path.h"
#include "repo.h"
#include "snapshot.h"
#include "util.h"
#include "view.h"

#define F644 0100644u
#define F755 0100755u

struct fixture {
	char *dir;
	ecc_repo *repo;
};

static int
setup(void **state)
{
	struct fixture *f = ecc_calloc(1, sizeof(*f));
	char *path;
	int rc;

	if (!(f->dir = test_tmpdir_new()))
		return -1;
	path = ecc_printf("%s/repo.git", f->dir);
	rc = ecc_repo_init(path) || ecc_repo_open(&f->repo, path);
	free(path);
	*state = f;
	return rc ? -1 : 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ecc_repo_free(f->repo);
	test_tmpdir_free(f->dir);
	free(f);
	return 0;
}

/* One commit on the head: `writes` is path, content, path, content...
 * (NULL-terminated); `deletes` NULL-terminated.  Returns the revision. */
static int64_t
commit(ecc_repo *repo, const char *const *writes, const char *const *deletes)
{
	struct ecc_changeset cs = { 0 };
	struct ecc_commit_result res;
	struct ecc_change *c;
	size_t n = 0, i;
	int64_t rev;

	for (i = 0; writes && writes[i]; i += 2)
		n++;
	for (i = 0; deletes && deletes[i]; i++)
		n++;
	cs.base = ecc_repo_head(repo);
	cs.author = "admin";
	cs.message = "test";
	cs.changes = ecc_calloc(n, sizeof(*cs.changes));
	for (i = 0; writes && writes[i]; i += 2) {
		c = &cs.changes[cs.nchanges++];
		c->path = (char *)writes[i];
		c->action = ECC_CHANGE_WRITE;
		c->mode = strstr(writes[i], ".sh") ? F755 : F644;
		c->data = (char *)writes[i + 1];
		c->len = strlen(writes[i + 1]);
	}
	for (i = 0; deletes && deletes[i]; i++) {
		c = &cs.changes[cs.nchanges++];
		c->path = (char *)deletes[i];
		c->action = ECC_CHANGE_DELETE;
	}
	assert_int_equal(ecc_repo_commit(&res, repo, &cs, NULL, NULL), 0);
	assert_false(res.unchanged);
	rev = res.revision;
	ecc_commit_result_clear(&res);
	free(cs.changes);
	return rev;
}

static void
assert_to_repo(const char *view, const char *vp, const char *want)
{
	char *out = NULL;

	assert_int_equal(ecc_view_to_repo(&out, view, vp), 0);
	assert_string_equal(out, want);
	free(out);
}

static void
assert_from_repo(const char *view, const char *rp, const char *want)
{
	char *out = NULL;

	assert_int_equal(ecc_view_from_repo(&out, view, rp), 0);
	assert_string_equal(out, want);
	free(out);
}

static void
assert_to_repo_invalid(const char *view, const char *vp)
{
	char *out = NULL;

	assert_int_equal(ecc_view_to_repo(&out, view, vp), ECC_EINVALID);
	assert_null(out);
}

static void
assert_from_repo_invalid(const char *view, const char *rp)
{
	char *out = NULL;

	assert_int_equal(ecc_view_from_repo(&out, view, rp), ECC_EINVALID);
	assert_null(out);
}

static void
test_view__mapping(void **state)
{
	(void)state;
	assert_to_repo("default", "global/a.conf", "global/a.conf");
	assert_to_repo("default", "default/ecelerity.conf",
	    "default/default/ecelerity.conf");
	assert_to_repo("default", "mta1/x/y.conf", "default/mta1/x/y.conf");
	assert_to_repo("east", "default/a", "east/default/a");
	assert_to_repo("all", "east/default/a", "east/default/a");
	assert_to_repo("all", "toplevel", "toplevel");

	assert_from_repo("default", "global/a.conf", "global/a.conf");
	assert_from_repo("default", "default/default/e.conf", "default/e.conf");
	assert_from_repo("default", "default/mta1/x/y.conf", "mta1/x/y.conf");
	assert_from_repo("east", "east/mta2/z", "mta2/z");
	assert_from_repo("all", "east/mta2/z", "east/mta2/z");

	/* Round trip. */
	{
		char *r = NULL, *v = NULL;

		assert_int_equal(ecc_view_to_repo(&r, "east", "n1/a/b"), 0);
		assert_int_equal(ecc_view_from_repo(&v, "east", r), 0);
		assert_string_equal(v, "n1/a/b");
		free(r);
		free(v);
	}

	/* A view path of one component; bad paths; bad view names. */
	assert_to_repo_invalid("default", "a.conf");
	assert_to_repo_invalid("default", "global");
	assert_to_repo_invalid("default", "../etc/passwd");
	assert_to_repo_invalid("default", "/abs/x");
	assert_to_repo_invalid("Default", "global/a");
	assert_to_repo_invalid("global", "global/a");
	assert_to_repo_invalid("two words", "global/a");
	assert_to_repo_invalid("all", "a/.git/config");

	/* Repository paths outside the view. */
	assert_from_repo_invalid("default", "east/default/a");
	assert_from_repo_invalid("default", "default/loose.conf");
	assert_from_repo_invalid("default", "default/global/x");
	assert_from_repo_invalid("default", "global");
	assert_from_repo_invalid("default", "defaultx/default/a");
	assert_from_repo_invalid("default", "globalx/a");
	assert_from_repo_invalid("default", "a/../global/x");
	assert_non_null(strstr(ecc_error_last(), "a/../global/x"));
}

static void
test_view__list(void **state)
{
	struct fixture *f = *state;
	struct ecc_entry_list l = { 0 };
	const char *w[] = {
		"global/a.conf", "a",
		"default/default/b.conf", "bb",
		"default/n1/run.sh", "#!",
		"default/loose.conf", "not in the view",
		"east/default/d.conf", "d",
		"zeta/default/z.conf", "z",
		NULL
	};

	commit(f->repo, w, NULL);
	assert_int_equal(ecc_view_list(&l, f->repo, "default", 1), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].path, "default/b.conf");
	assert_int_equal(l.v[0].size, 2);
	assert_int_equal(strlen(l.v[0].blob), 40);
	assert_string_equal(l.v[1].path, "global/a.conf");
	assert_string_equal(l.v[2].path, "n1/run.sh");
	assert_int_equal(l.v[2].mode, F755);
	ecc_entry_list_clear(&l);

	assert_int_equal(ecc_view_list(&l, f->repo, "east", 1), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].path, "default/d.conf");
	assert_string_equal(l.v[1].path, "global/a.conf");
	ecc_entry_list_clear(&l);

	assert_int_equal(ecc_view_list(&l, f->repo, "all", 1), 0);
	assert_int_equal(l.n, 6);
	assert_string_equal(l.v[0].path, "default/default/b.conf");
	ecc_entry_list_clear(&l);

	assert_int_equal(ecc_view_list(&l, f->repo, "nowhere", 1), 0);
	assert_int_equal(l.n, 1);       /* global/ only */
	ecc_entry_list_clear(&l);
	assert_int_equal(ecc_view_list(&l, f->repo, "default", 0), 0);
	assert_int_equal(l.n, 0);
	ecc_entry_list_clear(&l);
	assert_int_equal(ecc_view_list(&l, f->repo, "Bad", 1), ECC_EINVALID);
	assert_int_equal(ecc_view_list(&l, f->repo, "default", 2),
	    ECC_ENOTFOUND);
}

static void
test_view__revision(void **state)
{
	struct fixture *f = *state;
	const char *w1[] = { "global/a", "1", NULL };
	const char *w2[] = { "default/default/b", "1", NULL };
	const char *w3[] = { "east/default/c", "1", NULL };
	const char *w4[] = { "other/x", "1", NULL };
	int64_t r;

	commit(f->repo, w1, NULL);
	commit(f->repo, w2, NULL);
	commit(f->repo, w3, NULL);
	commit(f->repo, w4, NULL);
	assert_int_equal(ecc_view_revision(&r, f->repo, "default", 4), 0);
	assert_int_equal(r, 2);
	assert_int_equal(ecc_view_revision(&r, f->repo, "east", 4), 0);
	assert_int_equal(r, 3);
	assert_int_equal(ecc_view_revision(&r, f->repo, "east", 2), 0);
	assert_int_equal(r, 1);
	assert_int_equal(ecc_view_revision(&r, f->repo, "all", 4), 0);
	assert_int_equal(r, 4);
	assert_int_equal(ecc_view_revision(&r, f->repo, "default", 0), 0);
	assert_int_equal(r, 0);
	assert_int_equal(ecc_view_revision(&r, f->repo, "BAD", 4),
	    ECC_EINVALID);
	assert_int_equal(ecc_view_revision(&r, f->repo, "default", 5),
	    ECC_ENOTFOUND);
}

/* Extract `tar` into a fresh directory under the fixture; returns it. */
static char *
extract(struct fixture *f, const char *name, const void *tar, size_t len,
    struct ecc_manifest **m, char ***names, size_t *nnames)
{
	char *dir = ecc_printf("%s/%s", f->dir, name);

	assert_int_equal(ecc_mkdir_p(dir, 0755), 0);
	assert_int_equal(ecc_snapshot_extract(m, names, nnames, tar, len, dir,
	    NULL), 0);
	return dir;
}

static void
assert_extracted(const char *dir, const char *path, const char *want)
{
	char *p = ecc_printf("%s/%s", dir, path), *text = NULL;

	assert_int_equal(ecc_file_read(&text, NULL, p, 1 << 20), 0);
	assert_string_equal(text, want);
	free(text);
	free(p);
}

static void
free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void
test_view__archive_full(void **state)
{
	struct fixture *f = *state;
	const char *w[] = {
		"global/a.conf", "alpha\n",
		"default/default/b.conf", "bravo\n",
		"default/n1/run.sh", "#!/bin/sh\n",
		"default/loose.conf", "hidden",
		"east/default/e.conf", "echo\n",
		NULL
	};
	struct ecc_manifest *m = NULL;
	const struct ecc_manifest_file *mf;
	char **names = NULL;
	size_t nnames = 0, len = 0;
	void *tar = NULL;
	char *dir, *p;
	char id[ECC_OID_HEX_LEN], sha[ECC_SHA256_HEX_LEN];

	commit(f->repo, w, NULL);
	assert_int_equal(ecc_view_archive(&tar, &len, f->repo, "default", -1, 1,
	    NULL), 0);
	assert_non_null(tar);
	dir = extract(f, "full", tar, len, &m, &names, &nnames);

	assert_string_equal(m->view, "default");
	assert_int_equal(m->revision, 1);
	assert_int_equal(m->since, -1);
	assert_int_equal(ecc_repo_commit_id(id, f->repo, 1), 0);
	assert_string_equal(m->commit, id);
	assert_int_equal(m->nfiles, 3);
	assert_int_equal(m->ndeleted, 0);
	assert_string_equal(m->files[0].path, "default/b.conf");
	assert_string_equal(m->files[1].path, "global/a.conf");
	assert_string_equal(m->files[2].path, "n1/run.sh");
	assert_int_equal(m->files[2].mode, 0755);
	assert_int_equal(m->files[1].mode, 0644);
	mf = ecc_manifest_find(m, "global/a.conf");
	assert_non_null(mf);
	assert_int_equal(mf->size, 6);
	ecc_sha256_hex(sha, "alpha\n", 6);
	assert_string_equal(mf->sha256, sha);
	assert_int_equal(nnames, 3);

	assert_extracted(dir, "global/a.conf", "alpha\n");
	assert_extracted(dir, "default/b.conf", "bravo\n");
	assert_extracted(dir, "n1/run.sh", "#!/bin/sh\n");
	p = ecc_printf("%s/loose.conf", dir);
	assert_false(ecc_path_exists(p));
	free(p);
	p = ecc_printf("%s/default/e.conf", dir);
	assert_false(ecc_path_exists(p));
	free(p);

	free_names(names, nnames);
	ecc_manifest_free(m);
	free(tar);
	free(dir);

	/* The "all" view is the repository as it is. */
	assert_int_equal(ecc_view_archive(&tar, &len, f->repo, "all", -1, 1,
	    NULL), 0);
	assert_int_equal(ecc_snapshot_read_manifest(&m, tar, len, NULL), 0);
	assert_int_equal(m->nfiles, 5);
	assert_non_null(ecc_manifest_find(m, "east/default/e.conf"));
	ecc_manifest_free(m);
	free(tar);
	tar = NULL;

	/* An empty view at r0 is a valid archive too. */
	assert_int_equal(ecc_view_archive(&tar, &len, f->repo, "default", -1, 0,
	    NULL), 0);
	assert_int_equal(ecc_snapshot_read_manifest(&m, tar, len, NULL), 0);
	assert_int_equal(m->nfiles, 0);
	assert_int_equal(m->revision, 0);
	ecc_manifest_free(m);
	free(tar);
	tar = NULL;

	assert_int_equal(ecc_view_archive(&tar, &len, f->repo, "default", -1, 2,
	    NULL), ECC_ENOTFOUND);
	assert_int_equal(ecc_view_archive(&tar, &len, f->repo, "default", 1, 0,
	    NULL), ECC_EINVALID);
	assert_int_equal(ecc_view_archive(&tar, &len, f->repo, "No", -1, 1,
	    NULL), ECC_EINVALID);
	assert_null(tar);
}

static void
test_view__archive_delta(void **state)
{
	struct fixture *f = *state;
	const char *w1[] = {
		"global/a.conf", "alpha\n",
		"global/keep.conf", "keep\n",
		"default/default/b.conf", "bravo\n",
		"default/n1/old.conf", "old\n",
		"east/default/e.conf", "echo\n",
		NULL
	};
	const char *w2[] = {
		"global/a.conf", "alpha 2\n",
		"default/n1/new.conf", "new\n",
		"east/default/e.conf", "echo 2\n",
		"default/loose.conf", "hidden",
		NULL
	};
	const char *d2[] = { "default/n1/old.conf", "east/default/gone", NULL };
	const char *w2pre[] = { "east/default/gone", "x", NULL };
	/* r1: w1; r2: east only; r3: w2 and d2 */
	struct ecc_manifest *m = NULL, *full = NULL;
	char **names = NULL;
	size_t nnames = 0, len = 0, i;
	void *tar = NULL;
	char *dir, *p;

	commit(f->repo, w1, NULL);             /* r1 */
	commit(f->repo, w2pre, NULL);          /* r2 */
	commit(f->repo, w2, d2);               /* r3 */

	/* The delta from r1 (extracted into a fresh directory, as a node
	 * builds each new tree). */
	assert_int_equal(ecc_view_archive(&tar, &len, f->repo, "default", 1, 3,
	    NULL), 0);
	dir = extract(f, "delta", tar, len, &m, &names, &nnames);
	free(tar);
	tar = NULL;

	assert_int_equal(m->since, 1);
	assert_int_equal(m->revision, 3);
	/* The complete file set at r3... */
	assert_int_equal(m->nfiles, 4);
	assert_string_equal(m->files[0].path, "default/b.conf");
	assert_string_equal(m->files[1].path, "global/a.conf");
	assert_string_equal(m->files[2].path, "global/keep.conf");
	assert_string_equal(m->files[3].path, "n1/new.conf");
	/* ...the deletions in the view (not east's)... */
	assert_int_equal(m->ndeleted, 1);
	assert_string_equal(m->deleted[0], "n1/old.conf");
	/* ...and only the changed files in the tar. */
	assert_int_equal(nnames, 2);
	for (i = 0; i < nnames; i++)
		assert_true(strcmp(names[i], "global/a.conf") == 0 ||
		    strcmp(names[i], "n1/new.conf") == 0);
	assert_extracted(dir, "global/a.conf", "alpha 2\n");
	assert_extracted(dir, "n1/new.conf", "new\n");
	p = ecc_printf("%s/global/keep.conf", dir);
	assert_false(ecc_path_exists(p));     /* unchanged: not sent */
	free(p);

	/* The delta's manifest equals the full snapshot's at r3. */
	assert_int_equal(ecc_view_archive(&tar, &len, f->repo, "default", -1, 3,
	    NULL), 0);
	assert_int_equal(ecc_snapshot_read_manifest(&full, tar, len, NULL), 0);
	assert_int_equal(full->nfiles, m->nfiles);
	for (i = 0; i < m->nfiles; i++) {
		assert_string_equal(full->files[i].path, m->files[i].path);
		assert_string_equal(full->files[i].sha256, m->files[i].sha256);
		assert_int_equal(full->files[i].mode, m->files[i].mode);
	}
	free(tar);
	tar = NULL;
	free_names(names, nnames);
	ecc_manifest_free(m);
	ecc_manifest_free(full);

	/* A delta must start below its revision. */
	assert_int_equal(ecc_view_archive(&tar, &len, f->repo, "default", 3, 3,
	    NULL), ECC_EINVALID);
	assert_null(tar);

	/* A delta of a view that did not change since (r2 touched east). */
	assert_int_equal(ecc_view_archive(&tar, &len, f->repo, "default", 1, 2,
	    NULL), 0);
	p = ecc_printf("%s/empty", f->dir);
	assert_int_equal(ecc_mkdir_p(p, 0755), 0);
	assert_int_equal(ecc_snapshot_extract(&m, &names, &nnames, tar, len,
	    p, NULL), 0);
	assert_int_equal(nnames, 0);
	assert_int_equal(m->ndeleted, 0);
	assert_int_equal(m->nfiles, 4);
	free_names(names, nnames);
	ecc_manifest_free(m);
	free(tar);
	free(p);

	/* A file over the size limit refuses the archive. */
	{
		struct ecc_limits lim;

		ecc_limits_default(&lim);
		lim.max_file_size = 4;
		tar = NULL;
		assert_int_equal(ecc_view_archive(&tar, &len, f->repo,
		    "default", -1, 3, &lim), ECC_ETOOBIG);
		assert_null(tar);
	}
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_view__mapping),
		cmocka_unit_test_setup_teardown(test_view__list, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_view__revision, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_view__archive_full, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_view__archive_delta, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
