/*
 * boot.h - cluster.boot, a node's configuration, written by `eccfg
 * bootstrap` and read by `eccfg pull`/`follow`: Momentum's keys
 * (cluster_name, node_name, repo, autoupdate, reload_config_on_update)
 * plus ecconfig's own, described by one option table (boot.c).
 */
#ifndef ECC_BOOT_H
#define ECC_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

/* Most managers listed in repo. */
#define ECC_BOOT_MAX_REPOS 32

struct ecc_boot_repo {
	char *host;             /* host name, IPv4 or IPv6 (without []) */
	int port;               /* 1..65535, default ECC_DEFAULT_PORT */
};

struct ecc_boot {
	char *cluster_name;     /* the node's subcluster */
	char *node_name;
	char *repo;             /* host[:port][,host[:port]...] as written */
	char *autoupdate;       /* "true", "ifunchanged" or "false" */
	int reload_config_on_update;
	char *conf_dir;         /* the config directory (a symlink) */
	char *state_dir;        /* snapshots/, keys, state */
	char *check_command;    /* run on a new tree before the switch */
	char *reload_command;   /* run after the switch */
	int64_t keep_snapshots; /* 1..100 */
	char *ca_file;          /* empty: STATE_DIR/ca.pem */
	char *cert_file;        /* empty: STATE_DIR/node.pem */
	char *key_file;         /* empty: STATE_DIR/node.key */
	/* derived from repo by ecc_boot_parse/load: */
	struct ecc_boot_repo *repos;
	size_t nrepos;
};

extern const struct ecc_option ecc_boot_options[];

/* Parse a comma-separated "host[:port]" list (IPv6 as "[addr]:port")
 * into *out (malloc'd, free with ecc_boot_repos_free()).  At least one,
 * at most ECC_BOOT_MAX_REPOS entries; errors name the entry. */
int ecc_boot_parse_repos(struct ecc_boot_repo **out, size_t *nout,
    const char *list);
void ecc_boot_repos_free(struct ecc_boot_repo *v, size_t n);

/* Zero `cfg`, set the defaults, parse `buf` (`len` bytes, errors read
 * FILENAME:LINE: message), then check what spans options: cluster_name a
 * subcluster name, node_name a node name, repo a valid list (parsed into
 * repos), conf_dir and state_dir not empty; fill the empty ca_file,
 * cert_file, key_file from state_dir.  Pure.  On failure `cfg` must
 * still be freed. */
int ecc_boot_parse(struct ecc_boot *cfg, const char *buf, size_t len,
    const char *filename);

/* The same, from the file at `path` (read with a 1 MiB bound). */
int ecc_boot_load(struct ecc_boot *cfg, const char *path);

/* Free everything `cfg` owns (it may be NULL); the struct is zeroed. */
void ecc_boot_free(struct ecc_boot *cfg);

/* A complete commented cluster.boot (every option, its doc line and
 * value) with the values of `cfg`.  Malloc'd. */
char *ecc_boot_render(const struct ecc_boot *cfg);

#endif
