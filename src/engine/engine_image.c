/*
 * engine_image: image headers, tiles, content hash.
 * libjpeg reports errors by calling error_exit, which must not return: it jumps
 * back to the reader through a jmp_buf, the library's documented way.
 */
#include <setjmp.h>
#include <stdio.h>
/* jpeglib.h needs size_t and FILE declared first */
#include <jpeglib.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_image.h"

struct jerr {
	struct jpeg_error_mgr mgr;
	jmp_buf jb;
	char msg[JMSG_LENGTH_MAX];
};

static void jpeg_fail(j_common_ptr ci)
{
	struct jerr *e = (struct jerr *)ci->err;

	(*ci->err->format_message)(ci, e->msg);
	longjmp(e->jb, 1);
}

static void jpeg_quiet(j_common_ptr ci, int level)
{
	(void)ci;
	(void)level; /* warnings are not errors; never printed by library code */
}

static int jpeg_dims(const unsigned char *buf, size_t n, uint32_t *w, uint32_t *h,
		     struct ms_error *err)
{
	struct jpeg_decompress_struct ci;
	struct jerr je;
	/* volatile: read after longjmp */
	volatile int rc = 0;

	memset(&ci, 0, sizeof(ci));
	ci.err = jpeg_std_error(&je.mgr);
	je.mgr.error_exit = jpeg_fail;
	je.mgr.emit_message = jpeg_quiet;
	if (setjmp(je.jb)) {
		jpeg_destroy_decompress(&ci);
		return ms_error_set(err, MS_EPARSE, "jpeg: %s", je.msg);
	}
	jpeg_create_decompress(&ci);
	jpeg_mem_src(&ci, buf, (unsigned long)n);
	if (jpeg_read_header(&ci, TRUE) != JPEG_HEADER_OK)
		rc = ms_error_set(err, MS_EPARSE, "jpeg: no image in the header");
	else {
		*w = ci.image_width;
		*h = ci.image_height;
	}
	jpeg_destroy_decompress(&ci);
	return rc;
}

static int png_dims(const unsigned char *buf, size_t n, uint32_t *w, uint32_t *h,
		    struct ms_error *err)
{
	png_image img;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&img, buf, n)) {
		int rc = ms_error_set(err, MS_EPARSE, "png: %s", img.message);
		png_image_free(&img);
		return rc;
	}
	*w = img.width;
	*h = img.height;
	png_image_free(&img);
	return 0;
}

int engine_image_dims(const unsigned char *buf, size_t n, uint32_t *w, uint32_t *h,
		      struct ms_error *err)
{
	static const unsigned char png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	int rc;

	*w = *h = 0;
	if (n >= 8 && !memcmp(buf, png_sig, 8))
		rc = png_dims(buf, n, w, h, err);
	else if (n >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff)
		rc = jpeg_dims(buf, n, w, h, err);
	else
		return ms_error_set(err, MS_EPARSE, "image: neither PNG nor JPEG (%zu bytes)", n);
	if (rc)
		return rc;
	if (!*w || !*h || *w > ENGINE_IMAGE_MAX_SIDE || *h > ENGINE_IMAGE_MAX_SIDE)
		return ms_error_set(err, MS_EPARSE, "image: %ux%u px: each side must be 1 to %d",
				    *w, *h, ENGINE_IMAGE_MAX_SIDE);
	return 0;
}

static uint32_t grid(uint32_t px, int tile)
{
	return (px + (uint32_t)tile - 1) / (uint32_t)tile;
}

uint32_t engine_image_tiles(const struct model_spec *m, uint32_t w, uint32_t h)
{
	uint32_t ref = grid(896, m->tile_px) * grid(896, m->tile_px);
	uint32_t thumb = (uint32_t)m->tiles_per_image > ref ? 1 : 0;
	uint64_t t = (uint64_t)grid(w, m->tile_px) * grid(h, m->tile_px);

	if (t > 1)
		t += thumb;
	if (t > (uint64_t)m->max_tiles)
		t = (uint64_t)m->max_tiles;
	return (uint32_t)t;
}

void engine_image_hash(const unsigned char *buf, size_t n, char out[17])
{
	uint64_t x = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= buf[i];
		x *= 0x100000001b3ULL;
	}
	snprintf(out, 17, "%016llx", (unsigned long long)x);
}
