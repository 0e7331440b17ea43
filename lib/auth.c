/*
 * auth.c - password hashing (scrypt), the password policy, roles and
 * bearer tokens (see auth.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth.h"
#include "error.h"
#include "util.h"

#define SCRYPT_PREFIX "$scrypt$"
#define SCRYPT_DEFAULT_LN 15
#define SCRYPT_MIN_LN 10
#define SCRYPT_MAX_LN 20
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SCRYPT_MAX_R 32
#define SCRYPT_MAX_P 16
#define SALT_LEN 16
#define KEY_LEN 32
#define SALT_MIN 8
#define SALT_MAX 64
#define KEY_MIN 16
#define KEY_MAX 64
/* A stored hash may not ask for more work or memory than ln=20, r=8,
 * p=1 (about 1 GiB and 2^23 block mixes): a crafted store entry must not
 * be able to exhaust the verifier. */
#define SCRYPT_MAX_COST ((uint64_t)SCRYPT_R << SCRYPT_MAX_LN)
#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024
#define STORED_MAX 512
/* Room for decoding the base64 of the longest salt or key we accept. */
#define B64_DECODE_MAX (3 * ((SALT_MAX > KEY_MAX ? SALT_MAX : KEY_MAX) / 3 + 2))

static const struct {
	enum ecc_role role;
	const char *name;
} role_names[] = {
	{ ECC_ROLE_SERVICE, "service" },
	{ ECC_ROLE_ADMIN, "admin" },
};

enum ecc_role
ecc_role_from_name(const char *name)
{
	size_t i;

	if (!name)
		return ECC_ROLE_NONE;
	for (i = 0; i < ECC_ARRAY_SIZE(role_names); i++)
		if (!strcmp(role_names[i].name, name))
			return role_names[i].role;
	return ECC_ROLE_NONE;
}

const char *
ecc_role_name(enum ecc_role role)
{
	size_t i;

	for (i = 0; i < ECC_ARRAY_SIZE(role_names); i++)
		if (role_names[i].role == role)
			return role_names[i].name;
	return "none";
}

/* Memory EVP_PBE_scrypt needs for these parameters, with some slack. */
static uint64_t
scrypt_maxmem(uint64_t n, uint64_t r, uint64_t p)
{
	return 128 * r * (n + 2) + 128 * r * p + (1u << 20);
}

static int
scrypt_derive(unsigned char *key, size_t keylen, const char *password,
    const unsigned char *salt, size_t saltlen, uint64_t n, uint64_t r,
    uint64_t p)
{
	if (EVP_PBE_scrypt(password, strlen(password), salt, saltlen, n, r, p,
	    scrypt_maxmem(n, r, p), key, keylen) != 1)
		return ecc_error_set_ssl(ECC_ERROR, "scrypt failed");
	return 0;
}

/* Standard base64 with padding, malloc'd. */
static char *
b64_encode(const unsigned char *in, size_t len)
{
	char *out = ecc_malloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

/* Decode `len` bytes of padded base64 into `out` (at most `max` bytes).
 * Returns the decoded length or -1 when the text is not base64. */
static int
b64_decode(unsigned char *out, size_t max, const char *in, size_t len)
{
	unsigned char buf[B64_DECODE_MAX];
	size_t i, pad = 0;
	int n;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(buf))
		return -1;
	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c == '=') {
			if (i < len - 2)
				return -1;
			pad++;
		} else if (pad || !((c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '+' || c == '/')) {
			return -1;
		}
	}
	n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n < pad)
		return -1;
	n -= (int)pad;
	if ((size_t)n > max)
		return -1;
	memcpy(out, buf, (size_t)n);
	OPENSSL_cleanse(buf, sizeof(buf));
	return n;
}

int
ecc_password_hash(char **out, const char *password, int log2_n)
{
	unsigned char salt[SALT_LEN], key[KEY_LEN];
	char *salt64 = NULL, *key64 = NULL;
	int error = -1;

	*out = NULL;
	if (!password) {
		error = ecc_error_set(ECC_EINVALID, "no password given");
		goto out;
	}
	if (log2_n == 0)
		log2_n = SCRYPT_DEFAULT_LN;
	if (log2_n < SCRYPT_MIN_LN || log2_n > SCRYPT_MAX_LN) {
		error = ecc_error_set(ECC_EINVALID,
		    "scrypt cost ln=%d is outside %d..%d", log2_n,
		    SCRYPT_MIN_LN, SCRYPT_MAX_LN);
		goto out;
	}
	if ((error = ecc_random_bytes(salt, sizeof(salt))) < 0)
		goto out;
	if ((error = scrypt_derive(key, sizeof(key), password, salt,
	    sizeof(salt), (uint64_t)1 << log2_n, SCRYPT_R, SCRYPT_P)) < 0)
		goto out;
	salt64 = b64_encode(salt, sizeof(salt));
	key64 = b64_encode(key, sizeof(key));
	*out = ecc_printf(SCRYPT_PREFIX "ln=%d,r=%d,p=%d$%s$%s", log2_n,
	    SCRYPT_R, SCRYPT_P, salt64, key64);
	error = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	free(salt64);
	free(key64);
	return error;
}

/* Parse "NAME=DIGITS" at *p (bounded to [min, max]) and advance past it. */
static int
parse_param(uint64_t *out, const char **p, const char *name, uint64_t min,
    uint64_t max)
{
	size_t nlen = strlen(name);
	const char *s = *p;
	uint64_t v = 0;
	size_t digits = 0;

	if (strncmp(s, name, nlen) != 0 || s[nlen] != '=')
		return -1;
	s += nlen + 1;
	while (*s >= '0' && *s <= '9' && digits < 3) {
		v = v * 10 + (uint64_t)(*s - '0');
		s++;
		digits++;
	}
	if (digits == 0 || (*s >= '0' && *s <= '9') ||
	    (digits > 1 && (*p)[nlen + 1] == '0') || v < min || v > max)
		return -1;
	*out = v;
	*p = s;
	return 0;
}

int
ecc_password_verify(const char *stored, const char *password)
{
	unsigned char salt[SALT_MAX], want[KEY_MAX], got[KEY_MAX];
	const char *p, *salt64, *key64;
	uint64_t ln, r, pp;
	int saltlen, keylen, error = -1;

	if (!stored || !password) {
		error = ecc_error_set(ECC_EINVALID, "no password or hash given");
		goto out;
	}
	if (strnlen(stored, STORED_MAX + 1) > STORED_MAX ||
	    strncmp(stored, SCRYPT_PREFIX, strlen(SCRYPT_PREFIX)) != 0) {
		error = ecc_error_set(ECC_EINVALID,
		    "stored password hash is not in $scrypt$ form");
		goto out;
	}
	p = stored + strlen(SCRYPT_PREFIX);
	if (parse_param(&ln, &p, "ln", SCRYPT_MIN_LN, SCRYPT_MAX_LN) < 0 ||
	    *p++ != ',' ||
	    parse_param(&r, &p, "r", 1, SCRYPT_MAX_R) < 0 || *p++ != ',' ||
	    parse_param(&pp, &p, "p", 1, SCRYPT_MAX_P) < 0 || *p++ != '$') {
		error = ecc_error_set(ECC_EINVALID,
		    "stored password hash: bad scrypt parameters (ln must be "
		    "%d..%d)", SCRYPT_MIN_LN, SCRYPT_MAX_LN);
		goto out;
	}
	if (r * pp * ((uint64_t)1 << ln) > SCRYPT_MAX_COST) {
		error = ecc_error_set(ECC_EINVALID,
		    "stored password hash: scrypt cost too high");
		goto out;
	}
	salt64 = p;
	if ((p = strchr(salt64, '$')) == NULL) {
		error = ecc_error_set(ECC_EINVALID,
		    "stored password hash: missing hash part");
		goto out;
	}
	key64 = p + 1;
	saltlen = b64_decode(salt, sizeof(salt), salt64, (size_t)(p - salt64));
	keylen = b64_decode(want, sizeof(want), key64, strlen(key64));
	if (saltlen < SALT_MIN || keylen < KEY_MIN) {
		error = ecc_error_set(ECC_EINVALID,
		    "stored password hash: bad salt or hash encoding");
		goto out;
	}
	if ((error = scrypt_derive(got, (size_t)keylen, password, salt,
	    (size_t)saltlen, (uint64_t)1 << ln, r, pp)) < 0)
		goto out;
	if (CRYPTO_memcmp(got, want, (size_t)keylen) != 0) {
		error = ecc_error_set(ECC_EAUTH, "wrong password");
		goto out;
	}
	error = 0;
out:
	OPENSSL_cleanse(got, sizeof(got));
	OPENSSL_cleanse(want, sizeof(want));
	return error;
}

int
ecc_password_check_policy(const char *password)
{
	size_t len;

	if (!password)
		return ecc_error_set(ECC_EINVALID, "no password given");
	len = strnlen(password, PASSWORD_MAX + 1);
	if (len < PASSWORD_MIN)
		return ecc_error_set(ECC_EINVALID,
		    "password too short: at least %d bytes are required",
		    PASSWORD_MIN);
	if (len > PASSWORD_MAX)
		return ecc_error_set(ECC_EINVALID,
		    "password too long: at most %d bytes are allowed",
		    PASSWORD_MAX);
	return 0;
}

int
ecc_token_new(char out[ECC_TOKEN_HEX_LEN])
{
	unsigned char raw[(ECC_TOKEN_HEX_LEN - 1) / 2];
	int error;

	out[0] = '\0';
	if ((error = ecc_random_bytes(raw, sizeof(raw))) < 0)
		return error;
	ecc_hex_encode(out, raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}
