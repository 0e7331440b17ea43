/*
 * test_pki.c - unit tests for lib/pki.c: the CA, server and node
 * certificates, fingerprints and the certificate/key checks.  Every
 * certificate is generated here, at test time.
 */
#include "helpers.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "pki.h"
#include "util.h"

struct pki_fixture {
	char *dir;
	char *ca, *ca_key, *srv, *srv_key;
};

static int
pki_setup(void **state)
{
	struct pki_fixture *f = calloc(1, sizeof(*f));
	static const char *const sans[] = { "localhost", "127.0.0.1", "::1",
	    "mgr1.example.org" };

	if (!f || !(f->dir = test_tmpdir_new()))
		return -1;
	f->ca = ecc_printf("%s/ca.crt", f->dir);
	f->ca_key = ecc_printf("%s/ca.key", f->dir);
	f->srv = ecc_printf("%s/server.crt", f->dir);
	f->srv_key = ecc_printf("%s/server.key", f->dir);
	if (ecc_pki_create_ca(f->ca, f->ca_key, "Test Cluster CA", 30) < 0 ||
	    ecc_pki_issue_server(f->ca, f->ca_key, f->srv, f->srv_key, "mgr1",
	    sans, 4, 10) < 0) {
		fprintf(stderr, "setup: %s\n", ecc_error_last());
		return -1;
	}
	*state = f;
	return 0;
}

static int
pki_teardown(void **state)
{
	struct pki_fixture *f = *state;

	test_tmpdir_free(f->dir);
	free(f->ca);
	free(f->ca_key);
	free(f->srv);
	free(f->srv_key);
	free(f);
	return 0;
}

static char *
fpath(struct pki_fixture *f, const char *name)
{
	return ecc_printf("%s/%s", f->dir, name);
}

static X509 *
load_cert(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;

	assert_non_null(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

static X509 *
cert_from_pem(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

	BIO_free(bio);
	assert_non_null(x);
	return x;
}

static EVP_PKEY *
load_key(const char *path)
{
	FILE *fp = fopen(path, "r");
	EVP_PKEY *k;

	assert_non_null(fp);
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(k);
	return k;
}

/* 1 when `x` verifies against the CA file for `purpose`. */
static int
verifies(X509 *x, const char *ca_path, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	assert_int_equal(X509_STORE_load_file(store, ca_path), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, x, NULL), 1);
	X509_STORE_CTX_set_purpose(ctx, purpose);
	ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

static void
subject_field(char *out, size_t len, X509 *x, int nid)
{
	out[0] = '\0';
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), nid, out,
	    (int)len);
}

/* Rewrite a certificate's validity (seconds from now) and re-sign it
 * with `key`: expired and not-yet-valid certificates for the checks. */
static void
rewrite_validity(const char *path, const char *key_path, long from,
    long until)
{
	X509 *x = load_cert(path);
	EVP_PKEY *key = load_key(key_path);
	FILE *fp;

	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), from));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), until));
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_X509(fp, x), 1);
	fclose(fp);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void
copy_file(const char *from, const char *to)
{
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(ecc_file_read(&buf, &len, from, 1 << 20), 0);
	assert_int_equal(ecc_file_write_atomic(to, buf, len, 0600), 0);
	free(buf);
}

static void
test_pki__ca(void **state)
{
	struct pki_fixture *f = *state;
	X509 *ca = load_cert(f->ca);
	EVP_PKEY *key = load_key(f->ca_key);
	struct stat st;
	char cn[128];
	time_t end = 0, now = time(NULL);
	BIGNUM *serial;

	assert_int_equal(X509_check_ca(ca), 1);
	assert_int_equal(X509_check_issued(ca, ca), X509_V_OK);
	assert_int_equal(X509_check_private_key(ca, key), 1);
	assert_int_equal(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
	assert_int_equal(EVP_PKEY_get_bits(key), 256);
	assert_int_equal(X509_get_signature_nid(ca),
	    NID_ecdsa_with_SHA256);
	subject_field(cn, sizeof(cn), ca, NID_commonName);
	assert_string_equal(cn, "Test Cluster CA");
	assert_true(X509_get_key_usage(ca) & KU_KEY_CERT_SIGN);
	/* Serials are random and 128-bit. */
	serial = ASN1_INTEGER_to_BN(X509_get_serialNumber(ca), NULL);
	assert_non_null(serial);
	assert_int_equal(BN_num_bytes(serial), 16);
	BN_free(serial);
	assert_int_equal(stat(f->ca_key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(ecc_pki_check_pair(f->ca, f->ca_key), 0);
	/* Backdated by five minutes; valid for the days asked. */
	assert_true(X509_cmp_time(X509_get0_notBefore(ca), &(time_t){
	    now - 240 }) < 0);
	assert_int_equal(ecc_pki_cert_not_after(&end, f->ca), 0);
	assert_true(end >= now + 30 * 86400 - 60 && end <= now + 30 * 86400 +
	    60);
	X509_free(ca);
	EVP_PKEY_free(key);
}

static void
test_pki__ca_bad_args(void **state)
{
	struct pki_fixture *f = *state;
	char *c = fpath(f, "x.crt"), *k = fpath(f, "x.key");

	assert_int_equal(ecc_pki_create_ca(c, k, "CA", 0), ECC_EINVALID);
	assert_int_equal(ecc_pki_create_ca(c, k, "CA", 40000), ECC_EINVALID);
	assert_int_equal(ecc_pki_create_ca(c, k, "", 10), ECC_EINVALID);
	assert_int_equal(ecc_pki_create_ca(c, k, "bad\nname", 10),
	    ECC_EINVALID);
	assert_false(ecc_path_exists(c));
	assert_false(ecc_path_exists(k));
	free(c);
	free(k);
}

static void
test_pki__server_cert(void **state)
{
	struct pki_fixture *f = *state;
	X509 *x = load_cert(f->srv);
	struct stat st;
	char cn[128];

	assert_true(verifies(x, f->ca, X509_PURPOSE_SSL_SERVER));
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 1);
	assert_int_equal(X509_check_ca(x), 0);
	assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "mgr1.example.org", 0, 0, NULL),
	    1);
	assert_int_equal(X509_check_host(x, "other.example.org", 0, 0, NULL),
	    0);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "10.0.0.1", 0), 0);
	subject_field(cn, sizeof(cn), x, NID_commonName);
	assert_string_equal(cn, "mgr1");
	assert_int_equal(stat(f->srv_key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(ecc_pki_check_pair(f->srv, f->srv_key), 0);
	X509_free(x);
}

static void
test_pki__server_bad_args(void **state)
{
	struct pki_fixture *f = *state;
	char *c = fpath(f, "s.crt"), *k = fpath(f, "s.key");
	const char *bad_san[] = { "host name" };
	const char *inject[] = { "a,IP:1.2.3.4" };

	assert_int_equal(ecc_pki_issue_server(f->ca, f->ca_key, c, k, "mgr",
	    bad_san, 1, 10), ECC_EINVALID);
	assert_int_equal(ecc_pki_issue_server(f->ca, f->ca_key, c, k, "mgr",
	    inject, 1, 10), ECC_EINVALID);
	/* The CA key must be the CA's. */
	assert_int_equal(ecc_pki_issue_server(f->ca, f->srv_key, c, k, "mgr",
	    NULL, 0, 10), ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "does not match key"));
	assert_false(ecc_path_exists(c));
	/* Without SANs the common name is the SAN. */
	assert_int_equal(ecc_pki_issue_server(f->ca, f->ca_key, c, k,
	    "solo.example", NULL, 0, 10), 0);
	{
		X509 *x = load_cert(c);

		assert_int_equal(X509_check_host(x, "solo.example", 0, 0, NULL),
		    1);
		X509_free(x);
	}
	free(c);
	free(k);
}

static void
test_pki__check_pair_mismatch(void **state)
{
	struct pki_fixture *f = *state;

	assert_int_equal(ecc_pki_check_pair(f->srv, f->ca_key), ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), f->srv));
	assert_non_null(strstr(ecc_error_last(), "does not match key"));
	assert_non_null(strstr(ecc_error_last(), f->ca_key));
}

static void
test_pki__check_pair_expired(void **state)
{
	struct pki_fixture *f = *state;
	char *c = fpath(f, "old.crt"), *want;
	char day[32];
	time_t when = time(NULL) - 2 * 86400;
	struct tm tm;

	copy_file(f->srv, c);
	rewrite_validity(c, f->ca_key, -30 * 86400, -2 * 86400);
	assert_int_equal(ecc_pki_check_pair(c, f->srv_key), ECC_EINVALID);
	gmtime_r(&when, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	want = ecc_printf("%s: expired on %s", c, day);
	assert_string_equal(ecc_error_last(), want);
	free(want);

	rewrite_validity(c, f->ca_key, 86400, 30 * 86400);
	assert_int_equal(ecc_pki_check_pair(c, f->srv_key), ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "not yet valid"));
	free(c);
}

static void
test_pki__check_pair_unreadable(void **state)
{
	struct pki_fixture *f = *state;
	char *missing = fpath(f, "missing.crt"), *junk = fpath(f, "junk.crt");
	char *want;

	assert_int_equal(ecc_pki_check_pair(missing, f->srv_key),
	    ECC_ENOTFOUND);
	want = ecc_printf("%s: missing", missing);
	assert_string_equal(ecc_error_last(), want);
	free(want);
	assert_int_equal(ecc_pki_check_pair(f->srv, missing), ECC_ENOTFOUND);
	assert_non_null(strstr(ecc_error_last(), "missing"));

	/* A directory where the file should be. */
	assert_true(ecc_pki_check_pair(f->dir, f->srv_key) < 0);
	assert_non_null(strstr(ecc_error_last(), f->dir));
	assert_non_null(strstr(ecc_error_last(), "not a regular file"));

	assert_int_equal(ecc_file_write_atomic(junk, "garbage\n", 8, 0600), 0);
	assert_int_equal(ecc_pki_check_pair(junk, f->srv_key), ECC_EINVALID);
	want = ecc_printf("%s: not a PEM certificate", junk);
	assert_string_equal(ecc_error_last(), want);
	free(want);
	assert_int_equal(ecc_pki_check_pair(f->srv, junk), ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "not a PEM private key"));
	/* A certificate is not a key. */
	assert_int_equal(ecc_pki_check_pair(f->srv, f->srv), ECC_EINVALID);

	if (geteuid() != 0) {
		char *locked = fpath(f, "locked.key");

		copy_file(f->srv_key, locked);
		assert_int_equal(chmod(locked, 0), 0);
		assert_true(ecc_pki_check_pair(f->srv, locked) < 0);
		assert_non_null(strstr(ecc_error_last(),
		    "not readable: Permission denied"));
		free(locked);
	}
	free(missing);
	free(junk);
}

static void
test_pki__fingerprint(void **state)
{
	struct pki_fixture *f = *state;
	char a[ECC_FINGERPRINT_LEN], b[ECC_FINGERPRINT_LEN];
	char want[ECC_FINGERPRINT_LEN];
	unsigned char md[32];
	unsigned int n = 0, i;
	char *pem = NULL;
	size_t len = 0;
	X509 *x = load_cert(f->ca);

	assert_int_equal(ecc_pki_fingerprint_file(a, f->ca), 0);
	assert_int_equal(strlen(a), 95);
	assert_int_equal(X509_digest(x, EVP_sha256(), md, &n), 1);
	for (i = 0; i < n; i++)
		snprintf(want + 3 * i, 4, i + 1 < n ? "%02X:" : "%02X", md[i]);
	assert_string_equal(a, want);
	assert_int_equal(ecc_file_read(&pem, &len, f->ca, 1 << 20), 0);
	assert_int_equal(ecc_pki_fingerprint_pem(b, pem, len), 0);
	assert_string_equal(a, b);
	assert_int_equal(ecc_pki_fingerprint_pem(b, "junk", 4), ECC_EINVALID);
	assert_int_equal(ecc_pki_fingerprint_file(b, f->dir), ECC_EINVALID);
	free(pem);
	X509_free(x);
}

static void
test_pki__fingerprint_normalize(void **state)
{
	static const char canon[] =
	    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
	    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
	static const char *const good[] = {
		canon,
		"abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
		"ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:"
		    "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89",
		"SHA256:ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"
		    "ABCDEF0123456789",
		"sha256:abcdef0123456789abcdef0123456789abcdef0123456789"
		    "abcdef0123456789",
		"sha256 Fingerprint=AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:"
		    "67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
		"  abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234"
		    "56789\n",
	};
	static const char *const bad[] = {
		"",
		"abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234567",
		"abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
		    "00",
		"abcdef0123456789abcdef0123456789abcdef0123456789abcdef012345678",
		"gbcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
		"AB::CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
		    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
		"A:BCD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
		    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
		":AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
		    "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
		"MD5:abcdef0123456789abcdef0123456789abcdef0123456789abcdef01"
		    "23456789",
	};
	char out[ECC_FINGERPRINT_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (ecc_pki_fingerprint_normalize(out, good[i]) != 0)
			fail_msg("good case %zu refused: %s", i,
			    ecc_error_last());
		assert_string_equal(out, canon);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ecc_pki_fingerprint_normalize(out, bad[i]) != ECC_EINVALID)
			fail_msg("bad case %zu accepted: %s", i, bad[i]);
	assert_int_equal(ecc_pki_fingerprint_normalize(out, NULL),
	    ECC_EINVALID);
}

static void
test_pki__node_csr(void **state)
{
	struct pki_fixture *f = *state;
	char *key_pem = NULL, *csr_pem = NULL, *cert = NULL;
	char cn[128], ou[128];
	X509 *x;
	BIO *bio;
	EVP_PKEY *key;

	/* The node asks for one identity ... */
	assert_int_equal(ecc_pki_make_csr(&key_pem, &csr_pem, "evil",
	    "global"), 0);
	assert_non_null(strstr(key_pem, "PRIVATE KEY"));
	assert_non_null(strstr(csr_pem, "CERTIFICATE REQUEST"));
	/* ... and gets the one the manager decided. */
	assert_int_equal(ecc_pki_sign_node(&cert, f->ca, f->ca_key, csr_pem,
	    strlen(csr_pem), "mta1", "east", 30), 0);
	x = cert_from_pem(cert);
	subject_field(cn, sizeof(cn), x, NID_commonName);
	subject_field(ou, sizeof(ou), x, NID_organizationalUnitName);
	assert_string_equal(cn, "mta1");
	assert_string_equal(ou, "east");
	assert_true(verifies(x, f->ca, X509_PURPOSE_SSL_CLIENT));
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 0);
	/* The certificate is for the key made with the request. */
	bio = BIO_new_mem_buf(key_pem, -1);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(key);
	assert_int_equal(X509_check_private_key(x, key), 1);
	EVP_PKEY_free(key);
	X509_free(x);
	free(cert);
	cert = NULL;

	/* Garbage, truncated or oversized requests are refused. */
	assert_int_equal(ecc_pki_sign_node(&cert, f->ca, f->ca_key, "junk", 4,
	    "mta1", "east", 30), ECC_EINVALID);
	assert_int_equal(ecc_pki_sign_node(&cert, f->ca, f->ca_key, csr_pem,
	    strlen(csr_pem) / 2, "mta1", "east", 30), ECC_EINVALID);
	assert_int_equal(ecc_pki_sign_node(&cert, f->ca, f->ca_key, csr_pem,
	    0, "mta1", "east", 30), ECC_EINVALID);
	assert_int_equal(ecc_pki_sign_node(&cert, f->ca, f->ca_key, csr_pem,
	    strlen(csr_pem), "", "east", 30), ECC_EINVALID);
	assert_int_equal(ecc_pki_sign_node(&cert, f->ca, f->ca_key, csr_pem,
	    strlen(csr_pem), "mta1", "east", 0), ECC_EINVALID);
	assert_null(cert);
	free(key_pem);
	free(csr_pem);
}

static void
test_pki__node_csr_bad_signature(void **state)
{
	struct pki_fixture *f = *state;
	char *key_pem = NULL, *csr_pem = NULL, *cert = NULL, *tampered;
	X509_REQ *req;
	BIO *bio;
	unsigned char *der = NULL, *p;
	int len;

	assert_int_equal(ecc_pki_make_csr(&key_pem, &csr_pem, "n1", "east"),
	    0);
	bio = BIO_new_mem_buf(csr_pem, -1);
	req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	BIO_free(bio);
	assert_non_null(req);
	/* Flip one bit of the signature. */
	len = i2d_X509_REQ(req, &der);
	assert_true(len > 10);
	der[len - 5] ^= 1;
	X509_REQ_free(req);
	p = der;
	req = d2i_X509_REQ(NULL, (const unsigned char **)&p, len);
	assert_non_null(req);
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_X509_REQ(bio, req), 1);
	len = (int)BIO_get_mem_data(bio, &tampered);
	assert_int_equal(ecc_pki_sign_node(&cert, f->ca, f->ca_key, tampered,
	    (size_t)len, "n1", "east", 30), ECC_EINVALID);
	assert_non_null(strstr(ecc_error_last(), "signature"));
	assert_null(cert);
	BIO_free(bio);
	X509_REQ_free(req);
	OPENSSL_free(der);
	free(key_pem);
	free(csr_pem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pki__ca),
		cmocka_unit_test(test_pki__ca_bad_args),
		cmocka_unit_test(test_pki__server_cert),
		cmocka_unit_test(test_pki__server_bad_args),
		cmocka_unit_test(test_pki__check_pair_mismatch),
		cmocka_unit_test(test_pki__check_pair_expired),
		cmocka_unit_test(test_pki__check_pair_unreadable),
		cmocka_unit_test(test_pki__fingerprint),
		cmocka_unit_test(test_pki__fingerprint_normalize),
		cmocka_unit_test(test_pki__node_csr),
		cmocka_unit_test(test_pki__node_csr_bad_signature),
	};

	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
