/*
 * loadgen_img: generated PNG images.
 */
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "base/ms_base64.h"
#include "base/ms_rand.h"
#include "loadgen/loadgen_img.h"

static double unif(uint64_t *s)
{
	return ((double)(ms_splitmix64(s) >> 11) + 0.5) / 9007199254740992.0;
}

static int make_one(struct loadgen_img *im, uint64_t *s, struct ms_error *err)
{
	/* Box-Muller for the log-normal side */
	double z = sqrt(-2 * log(unif(s))) * cos(2 * M_PI * unif(s));
	double side = 500 * exp(0.48 * z), ar = 0.75 + unif(s) * (4.0 / 3 - 0.75);
	uint32_t w, h, x, y, a = (uint32_t)(ms_splitmix64(s) & 0xff);
	png_image img;
	png_alloc_size_t sz = 0;
	unsigned char *px, *png;
	static const char head[] = "data:image/png;base64,";

	if (side < 32)
		side = 32;
	if (side > 4096)
		side = 4096;
	/* the longer side is `side` */
	w = (uint32_t)(ar >= 1 ? side : side * ar);
	h = (uint32_t)(ar >= 1 ? side / ar : side);
	if (w < 16)
		w = 16;
	if (h < 16)
		h = 16;
	px = malloc((size_t)w * h);
	if (!px)
		return ms_error_set(err, MS_ENOMEM, "images: out of memory");
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++)
			px[(size_t)y * w + x] = (unsigned char)(a + x / 4 + y / 8);
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	img.width = w;
	img.height = h;
	img.format = PNG_FORMAT_GRAY;
	if (!png_image_write_to_memory(&img, NULL, &sz, 0, px, 0, NULL) ||
	    !(png = malloc(sz))) {
		free(px);
		return ms_error_set(err, MS_ENOMEM, "images: cannot make a %ux%u PNG", w, h);
	}
	if (!png_image_write_to_memory(&img, png, &sz, 0, px, 0, NULL)) {
		free(px);
		free(png);
		return ms_error_set(err, MS_EIO, "images: png: %s", img.message);
	}
	free(px);
	im->len = sizeof(head) - 1 + ms_base64_len(sz);
	im->url = malloc(im->len + 1);
	if (!im->url) {
		free(png);
		return ms_error_set(err, MS_ENOMEM, "images: out of memory");
	}
	memcpy(im->url, head, sizeof(head) - 1);
	ms_base64_encode(png, sz, im->url + sizeof(head) - 1);
	free(png);
	im->w = w;
	im->h = h;
	return 0;
}

int loadgen_img_pool_make(struct loadgen_img_pool *p, size_t n, uint64_t seed,
			  struct ms_error *err)
{
	uint64_t s = seed ^ 0x696d616765ULL;
	size_t i;
	int rc;

	p->n = 0;
	p->img = calloc(n ? n : 1, sizeof(*p->img));
	if (!p->img)
		return ms_error_set(err, MS_ENOMEM, "images: out of memory");
	for (i = 0; i < n; i++) {
		if ((rc = make_one(&p->img[i], &s, err))) {
			loadgen_img_pool_release(p);
			return rc;
		}
		p->n++;
	}
	return 0;
}

void loadgen_img_pool_release(struct loadgen_img_pool *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->img[i].url);
	free(p->img);
	p->img = NULL;
	p->n = 0;
}
