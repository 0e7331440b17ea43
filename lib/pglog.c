/*
 * pglog.c - the shared revision log in PostgreSQL (see pglog.h): the
 * schema and its migrations, publishing a revision, catching up.
 */
#include "config.h"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "log.h"
#include "pglog.h"
#include "util.h"

/* Taken for the migration transaction: "ecc" + 2027. */
#define PGLOG_MIGRATE_LOCK "6648432027"
/* Taken by every publish, and held by a manager that lost a race from
 * its catch-up to its retry (ecc_pglog_lock). */
#define PGLOG_PUBLISH_LOCK "6648432028"
#define PGLOG_BATCH 64           /* as in the LIMIT below */

/* Migration N brings the schema from version N-1 to N. */
static const char *const pglog_migrations[] = {
	/* 1 */
	"CREATE TABLE ecc_revisions ("
	"  rev bigint PRIMARY KEY CHECK (rev >= 0),"
	"  commit_id char(40) NOT NULL UNIQUE,"
	"  parent char(40),"
	"  author text NOT NULL,"
	"  message text NOT NULL,"
	"  time bigint NOT NULL,"
	"  pack bytea NOT NULL,"
	"  manager text NOT NULL,"
	"  published timestamptz NOT NULL DEFAULT now());"
	"CREATE TABLE ecc_users ("
	"  name text PRIMARY KEY,"
	"  role text NOT NULL CHECK (role IN ('admin', 'service')),"
	"  hash text NOT NULL,"
	"  created bigint NOT NULL,"
	"  changed bigint NOT NULL);"
	"CREATE TABLE ecc_nodes ("
	"  name text PRIMARY KEY,"
	"  subcluster text NOT NULL,"
	"  serial text NOT NULL,"
	"  enrolled bigint NOT NULL);"
	"CREATE TABLE ecc_node_status ("
	"  name text PRIMARY KEY,"
	"  revision bigint NOT NULL,"
	"  result text NOT NULL,"
	"  message text NOT NULL,"
	"  drift text NOT NULL,"
	"  contact bigint NOT NULL,"
	"  manager text NOT NULL);"
	"CREATE TABLE ecc_managers ("
	"  name text PRIMARY KEY,"
	"  address text NOT NULL,"
	"  head bigint NOT NULL,"
	"  seen bigint NOT NULL);"
	"CREATE TABLE ecc_audit ("
	"  id bigserial PRIMARY KEY,"
	"  time bigint NOT NULL,"
	"  account text NOT NULL,"
	"  address text NOT NULL,"
	"  action text NOT NULL,"
	"  detail text NOT NULL);",
	/* 2: bearer tokens shared by the managers (by SHA-256) */
	"CREATE TABLE ecc_tokens ("
	"  hash char(64) PRIMARY KEY,"
	"  account text NOT NULL,"
	"  role text NOT NULL CHECK (role IN ('admin', 'service')),"
	"  expires bigint NOT NULL);"
	"CREATE INDEX ecc_tokens_account ON ecc_tokens (account);",
};

/* libpq's message on one line: its trailing newline dropped and the
 * hint lines it adds ("\n\tIs the server running...") joined.  In place. */
static void
pglog_one_line(char *msg)
{
	char *r = msg, *w = msg;

	for (; *r; r++) {
		if (*r == '\n' || *r == '\t') {
			if (w > msg && w[-1] != ' ')
				*w++ = ' ';
			continue;
		}
		*w++ = *r;
	}
	while (w > msg && w[-1] == ' ')
		w--;
	*w = '\0';
}

/* The error of a failed result: ECC_EUNAVAIL when the connection is
 * gone, ECC_ECONFLICT for a unique violation, ECC_ERROR otherwise. */
static int
pglog_error(PGconn *c, PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) :
	    NULL;
	char *msg = ecc_strdup(res && PQresultErrorMessage(res)[0] ?
	    PQresultErrorMessage(res) : PQerrorMessage(c));
	int code;

	pglog_one_line(msg);
	if (PQstatus(c) == CONNECTION_BAD)
		code = ECC_EUNAVAIL;
	else if (state && strcmp(state, "23505") == 0)
		code = ECC_ECONFLICT;
	else if (state && strncmp(state, "08", 2) == 0)
		code = ECC_EUNAVAIL;
	else
		code = ECC_ERROR;
	ecc_error_set(code, "database: %s: %s", what, msg);
	free(msg);
	return code;
}

/* Server notices (e.g. "relation ... already exists, skipping") go to
 * the debug log, not to stderr. */
static void
pglog_notice(void *arg, const char *message)
{
	size_t n = strlen(message);

	(void)arg;
	while (n > 0 && message[n - 1] == '\n')
		n--;
	ecc_log_debug("db", "%.*s", (int)n, message);
}

void
ecc_pglog_quiet(PGconn *c)
{
	PQsetNoticeProcessor(c, pglog_notice, NULL);
}

int
ecc_pglog_connect(PGconn **out, const char *conninfo)
{
	const char *keys[] = { "connect_timeout", "dbname", NULL };
	const char *vals[] = { "5", conninfo, NULL };
	PGconn *c;
	char *msg;
	int error;

	*out = NULL;
	c = PQconnectdbParams(keys, vals, 1);
	if (!c)
		return ecc_error_set(ECC_ENOMEM, "database: out of memory");
	if (PQstatus(c) != CONNECTION_OK) {
		msg = ecc_strdup(PQerrorMessage(c));
		pglog_one_line(msg);
		error = ecc_error_set(ECC_EUNAVAIL, "database unavailable: %s",
		    msg);
		free(msg);
		PQfinish(c);
		return error;
	}
	ecc_pglog_quiet(c);
	*out = c;
	return 0;
}

/* Whether `c` is still connected.  A connection the server closed while
 * it sat idle (a database restart: a FATAL message, then the end of the
 * stream) says CONNECTION_OK until it is read, and would fail the next
 * statement: read what is waiting now, without blocking, until the
 * socket is quiet or the end is seen. */
static int
pglog_alive(PGconn *c)
{
	struct pollfd pfd;
	int i;

	for (i = 0; i < 8 && PQstatus(c) == CONNECTION_OK; i++) {
		pfd.fd = PQsocket(c);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0 || poll(&pfd, 1, 0) < 0)
			return 0;
		if (pfd.revents == 0)
			return 1;
		if (!PQconsumeInput(c))
			return 0;
		/* Parses what came: an idle connection's FATAL becomes a
		 * notice, the close after it is seen by the next read. */
		(void)PQisBusy(c);
	}
	return PQstatus(c) == CONNECTION_OK;
}

int
ecc_pglog_ensure(PGconn **c, const char *conninfo)
{
	if (*c && pglog_alive(*c))
		return 0;
	if (*c) {
		PQfinish(*c);
		*c = NULL;
	}
	return ecc_pglog_connect(c, conninfo);
}

int
ecc_pglog_exec(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	int error = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		error = pglog_error(c, res, "query");
	PQclear(res);
	return error;
}

int
ecc_pglog_migrate(PGconn *c)
{
	PGresult *res = NULL;
	const char *v[1];
	char num[24];
	int64_t version = 0;
	size_t i;
	int error;

	if ((error = ecc_pglog_exec(c, "BEGIN")) < 0)
		return error;
	if ((error = ecc_pglog_exec(c, "SELECT pg_advisory_xact_lock("
	    PGLOG_MIGRATE_LOCK ")")) < 0 ||
	    (error = ecc_pglog_exec(c, "CREATE TABLE IF NOT EXISTS ecc_schema "
	    "(version integer PRIMARY KEY, applied timestamptz NOT NULL "
	    "DEFAULT now())")) < 0)
		goto fail;
	res = PQexec(c, "SELECT coalesce(max(version), 0) FROM ecc_schema");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		error = pglog_error(c, res, "reading the schema version");
		goto fail;
	}
	if (ecc_parse_int64(&version, PQgetvalue(res, 0, 0), 0, INT32_MAX)
	    < 0) {
		error = ecc_error_set(ECC_ERROR, "database: bad schema version");
		goto fail;
	}
	PQclear(res);
	res = NULL;
	if (version > (int64_t)ECC_ARRAY_SIZE(pglog_migrations)) {
		error = ecc_error_set(ECC_EINVALID, "database: schema version "
		    "%" PRId64 " is newer than this ecconfig (%d): upgrade "
		    "ecconfigd", version, ECC_PGLOG_SCHEMA_VERSION);
		goto fail;
	}
	for (i = (size_t)version; i < ECC_ARRAY_SIZE(pglog_migrations); i++) {
		if ((error = ecc_pglog_exec(c, pglog_migrations[i])) < 0)
			goto fail;
		snprintf(num, sizeof(num), "%zu", i + 1);
		v[0] = num;
		res = PQexecParams(c, "INSERT INTO ecc_schema (version) VALUES "
		    "($1)", 1, NULL, v, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			error = pglog_error(c, res, "recording the migration");
			goto fail;
		}
		PQclear(res);
		res = NULL;
		ecc_log_notice("db", "schema migrated to version %zu", i + 1);
	}
	return ecc_pglog_exec(c, "COMMIT");
fail:
	PQclear(res);
	(void)PQexec(c, "ROLLBACK");
	return error;
}

int
ecc_pglog_head(int64_t *out, PGconn *c)
{
	PGresult *res = PQexec(c, "SELECT coalesce(max(rev), -1) FROM "
	    "ecc_revisions");
	int error = 0;

	*out = -1;
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		error = pglog_error(c, res, "reading the head");
	else if (ecc_parse_int64(out, PQgetvalue(res, 0, 0), -1, INT64_MAX)
	    < 0)
		error = ecc_error_set(ECC_ERROR, "database: bad head");
	PQclear(res);
	return error;
}

int
ecc_pglog_publish(PGconn *c, const struct ecc_publish *p,
    const char *manager)
{
	char rev[24], t[24];
	const char *v[8];
	int len[8] = { 0 }, fmt[8] = { 0 };
	PGresult *res;
	int error = 0;

	snprintf(rev, sizeof(rev), "%" PRId64, p->revision);
	snprintf(t, sizeof(t), "%" PRId64, p->time);
	v[0] = rev;
	v[1] = p->commit;
	v[2] = p->parent;
	v[3] = p->author;
	v[4] = p->message;
	v[5] = t;
	v[6] = p->pack;
	len[6] = (int)p->pack_len;
	fmt[6] = 1;
	v[7] = manager;
	/* Under the publish lock, which a manager catching up after a lost
	 * race may hold already (then its transaction is open). */
	if (PQtransactionStatus(c) != PQTRANS_INTRANS &&
	    (error = ecc_pglog_lock(c)) < 0)
		return error;
	/* The row and the notification commit together. */
	res = PQexecParams(c,
	    "WITH ins AS (INSERT INTO ecc_revisions (rev, commit_id, parent, "
	    "author, message, time, pack, manager) VALUES ($1, $2, $3, $4, "
	    "$5, $6, $7, $8) RETURNING rev) "
	    "SELECT pg_notify('" ECC_PGLOG_CHANNEL "', rev::text) FROM ins",
	    8, NULL, v, len, fmt, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		error = pglog_error(c, res, "publishing the revision");
	PQclear(res);
	if (error == 0)
		error = ecc_pglog_exec(c, "COMMIT");
	if (error < 0)
		ecc_pglog_unlock(c);
	if (error == ECC_ECONFLICT)
		ecc_error_set(ECC_ECONFLICT, "r%" PRId64 " was taken by another "
		    "manager", p->revision);
	return error;
}

int
ecc_pglog_lock(PGconn *c)
{
	int error;

	ecc_pglog_unlock(c);
	if ((error = ecc_pglog_exec(c, "BEGIN")) < 0)
		return error;
	if ((error = ecc_pglog_exec(c, "SELECT pg_advisory_xact_lock("
	    PGLOG_PUBLISH_LOCK ")")) < 0)
		ecc_pglog_unlock(c);
	return error;
}

void
ecc_pglog_unlock(PGconn *c)
{
	PGresult *res;

	if (!c || PQstatus(c) != CONNECTION_OK ||
	    PQtransactionStatus(c) == PQTRANS_IDLE)
		return;
	res = PQexec(c, "ROLLBACK");
	PQclear(res);
}

int
ecc_pglog_catch_up(size_t *imported, PGconn *c, ecc_repo *repo,
    size_t max)
{
	PGresult *res = NULL;
	char from[24];
	const char *v[1];
	int64_t rev, want;
	size_t count = 0;
	int i, n, error = 0;

	if (imported)
		*imported = 0;
	for (;;) {
		if ((error = ecc_repo_refresh(repo)) < 0)
			break;
		want = ecc_repo_head(repo) + 1;
		snprintf(from, sizeof(from), "%" PRId64, want);
		v[0] = from;
		/* Text results: the pack comes as bytea hex, unescaped below. */
		res = PQexecParams(c, "SELECT rev, commit_id, pack FROM "
		    "ecc_revisions WHERE rev >= $1 ORDER BY rev LIMIT 64", 1,
		    NULL, v, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			error = pglog_error(c, res, "reading revisions");
			break;
		}
		n = PQntuples(res);
		for (i = 0; i < n; i++) {
			size_t plen = 0;
			unsigned char *pack;

			if (ecc_parse_int64(&rev, PQgetvalue(res, i, 0), 0,
			    INT64_MAX) < 0 || rev != want + i) {
				error = ecc_error_set(ECC_EINVALID, "database: "
				    "the log has a gap at r%" PRId64, want + i);
				goto out;
			}
			pack = PQunescapeBytea((const unsigned char *)
			    PQgetvalue(res, i, 2), &plen);
			if (!pack) {
				error = ecc_error_set(ECC_ENOMEM, "database: "
				    "cannot decode the pack of r%" PRId64, rev);
				goto out;
			}
			error = ecc_repo_import(repo, rev, PQgetvalue(res, i, 1),
			    pack, plen);
			PQfreemem(pack);
			if (error < 0)
				goto out;
			count++;
		}
		PQclear(res);
		res = NULL;
		if (n < PGLOG_BATCH || (max > 0 && count >= max))
			break;
	}
out:
	PQclear(res);
	if (imported)
		*imported = count;
	if (count > 0)
		ecc_log_info("db", "imported %zu revision(s) from the shared "
		    "log, head r%" PRId64, count, ecc_repo_head(repo));
	return error;
}

int
ecc_pglog_manager_seen(PGconn *c, const char *name, const char *address,
    int64_t head)
{
	char h[24], t[24];
	const char *v[4];
	PGresult *res;
	int error = 0;

	snprintf(h, sizeof(h), "%" PRId64, head);
	snprintf(t, sizeof(t), "%lld", (long long)time(NULL));
	v[0] = name;
	v[1] = address;
	v[2] = h;
	v[3] = t;
	res = PQexecParams(c, "INSERT INTO ecc_managers (name, address, head, "
	    "seen) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET "
	    "address = $2, head = $3, seen = $4", 4, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		error = pglog_error(c, res, "recording the manager");
	PQclear(res);
	return error;
}
