/*
 * cmd-user.c - `eccfg user add NAME [--role admin|service] | passwd [NAME]
 * | list | remove NAME`: the manager's accounts.  New passwords come from
 * --new-password-file, $ECCFG_NEW_PASSWORD or the terminal (twice).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "client.h"
#include "eccfg.h"
#include "prompt.h"

enum {
	OPT_ROLE = 1,
	OPT_NEW_PASSWORD_FILE,
};

static const struct eccfg_opt user_opts[] = {
	{ "role", 1, 0, OPT_ROLE, "ROLE",
	  "add: admin (default) or service" },
	{ "new-password-file", 1, 0, OPT_NEW_PASSWORD_FILE, "FILE",
	  "add, passwd: the new password (else $ECCFG_NEW_PASSWORD, else "
	  "prompted twice)" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

struct user_opts {
	const char *role;
	const char *new_password_file;
};

static int
user_on_opt(int id, const char *arg, void *payload)
{
	struct user_opts *o = payload;

	switch (id) {
	case OPT_ROLE:
		if (ecc_role_from_name(arg) == ECC_ROLE_NONE)
			return ecc_error_set(ECC_EINVALID, "'%s' is not a role "
			    "(admin or service)", arg);
		o->role = arg;
		break;
	case OPT_NEW_PASSWORD_FILE:
		o->new_password_file = arg;
		break;
	default:
		return ecc_error_set(ECC_EINVALID, "unknown option");
	}
	return 0;
}

static void
user_free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static int
user_new_password(char **out, const struct user_opts *o, const char *name)
{
	const char *env = getenv("ECCFG_NEW_PASSWORD");
	int error;

	*out = NULL;
	if (o->new_password_file)
		error = eccfg_read_password_file(out, o->new_password_file);
	else if (env && *env) {
		*out = ecc_strdup(env);
		error = 0;
	} else
		error = prompt_new_password(out, name, "--new-password-file "
		    "FILE or set $ECCFG_NEW_PASSWORD");
	if (error == 0 && (error = ecc_password_check_policy(*out)) < 0) {
		eccfg_error_prefix(error, "the new password of %s", name);
		user_free_secret(*out);
		*out = NULL;
	}
	return error;
}

static int
user_list(struct eccfg_ctx *ctx, struct eccfg_client *c)
{
	json_t *res = NULL, *users, *u;
	const char *name, *role;
	char when[32];
	time_t t;
	struct tm tm;
	size_t i;
	int error;

	if ((error = eccfg_client_json(&res, NULL, c, "GET", "/v1/users",
	    NULL)) < 0)
		return error;
	if (ctx->g.json) {
		eccfg_print_json(res);
	} else {
		users = json_object_get(res, "users");
		printf("%-32s %-8s %s\n", "NAME", "ROLE", "CREATED");
		json_array_foreach(users, i, u) {
			name = json_string_value(json_object_get(u, "name"));
			role = json_string_value(json_object_get(u, "role"));
			t = (time_t)json_integer_value(json_object_get(u,
			    "created"));
			strcpy(when, "?");
			if (gmtime_r(&t, &tm))
				strftime(when, sizeof(when),
				    "%Y-%m-%d %H:%M:%S +0000", &tm);
			if (!name || !ecc_name_is_user(name))
				name = "?";
			printf("%-32s %-8s %s\n", name,
			    role && ecc_role_from_name(role) != ECC_ROLE_NONE ?
			    role : "?", when);
		}
	}
	json_decref(res);
	return 0;
}

static int
user_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct user_opts o = { NULL, NULL };
	struct eccfg_client *c = NULL;
	json_t *body = NULL;
	const char *action, *name = NULL;
	char *pw = NULL, *uri = NULL, *esc = NULL;
	int64_t head;
	int first, nargs, rc, error = -1;

	if ((rc = eccfg_parse_options(ctx, argc, argv, user_on_opt, &o,
	    &first)) != 0)
		return rc < 0 ? ECCFG_EXIT_USAGE : ECCFG_EXIT_OK;
	if (first >= argc)
		return eccfg_usage(ctx, "expected add, passwd, list or remove");
	action = argv[first];
	nargs = argc - first - 1;
	if (strcmp(action, "list") == 0) {
		if (nargs != 0)
			return eccfg_usage(ctx, "list takes no argument");
	} else if (strcmp(action, "add") == 0 ||
	    strcmp(action, "remove") == 0) {
		if (nargs != 1)
			return eccfg_usage(ctx, "expected %s NAME", action);
		name = argv[first + 1];
	} else if (strcmp(action, "passwd") == 0) {
		if (nargs > 1)
			return eccfg_usage(ctx, "expected passwd [NAME]");
		if (nargs == 1)
			name = argv[first + 1];
	} else {
		return eccfg_usage(ctx, "unknown action '%s' (add, passwd, list "
		    "or remove)", action);
	}
	if (o.role && strcmp(action, "add") != 0)
		return eccfg_usage(ctx, "--role is for user add");
	if (name && !ecc_name_is_user(name))
		return eccfg_usage(ctx, "'%s' is not a user name (lower case: "
		    "a letter or '_', then letters, digits, '_', '.' or '-'; "
		    "at most 32)", name);

	if ((error = eccfg_client_new(&c, ctx, NULL)) < 0)
		goto out;
	if (strcmp(action, "list") == 0) {
		error = user_list(ctx, c);
		goto out;
	}
	if (!name)
		name = eccfg_client_username(c);
	esc = ecc_http_escape(name, 0);
	if (strcmp(action, "remove") == 0) {
		uri = ecc_printf("/v1/users/%s", esc);
		if ((error = eccfg_client_json(NULL, NULL, c, "DELETE", uri,
		    NULL)) < 0)
			goto out;
		eccfg_say(ctx, "Removed user %s.\n", name);
		goto out;
	}
	/* Log in before asking for the new password, so the questions come
	 * in a sensible order. */
	if ((error = eccfg_client_head(&head, c)) < 0 ||
	    (error = user_new_password(&pw, &o, name)) < 0)
		goto out;
	if (strcmp(action, "add") == 0) {
		body = json_pack("{s:s, s:s, s:s}", "name", name, "password",
		    pw, "role", o.role ? o.role : "admin");
		if (!body) {
			error = ecc_error_set(ECC_EINVALID, "the new password "
			    "is not valid UTF-8");
			goto out;
		}
		if ((error = eccfg_client_json(NULL, NULL, c, "POST",
		    "/v1/users", body)) < 0)
			goto out;
		eccfg_say(ctx, "Added user %s (%s).\n", name,
		    o.role ? o.role : "admin");
	} else {
		body = json_pack("{s:s}", "password", pw);
		if (!body) {
			error = ecc_error_set(ECC_EINVALID, "the new password "
			    "is not valid UTF-8");
			goto out;
		}
		uri = ecc_printf("/v1/users/%s/password", esc);
		if ((error = eccfg_client_json(NULL, NULL, c, "PUT", uri,
		    body)) < 0)
			goto out;
		eccfg_say(ctx, "Changed the password of %s.\n", name);
	}
	error = 0;
out:
	json_decref(body);
	user_free_secret(pw);
	free(uri);
	free(esc);
	eccfg_client_free(c);
	return error < 0 ? eccfg_report(ctx) : ECCFG_EXIT_OK;
}

const struct eccfg_cmd eccfg_cmd_user = {
	.name = "user",
	.summary = "add, list or remove accounts; change a password",
	.usage = "add NAME [--role admin|service] | passwd [NAME] | list | "
	    "remove NAME",
	.opts = user_opts,
	.json_ok = 1,
	.run = user_run,
};
