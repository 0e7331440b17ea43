/*
 * cmd-status.c - `eccfg status [--json] [PATH...]`: what differs between
 * the working files and the checkout's base revision, offline.  On an
 * MTA node (cluster.boot): the revision the configuration directory is
 * on, the view's head (asked of the manager; the last one known when it
 * cannot be reached, with how stale that is) and the files edited by
 * hand (drift).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eccfg.h"
#include "node.h"
#include "wc.h"

static const struct eccfg_opt status_opts[] = {
	NODE_BOOT_OPT,
	{ NULL, 0, 0, 0, NULL, NULL },
};

static int
status_opt(int id, const char *arg, void *payload)
{
	if (id != NODE_OPT_BOOT)
		return ecc_error_set(ECC_EINVALID, "unknown option");
	*(const char **)payload = arg;
	return 0;
}

static void
status_drift_add(json_t *files, char code, char *const *v, size_t n)
{
	char c[2] = { code, 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		if (files)
			json_array_append_new(files, json_pack("{s:s, s:s}",
			    "path", v[i], "status", c));
		else
			printf("%c       %s\n", code, v[i]);
	}
}

static int
status_node(struct eccfg_ctx *ctx, const char *boot)
{
	struct node n;
	struct ecc_drift d;
	json_t *doc = NULL, *files = NULL;
	char *result = NULL, *reach = NULL;
	int64_t vrev = -1, last = -1, known = -1;
	int rc, refused = 0;

	memset(&d, 0, sizeof(d));
	if ((rc = node_open(&n, ctx, node_boot_path(boot))) < 0)
		goto out;
	if (node_view_revision(&vrev, &n, n.current, 0) < 0) {
		/* An answer that refuses the node (removed, revoked) is not
		 * a network problem. */
		refused = ecc_error_last_code() == ECC_EAUTH ||
		    ecc_error_last_code() == ECC_EFORBIDDEN;
		reach = ecc_strdup(ecc_error_last());
		ecc_error_clear();
		vrev = -1;
	}
	if (node_last_report(&last, &known, &result, &n) < 0)
		ecc_error_clear();
	if (n.current >= 0 && (rc = ecc_apply_drift(&d, n.boot.conf_dir,
	    NULL)) < 0)
		goto out;
	if (ctx->g.json) {
		files = json_array();
		status_drift_add(files, 'M', d.modified, d.nmodified);
		status_drift_add(files, '?', d.added, d.nadded);
		status_drift_add(files, '!', d.removed, d.nremoved);
		doc = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s?, "
		    "s:o}", "node", n.boot.node_name, "view",
		    n.boot.cluster_name, "conf_dir", n.boot.conf_dir,
		    "revision", n.current >= 0 ? json_integer(n.current) :
		    json_null(), "view_revision", vrev >= 0 ?
		    json_integer(vrev) : known >= 0 ? json_integer(known) :
		    json_null(), "reachable", json_boolean(!reach),
		    "last_contact", last >= 0 ? json_integer(last) :
		    json_null(), "unreachable", reach, "files", files);
		files = NULL;
		eccfg_print_json(doc);
		rc = ECCFG_EXIT_OK;
		goto out;
	}
	printf("node %s, subcluster %s\n", n.boot.node_name,
	    n.boot.cluster_name);
	if (n.current >= 0)
		printf("%s is at revision %" PRId64 "\n", n.boot.conf_dir,
		    n.current);
	else
		printf("%s: nothing applied yet\n", n.boot.conf_dir);
	if (vrev >= 0)
		printf("view head: r%" PRId64 " (%s)%s\n", vrev,
		    eccfg_client_server(n.client), vrev > n.current ?
		    ", not applied yet" : "");
	else
		printf("manager %s (%s); last contact %s%" PRId64
		    "s ago, view head then r%" PRId64 "\n", refused ?
		    "refused this node" : "unreachable", reach,
		    last < 0 ? "never, " : "", last < 0 ? (int64_t)0 :
		    (int64_t)time(NULL) - last, known);
	status_drift_add(NULL, 'M', d.modified, d.nmodified);
	status_drift_add(NULL, '?', d.added, d.nadded);
	status_drift_add(NULL, '!', d.removed, d.nremoved);
	rc = ECCFG_EXIT_OK;
out:
	json_decref(doc);
	json_decref(files);
	ecc_drift_free(&d);
	free(result);
	free(reach);
	node_close(&n);
	return rc < 0 ? eccfg_report(ctx) : rc;
}

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
	const char *boot = NULL;
	int first, rc, nprefixes = 0;
	size_t i;

	memset(&st, 0, sizeof(st));
	if ((rc = eccfg_parse_options(ctx, argc, argv, status_opt, &boot,
	    &first)) != 0)
		return rc;
	if (first == argc && node_mode_wanted(boot))
		return status_node(ctx, boot);
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
	    "revision (M, ?, !, D, C); on a node, its revision and drift",
	.usage = "[--json] [PATH...] | [--boot FILE]",
	.opts = status_opts,
	.json_ok = 1,
	.run = status_run,
};
