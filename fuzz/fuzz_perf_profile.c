/*
 * libFuzzer target for the measured profile table (perf/perf_table.c through
 * perf_load_profile). The perf is bound once to a built-in model and GPU
 * (data/models, data/gpus), then every input is loaded as its profile CSV.
 *
 * Invariants: every failure carries a message and leaves the previous table
 * (none) in place; after a load, every stage time perf/ returns for a grid of
 * tp, batch and token counts is a number >= 0 (perf.h: a latency never goes
 * below 0; the simulator orders events by it, so NaN would break that order),
 * and decode stays affine with a, b >= 0.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_file.h"
#include "perf/perf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ok_time(double s)
{
	return !isnan(s) && s >= 0;
}

static struct perf *perf_base(void)
{
	static struct perf p;
	static int ready;
	struct model_spec m;
	struct gpu_spec g;
	struct ms_error err;

	if (ready)
		return &p;
	if (model_spec_load(&m, "llama-3.2-11b-vision", &err) ||
	    gpu_spec_load(&g, "a100-80gb", &err) || perf_init(&p, &m, &g, &err))
		abort(); /* harness: the built-in data must load */
	ready = 1;
	return &p;
}

static void times_check(const struct perf *p)
{
	static const uint32_t counts[] = { 0, 1, 2, 3, 7, 64, 1000, 100000, 4000000000u };

	for (int tp = 0; tp <= 9; tp++) {
		for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
			uint32_t c = counts[i];
			struct perf_iter it = { .prefill_tokens = c, .prefill_attn = (double)c * c / 2,
						.decode_seqs = c % 97, .decode_kv_tokens = (uint64_t)c * 3,
						.prefill_seqs = c % 5 };
			double a, b;

			if (!ok_time(perf_preprocess_s(p, c, tp)) || !ok_time(perf_encode_s(p, tp, c)) ||
			    !ok_time(perf_llm_iter_s(p, tp, &it)) ||
			    !ok_time(perf_decode_step_s(p, tp, c, (uint64_t)c * 1000)))
				abort();
			if (!c)
				continue;
			perf_decode_coef(p, tp, c, &a, &b);
			if (!ok_time(a) || !ok_time(b))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perf *p = perf_base();
	struct ms_error err = { 0 };
	int rc = perf_load_profile(p, fuzz_file_path(data, size), &err);

	if (rc < 0 && err.msg[0] == '\0')
		abort();
	if (rc < 0 && p->table)
		abort(); /* a failed load must not leave a half-built table behind */
	if (rc == 0 && !p->table)
		abort();
	times_check(p);
	perf_release(p);
	return 0;
}
