/*
 * api-managers.c - GET /v1/managers: the cluster's managers, their head
 * revisions and how far each lags behind this one (from ecc_managers,
 * where every manager records itself every few seconds); a standalone
 * manager lists itself.
 */
#include "config.h"

#include <time.h>

#include "ecconfig.h"

#include "api.h"
#include "cluster.h"

void
ecd_api_managers(struct ecd_ctx *ctx)
{
	struct ecd_server *srv = ctx->srv;
	int64_t head = srv->state ? srv->state->head : 0;

	if (srv->cluster) {
		ecd_cluster_managers(srv->cluster, ctx);
		return;
	}
	ecd_reply_json(ctx, 200, json_pack("{s:I, s:s, s:[{s:s, s:s, s:I, "
	    "s:I, s:I, s:b}]}", "head", (json_int_t)head, "store", "file",
	    "managers", "name", srv->self_name ? srv->self_name : "",
	    "address", srv->self_address ? srv->self_address : "", "head",
	    (json_int_t)head, "lag", (json_int_t)0, "seen",
	    (json_int_t)time(NULL), "self", 1));
}
