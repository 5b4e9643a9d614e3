/*
 * libFuzzer target for the image header reader (engine_image_dims: libpng's and
 * libjpeg's header readers behind magic bytes) and the base64 decoder in front of it:
 * the input as raw image bytes, then as base64 text. Returns cleanly, sizes in range.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/ms_base64.h"
#include "engine/engine_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void dims(const unsigned char *b, size_t n)
{
	struct ms_error err;
	uint32_t w, h;

	if (engine_image_dims(b, n, &w, &h, &err) == 0) {
		if (!w || !h || w > ENGINE_IMAGE_MAX_SIDE || h > ENGINE_IMAGE_MAX_SIDE)
			abort();
	} else if (!err.msg[0]) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ms_error err;
	unsigned char *dec;
	size_t n;

	dims(data, size);
	if (ms_base64_decode((const char *)data, size, &dec, &n, &err) == 0) {
		if (n > size)
			abort();
		dims(dec, n);
		free(dec);
	}
	return 0;
}
