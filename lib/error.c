/*
 * error.c - thread-local last error message (see error.h).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <git2.h>
#include <openssl/err.h>

#include "error.h"

#define ECC_ERROR_MAX 1024

static __thread char error_msg[ECC_ERROR_MAX];
static __thread int error_code;

int
ecc_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(error_msg, sizeof(error_msg), fmt, ap);
	va_end(ap);
	error_code = code;
	return code;
}

int
ecc_error_set_errno(int code, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(error_msg, sizeof(error_msg), fmt, ap);
	va_end(ap);
	len = strlen(error_msg);
	snprintf(error_msg + len, sizeof(error_msg) - len, ": %s", strerror(saved));
	error_code = code;
	errno = saved;
	return code;
}

int
ecc_error_set_git(int code, const char *what)
{
	const git_error *e = git_error_last();

	return ecc_error_set(code, "%s: %s", what,
	    e && e->message ? e->message : "unknown libgit2 error");
}

int
ecc_error_set_ssl(int code, const char *what)
{
	unsigned long e;
	size_t len;
	char buf[256];

	snprintf(error_msg, sizeof(error_msg), "%s", what);
	while ((e = ERR_get_error()) != 0) {
		len = strlen(error_msg);
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(error_msg + len, sizeof(error_msg) - len, ": %s", buf);
	}
	error_code = code;
	return code;
}

const char *
ecc_error_last(void)
{
	return error_msg;
}

int
ecc_error_last_code(void)
{
	return error_code;
}

void
ecc_error_clear(void)
{
	error_msg[0] = '\0';
	error_code = ECC_OK;
}

const char *
ecc_error_code_name(int code)
{
	switch (code) {
	case ECC_OK: return "ok";
	case ECC_ENOMEM: return "out_of_memory";
	case ECC_ENOTFOUND: return "not_found";
	case ECC_ECONFLICT: return "out_of_date";
	case ECC_EINVALID: return "invalid";
	case ECC_EAUTH: return "unauthorized";
	case ECC_EFORBIDDEN: return "forbidden";
	case ECC_EAGAIN: return "try_again";
	case ECC_ETOOBIG: return "too_large";
	case ECC_EEXISTS: return "exists";
	case ECC_EREJECTED: return "rejected";
	case ECC_EUNAVAIL: return "unavailable";
	default: return "internal";
	}
}
