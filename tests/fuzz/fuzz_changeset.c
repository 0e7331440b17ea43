/*
 * fuzz_changeset.c - fuzz target for the commit request body: parse,
 * serialize, parse again; the second parse must succeed and give the
 * same change set.  Invalid input is simply refused.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changeset.h"
#include "error.h"
#include "fuzz.h"

/* A broken invariant: a crash for libFuzzer, a failed case for replay. */
#ifdef ECC_FUZZ_REPLAY
#define FUZZ_BUG(msg) do { \
	fprintf(stderr, "fuzz_changeset: %s: %s\n", msg, ecc_error_last()); \
	bug = 1; \
	goto out; \
} while (0)
#else
#define FUZZ_BUG(msg) do { \
	fprintf(stderr, "fuzz_changeset: %s: %s\n", msg, ecc_error_last()); \
	abort(); \
} while (0)
#endif

static int
changeset_equal(const struct ecc_changeset *a, const struct ecc_changeset *b)
{
	size_t i;

	if (a->base != b->base || strcmp(a->message, b->message) != 0 ||
	    a->nchanges != b->nchanges)
		return 0;
	for (i = 0; i < a->nchanges; i++) {
		const struct ecc_change *x = &a->changes[i], *y = &b->changes[i];

		if (strcmp(x->path, y->path) != 0 || x->action != y->action ||
		    x->mode != y->mode || x->len != y->len ||
		    (x->len && memcmp(x->data, y->data, x->len) != 0))
			return 0;
	}
	return 1;
}

FUZZ_TARGET(changeset)
{
	struct ecc_limits lim;
	struct ecc_changeset *cs = NULL, *again = NULL;
	char *json = NULL;
	int bug = 0;

	ecc_limits_default(&lim);
	/* Small limits reach the limit checks with small inputs. */
	lim.max_changes = 64;
	lim.max_file_size = 4096;
	lim.max_changeset = 16384;
	if (ecc_changeset_parse(&cs, (const char *)data, size, &lim) < 0)
		goto out;
	if (!(json = ecc_changeset_to_json(cs)))
		FUZZ_BUG("a parsed change set does not serialize");
	if (ecc_changeset_parse(&again, json, strlen(json), &lim) < 0)
		FUZZ_BUG("a serialized change set does not parse");
	if (!changeset_equal(cs, again))
		FUZZ_BUG("the round trip changed the change set");
out:
	free(json);
	ecc_changeset_free(again);
	ecc_changeset_free(cs);
	return bug;
}
