/*
 * Test helpers: PNG and JPEG images of a given size in memory (libpng's simplified
 * writer, libjpeg's compressor), and as data: URLs.
 */
#ifndef TEST_IMG_UTIL_H
#define TEST_IMG_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <png.h>

#include "base/ms_base64.h"
#include "engine/engine_image.h"

static inline unsigned char *test_png(unsigned w, unsigned h, size_t *n)
{
	png_image img;
	unsigned char *px = calloc((size_t)w * h, 1), *out;
	png_alloc_size_t sz = 0;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	img.width = w;
	img.height = h;
	img.format = PNG_FORMAT_GRAY;
	for (size_t i = 0; i < (size_t)w * h; i++)
		px[i] = (unsigned char)(i * 7);
	png_image_write_to_memory(&img, NULL, &sz, 0, px, 0, NULL);
	out = malloc(sz);
	png_image_write_to_memory(&img, out, &sz, 0, px, 0, NULL);
	free(px);
	*n = sz;
	return out;
}

static inline unsigned char *test_jpeg(unsigned w, unsigned h, size_t *n)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned char *out = NULL, *row = calloc(w, 1);
	unsigned long sz = 0;

	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, &sz);
	c.image_width = w;
	c.image_height = h;
	c.input_components = 1;
	c.in_color_space = JCS_GRAYSCALE;
	jpeg_set_defaults(&c);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < h)
		jpeg_write_scanlines(&c, &row, 1);
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(row);
	*n = sz;
	return out;
}

/* "data:image/png;base64,...", caller frees */
static inline char *test_data_url(const unsigned char *b, size_t n, const char *mime)
{
	char *u = malloc(32 + 4 * (n + 2) / 3 + 4);
	int k = sprintf(u, "data:%s;base64,", mime);
	ms_base64_encode(b, n, u + k);
	return u;
}

#endif
