/*
 * api-health.c - GET /v1/health: liveness and the head revision.
 */
#include "config.h"

#include "ecconfig.h"

#include "api.h"
#include "cluster.h"

void
ecd_api_health(struct ecd_ctx *ctx)
{
	struct ecd_server *srv = ctx->srv;
	json_t *v = json_pack("{s:s, s:I, s:s, s:s}",
	    "status", "ok",
	    "head", (json_int_t)(srv->state ? srv->state->head : 0),
	    "store", srv->cfg->store ? srv->cfg->store : "file",
	    "version", PACKAGE_VERSION);

	/* The daemon serves reads without its database: say whether
	 * commits can be made, without failing the liveness check. */
	if (v && srv->cluster)
		json_object_set_new(v, "database", json_string(
		    ecd_cluster_db_up(srv->cluster) ? "up" : "down"));
	ecd_reply_json(ctx, 200, v);
}
