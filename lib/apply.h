/*
 * apply.h - atomic apply of a snapshot or delta archive (snapshot.h) to a
 * node's configuration directory.
 *
 * Layout: STATE_DIR/snapshots/rN/ holds the complete tree of revision N
 * (with .ecconfig/manifest.json, written last); CONF_DIR is a symlink to
 * one of them.  An apply builds snapshots/rN.tmp, verifies it against the
 * manifest, fsyncs it, renames it to rN, runs check_command on it, then
 * switches CONF_DIR with a symlink CONF_DIR.tmp renamed over it, runs
 * reload_command (on failure switches back and reruns it) and prunes old
 * trees.  A crash at any point leaves CONF_DIR on one complete tree;
 * ecc_apply_recover() removes the leftovers.
 */
#ifndef ECC_APPLY_H
#define ECC_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include "path.h"

/* Bytes of check/reload output kept in a result. */
#define ECC_APPLY_MAX_OUTPUT (64u * 1024)

/* The points between the steps of an apply, passed to the test hook. */
enum ecc_apply_step {
	ECC_APPLY_STEP_BUILT,     /* rN.tmp complete and verified */
	ECC_APPLY_STEP_SYNCED,    /* rN.tmp fsynced, not yet renamed */
	ECC_APPLY_STEP_RENAMED,   /* rN in place, check not yet run */
	ECC_APPLY_STEP_CHECKED,   /* check passed, CONF_DIR not switched */
	ECC_APPLY_STEP_LINKED,    /* CONF_DIR.tmp made, not yet renamed */
	ECC_APPLY_STEP_SWITCHED,  /* CONF_DIR on rN, reload not yet run */
	ECC_APPLY_STEP_RELOADED,  /* reload done, not yet pruned */
};

/* Test hook: a non-zero return stops the apply right there, as a crash
 * would (nothing is cleaned up), and ecc_apply() returns it. */
typedef int (*ecc_apply_hook)(enum ecc_apply_step step, void *payload);

/* What to do with files edited by hand in the current tree. */
enum ecc_apply_local {
	ECC_APPLY_LOCAL_CARRY,    /* carry edits the update does not touch;
	                             an overlap holds the update */
	ECC_APPLY_LOCAL_MINE,     /* carry every edit, overlaps included */
	ECC_APPLY_LOCAL_THEIRS,   /* drop every edit */
};

struct ecc_apply_opts {
	const char *state_dir;
	const char *conf_dir;
	const char *check_command;   /* NULL or "": none */
	const char *reload_command;  /* NULL or "": none */
	int keep_snapshots;          /* 1..100; trees kept besides current
	                                and previous */
	enum ecc_apply_local local;
	const struct ecc_limits *lim; /* NULL: defaults */
	ecc_apply_hook hook;          /* NULL: none */
	void *hook_payload;
};

enum ecc_apply_status {
	ECC_APPLY_OK,             /* CONF_DIR is on the new revision */
	ECC_APPLY_UNCHANGED,      /* already at that revision */
	ECC_APPLY_CHECK_FAILED,   /* check_command failed; old tree kept */
	ECC_APPLY_RELOAD_FAILED,  /* reload failed; switched back */
	ECC_APPLY_HELD,           /* local edits overlap; nothing switched */
};

struct ecc_apply_result {
	enum ecc_apply_status status;
	int64_t revision;          /* CONF_DIR's revision afterwards (-1:
	                              none) */
	int64_t previous;          /* before (-1: none) */
	char *output;              /* check/reload output, or NULL */
	int exit_status;           /* of the failed command */
	char **carried;            /* local edits carried into the tree */
	size_t ncarried;
	char **conflicts;          /* overlapping edits (status held) */
	size_t nconflicts;
};

/* Files of a tree that differ from its own manifest. */
struct ecc_drift {
	char **modified;           /* content, size, mode or type differs */
	size_t nmodified;
	char **added;              /* not in the manifest */
	size_t nadded;
	char **removed;            /* in the manifest, missing */
	size_t nremoved;
};

/* "ok", "unchanged", "check_failed", "reload_failed", "held". */
const char *ecc_apply_status_name(enum ecc_apply_status s);

/* Apply the archive `tar` (a full snapshot, or a delta whose since is
 * the current revision: ECC_ECONFLICT otherwise) as described above.
 * Returns 0 with res->status telling what happened, or a negative code
 * (I/O, a bad or unverifiable archive: the old tree stays).  `res` is
 * always filled and must be freed with ecc_apply_result_free(). */
int ecc_apply(struct ecc_apply_result *res, const struct ecc_apply_opts *o,
    const void *tar, size_t len);

void ecc_apply_result_free(struct ecc_apply_result *res);

/* The revision CONF_DIR points to (readlink, "rN").  ECC_ENOTFOUND when
 * there is no CONF_DIR, ECC_EINVALID when it is not such a symlink. */
int ecc_apply_current(int64_t *rev, const char *conf_dir);

/* At start: remove snapshots/ *.tmp and CONF_DIR.tmp; when CONF_DIR is
 * missing or points to a missing or incomplete tree, point it at the
 * newest complete one (if any).  *rev (optional) gets the revision
 * CONF_DIR is on afterwards, -1 when none. */
int ecc_apply_recover(int64_t *rev, const struct ecc_apply_opts *o);

/* Switch CONF_DIR to the kept tree of revision `rev` (no command is
 * run).  ECC_ENOTFOUND when it is not kept or incomplete. */
int ecc_apply_rollback(const struct ecc_apply_opts *o, int64_t rev);

/* Run `cmd` as check and reload commands run: /bin/sh -c in `tree`,
 * with ECCONFIG_TREE and ECCONFIG_REVISION (`rev`) set, stdin from
 * /dev/null, stdout and stderr into *output (malloc'd, at most
 * ECC_APPLY_MAX_OUTPUT bytes; *output must be NULL or malloc'd).  0 and
 * the exit status in *status (128 + N for signal N). */
int ecc_apply_run_command(char **output, int *status, const char *cmd,
    const char *tree, int64_t rev);

/* Revisions kept in STATE_DIR/snapshots (complete trees only), newest
 * first; *revs malloc'd. */
int ecc_apply_list(int64_t **revs, size_t *nrevs, const char *state_dir);

/* Compare the tree at `dir` (e.g. CONF_DIR) to its
 * .ecconfig/manifest.json (sizes, SHA-256s, modes).  Lists are sorted. */
int ecc_apply_drift(struct ecc_drift *d, const char *dir,
    const struct ecc_limits *lim);

void ecc_drift_free(struct ecc_drift *d);

#endif
