/*
 * model: parse model and GPU spec files (`key = value`, `#` comments).
 *
 * One table per spec type maps keys to fields, so the parser checks unknown,
 * duplicate and missing keys in one place and every error names file:line: key.
 * Lines, comments and numbers come from base/ms_conf.
 */
#include "model/model.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ms_conf.h"

#ifndef MS_DATA_DIR
#define MS_DATA_DIR "data"
#endif

enum key_type { KEY_STR, KEY_INT, KEY_DBL, KEY_ARCH };

/* Which files must set a key: every file, only vision models (a text model must not:
 * a stray encoder number in an LLM spec is a mistake, not a default), or none. */
enum key_need { NEED_ALL = 0, NEED_VISION, NEED_NONE };

struct key_def {
	const char *key;
	enum key_type type;
	size_t off;
	size_t size;        /* KEY_STR buffer size */
	double min, max;    /* accepted range for numbers */
	enum key_need need;
};

#define MKEYN(k, t, lo, hi, n) { #k, t, offsetof(struct model_spec, k), \
	sizeof(((struct model_spec *)0)->k), lo, hi, n }
#define MKEY(k, t, lo, hi) MKEYN(k, t, lo, hi, NEED_ALL)
#define VKEY(k, t, lo, hi) MKEYN(k, t, lo, hi, NEED_VISION)
#define GKEY(k, t, lo, hi) { #k, t, offsetof(struct gpu_spec, k), \
	sizeof(((struct gpu_spec *)0)->k), lo, hi, NEED_ALL }

static const struct key_def model_keys[] = {
	MKEY(name, KEY_STR, 0, 0),
	MKEY(arch, KEY_ARCH, 0, 2),
	VKEY(enc_params, KEY_DBL, 1e6, 1e12),
	VKEY(enc_layers, KEY_INT, 1, 1000),
	VKEY(enc_hidden, KEY_INT, 1, 1 << 20),
	VKEY(enc_heads, KEY_INT, 1, 1024),
	VKEY(enc_patch, KEY_INT, 1, 4096),
	VKEY(tile_px, KEY_INT, 1, 1 << 16),
	VKEY(max_tiles, KEY_INT, 1, 1 << 16),
	VKEY(tokens_per_tile, KEY_INT, 1, 1 << 20),
	VKEY(tiles_per_image, KEY_INT, 1, 1 << 16),
	MKEY(llm_params, KEY_DBL, 1e6, 1e13),
	MKEY(llm_layers, KEY_INT, 1, 10000),
	MKEY(hidden, KEY_INT, 1, 1 << 20),
	MKEY(heads, KEY_INT, 1, 4096),
	MKEY(kv_heads, KEY_INT, 1, 4096),
	MKEY(head_dim, KEY_INT, 1, 4096),
	MKEY(cross_layers, KEY_INT, 0, 10000),
	MKEY(max_context, KEY_INT, 1, 1 << 30),
	MKEY(default_tp, KEY_INT, 1, 1024),
	MKEY(bytes_per_param, KEY_INT, 1, 8),
	MKEYN(vocab, KEY_INT, 1, 1 << 24, NEED_NONE),
	MKEYN(tied_embeddings, KEY_INT, 0, 1, NEED_NONE),
};

static const struct key_def gpu_keys[] = {
	GKEY(name, KEY_STR, 0, 0),
	GKEY(flops, KEY_DBL, 1e9, 1e18),
	GKEY(hbm_bytes, KEY_DBL, 1e6, 1e15),
	GKEY(hbm_bw, KEY_DBL, 1e6, 1e15),
	GKEY(intra_bw, KEY_DBL, 1e6, 1e15),
	GKEY(inter_bw, KEY_DBL, 1e6, 1e15),
	GKEY(gpus_per_node, KEY_INT, 1, 1024),
	GKEY(price_hour, KEY_DBL, 0, 1e6),
	GKEY(cpu_cores_per_gpu, KEY_INT, 1, 4096),
};

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_KEYS 32

static const char *const model_names[] = {
	"llama-3.2-11b-vision", "llama-3.2-90b-vision", "llava-onevision-7b",
	"llava-onevision-72b", "internvl-2.5-26b", "nvlm-d-72b", "llama-3.1-8b",
	"llama-3.1-70b", "qwen2.5-7b", "qwen2.5-vl-7b",
	"qwen2.5-vl-72b", "qwen3-8b", NULL,
};

static const char *const gpu_names[] = { "a100-80gb", "h100-80gb", "a100-80gb-pcie", NULL };

const char *model_data_dir(void)
{
	const char *d = getenv("MS_DATA");
	return d && *d ? d : MS_DATA_DIR;
}

const char *const *model_builtin_names(void)
{
	return model_names;
}

const char *const *gpu_builtin_names(void)
{
	return gpu_names;
}

/* Both factors may reach 2^16 and 2^20 within the key ranges: multiply in 64 bits. */
static uint64_t image_tokens_wide(const struct model_spec *m)
{
	if (m->arch == MODEL_ARCH_TEXT || m->tiles_per_image <= 0 || m->tokens_per_tile <= 0)
		return 0;
	return (uint64_t)m->tiles_per_image * (uint64_t)m->tokens_per_tile;
}

uint32_t model_image_tokens(const struct model_spec *m)
{
	uint64_t t = image_tokens_wide(m);
	return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

int model_has_vision(const struct model_spec *m)
{
	return m->arch != MODEL_ARCH_TEXT;
}

static int set_value(void *obj, const struct key_def *k, const struct ms_conf *c,
		     const struct ms_conf_line *l, struct ms_error *err)
{
	char *dst = (char *)obj + k->off;
	const char *val = l->val;

	switch (k->type) {
	case KEY_STR:
		if (!*val || strlen(val) >= k->size)
			return ms_error_set(err, MS_EPARSE, "%s:%d: %s: empty or longer than %zu bytes: '%s'",
					    c->path, l->no, k->key, k->size - 1, val);
		memcpy(dst, val, strlen(val) + 1);
		return 0;
	case KEY_ARCH:
		if (!strcmp(val, "decoder"))
			*(enum model_arch *)(void *)dst = MODEL_ARCH_DECODER;
		else if (!strcmp(val, "cross"))
			*(enum model_arch *)(void *)dst = MODEL_ARCH_CROSS;
		else if (!strcmp(val, "text"))
			*(enum model_arch *)(void *)dst = MODEL_ARCH_TEXT;
		else
			return ms_error_set(err, MS_EPARSE,
					    "%s:%d: %s: not 'decoder', 'cross' or 'text': '%s'",
					    c->path, l->no, k->key, val);
		return 0;
	case KEY_INT: {
		long v;
		int rc = ms_conf_long_get(c, l, k->min, k->max, &v, err);
		if (!rc)
			*(int *)(void *)dst = (int)v;
		return rc;
	}
	case KEY_DBL:
		return ms_conf_double_get(c, l, k->min, k->max, (double *)(void *)dst, err);
	}
	return ms_error_set(err, MS_EINVAL, "%s:%d: %s: bad key type", c->path, l->no, k->key);
}

/* Whether keys of this need must (1) or must not (0) be set in this file. */
static int key_wanted(enum key_need need, int text)
{
	return need == NEED_ALL || (need == NEED_VISION && !text);
}

/*
 * Parses `path` into obj per the key table; a key appears at most once, NEED_ALL keys
 * always, NEED_VISION keys exactly when the file is not a text model (arch = text;
 * is_text reads that off obj once parsed, NULL for files without an arch).
 */
static int spec_parse(void *obj, const struct key_def *keys, size_t nkeys,
		      int (*is_text)(const void *obj), const char *path, struct ms_error *err)
{
	int seen[MAX_KEYS] = { 0 };
	struct ms_conf c;
	struct ms_conf_line l;
	int rc, text;
	size_t i;

	rc = ms_conf_read(&c, path, err);
	if (rc)
		return rc;
	while ((rc = ms_conf_line_next(&c, &l, err)) > 0) {
		if (ms_conf_line_split(&l)) {
			rc = ms_error_set(err, MS_EPARSE, "%s:%d: %s: expected 'key = value'",
					  path, l.no, l.text);
			goto out;
		}
		for (i = 0; i < nkeys; i++)
			if (!strcmp(keys[i].key, l.key))
				break;
		if (i == nkeys) {
			rc = ms_error_set(err, MS_EPARSE, "%s:%d: %s: unknown key", path, l.no, l.key);
			goto out;
		}
		if (seen[i]) {
			rc = ms_error_set(err, MS_EPARSE, "%s:%d: %s: duplicate key (first on line %d)",
					  path, l.no, l.key, seen[i]);
			goto out;
		}
		seen[i] = l.no;
		rc = set_value(obj, &keys[i], &c, &l, err);
		if (rc)
			goto out;
	}
	if (rc)
		goto out;
	text = is_text ? is_text(obj) : 0;
	for (i = 0; i < nkeys; i++) {
		if (keys[i].need == NEED_NONE)
			continue;
		if (!seen[i] && key_wanted(keys[i].need, text)) {
			rc = ms_error_set(err, MS_EPARSE, "%s:%d: %s: missing required key",
					  path, c.line, keys[i].key);
			goto out;
		}
		if (seen[i] && !key_wanted(keys[i].need, text)) {
			rc = ms_error_set(err, MS_EPARSE,
					  "%s:%d: %s: not allowed with arch = text (no vision encoder)",
					  path, seen[i], keys[i].key);
			goto out;
		}
	}
out:
	ms_conf_release(&c);
	return rc;
}

/* A bare name (no '/' and no ".conf") is looked up under <data dir>/<sub>/<name>.conf. */
static int spec_path(char *out, size_t n, const char *sub, const char *name_or_path,
		     struct ms_error *err)
{
	size_t len = strlen(name_or_path);
	int w;

	if (!len)
		return ms_error_set(err, MS_EINVAL, "empty %s name", sub);
	if (strchr(name_or_path, '/') || (len > 5 && !strcmp(name_or_path + len - 5, ".conf")))
		w = snprintf(out, n, "%s", name_or_path);
	else
		w = snprintf(out, n, "%s/%s/%s.conf", model_data_dir(), sub, name_or_path);
	if (w < 0 || (size_t)w >= n)
		return ms_error_set(err, MS_EINVAL, "%s: path too long", name_or_path);
	return 0;
}

static int spec_load(void *obj, size_t size, const struct key_def *keys, size_t nkeys,
		     int (*is_text)(const void *obj), const char *sub,
		     const char *const *builtins, const char *name_or_path, struct ms_error *err)
{
	char path[4096];
	int rc;

	rc = spec_path(path, sizeof(path), sub, name_or_path, err);
	if (rc)
		return rc;
	memset(obj, 0, size);
	rc = spec_parse(obj, keys, nkeys, is_text, path, err);
	if ((rc == -MS_EIO || rc == -MS_ENOTFOUND) && path[0] && !strchr(name_or_path, '/')) {
		char list[256] = "";
		size_t i;
		for (i = 0; builtins[i]; i++) {
			strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
			strncat(list, builtins[i], sizeof(list) - strlen(list) - 1);
		}
		/* "models" -> "model", "gpus" -> "GPU" in the message */
		return ms_error_set(err, MS_ENOTFOUND, "%s: unknown %s (built-in: %s; or give a path)",
				    name_or_path, strcmp(sub, "gpus") ? "model" : "GPU", list);
	}
	return rc;
}

static int model_is_text(const void *obj)
{
	return ((const struct model_spec *)obj)->arch == MODEL_ARCH_TEXT;
}

int model_spec_load(struct model_spec *m, const char *name_or_path, struct ms_error *err)
{
	int rc = spec_load(m, sizeof(*m), model_keys, NKEYS(model_keys), model_is_text, "models",
			   model_names, name_or_path, err);
	if (rc)
		return rc;
	if (model_has_vision(m) && image_tokens_wide(m) > (uint64_t)m->max_context)
		return ms_error_set(err, MS_ERANGE,
				    "%s: tokens_per_tile: %d x tiles_per_image %d = %llu image tokens, "
				    "above max_context %d",
				    name_or_path, m->tokens_per_tile, m->tiles_per_image,
				    (unsigned long long)image_tokens_wide(m), m->max_context);
	if (model_has_vision(m) && m->tiles_per_image > m->max_tiles)
		return ms_error_set(err, MS_ERANGE, "%s: tiles_per_image: %d above max_tiles %d",
				    name_or_path, m->tiles_per_image, m->max_tiles);
	if (m->heads % m->kv_heads)
		return ms_error_set(err, MS_ERANGE, "%s: kv_heads: %d does not divide heads %d",
				    name_or_path, m->kv_heads, m->heads);
	if (m->arch == MODEL_ARCH_CROSS ? (m->cross_layers < 1 || m->cross_layers >= m->llm_layers)
					: m->cross_layers != 0)
		return ms_error_set(err, MS_ERANGE,
				    "%s: cross_layers: %d (cross arch needs 1..llm_layers-1, "
				    "decoder and text 0)",
				    name_or_path, m->cross_layers);
	return 0;
}

int gpu_spec_load(struct gpu_spec *g, const char *name_or_path, struct ms_error *err)
{
	return spec_load(g, sizeof(*g), gpu_keys, NKEYS(gpu_keys), NULL, "gpus", gpu_names,
			 name_or_path, err);
}
