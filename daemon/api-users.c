/*
 * api-users.c - accounts: GET/POST /v1/users, PUT
 * /v1/users/{name}/password, DELETE /v1/users/{name}.  Changes run on the
 * writer (it owns the store; hashing is slow); the loop keeps a copy of
 * the accounts for listing and for logins, replaced after every change.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "ecconfig.h"

#include "api.h"

enum user_op {
	USER_RELOAD,
	USER_CREATE,
	USER_PASSWORD,
	USER_DELETE,
};

struct user_job {
	struct ecd_job job;
	struct ecd_server *srv;
	struct ecd_ctx *ctx;          /* NULL for USER_RELOAD */
	enum user_op op;
	char *name;
	char *password;
	enum ecc_role role;
	int64_t created;
	int error;
	char *errmsg;
	struct ecc_user *users;       /* the accounts after the change */
	size_t nusers;
	int listed;
	struct ecd_actor actor;
};

static void
user_job_free(struct user_job *uj)
{
	if (uj->password)
		OPENSSL_cleanse(uj->password, strlen(uj->password));
	free(uj->password);
	free(uj->name);
	free(uj->errmsg);
	ecc_user_array_free(uj->users, uj->nusers);
	free(uj);
}

static int
user_change(struct user_job *uj, ecc_store *st)
{
	struct ecc_user u;
	char *hash = NULL;
	int error = -1;

	memset(&u, 0, sizeof(u));
	switch (uj->op) {
	case USER_RELOAD:
		return 0;
	case USER_CREATE:
		if ((error = ecc_password_hash(&hash, uj->password, 0)) < 0)
			goto out;
		u.name = ecc_strdup(uj->name);
		u.role = uj->role;
		u.hash = hash;
		hash = NULL;
		u.created = u.changed = (int64_t)time(NULL);
		uj->created = u.created;
		error = ecc_store_user_add(st, &u);
		break;
	case USER_PASSWORD:
		if ((error = ecc_store_user_get(st, &u, uj->name)) < 0 ||
		    (error = ecc_password_hash(&hash, uj->password, 0)) < 0)
			goto out;
		free(u.hash);
		u.hash = hash;
		hash = NULL;
		u.changed = (int64_t)time(NULL);
		error = ecc_store_user_update(st, &u);
		break;
	case USER_DELETE:
		error = ecc_store_user_remove(st, uj->name);
		break;
	}
out:
	free(hash);
	ecc_user_clear(&u);
	return error;
}

static void
user_run(struct ecd_job *job, struct ecd_worker *w)
{
	struct user_job *uj = (struct user_job *)job;
	int error;

	if (!w->store) {
		uj->error = ecc_error_set(ECC_EUNAVAIL, "no account store");
		uj->errmsg = ecc_strdup(ecc_error_last());
		return;
	}
	if ((error = user_change(uj, w->store)) < 0) {
		uj->error = error;
		uj->errmsg = ecc_strdup(ecc_error_last());
		return;
	}
	if (uj->op == USER_CREATE)
		ecd_audit(w->store, &uj->actor, "user.add", "%s (%s)",
		    uj->name, ecc_role_name(uj->role));
	else if (uj->op == USER_PASSWORD)
		ecd_audit(w->store, &uj->actor, "user.passwd", "%s", uj->name);
	else if (uj->op == USER_DELETE)
		ecd_audit(w->store, &uj->actor, "user.remove", "%s", uj->name);
	if (ecc_store_user_list(w->store, &uj->users, &uj->nusers) < 0)
		ecc_log_err("auth", "cannot list the accounts: %s",
		    ecc_error_last());
	else
		uj->listed = 1;
}

static void
user_done(struct ecd_job *job)
{
	struct user_job *uj = (struct user_job *)job;
	struct ecd_server *srv = uj->srv;
	struct ecd_ctx *ctx = uj->ctx;

	if (uj->listed) {
		ecd_server_set_users(srv, uj->users, uj->nusers);
		uj->users = NULL;
		uj->nusers = 0;
	}
	if (uj->error) {
		if (ctx)
			ecd_reply_code(ctx, uj->error, uj->errmsg);
		else
			ecc_log_err("auth", "cannot load the accounts: %s",
			    uj->errmsg);
		goto out;
	}
	switch (uj->op) {
	case USER_RELOAD:
		ecc_log_info("auth", "%zu account(s) loaded", srv->nusers);
		break;
	case USER_CREATE:
		ecc_log_notice("auth", "account %s (%s) added by %s", uj->name,
		    ecc_role_name(uj->role), ctx->user);
		ecd_reply_json(ctx, 201, json_pack("{s:s, s:s, s:I}",
		    "name", uj->name, "role", ecc_role_name(uj->role),
		    "created", (json_int_t)uj->created));
		break;
	case USER_PASSWORD:
		ecc_log_notice("auth", "password of %s changed by %s",
		    uj->name, ctx->user);
		ecd_server_revoke_user(srv, uj->name);
		ecd_reply_empty(ctx, 204);
		break;
	case USER_DELETE:
		ecc_log_notice("auth", "account %s removed by %s", uj->name,
		    ctx->user);
		ecd_server_revoke_user(srv, uj->name);
		ecd_reply_empty(ctx, 204);
		break;
	}
out:
	user_job_free(uj);
}

static struct user_job *
user_job_new(struct ecd_server *srv, struct ecd_ctx *ctx, enum user_op op)
{
	struct user_job *uj = ecc_calloc(1, sizeof(*uj));

	uj->job.run = user_run;
	uj->job.done = user_done;
	uj->srv = srv;
	uj->ctx = ctx;
	uj->op = op;
	ecd_actor_set(&uj->actor, ctx);
	return uj;
}

void
ecd_users_reload(struct ecd_server *srv)
{
	ecd_pool_submit_write(srv->pool, &user_job_new(srv, NULL,
	    USER_RELOAD)->job);
}

void
ecd_api_users(struct ecd_ctx *ctx)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < ctx->srv->nusers; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I}",
		    "name", ctx->srv->users[i].name,
		    "role", ecc_role_name(ctx->srv->users[i].role),
		    "created", (json_int_t)ctx->srv->users[i].created));
	ecd_reply_json(ctx, 200, json_pack("{s:o}", "users", arr));
}

static int
check_password(struct ecd_ctx *ctx, const char *password)
{
	if (ecc_password_check_policy(password) < 0) {
		ecd_reply_error(ctx, 400, "invalid", "password: %s",
		    ecc_error_last());
		return -1;
	}
	return 0;
}

void
ecd_api_user_create(struct ecd_ctx *ctx)
{
	const char *name = json_string_value(json_object_get(ctx->body,
	    "name"));
	const char *password = json_string_value(json_object_get(ctx->body,
	    "password"));
	const char *role = json_string_value(json_object_get(ctx->body,
	    "role"));
	enum ecc_role r = ecc_role_from_name(role);
	struct user_job *uj;

	if (!ecc_name_is_user(name)) {
		ecd_reply_error(ctx, 400, "invalid", "user name '%s': must "
		    "match [a-z_][a-z0-9_.-]{0,31}", name);
		return;
	}
	if (r == ECC_ROLE_NONE) {
		ecd_reply_error(ctx, 400, "invalid", "role '%s': must be admin "
		    "or service", role);
		return;
	}
	if (check_password(ctx, password) < 0)
		return;
	if (ecd_server_user(ctx->srv, name)) {
		ecd_reply_error(ctx, 409, "exists", "user %s already exists",
		    name);
		return;
	}
	uj = user_job_new(ctx->srv, ctx, USER_CREATE);
	uj->name = ecc_strdup(name);
	uj->password = ecc_strdup(password);
	uj->role = r;
	ecd_pool_submit_write(ctx->srv->pool, &uj->job);
}

void
ecd_api_user_password(struct ecd_ctx *ctx)
{
	const char *password = json_string_value(json_object_get(ctx->body,
	    "password"));
	struct user_job *uj;

	if (check_password(ctx, password) < 0)
		return;
	if (!ecd_server_user(ctx->srv, ctx->params[0])) {
		ecd_reply_error(ctx, 404, "not_found", "user %s does not exist",
		    ctx->params[0]);
		return;
	}
	uj = user_job_new(ctx->srv, ctx, USER_PASSWORD);
	uj->name = ecc_strdup(ctx->params[0]);
	uj->password = ecc_strdup(password);
	ecd_pool_submit_write(ctx->srv->pool, &uj->job);
}

void
ecd_api_user_delete(struct ecd_ctx *ctx)
{
	struct user_job *uj = user_job_new(ctx->srv, ctx, USER_DELETE);

	uj->name = ecc_strdup(ctx->params[0]);
	ecd_pool_submit_write(ctx->srv->pool, &uj->job);
}
