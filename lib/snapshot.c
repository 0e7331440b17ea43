/*
 * snapshot.c - snapshot and delta archives (see snapshot.h): building a
 * deterministic POSIX tar in memory with libarchive, and extracting one
 * into a directory while checking every member against the manifest it
 * carries.  Extraction treats the archive as hostile: only regular files
 * the manifest lists, at valid paths, never through a symlink, each one
 * hashed while written and fsynced.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "error.h"
#include "snapshot.h"
#include "util.h"

#define SNAPSHOT_READ_CHUNK (64 * 1024)
#define SNAPSHOT_ERRMSG_MAX 1024

/* A growable output buffer for archive_write_open(). */
struct snapshot_buf {
	char *data;
	size_t len, cap;
};

static la_ssize_t
snapshot_write_cb(struct archive *a, void *payload, const void *buf,
    size_t len)
{
	struct snapshot_buf *b = payload;

	(void)a;
	if (len > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 64 * 1024;

		while (len > cap - b->len)
			cap *= 2;
		b->data = ecc_realloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, buf, len);
	b->len += len;
	return (la_ssize_t)len;
}

/* Prefix the last error with `what` (a path or "snapshot"). */
static int
snapshot_error_prefix(int code, const char *what)
{
	char msg[SNAPSHOT_ERRMSG_MAX];

	snprintf(msg, sizeof(msg), "%s", ecc_error_last());
	return ecc_error_set(code, "%s: %s", what, msg);
}

static int
snapshot_archive_error(struct archive *a, const char *what)
{
	const char *msg = archive_error_string(a);

	return ecc_error_set(ECC_EINVALID, "snapshot: %s: %s", what,
	    msg ? msg : "libarchive error");
}

/* Append one regular file with the fixed metadata. */
static int
snapshot_write_member(struct archive *a, struct archive_entry *e,
    const char *path, unsigned mode, const void *data, size_t len)
{
	const char *p = data;
	la_ssize_t n;
	int r;

	archive_entry_clear(e);
	archive_entry_copy_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, (mode & 0111) ? 0755 : 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_copy_uname(e, "root");
	archive_entry_copy_gname(e, "root");
	/* ARCHIVE_WARN: a non-ASCII name that the process's locale cannot
	 * translate to UTF-8 was stored as raw bytes (hdrcharset=BINARY);
	 * it reads back the same, so it is not an error. */
	if ((r = archive_write_header(a, e)) != ARCHIVE_OK &&
	    r != ARCHIVE_WARN)
		return snapshot_archive_error(a, path);
	while (len > 0) {
		if ((n = archive_write_data(a, p, len)) <= 0)
			return snapshot_archive_error(a, path);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ecc_snapshot_build(void **out, size_t *outlen, const struct ecc_manifest *m,
    const struct ecc_snapshot_file *files, size_t nfiles)
{
	struct snapshot_buf buf = { NULL, 0, 0 };
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	const struct ecc_manifest_file *mf;
	unsigned char *seen = NULL;
	char *mjson = NULL;
	size_t mlen, i;
	int error = -1;

	*out = NULL;
	*outlen = 0;
	seen = ecc_calloc(m->nfiles, 1);
	for (i = 0; i < nfiles; i++) {
		mf = ecc_manifest_find(m, files[i].path);
		if (!mf) {
			error = ecc_error_set(ECC_EINVALID, "snapshot: '%s' is "
			    "not in the manifest", files[i].path);
			goto out;
		}
		if (mf->size != files[i].len) {
			error = ecc_error_set(ECC_EINVALID, "snapshot: '%s' has "
			    "%zu bytes, the manifest says %llu", files[i].path,
			    files[i].len, (unsigned long long)mf->size);
			goto out;
		}
		if ((mf->mode & 0111) != (files[i].mode & 0111)) {
			error = ecc_error_set(ECC_EINVALID, "snapshot: '%s' has "
			    "mode %o, the manifest says %o", files[i].path,
			    files[i].mode & 0777, mf->mode);
			goto out;
		}
		if (seen[mf - m->files]++) {
			error = ecc_error_set(ECC_EINVALID, "snapshot: '%s' "
			    "given twice", files[i].path);
			goto out;
		}
	}
	if ((error = ecc_manifest_to_json(&mjson, &mlen, m)) < 0)
		goto out;
	if (!(a = archive_write_new()) || !(e = archive_entry_new()))
		abort();
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open(a, &buf, NULL, snapshot_write_cb, NULL) !=
	    ARCHIVE_OK) {
		error = snapshot_archive_error(a, "cannot start the archive");
		goto out;
	}
	if ((error = snapshot_write_member(a, e, ECC_MANIFEST_PATH, 0644,
	    mjson, mlen)) < 0)
		goto out;
	for (i = 0; i < nfiles; i++) {
		if ((error = snapshot_write_member(a, e, files[i].path,
		    files[i].mode, files[i].data, files[i].len)) < 0)
			goto out;
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		error = snapshot_archive_error(a, "cannot finish the archive");
		goto out;
	}
	*out = buf.data;
	*outlen = buf.len;
	buf.data = NULL;
	error = 0;
out:
	archive_entry_free(e);
	if (a)
		archive_write_free(a);
	free(buf.data);
	free(mjson);
	free(seen);
	return error;
}

static int
snapshot_read_open(struct archive **out, const void *tar, size_t len)
{
	struct archive *a;

	*out = NULL;
	if (!(a = archive_read_new()))
		abort();
	if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open_memory(a, tar, len) != ARCHIVE_OK) {
		int error = snapshot_archive_error(a, "not a tar archive");

		archive_read_free(a);
		return error;
	}
	*out = a;
	return 0;
}

/* Next member's header; 1 at the end of the archive.  ARCHIVE_WARN is
 * accepted: it reports a name the locale cannot represent, which is
 * still returned as its raw bytes (and then checked like any other). */
static int
snapshot_next(struct archive_entry **e, struct archive *a)
{
	int r = archive_read_next_header(a, e);

	if (r == ARCHIVE_EOF)
		return 1;
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return snapshot_archive_error(a, "bad member header");
	if (!archive_entry_pathname(*e))
		return ecc_error_set(ECC_EINVALID,
		    "snapshot: member without a name");
	return 0;
}

/* Refuse anything but a plain regular file of a known size. */
static int
snapshot_check_regular(struct archive_entry *e, const char *path)
{
	if (archive_entry_filetype(e) != AE_IFREG ||
	    archive_entry_hardlink(e) || archive_entry_symlink(e))
		return ecc_error_set(ECC_EINVALID, "snapshot: '%s': not a "
		    "regular file (links, directories and devices are "
		    "refused)", path);
	if (archive_entry_sparse_count(e) > 0)
		return ecc_error_set(ECC_EINVALID, "snapshot: '%s': sparse "
		    "members are refused", path);
	if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
		return ecc_error_set(ECC_EINVALID, "snapshot: '%s': no size",
		    path);
	return 0;
}

/* Read exactly `len` bytes of the current member. */
static int
snapshot_read_exact(struct archive *a, char *buf, size_t len,
    const char *path)
{
	la_ssize_t n;
	size_t got = 0;

	while (got < len) {
		n = archive_read_data(a, buf + got, len - got);
		if (n < 0)
			return snapshot_archive_error(a, path);
		if (n == 0)
			return ecc_error_set(ECC_EINVALID, "snapshot: '%s': "
			    "truncated", path);
		got += (size_t)n;
	}
	return 0;
}

/* Read and parse the first member.  *raw (optional) receives its bytes. */
static int
snapshot_read_manifest_member(struct ecc_manifest **out, char **raw,
    size_t *rawlen, struct archive *a, const struct ecc_limits *lim)
{
	struct archive_entry *e;
	char *buf = NULL;
	const char *path;
	size_t size;
	int error = -1;

	*out = NULL;
	if ((error = snapshot_next(&e, a)) != 0) {
		if (error == 1)
			error = ecc_error_set(ECC_EINVALID, "snapshot: empty "
			    "archive, no %s", ECC_MANIFEST_PATH);
		goto out;
	}
	path = archive_entry_pathname(e);
	if (strcmp(path, ECC_MANIFEST_PATH) != 0) {
		error = ecc_error_set(ECC_EINVALID, "snapshot: the first "
		    "member must be %s, not '%s'", ECC_MANIFEST_PATH, path);
		goto out;
	}
	if ((error = snapshot_check_regular(e, path)) < 0)
		goto out;
	if ((uint64_t)archive_entry_size(e) > ECC_MANIFEST_MAX_BYTES) {
		error = ecc_error_set(ECC_ETOOBIG, "snapshot: %s: %lld bytes, "
		    "more than %u", path, (long long)archive_entry_size(e),
		    ECC_MANIFEST_MAX_BYTES);
		goto out;
	}
	size = (size_t)archive_entry_size(e);
	buf = ecc_malloc(size + 1);
	if ((error = snapshot_read_exact(a, buf, size, path)) < 0)
		goto out;
	buf[size] = '\0';
	if ((error = ecc_manifest_parse(out, buf, size, lim)) < 0) {
		error = snapshot_error_prefix(error, "snapshot: "
		    ECC_MANIFEST_PATH);
		goto out;
	}
	if (raw) {
		*raw = buf;
		*rawlen = size;
		buf = NULL;
	}
	error = 0;
out:
	free(buf);
	return error;
}

int
ecc_snapshot_read_manifest(struct ecc_manifest **out, const void *tar,
    size_t len, const struct ecc_limits *lim)
{
	struct ecc_limits deflim;
	struct archive *a = NULL;
	int error;

	*out = NULL;
	if (!lim) {
		ecc_limits_default(&deflim);
		lim = &deflim;
	}
	if ((error = snapshot_read_open(&a, tar, len)) < 0)
		return error;
	error = snapshot_read_manifest_member(out, NULL, NULL, a, lim);
	archive_read_free(a);
	return error;
}

/* State of one extraction. */
struct snapshot_extract {
	int rootfd;
	const char *dir;
	char **dirs;          /* directories (relative, "" = dir) to fsync */
	size_t ndirs;
	char **names;         /* extracted paths */
	size_t nnames;
	char *chunk;          /* SNAPSHOT_READ_CHUNK bytes */
};

/* Append to a string array whose capacity is the next power of two. */
static void
snapshot_strv_push(char ***v, size_t *n, char *s)
{
	*v = ecc_grow(*v, *n, sizeof(**v));
	(*v)[(*n)++] = s;
}

/* Remember that the directory holding `path`'s first `len` bytes had an
 * entry created in it. */
static void
snapshot_note_dir(struct snapshot_extract *x, const char *path, size_t len)
{
	if (x->ndirs > 0 && strlen(x->dirs[x->ndirs - 1]) == len &&
	    strncmp(x->dirs[x->ndirs - 1], path, len) == 0)
		return;
	snapshot_strv_push(&x->dirs, &x->ndirs, ecc_strndup(path, len));
}

/*
 * Create `path` (relative to x->rootfd) for writing with O_EXCL, making
 * its parent directories on the way.  No component may be a symlink:
 * each directory is opened with O_NOFOLLOW relative to the previous one,
 * so nothing outside `dir` can be reached.  Returns the descriptor or a
 * negative code.
 */
static int
snapshot_create(struct snapshot_extract *x, const char *path, unsigned mode)
{
	char *rel = ecc_strdup(path), *comp, *slash;
	int dfd = -1, nfd, fd = -1, error = -1;
	mode_t perm = (mode & 0111) ? 0755 : 0644;

	if ((dfd = fcntl(x->rootfd, F_DUPFD_CLOEXEC, 0)) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot open %s", x->dir);
		goto out;
	}
	for (comp = rel; (slash = strchr(comp, '/')) != NULL; comp = slash + 1) {
		*slash = '\0';
		if (mkdirat(dfd, comp, 0755) == 0)
			snapshot_note_dir(x, rel, comp == rel ? 0 :
			    (size_t)(comp - rel - 1));
		else if (errno != EEXIST) {
			error = ecc_error_set_errno(ECC_ERROR, "cannot create "
			    "directory %s/%s", x->dir, rel);
			goto out;
		}
		nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (nfd < 0) {
			if (errno == ELOOP || errno == ENOTDIR)
				error = ecc_error_set(ECC_EINVALID, "snapshot: "
				    "'%s': %s/%s is a symlink or not a "
				    "directory", path, x->dir, rel);
			else
				error = ecc_error_set_errno(ECC_ERROR, "cannot "
				    "open directory %s/%s", x->dir, rel);
			goto out;
		}
		close(dfd);
		dfd = nfd;
		*slash = '/';
	}
	fd = openat(dfd, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, perm);
	if (fd < 0) {
		error = ecc_error_set_errno(errno == EEXIST ? ECC_EEXISTS :
		    ECC_ERROR, "cannot create %s/%s", x->dir, path);
		goto out;
	}
	snapshot_note_dir(x, rel, comp == rel ? 0 : (size_t)(comp - rel - 1));
	/* Exact permissions whatever the umask. */
	if (fchmod(fd, perm) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot chmod %s/%s",
		    x->dir, path);
		goto out;
	}
	error = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	free(rel);
	return error;
}

/* fsync and close `fd`, which holds `path`. */
static int
snapshot_sync_close(struct snapshot_extract *x, int fd, const char *path)
{
	if (fsync(fd) < 0) {
		ecc_error_set_errno(ECC_ERROR, "cannot fsync %s/%s", x->dir,
		    path);
		close(fd);
		return ECC_ERROR;
	}
	if (close(fd) < 0)
		return ecc_error_set_errno(ECC_ERROR, "cannot close %s/%s",
		    x->dir, path);
	return 0;
}

/* Write the current member, `path`, hashing it on the way, and compare
 * size and SHA-256 with the manifest's entry. */
static int
snapshot_extract_member(struct snapshot_extract *x, struct archive *a,
    const char *path, const struct ecc_manifest_file *mf)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[ECC_SHA256_HEX_LEN];
	uint64_t total = 0;
	la_ssize_t n;
	int fd = -1, error = -1;

	if ((fd = snapshot_create(x, path, mf->mode)) < 0) {
		error = fd;
		fd = -1;
		goto out;
	}
	if (!(ctx = EVP_MD_CTX_new()) ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		error = ecc_error_set_ssl(ECC_ERROR, "SHA-256");
		goto out;
	}
	for (;;) {
		n = archive_read_data(a, x->chunk, SNAPSHOT_READ_CHUNK);
		if (n < 0) {
			error = snapshot_archive_error(a, path);
			goto out;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > mf->size) {
			error = ecc_error_set(ECC_EINVALID, "snapshot: '%s': "
			    "longer than the manifest's %llu bytes", path,
			    (unsigned long long)mf->size);
			goto out;
		}
		if (EVP_DigestUpdate(ctx, x->chunk, (size_t)n) != 1) {
			error = ecc_error_set_ssl(ECC_ERROR, "SHA-256");
			goto out;
		}
		if ((error = ecc_write_all(fd, x->chunk, (size_t)n)) < 0) {
			error = snapshot_error_prefix(error, path);
			goto out;
		}
	}
	if (total != mf->size) {
		error = ecc_error_set(ECC_EINVALID, "snapshot: '%s': truncated "
		    "(%llu of %llu bytes)", path, (unsigned long long)total,
		    (unsigned long long)mf->size);
		goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
		error = ecc_error_set_ssl(ECC_ERROR, "SHA-256");
		goto out;
	}
	ecc_hex_encode(hex, md, mdlen);
	if (strcmp(hex, mf->sha256) != 0) {
		error = ecc_error_set(ECC_EINVALID, "snapshot: '%s': SHA-256 "
		    "%s differs from the manifest's %s", path, hex, mf->sha256);
		goto out;
	}
	error = snapshot_sync_close(x, fd, path);
	fd = -1;
out:
	EVP_MD_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return error;
}

/* Check one file member against the manifest (and `seen`, indexed like
 * m->files), then extract it. */
static int
snapshot_extract_next(struct snapshot_extract *x, struct archive *a,
    struct archive_entry *e, const struct ecc_manifest *m,
    unsigned char *seen, const struct ecc_limits *lim)
{
	const struct ecc_manifest_file *mf;
	const char *path = archive_entry_pathname(e);
	int error;

	if ((error = ecc_path_validate(path, lim)) < 0)
		return snapshot_error_prefix(error, "snapshot: bad member path");
	if ((error = snapshot_check_regular(e, path)) < 0)
		return error;
	if (!(mf = ecc_manifest_find(m, path)))
		return ecc_error_set(ECC_EINVALID, "snapshot: '%s' is not "
		    "listed in the manifest", path);
	if (seen[mf - m->files]++)
		return ecc_error_set(ECC_EINVALID, "snapshot: '%s' appears "
		    "twice", path);
	if ((uint64_t)archive_entry_size(e) > lim->max_file_size)
		return ecc_error_set(ECC_ETOOBIG, "snapshot: '%s': %lld bytes, "
		    "more than max_file_size (%zu bytes)", path,
		    (long long)archive_entry_size(e), lim->max_file_size);
	if ((uint64_t)archive_entry_size(e) != mf->size)
		return ecc_error_set(ECC_EINVALID, "snapshot: '%s': %lld "
		    "bytes, the manifest says %llu", path,
		    (long long)archive_entry_size(e),
		    (unsigned long long)mf->size);
	if ((error = snapshot_extract_member(x, a, path, mf)) < 0)
		return error;
	snapshot_strv_push(&x->names, &x->nnames, ecc_strdup(path));
	return 0;
}

static int
snapshot_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* fsync every directory an entry was created in, each once. */
static int
snapshot_sync_dirs(struct snapshot_extract *x)
{
	size_t i;
	int fd;

	if (x->ndirs > 1)
		qsort(x->dirs, x->ndirs, sizeof(*x->dirs), snapshot_cmp_str);
	for (i = 0; i < x->ndirs; i++) {
		if (i > 0 && strcmp(x->dirs[i - 1], x->dirs[i]) == 0)
			continue;
		fd = openat(x->rootfd, x->dirs[i][0] ? x->dirs[i] : ".",
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return ecc_error_set_errno(ECC_ERROR, "cannot open "
			    "directory %s/%s", x->dir, x->dirs[i]);
		if (fsync(fd) < 0) {
			ecc_error_set_errno(ECC_ERROR, "cannot fsync %s/%s",
			    x->dir, x->dirs[i]);
			close(fd);
			return ECC_ERROR;
		}
		close(fd);
	}
	return 0;
}

int
ecc_snapshot_extract(struct ecc_manifest **manifest_out, char ***names_out,
    size_t *nnames_out, const void *tar, size_t len, const char *dir,
    const struct ecc_limits *lim)
{
	struct snapshot_extract x = { -1, dir, NULL, 0, NULL, 0, NULL };
	struct ecc_limits deflim;
	struct ecc_manifest *m = NULL;
	struct archive *a = NULL;
	struct archive_entry *e;
	unsigned char *seen = NULL;
	char *raw = NULL;
	size_t rawlen = 0;
	int fd, r, error = -1;

	if (manifest_out)
		*manifest_out = NULL;
	if (names_out)
		*names_out = NULL;
	if (nnames_out)
		*nnames_out = 0;
	if (!lim) {
		ecc_limits_default(&deflim);
		lim = &deflim;
	}
	if ((x.rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot open directory "
		    "%s", dir);
		goto out;
	}
	if ((error = snapshot_read_open(&a, tar, len)) < 0)
		goto out;
	if ((error = snapshot_read_manifest_member(&m, &raw, &rawlen, a,
	    lim)) < 0)
		goto out;
	seen = ecc_calloc(m->nfiles, 1);
	x.chunk = ecc_malloc(SNAPSHOT_READ_CHUNK);
	while ((r = snapshot_next(&e, a)) == 0) {
		if ((error = snapshot_extract_next(&x, a, e, m, seen, lim)) < 0)
			goto out;
	}
	if (r < 0) {
		error = r;
		goto out;
	}
	/* The manifest goes last: its presence marks a complete tree. */
	if ((fd = snapshot_create(&x, ECC_MANIFEST_PATH, 0644)) < 0) {
		error = fd;
		goto out;
	}
	if ((error = ecc_write_all(fd, raw, rawlen)) < 0) {
		close(fd);
		error = snapshot_error_prefix(error, ECC_MANIFEST_PATH);
		goto out;
	}
	if ((error = snapshot_sync_close(&x, fd, ECC_MANIFEST_PATH)) < 0)
		goto out;
	if ((error = snapshot_sync_dirs(&x)) < 0)
		goto out;
	if (manifest_out) {
		*manifest_out = m;
		m = NULL;
	}
	if (nnames_out)
		*nnames_out = x.nnames;
	if (names_out) {
		*names_out = x.names;
		x.names = NULL;
		x.nnames = 0;
	}
	error = 0;
out:
	if (a)
		archive_read_free(a);
	if (x.rootfd >= 0)
		close(x.rootfd);
	ecc_strv_free(x.dirs, x.ndirs);
	ecc_strv_free(x.names, x.nnames);
	free(x.chunk);
	free(seen);
	free(raw);
	ecc_manifest_free(m);
	return error;
}
