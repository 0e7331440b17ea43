/*
 * api-health.c - GET /v1/health: liveness and the head revision.
 */
#include "config.h"

#include "ecconfig.h"

#include "api.h"

void
ecd_api_health(struct ecd_ctx *ctx)
{
	struct ecd_server *srv = ctx->srv;

	ecd_reply_json(ctx, 200, json_pack("{s:s, s:I, s:s, s:s}",
	    "status", "ok",
	    "head", (json_int_t)(srv->state ? srv->state->head : 0),
	    "store", srv->cfg->store ? srv->cfg->store : "file",
	    "version", PACKAGE_VERSION));
}
