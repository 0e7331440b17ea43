/*
 * util.c - shared helpers (see util.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "error.h"
#include "util.h"

int
ecc_file_read(char **out, size_t *outlen, const char *path, size_t max)
{
	int fd = -1, error = ECC_ERROR;
	struct stat st;
	char *buf = NULL;
	size_t cap, len = 0;
	ssize_t n;

	*out = NULL;
	if (outlen)
		*outlen = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		error = ecc_error_set_errno(errno == ENOENT ? ECC_ENOTFOUND :
		    ECC_ERROR, "cannot open %s", path);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot stat %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		error = ecc_error_set(ECC_EINVALID, "%s: not a regular file", path);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		error = ecc_error_set(ECC_ETOOBIG, "%s: larger than %zu bytes",
		    path, max);
		goto out;
	}
	cap = (size_t)st.st_size + 1;
	buf = ecc_malloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > max + 1) {
				error = ecc_error_set(ECC_ETOOBIG,
				    "%s: larger than %zu bytes", path, max);
				goto out;
			}
			cap *= 2;
			buf = ecc_realloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error = ecc_error_set_errno(ECC_ERROR, "cannot read %s", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		error = ecc_error_set(ECC_ETOOBIG, "%s: larger than %zu bytes",
		    path, max);
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
	if (outlen)
		*outlen = len;
	error = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return error;
}

int
ecc_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ecc_error_set_errno(ECC_ERROR, "write failed");
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ecc_fsync_dir(const char *path)
{
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return ecc_error_set_errno(ECC_ERROR, "cannot open directory %s",
		    path);
	if (fsync(fd) < 0)
		rc = ecc_error_set_errno(ECC_ERROR, "cannot fsync %s", path);
	close(fd);
	return rc;
}

int
ecc_fsync_path(const char *path)
{
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return ecc_error_set_errno(ECC_ERROR, "cannot open %s", path);
	if (fsync(fd) < 0)
		rc = ecc_error_set_errno(ECC_ERROR, "cannot fsync %s", path);
	close(fd);
	return rc;
}

char *
ecc_path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return ecc_strdup(".");
	if (slash == path)
		return ecc_strdup("/");
	return ecc_strndup(path, (size_t)(slash - path));
}

int
ecc_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode)
{
	char *tmp = NULL, *dir = NULL;
	int fd = -1, error = ECC_ERROR;

	tmp = ecc_printf("%s.tmp.%ld", path, (long)getpid());
	dir = ecc_path_dirname(path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot create %s", tmp);
		goto out;
	}
	if ((error = ecc_write_all(fd, data, len)) < 0)
		goto out;
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot sync %s", tmp);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		error = ecc_error_set_errno(ECC_ERROR, "cannot close %s", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot rename %s to %s",
		    tmp, path);
		goto out;
	}
	error = ecc_fsync_dir(dir);
out:
	if (fd >= 0)
		close(fd);
	if (error < 0)
		unlink(tmp);
	free(tmp);
	free(dir);
	return error;
}

int
ecc_mkdir_p(const char *path, mode_t mode)
{
	char *p = ecc_strdup(path), *s;
	int error = 0;

	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, mode) < 0) {
				struct stat st;

				if (errno != EEXIST) {
					error = ecc_error_set_errno(ECC_ERROR,
					    "cannot create directory %s", p);
					break;
				}
				if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
					error = ecc_error_set(ECC_ERROR,
					    "cannot create directory %s: a "
					    "file is in the way", p);
					break;
				}
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return error;
}

int
ecc_rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char *child;
	int error = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 :
		    ecc_error_set_errno(ECC_ERROR, "cannot stat %s", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return ecc_error_set_errno(ECC_ERROR, "cannot remove %s",
			    path);
		return 0;
	}
	if ((d = opendir(path)) == NULL)
		return ecc_error_set_errno(ECC_ERROR, "cannot open %s", path);
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		child = ecc_printf("%s/%s", path, de->d_name);
		error = ecc_rm_rf(child);
		free(child);
		if (error < 0)
			break;
	}
	closedir(d);
	if (error == 0 && rmdir(path) < 0)
		error = ecc_error_set_errno(ECC_ERROR, "cannot remove %s", path);
	return error;
}

int
ecc_path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

void
ecc_hex_encode(char *out, const unsigned char *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

void
ecc_sha256_hex(char out[ECC_SHA256_HEX_LEN], const void *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	ecc_hex_encode(out, md, mdlen);
}

static void
oom(void)
{
	fputs("ecconfig: out of memory\n", stderr);
	abort();
}

void *
ecc_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *
ecc_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *
ecc_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom();
	return q;
}

void *
ecc_grow(void *v, size_t n, size_t size)
{
	if (n == 0 || (n & (n - 1)) == 0)
		v = ecc_realloc(v, (n ? 2 * n : 1) * size);
	return v;
}

char *
ecc_strdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		oom();
	return p;
}

void
ecc_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void
ecc_str_append(char **buf, size_t *len, const char *text)
{
	size_t n = strlen(text);

	*buf = ecc_realloc(*buf, *len + n + 1);
	memcpy(*buf + *len, text, n + 1);
	*len += n;
}

char *
ecc_strndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p)
		oom();
	return p;
}

char *
ecc_printf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	return p;
}

int
ecc_parse_int64(int64_t *out, const char *s, int64_t min, int64_t max)
{
	char *end;
	long long v;

	if (!s || !*s)
		return ecc_error_set(ECC_EINVALID, "empty number");
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end != '\0')
		return ecc_error_set(ECC_EINVALID, "'%s' is not a number", s);
	if (v < min || v > max)
		return ecc_error_set(ECC_EINVALID,
		    "%lld is out of range [%lld, %lld]", v, (long long)min,
		    (long long)max);
	*out = v;
	return 0;
}

uint64_t
ecc_now_ms(void)
{
	return ecc_now_us() / 1000;
}

uint64_t
ecc_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int
ecc_random_bytes(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1)
		return ecc_error_set_ssl(ECC_ERROR, "RAND_bytes failed");
	return 0;
}

int
ecc_mem_equal_ct(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
