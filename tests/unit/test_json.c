/*
 * test_json.c - unit tests of lib/json.c: bounded parsing, depth,
 * declared field checks, base64 and compact dumps.
 */
#include "config.h"

#include "helpers.h"

#include <jansson.h>

#include "error.h"
#include "json.h"

static json_t *
parse_ok(const char *text, size_t depth)
{
	json_t *v = NULL;

	assert_int_equal(ecc_json_parse(&v, text, strlen(text), depth), 0);
	assert_non_null(v);
	return v;
}

static void
expect_parse_error(const char *text, size_t len, size_t depth,
    const char *message)
{
	json_t *v = (json_t *)1;

	assert_int_equal(ecc_json_parse(&v, text, len, depth), ECC_EINVALID);
	assert_null(v);
	assert_string_equal(ecc_error_last(), message);
}

static void
test_json__parse(void **state)
{
	json_t *v;

	(void)state;
	v = parse_ok("{\"a\": [1, 2, {\"b\": true}]}", 16);
	assert_true(json_is_object(v));
	assert_int_equal(json_array_size(json_object_get(v, "a")), 3);
	json_decref(v);
	v = parse_ok("42", 0);
	assert_int_equal(json_integer_value(v), 42);
	json_decref(v);
	v = parse_ok("\"s\"", 0);
	assert_string_equal(json_string_value(v), "s");
	json_decref(v);
	/* only len bytes are read */
	v = NULL;
	assert_int_equal(ecc_json_parse(&v, "[1]garbage", 3, 4), 0);
	assert_int_equal(json_array_size(v), 1);
	json_decref(v);
}

static void
test_json__parse_errors(void **state)
{
	(void)state;
	expect_parse_error("{\"a\": 1,\n \"a\": 2}", 17, 16,
	    "line 2 column 4: duplicate object key near '\"a\"'");
	expect_parse_error("{\"a\": }", 7, 16,
	    "line 1 column 7: unexpected token near '}'");
	expect_parse_error("", 0, 16,
	    "line 1 column 0: unexpected token near end of file");
	expect_parse_error("[1] [2]", 7, 16,
	    "line 1 column 5: end of file expected near '['");
	expect_parse_error("\"a\\u0000b\"", 10, 16,
	    "line 1 column 10: \\u0000 is not allowed without JSON_ALLOW_NUL "
	    "near '\"a\\u0000b\"'");
	expect_parse_error("\"\xff\"", 3, 16,
	    "line 1 column 1: unable to decode byte 0xff near '\"'");
	expect_parse_error("[\"\xc3\xa9\x01\"]", 6, 16,
	    "line 1 column 3: control character 0x1 near "
	    "'\"\\xc3\\xa9'");
	expect_parse_error("[1,\0]", 5, 16,
	    "line 1 column 4: invalid token near end of file");
}

static void
test_json__depth(void **state)
{
	json_t *v;
	char deep[4200];
	size_t i;

	(void)state;
	v = parse_ok("1", 0);
	assert_int_equal(ecc_json_depth(v), 0);
	json_decref(v);
	v = parse_ok("[]", 1);
	assert_int_equal(ecc_json_depth(v), 1);
	json_decref(v);
	v = parse_ok("{\"a\": [1, {\"b\": []}], \"c\": {}}", 4);
	assert_int_equal(ecc_json_depth(v), 4);
	json_decref(v);
	expect_parse_error("{\"a\": [1, {\"b\": []}], \"c\": {}}", 30, 3,
	    "JSON nested deeper than 3 levels");
	expect_parse_error("[]", 2, 0, "JSON nested deeper than 0 levels");

	/* 16 levels pass with the default limit, 17 do not */
	for (i = 0; i < 16; i++)
		deep[i] = '[';
	for (i = 0; i < 16; i++)
		deep[16 + i] = ']';
	deep[32] = '\0';
	json_decref(parse_ok(deep, 16));
	memmove(deep + 1, deep, 33);
	deep[0] = '[';
	deep[33] = ']';
	deep[34] = '\0';
	expect_parse_error(deep, 34, 16, "JSON nested deeper than 16 levels");

	/* very deep input is refused, not overflowing the stack */
	memset(deep, '[', 4100);
	v = NULL;
	assert_int_equal(ecc_json_parse(&v, deep, 4100, 16), ECC_EINVALID);
	assert_null(v);
}

static const struct ecc_jfield fields[] = {
	{ "message", ECC_J_STRING, 1, 1, 4096 },
	{ "base", ECC_J_INT, 1, 0, -1 },
	{ "n", ECC_J_INT, 0, -3, 100 },
	{ "force", ECC_J_BOOL, 0, 0, 0 },
	{ "changes", ECC_J_ARRAY, 0, 1, 3 },
	{ "meta", ECC_J_OBJECT, 0, 0, 0 },
	{ "tags", ECC_J_ARRAY, 0, 0, -1 },
	{ "note", ECC_J_STRING, 0, 0, -1 },
	{ "label", ECC_J_STRING, 0, 2, -1 },
	{ NULL, 0, 0, 0, 0 },
};

static void
expect_fields(const char *text, int code, const char *message)
{
	json_t *v = parse_ok(text, 16);

	assert_int_equal(ecc_json_check(v, fields), code);
	if (message)
		assert_string_equal(ecc_error_last(), message);
	json_decref(v);
}

static void
test_json__check(void **state)
{
	json_t *v;

	(void)state;
	expect_fields("{\"message\": \"m\", \"base\": 0}", 0, NULL);
	expect_fields("{\"message\": \"m\", \"base\": 9, \"n\": -3, "
	    "\"force\": false, \"changes\": [1, 2, 3], \"meta\": {}, "
	    "\"tags\": [], \"note\": \"\", \"label\": \"ab\"}", 0, NULL);
	expect_fields("[]", ECC_EINVALID, "body must be a JSON object");
	expect_fields("{\"base\": 0}", ECC_EINVALID,
	    "field 'message': is required");
	expect_fields("{\"message\": \"m\", \"base\": 0, \"extra\": 1}",
	    ECC_EINVALID, "unknown field 'extra'");
	expect_fields("{\"message\": \"\", \"base\": 0}", ECC_EINVALID,
	    "field 'message': must be a string of 1..4096 bytes");
	expect_fields("{\"message\": 5, \"base\": 0}", ECC_EINVALID,
	    "field 'message': must be a string of 1..4096 bytes");
	expect_fields("{\"message\": \"m\", \"base\": -1}", ECC_EINVALID,
	    "field 'base': must be an integer of at least 0");
	expect_fields("{\"message\": \"m\", \"base\": 1.5}", ECC_EINVALID,
	    "field 'base': must be an integer of at least 0");
	expect_fields("{\"message\": \"m\", \"base\": 0, \"n\": 101}",
	    ECC_EINVALID, "field 'n': must be an integer in -3..100");
	expect_fields("{\"message\": \"m\", \"base\": 0, \"force\": 1}",
	    ECC_EINVALID, "field 'force': must be true or false");
	expect_fields("{\"message\": \"m\", \"base\": 0, \"changes\": []}",
	    ECC_EINVALID, "field 'changes': must be an array of 1..3 items");
	expect_fields("{\"message\": \"m\", \"base\": 0, \"changes\": "
	    "[1, 2, 3, 4]}", ECC_EINVALID,
	    "field 'changes': must be an array of 1..3 items");
	expect_fields("{\"message\": \"m\", \"base\": 0, \"meta\": []}",
	    ECC_EINVALID, "field 'meta': must be an object");
	expect_fields("{\"message\": \"m\", \"base\": 0, \"tags\": {}}",
	    ECC_EINVALID, "field 'tags': must be an array");
	expect_fields("{\"message\": \"m\", \"base\": 0, \"note\": null}",
	    ECC_EINVALID, "field 'note': must be a string");
	expect_fields("{\"message\": \"m\", \"base\": 0, \"label\": \"a\"}",
	    ECC_EINVALID, "field 'label': must be a string of at least 2 "
	    "bytes");

	/* a string built with a NUL inside is refused */
	v = json_pack("{s:s, s:i, s:o}", "message", "m", "base", 0, "note",
	    json_stringn("a\0b", 3));
	assert_non_null(v);
	assert_int_equal(ecc_json_check(v, fields), ECC_EINVALID);
	assert_string_equal(ecc_error_last(),
	    "field 'note': must be a string without NUL");
	json_decref(v);
	assert_int_equal(ecc_json_check(NULL, fields), ECC_EINVALID);
}

static void
test_json__base64_encode(void **state)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	unsigned char bin[256];
	char *t, *back;
	size_t i, n;

	(void)state;
	for (i = 0; i < ECC_ARRAY_SIZE(v); i++) {
		t = ecc_base64_encode(v[i].in, strlen(v[i].in));
		assert_string_equal(t, v[i].out);
		assert_int_equal(ecc_base64_decode(&back, &n, t, strlen(t)), 0);
		assert_int_equal(n, strlen(v[i].in));
		assert_memory_equal(back, v[i].in, n);
		assert_int_equal(back[n], '\0');
		free(back);
		free(t);
	}
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(255 - i);
	t = ecc_base64_encode(bin, sizeof(bin));
	assert_int_equal(ecc_base64_decode(&back, &n, t, strlen(t)), 0);
	assert_int_equal(n, sizeof(bin));
	assert_memory_equal(back, bin, n);
	free(back);
	free(t);
}

static void
test_json__base64_large(void **state)
{
	size_t len = 3 * 1024 * 1024 + 5, n, i;
	unsigned char *data = ecc_malloc(len);
	char *t, *back;

	(void)state;
	for (i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 7 + (i >> 11));
	/* larger than one encoding chunk */
	t = ecc_base64_encode(data, len);
	assert_int_equal(strlen(t), (len + 2) / 3 * 4);
	assert_int_equal(ecc_base64_decode(&back, &n, t, strlen(t)), 0);
	assert_int_equal(n, len);
	assert_memory_equal(back, data, len);
	free(back);
	free(t);
	free(data);
}

static void
expect_b64_error(const char *text, size_t len, const char *message)
{
	char *out = (char *)1;
	size_t n = 99;

	assert_int_equal(ecc_base64_decode(&out, &n, text, len), ECC_EINVALID);
	assert_null(out);
	assert_int_equal(n, 0);
	assert_string_equal(ecc_error_last(), message);
}

static void
test_json__base64_invalid(void **state)
{
	(void)state;
	expect_b64_error("Zg=", 3, "base64: length 3 is not a multiple of 4");
	expect_b64_error("Zg", 2, "base64: length 2 is not a multiple of 4");
	expect_b64_error("Zm9vYg==\n", 9,
	    "base64: length 9 is not a multiple of 4");
	expect_b64_error("Zm9*", 4, "base64: invalid text");
	expect_b64_error("Z===", 4, "base64: invalid text (bad character, "
	    "padding or trailing bits)");
	expect_b64_error("Zh==", 4, "base64: invalid text (bad character, "
	    "padding or trailing bits)");
	expect_b64_error("Zm9=", 4, "base64: invalid text (bad character, "
	    "padding or trailing bits)");
	expect_b64_error("Zg==Zm9v", 8, "base64: invalid text (bad character, "
	    "padding or trailing bits)");
	expect_b64_error("  Zm9v  ", 8, "base64: invalid text");
	expect_b64_error("Zm 9v   ", 8, "base64: invalid text");
	expect_b64_error("Zm9v    ", 8, "base64: invalid text");
	expect_b64_error("Zm9\0", 4, "base64: invalid text");
	expect_b64_error("Zm-_", 4, "base64: invalid text");
}

static void
test_json__dump(void **state)
{
	json_t *v;
	char *s;

	(void)state;
	v = json_pack("{s:i, s:[s, b], s:n}", "a", 1, "b", "x\"y", 1, "c");
	s = ecc_json_dump(v);
	assert_string_equal(s, "{\"a\":1,\"b\":[\"x\\\"y\",true],\"c\":null}");
	free(s);
	json_decref(v);
	v = json_string("caf\xc3\xa9");
	s = ecc_json_dump(v);
	assert_string_equal(s, "\"caf\xc3\xa9\"");
	free(s);
	json_decref(v);
	s = ecc_json_dump(NULL);
	assert_string_equal(s, "null");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json__parse),
		cmocka_unit_test(test_json__parse_errors),
		cmocka_unit_test(test_json__depth),
		cmocka_unit_test(test_json__check),
		cmocka_unit_test(test_json__base64_encode),
		cmocka_unit_test(test_json__base64_large),
		cmocka_unit_test(test_json__base64_invalid),
		cmocka_unit_test(test_json__dump),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
