/*
 * dconf.h - ecconfigd.conf: the daemon's configuration, described by one
 * option table (dconf.c) that drives the parser, `ecconfigd --dump-config`,
 * `eccfg init` (which writes a commented file) and the man page check.
 */
#ifndef ECC_DCONF_H
#define ECC_DCONF_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct ecc_dconf {
	char *listen;           /* "ADDR:PORT" ("127.0.0.1:0" binds any port) */
	char *data_dir;         /* repository, users, nodes live here */
	char *store;            /* "file" or "postgresql" */
	char *db_conninfo;      /* libpq connection string (postgresql) */
	char *cert_file;        /* server certificate (PEM, chain) */
	char *key_file;         /* server private key (PEM) */
	char *ca_file;          /* cluster CA certificate */
	char *ca_key_file;      /* cluster CA key (signs node CSRs) */
	int64_t log_level;      /* 0..7 */
	char *log_target;       /* "syslog", "file", "stderr" */
	char *log_file;
	char *pid_file;
	char *check_command;    /* run on a candidate tree; non-zero refuses */
	int64_t check_timeout;  /* seconds */
	size_t max_body;        /* bytes of one request body */
	size_t max_header;      /* bytes of request headers */
	size_t max_file_size;   /* bytes of one file in a change set */
	int64_t max_changes;    /* entries in one change set */
	int64_t max_connections;
	int64_t request_timeout; /* seconds to read a request / write reply */
	int64_t token_ttl;      /* seconds a bearer token lives */
	int64_t login_failures; /* failed logins allowed per window */
	int64_t login_window;   /* seconds */
	int64_t workers;        /* reader threads */
	int64_t watch_max_wait; /* seconds a watch may be held */
	int64_t snapshot_rate;  /* snapshots/deltas per second, 0: any */
	char *manager_name;     /* empty: the host name */
};

extern const struct ecc_option ecc_dconf_options[];

/* Zero `cfg`, set the defaults, then read the file at `path` (NULL: the
 * defaults alone); errors read FILE:LINE: message, those of the rules on
 * one option too (listen is ADDR:PORT, data_dir is not empty).  Then
 * check what spans options (store = postgresql needs db_conninfo,
 * log_target = file needs log_file; errors name the file) and fill the
 * empty cert_file,
 * key_file, ca_file, ca_key_file and pid_file from data_dir.  On failure
 * the struct holds whatever was set and must still be freed. */
int ecc_dconf_load(struct ecc_dconf *cfg, const char *path);
void ecc_dconf_free(struct ecc_dconf *cfg);

/* Render a complete commented configuration (every option, its doc line
 * and value) with the values of `cfg`.  Returns malloc'd text. */
char *ecc_dconf_render(const struct ecc_dconf *cfg);

#endif
