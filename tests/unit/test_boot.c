/*
 * test_boot.c - unit tests of lib/boot.c: cluster.boot's keys, defaults,
 * the repo list, derived file names, errors and the rendered file.
 */
#include "config.h"

#include "helpers.h"

#include <unistd.h>

#include "boot.h"
#include "error.h"
#include "util.h"

#define MINIMAL "cluster_name = default\nnode_name = mta1\n" \
	"repo = manager.example.com\n"

static void
test_boot__minimal_defaults(void **state)
{
	struct ecc_boot b;

	(void)state;
	assert_int_equal(ecc_boot_parse(&b, MINIMAL, strlen(MINIMAL),
	    "cluster.boot"), 0);
	assert_string_equal(b.cluster_name, "default");
	assert_string_equal(b.node_name, "mta1");
	assert_int_equal(b.nrepos, 1);
	assert_string_equal(b.repos[0].host, "manager.example.com");
	assert_int_equal(b.repos[0].port, 2027);
	assert_string_equal(b.autoupdate, "true");
	assert_int_equal(b.reload_config_on_update, 1);
	assert_int_equal(b.keep_snapshots, 5);
	assert_string_equal(b.check_command, "");
	/* key files default under state_dir */
	assert_true(strncmp(b.cert_file, b.state_dir,
	    strlen(b.state_dir)) == 0);
	assert_non_null(strstr(b.cert_file, "/node.pem"));
	assert_non_null(strstr(b.key_file, "/node.key"));
	assert_non_null(strstr(b.ca_file, "/ca.pem"));
	ecc_boot_free(&b);
	ecc_boot_free(NULL);
}

static void
test_boot__all_keys(void **state)
{
	const char *text = "cluster_name = east\nnode_name = mta1.east\n"
	    "repo = m1.example.com:2027, m2:443,[::1]:9000,10.0.0.1,[fe80::1]\n"
	    "autoupdate = ifunchanged\nreload_config_on_update = false\n"
	    "conf_dir = /opt/conf\nstate_dir = /srv/state\n"
	    "check_command = \"ec_check $ECCONFIG_TREE\"\n"
	    "reload_command = ec_console reload\nkeep_snapshots = 100\n"
	    "cert_file = /etc/n.pem\n";
	struct ecc_boot b;

	(void)state;
	assert_int_equal(ecc_boot_parse(&b, text, strlen(text), "f"), 0);
	assert_int_equal(b.nrepos, 5);
	assert_string_equal(b.repos[0].host, "m1.example.com");
	assert_int_equal(b.repos[0].port, 2027);
	assert_string_equal(b.repos[1].host, "m2");
	assert_int_equal(b.repos[1].port, 443);
	assert_string_equal(b.repos[2].host, "::1");
	assert_int_equal(b.repos[2].port, 9000);
	assert_string_equal(b.repos[3].host, "10.0.0.1");
	assert_int_equal(b.repos[3].port, 2027);
	assert_string_equal(b.repos[4].host, "fe80::1");
	assert_string_equal(b.autoupdate, "ifunchanged");
	assert_int_equal(b.reload_config_on_update, 0);
	assert_string_equal(b.conf_dir, "/opt/conf");
	assert_string_equal(b.check_command, "ec_check $ECCONFIG_TREE");
	assert_int_equal(b.keep_snapshots, 100);
	assert_string_equal(b.cert_file, "/etc/n.pem");
	assert_string_equal(b.key_file, "/srv/state/node.key");
	ecc_boot_free(&b);
}

static void
test_boot__errors(void **state)
{
	static const struct {
		const char *text, *needle;
		int code;
	} cases[] = {
		{ "cluster_name = default\nnode_name = mta1\n", "repo",
		  ECC_EINVALID },
		{ MINIMAL "repo = m1:0\n", "m1:0", ECC_EINVALID },
		{ MINIMAL "repo = m1:65536\n", "m1:65536", ECC_EINVALID },
		{ MINIMAL "repo = m1:\n", "m1:", ECC_EINVALID },
		{ MINIMAL "repo = m1,,m2\n", "empty entry", ECC_EINVALID },
		{ MINIMAL "repo = m1,\n", "empty entry", ECC_EINVALID },
		{ MINIMAL "repo = [::1\n", "[::1", ECC_EINVALID },
		{ MINIMAL "repo = [::1]x\n", "[::1]x", ECC_EINVALID },
		{ MINIMAL "repo = a b\n", "a b", ECC_EINVALID },
		{ MINIMAL "repo = -m1\n", "-m1", ECC_EINVALID },
		{ MINIMAL "autoupdate = sometimes\n", "autoupdate",
		  ECC_EINVALID },
		{ MINIMAL "keep_snapshots = 0\n", "keep_snapshots",
		  ECC_EINVALID },
		{ MINIMAL "keep_snapshots = 101\n", "keep_snapshots",
		  ECC_EINVALID },
		{ MINIMAL "cluster_name = global\n", "cluster_name",
		  ECC_EINVALID },
		{ MINIMAL "node_name = Bad_Name\n", "node_name",
		  ECC_EINVALID },
		{ MINIMAL "state_dir =\n", "state_dir", ECC_EINVALID },
		{ MINIMAL "colour = blue\n", "colour", ECC_EINVALID },
	};
	struct ecc_boot b;
	size_t i;

	(void)state;
	for (i = 0; i < ECC_ARRAY_SIZE(cases); i++) {
		int rc = ecc_boot_parse(&b, cases[i].text,
		    strlen(cases[i].text), "x.boot");

		test_expect_error(rc, cases[i].code, cases[i].text,
		    cases[i].needle, "x.boot");
		ecc_boot_free(&b);
	}
}

static void
test_boot__too_many_repos(void **state)
{
	struct ecc_boot_repo *v = NULL;
	char *list = NULL;
	size_t len = 0, n = 0;
	int i;

	(void)state;
	for (i = 0; i < ECC_BOOT_MAX_REPOS; i++)
		ecc_str_append(&list, &len, i ? ",m" : "m");
	assert_int_equal(ecc_boot_parse_repos(&v, &n, list), 0);
	assert_int_equal(n, ECC_BOOT_MAX_REPOS);
	ecc_boot_repos_free(v, n);
	ecc_str_append(&list, &len, ",m");
	assert_int_equal(ecc_boot_parse_repos(&v, &n, list), ECC_ETOOBIG);
	assert_null(v);
	assert_int_equal(n, 0);
	free(list);
}

static void
test_boot__load_and_render(void **state)
{
	const char *dir = *state;
	const char *text = MINIMAL "repo = a:1,[::1]:2\n"
	    "check_command = \"  x # y\"\n";
	char *path = ecc_printf("%s/cluster.boot", dir), *r1, *r2;
	struct ecc_boot b, again;

	assert_int_equal(ecc_file_write_atomic(path, text, strlen(text), 0600),
	    0);
	assert_int_equal(ecc_boot_load(&b, path), 0);
	r1 = ecc_boot_render(&b);
	assert_non_null(strstr(r1, "# Managers to pull from"));
	assert_non_null(strstr(r1, "\nkeep_snapshots = 5\n"));
	assert_int_equal(ecc_boot_parse(&again, r1, strlen(r1), "r"), 0);
	assert_string_equal(again.check_command, "  x # y");
	assert_int_equal(again.nrepos, 2);
	assert_string_equal(again.repos[1].host, "::1");
	r2 = ecc_boot_render(&again);
	assert_string_equal(r1, r2);
	free(r1);
	free(r2);
	ecc_boot_free(&again);
	ecc_boot_free(&b);
	unlink(path);
	assert_int_equal(ecc_boot_load(&b, path), ECC_ENOTFOUND);
	ecc_boot_free(&b);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot__minimal_defaults),
		cmocka_unit_test(test_boot__all_keys),
		cmocka_unit_test(test_boot__errors),
		cmocka_unit_test(test_boot__too_many_repos),
		cmocka_unit_test_setup_teardown(test_boot__load_and_render,
		    test_setup_tmpdir, test_teardown_tmpdir),
	};

	return cmocka_run_group_tests_name("boot", tests, NULL, NULL);
}
