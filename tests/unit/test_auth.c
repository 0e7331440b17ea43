/*
 * test_auth.c - unit tests for lib/auth.c: scrypt password hashes, the
 * password policy, roles and tokens.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "auth.h"
#include "error.h"
#include "util.h"

/* Cheap cost for tests; one test covers the default. */
#define TEST_LN 10

static void
test_auth__hash_and_verify(void **state)
{
	char *h = NULL;

	(void)state;
	assert_int_equal(ecc_password_hash(&h, "correct horse", TEST_LN), 0);
	assert_non_null(h);
	assert_true(strncmp(h, "$scrypt$ln=10,r=8,p=1$", 22) == 0);
	assert_int_equal(ecc_password_verify(h, "correct horse"), 0);
	assert_int_equal(ecc_password_verify(h, "correct horsE"), ECC_EAUTH);
	assert_int_equal(ecc_password_verify(h, ""), ECC_EAUTH);
	free(h);
}

static void
test_auth__salt_differs(void **state)
{
	char *a = NULL, *b = NULL;

	(void)state;
	assert_int_equal(ecc_password_hash(&a, "same password", TEST_LN), 0);
	assert_int_equal(ecc_password_hash(&b, "same password", TEST_LN), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(ecc_password_verify(a, "same password"), 0);
	assert_int_equal(ecc_password_verify(b, "same password"), 0);
	free(a);
	free(b);
}

static void
test_auth__default_cost(void **state)
{
	char *h = NULL;

	(void)state;
	assert_int_equal(ecc_password_hash(&h, "default cost pw", 0), 0);
	assert_true(strncmp(h, "$scrypt$ln=15,r=8,p=1$", 22) == 0);
	assert_int_equal(ecc_password_verify(h, "default cost pw"), 0);
	assert_int_equal(ecc_password_verify(h, "default cost px"), ECC_EAUTH);
	free(h);
}

static void
test_auth__hash_bad_cost(void **state)
{
	char *h = (char *)"unchanged";

	(void)state;
	assert_int_equal(ecc_password_hash(&h, "password", 9), ECC_EINVALID);
	assert_null(h);
	assert_int_equal(ecc_password_hash(&h, "password", 21), ECC_EINVALID);
	assert_int_equal(ecc_password_hash(&h, NULL, TEST_LN), ECC_EINVALID);
}

static void
test_auth__malformed_hashes(void **state)
{
	char *good = NULL, *bad;
	const char *tail;
	size_t i;
	static const char *const cases[] = {
		"",
		"plain text",
		"$scrypt$",
		"$pbkdf2$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",
		"$scrypt$ln=9,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"$scrypt$ln=21,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"$scrypt$ln=99999999999,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"$scrypt$ln=-1,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"$scrypt$ln=010,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"$scrypt$ln=10,r=0,p=1$AAAAAAAAAAAAAAAAAAAAAA==$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		/* Within each bound, but together too costly. */
		"$scrypt$ln=20,r=32,p=16$AAAAAAAAAAAAAAAAAAAAAA==$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"$scrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==",
		"$scrypt$ln=10,r=8,p=1$A!AAAAAAAAAAAAAAAAAAAA==$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"$scrypt$ln=10,r=8,p=1$AAAA$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"$scrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",
		"$scrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$scrypt$ln=10,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=A=",
		"$scrypt$ln=10;r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	};

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = ecc_password_verify(cases[i], "password");

		if (rc != ECC_EINVALID)
			fail_msg("case %zu (%s): got %d", i, cases[i], rc);
		assert_true(strlen(ecc_error_last()) > 0);
	}
	assert_int_equal(ecc_password_verify(NULL, "password"), ECC_EINVALID);

	/* A good hash with garbage appended to the key part. */
	assert_int_equal(ecc_password_hash(&good, "password", TEST_LN), 0);
	bad = ecc_printf("%sAAAA$", good);
	assert_int_equal(ecc_password_verify(bad, "password"), ECC_EINVALID);
	free(bad);
	/* The same parameters written differently still verify. */
	tail = strchr(good + strlen("$scrypt$"), '$');
	bad = ecc_printf("$scrypt$ln=10,r=8,p=1%s", tail);
	assert_int_equal(ecc_password_verify(bad, "password"), 0);
	free(bad);
	free(good);
}

static void
test_auth__policy(void **state)
{
	char *long_pw;

	(void)state;
	assert_int_equal(ecc_password_check_policy("1234567"), ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "at least 8"));
	assert_int_equal(ecc_password_check_policy(""), ECC_EINVALID);
	assert_int_equal(ecc_password_check_policy(NULL), ECC_EINVALID);
	assert_int_equal(ecc_password_check_policy("12345678"), 0);
	long_pw = malloc(1026);
	assert_non_null(long_pw);
	memset(long_pw, 'x', 1025);
	long_pw[1025] = '\0';
	assert_int_equal(ecc_password_check_policy(long_pw), ECC_EINVALID);
	long_pw[1024] = '\0';
	assert_int_equal(ecc_password_check_policy(long_pw), 0);
	free(long_pw);
}

static void
test_auth__roles(void **state)
{
	(void)state;
	assert_int_equal(ecc_role_from_name("admin"), ECC_ROLE_ADMIN);
	assert_int_equal(ecc_role_from_name("service"), ECC_ROLE_SERVICE);
	assert_int_equal(ecc_role_from_name("Admin"), ECC_ROLE_NONE);
	assert_int_equal(ecc_role_from_name(""), ECC_ROLE_NONE);
	assert_int_equal(ecc_role_from_name(NULL), ECC_ROLE_NONE);
	assert_string_equal(ecc_role_name(ECC_ROLE_ADMIN), "admin");
	assert_string_equal(ecc_role_name(ECC_ROLE_SERVICE), "service");
	assert_string_equal(ecc_role_name(ECC_ROLE_NONE), "none");
}

static void
test_auth__token(void **state)
{
	char a[ECC_TOKEN_HEX_LEN], b[ECC_TOKEN_HEX_LEN];
	size_t i;

	(void)state;
	assert_int_equal(ecc_token_new(a), 0);
	assert_int_equal(ecc_token_new(b), 0);
	assert_int_equal(strlen(a), 64);
	for (i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_string_not_equal(a, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth__hash_and_verify),
		cmocka_unit_test(test_auth__salt_differs),
		cmocka_unit_test(test_auth__default_cost),
		cmocka_unit_test(test_auth__hash_bad_cost),
		cmocka_unit_test(test_auth__malformed_hashes),
		cmocka_unit_test(test_auth__policy),
		cmocka_unit_test(test_auth__roles),
		cmocka_unit_test(test_auth__token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
