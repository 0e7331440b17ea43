/*
 * test_manifest.c - unit tests for lib/manifest.c: building, sorting,
 * lookup, deterministic serialization, the parse round trip, and every
 * validation rule of the parser.
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

#include "error.h"
#include "manifest.h"
#include "util.h"

#define COMMIT "0123456789abcdef0123456789abcdef01234567"
#define SHA_A "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

static struct ecc_limits lim;

static int
setup_limits(void **state)
{
	(void)state;
	ecc_limits_default(&lim);
	return 0;
}

static void
expect_refused_l(const char *json, const struct ecc_limits *l, int code,
    const char *needle1, const char *needle2)
{
	struct ecc_manifest *m = (struct ecc_manifest *)1;
	int rc = ecc_manifest_parse(&m, json, strlen(json), l);

	test_expect_error(rc, code, json, needle1, needle2);
	assert_null(m);
}

static void
expect_refused(const char *json, int code, const char *needle1,
    const char *needle2)
{
	expect_refused_l(json, &lim, code, needle1, needle2);
}

/* A manifest text with `fields` (without braces) spliced into a valid
 * one-file full snapshot. */
static char *
doc(const char *top, const char *file)
{
	return ecc_printf("{\"format\": 1, \"view\": \"default\", "
	    "\"revision\": 7, \"commit\": \"" COMMIT "\"%s, \"files\": "
	    "[{\"path\": \"global/a.conf\", \"mode\": \"0644\", \"size\": 5, "
	    "\"sha256\": \"" SHA_A "\"%s}]}", top, file);
}

static struct ecc_manifest *
sample(void)
{
	struct ecc_manifest *m = ecc_manifest_new("default", 7, COMMIT);

	ecc_manifest_add_file(m, "global/b.conf", 0644, "second", 6);
	ecc_manifest_add_file(m, "global/a.conf", 0644, "hello", 5);
	ecc_manifest_add_file(m, "default/run.sh", 0100755, "#!/bin/sh\n", 10);
	ecc_manifest_add_file(m, "mta1/empty", 0644, "", 0);
	ecc_manifest_sort(m);
	return m;
}

static void
test_manifest__build_and_find(void **state)
{
	struct ecc_manifest *m = sample();
	const struct ecc_manifest_file *f;

	(void)state;
	assert_int_equal(m->nfiles, 4);
	assert_int_equal(m->since, -1);
	assert_string_equal(m->files[0].path, "default/run.sh");
	assert_string_equal(m->files[1].path, "global/a.conf");
	assert_string_equal(m->files[3].path, "mta1/empty");
	assert_int_equal(m->files[0].mode, 0755);
	f = ecc_manifest_find(m, "global/a.conf");
	assert_non_null(f);
	assert_int_equal(f->size, 5);
	assert_int_equal(f->mode, 0644);
	assert_string_equal(f->sha256, SHA_A);
	assert_non_null(ecc_manifest_find(m, "mta1/empty"));
	assert_non_null(ecc_manifest_find(m, "default/run.sh"));
	assert_null(ecc_manifest_find(m, "global/c.conf"));
	assert_null(ecc_manifest_find(m, "a"));
	assert_null(ecc_manifest_find(m, "zzz"));
	ecc_manifest_free(m);
	ecc_manifest_free(NULL);
}

static void
test_manifest__round_trip(void **state)
{
	struct ecc_manifest *m = sample(), *back = NULL;
	char *json = NULL, *json2 = NULL;
	size_t len = 0, len2 = 0, i;

	(void)state;
	assert_int_equal(ecc_manifest_to_json(&json, &len, m), 0);
	assert_int_equal(len, strlen(json));
	assert_int_equal(json[len - 1], '\n');
	assert_null(strstr(json, "since"));
	assert_null(strstr(json, "deleted"));
	assert_int_equal(ecc_manifest_parse(&back, json, len, &lim), 0);
	assert_string_equal(back->view, "default");
	assert_int_equal(back->revision, 7);
	assert_string_equal(back->commit, COMMIT);
	assert_int_equal(back->since, -1);
	assert_int_equal(back->nfiles, m->nfiles);
	for (i = 0; i < m->nfiles; i++) {
		assert_string_equal(back->files[i].path, m->files[i].path);
		assert_int_equal(back->files[i].mode, m->files[i].mode);
		assert_int_equal(back->files[i].size, m->files[i].size);
		assert_string_equal(back->files[i].sha256, m->files[i].sha256);
	}
	assert_int_equal(ecc_manifest_to_json(&json2, &len2, back), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(json, json2, len);
	free(json);
	free(json2);
	ecc_manifest_free(back);
	ecc_manifest_free(m);
}

static void
test_manifest__delta_round_trip(void **state)
{
	struct ecc_manifest *m = sample(), *back = NULL;
	char *json = NULL;
	size_t len = 0;

	(void)state;
	m->since = 5;
	ecc_manifest_add_deleted(m, "global/z.conf");
	ecc_manifest_add_deleted(m, "default/old.conf");
	ecc_manifest_sort(m);
	assert_int_equal(ecc_manifest_to_json(&json, &len, m), 0);
	assert_int_equal(ecc_manifest_parse(&back, json, len, &lim), 0);
	assert_int_equal(back->since, 5);
	assert_int_equal(back->ndeleted, 2);
	assert_string_equal(back->deleted[0], "default/old.conf");
	assert_string_equal(back->deleted[1], "global/z.conf");
	free(json);
	ecc_manifest_free(back);

	/* a delta with nothing deleted still says so */
	m->since = 6;
	for (size_t i = 0; i < m->ndeleted; i++)
		free(m->deleted[i]);
	m->ndeleted = 0;
	assert_int_equal(ecc_manifest_to_json(&json, &len, m), 0);
	assert_non_null(strstr(json, "\"deleted\":[]"));
	assert_int_equal(ecc_manifest_parse(&back, json, len, NULL), 0);
	assert_int_equal(back->since, 6);
	assert_int_equal(back->ndeleted, 0);
	free(json);
	ecc_manifest_free(back);
	ecc_manifest_free(m);
}

static void
test_manifest__deterministic(void **state)
{
	struct ecc_manifest *a = ecc_manifest_new("all", 3, COMMIT);
	struct ecc_manifest *b = ecc_manifest_new("all", 3, COMMIT);
	char *ja = NULL, *jb = NULL;
	size_t la = 0, lb = 0;

	(void)state;
	ecc_manifest_add_file(a, "x/1", 0644, "1", 1);
	ecc_manifest_add_file(a, "x/2", 0755, "2", 1);
	ecc_manifest_add_file(a, "a", 0644, "3", 1);
	ecc_manifest_add_file(b, "a", 0644, "3", 1);
	ecc_manifest_add_file(b, "x/2", 0755, "2", 1);
	ecc_manifest_add_file(b, "x/1", 0644, "1", 1);
	ecc_manifest_sort(a);
	ecc_manifest_sort(b);
	assert_int_equal(ecc_manifest_to_json(&ja, &la, a), 0);
	assert_int_equal(ecc_manifest_to_json(&jb, &lb, b), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(ja, jb, la);
	free(ja);
	free(jb);
	ecc_manifest_free(a);
	ecc_manifest_free(b);
}

static void
test_manifest__to_json_refuses(void **state)
{
	struct ecc_manifest *m = ecc_manifest_new("default", 1, COMMIT);
	char *json = NULL;
	size_t len = 0;

	(void)state;
	ecc_manifest_add_file(m, "b", 0644, "", 0);
	ecc_manifest_add_file(m, "a", 0644, "", 0);
	/* not sorted */
	assert_int_equal(ecc_manifest_to_json(&json, &len, m), ECC_EINVALID);
	assert_null(json);
	assert_non_null(strstr(ecc_error_last(), "sorted"));
	ecc_manifest_sort(m);
	/* duplicate */
	ecc_manifest_add_file(m, "b", 0644, "", 0);
	assert_int_equal(ecc_manifest_to_json(&json, &len, m), ECC_EINVALID);
	ecc_manifest_free(m);

	/* deleted in a full snapshot */
	m = ecc_manifest_new("default", 1, COMMIT);
	ecc_manifest_add_deleted(m, "gone");
	assert_int_equal(ecc_manifest_to_json(&json, &len, m), ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "deleted"));
	ecc_manifest_free(m);
}

static void
test_manifest__parse_valid(void **state)
{
	struct ecc_manifest *m = NULL;
	char *json = doc(", \"since\": 6, \"deleted\": [\"a/x\", \"b\"]", "");

	(void)state;
	assert_int_equal(ecc_manifest_parse(&m, json, strlen(json), &lim), 0);
	assert_int_equal(m->nfiles, 1);
	assert_int_equal(m->since, 6);
	assert_int_equal(m->ndeleted, 2);
	assert_string_equal(m->files[0].sha256, SHA_A);
	ecc_manifest_free(m);
	free(json);

	json = ecc_printf("{\"format\": 1, \"view\": \"all\", \"revision\": 0, "
	    "\"commit\": \"" COMMIT "\", \"files\": []}");
	assert_int_equal(ecc_manifest_parse(&m, json, strlen(json), &lim), 0);
	assert_int_equal(m->nfiles, 0);
	assert_string_equal(m->view, "all");
	ecc_manifest_free(m);
	free(json);
}

static void
test_manifest__parse_top_level(void **state)
{
	char *j;

	(void)state;
	expect_refused("not json", ECC_EINVALID, NULL, NULL);
	expect_refused("[]", ECC_EINVALID, NULL, NULL);
	expect_refused("{\"view\": \"default\", \"revision\": 7, \"commit\": \""
	    COMMIT "\", \"files\": []}", ECC_EINVALID, "format", NULL);
	expect_refused("{\"format\": 2, \"view\": \"default\", \"revision\": 7, "
	    "\"commit\": \"" COMMIT "\", \"files\": []}", ECC_EINVALID,
	    "format", NULL);
	expect_refused("{\"format\": 1, \"view\": \"Default\", \"revision\": 7, "
	    "\"commit\": \"" COMMIT "\", \"files\": []}", ECC_EINVALID,
	    "view:", NULL);
	expect_refused("{\"format\": 1, \"view\": \"global\", \"revision\": 7, "
	    "\"commit\": \"" COMMIT "\", \"files\": []}", ECC_EINVALID,
	    "view:", NULL);
	expect_refused("{\"format\": 1, \"view\": \"default\", "
	    "\"revision\": -1, \"commit\": \"" COMMIT "\", \"files\": []}",
	    ECC_EINVALID, "revision", NULL);
	expect_refused("{\"format\": 1, \"view\": \"default\", \"revision\": 7, "
	    "\"commit\": \"0123\", \"files\": []}", ECC_EINVALID, "commit",
	    NULL);
	expect_refused("{\"format\": 1, \"view\": \"default\", \"revision\": 7, "
	    "\"commit\": \"0123456789ABCDEF0123456789abcdef01234567\", "
	    "\"files\": []}", ECC_EINVALID, "commit:", NULL);
	expect_refused("{\"format\": 1, \"view\": \"default\", \"revision\": 7, "
	    "\"commit\": \"" COMMIT "\"}", ECC_EINVALID, "files", NULL);
	expect_refused("{\"format\": 1, \"view\": \"default\", \"revision\": 7, "
	    "\"commit\": \"" COMMIT "\", \"files\": [], \"extra\": 1}",
	    ECC_EINVALID, "extra", NULL);

	j = doc(", \"since\": 7", "");
	expect_refused(j, ECC_EINVALID, "since:", NULL);
	free(j);
	j = doc(", \"since\": -1", "");
	expect_refused(j, ECC_EINVALID, "since", NULL);
	free(j);
	j = doc(", \"deleted\": [\"x\"]", "");
	expect_refused(j, ECC_EINVALID, "deleted:", "since");
	free(j);
}

static void
test_manifest__parse_deleted(void **state)
{
	char *j;

	(void)state;
	j = doc(", \"since\": 1, \"deleted\": [\"b\", \"a\"]", "");
	expect_refused(j, ECC_EINVALID, "deleted[1]:", "sorted");
	free(j);
	j = doc(", \"since\": 1, \"deleted\": [\"a\", \"a\"]", "");
	expect_refused(j, ECC_EINVALID, "deleted[1]:", NULL);
	free(j);
	j = doc(", \"since\": 1, \"deleted\": [\"a\", 3]", "");
	expect_refused(j, ECC_EINVALID, "deleted[1]:", NULL);
	free(j);
	j = doc(", \"since\": 1, \"deleted\": [\"../x\"]", "");
	expect_refused(j, ECC_EINVALID, "deleted[0]:", "..");
	free(j);
	j = doc(", \"since\": 1, \"deleted\": [\"global/a.conf\"]", "");
	expect_refused(j, ECC_EINVALID, "deleted[0]:", "also listed");
	free(j);
}

static void
test_manifest__parse_files(void **state)
{
	char *j;

	(void)state;
	j = doc("", ", \"extra\": true");
	expect_refused(j, ECC_EINVALID, "files[0]", "extra");
	free(j);
	expect_refused("{\"format\": 1, \"view\": \"default\", \"revision\": 7, "
	    "\"commit\": \"" COMMIT "\", \"files\": [\"a\"]}", ECC_EINVALID,
	    "files[0]", NULL);
	expect_refused("{\"format\": 1, \"view\": \"default\", \"revision\": 7, "
	    "\"commit\": \"" COMMIT "\", \"files\": [{\"path\": \"a\", "
	    "\"mode\": \"0644\", \"size\": 5}]}", ECC_EINVALID, "files[0]",
	    "sha256");
	expect_refused("{\"format\": 1, \"view\": \"default\", \"revision\": 7, "
	    "\"commit\": \"" COMMIT "\", \"files\": [{\"path\": \"../a\", "
	    "\"mode\": \"0644\", \"size\": 5, \"sha256\": \"" SHA_A "\"}]}",
	    ECC_EINVALID, "files[0].path:", "..");
	expect_refused("{\"format\": 1, \"view\": \"default\", \"revision\": 7, "
	    "\"commit\": \"" COMMIT "\", \"files\": [{\"path\": "
	    "\".ecconfig/manifest.json\", \"mode\": \"0644\", \"size\": 5, "
	    "\"sha256\": \"" SHA_A "\"}]}", ECC_EINVALID, "files[0].path:",
	    "reserved");
	expect_refused("{\"format\": 1, \"view\": \"default\", \"revision\": 7, "
	    "\"commit\": \"" COMMIT "\", \"files\": [{\"path\": \"a\", "
	    "\"mode\": \"0777\", \"size\": 5, \"sha256\": \"" SHA_A "\"}]}",
	    ECC_EINVALID, "files[0].mode:", NULL);
	expect_refused("{\"format\": 1, \"view\": \"default\", \"revision\": 7, "
	    "\"commit\": \"" COMMIT "\", \"files\": [{\"path\": \"a\", "
	    "\"mode\": \"0644\", \"size\": -1, \"sha256\": \"" SHA_A "\"}]}",
	    ECC_EINVALID, "files[0]", "size");
	expect_refused("{\"format\": 1, \"view\": \"default\", \"revision\": 7, "
	    "\"commit\": \"" COMMIT "\", \"files\": [{\"path\": \"a\", "
	    "\"mode\": \"0644\", \"size\": 5, \"sha256\": \"2CF24DBA5FB0A30E26"
	    "E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824\"}]}",
	    ECC_EINVALID, "files[0].sha256:", NULL);
	expect_refused("{\"format\": 1, \"view\": \"default\", \"revision\": 7, "
	    "\"commit\": \"" COMMIT "\", \"files\": [{\"path\": \"a\", "
	    "\"mode\": \"0644\", \"size\": 5, \"sha256\": \"abc\"}]}",
	    ECC_EINVALID, "files[0].sha256:", NULL);
	/* unsorted, duplicate */
	expect_refused("{\"format\": 1, \"view\": \"default\", \"revision\": 7, "
	    "\"commit\": \"" COMMIT "\", \"files\": [{\"path\": \"b\", "
	    "\"mode\": \"0644\", \"size\": 5, \"sha256\": \"" SHA_A "\"}, "
	    "{\"path\": \"a\", \"mode\": \"0644\", \"size\": 5, "
	    "\"sha256\": \"" SHA_A "\"}]}", ECC_EINVALID, "files[1].path:",
	    "sorted");
	expect_refused("{\"format\": 1, \"view\": \"default\", \"revision\": 7, "
	    "\"commit\": \"" COMMIT "\", \"files\": [{\"path\": \"a\", "
	    "\"mode\": \"0644\", \"size\": 5, \"sha256\": \"" SHA_A "\"}, "
	    "{\"path\": \"a\", \"mode\": \"0644\", \"size\": 5, "
	    "\"sha256\": \"" SHA_A "\"}]}", ECC_EINVALID, "files[1].path:",
	    NULL);
}

static void
test_manifest__limits(void **state)
{
	struct ecc_limits l = lim;
	struct ecc_manifest *m, *back = NULL;
	char *json = NULL, *big;
	size_t len, i;

	(void)state;
	/* size over max_file_size */
	l.max_file_size = 4;
	json = doc("", "");
	expect_refused_l(json, &l, ECC_ETOOBIG, "files[0].size:",
	    "max_file_size");
	free(json);

	/* at most max_changes * 10 files */
	m = ecc_manifest_new("default", 1, COMMIT);
	for (i = 0; i < 11; i++) {
		char path[16];

		snprintf(path, sizeof(path), "f%02zu", i);
		ecc_manifest_add_file(m, path, 0644, path, strlen(path));
	}
	ecc_manifest_sort(m);
	assert_int_equal(ecc_manifest_to_json(&json, &len, m), 0);
	l = lim;
	l.max_changes = 2;
	assert_int_equal(ecc_manifest_parse(&back, json, len, &l), 0);
	ecc_manifest_free(back);
	l.max_changes = 1;
	expect_refused_l(json, &l, ECC_ETOOBIG, "files", "10");
	free(json);
	ecc_manifest_free(m);

	/* JSON nesting */
	l = lim;
	l.max_json_depth = 1;
	json = doc("", "");
	expect_refused_l(json, &l, ECC_EINVALID, NULL, NULL);
	free(json);

	/* the whole document */
	big = ecc_calloc(ECC_MANIFEST_MAX_BYTES + 1, 1);
	m = (struct ecc_manifest *)1;
	assert_int_equal(ecc_manifest_parse(&m, big, ECC_MANIFEST_MAX_BYTES + 1,
	    &lim), ECC_ETOOBIG);
	assert_null(m);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest__build_and_find),
		cmocka_unit_test(test_manifest__round_trip),
		cmocka_unit_test(test_manifest__delta_round_trip),
		cmocka_unit_test(test_manifest__deterministic),
		cmocka_unit_test(test_manifest__to_json_refuses),
		cmocka_unit_test(test_manifest__parse_valid),
		cmocka_unit_test(test_manifest__parse_top_level),
		cmocka_unit_test(test_manifest__parse_deleted),
		cmocka_unit_test(test_manifest__parse_files),
		cmocka_unit_test(test_manifest__limits),
	};

	return cmocka_run_group_tests_name("manifest", tests, setup_limits,
	    NULL);
}
