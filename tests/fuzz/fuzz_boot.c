/*
 * fuzz_boot.c - fuzz target for cluster.boot (boot.c): the option table,
 * the repo list parser and the checks that span options; whatever
 * parses must render to a file that parses again to the same repos.
 * Corpus: tests/fuzz/corpus/boot/.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "error.h"
#include "fuzz.h"

FUZZ_TARGET(boot)
{
	struct ecc_boot cfg, again;
	char *text;
	size_t i;

	memset(&again, 0, sizeof(again));
	if (ecc_boot_parse(&cfg, (const char *)data, size, "fuzz.boot") == 0) {
		text = ecc_boot_render(&cfg);
		if (ecc_boot_parse(&again, text, strlen(text), "rendered") < 0 ||
		    again.nrepos != cfg.nrepos || cfg.nrepos == 0)
			abort();
		for (i = 0; i < cfg.nrepos; i++)
			if (strcmp(again.repos[i].host, cfg.repos[i].host) != 0 ||
			    again.repos[i].port != cfg.repos[i].port ||
			    cfg.repos[i].port < 1 || cfg.repos[i].port > 65535)
				abort();
		free(text);
	}
	ecc_boot_free(&cfg);
	ecc_boot_free(&again);
	ecc_error_clear();
	return 0;
}
