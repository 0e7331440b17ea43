/*
 * test_backoff.c - unit tests of lib/backoff.c: full-jitter ceilings,
 * the cap, reset, the Retry-After floor and its parser, with a seeded
 * generator.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "backoff.h"
#include "error.h"

static void
test_backoff__ceilings(void **state)
{
	struct ecc_backoff b;
	uint64_t d, max_seen[8] = { 0 };
	unsigned a;
	int k;

	(void)state;
	/* many runs: every delay stays in [0, min(cap, base*2^attempt)] and
	 * the largest seen comes close to the ceiling */
	for (k = 0; k < 2000; k++) {
		ecc_backoff_init(&b, 100, 3000);
		ecc_backoff_seed(&b, 0x9e3779b97f4a7c15ull + (uint64_t)k);
		for (a = 0; a < 8; a++) {
			uint64_t ceil = 100ull << a;

			if (ceil > 3000)
				ceil = 3000;
			d = ecc_backoff_next(&b, 0);
			assert_true(d <= ceil);
			if (d > max_seen[a])
				max_seen[a] = d;
		}
	}
	assert_true(max_seen[0] >= 90);
	assert_true(max_seen[3] >= 720);
	assert_true(max_seen[7] >= 2700);
	assert_int_equal(b.attempt, 8);
}

static void
test_backoff__seeded_is_deterministic(void **state)
{
	struct ecc_backoff a, b;
	int i;

	(void)state;
	ecc_backoff_init(&a, 50, 10000);
	ecc_backoff_init(&b, 50, 10000);
	ecc_backoff_seed(&a, 42);
	ecc_backoff_seed(&b, 42);
	for (i = 0; i < 20; i++)
		assert_int_equal(ecc_backoff_next(&a, 0),
		    ecc_backoff_next(&b, 0));
}

static void
test_backoff__reset_and_huge_attempts(void **state)
{
	struct ecc_backoff b;
	int i;

	(void)state;
	ecc_backoff_init(&b, 10, UINT64_MAX / 2);
	ecc_backoff_seed(&b, 7);
	for (i = 0; i < 200; i++)
		(void)ecc_backoff_next(&b, 0);
	assert_int_equal(b.attempt, 64);
	ecc_backoff_reset(&b);
	assert_int_equal(b.attempt, 0);
	for (i = 0; i < 100; i++) {
		ecc_backoff_reset(&b);
		assert_true(ecc_backoff_next(&b, 0) <= 10);
	}
	/* base 0 and a cap under base are sane */
	ecc_backoff_init(&b, 0, 0);
	assert_int_equal(b.base_ms, 1);
	assert_int_equal(b.cap_ms, 1);
	assert_true(ecc_backoff_next(&b, 0) <= 1);
}

static void
test_backoff__retry_after_floor(void **state)
{
	struct ecc_backoff b;
	uint64_t d;
	int i;

	(void)state;
	ecc_backoff_init(&b, 100, 1000);
	ecc_backoff_seed(&b, 3);
	for (i = 0; i < 50; i++) {
		d = ecc_backoff_next(&b, 5000);
		assert_int_equal(d, 5000);   /* above the cap: the floor wins */
	}
	ecc_backoff_reset(&b);
	for (i = 0; i < 50; i++) {
		d = ecc_backoff_next(&b, 60);
		assert_true(d >= 60 && d <= 1000);
	}
	d = ecc_backoff_next(&b, UINT64_MAX);
	assert_int_equal(d, ECC_BACKOFF_MAX_RETRY_AFTER_MS);
}

static void
test_backoff__parse_retry_after(void **state)
{
	uint64_t ms = 1;

	(void)state;
	assert_int_equal(ecc_backoff_parse_retry_after(&ms, "0"), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(ecc_backoff_parse_retry_after(&ms, "17"), 0);
	assert_int_equal(ms, 17000);
	assert_int_equal(ecc_backoff_parse_retry_after(&ms,
	    "99999999999999999999"), 0);
	assert_int_equal(ms, ECC_BACKOFF_MAX_RETRY_AFTER_MS);
	assert_int_equal(ecc_backoff_parse_retry_after(&ms, ""),
	    ECC_EINVALID);
	assert_int_equal(ecc_backoff_parse_retry_after(&ms, "-1"),
	    ECC_EINVALID);
	assert_int_equal(ecc_backoff_parse_retry_after(&ms,
	    "Wed, 21 Oct 2015 07:28:00 GMT"), ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "Retry-After"));
	assert_int_equal(ms, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff__ceilings),
		cmocka_unit_test(test_backoff__seeded_is_deterministic),
		cmocka_unit_test(test_backoff__reset_and_huge_attempts),
		cmocka_unit_test(test_backoff__retry_after_floor),
		cmocka_unit_test(test_backoff__parse_retry_after),
	};

	return cmocka_run_group_tests_name("backoff", tests, NULL, NULL);
}
