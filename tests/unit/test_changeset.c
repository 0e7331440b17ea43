/*
 * test_changeset.c - unit tests for lib/changeset.c: parsing of commit
 * request bodies (valid, invalid with the field at fault named in the
 * error, duplicates, limits) and the to_json round trip.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "helpers.h"

#include "changeset.h"
#include "error.h"
#include "util.h"

static struct ecc_limits lim;

static int
setup_limits(void **state)
{
	(void)state;
	ecc_limits_default(&lim);
	return 0;
}

/* Parse `json` expecting failure with `code` and every non-NULL needle in
 * the message. */
static void
expect_refused(const char *json, const struct ecc_limits *l, int code,
    const char *needle1, const char *needle2)
{
	struct ecc_changeset *cs = (struct ecc_changeset *)1;
	int rc = ecc_changeset_parse(&cs, json, strlen(json), l);

	test_expect_error(rc, code, json, needle1, needle2);
	assert_null(cs);
}

static void
test_changeset__valid(void **state)
{
	const char *json = "{\"base\": 11, \"message\": \"raise limits\", "
	    "\"changes\": [{\"path\": \"global/ecelerity.conf\", "
	    "\"action\": \"write\", \"content\": \"aGVsbG8=\", "
	    "\"mode\": \"0755\"}, {\"path\": \"default/a.conf\", "
	    "\"action\": \"write\", \"content\": \"\"}, "
	    "{\"path\": \"default/default/old.conf\", \"action\": \"delete\"}]}";
	struct ecc_changeset *cs = NULL;

	(void)state;
	assert_int_equal(ecc_changeset_parse(&cs, json, strlen(json), &lim), 0);
	assert_non_null(cs);
	assert_int_equal(cs->base, 11);
	assert_string_equal(cs->message, "raise limits");
	assert_null(cs->author);
	assert_int_equal(cs->nchanges, 3);
	assert_string_equal(cs->changes[0].path, "global/ecelerity.conf");
	assert_int_equal(cs->changes[0].action, ECC_CHANGE_WRITE);
	assert_int_equal(cs->changes[0].mode, 0100755);
	assert_int_equal(cs->changes[0].len, 5);
	assert_memory_equal(cs->changes[0].data, "hello", 5);
	assert_string_equal(cs->changes[1].path, "default/a.conf");
	assert_int_equal(cs->changes[1].mode, 0100644);
	assert_int_equal(cs->changes[1].len, 0);
	assert_non_null(cs->changes[1].data);
	assert_int_equal(cs->changes[2].action, ECC_CHANGE_DELETE);
	assert_null(cs->changes[2].data);
	ecc_changeset_free(cs);

	/* NULL limits mean the defaults */
	assert_int_equal(ecc_changeset_parse(&cs, json, strlen(json), NULL), 0);
	ecc_changeset_free(cs);
	ecc_changeset_free(NULL);
}

static void
test_changeset__bad_json(void **state)
{
	(void)state;
	expect_refused("", &lim, ECC_EINVALID, NULL, NULL);
	expect_refused("{\"base\": 1,", &lim, ECC_EINVALID, NULL, NULL);
	expect_refused("[1, 2]", &lim, ECC_EINVALID, NULL, NULL);
	expect_refused("\"text\"", &lim, ECC_EINVALID, NULL, NULL);
}

static void
test_changeset__top_level_fields(void **state)
{
	(void)state;
	expect_refused("{\"message\": \"m\", \"changes\": [{\"path\": \"a\", "
	    "\"action\": \"delete\"}]}", &lim, ECC_EINVALID, "base", NULL);
	expect_refused("{\"base\": -1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\", \"action\": \"delete\"}]}", &lim, ECC_EINVALID,
	    "base", NULL);
	expect_refused("{\"base\": \"1\", \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\", \"action\": \"delete\"}]}", &lim, ECC_EINVALID,
	    "base", NULL);
	expect_refused("{\"base\": 1, \"changes\": [{\"path\": \"a\", "
	    "\"action\": \"delete\"}]}", &lim, ECC_EINVALID, "message", NULL);
	expect_refused("{\"base\": 1, \"message\": \"\", \"changes\": "
	    "[{\"path\": \"a\", \"action\": \"delete\"}]}", &lim, ECC_EINVALID,
	    "message", NULL);
	expect_refused("{\"base\": 1, \"message\": \"m\"}", &lim,
	    ECC_EINVALID, "changes", NULL);
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": []}",
	    &lim, ECC_EINVALID, "changes", NULL);
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": {}}",
	    &lim, ECC_EINVALID, "changes", NULL);
	expect_refused("{\"base\": 1, \"message\": \"m\", \"author\": \"x\", "
	    "\"changes\": [{\"path\": \"a\", \"action\": \"delete\"}]}", &lim,
	    ECC_EINVALID, "author", NULL);
}

static void
test_changeset__message_length(void **state)
{
	const char *pre = "{\"base\": 0, \"message\": \"";
	const char *post = "\", \"changes\": [{\"path\": \"a\", "
	    "\"action\": \"delete\"}]}";
	struct ecc_changeset *cs = NULL;
	size_t n = strlen(pre) + 65537 + strlen(post) + 1;
	char *json = ecc_malloc(n);

	(void)state;
	/* 65536 bytes: the maximum */
	memcpy(json, pre, strlen(pre));
	memset(json + strlen(pre), 'x', 65536);
	strcpy(json + strlen(pre) + 65536, post);
	assert_int_equal(ecc_changeset_parse(&cs, json, strlen(json), &lim), 0);
	assert_int_equal(strlen(cs->message), 65536);
	ecc_changeset_free(cs);
	/* 65537: one too many */
	memset(json + strlen(pre), 'x', 65537);
	strcpy(json + strlen(pre) + 65537, post);
	expect_refused(json, &lim, ECC_EINVALID, "message", NULL);
	free(json);
}

static void
test_changeset__change_fields(void **state)
{
	(void)state;
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\", \"action\": \"delete\"}, 7]}", &lim,
	    ECC_EINVALID, "changes[1]", NULL);
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"action\": \"delete\"}]}", &lim, ECC_EINVALID, "changes[0]",
	    "path");
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": 5, \"action\": \"delete\"}]}", &lim, ECC_EINVALID,
	    "changes[0]", "path");
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\"}]}", &lim, ECC_EINVALID, "changes[0]",
	    "action");
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\", \"action\": \"rename\"}]}", &lim, ECC_EINVALID,
	    "changes[0].action:", NULL);
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\", \"action\": \"delete\", \"x\": 1}]}", &lim,
	    ECC_EINVALID, "changes[0]", "x");
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\", \"action\": \"delete\"}, {\"path\": \"b\", "
	    "\"action\": \"write\"}]}", &lim, ECC_EINVALID,
	    "changes[1].content:", "required");
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\", \"action\": \"delete\", \"content\": \"\"}]}",
	    &lim, ECC_EINVALID, "changes[0].content:", "not allowed");
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\", \"action\": \"delete\", \"mode\": \"0644\"}]}",
	    &lim, ECC_EINVALID, "changes[0].mode:", NULL);
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\", \"action\": \"write\", \"content\": \"\", "
	    "\"mode\": \"0777\"}]}", &lim, ECC_EINVALID, "changes[0].mode:",
	    NULL);
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\", \"action\": \"write\", \"content\": \"\", "
	    "\"mode\": 420}]}", &lim, ECC_EINVALID, "changes[0]", "mode");
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\", \"action\": \"write\", "
	    "\"content\": \"!!not base64!!\"}]}", &lim, ECC_EINVALID,
	    "changes[0].content", NULL);
}

static void
test_changeset__bad_paths(void **state)
{
	(void)state;
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\", \"action\": \"delete\"}, {\"path\": "
	    "\"../etc/passwd\", \"action\": \"delete\"}]}", &lim, ECC_EINVALID,
	    "changes[1].path: ", "..");
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"/etc/passwd\", \"action\": \"delete\"}]}", &lim,
	    ECC_EINVALID, "changes[0].path: ", "absolute");
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a/.git/config\", \"action\": \"delete\"}]}", &lim,
	    ECC_EINVALID, "changes[0].path: ", ".git");
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a//b\", \"action\": \"delete\"}]}", &lim,
	    ECC_EINVALID, "changes[0].path: ", NULL);
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"\", \"action\": \"delete\"}]}", &lim,
	    ECC_EINVALID, "changes[0]", "path");
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\\u0001b\", \"action\": \"delete\"}]}", &lim,
	    ECC_EINVALID, "changes[0].path: ", NULL);
}

static void
test_changeset__duplicate_paths(void **state)
{
	(void)state;
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a/x\", \"action\": \"delete\"}, "
	    "{\"path\": \"b\", \"action\": \"delete\"}, "
	    "{\"path\": \"a/x\", \"action\": \"write\", \"content\": \"\"}]}",
	    &lim, ECC_EINVALID, "changes[2].path: 'a/x'", "changes[0]");
}

static void
test_changeset__limits(void **state)
{
	struct ecc_limits l = lim;
	struct ecc_changeset *cs = NULL;
	const char *two = "{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\", \"action\": \"write\", "
	    "\"content\": \"aGVsbG8=\"}, {\"path\": \"b\", \"action\": "
	    "\"write\", \"content\": \"aGVsbG8=\"}]}";

	(void)state;
	/* max_changes */
	l.max_changes = 2;
	assert_int_equal(ecc_changeset_parse(&cs, two, strlen(two), &l), 0);
	ecc_changeset_free(cs);
	l.max_changes = 1;
	expect_refused(two, &l, ECC_ETOOBIG, "changes", "max_changes");

	/* max_file_size: 5 bytes fit, 4 do not */
	l = lim;
	l.max_file_size = 5;
	assert_int_equal(ecc_changeset_parse(&cs, two, strlen(two), &l), 0);
	ecc_changeset_free(cs);
	l.max_file_size = 4;
	expect_refused(two, &l, ECC_ETOOBIG, "changes[0].content:",
	    "max_file_size");
	/* a content far too long is refused before it is decoded */
	l.max_file_size = 1;
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\", \"action\": \"write\", \"content\": "
	    "\"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\"}]}", &l, ECC_ETOOBIG,
	    "changes[0].content:", "max_file_size");

	/* max_changeset: 10 bytes in total fit, 9 do not */
	l = lim;
	l.max_changeset = 10;
	assert_int_equal(ecc_changeset_parse(&cs, two, strlen(two), &l), 0);
	ecc_changeset_free(cs);
	l.max_changeset = 9;
	expect_refused(two, &l, ECC_ETOOBIG, "changes[1].content:",
	    "max_changeset");

	/* max_path_len and max_depth */
	l = lim;
	l.max_path_len = 3;
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"abcd\", \"action\": \"delete\"}]}", &l,
	    ECC_EINVALID, "changes[0]", "path");
	l = lim;
	l.max_depth = 2;
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a/b/c\", \"action\": \"delete\"}]}", &l,
	    ECC_EINVALID, "changes[0].path: ", NULL);

	/* JSON depth: object > array > object is 3 levels */
	l = lim;
	l.max_json_depth = 2;
	expect_refused(two, &l, ECC_EINVALID, NULL, NULL);
	expect_refused("{\"base\": 1, \"message\": \"m\", \"changes\": "
	    "[{\"path\": \"a\", \"action\": \"delete\"}], \"x\": "
	    "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", &lim, ECC_EINVALID,
	    NULL, NULL);
}

static void
test_changeset__round_trip(void **state)
{
	struct ecc_changeset *cs, *back = NULL;
	char *json;
	const char bin[] = { 0, 1, 2, (char)0xff, 'x' };
	size_t i;

	(void)state;
	cs = ecc_changeset_new(42, "a message\nwith \"quotes\" and é");
	ecc_changeset_add_write(cs, "global/a.conf", "hello\n", 6, 0644);
	ecc_changeset_add_write(cs, "global/run.sh", bin, sizeof(bin), 0100755);
	ecc_changeset_add_write(cs, "global/empty", "", 0, 0644);
	ecc_changeset_add_delete(cs, "default/default/old.conf");
	for (i = 0; i < 20; i++) {
		char path[32];

		snprintf(path, sizeof(path), "many/f%02zu", i);
		ecc_changeset_add_write(cs, path, path, strlen(path), 0755);
	}
	assert_int_equal(cs->nchanges, 24);
	assert_int_equal(cs->changes[1].mode, 0100755);
	json = ecc_changeset_to_json(cs);
	assert_non_null(json);
	assert_int_equal(ecc_changeset_parse(&back, json, strlen(json), &lim),
	    0);
	assert_int_equal(back->base, 42);
	assert_string_equal(back->message, cs->message);
	assert_int_equal(back->nchanges, cs->nchanges);
	for (i = 0; i < cs->nchanges; i++) {
		assert_string_equal(back->changes[i].path, cs->changes[i].path);
		assert_int_equal(back->changes[i].action, cs->changes[i].action);
		assert_int_equal(back->changes[i].len, cs->changes[i].len);
		if (cs->changes[i].action == ECC_CHANGE_WRITE) {
			assert_int_equal(back->changes[i].mode,
			    cs->changes[i].mode);
			assert_memory_equal(back->changes[i].data,
			    cs->changes[i].data, cs->changes[i].len);
		}
	}
	free(json);
	ecc_changeset_free(back);
	ecc_changeset_free(cs);
}

static void
test_changeset__to_json_bad_utf8(void **state)
{
	struct ecc_changeset *cs = ecc_changeset_new(1, "m");

	(void)state;
	ecc_changeset_add_delete(cs, "global/\xff.conf");
	assert_null(ecc_changeset_to_json(cs));
	assert_non_null(strstr(ecc_error_last(), "changes[0].path"));
	ecc_changeset_free(cs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_changeset__valid),
		cmocka_unit_test(test_changeset__bad_json),
		cmocka_unit_test(test_changeset__top_level_fields),
		cmocka_unit_test(test_changeset__message_length),
		cmocka_unit_test(test_changeset__change_fields),
		cmocka_unit_test(test_changeset__bad_paths),
		cmocka_unit_test(test_changeset__duplicate_paths),
		cmocka_unit_test(test_changeset__limits),
		cmocka_unit_test(test_changeset__round_trip),
		cmocka_unit_test(test_changeset__to_json_bad_utf8),
	};

	return cmocka_run_group_tests_name("changeset", tests, setup_limits,
	    NULL);
}
