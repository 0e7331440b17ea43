/*
 * pglog.h - the shared revision log of cluster mode in PostgreSQL, with
 * blocking libpq calls for the threads that may block: the daemon's
 * writer thread (it already owns every slow operation) and start-up
 * before the event loop serves, and `eccfg init`.  The event loop itself
 * only ever uses pg.h.
 *
 * Schema (versioned migrations, ecc_pglog_migrate):
 *   ecc_schema(version, applied)
 *   ecc_revisions(rev PK, commit_id UNIQUE, parent, author, message,
 *                 time, pack, manager, published)
 *   ecc_users(name PK, role, hash, created, changed)
 *   ecc_nodes(name PK, subcluster, serial, enrolled)
 *   ecc_node_status(name PK, revision, result, message, drift, contact,
 *                   manager)
 *   ecc_managers(name PK, address, head, seen)
 *   ecc_audit(id, time, account, address, action, detail)
 *   ecc_tokens(hash PK, account, role, expires)         (version 2)
 *
 * A revision is published by inserting the next number; the primary key
 * decides between managers racing for it, and NOTIFY in the same
 * statement wakes every other manager (channel ECC_PGLOG_CHANNEL,
 * payload the revision number).
 */
#ifndef ECC_PGLOG_H
#define ECC_PGLOG_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "repo.h"

#define ECC_PGLOG_CHANNEL "ecconfig_revision"
/* Schema version this build writes; a newer database is refused. */
#define ECC_PGLOG_SCHEMA_VERSION 2

/* Connect, blocking, with connect_timeout 5 s unless `conninfo` (a libpq
 * string or URI) says otherwise.  ECC_EUNAVAIL with libpq's reason. */
int ecc_pglog_connect(PGconn **out, const char *conninfo);

/* Send the server's notices to the debug log instead of stderr. */
void ecc_pglog_quiet(PGconn *c);

/* Reconnect `*c` if the connection was lost, including one the server
 * closed since its last use (ECC_EUNAVAIL if it cannot be).  *c may be
 * NULL (then it connects). */
int ecc_pglog_ensure(PGconn **c, const char *conninfo);

/* Create or upgrade the schema, in one transaction under an advisory
 * lock, so managers starting together apply each migration once.
 * ECC_EINVALID when the database is newer than this build. */
int ecc_pglog_migrate(PGconn *c);

/* The highest revision in the log, -1 when it is empty. */
int ecc_pglog_head(int64_t *out, PGconn *c);

/* Insert `p` as the next revision, and NOTIFY, in one transaction under
 * the publish lock (taken here, unless ecc_pglog_lock left it held), and
 * commit, which releases the lock.  ECC_ECONFLICT when that number (or
 * commit) is taken; ECC_EUNAVAIL when the database cannot be reached. */
int ecc_pglog_publish(PGconn *c, const struct ecc_publish *p,
    const char *manager);

/* Take the publish lock in a transaction left open on `c`: until it is
 * released no other manager can publish.  A manager that lost a race
 * takes it before catching up, so its retry, built on the log's head,
 * cannot lose again (without it a busy cluster can beat the same commit
 * every time).  Released by the next ecc_pglog_publish on `c`, or by
 * ecc_pglog_unlock; waits while another manager holds it. */
int ecc_pglog_lock(PGconn *c);

/* Roll back the transaction open on `c`, if any (releasing the publish
 * lock).  Harmless on a lost connection. */
void ecc_pglog_unlock(PGconn *c);

/* Import the revisions of the log above the repository's head, in
 * order, in batches of 64: all of them, or (max > 0) about `max` (whole
 * batches), so that a long catch-up can be cut into jobs.  *imported
 * (optional) counts them. */
int ecc_pglog_catch_up(size_t *imported, PGconn *c, ecc_repo *repo,
    size_t max);

/* Record that manager `name` (at `address`) is alive at `head`. */
int ecc_pglog_manager_seen(PGconn *c, const char *name,
    const char *address, int64_t head);

/* Run `sql` (no parameters) and check it succeeded; for migrations and
 * tests.  Errors carry the server's message. */
int ecc_pglog_exec(PGconn *c, const char *sql);

#endif
