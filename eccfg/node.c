/*
 * node.c - the MTA node side shared by the node commands (see node.h):
 * cluster.boot, the session, one update and the status report.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/file.h>

#include "node.h"
#include "wc.h"

/* A snapshot or delta is at most this large (the daemon's max_body). */
#define NODE_MAX_ARCHIVE ((size_t)1 << 30)
/* Drift entries sent in one report (node-status.schema.json). */
#define NODE_DRIFT_MAX 10000
#define NODE_MESSAGE_MAX 4096

const char *
node_boot_path(const char *opt)
{
	const char *env = getenv("ECCFG_BOOT");

	if (opt && *opt)
		return opt;
	if (env && *env)
		return env;
	return NODE_BOOT_DEFAULT;
}

int
node_mode_wanted(const char *opt)
{
	const char *env = getenv("ECCFG_BOOT");
	struct wc *wc = NULL;
	int error;

	if ((opt && *opt) || (env && *env))
		return 1;
	if (!ecc_path_exists(NODE_BOOT_DEFAULT))
		return 0;
	error = wc_open(&wc, NULL, WC_LOCK_SHARED);
	wc_free(wc);
	ecc_error_clear();
	return error == ECC_ENOTFOUND;
}

static int node_lock(const struct node *n);

/* STATE_DIR/reload.pending exists while an update may switch CONF_DIR:
 * a crash between the switch and the reload_command after it would
 * leave the MTA on the configuration it ran before, so node_open() then
 * runs the reload for the tree CONF_DIR is on (once more than needed
 * when the crash came before the switch, which is harmless). */
static char *
node_pending_path(const struct node *n)
{
	return ecc_printf("%s/reload.pending", n->boot.state_dir);
}

static void
node_pending_set(const struct node *n, int on)
{
	char *path;

	if (!n->apply.reload_command || !*n->apply.reload_command)
		return;
	path = node_pending_path(n);
	if (on && ecc_file_write_atomic(path, "", 0, 0600) < 0) {
		ecc_log_warn("node", "%s", ecc_error_last());
		ecc_error_clear();
	} else if (!on && unlink(path) < 0 && errno != ENOENT) {
		ecc_log_warn("node", "cannot remove %s: %s", path,
		    strerror(errno));
	}
	free(path);
}

/* After ecc_apply_recover(), under the apply lock. */
static void
node_reload_pending(const struct node *n)
{
	char *path = node_pending_path(n), *tree = NULL, *out = NULL;
	int status = 0;

	if (!ecc_path_exists(path) || n->current < 0 ||
	    !n->apply.reload_command || !*n->apply.reload_command)
		goto out;
	ecc_log_notice("node", "an update of %s was interrupted: running "
	    "reload_command for r%" PRId64, n->boot.conf_dir, n->current);
	tree = ecc_printf("%s/snapshots/r%" PRId64, n->boot.state_dir,
	    n->current);
	if (ecc_apply_run_command(&out, &status, n->apply.reload_command,
	    tree, n->current) < 0) {
		ecc_log_warn("node", "%s", ecc_error_last());
		ecc_error_clear();
	} else if (status != 0) {
		ecc_log_warn("node", "reload_command failed (exit %d) for r%"
		    PRId64 ": %s", status, n->current, out ? out : "");
	}
out:
	node_pending_set(n, 0);
	free(out);
	free(tree);
	free(path);
}

/* Crash tests: with $ECCFG_TEST_PAUSE_AT naming a step ("built",
 * "synced", "renamed", "checked", "linked", "switched", "reloaded"), the
 * apply stops there, creates the file $ECCFG_TEST_PAUSE_FILE and waits
 * for the test to kill it with SIGKILL. */
static int
node_test_hook(enum ecc_apply_step step, void *payload)
{
	static const char *const names[] = { "built", "synced", "renamed",
		"checked", "linked", "switched", "reloaded" };
	const char *at = payload, *file = getenv("ECCFG_TEST_PAUSE_FILE");
	int fd;

	if ((size_t)step >= ECC_ARRAY_SIZE(names) ||
	    strcmp(names[step], at) != 0)
		return 0;
	if (file && (fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC,
	    0644)) >= 0)
		close(fd);
	for (;;)
		pause();
}

int
node_open(struct node *n, struct eccfg_ctx *ctx, const char *path)
{
	const char *pause_at = getenv("ECCFG_TEST_PAUSE_AT");
	int fd, error;

	memset(n, 0, sizeof(*n));
	n->current = n->view_revision = -1;
	n->boot_path = path;
	if ((error = ecc_boot_load(&n->boot, path)) < 0)
		return error;
	n->apply.state_dir = n->boot.state_dir;
	n->apply.conf_dir = n->boot.conf_dir;
	n->apply.check_command = n->boot.check_command;
	n->apply.reload_command = n->boot.reload_config_on_update ?
	    n->boot.reload_command : NULL;
	n->apply.keep_snapshots = (int)n->boot.keep_snapshots;
	n->apply.local = ECC_APPLY_LOCAL_CARRY;
	if (pause_at && *pause_at) {
		n->apply.hook = node_test_hook;
		n->apply.hook_payload = (void *)pause_at;
	}
	/* Under the lock: the leftovers may be another eccfg's apply in
	 * progress, not a crash's. */
	if ((fd = node_lock(n)) < 0)
		return fd;
	error = ecc_apply_recover(&n->current, &n->apply);
	if (error == 0)
		node_reload_pending(n);
	close(fd);
	if (error < 0)
		return eccfg_error_prefix(error, "%s", n->boot.conf_dir);
	return eccfg_client_new_node(&n->client, ctx, &n->boot);
}

void
node_close(struct node *n)
{
	eccfg_client_free(n->client);
	ecc_boot_free(&n->boot);
	memset(n, 0, sizeof(*n));
	n->current = n->view_revision = -1;
}

int
node_view_revision(int64_t *out, struct node *n, int64_t since, int wait)
{
	json_t *v = NULL, *rev;
	char *view = NULL, *uri = NULL;
	int error;

	*out = -1;
	view = ecc_http_escape(n->boot.cluster_name, 0);
	uri = ecc_printf("/v1/views/%s/watch?since=%" PRId64 "&wait=%d", view,
	    since < 0 ? 0 : since, wait);
	if ((error = eccfg_client_json(&v, NULL, n->client, "GET", uri,
	    NULL)) < 0)
		goto out;
	rev = json_object_get(v, "revision");
	if (!json_is_integer(rev) || json_integer_value(rev) < 0) {
		error = ecc_error_set(ECC_ERROR, "%s: the watch reply holds no "
		    "revision", eccfg_client_server(n->client));
		goto out;
	}
	*out = n->view_revision = json_integer_value(rev);
out:
	json_decref(v);
	free(uri);
	free(view);
	return error;
}

/* Is `rev` among the complete trees kept in the state directory? */
static int
node_is_kept(const struct node *n, int64_t rev)
{
	int64_t *revs = NULL;
	size_t i, nrevs = 0;
	int kept = 0;

	if (ecc_apply_list(&revs, &nrevs, n->boot.state_dir) < 0) {
		ecc_error_clear();
		return 0;
	}
	for (i = 0; i < nrevs; i++)
		if (revs[i] == rev)
			kept = 1;
	free(revs);
	return kept;
}

/* GET the snapshot of the view at `rev`, as a delta from `since` when
 * since >= 0, and apply it. */
static int
node_fetch_apply(struct ecc_apply_result *res, struct node *n, int64_t rev,
    int64_t since)
{
	struct ecc_http_response resp;
	char *view, *uri;
	int error;

	memset(&resp, 0, sizeof(resp));
	view = ecc_http_escape(n->boot.cluster_name, 0);
	if (since >= 0)
		uri = ecc_printf("/v1/views/%s/snapshot?rev=%" PRId64
		    "&since=%" PRId64, view, rev, since);
	else
		uri = ecc_printf("/v1/views/%s/snapshot?rev=%" PRId64, view,
		    rev);
	ecc_log_debug("node", "fetching %s", uri);
	if ((error = eccfg_client_get(&resp, n->client, uri)) == 0) {
		if (resp.len > NODE_MAX_ARCHIVE)
			error = ecc_error_set(ECC_ETOOBIG, "%s: the archive is "
			    "larger than %zu bytes", uri, NODE_MAX_ARCHIVE);
		else
			error = ecc_apply(res, &n->apply, resp.body, resp.len);
	}
	ecc_http_response_clear(&resp);
	free(uri);
	free(view);
	return error;
}

/* Serialize applies between eccfg processes on this node (follow and a
 * pull or local rollback by hand): flock on STATE_DIR/apply.lock,
 * waiting.  Returns the fd to close. */
static int
node_lock(const struct node *n)
{
	char *path;
	int fd, error;

	if ((error = ecc_mkdir_p(n->boot.state_dir, 0700)) < 0)
		return error;
	path = ecc_printf("%s/apply.lock", n->boot.state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		error = ecc_error_set(ECC_ERROR, "%s: %s", path,
		    strerror(errno));
		free(path);
		return error;
	}
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			error = ecc_error_set(ECC_ERROR, "%s: flock: %s", path,
			    strerror(errno));
			close(fd);
			free(path);
			return error;
		}
	free(path);
	return fd;
}

int
node_rollback(struct node *n, int64_t rev)
{
	int fd, error;

	if ((fd = node_lock(n)) < 0)
		return fd;
	if ((error = ecc_apply_rollback(&n->apply, rev)) == 0)
		n->current = rev;
	close(fd);
	return error;
}

static int
node_update_locked(struct ecc_apply_result *res, struct node *n,
    int64_t target, enum ecc_apply_local local);

int
node_update(struct ecc_apply_result *res, struct node *n, int64_t target,
    enum ecc_apply_local local)
{
	int fd, error, marked;

	memset(res, 0, sizeof(*res));
	res->revision = res->previous = n->current;
	if ((fd = node_lock(n)) < 0)
		return fd;
	/* Another eccfg may have moved the tree while we waited. */
	if (ecc_apply_current(&n->current, n->boot.conf_dir) < 0) {
		n->current = -1;
		ecc_error_clear();
	}
	if ((marked = target != n->current))
		node_pending_set(n, 1);
	error = node_update_locked(res, n, target, local);
	if (marked)
		node_pending_set(n, 0);
	close(fd);
	return error;
}

/* Switch to the kept tree of `target` as an apply switches: the check
 * first, then the switch and the reload, switching back (and reloading
 * the tree that was current) when the reload fails.  A kept tree may
 * never have passed its check (a crash between its rename and the
 * check) or may be one whose reload failed, and the MTA has to reload
 * after any switch. */
static int
node_switch_kept(struct ecc_apply_result *res, struct node *n,
    int64_t target)
{
	const char *check = n->apply.check_command;
	const char *reload = n->apply.reload_command;
	int64_t cur = n->current;
	char *tree, *old = NULL, *out = NULL;
	int error = 0, status = 0;

	tree = ecc_printf("%s/snapshots/r%" PRId64, n->boot.state_dir,
	    target);
	if (check && *check) {
		if ((error = ecc_apply_run_command(&res->output, &status, check,
		    tree, target)) < 0)
			goto out;
		if (status != 0) {
			res->status = ECC_APPLY_CHECK_FAILED;
			res->exit_status = status;
			goto out;
		}
	}
	if ((error = ecc_apply_rollback(&n->apply, target)) < 0)
		goto out;
	res->status = ECC_APPLY_OK;
	res->revision = n->current = target;
	ecc_log_info("node", "switched to the kept tree of r%" PRId64, target);
	if (!reload || !*reload)
		goto out;
	if ((error = ecc_apply_run_command(&res->output, &status, reload,
	    tree, target)) < 0 || status == 0)
		goto out;
	res->status = ECC_APPLY_RELOAD_FAILED;
	res->exit_status = status;
	if ((error = ecc_apply_rollback(&n->apply, cur)) < 0)
		goto out;
	res->revision = n->current = cur;
	/* the failed reload's output is what is reported */
	old = ecc_printf("%s/snapshots/r%" PRId64, n->boot.state_dir, cur);
	error = ecc_apply_run_command(&out, &status, reload, old, cur);
out:
	free(out);
	free(old);
	free(tree);
	return error;
}

static int
node_update_locked(struct ecc_apply_result *res, struct node *n,
    int64_t target, enum ecc_apply_local local)
{
	int64_t since;
	int error;

	memset(res, 0, sizeof(*res));
	res->revision = res->previous = n->current;
	n->apply.local = local;
	if (target == n->current) {
		res->status = ECC_APPLY_UNCHANGED;
		return 0;
	}
	if (target >= 0 && n->current >= 0 && node_is_kept(n, target))
		return node_switch_kept(res, n, target);
	/* A delta only forward; a rollback to an older revision, or a tree
	 * the delta cannot apply to, takes the full snapshot. */
	since = n->current >= 0 && n->current < target ? n->current : -1;
	/* Dropping local edits needs every file, not only the changed
	 * ones: the originals of the edited files are in no delta. */
	if (local == ECC_APPLY_LOCAL_THEIRS)
		since = -1;
	error = node_fetch_apply(res, n, target, since);
	if (error == ECC_ECONFLICT && since >= 0) {
		ecc_log_info("node", "the delta r%" PRId64 "..r%" PRId64 " does "
		    "not apply (%s); fetching the full view", since, target,
		    ecc_error_last());
		ecc_apply_result_free(res);
		error = node_fetch_apply(res, n, target, -1);
	}
	if (error == 0 && res->revision >= 0)
		n->current = res->revision;
	return error;
}

const char *
node_result_name(enum ecc_apply_status s)
{
	switch (s) {
	case ECC_APPLY_CHECK_FAILED:
		return "check_failed";
	case ECC_APPLY_RELOAD_FAILED:
		return "reload_failed";
	case ECC_APPLY_HELD:
		return "held";
	case ECC_APPLY_OK:
	case ECC_APPLY_UNCHANGED:
		break;
	}
	return "ok";
}

/* Append the paths of `v` to the array `a`, up to the schema's bound. */
static void
node_drift_add(json_t *a, char *const *v, size_t nv)
{
	size_t i;

	for (i = 0; i < nv && json_array_size(a) < NODE_DRIFT_MAX; i++)
		json_array_append_new(a, json_string(v[i]));
}

static char *
node_status_path(const struct node *n)
{
	return ecc_printf("%s/status.json", n->boot.state_dir);
}

/* Record a report that reached the manager, for node_last_report(). */
static void
node_save_report(const struct node *n, const char *result)
{
	json_t *v = json_pack("{s:I, s:I, s:I, s:s, s:s}", "last_contact",
	    (json_int_t)time(NULL), "revision", (json_int_t)n->current,
	    "view_revision", (json_int_t)n->view_revision, "result", result,
	    "manager", eccfg_client_server(n->client));
	char *path = node_status_path(n), *text = v ? ecc_json_dump(v) : NULL;

	if (text && ecc_file_write_atomic(path, text, strlen(text),
	    0644) < 0) {
		ecc_log_warn("node", "%s", ecc_error_last());
		ecc_error_clear();
	}
	free(text);
	free(path);
	json_decref(v);
}

int
node_last_report(int64_t *last_contact, int64_t *view_revision,
    char **result, const struct node *n)
{
	char *path = node_status_path(n), *buf = NULL;
	size_t len = 0;
	json_t *v = NULL;
	int error;

	*last_contact = *view_revision = -1;
	*result = NULL;
	if ((error = ecc_file_read(&buf, &len, path, 64 * 1024)) < 0 ||
	    (error = ecc_json_parse(&v, buf, len, 4)) < 0)
		goto out;
	*last_contact = json_integer_value(json_object_get(v,
	    "last_contact"));
	*view_revision = json_integer_value(json_object_get(v,
	    "view_revision"));
	if (json_is_string(json_object_get(v, "result")))
		*result = ecc_strdup(json_string_value(json_object_get(v,
		    "result")));
out:
	json_decref(v);
	free(buf);
	free(path);
	return error;
}

int
node_report(struct node *n, const char *result, const char *message)
{
	struct ecc_drift d;
	json_t *body = NULL, *drift;
	char *name = NULL, *uri = NULL, msg[NODE_MESSAGE_MAX + 1];
	int error;

	if (n->current < 0) {
		ecc_log_debug("node", "nothing applied yet: no report");
		return 0;
	}
	memset(&d, 0, sizeof(d));
	drift = json_array();
	if (ecc_apply_drift(&d, n->boot.conf_dir, NULL) == 0) {
		node_drift_add(drift, d.modified, d.nmodified);
		node_drift_add(drift, d.added, d.nadded);
		node_drift_add(drift, d.removed, d.nremoved);
	} else {
		ecc_error_clear();
	}
	ecc_drift_free(&d);
	/* The schema bounds the message; the tail of long command output is
	 * kept in the node's log instead. */
	snprintf(msg, sizeof(msg), "%s", message ? message : "");
	body = json_pack("{s:I, s:s, s:s, s:o}", "revision",
	    (json_int_t)n->current, "result", result, "message", msg,
	    "drift", drift);
	if (!body) {
		/* Command output that is not UTF-8. */
		body = json_pack("{s:I, s:s, s:s}", "revision",
		    (json_int_t)n->current, "result", result, "message",
		    "(output not UTF-8)");
	}
	name = ecc_http_escape(n->boot.node_name, 0);
	uri = ecc_printf("/v1/nodes/%s/status", name);
	error = eccfg_client_json(NULL, NULL, n->client, "POST", uri, body);
	if (error < 0)
		eccfg_error_prefix(error, "reporting to %s",
		    eccfg_client_server(n->client));
	else
		node_save_report(n, result);
	json_decref(body);
	free(uri);
	free(name);
	return error;
}

void
node_print_result(struct eccfg_ctx *ctx, const struct node *n,
    const struct ecc_apply_result *res)
{
	size_t i;

	for (i = 0; i < res->ncarried; i++)
		eccfg_say(ctx, "kept local edit: %s\n", res->carried[i]);
	switch (res->status) {
	case ECC_APPLY_OK:
		if (res->previous >= 0)
			eccfg_say(ctx, "%s: applied revision %" PRId64 " (was "
			    "r%" PRId64 ").\n", n->boot.conf_dir,
			    res->revision, res->previous);
		else
			eccfg_say(ctx, "%s: applied revision %" PRId64 ".\n",
			    n->boot.conf_dir, res->revision);
		break;
	case ECC_APPLY_UNCHANGED:
		eccfg_say(ctx, "%s: at revision %" PRId64 ".\n",
		    n->boot.conf_dir, res->revision);
		break;
	case ECC_APPLY_CHECK_FAILED:
		fprintf(stderr, "eccfg %s: check_command failed (exit %d); "
		    "kept revision %" PRId64 "\n", ctx->cmd->name,
		    res->exit_status, res->revision);
		break;
	case ECC_APPLY_RELOAD_FAILED:
		fprintf(stderr, "eccfg %s: reload_command failed (exit %d); "
		    "switched back to revision %" PRId64 "\n", ctx->cmd->name,
		    res->exit_status, res->revision);
		break;
	case ECC_APPLY_HELD:
		fprintf(stderr, "eccfg %s: local edits overlap the incoming "
		    "change; update held (pass --mine to keep the local files "
		    "or --theirs to take the incoming ones):\n",
		    ctx->cmd->name);
		for (i = 0; i < res->nconflicts; i++)
			fprintf(stderr, "C  %s\n", res->conflicts[i]);
		break;
	}
	if (res->output && *res->output &&
	    (res->status == ECC_APPLY_CHECK_FAILED ||
	    res->status == ECC_APPLY_RELOAD_FAILED))
		eccfg_print_text(stderr, res->output);
}
