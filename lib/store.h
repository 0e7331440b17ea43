/*
 * store.h - accounts (and, later, enrolled nodes) behind one interface with
 * two back ends: "file" (JSON files in the data directory, written
 * atomically: temp, fsync, rename) and "postgresql" (cluster mode).
 *
 * Calls may block on disk; the daemon makes them on a worker thread.
 * A store handle is used by one thread at a time.
 */
#ifndef ECC_STORE_H
#define ECC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

typedef struct ecc_store ecc_store;

struct ecc_user {
	char *name;
	enum ecc_role role;
	char *hash;                   /* auth.h password hash text */
	int64_t created;              /* epoch seconds */
	int64_t changed;
};

void ecc_user_clear(struct ecc_user *u);
void ecc_user_array_free(struct ecc_user *v, size_t n);

/* An enrolled MTA node: the certificate with serial `serial` (lower case
 * hex, at most 40 digits) is the only one accepted for it. */
/* Longest serial kept (hex digits; RFC 5280 allows 20 bytes). */
#define ECC_NODE_SERIAL_MAX 40

struct ecc_node {
	char *name;
	char *subcluster;
	char *serial;
	int64_t enrolled;             /* epoch seconds */
};

void ecc_node_clear(struct ecc_node *n);
void ecc_node_array_free(struct ecc_node *v, size_t n);

/* One entry of the audit trail: who changed what, from where, when. */
struct ecc_audit {
	int64_t id;                   /* assigned by the store, increasing */
	int64_t time;                 /* epoch seconds */
	char *account;                /* authenticated account */
	char *address;                /* client address */
	char *action;                 /* "commit", "rollback", "user.add", ... */
	char *detail;                 /* "r12: 3 path(s)", the user name, ... */
};

void ecc_audit_clear(struct ecc_audit *a);
void ecc_audit_array_free(struct ecc_audit *v, size_t n);

/* Most entries one audit_list call returns. */
#define ECC_AUDIT_LIST_MAX 10000

struct ecc_store_ops {
	const char *name;
	int (*user_get)(ecc_store *st, struct ecc_user *out, const char *name);
	int (*user_list)(ecc_store *st, struct ecc_user **out, size_t *n);
	int (*user_add)(ecc_store *st, const struct ecc_user *u);
	int (*user_update)(ecc_store *st, const struct ecc_user *u);
	int (*user_remove)(ecc_store *st, const char *name);
	int (*node_get)(ecc_store *st, struct ecc_node *out, const char *name);
	int (*node_list)(ecc_store *st, struct ecc_node **out, size_t *n);
	int (*node_put)(ecc_store *st, const struct ecc_node *node);
	int (*node_remove)(ecc_store *st, const char *name);
	int (*audit_add)(ecc_store *st, const struct ecc_audit *a);
	int (*audit_list)(ecc_store *st, struct ecc_audit **out, size_t *n,
	    int64_t before, size_t limit);
	void (*free)(ecc_store *st);
};

struct ecc_store {
	const struct ecc_store_ops *ops;
};

/* The file store keeps DATA_DIR/users.json ({"users":[{"name":...,
 * "role":"admin","hash":"$scrypt$...","created":...,"changed":...}]})
 * and DATA_DIR/nodes.json ({"nodes":[{"name":...,"subcluster":...,
 * "serial":"hex","enrolled":...}]}).  A missing file is an empty store. */
int ecc_store_file_open(ecc_store **out, const char *data_dir);

/* The postgresql store keeps the same records in the cluster database
 * (tables ecc_users and ecc_nodes, pglog.h), shared by every manager;
 * `conninfo` is a libpq connection string.  The schema must exist
 * (ecc_pglog_migrate).  ECC_EUNAVAIL when the database cannot be
 * reached; a lost connection is re-established by the next call. */
int ecc_store_pg_open(ecc_store **out, const char *conninfo);

/* Dispatch helpers.  user_get: ECC_ENOTFOUND.  user_add: ECC_EEXISTS.
 * user_update/remove: ECC_ENOTFOUND.  Removing the last admin is
 * ECC_EFORBIDDEN. */
int ecc_store_user_get(ecc_store *st, struct ecc_user *out, const char *name);
int ecc_store_user_list(ecc_store *st, struct ecc_user **out, size_t *n);
int ecc_store_user_add(ecc_store *st, const struct ecc_user *u);
int ecc_store_user_update(ecc_store *st, const struct ecc_user *u);
int ecc_store_user_remove(ecc_store *st, const char *name);

/* Nodes.  node_get/remove: ECC_ENOTFOUND.  node_put adds the node or
 * replaces its record (re-enrollment); ECC_EINVALID on a bad name,
 * subcluster or serial.  node_list is sorted by name. */
int ecc_store_node_get(ecc_store *st, struct ecc_node *out, const char *name);
int ecc_store_node_list(ecc_store *st, struct ecc_node **out, size_t *n);
int ecc_store_node_put(ecc_store *st, const struct ecc_node *node);
int ecc_store_node_remove(ecc_store *st, const char *name);

/* The audit trail (file store: DATA_DIR/audit.log, one JSON object a
 * line, appended and fsynced; postgresql: ecc_audit).  audit_add fills
 * time when 0; audit_list gives the `limit` newest entries with id below
 * `before` (<= 0: from the newest), newest first. */
int ecc_store_audit_add(ecc_store *st, const struct ecc_audit *a);
int ecc_store_audit_list(ecc_store *st, struct ecc_audit **out, size_t *n,
    int64_t before, size_t limit);
void ecc_store_free(ecc_store *st);

#endif
