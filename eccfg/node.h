/*
 * node.h - the MTA node side shared by bootstrap, pull, follow, status
 * and local: where cluster.boot is, the node's session with its managers,
 * one update (learn the view's revision, fetch the delta or snapshot,
 * apply it atomically with lib/apply.h, report the result) and the status
 * report.
 */
#ifndef ECCFG_NODE_H
#define ECCFG_NODE_H

#include <stdint.h>

#include "client.h"
#include "eccfg.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

/* Where `eccfg bootstrap` writes cluster.boot and the node commands read
 * it, unless --boot FILE or $ECCFG_BOOT says otherwise. */
#define NODE_BOOT_DEFAULT SYSCONFDIR "/ecconfig/cluster.boot"

/* The --boot option every node command takes (id NODE_OPT_BOOT). */
#define NODE_OPT_BOOT 0x100
#define NODE_BOOT_OPT { "boot", 1, 0, NODE_OPT_BOOT, "FILE", \
	"the node's cluster.boot (default $ECCFG_BOOT, then " \
	NODE_BOOT_DEFAULT ")" }

/* The cluster.boot path: `opt` (--boot), else $ECCFG_BOOT, else
 * NODE_BOOT_DEFAULT.  Borrowed. */
const char *node_boot_path(const char *opt);

/* Whether a command that works on checkouts and on nodes should act as a
 * node: --boot given (`opt`), or $ECCFG_BOOT set, or the current
 * directory is not inside a checkout and the default cluster.boot
 * exists. */
int node_mode_wanted(const char *opt);

/* A node's cluster.boot, its session and its apply options. */
struct node {
	struct ecc_boot boot;
	const char *boot_path;
	struct ecc_apply_opts apply;
	struct eccfg_client *client;
	int64_t current;          /* revision CONF_DIR is on, -1: none */
	int64_t view_revision;    /* the view's, as last learnt, -1: none */
};

/* Load cluster.boot at `path`, recover an apply interrupted by a crash
 * (ecc_apply_recover) and open the node's session (no request is made
 * yet).  `n` must be freed with node_close() whatever the result. */
int node_open(struct node *n, struct eccfg_ctx *ctx, const char *path);
void node_close(struct node *n);

/* The view's revision on the manager, without waiting (wait=0), or after
 * waiting up to `wait` seconds for it to pass `since`. */
int node_view_revision(int64_t *out, struct node *n, int64_t since,
    int wait);

/* Bring CONF_DIR to revision `target` of the node's view: a kept tree is
 * switched to without fetching anything (check_command and
 * reload_command run as for an apply); otherwise the delta from the
 * current revision (or the full snapshot) is fetched and applied with
 * `local` for hand edits.  res is filled as by ecc_apply() and must be
 * freed with ecc_apply_result_free(). */
int node_update(struct ecc_apply_result *res, struct node *n,
    int64_t target, enum ecc_apply_local local);

/* Switch CONF_DIR to the kept tree of `rev` at once (no command runs),
 * under the node's apply lock.  ECC_ENOTFOUND when it is not kept. */
int node_rollback(struct node *n, int64_t rev);

/* Report to the manager: the revision CONF_DIR is on, `result` (a
 * node-status.schema.json result), a message (may be NULL) and the
 * files edited by hand in CONF_DIR (computed here). */
int node_report(struct node *n, const char *result, const char *message);

/* What the last successful report recorded in STATE_DIR/status.json
 * (for `eccfg status` on a node, which may be offline): *last_contact
 * (epoch seconds), the view revision and the result (malloc'd).
 * ECC_ENOTFOUND when the node never reported. */
int node_last_report(int64_t *last_contact, int64_t *view_revision,
    char **result, const struct node *n);

/* The result name to report for an apply status. */
const char *node_result_name(enum ecc_apply_status s);

/* Print what an update did (carried edits, conflicts, command output),
 * the way pull and follow show it. */
void node_print_result(struct eccfg_ctx *ctx, const struct node *n,
    const struct ecc_apply_result *res);

#endif
