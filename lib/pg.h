/*
 * pg.h - one asynchronous PostgreSQL connection driven by a libevent
 * loop (libpq's non-blocking interface: PQconnectStart/PQconnectPoll,
 * PQsendQueryParams, PQconsumeInput/PQisBusy on the socket's events), so
 * a slow or absent database never stalls the loop.
 *
 * Queries are queued and sent one at a time, in order.  When the
 * connection is down every queued and new query fails at once (from the
 * loop, never inside ecc_pg_query) with ECC_EUNAVAIL, and the connection
 * is retried with jittered exponential backoff.  LISTEN channels are
 * re-issued after every reconnect.
 */
#ifndef ECC_PG_H
#define ECC_PG_H

#include <stddef.h>

#include <event2/event.h>
#include <libpq-fe.h>

typedef struct ecc_pg ecc_pg;

/* A query's outcome.  On success `res` (borrowed: cleared after the
 * callback) holds the last result of the statement and `code` is 0; on
 * failure res may be NULL, `code` is ECC_EUNAVAIL (no connection),
 * ECC_ECONFLICT (a unique violation, SQLSTATE 23505) or ECC_ERROR, and
 * `message` says why. */
typedef void (*ecc_pg_result_cb)(const PGresult *res, int code,
    const char *message, void *payload);

/* A NOTIFY on a channel we LISTEN to. */
typedef void (*ecc_pg_notify_cb)(const char *channel, const char *extra,
    void *payload);

/* The connection came up (up = 1) or went down (up = 0, `why`; once
 * per outage, the first failed attempt included).
 *
 * No callback may free the ecc_pg it was called for. */
typedef void (*ecc_pg_state_cb)(int up, const char *why, void *payload);

struct ecc_pg_callbacks {
	ecc_pg_state_cb on_state;      /* may be NULL */
	ecc_pg_notify_cb on_notify;    /* may be NULL */
	void *payload;
};

/* Start connecting to `conninfo` (a libpq connection string) on `base`.
 * Returns at once; on_state reports the outcome. */
int ecc_pg_new(ecc_pg **out, struct event_base *base, const char *conninfo,
    const struct ecc_pg_callbacks *cb);

/* Close the connection; queued queries fail with ECC_EUNAVAIL first.
 * Accepts NULL. */
void ecc_pg_free(ecc_pg *pg);

/* 1 while connected. */
int ecc_pg_is_up(const ecc_pg *pg);

/* Queue `sql` with `nparams` parameters (text, or binary where
 * formats[i] is 1; lengths only matter for binary).  `values` and
 * `lengths` are copied.  `cb` runs later on the loop, exactly once. */
int ecc_pg_query(ecc_pg *pg, const char *sql, int nparams,
    const char *const *values, const int *lengths, const int *formats,
    ecc_pg_result_cb cb, void *payload);

/* LISTEN to `channel` (an SQL identifier: [a-z_][a-z0-9_]*), now and
 * after every reconnect. */
int ecc_pg_listen(ecc_pg *pg, const char *channel);

/* Quote `s` as an SQL string literal ('...' with '' doubled); malloc'd.
 * For the DDL that cannot take parameters. */
char *ecc_pg_quote_literal(const char *s);

#endif
