/*
 * eccfg.h - the command table and the context every subcommand receives.
 *
 * Each subcommand lives in cmd-NAME.c and defines one `const struct
 * eccfg_cmd eccfg_cmd_NAME`; main.c gathers them in one table that
 * dispatches, prints usage and drives --help (tmux's cmd_table).
 */
#ifndef ECCFG_H
#define ECCFG_H

#include <stdint.h>
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
	/* Returns the process exit status (ECCFG_EXIT_*), or a negative
	 * ECC_E* code: main then exits 1, printing ecc_error_last() unless
	 * the command already printed an error (eccfg_fail/report/usage). */
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

/* The id of "-m/--message MSG" in the tables of commands whose only
 * option it is, and their eccfg_opt_cb: it stores the argument in the
 * `const char *` the payload points to. */
#define ECCFG_OPT_MESSAGE 1
int eccfg_message_opt(int id, const char *arg, void *payload);

/* Print "eccfg NAME: message" to stderr (nothing extra when quiet is
 * off/on: errors always print). Returns `code` (default ECC_ERROR). */
int eccfg_fail(struct eccfg_ctx *ctx, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Print ecc_error_last() as "eccfg NAME: message" and return 1 (the
 * process exit status for a failed command). */
int eccfg_report(struct eccfg_ctx *ctx);

/* printf to stdout unless --quiet: for chatter (progress, "Committed
 * revision N."), never for the data a command exists to print (log
 * entries, file contents, lists), which --quiet does not silence. */
void eccfg_say(struct eccfg_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print a json_t to stdout, indented, with a newline. */
void eccfg_print_json(const json_t *v);

/* Print "eccfg NAME: message" and "see eccfg NAME --help" to stderr
 * (an operand is missing or extra).  Returns ECCFG_EXIT_USAGE. */
int eccfg_usage(struct eccfg_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix the current error message: "<fmt...>: <old message>", with
 * `code`.  (ecc_error_set() must not be handed ecc_error_last(), which
 * points into the buffer it writes.)  Returns `code`. */
int eccfg_error_prefix(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Parse a revision operand: "12", "r12", or "HEAD" (any case; *out is
 * then -1).  ECC_EINVALID naming the text otherwise. */
int eccfg_parse_rev(int64_t *out, const char *text);

/* ecc_path_validate() of a repository path given on the command line,
 * saying so when it is absolute (a leading '/' is never dropped: outside
 * a checkout nothing could map it).  0 or ECC_EINVALID. */
int eccfg_check_repo_path(const char *path);

/* Write server-supplied text to `f` with control bytes other than
 * newline and tab replaced by '?', so it cannot drive the terminal. */
void eccfg_print_text(FILE *f, const char *s);

/* The first line of `path` (at most 4 KiB, newline stripped), for
 * --password-file and friends.  *out is malloc'd. */
int eccfg_read_password_file(char **out, const char *path);

/*
 * Helpers shared by the server-side commands, implemented in the
 * cmd-*.c file named beside each.
 */
struct eccfg_client;

/* The line between log entries, as Subversion prints it. */
#define ECCFG_LOG_SEPARATOR \
	"------------------------------------------------------------------------"

/* cmd-log.c: one revision entry (revisions.schema.json) as Subversion's
 * log prints it, followed by the separator line; with_changes adds the
 * "Changed paths:" block of revision.schema.json.  Printed with --quiet
 * too: it is the data log and show exist for. */
void eccfg_print_revision(const json_t *rev, int with_changes);

/* cmd-rollback.c: POST a change set or rollback body to `uri` and report
 * the result the Subversion way ("Committed revision N." or "Nothing to
 * commit"; out-of-date paths and a validator's output on stderr).
 * `lines` (may be NULL) are the command's "Adding ..." lines: printed
 * before "Committed revision N." once the server made the revision, never
 * when it refused.  *revision (optional) gets the new head.  Returns an
 * exit status. */
int eccfg_post_commit(struct eccfg_ctx *ctx, struct eccfg_client *c,
    const char *uri, const json_t *body, const char *lines,
    int64_t *revision);

/* cmd-rollback.c: eccfg_post_commit() of a change set to /v1/commits. */
int eccfg_post_changeset(struct eccfg_ctx *ctx, struct eccfg_client *c,
    const struct ecc_changeset *cs, const char *lines, int64_t *revision);

/* cmd-clone.c: the body of clone (exact 1: DEST ends up equal to SRC)
 * and overlay (exact 0: files only in DEST are kept). */
int eccfg_copy_folder(struct eccfg_ctx *ctx, int argc, char **argv,
    int exact);

/* Exit status conventions: 0 success, 1 operation failed, 2 usage error. */
#define ECCFG_EXIT_OK 0
#define ECCFG_EXIT_FAIL 1
#define ECCFG_EXIT_USAGE 2

extern const struct eccfg_cmd eccfg_cmd_init, eccfg_cmd_checkout,
    eccfg_cmd_status, eccfg_cmd_diff, eccfg_cmd_revert, eccfg_cmd_delete,
    eccfg_cmd_commit, eccfg_cmd_pull, eccfg_cmd_resolve, eccfg_cmd_log,
    eccfg_cmd_show, eccfg_cmd_cat, eccfg_cmd_rollback, eccfg_cmd_put,
    eccfg_cmd_clone, eccfg_cmd_overlay, eccfg_cmd_subcluster,
    eccfg_cmd_user, eccfg_cmd_nodes, eccfg_cmd_bootstrap, eccfg_cmd_follow,
    eccfg_cmd_local, eccfg_cmd_managers, eccfg_cmd_audit;

#endif
