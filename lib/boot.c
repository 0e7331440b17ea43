/*
 * boot.c - cluster.boot: the option table of a node, the repo list
 * parser, the checks that span options and the commented file `eccfg
 * bootstrap` writes (see boot.h).
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "conf.h"
#include "error.h"
#include "path.h"
#include "util.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define BOOT_DEFAULT_PORT 2027
#define BOOT_MAX_BYTES (1024 * 1024)

static const char *const autoupdate_choices[] = { "true", "ifunchanged",
	"false", NULL };

#define OPT(n, t, d, lo, hi, ch, doc) \
	{ #n, t, offsetof(struct ecc_boot, n), d, lo, hi, ch, 0, doc, NULL }

const struct ecc_option ecc_boot_options[] = {
	OPT(cluster_name, ECC_OPT_STRING, "", 0, 0, NULL,
	    "Subcluster this node belongs to (its view)."),
	OPT(node_name, ECC_OPT_STRING, "", 0, 0, NULL,
	    "This node's name, as listed in the topology."),
	OPT(repo, ECC_OPT_STRING, "", 0, 0, NULL,
	    "Managers to pull from: host[:port][,host[:port]...] "
	    "(default port 2027)."),
	OPT(autoupdate, ECC_OPT_ENUM, "true", 0, 0, autoupdate_choices,
	    "Apply new revisions: true, ifunchanged (only without local "
	    "edits) or false (only report)."),
	OPT(reload_config_on_update, ECC_OPT_BOOL, "true", 0, 0, NULL,
	    "Run reload_command after switching to a new revision."),
	OPT(conf_dir, ECC_OPT_STRING, SYSCONFDIR "/ecconfig/conf", 0, 0,
	    NULL, "The configuration directory (a symlink to the applied "
	    "snapshot)."),
	OPT(state_dir, ECC_OPT_STRING, LOCALSTATEDIR "/lib/eccfg", 0, 0,
	    NULL, "Directory holding snapshots, the node key and state."),
	OPT(check_command, ECC_OPT_STRING, "", 0, 0, NULL,
	    "Command run on a new tree before the switch; a non-zero exit "
	    "keeps the old tree."),
	OPT(reload_command, ECC_OPT_STRING, "", 0, 0, NULL,
	    "Command run after the switch; a non-zero exit switches back."),
	OPT(keep_snapshots, ECC_OPT_INT, "5", 1, 100, NULL,
	    "Applied trees kept on disk for local rollback (1..100)."),
	OPT(ca_file, ECC_OPT_STRING, "", 0, 0, NULL,
	    "Cluster CA certificate (PEM); empty means STATE_DIR/ca.pem."),
	OPT(cert_file, ECC_OPT_STRING, "", 0, 0, NULL,
	    "Node certificate (PEM); empty means STATE_DIR/node.pem."),
	OPT(key_file, ECC_OPT_STRING, "", 0, 0, NULL,
	    "Node private key (PEM); empty means STATE_DIR/node.key."),
	{ NULL, 0, 0, NULL, 0, 0, NULL, 0, NULL, NULL },
};

#undef OPT

void
ecc_boot_repos_free(struct ecc_boot_repo *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i].host);
	free(v);
}

/* A host name or IPv4 address: [A-Za-z0-9.-], 1..253 bytes. */
static int
boot_host_is_valid(const char *h, size_t len)
{
	if (len == 0 || len > 253 || h[0] == '-' || h[0] == '.')
		return 0;
	return strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-") >= len;
}

/* One "host[:port]" entry of `len` bytes at `s`. */
static int
boot_parse_repo(struct ecc_boot_repo *r, const char *s, size_t len)
{
	char *entry = ecc_strndup(s, len), *host, *port = NULL, *end;
	int64_t p = BOOT_DEFAULT_PORT;
	int error = ECC_EINVALID;

	host = entry;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end || end == host + 1 ||
		    strspn(host + 1, "0123456789abcdefABCDEF:.") !=
		    (size_t)(end - host - 1))
			goto bad;
		*end = '\0';
		host++;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			goto bad;
	} else {
		if ((end = strchr(host, ':'))) {
			*end = '\0';
			port = end + 1;
		}
		if (!boot_host_is_valid(host, strlen(host)))
			goto bad;
	}
	if (port && (port[0] == '\0' || strlen(port) > 5 ||
	    strspn(port, "0123456789") != strlen(port) ||
	    ecc_parse_int64(&p, port, 1, 65535) < 0))
		goto bad;
	r->host = ecc_strdup(host);
	r->port = (int)p;
	error = 0;
	goto out;
bad:
	error = ecc_error_set(ECC_EINVALID, "repo: '%.*s' is not "
	    "host[:port] with a port in 1..65535", (int)len, s);
out:
	free(entry);
	return error;
}

int
ecc_boot_parse_repos(struct ecc_boot_repo **out, size_t *nout,
    const char *list)
{
	struct ecc_boot_repo *v = NULL;
	size_t n = 0, len;
	const char *p = list, *comma;
	int error = ECC_EINVALID;

	*out = NULL;
	*nout = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0) {
			error = ecc_error_set(ECC_EINVALID, "repo: empty entry "
			    "in '%.200s' (expected host[:port][,host[:port]"
			    "...])", list);
			goto out;
		}
		if (n == ECC_BOOT_MAX_REPOS) {
			error = ecc_error_set(ECC_ETOOBIG, "repo: more than %d "
			    "managers", ECC_BOOT_MAX_REPOS);
			goto out;
		}
		v = ecc_grow(v, n, sizeof(*v));
		if ((error = boot_parse_repo(&v[n], p, len)) < 0)
			goto out;
		n++;
		if (!comma)
			break;
		p = comma + 1;
	}
	*out = v;
	*nout = n;
	v = NULL;
	n = 0;
	error = 0;
out:
	ecc_boot_repos_free(v, n);
	return error;
}

static int
boot_finish(struct ecc_boot *cfg, const char *origin)
{
	char *msg;
	int error;

	if (!ecc_name_is_subcluster(cfg->cluster_name))
		return ecc_error_set(ECC_EINVALID, "%s: cluster_name = '%s' is "
		    "not a subcluster name", origin, cfg->cluster_name);
	if (!ecc_name_is_node(cfg->node_name))
		return ecc_error_set(ECC_EINVALID, "%s: node_name = '%s' is "
		    "not a node name", origin, cfg->node_name);
	if ((error = ecc_boot_parse_repos(&cfg->repos, &cfg->nrepos,
	    cfg->repo)) < 0) {
		msg = ecc_strdup(ecc_error_last());
		ecc_error_set(error, "%s: %s", origin, msg);
		free(msg);
		return error;
	}
	if (!cfg->conf_dir[0] || !cfg->state_dir[0])
		return ecc_error_set(ECC_EINVALID, "%s: conf_dir and state_dir "
		    "must not be empty", origin);
	ecc_conf_derive_path(&cfg->ca_file, cfg->state_dir, "ca.pem");
	ecc_conf_derive_path(&cfg->cert_file, cfg->state_dir, "node.pem");
	ecc_conf_derive_path(&cfg->key_file, cfg->state_dir, "node.key");
	return 0;
}

int
ecc_boot_parse(struct ecc_boot *cfg, const char *buf, size_t len,
    const char *filename)
{
	int error;

	memset(cfg, 0, sizeof(*cfg));
	if ((error = ecc_options_defaults(cfg, ecc_boot_options)) < 0 ||
	    (error = ecc_options_parse(cfg, ecc_boot_options, buf, len,
	    filename)) < 0)
		return error;
	return boot_finish(cfg, filename);
}

int
ecc_boot_load(struct ecc_boot *cfg, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int error;

	memset(cfg, 0, sizeof(*cfg));
	if ((error = ecc_file_read(&buf, &len, path, BOOT_MAX_BYTES)) < 0)
		return error;
	error = ecc_boot_parse(cfg, buf, len, path);
	free(buf);
	return error;
}

void
ecc_boot_free(struct ecc_boot *cfg)
{
	if (!cfg)
		return;
	ecc_options_free(cfg, ecc_boot_options);
	ecc_boot_repos_free(cfg->repos, cfg->nrepos);
	memset(cfg, 0, sizeof(*cfg));
}

char *
ecc_boot_render(const struct ecc_boot *cfg)
{
	const struct ecc_option *opt;
	char *buf = NULL, *v, *line;
	size_t len = 0;

	ecc_str_append(&buf, &len,
	    "# cluster.boot - how this node finds its managers and applies "
	    "its configuration.\n"
	    "# Written by `eccfg bootstrap`; one \"key = value\" per line, "
	    "'#' starts a comment.\n");
	for (opt = ecc_boot_options; opt->name; opt++) {
		v = ecc_option_format(cfg, opt);
		line = ecc_printf("\n# %s\n%s = %s\n", opt->doc, opt->name, v);
		ecc_str_append(&buf, &len, line);
		free(line);
		free(v);
	}
	return buf;
}
