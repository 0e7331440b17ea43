/*
 * repo.h - the revision store: a bare git repository (libgit2) with one
 * linear branch, addressed by revision numbers.
 *
 * Revision N is the N-th commit from the root on refs/heads/main; r0 is a
 * commit of the empty tree made by ecc_repo_init().  An ecc_repo keeps an
 * in-memory index revision -> commit id, built once at open and extended
 * by ecc_repo_refresh(), so every lookup by number is O(1).
 *
 * Threads: an ecc_repo and everything it returns belong to one thread at a
 * time (libgit2 objects are not shared).  Several ecc_repo handles, in one
 * process or several, may open the same path; commits are serialized by
 * the caller (the daemon's single writer thread) and made safe against
 * other processes by libgit2's ref lock.
 *
 * Durability: objects and refs are fsynced (GIT_OPT_ENABLE_FSYNC_GITDIR)
 * before ecc_repo_commit() returns.
 */
#ifndef ECC_REPO_H
#define ECC_REPO_H

#include <stddef.h>
#include <stdint.h>

#define ECC_OID_HEX_LEN 41     /* 40 hex digits + NUL */
#define ECC_REPO_BRANCH "refs/heads/main"

typedef struct ecc_repo ecc_repo;

enum ecc_change_action {
	ECC_CHANGE_WRITE = 1,     /* create or replace a file */
	ECC_CHANGE_DELETE = 2,    /* remove a file (a missing file is a
	                             conflict when it existed at base) */
};

struct ecc_change {
	char *path;               /* repository path, validated */
	enum ecc_change_action action;
	unsigned mode;            /* 0100644 or 0100755 (WRITE) */
	char *data;               /* content (WRITE), owned */
	size_t len;
};

/* A change set against a base revision.  Owned strings; free with
 * ecc_changeset_free() (changeset.h). */
struct ecc_changeset {
	int64_t base;
	char *author;             /* authenticated account name */
	char *message;
	struct ecc_change *changes;
	size_t nchanges;
};

struct ecc_commit_result {
	int64_t revision;             /* new head (or unchanged head) */
	char commit[ECC_OID_HEX_LEN];
	int unchanged;                /* 1: the tree equals the head's, no
	                                 revision was made */
	char **conflicts;             /* ECC_ECONFLICT: out-of-date paths */
	size_t nconflicts;
	char *output;                 /* ECC_EREJECTED: validator output */
};

void ecc_commit_result_clear(struct ecc_commit_result *r);

struct ecc_entry {
	char *path;                   /* full repository path */
	unsigned mode;                /* 0100644 / 0100755 */
	uint64_t size;
	char blob[ECC_OID_HEX_LEN];
};

struct ecc_entry_list {
	struct ecc_entry *v;
	size_t n;
};

void ecc_entry_list_clear(struct ecc_entry_list *l);

struct ecc_revinfo {
	int64_t revision;
	char commit[ECC_OID_HEX_LEN];
	char *author;
	char *message;
	int64_t time;                 /* seconds since the epoch */
};

void ecc_revinfo_clear(struct ecc_revinfo *r);
void ecc_revinfo_array_free(struct ecc_revinfo *v, size_t n);

struct ecc_pathchange {
	char *path;
	char action;                  /* 'A' added, 'M' modified, 'D' deleted */
};

void ecc_pathchange_array_free(struct ecc_pathchange *v, size_t n);

/* Called with the candidate tree after conflict checks and before the
 * commit is written.  Return 0 to accept; ECC_EREJECTED (with *output set
 * to a malloc'd explanation, optional) to refuse. */
typedef int (*ecc_repo_validate_cb)(ecc_repo *repo, const char *tree_id,
    const struct ecc_changeset *cs, char **output, void *payload);

/* Cluster mode: what a new revision adds, handed to the publish hook
 * after its objects are written and before the branch moves. */
struct ecc_publish {
	int64_t revision;
	const char *commit;           /* 40 hex */
	const char *parent;           /* NULL for r0 */
	const char *author;
	const char *message;
	int64_t time;                 /* commit time, epoch seconds */
	const void *pack;             /* git pack of the new objects only */
	size_t pack_len;
};

/* Publish `p` to the shared log.  0: the branch moves to it.  A negative
 * code aborts the commit with that code; ECC_ECONFLICT means another
 * manager took that revision number: the hook should have imported what
 * it missed (ecc_repo_import) so that the caller can retry. */
typedef int (*ecc_repo_publish_cb)(ecc_repo *repo,
    const struct ecc_publish *p, void *payload);

/* Install (or, with NULL, remove) the publish hook of this handle. */
void ecc_repo_set_publish(ecc_repo *repo, ecc_repo_publish_cb cb,
    void *payload);

/* Call `cb` for revision `rev` as it is (to publish r0 and r1 of a new
 * cluster). */
int ecc_repo_publish_existing(ecc_repo *repo, int64_t rev,
    ecc_repo_publish_cb cb, void *payload);

/* Add revision `rev` from the shared log: index `pack` into the object
 * database, check that `commit_hex` is in it and follows the head (r0: a
 * root commit of the empty tree), and move the branch, durably.  A
 * revision already present with that commit is fine (0); a different
 * commit, or a gap, is ECC_EINVALID. */
int ecc_repo_import(ecc_repo *repo, int64_t rev, const char *commit_hex,
    const void *pack, size_t len);

/* A bare repository with no revision at all (a manager joining a
 * cluster fills it with ecc_repo_import, r0 first).  ecc_repo_open
 * accepts it, with ecc_repo_head() = -1. */
int ecc_repo_init_empty(const char *path);

/* Create a bare repository at `path` holding r0 (the empty tree).
 * ECC_EEXISTS if a repository is already there. */
int ecc_repo_init(const char *path);

/* Open; ECC_ENOTFOUND if no repository, ECC_EINVALID if the history is
 * not linear from r0. */
int ecc_repo_open(ecc_repo **out, const char *path);
void ecc_repo_free(ecc_repo *repo);

/* Pick up revisions committed through other handles. */
int ecc_repo_refresh(ecc_repo *repo);

/* Head revision number as of the last open/refresh/commit. */
int64_t ecc_repo_head(const ecc_repo *repo);

int ecc_repo_commit_id(char out[ECC_OID_HEX_LEN], ecc_repo *repo,
    int64_t rev);
int ecc_repo_tree_id(char out[ECC_OID_HEX_LEN], ecc_repo *repo, int64_t rev);

/* Apply a change set.  Conflict rule: if any path of the set differs
 * between cs->base and the head (content, mode or existence), nothing is
 * written and ECC_ECONFLICT is returned with out->conflicts listing those
 * paths.  Deleting a path that does not exist at the head is
 * ECC_ENOTFOUND naming it.  Cost is O(changed paths x depth).  On success
 * out->revision/commit name the new head.  ECC_ECONFLICT with no
 * conflicts means another handle moved the head meanwhile: retry.  `out`
 * is overwritten; release it with ecc_commit_result_clear(). */
int ecc_repo_commit(struct ecc_commit_result *out, ecc_repo *repo,
    const struct ecc_changeset *cs, ecc_repo_validate_cb validate,
    void *payload);

/* A new revision whose tree equals `target`'s, or, with paths, whose
 * files under each of `paths` equal target's (others untouched).  Goes
 * through the same validation as a commit. */
int ecc_repo_rollback(struct ecc_commit_result *out, ecc_repo *repo,
    int64_t target, const char *const *paths, size_t npaths,
    const char *author, const char *message,
    ecc_repo_validate_cb validate, void *payload);

/* Read one file at a revision (ECC_ENOTFOUND, ECC_ETOOBIG over max). */
int ecc_repo_read(char **out, size_t *outlen, ecc_repo *repo, int64_t rev,
    const char *path, size_t max);
int ecc_repo_tree_read(char **out, size_t *outlen, ecc_repo *repo,
    const char *tree_id, const char *path, size_t max);

/* Every file at or below `prefix` ("" or NULL for all), sorted by path. */
int ecc_repo_list(struct ecc_entry_list *out, ecc_repo *repo, int64_t rev,
    const char *prefix);
int ecc_repo_tree_list(struct ecc_entry_list *out, ecc_repo *repo,
    const char *tree_id, const char *prefix);

/* Write the files of a tree into `dir` (created), for check commands. */
int ecc_repo_tree_export(ecc_repo *repo, const char *tree_id,
    const char *dir);

int ecc_repo_revinfo(struct ecc_revinfo *out, ecc_repo *repo, int64_t rev);

/* Newest first, starting at `from` (head if < 0), at most `limit`
 * entries (0: no limit); with `path`, only revisions that changed
 * something at or below it. */
int ecc_repo_log(struct ecc_revinfo **out, size_t *n, ecc_repo *repo,
    int64_t from, size_t limit, const char *path);

/* Paths that differ between two revisions, at or below `prefix`, sorted. */
int ecc_repo_changes(struct ecc_pathchange **out, size_t *n, ecc_repo *repo,
    int64_t from, int64_t to, const char *prefix);

/* Unified diff (git format, a/ b/ prefixes) between two revisions. */
int ecc_repo_diff(char **out, size_t *outlen, ecc_repo *repo, int64_t from,
    int64_t to, const char *prefix);

/* The last revision <= rev at which anything at or below any of
 * `prefixes` changed (0 if never).  Amortized O(1) per revision: results
 * are cached per prefix set. */
int ecc_repo_last_change(int64_t *out, ecc_repo *repo, int64_t rev,
    const char *const *prefixes, size_t nprefixes);

/* The repository path this handle opened. */
const char *ecc_repo_path(const ecc_repo *repo);

#endif
