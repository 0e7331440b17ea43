/*
 * pg.c - an asynchronous PostgreSQL connection on a libevent loop (see
 * pg.h): the connect state machine, the query queue with one query in
 * flight, notifications, failure delivery from the loop, and reconnects
 * with backoff.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sys/time.h>

#include "backoff.h"
#include "error.h"
#include "log.h"
#include "pg.h"
#include "pglog.h"
#include "util.h"

#define PG_RETRY_BASE_MS 200
#define PG_RETRY_CAP_MS 10000
#define PG_MAX_CHANNELS 16
#define PG_MAX_PARAMS 64

struct pg_query {
	struct pg_query *next;
	char *sql;
	int nparams;
	char **values;
	int *lengths;
	int *formats;
	ecc_pg_result_cb cb;
	void *payload;
};

enum pg_state {
	PG_DOWN,
	PG_CONNECTING,
	PG_UP,
};

struct ecc_pg {
	struct event_base *base;
	char *conninfo;
	struct ecc_pg_callbacks cb;
	PGconn *conn;
	enum pg_state state;
	struct event *io;             /* connecting: one-shot; up: read */
	struct event *wr;             /* up: pending output to flush */
	struct event *retry;          /* reconnect timer */
	struct event *fail;           /* fails queued queries while down */
	struct ecc_backoff bo;
	struct pg_query *head, **tail;
	struct pg_query *inflight;
	PGresult *last;               /* the in-flight query's last result */
	char *channels[PG_MAX_CHANNELS];
	size_t nchannels;
	char *down_why;
	int down_reported;            /* on_state(0) said for this outage */
};

static void pg_connect_start(struct ecc_pg *pg);
static void pg_send_next(struct ecc_pg *pg);

static void
pg_query_free(struct pg_query *q)
{
	int i;

	if (!q)
		return;
	for (i = 0; i < q->nparams; i++)
		free(q->values[i]);
	free(q->values);
	free(q->lengths);
	free(q->formats);
	free(q->sql);
	free(q);
}

/* Run the callback of `q` with a failure, then free it. */
static void
pg_query_fail(struct pg_query *q, int code, const char *msg)
{
	if (q->cb)
		q->cb(NULL, code, msg, q->payload);
	pg_query_free(q);
}

/* Fail the in-flight query and everything queued (callbacks may queue
 * more: those wait for the next delivery). */
static void
pg_fail_all(struct ecc_pg *pg, const char *why)
{
	struct pg_query *list = pg->head, *q;
	char *msg = ecc_printf("database unavailable: %s", why);

	pg->head = NULL;
	pg->tail = &pg->head;
	if ((q = pg->inflight)) {
		pg->inflight = NULL;
		pg_query_fail(q, ECC_EUNAVAIL, msg);
	}
	while ((q = list)) {
		list = q->next;
		pg_query_fail(q, ECC_EUNAVAIL, msg);
	}
	free(msg);
}

static void
pg_fail_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ecc_pg *pg = arg;

	(void)fd;
	(void)what;
	if (pg->state != PG_UP)
		pg_fail_all(pg, pg->down_why ? pg->down_why : "not connected");
}

static void
pg_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pg_connect_start(arg);
}

/* The connection failed or was lost: close it, fail what waits, and try
 * again later. */
static void
pg_down(struct ecc_pg *pg, const char *why)
{
	struct timeval tv;
	uint64_t ms;
	int was_up = pg->state == PG_UP;
	char *msg = ecc_strdup(why && *why ? why : "connection lost");
	size_t n;

	/* libpq's messages end with a newline. */
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	if (pg->io)
		event_free(pg->io);
	if (pg->wr)
		event_free(pg->wr);
	pg->io = pg->wr = NULL;
	if (pg->last)
		PQclear(pg->last);
	pg->last = NULL;
	if (pg->conn)
		PQfinish(pg->conn);
	pg->conn = NULL;
	pg->state = PG_DOWN;
	free(pg->down_why);
	pg->down_why = msg;
	ms = ecc_backoff_next(&pg->bo, 0);
	if (was_up)
		ecc_log_warn("db", "connection lost: %s; reconnecting", msg);
	else
		ecc_log_info("db", "cannot connect: %s; retrying in %llu ms",
		    msg, (unsigned long long)ms);
	if (!pg->down_reported && pg->cb.on_state) {
		pg->down_reported = 1;
		pg->cb.on_state(0, msg, pg->cb.payload);
	}
	pg_fail_all(pg, msg);
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(pg->retry, &tv);
}

static void
pg_listen_done(const PGresult *res, int code, const char *msg,
    void *payload)
{
	(void)res;
	(void)payload;
	if (code < 0)
		ecc_log_warn("db", "LISTEN failed: %s", msg);
}

static int
pg_queue_front(struct ecc_pg *pg, const char *sql)
{
	struct pg_query *q = ecc_calloc(1, sizeof(*q));

	q->sql = ecc_strdup(sql);
	q->cb = pg_listen_done;
	q->next = pg->head;
	if (!pg->head)
		pg->tail = &q->next;
	pg->head = q;
	return 0;
}

/* Deliver the in-flight query's result. */
static void
pg_deliver(struct ecc_pg *pg)
{
	struct pg_query *q = pg->inflight;
	PGresult *res = pg->last;
	ExecStatusType st;
	const char *state, *msg = NULL;
	char *copy = NULL;
	int code = 0;

	pg->inflight = NULL;
	pg->last = NULL;
	st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		code = state && strcmp(state, "23505") == 0 ? ECC_ECONFLICT :
		    ECC_ERROR;
		copy = ecc_strdup(res ? PQresultErrorMessage(res) :
		    PQerrorMessage(pg->conn));
		while (*copy && copy[strlen(copy) - 1] == '\n')
			copy[strlen(copy) - 1] = '\0';
		msg = copy;
	}
	if (q && q->cb)
		q->cb(res, code, msg, q->payload);
	pg_query_free(q);
	free(copy);
	if (res)
		PQclear(res);
}

static void
pg_flush(struct ecc_pg *pg)
{
	int r = PQflush(pg->conn);

	if (r < 0) {
		pg_down(pg, PQerrorMessage(pg->conn));
		return;
	}
	if (r == 1)
		event_add(pg->wr, NULL);
}

static void
pg_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pg_flush(arg);
}

static void
pg_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ecc_pg *pg = arg;
	PGnotify *n;
	PGresult *r;

	(void)fd;
	(void)what;
	if (!PQconsumeInput(pg->conn)) {
		pg_down(pg, PQerrorMessage(pg->conn));
		return;
	}
	while ((n = PQnotifies(pg->conn))) {
		if (pg->cb.on_notify)
			pg->cb.on_notify(n->relname, n->extra, pg->cb.payload);
		PQfreemem(n);
	}
	while (pg->inflight && !PQisBusy(pg->conn)) {
		if ((r = PQgetResult(pg->conn)) == NULL) {
			pg_deliver(pg);
			/* A callback may have freed nothing but queued more;
			 * the connection is still ours. */
			if (pg->state != PG_UP)
				return;
			pg_send_next(pg);
			break;
		}
		if (pg->last)
			PQclear(pg->last);
		pg->last = r;
	}
	if (PQstatus(pg->conn) == CONNECTION_BAD)
		pg_down(pg, PQerrorMessage(pg->conn));
}

static void
pg_send_next(struct ecc_pg *pg)
{
	struct pg_query *q;

	if (pg->state != PG_UP || pg->inflight || !(q = pg->head))
		return;
	pg->head = q->next;
	if (!pg->head)
		pg->tail = &pg->head;
	q->next = NULL;
	pg->inflight = q;
	if (!PQsendQueryParams(pg->conn, q->sql, q->nparams, NULL,
	    (const char *const *)q->values, q->lengths, q->formats, 0)) {
		pg_down(pg, PQerrorMessage(pg->conn));
		return;
	}
	pg_flush(pg);
}

static void
pg_up(struct ecc_pg *pg)
{
	evutil_socket_t fd = PQsocket(pg->conn);
	char *sql;
	size_t i;

	if (pg->io)
		event_free(pg->io);
	pg->io = event_new(pg->base, fd, EV_READ | EV_PERSIST, pg_read_cb, pg);
	pg->wr = event_new(pg->base, fd, EV_WRITE, pg_write_cb, pg);
	if (!pg->io || !pg->wr || event_add(pg->io, NULL) < 0) {
		pg_down(pg, "cannot watch the database socket");
		return;
	}
	pg->state = PG_UP;
	pg->down_reported = 0;
	ecc_backoff_reset(&pg->bo);
	free(pg->down_why);
	pg->down_why = NULL;
	ecc_log_info("db", "connected to %s on %s", PQdb(pg->conn),
	    PQhost(pg->conn) ? PQhost(pg->conn) : "?");
	/* LISTEN first, in the order given, before anything queued. */
	for (i = pg->nchannels; i > 0; i--) {
		sql = ecc_printf("LISTEN %s", pg->channels[i - 1]);
		pg_queue_front(pg, sql);
		free(sql);
	}
	if (pg->cb.on_state)
		pg->cb.on_state(1, NULL, pg->cb.payload);
	pg_send_next(pg);
}

static void pg_connect_cb(evutil_socket_t fd, short what, void *arg);

/* One step of PQconnectPoll; waits for the socket as it asks. */
static void
pg_connect_step(struct ecc_pg *pg, PostgresPollingStatusType st)
{
	short what;

	if (pg->io) {
		event_free(pg->io);
		pg->io = NULL;
	}
	switch (st) {
	case PGRES_POLLING_OK:
		pg_up(pg);
		return;
	case PGRES_POLLING_FAILED:
		pg_down(pg, PQerrorMessage(pg->conn));
		return;
	case PGRES_POLLING_READING:
		what = EV_READ;
		break;
	default:
		what = EV_WRITE;
		break;
	}
	/* The socket may change while libpq tries several addresses. */
	pg->io = event_new(pg->base, PQsocket(pg->conn), what, pg_connect_cb,
	    pg);
	if (!pg->io || event_add(pg->io, NULL) < 0)
		pg_down(pg, "cannot watch the database socket");
}

static void
pg_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ecc_pg *pg = arg;

	(void)fd;
	(void)what;
	pg_connect_step(pg, PQconnectPoll(pg->conn));
}

static void
pg_connect_start(struct ecc_pg *pg)
{
	pg->state = PG_CONNECTING;
	pg->conn = PQconnectStart(pg->conninfo);
	if (!pg->conn) {
		pg_down(pg, "out of memory");
		return;
	}
	ecc_pglog_quiet(pg->conn);
	if (PQstatus(pg->conn) == CONNECTION_BAD ||
	    PQsetnonblocking(pg->conn, 1) != 0) {
		pg_down(pg, PQerrorMessage(pg->conn));
		return;
	}
	pg_connect_step(pg, PGRES_POLLING_WRITING);
}

int
ecc_pg_new(ecc_pg **out, struct event_base *base, const char *conninfo,
    const struct ecc_pg_callbacks *cb)
{
	struct ecc_pg *pg;
	PQconninfoOption *opts;
	char *err = NULL;
	int error;

	*out = NULL;
	/* Refuse a malformed string now, with libpq's reason. */
	if (!(opts = PQconninfoParse(conninfo, &err))) {
		error = ecc_error_set(ECC_EINVALID, "db_conninfo: %s", err ?
		    err : "cannot be parsed");
		PQfreemem(err);
		return error;
	}
	PQconninfoFree(opts);
	pg = ecc_calloc(1, sizeof(*pg));
	pg->base = base;
	pg->conninfo = ecc_strdup(conninfo);
	if (cb)
		pg->cb = *cb;
	pg->tail = &pg->head;
	ecc_backoff_init(&pg->bo, PG_RETRY_BASE_MS, PG_RETRY_CAP_MS);
	pg->retry = evtimer_new(base, pg_retry_cb, pg);
	pg->fail = event_new(base, -1, 0, pg_fail_cb, pg);
	if (!pg->retry || !pg->fail) {
		ecc_pg_free(pg);
		return ecc_error_set(ECC_ENOMEM, "cannot create events");
	}
	pg_connect_start(pg);
	*out = pg;
	return 0;
}

void
ecc_pg_free(ecc_pg *pg)
{
	size_t i;

	if (!pg)
		return;
	pg_fail_all(pg, "shutting down");
	if (pg->io)
		event_free(pg->io);
	if (pg->wr)
		event_free(pg->wr);
	if (pg->retry)
		event_free(pg->retry);
	if (pg->fail)
		event_free(pg->fail);
	if (pg->last)
		PQclear(pg->last);
	if (pg->conn)
		PQfinish(pg->conn);
	for (i = 0; i < pg->nchannels; i++)
		free(pg->channels[i]);
	free(pg->down_why);
	free(pg->conninfo);
	free(pg);
}

int
ecc_pg_is_up(const ecc_pg *pg)
{
	return pg && pg->state == PG_UP;
}

int
ecc_pg_query(ecc_pg *pg, const char *sql, int nparams,
    const char *const *values, const int *lengths, const int *formats,
    ecc_pg_result_cb cb, void *payload)
{
	struct pg_query *q;
	int i;

	if (nparams < 0 || nparams > PG_MAX_PARAMS)
		return ecc_error_set(ECC_EINVALID, "at most %d query "
		    "parameters", PG_MAX_PARAMS);
	q = ecc_calloc(1, sizeof(*q));
	q->sql = ecc_strdup(sql);
	q->nparams = nparams;
	q->cb = cb;
	q->payload = payload;
	if (nparams > 0) {
		q->values = ecc_calloc((size_t)nparams, sizeof(*q->values));
		q->lengths = ecc_calloc((size_t)nparams, sizeof(*q->lengths));
		q->formats = ecc_calloc((size_t)nparams, sizeof(*q->formats));
		for (i = 0; i < nparams; i++) {
			q->formats[i] = formats ? formats[i] : 0;
			if (!values[i])
				continue;       /* SQL NULL */
			if (q->formats[i]) {
				q->lengths[i] = lengths[i];
				q->values[i] = ecc_malloc((size_t)lengths[i] +
				    1);
				memcpy(q->values[i], values[i],
				    (size_t)lengths[i]);
			} else {
				q->values[i] = ecc_strdup(values[i]);
			}
		}
	}
	*pg->tail = q;
	pg->tail = &q->next;
	if (pg->state == PG_UP)
		pg_send_next(pg);
	else if (pg->state == PG_DOWN)
		event_active(pg->fail, 0, 0);
	return 0;
}

static int
pg_is_identifier(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 64 && (s[0] == '_' || (s[0] >= 'a' &&
	    s[0] <= 'z')) && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_")
	    == n;
}

int
ecc_pg_listen(ecc_pg *pg, const char *channel)
{
	char *sql;

	if (!pg_is_identifier(channel))
		return ecc_error_set(ECC_EINVALID, "'%s' is not a channel "
		    "name", channel);
	if (pg->nchannels == PG_MAX_CHANNELS)
		return ecc_error_set(ECC_EINVALID, "at most %d channels",
		    PG_MAX_CHANNELS);
	pg->channels[pg->nchannels++] = ecc_strdup(channel);
	if (pg->state != PG_UP)
		return 0;               /* issued when the connection is up */
	sql = ecc_printf("LISTEN %s", channel);
	ecc_pg_query(pg, sql, 0, NULL, NULL, NULL, pg_listen_done, NULL);
	free(sql);
	return 0;
}

char *
ecc_pg_quote_literal(const char *s)
{
	char *out = NULL;
	size_t len = 0;
	char c[2] = { 0, 0 };

	ecc_str_append(&out, &len, "'");
	for (; *s; s++) {
		c[0] = *s;
		ecc_str_append(&out, &len, *s == '\'' ? "''" : c);
	}
	ecc_str_append(&out, &len, "'");
	return out;
}
