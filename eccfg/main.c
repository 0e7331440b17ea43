/*
 * main.c - eccfg's entry point: the table of subcommands, dispatch,
 * --help and --version, and the option parser every subcommand uses
 * (the common options of Momentum's eccfg plus the command's own).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "eccfg.h"

/* One table: order is the order of `eccfg --help`. */
static const struct eccfg_cmd *const cmd_table[] = {
	&eccfg_cmd_init,
	&eccfg_cmd_checkout,
	&eccfg_cmd_status,
	&eccfg_cmd_diff,
	&eccfg_cmd_revert,
	&eccfg_cmd_delete,
	&eccfg_cmd_commit,
	&eccfg_cmd_pull,
	&eccfg_cmd_resolve,
	&eccfg_cmd_log,
	&eccfg_cmd_show,
	&eccfg_cmd_cat,
	&eccfg_cmd_rollback,
	&eccfg_cmd_put,
	&eccfg_cmd_clone,
	&eccfg_cmd_overlay,
	&eccfg_cmd_subcluster,
	&eccfg_cmd_user,
	&eccfg_cmd_nodes,
	&eccfg_cmd_managers,
	&eccfg_cmd_audit,
	&eccfg_cmd_bootstrap,
	&eccfg_cmd_follow,
	&eccfg_cmd_local,
};

enum {
	COMMON_USERNAME = 0x1000,
	COMMON_PASSWORD,
	COMMON_PASSWORD_FILE,
	COMMON_CREDENTIALS,
	COMMON_SERVER,
	COMMON_CA,
	COMMON_CA_FINGERPRINT,
	COMMON_QUIET,
	COMMON_DEBUG,
	COMMON_JSON,
	COMMON_TIMEOUT,
	COMMON_HELP,
	/* getopt_long values of command options without a short letter */
	CMD_OPT_BASE = 0x2000,
};

#define MAX_CMD_OPTS 64
#define MAX_TIMEOUT 3600

static const struct eccfg_opt common_opts[] = {
	{ "username", 1, 'u', COMMON_USERNAME, "NAME",
	  "account to log in as (default $ECCFG_USERNAME, then $USER)" },
	{ "password", 1, 'p', COMMON_PASSWORD, "PASSWORD",
	  "password (default $ECCFG_PASSWORD; prompted when missing)" },
	{ "password-file", 1, 0, COMMON_PASSWORD_FILE, "FILE",
	  "read the password from the first line of FILE" },
	{ "credentials", 1, 0, COMMON_CREDENTIALS, "FILE",
	  "file with \"username = ...\" and \"password = ...\" lines" },
	{ "server", 1, 0, COMMON_SERVER, "HOST[:PORT]",
	  "manager to talk to (default $ECCFG_SERVER, port 2027)" },
	{ "ca", 1, 0, COMMON_CA, "FILE",
	  "trust the cluster CA in FILE (default $ECCFG_CA)" },
	{ "ca-fingerprint", 1, 0, COMMON_CA_FINGERPRINT, "FP",
	  "trust the CA with this SHA-256 fingerprint" },
	{ "quiet", 0, 'q', COMMON_QUIET, NULL,
	  "no progress or result messages (what the command shows, and "
	  "errors, still print)" },
	{ "debug", 0, 0, COMMON_DEBUG, NULL,
	  "log everything (level 7) to stderr" },
	{ "json", 0, 0, COMMON_JSON, NULL,
	  "print the server's JSON instead of text" },
	{ "timeout", 1, 0, COMMON_TIMEOUT, "SECONDS",
	  "give up on the server after SECONDS (default 30)" },
	{ "help", 0, 'h', COMMON_HELP, NULL,
	  "show this help" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

/* Set by the reporting functions so main does not print an error twice
 * and knows a usage error from a failure. */
static int error_printed;
static int usage_printed;
static int help_printed;

static const char *
ctx_name(const struct eccfg_ctx *ctx)
{
	return ctx && ctx->cmd ? ctx->cmd->name : NULL;
}

static void
print_prefix(const struct eccfg_ctx *ctx)
{
	const char *name = ctx_name(ctx);

	if (name)
		fprintf(stderr, "eccfg %s: ", name);
	else
		fputs("eccfg: ", stderr);
}

/* "eccfg NAME: message" and a newline on stderr, after what stdout
 * holds. */
static void __attribute__((format(printf, 2, 0)))
print_errorv(struct eccfg_ctx *ctx, const char *fmt, va_list ap)
{
	fflush(stdout);
	print_prefix(ctx);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	error_printed = 1;
}

int
eccfg_fail(struct eccfg_ctx *ctx, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_errorv(ctx, fmt, ap);
	va_end(ap);
	return code ? code : ECC_ERROR;
}

int
eccfg_report(struct eccfg_ctx *ctx)
{
	const char *msg = ecc_error_last();

	fflush(stdout);
	print_prefix(ctx);
	eccfg_print_text(stderr, *msg ? msg : "failed");
	fputc('\n', stderr);
	error_printed = 1;
	return ECCFG_EXIT_FAIL;
}

int
eccfg_usage(struct eccfg_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	const char *name = ctx_name(ctx);

	va_start(ap, fmt);
	print_errorv(ctx, fmt, ap);
	va_end(ap);
	if (name)
		fprintf(stderr, "see eccfg %s --help\n", name);
	else
		fputs("see eccfg --help\n", stderr);
	usage_printed = 1;
	return ECCFG_EXIT_USAGE;
}

void
eccfg_say(struct eccfg_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx && ctx->g.quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void
eccfg_print_json(const json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', stdout);
}

void
eccfg_print_text(FILE *f, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
			fputc('?', f);
		else
			fputc(*p, f);
	}
}

int
eccfg_error_prefix(int code, const char *fmt, ...)
{
	char prefix[512];
	char *old = ecc_strdup(ecc_error_last());
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	ecc_error_set(code, "%s: %s", prefix, old);
	free(old);
	return code;
}

int
eccfg_parse_rev(int64_t *out, const char *text)
{
	const char *s = text;

	*out = 0;
	if (!text || !*text)
		return ecc_error_set(ECC_EINVALID, "empty revision");
	if (strcasecmp(text, "HEAD") == 0) {
		*out = -1;
		return 0;
	}
	if (*s == 'r' || *s == 'R')
		s++;
	if (ecc_parse_int64(out, s, 0, INT64_MAX) < 0)
		return ecc_error_set(ECC_EINVALID,
		    "'%s' is not a revision (expected N, rN or HEAD)", text);
	return 0;
}

int
eccfg_check_repo_path(const char *path)
{
	char q[ECC_QUOTE_BUF], qrest[ECC_QUOTE_BUF];
	const char *rest;

	if (!path || path[0] != '/')
		return ecc_path_validate(path, NULL);
	ecc_quote(q, path, strlen(path));
	for (rest = path; *rest == '/'; rest++)
		;
	ecc_quote(qrest, rest, strlen(rest));
	if (*rest)
		return ecc_error_set(ECC_EINVALID, "'%s': repository paths are "
		    "relative, not absolute (did you mean '%s'?)", q, qrest);
	return ecc_error_set(ECC_EINVALID, "'%s': repository paths are "
	    "relative, not absolute", q);
}

int
eccfg_read_password_file(char **out, const char *path)
{
	char *buf = NULL;
	size_t len = 0, n;
	int error = -1;

	*out = NULL;
	if ((error = ecc_file_read(&buf, &len, path, 4096)) < 0) {
		if (error == ECC_ETOOBIG)
			ecc_error_set(error, "%s: a password file holds one "
			    "line of at most 4096 bytes", path);
		goto out;
	}
	n = strcspn(buf, "\r\n");
	if (n == 0) {
		error = ecc_error_set(ECC_EINVALID,
		    "%s: the first line (the password) is empty", path);
		goto out;
	}
	if (memchr(buf, '\0', n) || strlen(buf) < n) {
		error = ecc_error_set(ECC_EINVALID, "%s: NUL byte in password",
		    path);
		goto out;
	}
	*out = ecc_strndup(buf, n);
	error = 0;
out:
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	return error;
}

static const struct eccfg_cmd *
cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < ECC_ARRAY_SIZE(cmd_table); i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

static void
print_opt(FILE *f, const struct eccfg_opt *o)
{
	char left[96];
	int n;

	if (o->short_opt)
		n = snprintf(left, sizeof(left), "  -%c, --%s", o->short_opt,
		    o->name);
	else
		n = snprintf(left, sizeof(left), "      --%s", o->name);
	if (o->has_arg && n > 0 && (size_t)n < sizeof(left))
		snprintf(left + n, sizeof(left) - (size_t)n, " %s",
		    o->arg_name ? o->arg_name : "ARG");
	if (strlen(left) >= 30)
		fprintf(f, "%s\n%30s%s\n", left, "", o->help ? o->help : "");
	else
		fprintf(f, "%-30s%s\n", left, o->help ? o->help : "");
}

static void
print_cmd_help(FILE *f, const struct eccfg_cmd *cmd)
{
	const struct eccfg_opt *o;

	fprintf(f, "usage: eccfg %s%s%s\n\n%s\n", cmd->name,
	    cmd->usage && *cmd->usage ? " " : "",
	    cmd->usage ? cmd->usage : "", cmd->summary);
	if (cmd->opts && cmd->opts[0].name) {
		fputs("\nOptions:\n", f);
		for (o = cmd->opts; o->name; o++)
			print_opt(f, o);
	}
	fputs("\nCommon options:\n", f);
	for (o = common_opts; o->name; o++) {
		if (o->id == COMMON_JSON && !cmd->json_ok)
			continue;
		print_opt(f, o);
	}
	fputs("\nLong options may be abbreviated to any unique prefix.\n", f);
}

static void
print_main_help(FILE *f)
{
	size_t i;

	fputs("usage: eccfg COMMAND [OPTIONS] [ARGS]\n"
	    "       eccfg help COMMAND | eccfg COMMAND --help\n"
	    "       eccfg --version\n\n"
	    "eccfg manages an ecconfig cluster's configuration repository.\n\n"
	    "Commands:\n", f);
	for (i = 0; i < ECC_ARRAY_SIZE(cmd_table); i++)
		fprintf(f, "  %-12s %s\n", cmd_table[i]->name,
		    cmd_table[i]->summary);
	fputs("\nEvery command takes the common options --username, "
	    "--password,\n--password-file, --credentials, --server, --ca, "
	    "--ca-fingerprint,\n--quiet, --debug and --timeout; see "
	    "eccfg COMMAND --help.\n", f);
}

static void
global_defaults(struct eccfg_global *g)
{
	const char *v;

	memset(g, 0, sizeof(*g));
	g->timeout = 30;
	if ((v = getenv("ECCFG_USERNAME")) && *v)
		g->username = v;
	if ((v = getenv("ECCFG_PASSWORD")) && *v)
		g->password = v;
	if ((v = getenv("ECCFG_PASSWORD_FILE")) && *v)
		g->password_file = v;
	if ((v = getenv("ECCFG_SERVER")) && *v)
		g->server = v;
	if ((v = getenv("ECCFG_CA")) && *v)
		g->ca_file = v;
	if ((v = getenv("ECCFG_CA_FINGERPRINT")) && *v)
		g->ca_fingerprint = v;
}

/* Apply one common option; negative with the error set on a bad value. */
static int
global_set(struct eccfg_global *g, int id, const char *arg)
{
	int64_t n;

	switch (id) {
	case COMMON_USERNAME: g->username = arg; break;
	case COMMON_PASSWORD: g->password = arg; break;
	case COMMON_PASSWORD_FILE: g->password_file = arg; break;
	case COMMON_CREDENTIALS: g->credentials = arg; break;
	case COMMON_SERVER: g->server = arg; break;
	case COMMON_CA: g->ca_file = arg; break;
	case COMMON_CA_FINGERPRINT: g->ca_fingerprint = arg; break;
	case COMMON_QUIET: g->quiet = 1; break;
	case COMMON_JSON: g->json = 1; break;
	case COMMON_DEBUG:
		g->debug = 1;
		ecc_log_open(ECC_LOG_STDERR, NULL, "eccfg", LOG_DEBUG);
		break;
	case COMMON_TIMEOUT:
		if (ecc_parse_int64(&n, arg, 1, MAX_TIMEOUT) < 0)
			return ecc_error_set(ECC_EINVALID, "--timeout: '%s' is "
			    "not a number of seconds in 1..%d", arg,
			    MAX_TIMEOUT);
		g->timeout = (int)n;
		break;
	default:
		return ecc_error_set(ECC_EINVALID, "unknown option");
	}
	return 0;
}

/* The id of the common option with short letter `c`, or 0. */
static int
common_short_id(int c)
{
	const struct eccfg_opt *o;

	for (o = common_opts; o->name; o++)
		if (o->short_opt && o->short_opt == c)
			return o->id;
	return 0;
}

static int
is_common_short(int c)
{
	return common_short_id(c) != 0;
}

int
eccfg_message_opt(int id, const char *arg, void *payload)
{
	const char **message = payload;

	if (id != ECCFG_OPT_MESSAGE)
		return ecc_error_set(ECC_EINVALID, "unknown option");
	*message = arg;
	return 0;
}

int
eccfg_parse_options(struct eccfg_ctx *ctx, int argc, char **argv,
    eccfg_opt_cb on_opt, void *payload, int *first_arg)
{
	const struct eccfg_cmd *cmd = ctx->cmd;
	struct option longopts[2 * MAX_CMD_OPTS];
	char shortopts[3 * MAX_CMD_OPTS];
	const struct eccfg_opt *o, *match;
	size_t nl = 0, ns = 0, i;
	int c, error;

	*first_arg = argc;
	global_defaults(&ctx->g);
	shortopts[ns++] = ':';
	for (o = common_opts; o->name; o++) {
		if (o->id == COMMON_JSON && !cmd->json_ok)
			continue;
		longopts[nl++] = (struct option){ o->name,
		    o->has_arg ? required_argument : no_argument, NULL, o->id };
		if (o->short_opt) {
			shortopts[ns++] = (char)o->short_opt;
			if (o->has_arg)
				shortopts[ns++] = ':';
		}
	}
	for (i = 0; cmd->opts && cmd->opts[i].name; i++) {
		o = &cmd->opts[i];
		if (i >= MAX_CMD_OPTS)
			break;
		longopts[nl++] = (struct option){ o->name,
		    o->has_arg ? required_argument : no_argument, NULL,
		    CMD_OPT_BASE + (int)i };
		if (o->short_opt && !is_common_short(o->short_opt)) {
			shortopts[ns++] = (char)o->short_opt;
			if (o->has_arg)
				shortopts[ns++] = ':';
		}
	}
	longopts[nl] = (struct option){ NULL, 0, NULL, 0 };
	shortopts[ns] = '\0';

	optind = 0;   /* GNU: full reinitialization */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == '?') {
			if (optopt > 0 && optopt < 0x100)
				eccfg_usage(ctx, "unknown option '-%c'", optopt);
			else
				eccfg_usage(ctx, "unknown or ambiguous option "
				    "'%s'", argv[optind - 1]);
			return ECC_EINVALID;
		}
		if (c == ':') {
			eccfg_usage(ctx, "option '%s' needs an argument",
			    argv[optind - 1]);
			return ECC_EINVALID;
		}
		if (c < CMD_OPT_BASE && c < 0x100 && is_common_short(c))
			c = common_short_id(c);
		if (c == COMMON_HELP) {
			print_cmd_help(stdout, cmd);
			help_printed = 1;
			return 1;
		}
		if (c >= COMMON_USERNAME && c < CMD_OPT_BASE) {
			if (global_set(&ctx->g, c, optarg) < 0) {
				eccfg_usage(ctx, "%s", ecc_error_last());
				return ECC_EINVALID;
			}
			continue;
		}
		match = NULL;
		if (c >= CMD_OPT_BASE)
			match = &cmd->opts[c - CMD_OPT_BASE];
		else
			for (o = cmd->opts; o && o->name; o++)
				if (o->short_opt == c) {
					match = o;
					break;
				}
		if (!match) {
			eccfg_usage(ctx, "unknown option '-%c'", c);
			return ECC_EINVALID;
		}
		error = on_opt ? on_opt(match->id, optarg, payload) :
		    ecc_error_set(ECC_EINVALID, "unexpected option");
		if (error < 0) {
			eccfg_usage(ctx, "--%s: %s", match->name,
			    ecc_error_last());
			return error;
		}
	}
	*first_arg = optind;
	return 0;
}

/* Exit status for a command's return value (see struct eccfg_cmd). */
static int
exit_status(struct eccfg_ctx *ctx, int rc)
{
	if (rc >= 0)
		return rc == 1 && help_printed && !error_printed ?
		    ECCFG_EXIT_OK : rc;
	if (usage_printed)
		return ECCFG_EXIT_USAGE;
	if (!error_printed)
		eccfg_report(ctx);
	return ECCFG_EXIT_FAIL;
}

int
main(int argc, char **argv)
{
	struct eccfg_ctx ctx;
	const struct eccfg_cmd *cmd;
	const char *a;
	int rc;

	/* A server closing the TLS connection must be an error, not death. */
	signal(SIGPIPE, SIG_IGN);
	memset(&ctx, 0, sizeof(ctx));
	if (argc < 2) {
		print_main_help(stderr);
		return ECCFG_EXIT_USAGE;
	}
	a = argv[1];
	if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 ||
	    strcmp(a, "help") == 0) {
		if (argc > 2 && strcmp(a, "help") == 0) {
			if ((cmd = cmd_find(argv[2])) == NULL)
				return eccfg_usage(NULL, "unknown command '%s'",
				    argv[2]);
			print_cmd_help(stdout, cmd);
		} else {
			print_main_help(stdout);
		}
		return ECCFG_EXIT_OK;
	}
	if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
		printf("eccfg (ecconfig) %s\n", PACKAGE_VERSION);
		return ECCFG_EXIT_OK;
	}
	if (a[0] == '-')
		return eccfg_usage(NULL, "unknown option '%s' (options follow "
		    "the command)", a);
	if ((cmd = cmd_find(a)) == NULL)
		return eccfg_usage(NULL, "unknown command '%s'", a);

	ctx.cmd = cmd;
	global_defaults(&ctx.g);
	rc = exit_status(&ctx, cmd->run(&ctx, argc - 1, argv + 1));
	if (fflush(stdout) != 0 && errno != EPIPE && rc == ECCFG_EXIT_OK) {
		fprintf(stderr, "eccfg %s: cannot write output: %s\n",
		    cmd->name, strerror(errno));
		rc = ECCFG_EXIT_FAIL;
	}
	ecc_log_close();
	return rc;
}
