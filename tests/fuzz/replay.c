/*
 * replay.c - the standalone fuzz driver run by `make check`: every file
 * of tests/fuzz/corpus/NAME/ goes through fuzz_NAME(), so the corpus is a
 * regression suite even without clang and libFuzzer.  Output is TAP: one
 * "ok K - NAME/FILE" per input ("not ok" when the target reports a broken
 * invariant; a crash fails the whole program).
 *
 *     replay-corpus                      the whole corpus
 *     replay-corpus TARGET FILE...       just these inputs (a crash repro)
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "util.h"

#ifndef FUZZ_CORPUS_DIR
#error "FUZZ_CORPUS_DIR must name the corpus folder"
#endif

/* Largest input replayed; libFuzzer's default -max_len is far below. */
#define REPLAY_MAX_INPUT (16u * 1024 * 1024)

int fuzz_changeset(const uint8_t *data, size_t size);
int fuzz_conf(const uint8_t *data, size_t size);
int fuzz_manifest(const uint8_t *data, size_t size);
int fuzz_topology(const uint8_t *data, size_t size);
int fuzz_boot(const uint8_t *data, size_t size);

struct replay_target {
	const char *name;
	int (*fn)(const uint8_t *, size_t);
};

static const struct replay_target replay_targets[] = {
	{ "changeset", fuzz_changeset },
	{ "conf", fuzz_conf },
	{ "manifest", fuzz_manifest },
	{ "topology", fuzz_topology },
	{ "boot", fuzz_boot },
};

/* One input to replay: a file, or a corpus folder that cannot be read
 * (reported as a failure rather than silently skipped). */
struct replay_case {
	const struct replay_target *target;
	char *path;           /* full path */
	char *label;          /* NAME/FILE for the TAP line */
	int missing;
};

static int
replay_skip(const struct dirent *de)
{
	return de->d_name[0] != '.' && strcmp(de->d_name, "README.md") != 0;
}

/* Append the cases of one target's corpus folder to *v. */
static void
replay_collect(struct replay_case **v, size_t *n,
    const struct replay_target *t)
{
	struct dirent **list = NULL;
	char *dir = ecc_printf("%s/%s", FUZZ_CORPUS_DIR, t->name);
	int count, i;

	count = scandir(dir, &list, replay_skip, alphasort);
	if (count < 0) {
		*v = ecc_realloc(*v, (*n + 1) * sizeof(**v));
		(*v)[(*n)++] = (struct replay_case){ t, ecc_strdup(dir),
		    ecc_printf("%s (cannot read %s)", t->name, dir), 1 };
		free(dir);
		return;
	}
	*v = ecc_realloc(*v, (*n + (size_t)count) * sizeof(**v));
	for (i = 0; i < count; i++) {
		(*v)[(*n)++] = (struct replay_case){ t,
		    ecc_printf("%s/%s", dir, list[i]->d_name),
		    ecc_printf("%s/%s", t->name, list[i]->d_name), 0 };
		free(list[i]);
	}
	free(list);
	free(dir);
}

/* Run one input through its target, from an exact-size copy so that a
 * read past the end is caught by ASan. */
static int
replay_run(const struct replay_case *c)
{
	char *buf = NULL;
	uint8_t *copy;
	size_t len = 0;
	int rc;

	if (c->missing)
		return -1;
	if (ecc_file_read(&buf, &len, c->path, REPLAY_MAX_INPUT) < 0) {
		fprintf(stderr, "# %s\n", ecc_error_last());
		return -1;
	}
	copy = ecc_malloc(len);
	memcpy(copy, buf, len);
	free(buf);
	rc = c->target->fn(copy, len);
	free(copy);
	return rc;
}

static const struct replay_target *
replay_find(const char *name)
{
	size_t i;

	for (i = 0; i < ECC_ARRAY_SIZE(replay_targets); i++)
		if (strcmp(replay_targets[i].name, name) == 0)
			return &replay_targets[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	struct replay_case *cases = NULL;
	size_t n = 0, i;
	int k;

	if (argc >= 2) {
		const struct replay_target *t = replay_find(argv[1]);

		if (!t || argc < 3) {
			fprintf(stderr, "usage: %s [TARGET FILE...]\n"
			    "targets: changeset conf manifest topology boot\n",
			    argv[0]);
			return 2;
		}
		cases = ecc_calloc((size_t)argc - 2, sizeof(*cases));
		for (k = 2; k < argc; k++)
			cases[n++] = (struct replay_case){ t,
			    ecc_strdup(argv[k]),
			    ecc_printf("%s/%s", t->name, argv[k]), 0 };
	} else {
		for (i = 0; i < ECC_ARRAY_SIZE(replay_targets); i++)
			replay_collect(&cases, &n, &replay_targets[i]);
	}
	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		int rc = replay_run(&cases[i]);

		printf("%sok %zu - %s\n", rc == 0 ? "" : "not ", i + 1,
		    cases[i].label);
		fflush(stdout);
		free(cases[i].path);
		free(cases[i].label);
	}
	free(cases);
	/* Failures are in the TAP lines; the driver counts them. */
	return 0;
}
