/*
 * pki.c - the cluster CA, server and node certificates, fingerprints and
 * certificate/key checks, on OpenSSL 3's EVP and X509 APIs (see pki.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "pki.h"
#include "util.h"

/* Certificates and keys are small; anything larger is not one. */
#define PKI_FILE_MAX (1024 * 1024)
#define PKI_CSR_MAX (64 * 1024)
#define PKI_DAYS_MAX 36500
/* X.509 upper bound for commonName and organizationalUnitName. */
#define PKI_NAME_MAX 64
#define PKI_SAN_MAX 253
#define PKI_SANS_MAX 64
/* Clocks of the cluster's machines may disagree a little. */
#define PKI_BACKDATE_SECONDS (5 * 60)
#define PKI_SERIAL_BYTES 16

int
ecc_pki_no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/* Read a certificate or key file, with messages naming the file and
 * saying plainly what is wrong with it. */
static int
pki_read_file(char **out, size_t *len, const char *path)
{
	struct stat st;
	int fd;

	*out = NULL;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return ecc_error_set(ECC_ENOTFOUND, "%s: missing", path);
		return ecc_error_set_errno(ECC_ERROR, "%s: not readable", path);
	}
	if (!S_ISREG(st.st_mode))
		return ecc_error_set(ECC_EINVALID, "%s: not a regular file",
		    path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return ecc_error_set_errno(ECC_ERROR, "%s: not readable", path);
	close(fd);
	return ecc_file_read(out, len, path, PKI_FILE_MAX);
}

/* Parse the first PEM certificate of a buffer; `what` names it. */
static int
pki_cert_from_pem(X509 **out, const char *pem, size_t len, const char *what)
{
	BIO *bio = NULL;
	int error = -1;

	*out = NULL;
	if (len == 0 || len > PKI_FILE_MAX ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (*out = PEM_read_bio_X509(bio, NULL, ecc_pki_no_password,
	    NULL)) == NULL) {
		ERR_clear_error();
		error = ecc_error_set(ECC_EINVALID, "%s: not a PEM certificate",
		    what);
		goto out;
	}
	error = 0;
out:
	BIO_free(bio);
	return error;
}

static int
pki_load_cert(X509 **out, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int error;

	*out = NULL;
	if ((error = pki_read_file(&buf, &len, path)) == 0)
		error = pki_cert_from_pem(out, buf, len, path);
	free(buf);
	return error;
}

static int
pki_load_key(EVP_PKEY **out, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	int error = -1;

	*out = NULL;
	if ((error = pki_read_file(&buf, &len, path)) < 0)
		goto out;
	if (len == 0 || (bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (*out = PEM_read_bio_PrivateKey(bio, NULL, ecc_pki_no_password,
	    NULL)) == NULL) {
		ERR_clear_error();
		error = ecc_error_set(ECC_EINVALID,
		    "%s: not a PEM private key (or encrypted)", path);
		goto out;
	}
	error = 0;
out:
	BIO_free(bio);
	if (buf)
		OPENSSL_cleanse(buf, len);
	free(buf);
	return error;
}

/* The contents of a memory BIO as a malloc'd NUL-terminated string. */
static char *
pki_bio_string(BIO *bio, size_t *len)
{
	char *data = NULL, *s;
	long n = BIO_get_mem_data(bio, &data);

	if (n < 0)
		n = 0;
	s = ecc_malloc((size_t)n + 1);
	if (n > 0)
		memcpy(s, data, (size_t)n);
	s[n] = '\0';
	if (len)
		*len = (size_t)n;
	return s;
}

/* Finish PEM text written to the memory BIO `bio` (`ok` says whether
 * writing it worked): a malloc'd string in *out, or `what` as the
 * message.  Frees `bio`. */
static int
pki_pem_finish(char **out, BIO *bio, int ok, const char *what)
{
	int error = 0;

	*out = NULL;
	if (!bio || !ok)
		error = ecc_error_set_ssl(ECC_ERROR, what);
	else
		*out = pki_bio_string(bio, NULL);
	BIO_free_all(bio);
	return error;
}

static int
pki_key_pem(char **out, EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());

	return pki_pem_finish(out, bio, bio && PEM_write_bio_PrivateKey(bio,
	    key, NULL, NULL, 0, NULL, NULL), "cannot encode private key");
}

int
ecc_pki_cert_pem(char **out, X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());

	return pki_pem_finish(out, bio, bio && PEM_write_bio_X509(bio, x),
	    "cannot encode certificate");
}

/* Write a new key and its certificate.  The key first: a certificate
 * without its key is useless, a key without its certificate is simply
 * regenerated.  The key is mode 0600, atomically, so no reader ever sees
 * half a key and no other user ever sees any of it. */
static int
pki_write_pair(const char *cert_path, const char *key_path, X509 *x,
    EVP_PKEY *key)
{
	char *pem = NULL;
	int error;

	if ((error = pki_key_pem(&pem, key)) == 0)
		error = ecc_file_write_atomic(key_path, pem, strlen(pem), 0600);
	if (pem)
		OPENSSL_cleanse(pem, strlen(pem));
	free(pem);
	pem = NULL;
	if (error == 0 && (error = ecc_pki_cert_pem(&pem, x)) == 0)
		error = ecc_file_write_atomic(cert_path, pem, strlen(pem), 0644);
	free(pem);
	return error;
}

static int
pki_keygen(EVP_PKEY **out)
{
	if ((*out = EVP_EC_gen("P-256")) == NULL)
		return ecc_error_set_ssl(ECC_ERROR,
		    "cannot generate a P-256 key");
	return 0;
}

static int
pki_check_days(int days)
{
	if (days < 1 || days > PKI_DAYS_MAX)
		return ecc_error_set(ECC_EINVALID,
		    "certificate validity of %d days is outside 1..%d", days,
		    PKI_DAYS_MAX);
	return 0;
}

/* A name attribute value: 1..64 bytes, no control characters. */
static int
pki_check_name_value(const char *what, const char *value)
{
	size_t i, len;

	if (!value || !*value)
		return ecc_error_set(ECC_EINVALID, "%s is empty", what);
	len = strnlen(value, PKI_NAME_MAX + 1);
	if (len > PKI_NAME_MAX)
		return ecc_error_set(ECC_EINVALID,
		    "%s is longer than %d bytes", what, PKI_NAME_MAX);
	for (i = 0; i < len; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			return ecc_error_set(ECC_EINVALID,
			    "%s contains a control character", what);
	return 0;
}

static int
pki_name_add(X509_NAME *name, const char *field, const char *value)
{
	if (!X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
	    (const unsigned char *)value, -1, -1, 0))
		return ecc_error_set_ssl(ECC_EINVALID, "bad certificate name");
	return 0;
}

/* A new name CN=cn, with OU=ou unless `ou` is NULL (values checked
 * already by pki_check_name_value()). */
static int
pki_name_new(X509_NAME **out, const char *cn, const char *ou)
{
	X509_NAME *name = NULL;
	int error = -1;

	*out = NULL;
	if ((name = X509_NAME_new()) == NULL) {
		error = ecc_error_set_ssl(ECC_ERROR, "X509_NAME_new");
		goto out;
	}
	if ((error = pki_name_add(name, "CN", cn)) < 0 ||
	    (ou && (error = pki_name_add(name, "OU", ou)) < 0))
		goto out;
	*out = name;
	name = NULL;
	error = 0;
out:
	X509_NAME_free(name);
	return error;
}

/* A new unsigned v3 certificate for `pubkey` with a random 128-bit
 * serial, valid from 5 minutes ago for `days` days.  The subject is
 * copied; the issuer is `issuer`'s subject, or the subject itself. */
static int
pki_cert_new(X509 **out, EVP_PKEY *pubkey, const X509_NAME *subject,
    X509 *issuer, int days)
{
	unsigned char serial[PKI_SERIAL_BYTES];
	X509 *x = NULL;
	BIGNUM *bn = NULL;
	int error = -1;

	*out = NULL;
	if ((error = ecc_random_bytes(serial, sizeof(serial))) < 0)
		goto out;
	serial[0] &= 0x7f;      /* positive ... */
	serial[0] |= 0x40;      /* ... and never short or zero */
	if ((x = X509_new()) == NULL ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -PKI_BACKDATE_SECONDS) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) ||
	    !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) :
	    subject) ||
	    !X509_set_pubkey(x, pubkey)) {
		error = ecc_error_set_ssl(ECC_ERROR, "cannot build certificate");
		goto out;
	}
	*out = x;
	x = NULL;
	error = 0;
out:
	BN_free(bn);
	X509_free(x);
	return error;
}

/* Add one extension in openssl.cnf syntax ("critical,CA:TRUE"). */
static int
pki_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return ecc_error_set_ssl(ECC_ERROR, "cannot build extension");
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (!ok)
		return ecc_error_set_ssl(ECC_ERROR, "cannot add extension");
	return 0;
}

static int
pki_sign(X509 *x, EVP_PKEY *key)
{
	if (X509_sign(x, key, EVP_sha256()) <= 0)
		return ecc_error_set_ssl(ECC_ERROR, "cannot sign certificate");
	return 0;
}

/* Load the CA and its key and check that they belong together. */
static int
pki_load_ca(X509 **ca, EVP_PKEY **cakey, const char *cert_path,
    const char *key_path)
{
	int error;

	*ca = NULL;
	*cakey = NULL;
	if ((error = pki_load_cert(ca, cert_path)) < 0 ||
	    (error = pki_load_key(cakey, key_path)) < 0)
		return error;
	if (X509_check_private_key(*ca, *cakey) != 1) {
		ERR_clear_error();
		return ecc_error_set(ECC_EINVALID, "%s: does not match key %s",
		    cert_path, key_path);
	}
	return 0;
}

int
ecc_pki_create_ca(const char *cert_path, const char *key_path,
    const char *common_name, int days)
{
	EVP_PKEY *key = NULL;
	X509_NAME *name = NULL;
	X509 *x = NULL;
	int error = -1;

	if ((error = pki_check_days(days)) < 0 ||
	    (error = pki_check_name_value("CA common name", common_name)) < 0)
		goto out;
	if ((error = pki_name_new(&name, common_name, NULL)) < 0 ||
	    (error = pki_keygen(&key)) < 0 ||
	    (error = pki_cert_new(&x, key, name, NULL, days)) < 0 ||
	    (error = pki_add_ext(x, NULL, NID_basic_constraints,
	    "critical,CA:TRUE")) < 0 ||
	    (error = pki_add_ext(x, NULL, NID_key_usage,
	    "critical,keyCertSign,cRLSign")) < 0 ||
	    (error = pki_add_ext(x, NULL, NID_subject_key_identifier,
	    "hash")) < 0 ||
	    (error = pki_sign(x, key)) < 0)
		goto out;
	if ((error = pki_write_pair(cert_path, key_path, x, key)) < 0)
		goto out;
	error = 0;
out:
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(key);
	return error;
}

/* One subjectAltName: an IP address when it parses as one, else a DNS
 * name of letters, digits, '-', '.', '_' and a leading "*.". */
static int
pki_san_entry(GENERAL_NAME **out, const char *san)
{
	unsigned char ip[16];
	GENERAL_NAME *gen = NULL;
	ASN1_OCTET_STRING *ipstr = NULL;
	ASN1_IA5STRING *dns = NULL;
	size_t i, len;
	int iplen = 0, error = -1;

	*out = NULL;
	len = san ? strnlen(san, PKI_SAN_MAX + 1) : 0;
	if (len == 0 || len > PKI_SAN_MAX) {
		error = ecc_error_set(ECC_EINVALID,
		    "subject alternative name must be 1..%d bytes", PKI_SAN_MAX);
		goto out;
	}
	if (inet_pton(AF_INET, san, ip) == 1)
		iplen = 4;
	else if (inet_pton(AF_INET6, san, ip) == 1)
		iplen = 16;
	if (!iplen) {
		for (i = 0; i < len; i++) {
			char c = san[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
			    c == '_' || (c == '*' && i == 0 && san[1] == '.'))) {
				error = ecc_error_set(ECC_EINVALID,
				    "'%s' is neither a host name nor an IP "
				    "address", san);
				goto out;
			}
		}
	}
	if ((gen = GENERAL_NAME_new()) == NULL)
		goto ssl_fail;
	if (iplen) {
		if ((ipstr = ASN1_OCTET_STRING_new()) == NULL ||
		    !ASN1_OCTET_STRING_set(ipstr, ip, iplen))
			goto ssl_fail;
		GENERAL_NAME_set0_value(gen, GEN_IPADD, ipstr);
		ipstr = NULL;
	} else {
		if ((dns = ASN1_IA5STRING_new()) == NULL ||
		    !ASN1_STRING_set(dns, san, (int)len))
			goto ssl_fail;
		GENERAL_NAME_set0_value(gen, GEN_DNS, dns);
		dns = NULL;
	}
	*out = gen;
	gen = NULL;
	error = 0;
	goto out;
ssl_fail:
	error = ecc_error_set_ssl(ECC_ERROR, "cannot build subjectAltName");
out:
	ASN1_OCTET_STRING_free(ipstr);
	ASN1_IA5STRING_free(dns);
	GENERAL_NAME_free(gen);
	return error;
}

static int
pki_add_sans(X509 *x, const char *const *sans, size_t nsans)
{
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gen = NULL;
	size_t i;
	int error = -1;

	if (nsans > PKI_SANS_MAX) {
		error = ecc_error_set(ECC_EINVALID,
		    "more than %d subject alternative names", PKI_SANS_MAX);
		goto out;
	}
	if ((gens = sk_GENERAL_NAME_new_null()) == NULL) {
		error = ecc_error_set_ssl(ECC_ERROR, "sk_GENERAL_NAME_new");
		goto out;
	}
	for (i = 0; i < nsans; i++) {
		if ((error = pki_san_entry(&gen, sans[i])) < 0)
			goto out;
		if (!sk_GENERAL_NAME_push(gens, gen)) {
			error = ecc_error_set_ssl(ECC_ERROR,
			    "sk_GENERAL_NAME_push");
			goto out;
		}
		gen = NULL;
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) != 1) {
		error = ecc_error_set_ssl(ECC_ERROR,
		    "cannot add subjectAltName");
		goto out;
	}
	error = 0;
out:
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	return error;
}

int
ecc_pki_issue_server(const char *ca_cert_path, const char *ca_key_path,
    const char *cert_path, const char *key_path, const char *cn,
    const char *const *sans, size_t nsans, int days)
{
	X509 *ca = NULL, *x = NULL;
	EVP_PKEY *cakey = NULL, *key = NULL;
	X509_NAME *name = NULL;
	int error = -1;

	if ((error = pki_check_days(days)) < 0 ||
	    (error = pki_check_name_value("server common name", cn)) < 0 ||
	    (error = pki_load_ca(&ca, &cakey, ca_cert_path, ca_key_path)) < 0)
		goto out;
	/* Clients match SANs only: without any, the common name is one. */
	if ((error = pki_name_new(&name, cn, NULL)) < 0 ||
	    (error = pki_keygen(&key)) < 0 ||
	    (error = pki_cert_new(&x, key, name, ca, days)) < 0 ||
	    (error = pki_add_ext(x, ca, NID_basic_constraints,
	    "critical,CA:FALSE")) < 0 ||
	    (error = pki_add_ext(x, ca, NID_key_usage,
	    "critical,digitalSignature")) < 0 ||
	    (error = pki_add_ext(x, ca, NID_ext_key_usage, "serverAuth")) < 0 ||
	    (error = pki_add_ext(x, ca, NID_subject_key_identifier,
	    "hash")) < 0 ||
	    (error = pki_add_ext(x, ca, NID_authority_key_identifier,
	    "keyid:always")) < 0 ||
	    (error = nsans ? pki_add_sans(x, sans, nsans) :
	    pki_add_sans(x, &cn, 1)) < 0 ||
	    (error = pki_sign(x, cakey)) < 0)
		goto out;
	if ((error = pki_write_pair(cert_path, key_path, x, key)) < 0)
		goto out;
	error = 0;
out:
	X509_NAME_free(name);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	return error;
}

/* CN=node, OU=subcluster. */
static int
pki_node_name(X509_NAME **out, const char *node, const char *subcluster)
{
	int error;

	*out = NULL;
	if ((error = pki_check_name_value("node name", node)) < 0 ||
	    (error = pki_check_name_value("subcluster name", subcluster)) < 0)
		return error;
	return pki_name_new(out, node, subcluster);
}

int
ecc_pki_make_csr(char **key_pem, char **csr_pem, const char *node,
    const char *subcluster)
{
	EVP_PKEY *key = NULL;
	X509_NAME *name = NULL;
	X509_REQ *req = NULL;
	BIO *bio = NULL;
	char *kp = NULL;
	int error = -1;

	*key_pem = NULL;
	*csr_pem = NULL;
	if ((error = pki_node_name(&name, node, subcluster)) < 0 ||
	    (error = pki_keygen(&key)) < 0)
		goto out;
	if ((req = X509_REQ_new()) == NULL ||
	    !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, name) ||
	    !X509_REQ_set_pubkey(req, key) ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0 ||
	    (bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509_REQ(bio, req)) {
		error = ecc_error_set_ssl(ECC_ERROR,
		    "cannot build certificate request");
		goto out;
	}
	if ((error = pki_key_pem(&kp, key)) < 0)
		goto out;
	*csr_pem = pki_bio_string(bio, NULL);
	*key_pem = kp;
	kp = NULL;
	error = 0;
out:
	free(kp);
	BIO_free_all(bio);
	X509_REQ_free(req);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	return error;
}

/* Node keys must be worth trusting: EC of 256 bits or more, RSA 2048+. */
static int
pki_check_node_key(EVP_PKEY *key)
{
	int id = EVP_PKEY_get_base_id(key), bits = EVP_PKEY_get_bits(key);

	if ((id == EVP_PKEY_EC && bits >= 256) ||
	    (id == EVP_PKEY_RSA && bits >= 2048))
		return 0;
	return ecc_error_set(ECC_EINVALID,
	    "certificate request: key type or size not accepted (use EC P-256 "
	    "or RSA 2048+)");
}

int
ecc_pki_sign_node(char **cert_pem, const char *ca_cert_path,
    const char *ca_key_path, const char *csr_pem, size_t csr_len,
    const char *node, const char *subcluster, int days)
{
	X509 *ca = NULL, *x = NULL;
	EVP_PKEY *cakey = NULL, *pub;
	X509_NAME *name = NULL;
	X509_REQ *req = NULL;
	BIO *bio = NULL;
	int error = -1;

	*cert_pem = NULL;
	if ((error = pki_check_days(days)) < 0 ||
	    (error = pki_node_name(&name, node, subcluster)) < 0)
		goto out;
	if (!csr_pem || csr_len == 0 || csr_len > PKI_CSR_MAX) {
		error = ecc_error_set(ECC_EINVALID,
		    "certificate request must be 1..%d bytes", PKI_CSR_MAX);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(csr_pem, (int)csr_len)) == NULL ||
	    (req = PEM_read_bio_X509_REQ(bio, NULL, ecc_pki_no_password,
	    NULL)) == NULL) {
		ERR_clear_error();
		error = ecc_error_set(ECC_EINVALID,
		    "not a PEM certificate request");
		goto out;
	}
	if ((pub = X509_REQ_get0_pubkey(req)) == NULL ||
	    X509_REQ_verify(req, pub) != 1) {
		ERR_clear_error();
		error = ecc_error_set(ECC_EINVALID,
		    "certificate request: bad signature");
		goto out;
	}
	if ((error = pki_check_node_key(pub)) < 0 ||
	    (error = pki_load_ca(&ca, &cakey, ca_cert_path, ca_key_path)) < 0)
		goto out;
	/* Nothing of the request but its key is used: the subject and the
	 * extensions are ours. */
	if ((error = pki_cert_new(&x, pub, name, ca, days)) < 0 ||
	    (error = pki_add_ext(x, ca, NID_basic_constraints,
	    "critical,CA:FALSE")) < 0 ||
	    (error = pki_add_ext(x, ca, NID_key_usage,
	    "critical,digitalSignature")) < 0 ||
	    (error = pki_add_ext(x, ca, NID_ext_key_usage, "clientAuth")) < 0 ||
	    (error = pki_add_ext(x, ca, NID_subject_key_identifier,
	    "hash")) < 0 ||
	    (error = pki_add_ext(x, ca, NID_authority_key_identifier,
	    "keyid:always")) < 0 ||
	    (error = pki_sign(x, cakey)) < 0 ||
	    (error = ecc_pki_cert_pem(cert_pem, x)) < 0)
		goto out;
	error = 0;
out:
	BIO_free(bio);
	X509_REQ_free(req);
	X509_NAME_free(name);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return error;
}

static int
pki_fingerprint(char out[ECC_FINGERPRINT_LEN], X509 *x)
{
	static const char digits[] = "0123456789ABCDEF";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (!X509_digest(x, EVP_sha256(), md, &n) || n != 32)
		return ecc_error_set_ssl(ECC_ERROR, "cannot hash certificate");
	for (i = 0; i < n; i++) {
		out[3 * i] = digits[md[i] >> 4];
		out[3 * i + 1] = digits[md[i] & 15];
		out[3 * i + 2] = i + 1 < n ? ':' : '\0';
	}
	return 0;
}

int
ecc_pki_fingerprint_pem(char out[ECC_FINGERPRINT_LEN], const char *pem,
    size_t len)
{
	X509 *x = NULL;
	int error;

	out[0] = '\0';
	if ((error = pki_cert_from_pem(&x, pem, len, "certificate")) == 0)
		error = pki_fingerprint(out, x);
	X509_free(x);
	return error;
}

int
ecc_pki_fingerprint_file(char out[ECC_FINGERPRINT_LEN], const char *cert_path)
{
	X509 *x = NULL;
	int error;

	out[0] = '\0';
	if ((error = pki_load_cert(&x, cert_path)) == 0)
		error = pki_fingerprint(out, x);
	X509_free(x);
	return error;
}

static int
pki_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
ecc_pki_fingerprint_normalize(char out[ECC_FINGERPRINT_LEN], const char *text)
{
	static const char *const prefixes[] = {
		"sha256 fingerprint=", "sha256:", "sha256=",
	};
	static const char digits[] = "0123456789ABCDEF";
	unsigned char md[32];
	const char *p;
	size_t i, n = 0, textlen;
	int hi = -1, v;

	out[0] = '\0';
	if (!text)
		return ecc_error_set(ECC_EINVALID, "no fingerprint given");
	textlen = strnlen(text, 256);
	while (textlen > 0 && (text[textlen - 1] == ' ' ||
	    text[textlen - 1] == '\t' || text[textlen - 1] == '\n' ||
	    text[textlen - 1] == '\r'))
		textlen--;
	p = text;
	while (*p == ' ' || *p == '\t') {
		p++;
		textlen--;
	}
	for (i = 0; i < ECC_ARRAY_SIZE(prefixes); i++) {
		size_t plen = strlen(prefixes[i]);

		if (textlen >= plen && !strncasecmp(p, prefixes[i], plen)) {
			p += plen;
			textlen -= plen;
			break;
		}
	}
	for (i = 0; i < textlen; i++) {
		if (p[i] == ':' && hi < 0 && i > 0 && i + 1 < textlen &&
		    p[i + 1] != ':')
			continue;
		if ((v = pki_hex_value(p[i])) < 0 || n >= sizeof(md))
			goto bad;
		if (hi < 0) {
			hi = v;
		} else {
			md[n++] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
	}
	if (n != sizeof(md) || hi >= 0)
		goto bad;
	for (i = 0; i < n; i++) {
		out[3 * i] = digits[md[i] >> 4];
		out[3 * i + 1] = digits[md[i] & 15];
		out[3 * i + 2] = i + 1 < n ? ':' : '\0';
	}
	return 0;
bad:
	return ecc_error_set(ECC_EINVALID,
	    "'%.120s' is not a SHA-256 fingerprint (64 hex digits, colons "
	    "optional)", text);
}

static int
pki_asn1_time(time_t *out, const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!ASN1_TIME_to_tm(t, &tm))
		return ecc_error_set_ssl(ECC_EINVALID, "bad certificate time");
	*out = timegm(&tm);
	return 0;
}

int
ecc_pki_cert_not_after(time_t *out, const char *cert_path)
{
	X509 *x = NULL;
	int error;

	*out = 0;
	if ((error = pki_load_cert(&x, cert_path)) == 0)
		error = pki_asn1_time(out, X509_get0_notAfter(x));
	X509_free(x);
	return error;
}

int
ecc_pki_check_pair(const char *cert_path, const char *key_path)
{
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	struct tm tm;
	char day[32];
	int after, before, error = -1;

	if ((error = pki_load_cert(&x, cert_path)) < 0 ||
	    (error = pki_load_key(&key, key_path)) < 0)
		goto out;
	after = X509_cmp_current_time(X509_get0_notAfter(x));
	before = X509_cmp_current_time(X509_get0_notBefore(x));
	if (after == 0 || before == 0) {
		ERR_clear_error();
		error = ecc_error_set(ECC_EINVALID, "%s: unreadable validity "
		    "dates", cert_path);
		goto out;
	}
	if (after < 0) {
		memset(&tm, 0, sizeof(tm));
		if (!ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) ||
		    !strftime(day, sizeof(day), "%Y-%m-%d", &tm))
			snprintf(day, sizeof(day), "an unreadable date");
		ERR_clear_error();
		error = ecc_error_set(ECC_EINVALID, "%s: expired on %s",
		    cert_path, day);
		goto out;
	}
	if (before > 0) {
		error = ecc_error_set(ECC_EINVALID, "%s: not yet valid",
		    cert_path);
		goto out;
	}
	if (X509_check_private_key(x, key) != 1) {
		ERR_clear_error();
		error = ecc_error_set(ECC_EINVALID, "%s: does not match key %s",
		    cert_path, key_path);
		goto out;
	}
	error = 0;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return error;
}

int
ecc_pki_cert_serial(char **out, const X509 *x)
{
	BIGNUM *bn = NULL;
	char *hex = NULL, *p;
	int error = -1;

	*out = NULL;
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) ==
	    NULL || BN_is_negative(bn) || (hex = BN_bn2hex(bn)) == NULL) {
		ERR_clear_error();
		error = ecc_error_set(ECC_EINVALID, "certificate: unreadable "
		    "serial number");
		goto out;
	}
	for (p = hex; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	*out = ecc_strdup(hex);
	error = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return error;
}

/* The one entry `nid` of `name` as a NUL-free string of 1..PKI_NAME_MAX
 * bytes. */
static int
pki_name_entry(char **out, const X509_NAME *name, int nid, const char *what)
{
	const X509_NAME_ENTRY *e;
	const ASN1_STRING *s;
	int i, len;

	*out = NULL;
	if ((i = X509_NAME_get_index_by_NID(name, nid, -1)) < 0 ||
	    X509_NAME_get_index_by_NID(name, nid, i) >= 0)
		return ecc_error_set(ECC_EINVALID, "certificate subject must "
		    "have exactly one %s", what);
	e = X509_NAME_get_entry(name, i);
	s = X509_NAME_ENTRY_get_data(e);
	len = ASN1_STRING_length(s);
	if (len < 1 || len > PKI_NAME_MAX ||
	    memchr(ASN1_STRING_get0_data(s), '\0', (size_t)len))
		return ecc_error_set(ECC_EINVALID, "certificate subject: bad "
		    "%s", what);
	*out = ecc_malloc((size_t)len + 1);
	memcpy(*out, ASN1_STRING_get0_data(s), (size_t)len);
	(*out)[len] = '\0';
	return 0;
}

int
ecc_pki_cert_node(char **node, char **subcluster, const X509 *x)
{
	const X509_NAME *name = X509_get_subject_name(x);
	int error;

	*node = *subcluster = NULL;
	if ((error = pki_name_entry(node, name, NID_commonName, "CN")) < 0 ||
	    (error = pki_name_entry(subcluster, name,
	    NID_organizationalUnitName, "OU")) < 0) {
		free(*node);
		*node = NULL;
		return error;
	}
	return 0;
}

int
ecc_pki_pem_info(char **serial, time_t *not_after, const char *pem,
    size_t len)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	int error = -1;

	*serial = NULL;
	*not_after = 0;
	if (len > INT_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (x = PEM_read_bio_X509(bio, NULL, ecc_pki_no_password, NULL)) ==
	    NULL) {
		ERR_clear_error();
		error = ecc_error_set(ECC_EINVALID, "not a PEM certificate");
		goto out;
	}
	if ((error = pki_asn1_time(not_after, X509_get0_notAfter(x))) < 0 ||
	    (error = ecc_pki_cert_serial(serial, x)) < 0)
		goto out;
	error = 0;
out:
	X509_free(x);
	BIO_free(bio);
	return error;
}
