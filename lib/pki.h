/*
 * pki.h - the cluster CA and the certificates it signs (OpenSSL).
 *
 * Keys are ECDSA P-256.  The CA is self-signed (basicConstraints CA:TRUE,
 * keyUsage keyCertSign,cRLSign).  Server certificates carry
 * subjectAltName DNS/IP entries and extendedKeyUsage serverAuth; node
 * certificates carry CN=<node>, OU=<subcluster> and clientAuth.  Private
 * keys are written mode 0600, atomically.
 */
#ifndef ECC_PKI_H
#define ECC_PKI_H

#include <stddef.h>
#include <time.h>

#include <openssl/types.h>

/* "AB:CD:..." uppercase SHA-256 of the DER certificate, as
 * `openssl x509 -fingerprint -sha256` prints it: 95 chars + NUL. */
#define ECC_FINGERPRINT_LEN 96

int ecc_pki_create_ca(const char *cert_path, const char *key_path,
    const char *common_name, int days);

/* Issue a server certificate for `cn` with SANs (host names or IP
 * addresses; IPs detected automatically). */
int ecc_pki_issue_server(const char *ca_cert_path, const char *ca_key_path,
    const char *cert_path, const char *key_path, const char *cn,
    const char *const *sans, size_t nsans, int days);

/* Node enrollment: make a key and a CSR (PEM, malloc'd). */
int ecc_pki_make_csr(char **key_pem, char **csr_pem, const char *node,
    const char *subcluster);

/* Sign a CSR as a node client certificate: the subject is forced to
 * CN=node, OU=subcluster whatever the CSR says.  PEM in *cert_pem. */
int ecc_pki_sign_node(char **cert_pem, const char *ca_cert_path,
    const char *ca_key_path, const char *csr_pem, size_t csr_len,
    const char *node, const char *subcluster, int days);

/* Fingerprint of a PEM certificate file / buffer. */
int ecc_pki_fingerprint_file(char out[ECC_FINGERPRINT_LEN],
    const char *cert_path);
int ecc_pki_fingerprint_pem(char out[ECC_FINGERPRINT_LEN], const char *pem,
    size_t len);

/* Normalize a user-typed fingerprint (any case, with or without colons,
 * optional "SHA256:" prefix) into the canonical form; ECC_EINVALID if it
 * is not 32 bytes of hex. */
int ecc_pki_fingerprint_normalize(char out[ECC_FINGERPRINT_LEN],
    const char *text);

/* Validity end of a certificate file. */
int ecc_pki_cert_not_after(time_t *out, const char *cert_path);

/* Check that a certificate and key can be loaded, belong together and the
 * certificate is currently valid; errors name the file and the reason
 * ("expired on 2026-01-02", "permission denied", "does not match key"). */
int ecc_pki_check_pair(const char *cert_path, const char *key_path);

/* The PEM text of a certificate, malloc'd in *out. */
int ecc_pki_cert_pem(char **out, X509 *x);

/* The serial number of `x` as lower case hex without leading zeros
 * (malloc'd), the form the node store keeps. */
int ecc_pki_cert_serial(char **out, const X509 *x);
/* The node (CN) and subcluster (OU) a node certificate names, each
 * malloc'd; ECC_EINVALID unless there is exactly one of each. */
int ecc_pki_cert_node(char **node, char **subcluster, const X509 *x);
/* Serial (as ecc_pki_cert_serial) and validity end of a PEM
 * certificate buffer. */
int ecc_pki_pem_info(char **serial, time_t *not_after, const char *pem,
    size_t len);
/* OpenSSL pem_password_cb that never prompts on a terminal for an
 * encrypted key: it refuses it instead (returns 0). */
int ecc_pki_no_password(char *buf, int size, int rwflag, void *u);

#endif
