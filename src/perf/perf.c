/*
 * perf: roofline stage latencies from model and GPU specs.
 *
 * Every GPU stage is max(compute time, weight/KV read time) plus a fixed
 * per-call overhead, a per-layer kernel-launch overhead and, for tp > 1, two
 * ring all-reduces per layer. The constants are shared by all models; which
 * paper figure each one is calibrated against is in docs/perf.md. A profile
 * table (perf_table.c), when loaded, replaces the roofline for the stages and
 * tp values it has rows for.
 */
#include "perf/perf.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "perf/perf_int.h"

/*
 * Every efficiency and overhead constant comes from an engine file (perf_engine.c,
 * data/engines/): the LLM runs in one engine (vLLM by default), the vision encoder in
 * another (Hugging Face eager by default, the paper's image instances). Which public
 * measurement or paper fact each number is fitted to is in the file and docs/perf.md.
 */

/*
 * Splits the LLM's parameters into the embedding table (a gather: no FLOPs, not read
 * whole), the LM head (one GEMM over the rows that sample) and the layers, when the spec
 * gives its vocab; without it every parameter counts as a layer's. Also the activation
 * bytes per token of a layer's elementwise kernels: 2 norms (read + write, 2d each),
 * the residual add (3d), rope on q and k (read + write), the gated activation (read
 * gate and up, write one: 3 ffn), all bf16; ffn follows from the layer's parameters
 * less its attention projections (a gated MLP holds 3 d ffn).
 */
static void llm_split(struct perf *p, const struct model_spec *m)
{
	double emb = (double)m->vocab * m->hidden, attn, ffn, L = m->llm_layers;

	p->head_params = emb;
	emb *= m->tied_embeddings ? 1.0 : 2.0;
	if (emb >= m->llm_params) {
		emb = 0;
		p->head_params = 0;
	}
	p->layer_params = m->llm_params - emb;
	attn = (double)m->hidden * (m->heads + 2.0 * m->kv_heads) * m->head_dim +
	       (double)m->heads * m->head_dim * m->hidden;
	ffn = fmax(0, (p->layer_params / L - attn) / (3.0 * m->hidden));
	/* norms and residual adds run whole on every GPU; rope and activation are sharded */
	p->elem_bytes_tok = L * 2.0 * 7.0 * m->hidden;
	p->elem_shard_tok = L * 2.0 * (2.0 * (m->heads + m->kv_heads) * m->head_dim + 3.0 * ffn);
}

int perf_init(struct perf *p, const struct model_spec *m, const struct gpu_spec *g,
	      struct ms_error *err)
{
	return perf_init_engine(p, m, g, NULL, err);
}

int perf_open(struct perf *p, const char *model, const char *gpu, const char *engine,
	      const char *profile, struct ms_error *err)
{
	struct model_spec m;
	struct gpu_spec g;
	int rc;

	if ((rc = model_spec_load(&m, model, err)) < 0 || (rc = gpu_spec_load(&g, gpu, err)) < 0 ||
	    (rc = perf_init_engine(p, &m, &g, engine, err)) < 0)
		return rc;
	if (profile && (rc = perf_load_profile(p, profile, err)) < 0) {
		perf_release(p);
		return rc;
	}
	return 0;
}

int perf_init_engine(struct perf *p, const struct model_spec *m, const struct gpu_spec *g,
		     const char *engine, struct ms_error *err)
{
	struct perf_engine le, ee, ie;
	double side;
	int vision, rc;

	if (!p || !m || !g)
		return ms_error_set(err, MS_EINVAL, "perf_init: NULL argument");
	vision = model_has_vision(m);
	if ((vision && (m->enc_patch <= 0 || m->tile_px < m->enc_patch || m->tiles_per_image <= 0)) ||
	    m->llm_layers <= m->cross_layers || g->flops <= 0 || g->hbm_bw <= 0 ||
	    g->intra_bw <= 0 || g->inter_bw <= 0)
		return ms_error_set(err, MS_EINVAL, "perf_init: %s on %s: incomplete spec",
				    m->name, g->name);
	rc = perf__engines_pick(engine, g->name, vision, &le, &ee, &ie, err);
	if (rc)
		return rc;
	memset(p, 0, sizeof(*p));
	p->model = *m;
	p->gpu = *g;
	snprintf(p->llm_engine, sizeof(p->llm_engine), "%s", le.name);
	snprintf(p->enc_engine, sizeof(p->enc_engine), "%s", vision ? ee.name : "-");
	snprintf(p->inline_engine, sizeof(p->inline_engine), "%s", vision ? ie.name : "-");
	/* the LLM's engine reads weights and KV; the encoder's its own weights */
	p->eff_flops_llm = le.llm_flops_share;
	p->eff_bw = le.bw_share;
	p->launch_s = le.llm_launch_s;
	p->layer_s = 0; /* host cost per layer: folded into launch_s under CUDA graphs */
	p->layer_gpu_s = le.llm_layer_s;
	p->gemm_k = le.llm_gemm_k;
	p->elem_share = le.llm_elem_share;
	p->tp_comm_s = le.llm_tp_comm_s;
	p->kv_reserve = le.kv_reserve;
	p->eff_link = le.link_share;
	if (le.llm_tp_pcie != 0 && le.llm_tp_pcie != 1)
		return ms_error_set(err, MS_EINVAL, "engine %s: llm_tp_pcie: expected 0 (NVLink) or 1 (PCIe), got %g",
				    le.name, le.llm_tp_pcie);
	p->tp_pcie = le.llm_tp_pcie == 1;
	p->ar_lat_s = le.llm_ar_lat_s;
	p->ar_share = le.llm_ar_share;
	p->pcie_lat_s = le.llm_pcie_lat_s;
	p->pcie_bw = le.llm_pcie_bw;
	p->eff_bw_enc = ee.bw_share;
	p->eff_flops_enc = ee.enc_flops_share;
	p->enc_launch_s = ee.enc_launch_s;
	p->enc_layer_s = ee.enc_layer_s;
	p->enc_tp_comm_s = ee.enc_tp_comm_s;
	p->inl = (struct perf_encoder){ ie.enc_flops_share, ie.bw_share, ie.enc_launch_s,
					ie.enc_layer_s, ie.enc_tp_comm_s };
	p->preprocess_s_per_tile = ee.prep_s_per_px * (double)m->tile_px * m->tile_px;

	p->link_lat_s[PERF_LINK_LOCAL] = 0;
	p->link_bw[PERF_LINK_LOCAL] = 0;
	p->link_lat_s[PERF_LINK_NVLINK] = le.nvlink_lat_s;
	p->link_bw[PERF_LINK_NVLINK] = g->intra_bw * le.link_share;
	p->link_lat_s[PERF_LINK_IB] = le.ib_lat_s;
	p->link_bw[PERF_LINK_IB] = g->inter_bw * le.link_share;
	p->link_lat_s[PERF_LINK_TCP] = le.tcp_lat_s;
	p->link_bw[PERF_LINK_TCP] = le.tcp_bw;

	/* a text model has no encoder: no tiles, no tile FLOPs (encode and preprocess are 0) */
	side = vision ? floor((double)m->tile_px / m->enc_patch) : 0;
	p->enc_tile_tokens = side * side;
	/* 2 FLOPs per parameter per token, plus QK^T and AV: 4 * n^2 * d per layer */
	p->enc_tile_flops = 2.0 * m->enc_params * p->enc_tile_tokens +
			    4.0 * m->enc_layers * p->enc_tile_tokens * p->enc_tile_tokens * m->enc_hidden;
	p->enc_w_bytes = m->enc_params * m->bytes_per_param;
	p->llm_w_bytes = m->llm_params * m->bytes_per_param;
	llm_split(p, m);
	p->self_layers = m->llm_layers - m->cross_layers;
	p->kv_tok_bytes = 2.0 * p->self_layers * m->kv_heads * m->head_dim * m->bytes_per_param;
	return 0;
}

int perf_load_profile(struct perf *p, const char *csv_path, struct ms_error *err)
{
	struct perf_table *t;
	int rc = perf__table_load(&t, csv_path, err);

	if (rc)
		return rc;
	rc = perf__table_check(t, p, csv_path, err);
	if (rc) {
		perf__table_free(t);
		return rc;
	}
	perf__table_free(p->table);
	p->table = t;
	return 0;
}

void perf_release(struct perf *p)
{
	if (!p)
		return;
	perf__table_free(p->table);
	p->table = NULL;
}

uint32_t perf_image_tiles(const struct perf *p)
{
	return model_has_vision(&p->model) ? (uint32_t)p->model.tiles_per_image : 0;
}

uint32_t perf_image_tokens(const struct perf *p)
{
	return model_image_tokens(&p->model);
}

/*
 * Two all-reduces per layer of `bytes` each: a fixed cost per layer per TP doubling (sync
 * and ring steps, the engine's per_layer_s) plus, per all-reduce, the interconnect's
 * latency and volume 2 (tp-1)/tp over its bandwidth. Inside a node the interconnect is
 * NVLink (intra_bw x the engine's all-reduce share) or, for hosts without NVLink peer
 * access, PCIe (its own latency and bandwidth); beyond a node IB. The interconnect's
 * latency is the LLM engine's measured all-reduce (with_lat); an encoder engine's fixed
 * cost is all in its per_layer_s (fitted with it), so it takes only the volume term.
 */
static double tp_comm(const struct perf *p, double per_layer_s, int tp, int layers,
		      double bytes, int with_lat)
{
	double bw, lat, vol;

	if (tp <= 1)
		return 0;
	if (tp > p->gpu.gpus_per_node) {
		bw = p->gpu.inter_bw * p->eff_link;
		lat = 0;
	} else if (p->tp_pcie) {
		bw = p->pcie_bw;
		lat = p->pcie_lat_s;
	} else {
		bw = p->gpu.intra_bw * p->ar_share;
		lat = p->ar_lat_s;
	}
	vol = bytes * 2.0 * (tp - 1) / tp;
	/* log2 of a power of two is its bit index, exactly; the hot calls pass 2, 4, 8 */
	return layers * (per_layer_s * ((tp & (tp - 1)) ? log2((double)tp)
							: (double)__builtin_ctz((unsigned)tp)) +
			 2.0 * (vol / bw + (with_lat ? lat : 0)));
}

/*
 * The smooth roofline (tc^k + tm^k)^(1/k). It is on every LLM iteration's path (two
 * GEMM groups per call), and pow() made it half of a simulation's time: k = 4, the
 * engines' value, takes two square roots of the scaled sum instead (equal to pow's
 * to the last bit or two); other k keep pow. Scaled by the larger term so neither
 * power overflows nor underflows.
 */
static double smooth_max(double tc, double tm, double k)
{
	double hi = fmax(tc, tm), r;

	if (!(k > 0) || !(hi > 0))
		return hi;
	r = fmin(tc, tm) / hi;
	if (k == 4) {
		r *= r;
		return hi * sqrt(sqrt(1.0 + r * r));
	}
	return hi * pow(1.0 + pow(r, k), 1.0 / k);
}

static double tp_of(int tp)
{
	return tp < 1 ? 1.0 : (double)tp;
}

double perf_preprocess_s(const struct perf *p, uint32_t n_images, int cores)
{
	if (!n_images || !model_has_vision(&p->model))
		return 0;
	if (cores < 1)
		cores = 1;
	if (p->table && perf__table_has(p->table, PERF__PREPROCESS, cores))
		return perf__table_lookup(p->table, PERF__PREPROCESS, cores, n_images,
					  (double)n_images * p->model.tiles_per_image);
	/* images are independent: the work spreads over cores, linear in images */
	return (double)n_images * p->model.tiles_per_image * p->preprocess_s_per_tile / cores;
}

/* One encoder batch with engine e's constants: compute or weight reads, whichever is
 * longer, plus the batch's fixed cost, a floor per layer and the TP all-reduces. */
static double encode_s(const struct perf *p, const struct perf_encoder *e, int tp,
		       uint32_t n_tiles)
{
	const struct model_spec *m = &p->model;
	double t = tp_of(tp), tc, tm, act;

	if (!n_tiles || !model_has_vision(m))
		return 0;
	if (p->table && perf__table_has(p->table, PERF__ENCODE, (int)t)) {
		double imgs = (double)n_tiles / m->tiles_per_image;
		return perf__table_lookup(p->table, PERF__ENCODE, (int)t, imgs < 1 ? 1 : imgs,
					  n_tiles);
	}
	tc = n_tiles * p->enc_tile_flops / (t * p->gpu.flops * e->eff_flops);
	tm = p->enc_w_bytes / (t * p->gpu.hbm_bw * e->eff_bw);
	act = n_tiles * p->enc_tile_tokens * m->enc_hidden * 2.0;
	return fmax(tc, tm) + e->launch_s + m->enc_layers * e->layer_s +
	       tp_comm(p, e->tp_comm_s, (int)t, m->enc_layers, act, 0);
}

double perf_encode_s(const struct perf *p, int tp, uint32_t n_tiles)
{
	/* the encoder instances' engine; its fields are the contract bench/perf_fit.c tunes */
	struct perf_encoder e = { p->eff_flops_enc, p->eff_bw_enc, p->enc_launch_s,
				  p->enc_layer_s, p->enc_tp_comm_s };

	return encode_s(p, &e, tp, n_tiles);
}

double perf_encode_inline_s(const struct perf *p, int tp, uint32_t n_tiles)
{
	return encode_s(p, &p->inl, tp, n_tiles);
}

/*
 * Kernel time of the layers' linear and elementwise work over `rows` token rows (all
 * layers, one GPU of tp), plus the LM head over `logits` rows. Per layer: the GEMMs
 * are a smooth roofline (tc^k + tm^k)^(1/k) of their FLOPs and weight bytes, so a
 * GEMM near the ridge point is slower than both (k large = the plain max); the
 * elementwise kernels (norms, rope, activation, residual add) move activations at
 * their own HBM share; every layer has a kernel-time floor. The embedding table is not
 * read whole (a gather of rows), so it is neither FLOPs nor weight bytes here.
 */
static double linear_s(const struct perf *p, double t, double rows, double logits)
{
	const struct model_spec *m = &p->model;
	double f = t * p->gpu.flops * p->eff_flops_llm, bw = t * p->gpu.hbm_bw * p->eff_bw;
	double k = p->gemm_k, tc, tm, gemm, elem, head = 0;

	tc = 2.0 * rows * p->layer_params / f;
	tm = p->layer_params * m->bytes_per_param / bw;
	gemm = smooth_max(tc, tm, k);
	elem = p->elem_share > 0 ? rows * (p->elem_bytes_tok + p->elem_shard_tok / t) /
					   (p->gpu.hbm_bw * p->elem_share)
				 : 0;
	if (p->head_params > 0 && logits > 0) {
		double hc = 2.0 * logits * p->head_params / f;
		double hm = p->head_params * m->bytes_per_param / bw;
		head = smooth_max(hc, hm, k);
	}
	return gemm + elem + m->llm_layers * p->layer_gpu_s + head;
}

double perf_llm_linear_s(const struct perf *p, int tp, double rows)
{
	return rows > 0 ? linear_s(p, tp_of(tp), rows, rows) : 0;
}

double perf_allreduce_s(const struct perf *p, int tp, double bytes)
{
	/* one of the two all-reduces of one layer */
	return tp_comm(p, p->tp_comm_s, tp, 1, bytes, 1) / 2.0;
}

void perf_decode_coef(const struct perf *p, int tp, uint32_t batch, double *a, double *b)
{
	const struct model_spec *m = &p->model;
	double t = tp_of(tp);

	if (p->table && perf__table_has(p->table, PERF__DECODE, (int)t)) {
		perf__table_decode_coef(p->table, (int)t, batch, a, b);
		return;
	}
	*a = p->launch_s + linear_s(p, t, batch, batch) +
	     tp_comm(p, p->tp_comm_s, (int)t, m->llm_layers, (double)batch * m->hidden * 2.0, 1);
	/* each KV token is read once per step; decode attention is memory-bound */
	*b = p->kv_tok_bytes / (t * p->gpu.hbm_bw * p->eff_bw);
}

double perf_decode_step_s(const struct perf *p, int tp, uint32_t batch, uint64_t kv_tokens)
{
	double a, b;

	if (!batch)
		return 0;
	perf_decode_coef(p, tp, batch, &a, &b);
	return a + b * (double)kv_tokens;
}

/* FLOPs of the prefill part's attention scores and cross K/V (the GEMMs are linear_s). */
static double attn_flops(const struct perf *p, const struct perf_iter *it)
{
	const struct model_spec *m = &p->model;
	double f = 4.0 * p->self_layers * it->prefill_attn * m->heads * m->head_dim;

	if (m->arch == MODEL_ARCH_CROSS)
		/* K and V projections of the image states in every cross layer */
		f += 2.0 * it->cross_tokens * 2.0 * m->hidden * m->kv_heads * m->head_dim *
		     m->cross_layers;
	return f;
}

double perf_llm_iter_s(const struct perf *p, int tp, const struct perf_iter *it)
{
	const struct model_spec *m = &p->model;
	double t = tp_of(tp), rows, s;
	int has_prefill = it->prefill_tokens || it->cross_tokens;

	if (!has_prefill)
		return perf_decode_step_s(p, tp, it->decode_seqs, it->decode_kv_tokens);
	if (p->table && perf__table_has(p->table, PERF__PREFILL, (int)t))
		return perf__table_iter_s(p, (int)t, it);
	rows = (double)it->prefill_tokens + it->decode_seqs;
	/* logits: one row per decoding request, and (at least) one for the prefill part */
	s = p->launch_s + linear_s(p, t, rows, it->decode_seqs + (it->prefill_tokens ? 1.0 : 0.0));
	s += attn_flops(p, it) / (t * p->gpu.flops * p->eff_flops_llm);
	s += (double)it->decode_kv_tokens * p->kv_tok_bytes / (t * p->gpu.hbm_bw * p->eff_bw);
	s += tp_comm(p, p->tp_comm_s, (int)t, m->llm_layers, rows * m->hidden * 2.0, 1);
	return s;
}

static double link_s(const struct perf *p, double bytes, enum perf_link link)
{
	if (link == PERF_LINK_LOCAL || bytes <= 0 || (unsigned)link > PERF_LINK_TCP)
		return 0;
	return p->link_lat_s[link] + bytes / p->link_bw[link];
}

double perf_embed_transfer_s(const struct perf *p, uint32_t image_tokens, enum perf_link link)
{
	/* the projector's output: one LLM-hidden bf16 vector per image token */
	return link_s(p, (double)image_tokens * p->model.hidden * 2.0, link);
}

double perf_kv_transfer_s(const struct perf *p, uint32_t tokens, enum perf_link link)
{
	return link_s(p, (double)tokens * p->kv_tok_bytes, link);
}

double perf_kv_bytes_per_token(const struct perf *p)
{
	return p->kv_tok_bytes;
}

uint64_t perf_kv_capacity_tokens(const struct perf *p, int tp)
{
	double free_b = tp_of(tp) * p->gpu.hbm_bytes * (1.0 - p->kv_reserve) - p->llm_w_bytes;

	if (free_b <= 0 || p->kv_tok_bytes <= 0)
		return 0;
	return (uint64_t)(free_b / p->kv_tok_bytes);
}
