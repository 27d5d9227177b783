/* fuzz_config.c: libFuzzer target for ovnagent's YAML configuration
 * (agent/config.c cfg_load_string: libyaml's parser, the key table walk,
 * every value parser and cross-key check). The config is written by root,
 * but `ovnagent --check-config` is run on files from anywhere, and a parser
 * that crashes on a typo is a bad parser.
 *
 * A file that loads must satisfy what the rest of the agent assumes of a
 * loaded config: strings terminated within their fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ovn_err err = { 0 };
	static struct cfg c;
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	cfg_defaults(&c);
	if (cfg_load_string(&c, s, "fuzz.yaml", &err) == 0) {
		if (!memchr(c.node, '\0', sizeof(c.node)) ||
		    !memchr(c.api.socket, '\0', sizeof(c.api.socket)) ||
		    !memchr(c.store.backend, '\0', sizeof(c.store.backend)))
			abort();
	} else if (!err.msg[0]) {
		abort();	/* every refusal says why */
	}
	free(s);
	return 0;
}
