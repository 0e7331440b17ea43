/*
 * auth.h - password hashing and bearer tokens.
 *
 * Passwords are stored only as salted scrypt hashes (OpenSSL
 * EVP_PBE_scrypt), in the self-describing text form
 *     $scrypt$ln=15,r=8,p=1$<salt base64>$<hash base64>
 * Verification is constant time.  Tokens are 32 random bytes in hex.
 */
#ifndef ECC_AUTH_H
#define ECC_AUTH_H

#include <stddef.h>

#define ECC_TOKEN_HEX_LEN 65

enum ecc_role {
	ECC_ROLE_NONE = 0,
	ECC_ROLE_SERVICE,     /* read every view, enroll nodes; no commits */
	ECC_ROLE_ADMIN,       /* everything */
};

/* "admin" / "service" <-> enum; ECC_ROLE_NONE for unknown words. */
enum ecc_role ecc_role_from_name(const char *name);
const char *ecc_role_name(enum ecc_role role);

/* Hash `password` with a fresh 16-byte salt; malloc'd text in *out.
 * `log2_n` 0 selects the default cost (15); tests may pass a small value. */
int ecc_password_hash(char **out, const char *password, int log2_n);

/* 0 when `password` matches `stored`; ECC_EAUTH when not; ECC_EINVALID
 * when `stored` is malformed. */
int ecc_password_verify(const char *stored, const char *password);

/* Password policy: 8..1024 bytes, no NUL.  ECC_EINVALID with a reason. */
int ecc_password_check_policy(const char *password);

/* A new random token (64 hex digits + NUL). */
int ecc_token_new(char out[ECC_TOKEN_HEX_LEN]);

#endif
