/*
 * changeset.c - the commit request body: parsing and validation of the
 * JSON a client posts to /v1/commits, its serialization, and helpers to
 * build one (see changeset.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "changeset.h"
#include "error.h"
#include "json.h"
#include "util.h"

#define CHANGESET_MESSAGE_MAX 65536

/* Add one zeroed change, growing the array by doubling (the capacity is
 * implied by nchanges: it is the next power of two). */
static struct ecc_change *
changeset_append(struct ecc_changeset *cs)
{
	size_t n = cs->nchanges;

	cs->changes = ecc_grow(cs->changes, n, sizeof(*cs->changes));
	memset(&cs->changes[n], 0, sizeof(cs->changes[n]));
	cs->nchanges++;
	return &cs->changes[n];
}

static unsigned
changeset_git_mode(unsigned mode)
{
	return (mode & 0111) ? 0100755 : 0100644;
}

struct ecc_changeset *
ecc_changeset_new(int64_t base, const char *message)
{
	struct ecc_changeset *cs = ecc_calloc(1, sizeof(*cs));

	cs->base = base;
	cs->message = ecc_strdup(message ? message : "");
	return cs;
}

void
ecc_changeset_add_write(struct ecc_changeset *cs, const char *path,
    const void *data, size_t len, unsigned mode)
{
	struct ecc_change *c = changeset_append(cs);

	c->path = ecc_strdup(path);
	c->action = ECC_CHANGE_WRITE;
	c->mode = changeset_git_mode(mode);
	c->data = ecc_malloc(len);
	if (len)
		memcpy(c->data, data, len);
	c->len = len;
}

void
ecc_changeset_add_delete(struct ecc_changeset *cs, const char *path)
{
	struct ecc_change *c = changeset_append(cs);

	c->path = ecc_strdup(path);
	c->action = ECC_CHANGE_DELETE;
}

void
ecc_changeset_free(struct ecc_changeset *cs)
{
	size_t i;

	if (!cs)
		return;
	for (i = 0; i < cs->nchanges; i++) {
		free(cs->changes[i].path);
		free(cs->changes[i].data);
	}
	free(cs->changes);
	free(cs->author);
	free(cs->message);
	free(cs);
}

/* Decode change `i`'s base64 content into `c`, within the per-file and
 * (with *total) per-set byte limits. */
static int
changeset_parse_content(struct ecc_change *c, size_t i, const json_t *jcontent,
    size_t *total, const struct ecc_limits *lim)
{
	const char *text = json_string_value(jcontent);
	size_t textlen = json_string_length(jcontent), len = 0;
	char *data = NULL;
	int error;

	/* Refuse before decoding what cannot fit: 4 characters per 3 bytes. */
	if (textlen / 4 > lim->max_file_size / 3 + 1)
		return ecc_error_set(ECC_ETOOBIG,
		    "changes[%zu].content: more than max_file_size (%zu bytes)",
		    i, lim->max_file_size);
	if (textlen == 0) {
		data = ecc_malloc(0);
	} else if ((error = ecc_base64_decode(&data, &len, text,
	    textlen)) < 0) {
		char where[64];

		snprintf(where, sizeof(where), "changes[%zu].content", i);
		return ecc_json_error_at(error, where);
	}
	c->data = data;
	c->len = len;
	if (c->len > lim->max_file_size)
		return ecc_error_set(ECC_ETOOBIG,
		    "changes[%zu].content: %zu bytes, more than max_file_size "
		    "(%zu bytes)", i, c->len, lim->max_file_size);
	*total += c->len;
	if (*total > lim->max_changeset)
		return ecc_error_set(ECC_ETOOBIG,
		    "changes[%zu].content: the change set's content exceeds "
		    "max_changeset (%zu bytes)", i, lim->max_changeset);
	return 0;
}

/* Fill `c` from the JSON object of change `i`. */
static int
changeset_parse_change(struct ecc_change *c, size_t i, const json_t *obj,
    size_t *total, const struct ecc_limits *lim)
{
	const struct ecc_jfield fields[] = {
		{ "path", ECC_J_STRING, 1, 1, (int64_t)lim->max_path_len },
		{ "action", ECC_J_STRING, 1, 1, 16 },
		{ "content", ECC_J_STRING, 0, 0, -1 },
		{ "mode", ECC_J_STRING, 0, 1, 16 },
		{ NULL, ECC_J_STRING, 0, 0, 0 },
	};
	const json_t *jpath, *jcontent, *jmode;
	const char *action, *mode;
	char where[64];
	int error;

	snprintf(where, sizeof(where), "changes[%zu]", i);
	if ((error = ecc_json_check_at(obj, fields, where)) < 0)
		return error;
	jpath = json_object_get(obj, "path");
	jcontent = json_object_get(obj, "content");
	jmode = json_object_get(obj, "mode");
	action = json_string_value(json_object_get(obj, "action"));

	if (strlen(json_string_value(jpath)) != json_string_length(jpath))
		return ecc_error_set(ECC_EINVALID,
		    "changes[%zu].path: contains a NUL byte", i);
	if ((error = ecc_path_validate(json_string_value(jpath), lim)) < 0) {
		snprintf(where, sizeof(where), "changes[%zu].path", i);
		return ecc_json_error_at(error, where);
	}
	c->path = ecc_strdup(json_string_value(jpath));

	if (strcmp(action, "write") == 0) {
		c->action = ECC_CHANGE_WRITE;
		if (!jcontent)
			return ecc_error_set(ECC_EINVALID, "changes[%zu].content: "
			    "required when action is \"write\"", i);
		mode = jmode ? json_string_value(jmode) : "0644";
		if (strcmp(mode, "0644") == 0)
			c->mode = 0100644;
		else if (strcmp(mode, "0755") == 0)
			c->mode = 0100755;
		else
			return ecc_error_set(ECC_EINVALID, "changes[%zu].mode: "
			    "must be \"0644\" or \"0755\"", i);
		return changeset_parse_content(c, i, jcontent, total, lim);
	}
	if (strcmp(action, "delete") == 0) {
		c->action = ECC_CHANGE_DELETE;
		if (jcontent)
			return ecc_error_set(ECC_EINVALID, "changes[%zu].content: "
			    "not allowed when action is \"delete\"", i);
		if (jmode)
			return ecc_error_set(ECC_EINVALID, "changes[%zu].mode: "
			    "not allowed when action is \"delete\"", i);
		return 0;
	}
	return ecc_error_set(ECC_EINVALID,
	    "changes[%zu].action: must be \"write\" or \"delete\"", i);
}

static int
changeset_cmp_index(const void *a, const void *b, void *payload)
{
	const struct ecc_changeset *cs = payload;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int c = strcmp(cs->changes[ia].path, cs->changes[ib].path);

	if (c)
		return c;
	return ia < ib ? -1 : ia > ib;
}

/* Refuse two changes to one path, naming both.  O(n log n). */
static int
changeset_check_duplicates(const struct ecc_changeset *cs)
{
	size_t *order = NULL, i;
	int error = 0;

	if (cs->nchanges < 2)
		return 0;
	order = ecc_calloc(cs->nchanges, sizeof(*order));
	for (i = 0; i < cs->nchanges; i++)
		order[i] = i;
	qsort_r(order, cs->nchanges, sizeof(*order), changeset_cmp_index,
	    (void *)cs);
	for (i = 1; i < cs->nchanges; i++) {
		if (strcmp(cs->changes[order[i - 1]].path,
		    cs->changes[order[i]].path) == 0) {
			error = ecc_error_set(ECC_EINVALID,
			    "changes[%zu].path: '%s' already appears in "
			    "changes[%zu]", order[i], cs->changes[order[i]].path,
			    order[i - 1]);
			break;
		}
	}
	free(order);
	return error;
}

int
ecc_changeset_parse(struct ecc_changeset **out, const char *buf,
    size_t len, const struct ecc_limits *lim)
{
	struct ecc_limits deflim;
	struct ecc_changeset *cs = NULL;
	json_t *root = NULL, *jchanges;
	const json_t *jmessage;
	size_t i, total = 0;
	int error = -1;

	*out = NULL;
	if (!lim) {
		ecc_limits_default(&deflim);
		lim = &deflim;
	}
	if ((error = ecc_json_parse(&root, buf, len, lim->max_json_depth)) < 0)
		goto out;
	if (!json_is_object(root)) {
		error = ecc_error_set(ECC_EINVALID,
		    "change set: must be a JSON object");
		goto out;
	}
	jchanges = json_object_get(root, "changes");
	if (json_is_array(jchanges) &&
	    json_array_size(jchanges) > lim->max_changes) {
		error = ecc_error_set(ECC_ETOOBIG,
		    "changes: %zu entries, more than max_changes (%zu)",
		    json_array_size(jchanges), lim->max_changes);
		goto out;
	}
	{
		const struct ecc_jfield fields[] = {
			{ "base", ECC_J_INT, 1, 0, -1 },
			{ "message", ECC_J_STRING, 1, 1, CHANGESET_MESSAGE_MAX },
			{ "changes", ECC_J_ARRAY, 1, 1,
			    (int64_t)lim->max_changes },
			{ NULL, ECC_J_STRING, 0, 0, 0 },
		};

		if ((error = ecc_json_check_at(root, fields, NULL)) < 0)
			goto out;
	}
	jmessage = json_object_get(root, "message");
	if (strlen(json_string_value(jmessage)) !=
	    json_string_length(jmessage)) {
		error = ecc_error_set(ECC_EINVALID,
		    "message: contains a NUL byte");
		goto out;
	}

	cs = ecc_calloc(1, sizeof(*cs));
	cs->base = json_integer_value(json_object_get(root, "base"));
	cs->message = ecc_strdup(json_string_value(jmessage));
	for (i = 0; i < json_array_size(jchanges); i++) {
		struct ecc_change *c = changeset_append(cs);

		if ((error = changeset_parse_change(c, i,
		    json_array_get(jchanges, i), &total, lim)) < 0)
			goto out;
	}
	if ((error = changeset_check_duplicates(cs)) < 0)
		goto out;
	*out = cs;
	cs = NULL;
	error = 0;
out:
	ecc_changeset_free(cs);
	json_decref(root);
	return error;
}

char *
ecc_changeset_to_json(const struct ecc_changeset *cs)
{
	json_t *root = NULL, *changes = NULL, *item = NULL, *s;
	char *text = NULL, *b64;
	size_t i;

	root = json_object();
	changes = json_array();
	if (!root || !changes)
		abort();
	if (!(s = json_string(cs->message ? cs->message : ""))) {
		ecc_error_set(ECC_EINVALID, "message: not valid UTF-8");
		goto out;
	}
	json_object_set_new(root, "base", json_integer(cs->base));
	json_object_set_new(root, "message", s);
	for (i = 0; i < cs->nchanges; i++) {
		const struct ecc_change *c = &cs->changes[i];

		if (!(item = json_object()))
			abort();
		if (!(s = json_string(c->path))) {
			ecc_error_set(ECC_EINVALID,
			    "changes[%zu].path: not valid UTF-8", i);
			goto out;
		}
		json_object_set_new(item, "path", s);
		if (c->action == ECC_CHANGE_DELETE) {
			json_object_set_new(item, "action",
			    json_string("delete"));
		} else {
			json_object_set_new(item, "action",
			    json_string("write"));
			b64 = c->len ? ecc_base64_encode(c->data, c->len) :
			    ecc_strdup("");
			if (!b64)
				goto out;
			json_object_set_new(item, "content", json_string(b64));
			free(b64);
			json_object_set_new(item, "mode", json_string(
			    (c->mode & 0111) ? "0755" : "0644"));
		}
		json_array_append_new(changes, item);
		item = NULL;
	}
	json_object_set_new(root, "changes", changes);
	changes = NULL;
	text = ecc_json_dump(root);
out:
	json_decref(item);
	json_decref(changes);
	json_decref(root);
	return text;
}
