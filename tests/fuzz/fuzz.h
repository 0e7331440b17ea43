/*
 * fuzz.h - one macro so each fuzz target is both a libFuzzer entry point
 * (built with --enable-fuzzing) and a function the standalone replay
 * driver (replay.c) calls on every file of tests/fuzz/corpus/NAME/.
 *
 *     FUZZ_TARGET(changeset) { ... use data, size ...; return 0; }
 */
#ifndef ECC_FUZZ_H
#define ECC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#ifdef ECC_FUZZ_REPLAY
#define FUZZ_TARGET(name) \
	int fuzz_##name(const uint8_t *data, size_t size); \
	int fuzz_##name(const uint8_t *data, size_t size)
#else
#define FUZZ_TARGET(name) \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size); \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
#endif

#endif
