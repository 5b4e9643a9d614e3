/*
 * libFuzzer target for the engine's chat-completions parser (engine_chat_parse): any
 * bytes as a request body. It must return cleanly: 0 with counts inside their limits,
 * or -1 with a 4xx status and a message; never crash, never leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_chat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model_spec m;
	static int loaded;
	struct engine_chat c;
	struct engine_chat_error e;
	struct ms_error err;
	uint32_t i;

	if (!loaded) {
		if (model_spec_load(&m, "internvl-2.5-26b", &err))
			abort(); /* harness failure, not a finding */
		loaded = 1;
	}
	if (engine_chat_parse(&c, (const char *)data, size, &m, &e) == 0) {
		if (c.n_images > ENGINE_CHAT_MAX_IMAGES || !c.max_tokens)
			abort();
		for (i = 0; i < c.n_images; i++) {
			const struct engine_image_item *it = &c.images[i];
			if (it->url) {
				if (strncmp(it->url, "http://", 7) && strncmp(it->url, "https://", 8))
					abort(); /* only http(s):// URLs wait for a fetch */
				continue;
			}
			if (!it->key[0] || strchr(it->key, '/') || it->key[0] == '.')
				abort(); /* a cache key must never leave the cache directory */
			if (!it->is_ref && (it->tiles < 1 || it->tiles > (uint32_t)m.max_tiles))
				abort();
		}
	} else if (e.status < 400 || e.status > 499 || !e.msg[0]) {
		abort();
	}
	engine_chat_release(&c);
	return 0;
}
