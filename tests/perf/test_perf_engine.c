/*
 * perf engines (data/engines/NAME.conf): the built-in engines load with the numbers their
 * files give, `key@gpu` overrides apply only on that GPU, groups are all or nothing,
 * --engine specs pick an engine per role (llm, enc, inline) and name the key in every
 * error, and a changed engine changes the stage times it should (and no others).
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

static char tmpdir[1024];

static const char *write_tmp(const char *name, const char *text)
{
	static char path[1200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void load_specs(const char *model, const char *gpu, struct model_spec *m,
		       struct gpu_spec *g)
{
	struct ms_error err;

	ms_error_clear(&err);
	if (model_spec_load(m, model, &err) || gpu_spec_load(g, gpu, &err))
		fail_msg("%s on %s: %s", model, gpu, err.msg);
}

static void test_builtin_engines(void **state)
{
	struct perf_engine v, h;
	struct ms_error err;
	(void)state;

	assert_int_equal(perf_engine_load(&v, "vllm", "a100-80gb", &err), 0);
	assert_string_equal(v.name, "vllm");
	assert_true(v.has_llm);
	assert_true(v.llm_flops_share > 0.3 && v.llm_flops_share <= 1);
	assert_true(v.bw_share > 0.5 && v.bw_share <= 1);
	assert_true(v.kv_reserve > 0 && v.kv_reserve < 0.5);
	assert_int_equal(perf_engine_load(&h, "hf-eager", "a100-80gb", &err), 0);
	assert_true(h.has_enc);
	assert_false(h.has_llm);
	/* the eager encoder reaches a far lower share of peak than vLLM's GEMMs */
	assert_true(h.enc_flops_share < v.llm_flops_share / 4);
	assert_int_equal(perf_engine_load(&v, "no-such-engine", "a100-80gb", &err), -MS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no-such-engine: unknown engine"));
}

static const char *toy_engine =
	"name = toy\nbw_share = 0.5\nllm_flops_share = 0.4\nllm_launch_s = 1e-3\n"
	"llm_layer_s = 1e-5\nllm_tp_comm_s = 1e-5\nkv_reserve = 0.1\nlink_share = 0.9\n"
	"llm_gemm_k = 4\nllm_elem_share = 0.4\n"
	"nvlink_lat_s = 1e-5\nib_lat_s = 1e-4\ntcp_lat_s = 1e-2\ntcp_bw = 1e9\n";

static void test_gpu_override(void **state)
{
	char text[2048];
	struct perf_engine e;
	struct ms_error err;
	const char *path;
	(void)state;

	/* the override may come before or after the plain key; other GPUs keep the plain one */
	snprintf(text, sizeof(text), "llm_launch_s@h100-80gb = 2e-3\n%sllm_launch_s@a100-80gb = 4e-3\n",
		 toy_engine);
	path = write_tmp("ovr.conf", text);
	assert_int_equal(perf_engine_load(&e, path, "h100-80gb", &err), 0);
	assert_true(e.llm_launch_s == 2e-3);
	assert_int_equal(perf_engine_load(&e, path, "a100-80gb", &err), 0);
	assert_true(e.llm_launch_s == 4e-3);
	assert_int_equal(perf_engine_load(&e, path, "other", &err), 0);
	assert_true(e.llm_launch_s == 1e-3);
	assert_false(e.has_enc);
}

static void expect_engine_error(const char *text, const char *want)
{
	struct perf_engine e;
	struct ms_error err;
	const char *path = write_tmp("bad.conf", text);
	char full[1400];

	ms_error_clear(&err);
	assert_true(perf_engine_load(&e, path, "a100-80gb", &err) < 0);
	snprintf(full, sizeof(full), "%s:%s", path, want);
	if (!strstr(err.msg, full))
		fail_msg("got '%s', want '%s'", err.msg, full);
}

static void test_engine_errors(void **state)
{
	char t[2048];
	(void)state;

	snprintf(t, sizeof(t), "%scolour = red\n", toy_engine);
	expect_engine_error(t, "15: colour: unknown key");
	snprintf(t, sizeof(t), "%sbw_share = 0.6\n", toy_engine);
	expect_engine_error(t, "15: bw_share: duplicate key (first on line 2)");
	snprintf(t, sizeof(t), "%sbw_share@x = 2\n", toy_engine);
	expect_engine_error(t, "15: bw_share@x: out of range"); /* checked for every GPU */
	snprintf(t, sizeof(t), "%senc_flops_share = 0.1\n", toy_engine);
	expect_engine_error(t, "15: enc_launch_s: missing (the file sets other enc_* keys");
	expect_engine_error("name = x\nbw_share = 0.5\n", "2: no llm_* or enc_* keys");
	snprintf(t, sizeof(t), "%s", strstr(toy_engine, "bw_share"));
	expect_engine_error(t, "13: name: missing required key");
	snprintf(t, sizeof(t), "%sllm_layer_s@ = 1\n", toy_engine);
	expect_engine_error(t, "15: llm_layer_s@: empty GPU name after '@'");
}

static void test_engine_specs(void **state)
{
	struct model_spec m, t;
	struct gpu_spec g;
	struct perf p;
	struct ms_error err;
	(void)state;

	load_specs("llama-3.2-11b-vision", "a100-80gb", &m, &g);
	load_specs("llama-3.1-8b", "a100-80gb", &t, &g);
	assert_int_equal(perf_init_engine(&p, &m, &g, NULL, &err), 0);
	assert_string_equal(p.llm_engine, PERF_ENGINE_LLM_DEFAULT);
	assert_string_equal(p.enc_engine, PERF_ENGINE_ENC_DEFAULT);
	assert_int_equal(perf_init_engine(&p, &m, &g, "llm=vllm,enc=hf-eager", &err), 0);
	assert_int_equal(perf_init_engine(&p, &m, &g, "enc=hf-eager", &err), 0);
	assert_string_equal(p.llm_engine, "vllm");
	/* hf-eager has no LLM constants */
	assert_int_equal(perf_init_engine(&p, &m, &g, "hf-eager", &err), -MS_EINVAL);
	assert_non_null(strstr(err.msg, "engine hf-eager: no llm_* constants"));
	/* a text model needs no encoder engine */
	assert_int_equal(perf_init_engine(&p, &t, &g, "vllm", &err), 0);
	assert_string_equal(p.enc_engine, "-");
	assert_int_equal(perf_init_engine(&p, &m, &g, "llm=vllm,", &err), -MS_EINVAL);
	assert_non_null(strstr(err.msg, "trailing comma"));
	assert_int_equal(perf_init_engine(&p, &m, &g, "gpu=vllm", &err), -MS_EINVAL);
	assert_int_equal(perf_init_engine(&p, &m, &g, "llm=", &err), -MS_EINVAL);
	assert_int_equal(perf_init_engine(&p, &m, &g, "a,b", &err), -MS_EINVAL);
}

/* A slower LLM engine slows prefill and decode and leaves encode alone; the numbers
 * come from the file (here: half the FLOP share doubles a compute-bound prefill). */
static void test_engine_drives_times(void **state)
{
	char text[2048], spec[1400];
	struct model_spec m;
	struct gpu_spec g;
	struct perf a, b;
	struct perf_iter it = { 0 };
	struct ms_error err;
	double fa, fb;
	(void)state;

	load_specs("llama-3.2-11b-vision", "a100-80gb", &m, &g);
	assert_int_equal(perf_init(&a, &m, &g, &err), 0);
	/* same as vllm but half the LLM FLOP share */
	snprintf(text, sizeof(text),
		 "name = slow\nbw_share = %.17g\nllm_flops_share = %.17g\nllm_launch_s = %.17g\n"
		 "llm_layer_s = %.17g\nllm_tp_comm_s = %.17g\nkv_reserve = %.17g\nlink_share = %.17g\n"
		 "llm_gemm_k = %.17g\nllm_elem_share = %.17g\n"
		 "nvlink_lat_s = 2e-5\nib_lat_s = 3e-4\ntcp_lat_s = 2e-2\ntcp_bw = 2e8\n",
		 a.eff_bw, a.eff_flops_llm / 2, a.launch_s, a.layer_gpu_s, a.tp_comm_s, a.kv_reserve,
		 a.eff_link, a.gemm_k, a.elem_share);
	snprintf(spec, sizeof(spec), "llm=%s,enc=hf-eager", write_tmp("slow.conf", text));
	assert_int_equal(perf_init_engine(&b, &m, &g, spec, &err), 0);
	assert_true(perf_encode_s(&a, 4, 4) == perf_encode_s(&b, 4, 4));
	it.prefill_tokens = 16384;
	it.prefill_attn = 16384.0 * 16384 / 2;
	/* a 16K-token prefill is compute-bound: GEMMs and attention scale with 1 / share */
	fa = perf_llm_iter_s(&a, 1, &it);
	fb = perf_llm_iter_s(&b, 1, &it);
	assert_true(fb / fa > 1.8 && fb / fa < 2.0);
	/* a batch-1 decode step reads weights: the FLOP share barely moves it */
	assert_true(perf_decode_step_s(&b, 1, 1, 1000) / perf_decode_step_s(&a, 1, 1, 1000) < 1.01);
	assert_true(perf_kv_capacity_tokens(&b, 1) == perf_kv_capacity_tokens(&a, 1));
}

/*
 * The monolith's inline encoder (vLLM's own) and the encoder instances' (hf-eager) are
 * one roofline with different engine constants, so their times differ by exactly what
 * the two files say: at TP1 a compute-bound batch's slope in tiles is 1 / flops share,
 * its intercept launch + layers x layer floor; at TP4 the all-reduce adds layers x
 * log2(4) x tp_comm on top of a quarter of the compute (the volume term is the LLM
 * engine's link, the same for both). Naming the roles swaps the functions exactly.
 */
static void test_inline_encoder(void **state)
{
	struct model_spec m, t;
	struct gpu_spec g;
	struct perf p, q;
	struct perf_engine v, h;
	struct ms_error err;
	double si, se, ii, ie, d4, want;
	uint32_t n;
	int tp, L;
	(void)state;

	load_specs("llama-3.2-11b-vision", "a100-80gb", &m, &g);
	load_specs("llama-3.1-8b", "a100-80gb", &t, &g);
	assert_int_equal(perf_engine_load(&v, PERF_ENGINE_INLINE_DEFAULT, "a100-80gb", &err), 0);
	assert_int_equal(perf_engine_load(&h, PERF_ENGINE_ENC_DEFAULT, "a100-80gb", &err), 0);
	assert_true(v.enc_flops_share != h.enc_flops_share && v.enc_launch_s != h.enc_launch_s);
	assert_int_equal(perf_init(&p, &m, &g, &err), 0);
	assert_string_equal(p.inline_engine, "vllm");
	assert_string_equal(p.enc_engine, "hf-eager");
	L = m.enc_layers;
	/* 4 tiles at TP1 are compute-bound for both engines (weights read in well under it) */
	assert_true(p.enc_w_bytes / (g.hbm_bw * fmin(v.bw_share, h.bw_share)) <
		    4 * p.enc_tile_flops / (g.flops * fmax(v.enc_flops_share, h.enc_flops_share)));
	si = perf_encode_inline_s(&p, 1, 8) - perf_encode_inline_s(&p, 1, 4);
	se = perf_encode_s(&p, 1, 8) - perf_encode_s(&p, 1, 4);
	assert_true(fabs(se / si - v.enc_flops_share / h.enc_flops_share) < 1e-9);
	assert_true(fabs(si - 4 * p.enc_tile_flops / (g.flops * v.enc_flops_share)) < 1e-12);
	ii = 2 * perf_encode_inline_s(&p, 1, 4) - perf_encode_inline_s(&p, 1, 8);
	ie = 2 * perf_encode_s(&p, 1, 4) - perf_encode_s(&p, 1, 8);
	assert_true(fabs(ii - (v.enc_launch_s + L * v.enc_layer_s)) < 1e-12);
	assert_true(fabs(ie - (h.enc_launch_s + L * h.enc_layer_s)) < 1e-12);
	/* TP4 (the model's default, one node): compute / 4, the same volume, 2 doublings */
	d4 = perf_encode_s(&p, 4, 4) - perf_encode_inline_s(&p, 4, 4);
	want = (se - si) / 4 + (ie - ii) + L * 2.0 * (h.enc_tp_comm_s - v.enc_tp_comm_s);
	assert_true(fabs(d4 - want) < 1e-9 * want);
	assert_true(perf_encode_inline_s(&p, 4, 4) < perf_encode_s(&p, 4, 4) / 2);
	/* the roles swapped by name: inline=hf-eager is the old monolith, enc=vllm the converse */
	assert_int_equal(perf_init_engine(&q, &m, &g, "inline=hf-eager", &err), 0);
	for (tp = 1; tp <= 8; tp *= 2)
		for (n = 1; n <= 64; n *= 4)
			assert_true(perf_encode_inline_s(&q, tp, n) == perf_encode_s(&p, tp, n) &&
				    perf_encode_s(&q, tp, n) == perf_encode_s(&p, tp, n));
	assert_int_equal(perf_init_engine(&q, &m, &g, "enc=vllm", &err), 0);
	assert_true(perf_encode_s(&q, 4, 16) == perf_encode_inline_s(&p, 4, 16));
	assert_int_equal(perf_init_engine(&q, &m, &g, "hf-eager", &err), -MS_EINVAL);
	assert_int_equal(perf_init_engine(&q, &m, &g, "vllm", &err), 0);
	assert_string_equal(q.inline_engine, "vllm");
	assert_true(perf_encode_s(&q, 2, 8) == perf_encode_inline_s(&q, 2, 8));
	assert_int_equal(perf_init_engine(&q, &t, &g, "inline=vllm", &err), 0);
	assert_string_equal(q.inline_engine, "-");
	assert_true(perf_encode_inline_s(&q, 1, 4) == 0);
}

/* Every --engine parse error names the key at fault. */
static void test_engine_spec_errors(void **state)
{
	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{ "inline=", "engine 'inline=': inline: empty engine name" },
		{ "llm=vllm,inline=", "inline: empty engine name" },
		{ "inline=nope", "engine inline=nope: nope: unknown engine" },
		{ "enc=nope", "engine enc=nope: nope: unknown engine" },
		{ "foo=vllm", "engine 'foo=vllm': foo: unknown key (expected llm, enc or inline)" },
		{ "inline=vllm,inline=hf-eager", "inline: given twice" },
		{ "llm=hf-eager", "engine llm=hf-eager: no llm_* constants" },
		{ "inline=vllm,", "trailing comma" },
		{ "llm=vllm,,enc=hf-eager", "empty item" },
		{ "inline", "unknown engine" },
		{ "vllm,inline=vllm", "'vllm': expected KEY=NAME" },
	};
	char spec[1400], text[1400];
	struct model_spec m;
	struct gpu_spec g;
	struct perf p;
	struct ms_error err;
	size_t i;
	(void)state;

	load_specs("llama-3.2-11b-vision", "a100-80gb", &m, &g);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms_error_clear(&err);
		assert_true(perf_init_engine(&p, &m, &g, bad[i].spec, &err) < 0);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("%s: got '%s', want '%s'", bad[i].spec, err.msg, bad[i].msg);
	}
	/* an LLM-only engine cannot be the inline encoder, and the message says which role */
	snprintf(text, sizeof(text),
		 "name = llmonly\nbw_share = 0.8\nllm_flops_share = 0.7\nllm_launch_s = 0\n"
		 "llm_layer_s = 0\nllm_tp_comm_s = 0\nllm_gemm_k = 0\nllm_elem_share = 0\n"
		 "kv_reserve = 0.1\nlink_share = 0.8\nnvlink_lat_s = 0\nib_lat_s = 0\n"
		 "tcp_lat_s = 0\ntcp_bw = 1e9\n");
	snprintf(spec, sizeof(spec), "inline=%s", write_tmp("llmonly.conf", text));
	assert_int_equal(perf_init_engine(&p, &m, &g, spec, &err), -MS_EINVAL);
	assert_non_null(strstr(err.msg, "engine inline="));
	assert_non_null(strstr(err.msg, "no enc_* constants: it cannot run the vision encoder"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_engines),
		cmocka_unit_test(test_gpu_override),
		cmocka_unit_test(test_engine_errors),
		cmocka_unit_test(test_engine_specs),
		cmocka_unit_test(test_engine_drives_times),
		cmocka_unit_test(test_inline_encoder),
		cmocka_unit_test(test_engine_spec_errors),
	};
	const char *t = getenv("MS_TMP");

	snprintf(tmpdir, sizeof(tmpdir), "%s/perf_engine_test.%d", t && *t ? t : "/tmp",
		 (int)getpid());
	mkdir(tmpdir, 0755);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
