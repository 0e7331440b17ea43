/*
 * test_conf.c - unit tests of lib/conf.c (the "key = value" tokenizer and
 * the option-table machinery) and lib/dconf.c (ecconfigd.conf's table,
 * derived defaults, checks and the rendered file).
 */
#include "config.h"

#include "helpers.h"

#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "dconf.h"
#include "error.h"
#include "util.h"

/* ---- the tokenizer ---- */

/* Every event the tokenizer reports, one "section|key=value@line" or
 * "[section]@line" per event, appended to a text. */
struct events {
	char text[8192];
	int fail_at;            /* line whose value callback fails, or 0 */
};

static void
events_add(struct events *ev, const char *s)
{
	size_t n = strlen(ev->text);

	snprintf(ev->text + n, sizeof(ev->text) - n, "%s\n", s);
}

static int
record_section(const char *section, int line, void *payload)
{
	char buf[4200];

	snprintf(buf, sizeof(buf), "[%s]@%d", section, line);
	events_add(payload, buf);
	return 0;
}

static int
record_value(const char *section, const char *key, const char *value,
    int line, void *payload)
{
	struct events *ev = payload;
	char buf[8300];

	if (ev->fail_at == line)
		return ecc_error_set(ECC_EREJECTED, "key '%s' refused", key);
	snprintf(buf, sizeof(buf), "%s|%s=<%s>@%d", section, key, value, line);
	events_add(ev, buf);
	return 0;
}

static int
parse_events(struct events *ev, const char *text)
{
	memset(ev, 0, sizeof(*ev));
	return ecc_conf_parse(text, strlen(text), "t.conf", record_section,
	    record_value, ev);
}

static void
expect_conf_error(const char *text, const char *message)
{
	struct events ev;

	assert_int_equal(parse_events(&ev, text), ECC_EINVALID);
	assert_string_equal(ecc_error_last(), message);
}

static void
test_conf__tokens(void **state)
{
	struct events ev;

	(void)state;
	assert_int_equal(parse_events(&ev,
	    "# comment\n"
	    "\n"
	    "  key = value\n"
	    "k2=v2\n"
	    "\tk3 =  spaced value  # comment\n"
	    "k4 = a#b\n"
	    "k5 =\n"
	    "[ sec one ]\n"
	    "k.6-x_y = \"  quoted # \\\"x\\\" \\\\ \"  # c\n"
	    "   # indented comment\n"
	    "[two] # comment\n"
	    "k7 = \"\"\n"
	    "k8 = v\t#c"), 0);
	assert_string_equal(ev.text,
	    "|key=<value>@3\n"
	    "|k2=<v2>@4\n"
	    "|k3=<spaced value>@5\n"
	    "|k4=<a#b>@6\n"
	    "|k5=<>@7\n"
	    "[sec one]@8\n"
	    "sec one|k.6-x_y=<  quoted # \"x\" \\ >@9\n"
	    "[two]@11\n"
	    "two|k7=<>@12\n"
	    "two|k8=<v>@13\n");
}

static void
test_conf__line_ends(void **state)
{
	struct events ev;

	(void)state;
	/* CRLF, no newline at the end, and an empty buffer */
	assert_int_equal(parse_events(&ev, "a = 1\r\nb = 2\r\n\r\nc = 3"), 0);
	assert_string_equal(ev.text, "|a=<1>@1\n|b=<2>@2\n|c=<3>@4\n");
	assert_int_equal(parse_events(&ev, ""), 0);
	assert_string_equal(ev.text, "");
	assert_int_equal(ecc_conf_parse(NULL, 0, "x", NULL, NULL, NULL), 0);
	/* the buffer need not be NUL-terminated: only len bytes count */
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(ecc_conf_parse("a = 1\nb = 2", 10, "t.conf",
	    record_section, record_value, &ev), 0);
	assert_string_equal(ev.text, "|a=<1>@1\n|b=<>@2\n");
}

static void
test_conf__errors(void **state)
{
	(void)state;
	expect_conf_error("a = 1\njunk\n",
	    "t.conf:2: expected 'key = value', found no '=' after 'junk'");
	expect_conf_error("= 1\n",
	    "t.conf:1: expected 'key = value', found no key before '='");
	expect_conf_error("\n\nk!y = 1\n", "t.conf:3: invalid key 'k!y' "
	    "(letters, digits, '_', '-' and '.' only)");
	expect_conf_error("a = \"open\n",
	    "t.conf:1: unterminated quoted value");
	expect_conf_error("a = \"x\" y\n",
	    "t.conf:1: unexpected text after quoted value");
	expect_conf_error("a = \"\\n\"\n", "t.conf:1: invalid escape '\\n' "
	    "in quoted value (only \\\" and \\\\ are allowed)");
	expect_conf_error("a = \"x\\\"\n",
	    "t.conf:1: unterminated quoted value");
	expect_conf_error("a = \"x\\\n",
	    "t.conf:1: unterminated quoted value");
	expect_conf_error("a = \"x\\",
	    "t.conf:1: unterminated quoted value");
	expect_conf_error("[sec\n", "t.conf:1: missing ']' in section header");
	expect_conf_error("[sec] x\n",
	    "t.conf:1: unexpected text after ']' in section header");
	expect_conf_error("[  ]\n", "t.conf:1: empty section name");
	expect_conf_error("[a[b]\n", "t.conf:1: '[' in section name");
	expect_conf_error("a = b\x01\n",
	    "t.conf:1: control character 0x01 not allowed");
	expect_conf_error("a = b\rc\n",
	    "t.conf:1: control character 0x0d not allowed");
}

static void
test_conf__nul_and_length(void **state)
{
	char *buf;
	struct events ev;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(ecc_conf_parse("a = 1\nb = x\0y\n", 14, "t.conf",
	    record_section, record_value, &ev), ECC_EINVALID);
	assert_string_equal(ecc_error_last(), "t.conf:2: NUL byte not allowed");

	/* 4096 bytes pass, 4097 do not; the newline and a CR do not count */
	buf = ecc_malloc(4200);
	memset(buf, ' ', 4200);
	memcpy(buf, "k = v", 5);
	buf[4096] = '\r';
	buf[4097] = '\n';
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(ecc_conf_parse(buf, 4098, "t.conf", record_section,
	    record_value, &ev), 0);
	assert_string_equal(ev.text, "|k=<v>@1\n");
	buf[4096] = ' ';
	assert_int_equal(ecc_conf_parse(buf, 4098, "t.conf", record_section,
	    record_value, &ev), ECC_EINVALID);
	assert_string_equal(ecc_error_last(),
	    "t.conf:1: line longer than 4096 bytes");
	free(buf);
}

static void
test_conf__callback_error(void **state)
{
	struct events ev;
	const char *text = "a = 1\nb = 2\nc = 3\n";

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.fail_at = 2;
	assert_int_equal(ecc_conf_parse(text, strlen(text), "cb.conf",
	    record_section, record_value, &ev), ECC_EREJECTED);
	assert_string_equal(ecc_error_last(), "cb.conf:2: key 'b' refused");
	assert_string_equal(ev.text, "|a=<1>@1\n");
	/* without a filename */
	assert_int_equal(ecc_conf_parse("x", 1, NULL, NULL, NULL, NULL),
	    ECC_EINVALID);
	assert_string_equal(ecc_error_last(), "(input):1: expected 'key = "
	    "value', found no '=' after 'x'");
}

/* ---- the option machinery, on a table of every type ---- */

struct tconf {
	char *name;
	int64_t count;
	int flag;
	size_t size;
	char *mode;
	int64_t wait;
	char *unset;
};

static const char *const mode_choices[] = { "fast", "safe", NULL };

static const struct ecc_option topts[] = {
	{ "name", ECC_OPT_STRING, offsetof(struct tconf, name), "x", 0, 0,
	  NULL, 1, "a name", NULL },
	{ "count", ECC_OPT_INT, offsetof(struct tconf, count), "3", -5, 10,
	  NULL, 1, "a count", NULL },
	{ "flag", ECC_OPT_BOOL, offsetof(struct tconf, flag), "yes", 0, 0,
	  NULL, 1, "a flag", NULL },
	{ "size", ECC_OPT_SIZE, offsetof(struct tconf, size), "1k", 1,
	  (int64_t)4 << 30, NULL, 1, "a size", NULL },
	{ "mode", ECC_OPT_ENUM, offsetof(struct tconf, mode), "safe", 0, 0,
	  mode_choices, 0, "a mode", NULL },
	{ "wait", ECC_OPT_DURATION, offsetof(struct tconf, wait), "90s", 0,
	  86400 * 7, NULL, 1, "a wait", NULL },
	{ "unset", ECC_OPT_STRING, offsetof(struct tconf, unset), NULL, 0, 0,
	  NULL, 1, "no default", NULL },
	{ NULL, 0, 0, NULL, 0, 0, NULL, 0, NULL, NULL },
};

static int
tparse(struct tconf *c, const char *text)
{
	return ecc_options_parse(c, topts, text, strlen(text), "t.conf");
}

static void
expect_option_error(const char *text, const char *message)
{
	struct tconf c;

	memset(&c, 0, sizeof(c));
	assert_int_equal(ecc_options_defaults(&c, topts), 0);
	assert_int_equal(tparse(&c, text), ECC_EINVALID);
	assert_string_equal(ecc_error_last(), message);
	ecc_options_free(&c, topts);
}

static void
test_conf__option_defaults(void **state)
{
	struct tconf c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(ecc_options_defaults(&c, topts), 0);
	assert_string_equal(c.name, "x");
	assert_int_equal(c.count, 3);
	assert_int_equal(c.flag, 1);
	assert_int_equal(c.size, 1024);
	assert_string_equal(c.mode, "safe");
	assert_int_equal(c.wait, 90);
	assert_null(c.unset);
	ecc_options_free(&c, topts);
	assert_null(c.name);
	assert_null(c.mode);
	ecc_options_free(NULL, topts);
}

static void
test_conf__option_values(void **state)
{
	struct tconf c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(ecc_options_defaults(&c, topts), 0);
	assert_int_equal(tparse(&c,
	    "name = first\n"
	    "name = \" second \"\n"      /* the last one wins */
	    "count = -5\n"
	    "flag = off\n"
	    "size = 4G\n"
	    "mode = fast\n"
	    "wait = 2d\n"
	    "unset = set\n"), 0);
	assert_string_equal(c.name, " second ");
	assert_int_equal(c.count, -5);
	assert_int_equal(c.flag, 0);
	assert_int_equal(c.size, (size_t)4 << 30);
	assert_string_equal(c.mode, "fast");
	assert_int_equal(c.wait, 2 * 86400);
	assert_string_equal(c.unset, "set");

	assert_int_equal(tparse(&c, "size = 16m\nwait = 5m\ncount = 10\n"
	    "flag = TRUE\n"), 0);
	assert_int_equal(c.size, 16u << 20);
	assert_int_equal(c.wait, 300);
	assert_int_equal(c.count, 10);
	assert_int_equal(c.flag, 1);
	assert_int_equal(tparse(&c, "size = 7\nwait = 3h\nwait = 0\n"), 0);
	assert_int_equal(c.size, 7);
	assert_int_equal(c.wait, 0);
	assert_int_equal(tparse(&c, "wait = 45s\nsize = 2k\n"), 0);
	assert_int_equal(c.wait, 45);
	assert_int_equal(c.size, 2048);
	ecc_options_free(&c, topts);
}

static void
test_conf__bool_words(void **state)
{
	static const char *const yes[] = { "true", "yes", "on", "1", "Yes" };
	static const char *const no[] = { "false", "no", "off", "0", "OFF" };
	size_t i;
	int b;

	(void)state;
	for (i = 0; i < ECC_ARRAY_SIZE(yes); i++) {
		b = 0;
		assert_int_equal(ecc_conf_parse_bool(&b, yes[i]), 0);
		assert_int_equal(b, 1);
		assert_int_equal(ecc_conf_parse_bool(&b, no[i]), 0);
		assert_int_equal(b, 0);
	}
	b = 7;
	assert_int_equal(ecc_conf_parse_bool(&b, "maybe"), ECC_EINVALID);
	assert_int_equal(b, 7);
	assert_string_equal(ecc_error_last(), "'maybe' is not a boolean "
	    "(yes/no, true/false, on/off, 1/0)");
	assert_int_equal(ecc_conf_parse_bool(&b, ""), ECC_EINVALID);
}

static void
test_conf__option_errors(void **state)
{
	(void)state;
	expect_option_error("count = 1\nbogus = 1\n",
	    "t.conf:2: unknown option 'bogus'");
	expect_option_error("[sec]\n", "t.conf:1: unexpected section [sec]: "
	    "this file has no sections");
	expect_option_error("count = 11\n",
	    "t.conf:1: option 'count': '11' is out of range -5..10");
	expect_option_error("count = -6\n",
	    "t.conf:1: option 'count': '-6' is out of range -5..10");
	expect_option_error("count = 1x\n",
	    "t.conf:1: option 'count': '1x' is not an integer");
	expect_option_error("count = 1k\n",
	    "t.conf:1: option 'count': '1k' is not an integer");
	expect_option_error("count = \n",
	    "t.conf:1: option 'count': '' is not an integer");
	expect_option_error("count = +1\n",
	    "t.conf:1: option 'count': '+1' is not an integer");
	expect_option_error("count = 99999999999999999999\n",
	    "t.conf:1: option 'count': '99999999999999999999' is too large");
	expect_option_error("flag = maybe\n", "t.conf:1: option 'flag': "
	    "'maybe' is not a boolean (yes/no, true/false, on/off, 1/0)");
	expect_option_error("size = 0\n",
	    "t.conf:1: option 'size': '0' is out of range 1..4g");
	expect_option_error("size = 5g\n",
	    "t.conf:1: option 'size': '5g' is out of range 1..4g");
	expect_option_error("size = -1\n", "t.conf:1: option 'size': '-1' is "
	    "not a size (a number with an optional k, m or g suffix)");
	expect_option_error("size = 1t\n", "t.conf:1: option 'size': '1t' is "
	    "not a size (a number with an optional k, m or g suffix)");
	expect_option_error("size = 1kb\n", "t.conf:1: option 'size': '1kb' is "
	    "not a size (a number with an optional k, m or g suffix)");
	expect_option_error("size = 9999999999999999g\n",
	    "t.conf:1: option 'size': '9999999999999999g' is too large");
	expect_option_error("wait = 8d\n",
	    "t.conf:1: option 'wait': '8d' is out of range 0..7d");
	expect_option_error("wait = 1w\n", "t.conf:1: option 'wait': '1w' is "
	    "not a duration (a number with an optional s, m, h or d suffix)");
	expect_option_error("wait = s\n", "t.conf:1: option 'wait': 's' is "
	    "not a duration (a number with an optional s, m, h or d suffix)");
	expect_option_error("mode = slow\n", "t.conf:1: option 'mode': 'slow' "
	    "is not one of: fast, safe");
	expect_option_error("mode = FAST\n", "t.conf:1: option 'mode': 'FAST' "
	    "is not one of: fast, safe");
}

static void
test_conf__option_error_keeps_value(void **state)
{
	struct tconf c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(ecc_options_defaults(&c, topts), 0);
	assert_int_equal(tparse(&c, "count = 7\ncount = 70\n"), ECC_EINVALID);
	assert_int_equal(c.count, 7);
	assert_int_equal(tparse(&c, "mode = fast\nmode = no\n"), ECC_EINVALID);
	assert_string_equal(c.mode, "fast");
	ecc_options_free(&c, topts);
}

static void
test_conf__option_set(void **state)
{
	struct tconf c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(ecc_options_defaults(&c, topts), 0);
	assert_int_equal(ecc_options_set(&c, topts, "count", "9", "--count"),
	    0);
	assert_int_equal(c.count, 9);
	assert_int_equal(ecc_options_set(&c, topts, "count", "90", "--count"),
	    ECC_EINVALID);
	assert_string_equal(ecc_error_last(),
	    "--count: '90' is out of range -5..10");
	assert_int_equal(ecc_options_set(&c, topts, "nope", "1", "--nope"),
	    ECC_EINVALID);
	assert_string_equal(ecc_error_last(), "--nope: unknown option 'nope'");
	assert_int_equal(ecc_options_set(&c, topts, "name", "a\nb", "-n"),
	    ECC_EINVALID);
	assert_string_equal(ecc_error_last(),
	    "-n: control character 0x0a not allowed");
	assert_int_equal(ecc_options_set(&c, topts, "name", "tab\there",
	    "-n"), 0);
	assert_string_equal(c.name, "tab\there");
	assert_int_equal(ecc_options_set(&c, topts, "name", NULL, "-n"),
	    ECC_EINVALID);
	{
		char big[2002];

		memset(big, '\\', sizeof(big) - 1);
		big[2001] = '\0';
		assert_int_equal(ecc_options_set(&c, topts, "name", big, "-n"),
		    ECC_EINVALID);
		assert_string_equal(ecc_error_last(),
		    "-n: value longer than 2000 bytes");
		big[2000] = '\0';
		assert_int_equal(ecc_options_set(&c, topts, "name", big, "-n"),
		    0);
		assert_int_equal(strlen(c.name), 2000);
	}
	ecc_options_free(&c, topts);
}

static void
test_conf__dump_round_trip(void **state)
{
	struct tconf c, d;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	memset(&c, 0, sizeof(c));
	memset(&d, 0, sizeof(d));
	assert_int_equal(ecc_options_defaults(&c, topts), 0);
	assert_non_null(f = open_memstream(&text, &len));
	ecc_options_dump(f, &c, topts);
	fclose(f);
	assert_string_equal(text,
	    "name = x\n"
	    "count = 3\n"
	    "flag = true\n"
	    "size = 1k\n"
	    "mode = safe\n"
	    "wait = 90s\n"
	    "unset = \"\"\n");
	free(text);

	assert_int_equal(tparse(&c, "name = \" a \\\"#\\\\ \"\nsize = 1025\n"
	    "wait = 7200\nflag = 0\nunset = \"#x\"\n"), 0);
	assert_non_null(f = open_memstream(&text, &len));
	ecc_options_dump(f, &c, topts);
	fclose(f);
	assert_non_null(strstr(text, "name = \" a \\\"#\\\\ \"\n"));
	assert_non_null(strstr(text, "size = 1025\n"));
	assert_non_null(strstr(text, "wait = 2h\n"));
	assert_non_null(strstr(text, "flag = false\n"));
	assert_int_equal(ecc_options_defaults(&d, topts), 0);
	assert_int_equal(tparse(&d, text), 0);
	assert_string_equal(d.name, c.name);
	assert_int_equal(d.size, c.size);
	assert_int_equal(d.wait, c.wait);
	assert_int_equal(d.flag, c.flag);
	assert_string_equal(d.unset, c.unset);
	free(text);
	ecc_options_free(&c, topts);
	ecc_options_free(&d, topts);
}

static void
test_conf__bad_default(void **state)
{
	static const struct ecc_option bad[] = {
		{ "n", ECC_OPT_INT, 0, "12", 0, 5, NULL, 0, "bad", NULL },
		{ NULL, 0, 0, NULL, 0, 0, NULL, 0, NULL, NULL },
	};
	int64_t v;

	(void)state;
	assert_int_equal(ecc_options_defaults(&v, bad), ECC_EINVALID);
	assert_string_equal(ecc_error_last(),
	    "option 'n': bad default: '12' is out of range 0..5");
}

/* A string option's own rule: applied to defaults, files and
 * ecc_options_set() alike, its message placed like the types' own. */
static int
check_no_x(const char *value)
{
	if (!strchr(value, 'x'))
		return 0;
	return ecc_error_set(ECC_EINVALID, "'%s' holds an x", value);
}

struct cconf {
	char *word;
};

static void
test_conf__option_check(void **state)
{
	static const struct ecc_option copts[] = {
		{ "word", ECC_OPT_STRING, offsetof(struct cconf, word), "ok",
		  0, 0, NULL, 0, "a word", check_no_x },
		{ NULL, 0, 0, NULL, 0, 0, NULL, 0, NULL, NULL },
	};
	static const struct ecc_option bad_default[] = {
		{ "word", ECC_OPT_STRING, offsetof(struct cconf, word), "xx",
		  0, 0, NULL, 0, "a word", check_no_x },
		{ NULL, 0, 0, NULL, 0, 0, NULL, 0, NULL, NULL },
	};
	static const char text[] = "word = fine\n\nword = six\n";
	struct cconf c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(ecc_options_defaults(&c, copts), 0);
	assert_string_equal(c.word, "ok");
	assert_int_equal(ecc_options_parse(&c, copts, text, strlen(text),
	    "c.conf"), ECC_EINVALID);
	assert_string_equal(ecc_error_last(), "c.conf:3: option 'word': "
	    "'six' holds an x");
	/* the value before the refused line stays */
	assert_string_equal(c.word, "fine");
	assert_int_equal(ecc_options_set(&c, copts, "word", "axe", "--word"),
	    ECC_EINVALID);
	assert_string_equal(ecc_error_last(), "--word: 'axe' holds an x");
	assert_int_equal(ecc_options_set(&c, copts, "word", "ab", NULL), 0);
	assert_string_equal(c.word, "ab");
	ecc_options_free(&c, copts);

	memset(&c, 0, sizeof(c));
	assert_int_equal(ecc_options_defaults(&c, bad_default), ECC_EINVALID);
	assert_string_equal(ecc_error_last(), "option 'word': bad default: "
	    "'xx' holds an x");
	ecc_options_free(&c, bad_default);
}

static void
test_conf__load(void **state)
{
	char *dir = *state, *path, *big;
	struct tconf c;

	memset(&c, 0, sizeof(c));
	path = ecc_printf("%s/t.conf", dir);
	assert_int_equal(ecc_file_write_atomic(path, "count = 8\n", 10, 0600),
	    0);
	assert_int_equal(ecc_options_load(&c, topts, path), 0);
	assert_int_equal(c.count, 8);
	assert_string_equal(c.name, "x");
	ecc_options_free(&c, topts);

	assert_int_equal(ecc_file_write_atomic(path, "\ncount = 11\n", 12,
	    0600), 0);
	big = ecc_printf("%s:2: option 'count': '11' is out of range -5..10",
	    path);
	assert_int_equal(ecc_options_load(&c, topts, path), ECC_EINVALID);
	assert_string_equal(ecc_error_last(), big);
	free(big);
	ecc_options_free(&c, topts);

	/* larger than 1 MiB */
	big = ecc_calloc(1, 1024 * 1024 + 2);
	memset(big, '#', 1024 * 1024 + 1);
	assert_int_equal(ecc_file_write_atomic(path, big, 1024 * 1024 + 1,
	    0600), 0);
	assert_int_equal(ecc_options_load(&c, topts, path), ECC_ETOOBIG);
	ecc_options_free(&c, topts);
	free(big);

	unlink(path);
	assert_int_equal(ecc_options_load(&c, topts, path), ECC_ENOTFOUND);
	ecc_options_free(&c, topts);
	free(path);
}

/* ---- ecconfigd.conf ---- */

static void
test_conf__dconf_table(void **state)
{
	static const char *const expected[] = {
		"listen", "data_dir", "store", "db_conninfo", "cert_file",
		"key_file", "ca_file", "ca_key_file", "log_level",
		"log_target", "log_file", "pid_file", "check_command",
		"check_timeout", "max_body", "max_header", "max_file_size",
		"max_changes", "max_connections", "request_timeout",
		"token_ttl", "login_failures", "login_window", "workers",
		"watch_max_wait", "snapshot_rate", "manager_name",
	};
	static const char *const fixed[] = { "listen", "data_dir", "store",
		"db_conninfo", "workers", "manager_name" };
	const struct ecc_option *o, *p;
	size_t i, n = 0;
	int found;

	(void)state;
	for (o = ecc_dconf_options; o->name; o++) {
		n++;
		assert_non_null(o->doc);
		assert_true(strlen(o->doc) > 10);
		assert_null(strchr(o->doc, '\n'));
		for (p = o + 1; p->name; p++)
			assert_string_not_equal(o->name, p->name);
		if (o->type == ECC_OPT_INT || o->type == ECC_OPT_SIZE ||
		    o->type == ECC_OPT_DURATION)
			assert_true(o->min <= o->max);
		if (o->type == ECC_OPT_ENUM)
			assert_non_null(o->choices);
		for (i = 0; i < ECC_ARRAY_SIZE(fixed); i++)
			if (strcmp(o->name, fixed[i]) == 0)
				assert_false(o->reloadable);
	}
	assert_int_equal(n, ECC_ARRAY_SIZE(expected));
	for (i = 0; i < ECC_ARRAY_SIZE(expected); i++) {
		found = 0;
		for (o = ecc_dconf_options; o->name; o++)
			found |= strcmp(o->name, expected[i]) == 0;
		assert_true(found);
	}
	for (o = ecc_dconf_options; o->name; o++) {
		if (!strncmp(o->name, "log_", 4) || !strncmp(o->name, "max_", 4) ||
		    !strncmp(o->name, "check_", 6) ||
		    !strncmp(o->name, "login_", 6) ||
		    !strcmp(o->name, "token_ttl") ||
		    !strcmp(o->name, "cert_file") ||
		    !strcmp(o->name, "key_file"))
			assert_true(o->reloadable);
	}
}

static void
test_conf__dconf_defaults(void **state)
{
	struct ecc_dconf c;

	(void)state;
	assert_int_equal(ecc_dconf_load(&c, NULL), 0);
	assert_string_equal(c.listen, "0.0.0.0:2027");
	assert_string_equal(c.data_dir, LOCALSTATEDIR "/lib/ecconfig");
	assert_string_equal(c.store, "file");
	assert_string_equal(c.db_conninfo, "");
	assert_string_equal(c.cert_file, LOCALSTATEDIR "/lib/ecconfig/server.pem");
	assert_string_equal(c.key_file, LOCALSTATEDIR "/lib/ecconfig/server.key");
	assert_string_equal(c.ca_file, LOCALSTATEDIR "/lib/ecconfig/ca.pem");
	assert_string_equal(c.ca_key_file, LOCALSTATEDIR "/lib/ecconfig/ca.key");
	assert_string_equal(c.pid_file,
	    LOCALSTATEDIR "/lib/ecconfig/ecconfigd.pid");
	assert_int_equal(c.log_level, 4);
	assert_string_equal(c.log_target, "syslog");
	assert_string_equal(c.log_file, "");
	assert_string_equal(c.check_command, "");
	assert_int_equal(c.check_timeout, 60);
	assert_int_equal(c.max_body, 64u << 20);
	assert_int_equal(c.max_header, 16u << 10);
	assert_int_equal(c.max_file_size, 16u << 20);
	assert_int_equal(c.max_changes, 10000);
	assert_int_equal(c.max_connections, 4096);
	assert_int_equal(c.request_timeout, 30);
	assert_int_equal(c.token_ttl, 3600);
	assert_int_equal(c.login_failures, 5);
	assert_int_equal(c.login_window, 300);
	assert_int_equal(c.workers, 2);
	assert_int_equal(c.watch_max_wait, 60);
	ecc_dconf_free(&c);
	ecc_dconf_free(NULL);
}

/* Write `text` as DIR/ecconfigd.conf and load it; the path is returned. */
static int
dconf_load_text(struct ecc_dconf *c, const char *dir, const char *text,
    char **path)
{
	*path = ecc_printf("%s/ecconfigd.conf", dir);
	assert_int_equal(ecc_file_write_atomic(*path, text, strlen(text),
	    0600), 0);
	return ecc_dconf_load(c, *path);
}

static void
expect_dconf_error(const char *dir, const char *text, const char *message)
{
	struct ecc_dconf c;
	char *path, *want;

	assert_int_equal(dconf_load_text(&c, dir, text, &path), ECC_EINVALID);
	want = ecc_printf("%s%s", path, message);
	assert_string_equal(ecc_error_last(), want);
	free(want);
	free(path);
	ecc_dconf_free(&c);
}

static void
test_conf__dconf_load(void **state)
{
	char *dir = *state, *path;
	struct ecc_dconf c;

	assert_int_equal(dconf_load_text(&c, dir,
	    "# test\n"
	    "listen = 127.0.0.1:0\n"
	    "data_dir = /srv/ecc\n"
	    "key_file = /etc/ecc/key.pem\n"
	    "store = postgresql\n"
	    "db_conninfo = \"host=db dbname=ecconfig\"\n"
	    "log_target = file\n"
	    "log_file = /var/log/ecconfigd.log\n"
	    "workers = 16\n"
	    "watch_max_wait = 3600\n"
	    "max_body = 1m\n"
	    "token_ttl = 2h\n", &path), 0);
	assert_string_equal(c.listen, "127.0.0.1:0");
	assert_string_equal(c.cert_file, "/srv/ecc/server.pem");
	assert_string_equal(c.key_file, "/etc/ecc/key.pem");
	assert_string_equal(c.ca_key_file, "/srv/ecc/ca.key");
	assert_string_equal(c.pid_file, "/srv/ecc/ecconfigd.pid");
	assert_string_equal(c.db_conninfo, "host=db dbname=ecconfig");
	assert_int_equal(c.workers, 16);
	assert_int_equal(c.watch_max_wait, 3600);
	assert_int_equal(c.max_body, 1u << 20);
	assert_int_equal(c.token_ttl, 7200);
	ecc_dconf_free(&c);
	free(path);

	assert_int_equal(dconf_load_text(&c, dir, "listen = [::1]:2027\n",
	    &path), 0);
	ecc_dconf_free(&c);
	free(path);
}

static void
test_conf__dconf_errors(void **state)
{
	char *dir = *state;

	expect_dconf_error(dir, "workers = 17\n",
	    ":1: option 'workers': '17' is out of range 1..16");
	expect_dconf_error(dir, "\nworkers = 0\n",
	    ":2: option 'workers': '0' is out of range 1..16");
	expect_dconf_error(dir, "watch_max_wait = 2h\n",
	    ":1: option 'watch_max_wait': '2h' is out of range 1s..1h");
	expect_dconf_error(dir, "log_level = 8\n",
	    ":1: option 'log_level': '8' is out of range 0..7");
	expect_dconf_error(dir, "store = mysql\n",
	    ":1: option 'store': 'mysql' is not one of: file, postgresql");
	expect_dconf_error(dir, "log_target = console\n", ":1: option "
	    "'log_target': 'console' is not one of: syslog, file, stderr");
	expect_dconf_error(dir, "max_header = 512\n",
	    ":1: option 'max_header': '512' is out of range 1k..1m");
	expect_dconf_error(dir, "listn = 1\n", ":1: unknown option 'listn'");
	expect_dconf_error(dir, "store = postgresql\n",
	    ": store = postgresql requires db_conninfo");
	expect_dconf_error(dir, "log_target = file\n",
	    ": log_target = file requires log_file");
	/* single-option rules name the line like the types' own checks */
	expect_dconf_error(dir, "listen = 2027\n", ":1: option 'listen': "
	    "'2027' is not ADDR:PORT with a port in 0..65535");
	expect_dconf_error(dir, "workers = 2\n\nlisten = host:65536\n",
	    ":3: option 'listen': 'host:65536' is not ADDR:PORT with a port "
	    "in 0..65535");
	expect_dconf_error(dir, "listen = ::1:80\n", ":1: option 'listen': "
	    "'::1:80' is not ADDR:PORT with a port in 0..65535");
	expect_dconf_error(dir, "listen = [::1:80\n", ":1: option 'listen': "
	    "'[::1:80' is not ADDR:PORT with a port in 0..65535");
	expect_dconf_error(dir, "# x\ndata_dir = \"\"\n",
	    ":2: option 'data_dir': must not be empty");
}

static void
test_conf__dconf_render(void **state)
{
	struct ecc_dconf c, d;
	const struct ecc_option *o;
	char *text, *path, *line, *dir = *state;

	memset(&c, 0, sizeof(c));
	assert_int_equal(ecc_options_defaults(&c, ecc_dconf_options), 0);
	text = ecc_dconf_render(&c);
	assert_int_equal(strncmp(text, "# ecconfigd.conf", 16), 0);
	assert_non_null(strstr(text, "restart:\n# listen, data_dir, store, "
	    "db_conninfo, manager_name, workers, pid_file.\n"));
	for (o = ecc_dconf_options; o->name; o++) {
		line = ecc_printf("\n# %s\n%s = ", o->doc, o->name);
		assert_non_null(strstr(text, line));
		free(line);
	}
	assert_non_null(strstr(text, "\nmax_body = 64m\n"));
	assert_non_null(strstr(text, "\ntoken_ttl = 1h\n"));
	assert_non_null(strstr(text, "\ncert_file = \"\"\n"));
	assert_non_null(strstr(text, "\nlisten = 0.0.0.0:2027\n"));

	/* render -> parse gives the same configuration */
	assert_int_equal(dconf_load_text(&d, dir, text, &path), 0);
	assert_string_equal(d.listen, c.listen);
	assert_string_equal(d.data_dir, c.data_dir);
	assert_int_equal(d.max_body, c.max_body);
	assert_int_equal(d.check_timeout, c.check_timeout);
	free(path);
	free(text);
	ecc_dconf_free(&d);

	/* and with values that need quoting and odd units */
	assert_int_equal(ecc_options_set(&c, ecc_dconf_options,
	    "check_command", " /usr/bin/check --x \"#1\" \\ ", "t"), 0);
	assert_int_equal(ecc_options_set(&c, ecc_dconf_options,
	    "max_body", "1025", "t"), 0);
	assert_int_equal(ecc_options_set(&c, ecc_dconf_options,
	    "token_ttl", "61", "t"), 0);
	assert_int_equal(ecc_options_set(&c, ecc_dconf_options,
	    "store", "postgresql", "t"), 0);
	assert_int_equal(ecc_options_set(&c, ecc_dconf_options,
	    "db_conninfo", "host=x", "t"), 0);
	text = ecc_dconf_render(&c);
	memset(&d, 0, sizeof(d));
	assert_int_equal(ecc_options_defaults(&d, ecc_dconf_options), 0);
	assert_int_equal(ecc_options_parse(&d, ecc_dconf_options, text,
	    strlen(text), "rendered"), 0);
	for (o = ecc_dconf_options; o->name; o++) {
		char *a = ecc_option_format(&c, o), *b = ecc_option_format(&d, o);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	assert_string_equal(d.check_command, c.check_command);
	assert_int_equal(d.max_body, 1025);
	assert_int_equal(d.token_ttl, 61);
	free(text);
	ecc_dconf_free(&d);

	/* the longest value, all escapes, still renders to one valid line */
	free(c.check_command);
	c.check_command = ecc_malloc(2001);
	memset(c.check_command, '"', 2000);
	c.check_command[2000] = '\0';
	text = ecc_dconf_render(&c);
	assert_int_equal(ecc_options_defaults(&d, ecc_dconf_options), 0);
	assert_int_equal(ecc_options_parse(&d, ecc_dconf_options, text,
	    strlen(text), "rendered"), 0);
	assert_string_equal(d.check_command, c.check_command);
	free(text);
	ecc_dconf_free(&c);
	ecc_dconf_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf__tokens),
		cmocka_unit_test(test_conf__line_ends),
		cmocka_unit_test(test_conf__errors),
		cmocka_unit_test(test_conf__nul_and_length),
		cmocka_unit_test(test_conf__callback_error),
		cmocka_unit_test(test_conf__option_defaults),
		cmocka_unit_test(test_conf__option_values),
		cmocka_unit_test(test_conf__bool_words),
		cmocka_unit_test(test_conf__option_errors),
		cmocka_unit_test(test_conf__option_error_keeps_value),
		cmocka_unit_test(test_conf__option_set),
		cmocka_unit_test(test_conf__dump_round_trip),
		cmocka_unit_test(test_conf__bad_default),
		cmocka_unit_test(test_conf__option_check),
		cmocka_unit_test_setup_teardown(test_conf__load,
		    test_setup_tmpdir, test_teardown_tmpdir),
		cmocka_unit_test(test_conf__dconf_table),
		cmocka_unit_test(test_conf__dconf_defaults),
		cmocka_unit_test_setup_teardown(test_conf__dconf_load,
		    test_setup_tmpdir, test_teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_conf__dconf_errors,
		    test_setup_tmpdir, test_teardown_tmpdir),
		cmocka_unit_test_setup_teardown(test_conf__dconf_render,
		    test_setup_tmpdir, test_teardown_tmpdir),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
