/*
 * manifest.h - .ecconfig/manifest.json, the description of a view at a
 * revision carried in every snapshot and delta:
 *
 *   {"format": 1, "view": "default", "revision": 7, "commit": "<hex>",
 *    "since": 5,                           (deltas only, else absent)
 *    "files": [{"path": "global/a.conf", "mode": "0644", "size": 12,
 *               "sha256": "<hex>"}, ...],  (complete file set at revision)
 *    "deleted": ["default/old.conf"]}      (deltas only)
 *
 * Paths are view paths (see view.h).  Files are sorted by path.
 */
#ifndef ECC_MANIFEST_H
#define ECC_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "path.h"
#include "util.h"

#define ECC_MANIFEST_PATH ".ecconfig/manifest.json"
#define ECC_MANIFEST_MAX_BYTES (64u * 1024 * 1024)

struct ecc_manifest_file {
	char *path;
	unsigned mode;                /* 0644 or 0755 */
	uint64_t size;
	char sha256[ECC_SHA256_HEX_LEN];
};

struct ecc_manifest {
	char *view;
	int64_t revision;
	char commit[41];
	int64_t since;                /* -1 for a full snapshot */
	struct ecc_manifest_file *files;
	size_t nfiles;
	char **deleted;
	size_t ndeleted;
};

/* A new, empty manifest of a full snapshot (since = -1); copies its
 * arguments.  Free with ecc_manifest_free(). */
struct ecc_manifest *ecc_manifest_new(const char *view, int64_t revision,
    const char *commit);

/* Serialize; malloc'd JSON text in *out (compact, newline-terminated;
 * the same manifest always gives the same bytes).  ECC_EINVALID when the
 * files or deleted paths are not sorted and unique (ecc_manifest_sort()),
 * when deleted paths appear without since, or a string is not UTF-8. */
int ecc_manifest_to_json(char **out, size_t *outlen,
    const struct ecc_manifest *m);

/* Parse and validate (paths per path.h, sha256 64 hex, sizes within
 * lim->max_file_size, at most lim->max_changes*10 files, sorted and
 * unique).  Pure.  Errors name the field.  Also refused: unknown
 * members, format other than 1, a view neither "all" nor a subcluster
 * name, since >= revision, deleted without since or also in files, and
 * paths under the reserved ".ecconfig/".  `lim` may be NULL (defaults).
 * ECC_ETOOBIG over ECC_MANIFEST_MAX_BYTES or the size/count limits. */
int ecc_manifest_parse(struct ecc_manifest **out, const char *buf,
    size_t len, const struct ecc_limits *lim);

/* Free the manifest and everything it owns; NULL is fine. */
void ecc_manifest_free(struct ecc_manifest *m);

/* Binary search by path; borrowed pointer or NULL. */
const struct ecc_manifest_file *ecc_manifest_find(
    const struct ecc_manifest *m, const char *path);

/* Append a file (copying path; size and SHA-256 from data) / a deleted
 * path; then call ecc_manifest_sort() before serializing.  They grow the
 * arrays assuming room for the next power of two of the count, so fill
 * files/deleted only through them (removing entries in place, or
 * freeing an array and zeroing its count, is fine). */
void ecc_manifest_add_file(struct ecc_manifest *m, const char *path,
    unsigned mode, const void *data, size_t len);
void ecc_manifest_add_deleted(struct ecc_manifest *m, const char *path);
void ecc_manifest_sort(struct ecc_manifest *m);

#endif
