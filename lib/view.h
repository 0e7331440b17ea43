/*
 * view.h - what one subcluster sees.
 *
 * The view of subcluster S at revision N holds global/ (as global/) and
 * the contents of S/ at the top: repository S/default/x appears as
 * default/x, S/NODE/y as NODE/y.  The special view "all" is the whole
 * repository unchanged (administrators only).  A view's revision is the
 * last revision at or before N that changed global/ or S/.
 */
#ifndef ECC_VIEW_H
#define ECC_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "path.h"
#include "repo.h"

#define ECC_VIEW_ALL "all"

/* Map a view path to its repository path and back; malloc'd results.
 * ECC_EINVALID if the path cannot belong to the view. */
int ecc_view_to_repo(char **out, const char *view, const char *view_path);
int ecc_view_from_repo(char **out, const char *view, const char *repo_path);

/* Every file of the view at `rev`, as view paths, sorted. */
int ecc_view_list(struct ecc_entry_list *out, ecc_repo *repo,
    const char *view, int64_t rev);

/* The view revision (see above). */
int ecc_view_revision(int64_t *out, ecc_repo *repo, const char *view,
    int64_t rev);

/* Build a full snapshot (since < 0) or a delta since `since` of `view` at
 * `rev` (tar with manifest; snapshot.h).  *out is malloc'd.  A delta's
 * `since` must be below `rev` (ECC_EINVALID); a file larger than
 * lim->max_file_size is ECC_ETOOBIG; `lim` may be NULL (defaults). */
int ecc_view_archive(void **out, size_t *outlen, ecc_repo *repo,
    const char *view, int64_t since, int64_t rev,
    const struct ecc_limits *lim);

#endif
