/*
 * helpers.h - shared by the cmocka unit tests: a private temporary
 * directory per test, removed afterwards.
 */
#ifndef ECC_TEST_HELPERS_H
#define ECC_TEST_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "error.h"
#include "util.h"

/* A fresh directory under $TMPDIR (or /tmp); malloc'd path. */
static inline char *
test_tmpdir_new(void)
{
	const char *base = getenv("TMPDIR");
	char *tmpl = ecc_printf("%s/ecc-unit-XXXXXX", base ? base : "/tmp");

	if (!mkdtemp(tmpl)) {
		free(tmpl);
		return NULL;
	}
	return tmpl;
}

static inline void
test_tmpdir_free(char *dir)
{
	if (dir) {
		ecc_rm_rf(dir);
		free(dir);
	}
}

/* cmocka group setup/teardown storing the directory in *state. */
static inline int
test_setup_tmpdir(void **state)
{
	*state = test_tmpdir_new();
	return *state ? 0 : -1;
}

static inline int
test_teardown_tmpdir(void **state)
{
	test_tmpdir_free(*state);
	*state = NULL;
	return 0;
}

/* Assert that a call on `input` returned `code` with every non-NULL
 * needle in ecc_error_last(); prints the input and message first when
 * not. */
static inline void
test_expect_error(int rc, int code, const char *input, const char *needle1,
    const char *needle2)
{
	if (rc != code || (needle1 && !strstr(ecc_error_last(), needle1)) ||
	    (needle2 && !strstr(ecc_error_last(), needle2)))
		print_error("input: %s\nrc %d, message: %s\n", input, rc,
		    ecc_error_last());
	assert_int_equal(rc, code);
	if (needle1)
		assert_non_null(strstr(ecc_error_last(), needle1));
	if (needle2)
		assert_non_null(strstr(ecc_error_last(), needle2));
}

#endif
