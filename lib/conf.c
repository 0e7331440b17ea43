/*
 * conf.c - the "key = value" tokenizer shared by every configuration file,
 * and the option-table machinery (defaults, typed values with bounds,
 * command-line overrides, dump) built on it (see conf.h).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "error.h"
#include "path.h"
#include "util.h"

#define CONF_LINE_MAX 4096
#define CONF_FILE_MAX (1024 * 1024)
/* Longest string option: even fully escaped and quoted it still fits on
 * one line with its key, so a dump always parses back. */
#define CONF_VALUE_MAX 2000

#define KIB ((int64_t)1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)

/* Prefix the current error message with a formatted string; keeps the
 * code of the original error. */
static int __attribute__((format(printf, 1, 2)))
conf_error_wrap(const char *fmt, ...)
{
	char prefix[512], msg[1024];
	int code = ecc_error_last_code();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s", ecc_error_last());
	if (code >= 0)
		code = ECC_EINVALID;
	return ecc_error_set(code, "%s%s", prefix, msg);
}

static int
conf_is_space(char c)
{
	return c == ' ' || c == '\t';
}

static int
conf_is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* Only whitespace, then the end or a comment, from p to end. */
static int
conf_rest_is_empty(const char *p, const char *end)
{
	while (p < end && conf_is_space(*p))
		p++;
	return p == end || *p == '#';
}

/* One "[section]" line (p points at '['); the name, trimmed, goes to
 * `section`, of size CONF_LINE_MAX + 1. */
static int
conf_parse_section(char *section, const char *p, const char *end)
{
	const char *close, *s, *e;

	close = memchr(p, ']', (size_t)(end - p));
	if (!close)
		return ecc_error_set(ECC_EINVALID, "missing ']' in section header");
	if (!conf_rest_is_empty(close + 1, end))
		return ecc_error_set(ECC_EINVALID,
		    "unexpected text after ']' in section header");
	s = p + 1;
	e = close;
	while (s < e && conf_is_space(*s))
		s++;
	while (e > s && conf_is_space(e[-1]))
		e--;
	if (s == e)
		return ecc_error_set(ECC_EINVALID, "empty section name");
	if (memchr(s, '[', (size_t)(e - s)))
		return ecc_error_set(ECC_EINVALID, "'[' in section name");
	memcpy(section, s, (size_t)(e - s));
	section[e - s] = '\0';
	return 0;
}

/* The value after '=' (p at its first non-blank byte) into `value`. */
static int
conf_parse_value(char *value, const char *p, const char *end)
{
	size_t o = 0;
	const char *e;

	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\') {
				if (++p >= end)
					break;
				if (*p != '"' && *p != '\\') {
					char q[ECC_QUOTE_BUF];
					ecc_quote(q, p, 1);
					return ecc_error_set(ECC_EINVALID,
					    "invalid escape '\\%s' in quoted value "
					    "(only \\\" and \\\\ are allowed)", q);
				}
			}
			value[o++] = *p;
		}
		if (p >= end)
			return ecc_error_set(ECC_EINVALID,
			    "unterminated quoted value");
		if (!conf_rest_is_empty(p + 1, end))
			return ecc_error_set(ECC_EINVALID,
			    "unexpected text after quoted value");
		value[o] = '\0';
		return 0;
	}
	/* '#' starts a comment only at a line start or after whitespace */
	for (e = p; e < end; e++)
		if (*e == '#' && (e == p || conf_is_space(e[-1])))
			break;
	while (e > p && conf_is_space(e[-1]))
		e--;
	memcpy(value, p, (size_t)(e - p));
	value[e - p] = '\0';
	return 0;
}

/* One line without its end of line.  `section` carries the current
 * section from line to line. */
static int
conf_parse_line(const char *line, size_t n, char *section, char *key,
    char *value, int lineno, ecc_conf_section_cb on_section,
    ecc_conf_cb on_value, void *payload)
{
	const char *p = line, *end = line + n, *k;
	size_t i;
	int error;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c == '\0')
			return ecc_error_set(ECC_EINVALID, "NUL byte not allowed");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return ecc_error_set(ECC_EINVALID,
			    "control character 0x%02x not allowed", c);
	}
	while (p < end && conf_is_space(*p))
		p++;
	if (p == end || *p == '#')
		return 0;
	if (*p == '[') {
		if ((error = conf_parse_section(section, p, end)) < 0)
			return error;
		return on_section ? on_section(section, lineno, payload) : 0;
	}
	for (k = p; p < end && !conf_is_space(*p) && *p != '='; p++)
		;
	if (p == k)
		return ecc_error_set(ECC_EINVALID,
		    "expected 'key = value', found no key before '='");
	for (i = 0; k + i < p; i++) {
		if (!conf_is_key_char(k[i])) {
			char q[ECC_QUOTE_BUF];
			ecc_quote(q, k, (size_t)(p - k));
			return ecc_error_set(ECC_EINVALID, "invalid key '%s' "
			    "(letters, digits, '_', '-' and '.' only)", q);
		}
	}
	memcpy(key, k, (size_t)(p - k));
	key[p - k] = '\0';
	while (p < end && conf_is_space(*p))
		p++;
	if (p == end || *p != '=')
		return ecc_error_set(ECC_EINVALID,
		    "expected 'key = value', found no '=' after '%s'", key);
	p++;
	while (p < end && conf_is_space(*p))
		p++;
	if ((error = conf_parse_value(value, p, end)) < 0)
		return error;
	return on_value ? on_value(section, key, value, lineno, payload) : 0;
}

int
ecc_conf_parse(const char *buf, size_t len, const char *filename,
    ecc_conf_section_cb on_section, ecc_conf_cb on_value, void *payload)
{
	char *section = NULL, *key = NULL, *value = NULL;
	const char *line, *nl;
	size_t pos = 0, n;
	int lineno = 0, error = -1;

	if (!filename)
		filename = "(input)";
	if (!buf && len > 0) {
		error = ecc_error_set(ECC_EINVALID, "%s: no buffer", filename);
		goto out;
	}
	section = ecc_malloc(CONF_LINE_MAX + 1);
	key = ecc_malloc(CONF_LINE_MAX + 1);
	value = ecc_malloc(CONF_LINE_MAX + 1);
	section[0] = '\0';
	while (pos < len) {
		line = buf + pos;
		nl = memchr(line, '\n', len - pos);
		n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl ? 1 : 0);
		if (lineno == INT_MAX) {
			error = ecc_error_set(ECC_ETOOBIG, "%s: too many lines",
			    filename);
			goto out;
		}
		lineno++;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n > CONF_LINE_MAX) {
			error = ecc_error_set(ECC_EINVALID,
			    "%s:%d: line longer than %d bytes", filename, lineno,
			    CONF_LINE_MAX);
			goto out;
		}
		error = conf_parse_line(line, n, section, key, value, lineno,
		    on_section, on_value, payload);
		if (error < 0) {
			error = conf_error_wrap("%s:%d: ", filename, lineno);
			goto out;
		}
	}
	error = 0;
out:
	free(section);
	free(key);
	free(value);
	return error;
}

/* ---- option tables ---- */

static void *
opt_field(void *cfg, const struct ecc_option *opt)
{
	return (char *)cfg + opt->offset;
}

static const void *
opt_cfield(const void *cfg, const struct ecc_option *opt)
{
	return (const char *)cfg + opt->offset;
}

static const struct ecc_option *
opt_find(const struct ecc_option *table, const char *name)
{
	for (; table->name; table++)
		if (strcmp(table->name, name) == 0)
			return table;
	return NULL;
}

/* "64m", "16k", "1g" or plain bytes: the largest exact unit. */
static char *
opt_format_size(int64_t v)
{
	if (v != 0 && v % GIB == 0)
		return ecc_printf("%" PRId64 "g", v / GIB);
	if (v != 0 && v % MIB == 0)
		return ecc_printf("%" PRId64 "m", v / MIB);
	if (v != 0 && v % KIB == 0)
		return ecc_printf("%" PRId64 "k", v / KIB);
	return ecc_printf("%" PRId64, v);
}

/* "1d", "5m", "90s": the largest exact unit. */
static char *
opt_format_duration(int64_t v)
{
	if (v == 0)
		return ecc_strdup("0");
	if (v % 86400 == 0)
		return ecc_printf("%" PRId64 "d", v / 86400);
	if (v % 3600 == 0)
		return ecc_printf("%" PRId64 "h", v / 3600);
	if (v % 60 == 0)
		return ecc_printf("%" PRId64 "m", v / 60);
	return ecc_printf("%" PRId64 "s", v);
}

/* The bounds of a numeric option in its own units, for messages. */
static int
opt_range_error(const struct ecc_option *opt, const char *value)
{
	char *lo, *hi, q[ECC_QUOTE_BUF];
	int error;

	if (opt->type == ECC_OPT_SIZE) {
		lo = opt_format_size(opt->min);
		hi = opt_format_size(opt->max);
	} else if (opt->type == ECC_OPT_DURATION) {
		lo = opt_format_duration(opt->min);
		hi = opt_format_duration(opt->max);
	} else {
		lo = ecc_printf("%" PRId64, opt->min);
		hi = ecc_printf("%" PRId64, opt->max);
	}
	ecc_quote(q, value, strlen(value));
	error = ecc_error_set(ECC_EINVALID, "'%s' is out of range %s..%s", q,
	    lo, hi);
	free(lo);
	free(hi);
	return error;
}

/*
 * A decimal number with an optional one-letter unit among `units`, whose
 * multipliers are `mult`.  `allow_neg` for plain integers.  ECC_EINVALID
 * (message set) on syntax error or overflow.
 */
static int
opt_parse_number(int64_t *out, const char *value, int allow_neg,
    const char *units, const int64_t *mult, const char *what)
{
	const char *p = value, *u;
	char *end, q[ECC_QUOTE_BUF];
	long long v;

	ecc_quote(q, value, strlen(value));
	if (*p == '-' && allow_neg)
		p++;
	if (!(*p >= '0' && *p <= '9'))
		return ecc_error_set(ECC_EINVALID, "'%s' is not %s", q, what);
	errno = 0;
	v = strtoll(value, &end, 10);
	if (errno == ERANGE)
		return ecc_error_set(ECC_EINVALID, "'%s' is too large", q);
	if (*end != '\0') {
		char unit = *end >= 'A' && *end <= 'Z' ? *end - 'A' + 'a' : *end;

		if (!units || end[1] != '\0' || !(u = strchr(units, unit)))
			return ecc_error_set(ECC_EINVALID, "'%s' is not %s", q,
			    what);
		if (v > INT64_MAX / mult[u - units])
			return ecc_error_set(ECC_EINVALID, "'%s' is too large",
			    q);
		v *= mult[u - units];
	}
	*out = v;
	return 0;
}

int
ecc_conf_parse_bool(int *out, const char *value)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	char q[ECC_QUOTE_BUF];
	size_t i;

	for (i = 0; i < ECC_ARRAY_SIZE(yes); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	ecc_quote(q, value, strlen(value));
	return ecc_error_set(ECC_EINVALID, "'%s' is not a boolean "
	    "(yes/no, true/false, on/off, 1/0)", q);
}

/* Set one option from text; on error the field is unchanged and the
 * message (without key or location) is set. */
static int
opt_assign(void *cfg, const struct ecc_option *opt, const char *value)
{
	static const char size_units[] = "kmg";
	static const int64_t size_mult[] = { KIB, MIB, GIB };
	static const char dur_units[] = "smhd";
	static const int64_t dur_mult[] = { 1, 60, 3600, 86400 };
	void *field = opt_field(cfg, opt);
	const char *const *c;
	int64_t v;
	int b, error;
	size_t i;

	switch (opt->type) {
	case ECC_OPT_STRING:
		if (strlen(value) > CONF_VALUE_MAX)
			return ecc_error_set(ECC_EINVALID, "value longer than "
			    "%d bytes", CONF_VALUE_MAX);
		for (i = 0; value[i] != '\0'; i++) {
			unsigned char ch = (unsigned char)value[i];
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return ecc_error_set(ECC_EINVALID,
				    "control character 0x%02x not allowed", ch);
		}
		if (opt->check && (error = opt->check(value)) < 0)
			return error;
		free(*(char **)field);
		*(char **)field = ecc_strdup(value);
		return 0;
	case ECC_OPT_ENUM:
		for (c = opt->choices; c && *c; c++) {
			if (strcmp(*c, value) == 0) {
				free(*(char **)field);
				*(char **)field = ecc_strdup(value);
				return 0;
			}
		}
		{
			char list[512] = "", q[ECC_QUOTE_BUF];
			size_t o = 0;
			for (c = opt->choices; c && *c && o < sizeof(list); c++)
				o += (size_t)snprintf(list + o, sizeof(list) - o,
				    "%s%s", c == opt->choices ? "" : ", ", *c);
			ecc_quote(q, value, strlen(value));
			return ecc_error_set(ECC_EINVALID,
			    "'%s' is not one of: %s", q, list);
		}
	case ECC_OPT_BOOL:
		if ((error = ecc_conf_parse_bool(&b, value)) < 0)
			return error;
		*(int *)field = b;
		return 0;
	case ECC_OPT_INT:
		if ((error = opt_parse_number(&v, value, 1, NULL, NULL,
		    "an integer")) < 0)
			return error;
		if (v < opt->min || v > opt->max)
			return opt_range_error(opt, value);
		*(int64_t *)field = v;
		return 0;
	case ECC_OPT_SIZE:
		if ((error = opt_parse_number(&v, value, 0, size_units,
		    size_mult, "a size (a number with an optional k, m or g "
		    "suffix)")) < 0)
			return error;
		if (v < opt->min || v > opt->max || (uint64_t)v > SIZE_MAX)
			return opt_range_error(opt, value);
		*(size_t *)field = (size_t)v;
		return 0;
	case ECC_OPT_DURATION:
		if ((error = opt_parse_number(&v, value, 0, dur_units,
		    dur_mult, "a duration (a number with an optional s, m, h "
		    "or d suffix)")) < 0)
			return error;
		if (v < opt->min || v > opt->max)
			return opt_range_error(opt, value);
		*(int64_t *)field = v;
		return 0;
	}
	return ecc_error_set(ECC_EINVALID, "option has an unknown type");
}

/* Reset a field to zero / NULL without freeing (defaults start here). */
static void
opt_clear(void *cfg, const struct ecc_option *opt)
{
	void *field = opt_field(cfg, opt);

	switch (opt->type) {
	case ECC_OPT_STRING:
	case ECC_OPT_ENUM:
		*(char **)field = NULL;
		break;
	case ECC_OPT_BOOL:
		*(int *)field = 0;
		break;
	case ECC_OPT_SIZE:
		*(size_t *)field = 0;
		break;
	case ECC_OPT_INT:
	case ECC_OPT_DURATION:
		*(int64_t *)field = 0;
		break;
	}
}

int
ecc_options_defaults(void *cfg, const struct ecc_option *table)
{
	const struct ecc_option *opt;

	for (opt = table; opt->name; opt++)
		opt_clear(cfg, opt);
	for (opt = table; opt->name; opt++) {
		if (opt->def && opt_assign(cfg, opt, opt->def) < 0)
			return conf_error_wrap("option '%s': bad default: ",
			    opt->name);
	}
	return 0;
}

struct options_parse_ctx {
	void *cfg;
	const struct ecc_option *table;
};

static int
options_on_section(const char *section, int line, void *payload)
{
	char q[ECC_QUOTE_BUF];

	(void)line;
	(void)payload;
	ecc_quote(q, section, strlen(section));
	return ecc_error_set(ECC_EINVALID, "unexpected section [%s]: this "
	    "file has no sections", q);
}

static int
options_on_value(const char *section, const char *key, const char *value,
    int line, void *payload)
{
	struct options_parse_ctx *ctx = payload;
	const struct ecc_option *opt;
	char q[ECC_QUOTE_BUF];

	(void)section;
	(void)line;
	if (!(opt = opt_find(ctx->table, key))) {
		ecc_quote(q, key, strlen(key));
		return ecc_error_set(ECC_EINVALID, "unknown option '%s'", q);
	}
	/* a repeated key simply overwrites: the last one wins */
	if (opt_assign(ctx->cfg, opt, value) < 0)
		return conf_error_wrap("option '%s': ", opt->name);
	return 0;
}

int
ecc_options_parse(void *cfg, const struct ecc_option *table,
    const char *buf, size_t len, const char *filename)
{
	struct options_parse_ctx ctx = { cfg, table };

	return ecc_conf_parse(buf, len, filename, options_on_section,
	    options_on_value, &ctx);
}

int
ecc_options_load(void *cfg, const struct ecc_option *table,
    const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int error = -1;

	if ((error = ecc_options_defaults(cfg, table)) < 0)
		goto out;
	if ((error = ecc_file_read(&buf, &len, path, CONF_FILE_MAX)) < 0)
		goto out;
	error = ecc_options_parse(cfg, table, buf, len, path);
out:
	free(buf);
	return error;
}

int
ecc_options_set(void *cfg, const struct ecc_option *table,
    const char *key, const char *value, const char *origin)
{
	const struct ecc_option *opt;
	char q[ECC_QUOTE_BUF];

	if (!origin)
		origin = key ? key : "option";
	if (!key || !(opt = opt_find(table, key))) {
		ecc_quote(q, key ? key : "", key ? strlen(key) : 0);
		return ecc_error_set(ECC_EINVALID, "%s: unknown option '%s'",
		    origin, q);
	}
	if (!value)
		return ecc_error_set(ECC_EINVALID, "%s: missing value", origin);
	if (opt_assign(cfg, opt, value) < 0)
		return conf_error_wrap("%s: ", origin);
	return 0;
}

/* `s` as it must appear after "key = ": quoted when it would not read
 * back the same bare. */
void
ecc_conf_derive_path(char **field, const char *dir, const char *name)
{
	if (*field && **field)
		return;
	free(*field);
	*field = ecc_printf("%s/%s", dir, name);
}

char *
ecc_conf_quote(const char *s)
{
	size_t n = strlen(s), i, o = 0;
	char *out;

	if (n > 0 && !conf_is_space(s[0]) && !conf_is_space(s[n - 1]) &&
	    s[0] != '"' && !strpbrk(s, "#\\"))
		return ecc_strdup(s);
	out = ecc_malloc(2 * n + 3);
	out[o++] = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			out[o++] = '\\';
		out[o++] = s[i];
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

char *
ecc_option_format(const void *cfg, const struct ecc_option *opt)
{
	const void *field = opt_cfield(cfg, opt);
	const char *s;

	switch (opt->type) {
	case ECC_OPT_STRING:
	case ECC_OPT_ENUM:
		s = *(char *const *)field;
		return ecc_conf_quote(s ? s : "");
	case ECC_OPT_BOOL:
		return ecc_strdup(*(const int *)field ? "true" : "false");
	case ECC_OPT_INT:
		return ecc_printf("%" PRId64, *(const int64_t *)field);
	case ECC_OPT_SIZE:
		if (*(const size_t *)field > INT64_MAX)
			return ecc_printf("%zu", *(const size_t *)field);
		return opt_format_size((int64_t)*(const size_t *)field);
	case ECC_OPT_DURATION:
		return opt_format_duration(*(const int64_t *)field);
	}
	return ecc_strdup("");
}

void
ecc_options_dump(FILE *out, const void *cfg, const struct ecc_option *table)
{
	char *v;

	for (; table->name; table++) {
		v = ecc_option_format(cfg, table);
		fprintf(out, "%s = %s\n", table->name, v);
		free(v);
	}
}

void
ecc_options_free(void *cfg, const struct ecc_option *table)
{
	char **field;

	if (!cfg || !table)
		return;
	for (; table->name; table++) {
		if (table->type != ECC_OPT_STRING && table->type != ECC_OPT_ENUM)
			continue;
		field = opt_field(cfg, table);
		free(*field);
		*field = NULL;
	}
}
