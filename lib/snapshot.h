/*
 * snapshot.h - snapshot and delta archives: a POSIX tar (libarchive) whose
 * first member is .ecconfig/manifest.json, followed by the files (all of
 * them for a snapshot, only added/changed ones for a delta).
 */
#ifndef ECC_SNAPSHOT_H
#define ECC_SNAPSHOT_H

#include <stddef.h>

#include "manifest.h"

struct ecc_snapshot_file {
	const char *path;             /* view path */
	unsigned mode;                /* 0644 / 0755 */
	const void *data;
	size_t len;
};

/* Build a tar in memory holding the manifest then `files`.  *out is
 * malloc'd.  Deterministic: fixed mtime (0), uid/gid 0, names "root".
 * `m` must be sorted (ecc_manifest_sort()); ECC_EINVALID when a file is
 * not in it, is given twice, or differs from it in size or mode. */
int ecc_snapshot_build(void **out, size_t *outlen,
    const struct ecc_manifest *m, const struct ecc_snapshot_file *files,
    size_t nfiles);

/* Read an archive built by ecc_snapshot_build(): parse the manifest
 * (first member, required), then extract every file member into `dir`
 * (which must exist), refusing anything but regular files, any path
 * failing path.h rules, any file not listed in the manifest, any size
 * over the limits, and any SHA-256 or size that differs from the
 * manifest.  Each file is fsynced, as is every directory written.  On
 * failure, files already written stay in `dir` for the caller to remove.
 * Files are created with O_EXCL (ECC_EEXISTS if one is already there),
 * never through a symlink.  Once every member checked out, the manifest
 * itself is written to dir/.ecconfig/manifest.json, last, so its presence
 * marks a complete extraction.  *manifest_out (optional) receives the
 * parsed manifest.  `names_out` (optional) receives the malloc'd list of
 * extracted paths (each malloc'd; the caller frees them and the list).
 * `lim` may be NULL for the defaults. */
int ecc_snapshot_extract(struct ecc_manifest **manifest_out,
    char ***names_out, size_t *nnames_out, const void *tar, size_t len,
    const char *dir, const struct ecc_limits *lim);

/* Just the manifest of an archive (no extraction). */
int ecc_snapshot_read_manifest(struct ecc_manifest **out, const void *tar,
    size_t len, const struct ecc_limits *lim);

#endif
