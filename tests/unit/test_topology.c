/*
 * test_topology.c - unit tests of lib/topology.c: parsing
 * global/cluster.conf with its membership rules and file:line errors,
 * formatting round trips, lookups and the repository layout check.
 */
#include "config.h"

#include "helpers.h"

#include "error.h"
#include "topology.h"
#include "util.h"

static struct ecc_topology *
parse_ok(const char *text)
{
	struct ecc_topology *t = NULL;

	assert_int_equal(ecc_topology_parse(&t, text, strlen(text),
	    "cluster.conf"), 0);
	assert_non_null(t);
	return t;
}

static void
expect_error(const char *text, const char *message)
{
	struct ecc_topology *t = (struct ecc_topology *)1;

	assert_int_equal(ecc_topology_parse(&t, text, strlen(text),
	    "cluster.conf"), ECC_EINVALID);
	assert_null(t);
	assert_string_equal(ecc_error_last(), message);
}

static const char example[] =
    "# the cluster\n"
    "cluster_name = example\n"
    "[subcluster default]\n"
    "managers = mgr1.example.com\n"
    "nodes = mta1.example.com mta2.example.com\n"
    "\n"
    "[subcluster east]\n"
    "nodes = mta3, mta4,mta5\n"
    "nodes = mta6\n"
    "managers = mgr2\n";

static void
test_topology__parse(void **state)
{
	struct ecc_topology *t;
	const struct ecc_subcluster *sc;

	(void)state;
	t = parse_ok(example);
	assert_string_equal(t->cluster_name, "example");
	assert_int_equal(t->nsubclusters, 2);
	sc = &t->subclusters[0];
	assert_string_equal(sc->name, "default");
	assert_int_equal(sc->nmanagers, 1);
	assert_string_equal(sc->managers[0], "mgr1.example.com");
	assert_int_equal(sc->nnodes, 2);
	assert_string_equal(sc->nodes[0], "mta1.example.com");
	assert_string_equal(sc->nodes[1], "mta2.example.com");
	sc = &t->subclusters[1];
	assert_string_equal(sc->name, "east");
	assert_int_equal(sc->nnodes, 4);
	assert_string_equal(sc->nodes[0], "mta3");
	assert_string_equal(sc->nodes[2], "mta5");
	assert_string_equal(sc->nodes[3], "mta6");
	assert_int_equal(sc->nmanagers, 1);
	assert_string_equal(sc->managers[0], "mgr2");
	ecc_topology_free(t);
	ecc_topology_free(NULL);

	/* an empty file is an empty topology */
	t = parse_ok("");
	assert_null(t->cluster_name);
	assert_int_equal(t->nsubclusters, 0);
	ecc_topology_free(t);
	/* an empty subcluster and empty lists */
	t = parse_ok("[subcluster lonely]\nnodes =\nmanagers = \" \"\n");
	assert_int_equal(t->nsubclusters, 1);
	assert_int_equal(t->subclusters[0].nnodes, 0);
	assert_int_equal(t->subclusters[0].nmanagers, 0);
	ecc_topology_free(t);
}

static void
test_topology__same_subcluster_twice(void **state)
{
	struct ecc_topology *t;
	const struct ecc_subcluster *sc;

	(void)state;
	/* repeats count once; a manager listed as a node is a manager */
	t = parse_ok("[subcluster default]\n"
	    "nodes = mta1 mgr1 mta1 mta2\n"
	    "managers = mgr1 mgr1\n"
	    "nodes = mgr1\n");
	sc = &t->subclusters[0];
	assert_int_equal(sc->nnodes, 2);
	assert_string_equal(sc->nodes[0], "mta1");
	assert_string_equal(sc->nodes[1], "mta2");
	assert_int_equal(sc->nmanagers, 1);
	assert_string_equal(sc->managers[0], "mgr1");
	ecc_topology_free(t);
}

static void
test_topology__errors(void **state)
{
	(void)state;
	expect_error("[subcluster default]\nnodes = mta1\n"
	    "[subcluster east]\nnodes = mta2 mta1\n",
	    "cluster.conf:4: node mta1 is in subclusters default and east");
	expect_error("[subcluster default]\nmanagers = mgr1\n"
	    "[subcluster east]\nmanagers = mgr1\n",
	    "cluster.conf:4: manager mgr1 is in subclusters default and east");
	expect_error("[subcluster default]\nmanagers = mgr1\n"
	    "[subcluster east]\nnodes = mgr1\n",
	    "cluster.conf:4: node mgr1 is in subclusters default and east");
	expect_error("[subcluster East]\n",
	    "cluster.conf:1: subcluster name 'East' must be lower case");
	expect_error("\n[subcluster east coast]\n",
	    "cluster.conf:2: subcluster name 'east coast' must be one word");
	expect_error("[subcluster global]\n", "cluster.conf:1: 'global' is "
	    "reserved and cannot name a subcluster");
	/* "all" is the whole-repository view */
	expect_error("[subcluster default]\nnodes = mta1\n\n[subcluster all]\n"
	    "nodes = mta2\n", "cluster.conf:4: 'all' is reserved and cannot "
	    "name a subcluster");
	expect_error("[subcluster 9east]\n", "cluster.conf:1: invalid "
	    "subcluster name '9east' (a lower-case letter, then up to 62 of "
	    "a-z, 0-9, '_', '-')");
	expect_error("[subcluster default]\n[subcluster east]\n"
	    "[subcluster default]\n", "cluster.conf:3: duplicate subcluster "
	    "default (first on line 1)");
	expect_error("[cluster]\n", "cluster.conf:1: unknown section "
	    "[cluster]; expected [subcluster NAME]");
	expect_error("[subcluster]\n", "cluster.conf:1: unknown section "
	    "[subcluster]; expected [subcluster NAME]");
	expect_error("[subclusters x]\n", "cluster.conf:1: unknown section "
	    "[subclusters x]; expected [subcluster NAME]");
	expect_error("[subcluster default]\nnodes = MTA1\n", "cluster.conf:2: "
	    "invalid node name 'MTA1' in subcluster default (a lower-case host "
	    "name, not 'global' or 'default')");
	expect_error("[subcluster default]\nnodes = default\n",
	    "cluster.conf:2: invalid node name 'default' in subcluster "
	    "default (a lower-case host name, not 'global' or 'default')");
	expect_error("[subcluster default]\nmanagers = mgr..x\n",
	    "cluster.conf:2: invalid manager name 'mgr..x' in subcluster "
	    "default (a lower-case host name, not 'global' or 'default')");
	expect_error("[subcluster default]\nnodes = \"a;b\"\n",
	    "cluster.conf:2: invalid node name 'a;b' in subcluster default "
	    "(a lower-case host name, not 'global' or 'default')");
	expect_error("hosts = a\n", "cluster.conf:1: unknown key 'hosts'");
	expect_error("[subcluster default]\nhost = a\n",
	    "cluster.conf:2: unknown key 'host' in [subcluster default]");
	expect_error("[subcluster default]\ncluster_name = x\n",
	    "cluster.conf:2: unknown key 'cluster_name' in "
	    "[subcluster default]");
	expect_error("nodes = mta1\n", "cluster.conf:1: key 'nodes' must be "
	    "inside a [subcluster NAME] section");
	expect_error("cluster_name = a\ncluster_name = b\n", "cluster.conf:2: "
	    "cluster_name is set twice (first on line 1)");
	expect_error("cluster_name = \"my cluster\"\n", "cluster.conf:1: "
	    "invalid cluster_name 'my cluster' (1..63 letters, digits, '.', "
	    "'_', '-')");
	expect_error("cluster_name =\n", "cluster.conf:1: invalid "
	    "cluster_name '' (1..63 letters, digits, '.', '_', '-')");
	/* syntax errors come from the shared tokenizer */
	expect_error("[subcluster default\n",
	    "cluster.conf:1: missing ']' in section header");
}

static void
test_topology__default_filename(void **state)
{
	struct ecc_topology *t = NULL;

	(void)state;
	assert_int_equal(ecc_topology_parse(&t, "x = 1", 5, NULL),
	    ECC_EINVALID);
	assert_string_equal(ecc_error_last(),
	    "global/cluster.conf:1: unknown key 'x'");
}

static void
test_topology__lookup(void **state)
{
	struct ecc_topology *t;
	const struct ecc_subcluster *sc;

	(void)state;
	t = parse_ok(example);
	sc = ecc_topology_subcluster(t, "east");
	assert_non_null(sc);
	assert_string_equal(sc->name, "east");
	assert_null(ecc_topology_subcluster(t, "west"));
	assert_null(ecc_topology_subcluster(t, NULL));
	assert_ptr_equal(ecc_topology_node_subcluster(t, "mta4"), sc);
	assert_ptr_equal(ecc_topology_node_subcluster(t, "mgr2"), sc);
	assert_ptr_equal(ecc_topology_node_subcluster(t, "mgr1.example.com"),
	    ecc_topology_subcluster(t, "default"));
	assert_null(ecc_topology_node_subcluster(t, "mta9"));
	assert_true(ecc_subcluster_has_member(sc, "mta6"));
	assert_true(ecc_subcluster_has_member(sc, "mgr2"));
	assert_false(ecc_subcluster_has_member(sc, "mta1.example.com"));
	assert_false(ecc_subcluster_has_member(NULL, "mta6"));
	ecc_topology_free(t);
}

static void
test_topology__add_subcluster(void **state)
{
	struct ecc_topology *t;
	char *text;

	(void)state;
	t = parse_ok(example);
	assert_int_equal(ecc_topology_add_subcluster(t, "west"), 0);
	assert_int_equal(t->nsubclusters, 3);
	assert_non_null(ecc_topology_subcluster(t, "west"));
	assert_int_equal(ecc_topology_add_subcluster(t, "east"), ECC_EEXISTS);
	assert_string_equal(ecc_error_last(), "subcluster east already exists");
	assert_int_equal(ecc_topology_add_subcluster(t, "West"), ECC_EINVALID);
	assert_string_equal(ecc_error_last(), "invalid subcluster name 'West': "
	    "lower case, one word ([a-z][a-z0-9_-]*, at most 63 bytes), not "
	    "'global' or 'all'");
	assert_int_equal(ecc_topology_add_subcluster(t, "global"),
	    ECC_EINVALID);
	assert_int_equal(ecc_topology_add_subcluster(t, "all"), ECC_EINVALID);
	assert_string_equal(ecc_error_last(), "'all' is reserved and cannot "
	    "name a subcluster");
	text = ecc_topology_format(t);
	assert_non_null(strstr(text, "\n\n[subcluster west]\n"));
	free(text);
	ecc_topology_free(t);

	/* on a hand-made topology too */
	t = ecc_calloc(1, sizeof(*t));
	assert_int_equal(ecc_topology_add_subcluster(t, "default"), 0);
	text = ecc_topology_format(t);
	assert_string_equal(text, "[subcluster default]\n");
	free(text);
	ecc_topology_free(t);
}

static void
test_topology__format(void **state)
{
	struct ecc_topology *t, *u;
	char *text, *again;

	(void)state;
	t = parse_ok(example);
	text = ecc_topology_format(t);
	assert_string_equal(text,
	    "cluster_name = example\n"
	    "\n"
	    "[subcluster default]\n"
	    "managers = mgr1.example.com\n"
	    "nodes = mta1.example.com mta2.example.com\n"
	    "\n"
	    "[subcluster east]\n"
	    "managers = mgr2\n"
	    "nodes = mta3 mta4 mta5 mta6\n");
	u = parse_ok(text);
	again = ecc_topology_format(u);
	assert_string_equal(again, text);
	free(again);
	free(text);
	ecc_topology_free(u);
	ecc_topology_free(t);

	text = ecc_topology_format(NULL);
	assert_string_equal(text, "");
	free(text);
}

static void
test_topology__format_long_lists(void **state)
{
	struct ecc_topology *t, *u;
	char *in = NULL, *text, *again, *name, *line, *nl;
	size_t i, len = 0;

	(void)state;
	/* 400 names of ~60 bytes would overflow one 4096-byte line */
	in = ecc_strdup("[subcluster big]\n");
	len = strlen(in);
	for (i = 0; i < 400; i++) {
		name = ecc_printf("nodes = mta%03zu.a-rather-long-domain-name."
		    "example.com\n", i);
		in = ecc_realloc(in, len + strlen(name) + 1);
		strcpy(in + len, name);
		len += strlen(name);
		free(name);
	}
	t = parse_ok(in);
	assert_int_equal(t->subclusters[0].nnodes, 400);
	text = ecc_topology_format(t);
	for (line = text; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		assert_true(nl - line <= 76);
	}
	u = parse_ok(text);
	assert_int_equal(u->subclusters[0].nnodes, 400);
	for (i = 0; i < 400; i++)
		assert_string_equal(u->subclusters[0].nodes[i],
		    t->subclusters[0].nodes[i]);
	again = ecc_topology_format(u);
	assert_string_equal(again, text);
	free(again);
	free(text);
	free(in);
	ecc_topology_free(u);
	ecc_topology_free(t);
}

static void
expect_path(const struct ecc_topology *t, const char *path,
    const char *message)
{
	if (!message) {
		assert_int_equal(ecc_topology_check_path(t, path), 0);
		return;
	}
	assert_int_equal(ecc_topology_check_path(t, path), ECC_EREJECTED);
	assert_string_equal(ecc_error_last(), message);
}

static void
test_topology__check_path(void **state)
{
	struct ecc_topology *t;

	(void)state;
	t = parse_ok(example);
	expect_path(t, "global/cluster.conf", NULL);
	expect_path(t, "global/a/b.conf", NULL);
	expect_path(t, "default/default/ecelerity.conf", NULL);
	expect_path(t, "default/mta1.example.com/x.conf", NULL);
	expect_path(t, "default/mgr1.example.com/x/y.conf", NULL);
	expect_path(t, "east/mta6/x.conf", NULL);
	expect_path(t, "east/mgr2/x.conf", NULL);
	expect_path(t, "README",
	    "'README': files live under global/ or SUBCLUSTER/");
	expect_path(t, "global",
	    "'global': files live under global/ or SUBCLUSTER/");
	expect_path(t, "", "'': files live under global/ or SUBCLUSTER/");
	expect_path(t, "west/default/x.conf", "'west/default/x.conf': west is "
	    "not a subcluster of the topology (global/cluster.conf)");
	expect_path(t, "default/x.conf", "'default/x.conf': files of "
	    "subcluster default live in default/default/ or default/NODE/");
	expect_path(t, "east/mta6", "'east/mta6': files of subcluster east "
	    "live in east/default/ or east/NODE/");
	expect_path(t, "east/mta1.example.com/x.conf",
	    "'east/mta1.example.com/x.conf': mta1.example.com is not a node "
	    "or manager of subcluster east");
	expect_path(t, "east/global/x", "'east/global/x': global is not a node "
	    "or manager of subcluster east");
	ecc_topology_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topology__parse),
		cmocka_unit_test(test_topology__same_subcluster_twice),
		cmocka_unit_test(test_topology__errors),
		cmocka_unit_test(test_topology__default_filename),
		cmocka_unit_test(test_topology__lookup),
		cmocka_unit_test(test_topology__add_subcluster),
		cmocka_unit_test(test_topology__format),
		cmocka_unit_test(test_topology__format_long_lists),
		cmocka_unit_test(test_topology__check_path),
	};

	return cmocka_run_group_tests_name("topology", tests, NULL, NULL);
}
