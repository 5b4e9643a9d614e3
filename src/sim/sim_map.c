/*
 * The trace-to-simulation mapping, in one place: sim_run (sim.c) and the work
 * estimate behind the default split (sim_split.c) both shape a trace row here,
 * so the split estimates exactly the requests the run simulates (before the
 * run's KV cut, which depends on the instances). Rule: docs/sim.md, sim.h.
 */
#include <string.h>

#include "sim/sim.h"

/* Cross-attention layers, and self-attention ones (a KV token holds K and V of each: perf's kv_tok_bytes). */
static void layers(const struct model_spec *m, uint32_t *cross, uint32_t *self)
{
	*cross = (uint32_t)(m->cross_layers > 0 ? m->cross_layers : 0);
	*self = m->llm_layers > m->cross_layers ? (uint32_t)(m->llm_layers - m->cross_layers) : 0;
}

uint64_t sim_cross_kv_tokens(const struct model_spec *m, uint64_t img_tokens)
{
	uint32_t cross, self;

	if (m->arch != MODEL_ARCH_CROSS)
		return 0;
	layers(m, &cross, &self);
	/*
	 * Each image token leaves K and V in each cross-attention layer: in KV
	 * tokens (self-attention layers' worth), cross / self of a token each.
	 */
	return self > 0 ? (img_tokens * cross + self - 1) / self : 0;
}

void sim_map_init(struct sim_map *mp, const struct sim_config *c)
{
	const struct model_spec *m = &c->perf->model;

	memset(mp, 0, sizeof(*mp));
	mp->c = c;
	mp->cross = m->arch == MODEL_ARCH_CROSS;
	mp->tiles_per_image = perf_image_tiles(c->perf);
	mp->tokens_per_image = perf_image_tokens(c->perf);
	layers(m, &mp->cross_layers, &mp->self_layers);
}

void sim_map_row(const struct sim_map *mp, const struct trace_set *ts, size_t i,
		 struct sim_shape *out)
{
	const struct sim_config *c = mp->c;
	uint64_t src_img = (uint64_t)ts->images[i] * c->src_tokens_per_image;
	uint32_t images = ts->images[i];

	memset(out, 0, sizeof(*out));
	if (images > c->max_images) {
		images = c->max_images;
		out->capped = 1;
	}
	if (ts->ctx[i] >= src_img) {
		out->text = ts->ctx[i] - src_img;
	} else {
		out->text = 0;
		out->clamped = 1;
	}
	out->images = images;
	out->img_tokens = (uint64_t)images * mp->tokens_per_image;
	if (mp->cross) {
		out->prompt = out->text;
		out->cross = out->img_tokens;
		out->kv_extra = sim_cross_kv_tokens(&c->perf->model, out->img_tokens);
	} else {
		out->prompt = out->text + out->img_tokens;
	}
	if (out->prompt < 1)
		out->prompt = 1; /* a request carries at least one token (BOS) */
	out->gen = ts->gen[i] ? ts->gen[i] : 1; /* the prefill always yields one token */
}
