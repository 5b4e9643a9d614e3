/*
 * model: specs of multimodal models and GPUs, read from data files.
 *
 * Owns struct model_spec (vision encoder + LLM + architecture type) and struct
 * gpu_spec. Specs live in data/models/<name>.conf and data/gpus/<name>.conf as
 * `key = value` lines, `#` comments, every number with its source in a comment.
 * model_spec_load() takes a name (looked up under the data dir) or a path.
 * Not here: how long anything takes (perf/).
 */
#ifndef MODEL_H
#define MODEL_H

#include <stdint.h>

#include "base/ms_error.h"

enum model_arch {
	MODEL_ARCH_DECODER = 0, /* image tokens join the LLM context (LLaVA, InternVL, NVLM-D) */
	MODEL_ARCH_CROSS = 1,   /* image states enter through cross-attention layers (Llama 3.2 V) */
	MODEL_ARCH_TEXT = 2,    /* a plain LLM: no vision encoder, the encoder fields are 0 */
};

struct model_spec {
	char name[64];
	enum model_arch arch;
	/* vision encoder (all 0 for MODEL_ARCH_TEXT: its spec file must not set them) */
	double enc_params;        /* parameters of the vision encoder */
	int enc_layers, enc_hidden, enc_heads;
	int enc_patch;            /* patch side in px */
	int tile_px;              /* tile side in px */
	int max_tiles;            /* cap on tiles per image */
	int tokens_per_tile;      /* LLM tokens per tile after the projector */
	int tiles_per_image;      /* tiles of the reference image (paper's 896x896 example) */
	/* LLM */
	double llm_params;
	int llm_layers, hidden, heads, kv_heads, head_dim;
	int cross_layers;         /* cross-attention layers (cross arch only), 0 otherwise */
	int max_context;          /* tokens */
	int default_tp;           /* TP the paper uses for the whole model */
	int bytes_per_param;      /* 2 for bf16 */
	/* optional (0 = not given): the embedding table and LM head, whose FLOPs and bytes
	 * differ from the layers' (a token reads one embedding row; the head is one GEMM) */
	int vocab;                /* vocab_size */
	int tied_embeddings;      /* 1: the LM head shares the embedding table */
};

struct gpu_spec {
	char name[64];
	double flops;             /* peak dense bf16 FLOP/s */
	double hbm_bytes;         /* memory per GPU */
	double hbm_bw;            /* bytes/s */
	double intra_bw;          /* NVLink bytes/s per GPU, one direction */
	double inter_bw;          /* InfiniBand bytes/s per GPU */
	int gpus_per_node;
	double price_hour;        /* USD per GPU-hour */
	int cpu_cores_per_gpu;    /* host cores that preprocess images */
};

/* Directory of the built-in data files (MS_DATA env var overrides the build-time path). */
const char *model_data_dir(void);

int model_spec_load(struct model_spec *m, const char *name_or_path, struct ms_error *err);
int gpu_spec_load(struct gpu_spec *g, const char *name_or_path, struct ms_error *err);
/* Image tokens the LLM sees per image (tiles_per_image * tokens_per_tile); 0 for a text
 * model. The loader keeps the product within max_context; a hand-filled spec whose product
 * passes UINT32_MAX gets UINT32_MAX, never a wrapped value. */
uint32_t model_image_tokens(const struct model_spec *m);
/* 1 when the model has a vision encoder (decoder or cross arch), 0 for a plain LLM. */
int model_has_vision(const struct model_spec *m);
/* Names of the built-in models/GPUs, NULL-terminated static list, for --help and --list. */
const char *const *model_builtin_names(void);
const char *const *gpu_builtin_names(void);

#endif
