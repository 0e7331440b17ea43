/*
 * fuzz_manifest.c - fuzz target for .ecconfig/manifest.json: parse,
 * serialize, parse and serialize again; both serializations must be the
 * same bytes.  Invalid input is simply refused.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "manifest.h"

/* A broken invariant: a crash for libFuzzer, a failed case for replay. */
#ifdef ECC_FUZZ_REPLAY
#define FUZZ_BUG(msg) do { \
	fprintf(stderr, "fuzz_manifest: %s: %s\n", msg, ecc_error_last()); \
	bug = 1; \
	goto out; \
} while (0)
#else
#define FUZZ_BUG(msg) do { \
	fprintf(stderr, "fuzz_manifest: %s: %s\n", msg, ecc_error_last()); \
	abort(); \
} while (0)
#endif

FUZZ_TARGET(manifest)
{
	struct ecc_limits lim;
	struct ecc_manifest *m = NULL, *again = NULL;
	char *json = NULL, *json2 = NULL;
	size_t len = 0, len2 = 0;
	int bug = 0;

	ecc_limits_default(&lim);
	lim.max_changes = 64;
	lim.max_file_size = 1 << 20;
	if (ecc_manifest_parse(&m, (const char *)data, size, &lim) < 0)
		goto out;
	if (ecc_manifest_to_json(&json, &len, m) < 0)
		FUZZ_BUG("a parsed manifest does not serialize");
	if (ecc_manifest_parse(&again, json, len, &lim) < 0)
		FUZZ_BUG("a serialized manifest does not parse");
	if (ecc_manifest_to_json(&json2, &len2, again) < 0)
		FUZZ_BUG("a reparsed manifest does not serialize");
	if (len != len2 || memcmp(json, json2, len) != 0)
		FUZZ_BUG("serialization is not stable");
	if (m->nfiles != again->nfiles || m->ndeleted != again->ndeleted ||
	    m->revision != again->revision || m->since != again->since)
		FUZZ_BUG("the round trip changed the manifest");
out:
	free(json);
	free(json2);
	ecc_manifest_free(again);
	ecc_manifest_free(m);
	return bug;
}
