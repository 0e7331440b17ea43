/*
 * store_file.c - the "file" store back end: accounts in DATA_DIR/users.json
 * and enrolled nodes in DATA_DIR/nodes.json (mode 0600), each replaced
 * atomically on every change and locked by its own .lock file.  The file is small and
 * other processes (the daemon, a local `eccfg user add`) may rewrite it at
 * any time, so it is read again on every call; changes are serialized
 * between processes by an flock(2) on DATA_DIR/users.json.lock.  A corrupt
 * file is an error naming the file, never an empty store.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
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
#define USERS_LOCK "users.json.lock"
#define USERS_FILE_MAX (16 * 1024 * 1024)
#define USERS_HASH_MAX 512

#define AUDIT_FILE "audit.log"
#define AUDIT_MAX (64 * 1024 * 1024)

struct file_store {
	ecc_store base;               /* first: ecc_store * <-> file_store * */
	char *path;
	char *lock_path;
	char *node_path;
	char *node_lock_path;
	char *audit_path;
	int64_t audit_next;           /* next id; 0 until read */
};

/* The accounts as read from the file. */
struct user_set {
	struct ecc_user *v;
	size_t n;
};

static void
user_set_clear(struct user_set *s)
{
	ecc_user_array_free(s->v, s->n);
	s->v = NULL;
	s->n = 0;
}

static ssize_t
user_set_find(const struct user_set *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].name, name))
			return (ssize_t)i;
	return -1;
}

static void
user_copy(struct ecc_user *dst, const struct ecc_user *src)
{
	dst->name = ecc_strdup(src->name);
	dst->role = src->role;
	dst->hash = ecc_strdup(src->hash);
	dst->created = src->created;
	dst->changed = src->changed;
}

static int
file_bad(const char *path, size_t i, const char *field, const char *what)
{
	return ecc_error_set(ECC_EINVALID, "%s: users[%zu].%s: %s", path, i,
	    field, what);
}

/* One entry of "users", every field checked. */
static int
file_parse_user(struct ecc_user *u, const json_t *obj, const char *path,
    size_t i)
{
	const char *key, *s;
	json_t *v;
	int seen = 0;

	if (!json_is_object(obj))
		return ecc_error_set(ECC_EINVALID, "%s: users[%zu]: not an "
		    "object", path, i);
	json_object_foreach((json_t *)obj, key, v) {
		if (!strcmp(key, "name")) {
			s = json_string_value(v);
			if (!s || !ecc_name_is_user(s))
				return file_bad(path, i, key,
				    "not a valid user name");
			u->name = ecc_strdup(s);
			seen |= 1;
		} else if (!strcmp(key, "role")) {
			s = json_string_value(v);
			u->role = ecc_role_from_name(s);
			if (u->role == ECC_ROLE_NONE)
				return file_bad(path, i, key,
				    "must be \"admin\" or \"service\"");
			seen |= 2;
		} else if (!strcmp(key, "hash")) {
			s = json_string_value(v);
			if (!s || !*s || json_string_length(v) > USERS_HASH_MAX ||
			    strlen(s) != json_string_length(v))
				return file_bad(path, i, key,
				    "must be a password hash string");
			u->hash = ecc_strdup(s);
			seen |= 4;
		} else if (!strcmp(key, "created") || !strcmp(key, "changed")) {
			if (!json_is_integer(v) || json_integer_value(v) < 0)
				return file_bad(path, i, key,
				    "must be a non-negative integer");
			if (key[1] == 'r')
				u->created = json_integer_value(v);
			else
				u->changed = json_integer_value(v);
			seen |= key[1] == 'r' ? 8 : 16;
		} else {
			return file_bad(path, i, key, "unknown field");
		}
	}
	if (seen != 31)
		return ecc_error_set(ECC_EINVALID, "%s: users[%zu]: name, role, "
		    "hash, created and changed are required", path, i);
	return 0;
}

static int
file_parse(struct user_set *out, const char *buf, size_t len,
    const char *path)
{
	json_error_t jerr;
	json_t *root = NULL, *users, *v;
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
		if (strcmp(key, "users") != 0) {
			error = ecc_error_set(ECC_EINVALID, "%s: unknown field "
			    "'%.64s'", path, key);
			goto out;
		}
	}
	if (!json_is_array(users = json_object_get(root, "users"))) {
		error = ecc_error_set(ECC_EINVALID, "%s: \"users\" must be an "
		    "array", path);
		goto out;
	}
	out->v = ecc_calloc(json_array_size(users), sizeof(*out->v));
	json_array_foreach(users, i, v) {
		out->n = i + 1;
		if ((error = file_parse_user(&out->v[i], v, path, i)) < 0)
			goto out;
		if (user_set_find(out, out->v[i].name) != (ssize_t)i) {
			error = ecc_error_set(ECC_EINVALID, "%s: user '%s' "
			    "appears twice", path, out->v[i].name);
			goto out;
		}
	}
	error = 0;
out:
	if (error < 0)
		user_set_clear(out);
	json_decref(root);
	return error;
}

static int
file_load(struct file_store *fs, struct user_set *out)
{
	char *buf = NULL;
	size_t len = 0;
	int error;

	out->v = NULL;
	out->n = 0;
	error = ecc_file_read(&buf, &len, fs->path, USERS_FILE_MAX);
	if (error == ECC_ENOTFOUND) {
		ecc_error_clear();
		return 0;
	}
	if (error == 0)
		error = file_parse(out, buf, len, fs->path);
	free(buf);
	return error;
}

static int
file_save(struct file_store *fs, const struct user_set *s)
{
	json_t *root = NULL, *users, *u;
	char *text = NULL;
	size_t i;
	int error = -1;

	users = json_array();
	root = json_pack("{s:o}", "users", users);
	if (!root) {
		json_decref(users);
		error = ecc_error_set(ECC_ENOMEM, "%s: cannot build JSON",
		    fs->path);
		goto out;
	}
	for (i = 0; i < s->n; i++) {
		u = json_pack("{s:s, s:s, s:s, s:I, s:I}",
		    "name", s->v[i].name, "role", ecc_role_name(s->v[i].role),
		    "hash", s->v[i].hash, "created", (json_int_t)s->v[i].created,
		    "changed", (json_int_t)s->v[i].changed);
		if (!u || json_array_append_new(users, u) < 0) {
			error = ecc_error_set(ECC_ENOMEM, "%s: cannot build "
			    "JSON", fs->path);
			goto out;
		}
	}
	if ((text = json_dumps(root, JSON_INDENT(2))) == NULL) {
		error = ecc_error_set(ECC_ENOMEM, "%s: cannot encode JSON",
		    fs->path);
		goto out;
	}
	error = ecc_file_write_atomic(fs->path, text, strlen(text), 0600);
out:
	free(text);
	json_decref(root);
	return error;
}

/* Serialize read-modify-write cycles between processes.  Returns the
 * locked descriptor (closing it unlocks) or a negative code. */
static int
lock_path(const char *path)
{
	int fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC,
	    0600)) < 0)
		return ecc_error_set_errno(ECC_ERROR, "cannot open %s",
		    path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			ecc_error_set_errno(ECC_ERROR, "cannot lock %s",
			    path);
			close(fd);
			return ECC_ERROR;
		}
	}
	return fd;
}

static int
file_lock(struct file_store *fs)
{
	return lock_path(fs->lock_path);
}

static int
file_user_get(ecc_store *st, struct ecc_user *out, const char *name)
{
	struct file_store *fs = (struct file_store *)st;
	struct user_set s;
	ssize_t i;
	int error;

	if ((error = file_load(fs, &s)) < 0)
		return error;
	if ((i = user_set_find(&s, name)) < 0)
		error = ecc_error_set(ECC_ENOTFOUND, "no user '%s'", name);
	else
		user_copy(out, &s.v[i]);
	user_set_clear(&s);
	return error;
}

static int
user_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ecc_user *)a)->name,
	    ((const struct ecc_user *)b)->name);
}

static int
file_user_list(ecc_store *st, struct ecc_user **out, size_t *n)
{
	struct file_store *fs = (struct file_store *)st;
	struct user_set s;
	int error;

	if ((error = file_load(fs, &s)) < 0)
		return error;
	if (s.n > 1)
		qsort(s.v, s.n, sizeof(*s.v), user_cmp);
	*out = s.v;
	*n = s.n;
	return 0;
}

/* Lock the users file, load it, apply `edit` to the set and save the
 * result; nothing is saved when `edit` fails. */
static int
file_modify(ecc_store *st, int (*edit)(struct user_set *, const void *),
    const void *arg)
{
	struct file_store *fs = (struct file_store *)st;
	struct user_set s = { NULL, 0 };
	int lock = -1, error = -1;

	if ((error = lock = file_lock(fs)) < 0 ||
	    (error = file_load(fs, &s)) < 0 ||
	    (error = edit(&s, arg)) < 0)
		goto out;
	error = file_save(fs, &s);
out:
	user_set_clear(&s);
	if (lock >= 0)
		close(lock);
	return error;
}

static int
user_set_add(struct user_set *s, const void *arg)
{
	const struct ecc_user *u = arg;
	struct ecc_user *nu;

	if (user_set_find(s, u->name) >= 0)
		return ecc_error_set(ECC_EEXISTS, "user '%s' already exists",
		    u->name);
	s->v = ecc_realloc(s->v, (s->n + 1) * sizeof(*s->v));
	nu = &s->v[s->n++];
	user_copy(nu, u);
	if (nu->created <= 0)
		nu->created = (int64_t)time(NULL);
	if (nu->changed <= 0)
		nu->changed = nu->created;
	return 0;
}

static int
user_set_update(struct user_set *s, const void *arg)
{
	const struct ecc_user *u = arg;
	struct ecc_user *old;
	ssize_t i;

	if ((i = user_set_find(s, u->name)) < 0)
		return ecc_error_set(ECC_ENOTFOUND, "no user '%s'", u->name);
	old = &s->v[i];
	free(old->hash);
	old->hash = ecc_strdup(u->hash);
	old->role = u->role;
	old->changed = (int64_t)time(NULL);
	return 0;
}

static int
user_set_remove(struct user_set *s, const void *arg)
{
	const char *name = arg;
	ssize_t i;

	if ((i = user_set_find(s, name)) < 0)
		return ecc_error_set(ECC_ENOTFOUND, "no user '%s'", name);
	ecc_user_clear(&s->v[i]);
	memmove(&s->v[i], &s->v[i + 1], (s->n - (size_t)i - 1) * sizeof(*s->v));
	s->n--;
	return 0;
}

static int
file_user_add(ecc_store *st, const struct ecc_user *u)
{
	return file_modify(st, user_set_add, u);
}

static int
file_user_update(ecc_store *st, const struct ecc_user *u)
{
	return file_modify(st, user_set_update, u);
}

static int
file_user_remove(ecc_store *st, const char *name)
{
	return file_modify(st, user_set_remove, name);
}

/* --- nodes --- */

#define NODES_FILE "nodes.json"
#define NODES_LOCK "nodes.json.lock"

struct node_set {
	struct ecc_node *v;
	size_t n;
};

static void
node_set_clear(struct node_set *s)
{
	ecc_node_array_free(s->v, s->n);
	s->v = NULL;
	s->n = 0;
}

static ssize_t
node_set_find(const struct node_set *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].name, name))
			return (ssize_t)i;
	return -1;
}

static void
node_copy(struct ecc_node *dst, const struct ecc_node *src)
{
	dst->name = ecc_strdup(src->name);
	dst->subcluster = ecc_strdup(src->subcluster);
	dst->serial = ecc_strdup(src->serial);
	dst->enrolled = src->enrolled;
}

static int
node_bad(const char *path, size_t i, const char *field, const char *what)
{
	return ecc_error_set(ECC_EINVALID, "%s: nodes[%zu].%s: %s", path, i,
	    field, what);
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
file_parse_node(struct ecc_node *nd, const json_t *obj, const char *path,
    size_t i)
{
	const char *key, *s;
	json_t *v;
	int seen = 0;

	if (!json_is_object(obj))
		return ecc_error_set(ECC_EINVALID, "%s: nodes[%zu]: not an "
		    "object", path, i);
	json_object_foreach((json_t *)obj, key, v) {
		s = json_string_value(v);
		if (!strcmp(key, "name")) {
			if (!s || !ecc_name_is_node(s))
				return node_bad(path, i, key,
				    "not a valid node name");
			nd->name = ecc_strdup(s);
			seen |= 1;
		} else if (!strcmp(key, "subcluster")) {
			if (!s || !ecc_name_is_subcluster(s))
				return node_bad(path, i, key,
				    "not a valid subcluster name");
			nd->subcluster = ecc_strdup(s);
			seen |= 2;
		} else if (!strcmp(key, "serial")) {
			if (!s || !serial_ok(s))
				return node_bad(path, i, key,
				    "must be lower case hex");
			nd->serial = ecc_strdup(s);
			seen |= 4;
		} else if (!strcmp(key, "enrolled")) {
			if (!json_is_integer(v) || json_integer_value(v) < 0)
				return node_bad(path, i, key,
				    "must be a non-negative integer");
			nd->enrolled = json_integer_value(v);
			seen |= 8;
		} else {
			return node_bad(path, i, key, "unknown field");
		}
	}
	if (seen != 15)
		return ecc_error_set(ECC_EINVALID, "%s: nodes[%zu]: name, "
		    "subcluster, serial and enrolled are required", path, i);
	return 0;
}

static int
file_parse_nodes(struct node_set *out, const char *buf, size_t len,
    const char *path)
{
	json_error_t jerr;
	json_t *root = NULL, *nodes, *v;
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
		if (strcmp(key, "nodes") != 0) {
			error = ecc_error_set(ECC_EINVALID, "%s: unknown field "
			    "'%.64s'", path, key);
			goto out;
		}
	}
	if (!json_is_array(nodes = json_object_get(root, "nodes"))) {
		error = ecc_error_set(ECC_EINVALID, "%s: \"nodes\" must be an "
		    "array", path);
		goto out;
	}
	out->v = ecc_calloc(json_array_size(nodes), sizeof(*out->v));
	json_array_foreach(nodes, i, v) {
		out->n = i + 1;
		if ((error = file_parse_node(&out->v[i], v, path, i)) < 0)
			goto out;
		if (node_set_find(out, out->v[i].name) != (ssize_t)i) {
			error = ecc_error_set(ECC_EINVALID, "%s: node '%s' "
			    "appears twice", path, out->v[i].name);
			goto out;
		}
	}
	error = 0;
out:
	if (error < 0)
		node_set_clear(out);
	json_decref(root);
	return error;
}

static int
file_load_nodes(struct file_store *fs, struct node_set *out)
{
	char *buf = NULL;
	size_t len = 0;
	int error;

	out->v = NULL;
	out->n = 0;
	error = ecc_file_read(&buf, &len, fs->node_path, USERS_FILE_MAX);
	if (error == ECC_ENOTFOUND) {
		ecc_error_clear();
		return 0;
	}
	if (error == 0)
		error = file_parse_nodes(out, buf, len, fs->node_path);
	free(buf);
	return error;
}

static int
node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ecc_node *)a)->name,
	    ((const struct ecc_node *)b)->name);
}

static int
file_save_nodes(struct file_store *fs, struct node_set *s)
{
	json_t *root = NULL, *nodes, *v;
	char *text = NULL;
	size_t i;
	int error = -1;

	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), node_cmp);
	nodes = json_array();
	root = json_pack("{s:o}", "nodes", nodes);
	if (!root) {
		json_decref(nodes);
		error = ecc_error_set(ECC_ENOMEM, "%s: cannot build JSON",
		    fs->node_path);
		goto out;
	}
	for (i = 0; i < s->n; i++) {
		v = json_pack("{s:s, s:s, s:s, s:I}", "name", s->v[i].name,
		    "subcluster", s->v[i].subcluster, "serial", s->v[i].serial,
		    "enrolled", (json_int_t)s->v[i].enrolled);
		if (!v || json_array_append_new(nodes, v) < 0) {
			error = ecc_error_set(ECC_ENOMEM, "%s: cannot build "
			    "JSON", fs->node_path);
			goto out;
		}
	}
	if ((text = json_dumps(root, JSON_INDENT(2))) == NULL) {
		error = ecc_error_set(ECC_ENOMEM, "%s: cannot encode JSON",
		    fs->node_path);
		goto out;
	}
	error = ecc_file_write_atomic(fs->node_path, text, strlen(text),
	    0600);
out:
	free(text);
	json_decref(root);
	return error;
}

static int
file_node_get(ecc_store *st, struct ecc_node *out, const char *name)
{
	struct file_store *fs = (struct file_store *)st;
	struct node_set s;
	ssize_t i;
	int error;

	if ((error = file_load_nodes(fs, &s)) < 0)
		return error;
	if ((i = node_set_find(&s, name)) < 0)
		error = ecc_error_set(ECC_ENOTFOUND, "node %s is not enrolled",
		    name);
	else
		node_copy(out, &s.v[i]);
	node_set_clear(&s);
	return error;
}

static int
file_node_list(ecc_store *st, struct ecc_node **out, size_t *n)
{
	struct file_store *fs = (struct file_store *)st;
	struct node_set s;
	int error;

	if ((error = file_load_nodes(fs, &s)) < 0)
		return error;
	if (s.n > 1)
		qsort(s.v, s.n, sizeof(*s.v), node_cmp);
	*out = s.v;
	*n = s.n;
	return 0;
}

/* Lock the nodes file, load it, put (`node` non-NULL) or remove `name`,
 * and save. */
static int
file_node_modify(struct file_store *fs, const struct ecc_node *node,
    const char *name)
{
	struct node_set s = { NULL, 0 };
	ssize_t i;
	int lock = -1, error = -1;

	if ((error = lock = lock_path(fs->node_lock_path)) < 0 ||
	    (error = file_load_nodes(fs, &s)) < 0)
		goto out;
	i = node_set_find(&s, node ? node->name : name);
	if (node) {
		if (i < 0) {
			s.v = ecc_realloc(s.v, (s.n + 1) * sizeof(*s.v));
			i = (ssize_t)s.n++;
		} else {
			ecc_node_clear(&s.v[i]);
		}
		node_copy(&s.v[i], node);
	} else {
		if (i < 0) {
			error = ecc_error_set(ECC_ENOTFOUND, "node %s is not "
			    "enrolled", name);
			goto out;
		}
		ecc_node_clear(&s.v[i]);
		memmove(&s.v[i], &s.v[i + 1], (s.n - (size_t)i - 1) *
		    sizeof(*s.v));
		s.n--;
	}
	error = file_save_nodes(fs, &s);
out:
	node_set_clear(&s);
	if (lock >= 0)
		close(lock);
	return error;
}

static int
file_node_put(ecc_store *st, const struct ecc_node *node)
{
	return file_node_modify((struct file_store *)st, node, NULL);
}

static int
file_node_remove(ecc_store *st, const char *name)
{
	return file_node_modify((struct file_store *)st, NULL, name);
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
	free(fs->path);
	free(fs->lock_path);
	free(fs->node_path);
	free(fs->node_lock_path);
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
	fs->path = ecc_printf("%s/%s", data_dir, USERS_FILE);
	fs->lock_path = ecc_printf("%s/%s", data_dir, USERS_LOCK);
	fs->node_path = ecc_printf("%s/%s", data_dir, NODES_FILE);
	fs->node_lock_path = ecc_printf("%s/%s", data_dir, NODES_LOCK);
	fs->audit_path = ecc_printf("%s/%s", data_dir, AUDIT_FILE);
	*out = &fs->base;
	return 0;
}
