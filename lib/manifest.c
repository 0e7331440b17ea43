/*
 * manifest.c - .ecconfig/manifest.json: building, deterministic
 * serialization, and strict parsing of the file list that describes a
 * view at a revision (see manifest.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "error.h"
#include "json.h"
#include "manifest.h"
#include "util.h"

#define MANIFEST_FORMAT 1
#define MANIFEST_VIEW_MAX 64

/* The top-level folder snapshots reserve for their own metadata. */
#define MANIFEST_RESERVED ".ecconfig"

static int
manifest_is_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[len] == '\0';
}

static int
manifest_path_is_reserved(const char *path)
{
	size_t n = strlen(MANIFEST_RESERVED);

	return strncmp(path, MANIFEST_RESERVED, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

struct ecc_manifest *
ecc_manifest_new(const char *view, int64_t revision, const char *commit)
{
	struct ecc_manifest *m = ecc_calloc(1, sizeof(*m));

	m->view = ecc_strdup(view ? view : "");
	m->revision = revision;
	snprintf(m->commit, sizeof(m->commit), "%s", commit ? commit : "");
	m->since = -1;
	return m;
}

void
ecc_manifest_free(struct ecc_manifest *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nfiles; i++)
		free(m->files[i].path);
	for (i = 0; i < m->ndeleted; i++)
		free(m->deleted[i]);
	free(m->files);
	free(m->deleted);
	free(m->view);
	free(m);
}

void
ecc_manifest_add_file(struct ecc_manifest *m, const char *path,
    unsigned mode, const void *data, size_t len)
{
	struct ecc_manifest_file *f;

	m->files = ecc_grow(m->files, m->nfiles, sizeof(*m->files));
	f = &m->files[m->nfiles++];
	f->path = ecc_strdup(path);
	f->mode = (mode & 0111) ? 0755 : 0644;
	f->size = len;
	ecc_sha256_hex(f->sha256, data, len);
}

void
ecc_manifest_add_deleted(struct ecc_manifest *m, const char *path)
{
	m->deleted = ecc_grow(m->deleted, m->ndeleted, sizeof(*m->deleted));
	m->deleted[m->ndeleted++] = ecc_strdup(path);
}

static int
manifest_cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct ecc_manifest_file *)a)->path,
	    ((const struct ecc_manifest_file *)b)->path);
}

static int
manifest_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
ecc_manifest_sort(struct ecc_manifest *m)
{
	if (m->nfiles > 1)
		qsort(m->files, m->nfiles, sizeof(*m->files), manifest_cmp_file);
	if (m->ndeleted > 1)
		qsort(m->deleted, m->ndeleted, sizeof(*m->deleted),
		    manifest_cmp_str);
}

const struct ecc_manifest_file *
ecc_manifest_find(const struct ecc_manifest *m, const char *path)
{
	size_t lo = 0, hi = m->nfiles, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(path, m->files[mid].path);
		if (c == 0)
			return &m->files[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* A new JSON string, or NULL with the error set naming `what`. */
static json_t *
manifest_jstring(const char *s, const char *what, size_t i)
{
	json_t *v = json_string(s);

	if (!v)
		ecc_error_set(ECC_EINVALID, "%s[%zu]: '%s' is not valid UTF-8",
		    what, i, s);
	return v;
}

int
ecc_manifest_to_json(char **out, size_t *outlen, const struct ecc_manifest *m)
{
	json_t *root = NULL, *files = NULL, *deleted = NULL, *item = NULL, *s;
	char *text = NULL;
	size_t i;
	int error = ECC_EINVALID;

	*out = NULL;
	if (outlen)
		*outlen = 0;
	for (i = 1; i < m->nfiles; i++) {
		if (strcmp(m->files[i - 1].path, m->files[i].path) >= 0) {
			error = ecc_error_set(ECC_EINVALID, "manifest: files "
			    "not sorted or '%s' repeated (ecc_manifest_sort() "
			    "first)", m->files[i].path);
			goto out;
		}
	}
	for (i = 1; i < m->ndeleted; i++) {
		if (strcmp(m->deleted[i - 1], m->deleted[i]) >= 0) {
			error = ecc_error_set(ECC_EINVALID, "manifest: deleted "
			    "not sorted or '%s' repeated (ecc_manifest_sort() "
			    "first)", m->deleted[i]);
			goto out;
		}
	}
	if (!(root = json_object()) || !(files = json_array()) ||
	    !(deleted = json_array()))
		abort();
	if (!(s = json_string(m->view ? m->view : ""))) {
		error = ecc_error_set(ECC_EINVALID,
		    "manifest: view is not valid UTF-8");
		goto out;
	}
	json_object_set_new(root, "format", json_integer(MANIFEST_FORMAT));
	json_object_set_new(root, "view", s);
	json_object_set_new(root, "revision", json_integer(m->revision));
	json_object_set_new(root, "commit", json_string(m->commit));
	if (m->since >= 0)
		json_object_set_new(root, "since", json_integer(m->since));
	for (i = 0; i < m->nfiles; i++) {
		const struct ecc_manifest_file *f = &m->files[i];

		if (!(item = json_object()))
			abort();
		if (!(s = manifest_jstring(f->path, "files", i)))
			goto out;
		json_object_set_new(item, "path", s);
		json_object_set_new(item, "mode",
		    json_string((f->mode & 0111) ? "0755" : "0644"));
		json_object_set_new(item, "size", json_integer(
		    (json_int_t)f->size));
		json_object_set_new(item, "sha256", json_string(f->sha256));
		json_array_append_new(files, item);
		item = NULL;
	}
	json_object_set_new(root, "files", files);
	files = NULL;
	if (m->since >= 0) {
		for (i = 0; i < m->ndeleted; i++) {
			if (!(s = manifest_jstring(m->deleted[i], "deleted", i)))
				goto out;
			json_array_append_new(deleted, s);
		}
		json_object_set_new(root, "deleted", deleted);
		deleted = NULL;
	} else if (m->ndeleted > 0) {
		error = ecc_error_set(ECC_EINVALID,
		    "manifest: deleted paths in a full snapshot (since < 0)");
		goto out;
	}
	text = ecc_json_dump(root);
	/* A text file: end it with a newline. */
	*out = ecc_printf("%s\n", text);
	if (outlen)
		*outlen = strlen(*out);
	error = 0;
out:
	free(text);
	json_decref(item);
	json_decref(files);
	json_decref(deleted);
	json_decref(root);
	return error;
}

/* Validate a path of the manifest: path rules, no NUL, not reserved. */
static int
manifest_check_path(const json_t *jpath, const char *what, size_t i,
    const struct ecc_limits *lim)
{
	const char *path = json_string_value(jpath);
	char where[64];
	int error;

	snprintf(where, sizeof(where), "%s[%zu]%s", what, i,
	    strcmp(what, "files") == 0 ? ".path" : "");
	if (strlen(path) != json_string_length(jpath))
		return ecc_error_set(ECC_EINVALID, "%s: contains a NUL byte",
		    where);
	if ((error = ecc_path_validate(path, lim)) < 0)
		return ecc_json_error_at(error, where);
	if (manifest_path_is_reserved(path))
		return ecc_error_set(ECC_EINVALID, "%s: '%s' is reserved for "
		    "the snapshot's metadata", where, path);
	return 0;
}

static int
manifest_parse_file(struct ecc_manifest *m, size_t i, const json_t *obj,
    const struct ecc_limits *lim)
{
	const struct ecc_jfield fields[] = {
		{ "path", ECC_J_STRING, 1, 1, (int64_t)lim->max_path_len },
		{ "mode", ECC_J_STRING, 1, 1, 16 },
		{ "size", ECC_J_INT, 1, 0, -1 },
		{ "sha256", ECC_J_STRING, 1, 1, 128 },
		{ NULL, ECC_J_STRING, 0, 0, 0 },
	};
	struct ecc_manifest_file *f;
	const char *mode, *sha;
	json_int_t size;
	char where[64];
	int error;

	snprintf(where, sizeof(where), "files[%zu]", i);
	if ((error = ecc_json_check_at(obj, fields, where)) < 0)
		return error;
	if ((error = manifest_check_path(json_object_get(obj, "path"), "files",
	    i, lim)) < 0)
		return error;
	mode = json_string_value(json_object_get(obj, "mode"));
	if (strcmp(mode, "0644") != 0 && strcmp(mode, "0755") != 0)
		return ecc_error_set(ECC_EINVALID,
		    "files[%zu].mode: must be \"0644\" or \"0755\"", i);
	size = json_integer_value(json_object_get(obj, "size"));
	if ((uint64_t)size > lim->max_file_size)
		return ecc_error_set(ECC_ETOOBIG, "files[%zu].size: %lld bytes, "
		    "more than max_file_size (%zu bytes)", i, (long long)size,
		    lim->max_file_size);
	sha = json_string_value(json_object_get(obj, "sha256"));
	if (strlen(sha) != ECC_SHA256_HEX_LEN - 1 ||
	    !manifest_is_hex(sha, ECC_SHA256_HEX_LEN - 1))
		return ecc_error_set(ECC_EINVALID, "files[%zu].sha256: must be "
		    "64 lowercase hexadecimal digits", i);

	m->files = ecc_grow(m->files, m->nfiles, sizeof(*m->files));
	f = &m->files[m->nfiles++];
	f->path = ecc_strdup(json_string_value(json_object_get(obj, "path")));
	f->mode = strcmp(mode, "0755") == 0 ? 0755 : 0644;
	f->size = (uint64_t)size;
	memcpy(f->sha256, sha, ECC_SHA256_HEX_LEN);
	if (m->nfiles > 1 && strcmp(m->files[m->nfiles - 2].path, f->path) >= 0)
		return ecc_error_set(ECC_EINVALID, "files[%zu].path: '%s' is "
		    "not after '%s' (files must be sorted by path, each once)",
		    i, f->path, m->files[m->nfiles - 2].path);
	return 0;
}

static int
manifest_parse_deleted(struct ecc_manifest *m, const json_t *jdeleted,
    const struct ecc_limits *lim)
{
	const json_t *v;
	size_t i;
	int error;

	json_array_foreach(jdeleted, i, v) {
		if (!json_is_string(v))
			return ecc_error_set(ECC_EINVALID,
			    "deleted[%zu]: must be a string", i);
		if ((error = manifest_check_path(v, "deleted", i, lim)) < 0)
			return error;
		ecc_manifest_add_deleted(m, json_string_value(v));
		if (i > 0 && strcmp(m->deleted[i - 1], m->deleted[i]) >= 0)
			return ecc_error_set(ECC_EINVALID, "deleted[%zu]: '%s' "
			    "is not after '%s' (deleted must be sorted, each "
			    "once)", i, m->deleted[i], m->deleted[i - 1]);
		if (ecc_manifest_find(m, m->deleted[i]))
			return ecc_error_set(ECC_EINVALID, "deleted[%zu]: '%s' "
			    "is also listed in files", i, m->deleted[i]);
	}
	return 0;
}

int
ecc_manifest_parse(struct ecc_manifest **out, const char *buf, size_t len,
    const struct ecc_limits *lim)
{
	struct ecc_limits deflim;
	struct ecc_manifest *m = NULL;
	json_t *root = NULL;
	const json_t *jfiles, *jdeleted, *jsince, *v;
	const char *view, *commit;
	size_t i, maxfiles;
	int error = -1;

	*out = NULL;
	if (!lim) {
		ecc_limits_default(&deflim);
		lim = &deflim;
	}
	maxfiles = lim->max_changes * 10;
	if (len > ECC_MANIFEST_MAX_BYTES) {
		error = ecc_error_set(ECC_ETOOBIG, "manifest: %zu bytes, more "
		    "than %u", len, ECC_MANIFEST_MAX_BYTES);
		goto out;
	}
	if ((error = ecc_json_parse(&root, buf, len, lim->max_json_depth)) < 0)
		goto out;
	if (!json_is_object(root)) {
		error = ecc_error_set(ECC_EINVALID,
		    "manifest: must be a JSON object");
		goto out;
	}
	jfiles = json_object_get(root, "files");
	jdeleted = json_object_get(root, "deleted");
	if ((json_is_array(jfiles) && json_array_size(jfiles) > maxfiles) ||
	    (json_is_array(jdeleted) && json_array_size(jdeleted) > maxfiles)) {
		error = ecc_error_set(ECC_ETOOBIG, "%s: more than %zu entries",
		    json_array_size(jfiles) > maxfiles ? "files" : "deleted",
		    maxfiles);
		goto out;
	}
	{
		const struct ecc_jfield fields[] = {
			{ "format", ECC_J_INT, 1, MANIFEST_FORMAT,
			    MANIFEST_FORMAT },
			{ "view", ECC_J_STRING, 1, 1, MANIFEST_VIEW_MAX },
			{ "revision", ECC_J_INT, 1, 0, -1 },
			{ "commit", ECC_J_STRING, 1, 40, 40 },
			{ "since", ECC_J_INT, 0, 0, -1 },
			{ "files", ECC_J_ARRAY, 1, 0, (int64_t)maxfiles },
			{ "deleted", ECC_J_ARRAY, 0, 0, (int64_t)maxfiles },
			{ NULL, ECC_J_STRING, 0, 0, 0 },
		};

		if ((error = ecc_json_check_at(root, fields, NULL)) < 0)
			goto out;
	}
	view = json_string_value(json_object_get(root, "view"));
	if (strcmp(view, "all") != 0 && !ecc_name_is_subcluster(view)) {
		error = ecc_error_set(ECC_EINVALID, "view: '%s' is neither "
		    "\"all\" nor a subcluster name", view);
		goto out;
	}
	commit = json_string_value(json_object_get(root, "commit"));
	if (!manifest_is_hex(commit, 40)) {
		error = ecc_error_set(ECC_EINVALID, "commit: must be 40 "
		    "lowercase hexadecimal digits");
		goto out;
	}
	m = ecc_manifest_new(view, json_integer_value(json_object_get(root,
	    "revision")), commit);
	if ((jsince = json_object_get(root, "since")) != NULL) {
		m->since = json_integer_value(jsince);
		if (m->since >= m->revision) {
			error = ecc_error_set(ECC_EINVALID, "since: %lld must be "
			    "below revision %lld", (long long)m->since,
			    (long long)m->revision);
			goto out;
		}
	}
	json_array_foreach(jfiles, i, v) {
		if ((error = manifest_parse_file(m, i, v, lim)) < 0)
			goto out;
	}
	if (jdeleted) {
		if (m->since < 0) {
			error = ecc_error_set(ECC_EINVALID, "deleted: only "
			    "allowed in a delta (with since)");
			goto out;
		}
		if ((error = manifest_parse_deleted(m, jdeleted, lim)) < 0)
			goto out;
	}
	*out = m;
	m = NULL;
	error = 0;
out:
	ecc_manifest_free(m);
	json_decref(root);
	return error;
}
