/*
 * api-audit.c - the audit trail: every commit, rollback, subcluster
 * creation, account and node change is recorded (on the writer, in the
 * store: DATA_DIR/audit.log or the cluster database) with the account,
 * the client address and the time; GET /v1/audit lists it, newest first.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecconfig.h"

#include "api.h"

#define AUDIT_DETAIL_MAX 1024
#define AUDIT_DEFAULT_LIMIT 100

void
ecd_actor_set(struct ecd_actor *a, const struct ecd_ctx *ctx)
{
	snprintf(a->account, sizeof(a->account), "%s", ctx && ctx->user ?
	    ctx->user : "-");
	snprintf(a->addr, sizeof(a->addr), "%s", ctx ? ctx->addr : "-");
}

void
ecd_audit(ecc_store *st, const struct ecd_actor *a, const char *action,
    const char *fmt, ...)
{
	struct ecc_audit e;
	char detail[AUDIT_DETAIL_MAX];
	va_list ap;

	if (!st)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	memset(&e, 0, sizeof(e));
	e.account = (char *)a->account;
	e.address = (char *)a->addr;
	e.action = (char *)action;
	e.detail = detail;
	if (ecc_store_audit_add(st, &e) < 0)
		ecc_log_err("audit", "cannot record %s by %s from %s (%s): %s",
		    action, a->account, a->addr, detail, ecc_error_last());
}

struct audit_job {
	struct ecd_job job;
	struct ecd_ctx *ctx;
	int64_t before;
	size_t limit;
	struct ecc_audit *v;
	size_t n;
	int error;
	char *errmsg;
};

static void
audit_run(struct ecd_job *job, struct ecd_worker *w)
{
	struct audit_job *aj = (struct audit_job *)job;

	if (!w->store) {
		aj->error = ecc_error_set(ECC_EUNAVAIL, "no store");
	} else if ((aj->error = ecc_store_audit_list(w->store, &aj->v, &aj->n,
	    aj->before, aj->limit)) == 0) {
		return;
	}
	aj->errmsg = ecc_strdup(ecc_error_last());
}

static void
audit_done(struct ecd_job *job)
{
	struct audit_job *aj = (struct audit_job *)job;
	json_t *arr, *e;
	size_t i;

	if (aj->error) {
		ecd_reply_code(aj->ctx, aj->error, aj->errmsg);
	} else {
		arr = json_array();
		for (i = 0; i < aj->n; i++) {
			e = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s}", "id",
			    (json_int_t)aj->v[i].id, "time",
			    (json_int_t)aj->v[i].time, "account",
			    aj->v[i].account, "address", aj->v[i].address,
			    "action", aj->v[i].action, "detail",
			    aj->v[i].detail);
			if (e)
				json_array_append_new(arr, e);
		}
		ecd_reply_json(aj->ctx, 200, json_pack("{s:o}", "entries", arr));
	}
	ecc_audit_array_free(aj->v, aj->n);
	free(aj->errmsg);
	free(aj);
}

void
ecd_api_audit(struct ecd_ctx *ctx)
{
	struct audit_job *aj;
	int64_t limit, before;

	if (ecd_query_int(ctx, "limit", 1, ECC_AUDIT_LIST_MAX,
	    AUDIT_DEFAULT_LIMIT, &limit) < 0 ||
	    ecd_query_int(ctx, "before", 1, INT64_MAX, 0, &before) < 0)
		return;
	aj = ecc_calloc(1, sizeof(*aj));
	aj->job.run = audit_run;
	aj->job.done = audit_done;
	aj->ctx = ctx;
	aj->before = before;
	aj->limit = (size_t)limit;
	/* The store belongs to the writer. */
	ecd_pool_submit_write(ctx->srv->pool, &aj->job);
}
