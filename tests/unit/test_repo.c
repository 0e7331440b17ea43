/*
 * test_repo.c - unit tests of the revision store (lib/repo.c): init and
 * open, commits and their conflict rules, rollback, history, diffs, the
 * last-change cache, and cluster mode (the publish hook, replicas filled
 * by ecc_repo_import).
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

/* Cluster mode: the publish hook, import into a replica. */

/* A deep copy of one struct ecc_publish. */
struct pub_copy {
	int64_t revision;
	char commit[ECC_OID_HEX_LEN];
	char parent[ECC_OID_HEX_LEN];      /* "" for r0 */
	char *author;
	char *message;
	int64_t time;
	unsigned char *pack;
	size_t pack_len;
};

struct pub_log {
	struct pub_copy *v;
	size_t n;
	int calls;
	int fail;                 /* nonzero: the hook returns this */
	/* race_cb: import this revision into the committing repo first */
	const struct pub_copy *winner;
	int raced;
};

static void
pub_log_clear(struct pub_log *log)
{
	size_t i;

	for (i = 0; i < log->n; i++) {
		free(log->v[i].author);
		free(log->v[i].message);
		free(log->v[i].pack);
	}
	free(log->v);
	log->v = NULL;
	log->n = 0;
}

static void
pub_log_add(struct pub_log *log, const struct ecc_publish *p)
{
	struct pub_copy *c;

	log->v = ecc_realloc(log->v, (log->n + 1) * sizeof(*log->v));
	c = &log->v[log->n++];
	memset(c, 0, sizeof(*c));
	c->revision = p->revision;
	snprintf(c->commit, sizeof(c->commit), "%s", p->commit);
	snprintf(c->parent, sizeof(c->parent), "%s",
	    p->parent ? p->parent : "");
	c->author = ecc_strdup(p->author);
	c->message = ecc_strdup(p->message);
	c->time = p->time;
	c->pack_len = p->pack_len;
	c->pack = ecc_malloc(p->pack_len ? p->pack_len : 1);
	memcpy(c->pack, p->pack, p->pack_len);
}

/* The captured entry for revision `rev` (asserts there is one). */
static const struct pub_copy *
pub_find(const struct pub_log *log, int64_t rev)
{
	size_t i;

	for (i = log->n; i > 0; i--)
		if (log->v[i - 1].revision == rev)
			return &log->v[i - 1];
	fail_msg("no publication of r%lld", (long long)rev);
	return NULL;
}

static int
capture_cb(ecc_repo *repo, const struct ecc_publish *p, void *payload)
{
	struct pub_log *log = payload;

	(void)repo;
	log->calls++;
	if (log->fail)
		return ecc_error_set(log->fail, "publish hook refuses r%lld",
		    (long long)p->revision);
	pub_log_add(log, p);
	return 0;
}

/* Another manager won this revision number: take its revision, then
 * ask the caller to retry (once); afterwards behave like capture_cb. */
static int
race_cb(ecc_repo *repo, const struct ecc_publish *p, void *payload)
{
	struct pub_log *log = payload;
	int rc;

	if (log->winner && !log->raced) {
		log->raced = 1;
		log->calls++;
		if (p->revision != log->winner->revision)
			return ecc_error_set(ECC_ERROR,
			    "race on r%lld, not r%lld", (long long)p->revision,
			    (long long)log->winner->revision);
		rc = ecc_repo_import(repo, log->winner->revision,
		    log->winner->commit, log->winner->pack,
		    log->winner->pack_len);
		if (rc != 0)
			return rc;
		return ecc_error_set(ECC_ECONFLICT, "r%lld was taken",
		    (long long)p->revision);
	}
	return capture_cb(repo, p, payload);
}

static int
import_pub(ecc_repo *repo, const struct pub_copy *c)
{
	return ecc_repo_import(repo, c->revision, c->commit, c->pack,
	    c->pack_len);
}

/* Both handles hold the same revisions, commits and file bytes. */
static void
assert_same_history(ecc_repo *a, ecc_repo *b)
{
	struct ecc_entry_list la = { 0 }, lb = { 0 };
	struct ecc_revinfo ra, rb;
	char ca[ECC_OID_HEX_LEN], cb[ECC_OID_HEX_LEN];
	char *da, *db;
	size_t na, nb, i;
	int64_t rev;

	assert_int_equal(ecc_repo_head(a), ecc_repo_head(b));
	for (rev = 0; rev <= ecc_repo_head(a); rev++) {
		assert_int_equal(ecc_repo_commit_id(ca, a, rev), 0);
		assert_int_equal(ecc_repo_commit_id(cb, b, rev), 0);
		assert_string_equal(ca, cb);
		assert_int_equal(ecc_repo_revinfo(&ra, a, rev), 0);
		assert_int_equal(ecc_repo_revinfo(&rb, b, rev), 0);
		assert_string_equal(ra.author, rb.author);
		assert_string_equal(ra.message, rb.message);
		assert_int_equal(ra.time, rb.time);
		ecc_revinfo_clear(&ra);
		ecc_revinfo_clear(&rb);
		assert_int_equal(ecc_repo_list(&la, a, rev, NULL), 0);
		assert_int_equal(ecc_repo_list(&lb, b, rev, NULL), 0);
		assert_int_equal(la.n, lb.n);
		for (i = 0; i < la.n; i++) {
			assert_string_equal(la.v[i].path, lb.v[i].path);
			assert_int_equal(la.v[i].mode, lb.v[i].mode);
			assert_string_equal(la.v[i].blob, lb.v[i].blob);
			da = db = NULL;
			assert_int_equal(ecc_repo_read(&da, &na, a, rev,
			    la.v[i].path, 1 << 20), 0);
			assert_int_equal(ecc_repo_read(&db, &nb, b, rev,
			    lb.v[i].path, 1 << 20), 0);
			assert_int_equal(na, nb);
			assert_memory_equal(da, db, na);
			free(da);
			free(db);
		}
		ecc_entry_list_clear(&la);
		ecc_entry_list_clear(&lb);
	}
}

/* Objects in a pack, from its header ("PACK", version, count). */
static uint32_t
pack_count(const struct pub_copy *c)
{
	const unsigned char *h = c->pack;

	assert_true(c->pack_len >= 12 + 20);
	assert_memory_equal(h, "PACK", 4);
	return (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 |
	    (uint32_t)h[10] << 8 | (uint32_t)h[11];
}

static void
test_repo__replicate(void **state)
{
	struct fixture *f = *state;
	struct pub_log log = { 0 }, again = { 0 };
	struct ecc_commit_result res;
	struct ecc_changeset *cs;
	struct ecc_change *bin;
	struct ecc_revinfo ri;
	char *bpath = ecc_printf("%s/b.git", f->dir);
	ecc_repo *b = NULL, *b2 = NULL;
	char id[ECC_OID_HEX_LEN], prev[ECC_OID_HEX_LEN];
	const struct pub_copy *c;
	size_t i;

	/* r0 as it is. */
	assert_int_equal(ecc_repo_publish_existing(f->repo, 0, capture_cb,
	    &log), 0);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.v[0].revision, 0);
	assert_int_equal(ecc_repo_commit_id(id, f->repo, 0), 0);
	assert_string_equal(log.v[0].commit, id);
	assert_string_equal(log.v[0].parent, "");
	assert_string_equal(log.v[0].author, "ecconfig");
	assert_string_equal(log.v[0].message, "r0: empty repository");
	assert_true(log.v[0].time > 0);
	assert_int_equal(pack_count(&log.v[0]), 2);   /* commit, empty tree */
	assert_int_equal(ecc_repo_publish_existing(f->repo, 1, capture_cb,
	    &log), ECC_ENOTFOUND);
	assert_int_equal(log.n, 1);

	ecc_repo_set_publish(f->repo, capture_cb, &log);
	cs = cs_new(0);                                       /* r1 */
	cs_write(cs, "global/a.conf", "a1\n", F644);
	cs_write(cs, "global/b.conf", "b1\n", F644);
	cs_write(cs, "default/n1/deep/er/x.conf", "x1\n", F644);
	cs_write(cs, "default/default/run.sh", "#!/bin/sh\necho hi\n", F644);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	ecc_commit_result_clear(&res);
	cs = cs_new(1);                                       /* r2 */
	cs_write(cs, "global/a.conf", "a2\n", F644);
	cs_delete(cs, "global/b.conf");
	cs_write(cs, "default/n2/y.conf", "y\n", F644);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	ecc_commit_result_clear(&res);
	/* An existing revision publishes as it was published, and through
	 * the callback given, not the installed hook (which stays). */
	assert_int_equal(ecc_repo_publish_existing(f->repo, 2, capture_cb,
	    &again), 0);
	assert_int_equal(again.n, 1);
	assert_int_equal(log.n, 3);
	assert_int_equal(again.v[0].revision, 2);
	assert_string_equal(again.v[0].commit, log.v[2].commit);
	assert_string_equal(again.v[0].parent, log.v[2].parent);
	assert_string_equal(again.v[0].author, log.v[2].author);
	assert_string_equal(again.v[0].message, log.v[2].message);
	assert_int_equal(again.v[0].time, log.v[2].time);
	assert_int_equal(pack_count(&again.v[0]), pack_count(&log.v[2]));
	pub_log_clear(&again);
	cs = cs_new(2);                                       /* r3: mode */
	cs_write(cs, "default/default/run.sh", "#!/bin/sh\necho hi\n", F755);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	ecc_commit_result_clear(&res);
	cs = cs_new(3);                                       /* r4 */
	cs_delete(cs, "default/n1/deep/er/x.conf");
	cs_write(cs, "global/sub/sub2/z.conf", "z\n", F644);
	cs_write(cs, "global/empty", "", F644);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	ecc_commit_result_clear(&res);
	cs = cs_new(4);                                       /* r5 */
	bin = cs_push(cs, "global/bin.dat", ECC_CHANGE_WRITE);
	bin->data = ecc_malloc(5);
	memcpy(bin->data, "\0\1\377\0z", 5);
	bin->len = 5;
	bin->mode = F644;
	cs_write(cs, "global/a.conf", "a5\n", F644);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	assert_int_equal(res.revision, 5);
	ecc_commit_result_clear(&res);
	/* No revision, no publication. */
	cs = cs_new(5);
	cs_write(cs, "global/a.conf", "a5\n", F644);
	assert_int_equal(commit(&res, f->repo, cs), 0);
	assert_true(res.unchanged);
	ecc_commit_result_clear(&res);

	assert_int_equal(log.n, 6);
	assert_int_equal(log.calls, 6);
	for (i = 1; i < log.n; i++) {
		c = &log.v[i];
		assert_int_equal(c->revision, (int64_t)i);
		assert_int_equal(ecc_repo_commit_id(id, f->repo, c->revision),
		    0);
		assert_string_equal(c->commit, id);
		assert_int_equal(ecc_repo_commit_id(prev, f->repo,
		    c->revision - 1), 0);
		assert_string_equal(c->parent, prev);
		assert_string_equal(c->author, "alice");
		assert_string_equal(c->message, "test change");
		assert_int_equal(ecc_repo_revinfo(&ri, f->repo, c->revision),
		    0);
		assert_int_equal(c->time, ri.time);
		ecc_revinfo_clear(&ri);
		assert_true(pack_count(c) >= 3);
	}

	/* The replica: no revision at all until r0 comes. */
	assert_int_equal(ecc_repo_init_empty(bpath), 0);
	assert_int_equal(ecc_repo_init(bpath), ECC_EEXISTS);
	assert_int_equal(ecc_repo_open(&b, bpath), 0);
	assert_int_equal(ecc_repo_open(&b2, bpath), 0);
	assert_int_equal(ecc_repo_head(b), -1);
	assert_int_equal(ecc_repo_refresh(b), 0);
	assert_int_equal(ecc_repo_head(b), -1);
	assert_int_equal(ecc_repo_commit_id(id, b, 0), ECC_ENOTFOUND);
	assert_absent(b, 0, "global/a.conf");

	for (i = 0; i < log.n; i++) {
		assert_int_equal(import_pub(b, &log.v[i]), 0);
		assert_int_equal(ecc_repo_head(b), (int64_t)i);
	}
	assert_same_history(f->repo, b);
	assert_file(b, 5, "global/a.conf", "a5\n");
	assert_absent(b, 4, "default/n1/deep/er/x.conf");

	/* Again: nothing to do, nothing moves. */
	for (i = 0; i < log.n; i++)
		assert_int_equal(import_pub(b, &log.v[i]), 0);
	assert_int_equal(ecc_repo_head(b), 5);

	/* Another handle opened while the replica was empty catches up,
	 * and so does a fresh one (the branch is on disk). */
	assert_int_equal(ecc_repo_head(b2), -1);
	assert_int_equal(ecc_repo_refresh(b2), 0);
	assert_same_history(f->repo, b2);
	ecc_repo_free(b2);
	ecc_repo_free(b);
	assert_int_equal(ecc_repo_open(&b, bpath), 0);
	assert_same_history(f->repo, b);

	/* The replica is a normal repository: A can follow it back. */
	ecc_repo_set_publish(b, capture_cb, &log);
	assert_int_equal(put(b, "global/from-b", "b\n"), 6);
	assert_int_equal(import_pub(f->repo, pub_find(&log, 6)), 0);
	assert_same_history(f->repo, b);

	ecc_repo_free(b);
	pub_log_clear(&log);
	free(bpath);
}

static void
test_repo__import_refusals(void **state)
{
	struct fixture *f = *state;
	struct pub_log log = { 0 };
	char *bpath = ecc_printf("%s/b.git", f->dir);
	char *epath = ecc_printf("%s/e.git", f->dir);
	ecc_repo *b = NULL, *e = NULL;
	const struct pub_copy *r0, *r1, *r2, *r3;
	char id[ECC_OID_HEX_LEN];
	int rc;

	assert_int_equal(ecc_repo_publish_existing(f->repo, 0, capture_cb,
	    &log), 0);
	ecc_repo_set_publish(f->repo, capture_cb, &log);
	put(f->repo, "global/a", "1");
	put(f->repo, "global/b", "2");
	put(f->repo, "global/a", "3");
	r0 = pub_find(&log, 0);
	r1 = pub_find(&log, 1);
	r2 = pub_find(&log, 2);
	r3 = pub_find(&log, 3);

	assert_int_equal(ecc_repo_init_empty(bpath), 0);
	assert_int_equal(ecc_repo_open(&b, bpath), 0);

	/* Nothing below r0. */
	test_expect_error(ecc_repo_import(b, -1, r0->commit, r0->pack,
	    r0->pack_len), ECC_EINVALID, "r-1 on an empty repo", NULL, NULL);
	assert_int_equal(ecc_repo_head(b), -1);
	/* r0 must be a root commit of the empty tree: r1 is neither. */
	rc = ecc_repo_import(b, 0, r1->commit, r1->pack, r1->pack_len);
	test_expect_error(rc, ECC_EINVALID, "r1 as r0", "r0", NULL);
	assert_int_equal(ecc_repo_head(b), -1);
	/* A gap on an empty repository. */
	test_expect_error(import_pub(b, r1), ECC_EINVALID, "r1 first", NULL,
	    NULL);
	assert_int_equal(ecc_repo_head(b), -1);

	assert_int_equal(import_pub(b, r0), 0);
	assert_int_equal(import_pub(b, r1), 0);
	assert_int_equal(ecc_repo_head(b), 1);

	/* A gap: r3 on r1. */
	test_expect_error(import_pub(b, r3), ECC_EINVALID, "r3 on r1", "r3",
	    NULL);
	assert_int_equal(ecc_repo_head(b), 1);
	/* Present with another commit. */
	test_expect_error(ecc_repo_import(b, 1, r2->commit, r2->pack,
	    r2->pack_len), ECC_EINVALID, "r1 = r2's commit", "diverged", NULL);
	test_expect_error(ecc_repo_import(b, 0, r1->commit, r1->pack,
	    r1->pack_len), ECC_EINVALID, "r0 = r1's commit", "diverged", NULL);
	assert_int_equal(ecc_repo_head(b), 1);
	/* Negative revisions are no revisions. */
	test_expect_error(ecc_repo_import(b, -1, r0->commit, r0->pack,
	    r0->pack_len), ECC_EINVALID, "r-1", NULL, NULL);
	/* Not a commit id. */
	test_expect_error(ecc_repo_import(b, 2, "not-hex", r2->pack,
	    r2->pack_len), ECC_EINVALID, "not-hex", NULL, NULL);
	assert_int_equal(ecc_repo_head(b), 1);

	/* Garbage, a truncated pack, a header without objects. */
	rc = ecc_repo_import(b, 2, r2->commit, "this is not a pack at all",
	    25);
	if (rc >= 0)
		fail_msg("garbage pack accepted: %d", rc);
	assert_int_equal(ecc_repo_head(b), 1);
	rc = ecc_repo_import(b, 2, r2->commit, r2->pack, r2->pack_len / 2);
	if (rc >= 0)
		fail_msg("truncated pack accepted: %d", rc);
	assert_int_equal(ecc_repo_head(b), 1);
	rc = ecc_repo_import(b, 2, r2->commit, "PACK\0\0\0\2\0\0\0\1", 12);
	if (rc >= 0)
		fail_msg("pack without its object accepted: %d", rc);
	assert_int_equal(ecc_repo_head(b), 1);
	rc = ecc_repo_import(b, 2, r2->commit, NULL, 0);
	if (rc >= 0)
		fail_msg("empty pack accepted: %d", rc);
	assert_int_equal(ecc_repo_head(b), 1);

	/* A commit id that is not in the pack. */
	rc = ecc_repo_import(b, 2, r3->commit, r2->pack, r2->pack_len);
	if (rc >= 0)
		fail_msg("commit missing from the pack accepted: %d", rc);
	assert_int_equal(ecc_repo_head(b), 1);
	/* In the pack, but it does not follow the head (r3 follows r2). */
	rc = ecc_repo_import(b, 2, r3->commit, r3->pack, r3->pack_len);
	if (rc >= 0)
		fail_msg("r3 accepted as r2: %d", rc);
	assert_int_equal(ecc_repo_head(b), 1);

	/* None of it left the replica unusable. */
	assert_int_equal(import_pub(b, r2), 0);
	assert_int_equal(import_pub(b, r3), 0);
	assert_same_history(f->repo, b);
	ecc_repo_free(b);
	b = NULL;
	assert_int_equal(ecc_repo_open(&b, bpath), 0);
	assert_int_equal(ecc_repo_head(b), 3);
	assert_file(b, 3, "global/a", "3");

	/* Once r0 is in, another commit as r0 is a divergence. */
	assert_int_equal(ecc_repo_init_empty(epath), 0);
	assert_int_equal(ecc_repo_open(&e, epath), 0);
	assert_int_equal(import_pub(e, r0), 0);
	assert_int_equal(ecc_repo_commit_id(id, e, 0), 0);
	assert_string_equal(id, r0->commit);
	test_expect_error(ecc_repo_import(e, 0, r2->commit, r2->pack,
	    r2->pack_len), ECC_EINVALID, "r0 twice", "diverged", NULL);
	assert_int_equal(ecc_repo_head(e), 0);

	ecc_repo_free(e);
	ecc_repo_free(b);
	pub_log_clear(&log);
	free(epath);
	free(bpath);
}

static void
test_repo__publish_abort(void **state)
{
	struct fixture *f = *state;
	struct pub_log log = { 0 };
	struct ecc_commit_result res;
	struct ecc_changeset *cs;
	ecc_repo *other = NULL;
	char id[ECC_OID_HEX_LEN];

	put(f->repo, "global/a", "1");             /* r1, no hook */
	assert_int_equal(ecc_repo_commit_id(id, f->repo, 1), 0);
	ecc_repo_set_publish(f->repo, capture_cb, &log);
	cs = cs_new(1);
	cs_write(cs, "global/a", "2", F644);
	cs_write(cs, "global/new", "n", F644);

	log.fail = ECC_ECONFLICT;
	assert_int_equal(ecc_repo_commit(&res, f->repo, cs, NULL, NULL),
	    ECC_ECONFLICT);
	assert_int_equal(res.nconflicts, 0);
	assert_null(res.conflicts);
	ecc_commit_result_clear(&res);
	assert_int_equal(log.calls, 1);
	assert_int_equal(ecc_repo_head(f->repo), 1);
	assert_int_equal(ecc_repo_refresh(f->repo), 0);
	assert_int_equal(ecc_repo_head(f->repo), 1);
	assert_file(f->repo, 1, "global/a", "1");
	assert_absent(f->repo, 1, "global/new");

	log.fail = ECC_EUNAVAIL;
	assert_int_equal(ecc_repo_commit(&res, f->repo, cs, NULL, NULL),
	    ECC_EUNAVAIL);
	assert_int_equal(res.nconflicts, 0);
	ecc_commit_result_clear(&res);
	assert_int_equal(log.calls, 2);
	assert_int_equal(ecc_repo_refresh(f->repo), 0);
	assert_int_equal(ecc_repo_head(f->repo), 1);
	/* ... on disk as well. */
	assert_int_equal(ecc_repo_open(&other, f->path), 0);
	assert_int_equal(ecc_repo_head(other), 1);
	ecc_repo_free(other);
	other = NULL;
	assert_int_equal(log.n, 0);

	/* Without the hook the same change set lands. */
	ecc_repo_set_publish(f->repo, NULL, NULL);
	assert_int_equal(ecc_repo_commit(&res, f->repo, cs, NULL, NULL), 0);
	assert_int_equal(res.revision, 2);
	ecc_commit_result_clear(&res);
	assert_int_equal(log.calls, 2);
	assert_file(f->repo, 2, "global/a", "2");
	assert_file(f->repo, 2, "global/new", "n");
	assert_int_equal(ecc_repo_commit_id(id, f->repo, 1), 0);
	assert_int_equal(ecc_repo_open(&other, f->path), 0);
	assert_int_equal(ecc_repo_head(other), 2);
	ecc_repo_free(other);
	cs_free(cs);
}

#define BIG_DIRS 40
#define BIG_FILES 50

static void
test_repo__publish_pack_size(void **state)
{
	struct fixture *f = *state;
	struct pub_log log = { 0 };
	struct ecc_commit_result res;
	struct ecc_changeset *cs;
	const struct pub_copy *big, *small;
	char *bpath = ecc_printf("%s/b.git", f->dir);
	ecc_repo *b = NULL;
	char path[64], text[128];
	int d, i;

	assert_int_equal(ecc_repo_publish_existing(f->repo, 0, capture_cb,
	    &log), 0);
	ecc_repo_set_publish(f->repo, capture_cb, &log);
	cs = cs_new(0);
	for (d = 0; d < BIG_DIRS; d++)
		for (i = 0; i < BIG_FILES; i++) {
			snprintf(path, sizeof(path),
			    "global/dir%02d/file%03d.conf", d, i);
			snprintf(text, sizeof(text), "# %s\nkey = %d\n"
			    "other = %d\n", path, d * BIG_FILES + i, i * 7919);
			cs_write(cs, path, text, F644);
		}
	assert_int_equal(commit(&res, f->repo, cs), 0);     /* r1 */
	assert_int_equal(res.revision, 1);
	ecc_commit_result_clear(&res);
	cs = cs_new(1);
	cs_write(cs, "global/dir17/file023.conf", "key = changed\n", F644);
	assert_int_equal(commit(&res, f->repo, cs), 0);     /* r2 */
	assert_int_equal(res.revision, 2);
	ecc_commit_result_clear(&res);

	big = pub_find(&log, 1);
	small = pub_find(&log, 2);
	/* r1: the commit, 2000 blobs, 40 + 1 + 1 trees. */
	assert_int_equal(pack_count(big),
	    1 + BIG_DIRS * BIG_FILES + BIG_DIRS + 2);
	/* r2: the commit, the blob, dir17, global, the root tree. */
	if (pack_count(small) > 10 || small->pack_len >= 8192 ||
	    small->pack_len * 20 >= big->pack_len)
		fail_msg("r2 pack: %u objects, %zu bytes (r1: %zu bytes)",
		    (unsigned)pack_count(small), small->pack_len,
		    big->pack_len);
	assert_int_equal(pack_count(small), 5);

	/* The small pack is all a replica at r1 needs for r2. */
	assert_int_equal(ecc_repo_init_empty(bpath), 0);
	assert_int_equal(ecc_repo_open(&b, bpath), 0);
	assert_int_equal(import_pub(b, pub_find(&log, 0)), 0);
	assert_int_equal(import_pub(b, big), 0);
	assert_int_equal(import_pub(b, small), 0);
	assert_file(b, 2, "global/dir17/file023.conf", "key = changed\n");
	assert_same_history(f->repo, b);

	ecc_repo_free(b);
	pub_log_clear(&log);
	free(bpath);
}

static void
test_repo__publish_race_import(void **state)
{
	struct fixture *f = *state;
	struct pub_log la = { 0 }, lc = { 0 };
	struct ecc_commit_result res;
	struct ecc_changeset *cs;
	char *cpath = ecc_printf("%s/c.git", f->dir);
	ecc_repo *c = NULL;
	const struct pub_copy *won, *mine;
	char id[ECC_OID_HEX_LEN];
	size_t i;

	/* A and C share r0 and r1. */
	assert_int_equal(ecc_repo_publish_existing(f->repo, 0, capture_cb,
	    &la), 0);
	ecc_repo_set_publish(f->repo, capture_cb, &la);
	put(f->repo, "global/a", "1");                       /* r1 */
	assert_int_equal(ecc_repo_init_empty(cpath), 0);
	assert_int_equal(ecc_repo_open(&c, cpath), 0);
	for (i = 0; i < la.n; i++)
		assert_int_equal(import_pub(c, &la.v[i]), 0);
	assert_int_equal(ecc_repo_head(c), 1);

	/* C takes r2 first. */
	ecc_repo_set_publish(c, capture_cb, &lc);
	assert_int_equal(put(c, "global/c", "from C"), 2);
	won = pub_find(&lc, 2);

	/* A's hook learns of it while publishing its own r2. */
	ecc_repo_set_publish(f->repo, race_cb, &la);
	la.winner = won;
	cs = cs_new(1);
	cs_write(cs, "global/a", "from A", F644);
	assert_int_equal(ecc_repo_commit(&res, f->repo, cs, NULL, NULL),
	    ECC_ECONFLICT);
	assert_int_equal(res.nconflicts, 0);
	ecc_commit_result_clear(&res);
	assert_true(la.raced);
	assert_int_equal(ecc_repo_refresh(f->repo), 0);
	assert_int_equal(ecc_repo_head(f->repo), 2);
	assert_int_equal(ecc_repo_commit_id(id, f->repo, 2), 0);
	assert_string_equal(id, won->commit);
	assert_file(f->repo, 2, "global/c", "from C");
	assert_file(f->repo, 2, "global/a", "1");

	/* The retry lands on top of C's revision. */
	assert_int_equal(ecc_repo_commit(&res, f->repo, cs, NULL, NULL), 0);
	assert_int_equal(res.revision, 3);
	ecc_commit_result_clear(&res);
	assert_int_equal(ecc_repo_head(f->repo), 3);
	assert_file(f->repo, 3, "global/a", "from A");
	assert_file(f->repo, 3, "global/c", "from C");
	mine = pub_find(&la, 3);
	assert_string_equal(mine->parent, won->commit);
	assert_int_equal(ecc_repo_commit_id(id, f->repo, 3), 0);
	assert_string_equal(mine->commit, id);

	/* And C follows A. */
	assert_int_equal(import_pub(c, mine), 0);
	assert_same_history(f->repo, c);

	cs_free(cs);
	ecc_repo_free(c);
	pub_log_clear(&la);
	pub_log_clear(&lc);
	free(cpath);
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
		cmocka_unit_test_setup_teardown(test_repo__replicate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_repo__import_refusals,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_repo__publish_abort,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_repo__publish_pack_size,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_repo__publish_race_import,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
