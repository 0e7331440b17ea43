/*
 * api-subclusters.c - GET /v1/subclusters (from the head topology) and
 * POST /v1/subclusters: create NAME/default/ from the repository's
 * templates (global/templates/subcluster/) or as a copy of another
 * subcluster's default/, and add [subcluster NAME] to the topology, in
 * one revision through the normal commit path.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecconfig.h"

#include "api.h"

#define TEMPLATES_DIR      "global/templates/subcluster"
#define TOPOLOGY_MAX_BYTES (1024 * 1024)

static json_t *
names_json(char **v, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_string(v[i]));
	return arr;
}

void
ecd_api_subclusters(struct ecd_ctx *ctx)
{
	const struct ecd_state *st = ctx->srv->state;
	const struct ecc_subcluster *sc;
	json_t *arr = json_array();
	size_t i;

	for (i = 0; st && st->topology && i < st->topology->nsubclusters;
	    i++) {
		sc = &st->topology->subclusters[i];
		json_array_append_new(arr, json_pack("{s:s, s:o, s:o}",
		    "name", sc->name,
		    "managers", names_json(sc->managers, sc->nmanagers),
		    "nodes", names_json(sc->nodes, sc->nnodes)));
	}
	ecd_reply_json(ctx, 200, json_pack("{s:I, s:o}", "revision",
	    (json_int_t)(st ? st->head : 0), "subclusters", arr));
}

/* Copy every file below `from` at `rev` to `to` (same relative paths). */
static int
subcluster_copy(struct ecc_changeset *cs, ecc_repo *repo, int64_t rev,
    const char *from, const char *to, size_t *ncopied)
{
	struct ecc_entry_list l = { NULL, 0 };
	char *data = NULL, *dest = NULL;
	size_t len = 0, i, plen = strlen(from);
	int error = -1;

	*ncopied = 0;
	if ((error = ecc_repo_list(&l, repo, rev, from)) < 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		if (strncmp(l.v[i].path, from, plen) != 0 ||
		    l.v[i].path[plen] != '/')
			continue;
		if ((error = ecc_repo_read(&data, &len, repo, rev, l.v[i].path,
		    SIZE_MAX)) < 0)
			goto out;
		dest = ecc_printf("%s/%s", to, l.v[i].path + plen + 1);
		ecc_changeset_add_write(cs, dest, data, len, l.v[i].mode);
		free(dest);
		free(data);
		dest = data = NULL;
		(*ncopied)++;
	}
	error = 0;
out:
	free(data);
	ecc_entry_list_clear(&l);
	return error;
}

int
ecd_subcluster_changeset(struct ecc_changeset **out, ecc_repo *repo,
    const char *name, const char *copy_from, int64_t base,
    const char *message, const char *author)
{
	struct ecc_changeset *cs = NULL;
	struct ecc_topology *t = NULL;
	struct ecc_entry_list existing = { NULL, 0 };
	char *buf = NULL, *text = NULL, *src = NULL, *dst = NULL, *readme;
	int64_t head = ecc_repo_head(repo);
	size_t len = 0, n = 0;
	int error = -1;

	*out = NULL;
	if (base < 0)
		base = head;
	if ((error = ecd_check_revision(repo, base)) < 0)
		goto out;
	error = ecc_repo_read(&buf, &len, repo, head, ECC_TOPOLOGY_PATH,
	    TOPOLOGY_MAX_BYTES);
	if (error == ECC_ENOTFOUND) {
		len = 0;
	} else if (error < 0) {
		goto out;
	}
	if ((error = ecc_topology_parse(&t, buf ? buf : "", len,
	    ECC_TOPOLOGY_PATH)) < 0)
		goto out;
	if (ecc_topology_subcluster(t, name)) {
		error = ecc_error_set(ECC_EEXISTS, "subcluster %s already "
		    "exists", name);
		goto out;
	}
	if ((error = ecc_repo_list(&existing, repo, head, name)) < 0)
		goto out;
	if (existing.n > 0) {
		error = ecc_error_set(ECC_EEXISTS, "the repository already has "
		    "a folder %s/", name);
		goto out;
	}
	cs = ecc_changeset_new(base, message && *message ? message :
	    (copy_from ? "copy subcluster" : "create subcluster"));
	free(cs->author);
	cs->author = ecc_strdup(author);
	dst = ecc_printf("%s/default", name);
	if (copy_from) {
		if (!ecc_topology_subcluster(t, copy_from)) {
			error = ecc_error_set(ECC_ENOTFOUND, "subcluster %s does "
			    "not exist", copy_from);
			goto out;
		}
		src = ecc_printf("%s/default", copy_from);
		if ((error = subcluster_copy(cs, repo, head, src, dst, &n)) < 0)
			goto out;
	} else if ((error = subcluster_copy(cs, repo, head, TEMPLATES_DIR,
	    dst, &n)) < 0) {
		goto out;
	}
	if (n == 0) {
		readme = ecc_printf("Files shared by every node of subcluster "
		    "%s.\nPut node-specific files in %s/NODE/.\n", name, name);
		free(dst);
		dst = ecc_printf("%s/default/README", name);
		ecc_changeset_add_write(cs, dst, readme, strlen(readme),
		    0100644);
		free(readme);
	}
	if ((error = ecc_topology_add_subcluster(t, name)) < 0)
		goto out;
	/* Append to the file as written, keeping the operator's comments
	 * and layout. */
	text = ecc_printf("%.*s%s\n[subcluster %s]\n", (int)len,
	    buf ? buf : "", len && buf[len - 1] != '\n' ? "\n" : "", name);
	ecc_changeset_add_write(cs, ECC_TOPOLOGY_PATH, text, strlen(text),
	    0100644);
	*out = cs;
	cs = NULL;
	error = 0;
out:
	ecc_changeset_free(cs);
	ecc_topology_free(t);
	ecc_entry_list_clear(&existing);
	free(buf);
	free(text);
	free(src);
	free(dst);
	return error;
}

void
ecd_api_subcluster_create(struct ecd_ctx *ctx)
{
	const char *name = json_string_value(json_object_get(ctx->body,
	    "name"));
	const char *copy_from = json_string_value(json_object_get(ctx->body,
	    "copy_from"));
	const char *message = json_string_value(json_object_get(ctx->body,
	    "message"));
	json_t *base = json_object_get(ctx->body, "base");
	const struct ecd_state *st = ctx->srv->state;
	struct ecd_commit_job *cj;

	if (ecc_name_is_reserved(name)) {
		ecd_reply_error(ctx, 400, "invalid", "subcluster name '%s': "
		    "reserved ('global' holds the shared files, 'all' is the "
		    "view of the whole repository)", name);
		return;
	}
	if (!ecc_name_is_subcluster(name)) {
		ecd_reply_error(ctx, 400, "invalid", "subcluster name '%s': "
		    "must be lower case and one word ([a-z][a-z0-9_-]*)", name);
		return;
	}
	if (copy_from && !ecc_name_is_subcluster(copy_from)) {
		ecd_reply_error(ctx, 400, "invalid", "copy_from '%s' is not a "
		    "subcluster name", copy_from);
		return;
	}
	if (st && st->topology && ecc_topology_subcluster(st->topology, name)) {
		ecd_reply_error(ctx, 409, "exists", "subcluster %s already "
		    "exists", name);
		return;
	}
	cj = ecd_commit_job_new(ctx, ECD_COMMIT_SUBCLUSTER);
	cj->name = ecc_strdup(name);
	cj->copy_from = copy_from ? ecc_strdup(copy_from) : NULL;
	cj->base = base ? (int64_t)json_integer_value(base) : -1;
	cj->message = message && *message ? ecc_strdup(message) :
	    copy_from ? ecc_printf("copy subcluster %s to %s", copy_from, name)
	    : ecc_printf("create subcluster %s", name);
	ecd_commit_job_submit(cj);
}
