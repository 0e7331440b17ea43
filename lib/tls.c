/*
 * tls.c - OpenSSL contexts: the daemon's server context, the clients'
 * context with CA file or CA fingerprint pinning, and per-connection host
 * name checks (see tls.h).  Every TLS setting of the project lives here.
 */
#include "config.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "pki.h"
#include "tls.h"
#include "util.h"

/* TLS 1.2 suites: forward secret and AEAD only.  TLS 1.3's defaults
 * (AES-GCM, ChaCha20-Poly1305) already are. */
#define TLS12_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20"
#define TLS_SESSION_ID_CTX "ecconfigd"
#define TLS_HOST_MAX 253

/* The pinned CA fingerprint (raw SHA-256) hangs off the SSL_CTX as ex
 * data, so it lives exactly as long as the context. */
static int pin_index = -1;
/* Set on an SSL whose server presented no certificate with the pin. */
static int pin_miss_index = -1;
static pthread_once_t pin_once = PTHREAD_ONCE_INIT;
static const char pin_miss_msg[] =
    "no certificate presented matches the pinned CA fingerprint";

static void
tls_pin_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

static void
tls_pin_index_init(void)
{
	pin_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, tls_pin_free);
	pin_miss_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* The settings every context shares. */
static int
tls_ctx_new(SSL_CTX **out)
{
	SSL_CTX *ctx;

	*out = NULL;
	if ((ctx = SSL_CTX_new(TLS_method())) == NULL)
		return ecc_error_set_ssl(ECC_ERROR, "cannot create TLS context");
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS)) {
		SSL_CTX_free(ctx);
		return ecc_error_set_ssl(ECC_ERROR, "cannot configure TLS");
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_default_passwd_cb(ctx, ecc_pki_no_password);
	*out = ctx;
	return 0;
}

/* Load our own certificate chain and key, after checking them with
 * pki.c for messages an operator can act on. */
static int
tls_use_cert(SSL_CTX *ctx, const char *cert_path, const char *key_path)
{
	int error;

	if ((error = ecc_pki_check_pair(cert_path, key_path)) < 0)
		return error;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1)
		return ecc_error_set_ssl(ECC_EINVALID, cert_path);
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1)
		return ecc_error_set_ssl(ECC_EINVALID, key_path);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return ecc_error_set_ssl(ECC_EINVALID, key_path);
	return 0;
}

/* Send the CA that issued the end of our chain along with the chain, so
 * that a client pinning the CA by fingerprint finds it. */
static int
tls_add_ca_to_chain(SSL_CTX *ctx, const char *ca_path)
{
	STACK_OF(X509) *chain = NULL;
	STACK_OF(X509_INFO) *infos = NULL;
	X509 *last, *ca;
	BIO *bio = NULL;
	int i, error = -1;

	if (!SSL_CTX_get0_chain_certs(ctx, &chain)) {
		error = ecc_error_set_ssl(ECC_ERROR, "cannot read chain");
		goto out;
	}
	last = chain && sk_X509_num(chain) > 0 ?
	    sk_X509_value(chain, sk_X509_num(chain) - 1) :
	    SSL_CTX_get0_certificate(ctx);
	if (!last) {
		error = ecc_error_set(ECC_ERROR, "no server certificate loaded");
		goto out;
	}
	if (X509_check_issued(last, last) == X509_V_OK) {
		error = 0;         /* the chain already ends in a root */
		goto out;
	}
	if ((bio = BIO_new_file(ca_path, "r")) == NULL ||
	    (infos = PEM_X509_INFO_read_bio(bio, NULL, ecc_pki_no_password,
	    NULL)) == NULL) {
		error = ecc_error_set_ssl(ECC_EINVALID, ca_path);
		goto out;
	}
	for (i = 0; i < sk_X509_INFO_num(infos); i++) {
		ca = sk_X509_INFO_value(infos, i)->x509;
		if (ca && X509_check_issued(ca, last) == X509_V_OK) {
			if (!SSL_CTX_add1_chain_cert(ctx, ca)) {
				error = ecc_error_set_ssl(ECC_ERROR,
				    "cannot add CA to the chain");
				goto out;
			}
			break;
		}
	}
	error = 0;
out:
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(bio);
	return error;
}

int
ecc_tls_server_ctx(SSL_CTX **out, const char *cert_path,
    const char *key_path, const char *client_ca_path)
{
	SSL_CTX *ctx = NULL;
	STACK_OF(X509_NAME) *names = NULL;
	int error = -1;

	*out = NULL;
	if ((error = tls_ctx_new(&ctx)) < 0 ||
	    (error = tls_use_cert(ctx, cert_path, key_path)) < 0)
		goto out;
	if (client_ca_path) {
		if (SSL_CTX_load_verify_locations(ctx, client_ca_path,
		    NULL) != 1 ||
		    (names = SSL_load_client_CA_file(client_ca_path)) == NULL) {
			error = ecc_error_set_ssl(ECC_EINVALID, client_ca_path);
			goto out;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		names = NULL;
		/* Requested, not required: password and token clients have
		 * no certificate. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if ((error = tls_add_ca_to_chain(ctx, client_ca_path)) < 0)
			goto out;
	}
	/* Thousands of nodes park a watch each: an idle connection should
	 * not hold 2 x 16 KiB of record buffers. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (!SSL_CTX_set_session_id_context(ctx,
	    (const unsigned char *)TLS_SESSION_ID_CTX,
	    sizeof(TLS_SESSION_ID_CTX) - 1)) {
		error = ecc_error_set_ssl(ECC_ERROR, "session id context");
		goto out;
	}
	*out = ctx;
	ctx = NULL;
	error = 0;
out:
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	SSL_CTX_free(ctx);
	return error;
}

/* Verification with a pinned CA: find the certificate with the pinned
 * SHA-256 in what the server presented, make it the only trust anchor
 * and verify the chain (host name included) against it. */
static int
tls_verify_pinned(X509_STORE_CTX *sctx, void *arg)
{
	const unsigned char *pin = arg;
	STACK_OF(X509) *presented = X509_STORE_CTX_get0_untrusted(sctx);
	STACK_OF(X509) *anchors = NULL;
	X509 *leaf = X509_STORE_CTX_get0_cert(sctx), *x, *found = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	int i, n, ok = 0;

	n = presented ? sk_X509_num(presented) : 0;
	for (i = -1; i < n && !found; i++) {
		x = i < 0 ? leaf : sk_X509_value(presented, i);
		mdlen = 0;
		if (x && X509_digest(x, EVP_sha256(), md, &mdlen) &&
		    mdlen == 32 && CRYPTO_memcmp(md, pin, 32) == 0)
			found = x;
	}
	if (!found) {
		SSL *ssl = X509_STORE_CTX_get_ex_data(sctx,
		    SSL_get_ex_data_X509_STORE_CTX_idx());

		if (ssl)
			SSL_set_ex_data(ssl, pin_miss_index, (void *)pin_miss_msg);
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_CERT_UNTRUSTED);
		return 0;
	}
	if ((anchors = sk_X509_new_null()) == NULL ||
	    !sk_X509_push(anchors, found)) {
		sk_X509_free(anchors);
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_OUT_OF_MEM);
		return 0;
	}
	/* The pinned certificate may be an intermediate: trust it as is. */
	X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(sctx),
	    X509_V_FLAG_PARTIAL_CHAIN);
	X509_STORE_CTX_set0_trusted_stack(sctx, anchors);
	ok = X509_verify_cert(sctx) == 1;
	X509_STORE_CTX_set0_trusted_stack(sctx, NULL);
	sk_X509_free(anchors);
	return ok;
}

static int
tls_hex_value(char c)
{
	return c >= 'A' ? c - 'A' + 10 : c - '0';
}

static int
tls_pin_fingerprint(SSL_CTX *ctx, const char *text)
{
	char canon[ECC_FINGERPRINT_LEN];
	unsigned char *pin;
	size_t i;
	int error;

	if ((error = ecc_pki_fingerprint_normalize(canon, text)) < 0)
		return error;
	pthread_once(&pin_once, tls_pin_index_init);
	if (pin_index < 0 || pin_miss_index < 0)
		return ecc_error_set_ssl(ECC_ERROR, "SSL_CTX_get_ex_new_index");
	/* The canonical form is "XX:XX:..." in uppercase hex. */
	pin = ecc_malloc(32);
	for (i = 0; i < 32; i++)
		pin[i] = (unsigned char)(tls_hex_value(canon[3 * i]) << 4 |
		    tls_hex_value(canon[3 * i + 1]));
	if (!SSL_CTX_set_ex_data(ctx, pin_index, pin)) {
		free(pin);
		return ecc_error_set_ssl(ECC_ERROR, "SSL_CTX_set_ex_data");
	}
	SSL_CTX_set_cert_verify_callback(ctx, tls_verify_pinned, pin);
	return 0;
}

int
ecc_tls_client_ctx(SSL_CTX **out, const struct ecc_tls_client_opts *o)
{
	SSL_CTX *ctx = NULL;
	int error = -1;

	*out = NULL;
	if (!o->insecure_no_verify) {
		if (o->ca_path && o->ca_fingerprint) {
			error = ecc_error_set(ECC_EINVALID, "give either a CA "
			    "file or a CA fingerprint, not both");
			goto out;
		}
		if (!o->ca_path && !o->ca_fingerprint) {
			error = ecc_error_set(ECC_EINVALID, "no CA to verify "
			    "the server with: give a CA file or fingerprint");
			goto out;
		}
	}
	if ((o->cert_path != NULL) != (o->key_path != NULL)) {
		error = ecc_error_set(ECC_EINVALID, "a client certificate "
		    "needs both the certificate and the key");
		goto out;
	}
	if ((error = tls_ctx_new(&ctx)) < 0)
		goto out;
	if (o->insecure_no_verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (o->ca_path) {
			char *buf = NULL;
			size_t len;

			/* For a clear message when the file is missing. */
			if ((error = ecc_file_read(&buf, &len, o->ca_path,
			    1024 * 1024)) < 0)
				goto out;
			free(buf);
			if (SSL_CTX_load_verify_locations(ctx, o->ca_path,
			    NULL) != 1) {
				error = ecc_error_set_ssl(ECC_EINVALID,
				    o->ca_path);
				goto out;
			}
		} else if ((error = tls_pin_fingerprint(ctx,
		    o->ca_fingerprint)) < 0) {
			goto out;
		}
	}
	if (o->cert_path && (error = tls_use_cert(ctx, o->cert_path,
	    o->key_path)) < 0)
		goto out;
	*out = ctx;
	ctx = NULL;
	error = 0;
out:
	SSL_CTX_free(ctx);
	return error;
}

int
ecc_tls_client_set_host(SSL *ssl, const char *host)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	unsigned char addr[16];
	size_t len;

	len = host ? strnlen(host, TLS_HOST_MAX + 1) : 0;
	if (len == 0 || len > TLS_HOST_MAX)
		return ecc_error_set(ECC_EINVALID,
		    "server name must be 1..%d bytes", TLS_HOST_MAX);
	if (inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1) {
		/* No SNI for address literals (RFC 6066). */
		if (!X509_VERIFY_PARAM_set1_ip_asc(param, host))
			return ecc_error_set_ssl(ECC_EINVALID, host);
		return 0;
	}
	X509_VERIFY_PARAM_set_hostflags(param,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (!SSL_set_tlsext_host_name(ssl, host) ||
	    !X509_VERIFY_PARAM_set1_host(param, host, 0))
		return ecc_error_set_ssl(ECC_EINVALID, host);
	return 0;
}

const char *
ecc_tls_verify_error(const SSL *ssl)
{
	long v = SSL_get_verify_result(ssl);

	if (v == X509_V_OK)
		return NULL;
	if (pin_miss_index >= 0 && SSL_get_ex_data(ssl, pin_miss_index))
		return pin_miss_msg;
	return X509_verify_cert_error_string(v);
}

int
ecc_tls_peer_chain_root_pem(char **out, SSL *ssl)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);

	*out = NULL;
	if (!chain || sk_X509_num(chain) == 0)
		return ecc_error_set(ECC_ENOTFOUND,
		    "the server presented no certificate");
	return ecc_pki_cert_pem(out, sk_X509_value(chain,
	    sk_X509_num(chain) - 1));
}
