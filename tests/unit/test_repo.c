/*
 * test_repo.c - unit tests of the revision store (lib/repo.c): init and
 * open, commits and their conflict rules, rollback, history, diffs, and
 * the last-change cache.
 */
#include "config.h"

#include <sys/stat.h>

#include "helpers.h"

#include "error.h"
#include "repo.h"
#include "util.h"

#define EMPTY_TREE "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
#define F644 0100644u
#define F755 0100755u

struct fixture {
	char *dir;
	char *path;
	ecc_repo *repo;
};

static int
setup(void **state)
{
	struct fixture *f = ecc_calloc(1, sizeof(*f));

	f->dir = test_tmpdir_new();
	if (!f->dir)
		return -1;
	f->path = ecc_printf("%s/repo.git", f->dir);
	if (ecc_repo_init(f->path) != 0 ||
	    ecc_repo_open(&f->repo, f->path) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ecc_repo_free(f->repo);
	test_tmpdir_free(f->dir);
	free(f->path);
	free(f);
	return 0;
}

/* A small change-set builder, independent of changeset.c. */
static struct ecc_changeset *
cs_new(int64_t base)
{
	struct ecc_changeset *cs = ecc_calloc(1, sizeof(*cs));

	cs->base = base;
	cs->author = ecc_strdup("alice");
	cs->message = ecc_strdup("test change");
	return cs;
}

static struct ecc_change *
cs_push(struct ecc_changeset *cs, const char *path,
    enum ecc_change_action action)
{
	struct ecc_change *c;

	cs->changes = ecc_realloc(cs->changes,
	    (cs->nchanges + 1) * sizeof(*cs->changes));
	c = &cs->changes[cs->nchanges++];
	memset(c, 0, sizeof(*c));
	c->path = ecc_strdup(path);
	c->action = action;
	return c;
}

static void
cs_write(struct ecc_changeset *cs, const char *path, const char *text,
    unsigned mode)
{
	struct ecc_change *c = cs_push(cs, path, ECC_CHANGE_WRITE);

	c->data = ecc_strdup(text);
	c->len = strlen(text);
	c->mode = mode;
}

static void
cs_delete(struct ecc_changeset *cs, const char *path)
{
	cs_push(cs, path, ECC_CHANGE_DELETE);
}

static void
cs_free(struct ecc_changeset *cs)
{
	size_t i;

	for (i = 0; i < cs->nchanges; i++) {
		free(cs->changes[i].path);
		free(cs->changes[i].data);
	}
	free(cs->changes);
	free(cs->author);
	free(cs->message);
	free(cs);
}

/* Commit and return the result code; *res is cleared first. */
static int
commit(struct ecc_commit_result *res, ecc_repo *repo,
    struct ecc_changeset *cs)
{
	int rc = ecc_repo_commit(res, repo, cs, NULL, NULL);

	cs_free(cs);
	return rc;
}

/* Commit one file write, asserting success; returns the new revision. */
static int64_t
put(ecc_repo *repo, const char *path, const char *text)
{
	struct ecc_commit_result res;
	struct ecc_changeset *cs = cs_new(ecc_repo_head(repo));
	int64_t rev;

	cs_write(cs, path, text, F644);
	assert_int_equal(commit(&res, repo, cs), 0);
	assert_false(res.unchanged);
	rev = res.revision;
	ecc_commit_result_clear(&res);
	return rev;
}

static void
assert_file(ecc_repo *repo, int64_t rev, const char *path, const char *want)
{
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(ecc_repo_read(&buf, &len, repo, rev, path, 1 << 20),
	    0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(buf, want);
	free(buf);
}

static void
assert_absent(ecc_repo *repo, int64_t rev, const char *path)
{
	char *buf = NULL;

	assert_int_equal(ecc_repo_read(&buf, NULL, repo, rev, path, 1 << 20),
	    ECC_ENOTFOUND);
	assert_null(buf);
}

static void
test_repo__init_open(void **state)
{
	struct fixture *f = *state;
	struct ecc_revinfo ri;
	ecc_repo *other = NULL;
	char *missing = ecc_printf("%s/nothing", f->dir);
	char id[ECC_OID_HEX_LEN];

	assert_int_equal(ecc_repo_head(f->repo), 0);
	assert_string_equal(ecc_repo_path(f->repo), f->path);
	assert_int_equal(ecc_repo_init(f->path), ECC_EEXISTS);
	assert_non_null(strstr(ecc_error_last(), f->path));
	assert_int_equal(ecc_repo_open(&other, missing), ECC_ENOTFOUND);
	assert_null(other);

	assert_int_equal(ecc_repo_revinfo(&ri, f->repo, 0), 0);
	assert_int_equal(ri.revision, 0);
	assert_string_equal(ri.author, "ecconfig");
	assert_string_equal(ri.message, "r0: empty repository");
	assert_true(ri.time > 0);
	assert_int_equal(ecc_repo_commit_id(id, f->repo, 0), 0);
	assert_string_equal(id, ri.commit);
	assert_int_equal(strlen(id), 40);
	ecc_revinfo_clear(&ri);
	assert_int_equal(ecc_repo_revinfo(&ri, f->repo, 1), ECC_ENOTFOUND);
	assert_int_equal(ecc_repo_commit_id(id, f->repo, -1), ECC_ENOTFOUND);
	/* HEAD names the branch the store uses. */
	{
		char *head = ecc_printf("%s/HEAD", f->path), *text = NULL;

		assert_int_equal(ecc_file_read(&text, NULL, head, 4096), 0);
		assert_string_equal(text, "ref: refs/heads/main\n");
		free(text);
		free(head);
	}
	free(missing);
}

static void
test_repo__r0_empty(void **state)
{
	struct fixture *f = *state;
	struct ecc_entry_list l = { 0 };
	char id[ECC_OID_HEX_LEN];

	assert_int_equal(ecc_repo_tree_id(id, f->repo, 0), 0);
	assert_string_equal(id, EMPTY_TREE);
	assert_int_equal(ecc_repo_list(&l, f->repo, 0, NULL), 0);
	assert_int_equal(l.n, 0);
	ecc_entry_list_clear(&l);
	assert_int_equal(ecc_repo_list(&l, f->repo, 0, "global"), 0);
	assert_int_equal(l.n, 0);
	ecc_entry_list_clear(&l);
	assert_absent(f->repo, 0, "global/a.conf");
}

static void
test_repo__commit_read_list(void **state)
{
	struct fixture *f = *state;
	struct ecc_commit_result res;
	struct ecc_entry_list l = { 0 };
	struct ecc_changeset *cs = cs_new(0);
	struct ecc_revinfo ri;
	char *buf = NULL;
	char id[ECC_OID_HEX_LEN];

	cs_write(cs, "global/b.conf", "bee\n", F644);
	cs_write(cs, "global/a.conf", "a\n", F644);
	cs_write(cs, "default/default/run.sh", "#!/bin/sh\n", F755);
	cs_write(cs, "global.txt", "", F644);
	cs_write(cs, "global/sub/deep.conf", "deep", F644);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	assert_int_equal(res.revision, 1);
	assert_false(res.unchanged);
	assert_int_equal(ecc_repo_head(f->repo), 1);
	assert_int_equal(ecc_repo_commit_id(id, f->repo, 1), 0);
	assert_string_equal(id, res.commit);
	ecc_commit_result_clear(&res);

	assert_file(f->repo, 1, "global/a.conf", "a\n");
	assert_file(f->repo, 1, "global.txt", "");
	assert_absent(f->repo, 0, "global/a.conf");
	assert_absent(f->repo, 1, "global");  /* a directory is not a file */
	assert_int_equal(ecc_repo_read(&buf, NULL, f->repo, 1, "global/b.conf",
	    3), ECC_ETOOBIG);
	assert_int_equal(ecc_repo_read(&buf, NULL, f->repo, 1, "../etc/passwd",
	    100), ECC_EINVALID);
	assert_int_equal(ecc_repo_read(&buf, NULL, f->repo, 2, "global/a.conf",
	    100), ECC_ENOTFOUND);

	assert_int_equal(ecc_repo_revinfo(&ri, f->repo, 1), 0);
	assert_string_equal(ri.author, "alice");
	assert_string_equal(ri.message, "test change");
	ecc_revinfo_clear(&ri);

	assert_int_equal(ecc_repo_list(&l, f->repo, 1, ""), 0);
	assert_int_equal(l.n, 5);
	/* strcmp order, not git's tree order ("global.txt" < "global/") */
	assert_string_equal(l.v[0].path, "default/default/run.sh");
	assert_int_equal(l.v[0].mode, F755);
	assert_int_equal(l.v[0].size, 10);
	assert_string_equal(l.v[1].path, "global.txt");
	assert_int_equal(l.v[1].size, 0);
	assert_string_equal(l.v[2].path, "global/a.conf");
	assert_int_equal(l.v[2].mode, F644);
	assert_int_equal(l.v[2].size, 2);
	assert_int_equal(strlen(l.v[2].blob), 40);
	assert_string_equal(l.v[3].path, "global/b.conf");
	assert_string_equal(l.v[4].path, "global/sub/deep.conf");
	ecc_entry_list_clear(&l);

	assert_int_equal(ecc_repo_list(&l, f->repo, 1, "global"), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].path, "global/a.conf");
	assert_string_equal(l.v[2].path, "global/sub/deep.conf");
	ecc_entry_list_clear(&l);
	assert_int_equal(ecc_repo_list(&l, f->repo, 1, "global/a.conf"), 0);
	assert_int_equal(l.n, 1);
	ecc_entry_list_clear(&l);
	assert_int_equal(ecc_repo_list(&l, f->repo, 1, "nothing/here"), 0);
	assert_int_equal(l.n, 0);
	ecc_entry_list_clear(&l);
	assert_int_equal(ecc_repo_list(&l, f->repo, 1, "a/../b"), ECC_EINVALID);
	assert_int_equal(ecc_repo_list(&l, f->repo, 7, NULL), ECC_ENOTFOUND);

	/* Tree-based access, as the validation callback uses it. */
	assert_int_equal(ecc_repo_tree_id(id, f->repo, 1), 0);
	assert_int_equal(ecc_repo_tree_list(&l, f->repo, id, "default"), 0);
	assert_int_equal(l.n, 1);
	ecc_entry_list_clear(&l);
	assert_int_equal(ecc_repo_tree_read(&buf, NULL, f->repo, id,
	    "global/sub/deep.conf", 100), 0);
	assert_string_equal(buf, "deep");
	free(buf);
	assert_int_equal(ecc_repo_tree_read(&buf, NULL, f->repo, "xyz",
	    "global/a.conf", 100), ECC_EINVALID);
	assert_int_equal(ecc_repo_tree_list(&l, f->repo,
	    "1111111111111111111111111111111111111111", NULL), ECC_ENOTFOUND);
}

static void
test_repo__invalid_changes(void **state)
{
	struct fixture *f = *state;
	struct ecc_commit_result res;
	struct ecc_changeset *cs;

	cs = cs_new(0);
	cs_write(cs, "global/../x", "x", F644);
	assert_int_equal(commit(&res, f->repo, cs), ECC_EINVALID);
	cs = cs_new(0);
	cs_write(cs, "global/x", "x", 0644);
	assert_int_equal(commit(&res, f->repo, cs), ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "global/x"));
	cs = cs_new(0);
	cs_write(cs, "global/x", "x", 0120000);
	assert_int_equal(commit(&res, f->repo, cs), ECC_EINVALID);
	cs = cs_new(5);
	cs_write(cs, "global/x", "x", F644);
	assert_int_equal(commit(&res, f->repo, cs), ECC_EINVALID);
	cs = cs_new(-1);
	cs_write(cs, "global/x", "x", F644);
	assert_int_equal(commit(&res, f->repo, cs), ECC_EINVALID);
	cs = cs_new(0);
	cs_write(cs, "global/x", "x", F644);
	cs_write(cs, "global/x", "y", F644);
	assert_int_equal(commit(&res, f->repo, cs), ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "twice"));
	assert_int_equal(ecc_repo_head(f->repo), 0);
}

static void
test_repo__conflicts(void **state)
{
	struct fixture *f = *state;
	struct ecc_commit_result res;
	struct ecc_changeset *cs;

	cs = cs_new(0);
	cs_write(cs, "global/a", "a1", F644);
	cs_write(cs, "global/b", "b1", F644);
	cs_write(cs, "global/c", "c1", F644);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	ecc_commit_result_clear(&res);
	/* r2: someone else changes a and deletes c */
	cs = cs_new(1);
	cs_write(cs, "global/a", "a2", F644);
	cs_delete(cs, "global/c");
	assert_int_equal(commit(&res, f->repo, cs), 0);
	assert_int_equal(res.revision, 2);
	ecc_commit_result_clear(&res);

	/* Overlapping: a (content), c (existence), and a new path d that
	 * did not move: only a and c conflict, nothing is written. */
	cs = cs_new(1);
	cs_write(cs, "global/c", "c-mine", F644);
	cs_write(cs, "global/a", "a-mine", F644);
	cs_write(cs, "global/d", "d", F644);
	assert_int_equal(commit(&res, f->repo, cs), ECC_ECONFLICT);
	assert_int_equal(res.nconflicts, 2);
	assert_string_equal(res.conflicts[0], "global/a");
	assert_string_equal(res.conflicts[1], "global/c");
	ecc_commit_result_clear(&res);
	assert_int_equal(ecc_repo_head(f->repo), 2);
	assert_absent(f->repo, 2, "global/d");

	/* Not overlapping: b did not change since r1, lands on r2. */
	cs = cs_new(1);
	cs_write(cs, "global/b", "b-mine", F644);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	assert_int_equal(res.revision, 3);
	assert_int_equal(res.nconflicts, 0);
	ecc_commit_result_clear(&res);
	assert_file(f->repo, 3, "global/a", "a2");
	assert_file(f->repo, 3, "global/b", "b-mine");
	assert_absent(f->repo, 3, "global/c");

	/* Mode-only change since the base is a conflict too. */
	cs = cs_new(3);
	cs_write(cs, "global/a", "a2", F755);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	ecc_commit_result_clear(&res);
	cs = cs_new(3);
	cs_write(cs, "global/a", "a3", F644);
	assert_int_equal(commit(&res, f->repo, cs), ECC_ECONFLICT);
	assert_int_equal(res.nconflicts, 1);
	ecc_commit_result_clear(&res);
}

static void
test_repo__delete(void **state)
{
	struct fixture *f = *state;
	struct ecc_commit_result res;
	struct ecc_changeset *cs;
	struct ecc_entry_list l = { 0 };

	put(f->repo, "global/x/only", "1");
	put(f->repo, "global/keep", "k");
	cs = cs_new(2);
	cs_delete(cs, "global/missing");
	assert_int_equal(commit(&res, f->repo, cs), ECC_ENOTFOUND);
	assert_non_null(strstr(ecc_error_last(), "global/missing"));
	cs = cs_new(2);
	cs_delete(cs, "global/x");
	assert_int_equal(commit(&res, f->repo, cs), ECC_EINVALID);
	assert_int_equal(ecc_repo_head(f->repo), 2);

	/* Deleting the last file of a directory removes the directory. */
	cs = cs_new(2);
	cs_delete(cs, "global/x/only");
	assert_int_equal(commit(&res, f->repo, cs), 0);
	assert_int_equal(res.revision, 3);
	ecc_commit_result_clear(&res);
	assert_int_equal(ecc_repo_list(&l, f->repo, 3, NULL), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].path, "global/keep");
	ecc_entry_list_clear(&l);
	/* ... so the path can now be written as a file. */
	put(f->repo, "global/x", "now a file");
	assert_file(f->repo, 4, "global/x", "now a file");
}

static void
test_repo__mode_and_unchanged(void **state)
{
	struct fixture *f = *state;
	struct ecc_commit_result res;
	struct ecc_changeset *cs;
	struct ecc_entry_list l = { 0 };

	put(f->repo, "global/run", "#!/bin/sh\n");
	cs = cs_new(1);
	cs_write(cs, "global/run", "#!/bin/sh\n", F644);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	assert_true(res.unchanged);
	assert_int_equal(res.revision, 1);
	assert_int_equal(ecc_repo_head(f->repo), 1);
	assert_int_equal(strlen(res.commit), 40);
	ecc_commit_result_clear(&res);

	cs = cs_new(1);
	cs_write(cs, "global/run", "#!/bin/sh\n", F755);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	assert_false(res.unchanged);
	assert_int_equal(res.revision, 2);
	ecc_commit_result_clear(&res);
	assert_int_equal(ecc_repo_list(&l, f->repo, 2, NULL), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].mode, F755);
	ecc_entry_list_clear(&l);

	/* An empty change set is unchanged too. */
	cs = cs_new(2);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	assert_true(res.unchanged);
	ecc_commit_result_clear(&res);
}

static void
test_repo__collisions(void **state)
{
	struct fixture *f = *state;
	struct ecc_commit_result res;
	struct ecc_changeset *cs;

	put(f->repo, "global/dir/f", "f");
	put(f->repo, "global/file", "x");
	/* a file over a directory */
	cs = cs_new(2);
	cs_write(cs, "global/dir", "d", F644);
	assert_int_equal(commit(&res, f->repo, cs), ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "global/dir"));
	/* a directory through a file */
	cs = cs_new(2);
	cs_write(cs, "global/file/sub", "s", F644);
	assert_int_equal(commit(&res, f->repo, cs), ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "global/file"));
	/* a path and something below it in one set */
	cs = cs_new(2);
	cs_write(cs, "global/new", "n", F644);
	cs_write(cs, "global/new/sub", "s", F644);
	assert_int_equal(commit(&res, f->repo, cs), ECC_EINVALID);
	cs = cs_new(2);
	cs_write(cs, "global/n2", "n", F644);
	cs_write(cs, "global/n2/a/b", "s", F644);
	cs_delete(cs, "global/dir/f");
	assert_int_equal(commit(&res, f->repo, cs), ECC_EINVALID);
	assert_int_equal(ecc_repo_head(f->repo), 2);

	/* Replacing in one change set is fine: delete the file and write
	 * below it, or empty the directory and write a file there. */
	cs = cs_new(2);
	cs_delete(cs, "global/file");
	cs_write(cs, "global/file/sub", "s", F644);
	cs_delete(cs, "global/dir/f");
	cs_write(cs, "global/dir", "now a file", F644);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	assert_int_equal(res.revision, 3);
	ecc_commit_result_clear(&res);
	assert_file(f->repo, 3, "global/file/sub", "s");
	assert_file(f->repo, 3, "global/dir", "now a file");
}

struct validate_state {
	int calls;
	int refuse;
	char seen[ECC_OID_HEX_LEN];
	char *content;
	ecc_repo *other;      /* commit through this handle meanwhile */
};

static int
validate_cb(ecc_repo *repo, const char *tree_id,
    const struct ecc_changeset *cs, char **output, void *payload)
{
	struct validate_state *st = payload;
	struct ecc_commit_result res;
	struct ecc_changeset *mine;

	st->calls++;
	snprintf(st->seen, sizeof(st->seen), "%s", tree_id);
	free(st->content);
	st->content = NULL;
	if (ecc_repo_tree_read(&st->content, NULL, repo, tree_id,
	    cs->changes[0].path, 1024) != 0)
		return ecc_error_set(ECC_ERROR, "cannot read candidate");
	if (st->other) {
		mine = cs_new(ecc_repo_head(st->other));
		cs_write(mine, "global/race", "won", F644);
		if (commit(&res, st->other, mine) != 0)
			return ecc_error_set(ECC_ERROR, "race commit failed");
		ecc_commit_result_clear(&res);
	}
	if (st->refuse) {
		*output = ecc_strdup("check failed: bad syntax\n");
		return ecc_error_set(ECC_EREJECTED, "check command failed");
	}
	return 0;
}

static void
test_repo__validate(void **state)
{
	struct fixture *f = *state;
	struct ecc_commit_result res;
	struct ecc_changeset *cs;
	struct validate_state st = { 0 };
	char id[ECC_OID_HEX_LEN];

	st.refuse = 1;
	cs = cs_new(0);
	cs_write(cs, "global/a", "candidate", F644);
	assert_int_equal(ecc_repo_commit(&res, f->repo, cs, validate_cb, &st),
	    ECC_EREJECTED);
	assert_int_equal(st.calls, 1);
	assert_string_equal(st.content, "candidate");
	assert_string_equal(res.output, "check failed: bad syntax\n");
	assert_string_equal(ecc_error_last(), "check command failed");
	assert_int_equal(ecc_repo_head(f->repo), 0);
	ecc_commit_result_clear(&res);
	assert_null(res.output);

	st.refuse = 0;
	assert_int_equal(ecc_repo_commit(&res, f->repo, cs, validate_cb, &st),
	    0);
	assert_int_equal(st.calls, 2);
	assert_int_equal(ecc_repo_tree_id(id, f->repo, 1), 0);
	assert_string_equal(id, st.seen);
	ecc_commit_result_clear(&res);

	/* Unchanged trees are not validated. */
	cs->base = 1;
	assert_int_equal(ecc_repo_commit(&res, f->repo, cs, validate_cb, &st),
	    0);
	assert_true(res.unchanged);
	assert_int_equal(st.calls, 2);
	ecc_commit_result_clear(&res);
	cs_free(cs);
	free(st.content);
}

static void
test_repo__concurrent_head_move(void **state)
{
	struct fixture *f = *state;
	struct ecc_commit_result res;
	struct ecc_changeset *cs;
	struct validate_state st = { 0 };

	/* Another handle commits while this one is between its checks and
	 * its ref update: the compare-and-swap refuses, the caller retries. */
	assert_int_equal(ecc_repo_open(&st.other, f->path), 0);
	cs = cs_new(0);
	cs_write(cs, "global/a", "mine", F644);
	assert_int_equal(ecc_repo_commit(&res, f->repo, cs, validate_cb, &st),
	    ECC_ECONFLICT);
	assert_int_equal(res.nconflicts, 0);
	ecc_commit_result_clear(&res);
	assert_int_equal(ecc_repo_head(f->repo), 1);   /* refreshed */
	assert_absent(f->repo, 1, "global/a");
	assert_file(f->repo, 1, "global/race", "won");

	ecc_repo_free(st.other);
	st.other = NULL;
	assert_int_equal(ecc_repo_commit(&res, f->repo, cs, validate_cb, &st),
	    0);
	assert_int_equal(res.revision, 2);
	ecc_commit_result_clear(&res);
	assert_file(f->repo, 2, "global/race", "won");
	assert_file(f->repo, 2, "global/a", "mine");
	cs_free(cs);
	free(st.content);
}

static void
test_repo__rollback(void **state)
{
	struct fixture *f = *state;
	struct ecc_commit_result res;
	struct ecc_changeset *cs;
	struct ecc_entry_list now = { 0 }, then = { 0 };
	const char *paths1[] = { "global/a" };
	const char *paths2[] = { "default", "global/gone" };
	const char *paths3[] = { "global/never" };
	char t1[ECC_OID_HEX_LEN], t2[ECC_OID_HEX_LEN];
	struct ecc_revinfo ri;
	size_t i;

	cs = cs_new(0);
	cs_write(cs, "global/a", "a1", F644);
	cs_write(cs, "global/b", "b1", F644);
	cs_write(cs, "global/gone", "g", F755);
	cs_write(cs, "default/default/x", "x1", F644);
	cs_write(cs, "global/swap", "was a file", F644);
	assert_int_equal(commit(&res, f->repo, cs), 0);     /* r1 */
	ecc_commit_result_clear(&res);
	cs = cs_new(1);
	cs_write(cs, "global/a", "a2", F644);
	cs_write(cs, "global/b", "b2", F644);
	cs_delete(cs, "global/gone");
	cs_write(cs, "default/default/x", "x2", F644);
	cs_write(cs, "default/n1/y", "y", F644);
	cs_write(cs, "global/c", "c", F644);
	cs_delete(cs, "global/swap");
	cs_write(cs, "global/swap/inner", "now a dir", F644);
	assert_int_equal(commit(&res, f->repo, cs), 0);     /* r2 */
	ecc_commit_result_clear(&res);

	/* One path. */
	assert_int_equal(ecc_repo_rollback(&res, f->repo, 1, paths1, 1,
	    "bob", "back to a1", NULL, NULL), 0);
	assert_int_equal(res.revision, 3);
	ecc_commit_result_clear(&res);
	assert_file(f->repo, 3, "global/a", "a1");
	assert_file(f->repo, 3, "global/b", "b2");
	assert_int_equal(ecc_repo_revinfo(&ri, f->repo, 3), 0);
	assert_string_equal(ri.author, "bob");
	assert_string_equal(ri.message, "back to a1");
	ecc_revinfo_clear(&ri);

	/* A directory and a deleted file. */
	assert_int_equal(ecc_repo_rollback(&res, f->repo, 1, paths2, 2,
	    "bob", "dirs", NULL, NULL), 0);
	assert_int_equal(res.revision, 4);
	ecc_commit_result_clear(&res);
	assert_file(f->repo, 4, "default/default/x", "x1");
	assert_absent(f->repo, 4, "default/n1/y");
	assert_file(f->repo, 4, "global/gone", "g");
	assert_file(f->repo, 4, "global/c", "c");

	/* A path absent in both. */
	assert_int_equal(ecc_repo_rollback(&res, f->repo, 1, paths3, 1,
	    "bob", "m", NULL, NULL), ECC_ENOTFOUND);
	assert_non_null(strstr(ecc_error_last(), "global/never"));
	assert_int_equal(ecc_repo_rollback(&res, f->repo, 9, NULL, 0,
	    "bob", "m", NULL, NULL), ECC_ENOTFOUND);

	/* Whole tree, including a directory turning back into a file. */
	assert_int_equal(ecc_repo_rollback(&res, f->repo, 1, NULL, 0,
	    "bob", "all", NULL, NULL), 0);
	assert_int_equal(res.revision, 5);
	ecc_commit_result_clear(&res);
	assert_int_equal(ecc_repo_tree_id(t1, f->repo, 1), 0);
	assert_int_equal(ecc_repo_tree_id(t2, f->repo, 5), 0);
	assert_string_equal(t1, t2);
	assert_int_equal(ecc_repo_list(&now, f->repo, 5, NULL), 0);
	assert_int_equal(ecc_repo_list(&then, f->repo, 1, NULL), 0);
	assert_int_equal(now.n, then.n);
	for (i = 0; i < now.n; i++) {
		assert_string_equal(now.v[i].path, then.v[i].path);
		assert_int_equal(now.v[i].mode, then.v[i].mode);
	}
	ecc_entry_list_clear(&now);
	ecc_entry_list_clear(&then);

	/* Rolling back to what is already there changes nothing. */
	assert_int_equal(ecc_repo_rollback(&res, f->repo, 1, NULL, 0,
	    "bob", "again", NULL, NULL), 0);
	assert_true(res.unchanged);
	assert_int_equal(res.revision, 5);
	ecc_commit_result_clear(&res);

	/* And forward again to r2 (file back into a directory). */
	assert_int_equal(ecc_repo_rollback(&res, f->repo, 2, NULL, 0,
	    "bob", "fwd", NULL, NULL), 0);
	ecc_commit_result_clear(&res);
	assert_int_equal(ecc_repo_tree_id(t1, f->repo, 2), 0);
	assert_int_equal(ecc_repo_tree_id(t2, f->repo, 6), 0);
	assert_string_equal(t1, t2);
}

static void
test_repo__log(void **state)
{
	struct fixture *f = *state;
	struct ecc_revinfo *v = NULL;
	size_t n = 0;

	put(f->repo, "global/a", "1");          /* r1 */
	put(f->repo, "default/default/b", "1"); /* r2 */
	put(f->repo, "global/a", "2");          /* r3 */
	put(f->repo, "globalx/c", "1");         /* r4 */

	assert_int_equal(ecc_repo_log(&v, &n, f->repo, -1, 0, NULL), 0);
	assert_int_equal(n, 5);
	assert_int_equal(v[0].revision, 4);
	assert_int_equal(v[4].revision, 0);
	assert_string_equal(v[0].author, "alice");
	ecc_revinfo_array_free(v, n);

	assert_int_equal(ecc_repo_log(&v, &n, f->repo, -1, 2, NULL), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[1].revision, 3);
	ecc_revinfo_array_free(v, n);

	assert_int_equal(ecc_repo_log(&v, &n, f->repo, 2, 10, NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].revision, 2);
	ecc_revinfo_array_free(v, n);

	/* "global" must not match "globalx". */
	assert_int_equal(ecc_repo_log(&v, &n, f->repo, -1, 10, "global"), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].revision, 3);
	assert_int_equal(v[1].revision, 1);
	ecc_revinfo_array_free(v, n);

	assert_int_equal(ecc_repo_log(&v, &n, f->repo, -1, 1, "global/a"), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].revision, 3);
	ecc_revinfo_array_free(v, n);

	assert_int_equal(ecc_repo_log(&v, &n, f->repo, -1, 10, "nowhere"), 0);
	assert_int_equal(n, 0);
	ecc_revinfo_array_free(v, n);

	assert_int_equal(ecc_repo_log(&v, &n, f->repo, 5, 10, NULL),
	    ECC_ENOTFOUND);
	assert_int_equal(ecc_repo_log(&v, &n, f->repo, -1, 10, "/abs"),
	    ECC_EINVALID);
}

static void
test_repo__changes_diff(void **state)
{
	struct fixture *f = *state;
	struct ecc_commit_result res;
	struct ecc_changeset *cs;
	struct ecc_pathchange *v = NULL;
	size_t n = 0, len = 0;
	char *d = NULL;

	cs = cs_new(0);
	cs_write(cs, "global/a", "one\n", F644);
	cs_write(cs, "global/b", "bee\n", F644);
	cs_write(cs, "globalx/z", "zz\n", F644);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	ecc_commit_result_clear(&res);
	cs = cs_new(1);
	cs_write(cs, "global/a", "two\n", F644);
	cs_delete(cs, "global/b");
	cs_write(cs, "global/c", "sea\n", F644);
	cs_write(cs, "globalx/z", "zzz\n", F644);
	cs_write(cs, "default/default/d", "dee\n", F755);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	ecc_commit_result_clear(&res);

	assert_int_equal(ecc_repo_changes(&v, &n, f->repo, 1, 2, NULL), 0);
	assert_int_equal(n, 5);
	assert_string_equal(v[0].path, "default/default/d");
	assert_int_equal(v[0].action, 'A');
	assert_string_equal(v[1].path, "global/a");
	assert_int_equal(v[1].action, 'M');
	assert_string_equal(v[2].path, "global/b");
	assert_int_equal(v[2].action, 'D');
	assert_string_equal(v[3].path, "global/c");
	assert_int_equal(v[3].action, 'A');
	assert_string_equal(v[4].path, "globalx/z");
	ecc_pathchange_array_free(v, n);

	assert_int_equal(ecc_repo_changes(&v, &n, f->repo, 1, 2, "global"), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[2].path, "global/c");
	ecc_pathchange_array_free(v, n);

	assert_int_equal(ecc_repo_changes(&v, &n, f->repo, 0, 1, ""), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].action, 'A');
	ecc_pathchange_array_free(v, n);
	assert_int_equal(ecc_repo_changes(&v, &n, f->repo, 2, 2, ""), 0);
	assert_int_equal(n, 0);
	ecc_pathchange_array_free(v, n);
	assert_int_equal(ecc_repo_changes(&v, &n, f->repo, 0, 3, ""),
	    ECC_ENOTFOUND);

	assert_int_equal(ecc_repo_diff(&d, &len, f->repo, 1, 2, "global/a"), 0);
	assert_int_equal(len, strlen(d));
	assert_non_null(strstr(d, "diff --git a/global/a b/global/a"));
	assert_non_null(strstr(d, "-one\n"));
	assert_non_null(strstr(d, "+two\n"));
	assert_null(strstr(d, "global/b"));
	free(d);

	assert_int_equal(ecc_repo_diff(&d, &len, f->repo, 1, 2, "global"), 0);
	assert_non_null(strstr(d, "deleted file mode 100644"));
	assert_non_null(strstr(d, "+sea\n"));
	assert_null(strstr(d, "globalx"));
	free(d);

	assert_int_equal(ecc_repo_diff(&d, &len, f->repo, 1, 2, NULL), 0);
	assert_non_null(strstr(d, "new file mode 100755"));
	assert_non_null(strstr(d, "globalx/z"));
	free(d);

	assert_int_equal(ecc_repo_diff(&d, &len, f->repo, 2, 2, NULL), 0);
	assert_int_equal(len, 0);
	free(d);
}

static void
test_repo__refresh_two_handles(void **state)
{
	struct fixture *f = *state;
	struct ecc_commit_result res;
	struct ecc_changeset *cs;
	ecc_repo *other = NULL;

	assert_int_equal(ecc_repo_open(&other, f->path), 0);
	put(f->repo, "global/a", "1");
	put(f->repo, "global/b", "1");
	assert_int_equal(ecc_repo_head(other), 0);
	assert_int_equal(ecc_repo_refresh(other), 0);
	assert_int_equal(ecc_repo_head(other), 2);
	assert_file(other, 2, "global/b", "1");

	/* A commit through a stale handle sees the other's commits first. */
	put(f->repo, "global/a", "2");          /* r3, other still at r2 */
	cs = cs_new(2);
	cs_write(cs, "global/a", "mine", F644);
	assert_int_equal(commit(&res, other, cs), ECC_ECONFLICT);
	assert_int_equal(res.nconflicts, 1);
	ecc_commit_result_clear(&res);
	assert_int_equal(ecc_repo_head(other), 3);
	cs = cs_new(2);
	cs_write(cs, "global/b", "mine", F644);
	assert_int_equal(commit(&res, other, cs), 0);
	assert_int_equal(res.revision, 4);
	ecc_commit_result_clear(&res);
	assert_int_equal(ecc_repo_refresh(f->repo), 0);
	assert_int_equal(ecc_repo_head(f->repo), 4);
	assert_int_equal(ecc_repo_refresh(f->repo), 0);
	assert_int_equal(ecc_repo_head(f->repo), 4);
	ecc_repo_free(other);
}

static void
test_repo__reopen(void **state)
{
	struct fixture *f = *state;
	char a[ECC_OID_HEX_LEN], b[ECC_OID_HEX_LEN];
	int64_t i;

	for (i = 0; i < 5; i++)
		put(f->repo, "global/counter", i % 2 ? "odd" : "even");
	ecc_repo_free(f->repo);
	f->repo = NULL;
	assert_int_equal(ecc_repo_open(&f->repo, f->path), 0);
	assert_int_equal(ecc_repo_head(f->repo), 5);
	assert_file(f->repo, 5, "global/counter", "even");
	assert_file(f->repo, 2, "global/counter", "odd");
	assert_int_equal(ecc_repo_commit_id(a, f->repo, 5), 0);
	assert_int_equal(ecc_repo_commit_id(b, f->repo, 4), 0);
	assert_string_not_equal(a, b);
}

static void
test_repo__last_change(void **state)
{
	struct fixture *f = *state;
	const char *view_d[] = { "global", "d" };
	const char *view_e[] = { "global", "e" };
	const char *all[] = { "" };
	const char *bad[] = { "../x" };
	int64_t out;

	put(f->repo, "global/a", "1");     /* r1 */
	put(f->repo, "d/default/x", "1");  /* r2 */
	put(f->repo, "e/default/x", "1");  /* r3 */
	put(f->repo, "e/default/x", "2");  /* r4 */

	assert_int_equal(ecc_repo_last_change(&out, f->repo, 4, view_d, 2), 0);
	assert_int_equal(out, 2);
	assert_int_equal(ecc_repo_last_change(&out, f->repo, 1, view_d, 2), 0);
	assert_int_equal(out, 1);
	assert_int_equal(ecc_repo_last_change(&out, f->repo, 0, view_d, 2), 0);
	assert_int_equal(out, 0);
	assert_int_equal(ecc_repo_last_change(&out, f->repo, 4, view_e, 2), 0);
	assert_int_equal(out, 4);
	assert_int_equal(ecc_repo_last_change(&out, f->repo, 2, view_e, 2), 0);
	assert_int_equal(out, 1);
	assert_int_equal(ecc_repo_last_change(&out, f->repo, 3, all, 1), 0);
	assert_int_equal(out, 3);

	/* The cache extends as revisions come. */
	put(f->repo, "global/a", "2");     /* r5 */
	put(f->repo, "e/n1/y", "1");       /* r6 */
	assert_int_equal(ecc_repo_last_change(&out, f->repo, 6, view_d, 2), 0);
	assert_int_equal(out, 5);
	assert_int_equal(ecc_repo_last_change(&out, f->repo, 6, view_e, 2), 0);
	assert_int_equal(out, 6);
	assert_int_equal(ecc_repo_last_change(&out, f->repo, 4, view_d, 2), 0);
	assert_int_equal(out, 2);

	assert_int_equal(ecc_repo_last_change(&out, f->repo, 7, view_d, 2),
	    ECC_ENOTFOUND);
	assert_int_equal(ecc_repo_last_change(&out, f->repo, 1, bad, 1),
	    ECC_EINVALID);
	assert_int_equal(ecc_repo_last_change(&out, f->repo, 1, all, 0),
	    ECC_EINVALID);
}

static void
test_repo__tree_export(void **state)
{
	struct fixture *f = *state;
	struct ecc_commit_result res;
	struct ecc_changeset *cs;
	char id[ECC_OID_HEX_LEN];
	char *out = ecc_printf("%s/export", f->dir);
	char *p, *text = NULL;
	struct stat st;

	cs = cs_new(0);
	cs_write(cs, "global/a.conf", "a\n", F644);
	cs_write(cs, "default/n1/run", "#!/bin/sh\n", F755);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	ecc_commit_result_clear(&res);
	assert_int_equal(ecc_repo_tree_id(id, f->repo, 1), 0);
	assert_int_equal(ecc_repo_tree_export(f->repo, id, out), 0);

	p = ecc_printf("%s/global/a.conf", out);
	assert_int_equal(ecc_file_read(&text, NULL, p, 100), 0);
	assert_string_equal(text, "a\n");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	free(text);
	free(p);
	p = ecc_printf("%s/default/n1/run", out);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	free(p);
	assert_int_equal(ecc_repo_tree_export(f->repo, "nope", out),
	    ECC_EINVALID);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_repo__init_open, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_repo__r0_empty, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_repo__commit_read_list,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_repo__invalid_changes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_repo__conflicts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_repo__delete, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_repo__mode_and_unchanged,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_repo__collisions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_repo__validate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_repo__concurrent_head_move,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_repo__rollback, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_repo__log, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_repo__changes_diff, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_repo__refresh_two_handles,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_repo__reopen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_repo__last_change, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_repo__tree_export, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
