/*
 * topology.c - the cluster topology file global/cluster.conf: parsing on
 * top of ecc_conf_parse with the membership rules, formatting back to the
 * same text, and the repository layout check (see topology.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf.h"
#include "error.h"
#include "path.h"
#include "topology.h"
#include "util.h"

#define CLUSTER_NAME_MAX 63
/* Formatted list lines are wrapped before this width (the file format
 * bounds lines at 4096 bytes, so long lists must be split anyway). */
#define FORMAT_WIDTH 76

struct topo_ctx {
	struct ecc_topology *t;
	json_t *members;         /* name -> subcluster index * 2 + is_manager */
	json_t *sc_lines;        /* subcluster name -> line of its header */
	size_t cur;              /* index of the open subcluster + 1; 0: none */
	int cluster_name_line;
};

static void
subcluster_clear(struct ecc_subcluster *sc)
{
	size_t i;

	free(sc->name);
	for (i = 0; i < sc->nnodes; i++)
		free(sc->nodes[i]);
	free(sc->nodes);
	for (i = 0; i < sc->nmanagers; i++)
		free(sc->managers[i]);
	free(sc->managers);
}

void
ecc_topology_free(struct ecc_topology *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nsubclusters; i++)
		subcluster_clear(&t->subclusters[i]);
	free(t->subclusters);
	free(t->cluster_name);
	free(t);
}

/* Append a new empty subcluster (name not checked) and return it. */
static struct ecc_subcluster *
topology_append(struct ecc_topology *t, const char *name)
{
	struct ecc_subcluster *sc;

	t->subclusters = ecc_realloc(t->subclusters,
	    (t->nsubclusters + 1) * sizeof(*t->subclusters));
	sc = &t->subclusters[t->nsubclusters++];
	memset(sc, 0, sizeof(*sc));
	sc->name = ecc_strdup(name);
	return sc;
}

static void
names_append(char ***names, size_t *n, const char *name)
{
	*names = ecc_realloc(*names, (*n + 1) * sizeof(**names));
	(*names)[(*n)++] = ecc_strdup(name);
}

static int
cluster_name_is_valid(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= CLUSTER_NAME_MAX &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == n;
}

static int
topo_on_section(const char *section, int line, void *payload)
{
	struct topo_ctx *ctx = payload;
	const char *p = section, *name, *end;
	char q[ECC_QUOTE_BUF], *sname = NULL;
	json_t *seen;
	int error = -1;

	if (strncmp(p, "subcluster", 10) != 0 ||
	    (p[10] != ' ' && p[10] != '\t')) {
		ecc_quote(q, section, strlen(section));
		error = ecc_error_set(ECC_EINVALID, "unknown section [%s]; "
		    "expected [subcluster NAME]", q);
		goto out;
	}
	for (name = p + 10; *name == ' ' || *name == '\t'; name++)
		;
	end = name + strlen(name);
	ecc_quote(q, name, strlen(name));
	if (strpbrk(name, " \t")) {
		error = ecc_error_set(ECC_EINVALID, "subcluster name '%s' must "
		    "be one word", q);
		goto out;
	}
	sname = ecc_strndup(name, (size_t)(end - name));
	if (!ecc_name_is_subcluster(sname)) {
		if (ecc_name_is_reserved(sname))
			error = ecc_error_set(ECC_EINVALID, "'%s' is reserved "
			    "and cannot name a subcluster", sname);
		else if (strpbrk(sname, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
			error = ecc_error_set(ECC_EINVALID, "subcluster name "
			    "'%s' must be lower case", q);
		else
			error = ecc_error_set(ECC_EINVALID, "invalid subcluster "
			    "name '%s' (a lower-case letter, then up to 62 "
			    "of a-z, 0-9, '_', '-')", q);
		goto out;
	}
	if ((seen = json_object_get(ctx->sc_lines, sname))) {
		error = ecc_error_set(ECC_EINVALID, "duplicate subcluster %s "
		    "(first on line %d)", sname, (int)json_integer_value(seen));
		goto out;
	}
	json_object_set_new(ctx->sc_lines, sname, json_integer(line));
	topology_append(ctx->t, sname);
	ctx->cur = ctx->t->nsubclusters;
	error = 0;
out:
	free(sname);
	return error;
}

/* Add one node (is_manager 0) or manager to the open subcluster. */
static int
topo_add_member(struct topo_ctx *ctx, const char *name, int is_manager)
{
	size_t idx = ctx->cur - 1;
	struct ecc_subcluster *sc = &ctx->t->subclusters[idx];
	const char *role = is_manager ? "manager" : "node";
	char q[ECC_QUOTE_BUF];
	json_int_t prev;
	json_t *seen;

	if (!ecc_name_is_node(name)) {
		ecc_quote(q, name, strlen(name));
		return ecc_error_set(ECC_EINVALID, "invalid %s name '%s' in "
		    "subcluster %s (a lower-case host name, not 'global' or "
		    "'default')", role, q, sc->name);
	}
	if ((seen = json_object_get(ctx->members, name))) {
		prev = json_integer_value(seen);
		if ((size_t)(prev / 2) != idx)
			return ecc_error_set(ECC_EINVALID, "%s %s is in "
			    "subclusters %s and %s", role, name,
			    ctx->t->subclusters[prev / 2].name, sc->name);
		/* listed again in the same subcluster: a manager listed
		 * among the nodes too stays a manager only (the nodes are
		 * filtered once the whole file is read) */
		if (!is_manager || prev % 2 == 1)
			return 0;
	}
	json_object_set_new(ctx->members, name,
	    json_integer((json_int_t)idx * 2 + is_manager));
	if (is_manager)
		names_append(&sc->managers, &sc->nmanagers, name);
	else
		names_append(&sc->nodes, &sc->nnodes, name);
	return 0;
}

static int
topo_on_value(const char *section, const char *key, const char *value,
    int line, void *payload)
{
	struct topo_ctx *ctx = payload;
	char q[ECC_QUOTE_BUF], *list = NULL, *save = NULL, *name;
	int is_manager, error = -1;

	(void)section;
	if (strcmp(key, "cluster_name") == 0 && ctx->cur == 0) {
		if (ctx->cluster_name_line) {
			error = ecc_error_set(ECC_EINVALID, "cluster_name is set "
			    "twice (first on line %d)", ctx->cluster_name_line);
			goto out;
		}
		if (!cluster_name_is_valid(value)) {
			ecc_quote(q, value, strlen(value));
			error = ecc_error_set(ECC_EINVALID, "invalid "
			    "cluster_name '%s' (1..%d letters, digits, '.', "
			    "'_', '-')", q, CLUSTER_NAME_MAX);
			goto out;
		}
		ctx->t->cluster_name = ecc_strdup(value);
		ctx->cluster_name_line = line;
		error = 0;
		goto out;
	}
	is_manager = strcmp(key, "managers") == 0;
	if (!is_manager && strcmp(key, "nodes") != 0) {
		ecc_quote(q, key, strlen(key));
		if (ctx->cur == 0)
			error = ecc_error_set(ECC_EINVALID, "unknown key '%s'", q);
		else
			error = ecc_error_set(ECC_EINVALID, "unknown key '%s' in "
			    "[subcluster %s]", q,
			    ctx->t->subclusters[ctx->cur - 1].name);
		goto out;
	}
	if (ctx->cur == 0) {
		error = ecc_error_set(ECC_EINVALID, "key '%s' must be inside a "
		    "[subcluster NAME] section", key);
		goto out;
	}
	list = ecc_strdup(value);
	for (name = strtok_r(list, " \t,", &save); name;
	    name = strtok_r(NULL, " \t,", &save)) {
		if ((error = topo_add_member(ctx, name, is_manager)) < 0)
			goto out;
	}
	error = 0;
out:
	free(list);
	return error;
}

/* Drop from each subcluster's nodes the names that are its managers. */
static void
topo_filter_nodes(struct topo_ctx *ctx)
{
	struct ecc_subcluster *sc;
	size_t i, j, k;
	json_int_t v;

	for (i = 0; i < ctx->t->nsubclusters; i++) {
		sc = &ctx->t->subclusters[i];
		for (j = k = 0; j < sc->nnodes; j++) {
			v = json_integer_value(json_object_get(ctx->members,
			    sc->nodes[j]));
			if (v % 2 == 1)
				free(sc->nodes[j]);
			else
				sc->nodes[k++] = sc->nodes[j];
		}
		sc->nnodes = k;
	}
}

int
ecc_topology_parse(struct ecc_topology **out, const char *buf, size_t len,
    const char *filename)
{
	struct topo_ctx ctx;
	int error = -1;

	*out = NULL;
	memset(&ctx, 0, sizeof(ctx));
	ctx.t = ecc_calloc(1, sizeof(*ctx.t));
	ctx.members = json_object();
	ctx.sc_lines = json_object();
	if (!ctx.members || !ctx.sc_lines) {
		error = ecc_error_set(ECC_ENOMEM, "out of memory");
		goto out;
	}
	if ((error = ecc_conf_parse(buf, len, filename ? filename :
	    ECC_TOPOLOGY_PATH, topo_on_section, topo_on_value, &ctx)) < 0)
		goto out;
	topo_filter_nodes(&ctx);
	*out = ctx.t;
	ctx.t = NULL;
	error = 0;
out:
	json_decref(ctx.members);
	json_decref(ctx.sc_lines);
	ecc_topology_free(ctx.t);
	return error;
}

const struct ecc_subcluster *
ecc_topology_subcluster(const struct ecc_topology *t, const char *name)
{
	size_t i;

	if (!t || !name)
		return NULL;
	for (i = 0; i < t->nsubclusters; i++)
		if (strcmp(t->subclusters[i].name, name) == 0)
			return &t->subclusters[i];
	return NULL;
}

int
ecc_subcluster_has_member(const struct ecc_subcluster *sc, const char *name)
{
	size_t i;

	if (!sc || !name)
		return 0;
	for (i = 0; i < sc->nnodes; i++)
		if (strcmp(sc->nodes[i], name) == 0)
			return 1;
	for (i = 0; i < sc->nmanagers; i++)
		if (strcmp(sc->managers[i], name) == 0)
			return 1;
	return 0;
}

const struct ecc_subcluster *
ecc_topology_node_subcluster(const struct ecc_topology *t, const char *node)
{
	size_t i;

	if (!t)
		return NULL;
	for (i = 0; i < t->nsubclusters; i++)
		if (ecc_subcluster_has_member(&t->subclusters[i], node))
			return &t->subclusters[i];
	return NULL;
}

int
ecc_topology_add_subcluster(struct ecc_topology *t, const char *name)
{
	char q[ECC_QUOTE_BUF];

	if (ecc_name_is_reserved(name))
		return ecc_error_set(ECC_EINVALID, "'%s' is reserved and cannot "
		    "name a subcluster", name);
	if (!ecc_name_is_subcluster(name)) {
		ecc_quote(q, name ? name : "", name ? strlen(name) : 0);
		return ecc_error_set(ECC_EINVALID, "invalid subcluster name "
		    "'%s': lower case, one word ([a-z][a-z0-9_-]*, at most 63 "
		    "bytes), not 'global' or 'all'", q);
	}
	if (ecc_topology_subcluster(t, name))
		return ecc_error_set(ECC_EEXISTS, "subcluster %s already exists",
		    name);
	topology_append(t, name);
	return 0;
}

/* Append "key = a b c" lines to buf, wrapped before FORMAT_WIDTH. */
static void
format_list(char **buf, size_t *len, const char *key, char *const *names,
    size_t n)
{
	size_t i, linelen = 0;
	char *piece;

	for (i = 0; i < n; i++) {
		if (linelen > 0 && linelen + 1 + strlen(names[i]) > FORMAT_WIDTH) {
			ecc_str_append(buf, len, "\n");
			linelen = 0;
		}
		if (linelen == 0)
			piece = ecc_printf("%s = %s", key, names[i]);
		else
			piece = ecc_printf(" %s", names[i]);
		linelen += strlen(piece);
		ecc_str_append(buf, len, piece);
		free(piece);
	}
	if (linelen > 0)
		ecc_str_append(buf, len, "\n");
}

char *
ecc_topology_format(const struct ecc_topology *t)
{
	const struct ecc_subcluster *sc;
	char *buf = ecc_strdup(""), *line;
	size_t len = 0, i;

	if (!t)
		return buf;
	if (t->cluster_name) {
		line = ecc_printf("cluster_name = %s\n", t->cluster_name);
		ecc_str_append(&buf, &len, line);
		free(line);
	}
	for (i = 0; i < t->nsubclusters; i++) {
		sc = &t->subclusters[i];
		line = ecc_printf("%s[subcluster %s]\n", len > 0 ? "\n" : "",
		    sc->name);
		ecc_str_append(&buf, &len, line);
		free(line);
		format_list(&buf, &len, "managers", sc->managers, sc->nmanagers);
		format_list(&buf, &len, "nodes", sc->nodes, sc->nnodes);
	}
	return buf;
}

int
ecc_topology_check_path(const struct ecc_topology *t, const char *path)
{
	const struct ecc_subcluster *sc;
	const char *first_end, *second, *second_end;
	char q[ECC_QUOTE_BUF], qc[ECC_QUOTE_BUF], *first = NULL, *node = NULL;
	int error = -1;

	if (!path)
		path = "";
	ecc_quote(q, path, strlen(path));
	first_end = strchr(path, '/');
	if (!first_end || first_end == path || first_end[1] == '\0') {
		error = ecc_error_set(ECC_EREJECTED, "'%s': files live under "
		    "global/ or SUBCLUSTER/", q);
		goto out;
	}
	first = ecc_strndup(path, (size_t)(first_end - path));
	if (strcmp(first, "global") == 0) {
		error = 0;
		goto out;
	}
	if (!(sc = ecc_topology_subcluster(t, first))) {
		ecc_quote(qc, first, strlen(first));
		error = ecc_error_set(ECC_EREJECTED, "'%s': %s is not a "
		    "subcluster of the topology (%s)", q, qc, ECC_TOPOLOGY_PATH);
		goto out;
	}
	second = first_end + 1;
	second_end = strchr(second, '/');
	if (!second_end || second_end == second || second_end[1] == '\0') {
		error = ecc_error_set(ECC_EREJECTED, "'%s': files of subcluster "
		    "%s live in %s/default/ or %s/NODE/", q, sc->name, sc->name,
		    sc->name);
		goto out;
	}
	node = ecc_strndup(second, (size_t)(second_end - second));
	if (strcmp(node, "default") != 0 && !ecc_subcluster_has_member(sc,
	    node)) {
		ecc_quote(qc, node, strlen(node));
		error = ecc_error_set(ECC_EREJECTED, "'%s': %s is not a node "
		    "or manager of subcluster %s", q, qc, sc->name);
		goto out;
	}
	error = 0;
out:
	free(first);
	free(node);
	return error;
}
