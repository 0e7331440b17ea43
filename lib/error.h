/*
 * error.h - error codes and the thread-local "last error" message.
 *
 * Every fallible function in libecconfig returns int: 0 on success, a
 * negative ECC_E* code on failure.  The function where the failure happened
 * records a human-readable message with ecc_error_set(); callers on the way
 * up return the code unchanged and never overwrite the message, so the
 * outermost caller can print exactly what went wrong (libgit2's model).
 */
#ifndef ECC_ERROR_H
#define ECC_ERROR_H

#include <stddef.h>

enum {
	ECC_OK = 0,
	ECC_ERROR = -1,       /* generic failure (I/O, library error) */
	ECC_ENOMEM = -2,      /* allocation failed */
	ECC_ENOTFOUND = -3,   /* object, path, user, revision does not exist */
	ECC_ECONFLICT = -4,   /* change set out of date with the head */
	ECC_EINVALID = -5,    /* bad input: path, name, JSON, config value */
	ECC_EAUTH = -6,       /* authentication failed */
	ECC_EFORBIDDEN = -7,  /* authenticated but not allowed */
	ECC_EAGAIN = -8,      /* try again later (rate limited, busy) */
	ECC_ETOOBIG = -9,     /* a size or count limit was exceeded */
	ECC_EEXISTS = -10,    /* already exists */
	ECC_EREJECTED = -11,  /* refused by a validation rule or check command */
	ECC_EUNAVAIL = -12,   /* a backing service is unavailable */
};

/* Record the message for the current thread's last error and return
 * `code` so callers can write `return ecc_error_set(ECC_EINVALID, ...)`. */
int ecc_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like ecc_error_set() but appends ": strerror(errno)". */
int ecc_error_set_errno(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Copy libgit2's last error into ours, prefixed with `what`. */
int ecc_error_set_git(int code, const char *what);

/* Drain OpenSSL's error queue into our message, prefixed with `what`. */
int ecc_error_set_ssl(int code, const char *what);

/* The current thread's last message; never NULL ("" when none). Borrowed:
 * valid until the next ecc_error_set() on this thread. */
const char *ecc_error_last(void);

/* The code recorded with the last message (ECC_OK when none). */
int ecc_error_last_code(void);

void ecc_error_clear(void);

/* A short stable identifier for a code ("not_found", "conflict", ...),
 * used in the wire protocol's error bodies. */
const char *ecc_error_code_name(int code);

#endif
