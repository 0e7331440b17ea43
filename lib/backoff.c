/*
 * backoff.c - jittered exponential backoff with a Retry-After floor (see
 * backoff.h).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "backoff.h"
#include "error.h"
#include "util.h"

void
ecc_backoff_init(struct ecc_backoff *b, uint64_t base_ms, uint64_t cap_ms)
{
	memset(b, 0, sizeof(*b));
	b->base_ms = base_ms ? base_ms : 1;
	b->cap_ms = cap_ms < b->base_ms ? b->base_ms : cap_ms;
}

void
ecc_backoff_seed(struct ecc_backoff *b, uint64_t seed)
{
	b->rng = seed;
}

/* 64 random bits: xorshift64 when seeded, else OpenSSL. */
static uint64_t
backoff_random(struct ecc_backoff *b)
{
	uint64_t x;

	if (b->rng) {
		x = b->rng;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b->rng = x;
		return x;
	}
	if (ecc_random_bytes(&x, sizeof(x)) < 0)
		x = ecc_now_us();  /* jitter only; never fatal */
	return x;
}

uint64_t
ecc_backoff_next(struct ecc_backoff *b, uint64_t retry_after_ms)
{
	uint64_t ceiling = b->base_ms, delay;
	unsigned i;

	for (i = 0; i < b->attempt && ceiling < b->cap_ms; i++)
		ceiling = ceiling > b->cap_ms / 2 ? b->cap_ms : ceiling * 2;
	if (ceiling > b->cap_ms)
		ceiling = b->cap_ms;
	if (ceiling == UINT64_MAX)
		delay = backoff_random(b);
	else
		delay = backoff_random(b) % (ceiling + 1);
	if (b->attempt < 64)
		b->attempt++;
	if (retry_after_ms > ECC_BACKOFF_MAX_RETRY_AFTER_MS)
		retry_after_ms = ECC_BACKOFF_MAX_RETRY_AFTER_MS;
	return delay < retry_after_ms ? retry_after_ms : delay;
}

void
ecc_backoff_reset(struct ecc_backoff *b)
{
	b->attempt = 0;
}

int
ecc_backoff_parse_retry_after(uint64_t *ms_out, const char *value)
{
	size_t len = strlen(value), i;
	uint64_t secs = 0;

	*ms_out = 0;
	if (len == 0 || len > 20)
		return ecc_error_set(ECC_EINVALID, "Retry-After: '%.40s' is "
		    "not a number of seconds", value);
	for (i = 0; i < len; i++) {
		if (value[i] < '0' || value[i] > '9')
			return ecc_error_set(ECC_EINVALID, "Retry-After: "
			    "'%.40s' is not a number of seconds", value);
		if (secs < ECC_BACKOFF_MAX_RETRY_AFTER_MS)
			secs = secs * 10 + (uint64_t)(value[i] - '0');
	}
	*ms_out = secs >= ECC_BACKOFF_MAX_RETRY_AFTER_MS / 1000 ?
	    ECC_BACKOFF_MAX_RETRY_AFTER_MS : secs * 1000;
	return 0;
}
