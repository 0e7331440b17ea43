/*
 * tls.h - OpenSSL contexts for the daemon and the clients.
 *
 * TLS 1.2 and 1.3 only, forward-secret AEAD suites only, no compression
 * or renegotiation.  Certificates are verified against the cluster CA,
 * either from a file or pinned by fingerprint (the CA certificate must
 * then be in the chain the server sends).
 */
#ifndef ECC_TLS_H
#define ECC_TLS_H

#include <openssl/ssl.h>

/* Server context: certificate chain and key; when `client_ca_path` is
 * given, client certificates signed by it are requested (not required:
 * password/token clients have none) and verified. */
int ecc_tls_server_ctx(SSL_CTX **out, const char *cert_path,
    const char *key_path, const char *client_ca_path);

struct ecc_tls_client_opts {
	const char *ca_path;          /* trust this CA file, or */
	const char *ca_fingerprint;   /* trust the CA with this fingerprint */
	const char *cert_path;        /* optional client certificate */
	const char *key_path;
	int insecure_no_verify;       /* only to fetch a fingerprint to show */
};

/* Client context.  Host name checking is set per connection with
 * ecc_tls_client_set_host(). */
int ecc_tls_client_ctx(SSL_CTX **out, const struct ecc_tls_client_opts *o);

/* Prepare an SSL for a connection to `host`: SNI and host/IP name
 * verification against the server certificate. */
int ecc_tls_client_set_host(SSL *ssl, const char *host);

/* Why the server's certificate on `ssl` was refused, for messages
 * ("IP address mismatch", "no certificate presented matches the pinned CA
 * fingerprint"); NULL when verification did not fail.  Static string. */
const char *ecc_tls_verify_error(const SSL *ssl);

/* The CA certificate (last in the chain) a server presented on `ssl`,
 * as PEM (malloc'd), for showing its fingerprint on first contact. */
int ecc_tls_peer_chain_root_pem(char **out, SSL *ssl);

#endif
