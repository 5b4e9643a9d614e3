/*
 * engine_ec: the encoder-cache directory, as vLLM's example EC connector keeps one
 * entry per item hash in a shared directory. The emulation stores what a consumer
 * needs to account for the item (tiles, tokens, size), not the tensor itself.
 * One file per key: DIR/<key>.ec. Keys are checked by engine_chat (no '/', no
 * leading '.'), so a key never leaves DIR. Callers: engine.c.
 */
#ifndef ENGINE_EC_H
#define ENGINE_EC_H

#include <stdint.h>

#include "base/ms_error.h"

struct engine_ec_entry {
	uint32_t tiles, tokens, w, h;
};

/* Writes DIR/<key>.ec atomically (temp file + rename). */
int engine_ec_put(const char *dir, const char *key, const struct engine_ec_entry *e,
		  struct ms_error *err);
/* 1 and *e filled when DIR/<key>.ec holds an entry, 0 when absent or unreadable. */
int engine_ec_get(const char *dir, const char *key, struct engine_ec_entry *e);

#endif
