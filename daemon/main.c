/*
 * main.c - ecconfigd: options, configuration, start-up checks (TLS
 * certificate and key, repository), daemonizing, pid file, logging,
 * signals through the event loop (SIGHUP reloads the configuration and
 * certificates; SIGTERM/SIGINT stop accepting, let queued commits finish
 * and exit 0), the ready file and sd_notify.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "ecconfig.h"

#include "api.h"
#include "cache.h"
#include "cluster.h"
#include "server.h"
#include "worker.h"
#include "writer.h"

#define PROG "ecconfigd"
#define DEFAULT_CONFIG SYSCONFDIR "/ecconfig/ecconfigd.conf"
#define EXPIRY_WARN_DAYS 30
#define EXPIRY_CHECK_INTERVAL (24 * 3600)
#define DRAIN_TICK_MS 50
#define DRAIN_CONN_MS 5000

struct options {
	const char *config;
	int check_only;
	int dump_config;
	int debug;
	int foreground;
	int log_level;                /* -1: from the configuration */
	const char *ready_file;
};

struct daemon {
	struct options opt;
	char *cwd;                    /* start-up directory: relative paths */
	char *config_path;
	char *ready_path;
	struct ecc_dconf cfg;
	struct ecd_server srv;
	struct ecd_cluster *cluster;  /* store = postgresql */
	struct event *sig_hup, *sig_term, *sig_int;
	struct event *expiry_ev, *drain_ev;
	uint64_t drained_at_ms;       /* when the last job finished */
	int pid_written;
};

/* --- small helpers --- */

static void
sd_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	int fd;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sa, len) < 0)
		ecc_log_debug("main", "sd_notify: %s", strerror(errno));
	close(fd);
}

/* `path` made absolute against `cwd` (malloc'd), or NULL for NULL. */
static char *
path_absolute(const char *cwd, const char *path)
{
	if (!path)
		return NULL;
	if (!*path || path[0] == '/')
		return ecc_strdup(path);
	return ecc_printf("%s/%s", cwd, path);
}

/* Every file or directory option of the configuration, made absolute so
 * nothing depends on the working directory once daemonized. */
static void
config_absolute(struct ecc_dconf *cfg, const char *cwd)
{
	char **fields[] = {
		&cfg->data_dir, &cfg->cert_file, &cfg->key_file, &cfg->ca_file,
		&cfg->ca_key_file, &cfg->log_file, &cfg->pid_file,
	};
	size_t i;
	char *abs;

	for (i = 0; i < ECC_ARRAY_SIZE(fields); i++) {
		if (!*fields[i] || !**fields[i])
			continue;
		abs = path_absolute(cwd, *fields[i]);
		free(*fields[i]);
		*fields[i] = abs;
	}
}

static enum ecc_log_target
log_target_of(const char *name)
{
	if (name && strcmp(name, "file") == 0)
		return ECC_LOG_FILE;
	if (name && strcmp(name, "stderr") == 0)
		return ECC_LOG_STDERR;
	return ECC_LOG_SYSLOG;
}

static int
log_setup(struct daemon *d)
{
	int level = d->opt.log_level >= 0 ? d->opt.log_level :
	    (int)d->cfg.log_level;

	if (d->opt.debug)
		return ecc_log_open(ECC_LOG_STDERR, NULL, PROG, LOG_DEBUG);
	return ecc_log_open(log_target_of(d->cfg.log_target), d->cfg.log_file,
	    PROG, level);
}

static char *
repo_path_of(const struct ecc_dconf *cfg)
{
	return ecc_printf("%s/repo.git", cfg->data_dir);
}

/* This manager's name in the cluster: manager_name, else the host
 * name.  Malloc'd. */
static char *
manager_name(const struct ecc_dconf *cfg)
{
	char host[256];

	if (cfg->manager_name && *cfg->manager_name)
		return ecc_strdup(cfg->manager_name);
	if (gethostname(host, sizeof(host) - 1) < 0)
		return ecc_strdup("manager");
	host[sizeof(host) - 1] = '\0';
	return ecc_strdup(host);
}

static const char *
ca_or_null(const struct ecc_dconf *cfg)
{
	return cfg->ca_file && *cfg->ca_file && ecc_path_exists(cfg->ca_file) ?
	    cfg->ca_file : NULL;
}

/* The server certificate's remaining validity, warned about when short. */
static void
expiry_check(struct daemon *d)
{
	time_t end, now = time(NULL);
	struct tm tm;
	char date[32];
	int64_t days;

	if (ecc_pki_cert_not_after(&end, d->cfg.cert_file) < 0) {
		ecc_log_warn("tls", "cannot read the expiry of %s: %s",
		    d->cfg.cert_file, ecc_error_last());
		return;
	}
	days = (int64_t)(end - now) / 86400;
	gmtime_r(&end, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
	if (days < EXPIRY_WARN_DAYS)
		ecc_log_warn("tls", "the server certificate %s expires on %s "
		    "(in %" PRId64 " days): issue a new one and send SIGHUP",
		    d->cfg.cert_file, date, days);
	else
		ecc_log_info("tls", "the server certificate expires on %s",
		    date);
}

static void
expiry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	expiry_check(arg);
}

/* --- the listening socket --- */

/* "ADDR:PORT", "[V6]:PORT" or "ADDR" (default port); port 0 binds any
 * free port (tests). */
static int
listen_split(char **host, int *port, const char *text)
{
	const char *colon, *end;
	int64_t p = ECC_DEFAULT_PORT;

	*host = NULL;
	if (text[0] == '[') {
		if (!(end = strchr(text, ']')))
			return ecc_error_set(ECC_EINVALID, "listen = %s: missing "
			    "']'", text);
		*host = ecc_strndup(text + 1, (size_t)(end - text - 1));
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon)
			goto bad;
	} else {
		colon = strrchr(text, ':');
		*host = colon ? ecc_strndup(text, (size_t)(colon - text)) :
		    ecc_strdup(text);
	}
	if (colon && ecc_parse_int64(&p, colon + 1, 0, 65535) < 0)
		goto bad;
	*port = (int)p;
	return 0;
bad:
	free(*host);
	*host = NULL;
	return ecc_error_set(ECC_EINVALID, "listen = %s: expected ADDR:PORT "
	    "with a port in 0..65535", text);
}

static int
listen_open(int *out, const char *listen_text)
{
	struct addrinfo hints, *res = NULL, *ai;
	char *host = NULL, portstr[16];
	int port = 0, fd = -1, one = 1, error = -1, rc;

	*out = -1;
	if ((error = listen_split(&host, &port, listen_text)) < 0)
		goto out;
	snprintf(portstr, sizeof(portstr), "%d", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(*host ? host : NULL, portstr, &hints, &res))
	    != 0) {
		error = ecc_error_set(ECC_EINVALID, "listen = %s: %s",
		    listen_text, gai_strerror(rc));
		goto out;
	}
	error = ecc_error_set(ECC_ERROR, "listen = %s: no address",
	    listen_text);
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			error = ecc_error_set_errno(ECC_ERROR, "listen = %s: "
			    "socket", listen_text);
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* Inherited by accepted connections (Linux): a reply's body
		 * record must not wait for the client's delayed ACK of its
		 * header record (up to 40 ms per reply). */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
		    listen(fd, 1024) < 0) {
			error = ecc_error_set_errno(ECC_ERROR, "cannot listen on "
			    "%s", listen_text);
			close(fd);
			fd = -1;
			continue;
		}
		break;
	}
	if (fd < 0)
		goto out;
	*out = fd;
	error = 0;
out:
	if (res)
		freeaddrinfo(res);
	free(host);
	return error;
}

/* "ADDR:PORT" of a bound socket ("[ADDR]:PORT" for IPv6). */
static char *
listen_name(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return ecc_strdup("?");
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		return ecc_printf("[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		return ecc_printf("%s:%u", host, ntohs(s4->sin_port));
	}
}

/* --- pid file and daemonizing --- */

static int
pidfile_check(const char *path)
{
	char *buf = NULL;
	int64_t pid;
	int error;

	error = ecc_file_read(&buf, NULL, path, 64);
	if (error == ECC_ENOTFOUND) {
		error = 0;
		goto out;
	}
	if (error < 0)
		goto out;
	buf[strcspn(buf, " \n")] = '\0';
	if (ecc_parse_int64(&pid, buf, 1, INT_MAX) < 0) {
		error = 0;            /* garbage: stale */
		goto out;
	}
	if ((pid_t)pid != getpid() && (kill((pid_t)pid, 0) == 0 ||
	    errno == EPERM)) {
		error = ecc_error_set(ECC_EEXISTS, "another ecconfigd (pid %"
		    PRId64 ") holds %s", pid, path);
		goto out;
	}
	error = 0;
out:
	free(buf);
	return error;
}

static int
daemonize(void)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) < 0)
		return ecc_error_set_errno(ECC_ERROR, "fork");
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return ecc_error_set_errno(ECC_ERROR, "setsid");
	if ((pid = fork()) < 0)
		return ecc_error_set_errno(ECC_ERROR, "fork");
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		return ecc_error_set_errno(ECC_ERROR, "chdir /");
	umask(027);
	if ((fd = open("/dev/null", O_RDWR)) < 0)
		return ecc_error_set_errno(ECC_ERROR, "/dev/null");
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	return 0;
}

/* --- reload --- */

static int
option_equal(const struct ecc_option *o, const void *a, const void *b)
{
	const char *pa = (const char *)a + o->offset;
	const char *pb = (const char *)b + o->offset;
	const char *sa, *sb;

	switch (o->type) {
	case ECC_OPT_STRING:
	case ECC_OPT_ENUM:
		sa = *(char *const *)(const void *)pa;
		sb = *(char *const *)(const void *)pb;
		return strcmp(sa ? sa : "", sb ? sb : "") == 0;
	case ECC_OPT_INT:
	case ECC_OPT_DURATION:
		return *(const int64_t *)(const void *)pa ==
		    *(const int64_t *)(const void *)pb;
	case ECC_OPT_SIZE:
		return *(const size_t *)(const void *)pa ==
		    *(const size_t *)(const void *)pb;
	case ECC_OPT_BOOL:
		return *(const int *)(const void *)pa ==
		    *(const int *)(const void *)pb;
	}
	return 1;
}

/* Put the old value of a non-reloadable option back into `n`. */
static void
option_keep(const struct ecc_option *o, void *n, void *old)
{
	char *pn = (char *)n + o->offset, *po = (char *)old + o->offset;
	char *tmp;

	switch (o->type) {
	case ECC_OPT_STRING:
	case ECC_OPT_ENUM:
		tmp = *(char **)(void *)pn;
		*(char **)(void *)pn = *(char **)(void *)po;
		*(char **)(void *)po = tmp;
		break;
	case ECC_OPT_INT:
	case ECC_OPT_DURATION:
		*(int64_t *)(void *)pn = *(int64_t *)(void *)po;
		break;
	case ECC_OPT_SIZE:
		*(size_t *)(void *)pn = *(size_t *)(void *)po;
		break;
	case ECC_OPT_BOOL:
		*(int *)(void *)pn = *(int *)(void *)po;
		break;
	}
}

static void
reload(struct daemon *d)
{
	struct ecc_dconf n;
	const struct ecc_option *o;
	SSL_CTX *ctx = NULL;
	char *a, *b;

	sd_notify("RELOADING=1");
	ecc_log_notice("main", "SIGHUP: reloading %s", d->config_path);
	memset(&n, 0, sizeof(n));
	if (ecc_dconf_load(&n, d->config_path) < 0) {
		ecc_log_err("main", "reload refused, keeping the running "
		    "configuration: %s", ecc_error_last());
		ecc_dconf_free(&n);
		sd_notify("READY=1");
		return;
	}
	config_absolute(&n, d->cwd);
	for (o = ecc_dconf_options; o->name; o++) {
		if (option_equal(o, &n, &d->cfg))
			continue;
		a = ecc_option_format(&d->cfg, o);
		b = ecc_option_format(&n, o);
		if (o->reloadable) {
			ecc_log_notice("main", "reload: %s changed from %s to %s",
			    o->name, a, b);
		} else {
			ecc_log_warn("main", "reload: %s cannot change without "
			    "a restart; keeping %s (file says %s)", o->name, a,
			    b);
			option_keep(o, &n, &d->cfg);
		}
		free(a);
		free(b);
	}
	/* Certificates: a new context for new connections only. */
	if (ecc_pki_check_pair(n.cert_file, n.key_file) < 0 ||
	    ecc_tls_server_ctx(&ctx, n.cert_file, n.key_file, ca_or_null(&n))
	    < 0) {
		ecc_log_err("tls", "reload: keeping the current certificate: "
		    "%s", ecc_error_last());
		ctx = NULL;
	}
	ecc_dconf_free(&d->cfg);
	d->cfg = n;
	if (log_setup(d) < 0) {
		fprintf(stderr, PROG ": %s\n", ecc_error_last());
		ecc_log_open(ECC_LOG_SYSLOG, NULL, PROG, (int)d->cfg.log_level);
		ecc_log_err("main", "reload: %s; logging to syslog",
		    ecc_error_last());
	}
	if (ctx) {
		ecd_server_set_ssl_ctx(&d->srv, ctx);
		ecc_log_notice("tls", "certificate reloaded from %s",
		    d->cfg.cert_file);
		expiry_check(d);
	}
	ecd_server_apply_limits(&d->srv);
	ecd_users_reload(&d->srv);
	ecd_nodes_reload(&d->srv);
	ecc_log_notice("main", "configuration reloaded");
	sd_notify("READY=1");
}

/* --- shutdown --- */

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint64_t now = ecc_now_ms();

	(void)fd;
	(void)what;
	/* Queued commits always finish; then connections get a moment to
	 * receive their last replies. */
	if (ecd_pool_inflight(d->srv.pool) > 0) {
		d->drained_at_ms = 0;
		return;
	}
	if (!d->drained_at_ms)
		d->drained_at_ms = now;
	if (d->srv.nconns > 0 && now - d->drained_at_ms < DRAIN_CONN_MS)
		return;
	event_base_loopexit(d->srv.base, NULL);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tick = { 0, DRAIN_TICK_MS * 1000 };

	(void)what;
	if (sig == SIGHUP) {
		reload(d);
		return;
	}
	if (d->srv.stopping) {
		ecc_log_notice("main", "signal %d again: still finishing %zu "
		    "job(s)", (int)sig, ecd_pool_inflight(d->srv.pool));
		return;
	}
	sd_notify("STOPPING=1");
	ecc_log_notice("main", "signal %d: stopping (%zu job(s) to finish)",
	    (int)sig, ecd_pool_inflight(d->srv.pool));
	ecd_server_stop_accepting(&d->srv);
	ecd_watch_release_all(&d->srv);
	d->drain_ev = event_new(d->srv.base, -1, EV_PERSIST, drain_cb, d);
	if (!d->drain_ev) {
		event_base_loopexit(d->srv.base, NULL);
		return;
	}
	event_add(d->drain_ev, &tick);
}

/* --- options --- */

static void
usage(FILE *out)
{
	fprintf(out,
"usage: " PROG " [options]\n"
"\n"
"The ecconfig manager daemon: serves the configuration repository over\n"
"HTTPS (proto/API.md).\n"
"\n"
"  -c, --config FILE      configuration file (default " DEFAULT_CONFIG ")\n"
"  -t, --test             check the configuration, certificate, key and\n"
"                         repository, print \"configuration OK\" and exit\n"
"      --dump-config      print the effective configuration and exit\n"
"  -d, --debug            stay in the foreground, log level 7 to stderr\n"
"  -f, --foreground       do not daemonize\n"
"      --log-level N      log level 0..7 (overrides log_level)\n"
"      --ready-file FILE  write \"ADDR:PORT\" to FILE once serving\n"
"  -h, --help             this help\n"
"  -V, --version          print the version\n"
"\n"
"Signals: HUP reloads the configuration and the certificate; TERM and\n"
"INT stop after queued commits are durable.\n");
}

static int
parse_options(struct options *o, int argc, char **argv)
{
	enum { OPT_DUMP = 256, OPT_LEVEL, OPT_READY };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "dump-config", no_argument, NULL, OPT_DUMP },
		{ "debug", no_argument, NULL, 'd' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, OPT_LEVEL },
		{ "ready-file", required_argument, NULL, OPT_READY },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t level;
	int c;

	memset(o, 0, sizeof(*o));
	o->config = DEFAULT_CONFIG;
	o->log_level = -1;
	while ((c = getopt_long(argc, argv, "c:tdfhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 't':
			o->check_only = 1;
			break;
		case OPT_DUMP:
			o->dump_config = 1;
			break;
		case 'd':
			o->debug = 1;
			o->foreground = 1;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case OPT_LEVEL:
			if (ecc_parse_int64(&level, optarg, 0, 7) < 0) {
				fprintf(stderr, PROG ": --log-level: expected "
				    "0..7, got '%s'\n", optarg);
				return 2;
			}
			o->log_level = (int)level;
			break;
		case OPT_READY:
			o->ready_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf(PROG " " PACKAGE_VERSION "\n");
			return 1;
		default:
			fprintf(stderr, "see " PROG " --help\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'; see " PROG
		    " --help\n", argv[optind]);
		return 2;
	}
	return 0;
}

/* --- main --- */

static int
run(struct daemon *d)
{
	struct ecd_server *srv = &d->srv;
	ecc_repo *repo = NULL;
	ecc_store *store = NULL;
	SSL_CTX *ctx = NULL;
	struct ecd_state *st = NULL;
	char *repo_path = NULL, *tmp_dir = NULL, *name = NULL, *text = NULL;
	char *mgr_name = NULL;
	char secret[32], secret_hex[65];
	int fd = -1, error = -1;

	/* Everything that can be wrong is found before daemonizing, so the
	 * operator sees it on the terminal. */
	if ((error = ecc_pki_check_pair(d->cfg.cert_file, d->cfg.key_file))
	    < 0)
		goto out;
	if ((error = ecc_tls_server_ctx(&ctx, d->cfg.cert_file,
	    d->cfg.key_file, ca_or_null(&d->cfg))) < 0)
		goto out;
	repo_path = repo_path_of(&d->cfg);
	if (strcmp(d->cfg.store, "postgresql") == 0) {
		/* The shared log fills or extends the repository first. */
		mgr_name = manager_name(&d->cfg);
		if ((error = ecd_cluster_prepare(&d->cluster, &d->cfg,
		    repo_path, &repo, mgr_name)) < 0 ||
		    (error = ecc_store_pg_open(&store, d->cfg.db_conninfo)) < 0)
			goto out;
	} else {
		error = ecc_repo_open(&repo, repo_path);
		if (error == ECC_ENOTFOUND) {
			error = ecc_error_set(ECC_ENOTFOUND, "no repository at "
			    "%s: run eccfg init", repo_path);
			goto out;
		}
		if (error < 0)
			goto out;
		if (ecc_repo_head(repo) < 0) {
			error = ecc_error_set(ECC_EINVALID, "%s holds no "
			    "revision (a cluster manager's repository?): run "
			    "eccfg init, or set store = postgresql", repo_path);
			goto out;
		}
		if ((error = ecc_store_file_open(&store, d->cfg.data_dir)) < 0)
			goto out;
	}
	if (d->opt.check_only) {
		printf("configuration OK\n");
		error = 0;
		goto out;
	}
	if ((error = pidfile_check(d->cfg.pid_file)) < 0)
		goto out;
	tmp_dir = ecc_printf("%s/tmp", d->cfg.data_dir);
	if ((error = ecc_mkdir_p(tmp_dir, 0700)) < 0)
		goto out;
	if ((error = listen_open(&fd, d->cfg.listen)) < 0)
		goto out;
	if (!d->opt.foreground && (error = daemonize()) < 0)
		goto out;
	if ((error = log_setup(d)) < 0)
		goto out;
	ecd_cluster_log_start(d->cluster);
	text = ecc_printf("%ld\n", (long)getpid());
	if ((error = ecc_file_write_atomic(d->cfg.pid_file, text,
	    strlen(text), 0644)) < 0)
		goto out;
	d->pid_written = 1;
	free(text);
	text = NULL;

	if (getenv("ECCONFIGD_EVENT_DEBUG"))
		event_enable_debug_mode();
	if (evthread_use_pthreads() < 0 ||
	    !(srv->base = event_base_new())) {
		error = ecc_error_set(ECC_ERROR, "cannot create the event loop");
		goto out;
	}
	srv->cfg = &d->cfg;
	srv->config_path = d->config_path;
	ecd_server_apply_limits(srv);
	srv->cache = ecd_cache_new(ECD_CACHE_BUDGET);
	if ((error = ecd_state_build(&st, repo)) < 0)
		goto out;
	srv->state = st;
	st = NULL;
	if ((error = ecc_store_user_list(store, &srv->users, &srv->nusers)) < 0)
		goto out;
	{
		struct ecc_node *nodes = NULL;
		size_t nnodes = 0;

		if ((error = ecc_store_node_list(store, &nodes, &nnodes)) < 0)
			goto out;
		ecd_server_set_nodes(srv, nodes, nnodes);
	}
	/* Unknown user names are checked against this, so a failed login
	 * costs the same whether the account exists or not. */
	if ((error = ecc_random_bytes(secret, sizeof(secret))) < 0)
		goto out;
	ecc_hex_encode(secret_hex, (unsigned char *)secret, sizeof(secret));
	if ((error = ecc_password_hash(&srv->dummy_hash, secret_hex, 0)) < 0)
		goto out;
	error = ecd_pool_new(&srv->pool, srv->base, repo_path,
	    (int)d->cfg.workers, repo, store);
	repo = NULL;
	store = NULL;
	if (error < 0)
		goto out;
	name = listen_name(fd);
	error = ecd_server_listen(srv, fd, ctx);
	fd = -1;
	ctx = NULL;
	if (error < 0)
		goto out;
	if (!mgr_name)
		mgr_name = manager_name(&d->cfg);
	srv->self_name = mgr_name;
	srv->self_address = name;
	srv->cluster = d->cluster;
	if (d->cluster && (error = ecd_cluster_start(d->cluster, srv,
	    name)) < 0)
		goto out;

	d->sig_hup = evsignal_new(srv->base, SIGHUP, signal_cb, d);
	d->sig_term = evsignal_new(srv->base, SIGTERM, signal_cb, d);
	d->sig_int = evsignal_new(srv->base, SIGINT, signal_cb, d);
	d->expiry_ev = event_new(srv->base, -1, EV_PERSIST, expiry_cb, d);
	if (!d->sig_hup || !d->sig_term || !d->sig_int || !d->expiry_ev ||
	    event_add(d->sig_hup, NULL) < 0 ||
	    event_add(d->sig_term, NULL) < 0 ||
	    event_add(d->sig_int, NULL) < 0) {
		error = ecc_error_set(ECC_ERROR, "cannot install the signal "
		    "handlers");
		goto out;
	}
	{
		struct timeval day = { EXPIRY_CHECK_INTERVAL, 0 };

		event_add(d->expiry_ev, &day);
	}
	expiry_check(d);

	if (d->ready_path) {
		text = ecc_printf("%s\n", name);
		if ((error = ecc_file_write_atomic(d->ready_path, text,
		    strlen(text), 0644)) < 0)
			goto out;
	}
	ecc_log_notice("main", PROG " " PACKAGE_VERSION " serving on %s "
	    "(head r%" PRId64 ", store %s, %" PRId64 " reader(s))", name,
	    srv->state->head, d->cfg.store, d->cfg.workers);
	{
		char *msg = ecc_printf("READY=1\nMAINPID=%ld", (long)getpid());

		sd_notify(msg);
		free(msg);
	}
	event_base_dispatch(srv->base);
	ecc_log_notice("main", "stopped");
	error = 0;
out:
	if (error < 0)
		fprintf(stderr, PROG ": %s\n", ecc_error_last());
	if (error < 0 && srv->base)
		ecc_log_err("main", "%s", ecc_error_last());
	ecd_cluster_stop(d->cluster);
	srv->cluster = NULL;
	if (srv->pool) {
		ecd_pool_free(srv->pool);
		srv->pool = NULL;
	}
	ecd_cluster_free(d->cluster);
	d->cluster = NULL;
	if (d->sig_hup)
		event_free(d->sig_hup);
	if (d->sig_term)
		event_free(d->sig_term);
	if (d->sig_int)
		event_free(d->sig_int);
	if (d->expiry_ev)
		event_free(d->expiry_ev);
	if (d->drain_ev)
		event_free(d->drain_ev);
	if (srv->base)
		ecd_server_free(srv);
	ecd_cache_free(srv->cache);
	ecd_state_free(st);
	if (srv->base)
		event_base_free(srv->base);
	if (fd >= 0)
		close(fd);
	if (d->pid_written)
		unlink(d->cfg.pid_file);
	SSL_CTX_free(ctx);
	ecc_repo_free(repo);
	ecc_store_free(store);
	free(repo_path);
	free(mgr_name);
	free(tmp_dir);
	free(name);
	free(text);
	return error < 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	struct daemon d;
	char cwd[PATH_MAX];
	int rc;

	memset(&d, 0, sizeof(d));
	if ((rc = parse_options(&d.opt, argc, argv)) != 0)
		return rc == 1 ? 0 : 2;
	signal(SIGPIPE, SIG_IGN);
	ecc_log_open(ECC_LOG_STDERR, NULL, PROG,
	    d.opt.debug ? LOG_DEBUG : LOG_WARNING);
	if (!getcwd(cwd, sizeof(cwd))) {
		fprintf(stderr, PROG ": cannot get the working directory: %s\n",
		    strerror(errno));
		return 1;
	}
	d.cwd = ecc_strdup(cwd);
	d.config_path = path_absolute(d.cwd, d.opt.config);
	d.ready_path = path_absolute(d.cwd, d.opt.ready_file);
	if (ecc_dconf_load(&d.cfg, d.config_path) < 0) {
		fprintf(stderr, PROG ": %s\n", ecc_error_last());
		rc = 1;
		goto out;
	}
	config_absolute(&d.cfg, d.cwd);
	if (d.opt.log_level >= 0)
		d.cfg.log_level = d.opt.log_level;
	if (d.opt.dump_config) {
		ecc_options_dump(stdout, &d.cfg, ecc_dconf_options);
		rc = 0;
		goto out;
	}
	rc = run(&d);
out:
	ecc_dconf_free(&d.cfg);
	free(d.cwd);
	free(d.config_path);
	free(d.ready_path);
	ecc_log_close();
	return rc;
}
