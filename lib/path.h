/*
 * path.h - the repository's path and name rules, and the size limits that
 * bound every change set.
 *
 * Repository paths are relative, '/'-separated, with no empty, "." or ".."
 * component, no component named ".git", ".ecconfig" or ".eccfg" (any case;
 * the last two are reserved for manifests and checkout metadata), no NUL
 * or control bytes, no leading or trailing '/', no component longer than
 * ECC_MAX_COMPONENT_LEN bytes, at most `max_path_len` bytes and
 * `max_depth` components.
 */
#ifndef ECC_PATH_H
#define ECC_PATH_H

#include <stddef.h>
#include <stdint.h>

struct ecc_limits {
	size_t max_path_len;      /* bytes in one path (default 1024) */
	size_t max_depth;         /* components in one path (default 16) */
	size_t max_file_size;     /* bytes in one file (default 16 MiB) */
	size_t max_changes;       /* entries in one change set (default 10000) */
	size_t max_changeset;     /* total content bytes of one change set
	                             (default 64 MiB) */
	size_t max_json_depth;    /* nesting of any JSON body (default 16) */
};

#define ECC_DEFAULT_MAX_PATH_LEN   1024
#define ECC_DEFAULT_MAX_DEPTH      16
#define ECC_DEFAULT_MAX_FILE_SIZE  (16u * 1024 * 1024)
#define ECC_DEFAULT_MAX_CHANGES    10000
#define ECC_DEFAULT_MAX_CHANGESET  (64u * 1024 * 1024)
#define ECC_DEFAULT_MAX_JSON_DEPTH 16

/* Bytes in one path component: NAME_MAX of Linux and the BSDs, so every
 * checkout and node can create the file.  A rule, not a limit to tune. */
#define ECC_MAX_COMPONENT_LEN      255

/* Fill `lim` with the defaults above. */
void ecc_limits_default(struct ecc_limits *lim);

/* 0 when `path` obeys the rules; ECC_EINVALID with a message naming the
 * path and the rule otherwise.  `lim` may be NULL for the defaults. */
int ecc_path_validate(const char *path, const struct ecc_limits *lim);

/* 1 for the names no subcluster may take: "global" (the folder every
 * node receives) and "all" (the whole-repository view, ECC_VIEW_ALL: a
 * node of a subcluster "all" would read every subcluster's files). */
int ecc_name_is_reserved(const char *name);

/* Subcluster names: lower case, one word: [a-z][a-z0-9_-]{0,62}; not
 * reserved (above).  Returns 1 when valid. */
int ecc_name_is_subcluster(const char *name);

/* Node and manager names: lower-case host names ([a-z0-9] first, then
 * [a-z0-9.-], at most 253 bytes, no empty label); not "global" or
 * "default".  Returns 1 when valid. */
int ecc_name_is_node(const char *name);

/* User names: [a-z_][a-z0-9_.-]{0,31}.  Returns 1 when valid. */
int ecc_name_is_user(const char *name);

/* Room ecc_quote() needs in its output buffer. */
#define ECC_QUOTE_BUF 520

/* Copy `len` bytes of `s` into `out` for an error message (user input is
 * quoted this way everywhere): bytes outside printable ASCII, '\\' and
 * '\'' become \xNN, and text beyond 128 bytes is cut with "...". */
void ecc_quote(char out[ECC_QUOTE_BUF], const char *s, size_t len);

/* 1 when `path` equals `prefix` or lies below it ("a/b" is below "a");
 * an empty or NULL prefix matches everything. */
int ecc_path_has_prefix(const char *path, const char *prefix);

#endif
