/*
 * repo.c - the revision store (see repo.h): a bare libgit2 repository with
 * one linear branch, an in-memory index revision -> commit id, change-set
 * commits that touch only the changed paths, and per-prefix "last change"
 * caches for view revisions.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/odb_backend.h>

#include "error.h"
#include "log.h"
#include "path.h"
#include "repo.h"
#include "util.h"

#define REPO_AREA "repo"
#define REPO_R0_NAME "ecconfig"
#define REPO_R0_EMAIL "ecconfig@localhost"
#define REPO_R0_MESSAGE "r0: empty repository"
#define REPO_EMAIL_DOMAIN "ecconfig"
/* last_change caches kept per handle; views are few, but bound it anyway */
#define REPO_LC_CACHE_MAX 64

/* What sits at one path of a tree: an object id and a file mode, or
 * nothing (mode 0). */
struct repo_slot {
	git_oid id;
	unsigned mode;
};

/* "Last change at or before r" for one set of prefixes: last[0..n-1] are
 * known; slots[] hold what was at each prefix at revision n-1. */
struct repo_lc_cache {
	struct repo_lc_cache *next;
	char *key;
	char **prefixes;
	size_t nprefixes;
	struct repo_slot *slots;
	int64_t *last;
	size_t n, cap;
};

struct ecc_repo {
	git_repository *git;
	char *path;
	ecc_repo_publish_cb publish;  /* cluster mode: see repo.h */
	void *publish_payload;
	git_oid *revs;               /* revs[N] is the commit of revision N */
	size_t nrevs, caprevs;
	struct repo_lc_cache *caches; /* most recently created first */
	size_t ncaches;
};

static pthread_once_t repo_once = PTHREAD_ONCE_INIT;
static int repo_once_rc;

/* One libgit2 reference held for the life of the process, so the fsync
 * option set here is never reset by a shutdown of the last user. */
static void
repo_lib_init_once(void)
{
	if (git_libgit2_init() < 0) {
		repo_once_rc = -1;
		return;
	}
	if (git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1) < 0)
		repo_once_rc = -1;
}

static int
repo_lib_init(void)
{
	pthread_once(&repo_once, repo_lib_init_once);
	if (repo_once_rc < 0)
		return ecc_error_set_git(ECC_ERROR,
		    "cannot initialize libgit2");
	return 0;
}

/* Free helpers */

void
ecc_commit_result_clear(struct ecc_commit_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nconflicts; i++)
		free(r->conflicts[i]);
	free(r->conflicts);
	free(r->output);
	memset(r, 0, sizeof(*r));
}

void
ecc_entry_list_clear(struct ecc_entry_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
ecc_revinfo_clear(struct ecc_revinfo *r)
{
	if (!r)
		return;
	free(r->author);
	free(r->message);
	memset(r, 0, sizeof(*r));
}

void
ecc_revinfo_array_free(struct ecc_revinfo *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		ecc_revinfo_clear(&v[i]);
	free(v);
}

void
ecc_pathchange_array_free(struct ecc_pathchange *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

static void
repo_lc_cache_free(struct repo_lc_cache *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nprefixes; i++)
		free(c->prefixes[i]);
	free(c->prefixes);
	free(c->key);
	free(c->slots);
	free(c->last);
	free(c);
}

/* The revision index */

static void
repo_index_push(ecc_repo *repo, const git_oid *id)
{
	if (repo->nrevs == repo->caprevs) {
		repo->caprevs = repo->caprevs ? repo->caprevs * 2 : 64;
		repo->revs = ecc_realloc(repo->revs,
		    repo->caprevs * sizeof(*repo->revs));
	}
	git_oid_cpy(&repo->revs[repo->nrevs++], id);
}

static int
repo_rev_check(const ecc_repo *repo, int64_t rev)
{
	if (rev < 0 || (uint64_t)rev >= repo->nrevs)
		return ecc_error_set(ECC_ENOTFOUND,
		    "%s: revision %" PRId64 " does not exist (head is r%" PRId64
		    ")", repo->path, rev, ecc_repo_head(repo));
	return 0;
}

/* The id of the empty tree, computed by libgit2 rather than spelled out. */
static int
repo_empty_tree_id(git_oid *out)
{
	if (git_odb_hash(out, "", 0, GIT_OBJECT_TREE) < 0)
		return ecc_error_set_git(ECC_ERROR,
		    "cannot hash the empty tree");
	return 0;
}

/* Walk first parents from `tip` back to `stop` (or to the root when stop
 * is NULL), collecting the commits newest first into *out.  Refuses
 * merges, and, for a full walk, a root that is not the empty tree. */
static int
repo_walk_back(git_oid **out, size_t *nout, ecc_repo *repo,
    const git_oid *tip, const git_oid *stop)
{
	int error = ECC_ERROR;
	git_commit *commit = NULL;
	git_oid cur, empty;
	git_oid *v = NULL;
	size_t n = 0, cap = 0;
	unsigned parents;
	char hex[ECC_OID_HEX_LEN];

	*out = NULL;
	*nout = 0;
	if ((error = repo_empty_tree_id(&empty)) < 0)
		goto out;
	git_oid_cpy(&cur, tip);
	for (;;) {
		if (stop && git_oid_equal(&cur, stop))
			break;
		if (git_commit_lookup(&commit, repo->git, &cur) < 0) {
			git_oid_tostr(hex, sizeof(hex), &cur);
			error = ecc_error_set_git(ECC_ERROR, hex);
			goto out;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = ecc_realloc(v, cap * sizeof(*v));
		}
		git_oid_cpy(&v[n++], &cur);
		parents = git_commit_parentcount(commit);
		if (parents > 1) {
			git_oid_tostr(hex, sizeof(hex), &cur);
			error = ecc_error_set(ECC_EINVALID,
			    "%s: commit %s is a merge; history must be linear",
			    repo->path, hex);
			goto out;
		}
		if (parents == 0) {
			if (stop) {
				error = ecc_error_set(ECC_EINVALID,
				    "%s: %s no longer contains the known head;"
				    " history was rewritten", repo->path,
				    ECC_REPO_BRANCH);
				goto out;
			}
			if (!git_oid_equal(git_commit_tree_id(commit),
			    &empty)) {
				git_oid_tostr(hex, sizeof(hex), &cur);
				error = ecc_error_set(ECC_EINVALID,
				    "%s: root commit %s is not the empty tree",
				    repo->path, hex);
				goto out;
			}
			break;
		}
		git_oid_cpy(&cur, git_commit_parent_id(commit, 0));
		git_commit_free(commit);
		commit = NULL;
	}
	*out = v;
	*nout = n;
	v = NULL;
	error = 0;
out:
	git_commit_free(commit);
	free(v);
	return error;
}

static int
repo_branch_tip(git_oid *out, ecc_repo *repo)
{
	int rc = git_reference_name_to_id(out, repo->git, ECC_REPO_BRANCH);

	if (rc == GIT_ENOTFOUND)
		return ecc_error_set(ECC_EINVALID, "%s: no branch %s",
		    repo->path, ECC_REPO_BRANCH);
	if (rc < 0)
		return ecc_error_set_git(ECC_ERROR, ECC_REPO_BRANCH);
	return 0;
}

int
ecc_repo_refresh(ecc_repo *repo)
{
	int error;
	git_oid tip;
	git_oid *v = NULL;
	size_t n = 0, i;

	if (repo->nrevs == 0 && git_repository_head_unborn(repo->git) == 1)
		return 0;              /* no r0 yet: filled by ecc_repo_import */
	if ((error = repo_branch_tip(&tip, repo)) < 0)
		return error;
	if (repo->nrevs > 0 &&
	    git_oid_equal(&tip, &repo->revs[repo->nrevs - 1]))
		return 0;
	error = repo_walk_back(&v, &n, repo, &tip,
	    repo->nrevs ? &repo->revs[repo->nrevs - 1] : NULL);
	if (error < 0)
		return error;
	for (i = n; i > 0; i--)
		repo_index_push(repo, &v[i - 1]);
	free(v);
	return 0;
}

/* Create and open */

/* A new bare repository at `path` with `main` as its unborn head;
 * ECC_EEXISTS when one is already there. */
static int
repo_create_bare(git_repository **out, const char *path)
{
	git_repository_init_options opts;
	int error, rc;

	*out = NULL;
	if ((error = repo_lib_init()) < 0)
		return error;
	rc = git_repository_open_ext(out, path, GIT_REPOSITORY_OPEN_NO_SEARCH,
	    NULL);
	git_repository_free(*out);
	*out = NULL;
	if (rc == 0)
		return ecc_error_set(ECC_EEXISTS, "%s: a repository already "
		    "exists", path);
	git_repository_init_options_init(&opts,
	    GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH |
	    GIT_REPOSITORY_INIT_NO_REINIT;
	opts.initial_head = "main";
	rc = git_repository_init_ext(out, path, &opts);
	if (rc == GIT_EEXISTS)
		return ecc_error_set(ECC_EEXISTS, "%s: a repository already "
		    "exists", path);
	if (rc < 0)
		return ecc_error_set_git(ECC_ERROR, path);
	return 0;
}

int
ecc_repo_init(const char *path)
{
	int error = ECC_ERROR;
	git_repository *git = NULL;
	git_treebuilder *tb = NULL;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	git_oid tree_id, commit_id;

	if ((error = repo_create_bare(&git, path)) < 0)
		goto out;
	if (git_treebuilder_new(&tb, git, NULL) < 0 ||
	    git_treebuilder_write(&tree_id, tb) < 0 ||
	    git_tree_lookup(&tree, git, &tree_id) < 0 ||
	    git_signature_now(&sig, REPO_R0_NAME, REPO_R0_EMAIL) < 0 ||
	    git_commit_create(&commit_id, git, ECC_REPO_BRANCH, sig, sig,
	    NULL, REPO_R0_MESSAGE, tree, 0, NULL) < 0) {
		error = ecc_error_set_git(ECC_ERROR, path);
		goto out;
	}
	ecc_log_info(REPO_AREA, "created repository %s", path);
	error = 0;
out:
	git_signature_free(sig);
	git_tree_free(tree);
	git_treebuilder_free(tb);
	git_repository_free(git);
	return error;
}

int
ecc_repo_init_empty(const char *path)
{
	git_repository *git = NULL;
	int error = repo_create_bare(&git, path);

	git_repository_free(git);
	if (error == 0)
		ecc_log_info(REPO_AREA, "created empty repository %s", path);
	return error;
}

int
ecc_repo_open(ecc_repo **out, const char *path)
{
	int error = ECC_ERROR, rc;
	ecc_repo *repo = NULL;

	*out = NULL;
	if ((error = repo_lib_init()) < 0)
		goto out;
	repo = ecc_calloc(1, sizeof(*repo));
	repo->path = ecc_strdup(path);
	rc = git_repository_open_ext(&repo->git, path,
	    GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (rc == GIT_ENOTFOUND) {
		error = ecc_error_set(ECC_ENOTFOUND, "%s: no repository",
		    path);
		goto out;
	}
	if (rc < 0) {
		error = ecc_error_set_git(ECC_ERROR, path);
		goto out;
	}
	if ((error = ecc_repo_refresh(repo)) < 0)
		goto out;
	*out = repo;
	repo = NULL;
	error = 0;
out:
	ecc_repo_free(repo);
	return error;
}

void
ecc_repo_free(ecc_repo *repo)
{
	struct repo_lc_cache *c, *next;

	if (!repo)
		return;
	for (c = repo->caches; c; c = next) {
		next = c->next;
		repo_lc_cache_free(c);
	}
	git_repository_free(repo->git);
	free(repo->revs);
	free(repo->path);
	free(repo);
}

int64_t
ecc_repo_head(const ecc_repo *repo)
{
	return (int64_t)repo->nrevs - 1;
}

const char *
ecc_repo_path(const ecc_repo *repo)
{
	return repo->path;
}

/* Objects by revision */

static int
repo_commit_at(git_commit **out, ecc_repo *repo, int64_t rev)
{
	int error;

	*out = NULL;
	if ((error = repo_rev_check(repo, rev)) < 0)
		return error;
	if (git_commit_lookup(out, repo->git, &repo->revs[rev]) < 0)
		return ecc_error_set_git(ECC_ERROR, repo->path);
	return 0;
}

static int
repo_tree_at(git_tree **out, ecc_repo *repo, int64_t rev)
{
	int error;
	git_commit *commit = NULL;

	*out = NULL;
	if ((error = repo_commit_at(&commit, repo, rev)) < 0)
		return error;
	if (git_commit_tree(out, commit) < 0)
		error = ecc_error_set_git(ECC_ERROR, repo->path);
	git_commit_free(commit);
	return error;
}

static int
repo_tree_by_hex(git_tree **out, ecc_repo *repo, const char *hex)
{
	git_oid id;
	int rc;

	*out = NULL;
	if (!hex || strlen(hex) != ECC_OID_HEX_LEN - 1 ||
	    git_oid_fromstr(&id, hex) < 0)
		return ecc_error_set(ECC_EINVALID, "'%s': not a tree id",
		    hex ? hex : "");
	rc = git_tree_lookup(out, repo->git, &id);
	if (rc == GIT_ENOTFOUND)
		return ecc_error_set(ECC_ENOTFOUND, "tree %s: not found", hex);
	if (rc < 0)
		return ecc_error_set_git(ECC_ERROR, hex);
	return 0;
}

int
ecc_repo_commit_id(char out[ECC_OID_HEX_LEN], ecc_repo *repo, int64_t rev)
{
	int error;

	out[0] = '\0';
	if ((error = repo_rev_check(repo, rev)) < 0)
		return error;
	git_oid_tostr(out, ECC_OID_HEX_LEN, &repo->revs[rev]);
	return 0;
}

int
ecc_repo_tree_id(char out[ECC_OID_HEX_LEN], ecc_repo *repo, int64_t rev)
{
	int error;
	git_commit *commit = NULL;

	out[0] = '\0';
	if ((error = repo_commit_at(&commit, repo, rev)) < 0)
		return error;
	git_oid_tostr(out, ECC_OID_HEX_LEN, git_commit_tree_id(commit));
	git_commit_free(commit);
	return 0;
}

/* What is at `path` in `root` ("" is the root itself). */
static int
repo_slot_at(struct repo_slot *out, git_tree *root, const char *path)
{
	git_tree_entry *e = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!path || !*path) {
		git_oid_cpy(&out->id, git_tree_id(root));
		out->mode = GIT_FILEMODE_TREE;
		return 0;
	}
	rc = git_tree_entry_bypath(&e, root, path);
	if (rc == GIT_ENOTFOUND)
		return 0;
	if (rc < 0)
		return ecc_error_set_git(ECC_ERROR, path);
	git_oid_cpy(&out->id, git_tree_entry_id(e));
	out->mode = (unsigned)git_tree_entry_filemode(e);
	git_tree_entry_free(e);
	return 0;
}

static int
repo_slot_equal(const struct repo_slot *a, const struct repo_slot *b)
{
	if (a->mode != b->mode)
		return 0;
	return a->mode == 0 || git_oid_equal(&a->id, &b->id);
}

static int
repo_mode_is_file(unsigned mode)
{
	return mode == GIT_FILEMODE_BLOB ||
	    mode == GIT_FILEMODE_BLOB_EXECUTABLE;
}

/* A path argument: "" / NULL (everything) or a valid repository path. */
static int
repo_prefix_check(const char *prefix)
{
	if (!prefix || !*prefix)
		return 0;
	return ecc_path_validate(prefix, NULL);
}

/* Change sets */

static int
repo_change_cmp(const void *a, const void *b)
{
	const struct ecc_change *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

static const struct ecc_change *
repo_change_find(const struct ecc_change *const *sorted, size_t n,
    const char *path)
{
	size_t lo = 0, hi = n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(path, sorted[mid]->path);
		if (c == 0)
			return sorted[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void
repo_conflict_add(struct ecc_commit_result *out, const char *path)
{
	out->conflicts = ecc_realloc(out->conflicts,
	    (out->nconflicts + 1) * sizeof(*out->conflicts));
	out->conflicts[out->nconflicts++] = ecc_strdup(path);
}

/* Walk state for "every file under a directory is deleted by the set". */
struct repo_cover {
	const struct ecc_change *const *sorted;
	size_t n;
	const char *dir;
	int error;
};

static int
repo_cover_cb(const char *root, const git_tree_entry *e, void *payload)
{
	struct repo_cover *st = payload;
	const struct ecc_change *c;
	char *path;

	if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
		return 0;
	path = ecc_printf("%s/%s%s", st->dir, root, git_tree_entry_name(e));
	c = repo_change_find(st->sorted, st->n, path);
	if (!c || c->action != ECC_CHANGE_DELETE) {
		st->error = ecc_error_set(ECC_EINVALID,
		    "%s: is a directory at the head (%s is not deleted)",
		    st->dir, path);
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

/* A write of `c->path` must not collide with the tree at the head: the
 * path itself may be a directory only if the set deletes every file in
 * it, and a parent may be a file only if the set deletes it; the set may
 * not write both a path and something below it. */
static int
repo_check_write(ecc_repo *repo, git_tree *head,
    const struct ecc_change *const *sorted, size_t n,
    const struct ecc_change *c)
{
	int error = ECC_ERROR;
	struct repo_slot slot;
	struct repo_cover cover;
	const struct ecc_change *other;
	git_tree *sub = NULL;
	char *prefix = NULL;
	char *slash;
	int below_tree = 0;

	if ((error = repo_slot_at(&slot, head, c->path)) < 0)
		goto out;
	if (slot.mode == GIT_FILEMODE_TREE) {
		if (git_tree_lookup(&sub, repo->git, &slot.id) < 0) {
			error = ecc_error_set_git(ECC_ERROR, c->path);
			goto out;
		}
		memset(&cover, 0, sizeof(cover));
		cover.sorted = sorted;
		cover.n = n;
		cover.dir = c->path;
		if (git_tree_walk(sub, GIT_TREEWALK_PRE, repo_cover_cb,
		    &cover) < 0) {
			error = cover.error ? cover.error :
			    ecc_error_set_git(ECC_ERROR, c->path);
			goto out;
		}
	} else if (slot.mode != 0 && !repo_mode_is_file(slot.mode)) {
		error = ecc_error_set(ECC_EINVALID,
		    "%s: not a regular file at the head", c->path);
		goto out;
	}
	prefix = ecc_strdup(c->path);
	while ((slash = strrchr(prefix, '/')) != NULL) {
		*slash = '\0';
		other = repo_change_find(sorted, n, prefix);
		if (other && other->action == ECC_CHANGE_WRITE) {
			error = ecc_error_set(ECC_EINVALID,
			    "%s: the change set also writes %s as a file",
			    c->path, prefix);
			goto out;
		}
		/* Above a directory of the head, everything is a directory. */
		if (below_tree)
			continue;
		if ((error = repo_slot_at(&slot, head, prefix)) < 0)
			goto out;
		if (slot.mode != 0 && slot.mode != GIT_FILEMODE_TREE &&
		    !(other && other->action == ECC_CHANGE_DELETE)) {
			error = ecc_error_set(ECC_EINVALID,
			    "%s: %s is a file at the head", c->path, prefix);
			goto out;
		}
		below_tree = slot.mode == GIT_FILEMODE_TREE;
	}
	error = 0;
out:
	free(prefix);
	git_tree_free(sub);
	return error;
}

/* Structural checks of one change, independent of any tree. */
static int
repo_check_change(const struct ecc_change *c, size_t i)
{
	int error;

	if (!c->path)
		return ecc_error_set(ECC_EINVALID, "changes[%zu]: no path", i);
	if ((error = ecc_path_validate(c->path, NULL)) < 0)
		return error;
	switch (c->action) {
	case ECC_CHANGE_WRITE:
		if (!repo_mode_is_file(c->mode))
			return ecc_error_set(ECC_EINVALID,
			    "%s: mode %o is not 0100644 or 0100755", c->path,
			    c->mode);
		if (!c->data && c->len > 0)
			return ecc_error_set(ECC_EINVALID, "%s: no content",
			    c->path);
		return 0;
	case ECC_CHANGE_DELETE:
		return 0;
	default:
		return ecc_error_set(ECC_EINVALID, "%s: unknown action %d",
		    c->path, (int)c->action);
	}
}

/* Apply `updates` to `base` in one libgit2 call; *out is the new tree. */
static int
repo_tree_update(git_tree **out, ecc_repo *repo, git_tree *base,
    const git_tree_update *updates, size_t n)
{
	git_oid id;

	*out = NULL;
	if (n == 0)
		return git_tree_dup(out, base) < 0 ?
		    ecc_error_set_git(ECC_ERROR, repo->path) : 0;
	if (git_tree_create_updated(&id, repo->git, base, n, updates) < 0 ||
	    git_tree_lookup(out, repo->git, &id) < 0)
		return ecc_error_set_git(ECC_ERROR,
		    "cannot build the new tree");
	return 0;
}

/* The objects `commit` adds to `parent` (all of it when parent is NULL)
 * as a pack, in *out. */
static int
repo_pack(git_buf *out, ecc_repo *repo, const git_oid *commit,
    const git_oid *parent)
{
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	int error = 0;

	if (git_packbuilder_new(&pb, repo->git) < 0 ||
	    git_revwalk_new(&walk, repo->git) < 0 ||
	    git_revwalk_push(walk, commit) < 0 ||
	    (parent && git_revwalk_hide(walk, parent) < 0) ||
	    git_packbuilder_insert_walk(pb, walk) < 0 ||
	    git_packbuilder_write_buf(out, pb) < 0)
		error = ecc_error_set_git(ECC_ERROR, "cannot pack the commit");
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	return error;
}

/* Hand revision `rev` (commit `id` on `parent`) to the publish hook. */
static int
repo_publish(ecc_repo *repo, const git_oid *id, const git_oid *parent,
    int64_t rev, const char *author, const char *message)
{
	struct ecc_publish p;
	git_commit *c = NULL;
	git_buf pack = { NULL, 0, 0 };
	char hex[ECC_OID_HEX_LEN], phex[ECC_OID_HEX_LEN];
	int error;

	if ((error = repo_pack(&pack, repo, id, parent)) < 0)
		goto out;
	if (git_commit_lookup(&c, repo->git, id) < 0) {
		error = ecc_error_set_git(ECC_ERROR, "the new commit");
		goto out;
	}
	git_oid_tostr(hex, sizeof(hex), id);
	if (parent)
		git_oid_tostr(phex, sizeof(phex), parent);
	memset(&p, 0, sizeof(p));
	p.revision = rev;
	p.commit = hex;
	p.parent = parent ? phex : NULL;
	p.author = author && *author ? author : "unknown";
	p.message = message ? message : "";
	p.time = (int64_t)git_commit_time(c);
	p.pack = pack.ptr;
	p.pack_len = pack.size;
	error = repo->publish(repo, &p, repo->publish_payload);
	if (error > 0)
		error = ECC_ERROR;
out:
	git_commit_free(c);
	git_buf_dispose(&pack);
	return error;
}

void
ecc_repo_set_publish(ecc_repo *repo, ecc_repo_publish_cb cb, void *payload)
{
	repo->publish = cb;
	repo->publish_payload = payload;
}

int
ecc_repo_publish_existing(ecc_repo *repo, int64_t rev,
    ecc_repo_publish_cb cb, void *payload)
{
	git_commit *c = NULL;
	ecc_repo_publish_cb saved = repo->publish;
	void *saved_payload = repo->publish_payload;
	int error;

	if ((error = repo_rev_check(repo, rev)) < 0)
		return error;
	if (git_commit_lookup(&c, repo->git, &repo->revs[rev]) < 0)
		return ecc_error_set_git(ECC_ERROR, "revision commit");
	repo->publish = cb;
	repo->publish_payload = payload;
	error = repo_publish(repo, &repo->revs[rev], rev > 0 ?
	    &repo->revs[rev - 1] : NULL, rev, git_commit_author(c)->name,
	    git_commit_message(c));
	repo->publish = saved;
	repo->publish_payload = saved_payload;
	git_commit_free(c);
	return error;
}

struct repo_unpack {
	git_odb *from, *to;
	size_t n;
};

static int
repo_unpack_cb(const git_oid *id, void *payload)
{
	struct repo_unpack *u = payload;
	git_odb_object *obj = NULL;
	git_oid out;
	int rc;

	if ((rc = git_odb_read(&obj, u->from, id)) < 0)
		return rc;
	rc = git_odb_write(&out, u->to, git_odb_object_data(obj),
	    git_odb_object_size(obj), git_odb_object_type(obj));
	git_odb_object_free(obj);
	u->n++;
	return rc;
}

/* Store the objects of `pack` as loose objects, as a local commit
 * stores its own.  Indexing the pack into the object database instead
 * would add one pack file per revision, and libgit2 rescans and
 * compares every pack name on each object write: thousands of imports
 * made each further one slower (a 10,000-revision rebuild never
 * finished).  The pack is indexed in a scratch directory, read through
 * its own odb, and removed. */
static int
repo_unpack(ecc_repo *repo, const void *pack, size_t len, int64_t rev)
{
	git_indexer *idx = NULL;
	git_indexer_progress stats;
	git_odb_backend *be = NULL;
	struct repo_unpack u = { NULL, NULL, 0 };
	char *dir = ecc_printf("%s/ecc-import-XXXXXX", repo->path);
	char *index = NULL, what[80];
	int error = 0;

	memset(&stats, 0, sizeof(stats));
	if (!mkdtemp(dir)) {
		error = ecc_error_set_errno(ECC_ERROR, "%s", dir);
		free(dir);
		return error;
	}
	snprintf(what, sizeof(what), "r%" PRId64 ": the pack does not index",
	    rev);
	if (git_indexer_new(&idx, dir, 0, NULL, NULL) < 0 ||
	    git_indexer_append(idx, pack, len, &stats) < 0 ||
	    git_indexer_commit(idx, &stats) < 0) {
		error = ecc_error_set_git(ECC_EINVALID, what);
		goto out;
	}
	index = ecc_printf("%s/pack-%s.idx", dir, git_indexer_name(idx));
	if (git_odb_new(&u.from) < 0 ||
	    git_odb_backend_one_pack(&be, index) < 0) {
		error = ecc_error_set_git(ECC_EINVALID, what);
		goto out;
	}
	if (git_odb_add_backend(u.from, be, 1) < 0) {
		be->free(be);
		error = ecc_error_set_git(ECC_EINVALID, what);
		goto out;
	}                             /* be is owned by u.from now */
	if (git_repository_odb(&u.to, repo->git) < 0 ||
	    git_odb_foreach(u.from, repo_unpack_cb, &u) < 0) {
		snprintf(what, sizeof(what), "r%" PRId64 ": cannot store the "
		    "objects of its pack", rev);
		error = ecc_error_set_git(ECC_ERROR, what);
		goto out;
	}
out:
	git_odb_free(u.from);
	git_odb_free(u.to);
	git_indexer_free(idx);
	ecc_rm_rf(dir);
	free(index);
	free(dir);
	return error;
}

int
ecc_repo_import(ecc_repo *repo, int64_t rev, const char *commit_hex,
    const void *pack, size_t len)
{
	git_commit *c = NULL;
	git_reference *ref = NULL;
	git_oid id, empty;
	int64_t head;
	int error = 0, rc;

	if ((error = ecc_repo_refresh(repo)) < 0)
		return error;
	head = ecc_repo_head(repo);
	if (rev < 0)
		return ecc_error_set(ECC_EINVALID, "%s: cannot import r%" PRId64,
		    repo->path, rev);
	if (strlen(commit_hex) != ECC_OID_HEX_LEN - 1 ||
	    git_oid_fromstr(&id, commit_hex) < 0)
		return ecc_error_set(ECC_EINVALID, "r%" PRId64 ": '%.64s' is "
		    "not a commit id", rev, commit_hex);
	if (rev <= head) {
		/* Already here (published by us, or imported before). */
		if (!git_oid_equal(&repo->revs[rev], &id))
			return ecc_error_set(ECC_EINVALID, "%s: r%" PRId64 " is "
			    "%s in the shared log but another commit here: the "
			    "repository diverged", repo->path, rev, commit_hex);
		return 0;
	}
	if (rev != head + 1)
		return ecc_error_set(ECC_EINVALID, "%s: cannot import r%" PRId64
		    " on r%" PRId64, repo->path, rev, head);
	if (len > 0 && (error = repo_unpack(repo, pack, len, rev)) < 0)
		goto out;
	if (git_commit_lookup(&c, repo->git, &id) < 0) {
		char what[128];

		snprintf(what, sizeof(what), "r%" PRId64 ": commit %.40s is "
		    "not in its pack", rev, commit_hex);
		error = ecc_error_set_git(ECC_EINVALID, what);
		goto out;
	}
	if (rev == 0) {
		if ((error = repo_empty_tree_id(&empty)) < 0)
			goto out;
		if (git_commit_parentcount(c) != 0 ||
		    !git_oid_equal(git_commit_tree_id(c), &empty)) {
			error = ecc_error_set(ECC_EINVALID, "r0 %s is not a root "
			    "commit of the empty tree", commit_hex);
			goto out;
		}
		rc = git_reference_create(&ref, repo->git, ECC_REPO_BRANCH, &id,
		    0, "r0");
	} else {
		if (git_commit_parentcount(c) != 1 ||
		    !git_oid_equal(git_commit_parent_id(c, 0),
		    &repo->revs[head])) {
			error = ecc_error_set(ECC_EINVALID, "r%" PRId64 " %s does "
			    "not follow r%" PRId64 " here", rev, commit_hex,
			    head);
			goto out;
		}
		rc = git_reference_create_matching(&ref, repo->git,
		    ECC_REPO_BRANCH, &id, 1, &repo->revs[head], "import");
	}
	if (rc < 0) {
		error = ecc_error_set_git(rc == GIT_EMODIFIED ||
		    rc == GIT_EEXISTS ? ECC_ECONFLICT : ECC_ERROR,
		    ECC_REPO_BRANCH);
		goto out;
	}
	repo_index_push(repo, &id);
out:
	git_commit_free(c);
	git_reference_free(ref);
	return error;
}

int
ecc_repo_commit(struct ecc_commit_result *out, ecc_repo *repo,
    const struct ecc_changeset *cs, ecc_repo_validate_cb validate,
    void *payload)
{
	int error = ECC_ERROR, rc;
	const struct ecc_change **sorted = NULL;
	git_tree_update *rm = NULL, *up = NULL;
	size_t nrm = 0, nup = 0, i;
	git_tree *base_tree = NULL, *head_tree = NULL, *mid = NULL,
	    *next = NULL;
	git_commit *head_commit = NULL;
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	struct repo_slot at_base, at_head;
	git_oid commit_id, old_tip;
	char tree_hex[ECC_OID_HEX_LEN];
	char *email = NULL, *output = NULL;
	int64_t head;
	const struct ecc_change *c;

	memset(out, 0, sizeof(*out));
	if ((error = ecc_repo_refresh(repo)) < 0)
		goto out;
	head = ecc_repo_head(repo);
	if (cs->base < 0 || cs->base > head) {
		error = ecc_error_set(ECC_EINVALID,
		    "base revision %" PRId64 " is not in r0..r%" PRId64,
		    cs->base, head);
		goto out;
	}
	if (cs->nchanges > 0 && !cs->changes) {
		error = ecc_error_set(ECC_EINVALID,
		    "change set without changes");
		goto out;
	}
	sorted = ecc_calloc(cs->nchanges ? cs->nchanges : 1, sizeof(*sorted));
	for (i = 0; i < cs->nchanges; i++) {
		if ((error = repo_check_change(&cs->changes[i], i)) < 0)
			goto out;
		sorted[i] = &cs->changes[i];
	}
	qsort(sorted, cs->nchanges, sizeof(*sorted), repo_change_cmp);
	for (i = 1; i < cs->nchanges; i++) {
		if (strcmp(sorted[i - 1]->path, sorted[i]->path) == 0) {
			error = ecc_error_set(ECC_EINVALID,
			    "%s: appears twice in the change set",
			    sorted[i]->path);
			goto out;
		}
	}
	git_oid_cpy(&old_tip, &repo->revs[head]);
	if ((error = repo_commit_at(&head_commit, repo, head)) < 0)
		goto out;
	if (git_commit_tree(&head_tree, head_commit) < 0) {
		error = ecc_error_set_git(ECC_ERROR, repo->path);
		goto out;
	}

	/* Out of date: any path of the set that moved since the base. */
	if (cs->base != head) {
		if ((error = repo_tree_at(&base_tree, repo, cs->base)) < 0)
			goto out;
		for (i = 0; i < cs->nchanges; i++) {
			c = sorted[i];
			if ((error = repo_slot_at(&at_base, base_tree,
			    c->path)) < 0 ||
			    (error = repo_slot_at(&at_head, head_tree,
			    c->path)) < 0)
				goto out;
			if (!repo_slot_equal(&at_base, &at_head))
				repo_conflict_add(out, c->path);
		}
		if (out->nconflicts > 0) {
			error = ecc_error_set(ECC_ECONFLICT,
			    "%zu path(s) changed since r%" PRId64 ", first %s",
			    out->nconflicts, cs->base, out->conflicts[0]);
			goto out;
		}
	}

	/* Check each change against the head and stage it. */
	rm = ecc_calloc(cs->nchanges ? cs->nchanges : 1, sizeof(*rm));
	up = ecc_calloc(cs->nchanges ? cs->nchanges : 1, sizeof(*up));
	for (i = 0; i < cs->nchanges; i++) {
		c = sorted[i];
		if (c->action == ECC_CHANGE_DELETE) {
			if ((error = repo_slot_at(&at_head, head_tree,
			    c->path)) < 0)
				goto out;
			if (at_head.mode == 0) {
				error = ecc_error_set(ECC_ENOTFOUND,
				    "%s: no such file at r%" PRId64, c->path,
				    head);
				goto out;
			}
			if (!repo_mode_is_file(at_head.mode)) {
				error = ecc_error_set(ECC_EINVALID,
				    "%s: is a directory, not a file", c->path);
				goto out;
			}
			rm[nrm].action = GIT_TREE_UPDATE_REMOVE;
			rm[nrm++].path = c->path;
			continue;
		}
		if ((error = repo_check_write(repo, head_tree, sorted,
		    cs->nchanges, c)) < 0)
			goto out;
		if (git_blob_create_from_buffer(&up[nup].id, repo->git,
		    c->data ? c->data : "", c->len) < 0) {
			error = ecc_error_set_git(ECC_ERROR, c->path);
			goto out;
		}
		up[nup].action = GIT_TREE_UPDATE_UPSERT;
		up[nup].filemode = (git_filemode_t)c->mode;
		up[nup++].path = c->path;
	}

	/* Removals first, so a file may replace a directory it empties and
	 * a directory may replace a file it deletes. */
	if ((error = repo_tree_update(&mid, repo, head_tree, rm, nrm)) < 0 ||
	    (error = repo_tree_update(&next, repo, mid, up, nup)) < 0)
		goto out;
	if (git_oid_equal(git_tree_id(next), git_tree_id(head_tree))) {
		out->unchanged = 1;
		out->revision = head;
		git_oid_tostr(out->commit, sizeof(out->commit), &old_tip);
		error = 0;
		goto out;
	}
	git_oid_tostr(tree_hex, sizeof(tree_hex), git_tree_id(next));
	if (validate) {
		error = validate(repo, tree_hex, cs, &output, payload);
		if (error != 0) {
			out->output = output;
			output = NULL;
			if (error > 0 || ecc_error_last_code() != error)
				error = ecc_error_set(error < 0 ? error :
				    ECC_EREJECTED, "change set rejected");
			goto out;
		}
	}

	email = ecc_printf("%s@%s", cs->author && *cs->author ? cs->author :
	    "unknown", REPO_EMAIL_DOMAIN);
	if (git_signature_now(&sig, cs->author && *cs->author ? cs->author :
	    "unknown", email) < 0) {
		error = ecc_error_set_git(ECC_EINVALID, "author");
		goto out;
	}
	if (git_commit_create(&commit_id, repo->git, NULL, sig, sig, NULL,
	    cs->message ? cs->message : "", next, 1,
	    (const git_commit **)&head_commit) < 0) {
		error = ecc_error_set_git(ECC_ERROR, "cannot write the commit");
		goto out;
	}
	if (repo->publish && (error = repo_publish(repo, &commit_id,
	    &old_tip, head + 1, cs->author, cs->message)) < 0)
		goto out;
	rc = git_reference_create_matching(&ref, repo->git, ECC_REPO_BRANCH,
	    &commit_id, 1, &old_tip, cs->message ? cs->message : "commit");
	if (rc == GIT_EMODIFIED || rc == GIT_ELOCKED) {
		/* Another handle moved the head: let the caller retry
		 * against the new head. */
		(void)ecc_repo_refresh(repo);
		error = ecc_error_set(ECC_ECONFLICT,
		    "%s moved during the commit; retry", ECC_REPO_BRANCH);
		goto out;
	}
	if (rc < 0) {
		error = ecc_error_set_git(ECC_ERROR, ECC_REPO_BRANCH);
		goto out;
	}
	repo_index_push(repo, &commit_id);
	out->revision = ecc_repo_head(repo);
	git_oid_tostr(out->commit, sizeof(out->commit), &commit_id);
	ecc_log_debug(REPO_AREA, "r%" PRId64 " %s by %s: %zu change(s)",
	    out->revision, out->commit, cs->author ? cs->author : "unknown",
	    cs->nchanges);
	error = 0;
out:
	free(output);
	free(email);
	git_reference_free(ref);
	git_signature_free(sig);
	git_tree_free(next);
	git_tree_free(mid);
	git_tree_free(head_tree);
	git_tree_free(base_tree);
	git_commit_free(head_commit);
	free(up);
	free(rm);
	free(sorted);
	return error;
}

/* Diffs between revisions */

static int
repo_diff_new(git_diff **out, ecc_repo *repo, int64_t from, int64_t to,
    const char *const *paths, size_t npaths)
{
	int error = ECC_ERROR;
	git_tree *a = NULL, *b = NULL;
	git_diff_options opts;

	*out = NULL;
	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	if ((error = repo_tree_at(&a, repo, from)) < 0 ||
	    (error = repo_tree_at(&b, repo, to)) < 0)
		goto out;
	if (npaths > 0) {
		/* Literal paths: a file, or a directory and all below it. */
		opts.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH;
		opts.pathspec.strings = (char **)paths;
		opts.pathspec.count = npaths;
	}
	if (git_diff_tree_to_tree(out, repo->git, a, b, &opts) < 0) {
		error = ecc_error_set_git(ECC_ERROR, "cannot compute the diff");
		goto out;
	}
	error = 0;
out:
	git_tree_free(b);
	git_tree_free(a);
	return error;
}

/* 1 when `path` lies at or below one of `paths` (all when none). */
static int
repo_path_in(const char *path, const char *const *paths, size_t npaths)
{
	size_t i;

	if (npaths == 0)
		return 1;
	for (i = 0; i < npaths; i++)
		if (ecc_path_has_prefix(path, paths[i]))
			return 1;
	return 0;
}

static void
repo_changeset_clear(struct ecc_changeset *cs)
{
	size_t i;

	for (i = 0; i < cs->nchanges; i++) {
		free(cs->changes[i].path);
		free(cs->changes[i].data);
	}
	free(cs->changes);
	cs->changes = NULL;
	cs->nchanges = 0;
}

static struct ecc_change *
repo_changeset_push(struct ecc_changeset *cs, size_t *cap)
{
	struct ecc_change *c;

	if (cs->nchanges == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		cs->changes = ecc_realloc(cs->changes,
		    *cap * sizeof(*cs->changes));
	}
	c = &cs->changes[cs->nchanges++];
	memset(c, 0, sizeof(*c));
	return c;
}

/* The change set turning the head into `target` below `paths`. */
static int
repo_rollback_changes(struct ecc_changeset *cs, ecc_repo *repo,
    int64_t head, int64_t target, const char *const *paths, size_t npaths)
{
	int error = ECC_ERROR;
	git_diff *diff = NULL;
	git_blob *blob = NULL;
	const git_diff_delta *d;
	struct ecc_change *c;
	size_t i, n, cap = 0;
	const char *p;

	if ((error = repo_diff_new(&diff, repo, head, target, paths,
	    npaths)) < 0)
		goto out;
	n = git_diff_num_deltas(diff);
	for (i = 0; i < n; i++) {
		d = git_diff_get_delta(diff, i);
		p = d->status == GIT_DELTA_DELETED ? d->old_file.path :
		    d->new_file.path;
		if (!repo_path_in(p, paths, npaths))
			continue;
		if (d->status == GIT_DELTA_DELETED) {
			c = repo_changeset_push(cs, &cap);
			c->path = ecc_strdup(p);
			c->action = ECC_CHANGE_DELETE;
			continue;
		}
		if (!repo_mode_is_file(d->new_file.mode)) {
			error = ecc_error_set(ECC_EINVALID,
			    "%s: not a regular file at r%" PRId64, p, target);
			goto out;
		}
		if (git_blob_lookup(&blob, repo->git, &d->new_file.id) < 0) {
			error = ecc_error_set_git(ECC_ERROR, p);
			goto out;
		}
		/* A split type change lists the delete first: replace it. */
		if (cs->nchanges > 0 &&
		    strcmp(cs->changes[cs->nchanges - 1].path, p) == 0) {
			c = &cs->changes[cs->nchanges - 1];
			free(c->path);
			free(c->data);
			memset(c, 0, sizeof(*c));
		} else
			c = repo_changeset_push(cs, &cap);
		c->path = ecc_strdup(p);
		c->action = ECC_CHANGE_WRITE;
		c->mode = d->new_file.mode;
		c->len = (size_t)git_blob_rawsize(blob);
		c->data = ecc_malloc(c->len + 1);
		memcpy(c->data, git_blob_rawcontent(blob), c->len);
		c->data[c->len] = '\0';
		git_blob_free(blob);
		blob = NULL;
	}
	error = 0;
out:
	git_blob_free(blob);
	git_diff_free(diff);
	return error;
}

int
ecc_repo_rollback(struct ecc_commit_result *out, ecc_repo *repo,
    int64_t target, const char *const *paths, size_t npaths,
    const char *author, const char *message,
    ecc_repo_validate_cb validate, void *payload)
{
	int error = ECC_ERROR;
	struct ecc_changeset cs;
	git_tree *head_tree = NULL, *target_tree = NULL;
	struct repo_slot a, b;
	int64_t head;
	size_t i;

	memset(out, 0, sizeof(*out));
	memset(&cs, 0, sizeof(cs));
	if ((error = ecc_repo_refresh(repo)) < 0)
		goto out;
	head = ecc_repo_head(repo);
	if ((error = repo_tree_at(&target_tree, repo, target)) < 0 ||
	    (error = repo_tree_at(&head_tree, repo, head)) < 0)
		goto out;
	if (npaths > 0 && !paths) {
		error = ecc_error_set(ECC_EINVALID, "rollback: no paths");
		goto out;
	}
	for (i = 0; i < npaths; i++) {
		if (!paths[i]) {
			error = ecc_error_set(ECC_EINVALID,
			    "rollback: paths[%zu] is missing", i);
			goto out;
		}
		if ((error = ecc_path_validate(paths[i], NULL)) < 0)
			goto out;
		if ((error = repo_slot_at(&a, head_tree, paths[i])) < 0 ||
		    (error = repo_slot_at(&b, target_tree, paths[i])) < 0)
			goto out;
		if (a.mode == 0 && b.mode == 0) {
			error = ecc_error_set(ECC_ENOTFOUND,
			    "%s: not found at r%" PRId64 " nor at the head",
			    paths[i], target);
			goto out;
		}
	}
	cs.base = head;
	cs.author = (char *)author;
	cs.message = (char *)message;
	if ((error = repo_rollback_changes(&cs, repo, head, target, paths,
	    npaths)) < 0)
		goto out;
	error = ecc_repo_commit(out, repo, &cs, validate, payload);
out:
	repo_changeset_clear(&cs);
	git_tree_free(target_tree);
	git_tree_free(head_tree);
	return error;
}

/* Reading files */

/* The blob at `path` of `root`, copied with a trailing NUL. */
static int
repo_read_in_tree(char **out, size_t *outlen, ecc_repo *repo,
    git_tree *root, const char *path, size_t max)
{
	int error = ECC_ERROR, rc;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	size_t len;
	char *buf;

	if ((error = ecc_path_validate(path, NULL)) < 0)
		goto out;
	rc = git_tree_entry_bypath(&e, root, path);
	if (rc == GIT_ENOTFOUND || (rc == 0 &&
	    !repo_mode_is_file(git_tree_entry_filemode(e)))) {
		error = ecc_error_set(ECC_ENOTFOUND, "%s: no such file", path);
		goto out;
	}
	if (rc < 0) {
		error = ecc_error_set_git(ECC_ERROR, path);
		goto out;
	}
	if (git_blob_lookup(&blob, repo->git, git_tree_entry_id(e)) < 0) {
		error = ecc_error_set_git(ECC_ERROR, path);
		goto out;
	}
	if (git_blob_rawsize(blob) > (git_object_size_t)max) {
		error = ecc_error_set(ECC_ETOOBIG,
		    "%s: larger than %zu bytes", path, max);
		goto out;
	}
	len = (size_t)git_blob_rawsize(blob);
	buf = ecc_malloc(len + 1);
	memcpy(buf, git_blob_rawcontent(blob), len);
	buf[len] = '\0';
	*out = buf;
	if (outlen)
		*outlen = len;
	error = 0;
out:
	git_blob_free(blob);
	git_tree_entry_free(e);
	return error;
}

int
ecc_repo_read(char **out, size_t *outlen, ecc_repo *repo, int64_t rev,
    const char *path, size_t max)
{
	int error;
	git_tree *tree = NULL;

	*out = NULL;
	if (outlen)
		*outlen = 0;
	if ((error = repo_tree_at(&tree, repo, rev)) < 0)
		return error;
	error = repo_read_in_tree(out, outlen, repo, tree, path, max);
	git_tree_free(tree);
	return error;
}

int
ecc_repo_tree_read(char **out, size_t *outlen, ecc_repo *repo,
    const char *tree_id, const char *path, size_t max)
{
	int error;
	git_tree *tree = NULL;

	*out = NULL;
	if (outlen)
		*outlen = 0;
	if ((error = repo_tree_by_hex(&tree, repo, tree_id)) < 0)
		return error;
	error = repo_read_in_tree(out, outlen, repo, tree, path, max);
	git_tree_free(tree);
	return error;
}

/* Listing */

struct repo_list {
	git_odb *odb;
	const char *base;            /* "" or "dir/" */
	struct ecc_entry *v;
	size_t n, cap;
	int error;
};

static int
repo_list_add(struct repo_list *st, const char *path, const git_oid *id,
    unsigned mode)
{
	struct ecc_entry *e;
	size_t size;
	git_object_t type;

	if (git_odb_read_header(&size, &type, st->odb, id) < 0)
		return ecc_error_set_git(ECC_ERROR, path);
	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 64;
		st->v = ecc_realloc(st->v, st->cap * sizeof(*st->v));
	}
	e = &st->v[st->n++];
	e->path = ecc_strdup(path);
	e->mode = mode;
	e->size = size;
	git_oid_tostr(e->blob, sizeof(e->blob), id);
	return 0;
}

static int
repo_list_cb(const char *root, const git_tree_entry *e, void *payload)
{
	struct repo_list *st = payload;
	unsigned mode = (unsigned)git_tree_entry_filemode(e);
	char *path;

	if (!repo_mode_is_file(mode))
		return 0;
	path = ecc_printf("%s%s%s", st->base, root, git_tree_entry_name(e));
	st->error = repo_list_add(st, path, git_tree_entry_id(e), mode);
	free(path);
	return st->error < 0 ? -1 : 0;
}

static int
repo_entry_cmp(const void *a, const void *b)
{
	const struct ecc_entry *x = a, *y = b;

	return strcmp(x->path, y->path);
}

static int
repo_list_tree(struct ecc_entry_list *out, ecc_repo *repo, git_tree *root,
    const char *prefix)
{
	int error = ECC_ERROR;
	struct repo_list st;
	struct repo_slot slot;
	git_tree *sub = NULL;
	char *base = NULL;

	memset(&st, 0, sizeof(st));
	out->v = NULL;
	out->n = 0;
	if ((error = repo_prefix_check(prefix)) < 0)
		goto out;
	if (git_repository_odb(&st.odb, repo->git) < 0) {
		error = ecc_error_set_git(ECC_ERROR, repo->path);
		goto out;
	}
	if ((error = repo_slot_at(&slot, root, prefix)) < 0)
		goto out;
	if (repo_mode_is_file(slot.mode)) {
		if ((error = repo_list_add(&st, prefix, &slot.id,
		    slot.mode)) < 0)
			goto out;
	} else if (slot.mode == GIT_FILEMODE_TREE) {
		if (git_tree_lookup(&sub, repo->git, &slot.id) < 0) {
			error = ecc_error_set_git(ECC_ERROR, repo->path);
			goto out;
		}
		base = prefix && *prefix ? ecc_printf("%s/", prefix) :
		    ecc_strdup("");
		st.base = base;
		if (git_tree_walk(sub, GIT_TREEWALK_PRE, repo_list_cb,
		    &st) < 0) {
			error = st.error ? st.error :
			    ecc_error_set_git(ECC_ERROR, repo->path);
			goto out;
		}
	}
	if (st.n > 1)
		qsort(st.v, st.n, sizeof(*st.v), repo_entry_cmp);
	out->v = st.v;
	out->n = st.n;
	st.v = NULL;
	st.n = 0;
	error = 0;
out:
	while (st.n > 0)
		free(st.v[--st.n].path);
	free(st.v);
	free(base);
	git_tree_free(sub);
	git_odb_free(st.odb);
	return error;
}

int
ecc_repo_list(struct ecc_entry_list *out, ecc_repo *repo, int64_t rev,
    const char *prefix)
{
	int error;
	git_tree *tree = NULL;

	out->v = NULL;
	out->n = 0;
	if ((error = repo_tree_at(&tree, repo, rev)) < 0)
		return error;
	error = repo_list_tree(out, repo, tree, prefix);
	git_tree_free(tree);
	return error;
}

int
ecc_repo_tree_list(struct ecc_entry_list *out, ecc_repo *repo,
    const char *tree_id, const char *prefix)
{
	int error;
	git_tree *tree = NULL;

	out->v = NULL;
	out->n = 0;
	if ((error = repo_tree_by_hex(&tree, repo, tree_id)) < 0)
		return error;
	error = repo_list_tree(out, repo, tree, prefix);
	git_tree_free(tree);
	return error;
}

/* Export */

struct repo_export {
	ecc_repo *repo;
	const char *dir;
	int error;
};

static int
repo_export_file(struct repo_export *st, const char *rel,
    const git_tree_entry *e)
{
	int error = ECC_ERROR, fd = -1;
	git_blob *blob = NULL;
	char *full = ecc_printf("%s/%s", st->dir, rel);
	mode_t mode = git_tree_entry_filemode(e) ==
	    GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;

	if (git_blob_lookup(&blob, st->repo->git, git_tree_entry_id(e)) < 0) {
		error = ecc_error_set_git(ECC_ERROR, rel);
		goto out;
	}
	fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot create %s",
		    full);
		goto out;
	}
	if ((error = ecc_write_all(fd, git_blob_rawcontent(blob),
	    (size_t)git_blob_rawsize(blob))) < 0)
		goto out;
	if (fchmod(fd, mode) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot chmod %s", full);
		goto out;
	}
	error = 0;
out:
	if (fd >= 0 && close(fd) < 0 && error == 0)
		error = ecc_error_set_errno(ECC_ERROR, "cannot close %s", full);
	git_blob_free(blob);
	free(full);
	return error;
}

static int
repo_export_cb(const char *root, const git_tree_entry *e, void *payload)
{
	struct repo_export *st = payload;
	unsigned mode = (unsigned)git_tree_entry_filemode(e);
	char *rel = ecc_printf("%s%s", root, git_tree_entry_name(e));
	char *full = NULL;

	if ((st->error = ecc_path_validate(rel, NULL)) < 0)
		goto out;
	if (mode == GIT_FILEMODE_TREE) {
		full = ecc_printf("%s/%s", st->dir, rel);
		if (mkdir(full, 0755) < 0 && errno != EEXIST)
			st->error = ecc_error_set_errno(ECC_ERROR,
			    "cannot create %s", full);
	} else if (repo_mode_is_file(mode))
		st->error = repo_export_file(st, rel, e);
out:
	free(full);
	free(rel);
	return st->error < 0 ? -1 : 0;
}

int
ecc_repo_tree_export(ecc_repo *repo, const char *tree_id, const char *dir)
{
	int error;
	git_tree *tree = NULL;
	struct repo_export st;

	if ((error = repo_tree_by_hex(&tree, repo, tree_id)) < 0)
		return error;
	if ((error = ecc_mkdir_p(dir, 0755)) < 0)
		goto out;
	memset(&st, 0, sizeof(st));
	st.repo = repo;
	st.dir = dir;
	if (git_tree_walk(tree, GIT_TREEWALK_PRE, repo_export_cb, &st) < 0) {
		error = st.error ? st.error :
		    ecc_error_set_git(ECC_ERROR, dir);
		goto out;
	}
	error = 0;
out:
	git_tree_free(tree);
	return error;
}

/* History */

int
ecc_repo_revinfo(struct ecc_revinfo *out, ecc_repo *repo, int64_t rev)
{
	int error;
	git_commit *commit = NULL;
	const git_signature *author;
	const char *msg;

	memset(out, 0, sizeof(*out));
	if ((error = repo_commit_at(&commit, repo, rev)) < 0)
		return error;
	author = git_commit_author(commit);
	msg = git_commit_message(commit);
	out->revision = rev;
	git_oid_tostr(out->commit, sizeof(out->commit), &repo->revs[rev]);
	out->author = ecc_strdup(author && author->name ? author->name : "");
	out->message = ecc_strdup(msg ? msg : "");
	out->time = (int64_t)git_commit_time(commit);
	git_commit_free(commit);
	return 0;
}

/* What is at `path` at revision `rev`. */
static int
repo_slot_at_rev(struct repo_slot *out, ecc_repo *repo, int64_t rev,
    const char *path)
{
	int error;
	git_tree *tree = NULL;

	if ((error = repo_tree_at(&tree, repo, rev)) < 0)
		return error;
	error = repo_slot_at(out, tree, path);
	git_tree_free(tree);
	return error;
}

int
ecc_repo_log(struct ecc_revinfo **out, size_t *n, ecc_repo *repo,
    int64_t from, size_t limit, const char *path)
{
	int error = ECC_ERROR;
	struct ecc_revinfo *v = NULL;
	size_t nv = 0, cap = 0;
	struct repo_slot cur, prev;
	int64_t r;
	int filter = path && *path;

	*out = NULL;
	*n = 0;
	if (from < 0)
		from = ecc_repo_head(repo);
	if ((error = repo_rev_check(repo, from)) < 0 ||
	    (error = repo_prefix_check(path)) < 0)
		goto out;
	if (filter && (error = repo_slot_at_rev(&cur, repo, from, path)) < 0)
		goto out;
	for (r = from; r >= 0 && (limit == 0 || nv < limit); r--) {
		if (filter) {
			if (r == 0)
				break;
			if ((error = repo_slot_at_rev(&prev, repo, r - 1,
			    path)) < 0)
				goto out;
			if (repo_slot_equal(&cur, &prev))
				continue;
			cur = prev;
		}
		if (nv == cap) {
			cap = cap ? cap * 2 : 16;
			v = ecc_realloc(v, cap * sizeof(*v));
		}
		if ((error = ecc_repo_revinfo(&v[nv], repo, r)) < 0)
			goto out;
		nv++;
	}
	*out = v;
	*n = nv;
	v = NULL;
	nv = 0;
	error = 0;
out:
	ecc_revinfo_array_free(v, nv);
	return error;
}

static int
repo_pathchange_cmp(const void *a, const void *b)
{
	const struct ecc_pathchange *x = a, *y = b;

	return strcmp(x->path, y->path);
}

int
ecc_repo_changes(struct ecc_pathchange **out, size_t *n, ecc_repo *repo,
    int64_t from, int64_t to, const char *prefix)
{
	int error = ECC_ERROR;
	git_diff *diff = NULL;
	const git_diff_delta *d;
	struct ecc_pathchange *v = NULL;
	size_t nv = 0, i, nd;
	const char *p;
	int filter = prefix && *prefix;

	*out = NULL;
	*n = 0;
	if ((error = repo_prefix_check(prefix)) < 0 ||
	    (error = repo_diff_new(&diff, repo, from, to, &prefix,
	    filter ? 1 : 0)) < 0)
		goto out;
	nd = git_diff_num_deltas(diff);
	v = ecc_calloc(nd ? nd : 1, sizeof(*v));
	for (i = 0; i < nd; i++) {
		d = git_diff_get_delta(diff, i);
		p = d->status == GIT_DELTA_DELETED ? d->old_file.path :
		    d->new_file.path;
		if (filter && !ecc_path_has_prefix(p, prefix))
			continue;
		/* A type change split into delete + add is one modification. */
		if (nv > 0 && strcmp(v[nv - 1].path, p) == 0) {
			v[nv - 1].action = 'M';
			continue;
		}
		v[nv].path = ecc_strdup(p);
		v[nv].action = d->status == GIT_DELTA_ADDED ? 'A' :
		    d->status == GIT_DELTA_DELETED ? 'D' : 'M';
		nv++;
	}
	if (nv > 1)
		qsort(v, nv, sizeof(*v), repo_pathchange_cmp);
	*out = v;
	*n = nv;
	v = NULL;
	nv = 0;
	error = 0;
out:
	ecc_pathchange_array_free(v, nv);
	git_diff_free(diff);
	return error;
}

int
ecc_repo_diff(char **out, size_t *outlen, ecc_repo *repo, int64_t from,
    int64_t to, const char *prefix)
{
	int error = ECC_ERROR;
	git_diff *diff = NULL;
	git_buf buf = GIT_BUF_INIT;
	char *text;
	int filter = prefix && *prefix;

	*out = NULL;
	if (outlen)
		*outlen = 0;
	if ((error = repo_prefix_check(prefix)) < 0 ||
	    (error = repo_diff_new(&diff, repo, from, to, &prefix,
	    filter ? 1 : 0)) < 0)
		goto out;
	if (git_diff_to_buf(&buf, diff, GIT_DIFF_FORMAT_PATCH) < 0) {
		error = ecc_error_set_git(ECC_ERROR, "cannot format the diff");
		goto out;
	}
	text = ecc_malloc(buf.size + 1);
	if (buf.size)
		memcpy(text, buf.ptr, buf.size);
	text[buf.size] = '\0';
	*out = text;
	if (outlen)
		*outlen = buf.size;
	error = 0;
out:
	git_buf_dispose(&buf);
	git_diff_free(diff);
	return error;
}

/* Last change per prefix set */

static char *
repo_lc_key(const char *const *prefixes, size_t n)
{
	size_t i, len = 1;
	char *key, *p;

	for (i = 0; i < n; i++)
		len += strlen(prefixes[i]) + 1;
	key = p = ecc_malloc(len);
	for (i = 0; i < n; i++) {
		len = strlen(prefixes[i]);
		memcpy(p, prefixes[i], len);
		p += len;
		*p++ = '\n';
	}
	*p = '\0';
	return key;
}

static struct repo_lc_cache *
repo_lc_get(ecc_repo *repo, const char *const *prefixes, size_t n)
{
	struct repo_lc_cache *c, **pp;
	char *key = repo_lc_key(prefixes, n);
	size_t i;

	for (c = repo->caches; c; c = c->next) {
		if (strcmp(c->key, key) == 0) {
			free(key);
			return c;
		}
	}
	if (repo->ncaches >= REPO_LC_CACHE_MAX) {
		/* Drop the oldest. */
		for (pp = &repo->caches; (*pp)->next; pp = &(*pp)->next)
			;
		repo_lc_cache_free(*pp);
		*pp = NULL;
		repo->ncaches--;
	}
	c = ecc_calloc(1, sizeof(*c));
	c->key = key;
	c->nprefixes = n;
	c->prefixes = ecc_calloc(n, sizeof(*c->prefixes));
	for (i = 0; i < n; i++)
		c->prefixes[i] = ecc_strdup(prefixes[i]);
	c->slots = ecc_calloc(n, sizeof(*c->slots));
	c->next = repo->caches;
	repo->caches = c;
	repo->ncaches++;
	return c;
}

/* Extend `c` up to and including revision `rev`. */
static int
repo_lc_extend(ecc_repo *repo, struct repo_lc_cache *c, int64_t rev)
{
	int error = ECC_ERROR;
	git_tree *tree = NULL;
	struct repo_slot *slots = ecc_calloc(c->nprefixes, sizeof(*slots));
	size_t r, i;
	int changed;

	for (r = c->n; r <= (size_t)rev; r++) {
		if ((error = repo_tree_at(&tree, repo, (int64_t)r)) < 0)
			goto out;
		changed = 0;
		for (i = 0; i < c->nprefixes; i++) {
			if ((error = repo_slot_at(&slots[i], tree,
			    c->prefixes[i])) < 0)
				goto out;
			if (!repo_slot_equal(&slots[i], &c->slots[i]))
				changed = 1;
		}
		git_tree_free(tree);
		tree = NULL;
		/* The cache moves only once revision r is fully known. */
		memcpy(c->slots, slots, c->nprefixes * sizeof(*slots));
		if (c->n == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 64;
			c->last = ecc_realloc(c->last,
			    c->cap * sizeof(*c->last));
		}
		c->last[r] = (r == 0 || changed) ? (int64_t)r : c->last[r - 1];
		c->n = r + 1;
	}
	error = 0;
out:
	free(slots);
	git_tree_free(tree);
	return error;
}

int
ecc_repo_last_change(int64_t *out, ecc_repo *repo, int64_t rev,
    const char *const *prefixes, size_t nprefixes)
{
	int error;
	struct repo_lc_cache *c;
	size_t i;

	*out = 0;
	if ((error = repo_rev_check(repo, rev)) < 0)
		return error;
	if (nprefixes == 0 || !prefixes)
		return ecc_error_set(ECC_EINVALID, "last change: no prefixes");
	for (i = 0; i < nprefixes; i++) {
		if (!prefixes[i])
			return ecc_error_set(ECC_EINVALID,
			    "last change: prefix %zu is missing", i);
		if ((error = repo_prefix_check(prefixes[i])) < 0)
			return error;
	}
	c = repo_lc_get(repo, prefixes, nprefixes);
	if ((size_t)rev >= c->n &&
	    (error = repo_lc_extend(repo, c, rev)) < 0)
		return error;
	*out = c->last[rev];
	return 0;
}
