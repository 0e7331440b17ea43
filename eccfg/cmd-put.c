/*
 * cmd-put.c - `eccfg put SRC DEST`: commit one local file to a repository
 * path, only when it differs from what the head holds there.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client.h"
#include "eccfg.h"

static const struct eccfg_opt put_opts[] = {
	{ "message", 1, 'm', ECCFG_OPT_MESSAGE, "MSG",
	  "the log message (default: \"put DEST\")" },
	{ NULL, 0, 0, 0, NULL, NULL },
};

/* What the head holds at `dest`: *exists, its mode ("0644"/"0755") and
 * the head revision.  A folder at `dest` is an error. */
static int
put_lookup(int *exists, char mode[8], int64_t *head, struct eccfg_client *c,
    const char *dest)
{
	json_t *tree = NULL, *files, *f;
	char *esc = NULL, *uri = NULL;
	const char *path, *m;
	size_t i;
	int error = -1;

	*exists = 0;
	*head = 0;
	strcpy(mode, "0644");
	esc = ecc_http_escape(dest, 0);
	uri = ecc_printf("/v1/tree?path=%s", esc);
	error = eccfg_client_json(&tree, NULL, c, "GET", uri, NULL);
	if (error == ECC_ENOTFOUND) {
		error = eccfg_client_head(head, c);
		goto out;
	}
	if (error < 0)
		goto out;
	*head = json_integer_value(json_object_get(tree, "revision"));
	files = json_object_get(tree, "files");
	json_array_foreach(files, i, f) {
		path = json_string_value(json_object_get(f, "path"));
		if (!path)
			continue;
		if (strcmp(path, dest) == 0) {
			*exists = 1;
			m = json_string_value(json_object_get(f, "mode"));
			if (m && strcmp(m, "0755") == 0)
				strcpy(mode, "0755");
		} else if (ecc_path_has_prefix(path, dest)) {
			error = ecc_error_set(ECC_EINVALID, "%s is a folder in "
			    "the repository; name the file to write", dest);
			goto out;
		}
	}
	error = 0;
out:
	json_decref(tree);
	free(esc);
	free(uri);
	return error;
}

static int
put_run(struct eccfg_ctx *ctx, int argc, char **argv)
{
	struct eccfg_client *c = NULL;
	struct ecc_http_response resp;
	struct ecc_changeset *cs = NULL;
	struct stat st;
	const char *message = NULL, *src, *base;
	char *data = NULL, *dest = NULL, *esc = NULL, *uri = NULL;
	char *msg = NULL, *line = NULL, mode[8];
	size_t len = 0;
	int64_t head;
	int first, error = -1, rc, exists, exec;

	memset(&resp, 0, sizeof(resp));
	if ((rc = eccfg_parse_options(ctx, argc, argv, eccfg_message_opt,
	    &message, &first)) != 0)
		return rc < 0 ? ECCFG_EXIT_USAGE : ECCFG_EXIT_OK;
	if (argc - first != 2)
		return eccfg_usage(ctx, "expected SRC (a local file) and DEST "
		    "(a repository path)");
	src = argv[first];
	base = argv[first + 1];
	if (*base == '/') {
		eccfg_check_repo_path(base);
		return eccfg_usage(ctx, "DEST %s", ecc_error_last());
	}
	/* "DEST/" names a folder: keep SRC's file name, as cp does. */
	if (*base && base[strlen(base) - 1] == '/') {
		const char *slash = strrchr(src, '/');
		dest = ecc_printf("%s%s", base, slash ? slash + 1 : src);
	} else {
		dest = ecc_strdup(base);
	}
	if (eccfg_check_repo_path(dest) < 0) {
		rc = eccfg_usage(ctx, "DEST %s", ecc_error_last());
		goto done;
	}
	if ((error = ecc_file_read(&data, &len, src,
	    ECC_DEFAULT_MAX_FILE_SIZE)) < 0)
		goto out;
	if (stat(src, &st) < 0) {
		error = ecc_error_set_errno(ECC_ERROR, "cannot stat %s", src);
		goto out;
	}
	exec = (st.st_mode & S_IXUSR) != 0;
	if ((error = eccfg_client_new(&c, ctx, NULL)) < 0 ||
	    (error = put_lookup(&exists, mode, &head, c, dest)) < 0)
		goto out;
	if (exists) {
		esc = ecc_http_escape(dest, 1);
		uri = ecc_printf("/v1/files/%s?rev=%lld", esc, (long long)head);
		if ((error = eccfg_client_get(&resp, c, uri)) < 0)
			goto out;
		if (resp.len == len && memcmp(resp.body, data, len) == 0 &&
		    (strcmp(mode, "0755") == 0) == exec) {
			eccfg_say(ctx, "No change\n");
			error = 0;
			goto out;
		}
	}
	msg = message ? ecc_strdup(message) : ecc_printf("put %s", dest);
	cs = ecc_changeset_new(head, msg);
	ecc_changeset_add_write(cs, dest, data, len, exec ? 0755 : 0644);
	line = ecc_printf("%s %s\n", exists ? "Sending" : "Adding", dest);
	rc = eccfg_post_changeset(ctx, c, cs, line, NULL);
	goto done;
out:
	rc = error < 0 ? eccfg_report(ctx) : ECCFG_EXIT_OK;
done:
	eccfg_client_free(c);
	ecc_changeset_free(cs);
	ecc_http_response_clear(&resp);
	free(data);
	free(dest);
	free(esc);
	free(uri);
	free(msg);
	free(line);
	return rc;
}

const struct eccfg_cmd eccfg_cmd_put = {
	.name = "put",
	.summary = "commit one local file to a repository path if it differs",
	.usage = "[-m MSG] SRC DEST",
	.opts = put_opts,
	.json_ok = 0,
	.run = put_run,
};
