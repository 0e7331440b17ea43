/*
 * backoff.h - jittered exponential backoff for reconnecting nodes ("full
 * jitter": each delay is uniform in [0, min(cap, base * 2^attempt)]),
 * with a Retry-After value sent by a pacing manager taken as a floor.
 */
#ifndef ECC_BACKOFF_H
#define ECC_BACKOFF_H

#include <stdint.h>

/* Longest Retry-After honoured (a larger value is clamped to it). */
#define ECC_BACKOFF_MAX_RETRY_AFTER_MS (3600u * 1000)

struct ecc_backoff {
	uint64_t base_ms;       /* first ceiling (attempt 0) */
	uint64_t cap_ms;        /* largest ceiling */
	unsigned attempt;       /* failures since the last success */
	uint64_t rng;           /* xorshift state when seeded; 0 = OpenSSL */
};

/* Start at attempt 0 with the OpenSSL RNG.  base_ms 0 is taken as 1 and
 * a cap below base as base. */
void ecc_backoff_init(struct ecc_backoff *b, uint64_t base_ms,
    uint64_t cap_ms);

/* Use a deterministic generator seeded with `seed` (tests); 0 switches
 * back to OpenSSL's RNG. */
void ecc_backoff_seed(struct ecc_backoff *b, uint64_t seed);

/* The delay before the next attempt, in ms, and count the attempt:
 * random in [0, min(cap, base * 2^attempt)], then at least
 * `retry_after_ms` (0 = none; clamped to ECC_BACKOFF_MAX_RETRY_AFTER_MS). */
uint64_t ecc_backoff_next(struct ecc_backoff *b, uint64_t retry_after_ms);

/* After a success: the next delay starts from base again. */
void ecc_backoff_reset(struct ecc_backoff *b);

/* Parse an HTTP Retry-After header given in delta-seconds (1*DIGIT)
 * into ms, clamped to ECC_BACKOFF_MAX_RETRY_AFTER_MS.  ECC_EINVALID for
 * anything else (an HTTP-date is not accepted: managers send seconds). */
int ecc_backoff_parse_retry_after(uint64_t *ms_out, const char *value);

#endif
