/*
 * cmd-bootstrap.c - `eccfg bootstrap --clustername NAME [options]
 * HOST[:PORT][,HOST[:PORT]...]`: enroll this MTA node with its managers
 * once.  Pins the cluster CA, checks the node is listed in the
 * subcluster, has the manager sign a CSR made here (the key never leaves
 * the node), writes cluster.boot, and installs the first full view
 * atomically as the configuration directory.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "client.h"
#include "eccfg.h"
#include "node.h"
#include "prompt.h"

enum {
	OPT_CLUSTERNAME = 1,
	OPT_NODE_NAME,
	OPT_CONF_DIR,
	OPT_STATE_DIR,
	OPT_AUTOUPDATE,
	OPT_NO_RELOAD,
	OPT_CHECK_COMMAND,
	OPT_RELOAD_COMMAND,
	OPT_KEEP_SNAPSHOTS,
	OPT_FORCE,
};

static const struct eccfg_opt bootstrap_opts[] = {
	{ "clustername", 1, 0, OPT_CLUSTERNAME, "NAME",
	  "the subcluster this node belongs to (required)" },
	{ "node-name", 1, 0, OPT_NODE_NAME, "NAME",
	  "this node's name in the topology (default: the host name)" },
	NODE_BOOT_OPT,
	{ "conf-dir", 1, 0, OPT_CONF_DIR, "DIR",
	  "the configuration directory, a symlink (default "
	  SYSCONFDIR "/ecconfig/conf)" },
	{ "state-dir", 1, 0, OPT_STATE_DIR, "DIR",
	  "snapshots, key and certificates (default " LOCALSTATEDIR
	  "/lib/eccfg)" },
	{ "autoupdate", 1, 0, OPT_AUTOUPDATE, "MODE",
	  "true (default), ifunchanged or false" },
	{ "no-reload", 0, 0, OPT_NO_RELOAD, NULL,
	  "reload_config_on_update = false" },
	{ "check-command", 1, 0, OPT_CHECK_COMMAND, "CMD",
	  "run on a new tree before it is switched in" },
	{ "reload-command", 1, 0, OPT_RELOAD_COMMAND, "CMD",
	  "run after the switch (e.g. the MTA's config reload)" },
	{ "keep-snapshots", 1, 0, OPT_KEEP_SNAPSHOTS, "N",
	  "applied trees kept for local rollback (default 5)" },
	{ "force", 0, 0, OPT_FORCE, NULL,
	  "enroll again although this node is bootstrapped (the old "
	  "certificate is revoked)" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

/* Option values, in cluster.boot's option names. */
struct bootstrap_args {
	const char *boot_path;
	const char *values[16][2];   /* { option name, value } */
	size_t nvalues;
	const char *cluster;
	const char *node;
	int force;
};

static void
bootstrap_set(struct bootstrap_args *a, const char *name, const char *v)
{
	size_t i;

	for (i = 0; i < a->nvalues; i++)
		if (strcmp(a->values[i][0], name) == 0) {
			a->values[i][1] = v;
			return;
		}
	if (a->nvalues < ECC_ARRAY_SIZE(a->values)) {
		a->values[a->nvalues][0] = name;
		a->values[a->nvalues++][1] = v;
	}
}

static int
bootstrap_opt(int id, const char *arg, void *payload)
{
	struct bootstrap_args *a = payload;

	switch (id) {
	case OPT_CLUSTERNAME:
		if (!ecc_name_is_subcluster(arg))
			return ecc_error_set(ECC_EINVALID, "--clustername "
			    "'%s': subcluster names are lower case and one "
			    "word", arg);
		a->cluster = arg;
		return 0;
	case OPT_NODE_NAME:
		if (!ecc_name_is_node(arg))
			return ecc_error_set(ECC_EINVALID, "--node-name '%s' "
			    "is not a node name (lower-case host name)", arg);
		a->node = arg;
		return 0;
	case NODE_OPT_BOOT:
		a->boot_path = arg;
		return 0;
	case OPT_CONF_DIR:
		bootstrap_set(a, "conf_dir", arg);
		return 0;
	case OPT_STATE_DIR:
		bootstrap_set(a, "state_dir", arg);
		return 0;
	case OPT_AUTOUPDATE:
		bootstrap_set(a, "autoupdate", arg);
		return 0;
	case OPT_NO_RELOAD:
		bootstrap_set(a, "reload_config_on_update", "false");
		return 0;
	case OPT_CHECK_COMMAND:
		bootstrap_set(a, "check_command", arg);
		return 0;
	case OPT_RELOAD_COMMAND:
		bootstrap_set(a, "reload_command", arg);
		return 0;
	case OPT_KEEP_SNAPSHOTS:
		bootstrap_set(a, "keep_snapshots", arg);
		return 0;
	case OPT_FORCE:
		a->force = 1;
		return 0;
	}
	return ecc_error_set(ECC_EINVALID, "unknown option");
}

/* The host name, lower-cased, as the default node name. */
static int
bootstrap_default_node(char **out)
{
	char host[256];
	size_t i;

	*out = NULL;
	if (gethostname(host, sizeof(host) - 1) < 0)
		return ecc_error_set(ECC_ERROR, "gethostname: %s: pass "
		    "--node-name", strerror(errno));
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i]; i++)
		host[i] = (char)tolower((unsigned char)host[i]);
	if (!ecc_name_is_node(host))
		return ecc_error_set(ECC_EINVALID, "the host name '%s' is not "
		    "a node name: pass --node-name", host);
	*out = ecc_strdup(host);
	return 0;
}

/* Parse the node's settings into *b: defaults, then what the command line
 * gave, through the same parser cluster.boot is read with (so every
 * value is checked as it will be read). */
static int
bootstrap_settings(struct ecc_boot *b, const struct bootstrap_args *a,
    const char *node, const char *repo)
{
	const char *fixed[][2] = {
		{ "cluster_name", a->cluster },
		{ "node_name", node },
		{ "repo", repo },
	};
	char *text = NULL, *line, *q;
	size_t len = 0, i, n = ECC_ARRAY_SIZE(fixed) + a->nvalues;
	int error;

	for (i = 0; i < n; i++) {
		const char *const *kv = i < ECC_ARRAY_SIZE(fixed) ? fixed[i] :
		    a->values[i - ECC_ARRAY_SIZE(fixed)];

		q = ecc_conf_quote(kv[1]);
		line = ecc_printf("%s = %s\n", kv[0], q);
		ecc_str_append(&text, &len, line);
		free(line);
		free(q);
	}
	error = ecc_boot_parse(b, text, len, "the command line");
	free(text);
	return error;
}

/* First contact without a pinned CA: fetch the CA the manager presents,
 * show its fingerprint and have it confirmed on the terminal.  *fp gets
 * the canonical fingerprint. */
static int
bootstrap_confirm_ca(struct eccfg_ctx *ctx, char fp[ECC_FINGERPRINT_LEN],
    const struct ecc_boot_repo *r)
{
	struct ecc_tls_client_opts o;
	struct ecc_http_response resp;
	SSL_CTX *ssl = NULL;
	ecc_http_client *http = NULL;
	char *q = NULL;
	int yes = 0, error = -1;

	memset(&o, 0, sizeof(o));
	memset(&resp, 0, sizeof(resp));
	if (!prompt_is_interactive()) {
		error = ecc_error_set(ECC_EINVALID, "no cluster CA to trust: "
		    "pass --ca-fingerprint SHA256 (eccfg init printed it; on "
		    "the manager: openssl x509 -noout -fingerprint -sha256 "
		    "-in DATA_DIR/ca.pem) or --ca FILE");
		goto out;
	}
	o.insecure_no_verify = 1;
	if ((error = ecc_tls_client_ctx(&ssl, &o)) < 0 ||
	    (error = ecc_http_client_new(&http, r->host, r->port, ssl,
	    ctx->g.timeout, 1 << 20)) < 0)
		goto out;
	ecc_http_client_capture_chain(http, 1);
	if ((error = ecc_http_request(&resp, http, "GET", "/v1/health", NULL,
	    NULL, 0)) < 0)
		goto out;
	if (!resp.peer_root_pem) {
		error = ecc_error_set(ECC_EAUTH, "%s presented no certificate "
		    "chain", r->host);
		goto out;
	}
	if ((error = ecc_pki_fingerprint_pem(fp, resp.peer_root_pem,
	    strlen(resp.peer_root_pem))) < 0)
		goto out;
	fprintf(stderr, "The manager %s:%d presents a cluster CA with the "
	    "SHA-256 fingerprint\n  %s\nCompare it with the one `eccfg init` "
	    "printed on the manager.\n", r->host, r->port, fp);
	q = ecc_printf("Trust this CA and enroll this node? [y/N] ");
	if ((error = prompt_yes_no(&yes, q, 0, "--ca-fingerprint")) < 0)
		goto out;
	if (!yes) {
		error = ecc_error_set(ECC_EAUTH, "the CA was not confirmed; "
		    "nothing was changed");
		goto out;
	}
	error = 0;
out:
	free(q);
	ecc_http_response_clear(&resp);
	ecc_http_client_free(http);
	SSL_CTX_free(ssl);
	return error;
}

/* The subcluster must exist and list the node; the manager checks this
 * too, but here the message can list what there is. */
static int
bootstrap_check_topology(struct eccfg_client *c, const char *sc,
    const char *node)
{
	json_t *v = NULL, *list, *s, *nodes, *x;
	char *names = NULL;
	size_t len = 0, i, j;
	int error, found = 0;

	if ((error = eccfg_client_json(&v, NULL, c, "GET", "/v1/subclusters",
	    NULL)) < 0)
		return error;
	list = json_object_get(v, "subclusters");
	json_array_foreach(list, i, s) {
		const char *name = json_string_value(json_object_get(s,
		    "name"));

		ecc_str_append(&names, &len, i ? ", " : "");
		ecc_str_append(&names, &len, name ? name : "?");
		if (!name || strcmp(name, sc) != 0)
			continue;
		found = 1;
		free(names);
		names = NULL;
		len = 0;
		nodes = json_object_get(s, "nodes");
		json_array_foreach(nodes, j, x) {
			if (json_is_string(x) &&
			    strcmp(json_string_value(x), node) == 0)
				goto out;
			ecc_str_append(&names, &len, j ? ", " : "");
			ecc_str_append(&names, &len, json_string_value(x) ?
			    json_string_value(x) : "?");
		}
		error = ecc_error_set(ECC_EREJECTED, "node %s is not listed in "
		    "subcluster %s of the topology (nodes: %s); add it to "
		    "global/cluster.conf and commit, or pass --node-name", node,
		    sc, names ? names : "none");
		goto out;
	}
	if (!found)
		error = ecc_error_set(ECC_ENOTFOUND, "no subcluster %s on %s "
		    "(subclusters: %s)", sc, eccfg_client_server(c),
		    names ? names : "none");
out:
	free(names);
	json_decref(v);
	return error;
}

/* Write the key, certificate and CA into the state directory. */
static int
bootstrap_write_identity(const struct ecc_boot *b, const char *key_pem,
    const json_t *enrolled)
{
	const char *cert = json_string_value(json_object_get(enrolled,
	    "certificate"));
	const char *ca = json_string_value(json_object_get(enrolled, "ca"));
	int error;

	if (!cert || !ca)
		return ecc_error_set(ECC_ERROR, "the enrollment reply holds no "
		    "certificate");
	if ((error = ecc_mkdir_p(b->state_dir, 0700)) < 0)
		return error;
	if ((error = ecc_file_write_atomic(b->key_file, key_pem,
	    strlen(key_pem), 0600)) < 0 ||
	    (error = ecc_file_write_atomic(b->cert_file, cert, strlen(cert),
	    0644)) < 0 ||
	    (error = ecc_file_write_atomic(b->ca_file, ca, strlen(ca),
	    0644)) < 0)
		return error;
	return 0;
}

static int
bootstrap_write_boot(const char *path, const struct ecc_boot *b)
{
	char *text = ecc_boot_render(b), *dir = ecc_path_dirname(path);
	int error;

	if ((error = ecc_mkdir_p(dir, 0755)) == 0)
		error = ecc_file_write_atomic(path, text, strlen(text), 0644);
	free(dir);
	free(text);
	return error;
}

/* Fetch and apply the whole view, then report. */
static int
bootstrap_first_pull(struct eccfg_ctx *ctx, const char *path)
{
	struct node n;
	struct ecc_apply_result res;
	int64_t vrev;
	int error;

	memset(&res, 0, sizeof(res));
	if ((error = node_open(&n, ctx, path)) < 0 ||
	    (error = node_view_revision(&vrev, &n, n.current, 0)) < 0 ||
	    (error = node_update(&res, &n, vrev, ECC_APPLY_LOCAL_THEIRS)) < 0)
		goto out;
	node_print_result(ctx, &n, &res);
	if (node_report(&n, node_result_name(res.status), res.output) < 0)
		eccfg_report(ctx);
	if (res.status != ECC_APPLY_OK && res.status != ECC_APPLY_UNCHANGED)
		error = ECCFG_EXIT_FAIL;
out:
	ecc_apply_result_free(&res);
	node_close(&n);
	return error;
}

static int
bootstrap_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct bootstrap_args a;
	struct ecc_boot b;
	struct eccfg_client *c = NULL;
	json_t *req = NULL, *enrolled = NULL;
	char *node = NULL, *key_pem = NULL, *csr_pem = NULL, *server = NULL;
	char fp[ECC_FINGERPRINT_LEN];
	const struct ecc_boot_repo *r;
	const char *repo;
	size_t i;
	int first, rc;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if ((rc = eccfg_parse_options(ctx, argc, argv, bootstrap_opt, &a,
	    &first)) != 0)
		return rc;
	if (!a.cluster)
		return eccfg_usage(ctx, "pass --clustername NAME (the "
		    "subcluster this node belongs to, typically default)");
	if (argc - first > 1)
		return eccfg_usage(ctx, "name the managers as one operand: "
		    "HOST[:PORT][,HOST[:PORT]...]");
	repo = first < argc ? argv[first] : ctx->g.server;
	if (!repo)
		return eccfg_usage(ctx, "name the manager: eccfg bootstrap "
		    "--clustername NAME HOST[:PORT]");
	a.boot_path = node_boot_path(a.boot_path);
	if (ecc_path_exists(a.boot_path) && !a.force) {
		rc = ecc_error_set(ECC_EEXISTS, "this node is already "
		    "bootstrapped (%s exists); to enroll it again, which "
		    "revokes its current certificate, pass --force",
		    a.boot_path);
		goto out;
	}
	if (a.node)
		node = ecc_strdup(a.node);
	else if ((rc = bootstrap_default_node(&node)) < 0)
		goto out;
	if ((rc = bootstrap_settings(&b, &a, node, repo)) < 0)
		goto out;

	/* The managers in the order given: the first that answers enrolls
	 * the node, as the node's session fails over later. */
	for (i = 0; i < b.nrepos; i++) {
		r = &b.repos[i];
		if (i > 0)
			ecc_log_notice("bootstrap", "%s; trying %s:%d",
			    ecc_error_last(), r->host, r->port);
		/* Trust: --ca, --ca-fingerprint, or shown and confirmed. */
		if (!ctx->g.ca_file && !ctx->g.ca_fingerprint) {
			rc = bootstrap_confirm_ca(ctx, fp, r);
			if (rc == ECC_EUNAVAIL && i + 1 < b.nrepos)
				continue;
			if (rc < 0)
				goto out;
			ctx->g.ca_fingerprint = fp;
		}
		free(server);
		server = strchr(r->host, ':') ?
		    ecc_printf("[%s]:%d", r->host, r->port) :
		    ecc_printf("%s:%d", r->host, r->port);
		ctx->g.server = server;
		eccfg_client_free(c);
		c = NULL;
		if ((rc = eccfg_client_new(&c, ctx, NULL)) < 0)
			goto out;
		rc = bootstrap_check_topology(c, b.cluster_name, b.node_name);
		if (rc == ECC_EUNAVAIL && i + 1 < b.nrepos)
			continue;
		if (rc < 0)
			goto out;
		break;
	}
	if ((rc = ecc_pki_make_csr(&key_pem, &csr_pem, b.node_name,
	    b.cluster_name)) < 0)
		goto out;
	req = json_pack("{s:s, s:s, s:s, s:b}", "node", b.node_name,
	    "subcluster", b.cluster_name, "csr", csr_pem, "force", a.force);
	rc = eccfg_client_json(&enrolled, NULL, c, "POST", "/v1/nodes/enroll",
	    req);
	if (rc == ECC_EEXISTS) {
		eccfg_error_prefix(rc, "enrolling %s", b.node_name);
		fflush(stdout);
		eccfg_report(ctx);
		fprintf(stderr, "To enroll it again (its current certificate "
		    "is revoked), pass --force.\n");
		rc = ECCFG_EXIT_FAIL;
		goto out;
	}
	if (rc < 0 || (rc = bootstrap_write_identity(&b, key_pem,
	    enrolled)) < 0 || (rc = bootstrap_write_boot(a.boot_path,
	    &b)) < 0)
		goto out;
	eccfg_say(ctx, "Enrolled %s in subcluster %s with %s; wrote %s.\n",
	    b.node_name, b.cluster_name, eccfg_client_server(c), a.boot_path);
	eccfg_client_free(c);
	c = NULL;
	if ((rc = bootstrap_first_pull(ctx, a.boot_path)) < 0) {
		eccfg_error_prefix(rc, "enrolled, but the first pull failed "
		    "(run eccfg pull to retry)");
		goto out;
	}
out:
	if (key_pem) {
		OPENSSL_cleanse(key_pem, strlen(key_pem));
		free(key_pem);
	}
	free(csr_pem);
	free(server);
	free(node);
	json_decref(req);
	json_decref(enrolled);
	eccfg_client_free(c);
	ecc_boot_free(&b);
	if (ctx->g.ca_fingerprint == fp)
		ctx->g.ca_fingerprint = NULL;
	ctx->g.server = NULL;
	return rc < 0 ? eccfg_report(ctx) : rc;
}

const struct eccfg_cmd eccfg_cmd_bootstrap = {
	.name = "bootstrap",
	.summary = "enroll this MTA node and install its configuration",
	.usage = "--clustername NAME [--node-name NAME] [--ca-fingerprint FP] "
	    "HOST[:PORT][,HOST[:PORT]...]",
	.opts = bootstrap_opts,
	.json_ok = 0,
	.run = bootstrap_run,
};
