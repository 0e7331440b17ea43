/*
 * state.c - build the head state the event loop serves (see writer.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ecconfig.h"

#include "writer.h"

#define TOPOLOGY_MAX_BYTES (1024 * 1024)

int
ecd_state_build(struct ecd_state **out, ecc_repo *repo)
{
	struct ecd_state *st = ecc_calloc(1, sizeof(*st));
	char *buf = NULL;
	size_t len = 0, i;
	int error = -1;

	*out = NULL;
	st->head = ecc_repo_head(repo);
	if ((error = ecc_repo_commit_id(st->commit, repo, st->head)) < 0)
		goto out;
	error = ecc_repo_read(&buf, &len, repo, st->head, ECC_TOPOLOGY_PATH,
	    TOPOLOGY_MAX_BYTES);
	if (error == 0) {
		if (ecc_topology_parse(&st->topology, buf, len,
		    ECC_TOPOLOGY_PATH) < 0) {
			ecc_log_warn("repo", "r%" PRId64 ": %s; only the 'all' "
			    "view is served", st->head, ecc_error_last());
			st->topology = NULL;
		}
	} else if (error != ECC_ENOTFOUND) {
		goto out;
	}
	st->nviews = 1 + (st->topology ? st->topology->nsubclusters : 0);
	st->views = ecc_calloc(st->nviews, sizeof(*st->views));
	st->views[0].name = ecc_strdup(ECC_VIEW_ALL);
	st->views[0].revision = st->head;
	for (i = 1; i < st->nviews; i++) {
		st->views[i].name = ecc_strdup(
		    st->topology->subclusters[i - 1].name);
		if ((error = ecc_view_revision(&st->views[i].revision, repo,
		    st->views[i].name, st->head)) < 0)
			goto out;
	}
	*out = st;
	st = NULL;
	error = 0;
out:
	free(buf);
	ecd_state_free(st);
	return error;
}
