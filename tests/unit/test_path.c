/*
 * test_path.c - unit tests of lib/path.c: repository path rules, the
 * name rules of subclusters, nodes and users, prefixes and quoting.
 */
#include "config.h"

#include "helpers.h"

#include "error.h"
#include "path.h"

static void
expect_path_error(const char *path, const char *message)
{
	assert_int_equal(ecc_path_validate(path, NULL), ECC_EINVALID);
	assert_string_equal(ecc_error_last(), message);
}

static void
test_path__valid(void **state)
{
	(void)state;
	assert_int_equal(ecc_path_validate("global/ecelerity.conf", NULL), 0);
	assert_int_equal(ecc_path_validate("a", NULL), 0);
	assert_int_equal(ecc_path_validate("default/mta1/x.conf", NULL), 0);
	assert_int_equal(ecc_path_validate("a/.gitignore", NULL), 0);
	assert_int_equal(ecc_path_validate("a/...", NULL), 0);
	assert_int_equal(ecc_path_validate("a/git", NULL), 0);
	assert_int_equal(ecc_path_validate("caf\xc3\xa9/x", NULL), 0);
}

static void
test_path__rules(void **state)
{
	(void)state;
	expect_path_error("../etc/passwd",
	    "'../etc/passwd': '..' component not allowed");
	expect_path_error("a/../b", "'a/../b': '..' component not allowed");
	expect_path_error("a/..", "'a/..': '..' component not allowed");
	expect_path_error("./a", "'./a': '.' component not allowed");
	expect_path_error("a//b", "'a//b': empty component not allowed");
	expect_path_error("/etc/passwd",
	    "'/etc/passwd': absolute path not allowed");
	expect_path_error("a/b/", "'a/b/': trailing '/' not allowed");
	expect_path_error("", "'': empty path");
	expect_path_error(".git/config",
	    "'.git/config': '.git' component not allowed");
	expect_path_error("a/.GiT/hooks",
	    "'a/.GiT/hooks': '.git' component not allowed");
	expect_path_error("default/.ecconfig/manifest.json",
	    "'default/.ecconfig/manifest.json': '.ecconfig' and '.eccfg' "
	    "components are reserved");
	expect_path_error("global/.ECCFG/meta.json",
	    "'global/.ECCFG/meta.json': '.ecconfig' and '.eccfg' "
	    "components are reserved");
	assert_int_equal(ecc_path_validate("global/.ecconfig.conf", NULL), 0);
	expect_path_error("a\nb", "'a\\x0ab': control character not allowed");
	expect_path_error("a\x7f", "'a\\x7f': control character not allowed");
	assert_int_equal(ecc_path_validate(NULL, NULL), ECC_EINVALID);
}

static void
test_path__limits(void **state)
{
	struct ecc_limits lim;
	char buf[2048];
	size_t i;

	(void)state;
	ecc_limits_default(&lim);
	assert_int_equal(lim.max_path_len, 1024);
	assert_int_equal(lim.max_depth, 16);
	assert_int_equal(lim.max_file_size, 16u * 1024 * 1024);
	assert_int_equal(lim.max_changes, 10000);
	assert_int_equal(lim.max_changeset, 64u * 1024 * 1024);
	assert_int_equal(lim.max_json_depth, 16);

	/* 1024 bytes in components of 200 */
	memset(buf, 'a', 1024);
	for (i = 200; i < 1024; i += 201)
		buf[i] = '/';
	buf[1024] = '\0';
	assert_int_equal(ecc_path_validate(buf, &lim), 0);
	buf[1024] = 'a';
	buf[1025] = '\0';
	assert_int_equal(ecc_path_validate(buf, &lim), ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "longer than 1024 bytes"));
	/* long paths are cut in the message */
	assert_non_null(strstr(ecc_error_last(), "...'"));

	strcpy(buf, "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p");
	assert_int_equal(ecc_path_validate(buf, &lim), 0);
	strcat(buf, "/q");
	expect_path_error(buf, "'a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q': more "
	    "than 16 components");

	lim.max_depth = 2;
	lim.max_path_len = 5;
	assert_int_equal(ecc_path_validate("ab/cd", &lim), 0);
	assert_int_equal(ecc_path_validate("a/b/c", &lim), ECC_EINVALID);
	assert_string_equal(ecc_error_last(), "'a/b/c': more than 2 "
	    "components");
	assert_int_equal(ecc_path_validate("abcdef", &lim), ECC_EINVALID);
	assert_string_equal(ecc_error_last(), "'abcdef': longer than 5 "
	    "bytes");
}

/* A component is a file or folder name on every checkout and node: more
 * than NAME_MAX (255) bytes would commit and then fail every extraction. */
static void
test_path__component_length(void **state)
{
	char buf[600], *want;

	(void)state;
	strcpy(buf, "global/");
	memset(buf + 7, 'n', 255);
	buf[7 + 255] = '\0';
	assert_int_equal(ecc_path_validate(buf, NULL), 0);
	strcat(buf, "/x.conf");
	assert_int_equal(ecc_path_validate(buf, NULL), 0);

	strcpy(buf, "global/");
	memset(buf + 7, 'n', 256);
	buf[7 + 256] = '\0';
	assert_int_equal(ecc_path_validate(buf, NULL), ECC_EINVALID);
	/* the path (cut at 128 bytes) and the rule */
	want = ecc_printf("'global/%.121s...': a component longer than 255 "
	    "bytes (NAME_MAX)", buf + 7);
	assert_string_equal(ecc_error_last(), want);
	free(want);

	/* any component, not only the last */
	memset(buf, 'd', 300);
	strcpy(buf + 300, "/a.conf");
	assert_int_equal(ecc_path_validate(buf, NULL), ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "a component longer than "
	    "255 bytes"));
	assert_int_equal(ecc_path_validate("a/b/c", NULL), 0);
}

static void
test_path__subcluster_names(void **state)
{
	char buf[80];

	(void)state;
	assert_true(ecc_name_is_subcluster("default"));
	assert_true(ecc_name_is_subcluster("east"));
	assert_true(ecc_name_is_subcluster("e"));
	assert_true(ecc_name_is_subcluster("east-2_b"));
	assert_false(ecc_name_is_subcluster("East"));
	assert_false(ecc_name_is_subcluster("east coast"));
	assert_false(ecc_name_is_subcluster("2east"));
	assert_false(ecc_name_is_subcluster("-east"));
	assert_false(ecc_name_is_subcluster("east.coast"));
	assert_false(ecc_name_is_subcluster(""));
	assert_false(ecc_name_is_subcluster(NULL));
	assert_false(ecc_name_is_subcluster("global"));
	assert_true(ecc_name_is_subcluster("globals"));
	/* "all" is the whole-repository view: a subcluster of that name
	 * would give its nodes every subcluster's files */
	assert_false(ecc_name_is_subcluster("all"));
	assert_true(ecc_name_is_subcluster("all2"));
	assert_true(ecc_name_is_subcluster("al"));
	assert_true(ecc_name_is_reserved("global"));
	assert_true(ecc_name_is_reserved("all"));
	assert_false(ecc_name_is_reserved("default"));
	assert_false(ecc_name_is_reserved("All"));
	assert_false(ecc_name_is_reserved(NULL));
	memset(buf, 'a', 63);
	buf[63] = '\0';
	assert_true(ecc_name_is_subcluster(buf));
	buf[63] = 'a';
	buf[64] = '\0';
	assert_false(ecc_name_is_subcluster(buf));
}

static void
test_path__node_names(void **state)
{
	char buf[300];

	(void)state;
	assert_true(ecc_name_is_node("mta1"));
	assert_true(ecc_name_is_node("mta1.example.com"));
	assert_true(ecc_name_is_node("1mta"));
	assert_true(ecc_name_is_node("a-b.c-d"));
	assert_false(ecc_name_is_node("MTA1"));
	assert_false(ecc_name_is_node("mta1..example"));
	assert_false(ecc_name_is_node("mta1."));
	assert_false(ecc_name_is_node(".mta1"));
	assert_false(ecc_name_is_node("-mta1"));
	assert_false(ecc_name_is_node("mta_1"));
	assert_false(ecc_name_is_node("mta 1"));
	assert_false(ecc_name_is_node(""));
	assert_false(ecc_name_is_node(NULL));
	assert_false(ecc_name_is_node("global"));
	assert_false(ecc_name_is_node("default"));
	assert_true(ecc_name_is_node("default1"));
	memset(buf, 'a', 253);
	buf[253] = '\0';
	assert_true(ecc_name_is_node(buf));
	buf[253] = 'a';
	buf[254] = '\0';
	assert_false(ecc_name_is_node(buf));
}

static void
test_path__user_names(void **state)
{
	char buf[40];

	(void)state;
	assert_true(ecc_name_is_user("admin"));
	assert_true(ecc_name_is_user("_svc"));
	assert_true(ecc_name_is_user("j.doe-2"));
	assert_false(ecc_name_is_user("Admin"));
	assert_false(ecc_name_is_user("1admin"));
	assert_false(ecc_name_is_user(".admin"));
	assert_false(ecc_name_is_user("ad min"));
	assert_false(ecc_name_is_user("ad/min"));
	assert_false(ecc_name_is_user(""));
	assert_false(ecc_name_is_user(NULL));
	memset(buf, 'a', 32);
	buf[32] = '\0';
	assert_true(ecc_name_is_user(buf));
	buf[32] = 'a';
	buf[33] = '\0';
	assert_false(ecc_name_is_user(buf));
}

static void
test_path__prefix(void **state)
{
	(void)state;
	assert_true(ecc_path_has_prefix("a/b", "a"));
	assert_true(ecc_path_has_prefix("a", "a"));
	assert_true(ecc_path_has_prefix("a/b/c", "a/b"));
	assert_true(ecc_path_has_prefix("a/b", "a/"));
	assert_true(ecc_path_has_prefix("a/b", ""));
	assert_true(ecc_path_has_prefix("a/b", NULL));
	assert_false(ecc_path_has_prefix("ab", "a"));
	assert_false(ecc_path_has_prefix("a", "a/b"));
	assert_false(ecc_path_has_prefix("b/a", "a"));
	assert_false(ecc_path_has_prefix(NULL, "a"));
}

static void
test_path__quote(void **state)
{
	char out[ECC_QUOTE_BUF], in[600];

	(void)state;
	ecc_quote(out, "ab\x01'\\\xff", 6);
	assert_string_equal(out, "ab\\x01\\x27\\x5c\\xff");
	ecc_quote(out, "abc", 2);
	assert_string_equal(out, "ab");
	memset(in, '\x01', sizeof(in));
	ecc_quote(out, in, sizeof(in));
	assert_int_equal(strlen(out), 128 * 4 + 3);
	assert_string_equal(out + 128 * 4, "...");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path__valid),
		cmocka_unit_test(test_path__rules),
		cmocka_unit_test(test_path__limits),
		cmocka_unit_test(test_path__component_length),
		cmocka_unit_test(test_path__subcluster_names),
		cmocka_unit_test(test_path__node_names),
		cmocka_unit_test(test_path__user_names),
		cmocka_unit_test(test_path__prefix),
		cmocka_unit_test(test_path__quote),
	};

	return cmocka_run_group_tests_name("path", tests, NULL, NULL);
}
