/*
 * changeset.h - the commit request body (proto/commit.schema.json):
 *
 *   {"base": 12, "message": "...",
 *    "changes": [{"path": "global/a.conf", "action": "write",
 *                 "content": "<base64>", "mode": "0644"},
 *                {"path": "default/default/b.conf", "action": "delete"}]}
 *
 * Parsing is a pure function of the buffer, bounded by ecc_limits, and
 * validates every path (path.h).  Errors name the field, e.g.
 * "changes[3].path: '..' component in '../etc/passwd'".
 */
#ifndef ECC_CHANGESET_H
#define ECC_CHANGESET_H

#include <stddef.h>

#include "path.h"
#include "repo.h"

/* Parse and validate a request body.  Unknown members, duplicate paths,
 * "content" on a delete or its absence on a write are refused; content
 * is bounded by lim->max_file_size per file and lim->max_changeset in
 * total (ECC_ETOOBIG), the entries by lim->max_changes.  `lim` may be
 * NULL for the defaults.  author is left NULL (the server sets it).
 * *out is owned by the caller. */
int ecc_changeset_parse(struct ecc_changeset **out, const char *buf,
    size_t len, const struct ecc_limits *lim);

/* Serialize (client side).  Returns malloc'd JSON text, or NULL (error
 * set) when the message or a path is not valid UTF-8. */
char *ecc_changeset_to_json(const struct ecc_changeset *cs);

/* Helpers to build a change set; they copy their arguments.  `mode` is
 * 0644/0755 or git's 0100644/0100755 (any execute bit means 0755). */
struct ecc_changeset *ecc_changeset_new(int64_t base, const char *message);
void ecc_changeset_add_write(struct ecc_changeset *cs, const char *path,
    const void *data, size_t len, unsigned mode);
void ecc_changeset_add_delete(struct ecc_changeset *cs, const char *path);

/* Free a change set and everything it owns; NULL is fine. */
void ecc_changeset_free(struct ecc_changeset *cs);

#endif
