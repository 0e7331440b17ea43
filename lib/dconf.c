/*
 * dconf.c - ecconfigd.conf: the option table of the manager daemon, the
 * defaults derived from data_dir, the checks that span several options,
 * and the commented file `eccfg init` writes (see dconf.h).
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dconf.h"
#include "error.h"
#include "path.h"
#include "util.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

#define KIB ((int64_t)1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)
#define MINUTE ((int64_t)60)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

static const char *const store_choices[] = { "file", "postgresql", NULL };
static const char *const log_target_choices[] = { "syslog", "file",
	"stderr", NULL };

/* "HOST:PORT" or "[V6]:PORT" with a port in 0..65535. */
static int
dconf_listen_is_valid(const char *listen)
{
	const char *colon = strrchr(listen, ':');
	int64_t port;

	if (!colon || colon == listen || colon[1] == '\0')
		return 0;
	if (listen[0] == '[' && colon[-1] != ']')
		return 0;
	if (listen[0] != '[' && memchr(listen, ':', (size_t)(colon - listen)))
		return 0;
	if (strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strlen(colon + 1) > 5)
		return 0;
	if (ecc_parse_int64(&port, colon + 1, 0, 65535) < 0) {
		ecc_error_clear();
		return 0;
	}
	return 1;
}

static int
dconf_check_listen(const char *value)
{
	char q[ECC_QUOTE_BUF];

	if (dconf_listen_is_valid(value))
		return 0;
	ecc_quote(q, value, strlen(value));
	return ecc_error_set(ECC_EINVALID, "'%s' is not ADDR:PORT with a port "
	    "in 0..65535", q);
}

static int
dconf_check_not_empty(const char *value)
{
	if (*value)
		return 0;
	return ecc_error_set(ECC_EINVALID, "must not be empty");
}

#define OPT(n, t, d, lo, hi, ch, rl, doc) \
	{ #n, t, offsetof(struct ecc_dconf, n), d, lo, hi, ch, rl, doc, NULL }
/* A string option with a rule of its own (conf.h: `check`). */
#define OPT_CHECKED(n, d, rl, check, doc) \
	{ #n, ECC_OPT_STRING, offsetof(struct ecc_dconf, n), d, 0, 0, NULL, \
	  rl, doc, check }

const struct ecc_option ecc_dconf_options[] = {
	OPT_CHECKED(listen, "0.0.0.0:2027", 0, dconf_check_listen,
	    "Address and port to serve HTTPS on (ADDR:PORT; port 0 picks "
	    "a free port)."),
	OPT_CHECKED(data_dir, LOCALSTATEDIR "/lib/ecconfig", 0,
	    dconf_check_not_empty,
	    "Directory holding the repository, accounts, keys and state."),
	OPT(store, ECC_OPT_ENUM, "file", 0, 0, store_choices, 0,
	    "Account and revision store: file (one manager) or postgresql "
	    "(shared)."),
	OPT(db_conninfo, ECC_OPT_STRING, "", 0, 0, NULL, 0,
	    "libpq connection string, required when store = postgresql."),
	OPT(manager_name, ECC_OPT_STRING, "", 0, 0, NULL, 0,
	    "This manager's name among the cluster's managers; empty means "
	    "the host name."),
	OPT(workers, ECC_OPT_INT, "2", 1, 16, NULL, 0,
	    "Reader threads building snapshots and answering reads (1..16)."),
	OPT(cert_file, ECC_OPT_STRING, "", 0, 0, NULL, 1,
	    "Server certificate chain (PEM); empty means DATA_DIR/server.pem."),
	OPT(key_file, ECC_OPT_STRING, "", 0, 0, NULL, 1,
	    "Server private key (PEM); empty means DATA_DIR/server.key."),
	OPT(ca_file, ECC_OPT_STRING, "", 0, 0, NULL, 1,
	    "Cluster CA certificate (PEM); empty means DATA_DIR/ca.pem."),
	OPT(ca_key_file, ECC_OPT_STRING, "", 0, 0, NULL, 1,
	    "Cluster CA private key, signs node certificates; empty means "
	    "DATA_DIR/ca.key."),
	OPT(pid_file, ECC_OPT_STRING, "", 0, 0, NULL, 0,
	    "File the daemon writes its process id to; empty means "
	    "DATA_DIR/ecconfigd.pid."),
	OPT(log_level, ECC_OPT_INT, "4", 0, 7, NULL, 1,
	    "Most verbose syslog level logged: 0 emerg .. 4 warning .. "
	    "7 debug."),
	OPT(log_target, ECC_OPT_ENUM, "syslog", 0, 0, log_target_choices, 1,
	    "Where logs go: syslog, file (see log_file) or stderr."),
	OPT(log_file, ECC_OPT_STRING, "", 0, 0, NULL, 1,
	    "Log file, required when log_target = file; reopened on SIGHUP."),
	OPT(max_connections, ECC_OPT_INT, "4096", 1, 1000000, NULL, 1,
	    "Client connections served at once; more wait to be accepted."),
	OPT(request_timeout, ECC_OPT_DURATION, "30s", 1, HOUR, NULL, 1,
	    "Time allowed to read a request or write a reply (1s..1h)."),
	OPT(max_header, ECC_OPT_SIZE, "16k", KIB, MIB, NULL, 1,
	    "Bytes of request line and headers accepted (1k..1m)."),
	OPT(max_body, ECC_OPT_SIZE, "64m", KIB, 4 * GIB, NULL, 1,
	    "Bytes of one request body accepted (1k..4g)."),
	OPT(max_file_size, ECC_OPT_SIZE, "16m", 1, GIB, NULL, 1,
	    "Bytes of one file in a commit (1..1g)."),
	OPT(max_changes, ECC_OPT_INT, "10000", 1, 1000000, NULL, 1,
	    "Entries (writes, deletes, mode changes) in one commit."),
	OPT(watch_max_wait, ECC_OPT_DURATION, "60s", 1, HOUR, NULL, 1,
	    "Longest a watch request is held before it answers \"no change\" "
	    "(1s..1h)."),
	OPT(snapshot_rate, ECC_OPT_INT, "10000", 0, 10000000, NULL, 1,
	    "Snapshots and deltas served per second (0: no limit); beyond, "
	    "nodes get 429 with Retry-After and come back spread out."),
	OPT(token_ttl, ECC_OPT_DURATION, "1h", 1, 30 * DAY, NULL, 1,
	    "Lifetime of a bearer token issued at login (1s..30d)."),
	OPT(login_failures, ECC_OPT_INT, "5", 1, 1000, NULL, 1,
	    "Failed logins allowed per account and per address in "
	    "login_window."),
	OPT(login_window, ECC_OPT_DURATION, "5m", 1, DAY, NULL, 1,
	    "Window over which failed logins are counted (1s..1d)."),
	OPT(check_command, ECC_OPT_STRING, "", 0, 0, NULL, 1,
	    "Command checking each candidate tree; a non-zero exit refuses "
	    "the commit."),
	OPT(check_timeout, ECC_OPT_DURATION, "60s", 1, HOUR, NULL, 1,
	    "Time check_command may run before the commit is refused (1s..1h)."),
	{ NULL, 0, 0, NULL, 0, 0, NULL, 0, NULL, NULL },
};

#undef OPT
#undef OPT_CHECKED

/* The checks that span options (the single-option rules ran as each
 * value was set), then the defaults derived from data_dir. */
static int
dconf_finish(struct ecc_dconf *cfg, const char *origin)
{
	if (strcmp(cfg->store, "postgresql") == 0 && !cfg->db_conninfo[0])
		return ecc_error_set(ECC_EINVALID, "%s: store = postgresql "
		    "requires db_conninfo", origin);
	if (strcmp(cfg->log_target, "file") == 0 && !cfg->log_file[0])
		return ecc_error_set(ECC_EINVALID, "%s: log_target = file "
		    "requires log_file", origin);
	ecc_conf_derive_path(&cfg->cert_file, cfg->data_dir, "server.pem");
	ecc_conf_derive_path(&cfg->key_file, cfg->data_dir, "server.key");
	ecc_conf_derive_path(&cfg->ca_file, cfg->data_dir, "ca.pem");
	ecc_conf_derive_path(&cfg->ca_key_file, cfg->data_dir, "ca.key");
	ecc_conf_derive_path(&cfg->pid_file, cfg->data_dir, "ecconfigd.pid");
	return 0;
}

int
ecc_dconf_load(struct ecc_dconf *cfg, const char *path)
{
	int error;

	memset(cfg, 0, sizeof(*cfg));
	if (path)
		error = ecc_options_load(cfg, ecc_dconf_options, path);
	else
		error = ecc_options_defaults(cfg, ecc_dconf_options);
	if (error < 0)
		return error;
	return dconf_finish(cfg, path ? path : "defaults");
}

void
ecc_dconf_free(struct ecc_dconf *cfg)
{
	ecc_options_free(cfg, ecc_dconf_options);
}

char *
ecc_dconf_render(const struct ecc_dconf *cfg)
{
	const struct ecc_option *opt;
	char *buf = NULL, *v, *line;
	size_t len = 0;
	int first = 1;

	ecc_str_append(&buf, &len,
	    "# ecconfigd.conf - configuration of ecconfigd, the ecconfig "
	    "manager daemon.\n"
	    "# One \"key = value\" per line, '#' starts a comment; see "
	    "ecconfigd.conf(5).\n"
	    "# Sizes take k/m/g suffixes, durations s/m/h/d.\n"
	    "# `ecconfigd -t -c FILE` checks a file.\n"
	    "# SIGHUP reloads every option except these, which need a "
	    "restart:\n#");
	for (opt = ecc_dconf_options; opt->name; opt++) {
		if (opt->reloadable)
			continue;
		line = ecc_printf("%s %s", first ? "" : ",", opt->name);
		ecc_str_append(&buf, &len, line);
		free(line);
		first = 0;
	}
	ecc_str_append(&buf, &len, ".\n");
	for (opt = ecc_dconf_options; opt->name; opt++) {
		v = ecc_option_format(cfg, opt);
		line = ecc_printf("\n# %s\n%s = %s\n", opt->doc, opt->name, v);
		ecc_str_append(&buf, &len, line);
		free(line);
		free(v);
	}
	return buf;
}
