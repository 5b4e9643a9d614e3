/*
 * perf_table: profile tables that hold real data (issue 14): prefill rows keyed by new
 * tokens and tokens already in context, batched prefill by batch and tokens, decode
 * groups of one KV point (slope from neighbours), mixed prefill + decode iterations,
 * old 5-column files unchanged, and every new way of being wrong named by
 * file:line: column.
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

static void perf_for(struct perf *p)
{
	struct ms_error err;

	ms_error_clear(&err);
	if (perf_open(p, "llama-3.2-11b-vision", "a100-80gb", NULL, NULL, &err))
		fail_msg("%s", err.msg);
}

static void write_file(const char *path, const char *body)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(body, f);
	assert_int_equal(fclose(f), 0);
}

/* Loads body as a profile into a fresh perf (roofline underneath). */
static void load(struct perf *p, const char *body)
{
	char path[1200];
	struct ms_error err;

	snprintf(path, sizeof(path), "%s/t.csv", tmpdir);
	write_file(path, body);
	perf_for(p);
	ms_error_clear(&err);
	if (perf_load_profile(p, path, &err))
		fail_msg("%s", err.msg);
}

static void expect_error(const char *body, const char *want)
{
	char path[1200], msg[1400];
	struct perf p;
	struct ms_error err;

	snprintf(path, sizeof(path), "%s/bad.csv", tmpdir);
	write_file(path, body);
	perf_for(&p);
	ms_error_clear(&err);
	assert_true(perf_load_profile(&p, path, &err) < 0);
	assert_null(p.table);
	snprintf(msg, sizeof(msg), "%s:%s", path, want);
	if (!strstr(err.msg, msg))
		fail_msg("got '%s', want '%s'", err.msg, msg);
	perf_release(&p);
}

/* One request's chunk of n new tokens after c tokens already in its KV cache. */
static double chunk_s(const struct perf *p, int tp, uint32_t n, uint32_t c)
{
	struct perf_iter it = { .prefill_tokens = n, .prefill_attn = (double)n * (c + n / 2.0) };

	return perf_llm_iter_s(p, tp, &it);
}

#define NEAR(x, y) assert_true(fabs((x) - (y)) < 1e-12)

static const char prefill_ctx[] =
	"# model: llama-3.2-11b-vision\n"
	"stage,tp,batch,tokens,context,latency_s\n"
	"prefill,4,1,512,0,0.020\n"
	"prefill,4,1,2048,0,0.060\n"
	"prefill,4,1,512,4096,0.030\n"
	"prefill,4,1,2048,4096,0.100\n"
	"prefill,4,4,2048,0,0.070\n"
	"prefill,4,4,8192,0,0.250\n";

/* A chunk late in a prompt costs what its context row says: chunked prefill keeps
 * its attention cost instead of every chunk costing the first one's. */
static void test_prefill_context(void **state)
{
	struct perf p;
	(void)state;

	load(&p, prefill_ctx);
	NEAR(chunk_s(&p, 4, 512, 0), 0.020);
	NEAR(chunk_s(&p, 4, 2048, 4096), 0.100);
	/* half way in context and in tokens: the mean of four corners */
	NEAR(chunk_s(&p, 4, 1280, 2048), (0.040 + 0.065) / 2);
	/* beyond the largest context: linear extrapolation (never a clamp) */
	NEAR(chunk_s(&p, 4, 512, 8192), 0.040);
	assert_true(chunk_s(&p, 4, 2048, 8192) > chunk_s(&p, 4, 2048, 4096));
	/* the context read off the attention pairs of unequal chunks: two chunks of 256
	 * after 1000 and 3000 tokens have A = 256 (1128) + 256 (3128), i.e. one request's
	 * 512 tokens after 1872 (A / N - N / 2) */
	{
		struct perf_iter it = { .prefill_tokens = 512,
					.prefill_attn = 256.0 * 1128 + 256.0 * 3128 };
		NEAR(perf_llm_iter_s(&p, 4, &it), 0.020 + 0.010 * 1872.0 / 4096);
	}
	perf_release(&p);
}

/* Several requests prefilled in one iteration are looked up by batch and tokens. */
static void test_prefill_batched(void **state)
{
	struct perf p;
	struct perf_iter it = { 0 };
	(void)state;

	load(&p, prefill_ctx);
	/* four requests of 512 new tokens, no context: the batch-4 row at 2048 */
	it.prefill_tokens = 2048;
	it.prefill_attn = 4 * 512.0 * 256;
	it.prefill_seqs = 4;
	NEAR(perf_llm_iter_s(&p, 4, &it), 0.070);
	/* two requests: half way between batch 1 (context 0 at 2048: 0.060) and batch 4 */
	it.prefill_seqs = 2;
	it.prefill_attn = 2 * 1024.0 * 512;
	NEAR(perf_llm_iter_s(&p, 4, &it), 0.060 + 0.010 / 3);
	/* prefill_seqs 0 means one request (callers that do not count chunks) */
	it.prefill_seqs = 0;
	it.prefill_attn = 2048.0 * 1024;
	NEAR(perf_llm_iter_s(&p, 4, &it), 0.060);
	perf_release(&p);
}

/* Decoding requests riding in a prefill iteration add GEMM rows and their KV reads,
 * not a second launch and weight read. */
static void test_mixed_iteration(void **state)
{
	struct perf p;
	struct perf_iter it = { .prefill_tokens = 496, .prefill_attn = 496.0 * 248,
				.decode_seqs = 16, .decode_kv_tokens = 100000 };
	double a, b;
	(void)state;

	load(&p, "stage,tp,batch,tokens,latency_s\n"
		 "prefill,4,1,256,0.010\nprefill,4,1,1024,0.030\n"
		 "decode,4,16,1000,0.0100\ndecode,4,16,201000,0.0300\n");
	perf_decode_coef(&p, 4, 16, &a, &b);
	NEAR(b, 1e-7);
	/* rows at 496 + 16 = 512 tokens (0.010 + 0.020 x 256 / 768), plus b x KV; the
	 * context 0 of the 5-column file applies whatever the attention */
	NEAR(perf_llm_iter_s(&p, 4, &it), 0.010 + 0.020 * 256.0 / 768 + 1e-7 * 100000);
	assert_true(perf_llm_iter_s(&p, 4, &it) < 0.010 + 0.020 * 240.0 / 768 + a + b * 100000);
	perf_release(&p);
}

/* One KV point per batch is enough once a neighbouring batch gives the slope. */
static void test_decode_single_point(void **state)
{
	struct perf p;
	double a, b;
	(void)state;

	load(&p, "stage,tp,batch,tokens,latency_s\n"
		 "decode,4,1,1000,0.010\ndecode,4,1,11000,0.011\n"  /* b = 1e-7 */
		 "decode,4,8,40000,0.020\n"                        /* one point */
		 "decode,4,16,20000,0.020\ndecode,4,16,120000,0.050\n" /* b = 3e-7 */
		 "decode,4,32,50000,0.040\n");                     /* past the last two-point */
	/* batch 8 between 1 and 16: b interpolated in batch, a through the point */
	perf_decode_coef(&p, 4, 8, &a, &b);
	NEAR(b, 1e-7 + 2e-7 * 7.0 / 15);
	NEAR(a + b * 40000, 0.020);
	/* batch 32: only a neighbour below, its slope */
	perf_decode_coef(&p, 4, 32, &a, &b);
	NEAR(b, 3e-7);
	NEAR(a, 0.040 - 3e-7 * 50000);
	/* the affine invariant holds between groups too */
	perf_decode_coef(&p, 4, 12, &a, &b);
	assert_true(perf_decode_step_s(&p, 4, 12, 77777) == a + b * 77777.0);
	perf_release(&p);
	/* one point everywhere at a tp: nothing to take the slope from */
	expect_error("stage,tp,batch,tokens,latency_s\ndecode,2,1,100,0.01\ndecode,2,4,100,0.02\n"
		     "decode,4,1,1000,0.010\ndecode,4,1,11000,0.011\n",
		     "2: tokens: decode at tp 2 batch 1 needs two or more KV token counts (or "
		     "another batch of tp 2 with two");
}

/* The old header and files keep their meaning; the new column is checked like the others. */
static void test_formats_and_errors(void **state)
{
	struct perf p5, p6;
	static const char *const h6 = "stage,tp,batch,tokens,context,latency_s\n";
	static const char *const bad[][2] = {
		{ "prefill,4,1,128,x,0.1\n", "2: context: not a whole number >= 0: 'x'" },
		{ "prefill,4,1,128,-5,0.1\n", "2: context: not a whole number >= 0: '-5'" },
		{ "decode,4,1,128,64,0.1\ndecode,4,1,256,0,0.1\n",
		  "2: context: only prefill rows have a context (got 64 for decode)" },
		{ "prefill,4,1,128,0.1\n", "2: latency_s: missing column (5 of 6)" },
		{ "prefill,4,1,128,0,0.1,7\n", "2: latency_s: more than 6 columns" },
		{ "prefill,4,1,128,64,0.1\nprefill,4,1,128,64,0.2\n",
		  "3: tokens: same stage, tp, batch, context and tokens as line 2" },
		{ "prefill,4,1,128,0,1e7\n", "2: latency_s: above 1e6" },
	};
	char b[512];
	size_t i;
	(void)state;

	load(&p5, "stage,tp,batch,tokens,latency_s\nprefill,4,1,128,0.01\nprefill,4,1,1024,0.03\n"
		  "encode,4,1,4,0.2\nencode,4,2,8,0.3\n");
	load(&p6, "stage,tp,batch,tokens,context,latency_s\nprefill,4,1,128,0,0.01\n"
		  "prefill,4,1,1024,0,0.03\nencode,4,1,4,0,0.2\nencode,4,2,8,0,0.3\n");
	assert_true(chunk_s(&p5, 4, 700, 3000) == chunk_s(&p6, 4, 700, 3000));
	assert_true(perf_encode_s(&p5, 4, 6) == perf_encode_s(&p6, 4, 6));
	NEAR(perf_encode_s(&p6, 4, 6), 0.25);
	perf_release(&p5);
	perf_release(&p6);

	expect_error("stage,tp,batch,tokens,latency_s,context\n",
		     "1: stage: expected header 'stage,tp,batch,tokens,latency_s' or "
		     "'stage,tp,batch,tokens,context,latency_s'");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(b, sizeof(b), "%s%s", h6, bad[i][0]);
		expect_error(b, bad[i][1]);
	}
	/* the same tokens at two contexts are two points, not a duplicate */
	snprintf(b, sizeof(b), "%sprefill,4,1,128,0,0.1\nprefill,4,1,128,512,0.2\n", h6);
	load(&p6, b);
	NEAR(chunk_s(&p6, 4, 128, 256), 0.15);
	perf_release(&p6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefill_context),
		cmocka_unit_test(test_prefill_batched),
		cmocka_unit_test(test_mixed_iteration),
		cmocka_unit_test(test_decode_single_point),
		cmocka_unit_test(test_formats_and_errors),
	};
	const char *t = getenv("MS_TMP");

	snprintf(tmpdir, sizeof(tmpdir), "%s/perf_table_test.%d", t && *t ? t : "/tmp",
		 (int)getpid());
	mkdir(tmpdir, 0755);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
