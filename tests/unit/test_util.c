/*
 * test_util.c - unit tests for lib/util.c: bounded reads, atomic writes,
 * directory helpers, hex, SHA-256, integer parsing and small helpers.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

static char *
path_in(void **state, const char *name)
{
	return ecc_printf("%s/%s", (const char *)*state, name);
}

static void
write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void
test_util__file_read_bounds(void **state)
{
	char *p = path_in(state, "ten"), *buf = NULL;
	size_t len = 99;

	write_file(p, "0123456789", 10);
	assert_int_equal(ecc_file_read(&buf, &len, p, 10), 0);
	assert_int_equal(len, 10);
	assert_memory_equal(buf, "0123456789", 10);
	assert_int_equal(buf[10], '\0');
	free(buf);

	assert_int_equal(ecc_file_read(&buf, &len, p, 9), ECC_ETOOBIG);
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_non_null(strstr(ecc_error_last(), p));

	/* An empty file is fine and NUL-terminated. */
	write_file(p, "", 0);
	assert_int_equal(ecc_file_read(&buf, &len, p, 10), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);
	free(p);
}

static void
test_util__file_read_errors(void **state)
{
	char *p = path_in(state, "missing"), *buf = NULL;

	assert_int_equal(ecc_file_read(&buf, NULL, p, 100), ECC_ENOTFOUND);
	assert_null(buf);
	assert_non_null(strstr(ecc_error_last(), "missing"));
	/* A directory is not a file. */
	assert_int_equal(ecc_file_read(&buf, NULL, *state, 100), ECC_EINVALID);
	assert_null(buf);
	free(p);
}

static void
test_util__write_atomic(void **state)
{
	char *p = path_in(state, "out.txt"), *buf = NULL;
	struct stat st;
	size_t len;
	int n = 0;
	DIR *d;
	struct dirent *de;

	assert_int_equal(ecc_file_write_atomic(p, "first", 5, 0600), 0);
	assert_int_equal(ecc_file_read(&buf, &len, p, 100), 0);
	assert_string_equal(buf, "first");
	free(buf);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* Replacing keeps the new mode and content and leaves no temp. */
	assert_int_equal(ecc_file_write_atomic(p, "second!", 7, 0644), 0);
	assert_int_equal(ecc_file_read(&buf, &len, p, 100), 0);
	assert_int_equal(len, 7);
	assert_string_equal(buf, "second!");
	free(buf);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	d = opendir(*state);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	assert_int_equal(n, 1);
	free(p);

	/* A missing directory is an error naming the temporary file. */
	p = path_in(state, "no/such/dir/file");
	assert_int_equal(ecc_file_write_atomic(p, "x", 1, 0644), ECC_ERROR);
	assert_non_null(strstr(ecc_error_last(), "no/such/dir"));
	free(p);
}

static void
test_util__mkdir_p_and_rm_rf(void **state)
{
	char *top = path_in(state, "a"), *deep = path_in(state, "a/b/c/d");
	char *f = path_in(state, "a/b/c/d/file"), *outside = path_in(state,
	    "outside"), *keep = path_in(state, "outside/keep");
	char *link = path_in(state, "a/b/link");
	struct stat st;

	assert_int_equal(ecc_mkdir_p(deep, 0755), 0);
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* Existing directories are fine. */
	assert_int_equal(ecc_mkdir_p(deep, 0755), 0);
	write_file(f, "x", 1);

	/* rm -rf never follows a symlink out of the tree. */
	assert_int_equal(ecc_mkdir_p(outside, 0755), 0);
	write_file(keep, "keep", 4);
	assert_int_equal(symlink(outside, link), 0);
	assert_int_equal(ecc_rm_rf(top), 0);
	assert_false(ecc_path_exists(top));
	assert_true(ecc_path_exists(keep));
	/* A missing path is fine. */
	assert_int_equal(ecc_rm_rf(top), 0);
	free(top);
	free(deep);
	free(f);
	free(outside);
	free(keep);
	free(link);
}

/* A file where a directory should be is an error, not success. */
static void
test_util__mkdir_p_file_in_way(void **state)
{
	char *f = path_in(state, "file"), *below = path_in(state, "file/sub");

	write_file(f, "x", 1);
	assert_int_equal(ecc_mkdir_p(below, 0755), ECC_ERROR);
	assert_int_equal(ecc_mkdir_p(f, 0755), ECC_ERROR);
	free(f);
	free(below);
}

static void
test_util__hex(void **state)
{
	const unsigned char in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char out[2 * sizeof(in) + 1];

	(void)state;
	ecc_hex_encode(out, in, sizeof(in));
	assert_string_equal(out, "00017f80abff");
	ecc_hex_encode(out, in, 0);
	assert_string_equal(out, "");
}

static void
test_util__sha256_vectors(void **state)
{
	char out[ECC_SHA256_HEX_LEN];

	(void)state;
	/* FIPS 180-2 test vectors. */
	ecc_sha256_hex(out, "abc", 3);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	ecc_sha256_hex(out, "", 0);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	ecc_sha256_hex(out, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmn"
	    "lmnomnopnopq", 56);
	assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1");
}

static void
test_util__parse_int64(void **state)
{
	int64_t v = 0;

	(void)state;
	assert_int_equal(ecc_parse_int64(&v, "42", 0, 100), 0);
	assert_int_equal(v, 42);
	assert_int_equal(ecc_parse_int64(&v, "-5", -10, 10), 0);
	assert_int_equal(v, -5);
	assert_int_equal(ecc_parse_int64(&v, "9223372036854775807", 0,
	    INT64_MAX), 0);
	assert_true(v == INT64_MAX);
	v = 7;
	assert_int_equal(ecc_parse_int64(&v, "101", 0, 100), ECC_EINVALID);
	assert_int_equal(ecc_parse_int64(&v, "-1", 0, 100), ECC_EINVALID);
	assert_int_equal(ecc_parse_int64(&v, "", 0, 100), ECC_EINVALID);
	assert_int_equal(ecc_parse_int64(&v, NULL, 0, 100), ECC_EINVALID);
	assert_int_equal(ecc_parse_int64(&v, "12abc", 0, 100), ECC_EINVALID);
	assert_int_equal(ecc_parse_int64(&v, "1 ", 0, 100), ECC_EINVALID);
	assert_int_equal(ecc_parse_int64(&v, "99999999999999999999", 0,
	    INT64_MAX), ECC_EINVALID);
	assert_int_equal(v, 7);
}

static void
test_util__helpers(void **state)
{
	unsigned char a[32], b[32];
	char *s;
	uint64_t t0, t1;

	(void)state;
	s = ecc_printf("%s-%d", "x", 5);
	assert_string_equal(s, "x-5");
	free(s);
	s = ecc_strndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);

	assert_int_equal(ecc_random_bytes(a, sizeof(a)), 0);
	assert_int_equal(ecc_random_bytes(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_true(ecc_mem_equal_ct(a, a, sizeof(a)));
	memcpy(b, a, sizeof(a));
	b[31] ^= 1;
	assert_false(ecc_mem_equal_ct(a, b, sizeof(a)));

	t0 = ecc_now_us();
	usleep(2000);
	t1 = ecc_now_us();
	assert_true(t1 >= t0 + 2000);
	assert_true(ecc_now_ms() >= t0 / 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_util__file_read_bounds,
		    test_setup_tmpdir, test_teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_util__file_read_errors,
		    test_setup_tmpdir, test_teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_util__write_atomic,
		    test_setup_tmpdir, test_teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_util__mkdir_p_and_rm_rf,
		    test_setup_tmpdir, test_teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_util__mkdir_p_file_in_way,
		    test_setup_tmpdir, test_teardown_tmpdir),
		cmocka_unit_test(test_util__hex),
		cmocka_unit_test(test_util__sha256_vectors),
		cmocka_unit_test(test_util__parse_int64),
		cmocka_unit_test(test_util__helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
