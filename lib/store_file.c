/*
 * store_file.c - the "file" store back end: accounts in DATA_DIR/users.json
 * and enrolled nodes in DATA_DIR/nodes.json (mode 0600), each replaced
 * atomically on every change.  A file is small and other processes (the
 * daemon, a local `eccfg user add`) may rewrite it at any time, so it is
 * read again on every call; changes are serialized between processes by
 * an flock(2) on the file's own lock (DATA_DIR/users.json.lock,
 * DATA_DIR/nodes.json.lock).  A corrupt file is an error naming the file,
 * never an empty store.  Both are "record files" (below), which differ
 * only in how one record is checked and written.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "auth.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "path.h"
#include "store.h"
#include "util.h"

#define USERS_FILE "users.json"
#define USERS_FILE_MAX (16 * 1024 * 1024)
#define USERS_HASH_MAX 512

#define NODES_FILE "nodes.json"
#define NODES_FILE_MAX (16 * 1024 * 1024)

#define AUDIT_FILE "audit.log"
#define AUDIT_MAX (64 * 1024 * 1024)

/* --- record files --- */

/*
 * A record file holds a JSON object whose only member, `key`, is an array
 * of records, no two with the same name.  A rec_type says what one record
 * is; the code below reads (bounded, strict), writes (atomically), locks
 * and edits any record file the same way.
 */
struct rec_type {
	const char *key;              /* "users": the one top-level member */
	const char *noun;             /* "user", for "user 'x' appears twice" */
	size_t size;                  /* sizeof one record */
	size_t name_off;              /* offsetof its `char *name` */
	size_t max;                   /* largest file read, in bytes */
	int save_sorted;              /* written sorted by name */
	/* Fill the zeroed `rec` from the object `obj`, entry i of `path`. */
	int (*parse)(void *rec, const json_t *obj, const char *path, size_t i);
	json_t *(*pack)(const void *rec);      /* NULL: out of memory */
	void (*copy)(void *dst, const void *src);
	void (*clear)(void *rec);
	int (*missing)(const char *name);      /* sets ECC_ENOTFOUND */
};

struct rec_file {
	const struct rec_type *type;
	char *path;
	char *lock_path;
};

/* The records of a file, as read: n of type->size bytes at v. */
struct rec_set {
	void *v;
	size_t n;
};

struct file_store {
	ecc_store base;               /* first: ecc_store * <-> file_store * */
	struct rec_file users;
	struct rec_file nodes;
	char *audit_path;
	int64_t audit_next;           /* next id; 0 until read */
};

static void *
rec_at(const struct rec_type *t, const struct rec_set *s, size_t i)
{
	return (char *)s->v + i * t->size;
}

static const char *
rec_name(const struct rec_type *t, const void *rec)
{
	return *(char *const *)(const void *)((const char *)rec + t->name_off);
}

static void
rec_set_clear(const struct rec_type *t, struct rec_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		t->clear(rec_at(t, s, i));
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static ssize_t
rec_set_find(const struct rec_type *t, const struct rec_set *s,
    const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(rec_name(t, rec_at(t, s, i)), name))
			return (ssize_t)i;
	return -1;
}

/* A new zeroed record at the end of `s`; borrowed, valid until `s` changes. */
static void *
rec_set_append(const struct rec_type *t, struct rec_set *s)
{
	void *rec;

	s->v = ecc_realloc(s->v, (s->n + 1) * t->size);
	rec = rec_at(t, s, s->n++);
	memset(rec, 0, t->size);
	return rec;
}

/* Remove the record named `arg` (a const char *); an edit for rec_modify. */
static int
rec_set_remove(const struct rec_type *t, struct rec_set *s, const void *arg)
{
	const char *name = arg;
	ssize_t i;

	if ((i = rec_set_find(t, s, name)) < 0)
		return t->missing(name);
	t->clear(rec_at(t, s, (size_t)i));
	memmove(rec_at(t, s, (size_t)i), rec_at(t, s, (size_t)i + 1),
	    (s->n - (size_t)i - 1) * t->size);
	s->n--;
	return 0;
}

/* A bad field of entry i of the array `key` in `path`. */
static int
rec_bad(const char *path, const char *key, size_t i, const char *field,
    const char *what)
{
	return ecc_error_set(ECC_EINVALID, "%s: %s[%zu].%s: %s", path, key, i,
	    field, what);
}

static int
rec_parse(const struct rec_type *t, struct rec_set *out, const char *buf,
    size_t len, const char *path)
{
	json_error_t jerr;
	json_t *root = NULL, *recs, *v, *seen = NULL;
	const char *key;
	size_t i;
	int error = -1;

	if ((root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		error = ecc_error_set(ECC_EINVALID, "%s: line %d column %d: %s",
		    path, jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(root)) {
		error = ecc_error_set(ECC_EINVALID, "%s: not a JSON object",
		    path);
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, t->key) != 0) {
			error = ecc_error_set(ECC_EINVALID, "%s: unknown field "
			    "'%.64s'", path, key);
			goto out;
		}
	}
	if (!json_is_array(recs = json_object_get(root, t->key))) {
		error = ecc_error_set(ECC_EINVALID, "%s: \"%s\" must be an "
		    "array", path, t->key);
		goto out;
	}
	out->v = ecc_calloc(json_array_size(recs), t->size);
	/* Names seen so far, hashed: a file of 10,000 nodes is read on
	 * every enrollment, and a pairwise check made that quadratic. */
	seen = json_object();
	json_array_foreach(recs, i, v) {
		out->n = i + 1;
		if (!json_is_object(v)) {
			error = ecc_error_set(ECC_EINVALID, "%s: %s[%zu]: not "
			    "an object", path, t->key, i);
			goto out;
		}
		if ((error = t->parse(rec_at(t, out, i), v, path, i)) < 0)
			goto out;
		key = rec_name(t, rec_at(t, out, i));
		if (json_object_get(seen, key)) {
			error = ecc_error_set(ECC_EINVALID, "%s: %s '%s' "
			    "appears twice", path, t->noun, key);
			goto out;
		}
		json_object_set_new(seen, key, json_true());
	}
	error = 0;
out:
	if (error < 0)
		rec_set_clear(t, out);
	json_decref(seen);
	json_decref(root);
	return error;
}

/* Read and check the file into *out (owned by the caller; rec_set_clear).
 * A missing file is an empty set. */
static int
rec_load(const struct rec_file *f, struct rec_set *out)
{
	char *buf = NULL;
	size_t len = 0;
	int error;

	out->v = NULL;
	out->n = 0;
	error = ecc_file_read(&buf, &len, f->path, f->type->max);
	if (error == ECC_ENOTFOUND) {
		ecc_error_clear();
		return 0;
	}
	if (error == 0)
		error = rec_parse(f->type, out, buf, len, f->path);
	free(buf);
	return error;
}

static int
rec_cmp(const void *a, const void *b, void *payload)
{
	const struct rec_type *t = payload;

	return strcmp(rec_name(t, a), rec_name(t, b));
}

/* Sort `s` by name. */
static void
rec_set_sort(const struct rec_type *t, struct rec_set *s)
{
	if (s->n > 1)
		qsort_r(s->v, s->n, t->size, rec_cmp, (void *)t);
}

/* Replace the file atomically with `s` (sorted first if the type says so). */
static int
rec_save(const struct rec_file *f, struct rec_set *s)
{
	const struct rec_type *t = f->type;
	json_t *root = NULL, *recs, *v;
	char *text = NULL;
	size_t i;
	int error = -1;

	if (t->save_sorted)
		rec_set_sort(t, s);
	recs = json_array();
	root = json_pack("{s:o}", t->key, recs);
	if (!root) {
		json_decref(recs);
		error = ecc_error_set(ECC_ENOMEM, "%s: cannot build JSON",
		    f->path);
		goto out;
	}
	for (i = 0; i < s->n; i++) {
		v = t->pack(rec_at(t, s, i));
		if (!v || json_array_append_new(recs, v) < 0) {
			error = ecc_error_set(ECC_ENOMEM, "%s: cannot build "
			    "JSON", f->path);
			goto out;
		}
	}
	if ((text = json_dumps(root, JSON_INDENT(2))) == NULL) {
		error = ecc_error_set(ECC_ENOMEM, "%s: cannot encode JSON",
		    f->path);
		goto out;
	}
	error = ecc_file_write_atomic(f->path, text, strlen(text), 0600);
out:
	free(text);
	json_decref(root);
	return error;
}

/* Serialize read-modify-write cycles between processes.  Returns the
 * locked descriptor (closing it unlocks) or a negative code. */
static int
rec_lock(const struct rec_file *f)
{
	int fd;

	if ((fd = open(f->lock_path, O_RDWR | O_CREAT | O_CLOEXEC,
	    0600)) < 0)
		return ecc_error_set_errno(ECC_ERROR, "cannot open %s",
		    f->lock_path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			ecc_error_set_errno(ECC_ERROR, "cannot lock %s",
			    f->lock_path);
			close(fd);
			return ECC_ERROR;
		}
	}
	return fd;
}

/* Lock the file, load it, apply `edit` to the set and save the result;
 * nothing is saved when `edit` fails. */
static int
rec_modify(const struct rec_file *f, int (*edit)(const struct rec_type *,
    struct rec_set *, const void *), const void *arg)
{
	struct rec_set s = { NULL, 0 };
	int lock = -1, error = -1;

	if ((error = lock = rec_lock(f)) < 0 ||
	    (error = rec_load(f, &s)) < 0 ||
	    (error = edit(f->type, &s, arg)) < 0)
		goto out;
	error = rec_save(f, &s);
out:
	rec_set_clear(f->type, &s);
	if (lock >= 0)
		close(lock);
	return error;
}

/* Copy the record named `name` into `out` (the caller clears it). */
static int
rec_get(const struct rec_file *f, void *out, const char *name)
{
	struct rec_set s;
	ssize_t i;
	int error;

	if ((error = rec_load(f, &s)) < 0)
		return error;
	if ((i = rec_set_find(f->type, &s, name)) < 0)
		error = f->type->missing(name);
	else
		f->type->copy(out, rec_at(f->type, &s, (size_t)i));
	rec_set_clear(f->type, &s);
	return error;
}

/* All the records, sorted by name, into *out (owned by the caller). */
static int
rec_list(const struct rec_file *f, struct rec_set *out)
{
	int error;

	if ((error = rec_load(f, out)) < 0)
		return error;
	rec_set_sort(f->type, out);
	return 0;
}

static void
rec_file_init(struct rec_file *f, const struct rec_type *t,
    const char *data_dir, const char *name)
{
	f->type = t;
	f->path = ecc_printf("%s/%s", data_dir, name);
	f->lock_path = ecc_printf("%s/%s.lock", data_dir, name);
}

static void
rec_file_clear(struct rec_file *f)
{
	free(f->path);
	free(f->lock_path);
}

/* --- users --- */

static void
user_copy(void *dst, const void *src)
{
	struct ecc_user *d = dst;
	const struct ecc_user *s = src;

	d->name = ecc_strdup(s->name);
	d->role = s->role;
	d->hash = ecc_strdup(s->hash);
	d->created = s->created;
	d->changed = s->changed;
}

static void
user_clear(void *rec)
{
	ecc_user_clear(rec);
}

static int
user_missing(const char *name)
{
	return ecc_error_set(ECC_ENOTFOUND, "no user '%s'", name);
}

/* One entry of "users", every field checked. */
static int
user_parse(void *rec, const json_t *obj, const char *path, size_t i)
{
	struct ecc_user *u = rec;
	const char *key, *s;
	json_t *v;
	int seen = 0;

	json_object_foreach((json_t *)obj, key, v) {
		if (!strcmp(key, "name")) {
			s = json_string_value(v);
			if (!s || !ecc_name_is_user(s))
				return rec_bad(path, "users", i, key,
				    "not a valid user name");
			u->name = ecc_strdup(s);
			seen |= 1;
		} else if (!strcmp(key, "role")) {
			s = json_string_value(v);
			u->role = ecc_role_from_name(s);
			if (u->role == ECC_ROLE_NONE)
				return rec_bad(path, "users", i, key,
				    "must be \"admin\" or \"service\"");
			seen |= 2;
		} else if (!strcmp(key, "hash")) {
			s = json_string_value(v);
			if (!s || !*s || json_string_length(v) > USERS_HASH_MAX ||
			    strlen(s) != json_string_length(v))
				return rec_bad(path, "users", i, key,
				    "must be a password hash string");
			u->hash = ecc_strdup(s);
			seen |= 4;
		} else if (!strcmp(key, "created") || !strcmp(key, "changed")) {
			if (!json_is_integer(v) || json_integer_value(v) < 0)
				return rec_bad(path, "users", i, key,
				    "must be a non-negative integer");
			if (key[1] == 'r')
				u->created = json_integer_value(v);
			else
				u->changed = json_integer_value(v);
			seen |= key[1] == 'r' ? 8 : 16;
		} else {
			return rec_bad(path, "users", i, key, "unknown field");
		}
	}
	if (seen != 31)
		return ecc_error_set(ECC_EINVALID, "%s: users[%zu]: name, role, "
		    "hash, created and changed are required", path, i);
	return 0;
}

static json_t *
user_pack(const void *rec)
{
	const struct ecc_user *u = rec;

	return json_pack("{s:s, s:s, s:s, s:I, s:I}", "name", u->name,
	    "role", ecc_role_name(u->role), "hash", u->hash,
	    "created", (json_int_t)u->created,
	    "changed", (json_int_t)u->changed);
}

/* users.json keeps accounts in the order they were added. */
static const struct rec_type user_type = {
	.key = "users",
	.noun = "user",
	.size = sizeof(struct ecc_user),
	.name_off = offsetof(struct ecc_user, name),
	.max = USERS_FILE_MAX,
	.save_sorted = 0,
	.parse = user_parse,
	.pack = user_pack,
	.copy = user_copy,
	.clear = user_clear,
	.missing = user_missing,
};

static int
user_set_add(const struct rec_type *t, struct rec_set *s, const void *arg)
{
	const struct ecc_user *u = arg;
	struct ecc_user *nu;

	if (rec_set_find(t, s, u->name) >= 0)
		return ecc_error_set(ECC_EEXISTS, "user '%s' already exists",
		    u->name);
	nu = rec_set_append(t, s);
	user_copy(nu, u);
	if (nu->created <= 0)
		nu->created = (int64_t)time(NULL);
	if (nu->changed <= 0)
		nu->changed = nu->created;
	return 0;
}

static int
user_set_update(const struct rec_type *t, struct rec_set *s,
    const void *arg)
{
	const struct ecc_user *u = arg;
	struct ecc_user *old;
	ssize_t i;

	if ((i = rec_set_find(t, s, u->name)) < 0)
		return t->missing(u->name);
	old = rec_at(t, s, (size_t)i);
	free(old->hash);
	old->hash = ecc_strdup(u->hash);
	old->role = u->role;
	old->changed = (int64_t)time(NULL);
	return 0;
}

static int
file_user_get(ecc_store *st, struct ecc_user *out, const char *name)
{
	return rec_get(&((struct file_store *)st)->users, out, name);
}

static int
file_user_list(ecc_store *st, struct ecc_user **out, size_t *n)
{
	struct rec_set s;
	int error;

	if ((error = rec_list(&((struct file_store *)st)->users, &s)) < 0)
		return error;
	*out = s.v;
	*n = s.n;
	return 0;
}

static int
file_user_add(ecc_store *st, const struct ecc_user *u)
{
	return rec_modify(&((struct file_store *)st)->users, user_set_add, u);
}

static int
file_user_update(ecc_store *st, const struct ecc_user *u)
{
	return rec_modify(&((struct file_store *)st)->users, user_set_update,
	    u);
}

static int
file_user_remove(ecc_store *st, const char *name)
{
	return rec_modify(&((struct file_store *)st)->users, rec_set_remove,
	    name);
}

/* --- nodes --- */

static void
node_copy(void *dst, const void *src)
{
	struct ecc_node *d = dst;
	const struct ecc_node *s = src;

	d->name = ecc_strdup(s->name);
	d->subcluster = ecc_strdup(s->subcluster);
	d->serial = ecc_strdup(s->serial);
	d->enrolled = s->enrolled;
}

static void
node_clear(void *rec)
{
	ecc_node_clear(rec);
}

static int
node_missing(const char *name)
{
	return ecc_error_set(ECC_ENOTFOUND, "node %s is not enrolled", name);
}

static int
serial_ok(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= ECC_NODE_SERIAL_MAX &&
	    strspn(s, "0123456789abcdef") == len;
}

/* One entry of "nodes", every field checked. */
static int
node_parse(void *rec, const json_t *obj, const char *path, size_t i)
{
	struct ecc_node *nd = rec;
	const char *key, *s;
	json_t *v;
	int seen = 0;

	json_object_foreach((json_t *)obj, key, v) {
		s = json_string_value(v);
		if (!strcmp(key, "name")) {
			if (!s || !ecc_name_is_node(s))
				return rec_bad(path, "nodes", i, key,
				    "not a valid node name");
			nd->name = ecc_strdup(s);
			seen |= 1;
		} else if (!strcmp(key, "subcluster")) {
			if (!s || !ecc_name_is_subcluster(s))
				return rec_bad(path, "nodes", i, key,
				    "not a valid subcluster name");
			nd->subcluster = ecc_strdup(s);
			seen |= 2;
		} else if (!strcmp(key, "serial")) {
			if (!s || !serial_ok(s))
				return rec_bad(path, "nodes", i, key,
				    "must be lower case hex");
			nd->serial = ecc_strdup(s);
			seen |= 4;
		} else if (!strcmp(key, "enrolled")) {
			if (!json_is_integer(v) || json_integer_value(v) < 0)
				return rec_bad(path, "nodes", i, key,
				    "must be a non-negative integer");
			nd->enrolled = json_integer_value(v);
			seen |= 8;
		} else {
			return rec_bad(path, "nodes", i, key, "unknown field");
		}
	}
	if (seen != 15)
		return ecc_error_set(ECC_EINVALID, "%s: nodes[%zu]: name, "
		    "subcluster, serial and enrolled are required", path, i);
	return 0;
}

static json_t *
node_pack(const void *rec)
{
	const struct ecc_node *nd = rec;

	return json_pack("{s:s, s:s, s:s, s:I}", "name", nd->name,
	    "subcluster", nd->subcluster, "serial", nd->serial,
	    "enrolled", (json_int_t)nd->enrolled);
}

/* nodes.json is written sorted by name. */
static const struct rec_type node_type = {
	.key = "nodes",
	.noun = "node",
	.size = sizeof(struct ecc_node),
	.name_off = offsetof(struct ecc_node, name),
	.max = NODES_FILE_MAX,
	.save_sorted = 1,
	.parse = node_parse,
	.pack = node_pack,
	.copy = node_copy,
	.clear = node_clear,
	.missing = node_missing,
};

/* Add the node `arg`, or replace the record of the same name. */
static int
node_set_put(const struct rec_type *t, struct rec_set *s, const void *arg)
{
	const struct ecc_node *node = arg;
	struct ecc_node *nd;
	ssize_t i;

	if ((i = rec_set_find(t, s, node->name)) < 0) {
		nd = rec_set_append(t, s);
	} else {
		nd = rec_at(t, s, (size_t)i);
		ecc_node_clear(nd);
	}
	node_copy(nd, node);
	return 0;
}

static int
file_node_get(ecc_store *st, struct ecc_node *out, const char *name)
{
	return rec_get(&((struct file_store *)st)->nodes, out, name);
}

static int
file_node_list(ecc_store *st, struct ecc_node **out, size_t *n)
{
	struct rec_set s;
	int error;

	if ((error = rec_list(&((struct file_store *)st)->nodes, &s)) < 0)
		return error;
	*out = s.v;
	*n = s.n;
	return 0;
}

static int
file_node_put(ecc_store *st, const struct ecc_node *node)
{
	return rec_modify(&((struct file_store *)st)->nodes, node_set_put,
	    node);
}

static int
file_node_remove(ecc_store *st, const char *name)
{
	return rec_modify(&((struct file_store *)st)->nodes, rec_set_remove,
	    name);
}

/* --- the audit trail: DATA_DIR/audit.log --- */

/* Parse the lines of audit.log into *out (oldest first).  A line that
 * does not parse (a torn write from a crash) is skipped and logged. */
static int
file_audit_read(struct file_store *fs, struct ecc_audit **out, size_t *n)
{
	char *buf = NULL, *line, *end;
	size_t len = 0, cap = 0, lineno = 0;
	struct ecc_audit *v = NULL, *a;
	json_t *j;
	int error;

	*out = NULL;
	*n = 0;
	error = ecc_file_read(&buf, &len, fs->audit_path, AUDIT_MAX);
	if (error == ECC_ENOTFOUND) {
		ecc_error_clear();
		return 0;
	}
	if (error == ECC_ETOOBIG)
		return ecc_error_set(ECC_ETOOBIG, "%s is larger than %d MiB: "
		    "move it aside (a new one is started)", fs->audit_path,
		    AUDIT_MAX >> 20);
	if (error < 0)
		return error;
	for (line = buf; line < buf + len; line = end + 1) {
		lineno++;
		if (!(end = memchr(line, '\n', (size_t)(buf + len - line))))
			end = buf + len;
		if (end == line)
			continue;
		if (ecc_json_parse(&j, line, (size_t)(end - line), 4) < 0 ||
		    !json_is_integer(json_object_get(j, "id"))) {
			ecc_log_warn("store", "%s:%zu: skipped: not an audit "
			    "entry", fs->audit_path, lineno);
			ecc_error_clear();
			json_decref(j);
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			v = ecc_realloc(v, cap * sizeof(*v));
		}
		a = &v[(*n)++];
		memset(a, 0, sizeof(*a));
		a->id = json_integer_value(json_object_get(j, "id"));
		a->time = json_integer_value(json_object_get(j, "time"));
#define AUDIT_STR(f) a->f = ecc_strdup(json_string_value( \
		json_object_get(j, #f)) ? json_string_value( \
		json_object_get(j, #f)) : "")
		AUDIT_STR(account);
		AUDIT_STR(address);
		AUDIT_STR(action);
		AUDIT_STR(detail);
#undef AUDIT_STR
		json_decref(j);
	}
	free(buf);
	*out = v;
	return 0;
}

static int
file_audit_add(ecc_store *st, const struct ecc_audit *a)
{
	struct file_store *fs = (struct file_store *)st;
	struct ecc_audit *v = NULL;
	size_t n = 0;
	json_t *j;
	char *text, *line;
	int fd, error;

	if (fs->audit_next == 0) {
		if ((error = file_audit_read(fs, &v, &n)) < 0)
			return error;
		fs->audit_next = n ? v[n - 1].id + 1 : 1;
		ecc_audit_array_free(v, n);
	}
	j = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s}", "id",
	    (json_int_t)fs->audit_next, "time", (json_int_t)a->time, "account",
	    a->account, "address", a->address, "action", a->action, "detail",
	    a->detail);
	if (!j)
		return ecc_error_set(ECC_EINVALID, "audit entry is not UTF-8");
	text = ecc_json_dump(j);
	json_decref(j);
	line = ecc_printf("%s\n", text);
	free(text);
	fd = open(fs->audit_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		free(line);
		return ecc_error_set_errno(ECC_ERROR, "%s", fs->audit_path);
	}
	/* One write of one line: appends do not interleave. */
	error = ecc_write_all(fd, line, strlen(line));
	if (error == 0 && fsync(fd) < 0)
		error = ecc_error_set_errno(ECC_ERROR, "fsync %s",
		    fs->audit_path);
	close(fd);
	free(line);
	if (error == 0)
		fs->audit_next++;
	return error;
}

static int
file_audit_list(ecc_store *st, struct ecc_audit **out, size_t *n,
    int64_t before, size_t limit)
{
	struct file_store *fs = (struct file_store *)st;
	struct ecc_audit *v = NULL, *r;
	size_t nv = 0, i, k = 0;
	int error;

	if ((error = file_audit_read(fs, &v, &nv)) < 0)
		return error;
	r = ecc_calloc(limit ? limit : 1, sizeof(*r));
	for (i = nv; i > 0 && k < limit; i--) {
		if (before > 0 && v[i - 1].id >= before)
			continue;
		r[k++] = v[i - 1];
		memset(&v[i - 1], 0, sizeof(v[i - 1]));
	}
	ecc_audit_array_free(v, nv);
	*out = r;
	*n = k;
	return 0;
}

static void
file_free(ecc_store *st)
{
	struct file_store *fs = (struct file_store *)st;

	if (!fs)
		return;
	rec_file_clear(&fs->users);
	rec_file_clear(&fs->nodes);
	free(fs->audit_path);
	free(fs);
}

static const struct ecc_store_ops file_ops = {
	.name = "file",
	.user_get = file_user_get,
	.user_list = file_user_list,
	.user_add = file_user_add,
	.user_update = file_user_update,
	.user_remove = file_user_remove,
	.node_get = file_node_get,
	.node_list = file_node_list,
	.node_put = file_node_put,
	.node_remove = file_node_remove,
	.audit_add = file_audit_add,
	.audit_list = file_audit_list,
	.free = file_free,
};

int
ecc_store_file_open(ecc_store **out, const char *data_dir)
{
	struct file_store *fs;
	struct stat st;

	*out = NULL;
	if (!data_dir || !*data_dir)
		return ecc_error_set(ECC_EINVALID, "no data directory given");
	if (stat(data_dir, &st) < 0)
		return ecc_error_set_errno(errno == ENOENT ? ECC_ENOTFOUND :
		    ECC_ERROR, "data directory %s", data_dir);
	if (!S_ISDIR(st.st_mode))
		return ecc_error_set(ECC_EINVALID, "%s: not a directory",
		    data_dir);
	fs = ecc_calloc(1, sizeof(*fs));
	fs->base.ops = &file_ops;
	rec_file_init(&fs->users, &user_type, data_dir, USERS_FILE);
	rec_file_init(&fs->nodes, &node_type, data_dir, NODES_FILE);
	fs->audit_path = ecc_printf("%s/%s", data_dir, AUDIT_FILE);
	*out = &fs->base;
	return 0;
}
