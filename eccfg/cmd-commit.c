/*
 * cmd-commit.c - `eccfg commit [--add-all] [--delete-all] -m MSG
 * [PATH...]`: send the checkout's changes (M, ?, !, D) as one change set
 * against its base revision (POST /v1/commits), then bring the base up
 * to the new revision.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "eccfg.h"
#include "prompt.h"
#include "wc.h"

#define COMMIT_MESSAGE_MAX 65536

enum {
	OPT_ADD_ALL = 1,
	OPT_DELETE_ALL,
	OPT_MESSAGE,
};

static const struct eccfg_opt commit_opts[] = {
	{ "add-all", 0, 0, OPT_ADD_ALL, NULL,
	  "add every new file (?) without asking" },
	{ "delete-all", 0, 0, OPT_DELETE_ALL, NULL,
	  "delete every removed file (!) without asking" },
	{ "message", 1, 'm', OPT_MESSAGE, "MSG", "the log message" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

struct commit_args {
	int add_all;
	int delete_all;
	const char *message;
};

static int
commit_opt(int id, const char *arg, void *payload)
{
	struct commit_args *a = payload;

	switch (id) {
	case OPT_ADD_ALL:
		a->add_all = 1;
		return 0;
	case OPT_DELETE_ALL:
		a->delete_all = 1;
		return 0;
	case OPT_MESSAGE:
		if (!*arg || strlen(arg) > COMMIT_MESSAGE_MAX)
			return ecc_error_set(ECC_EINVALID, "the message must "
			    "be 1..%d bytes", COMMIT_MESSAGE_MAX);
		a->message = arg;
		return 0;
	}
	return ecc_error_set(ECC_EINVALID, "unknown option");
}

/* One file going into the change set. */
struct item {
	const struct wc_entry *e;
	char action;                  /* 'S'ending, 'A'dding, 'D'eleting */
	char *repo_path;
	char *data;
	size_t len;
	unsigned mode;
};

/* Ask (or decide by flag) whether a new or removed file goes in. */
static int
commit_confirm(int *yes, const char *what, const char *path, int all,
    const char *flag)
{
	char *question;
	int error;

	if (all) {
		*yes = 1;
		return 0;
	}
	if (!prompt_is_interactive())
		return ecc_error_set(ECC_EINVALID, "%s file %s: pass %s to "
		    "%s it", what, path, flag, strcmp(what, "new") == 0 ?
		    "add" : "delete");
	question = ecc_printf("%s %s?", strcmp(what, "new") == 0 ? "Add" :
	    "Delete", path);
	error = prompt_yes_no(yes, question, 0, flag);
	free(question);
	return error;
}

/* Decide what one status entry contributes; *take 0 to leave it out. */
static int
commit_collect(struct item *it, int *take, struct wc *wc,
    const struct wc_entry *e, const struct commit_args *a)
{
	int error, yes = 0;

	*take = 0;
	switch (e->code) {
	case WC_CONFLICT:
		return ecc_error_set(ECC_ECONFLICT, "%s: conflict not resolved; "
		    "fix the file and run eccfg resolve %s", e->path, e->path);
	case WC_OBSTRUCTED:
		return ecc_error_set(ECC_EINVALID, "%s: not a regular file on "
		    "disk; eccfg revert it or replace it with a file",
		    e->path);
	case WC_MODIFIED:
		it->action = 'S';
		break;
	case WC_UNVERSIONED:
		if (e->kind != WC_KIND_FILE) {
			fprintf(stderr, "eccfg commit: skipping %s: not a "
			    "regular file\n", e->path);
			return 0;
		}
		if ((error = commit_confirm(&yes, "new", e->path, a->add_all,
		    "--add-all")) < 0)
			return error;
		if (!yes)
			return 0;
		it->action = 'A';
		break;
	case WC_MISSING:
		if ((error = commit_confirm(&yes, "removed", e->path,
		    a->delete_all, "--delete-all")) < 0)
			return error;
		if (!yes)
			return 0;
		it->action = 'D';
		break;
	case WC_DELETED:
		it->action = 'D';
		break;
	default:
		return 0;
	}
	it->e = e;
	if ((error = ecc_view_to_repo(&it->repo_path, wc->view, e->path)) < 0)
		return ecc_error_set(error, "%s cannot be committed in view "
		    "'%s': files belong in global/ or a subcluster folder",
		    e->path, wc->view);
	if (it->action != 'D' && (error = wc_read_file(&it->data, &it->len,
	    &it->mode, wc, e->path)) < 0)
		return error;
	*take = 1;
	return 0;
}

static void
items_free(struct item *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++) {
		free(v[i].repo_path);
		free(v[i].data);
	}
	free(v);
}

/* Explain a refused commit: the server's message, then what to do. */
static void
commit_refused(struct eccfg_ctx *ctx, int error, const json_t *body,
    const char *view)
{
	const json_t *err = body ? json_object_get(body, "error") : NULL;
	const json_t *paths = err ? json_object_get(err, "paths") : NULL;
	const json_t *output = err ? json_object_get(err, "output") : NULL;
	const json_t *p;
	char *vp = NULL;
	size_t i;

	eccfg_report(ctx);
	if (error == ECC_ECONFLICT && json_is_array(paths)) {
		json_array_foreach(paths, i, p) {
			if (!json_is_string(p))
				continue;
			if (ecc_view_from_repo(&vp, view,
			    json_string_value(p)) < 0)
				vp = ecc_strdup(json_string_value(p));
			fputs("Out of date: ", stderr);
			eccfg_print_text(stderr, vp);
			fputc('\n', stderr);
			free(vp);
			vp = NULL;
		}
		ecc_error_clear();
		fputs("Run eccfg pull to merge the newer revisions, then commit "
		    "again.\n", stderr);
	}
	if (json_is_string(output)) {
		eccfg_print_text(stderr, json_string_value(output));
		fputc('\n', stderr);
	}
}

/* After a commit landed at `rev`, move the checkout's base there. */
static void
commit_sync(struct eccfg_ctx *ctx, struct wc *wc, struct eccfg_client *c,
    const struct item *items, size_t n, int64_t rev, const char *commit,
    int unchanged)
{
	struct wc_committed *files = ecc_calloc(n + 1, sizeof(*files));
	size_t i;
	int error, changed = 0;

	for (i = 0; i < n; i++) {
		files[i].path = items[i].e->path;
		files[i].deleted = items[i].action == 'D';
		files[i].data = items[i].data;
		files[i].len = items[i].len;
		files[i].mode = items[i].mode;
	}
	if (!unchanged && rev == wc->revision + 1) {
		/* Only our changes lie between the base and rev. */
		error = wc_record_commit(wc, files, n, rev, commit);
	} else {
		/* Others committed meanwhile: take their changes too, unless
		 * they overlap local edits that were not committed. */
		error = wc_update(&changed, wc, c, rev, WC_MERGE_REFUSE, NULL,
		    NULL);
		if (error == ECC_ECONFLICT) {
			error = wc_record_commit(wc, files, n, -1, NULL);
			if (error == 0)
				fprintf(stderr, "eccfg commit: others committed "
				    "since r%lld and touched files you edited "
				    "but did not commit; run eccfg pull\n",
				    (long long)wc->revision);
		}
	}
	if (error < 0)
		fprintf(stderr, "eccfg commit: warning: the commit landed but "
		    "the checkout could not be updated (%s); run eccfg pull\n",
		    ecc_error_last());
	free(files);
}

static int
commit_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct commit_args a = { 0, 0, NULL };
	struct wc *wc = NULL;
	struct wc_status st;
	struct eccfg_client *c = NULL;
	struct eccfg_server_hint hint;
	struct ecc_changeset *cs = NULL;
	struct item *items = NULL;
	char **prefixes = NULL, *text = NULL;
	json_t *body = NULL, *resp = NULL, *v;
	json_error_t jerr;
	size_t nprefixes = 0, nitems = 0, i;
	int64_t rev;
	int first, rc, take, unchanged;
	const char *commit;

	memset(&st, 0, sizeof(st));
	if ((rc = eccfg_parse_options(ctx, argc, argv, commit_opt, &a,
	    &first)) != 0)
		return rc;
	if (!a.message)
		return eccfg_usage(ctx, "a log message is required: -m MSG");
	nprefixes = (size_t)(argc - first);
	if ((rc = wc_open(&wc, first < argc ? argv[first] : NULL,
	    WC_LOCK_EXCLUSIVE)) < 0 ||
	    (rc = wc_resolve_paths(&prefixes, wc, argc - first,
	    argv + first)) < 0 ||
	    (rc = wc_status_scan(&st, wc)) < 0)
		goto out;
	items = ecc_calloc(st.n + 1, sizeof(*items));
	for (i = 0; i < st.n; i++) {
		if (!wc_path_matches(st.v[i].path, prefixes, nprefixes))
			continue;
		if ((rc = commit_collect(&items[nitems], &take, wc, &st.v[i],
		    &a)) < 0) {
			nitems++;       /* free what it allocated */
			goto out;
		}
		if (take)
			nitems++;
		else
			memset(&items[nitems], 0, sizeof(*items));
	}
	if (nitems == 0) {
		eccfg_say(ctx, "Nothing to commit\n");
		rc = ECCFG_EXIT_OK;
		goto out;
	}

	cs = ecc_changeset_new(wc->revision, a.message);
	for (i = 0; i < nitems; i++) {
		if (items[i].action == 'D')
			ecc_changeset_add_delete(cs, items[i].repo_path);
		else
			ecc_changeset_add_write(cs, items[i].repo_path,
			    items[i].data, items[i].len, items[i].mode);
	}
	text = ecc_changeset_to_json(cs);
	if ((body = json_loads(text, 0, &jerr)) == NULL) {
		rc = ecc_error_set(ECC_ERROR, "cannot encode the change set: "
		    "%s", jerr.text);
		goto out;
	}
	for (i = 0; i < nitems; i++)
		eccfg_say(ctx, "%s%s\n", items[i].action == 'S' ?
		    "Sending    " : items[i].action == 'A' ? "Adding     " :
		    "Deleting   ", items[i].e->path);

	wc_server_hint(&hint, wc);
	if ((rc = eccfg_client_new(&c, ctx, &hint)) < 0)
		goto out;
	if ((rc = eccfg_client_json(&resp, NULL, c, "POST", "/v1/commits",
	    body)) < 0) {
		commit_refused(ctx, rc, resp, wc->view);
		rc = ECCFG_EXIT_FAIL;
		goto out;
	}
	v = resp ? json_object_get(resp, "revision") : NULL;
	if (!json_is_integer(v)) {
		rc = ecc_error_set(ECC_EINVALID, "the server's commit result "
		    "has no revision");
		goto out;
	}
	rev = json_integer_value(v);
	commit = json_string_value(json_object_get(resp, "commit"));
	unchanged = json_is_true(json_object_get(resp, "unchanged"));
	if (unchanged)
		eccfg_say(ctx, "No change: revision %lld already holds this "
		    "content.\n", (long long)rev);
	else
		eccfg_say(ctx, "Committed revision %lld.\n", (long long)rev);
	commit_sync(ctx, wc, c, items, nitems, rev, commit, unchanged);
	rc = ECCFG_EXIT_OK;
out:
	items_free(items, nitems);
	ecc_changeset_free(cs);
	free(text);
	json_decref(body);
	json_decref(resp);
	eccfg_client_free(c);
	ecc_strv_free(prefixes, nprefixes);
	wc_status_clear(&st);
	wc_free(wc);
	return rc < 0 ? eccfg_report(ctx) : rc;
}

const struct eccfg_cmd eccfg_cmd_commit = {
	.name = "commit",
	.summary = "send local changes to the server as one new revision",
	.usage = "[--add-all] [--delete-all] -m MSG [PATH...]",
	.opts = commit_opts,
	.json_ok = 0,
	.run = commit_run,
};
