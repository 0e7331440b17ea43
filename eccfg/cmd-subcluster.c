/*
 * cmd-subcluster.c - `eccfg subcluster list | create NAME [--copy-from
 * SRC] | copy SRC DEST`: the subclusters of the topology, and new ones
 * made (from the templates or as a copy) in one revision by the server.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "eccfg.h"

enum {
	OPT_COPY_FROM = 1,
	OPT_MESSAGE,
};

static const struct eccfg_opt subcluster_opts[] = {
	{ "copy-from", 1, 0, OPT_COPY_FROM, "SRC",
	  "create: copy SRC/default/ instead of the templates" },
	{ "message", 1, 'm', OPT_MESSAGE, "MSG",
	  "create, copy: the log message" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

struct subcluster_opts {
	const char *copy_from;
	const char *message;
};

static int
subcluster_on_opt(int id, const char *arg, void *payload)
{
	struct subcluster_opts *o = payload;

	switch (id) {
	case OPT_COPY_FROM: o->copy_from = arg; break;
	case OPT_MESSAGE: o->message = arg; break;
	default: return ecc_error_set(ECC_EINVALID, "unknown option");
	}
	return 0;
}

static void
subcluster_print_names(const json_t *names)
{
	const json_t *v;
	size_t i;

	if (json_array_size(names) == 0) {
		fputs("(none)", stdout);
		return;
	}
	json_array_foreach(names, i, v) {
		if (i)
			putchar(' ');
		eccfg_print_text(stdout, json_is_string(v) ?
		    json_string_value(v) : "?");
	}
}

static int
subcluster_list(struct eccfg_ctx *ctx, struct eccfg_client *c)
{
	json_t *res = NULL, *scs, *sc;
	const char *name;
	size_t i;
	int error;

	if ((error = eccfg_client_json(&res, NULL, c, "GET",
	    "/v1/subclusters", NULL)) < 0)
		return error;
	if (ctx->g.json) {
		eccfg_print_json(res);
	} else {
		scs = json_object_get(res, "subclusters");
		json_array_foreach(scs, i, sc) {
			name = json_string_value(json_object_get(sc, "name"));
			eccfg_print_text(stdout, name ? name : "?");
			fputs("\n  managers: ", stdout);
			subcluster_print_names(json_object_get(sc,
			    "managers"));
			fputs("\n  nodes:    ", stdout);
			subcluster_print_names(json_object_get(sc, "nodes"));
			putchar('\n');
		}
	}
	json_decref(res);
	return 0;
}

static int
subcluster_check_name(struct eccfg_ctx *ctx, const char *name)
{
	if (ecc_name_is_subcluster(name))
		return 0;
	if (ecc_name_is_reserved(name))
		return eccfg_usage(ctx, "'%s' is reserved and cannot name a "
		    "subcluster ('global' holds the shared files, 'all' is the "
		    "view of the whole repository)", name);
	return eccfg_usage(ctx, "'%s': subcluster names must be lower case "
	    "and one word", name);
}

static int
subcluster_create(struct eccfg_ctx *ctx, struct eccfg_client *c,
    const char *name, const char *copy_from, const char *message)
{
	json_t *body = NULL;
	char *msg = NULL, *lines;
	int rc;

	msg = message ? ecc_strdup(message) : copy_from ?
	    ecc_printf("copy subcluster %s to %s", copy_from, name) :
	    ecc_printf("create subcluster %s", name);
	body = json_pack("{s:s, s:s}", "name", name, "message", msg);
	if (!body) {
		free(msg);
		return eccfg_usage(ctx, "the message is not valid UTF-8");
	}
	if (copy_from)
		json_object_set_new(body, "copy_from", json_string(copy_from));
	lines = copy_from ? ecc_printf("Copying %s/default to %s/default\n",
	    copy_from, name) : ecc_printf("Adding %s/default from the "
	    "templates\n", name);
	rc = eccfg_post_commit(ctx, c, "/v1/subclusters", body, lines, NULL);
	json_decref(body);
	free(msg);
	free(lines);
	return rc;
}

static int
subcluster_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct subcluster_opts o = { NULL, NULL };
	struct eccfg_client *c = NULL;
	const char *action, *name = NULL, *from = NULL;
	int first, nargs, rc;

	if ((rc = eccfg_parse_options(ctx, argc, argv, subcluster_on_opt, &o,
	    &first)) != 0)
		return rc < 0 ? ECCFG_EXIT_USAGE : ECCFG_EXIT_OK;
	if (first >= argc)
		return eccfg_usage(ctx, "expected list, create or copy");
	action = argv[first];
	nargs = argc - first - 1;
	if (strcmp(action, "list") == 0) {
		if (nargs != 0)
			return eccfg_usage(ctx, "list takes no argument");
	} else if (strcmp(action, "create") == 0) {
		if (nargs != 1)
			return eccfg_usage(ctx, "expected create NAME");
		name = argv[first + 1];
		from = o.copy_from;
	} else if (strcmp(action, "copy") == 0) {
		if (nargs != 2)
			return eccfg_usage(ctx, "expected copy SRC DEST");
		if (o.copy_from)
			return eccfg_usage(ctx, "copy takes SRC as its first "
			    "argument, not --copy-from");
		from = argv[first + 1];
		name = argv[first + 2];
	} else {
		return eccfg_usage(ctx, "unknown action '%s' (list, create or "
		    "copy)", action);
	}
	if ((name && (rc = subcluster_check_name(ctx, name)) != 0) ||
	    (from && (rc = subcluster_check_name(ctx, from)) != 0))
		return rc;
	if (eccfg_client_new(&c, ctx, NULL) < 0)
		return eccfg_report(ctx);
	if (!name) {
		rc = subcluster_list(ctx, c);
		eccfg_client_free(c);
		return rc < 0 ? eccfg_report(ctx) : ECCFG_EXIT_OK;
	}
	rc = subcluster_create(ctx, c, name, from, o.message);
	eccfg_client_free(c);
	return rc;
}

const struct eccfg_cmd eccfg_cmd_subcluster = {
	.name = "subcluster",
	.summary = "list subclusters, create one from the templates, or copy "
	    "one",
	.usage = "list | create NAME [--copy-from SRC] | copy SRC DEST",
	.opts = subcluster_opts,
	.json_ok = 1,
	.run = subcluster_run,
};
