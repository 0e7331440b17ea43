/*
 * test_snapshot.c - unit tests for lib/snapshot.c: build -> extract round
 * trip, determinism, and extraction refusing hostile archives (tampered
 * content, members not in the manifest, "..", symlinks and hard links, a
 * missing or oversized manifest, oversized or resized members, symlinked
 * parent directories, existing files).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>

#include "error.h"
#include "helpers.h"
#include "snapshot.h"
#include "util.h"

#define COMMIT "0123456789abcdef0123456789abcdef01234567"

static const struct ecc_snapshot_file sample_files[] = {
	{ "default/default/a.conf", 0644, "hello world\n", 12 },
	{ "global/ecelerity.conf", 0644, "Keep_Message_Dicts_In_Memory = true\n",
	    36 },
	{ "global/scripts/run.sh", 0755, "#!/bin/sh\nexit 0\n", 17 },
	{ "global/zero", 0644, "", 0 },
};

static struct ecc_manifest *
sample_manifest(void)
{
	struct ecc_manifest *m = ecc_manifest_new("default", 9, COMMIT);
	size_t i;

	for (i = 0; i < ECC_ARRAY_SIZE(sample_files); i++)
		ecc_manifest_add_file(m, sample_files[i].path,
		    sample_files[i].mode, sample_files[i].data,
		    sample_files[i].len);
	ecc_manifest_sort(m);
	return m;
}

static void *
sample_tar(size_t *len)
{
	struct ecc_manifest *m = sample_manifest();
	void *tar = NULL;

	assert_int_equal(ecc_snapshot_build(&tar, len, m, sample_files,
	    ECC_ARRAY_SIZE(sample_files)), 0);
	ecc_manifest_free(m);
	return tar;
}

/* A member of a hand-made archive. */
struct tmember {
	const char *path;
	char type;              /* 'f' file, 'l' symlink, 'h' hard link, 'd' */
	const char *data;       /* content, or the link target */
};

#define TAR_MAX (1024 * 1024)

/* Write an arbitrary archive with libarchive (what an attacker could
 * send); `manifest` (optional) is the first member's content. */
static void *
make_tar(size_t *len, const char *manifest, const struct tmember *v,
    size_t n)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	char *buf = ecc_malloc(TAR_MAX);
	size_t used = 0, i;

	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, buf, TAR_MAX, &used),
	    ARCHIVE_OK);
	if (manifest) {
		archive_entry_copy_pathname(e, ECC_MANIFEST_PATH);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)strlen(manifest));
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, manifest,
		    strlen(manifest)), (la_ssize_t)strlen(manifest));
	}
	for (i = 0; i < n; i++) {
		archive_entry_clear(e);
		archive_entry_copy_pathname(e, v[i].path);
		archive_entry_set_perm(e, 0644);
		switch (v[i].type) {
		case 'f':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_size(e, (la_int64_t)strlen(v[i].data));
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_copy_symlink(e, v[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_copy_hardlink(e, v[i].data);
			break;
		default:
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, 0755);
			break;
		}
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (v[i].type == 'f' && *v[i].data)
			assert_int_equal(archive_write_data(a, v[i].data,
			    strlen(v[i].data)), (la_ssize_t)strlen(v[i].data));
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
	*len = used;
	return buf;
}

/* The manifest text of the sample files (plus `extra`, if given). */
static char *
manifest_text(const char *extra_path, const char *extra_data)
{
	struct ecc_manifest *m = sample_manifest();
	char *json = NULL;
	size_t len;

	if (extra_path) {
		ecc_manifest_add_file(m, extra_path, 0644, extra_data,
		    strlen(extra_data));
		ecc_manifest_sort(m);
	}
	assert_int_equal(ecc_manifest_to_json(&json, &len, m), 0);
	ecc_manifest_free(m);
	return json;
}

static void
expect_extract_refused(const void *tar, size_t len, const char *dir,
    const struct ecc_limits *lim, int code, const char *needle)
{
	struct ecc_manifest *m = (struct ecc_manifest *)1;
	char **names = (char **)1;
	size_t n = 7;
	int rc = ecc_snapshot_extract(&m, &names, &n, tar, len, dir, lim);

	if (rc != code || !strstr(ecc_error_last(), needle))
		print_error("rc %d, message: %s\n", rc, ecc_error_last());
	assert_int_equal(rc, code);
	assert_non_null(strstr(ecc_error_last(), needle));
	assert_null(m);
	assert_null(names);
	assert_int_equal(n, 0);
}

static char *
read_file(const char *dir, const char *path, size_t *len)
{
	char *full = ecc_printf("%s/%s", dir, path), *data = NULL;

	assert_int_equal(ecc_file_read(&data, len, full, 1 << 20), 0);
	free(full);
	return data;
}

static void
test_snapshot__round_trip(void **state)
{
	const char *dir = *state;
	struct ecc_manifest *m = NULL, *orig = sample_manifest();
	struct ecc_limits lim;
	char **names = NULL, *data, *mjson = NULL, *path;
	size_t len, n = 0, i, dlen, mlen;
	struct stat st;
	void *tar;

	tar = sample_tar(&len);
	ecc_limits_default(&lim);
	assert_int_equal(ecc_snapshot_extract(&m, &names, &n, tar, len, dir,
	    &lim), 0);
	assert_int_equal(n, ECC_ARRAY_SIZE(sample_files));
	assert_int_equal(m->nfiles, orig->nfiles);
	assert_int_equal(m->revision, 9);
	assert_string_equal(m->commit, COMMIT);
	for (i = 0; i < n; i++) {
		assert_string_equal(names[i], sample_files[i].path);
		data = read_file(dir, sample_files[i].path, &dlen);
		assert_int_equal(dlen, sample_files[i].len);
		assert_memory_equal(data, sample_files[i].data, dlen);
		free(data);
		path = ecc_printf("%s/%s", dir, sample_files[i].path);
		assert_int_equal(lstat(path, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(st.st_mode & 07777, sample_files[i].mode);
		free(path);
		free(names[i]);
	}
	free(names);
	/* the manifest is written beside the files, as received */
	data = read_file(dir, ECC_MANIFEST_PATH, &dlen);
	assert_int_equal(ecc_manifest_to_json(&mjson, &mlen, orig), 0);
	assert_int_equal(dlen, mlen);
	assert_memory_equal(data, mjson, mlen);
	free(data);
	free(mjson);
	ecc_manifest_free(m);

	/* the same archive again: the files exist, O_EXCL refuses */
	assert_int_equal(ecc_snapshot_extract(NULL, NULL, NULL, tar, len, dir,
	    NULL), ECC_EEXISTS);
	free(tar);
	ecc_manifest_free(orig);
}

static void
test_snapshot__deterministic(void **state)
{
	void *a, *b;
	size_t la, lb;
	struct ecc_manifest *m = NULL;

	(void)state;
	a = sample_tar(&la);
	b = sample_tar(&lb);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	assert_int_equal(la % 512, 0);
	/* "root", mtime 0: no trace of who or when built it */
	assert_non_null(memmem(a, la, "root", 4));
	assert_int_equal(ecc_snapshot_read_manifest(&m, a, la, NULL), 0);
	assert_int_equal(m->nfiles, ECC_ARRAY_SIZE(sample_files));
	ecc_manifest_free(m);
	free(a);
	free(b);
}

static void
test_snapshot__delta(void **state)
{
	const char *dir = *state;
	struct ecc_manifest *m = sample_manifest(), *back = NULL;
	char **names = NULL;
	size_t len, n = 0;
	void *tar = NULL;

	m->since = 4;
	ecc_manifest_add_deleted(m, "global/old.conf");
	/* only the changed file travels */
	assert_int_equal(ecc_snapshot_build(&tar, &len, m, &sample_files[1],
	    1), 0);
	assert_int_equal(ecc_snapshot_extract(&back, &names, &n, tar, len,
	    dir, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "global/ecelerity.conf");
	assert_int_equal(back->since, 4);
	assert_int_equal(back->ndeleted, 1);
	free(names[0]);
	free(names);
	free(tar);
	ecc_manifest_free(back);
	ecc_manifest_free(m);
}

static void
test_snapshot__utf8_name(void **state)
{
	const char *dir = *state;
	const struct ecc_snapshot_file f = { "global/caf\xc3\xa9.conf", 0644,
	    "cr\xc3\xa8me\n", 7 };
	struct ecc_manifest *m = ecc_manifest_new("all", 2, COMMIT);
	char **names = NULL, *data;
	size_t len, n = 0, dlen;
	void *tar = NULL;

	ecc_manifest_add_file(m, f.path, f.mode, f.data, f.len);
	assert_int_equal(ecc_snapshot_build(&tar, &len, m, &f, 1), 0);
	assert_int_equal(ecc_snapshot_extract(NULL, &names, &n, tar, len, dir,
	    NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], f.path);
	data = read_file(dir, f.path, &dlen);
	assert_int_equal(dlen, f.len);
	assert_memory_equal(data, f.data, dlen);
	free(data);
	free(names[0]);
	free(names);
	free(tar);
	ecc_manifest_free(m);
}

static void
test_snapshot__build_refuses(void **state)
{
	struct ecc_manifest *m = sample_manifest();
	struct ecc_snapshot_file f[2] = { sample_files[0], sample_files[0] };
	void *tar = (void *)1;
	size_t len = 1;

	(void)state;
	f[1].path = "global/unknown";
	assert_int_equal(ecc_snapshot_build(&tar, &len, m, &f[1], 1),
	    ECC_EINVALID);
	assert_null(tar);
	assert_non_null(strstr(ecc_error_last(), "not in the manifest"));
	f[1] = sample_files[0];
	f[1].len = 3;
	assert_int_equal(ecc_snapshot_build(&tar, &len, m, &f[1], 1),
	    ECC_EINVALID);
	f[1] = sample_files[0];
	f[1].mode = 0755;
	assert_int_equal(ecc_snapshot_build(&tar, &len, m, &f[1], 1),
	    ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "mode"));
	f[1] = sample_files[0];
	assert_int_equal(ecc_snapshot_build(&tar, &len, m, f, 2),
	    ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "twice"));
	ecc_manifest_free(m);
}

static void
test_snapshot__tampered_content(void **state)
{
	const char *dir = *state;
	size_t len;
	char *tar = sample_tar(&len), *p;

	p = memmem(tar, len, "hello world", 11);
	assert_non_null(p);
	p[0] = 'j';
	expect_extract_refused(tar, len, dir, NULL, ECC_EINVALID, "SHA-256");
	free(tar);
}

static void
test_snapshot__not_in_manifest(void **state)
{
	const char *dir = *state;
	const struct tmember v[] = {
		{ "global/ecelerity.conf", 'f',
		    "Keep_Message_Dicts_In_Memory = true\n" },
		{ "global/intruder.conf", 'f', "evil\n" },
	};
	char *mj = manifest_text(NULL, NULL), *target;
	size_t len;
	void *tar = make_tar(&len, mj, v, 2);

	expect_extract_refused(tar, len, dir, NULL, ECC_EINVALID,
	    "'global/intruder.conf' is not listed in the manifest");
	target = ecc_printf("%s/global/intruder.conf", dir);
	assert_false(ecc_path_exists(target));
	/* no manifest was written for an incomplete tree */
	free(target);
	target = ecc_printf("%s/" ECC_MANIFEST_PATH, dir);
	assert_false(ecc_path_exists(target));
	free(target);
	free(tar);
	free(mj);
}

static void
test_snapshot__dotdot_path(void **state)
{
	const char *dir = *state;
	const struct tmember v[] = {
		{ "../escaped.conf", 'f', "evil\n" },
	};
	const struct tmember v2[] = {
		{ "global/../../escaped.conf", 'f', "evil\n" },
	};
	const struct tmember v3[] = {
		{ "/tmp/escaped.conf", 'f', "evil\n" },
	};
	char *mj = manifest_text(NULL, NULL), *outside;
	size_t len;
	void *tar;

	tar = make_tar(&len, mj, v, 1);
	expect_extract_refused(tar, len, dir, NULL, ECC_EINVALID, "'..'");
	free(tar);
	tar = make_tar(&len, mj, v2, 1);
	expect_extract_refused(tar, len, dir, NULL, ECC_EINVALID, "'..'");
	free(tar);
	tar = make_tar(&len, mj, v3, 1);
	expect_extract_refused(tar, len, dir, NULL, ECC_EINVALID, "bad member "
	    "path");
	free(tar);
	outside = ecc_printf("%s/../escaped.conf", dir);
	assert_false(ecc_path_exists(outside));
	free(outside);
	free(mj);
}

static void
test_snapshot__link_members(void **state)
{
	const char *dir = *state;
	const struct tmember sym[] = {
		{ "global/link", 'l', "/etc/passwd" },
	};
	const struct tmember hard[] = {
		{ "global/link", 'h', "global/zero" },
	};
	const struct tmember sub[] = {
		{ "global", 'd', NULL },
	};
	char *mj = manifest_text("global/link", "x"), *p;
	size_t len;
	void *tar;

	tar = make_tar(&len, mj, sym, 1);
	expect_extract_refused(tar, len, dir, NULL, ECC_EINVALID,
	    "not a regular file");
	free(tar);
	p = ecc_printf("%s/global/link", dir);
	assert_false(ecc_path_exists(p));
	free(p);
	tar = make_tar(&len, mj, hard, 1);
	expect_extract_refused(tar, len, dir, NULL, ECC_EINVALID,
	    "not a regular file");
	free(tar);
	tar = make_tar(&len, mj, sub, 1);
	expect_extract_refused(tar, len, dir, NULL, ECC_EINVALID, "global");
	free(tar);
	free(mj);
}

static void
test_snapshot__missing_manifest(void **state)
{
	const char *dir = *state;
	const struct tmember v[] = {
		{ "global/ecelerity.conf", 'f', "x\n" },
	};
	const struct tmember late[] = {
		{ "global/ecelerity.conf", 'f', "x\n" },
		{ ECC_MANIFEST_PATH, 'f', "{}" },
	};
	size_t len;
	void *tar;

	tar = make_tar(&len, NULL, v, 1);
	expect_extract_refused(tar, len, dir, NULL, ECC_EINVALID,
	    "first member must be " ECC_MANIFEST_PATH);
	free(tar);
	/* the manifest, but not first */
	tar = make_tar(&len, NULL, late, 2);
	expect_extract_refused(tar, len, dir, NULL, ECC_EINVALID,
	    "not 'global/ecelerity.conf'");
	free(tar);
	/* no member at all */
	tar = make_tar(&len, NULL, NULL, 0);
	expect_extract_refused(tar, len, dir, NULL, ECC_EINVALID,
	    "no " ECC_MANIFEST_PATH);
	free(tar);
	/* a manifest that does not parse */
	tar = make_tar(&len, "{\"format\": 1}", NULL, 0);
	expect_extract_refused(tar, len, dir, NULL, ECC_EINVALID,
	    ECC_MANIFEST_PATH);
	free(tar);
	/* garbage */
	expect_extract_refused("this is not a tar archive", 25, dir, NULL,
	    ECC_EINVALID, "snapshot");
	tar = ecc_calloc(1024, 1);
	expect_extract_refused(tar, 1024, dir, NULL, ECC_EINVALID, "empty");
	free(tar);
}

/* Set a ustar header's size field and recompute its checksum. */
static void
tar_patch_size(unsigned char *hdr, unsigned long long size)
{
	unsigned sum = 0;
	size_t i;

	snprintf((char *)hdr + 124, 12, "%011llo", size);
	memset(hdr + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += hdr[i];
	snprintf((char *)hdr + 148, 8, "%06o", sum);
}

static void
test_snapshot__oversized(void **state)
{
	const char *dir = *state;
	struct ecc_limits lim;
	const struct tmember v[] = {
		{ "global/ecelerity.conf", 'f',
		    "Keep_Message_Dicts_In_Memory = true\n and more\n" },
	};
	char *mj;
	size_t len;
	unsigned char *tar;

	/* a file over max_file_size, refused in the manifest already */
	ecc_limits_default(&lim);
	lim.max_file_size = 20;
	tar = sample_tar(&len);
	expect_extract_refused(tar, len, dir, &lim, ECC_ETOOBIG,
	    "max_file_size");

	/* a manifest member claiming more than ECC_MANIFEST_MAX_BYTES */
	assert_int_equal(memcmp(tar, ECC_MANIFEST_PATH,
	    strlen(ECC_MANIFEST_PATH)), 0);
	tar_patch_size(tar, ECC_MANIFEST_MAX_BYTES + 1ull);
	expect_extract_refused(tar, len, dir, NULL, ECC_ETOOBIG,
	    ECC_MANIFEST_PATH);
	free(tar);

	/* a member bigger than the manifest says */
	mj = manifest_text(NULL, NULL);
	tar = make_tar(&len, mj, v, 1);
	expect_extract_refused(tar, len, dir, NULL, ECC_EINVALID,
	    "the manifest says 36");
	free(tar);
	free(mj);
}

static void
test_snapshot__duplicate_member(void **state)
{
	const char *dir = *state;
	const struct tmember v[] = {
		{ "global/zero", 'f', "" },
		{ "global/zero", 'f', "" },
	};
	char *mj = manifest_text(NULL, NULL);
	size_t len;
	void *tar = make_tar(&len, mj, v, 2);

	expect_extract_refused(tar, len, dir, NULL, ECC_EINVALID, "twice");
	free(tar);
	free(mj);
}

static void
test_snapshot__symlinked_parent(void **state)
{
	const char *dir = *state;
	char *outside = ecc_printf("%s/outside", dir);
	char *root = ecc_printf("%s/root", dir);
	char *link = ecc_printf("%s/root/global", dir);
	char *p;
	size_t len;
	void *tar = sample_tar(&len);

	assert_int_equal(ecc_mkdir_p(outside, 0755), 0);
	assert_int_equal(ecc_mkdir_p(root, 0755), 0);
	assert_int_equal(symlink(outside, link), 0);
	expect_extract_refused(tar, len, root, NULL, ECC_EINVALID, "symlink");
	p = ecc_printf("%s/ecelerity.conf", outside);
	assert_false(ecc_path_exists(p));
	free(p);
	/* a missing destination */
	p = ecc_printf("%s/missing", dir);
	expect_extract_refused(tar, len, p, NULL, ECC_ERROR, "missing");
	free(p);
	free(tar);
	free(outside);
	free(root);
	free(link);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, test_setup_tmpdir, \
	test_teardown_tmpdir)
	const struct CMUnitTest tests[] = {
		T(test_snapshot__round_trip),
		T(test_snapshot__deterministic),
		T(test_snapshot__delta),
		T(test_snapshot__utf8_name),
		T(test_snapshot__build_refuses),
		T(test_snapshot__tampered_content),
		T(test_snapshot__not_in_manifest),
		T(test_snapshot__dotdot_path),
		T(test_snapshot__link_members),
		T(test_snapshot__missing_manifest),
		T(test_snapshot__oversized),
		T(test_snapshot__duplicate_member),
		T(test_snapshot__symlinked_parent),
	};
#undef T

	return cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
