/*
 * store_pg.c - the "postgresql" store back end (store.h): accounts and
 * enrolled nodes in the cluster's database (tables of pglog.h), shared by
 * every manager.  Blocking libpq on the store's own connection, which is
 * re-established when lost; the daemon uses a store on its writer thread
 * only.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "error.h"
#include "pglog.h"
#include "store.h"
#include "util.h"

struct pg_store {
	ecc_store base;
	char *conninfo;
	PGconn *conn;
};

/* Tell every manager that accounts or nodes changed (they reload their
 * copies; cluster.c LISTENs).  A lost notification is caught by the
 * reload after the next reconnect. */
static void
pgs_notify(struct pg_store *ps)
{
	PGresult *res = PQexec(ps->conn, "NOTIFY ecconfig_accounts");

	PQclear(res);
}

/* Run one parameterized statement; *res (optional) gets a successful
 * result. */
static int
pgs_exec(PGresult **out, struct pg_store *ps, const char *what,
    const char *sql, int n, const char *const *v)
{
	PGresult *res;
	ExecStatusType st;
	const char *state;
	int error;

	if (out)
		*out = NULL;
	if ((error = ecc_pglog_ensure(&ps->conn, ps->conninfo)) < 0)
		return error;
	res = PQexecParams(ps->conn, sql, n, NULL, v, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (strncmp(sql, "SELECT", 6) != 0 &&
		    strstr(sql, "ecc_audit") == NULL)
			pgs_notify(ps);
		if (out)
			*out = res;
		else
			PQclear(res);
		return 0;
	}
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	error = PQstatus(ps->conn) == CONNECTION_BAD ? ECC_EUNAVAIL :
	    state && strcmp(state, "23505") == 0 ? ECC_EEXISTS : ECC_ERROR;
	ecc_error_set(error, "database: %s: %s", what,
	    PQresultErrorMessage(res));
	PQclear(res);
	return error;
}

static int
pgs_int(int64_t *out, const PGresult *res, int row, int col)
{
	if (ecc_parse_int64(out, PQgetvalue(res, row, col), INT64_MIN,
	    INT64_MAX) < 0)
		return ecc_error_set(ECC_ERROR, "database: bad integer '%.32s'",
		    PQgetvalue(res, row, col));
	return 0;
}

static int
pgs_user_row(struct ecc_user *u, const PGresult *res, int row)
{
	int error;

	memset(u, 0, sizeof(*u));
	u->name = ecc_strdup(PQgetvalue(res, row, 0));
	u->role = strcmp(PQgetvalue(res, row, 1), "admin") == 0 ?
	    ECC_ROLE_ADMIN : ECC_ROLE_SERVICE;
	u->hash = ecc_strdup(PQgetvalue(res, row, 2));
	if ((error = pgs_int(&u->created, res, row, 3)) < 0 ||
	    (error = pgs_int(&u->changed, res, row, 4)) < 0)
		ecc_user_clear(u);
	return error;
}

#define USER_COLS "name, role, hash, created, changed"

static int
pgs_user_get(ecc_store *st, struct ecc_user *out, const char *name)
{
	PGresult *res;
	const char *v[1] = { name };
	int error;

	if ((error = pgs_exec(&res, (struct pg_store *)st, "reading a user",
	    "SELECT " USER_COLS " FROM ecc_users WHERE name = $1", 1, v)) < 0)
		return error;
	if (PQntuples(res) == 0)
		error = ecc_error_set(ECC_ENOTFOUND, "no user '%s'", name);
	else
		error = pgs_user_row(out, res, 0);
	PQclear(res);
	return error;
}

static int
pgs_user_list(ecc_store *st, struct ecc_user **out, size_t *n)
{
	PGresult *res;
	struct ecc_user *v;
	int i, rows, error;

	if ((error = pgs_exec(&res, (struct pg_store *)st, "listing users",
	    "SELECT " USER_COLS " FROM ecc_users ORDER BY name COLLATE \"C\"",
	    0, NULL)) < 0)
		return error;
	rows = PQntuples(res);
	v = ecc_calloc(rows > 0 ? (size_t)rows : 1, sizeof(*v));
	for (i = 0; i < rows; i++)
		if ((error = pgs_user_row(&v[i], res, i)) < 0) {
			ecc_user_array_free(v, (size_t)i);
			PQclear(res);
			return error;
		}
	PQclear(res);
	*out = v;
	*n = (size_t)rows;
	return 0;
}

static int
pgs_user_write(ecc_store *st, const struct ecc_user *u, int add)
{
	PGresult *res;
	char created[24], changed[24];
	const char *v[5];
	int error;

	snprintf(created, sizeof(created), "%" PRId64, u->created);
	snprintf(changed, sizeof(changed), "%" PRId64, u->changed);
	v[0] = u->name;
	v[1] = u->role == ECC_ROLE_ADMIN ? "admin" : "service";
	v[2] = u->hash;
	v[3] = created;
	v[4] = changed;
	if (add) {
		error = pgs_exec(NULL, (struct pg_store *)st, "adding a user",
		    "INSERT INTO ecc_users (" USER_COLS ") VALUES ($1, $2, $3, "
		    "$4, $5)", 5, v);
		if (error == ECC_EEXISTS)
			ecc_error_set(ECC_EEXISTS, "user '%s' exists", u->name);
		return error;
	}
	if ((error = pgs_exec(&res, (struct pg_store *)st, "updating a user",
	    "UPDATE ecc_users SET role = $2, hash = $3, created = $4, "
	    "changed = $5 WHERE name = $1", 5, v)) < 0)
		return error;
	if (strcmp(PQcmdTuples(res), "0") == 0)
		error = ecc_error_set(ECC_ENOTFOUND, "no user '%s'", u->name);
	PQclear(res);
	return error;
}

static int
pgs_user_add(ecc_store *st, const struct ecc_user *u)
{
	return pgs_user_write(st, u, 1);
}

static int
pgs_user_update(ecc_store *st, const struct ecc_user *u)
{
	return pgs_user_write(st, u, 0);
}

/* DELETE ... WHERE name = $1 on `table`; ECC_ENOTFOUND when no row. */
static int
pgs_remove(ecc_store *st, const char *sql, const char *what,
    const char *name)
{
	PGresult *res;
	const char *v[1] = { name };
	int error;

	if ((error = pgs_exec(&res, (struct pg_store *)st, what, sql, 1,
	    v)) < 0)
		return error;
	if (strcmp(PQcmdTuples(res), "0") == 0)
		error = ecc_error_set(ECC_ENOTFOUND, "no %s '%s'", what, name);
	PQclear(res);
	return error;
}

static int
pgs_user_remove(ecc_store *st, const char *name)
{
	return pgs_remove(st, "DELETE FROM ecc_users WHERE name = $1", "user",
	    name);
}

#define NODE_COLS "name, subcluster, serial, enrolled"

static int
pgs_node_row(struct ecc_node *n, const PGresult *res, int row)
{
	int error;

	memset(n, 0, sizeof(*n));
	n->name = ecc_strdup(PQgetvalue(res, row, 0));
	n->subcluster = ecc_strdup(PQgetvalue(res, row, 1));
	n->serial = ecc_strdup(PQgetvalue(res, row, 2));
	if ((error = pgs_int(&n->enrolled, res, row, 3)) < 0)
		ecc_node_clear(n);
	return error;
}

static int
pgs_node_get(ecc_store *st, struct ecc_node *out, const char *name)
{
	PGresult *res;
	const char *v[1] = { name };
	int error;

	if ((error = pgs_exec(&res, (struct pg_store *)st, "reading a node",
	    "SELECT " NODE_COLS " FROM ecc_nodes WHERE name = $1", 1, v)) < 0)
		return error;
	if (PQntuples(res) == 0)
		error = ecc_error_set(ECC_ENOTFOUND, "node %s is not enrolled",
		    name);
	else
		error = pgs_node_row(out, res, 0);
	PQclear(res);
	return error;
}

static int
pgs_node_list(ecc_store *st, struct ecc_node **out, size_t *n)
{
	PGresult *res;
	struct ecc_node *v;
	int i, rows, error;

	if ((error = pgs_exec(&res, (struct pg_store *)st, "listing nodes",
	    "SELECT " NODE_COLS " FROM ecc_nodes ORDER BY name COLLATE \"C\"",
	    0, NULL)) < 0)
		return error;
	rows = PQntuples(res);
	v = ecc_calloc(rows > 0 ? (size_t)rows : 1, sizeof(*v));
	for (i = 0; i < rows; i++)
		if ((error = pgs_node_row(&v[i], res, i)) < 0) {
			ecc_node_array_free(v, (size_t)i);
			PQclear(res);
			return error;
		}
	PQclear(res);
	*out = v;
	*n = (size_t)rows;
	return 0;
}

static int
pgs_node_put(ecc_store *st, const struct ecc_node *node)
{
	char enrolled[24];
	const char *v[4];

	snprintf(enrolled, sizeof(enrolled), "%" PRId64, node->enrolled);
	v[0] = node->name;
	v[1] = node->subcluster;
	v[2] = node->serial;
	v[3] = enrolled;
	return pgs_exec(NULL, (struct pg_store *)st, "enrolling a node",
	    "INSERT INTO ecc_nodes (" NODE_COLS ") VALUES ($1, $2, $3, $4) "
	    "ON CONFLICT (name) DO UPDATE SET subcluster = $2, serial = $3, "
	    "enrolled = $4", 4, v);
}

static int
pgs_node_remove(ecc_store *st, const char *name)
{
	return pgs_remove(st, "DELETE FROM ecc_nodes WHERE name = $1", "node",
	    name);
}

static int
pgs_audit_add(ecc_store *st, const struct ecc_audit *a)
{
	char t[24];
	const char *v[5];

	snprintf(t, sizeof(t), "%" PRId64, a->time);
	v[0] = t;
	v[1] = a->account;
	v[2] = a->address;
	v[3] = a->action;
	v[4] = a->detail;
	return pgs_exec(NULL, (struct pg_store *)st, "recording the audit "
	    "trail", "INSERT INTO ecc_audit (time, account, address, action, "
	    "detail) VALUES ($1, $2, $3, $4, $5)", 5, v);
}

static int
pgs_audit_list(ecc_store *st, struct ecc_audit **out, size_t *n,
    int64_t before, size_t limit)
{
	PGresult *res;
	struct ecc_audit *v;
	char b[24], l[24];
	const char *p[2];
	int i, rows, error;

	snprintf(b, sizeof(b), "%" PRId64, before > 0 ? before : INT64_MAX);
	snprintf(l, sizeof(l), "%zu", limit);
	p[0] = b;
	p[1] = l;
	if ((error = pgs_exec(&res, (struct pg_store *)st, "reading the audit "
	    "trail", "SELECT id, time, account, address, action, detail FROM "
	    "ecc_audit WHERE id < $1 ORDER BY id DESC LIMIT $2", 2, p)) < 0)
		return error;
	rows = PQntuples(res);
	v = ecc_calloc(rows > 0 ? (size_t)rows : 1, sizeof(*v));
	for (i = 0; i < rows; i++) {
		if ((error = pgs_int(&v[i].id, res, i, 0)) < 0 ||
		    (error = pgs_int(&v[i].time, res, i, 1)) < 0) {
			ecc_audit_array_free(v, (size_t)i);
			PQclear(res);
			return error;
		}
		v[i].account = ecc_strdup(PQgetvalue(res, i, 2));
		v[i].address = ecc_strdup(PQgetvalue(res, i, 3));
		v[i].action = ecc_strdup(PQgetvalue(res, i, 4));
		v[i].detail = ecc_strdup(PQgetvalue(res, i, 5));
	}
	PQclear(res);
	*out = v;
	*n = (size_t)rows;
	return 0;
}

static void
pgs_free(ecc_store *st)
{
	struct pg_store *ps = (struct pg_store *)st;

	if (ps->conn)
		PQfinish(ps->conn);
	free(ps->conninfo);
	free(ps);
}

static const struct ecc_store_ops pg_ops = {
	.name = "postgresql",
	.user_get = pgs_user_get,
	.user_list = pgs_user_list,
	.user_add = pgs_user_add,
	.user_update = pgs_user_update,
	.user_remove = pgs_user_remove,
	.node_get = pgs_node_get,
	.node_list = pgs_node_list,
	.node_put = pgs_node_put,
	.node_remove = pgs_node_remove,
	.audit_add = pgs_audit_add,
	.audit_list = pgs_audit_list,
	.free = pgs_free,
};

int
ecc_store_pg_open(ecc_store **out, const char *conninfo)
{
	struct pg_store *ps;
	int error;

	*out = NULL;
	ps = ecc_calloc(1, sizeof(*ps));
	ps->base.ops = &pg_ops;
	ps->conninfo = ecc_strdup(conninfo);
	if ((error = ecc_pglog_connect(&ps->conn, conninfo)) < 0) {
		pgs_free(&ps->base);
		return error;
	}
	*out = &ps->base;
	return 0;
}
