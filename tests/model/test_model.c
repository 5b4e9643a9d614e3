/* Model and GPU spec files: every built-in loads with the paper's numbers, and
 * bad files fail with file:line: key messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model.h"

static char tmpdir[1024];

static const char *tmp_path(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", tmpdir, name);
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static const char *good_model =
	"name = toy\narch = decoder\nenc_params = 4e8\nenc_layers = 26\nenc_hidden = 1152\n"
	"enc_heads = 16\nenc_patch = 14\ntile_px = 384\nmax_tiles = 10\ntokens_per_tile = 729\n"
	"tiles_per_image = 10\nllm_params = 7.6e9\nllm_layers = 28\nhidden = 3584\nheads = 28\n"
	"kv_heads = 4\nhead_dim = 128\ncross_layers = 0\nmax_context = 32768\ndefault_tp = 4\n"
	"bytes_per_param = 2   # trailing comment\n";

static void test_builtins_load(void **state)
{
	/* image tokens of the 896x896 reference image: paper Table 1 */
	static const struct { const char *name; uint32_t tokens; enum model_arch arch; int tp; } want[] = {
		{ "llama-3.2-11b-vision", 6404, MODEL_ARCH_CROSS, 4 },
		{ "llama-3.2-90b-vision", 6404, MODEL_ARCH_CROSS, 8 },
		{ "llava-onevision-7b", 7290, MODEL_ARCH_DECODER, 4 },
		{ "llava-onevision-72b", 7290, MODEL_ARCH_DECODER, 8 },
		{ "internvl-2.5-26b", 1280, MODEL_ARCH_DECODER, 8 },
		{ "nvlm-d-72b", 1280, MODEL_ARCH_DECODER, 8 },
		{ "llama-3.1-8b", 0, MODEL_ARCH_TEXT, 1 },
		{ "llama-3.1-70b", 0, MODEL_ARCH_TEXT, 4 },
		{ "qwen2.5-7b", 0, MODEL_ARCH_TEXT, 1 },
		{ "qwen2.5-vl-7b", 324, MODEL_ARCH_DECODER, 1 }, /* assumed 504x504: 18 x 18 */
		{ "qwen2.5-vl-72b", 324, MODEL_ARCH_DECODER, 4 },
		{ "qwen3-8b", 0, MODEL_ARCH_TEXT, 1 },
	};
	const char *const *names = model_builtin_names();
	size_t i, n = 0;
	(void)state;

	for (i = 0; names[i]; i++)
		n++;
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < n; i++) {
		struct model_spec m;
		struct ms_error err;
		ms_error_clear(&err);
		assert_string_equal(names[i], want[i].name);
		if (model_spec_load(&m, want[i].name, &err))
			fail_msg("%s: %s", want[i].name, err.msg);
		assert_string_equal(m.name, want[i].name);
		assert_int_equal(model_image_tokens(&m), want[i].tokens);
		assert_int_equal(m.arch, want[i].arch);
		assert_int_equal(m.default_tp, want[i].tp);
		assert_int_equal(m.heads % m.kv_heads, 0);
		assert_int_equal(model_has_vision(&m), want[i].arch != MODEL_ARCH_TEXT);
		if (want[i].arch == MODEL_ARCH_TEXT)
			assert_true(m.enc_params == 0 && m.tiles_per_image == 0 && m.vocab > 0);
		else
			assert_true(m.llm_params > 10 * m.enc_params || m.enc_params > 1e9);
	}
}

/* The text models' numbers from their config.json (data/models cites each). */
static void test_text_models(void **state)
{
	struct model_spec m;
	struct ms_error err;
	(void)state;

	assert_int_equal(model_spec_load(&m, "llama-3.1-8b", &err), 0);
	assert_int_equal(m.llm_layers, 32);
	assert_int_equal(m.hidden, 4096);
	assert_int_equal(m.kv_heads, 8);
	assert_int_equal(m.vocab, 128256);
	assert_int_equal(m.cross_layers, 0);
	assert_int_equal(model_image_tokens(&m), 0);
	assert_int_equal(model_spec_load(&m, "llama-3.1-70b", &err), 0);
	assert_int_equal(m.llm_layers, 80);
	assert_int_equal(m.hidden, 8192);
	assert_int_equal(m.heads / m.kv_heads, 8);
	assert_int_equal(model_spec_load(&m, "qwen2.5-7b", &err), 0);
	assert_int_equal(m.hidden, 3584);
	assert_int_equal(m.kv_heads, 4);
	assert_int_equal(m.vocab, 152064);
	assert_int_equal(m.max_context, 131072);
}

/* Qwen2.5-VL: image tokens follow pixels. A tile is one 28 px merged group of 2x2
 * patches of 14 px, one LLM token each: a 504x504 image (the assumed default) is 18 x 18
 * tiles, a 1092x1932 image (1080p resized to multiples of 28) would be 39 x 69. */
static void test_qwen_vl_tiling(void **state)
{
	struct model_spec m;
	struct ms_error err;
	(void)state;

	assert_int_equal(model_spec_load(&m, "qwen2.5-vl-7b", &err), 0);
	assert_int_equal(m.tile_px, 2 * m.enc_patch);
	assert_int_equal(m.tokens_per_tile, 1);
	assert_int_equal(m.tiles_per_image, (504 / m.tile_px) * (504 / m.tile_px));
	assert_true((1092 / m.tile_px) * (1932 / m.tile_px) == 2691); /* the vLLM issue's 1080p */
	assert_true(m.max_tiles >= 2691);
	assert_int_equal(model_spec_load(&m, "qwen2.5-vl-72b", &err), 0);
	assert_int_equal(m.hidden, 8192);
	assert_int_equal(m.enc_hidden, 1280);
}

static void test_llama_cross_numbers(void **state)
{
	struct model_spec m;
	struct ms_error err;
	(void)state;

	assert_int_equal(model_spec_load(&m, "llama-3.2-11b-vision", &err), 0);
	assert_int_equal(m.cross_layers, 8);
	assert_int_equal(m.llm_layers, 40);
	assert_int_equal(m.hidden, 4096);
	assert_int_equal(m.kv_heads, 8);
	assert_int_equal(m.tokens_per_tile, (560 / 14) * (560 / 14) + 1);
	assert_int_equal(model_spec_load(&m, "internvl-2.5-26b", &err), 0);
	assert_int_equal(m.cross_layers, 0);
	assert_int_equal(m.tokens_per_tile, (448 / 14) * (448 / 14) / 4);
}

static void test_gpus_load(void **state)
{
	const char *const *names = gpu_builtin_names();
	struct gpu_spec g;
	struct ms_error err;
	size_t i;
	(void)state;

	for (i = 0; names[i]; i++) {
		if (gpu_spec_load(&g, names[i], &err))
			fail_msg("%s: %s", names[i], err.msg);
		assert_true(g.flops > 1e14 && g.hbm_bw > 1e12 && g.price_hour > 0);
		assert_true(g.intra_bw > g.inter_bw);
	}
	assert_int_equal(i, 3);
	assert_int_equal(gpu_spec_load(&g, "a100-80gb", &err), 0);
	assert_true(g.flops == 312e12);
	assert_true(g.hbm_bytes == 80e9);
	assert_int_equal(g.gpus_per_node, 8);
}

static void test_path_and_env(void **state)
{
	char path[1200], dir[1200];
	struct model_spec m;
	struct ms_error err;
	char *old = getenv("MS_DATA") ? strdup(getenv("MS_DATA")) : NULL;
	(void)state;

	write_file(tmp_path("toy.conf", path, sizeof(path)), good_model);
	assert_int_equal(model_spec_load(&m, path, &err), 0);
	assert_string_equal(m.name, "toy");
	assert_int_equal(m.bytes_per_param, 2);

	/* MS_DATA overrides the built-in directory for bare names */
	snprintf(dir, sizeof(dir), "%s/data", tmpdir);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/data/models", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/data/models/toy2.conf", tmpdir);
	write_file(path, good_model);
	setenv("MS_DATA", dir, 1);
	assert_string_equal(model_data_dir(), dir);
	assert_int_equal(model_spec_load(&m, "toy2", &err), 0);
	assert_int_equal(model_spec_load(&m, "llama-3.2-11b-vision", &err), -MS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "llama-3.2-11b-vision: unknown model (built-in: "));
	if (old)
		setenv("MS_DATA", old, 1);
	else
		unsetenv("MS_DATA");
	free(old);
	assert_int_equal(model_spec_load(&m, "no-such-model", &err), -MS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "llama-3.2-11b-vision"));
}

/* Replaces the first occurrence of `from` in good_model by `to`, loads it, checks the error. */
static void expect_error(const char *from, const char *to, int code, const char *msg_part)
{
	char text[2048], path[1200], want[1400];
	const char *at = strstr(good_model, from);
	struct model_spec m;
	struct ms_error err;

	assert_non_null(at);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good_model), good_model, to,
		 at + strlen(from));
	write_file(tmp_path("bad.conf", path, sizeof(path)), text);
	ms_error_clear(&err);
	assert_int_equal(model_spec_load(&m, path, &err), -code);
	snprintf(want, sizeof(want), "%s:%s", path, msg_part);
	if (!strstr(err.msg, want))
		fail_msg("got '%s', want '%s'", err.msg, want);
}

static const char *text_model =
	"name = toy-llm\narch = text\nllm_params = 7.6e9\nllm_layers = 28\nhidden = 3584\n"
	"heads = 28\nkv_heads = 4\nhead_dim = 128\ncross_layers = 0\nmax_context = 32768\n"
	"default_tp = 1\nbytes_per_param = 2\n";

static int load_text(const char *text, struct model_spec *m, struct ms_error *err, char *path,
		     size_t n)
{
	write_file(tmp_path("text.conf", path, n), text);
	ms_error_clear(err);
	return model_spec_load(m, path, err);
}

/* arch = text: no encoder keys needed, and an encoder key is refused at its line. */
static void test_text_arch(void **state)
{
	char text[2048], path[1200];
	struct model_spec m;
	struct ms_error err;
	(void)state;

	assert_int_equal(load_text(text_model, &m, &err, path, sizeof(path)), 0);
	assert_int_equal(m.arch, MODEL_ARCH_TEXT);
	assert_int_equal(m.vocab, 0); /* optional, not given */
	assert_int_equal(model_image_tokens(&m), 0);
	assert_false(model_has_vision(&m));
	snprintf(text, sizeof(text), "%senc_layers = 26\n", text_model);
	assert_int_equal(load_text(text, &m, &err, path, sizeof(path)), -MS_EPARSE);
	assert_non_null(strstr(err.msg, ":13: enc_layers: not allowed with arch = text"));
	snprintf(text, sizeof(text), "%.*scross_layers = 2%s",
		 (int)(strstr(text_model, "cross_layers = 0") - text_model), text_model,
		 strstr(text_model, "cross_layers = 0") + strlen("cross_layers = 0"));
	assert_int_equal(load_text(text, &m, &err, path, sizeof(path)), -MS_ERANGE);
	assert_non_null(strstr(err.msg, "cross_layers: 2"));
	snprintf(text, sizeof(text), "%svocab = 0\n", text_model);
	assert_int_equal(load_text(text, &m, &err, path, sizeof(path)), -MS_ERANGE);
	assert_non_null(strstr(err.msg, ":13: vocab: out of range"));
}

/* Within the key ranges tiles_per_image (2^16) x tokens_per_tile (2^20) passes 2^32. */
static void test_image_tokens_wide(void **state)
{
	struct model_spec m;
	(void)state;

	memset(&m, 0, sizeof(m));
	m.arch = MODEL_ARCH_DECODER;
	m.tiles_per_image = 1 << 16;
	m.tokens_per_tile = 1 << 20;
	/* 2^36 wrapped to 32 bits is 0: saturate instead */
	assert_int_equal(model_image_tokens(&m), UINT32_MAX);
	m.tiles_per_image = 4096;
	m.tokens_per_tile = 1 << 20; /* 2^32 exactly: one past UINT32_MAX */
	assert_int_equal(model_image_tokens(&m), UINT32_MAX);
	m.tokens_per_tile = (1 << 20) - 1;
	assert_int_equal(model_image_tokens(&m), 4096u * ((1u << 20) - 1));
}

static void test_bad_files(void **state)
{
	(void)state;
	/* the loader keeps an image's tokens within the context (and so within 32 bits) */
	expect_error("tiles_per_image = 10", "tiles_per_image = 65536", MS_ERANGE,
		     " tokens_per_tile: 729 x tiles_per_image 65536 = 47775744 image tokens, "
		     "above max_context 32768");
	expect_error("heads = 28\n", "heads = 28\ncolour = red\n", MS_EPARSE, "16: colour: unknown key");
	expect_error("enc_layers = 26\n", "", MS_EPARSE, "20: enc_layers: missing required key");
	expect_error("hidden = 3584", "hidden = 35x4", MS_EPARSE, "14: hidden: not an integer: '35x4'");
	expect_error("llm_params = 7.6e9", "llm_params = lots", MS_EPARSE, "12: llm_params: not a number");
	expect_error("arch = decoder", "arch = mixed", MS_EPARSE,
		     "2: arch: not 'decoder', 'cross' or 'text'");
	expect_error("default_tp = 4\n", "default_tp = 4\ndefault_tp = 8\n", MS_EPARSE,
		     "21: default_tp: duplicate key (first on line 20)");
	expect_error("max_tiles = 10", "max_tiles = 0", MS_ERANGE, "9: max_tiles: out of range");
	expect_error("head_dim = 128\n", "head_dim 128\n", MS_EPARSE, "17: head_dim 128: expected");
	expect_error("kv_heads = 4", "kv_heads = 5", MS_ERANGE, " kv_heads: 5 does not divide heads 28");
	expect_error("cross_layers = 0", "cross_layers = 3", MS_ERANGE, " cross_layers: 3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtins_load),
		cmocka_unit_test(test_llama_cross_numbers),
		cmocka_unit_test(test_gpus_load),
		cmocka_unit_test(test_path_and_env),
		cmocka_unit_test(test_text_models),
		cmocka_unit_test(test_text_arch),
		cmocka_unit_test(test_qwen_vl_tiling),
		cmocka_unit_test(test_image_tokens_wide),
		cmocka_unit_test(test_bad_files),
	};
	const char *t = getenv("MS_TMP");

	snprintf(tmpdir, sizeof(tmpdir), "%s/model_test.%d", t && *t ? t : "/tmp", (int)getpid());
	mkdir(tmpdir, 0755);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
