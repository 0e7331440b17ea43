/*
 * fuzz_conf.c - fuzz target for the "key = value" tokenizer (conf.c) and
 * the option machinery, through ecconfigd.conf's table (dconf.c).
 * Corpus: tests/fuzz/corpus/conf/.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dconf.h"
#include "error.h"
#include "fuzz.h"

static int
fuzz_conf_section(const char *section, int line, void *payload)
{
	(void)section;
	(void)line;
	(void)payload;
	return 0;
}

static int
fuzz_conf_value(const char *section, const char *key, const char *value,
    int line, void *payload)
{
	(void)section;
	(void)key;
	(void)value;
	(void)line;
	(void)payload;
	return 0;
}

FUZZ_TARGET(conf)
{
	struct ecc_dconf cfg;
	char *text;

	ecc_conf_parse((const char *)data, size, "fuzz.conf",
	    fuzz_conf_section, fuzz_conf_value, NULL);

	memset(&cfg, 0, sizeof(cfg));
	if (ecc_options_defaults(&cfg, ecc_dconf_options) == 0 &&
	    ecc_options_parse(&cfg, ecc_dconf_options, (const char *)data,
	    size, "fuzz.conf") == 0) {
		/* whatever parsed must render to text that parses again */
		text = ecc_dconf_render(&cfg);
		ecc_options_free(&cfg, ecc_dconf_options);
		memset(&cfg, 0, sizeof(cfg));
		if (ecc_options_defaults(&cfg, ecc_dconf_options) < 0 ||
		    ecc_options_parse(&cfg, ecc_dconf_options, text,
		    strlen(text), "rendered") < 0)
			abort();
		free(text);
	}
	ecc_options_free(&cfg, ecc_dconf_options);
	ecc_error_clear();
	return 0;
}
