/*
 * cmd-init.c - `eccfg init`: create a manager's data directory: the
 * repository (r0, then r1 holding the seeded layout), the cluster CA and
 * the server certificate, the admin and service accounts, and
 * ecconfigd.conf.  With --store postgresql the accounts go to the
 * cluster database and r0 and r1 are published to its shared log; with
 * --join a further manager is made from the database (its repository is
 * filled from the log) and a copy of the cluster CA.  Nothing that exists
 * is overwritten; whatever this command created in the data directory is
 * removed again if it fails halfway.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "eccfg.h"
#include "prompt.h"

#define INIT_MAX_NAMES 4096
#define INIT_CA_DAYS 3650
#define INIT_SERVER_DAYS 730
#define INIT_AUTHOR "admin"
#define INIT_MESSAGE "r1: initial layout"

enum {
	OPT_DATA_DIR = 1,
	OPT_HOSTNAME,
	OPT_SAN,
	OPT_SUBCLUSTER,
	OPT_NODE,
	OPT_CLUSTER_NAME,
	OPT_LISTEN,
	OPT_ADMIN_PASSWORD_FILE,
	OPT_SERVICE_PASSWORD_FILE,
	OPT_STORE,
	OPT_DB_CONNINFO,
	OPT_JOIN,
	OPT_CA_CERT,
	OPT_CA_KEY,
	OPT_MANAGER_NAME,
};

static const struct eccfg_opt init_opts[] = {
	{ "data-dir", 1, 0, OPT_DATA_DIR, "DIR",
	  "the manager's data directory to create (required)" },
	{ "hostname", 1, 0, OPT_HOSTNAME, "NAME",
	  "this manager's node name (default: the host name)" },
	{ "san", 1, 0, OPT_SAN, "NAME",
	  "a DNS name or IP address for the server certificate (repeat; "
	  "default: hostname, localhost, 127.0.0.1, ::1)" },
	{ "subcluster", 1, 0, OPT_SUBCLUSTER, "NAME",
	  "the first subcluster (default: default)" },
	{ "node", 1, 0, OPT_NODE, "NAME",
	  "an MTA node of that subcluster (repeat)" },
	{ "cluster-name", 1, 0, OPT_CLUSTER_NAME, "NAME",
	  "the cluster's name (default: the host name's first label)" },
	{ "listen", 1, 0, OPT_LISTEN, "ADDR:PORT",
	  "where ecconfigd listens (default from ecconfigd.conf's table)" },
	{ "admin-password-file", 1, 0, OPT_ADMIN_PASSWORD_FILE, "FILE",
	  "the admin password (else $ECCFG_ADMIN_PASSWORD, else prompted)" },
	{ "service-password-file", 1, 0, OPT_SERVICE_PASSWORD_FILE, "FILE",
	  "the service password (else $ECCFG_SERVICE_PASSWORD, else "
	  "prompted)" },
	{ "store", 1, 0, OPT_STORE, "STORE",
	  "file (a standalone manager, the default) or postgresql (a "
	  "cluster of managers sharing --db-conninfo)" },
	{ "db-conninfo", 1, 0, OPT_DB_CONNINFO, "CONNINFO",
	  "the cluster database (libpq string or URI), with --store "
	  "postgresql or --join" },
	{ "join", 0, 0, OPT_JOIN, NULL,
	  "add a manager to the cluster in --db-conninfo (needs --ca-cert "
	  "and --ca-key copied from a manager)" },
	{ "ca-cert", 1, 0, OPT_CA_CERT, "FILE",
	  "--join: the cluster CA certificate (DATA_DIR/ca.pem of a manager)" },
	{ "ca-key", 1, 0, OPT_CA_KEY, "FILE",
	  "--join: the cluster CA key (DATA_DIR/ca.key of a manager)" },
	{ "manager-name", 1, 0, OPT_MANAGER_NAME, "NAME",
	  "this manager's name among the managers (default: --hostname)" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

struct init_opts {
	const char *data_dir;
	const char *hostname;
	const char *subcluster;
	const char *cluster_name;
	const char *listen;
	const char *admin_password_file;
	const char *service_password_file;
	const char *store;
	int subcluster_given;
	const char *db_conninfo;
	int join;
	const char *ca_cert;
	const char *ca_key;
	const char *manager_name;
	const char **sans;
	size_t nsans;
	const char **nodes;
	size_t nnodes;
};

/* What init creates inside the data directory, in creation order; these
 * must not exist beforehand and are removed on failure. */
static const char *const init_items[] = {
	"repo.git", "ca.pem", "ca.key", "server.pem", "server.key",
	"users.json", "users.json.lock", "tmp", "ecconfigd.conf",
};

static int
init_push(const char ***v, size_t *n, const char *arg, const char *what)
{
	if (*n >= INIT_MAX_NAMES)
		return ecc_error_set(ECC_ETOOBIG, "more than %d %s names",
		    INIT_MAX_NAMES, what);
	*v = ecc_realloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = arg;
	return 0;
}

static int
init_on_opt(int id, const char *arg, void *payload)
{
	struct init_opts *o = payload;

	switch (id) {
	case OPT_DATA_DIR: o->data_dir = arg; break;
	case OPT_HOSTNAME: o->hostname = arg; break;
	case OPT_SAN: return init_push(&o->sans, &o->nsans, arg, "--san");
	case OPT_SUBCLUSTER: o->subcluster = arg; o->subcluster_given = 1;
		break;
	case OPT_NODE: return init_push(&o->nodes, &o->nnodes, arg, "--node");
	case OPT_CLUSTER_NAME: o->cluster_name = arg; break;
	case OPT_LISTEN: o->listen = arg; break;
	case OPT_ADMIN_PASSWORD_FILE: o->admin_password_file = arg; break;
	case OPT_SERVICE_PASSWORD_FILE: o->service_password_file = arg; break;
	case OPT_STORE: o->store = arg; break;
	case OPT_DB_CONNINFO: o->db_conninfo = arg; break;
	case OPT_JOIN: o->join = 1; break;
	case OPT_CA_CERT: o->ca_cert = arg; break;
	case OPT_CA_KEY: o->ca_key = arg; break;
	case OPT_MANAGER_NAME: o->manager_name = arg; break;
	default: return ecc_error_set(ECC_EINVALID, "unknown option");
	}
	return 0;
}

/* Cluster names appear in the CA's subject and in cluster.conf. */
static int
init_name_is_cluster(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') ||
		    (i > 0 && (c == '-' || c == '_' || c == '.'))))
			return 0;
	}
	return 1;
}

/* "ADDR:PORT" or "[V6]:PORT", port 0..65535 (ecconfigd.conf's check
 * comes later, on the written file; this one names the option). */
static int
init_listen_is_valid(const char *listen)
{
	const char *colon = strrchr(listen, ':');
	int64_t port;

	if (!colon || colon == listen)
		return 0;
	if (listen[0] == '[' && colon[-1] != ']')
		return 0;
	return ecc_parse_int64(&port, colon + 1, 0, 65535) == 0;
}

/* The manager's node name: --hostname, else gethostname() lower-cased. */
static int
init_hostname(char **out, const char *given)
{
	char buf[256];
	size_t i;

	*out = NULL;
	if (given) {
		if (!ecc_name_is_node(given))
			return ecc_error_set(ECC_EINVALID, "--hostname: '%s' is "
			    "not a node name (a lower-case host name)", given);
		*out = ecc_strdup(given);
		return 0;
	}
	if (gethostname(buf, sizeof(buf)) < 0)
		return ecc_error_set_errno(ECC_ERROR, "cannot read the host "
		    "name; pass --hostname NAME");
	buf[sizeof(buf) - 1] = '\0';
	for (i = 0; buf[i]; i++)
		if (buf[i] >= 'A' && buf[i] <= 'Z')
			buf[i] = (char)(buf[i] - 'A' + 'a');
	if (!ecc_name_is_node(buf))
		return ecc_error_set(ECC_EINVALID, "the host name '%s' is not "
		    "a valid node name; pass --hostname NAME", buf);
	*out = ecc_strdup(buf);
	return 0;
}

static void
init_free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* A new account's password: the file, the environment, or the terminal
 * (asked twice).  Checked against the password policy. */
static int
init_password(char **out, const char *file, const char *env,
    const char *account, const char *file_opt)
{
	const char *v;
	char *hint = NULL, *pw = NULL;
	int error = -1;

	*out = NULL;
	if (file) {
		if ((error = eccfg_read_password_file(&pw, file)) < 0)
			goto out;
	} else if ((v = getenv(env)) && *v) {
		pw = ecc_strdup(v);
	} else {
		hint = ecc_printf("%s FILE or set $%s", file_opt, env);
		if ((error = prompt_new_password(&pw, account, hint)) < 0)
			goto out;
	}
	if ((error = ecc_password_check_policy(pw)) < 0) {
		eccfg_error_prefix(error, "the %s password", account);
		goto out;
	}
	*out = pw;
	pw = NULL;
	error = 0;
out:
	init_free_secret(pw);
	free(hint);
	return error;
}

/* The seeded files of revision 1. */

static char *
init_cluster_conf(const char *cluster, const char *sc, const char *mgr,
    const char *const *nodes, size_t nnodes)
{
	char *text, *list = ecc_strdup(""), *t;
	size_t i;

	for (i = 0; i < nnodes; i++) {
		t = ecc_printf("%s%s%s", list, i ? " " : "", nodes[i]);
		free(list);
		list = t;
	}
	text = ecc_printf(
	    "# global/cluster.conf - the cluster topology.\n"
	    "#\n"
	    "# One [subcluster NAME] section per subcluster; subcluster names "
	    "are\n"
	    "# lower case and one word.  Every node and every manager belongs "
	    "to\n"
	    "# exactly one subcluster; a subcluster's managers are listed "
	    "under\n"
	    "# \"managers\" only, its MTA nodes under \"nodes\" (separated by "
	    "spaces).\n"
	    "# Each subcluster is also a top-level folder of the repository:\n"
	    "# NAME/default/ for the files its nodes share, NAME/NODE/ for one\n"
	    "# node's own files.  Changes to this file are revisions like any\n"
	    "# other and are checked when committed.\n"
	    "\n"
	    "cluster_name = %s\n"
	    "\n"
	    "[subcluster %s]\n"
	    "managers = %s\n"
	    "%s%s\n",
	    cluster, sc, mgr, nnodes ? "nodes = " : "# nodes = mta1 mta2",
	    list);
	free(list);
	return text;
}

static const char init_ecelerity_conf[] =
    "# ecelerity.conf - the Momentum configuration every node shares.\n"
    "#\n"
    "# This file lives in global/ and reaches every node of every\n"
    "# subcluster.  A node searches conf/NODE, then conf/default, then\n"
    "# conf/global, so a file of the same name in a subcluster's default/\n"
    "# folder or in a node's own folder takes precedence over this one.\n"
    "# Edit it in a checkout and commit:\n"
    "#   eccfg checkout --subcluster NAME DIR; ...; eccfg commit -m MSG\n"
    "\n"
    "# Per-subcluster and per-node settings, found on the search path.\n"
    "include \"ecelerity-cluster.conf\"\n"
    "include \"ecelerity-node.conf\"\n"
    "\n"
    "Debug_Flags = [ ]\n"
    "\n"
    "Spool {\n"
    "  Base = \"/var/spool/ecelerity\"\n"
    "}\n"
    "\n"
    "# Bound what is kept in memory.\n"
    "Max_Resident_Active_Queue = 250\n"
    "Max_Resident_Messages = 50000\n"
    "Keep_Message_Dicts_In_Memory = true\n"
    "\n"
    "# Inbound SMTP.  Relaying is allowed from the local host only until\n"
    "# the relay rules are written.\n"
    "ESMTP_Listener {\n"
    "  Listen \":25\" {\n"
    "    Enable = true\n"
    "  }\n"
    "  Relay_Hosts = ( \"127.0.0.0/8\" )\n"
    "}\n"
    "\n"
    "# The control channel ec_console talks to.\n"
    "Control_Listener {\n"
    "  Listen \"/tmp/2025\" {\n"
    "  }\n"
    "}\n"
    "\n"
    "# Outbound delivery.\n"
    "Max_Outbound_Connections = 20\n"
    "Idle_Timeout = 300\n"
    "Message_Expiration = 86400\n"
    "Generate_Bounces = true\n"
    "\n"
    "ec_logger \"ec_logger\" {\n"
    "  mainlog = \"/var/log/ecelerity/mainlog.ec\"\n"
    "  paniclog = \"/var/log/ecelerity/paniclog.ec\"\n"
    "  rejectlog = \"/var/log/ecelerity/rejectlog.ec\"\n"
    "  acctlog = \"/var/log/ecelerity/acctlog.ec\"\n"
    "}\n";

/* `sc` NULL: the template for subclusters made later. */
static char *
init_cluster_file(const char *sc)
{
	return ecc_printf(
	    "# ecelerity-cluster.conf - settings the nodes of %s%s share.\n"
	    "#\n"
	    "# Lives in SUBCLUSTER/default/ and reaches only that subcluster's\n"
	    "# nodes (as conf/default/ecelerity-cluster.conf).%s\n"
	    "\n"
	    "cluster {\n"
	    "  # The group the subcluster's nodes join to share state.\n"
	    "  %scluster_group_name = \"%s\"\n"
	    "  control_group_name = \"ecelerity_control\"\n"
	    "  mbus_daemon = \"4802\"\n"
	    "  logs = [\n"
	    "    rejectlog = \"/var/log/ecelerity/rejectlog.ec\"\n"
	    "  ]\n"
	    "}\n"
	    "\n"
	    "# Addresses outbound mail leaves from (empty: each node's "
	    "default).\n"
	    "# Binding_Group \"outbound\" {\n"
	    "#   Binding \"outbound-1\" {\n"
	    "#     Bind_Address = \"192.0.2.10\"\n"
	    "#   }\n"
	    "# }\n",
	    sc ? "subcluster " : "a subcluster", sc ? sc : "",
	    sc ? "" : "\n# This is the template `eccfg subcluster create` "
	    "copies into a new\n# subcluster's default/ folder; set "
	    "cluster_group_name to its name.",
	    sc ? "" : "# ", sc ? sc : "SUBCLUSTER");
}

static char *
init_node_file(const char *node, const char *sc, int manager)
{
	return ecc_printf(
	    "# ecelerity-node.conf - settings for %s %s only (subcluster %s).\n"
	    "#\n"
	    "# Lives in %s/%s/ and reaches only this node (as conf/%s/), where\n"
	    "# it is found before conf/default and conf/global.  Put here what\n"
	    "# differs on this node: its addresses, its listeners, its limits.\n"
	    "\n"
	    "# Example: accept SMTP on one address only.\n"
	    "# ESMTP_Listener {\n"
	    "#   Listen \"192.0.2.10:25\" {\n"
	    "#   }\n"
	    "# }\n",
	    manager ? "the manager" : "node", node, sc, sc, node, node);
}

static int
init_add(struct ecc_changeset *cs, const char *path, char *text)
{
	int error;

	if ((error = ecc_path_validate(path, NULL)) < 0) {
		free(text);
		return error;
	}
	ecc_changeset_add_write(cs, path, text, strlen(text), 0100644);
	free(text);
	return 0;
}

/* Build and commit revision 1. */
static int
init_commit_r1(const char *repo_path, const struct init_opts *o,
    const char *cluster, const char *mgr, const char *const *nodes,
    size_t nnodes)
{
	struct ecc_changeset *cs = NULL;
	struct ecc_commit_result res;
	struct ecc_topology *topo = NULL;
	ecc_repo *repo = NULL;
	char *topo_text = NULL, *path = NULL;
	const char *sc = o->subcluster;
	size_t i;
	int error = -1;

	memset(&res, 0, sizeof(res));
	topo_text = init_cluster_conf(cluster, sc, mgr, nodes, nnodes);
	/* Our own output must pass the rules the server will enforce. */
	if ((error = ecc_topology_parse(&topo, topo_text, strlen(topo_text),
	    ECC_TOPOLOGY_PATH)) < 0)
		goto out;
	cs = ecc_changeset_new(0, INIT_MESSAGE);
	cs->author = ecc_strdup(INIT_AUTHOR);
	if ((error = init_add(cs, ECC_TOPOLOGY_PATH, topo_text)) < 0)
		goto out;
	topo_text = NULL;
	if ((error = init_add(cs, "global/ecelerity.conf",
	    ecc_strdup(init_ecelerity_conf))) < 0 ||
	    (error = init_add(cs,
	    "global/templates/subcluster/ecelerity-cluster.conf",
	    init_cluster_file(NULL))) < 0)
		goto out;
	path = ecc_printf("%s/default/ecelerity-cluster.conf", sc);
	if ((error = init_add(cs, path, init_cluster_file(sc))) < 0)
		goto out;
	free(path);
	path = ecc_printf("%s/%s/ecelerity-node.conf", sc, mgr);
	if ((error = init_add(cs, path, init_node_file(mgr, sc, 1))) < 0)
		goto out;
	for (i = 0; i < nnodes; i++) {
		free(path);
		path = ecc_printf("%s/%s/ecelerity-node.conf", sc, nodes[i]);
		if ((error = init_add(cs, path,
		    init_node_file(nodes[i], sc, 0))) < 0)
			goto out;
	}
	if ((error = ecc_repo_open(&repo, repo_path)) < 0 ||
	    (error = ecc_repo_commit(&res, repo, cs, NULL, NULL)) < 0)
		goto out;
	if (res.revision != 1) {
		error = ecc_error_set(ECC_ERROR, "%s: the seeded layout became "
		    "revision %lld, not 1", repo_path, (long long)res.revision);
		goto out;
	}
	error = 0;
out:
	ecc_commit_result_clear(&res);
	ecc_repo_free(repo);
	ecc_topology_free(topo);
	ecc_changeset_free(cs);
	free(topo_text);
	free(path);
	return error;
}

static int
init_add_user(ecc_store *st, const char *name, enum ecc_role role,
    const char *password)
{
	struct ecc_user u;
	int error;

	memset(&u, 0, sizeof(u));
	if ((error = ecc_password_hash(&u.hash, password, 0)) < 0)
		return error;
	u.name = (char *)name;
	u.role = role;
	u.created = u.changed = (int64_t)time(NULL);
	error = ecc_store_user_add(st, &u);
	/* The cluster database holds no revision yet (checked first), so an
	 * account left by an earlier attempt is replaced. */
	if (error == ECC_EEXISTS && strcmp(st->ops->name, "postgresql") == 0)
		error = ecc_store_user_update(st, &u);
	free(u.hash);
	return error;
}

static int
init_write_dconf(const char *dir, const char *conf_path,
    const struct init_opts *o, const char *manager, char **listen_out)
{
	struct ecc_dconf cfg, check;
	char *text = NULL, *v = NULL;
	int error = -1;
	struct {
		const char *key, *value, *origin;
	} set[10];
	size_t i, n = 0;

	memset(&cfg, 0, sizeof(cfg));
	memset(&check, 0, sizeof(check));
	*listen_out = NULL;
	if ((error = ecc_options_defaults(&cfg, ecc_dconf_options)) < 0)
		goto out;
	set[n].key = "data_dir"; set[n].value = dir;
	set[n++].origin = "--data-dir";
	if (o->listen) {
		set[n].key = "listen"; set[n].value = o->listen;
		set[n++].origin = "--listen";
	}
	set[n].key = "store"; set[n].value = o->store;
	set[n++].origin = "--store";
	if (o->db_conninfo) {
		set[n].key = "db_conninfo"; set[n].value = o->db_conninfo;
		set[n++].origin = "--db-conninfo";
	}
	if (o->db_conninfo) {
		set[n].key = "manager_name"; set[n].value = o->manager_name ?
		    o->manager_name : manager;
		set[n++].origin = "--manager-name";
	}
	set[n].key = "log_target"; set[n].value = "syslog";
	set[n++].origin = "eccfg init";
	for (i = 0; i < n; i++)
		if ((error = ecc_options_set(&cfg, ecc_dconf_options,
		    set[i].key, set[i].value, set[i].origin)) < 0)
			goto out;
	/* Absolute file names: the daemon may run from any directory. */
	{
		const char *files[][2] = {
			{ "cert_file", "server.pem" },
			{ "key_file", "server.key" },
			{ "ca_file", "ca.pem" },
			{ "ca_key_file", "ca.key" },
		};
		for (i = 0; i < ECC_ARRAY_SIZE(files); i++) {
			free(v);
			v = ecc_printf("%s/%s", dir, files[i][1]);
			if ((error = ecc_options_set(&cfg, ecc_dconf_options,
			    files[i][0], v, "eccfg init")) < 0)
				goto out;
		}
	}
	text = ecc_dconf_render(&cfg);
	if ((error = ecc_file_write_atomic(conf_path, text, strlen(text),
	    0600)) < 0)
		goto out;
	/* What we wrote must load as the daemon will load it. */
	if ((error = ecc_dconf_load(&check, conf_path)) < 0)
		goto out;
	*listen_out = ecc_strdup(check.listen ? check.listen : "");
	error = 0;
out:
	ecc_dconf_free(&cfg);
	ecc_dconf_free(&check);
	free(text);
	free(v);
	return error;
}

/* "HOST[:PORT]" a client would use to reach this manager ("HOST:PORT"
 * literally when the daemon picks its port). */
static char *
init_server_name(const char *hostname, const char *listen)
{
	char *host = NULL, *name, *text = ecc_strdup(listen);
	size_t n = strlen(text);
	int port = ECC_DEFAULT_PORT, any_port = 0;

	if (n > 2 && strcmp(text + n - 2, ":0") == 0) {
		any_port = 1;
		strcpy(text + n - 2, "");
	}
	if (ecc_http_parse_hostport(&host, &port, text, ECC_DEFAULT_PORT) < 0)
		host = NULL;
	if (!host || !*host || strcmp(host, "*") == 0 ||
	    strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) {
		free(host);
		host = ecc_strdup(hostname);
	}
	if (any_port)
		name = ecc_printf(strchr(host, ':') ? "[%s]:PORT" : "%s:PORT",
		    host);
	else if (port == ECC_DEFAULT_PORT)
		name = ecc_strdup(host);
	else if (strchr(host, ':'))
		name = ecc_printf("[%s]:%d", host, port);
	else
		name = ecc_printf("%s:%d", host, port);
	free(host);
	free(text);
	return name;
}

/* Refuse when anything init would create is already there. */
static int
init_check_free(const char *dir, int *dir_exists, mode_t *dir_mode)
{
	struct stat st;
	char *p = NULL;
	size_t i;
	int error = 0;

	*dir_exists = 0;
	if (lstat(dir, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return ecc_error_set_errno(ECC_ERROR, "cannot inspect %s", dir);
	}
	if (!S_ISDIR(st.st_mode))
		return ecc_error_set(ECC_EEXISTS, "%s exists and is not a "
		    "directory", dir);
	*dir_exists = 1;
	*dir_mode = st.st_mode & 07777;
	for (i = 0; i < ECC_ARRAY_SIZE(init_items) && error == 0; i++) {
		p = ecc_printf("%s/%s", dir, init_items[i]);
		if (ecc_path_exists(p))
			error = ecc_error_set(ECC_EEXISTS, i == 0 ?
			    "%s already holds a repository (%s); nothing was "
			    "changed" : "%s is in use: %s already exists; "
			    "nothing was changed", dir, p);
		free(p);
	}
	return error;
}

static void
init_undo(const char *dir, int dir_existed, mode_t dir_mode)
{
	char *p;
	size_t i;

	if (!dir_existed) {
		ecc_rm_rf(dir);
		return;
	}
	chmod(dir, dir_mode);
	for (i = 0; i < ECC_ARRAY_SIZE(init_items); i++) {
		p = ecc_printf("%s/%s", dir, init_items[i]);
		ecc_rm_rf(p);
		free(p);
	}
}

/* The cluster database: reachable, its schema current, and holding a
 * cluster (join) or none yet (a new cluster). */
static int
init_db_check(PGconn **out, const struct init_opts *o)
{
	int64_t head;
	int error;

	if ((error = ecc_pglog_connect(out, o->db_conninfo)) < 0 ||
	    (error = ecc_pglog_migrate(*out)) < 0 ||
	    (error = ecc_pglog_head(&head, *out)) < 0)
		return error;
	if (o->join && head < 1)
		return ecc_error_set(ECC_ENOTFOUND, "the database holds no "
		    "cluster yet: create it on the first manager with eccfg "
		    "init --store postgresql");
	if (!o->join && head >= 0)
		return ecc_error_set(ECC_EEXISTS, "the database already holds a "
		    "cluster (head r%lld): add this manager with eccfg init "
		    "--join", (long long)head);
	return 0;
}

static int
init_publish_cb(ecc_repo *repo, const struct ecc_publish *p, void *payload)
{
	const char *const *arg = payload;

	(void)repo;
	return ecc_pglog_publish((PGconn *)(void *)arg[0], p, arg[1]);
}

/* Publish r0 and r1 of a new cluster. */
static int
init_publish(PGconn *conn, const char *repo_path, const char *name)
{
	ecc_repo *repo = NULL;
	const void *arg[2] = { conn, name };
	int64_t rev;
	int error;

	if ((error = ecc_repo_open(&repo, repo_path)) < 0)
		return error;
	for (rev = 0; rev <= ecc_repo_head(repo) && error == 0; rev++)
		error = ecc_repo_publish_existing(repo, rev, init_publish_cb,
		    (void *)arg);
	ecc_repo_free(repo);
	return error;
}

/* --join: an empty repository filled from the log. */
static int
init_fill_repo(int64_t *head, PGconn *conn, const char *repo_path)
{
	ecc_repo *repo = NULL;
	int error;

	if ((error = ecc_repo_init_empty(repo_path)) < 0 ||
	    (error = ecc_repo_open(&repo, repo_path)) < 0 ||
	    (error = ecc_pglog_catch_up(NULL, conn, repo, 0)) < 0)
		goto out;
	*head = ecc_repo_head(repo);
out:
	ecc_repo_free(repo);
	return error;
}

/* --join: the cluster CA, copied in. */
static int
init_copy_ca(const struct init_opts *o, const char *ca, const char *ca_key)
{
	char *buf = NULL;
	size_t len = 0;
	int error;

	if ((error = ecc_file_read(&buf, &len, o->ca_cert, 1 << 20)) < 0 ||
	    (error = ecc_file_write_atomic(ca, buf, len, 0644)) < 0)
		goto out;
	OPENSSL_cleanse(buf, len);
	free(buf);
	buf = NULL;
	if ((error = ecc_file_read(&buf, &len, o->ca_key, 1 << 20)) < 0 ||
	    (error = ecc_file_write_atomic(ca_key, buf, len, 0600)) < 0)
		goto out;
	/* The pair must belong together and be valid. */
	error = ecc_pki_check_pair(ca, ca_key);
out:
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	return error;
}

static int
init_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct init_opts o;
	ecc_store *st = NULL;
	char *hostname = NULL, *cluster = NULL, *admin_pw = NULL;
	char *service_pw = NULL, *dir = NULL, *repo_path = NULL;
	char *ca = NULL, *ca_key = NULL, *cert = NULL, *key = NULL;
	char *conf_path = NULL, *tmp = NULL, *listen = NULL, *server = NULL;
	char *parent = NULL, *slash, *cn = NULL;
	char fp[ECC_FINGERPRINT_LEN];
	const char **nodes = NULL, **sans = NULL;
	size_t nnodes = 0, nsans = 0, i, j;
	int first, error = -1, dir_existed = 0, started = 0, rc;
	mode_t dir_mode = 0700;
	PGconn *conn = NULL;
	int64_t head = -1;

	memset(&o, 0, sizeof(o));
	o.subcluster = "default";
	o.store = "file";
	if ((rc = eccfg_parse_options(ctx, argc, argv, init_on_opt, &o,
	    &first)) != 0) {
		error = rc < 0 ? rc : 0;
		rc = rc < 0 ? ECCFG_EXIT_USAGE : ECCFG_EXIT_OK;
		goto done;
	}
	rc = ECCFG_EXIT_FAIL;
	if (first < argc) {
		rc = eccfg_usage(ctx, "unexpected argument '%s'", argv[first]);
		goto done;
	}
	if (!o.data_dir || !*o.data_dir) {
		rc = eccfg_usage(ctx, "--data-dir DIR is required");
		goto done;
	}
	if (o.join)
		o.store = "postgresql";
	if (strcmp(o.store, "file") != 0 && strcmp(o.store, "postgresql") != 0) {
		rc = eccfg_usage(ctx, "--store: '%s' is not a store (file or "
		    "postgresql)", o.store);
		goto done;
	}
	if (strcmp(o.store, "postgresql") == 0 && !o.db_conninfo) {
		rc = eccfg_usage(ctx, "--store postgresql and --join need "
		    "--db-conninfo CONNINFO (the cluster database)");
		goto done;
	}
	if (strcmp(o.store, "file") == 0 && o.db_conninfo) {
		rc = eccfg_usage(ctx, "--db-conninfo goes with --store "
		    "postgresql or --join");
		goto done;
	}
	if (o.join != (o.ca_cert != NULL) || o.join != (o.ca_key != NULL)) {
		rc = eccfg_usage(ctx, o.join ? "--join needs --ca-cert FILE and "
		    "--ca-key FILE (ca.pem and ca.key of a manager's data "
		    "directory)" : "--ca-cert and --ca-key go with --join");
		goto done;
	}
	if (o.join && (o.nnodes || o.subcluster_given || o.cluster_name)) {
		rc = eccfg_usage(ctx, "--join takes the topology from the "
		    "cluster: --subcluster, --node and --cluster-name do not "
		    "apply");
		goto done;
	}
	if (o.listen && !init_listen_is_valid(o.listen)) {
		rc = eccfg_usage(ctx, "--listen: '%s' is not ADDR:PORT (a port "
		    "in 0..65535; 0 picks a free one)", o.listen);
		goto done;
	}
	if (!ecc_name_is_subcluster(o.subcluster)) {
		rc = eccfg_usage(ctx, "--subcluster: '%s': subcluster names "
		    "must be lower case and one word", o.subcluster);
		goto done;
	}
	if ((error = init_hostname(&hostname, o.hostname)) < 0)
		goto fail;
	if (o.cluster_name) {
		if (!init_name_is_cluster(o.cluster_name)) {
			rc = eccfg_usage(ctx, "--cluster-name: '%s' must be 1..63 "
			    "letters, digits, '.', '-' or '_'", o.cluster_name);
			goto done;
		}
		cluster = ecc_strdup(o.cluster_name);
	} else {
		cluster = ecc_strndup(hostname, strcspn(hostname, "."));
	}
	for (i = 0; i < o.nnodes; i++) {
		if (!ecc_name_is_node(o.nodes[i])) {
			rc = eccfg_usage(ctx, "--node: '%s' is not a node name "
			    "(a lower-case host name, not \"default\" or "
			    "\"global\")", o.nodes[i]);
			goto done;
		}
		/* The manager is already a member; duplicates collapse. */
		if (strcmp(o.nodes[i], hostname) == 0)
			continue;
		for (j = 0; j < nnodes; j++)
			if (strcmp(nodes[j], o.nodes[i]) == 0)
				break;
		if (j == nnodes && (error = init_push(&nodes, &nnodes,
		    o.nodes[i], "--node")) < 0)
			goto fail;
	}
	if (o.nsans) {
		for (i = 0; i < o.nsans; i++)
			if (!*o.sans[i]) {
				rc = eccfg_usage(ctx, "--san: empty name");
				goto done;
			}
		sans = ecc_calloc(o.nsans, sizeof(*sans));
		for (i = 0; i < o.nsans; i++)
			sans[nsans++] = o.sans[i];
	} else {
		const char *defaults[] = { hostname, "localhost", "127.0.0.1",
			"::1" };
		sans = ecc_calloc(ECC_ARRAY_SIZE(defaults), sizeof(*sans));
		for (i = 0; i < ECC_ARRAY_SIZE(defaults); i++)
			if (i == 0 || strcmp(defaults[i], hostname) != 0)
				sans[nsans++] = defaults[i];
	}

	/* Everything that can be refused is refused before creating. */
	if ((error = init_check_free(o.data_dir, &dir_existed,
	    &dir_mode)) < 0)
		goto fail;
	if (o.db_conninfo && (error = init_db_check(&conn, &o)) < 0)
		goto fail;
	if (!o.join && ((error = init_password(&admin_pw,
	    o.admin_password_file, "ECCFG_ADMIN_PASSWORD", "admin",
	    "--admin-password-file")) < 0 ||
	    (error = init_password(&service_pw, o.service_password_file,
	    "ECCFG_SERVICE_PASSWORD", "service",
	    "--service-password-file")) < 0))
		goto fail;

	started = 1;
	if (!dir_existed) {
		parent = ecc_strdup(o.data_dir);
		if ((slash = strrchr(parent, '/')) && slash != parent) {
			*slash = '\0';
			if ((error = ecc_mkdir_p(parent, 0755)) < 0)
				goto fail;
		}
		if (mkdir(o.data_dir, 0700) < 0) {
			error = ecc_error_set_errno(ECC_ERROR, "cannot create %s",
			    o.data_dir);
			started = 0;
			goto fail;
		}
	} else if (chmod(o.data_dir, 0700) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot restrict %s to "
		    "mode 0700", o.data_dir);
		goto fail;
	}
	if ((dir = realpath(o.data_dir, NULL)) == NULL) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot resolve %s",
		    o.data_dir);
		goto fail;
	}
	repo_path = ecc_printf("%s/repo.git", dir);
	ca = ecc_printf("%s/ca.pem", dir);
	ca_key = ecc_printf("%s/ca.key", dir);
	cert = ecc_printf("%s/server.pem", dir);
	key = ecc_printf("%s/server.key", dir);
	tmp = ecc_printf("%s/tmp", dir);
	conf_path = ecc_printf("%s/ecconfigd.conf", dir);
	cn = ecc_printf("ecconfig cluster CA %s", cluster);

	if (o.join) {
		if ((error = init_fill_repo(&head, conn, repo_path)) < 0 ||
		    (error = init_copy_ca(&o, ca, ca_key)) < 0)
			goto fail;
	} else if ((error = ecc_repo_init(repo_path)) < 0 ||
	    (error = ecc_pki_create_ca(ca, ca_key, cn, INIT_CA_DAYS)) < 0) {
		goto fail;
	}
	if ((error = ecc_pki_issue_server(ca, ca_key, cert, key, hostname,
	    sans, nsans, INIT_SERVER_DAYS)) < 0)
		goto fail;
	if (!o.join) {
		if ((error = conn ? ecc_store_pg_open(&st, o.db_conninfo) :
		    ecc_store_file_open(&st, dir)) < 0 ||
		    (error = init_add_user(st, "admin", ECC_ROLE_ADMIN,
		    admin_pw)) < 0 ||
		    (error = init_add_user(st, "service", ECC_ROLE_SERVICE,
		    service_pw)) < 0)
			goto fail;
	}
	if (mkdir(tmp, 0700) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot create %s", tmp);
		goto fail;
	}
	if ((error = init_write_dconf(dir, conf_path, &o, hostname,
	    &listen)) < 0 ||
	    (!o.join && (error = init_commit_r1(repo_path, &o, cluster,
	    hostname, nodes, nnodes)) < 0) ||
	    (error = ecc_pki_fingerprint_file(fp, ca)) < 0)
		goto fail;
	/* Last: once r0 and r1 are in the shared log, the cluster exists. */
	if (conn && !o.join && (error = init_publish(conn, repo_path,
	    o.manager_name ? o.manager_name : hostname)) < 0)
		goto fail;
	if ((error = ecc_fsync_dir(dir)) < 0)
		goto fail;
	if (o.join) {
		server = init_server_name(hostname, listen);
		eccfg_say(ctx, "Joined the cluster as manager %s in %s\n"
		    "  repository     %s (revision %lld, from the shared log)\n"
		    "  configuration  %s\n"
		    "  cluster CA     %s (certificate for %s: %s)\n\n",
		    o.manager_name ? o.manager_name : hostname, dir, repo_path,
		    (long long)head, conf_path, ca, hostname, cert);
		printf("CA fingerprint (SHA-256): %s\n", fp);
		eccfg_say(ctx, "\nStart it with: ecconfigd -c %s\n", conf_path);
		error = 0;
		rc = ECCFG_EXIT_OK;
		goto done;
	}

	server = init_server_name(hostname, listen);
	eccfg_say(ctx, "Initialized an ecconfig manager in %s\n"
	    "  repository     %s (revision 1)\n"
	    "  configuration  %s\n"
	    "  cluster CA     %s (certificate for %s: %s)\n"
	    "  subcluster     %s: manager %s, %zu node%s\n\n",
	    dir, repo_path, conf_path, ca, hostname, cert, o.subcluster,
	    hostname, nnodes, nnodes == 1 ? "" : "s");
	/* The fingerprint is the point of this command: always printed. */
	printf("CA fingerprint (SHA-256): %s\n", fp);
	eccfg_say(ctx, "\nNext steps:\n"
	    "  1. Start the manager:\n"
	    "       ecconfigd -c %s\n"
	    "  2. Check out the configuration as admin:\n"
	    "       eccfg checkout --server %s --ca %s --username admin \\\n"
	    "           --subcluster %s ./%s-config\n"
	    "  3. Nodes and other clients pin the cluster CA with:\n"
	    "       --ca-fingerprint %s\n",
	    conf_path, server, ca, o.subcluster, o.subcluster, fp);
	error = 0;
	rc = ECCFG_EXIT_OK;
	goto done;

fail:
	if (started)
		init_undo(o.data_dir, dir_existed, dir_mode);
	rc = eccfg_report(ctx);
done:
	(void)error;
	if (conn)
		PQfinish(conn);
	ecc_store_free(st);
	init_free_secret(admin_pw);
	init_free_secret(service_pw);
	free(o.sans);
	free(o.nodes);
	free(nodes);
	free(sans);
	free(hostname);
	free(cluster);
	free(dir);
	free(repo_path);
	free(ca);
	free(ca_key);
	free(cert);
	free(key);
	free(tmp);
	free(conf_path);
	free(listen);
	free(server);
	free(parent);
	free(cn);
	return rc;
}

const struct eccfg_cmd eccfg_cmd_init = {
	.name = "init",
	.summary = "create a manager: repository, cluster CA, certificate, "
	    "accounts, ecconfigd.conf",
	.usage = "--data-dir DIR [--hostname NAME] [--san NAME]... "
	    "[--subcluster NAME] [--node NAME]... [--cluster-name NAME] "
	    "[--listen ADDR:PORT] [--admin-password-file F] "
	    "[--service-password-file F] [--store file|postgresql "
	    "--db-conninfo C] | --join --db-conninfo C --ca-cert F --ca-key F "
	    "--data-dir DIR [--hostname NAME]",
	.opts = init_opts,
	.json_ok = 0,
	.run = init_run,
};
