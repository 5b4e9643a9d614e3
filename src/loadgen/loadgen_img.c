/*
 * loadgen_img: generated PNG images.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ms_base64.h"
#include "base/ms_rand.h"
#include "loadgen/loadgen_img.h"

static double unif(uint64_t *s)
{
	return ((double)(ms_splitmix64(s) >> 11) + 0.5) / 9007199254740992.0;
}

static int make_one(struct loadgen_img *im, uint64_t *s, uint32_t fixed, struct ms_error *err)
{
	/* Box-Muller for the log-normal side */
	double z = sqrt(-2 * log(unif(s))) * cos(2 * M_PI * unif(s));
	double side = 500 * exp(0.48 * z), ar = 0.75 + unif(s) * (4.0 / 3 - 0.75);
	uint32_t w, h, x, y, a = (uint32_t)(ms_splitmix64(s) & 0xff);
	png_image img;
	png_alloc_size_t sz = 0;
	unsigned char *px, *png;
	static const char head[] = "data:image/png;base64,";

	if (fixed) {
		side = fixed;
		ar = 1;
	}
	if (side < 32 && !fixed)
		side = 32;
	if (side > 4096 && !fixed)
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
	return loadgen_img_pool_make_side(p, n, 0, seed, err);
}

int loadgen_img_pool_make_side(struct loadgen_img_pool *p, size_t n, uint32_t side,
			       uint64_t seed, struct ms_error *err)
{
	uint64_t s = seed ^ 0x696d616765ULL;
	size_t i;
	int rc;

	p->n = 0;
	p->img = calloc(n ? n : 1, sizeof(*p->img));
	if (!p->img)
		return ms_error_set(err, MS_ENOMEM, "images: out of memory");
	for (i = 0; i < n; i++) {
		if ((rc = make_one(&p->img[i], &s, side, err))) {
			loadgen_img_pool_release(p);
			return rc;
		}
		p->n++;
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads path whole; returns a malloc'd buffer or NULL. */
static unsigned char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && len < (1L << 28) &&
	    fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)len)) &&
	    fread(b, 1, (size_t)len, f) == (size_t)len) {
		*n = (size_t)len;
	} else {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

static int add_file(struct loadgen_img_pool *p, const char *path)
{
	size_t n = 0;
	unsigned char *b = slurp(path, &n);
	const char *mime = NULL;
	char head[40];
	struct loadgen_img *im;
	int k;

	if (!b)
		return 0;
	if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8))
		mime = "image/png";
	else if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		mime = "image/jpeg";
	if (!mime) {
		free(b);
		return 0;
	}
	im = &p->img[p->n];
	k = snprintf(head, sizeof(head), "data:%s;base64,", mime);
	im->len = (size_t)k + ms_base64_len(n);
	if (!(im->url = malloc(im->len + 1))) {
		free(b);
		return -1;
	}
	memcpy(im->url, head, (size_t)k);
	ms_base64_encode(b, n, im->url + k);
	im->w = im->h = 0;
	free(b);
	p->n++;
	return 0;
}

int loadgen_img_pool_load_dir(struct loadgen_img_pool *p, const char *dir, struct ms_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0, i;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	if (!d)
		return ms_error_set(err, MS_EIO, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*nn));
			if (!nn) {
				rc = ms_error_set(err, MS_ENOMEM, "%s: out of memory", dir);
				goto out;
			}
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name))) {
			rc = ms_error_set(err, MS_ENOMEM, "%s: out of memory", dir);
			goto out;
		}
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	if (!(p->img = calloc(n ? n : 1, sizeof(*p->img)))) {
		rc = ms_error_set(err, MS_ENOMEM, "%s: out of memory", dir);
		goto out;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (add_file(p, path)) {
			rc = ms_error_set(err, MS_ENOMEM, "%s: out of memory", path);
			goto out;
		}
	}
	if (!p->n)
		rc = ms_error_set(err, MS_ENOTFOUND, "%s: no PNG or JPEG file", dir);
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	if (rc)
		loadgen_img_pool_release(p);
	return rc;
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
