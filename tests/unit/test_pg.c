/*
 * test_pg.c - lib/pg.c against a real PostgreSQL: the server named by
 * $ECC_TEST_PG (a libpq connection string), else by libpq's PG*
 * environment (tests/run-suite runs the suite under pg_virtualenv, which
 * sets them).  Without either the connection cases fail, saying so.
 */
#include "helpers.h"

#include <event2/event.h>

#include "pg.h"

struct pg_test {
	struct event_base *base;
	ecc_pg *pg;
	int up;             /* last on_state */
	int state_calls;
	char why[256];
	int results;        /* callbacks run */
	int order[8];
	int codes[8];
	char values[8][64];
	char notified[64];
	int in_query;       /* inside ecc_pg_query() */
	int called_inside;  /* a callback ran inside ecc_pg_query() */
};

static const char *
test_conninfo(void)
{
	const char *c = getenv("ECC_TEST_PG");

	if (c && *c)
		return c;
	if (getenv("PGHOST") || getenv("PGPORT") || getenv("PGDATABASE"))
		return "";
	fail_msg("no PostgreSQL to test against: set ECC_TEST_PG or run "
	    "under pg_virtualenv (tests/run-suite does)");
	return NULL;
}

static void
on_state(int up, const char *why, void *payload)
{
	struct pg_test *t = payload;

	t->up = up;
	t->state_calls++;
	snprintf(t->why, sizeof(t->why), "%s", why ? why : "");
	event_base_loopbreak(t->base);
}

static void
on_notify(const char *channel, const char *extra, void *payload)
{
	struct pg_test *t = payload;

	snprintf(t->notified, sizeof(t->notified), "%s:%s", channel, extra);
	event_base_loopbreak(t->base);
}

/* What a query's callback is given: the test and the query's number. */
struct tag {
	struct pg_test *t;
	int n;
};

static void
on_result(const PGresult *res, int code, const char *msg, void *payload)
{
	const struct tag *tag = payload;
	struct pg_test *t = tag->t;
	int i = t->results++;

	(void)msg;
	if (t->in_query)
		t->called_inside = 1;
	if (i >= 8)
		return;
	t->order[i] = tag->n;
	t->codes[i] = code;
	if (res && code == 0 && PQntuples(res) > 0)
		snprintf(t->values[i], sizeof(t->values[i]), "%s",
		    PQgetvalue(res, 0, 0));
}

/* Run the loop until `*flag` reaches `want` or 15 s pass. */
static void
run_until(struct pg_test *t, const int *flag, int want)
{
	struct timeval tv = { 15, 0 };
	uint64_t end = ecc_now_ms() + 15000;

	while (*flag < want && ecc_now_ms() < end) {
		event_base_loopexit(t->base, &tv);
		event_base_dispatch(t->base);
	}
	assert_true(*flag >= want);
}

static void
test_open(struct pg_test *t, const char *conninfo)
{
	struct ecc_pg_callbacks cb = { on_state, on_notify, t };

	memset(t, 0, sizeof(*t));
	assert_non_null(t->base = event_base_new());
	assert_int_equal(ecc_pg_new(&t->pg, t->base, conninfo, &cb), 0);
}

static void
test_close(struct pg_test *t)
{
	ecc_pg_free(t->pg);
	event_base_free(t->base);
}

static void
query(struct pg_test *t, struct tag *tag, const char *sql,
    int nparams, const char *const *values)
{
	t->in_query = 1;
	assert_int_equal(ecc_pg_query(t->pg, sql, nparams, values, NULL, NULL,
	    on_result, tag), 0);
	t->in_query = 0;
}

static void
test_pg__bad_conninfo(void **state)
{
	struct event_base *base = event_base_new();
	ecc_pg *pg = NULL;

	(void)state;
	assert_int_equal(ecc_pg_new(&pg, base, "no_such_option=1", NULL),
	    ECC_EINVALID);
	assert_null(pg);
	assert_non_null(strstr(ecc_error_last(), "db_conninfo"));
	ecc_pg_free(NULL);
	event_base_free(base);
}

static void
test_pg__queries_in_order(void **state)
{
	struct pg_test t;
	struct tag a = { &t, 1 }, b = { &t, 2 }, c = { &t, 3 };
	const char *v41[] = { "41" }, *vbad[] = { "x" };

	(void)state;
	test_open(&t, test_conninfo());
	/* Queued before the connection is up: sent once it is. */
	query(&t, &a, "SELECT $1::int + 1", 1, v41);
	query(&t, &b, "SELECT $1::int", 1, vbad);
	query(&t, &c, "SELECT 'third'", 0, NULL);
	run_until(&t, &t.results, 3);
	assert_int_equal(t.up, 1);
	assert_int_equal(t.order[0], 1);
	assert_int_equal(t.order[1], 2);
	assert_int_equal(t.order[2], 3);
	assert_int_equal(t.codes[0], 0);
	assert_string_equal(t.values[0], "42");
	assert_int_equal(t.codes[1], ECC_ERROR);
	assert_int_equal(t.codes[2], 0);
	assert_string_equal(t.values[2], "third");
	assert_false(t.called_inside);
	assert_true(ecc_pg_is_up(t.pg));
	test_close(&t);
}

static void
test_pg__unique_violation_is_conflict(void **state)
{
	struct pg_test t;
	struct tag a = { &t, 1 }, b = { &t, 2 }, c = { &t, 3 };

	(void)state;
	test_open(&t, test_conninfo());
	query(&t, &a, "CREATE TEMP TABLE t (x int PRIMARY KEY)", 0, NULL);
	query(&t, &b, "INSERT INTO t VALUES (1)", 0, NULL);
	query(&t, &c, "INSERT INTO t VALUES (1)", 0, NULL);
	run_until(&t, &t.results, 3);
	assert_int_equal(t.codes[0], 0);
	assert_int_equal(t.codes[1], 0);
	assert_int_equal(t.codes[2], ECC_ECONFLICT);
	test_close(&t);
}

static void
test_pg__listen_notify(void **state)
{
	struct pg_test t;
	struct tag a = { &t, 1 };
	const char *v[] = { "hello" };

	(void)state;
	test_open(&t, test_conninfo());
	assert_int_equal(ecc_pg_listen(t.pg, "ecc_test"), 0);
	assert_int_equal(ecc_pg_listen(t.pg, "Bad-Name"), ECC_EINVALID);
	/* The LISTEN goes first once connected, so this NOTIFY (in the
	 * same session) is delivered back to us. */
	query(&t, &a, "SELECT pg_notify('ecc_test', $1)", 1, v);
	run_until(&t, &t.results, 1);
	assert_int_equal(t.codes[0], 0);
	while (!t.notified[0]) {
		struct timeval tv = { 5, 0 };

		event_base_loopexit(t.base, &tv);
		event_base_dispatch(t.base);
		if (!t.notified[0])
			break;
	}
	assert_string_equal(t.notified, "ecc_test:hello");
	test_close(&t);
}

static void
test_pg__unreachable_fails_from_the_loop(void **state)
{
	struct pg_test t;
	struct tag a = { &t, 1 };

	(void)state;
	/* Port 1 on loopback: refused at once. */
	test_open(&t, "host=127.0.0.1 port=1 connect_timeout=2 "
	    "dbname=x user=x");
	run_until(&t, &t.state_calls, 1);
	assert_int_equal(t.up, 0);
	if (!strstr(t.why, "127.0.0.1") && !strstr(t.why, "refused"))
		fail_msg("unexpected reason: %s", t.why);
	assert_false(ecc_pg_is_up(t.pg));
	query(&t, &a, "SELECT 1", 0, NULL);
	assert_int_equal(t.results, 0);         /* not inside the call */
	run_until(&t, &t.results, 1);
	assert_int_equal(t.codes[0], ECC_EUNAVAIL);
	assert_false(t.called_inside);
	/* One report per outage, whatever the retries. */
	assert_int_equal(t.state_calls, 1);
	test_close(&t);
}

static void
test_pg__free_fails_queued(void **state)
{
	struct pg_test t;
	struct tag a = { &t, 1 }, b = { &t, 2 };

	(void)state;
	test_open(&t, test_conninfo());
	query(&t, &a, "SELECT pg_sleep(5)", 0, NULL);
	query(&t, &b, "SELECT 2", 0, NULL);
	ecc_pg_free(t.pg);
	t.pg = NULL;
	assert_int_equal(t.results, 2);
	assert_int_equal(t.codes[0], ECC_EUNAVAIL);
	assert_int_equal(t.codes[1], ECC_EUNAVAIL);
	test_close(&t);
}

static void
test_pg__quote_literal(void **state)
{
	char *q;

	(void)state;
	q = ecc_pg_quote_literal("it's");
	assert_string_equal(q, "'it''s'");
	free(q);
	q = ecc_pg_quote_literal("");
	assert_string_equal(q, "''");
	free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pg__bad_conninfo),
		cmocka_unit_test(test_pg__quote_literal),
		cmocka_unit_test(test_pg__queries_in_order),
		cmocka_unit_test(test_pg__unique_violation_is_conflict),
		cmocka_unit_test(test_pg__listen_notify),
		cmocka_unit_test(test_pg__unreachable_fails_from_the_loop),
		cmocka_unit_test(test_pg__free_fails_queued),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
