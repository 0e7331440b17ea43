/*
 * wc.h - an administrator's working copy ("checkout") of one view.
 *
 * A checkout DIR holds the view's files as the view lays them out, plus:
 *
 *   DIR/.eccfg/meta.json      {"format": 1, "server", "ca_file",
 *                              "ca_fingerprint", "view", "revision",
 *                              "username", "deleted": [view paths],
 *                              "conflicts": [view paths]}
 *   DIR/.eccfg/manifest.json  the manifest of the base revision
 *                             (manifest.h); its "revision" is the
 *                             checkout's revision
 *   DIR/.eccfg/base/XX/YY...  the pristine base files, stored by SHA-256
 *                             (content addressed, written once, never
 *                             modified), so status, diff and revert work
 *                             offline and pull can merge three ways
 *   DIR/.eccfg/next/          while a pull runs: the complete new tree
 *   DIR/.eccfg/switch.json    the journal of a switch in progress
 *   DIR/.eccfg/trash/         files the switch removes
 *
 * Every metadata write is atomic (ecc_file_write_atomic).  The manifest is
 * written before meta.json; when the two disagree after a crash, the
 * manifest's revision wins.
 *
 * A pull builds the complete new tree in DIR/.eccfg/next (fsynced), writes
 * the journal atomically, then moves the new tree into DIR file by file
 * with rename(2) (files that leave go to the trash first), then the new
 * base store, manifest.json and meta.json; then it removes the journal,
 * the trash and next/.  DIR and every directory present in both trees
 * stay (same inode), so a shell inside the checkout sees the new files.
 * Every journal operation is idempotent: wc_open() replays an interrupted
 * switch from the start, so a crash leaves the complete old tree (no
 * journal yet) or, after that recovery, the complete new one.  It also
 * finishes or undoes a DIR.new/DIR.old switch left by an older eccfg.
 * Test hook: with ECCFG_TEST_CRASH_AFTER=N in the environment, eccfg
 * _exit(99)s after N journal operations (a simulated crash).
 * Commands hold a lock on DIR/.eccfg (flock): shared for reading,
 * exclusive for changing; a checkout busy for more than a second is
 * reported, not waited for.
 */
#ifndef ECCFG_WC_H
#define ECCFG_WC_H

#include <stddef.h>
#include <stdint.h>

#include "ecconfig.h"
#include "client.h"

#define WC_META_DIR ".eccfg"

/* A sorted set of unique strings (owned). */
struct wc_strset {
	char **v;
	size_t n;
};

/* 1 when `s` holds `str`. */
int wc_strset_has(const struct wc_strset *s, const char *str);
/* Add a copy of `str` (no-op when present). */
void wc_strset_add(struct wc_strset *s, const char *str);
/* Remove `str`; returns 1 when it was there. */
int wc_strset_remove(struct wc_strset *s, const char *str);
void wc_strset_clear(struct wc_strset *s);

struct wc {
	char *root;                   /* absolute, physical path of DIR */
	char *server;                 /* recorded at checkout; may be NULL */
	char *ca_file;
	char *ca_fingerprint;
	char *view;                   /* subcluster name or "all" */
	char *username;
	int64_t revision;             /* base revision (= base->revision) */
	struct ecc_manifest *base;    /* manifest of the base revision */
	struct wc_strset deleted;     /* scheduled deletions (eccfg delete) */
	struct wc_strset conflicts;   /* conflicted paths (pull --manual) */
	struct ecc_limits lim;        /* defaults */
	int lock_fd;                  /* open on DIR/.eccfg, flock'ed */
};

enum wc_lock {
	WC_LOCK_SHARED,               /* status, diff */
	WC_LOCK_EXCLUSIVE,            /* everything that changes the checkout */
};

/* Find the checkout containing `path` (a file or directory operand, which
 * need not exist) or, when `path` is NULL, the current directory, by
 * walking up to the first directory holding .eccfg/meta.json.  Finishes
 * an interrupted pull, takes the lock and loads the metadata.
 * ECC_ENOTFOUND "not inside an eccfg checkout" when there is none,
 * ECC_EAGAIN when another eccfg holds the lock.  *out is owned. */
int wc_open(struct wc **out, const char *path, enum wc_lock lock);

/* Release the lock and free everything; accepts NULL. */
void wc_free(struct wc *wc);

/* Write meta.json (and first manifest.json when `with_manifest`). */
int wc_save(struct wc *wc, int with_manifest);

/* Where the checkout says its server is (borrowed strings). */
void wc_server_hint(struct eccfg_server_hint *out, const struct wc *wc);

/* Turn a command-line path (relative to the current directory, or
 * absolute) into a path relative to the checkout root; "" is the root
 * itself.  ECC_EINVALID when it lies outside the checkout or inside its
 * metadata.  *out is malloc'd. */
int wc_resolve_path(char **out, const struct wc *wc, const char *arg);

/* wc_resolve_path() for each of `argc` operands; *out is a malloc'd
 * array of `argc` malloc'd paths, freed with ecc_strv_free(). */
int wc_resolve_paths(char ***out, const struct wc *wc, int argc,
    char *const *argv);

/* The repository paths that `rel`, a path relative to the checkout root
 * (wc_resolve_path(); "" is the root), stands for: *out is a malloc'd
 * array of *n malloc'd paths (ecc_strv_free()).  In an --all checkout
 * the view path is the repository path, and the root is everything (*n
 * is 0).  In a subcluster checkout of S, global/... stays, anything else
 * lies below S/ (default/a.conf is S/default/a.conf, a node's folder
 * mta1 is S/mta1), and the root is the two folders global and S. */
int wc_view_to_repo(char ***out, size_t *n, const struct wc *wc,
    const char *rel);

/* The repository paths named by the path operands of a server-side
 * command (log, cat, rollback, diff -r).  When the first operand, or
 * else the current directory, lies in a checkout, that checkout is
 * opened with a shared lock into *wc (free it with wc_free()) and every
 * operand is a view path there, relative to the current directory or
 * absolute, mapped by wc_view_to_repo() (ECC_EINVALID for one outside
 * the checkout); one that stands for everything (the root of an --all
 * checkout) makes *n 0.  Outside any checkout *wc is NULL and each
 * operand must itself be a repository path (eccfg_check_repo_path()).
 * *out as for wc_view_to_repo(); *n is 0 with no operands. */
int wc_repo_operands(char ***out, size_t *n, struct wc **wc, int argc,
    char *const *argv);

/* 1 when the process's current directory lies in the checkout. */
int wc_cwd_is_inside(const struct wc *wc);

/* root + "/" + rel, malloc'd ("" gives the root). */
char *wc_path(const struct wc *wc, const char *rel);

/* The base content of a manifest entry, checked against its SHA-256.
 * *out is malloc'd (NUL-terminated). */
int wc_read_base(char **out, size_t *outlen, const struct wc *wc,
    const struct ecc_manifest_file *f);

/* A working file, at most lim.max_file_size bytes; *mode gets 0644 or
 * 0755 (optional). */
int wc_read_file(char **out, size_t *outlen, unsigned *mode,
    const struct wc *wc, const char *rel);

/* Status codes, Subversion's where they exist. */
enum {
	WC_CLEAN = ' ',
	WC_MODIFIED = 'M',            /* content or mode differs from base */
	WC_UNVERSIONED = '?',         /* on disk, not in the base */
	WC_MISSING = '!',             /* in the base, gone from disk */
	WC_DELETED = 'D',             /* scheduled for deletion */
	WC_CONFLICT = 'C',            /* conflict markers written by pull */
	WC_OBSTRUCTED = '~',          /* in the base, not a regular file */
	WC_IGNORED = 'I',             /* a name the repository refuses */
};

enum wc_kind {
	WC_KIND_NONE,                 /* nothing on disk */
	WC_KIND_FILE,                 /* regular file */
	WC_KIND_OTHER,                /* symlink, directory, device... */
};

struct wc_entry {
	char *path;                   /* relative to the root */
	char code;                    /* WC_* above */
	enum wc_kind kind;
	unsigned mode;                /* 0644/0755 for files, else 0 */
	uint64_t size;                /* bytes, for files */
	const struct ecc_manifest_file *base;   /* borrowed; NULL if none */
};

struct wc_status {
	struct wc_entry *v;           /* sorted by path */
	size_t n;
	char **empty_dirs;            /* directories without any entry */
	size_t nempty_dirs;
};

/* Compare the working tree with the base: one entry for every base file
 * (WC_CLEAN included) and for every other file or symlink on disk. */
int wc_status_scan(struct wc_status *out, struct wc *wc);
void wc_status_clear(struct wc_status *st);

/* The entry for `path`, or NULL. */
const struct wc_entry *wc_status_find(const struct wc_status *st,
    const char *path);

/* 1 when `path` is at or below one of `prefixes` (all match when n is 0). */
int wc_path_matches(const char *path, char *const *prefixes, size_t n);

/* Progress of checkout and pull: code 'A', 'U', 'D', 'G' (merged) or 'C'
 * and the path relative to the root. */
typedef void (*wc_notify_cb)(char code, const char *path, void *payload);

/* Check out `view` at `rev` (< 0: head) into `dir`, which must not exist
 * or be an empty directory: the snapshot is extracted and verified in
 * DIR.new, then renamed into place.  `username` (may be NULL) is
 * recorded.  *revision gets the revision checked out. */
int wc_checkout(int64_t *revision, const char *dir, struct eccfg_client *c,
    const char *view, int64_t rev, const char *username,
    wc_notify_cb notify, void *payload);

enum wc_merge {
	WC_MERGE_REFUSE,              /* overlap: change nothing */
	WC_MERGE_MINE,                /* overlap: keep the local file */
	WC_MERGE_THEIRS,              /* overlap: take the incoming file */
	WC_MERGE_MANUAL,              /* overlap: write conflict markers */
};

/* The server's head revision (GET /v1/health). */
int wc_head(int64_t *out, struct eccfg_client *c);

/* Bring the checkout to `target` (< 0: head): fetch a delta since the
 * base (or a full snapshot), merge local changes, build the new tree
 * in DIR/.eccfg/next and switch in place (see above).  *changed (optional) is 1 when any file
 * changed.  With WC_MERGE_REFUSE and an overlap, notify('C') is called
 * for each overlapping path, nothing changes and ECC_ECONFLICT is
 * returned.  `wc` must be locked exclusively; it describes the old tree
 * afterwards and should be freed. */
int wc_update(int *changed, struct wc *wc, struct eccfg_client *c,
    int64_t target, enum wc_merge mode, wc_notify_cb notify,
    void *payload);

/* One file a commit carried, by view path. */
struct wc_committed {
	const char *path;
	int deleted;
	const char *data;             /* written content (not deleted) */
	size_t len;
	unsigned mode;                /* 0644 / 0755 */
};

/* Record a commit in the base: the committed files' base copies become
 * their committed content.  When `revision` is the base revision + 1 the
 * whole checkout moves to it; otherwise (others committed meanwhile)
 * the caller should run wc_update() to `revision`, and when that is
 * impossible call this with `revision` < 0: only the files move and the
 * checkout keeps its revision.  `commit` is the new revision's commit
 * id (40 hex; ignored when `revision` < 0). */
int wc_record_commit(struct wc *wc, const struct wc_committed *files,
    size_t n, int64_t revision, const char *commit);

#endif
