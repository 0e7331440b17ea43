/*
 * topology.h - the cluster topology, kept in the repository as
 * global/cluster.conf so that topology changes are revisions too.
 *
 * Format (conf.h syntax):
 *
 *     cluster_name = example
 *     [subcluster default]
 *     managers = mgr1.example.com
 *     nodes = mta1.example.com mta2.example.com
 *
 * Rules (seed, chapter 1.12): subcluster names are lower case and one
 * word; node names are host names; every node and manager belongs to
 * exactly one subcluster; every subcluster is a top-level folder.
 *
 * Details: cluster_name (top level, at most once) is 1..63 letters,
 * digits, '.', '_', '-'.  managers and nodes lists are separated by
 * spaces or commas and may repeat to append.  A name repeated within one
 * subcluster counts once; a manager also listed among that subcluster's
 * nodes is kept as a manager only.
 */
#ifndef ECC_TOPOLOGY_H
#define ECC_TOPOLOGY_H

#include <stddef.h>

#define ECC_TOPOLOGY_PATH "global/cluster.conf"

struct ecc_subcluster {
	char *name;
	char **nodes;     /* nodes, managers excluded */
	size_t nnodes;
	char **managers;
	size_t nmanagers;
};

struct ecc_topology {
	char *cluster_name;         /* may be NULL */
	struct ecc_subcluster *subclusters;
	size_t nsubclusters;
};

/* Parse and check the rules.  Errors read "FILE:LINE: message" and name
 * the offending subcluster or node (e.g. "node mta1 is in subclusters
 * default and east").  *out is owned by the caller. */
int ecc_topology_parse(struct ecc_topology **out, const char *buf,
    size_t len, const char *filename);

void ecc_topology_free(struct ecc_topology *t);

/* Borrowed pointers into `t`, or NULL. */
const struct ecc_subcluster *ecc_topology_subcluster(
    const struct ecc_topology *t, const char *name);

/* The subcluster that `node` (node or manager) belongs to, or NULL. */
const struct ecc_subcluster *ecc_topology_node_subcluster(
    const struct ecc_topology *t, const char *node);

/* 1 if `name` is a node or manager of `sc`. */
int ecc_subcluster_has_member(const struct ecc_subcluster *sc,
    const char *name);

/* Add an empty subcluster (ECC_EEXISTS, ECC_EINVALID on bad name).
 * `t` may come from ecc_topology_parse or be calloc'd.  Moves the
 * subclusters array: earlier borrowed subcluster pointers are invalid. */
int ecc_topology_add_subcluster(struct ecc_topology *t, const char *name);

/* Serialize back to the file format; malloc'd.  Parsing the result gives
 * the same topology, and formatting that gives the same text. */
char *ecc_topology_format(const struct ecc_topology *t);

/* Check that repository path `path` fits the layout: its first component
 * is "global" or a subcluster of `t`; under a subcluster, its second
 * component is "default" or a member of that subcluster, and there is a
 * third component (files live in subcluster/default/ or
 * subcluster/NODE/).  ECC_EREJECTED with a message naming the path. */
int ecc_topology_check_path(const struct ecc_topology *t, const char *path);

#endif
