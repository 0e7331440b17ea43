/*
 * store.c - the back-end independent part of the account store (see
 * store.h): argument checks, dispatch to the back end, and the rule that
 * the last administrator can be neither removed nor demoted.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "error.h"
#include "path.h"
#include "store.h"

#define STORE_HASH_MAX 512

void
ecc_user_clear(struct ecc_user *u)
{
	if (!u)
		return;
	free(u->name);
	free(u->hash);
	memset(u, 0, sizeof(*u));
}

void
ecc_user_array_free(struct ecc_user *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		ecc_user_clear(&v[i]);
	free(v);
}

static int
store_check_name(const char *name)
{
	if (!name || !ecc_name_is_user(name))
		return ecc_error_set(ECC_EINVALID, "'%.64s' is not a valid user "
		    "name (lower case letters, digits, '_', '.', '-'; at most "
		    "32)", name ? name : "");
	return 0;
}

/* What both add and update require of a record. */
static int
store_check_user(const struct ecc_user *u)
{
	size_t i, len;
	int error;

	if ((error = store_check_name(u->name)) < 0)
		return error;
	if (u->role != ECC_ROLE_ADMIN && u->role != ECC_ROLE_SERVICE)
		return ecc_error_set(ECC_EINVALID, "user '%s': role must be "
		    "admin or service", u->name);
	len = u->hash ? strnlen(u->hash, STORE_HASH_MAX + 1) : 0;
	if (len == 0 || len > STORE_HASH_MAX)
		return ecc_error_set(ECC_EINVALID, "user '%s': password hash "
		    "must be 1..%d bytes", u->name, STORE_HASH_MAX);
	for (i = 0; i < len; i++)
		if ((unsigned char)u->hash[i] <= 0x20 || u->hash[i] == 0x7f)
			return ecc_error_set(ECC_EINVALID, "user '%s': password "
			    "hash contains a space or control character",
			    u->name);
	return 0;
}

int
ecc_store_user_get(ecc_store *st, struct ecc_user *out, const char *name)
{
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = store_check_name(name)) < 0)
		return error;
	return st->ops->user_get(st, out, name);
}

int
ecc_store_user_list(ecc_store *st, struct ecc_user **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return st->ops->user_list(st, out, n);
}

int
ecc_store_user_add(ecc_store *st, const struct ecc_user *u)
{
	int error;

	if ((error = store_check_user(u)) < 0)
		return error;
	return st->ops->user_add(st, u);
}

/* ECC_EFORBIDDEN unless some admin other than `name` exists. */
static int
store_check_not_last_admin(ecc_store *st, const char *name, const char *what)
{
	struct ecc_user *users = NULL;
	size_t i, n = 0, others = 0;
	int error;

	if ((error = st->ops->user_list(st, &users, &n)) < 0)
		return error;
	for (i = 0; i < n; i++)
		if (users[i].role == ECC_ROLE_ADMIN &&
		    strcmp(users[i].name, name) != 0)
			others++;
	ecc_user_array_free(users, n);
	if (others == 0)
		return ecc_error_set(ECC_EFORBIDDEN, "cannot %s '%s': it is the "
		    "last admin account", what, name);
	return 0;
}

int
ecc_store_user_update(ecc_store *st, const struct ecc_user *u)
{
	struct ecc_user old;
	int error;

	memset(&old, 0, sizeof(old));
	if ((error = store_check_user(u)) < 0 ||
	    (error = st->ops->user_get(st, &old, u->name)) < 0)
		goto out;
	if (old.role == ECC_ROLE_ADMIN && u->role != ECC_ROLE_ADMIN &&
	    (error = store_check_not_last_admin(st, u->name, "demote")) < 0)
		goto out;
	error = st->ops->user_update(st, u);
out:
	ecc_user_clear(&old);
	return error;
}

int
ecc_store_user_remove(ecc_store *st, const char *name)
{
	struct ecc_user old;
	int error;

	memset(&old, 0, sizeof(old));
	if ((error = store_check_name(name)) < 0 ||
	    (error = st->ops->user_get(st, &old, name)) < 0)
		goto out;
	if (old.role == ECC_ROLE_ADMIN &&
	    (error = store_check_not_last_admin(st, name, "remove")) < 0)
		goto out;
	error = st->ops->user_remove(st, name);
out:
	ecc_user_clear(&old);
	return error;
}

void
ecc_node_clear(struct ecc_node *n)
{
	if (!n)
		return;
	free(n->name);
	free(n->subcluster);
	free(n->serial);
	memset(n, 0, sizeof(*n));
}

void
ecc_node_array_free(struct ecc_node *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		ecc_node_clear(&v[i]);
	free(v);
}

static int
store_check_node_name(const char *name)
{
	if (!name || !ecc_name_is_node(name))
		return ecc_error_set(ECC_EINVALID, "'%.64s' is not a valid node "
		    "name", name ? name : "");
	return 0;
}

/* What node_put requires of a record. */
static int
store_check_node(const struct ecc_node *n)
{
	size_t i, len;
	int error;

	if ((error = store_check_node_name(n->name)) < 0)
		return error;
	if (!n->subcluster || !ecc_name_is_subcluster(n->subcluster))
		return ecc_error_set(ECC_EINVALID, "node '%s': '%.64s' is not a "
		    "valid subcluster name", n->name,
		    n->subcluster ? n->subcluster : "");
	len = n->serial ? strnlen(n->serial, ECC_NODE_SERIAL_MAX + 1) : 0;
	if (len == 0 || len > ECC_NODE_SERIAL_MAX)
		return ecc_error_set(ECC_EINVALID, "node '%s': serial must be "
		    "1..%d hex digits", n->name, ECC_NODE_SERIAL_MAX);
	for (i = 0; i < len; i++)
		if (!strchr("0123456789abcdef", n->serial[i]))
			return ecc_error_set(ECC_EINVALID, "node '%s': serial "
			    "must be lower case hex", n->name);
	if (n->enrolled < 0)
		return ecc_error_set(ECC_EINVALID, "node '%s': enrolled time "
		    "is negative", n->name);
	return 0;
}

int
ecc_store_node_get(ecc_store *st, struct ecc_node *out, const char *name)
{
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = store_check_node_name(name)) < 0)
		return error;
	if (!st->ops->node_get)
		return ecc_error_set(ECC_EUNAVAIL, "store %s keeps no nodes",
		    st->ops->name);
	return st->ops->node_get(st, out, name);
}

int
ecc_store_node_list(ecc_store *st, struct ecc_node **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!st->ops->node_list)
		return ecc_error_set(ECC_EUNAVAIL, "store %s keeps no nodes",
		    st->ops->name);
	return st->ops->node_list(st, out, n);
}

int
ecc_store_node_put(ecc_store *st, const struct ecc_node *node)
{
	int error;

	if ((error = store_check_node(node)) < 0)
		return error;
	if (!st->ops->node_put)
		return ecc_error_set(ECC_EUNAVAIL, "store %s keeps no nodes",
		    st->ops->name);
	return st->ops->node_put(st, node);
}

int
ecc_store_node_remove(ecc_store *st, const char *name)
{
	int error;

	if ((error = store_check_node_name(name)) < 0)
		return error;
	if (!st->ops->node_remove)
		return ecc_error_set(ECC_EUNAVAIL, "store %s keeps no nodes",
		    st->ops->name);
	return st->ops->node_remove(st, name);
}

void
ecc_store_free(ecc_store *st)
{
	if (st)
		st->ops->free(st);
}

void
ecc_audit_clear(struct ecc_audit *a)
{
	if (!a)
		return;
	free(a->account);
	free(a->address);
	free(a->action);
	free(a->detail);
	memset(a, 0, sizeof(*a));
}

void
ecc_audit_array_free(struct ecc_audit *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		ecc_audit_clear(&v[i]);
	free(v);
}

int
ecc_store_audit_add(ecc_store *st, const struct ecc_audit *a)
{
	struct ecc_audit e = *a;

	if (!a->account || !a->address || !a->action || !a->detail)
		return ecc_error_set(ECC_EINVALID, "audit entry incomplete");
	if (e.time == 0)
		e.time = (int64_t)time(NULL);
	return st->ops->audit_add(st, &e);
}

int
ecc_store_audit_list(ecc_store *st, struct ecc_audit **out, size_t *n,
    int64_t before, size_t limit)
{
	*out = NULL;
	*n = 0;
	if (limit == 0 || limit > ECC_AUDIT_LIST_MAX)
		limit = ECC_AUDIT_LIST_MAX;
	return st->ops->audit_list(st, out, n, before, limit);
}
