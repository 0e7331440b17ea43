/*
 * conf.h - the one parser for ecconfig's "key = value" files
 * (ecconfigd.conf, cluster.boot, the topology file global/cluster.conf),
 * and option tables that drive parsing, defaults, dumping and docs.
 *
 * Syntax: one "key = value" per line; '#' starts a comment at the start of
 * a line or after whitespace; blank lines ignored; "[name]" opens a
 * section; values may be double-quoted (with \" and \\ escapes) to keep
 * leading/trailing spaces or '#'.  Lines are at most 4096 bytes (a
 * trailing "\r" is dropped); NUL and control bytes other than tab are
 * errors.  Keys are letters, digits, '_', '-' and '.'.  Errors read
 * "FILE:LINE: message".
 *
 * Option files (ecconfigd.conf): a key given twice is not an error, the
 * last one wins (so a later line overrides an earlier one).
 */
#ifndef ECC_CONF_H
#define ECC_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Called for each key = value.  `section` is "" before any [section].
 * Return 0 to go on, or a negative code after ecc_error_set() (the parser
 * then prefixes "FILE:LINE: "). */
typedef int (*ecc_conf_cb)(const char *section, const char *key,
    const char *value, int line, void *payload);

/* Called for each "[section]" header (may be NULL). Same return rule. */
typedef int (*ecc_conf_section_cb)(const char *section, int line,
    void *payload);

/* Parse `buf` (`len` bytes, need not be NUL-terminated).  `filename`
 * appears in error messages.  Pure: no I/O. */
int ecc_conf_parse(const char *buf, size_t len, const char *filename,
    ecc_conf_section_cb on_section, ecc_conf_cb on_value, void *payload);

enum ecc_opt_type {
	ECC_OPT_STRING,   /* char *, malloc'd; at most 2000 bytes, no control
	                     bytes but tab */
	ECC_OPT_INT,      /* int64_t within [min, max] */
	ECC_OPT_BOOL,     /* int: true/false/yes/no/on/off/1/0 */
	ECC_OPT_SIZE,     /* size_t: number with optional k/m/g suffix */
	ECC_OPT_ENUM,     /* char *, one of `choices` */
	ECC_OPT_DURATION, /* int64_t seconds: number with s/m/h/d suffix */
};

struct ecc_option {
	const char *name;
	enum ecc_opt_type type;
	size_t offset;              /* offsetof() into the config struct */
	const char *def;            /* default as text; NULL = unset */
	int64_t min, max;           /* bounds for INT, SIZE, DURATION */
	const char *const *choices; /* NULL-terminated, for ENUM */
	int reloadable;             /* may change on SIGHUP */
	const char *doc;            /* one-line description */
	/* STRING only, may be NULL: a further rule on the value, applied
	 * wherever it is set (defaults, files, ecc_options_set()) so its
	 * error names FILE:LINE and the key like the type's own checks.
	 * Returns 0, or a negative code after ecc_error_set() with a
	 * message naming neither key nor location. */
	int (*check)(const char *value);
};

/* Set every option of `table` (terminated by a NULL name) to its
 * default.  Every field is overwritten without being freed: pass a zeroed
 * struct or one already emptied with ecc_options_free(). */
int ecc_options_defaults(void *cfg, const struct ecc_option *table);

/* Parse `buf` into `cfg`; unknown keys, sections and bad values are
 * errors naming FILE:LINE and the key.  Repeated keys: the last wins. */
int ecc_options_parse(void *cfg, const struct ecc_option *table,
    const char *buf, size_t len, const char *filename);

/* Defaults, then the file at `path` (read with a 1 MiB bound). */
int ecc_options_load(void *cfg, const struct ecc_option *table,
    const char *path);

/* Set one option from text (for command-line overrides).  The error
 * names `origin` (e.g. "--log-level"). */
int ecc_options_set(void *cfg, const struct ecc_option *table,
    const char *key, const char *value, const char *origin);

/* A file option left empty means DIR/NAME: set *field (a malloc'd string
 * option) to that unless it is set already. */
void ecc_conf_derive_path(char **field, const char *dir, const char *name);

/* `s` as a value after "key = ": as it is when it reads back the same,
 * else double-quoted with " and \ escaped.  Malloc'd. */
char *ecc_conf_quote(const char *s);

/* One option's current value as it is written after "key = " (sizes and
 * durations with their largest exact unit, booleans true/false, strings
 * quoted when needed; a NULL string as "").  Malloc'd. */
char *ecc_option_format(const void *cfg, const struct ecc_option *opt);

/* Write every option as "key = value" lines, in table order. */
void ecc_options_dump(FILE *out, const void *cfg,
    const struct ecc_option *table);

/* Free the malloc'd strings of `cfg` (set to NULL); `cfg` may be NULL. */
void ecc_options_free(void *cfg, const struct ecc_option *table);

/* Parse a boolean word; returns 0 and sets *out, or ECC_EINVALID. */
int ecc_conf_parse_bool(int *out, const char *value);

#endif
