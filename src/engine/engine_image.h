/*
 * engine_image: what the engine needs from an image part (its bytes decoded from a
 * data: URL by base/ms_base64): the image's real width and height read from its PNG or JPEG
 * header (libpng's simplified API, libjpeg's header reader: no pixels decoded), a
 * content hash for the encoder cache, and the model's tiling rule.
 * Callers: engine_chat (request parsing), fuzz_image_header. No I/O, no globals.
 */
#ifndef ENGINE_IMAGE_H
#define ENGINE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/ms_error.h"
#include "model/model.h"

#define ENGINE_IMAGE_MAX_SIDE 32768

/*
 * Width and height of a PNG or JPEG held in buf (found by magic bytes). -MS_EPARSE
 * with a reason for anything else, a truncated header, or a side of 0 or above
 * ENGINE_IMAGE_MAX_SIDE.
 */
int engine_image_dims(const unsigned char *buf, size_t n, uint32_t *w, uint32_t *h,
		      struct ms_error *err);

/*
 * Tiles of a w x h image under the model's rule: the grid of tile_px tiles covering
 * it (ceil per side), plus the thumbnail tile the model adds to a multi-tile grid,
 * capped at max_tiles. Whether a model adds a thumbnail is read off its reference
 * image (896x896 -> tiles_per_image in the spec: InternVL 2x2 + 1, Llama 3.2 2x2),
 * so the rule reproduces the spec's own count at the reference size.
 */
uint32_t engine_image_tiles(const struct model_spec *m, uint32_t w, uint32_t h);

/* 64-bit FNV-1a of the bytes as 16 hex digits + NUL (the cache key when no uuid). */
void engine_image_hash(const unsigned char *buf, size_t n, char out[17]);

#endif
