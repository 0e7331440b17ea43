/*
 * eccfg.h - the command table and the context every subcommand receives.
 *
 * Each subcommand lives in cmd-NAME.c and defines one `const struct
 * eccfg_cmd eccfg_cmd_NAME`; main.c gathers them in one table that
 * dispatches, prints usage and drives --help (tmux's cmd_table).
 */
#ifndef ECCFG_H
#define ECCFG_H

#include <stdio.h>

#include "ecconfig.h"

/* Options every subcommand accepts (Momentum's eccfg). */
struct eccfg_global {
	const char *username;        /* --username/-u, $ECCFG_USERNAME, $USER */
	const char *password;        /* --password/-p, $ECCFG_PASSWORD */
	const char *password_file;   /* --password-file, $ECCFG_PASSWORD_FILE:
	                                first line is the password */
	const char *credentials;     /* --credentials FILE: "username = ..."
	                                and "password = ..." lines */
	const char *server;          /* --server HOST[:PORT], $ECCFG_SERVER */
	const char *ca_file;         /* --ca FILE, $ECCFG_CA */
	const char *ca_fingerprint;  /* --ca-fingerprint FP, $ECCFG_CA_FINGERPRINT */
	int quiet;                   /* --quiet/-q */
	int debug;                   /* --debug: log level 7 to stderr */
	int json;                    /* --json, where the command supports it */
	int timeout;                 /* --timeout SECONDS (default 30) */
};

struct eccfg_ctx {
	struct eccfg_global g;
	const struct eccfg_cmd *cmd;
};

/* One command-specific option: long name, whether it takes an argument
 * (0 none, 1 required), optional short letter (0 for none), an id passed
 * to the command's handler, the argument's name and a help line. */
struct eccfg_opt {
	const char *name;
	int has_arg;
	int short_opt;
	int id;
	const char *arg_name;
	const char *help;
};

struct eccfg_cmd {
	const char *name;
	const char *summary;         /* one line for `eccfg --help` */
	const char *usage;           /* "[--add-all] [--delete-all] -m MSG" */
	const struct eccfg_opt *opts;/* terminated by a NULL name; may be NULL */
	int json_ok;                 /* accepts --json */
	int (*run)(struct eccfg_ctx *ctx, int argc, char **argv);
};

/* Called by eccfg_parse_options() for each command-specific option. */
typedef int (*eccfg_opt_cb)(int id, const char *arg, void *payload);

/* Parse argv (argv[0] is the subcommand name) with getopt_long: the
 * common options above and the command's own, long options abbreviable
 * to any unique prefix, "--name=value" and "--name value" both accepted.
 * On success *first_arg is the index of the first operand.  Returns 0, 1
 * when --help was printed (the command should exit 0), or a negative
 * code after printing a usage error to stderr. */
int eccfg_parse_options(struct eccfg_ctx *ctx, int argc, char **argv,
    eccfg_opt_cb on_opt, void *payload, int *first_arg);

/* Print "eccfg NAME: message" to stderr (nothing extra when quiet is
 * off/on: errors always print). Returns `code` (default ECC_ERROR). */
int eccfg_fail(struct eccfg_ctx *ctx, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Print ecc_error_last() as "eccfg NAME: message" and return 1 (the
 * process exit status for a failed command). */
int eccfg_report(struct eccfg_ctx *ctx);

/* printf to stdout unless --quiet. */
void eccfg_say(struct eccfg_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print a json_t to stdout, indented, with a newline. */
void eccfg_print_json(const json_t *v);

/* Exit status conventions: 0 success, 1 operation failed, 2 usage error. */
#define ECCFG_EXIT_OK 0
#define ECCFG_EXIT_FAIL 1
#define ECCFG_EXIT_USAGE 2

extern const struct eccfg_cmd eccfg_cmd_init, eccfg_cmd_checkout,
    eccfg_cmd_status, eccfg_cmd_diff, eccfg_cmd_revert, eccfg_cmd_delete,
    eccfg_cmd_commit, eccfg_cmd_pull, eccfg_cmd_resolve, eccfg_cmd_log,
    eccfg_cmd_show, eccfg_cmd_cat, eccfg_cmd_rollback, eccfg_cmd_put,
    eccfg_cmd_clone, eccfg_cmd_overlay, eccfg_cmd_subcluster,
    eccfg_cmd_user;

#endif
