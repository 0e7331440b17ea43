/*
 * api-nodes.c - MTA nodes on the manager: POST /v1/nodes/enroll (sign a
 * node's CSR with the cluster CA), GET /v1/nodes, POST
 * /v1/nodes/{name}/status, DELETE /v1/nodes/{name}.  Enrollment and
 * removal run on the writer (it owns the store; signing reads the CA
 * key); the loop keeps a copy of the node table, used to authenticate
 * client certificates, replaced after every change, and the status each
 * node last reported (memory only).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ecconfig.h"

#include "api.h"
#include "cluster.h"
#include "map.h"

#define NODE_CERT_DAYS   825
#define NODE_CSR_MAX     16384
#define NODE_CA_MAX      (1024 * 1024)
#define NODE_TOPOLOGY_MAX (16 * 1024 * 1024)
#define NODE_MESSAGE_MAX 4096
#define NODE_DRIFT_MAX   10000
#define NODE_PATH_MAX    4096

const struct ecc_jfield ecd_enroll_fields[] = {
	{ "node", ECC_J_STRING, 1, 1, 63 },
	{ "subcluster", ECC_J_STRING, 1, 1, 63 },
	{ "csr", ECC_J_STRING, 1, 1, NODE_CSR_MAX },
	{ "force", ECC_J_BOOL, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const struct ecc_jfield ecd_node_status_fields[] = {
	{ "revision", ECC_J_INT, 1, 0, INT64_MAX },
	{ "result", ECC_J_STRING, 1, 1, 32 },
	{ "message", ECC_J_STRING, 0, 0, NODE_MESSAGE_MAX },
	{ "drift", ECC_J_ARRAY, 0, 0, NODE_DRIFT_MAX },
	{ NULL, 0, 0, 0, 0 },
};

static const char *const node_results[] = {
	"ok", "check_failed", "reload_failed", "held", "local_edits",
	"disabled", "offline",
};

enum node_op {
	NODE_RELOAD,
	NODE_ENROLL,
	NODE_REMOVE,
};

struct node_job {
	struct ecd_job job;
	struct ecd_server *srv;
	struct ecd_ctx *ctx;          /* NULL for NODE_RELOAD */
	enum node_op op;
	char *name;
	char *subcluster;
	char *csr;
	int force;
	char *ca_file;
	char *ca_key_file;
	/* results */
	int error;
	char *errmsg;
	char *cert_pem;
	char *ca_pem;
	char *serial;
	time_t not_after;
	struct ecc_node *nodes;       /* the table after the change */
	size_t nnodes;
	int listed;
	struct ecd_actor actor;
};

static void
node_job_free(struct node_job *nj)
{
	free(nj->name);
	free(nj->subcluster);
	free(nj->csr);
	free(nj->ca_file);
	free(nj->ca_key_file);
	free(nj->errmsg);
	free(nj->cert_pem);
	free(nj->ca_pem);
	free(nj->serial);
	ecc_node_array_free(nj->nodes, nj->nnodes);
	free(nj);
}

/* On the writer: the node must be listed in that subcluster of the head
 * topology. */
static int
node_check_topology(struct node_job *nj, ecc_repo *repo)
{
	struct ecc_topology *t = NULL;
	const struct ecc_subcluster *sc;
	char *buf = NULL, *list = NULL;
	size_t len = 0, llen = 0, i;
	int error = -1;

	if ((error = ecc_repo_read(&buf, &len, repo, ecc_repo_head(repo),
	    ECC_TOPOLOGY_PATH, NODE_TOPOLOGY_MAX)) < 0) {
		if (error == ECC_ENOTFOUND)
			error = ecc_error_set(ECC_ENOTFOUND, "subcluster %s "
			    "does not exist (no %s at the head)",
			    nj->subcluster, ECC_TOPOLOGY_PATH);
		goto out;
	}
	if ((error = ecc_topology_parse(&t, buf, len, ECC_TOPOLOGY_PATH)) < 0)
		goto out;
	if (!(sc = ecc_topology_subcluster(t, nj->subcluster))) {
		error = ecc_error_set(ECC_ENOTFOUND, "subcluster %s does not "
		    "exist", nj->subcluster);
		goto out;
	}
	for (i = 0; i < sc->nnodes; i++)
		if (strcmp(sc->nodes[i], nj->name) == 0)
			break;
	if (i == sc->nnodes) {
		for (i = 0; i < sc->nnodes; i++) {
			if (i > 0)
				ecc_str_append(&list, &llen, ", ");
			ecc_str_append(&list, &llen, sc->nodes[i]);
		}
		error = ecc_error_set(ECC_EREJECTED, "node %s is not in "
		    "subcluster %s (nodes: %s)", nj->name, nj->subcluster,
		    list ? list : "none");
		goto out;
	}
	error = 0;
out:
	free(list);
	free(buf);
	ecc_topology_free(t);
	return error;
}

static int
node_enroll(struct node_job *nj, struct ecd_worker *w)
{
	struct ecc_node old, rec;
	size_t len = 0;
	int error = -1;

	memset(&old, 0, sizeof(old));
	memset(&rec, 0, sizeof(rec));
	if ((error = node_check_topology(nj, w->repo)) < 0)
		goto out;
	error = ecc_store_node_get(w->store, &old, nj->name);
	if (error == 0 && !nj->force) {
		error = ecc_error_set(ECC_EEXISTS, "node %s is already "
		    "enrolled (set \"force\" to re-enroll it and revoke its "
		    "certificate)", nj->name);
		goto out;
	}
	if (error < 0 && error != ECC_ENOTFOUND)
		goto out;
	ecc_error_clear();
	if (!nj->ca_file || !*nj->ca_file || !nj->ca_key_file ||
	    !*nj->ca_key_file) {
		error = ecc_error_set(ECC_EUNAVAIL, "no cluster CA configured "
		    "(ca_file, ca_key_file)");
		goto out;
	}
	if ((error = ecc_pki_sign_node(&nj->cert_pem, nj->ca_file,
	    nj->ca_key_file, nj->csr, strlen(nj->csr), nj->name,
	    nj->subcluster, NODE_CERT_DAYS)) < 0 ||
	    (error = ecc_pki_pem_info(&nj->serial, &nj->not_after,
	    nj->cert_pem, strlen(nj->cert_pem))) < 0 ||
	    (error = ecc_file_read(&nj->ca_pem, &len, nj->ca_file,
	    NODE_CA_MAX)) < 0)
		goto out;
	rec.name = nj->name;
	rec.subcluster = nj->subcluster;
	rec.serial = nj->serial;
	rec.enrolled = (int64_t)time(NULL);
	error = ecc_store_node_put(w->store, &rec);
out:
	ecc_node_clear(&old);
	return error;
}

static void
node_run(struct ecd_job *job, struct ecd_worker *w)
{
	struct node_job *nj = (struct node_job *)job;
	int error = 0;

	if (!w->store) {
		nj->error = ecc_error_set(ECC_EUNAVAIL, "no node store");
		nj->errmsg = ecc_strdup(ecc_error_last());
		return;
	}
	switch (nj->op) {
	case NODE_RELOAD:
		break;
	case NODE_ENROLL:
		error = node_enroll(nj, w);
		break;
	case NODE_REMOVE:
		error = ecc_store_node_remove(w->store, nj->name);
		break;
	}
	if (error < 0) {
		nj->error = error;
		nj->errmsg = ecc_strdup(ecc_error_last());
		return;
	}
	if (nj->op == NODE_ENROLL)
		ecd_audit(w->store, &nj->actor, "node.enroll", "%s in %s, "
		    "certificate %s%s", nj->name, nj->subcluster, nj->serial,
		    nj->force ? " (re-enrolled)" : "");
	else if (nj->op == NODE_REMOVE)
		ecd_audit(w->store, &nj->actor, "node.remove", "%s", nj->name);
	if (ecc_store_node_list(w->store, &nj->nodes, &nj->nnodes) < 0)
		ecc_log_err("nodes", "cannot list the nodes: %s",
		    ecc_error_last());
	else
		nj->listed = 1;
}

/* Drop `name` from the loop's table (its removal is stored but the
 * table could not be listed again): revocation must not wait. */
static void
node_forget(struct ecd_server *srv, const char *name)
{
	size_t i;

	for (i = 0; i < srv->nnodes; i++) {
		if (strcmp(srv->nodes[i].name, name) != 0)
			continue;
		ecc_node_clear(&srv->nodes[i]);
		memmove(&srv->nodes[i], &srv->nodes[i + 1],
		    (srv->nnodes - i - 1) * sizeof(*srv->nodes));
		srv->nnodes--;
		return;
	}
}

static void
node_done(struct ecd_job *job)
{
	struct node_job *nj = (struct node_job *)job;
	struct ecd_server *srv = nj->srv;
	struct ecd_ctx *ctx = nj->ctx;
	int64_t vrev;

	if (nj->listed) {
		ecd_server_set_nodes(srv, nj->nodes, nj->nnodes);
		nj->nodes = NULL;
		nj->nnodes = 0;
	}
	if (nj->error) {
		if (ctx)
			ecd_reply_code(ctx, nj->error, nj->errmsg);
		else
			ecc_log_err("nodes", "cannot load the nodes: %s",
			    nj->errmsg);
		goto out;
	}
	switch (nj->op) {
	case NODE_RELOAD:
		ecc_log_info("nodes", "%zu node(s) enrolled", srv->nnodes);
		break;
	case NODE_ENROLL:
		if (!nj->listed)
			node_forget(srv, nj->name);   /* old cert: revoked */
		/* A re-enrolled node starts without a status. */
		ecd_node_status_free(ecd_map_remove(srv->node_status,
		    nj->name));
		ecc_log_notice("nodes", "node %s (%s) enrolled by %s, "
		    "certificate %s", nj->name, nj->subcluster, ctx->user,
		    nj->serial);
		vrev = ecd_server_view_revision(srv, nj->subcluster);
		ecd_reply_json(ctx, 201, json_pack("{s:s, s:s, s:s, s:s, s:s, "
		    "s:I, s:I}", "node", nj->name, "subcluster", nj->subcluster,
		    "certificate", nj->cert_pem, "ca", nj->ca_pem,
		    "serial", nj->serial, "not_after", (json_int_t)nj->not_after,
		    "view_revision", (json_int_t)(vrev < 0 ? 0 : vrev)));
		break;
	case NODE_REMOVE:
		if (!nj->listed)
			node_forget(srv, nj->name);
		ecc_log_notice("nodes", "node %s removed by %s", nj->name,
		    ctx->user);
		ecd_node_status_free(ecd_map_remove(srv->node_status,
		    nj->name));
		ecd_reply_empty(ctx, 204);
		break;
	}
out:
	node_job_free(nj);
}

static struct node_job *
node_job_new(struct ecd_server *srv, struct ecd_ctx *ctx, enum node_op op)
{
	struct node_job *nj = ecc_calloc(1, sizeof(*nj));

	nj->job.run = node_run;
	nj->job.done = node_done;
	nj->srv = srv;
	nj->ctx = ctx;
	nj->op = op;
	ecd_actor_set(&nj->actor, ctx);
	return nj;
}

void
ecd_nodes_reload(struct ecd_server *srv)
{
	ecd_pool_submit_write(srv->pool, &node_job_new(srv, NULL,
	    NODE_RELOAD)->job);
}

void
ecd_api_node_enroll(struct ecd_ctx *ctx)
{
	const char *node = json_string_value(json_object_get(ctx->body,
	    "node"));
	const char *sc = json_string_value(json_object_get(ctx->body,
	    "subcluster"));
	const char *csr = json_string_value(json_object_get(ctx->body,
	    "csr"));
	struct node_job *nj;

	if (!ecc_name_is_node(node)) {
		ecd_reply_error(ctx, 400, "invalid", "node: '%s' is not a "
		    "valid node name", node);
		return;
	}
	if (!ecc_name_is_subcluster(sc)) {
		ecd_reply_error(ctx, 400, "invalid", "subcluster: '%s' is not "
		    "a valid subcluster name", sc);
		return;
	}
	if (strlen(csr) != json_string_length(json_object_get(ctx->body,
	    "csr"))) {
		ecd_reply_error(ctx, 400, "invalid", "csr: contains a NUL "
		    "byte");
		return;
	}
	nj = node_job_new(ctx->srv, ctx, NODE_ENROLL);
	nj->name = ecc_strdup(node);
	nj->subcluster = ecc_strdup(sc);
	nj->csr = ecc_strdup(csr);
	nj->force = json_is_true(json_object_get(ctx->body, "force"));
	nj->ca_file = ctx->srv->cfg->ca_file ?
	    ecc_strdup(ctx->srv->cfg->ca_file) : NULL;
	nj->ca_key_file = ctx->srv->cfg->ca_key_file ?
	    ecc_strdup(ctx->srv->cfg->ca_key_file) : NULL;
	ecd_pool_submit_write(ctx->srv->pool, &nj->job);
}

void
ecd_api_node_delete(struct ecd_ctx *ctx)
{
	struct node_job *nj;

	if (!ecd_server_node(ctx->srv, ctx->params[0])) {
		ecd_reply_error(ctx, 404, "not_found", "node %s is not "
		    "enrolled", ctx->params[0]);
		return;
	}
	nj = node_job_new(ctx->srv, ctx, NODE_REMOVE);
	nj->name = ecc_strdup(ctx->params[0]);
	ecd_pool_submit_write(ctx->srv->pool, &nj->job);
}

void
ecd_api_node_status(struct ecd_ctx *ctx)
{
	json_t *drift = json_object_get(ctx->body, "drift"), *v;
	const char *result = json_string_value(json_object_get(ctx->body,
	    "result"));
	const char *message = json_string_value(json_object_get(ctx->body,
	    "message"));
	struct ecd_node_status *ns;
	size_t i;

	for (i = 0; i < ECC_ARRAY_SIZE(node_results); i++)
		if (strcmp(result, node_results[i]) == 0)
			break;
	if (i == ECC_ARRAY_SIZE(node_results)) {
		ecd_reply_error(ctx, 400, "invalid", "result: '%s' is not one "
		    "of ok, check_failed, reload_failed, held, local_edits, "
		    "disabled, offline", result);
		return;
	}
	json_array_foreach(drift, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > NODE_PATH_MAX) {
			ecd_reply_error(ctx, 400, "invalid", "drift[%zu]: must "
			    "be a path", i);
			return;
		}
	}
	ns = ecc_calloc(1, sizeof(*ns));
	ns->revision = json_integer_value(json_object_get(ctx->body,
	    "revision"));
	ns->result = ecc_strdup(result);
	ns->message = ecc_strdup(message ? message : "");
	ns->drift = drift ? json_incref(drift) : json_array();
	ns->last_contact = (int64_t)time(NULL);
	ecd_node_status_free(ecd_map_put(ctx->srv->node_status, ctx->node,
	    ns));
	ecd_cluster_put_node_status(ctx->srv->cluster, ctx->node, ns);
	ecd_reply_empty(ctx, 204);
}

static json_t *
node_json(struct ecd_server *srv, const struct ecc_node *n, int64_t now)
{
	const struct ecd_node_status *ns = ecd_map_get(srv->node_status,
	    n->name);
	int64_t vrev = ecd_server_view_revision(srv, n->subcluster);
	int64_t max_age = 3 * srv->cfg->watch_max_wait;
	int stale;

	stale = !ns || (vrev >= 0 && ns->revision < vrev) ||
	    now - ns->last_contact > max_age;
	return json_pack("{s:s, s:s, s:I, s:o, s:o, s:o, s:s, s:o, s:o, "
	    "s:b}", "name", n->name, "subcluster", n->subcluster,
	    "enrolled", (json_int_t)n->enrolled,
	    "applied_revision", ns ? json_integer(ns->revision) : json_null(),
	    "view_revision", vrev >= 0 ? json_integer(vrev) : json_null(),
	    "result", ns ? json_string(ns->result) : json_null(),
	    "message", ns ? ns->message : "",
	    "drift", ns ? json_incref(ns->drift) : json_array(),
	    "last_contact", ns ? json_integer(ns->last_contact) : json_null(),
	    "stale", stale);
}

static void
nodes_reply(struct ecd_ctx *ctx)
{
	struct ecd_server *srv = ctx->srv;
	const char *sc = ecd_query_str(ctx, "subcluster");
	json_t *arr = json_array();
	int64_t now = (int64_t)time(NULL);
	size_t i;

	for (i = 0; i < srv->nnodes; i++) {
		if (sc && strcmp(sc, srv->nodes[i].subcluster) != 0)
			continue;
		json_array_append_new(arr, node_json(srv, &srv->nodes[i], now));
	}
	ecd_reply_json(ctx, 200, json_pack("{s:I, s:o}", "head",
	    (json_int_t)(srv->state ? srv->state->head : 0), "nodes", arr));
}

void
ecd_api_nodes(struct ecd_ctx *ctx)
{
	/* In a cluster, nodes report to whichever manager they follow. */
	ecd_cluster_fetch_node_status(ctx->srv->cluster, ctx, nodes_reply);
}
