/*
 * api-auth.c - POST /v1/login (password -> bearer token, checked on a
 * reader thread since scrypt is slow; failures rate limited per account
 * and per client address) and POST /v1/logout.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ecconfig.h"

#include "api.h"

struct login_job {
	struct ecd_job job;
	struct ecd_ctx *ctx;
	char *user;
	char *hash;                   /* NULL: nothing to verify */
	char *password;
	int known;
	int result;
};

static void
login_job_free(struct login_job *lj)
{
	if (lj->password)
		OPENSSL_cleanse(lj->password, strlen(lj->password));
	free(lj->password);
	free(lj->hash);
	free(lj->user);
	free(lj);
}

static void
login_run(struct ecd_job *job, struct ecd_worker *w)
{
	struct login_job *lj = (struct login_job *)job;

	(void)w;
	lj->result = lj->hash ? ecc_password_verify(lj->hash, lj->password) :
	    ECC_EAUTH;
	if (lj->result == ECC_EINVALID)
		ecc_log_err("auth", "stored password hash of %s is malformed: "
		    "%s", lj->user, ecc_error_last());
}

static void
login_done(struct ecd_job *job)
{
	struct login_job *lj = (struct login_job *)job;
	struct ecd_ctx *ctx = lj->ctx;
	struct ecd_server *srv = ctx->srv;
	const struct ecc_user *u = ecd_server_user(srv, lj->user);
	char token[ECC_TOKEN_HEX_LEN];
	int error;

	srv->logins_inflight--;
	/* The account may have changed while the hash was checked. */
	if (lj->result != 0 || !lj->known || !u || !lj->hash ||
	    strcmp(u->hash, lj->hash) != 0) {
		ecd_login_end(srv, lj->user, lj->known, ctx->addr, 0);
		ecd_log_remote(LOG_NOTICE, "auth", "failed login for '%s' from "
		    "%s", lj->user, ctx->addr);
		ecd_reply_error(ctx, 401, "unauthorized", "invalid user name "
		    "or password");
		goto out;
	}
	ecd_login_end(srv, lj->user, lj->known, ctx->addr, 1);
	if ((error = ecd_server_token_new(srv, token, u->name, u->role)) < 0) {
		ecd_reply_code(ctx, error, NULL);
		goto out;
	}
	ecc_log_info("auth", "%s logged in from %s (%s)", u->name, ctx->addr,
	    ecc_role_name(u->role));
	ctx->user = ecc_strdup(u->name);
	ecd_reply_json(ctx, 200, json_pack("{s:s, s:I, s:s, s:s}",
	    "token", token, "expires_in", (json_int_t)srv->cfg->token_ttl,
	    "username", u->name, "role", ecc_role_name(u->role)));
	OPENSSL_cleanse(token, sizeof(token));
out:
	login_job_free(lj);
}

void
ecd_api_login(struct ecd_ctx *ctx)
{
	struct ecd_server *srv = ctx->srv;
	const char *user = json_string_value(json_object_get(ctx->body,
	    "username"));
	const char *password = json_string_value(json_object_get(ctx->body,
	    "password"));
	const struct ecc_user *u;
	struct login_job *lj;
	char wait_text[32];
	int64_t wait;

	/* Password checks take a reader each: at most one per reader is
	 * queued, so a read waits for one check at most, however many
	 * logins flood in. */
	if (srv->logins_inflight >= srv->cfg->workers) {
		ecd_set_header(ctx, "Retry-After", "1");
		ecd_reply_error(ctx, 429, "try_again", "busy checking other "
		    "logins; try again in 1 s");
		return;
	}
	u = ecd_server_user(srv, user);
	wait = ecd_login_begin(srv, user, u != NULL, ctx->addr);
	if (wait > 0) {
		snprintf(wait_text, sizeof(wait_text), "%" PRId64, wait);
		ecd_set_header(ctx, "Retry-After", wait_text);
		ecd_log_remote(LOG_NOTICE, "auth", "login for '%s' from %s "
		    "refused: too many failures", user, ctx->addr);
		ecd_reply_error(ctx, 429, "try_again", "too many failed logins; "
		    "try again in %" PRId64 " s", wait);
		return;
	}
	lj = ecc_calloc(1, sizeof(*lj));
	lj->job.run = login_run;
	lj->job.done = login_done;
	lj->ctx = ctx;
	lj->user = ecc_strdup(user);
	lj->password = ecc_strdup(password);
	lj->known = u != NULL;
	/* Unknown users cost the same scrypt as known ones. */
	if (u)
		lj->hash = ecc_strdup(u->hash);
	else if (srv->dummy_hash)
		lj->hash = ecc_strdup(srv->dummy_hash);
	if (ecd_pool_submit_read(srv->pool, &lj->job) < 0) {
		ecd_login_end(srv, lj->user, lj->known, ctx->addr, -1);
		login_job_free(lj);
		ecd_reply_code(ctx, ECC_EUNAVAIL, NULL);
		return;
	}
	srv->logins_inflight++;
}

void
ecd_api_logout(struct ecd_ctx *ctx)
{
	ecd_server_revoke_token(ctx->srv, ctx->token);
	ecd_reply_empty(ctx, 204);
}
