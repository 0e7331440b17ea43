/*
 * writer.h - work done on the writer thread that several API areas share:
 * building the head state the loop serves (views, topology), validating
 * a candidate tree before a commit (topology rules, path layout, the
 * configured check command).
 */
#ifndef ECD_WRITER_H
#define ECD_WRITER_H

#include <stdint.h>

#include "ecconfig.h"

#include "server.h"
#include "worker.h"

/* Settings of the check command, copied from the configuration when a
 * job is submitted (the configuration may be reloaded meanwhile). */
struct ecd_check {
	char *command;            /* NULL or "": none */
	int64_t timeout;          /* seconds */
	char *tmp_dir;            /* DATA_DIR/tmp */
};

/* Most bytes of check command output kept. */
#define ECD_CHECK_OUTPUT_MAX (64 * 1024)

void ecd_check_copy(struct ecd_check *out, const struct ecc_dconf *cfg);
void ecd_check_clear(struct ecd_check *c);

/* The head state of `repo`: head revision, commit, topology (NULL when
 * global/cluster.conf is absent or does not parse: a warning is logged)
 * and the revision of every view.  *out is owned by the caller. */
int ecd_state_build(struct ecd_state **out, ecc_repo *repo);

/* Payload of ecd_validate(). */
struct ecd_validate_arg {
	const struct ecd_check *check;
	struct ecd_worker *w;         /* the writer: its topology cache */
};

/* An ecc_repo_validate_cb: the candidate topology must parse, every
 * changed path (every path, when the topology itself changed) must fit
 * it, the topology file may not be deleted, and the check command, when
 * configured, must accept the exported tree.  ECC_EREJECTED with the
 * explanation in *output. */
int ecd_validate(ecc_repo *repo, const char *tree_id,
    const struct ecc_changeset *cs, char **output, void *payload);

/* Export `tree_id` under check->tmp_dir and run the check command on it
 * (/bin/sh -c COMMAND check DIR, cwd DIR, ECCONFIG_TREE=DIR, own process
 * group killed after check->timeout).  0 when it exits 0; ECC_EREJECTED
 * with its output (at most ECD_CHECK_OUTPUT_MAX bytes) otherwise. */
int ecd_check_run(char **output, const struct ecd_check *check,
    ecc_repo *repo, const char *tree_id);

#endif
