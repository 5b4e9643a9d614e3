/*
 * loadgen_img: a pool of generated PNG images as data: URLs, with a size distribution
 * like production's (median about 500x500 px, P95 above 1000 px: the longer side is
 * log-normal with median 500 and sigma 0.48, so P95 = 500 x e^(1.645 x 0.48) ~ 1100;
 * aspect ratio uniform in [3/4, 4/3]). Pixels are smooth gray gradients seeded per
 * image, so each image has its own content hash and compresses to a few KB: the
 * engine reads dimensions, not pixels. Generated once before the run (libpng's
 * simplified writer); requests pick images from the pool by the seed.
 */
#ifndef LOADGEN_IMG_H
#define LOADGEN_IMG_H

#include <stddef.h>
#include <stdint.h>

#include "base/ms_error.h"

struct loadgen_img {
	char *url;     /* "data:image/png;base64,..." */
	size_t len;
	uint32_t w, h;
};

struct loadgen_img_pool {
	struct loadgen_img *img;
	size_t n;
};

int loadgen_img_pool_make(struct loadgen_img_pool *p, size_t n, uint64_t seed,
			  struct ms_error *err);
/* The same with every image a square of `side` px (0: the size distribution above), so
 * a profile knows each image's tiles. */
int loadgen_img_pool_make_side(struct loadgen_img_pool *p, size_t n, uint32_t side,
			       uint64_t seed, struct ms_error *err);
/*
 * The PNG and JPEG files of dir (found by their magic bytes; other files skipped), in
 * name order, as data: URLs; w and h stay 0 (the server reads them). -MS_ENOTFOUND when
 * dir holds none.
 */
int loadgen_img_pool_load_dir(struct loadgen_img_pool *p, const char *dir, struct ms_error *err);
void loadgen_img_pool_release(struct loadgen_img_pool *p);

#endif
