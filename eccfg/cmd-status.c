/*
 * cmd-status.c - `eccfg status [--json] [PATH...]`: what differs between
 * the working files and the checkout's base revision, offline.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "eccfg.h"
#include "wc.h"

/* Shown by status: everything but clean and ignored entries. */
static int
status_is_shown(const struct wc_entry *e)
{
	return e->code != WC_CLEAN && e->code != WC_IGNORED;
}

static int
status_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct wc *wc = NULL;
	struct wc_status st;
	char **prefixes = NULL;
	json_t *doc = NULL, *files = NULL;
	char code[2] = { 0, 0 };
	int first, rc, nprefixes = 0;
	size_t i;

	memset(&st, 0, sizeof(st));
	if ((rc = eccfg_parse_options(ctx, argc, argv, NULL, NULL,
	    &first)) != 0)
		return rc;
	if ((rc = wc_open(&wc, first < argc ? argv[first] : NULL,
	    WC_LOCK_SHARED)) < 0)
		goto out;
	nprefixes = argc - first;
	if ((rc = wc_resolve_paths(&prefixes, wc, nprefixes, argv + first)) < 0)
		goto out;
	if ((rc = wc_status_scan(&st, wc)) < 0)
		goto out;
	if (ctx->g.json) {
		files = json_array();
		for (i = 0; i < st.n; i++) {
			if (!status_is_shown(&st.v[i]) ||
			    !wc_path_matches(st.v[i].path, prefixes,
			    (size_t)nprefixes))
				continue;
			code[0] = st.v[i].code;
			json_array_append_new(files, json_pack("{s:s, s:s}",
			    "path", st.v[i].path, "status", code));
		}
		doc = json_pack("{s:s, s:I, s:s, s:o}", "view", wc->view,
		    "revision", (json_int_t)wc->revision, "root", wc->root,
		    "files", files);
		files = NULL;
		eccfg_print_json(doc);
	} else {
		for (i = 0; i < st.n; i++)
			if (status_is_shown(&st.v[i]) &&
			    wc_path_matches(st.v[i].path, prefixes,
			    (size_t)nprefixes))
				printf("%c       %s\n", st.v[i].code,
				    st.v[i].path);
	}
	rc = ECCFG_EXIT_OK;
out:
	json_decref(doc);
	json_decref(files);
	ecc_strv_free(prefixes, (size_t)nprefixes);
	wc_status_clear(&st);
	wc_free(wc);
	return rc < 0 ? eccfg_report(ctx) : rc;
}

const struct eccfg_cmd eccfg_cmd_status = {
	.name = "status",
	.summary = "list the working files that differ from the base "
	    "revision (M, ?, !, D, C)",
	.usage = "[--json] [PATH...]",
	.opts = NULL,
	.json_ok = 1,
	.run = status_run,
};
