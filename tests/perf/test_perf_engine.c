/*
 * perf engines (data/engines/NAME.conf): the built-in engines load with the numbers their
 * files give, `key@gpu` overrides apply only on that GPU, groups are all or nothing,
 * --engine specs pick an engine per stage, and a changed engine changes the stage
 * times it should (and no others).
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_engines),
		cmocka_unit_test(test_gpu_override),
		cmocka_unit_test(test_engine_errors),
		cmocka_unit_test(test_engine_specs),
		cmocka_unit_test(test_engine_drives_times),
	};
	const char *t = getenv("MS_TMP");

	snprintf(tmpdir, sizeof(tmpdir), "%s/perf_engine_test.%d", t && *t ? t : "/tmp",
		 (int)getpid());
	mkdir(tmpdir, 0755);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
