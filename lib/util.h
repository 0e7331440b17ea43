/*
 * util.h - small helpers shared by every module: bounded file reads,
 * atomic durable file writes, directory helpers, hex and SHA-256.
 */
#ifndef ECC_UTIL_H
#define ECC_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ECC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* SHA-256 as 64 lowercase hex digits plus NUL. */
#define ECC_SHA256_HEX_LEN 65

/* Read a whole file of at most `max` bytes.  On success *out is a
 * malloc'd buffer (NUL-terminated for convenience, the NUL not counted in
 * *outlen) owned by the caller.  ECC_ETOOBIG if larger than `max`,
 * ECC_ENOTFOUND if it does not exist. */
int ecc_file_read(char **out, size_t *outlen, const char *path, size_t max);

/* Write `len` bytes to `path` atomically and durably: a temporary file in
 * the same directory, fsync, rename over `path`, fsync of the directory. */
int ecc_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode);

/* Write all of `len` bytes to fd, retrying on EINTR/short writes. */
int ecc_write_all(int fd, const void *data, size_t len);

/* fsync a directory so a rename or create in it is durable. */
int ecc_fsync_dir(const char *path);

/* fsync a file by path. */
int ecc_fsync_path(const char *path);

/* The directory part of `path` ("." when there is none, "/" for a
 * file in the root), malloc'd. */
char *ecc_path_dirname(const char *path);

/* mkdir -p; existing directories are fine. */
int ecc_mkdir_p(const char *path, mode_t mode);

/* rm -rf; a missing path is fine.  Never follows symlinks. */
int ecc_rm_rf(const char *path);

/* 1 if path exists (lstat), 0 if not. */
int ecc_path_exists(const char *path);

/* Lowercase hex of `len` bytes into out (2*len+1 bytes). */
void ecc_hex_encode(char *out, const unsigned char *in, size_t len);

/* SHA-256 of a buffer as lowercase hex. */
void ecc_sha256_hex(char out[ECC_SHA256_HEX_LEN], const void *data,
    size_t len);

/* malloc'd printf; aborts on allocation failure (memory exhaustion in a
 * formatting helper is treated as fatal, like the rest of the allocator
 * wrappers below). */
char *ecc_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *ecc_malloc(size_t n);
void *ecc_calloc(size_t n, size_t size);
void *ecc_realloc(void *p, size_t n);

/* Make room for element `n` (0-based) of an array of `size`-byte elements
 * whose capacity is implied by its count (the next power of two), so
 * appends are amortized O(1) without a capacity field.  Call it before
 * each append with the current count; returns the (moved) array. */
void *ecc_grow(void *v, size_t n, size_t size);
char *ecc_strdup(const char *s);

/* Free `n` malloc'd strings of the array `v`, then `v` (NULL is fine). */
void ecc_strv_free(char **v, size_t n);

/* Append `text` to the malloc'd NUL-terminated string *buf of *len bytes
 * (*buf may be NULL when *len is 0), growing it; *len follows. */
void ecc_str_append(char **buf, size_t *len, const char *text);
char *ecc_strndup(const char *s, size_t n);

/* Parse a decimal integer in [min, max]; the whole string must be
 * consumed.  Returns 0 or ECC_EINVALID. */
int ecc_parse_int64(int64_t *out, const char *s, int64_t min, int64_t max);

/* Monotonic clock in milliseconds / microseconds. */
uint64_t ecc_now_ms(void);
uint64_t ecc_now_us(void);

/* Fill `buf` with cryptographically random bytes (OpenSSL RAND_bytes). */
int ecc_random_bytes(void *buf, size_t len);

/* Constant-time comparison of two equal-length buffers (1 if equal). */
int ecc_mem_equal_ct(const void *a, const void *b, size_t len);

#endif
