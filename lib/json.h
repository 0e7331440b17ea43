/*
 * json.h - bounded JSON parsing and declared request-body checks on top of
 * jansson.  Handlers see a body only after ecc_json_check() accepted it
 * against a table of fields (name, type, required, bounds).
 */
#ifndef ECC_JSON_H
#define ECC_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Parse `len` bytes as one JSON value of at most `max_depth` nesting.
 * Errors name line/column.  *out is a new reference. */
int ecc_json_parse(json_t **out, const char *buf, size_t len,
    size_t max_depth);

/* Nesting depth of a value (scalars are 0). */
size_t ecc_json_depth(const json_t *v);

enum ecc_jtype {
	ECC_J_STRING, ECC_J_INT, ECC_J_BOOL, ECC_J_ARRAY, ECC_J_OBJECT,
};

struct ecc_jfield {
	const char *name;
	enum ecc_jtype type;
	int required;
	int64_t min, max;   /* INT: value; STRING: length; ARRAY: items;
	                       max < 0 means unbounded */
};

/* Check that `obj` is an object whose members match `fields` (terminated
 * by a NULL name); unknown members are refused.  ECC_EINVALID naming the
 * field: "field 'message': must be a string of 1..4096 bytes". */
int ecc_json_check(const json_t *obj, const struct ecc_jfield *fields);

/* Re-set the last error so it starts with the member at fault: "field
 * 'path': must be..." from ecc_json_check() becomes "changes[3].path:
 * must be..."; any other message gets the plain prefix "changes[3]: ".
 * `where` may be NULL (top level: only the field name is kept).  Returns
 * `code`. */
int ecc_json_error_at(int code, const char *where);

/* ecc_json_check() of the object at `where` ("files[3]"), its messages
 * passed through ecc_json_error_at(); a value that is not an object is
 * "files[3]: must be an object".  `where` NULL: the top level, whose
 * caller has checked that it is an object. */
int ecc_json_check_at(const json_t *obj, const struct ecc_jfield *fields,
    const char *where);

/* Base64 (standard alphabet, padded) via OpenSSL.  Encoding returns
 * malloc'd text (NULL only when `len` is too large to encode).  Decoding
 * accepts only canonical text (length a multiple of 4, no blanks, '='
 * only as final padding, zero trailing bits), else ECC_EINVALID; *out is
 * malloc'd and NUL-terminated (the NUL not counted in *outlen). */
char *ecc_base64_encode(const void *data, size_t len);
int ecc_base64_decode(char **out, size_t *outlen, const char *text,
    size_t textlen);

/* json_dumps with compact output; malloc'd, never NULL. */
char *ecc_json_dump(const json_t *v);

#endif
