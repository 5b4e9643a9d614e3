/*
 * engine_chat: an OpenAI chat-completions request body, parsed (jansson) into what
 * the emulated engine acts on. Owns struct engine_chat. Pure: no I/O, no clock; the
 * fuzz target fuzz_chat_request drives it.
 *
 * Tolerated as vLLM tolerates them: unknown fields, content as a string or a list of
 * parts, system/assistant messages. Text is "tokenized" by the emulation's rule: one
 * token per whitespace-separated word (docs/live.md), so a client that sends N words
 * gets N prompt tokens. Each image part carries its real size (read from its header),
 * its tiles under the model's rule and its cache key (the part's uuid, else a hash of
 * its bytes). Refused with an HTTP status and a message naming the field: malformed
 * JSON, wrong types, bad image data (400), more than ENGINE_CHAT_MAX_IMAGES images. An
 * http:// or https:// image URL is kept (url) for the engine
 * to fetch (engine_fetch.h); its size, tiles and hash are filled in after the fetch.
 */
#ifndef ENGINE_CHAT_H
#define ENGINE_CHAT_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

#define ENGINE_CHAT_MAX_IMAGES 64
#define ENGINE_CHAT_KEY_MAX 80
#define ENGINE_CHAT_DEFAULT_TOKENS 16 /* emulated EOS when no max_tokens is given */

struct engine_image_item {
	uint32_t w, h;      /* px; 0 for an image_embeds reference */
	uint32_t tiles;     /* 0 for a reference: known from the encoder cache */
	int is_ref;         /* an image_embeds part naming an encoded item by uuid */
	char *url;          /* http:// URL still to fetch (malloc'd), NULL otherwise */
	char key[ENGINE_CHAT_KEY_MAX]; /* uuid, or the content hash */
};

struct engine_chat {
	char model[128];
	int stream, include_usage, ignore_eos;
	int has_max_tokens;
	uint32_t max_tokens;
	uint32_t text_tokens;
	uint32_t n_images;
	struct engine_image_item images[ENGINE_CHAT_MAX_IMAGES];
	/* kv_transfer_params (vLLM NIXL connector) */
	int do_remote_decode, do_remote_prefill;
	uint32_t remote_blocks; /* remote_block_ids length given to decode */
	int has_ec_params;      /* ec_transfer_params present (opaque) */
};

struct engine_chat_error {
	int status;        /* HTTP status, 400 */
	char param[48];    /* offending field, "" when none */
	char msg[256];
};

/* 0, or -1 with e filled. m gives the tiling rule. Either way, engine_chat_release
 * frees what the parse kept (URLs to fetch). */
int engine_chat_parse(struct engine_chat *c, const char *body, size_t len,
		      const struct model_spec *m, struct engine_chat_error *e);
void engine_chat_release(struct engine_chat *c);
/* Fills a fetched item from its bytes (size, tiles, content hash unless a uuid was
 * given); 0 or -1 with e filled (400, bad image data). */
int engine_chat_image_bytes(struct engine_image_item *it, const unsigned char *b, size_t n,
			    const struct model_spec *m, struct engine_chat_error *e);

#endif
