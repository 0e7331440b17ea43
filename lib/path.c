/*
 * path.c - the repository's path and name rules (see path.h).  Every
 * path a client sends, every name in the topology and every user name
 * goes through here before it reaches the repository or the file system.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "path.h"

/* Input bytes ecc_quote() copies before cutting with "...". */
#define QUOTE_MAX 128

void
ecc_limits_default(struct ecc_limits *lim)
{
	lim->max_path_len = ECC_DEFAULT_MAX_PATH_LEN;
	lim->max_depth = ECC_DEFAULT_MAX_DEPTH;
	lim->max_file_size = ECC_DEFAULT_MAX_FILE_SIZE;
	lim->max_changes = ECC_DEFAULT_MAX_CHANGES;
	lim->max_changeset = ECC_DEFAULT_MAX_CHANGESET;
	lim->max_json_depth = ECC_DEFAULT_MAX_JSON_DEPTH;
}

void
ecc_quote(char out[ECC_QUOTE_BUF], const char *s, size_t len)
{
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; i < len; i++) {
		if (i >= QUOTE_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'')
			o += (size_t)snprintf(out + o, ECC_QUOTE_BUF - o,
			    "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

static int
path_error(const char *path, const char *rule)
{
	char q[ECC_QUOTE_BUF];

	ecc_quote(q, path, strlen(path));
	return ecc_error_set(ECC_EINVALID, "'%s': %s", q, rule);
}

int
ecc_path_validate(const char *path, const struct ecc_limits *lim)
{
	struct ecc_limits def;
	const char *comp, *end;
	size_t len, clen, depth = 0, i;
	char rule[96];

	if (!lim) {
		ecc_limits_default(&def);
		lim = &def;
	}
	if (!path)
		return ecc_error_set(ECC_EINVALID, "missing path");
	len = strlen(path);
	if (len == 0)
		return path_error(path, "empty path");
	if (len > lim->max_path_len) {
		snprintf(rule, sizeof(rule), "longer than %zu bytes",
		    lim->max_path_len);
		return path_error(path, rule);
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];
		if (c < 0x20 || c == 0x7f)
			return path_error(path, "control character not allowed");
	}
	if (path[0] == '/')
		return path_error(path, "absolute path not allowed");
	if (path[len - 1] == '/')
		return path_error(path, "trailing '/' not allowed");
	for (comp = path; ; comp = end + 1) {
		end = strchr(comp, '/');
		clen = end ? (size_t)(end - comp) : strlen(comp);
		if (clen == 0)
			return path_error(path, "empty component not allowed");
		if (clen > ECC_MAX_COMPONENT_LEN) {
			snprintf(rule, sizeof(rule), "a component longer than "
			    "%d bytes (NAME_MAX)", ECC_MAX_COMPONENT_LEN);
			return path_error(path, rule);
		}
		if (clen == 1 && comp[0] == '.')
			return path_error(path, "'.' component not allowed");
		if (clen == 2 && comp[0] == '.' && comp[1] == '.')
			return path_error(path, "'..' component not allowed");
		if (clen == 4 && strncasecmp(comp, ".git", 4) == 0)
			return path_error(path, "'.git' component not allowed");
		/* Reserved for snapshot manifests and checkout metadata: a
		 * file there would shadow them on a node or in a checkout. */
		if ((clen == 9 && strncasecmp(comp, ".ecconfig", 9) == 0) ||
		    (clen == 6 && strncasecmp(comp, ".eccfg", 6) == 0))
			return path_error(path, "'.ecconfig' and '.eccfg' "
			    "components are reserved");
		if (++depth > lim->max_depth) {
			snprintf(rule, sizeof(rule), "more than %zu components",
			    lim->max_depth);
			return path_error(path, rule);
		}
		if (!end)
			break;
	}
	return 0;
}

static int
char_is_lower_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int
ecc_name_is_reserved(const char *name)
{
	return name && (strcmp(name, "global") == 0 ||
	    strcmp(name, "all") == 0);
}

int
ecc_name_is_subcluster(const char *name)
{
	size_t i;

	if (!name || !(name[0] >= 'a' && name[0] <= 'z'))
		return 0;
	for (i = 1; name[i] != '\0'; i++) {
		if (i >= 63)
			return 0;
		if (!char_is_lower_digit(name[i]) && name[i] != '_' &&
		    name[i] != '-')
			return 0;
	}
	return !ecc_name_is_reserved(name);
}

int
ecc_name_is_node(const char *name)
{
	size_t i;

	if (!name || !char_is_lower_digit(name[0]))
		return 0;
	for (i = 1; name[i] != '\0'; i++) {
		if (i >= 253)
			return 0;
		if (name[i] == '.') {
			/* no empty label: neither ".." nor a trailing dot */
			if (name[i - 1] == '.' || name[i + 1] == '\0')
				return 0;
		} else if (!char_is_lower_digit(name[i]) && name[i] != '-') {
			return 0;
		}
	}
	return strcmp(name, "global") != 0 && strcmp(name, "default") != 0;
}

int
ecc_name_is_user(const char *name)
{
	size_t i;

	if (!name || !((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return 0;
	for (i = 1; name[i] != '\0'; i++) {
		if (i >= 32)
			return 0;
		if (!char_is_lower_digit(name[i]) && name[i] != '_' &&
		    name[i] != '.' && name[i] != '-')
			return 0;
	}
	return 1;
}

int
ecc_path_has_prefix(const char *path, const char *prefix)
{
	size_t plen;

	if (!prefix)
		return 1;
	plen = strlen(prefix);
	/* "a/" means the same folder as "a" */
	while (plen > 0 && prefix[plen - 1] == '/')
		plen--;
	if (plen == 0)
		return 1;
	if (!path || strncmp(path, prefix, plen) != 0)
		return 0;
	return path[plen] == '\0' || path[plen] == '/';
}
