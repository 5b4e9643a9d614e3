/*
 * perf: the only place that says how long work takes.
 *
 * A struct perf binds one model to one GPU type. Every stage time comes from a
 * roofline of the specs (max of compute and memory time, with efficiency
 * factors and a fixed per-launch overhead), unless a measured profile table
 * (CSV: stage, batch shape, latency) covers the stage: then the table wins,
 * interpolated linearly between measured points. sim/, plan and engine ask here.
 * Invariant the simulator relies on: for a fixed (tp, batch) the decode step time
 * is affine in the KV tokens read, so a run of decode steps has a closed form
 * (perf_decode_coef).
 */
#ifndef PERF_H
#define PERF_H

#include <stdint.h>

#include "base/ms_error.h"
#include "model/model.h"

enum perf_link {
	PERF_LINK_LOCAL = 0, /* same GPU: no transfer */
	PERF_LINK_NVLINK,    /* same node */
	PERF_LINK_IB,        /* across nodes, RDMA */
	PERF_LINK_TCP,       /* across nodes, TCP */
};

struct perf_table; /* measured profile rows, owned by struct perf */

/*
 * An engine on a GPU (data/engines/<name>.conf, perf_engine.c): shares of the data
 * sheet's FLOP/s and bandwidth its kernels reach and its fixed costs. llm_* run an LLM
 * iteration (and set the KV reserve and the transfer stack), enc_* a vision encoder;
 * has_llm / has_enc say which groups the file gives.
 */
struct perf_engine {
	char name[64];
	int has_llm, has_enc;
	double bw_share;          /* achieved share of HBM bandwidth (weight and KV reads) */
	double llm_flops_share;   /* achieved share of peak FLOP/s in LLM GEMMs */
	double llm_launch_s;      /* fixed cost per iteration: scheduler, sampling, host */
	double llm_layer_s;       /* kernel-time floor per layer per iteration (GPU) */
	double llm_tp_comm_s;     /* per layer per TP doubling (all-reduce latency) */
	double llm_tp_pcie;       /* 1: TP all-reduce over PCIe (no NVLink peer access), 0: NVLink */
	double llm_ar_lat_s;      /* fixed cost of one all-reduce over NVLink */
	double llm_ar_share;      /* all-reduce bus bandwidth / NVLink one-way rate (> 1 with in-switch reduction) */
	double llm_pcie_lat_s, llm_pcie_bw; /* one all-reduce over PCIe: fixed cost, bus bytes/s */
	double llm_gemm_k;        /* smooth-roofline exponent of the GEMMs, 0 = max */
	double llm_elem_share;    /* HBM share of elementwise kernels, 0 = not modelled */
	double kv_reserve;        /* share of HBM kept from the KV cache */
	double link_share;        /* share of NVLink / IB bandwidth transfers reach */
	double nvlink_lat_s, ib_lat_s, tcp_lat_s, tcp_bw;
	double enc_flops_share, enc_launch_s, enc_layer_s, enc_tp_comm_s;
	double prep_s_per_px;     /* CPU image preprocessing per output pixel, one core */
};

/* The paper's setup: vLLM runs the LLM, Hugging Face eager the image-encoder instances,
 * and the monolith (a vLLM instance) encodes its images with vLLM's own encoder. */
#define PERF_ENGINE_LLM_DEFAULT "vllm"
#define PERF_ENGINE_ENC_DEFAULT "hf-eager"
#define PERF_ENGINE_INLINE_DEFAULT "vllm"

/* How one engine runs a vision encoder: its enc_* constants and bw_share. */
struct perf_encoder {
	double eff_flops, eff_bw, launch_s, layer_s, tp_comm_s;
};

/* Loads data/engines/<name>.conf (or a path) with the `key@gpu` overrides of gpu_name. */
int perf_engine_load(struct perf_engine *e, const char *name_or_path, const char *gpu_name,
		     struct ms_error *err);

struct perf {
	struct model_spec model;
	struct gpu_spec gpu;
	char llm_engine[64], enc_engine[64]; /* engine names (perf_init_engine) */
	char inline_engine[64];   /* the engine of an LLM instance's own encoder ("-": text model) */
	/* efficiency factors of the roofline (share of peak reached) */
	double eff_flops_enc, eff_flops_llm, eff_bw;
	double launch_s;          /* fixed overhead per LLM iteration */
	double tp_comm_s;         /* per-layer all-reduce cost added per TP doubling (LLM) */
	double preprocess_s_per_tile; /* CPU time per tile on one core */
	struct perf_table *table; /* NULL when no profile was loaded */
	/* added by perf_init (fields above are the contract, these extend it) */
	double layer_s;           /* kernel-launch overhead per transformer layer */
	double eff_link;          /* share of NVLink/IB bandwidth reached by transfers */
	double link_lat_s[4];     /* fixed cost per transfer, by enum perf_link */
	double link_bw[4];        /* effective bytes/s, by enum perf_link (0 = no transfer) */
	double kv_reserve;        /* share of HBM kept from the KV cache (activations, graphs) */
	int tp_pcie;              /* TP all-reduce inside a node over PCIe (else NVLink) */
	double ar_lat_s, ar_share; /* NVLink all-reduce: fixed cost, share of intra_bw */
	double pcie_lat_s, pcie_bw; /* PCIe all-reduce: fixed cost, bus bytes/s */
	double enc_tp_comm_s;     /* tp_comm_s of the encoder's engine (eager, per layer per doubling) */
	double enc_launch_s, enc_layer_s; /* launch_s and layer_s of the encoder's engine */
	double eff_bw_enc;        /* eff_bw of the encoder's engine */
	struct perf_encoder inl;  /* the inline engine's encoder (perf_encode_inline_s) */
	/* the LLM's parameters split (llm_split in perf.c) and the engine's kernel shape */
	double layer_params;      /* all layers' parameters: GEMM FLOPs and weight bytes */
	double head_params;       /* LM head (vocab x hidden), 0 when the spec gives no vocab */
	double elem_bytes_tok;    /* elementwise activation bytes per token, all layers, per GPU */
	double elem_shard_tok;    /* the part split across TP GPUs (rope, activation) */
	double layer_gpu_s;       /* kernel-time floor per layer per iteration */
	double gemm_k;            /* smooth-roofline exponent (0 = max of compute and memory) */
	double elem_share;        /* HBM share of the elementwise kernels (0 = not modelled) */
	/* precomputed from the specs so the hot calls do no work twice */
	double enc_tile_tokens;   /* encoder sequence length per tile (patches) */
	double enc_tile_flops;    /* FLOPs of one tile through the encoder */
	double enc_w_bytes, llm_w_bytes, kv_tok_bytes;
	int self_layers;          /* LLM layers with a self-attention KV cache */
};

/* perf_init_engine with the default engines. */
int perf_init(struct perf *p, const struct model_spec *m, const struct gpu_spec *g,
	      struct ms_error *err);
/*
 * engine: NULL or "" = the defaults above; "NAME" = that engine for every stage (a text
 * model needs only its llm_* group); "llm=A,enc=B,inline=C" = one per role (any may be
 * left out: that role's default): llm the LLM iterations, enc the encoder instances,
 * inline the encoder an LLM instance runs itself (monolith, P/D prefill). Fails naming
 * the key and the engine when it lacks the group a role needs.
 */
int perf_init_engine(struct perf *p, const struct model_spec *m, const struct gpu_spec *g,
		     const char *engine, struct ms_error *err);
/*
 * The usual set-up by names: model and GPU specs (names or paths, model_spec_load and
 * gpu_spec_load), perf_init_engine with `engine`, then the profile CSV when `profile`
 * is set. Nothing to release on failure.
 */
int perf_open(struct perf *p, const char *model, const char *gpu, const char *engine,
	      const char *profile, struct ms_error *err);
/* Loads a profile CSV; its rows override the roofline for the stages they cover. */
int perf_load_profile(struct perf *p, const char *csv_path, struct ms_error *err);
void perf_release(struct perf *p);

/* Tiles and LLM tokens per image; both 0 for a text model (MODEL_ARCH_TEXT). */
uint32_t perf_image_tiles(const struct perf *p);
uint32_t perf_image_tokens(const struct perf *p);

/* CPU preprocessing of n_images images with `cores` cores (0 for a text model). */
double perf_preprocess_s(const struct perf *p, uint32_t n_images, int cores);
/* One encoder batch of n_tiles tiles on tp GPUs of an encoder instance (the enc engine).
 * A text model has no encoder: 0 (callers refuse image requests to it; perf does not
 * invent an encoder). */
double perf_encode_s(const struct perf *p, int tp, uint32_t n_tiles);
/* The same batch encoded inside an LLM instance's iteration (the inline engine): the
 * same roofline with that engine's constants; a profile's encode rows cover both. */
double perf_encode_inline_s(const struct perf *p, int tp, uint32_t n_tiles);

/* One LLM iteration: a prefill part (chunks of several requests) plus a decode part. */
struct perf_iter {
	uint32_t prefill_tokens;    /* new tokens prefilled this iteration, all requests */
	double prefill_attn;        /* sum over chunks of chunk_len * (tokens before it + chunk_len/2) */
	uint32_t cross_tokens;      /* image tokens entering cross-attention layers (cross arch) */
	uint32_t decode_seqs;       /* requests taking one decode step */
	uint64_t decode_kv_tokens;  /* KV tokens those requests read */
	uint32_t prefill_seqs;      /* requests with a prefill chunk (profile tables' batch); 0 = 1 */
};
double perf_llm_iter_s(const struct perf *p, int tp, const struct perf_iter *it);
/* Decode-only iteration of `batch` requests reading kv_tokens: a + b * kv_tokens. */
void perf_decode_coef(const struct perf *p, int tp, uint32_t batch, double *a, double *b);
double perf_decode_step_s(const struct perf *p, int tp, uint32_t batch, uint64_t kv_tokens);

/* Parts of an iteration, for calibration against per-operator measurements: the
 * kernel time of the layers' linear and elementwise work (and LM head) over `rows`
 * token rows, and one all-reduce of `bytes` across tp GPUs (a layer does two). */
double perf_llm_linear_s(const struct perf *p, int tp, double rows);
double perf_allreduce_s(const struct perf *p, int tp, double bytes);

/* Moving a request's image embeddings (encoder -> LLM) and KV cache (prefill -> decode). */
double perf_embed_transfer_s(const struct perf *p, uint32_t image_tokens, enum perf_link link);
double perf_kv_transfer_s(const struct perf *p, uint32_t tokens, enum perf_link link);

/* KV-cache bytes per context token (self-attention layers), and how many tokens fit
 * on a tp-GPU instance after weights and a working reserve. */
double perf_kv_bytes_per_token(const struct perf *p);
uint64_t perf_kv_capacity_tokens(const struct perf *p, int tp);

#endif
