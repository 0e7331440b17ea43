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

#endif
