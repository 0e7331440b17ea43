/*
 * validate.c - the writer's checks of a candidate tree before a commit
 * (topology rules, path layout) and the configured check command (see
 * writer.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ecconfig.h"

#include "writer.h"

extern char **environ;

#define TOPOLOGY_MAX_BYTES (1024 * 1024)
#define PATH_ERRORS_MAX    20

/* The writer's parsed topology, keyed by the blob id of the file. */
struct topo_cache {
	char blob[ECC_OID_HEX_LEN];
	struct ecc_topology *topology;
};

static void
topo_cache_free(void *p)
{
	struct topo_cache *tc = p;

	if (tc) {
		ecc_topology_free(tc->topology);
		free(tc);
	}
}

void
ecd_check_copy(struct ecd_check *out, const struct ecc_dconf *cfg)
{
	memset(out, 0, sizeof(*out));
	if (cfg->check_command && *cfg->check_command)
		out->command = ecc_strdup(cfg->check_command);
	out->timeout = cfg->check_timeout;
	out->tmp_dir = ecc_printf("%s/tmp", cfg->data_dir);
}

void
ecd_check_clear(struct ecd_check *c)
{
	free(c->command);
	free(c->tmp_dir);
	memset(c, 0, sizeof(*c));
}

/* The topology of the candidate tree; borrowed from the writer's cache.
 * *out is NULL when the tree has no topology file. */
static int
validate_topology(const struct ecc_topology **out, struct ecd_worker *w,
    ecc_repo *repo, const char *tree_id, char **output)
{
	struct ecc_entry_list l = { NULL, 0 };
	struct topo_cache *tc = w->cache;
	struct ecc_topology *t = NULL;
	const struct ecc_entry *e = NULL;
	char *buf = NULL;
	size_t len = 0, i;
	int error = -1;

	*out = NULL;
	if ((error = ecc_repo_tree_list(&l, repo, tree_id, ECC_TOPOLOGY_PATH))
	    < 0)
		goto out;
	for (i = 0; i < l.n; i++)
		if (strcmp(l.v[i].path, ECC_TOPOLOGY_PATH) == 0)
			e = &l.v[i];
	if (!e) {
		error = 0;
		goto out;
	}
	if (!tc) {
		tc = ecc_calloc(1, sizeof(*tc));
		w->cache = tc;
		w->cache_free = topo_cache_free;
	}
	if (tc->topology && strcmp(tc->blob, e->blob) == 0) {
		*out = tc->topology;
		error = 0;
		goto out;
	}
	if ((error = ecc_repo_tree_read(&buf, &len, repo, tree_id,
	    ECC_TOPOLOGY_PATH, TOPOLOGY_MAX_BYTES)) < 0) {
		if (error == ECC_ETOOBIG) {
			*output = ecc_strdup(ecc_error_last());
			error = ECC_EREJECTED;
		}
		goto out;
	}
	if (ecc_topology_parse(&t, buf, len, ECC_TOPOLOGY_PATH) < 0) {
		*output = ecc_strdup(ecc_error_last());
		error = ecc_error_set(ECC_EREJECTED, "%s", *output);
		goto out;
	}
	ecc_topology_free(tc->topology);
	tc->topology = t;
	snprintf(tc->blob, sizeof(tc->blob), "%s", e->blob);
	*out = t;
	t = NULL;
	error = 0;
out:
	ecc_topology_free(t);
	free(buf);
	ecc_entry_list_clear(&l);
	return error;
}

/* Append one line to a growing message. */
static void
lines_add(char **text, const char *line)
{
	char *n = ecc_printf("%s%s\n", *text ? *text : "", line);

	free(*text);
	*text = n;
}

int
ecd_validate(ecc_repo *repo, const char *tree_id,
    const struct ecc_changeset *cs, char **output, void *payload)
{
	struct ecd_validate_arg *arg = payload;
	const struct ecc_topology *topo = NULL;
	struct ecc_topology *empty = NULL;
	struct ecc_entry_list all = { NULL, 0 };
	char *msg = NULL;
	size_t i, nbad = 0;
	int topo_changed = cs == NULL, error = -1;

	*output = NULL;
	for (i = 0; cs && i < cs->nchanges; i++) {
		if (strcmp(cs->changes[i].path, ECC_TOPOLOGY_PATH) != 0)
			continue;
		topo_changed = 1;
		if (cs->changes[i].action == ECC_CHANGE_DELETE) {
			*output = ecc_printf("%s: the topology file cannot be "
			    "deleted\n", ECC_TOPOLOGY_PATH);
			error = ecc_error_set(ECC_EREJECTED, "%s: the topology "
			    "file cannot be deleted", ECC_TOPOLOGY_PATH);
			goto out;
		}
	}
	if ((error = validate_topology(&topo, arg->w, repo, tree_id, output))
	    < 0)
		goto out;
	if (!topo) {
		/* No topology file: only global/ may hold files. */
		if ((error = ecc_topology_parse(&empty, "", 0,
		    ECC_TOPOLOGY_PATH)) < 0)
			goto out;
		topo = empty;
	}
	if (topo_changed) {
		if ((error = ecc_repo_tree_list(&all, repo, tree_id, NULL)) < 0)
			goto out;
		for (i = 0; i < all.n && nbad < PATH_ERRORS_MAX; i++) {
			if (ecc_topology_check_path(topo, all.v[i].path) < 0) {
				lines_add(&msg, ecc_error_last());
				nbad++;
			}
		}
	} else {
		for (i = 0; i < cs->nchanges && nbad < PATH_ERRORS_MAX; i++) {
			if (cs->changes[i].action != ECC_CHANGE_WRITE)
				continue;
			if (ecc_topology_check_path(topo, cs->changes[i].path)
			    < 0) {
				lines_add(&msg, ecc_error_last());
				nbad++;
			}
		}
	}
	if (nbad) {
		*output = msg;
		msg = NULL;
		error = ecc_error_set(ECC_EREJECTED, "the change set does not "
		    "fit the cluster topology (%s)", ECC_TOPOLOGY_PATH);
		goto out;
	}
	if (arg->check && arg->check->command &&
	    (error = ecd_check_run(output, arg->check, repo, tree_id)) < 0)
		goto out;
	error = 0;
out:
	free(msg);
	ecc_topology_free(empty);
	ecc_entry_list_clear(&all);
	return error;
}

/* --- the check command --- */

static char **
check_env(const char *dir)
{
	size_t n = 0, i, j = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = ecc_calloc(n + 2, sizeof(*env));
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "ECCONFIG_TREE=", 14) != 0)
			env[j++] = ecc_strdup(environ[i]);
	env[j++] = ecc_printf("ECCONFIG_TREE=%s", dir);
	env[j] = NULL;
	return env;
}

static void
check_env_free(char **env)
{
	size_t i;

	for (i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

/* Read the child's output until EOF or the deadline; returns 1 on EOF,
 * 0 on time-out. */
static int
check_collect(int fd, char *buf, size_t *len, uint64_t deadline_ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char scratch[4096];
	uint64_t now;
	ssize_t n;
	int rc;

	for (;;) {
		now = ecc_now_ms();
		if (now >= deadline_ms)
			return 0;
		rc = poll(&pfd, 1, (int)(deadline_ms - now > 1000 ? 1000 :
		    deadline_ms - now));
		if (rc < 0 && errno != EINTR)
			return 1;
		if (rc <= 0)
			continue;
		n = read(fd, scratch, sizeof(scratch));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return 1;
		if (*len < ECD_CHECK_OUTPUT_MAX) {
			size_t take = (size_t)n;

			if (take > ECD_CHECK_OUTPUT_MAX - *len)
				take = ECD_CHECK_OUTPUT_MAX - *len;
			memcpy(buf + *len, scratch, take);
			*len += take;
		}
	}
}

int
ecd_check_run(char **output, const struct ecd_check *check,
    ecc_repo *repo, const char *tree_id)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defs;
	char *top = NULL, *dir = NULL, *buf = NULL, **env = NULL;
	char *argv[6];
	int pipefd[2] = { -1, -1 }, fa_init = 0, attr_init = 0, error = -1;
	int status = 0, rc, eof;
	size_t len = 0;
	pid_t pid = -1;
	uint64_t t0 = ecc_now_ms();

	*output = NULL;
	if ((error = ecc_mkdir_p(check->tmp_dir, 0700)) < 0)
		goto out;
	top = ecc_printf("%s/check-XXXXXX", check->tmp_dir);
	if (!mkdtemp(top)) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot create a "
		    "directory under %s", check->tmp_dir);
		free(top);
		top = NULL;
		goto out;
	}
	dir = ecc_printf("%s/tree", top);
	if ((error = ecc_repo_tree_export(repo, tree_id, dir)) < 0)
		goto out;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "pipe");
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	fa_init = 1;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	posix_spawn_file_actions_addchdir_np(&fa, dir);
	posix_spawnattr_init(&attr);
	attr_init = 1;
	sigemptyset(&none);
	sigemptyset(&defs);
	sigaddset(&defs, SIGPIPE);
	sigaddset(&defs, SIGHUP);
	sigaddset(&defs, SIGTERM);
	sigaddset(&defs, SIGINT);
	sigaddset(&defs, SIGCHLD);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defs);
	argv[0] = (char *)"/bin/sh";
	argv[1] = (char *)"-c";
	argv[2] = check->command;
	argv[3] = (char *)"check";
	argv[4] = dir;
	argv[5] = NULL;
	env = check_env(dir);
	rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, env);
	if (rc != 0) {
		errno = rc;
		pid = -1;
		error = ecc_error_set_errno(ECC_ERROR, "cannot run "
		    "check_command");
		goto out;
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	buf = ecc_malloc(ECD_CHECK_OUTPUT_MAX + 1);
	eof = check_collect(pipefd[0], buf, &len, t0 +
	    (uint64_t)check->timeout * 1000);
	/* Whatever the leader did, nothing of the group may outlive it. */
	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	buf[len] = '\0';
	if (!eof) {
		*output = ecc_printf("%scheck_command timed out after %" PRId64
		    " s\n", buf, check->timeout);
		error = ecc_error_set(ECC_EREJECTED, "check_command timed out "
		    "after %" PRId64 " s", check->timeout);
		goto out;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		ecc_log_debug("check", "check_command accepted tree %s in "
		    "%" PRIu64 " ms", tree_id, ecc_now_ms() - t0);
		error = 0;
		goto out;
	}
	if (WIFEXITED(status)) {
		*output = len ? ecc_strdup(buf) : ecc_printf("check_command "
		    "exited with status %d\n", WEXITSTATUS(status));
		error = ecc_error_set(ECC_EREJECTED, "check_command refused "
		    "the tree (exit status %d)", WEXITSTATUS(status));
	} else {
		*output = ecc_printf("%scheck_command killed by signal %d\n",
		    buf, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		error = ecc_error_set(ECC_EREJECTED, "check_command killed by "
		    "signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
out:
	if (pid > 0) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_init)
		posix_spawnattr_destroy(&attr);
	if (top && ecc_rm_rf(top) < 0)
		ecc_log_warn("check", "cannot remove %s", top);
	check_env_free(env);
	free(buf);
	free(dir);
	free(top);
	return error;
}
