/*
 * fuzz_topology.c - fuzz target for the topology file parser
 * (topology.c): whatever parses must format to text that parses back to
 * the same text; anything else is a bug and aborts.
 * Corpus: tests/fuzz/corpus/topology/.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "topology.h"

FUZZ_TARGET(topology)
{
	struct ecc_topology *t = NULL, *u = NULL;
	char *text = NULL, *again = NULL;

	if (ecc_topology_parse(&t, (const char *)data, size, "fuzz") == 0) {
		text = ecc_topology_format(t);
		if (ecc_topology_parse(&u, text, strlen(text), "formatted") < 0)
			abort();
		again = ecc_topology_format(u);
		if (strcmp(text, again) != 0)
			abort();
		/* every member is found in its own subcluster */
		for (size_t i = 0; i < t->nsubclusters; i++) {
			for (size_t j = 0; j < t->subclusters[i].nnodes; j++)
				if (ecc_topology_node_subcluster(t,
				    t->subclusters[i].nodes[j]) !=
				    &t->subclusters[i])
					abort();
		}
	}
	free(text);
	free(again);
	ecc_topology_free(t);
	ecc_topology_free(u);
	ecc_error_clear();
	return 0;
}
