/*
 * json.c - bounded JSON parsing, declared request-body checks, base64 and
 * compact dumps, on top of jansson and OpenSSL (see json.h).
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "error.h"
#include "json.h"
#include "util.h"

/* Bytes of input handed to EVP_EncodeBlock at once: a multiple of 3 so
 * that the pieces encode exactly as the whole, and far below INT_MAX. */
#define B64_CHUNK (3 * 1024 * 1024)

/* Limit on the error text copied while adding a location prefix. */
#define JSON_ERRMSG_MAX 1024

/* jansson quotes the input near an error; escape what is not printable
 * ASCII so the message is safe in logs and JSON error bodies. */
static void
json_error_clean(char *out, size_t outsz, const char *text)
{
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; text[i] != '\0' && o + 5 < outsz; i++) {
		c = (unsigned char)text[i];
		if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

int
ecc_json_parse(json_t **out, const char *buf, size_t len, size_t max_depth)
{
	json_error_t jerr;
	json_t *v = NULL;
	char text[JSON_ERROR_TEXT_LENGTH * 4];
	int error = -1;

	*out = NULL;
	if (!buf && len > 0) {
		error = ecc_error_set(ECC_EINVALID, "no JSON text");
		goto out;
	}
	/* jansson itself stops at 2048 levels, so the parse is bounded
	 * before our (tighter) depth check */
	v = json_loadb(buf ? buf : "", len,
	    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!v) {
		json_error_clean(text, sizeof(text), jerr.text);
		error = ecc_error_set(ECC_EINVALID, "line %d column %d: %s",
		    jerr.line, jerr.column, text);
		goto out;
	}
	if (ecc_json_depth(v) > max_depth) {
		error = ecc_error_set(ECC_EINVALID,
		    "JSON nested deeper than %zu levels", max_depth);
		goto out;
	}
	*out = v;
	v = NULL;
	error = 0;
out:
	json_decref(v);
	return error;
}

size_t
ecc_json_depth(const json_t *v)
{
	size_t i, d, max = 0;
	const char *key;
	json_t *child;

	if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++) {
			d = ecc_json_depth(json_array_get(v, i));
			if (d > max)
				max = d;
		}
		return max + 1;
	}
	if (json_is_object(v)) {
		/* json_object_foreach takes a non-const object */
		json_object_foreach((json_t *)v, key, child) {
			d = ecc_json_depth(child);
			if (d > max)
				max = d;
		}
		return max + 1;
	}
	return 0;
}

static const struct ecc_jfield *
json_field_find(const struct ecc_jfield *fields, const char *name)
{
	for (; fields->name; fields++)
		if (strcmp(fields->name, name) == 0)
			return fields;
	return NULL;
}

/* " of MIN..MAX UNIT", " of at least MIN UNIT" or "" when unbounded. */
static void
json_bounds(char *out, size_t outsz, const struct ecc_jfield *f,
    const char *unit)
{
	if (f->max < 0 && f->min <= 0)
		out[0] = '\0';
	else if (f->max < 0)
		snprintf(out, outsz, " of at least %" PRId64 " %s", f->min, unit);
	else
		snprintf(out, outsz, " of %" PRId64 "..%" PRId64 " %s",
		    f->min < 0 ? 0 : f->min, f->max, unit);
}

static int
json_in_bounds(const struct ecc_jfield *f, uint64_t n)
{
	if (f->min > 0 && n < (uint64_t)f->min)
		return 0;
	return f->max < 0 || n <= (uint64_t)f->max;
}

/* The field's value obeys its declared type and bounds. */
static int
json_field_check(const struct ecc_jfield *f, const json_t *v)
{
	char b[96];
	json_int_t i;

	switch (f->type) {
	case ECC_J_STRING:
		if (!json_is_string(v) || !json_in_bounds(f,
		    json_string_length(v))) {
			json_bounds(b, sizeof(b), f, "bytes");
			return ecc_error_set(ECC_EINVALID,
			    "field '%s': must be a string%s", f->name, b);
		}
		if (strlen(json_string_value(v)) != json_string_length(v))
			return ecc_error_set(ECC_EINVALID,
			    "field '%s': must be a string without NUL", f->name);
		return 0;
	case ECC_J_INT:
		if (json_is_integer(v)) {
			i = json_integer_value(v);
			if (i >= f->min && (f->max < 0 || i <= f->max))
				return 0;
		}
		if (f->max < 0)
			return ecc_error_set(ECC_EINVALID, "field '%s': must be "
			    "an integer of at least %" PRId64, f->name, f->min);
		return ecc_error_set(ECC_EINVALID, "field '%s': must be an "
		    "integer in %" PRId64 "..%" PRId64, f->name, f->min, f->max);
	case ECC_J_BOOL:
		if (!json_is_boolean(v))
			return ecc_error_set(ECC_EINVALID,
			    "field '%s': must be true or false", f->name);
		return 0;
	case ECC_J_ARRAY:
		if (!json_is_array(v) || !json_in_bounds(f, json_array_size(v))) {
			json_bounds(b, sizeof(b), f, "items");
			return ecc_error_set(ECC_EINVALID,
			    "field '%s': must be an array%s", f->name, b);
		}
		return 0;
	case ECC_J_OBJECT:
		if (!json_is_object(v))
			return ecc_error_set(ECC_EINVALID,
			    "field '%s': must be an object", f->name);
		return 0;
	}
	return ecc_error_set(ECC_EINVALID, "field '%s': unknown declared type",
	    f->name);
}

int
ecc_json_check(const json_t *obj, const struct ecc_jfield *fields)
{
	const struct ecc_jfield *f;
	const char *key;
	json_t *v;
	char q[80];
	int error;

	if (!json_is_object(obj))
		return ecc_error_set(ECC_EINVALID, "body must be a JSON object");
	json_object_foreach((json_t *)obj, key, v) {
		if (!json_field_find(fields, key)) {
			/* keys are valid UTF-8 (jansson checks); keep the
			 * message short and printable */
			size_t i, o = 0;
			for (i = 0; key[i] && o + 5 < sizeof(q) && i < 64; i++) {
				unsigned char c = (unsigned char)key[i];
				if (c < 0x20 || c == 0x7f || c == '\'')
					o += (size_t)snprintf(q + o, sizeof(q) - o,
					    "\\x%02x", c);
				else
					q[o++] = (char)c;
			}
			q[o] = '\0';
			return ecc_error_set(ECC_EINVALID, "unknown field '%s'",
			    q);
		}
	}
	for (f = fields; f->name; f++) {
		v = json_object_get(obj, f->name);
		if (!v) {
			if (f->required)
				return ecc_error_set(ECC_EINVALID,
				    "field '%s': is required", f->name);
			continue;
		}
		if ((error = json_field_check(f, v)) < 0)
			return error;
	}
	return 0;
}

int
ecc_json_error_at(int code, const char *where)
{
	char msg[JSON_ERRMSG_MAX];
	const char *name, *end;

	snprintf(msg, sizeof(msg), "%s", ecc_error_last());
	if (strncmp(msg, "field '", 7) == 0 &&
	    (end = strstr(msg + 7, "': ")) != NULL) {
		name = msg + 7;
		return ecc_error_set(code, "%s%s%.*s: %s", where ? where : "",
		    where ? "." : "", (int)(end - name), name, end + 3);
	}
	if (!where)
		return code;
	return ecc_error_set(code, "%s: %s", where, msg);
}

int
ecc_json_check_at(const json_t *obj, const struct ecc_jfield *fields,
    const char *where)
{
	int error;

	if (where && !json_is_object(obj))
		return ecc_error_set(ECC_EINVALID, "%s: must be an object",
		    where);
	if ((error = ecc_json_check(obj, fields)) < 0)
		return ecc_json_error_at(error, where);
	return 0;
}

char *
ecc_base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	size_t done = 0, o = 0, n;
	char *out;

	if (len > (SIZE_MAX / 4 - 1) * 3) {
		ecc_error_set(ECC_ETOOBIG, "base64: %zu bytes is too large", len);
		return NULL;
	}
	out = ecc_malloc((len + 2) / 3 * 4 + 1);
	out[0] = '\0';
	while (done < len) {
		n = len - done > B64_CHUNK ? B64_CHUNK : len - done;
		o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, in + done,
		    (int)n);
		done += n;
	}
	out[o] = '\0';
	return out;
}

int
ecc_base64_decode(char **out, size_t *outlen, const char *text,
    size_t textlen)
{
	unsigned char *buf = NULL;
	char *check = NULL;
	size_t pad = 0, n;
	int error = -1, r;

	*out = NULL;
	if (outlen)
		*outlen = 0;
	if (textlen % 4 != 0) {
		error = ecc_error_set(ECC_EINVALID,
		    "base64: length %zu is not a multiple of 4", textlen);
		goto out;
	}
	if (textlen > INT_MAX) {
		error = ecc_error_set(ECC_ETOOBIG,
		    "base64: %zu characters is too large", textlen);
		goto out;
	}
	if (textlen == 0) {
		*out = ecc_strdup("");
		error = 0;
		goto out;
	}
	if (text[textlen - 1] == '=')
		pad++;
	if (text[textlen - 2] == '=')
		pad++;
	buf = ecc_malloc(textlen / 4 * 3 + 1);
	r = EVP_DecodeBlock(buf, (const unsigned char *)text, (int)textlen);
	if (r < 0 || (size_t)r != textlen / 4 * 3) {
		error = ecc_error_set(ECC_EINVALID, "base64: invalid text");
		goto out;
	}
	n = (size_t)r - pad;
	/* EVP_DecodeBlock skips blanks and takes '=' anywhere; only text
	 * that encodes back to itself is canonical base64 */
	check = ecc_base64_encode(buf, n);
	if (!check || strlen(check) != textlen ||
	    memcmp(check, text, textlen) != 0) {
		error = ecc_error_set(ECC_EINVALID, "base64: invalid text "
		    "(bad character, padding or trailing bits)");
		goto out;
	}
	buf[n] = '\0';
	*out = (char *)buf;
	buf = NULL;
	if (outlen)
		*outlen = n;
	error = 0;
out:
	free(buf);
	free(check);
	return error;
}

char *
ecc_json_dump(const json_t *v)
{
	size_t n, m;
	char *out;

	if (!v)
		return ecc_strdup("null");
	n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
	if (n == 0)
		return ecc_strdup("null");
	out = ecc_malloc(n + 1);
	m = json_dumpb(v, out, n, JSON_COMPACT | JSON_ENCODE_ANY);
	if (m != n) {
		free(out);
		return ecc_strdup("null");
	}
	out[n] = '\0';
	return out;
}
